"""Time series from public battery archives: BatteryArchive.org and batterydata.energy.gov.

Two CSV layouts, both already harmonised by the archive (not instrument
exports):

* **BatteryArchive.org** ``*_timeseries.csv`` (e.g. the CALCE cells):
  ``Date_Time, Test_Time (s), Cycle_Index, Current (A), Voltage (V),
  Charge_Capacity (Ah), Discharge_Capacity (Ah), Charge_Energy (Wh),
  Discharge_Energy (Wh), Environment_Temperature (C), Cell_Temperature (C)``.
  ``(C)`` there means °C, not coulomb.
* **batterydata.energy.gov** raw CSV: ``Cycle_Index, Step, Time_s, Amphr,
  Watthr, Current_A, Voltage_V, Cell_Temperature_C, Temp2, Datenum_d (MATLAB
  datenum), Power_W, Charge/Discharge_Capacity_Ah, Charge/Discharge_Energy_Wh,
  Frequency_Hz, Z_Real_Ohm, Z_Imag_Ohm, ...``. Some rows are impedance points
  taken during the test; their frequency and impedance are kept as
  ``batterydata_frequency_hertz``, ``batterydata_z_real_ohm``,
  ``batterydata_z_imag_ohm`` (NaN on cycling rows). ``Step`` is the programmed
  step (it repeats and jumps between blocks), so it is ``step_index``.

Direction: both archives store current signed, positive = charge (labkit's
convention); capacities and energies are unsigned per-direction amounts.
batterydata's ``Power_W`` is unsigned and takes the sign of the current.
Dates are local times without a zone: the first gives ``meta.start_time``, no
``unix_time_second`` is made.

Per-cycle summary tables of both archives are not time series; see
:mod:`labkit.parsers.cycle_summary`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from labkit.data import CyclingRecord, Metadata
from labkit.parsers._text import decode, decode_head, first_iso_time, looks_binary
from labkit.parsers._timecheck import time_order_notes
from labkit.parsers.delimited import parse_table, tidy_columns
from labkit.registry import file_bytes, register

_ARCHIVE_COLUMNS = {
    "Test_Time (s)": "test_time_second",
    "Cycle_Index": "cycle_count",
    "Current (A)": "current_ampere",
    "Voltage (V)": "voltage_volt",
    "Charge_Capacity (Ah)": "charging_capacity_ampere_hour",
    "Discharge_Capacity (Ah)": "discharging_capacity_ampere_hour",
    "Charge_Energy (Wh)": "charging_energy_watt_hour",
    "Discharge_Energy (Wh)": "discharging_energy_watt_hour",
    "Environment_Temperature (C)": "ambient_temperature_celsius",
    "Cell_Temperature (C)": "temperature_celsius",
}
_ARCHIVE_UNITS = {"Environment_Temperature (C)": "°C", "Cell_Temperature (C)": "°C"}

_BATTERYDATA_COLUMNS = {
    "Time_s": "test_time_second",
    "Cycle_Index": "cycle_count",
    "Step": "step_index",
    "Current_A": "current_ampere",
    "Voltage_V": "voltage_volt",
    "Power_W": "power_watt",
    "Cell_Temperature_C": "temperature_celsius",
    "Temp2": "batterydata_temperature_2_celsius",
    "Charge_Capacity_Ah": "charging_capacity_ampere_hour",
    "Discharge_Capacity_Ah": "discharging_capacity_ampere_hour",
    "Charge_Energy_Wh": "charging_energy_watt_hour",
    "Discharge_Energy_Wh": "discharging_energy_watt_hour",
    "Frequency_Hz": "batterydata_frequency_hertz",
    "Z_Real_Ohm": "batterydata_z_real_ohm",
    "Z_Imag_Ohm": "batterydata_z_imag_ohm",
}
_BATTERYDATA_UNITS = {"Time_s": "s", "Current_A": "A", "Voltage_V": "V", "Power_W": "W",
                      "Cell_Temperature_C": "°C", "Temp2": "°C", "Charge_Capacity_Ah": "Ah",
                      "Discharge_Capacity_Ah": "Ah", "Charge_Energy_Wh": "Wh",
                      "Discharge_Energy_Wh": "Wh", "Frequency_Hz": "Hz", "Z_Real_Ohm": "ohm",
                      "Z_Imag_Ohm": "ohm"}

#: MATLAB datenum of 1970-01-01.
_DATENUM_EPOCH = 719529.0


def _first_line(head: bytes) -> str:
    return decode_head(head).split("\n", 1)[0].rstrip("\r")


def _sniff_archive(head: bytes, path: Path) -> bool:
    names = set(_first_line(head).split(","))
    return not looks_binary(head) and {"Test_Time (s)", "Voltage (V)", "Current (A)"} <= names


def _sniff_batterydata(head: bytes, path: Path) -> bool:
    names = set(_first_line(head).split(","))
    return not looks_binary(head) and {"Time_s", "Voltage_V", "Current_A", "Datenum_d"} <= names


def _read(path: Path, columns: dict[str, str], units: dict[str, str]) -> tuple[pd.DataFrame,
                                                                                pd.DataFrame]:
    raw = parse_table(decode(file_bytes(Path(path))), path, first_line=1)
    present = {k: v for k, v in columns.items() if k in raw}
    data = tidy_columns(raw, present, path, first_data_line=2, units=units)
    return raw, data


@register(
    "batteryarchive-csv",
    vendor="BatteryArchive.org",
    description="BatteryArchive.org time-series CSV (Test_Time (s), Voltage (V), ...)",
    extensions=(".csv",),
    kind="cycling",
    sniff=_sniff_archive,
)
def read_battery_archive(path: Path) -> CyclingRecord:
    """Read a BatteryArchive.org ``*_timeseries.csv`` (see the module docstring)."""
    raw, data = _read(path, _ARCHIVE_COLUMNS, _ARCHIVE_UNITS)
    meta = Metadata(
        vendor="BatteryArchive.org",
        start_time=first_iso_time(raw, "Date_Time"),
        notes=time_order_notes(data["test_time_second"].to_numpy(), 2),
    )
    return CyclingRecord(data, meta)


@register(
    "batterydata-csv",
    vendor="batterydata.energy.gov",
    description="batterydata.energy.gov raw CSV (Time_s, Voltage_V, Datenum_d, impedance rows)",
    extensions=(".csv",),
    kind="cycling",
    sniff=_sniff_batterydata,
)
def read_batterydata(path: Path) -> CyclingRecord:
    """Read a batterydata.energy.gov raw CSV (see the module docstring)."""
    raw, data = _read(path, _BATTERYDATA_COLUMNS, _BATTERYDATA_UNITS)
    notes = list(time_order_notes(data["test_time_second"].to_numpy(), 2))
    if "power_watt" in data and "current_ampere" in data:
        data["power_watt"] = np.copysign(data["power_watt"].to_numpy(),
                                         data["current_ampere"].to_numpy())
        notes.append("Power_W is unsigned in the file; power_watt takes the sign of the current")
    if "batterydata_frequency_hertz" in data:
        impedance_rows = int(data["batterydata_frequency_hertz"].notna().sum())
        if impedance_rows:
            notes.append(f"{impedance_rows} row(s) are impedance points (batterydata_* columns)")
    start = None
    datenum = pd.to_numeric(raw.get("Datenum_d"), errors="coerce")
    if datenum is not None and len(datenum) and np.isfinite(datenum.iloc[0]):
        start = pd.Timestamp((datenum.iloc[0] - _DATENUM_EPOCH) * 86400.0, unit="s").round("ms")
    meta = Metadata(
        vendor="batterydata.energy.gov",
        start_time=None if start is None else start.isoformat(),
        notes=tuple(notes),
    )
    return CyclingRecord(data, meta)
