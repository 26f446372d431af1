"""Per-cycle summary tables published next to the time series, read as cycle summaries.

Three one-row-per-cycle CSV layouts are read into a
:class:`~labkit.data.CycleSummaryRecord` whose column names are those of labkit's
own per-cycle analysis (:func:`labkit.analysis.cycling.summarize_cycles`), so a
vendor summary and labkit's summary of the time series line up column for column:

* **BatteryArchive.org** ``*_cycle_data.csv``: ``Cycle_Index, Start_Time,
  End_Time, Test_Time (s), Min_Current (A), Max_Current (A), Min_Voltage (V),
  Max_Voltage (V), Charge_Capacity (Ah), Discharge_Capacity (Ah),
  Charge_Energy (Wh), Discharge_Energy (Wh)``.
* **batterydata.energy.gov** ``*-summary.csv``: ``Cycle_Index, Cycle_Label,
  Time_s, ..., tsecs_start, tsecs_end, Q_chg, q_chg, Q_dis, ..., CE, E_chg, ...,
  EE, DeltaV, V_min, V_max, V_avg, I_*, P_*, T_*``.
* **Novonix** per-cycle table (as the beep project stores it,
  ``*_metadata.csv``): an unnamed row-number column, then ``Cycle,
  AverageChargeVoltage, AverageDischargeVoltage, CE, ..., Qc, Qd, SlipC, SlipD``.

Every column of the file is kept: the ones with a labkit meaning under the
labkit name, the rest with a vendor prefix (``batterydata_``, ``batteryarchive_``,
``novonix_``) and the unit spelled in the name where the header states one; a
column the layout does not list is kept under its snake_case header, as numbers
when pandas parses it as numbers, else as text. A
column that is empty in every row is left out (and ``meta.notes`` says so). All
three layouts state SI units already (Ah, Wh, s, V, A, °C; Novonix as its time
series does), so no value is scaled; batterydata's day-valued times keep their
unit in a ``_day`` name.
Efficiencies are fractions in all three layouts, as in labkit. Current is
positive on charge in both archives (labkit's convention); capacities and
energies are non-negative magnitudes. How each source numbers its cycles is in
``meta.notes``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype

from labkit.data import CycleSummaryRecord, Metadata
from labkit.errors import FormatError
from labkit.parsers._text import decode, decode_head, looks_binary, numeric_column
from labkit.parsers.delimited import parse_table
from labkit.registry import file_bytes, register

#: MATLAB datenum of 1970-01-01 00:00 (batterydata's ``Datenum_d``).
_DATENUM_EPOCH = 719529.0


@dataclass(frozen=True)
class _Layout:
    """One vendor's per-cycle table.

    Attributes
    ----------
    vendor
        Who writes it.
    signature
        Header fields that together identify the layout (the sniffer's test).
    prefix
        Vendor prefix of columns without a labkit meaning.
    columns
        File header -> labkit name.
    labels
        Headers of text columns.
    notes
        What a user must know: cycle numbering, sign, definitions.
    """

    vendor: str
    signature: frozenset[str]
    prefix: str
    columns: Mapping[str, str]
    labels: tuple[str, ...]
    notes: tuple[str, ...]


_BATTERY_ARCHIVE = _Layout(
    vendor="BatteryArchive.org",
    signature=frozenset({"Cycle_Index", "Min_Voltage (V)", "Max_Voltage (V)",
                         "Charge_Capacity (Ah)", "Discharge_Capacity (Ah)"}),
    prefix="batteryarchive",
    columns={
        "Cycle_Index": "cycle_count",
        "Test_Time (s)": "batteryarchive_test_time_second",
        "Min_Current (A)": "min_current_ampere",
        "Max_Current (A)": "max_current_ampere",
        "Min_Voltage (V)": "min_voltage_volt",
        "Max_Voltage (V)": "max_voltage_volt",
        "Charge_Capacity (Ah)": "charge_capacity_ampere_hour",
        "Discharge_Capacity (Ah)": "discharge_capacity_ampere_hour",
        "Charge_Energy (Wh)": "charge_energy_watt_hour",
        "Discharge_Energy (Wh)": "discharge_energy_watt_hour",
    },
    labels=("Start_Time", "End_Time"),
    notes=(
        "cycles numbered as the archive numbers them (Cycle_Index, from 1), the same "
        "numbering as the Cycle_Index of its *_timeseries.csv",
        "current positive = charge as in the archive (Min_Current is the strongest "
        "discharge); capacities and energies are the archive's per-cycle totals",
        "Test_Time (s) is kept as batteryarchive_test_time_second: the archive does not "
        "say which moment of the cycle it is",
    ),
)

_BATTERYDATA = _Layout(
    vendor="batterydata.energy.gov",
    signature=frozenset({"Cycle_Index", "tsecs_start", "tsecs_end", "Q_chg", "Q_dis"}),
    prefix="batterydata",
    columns={
        "Cycle_Index": "cycle_count",
        "Time_s": "batterydata_time_second",
        "Time_d": "batterydata_time_day",
        "Datenum_d": "batterydata_datenum_day",
        "datenum_d": "batterydata_elapsed_datenum_day",
        "Absolute_Charge_Throughput_Ah": "batterydata_absolute_charge_throughput_ampere_hour",
        "Absolute_Energy_Throughput_Wh": "batterydata_absolute_energy_throughput_watt_hour",
        "Charge_Throughput_Ah": "batterydata_charge_throughput_ampere_hour",
        "Energy_Throughput_Wh": "batterydata_energy_throughput_watt_hour",
        "tsecs_start": "start_time_second",
        "tsecs_end": "end_time_second",
        "tsecs_cycle": "batterydata_cycle_duration_second",
        "Q_chg": "charge_capacity_ampere_hour",
        "q_chg": "batterydata_relative_charge_capacity",
        "Q_dis": "discharge_capacity_ampere_hour",
        "q_dis": "batterydata_relative_discharge_capacity",
        "CE": "coulombic_efficiency",
        "E_chg": "charge_energy_watt_hour",
        "e_chg": "batterydata_relative_charge_energy",
        "E_dis": "discharge_energy_watt_hour",
        "e_dis": "batterydata_relative_discharge_energy",
        "EE": "energy_efficiency",
        "DeltaV": "batterydata_delta_voltage_volt",
        "deltaV": "batterydata_relative_delta_voltage",
        "V_min": "min_voltage_volt",
        "V_max": "max_voltage_volt",
        "V_avg": "mean_voltage_volt",
        "I_min": "min_current_ampere",
        "I_max": "max_current_ampere",
        "I_avg": "mean_current_ampere",
        "P_min": "batterydata_min_power_magnitude_watt",
        "P_max": "batterydata_max_power_magnitude_watt",
        "P_avg": "batterydata_mean_power_magnitude_watt",
        "T_min": "min_temperature_celsius",
        "T_max": "max_temperature_celsius",
        "T_avg": "mean_temperature_celsius",
    },
    labels=("Cycle_Label",),
    notes=(
        "cycles numbered as batterydata.energy.gov numbers them (Cycle_Index, from 1), the "
        "same numbering as the Cycle_Index of its raw CSV; batterydata_cycle_label names "
        "the test segment (Capacity check, HPPC, EIS, Aging cycle)",
        "a cycle without a charge (discharge) has NaN charge (discharge) capacity and energy",
        "capacities and energies are the largest value the raw file's per-direction "
        "accumulator reaches in the cycle: the charge passed when the cycle has one charge "
        "(discharge) phase, less than labkit's summarize_cycles (which adds every phase) in "
        "cycles with several, such as HPPC pulses",
        "current positive = charge (I_min is the strongest discharge); P_min/P_max/P_avg are "
        "unsigned magnitudes, hence the batterydata_*_power_magnitude_watt names",
        "q_*, e_* and deltaV are relative to a reference cycle of the test: "
        "batterydata_relative_*",
    ),
)

_NOVONIX = _Layout(
    vendor="Novonix",
    signature=frozenset({"Cycle", "Qc", "Qd", "CE", "AverageChargeVoltage"}),
    prefix="novonix",
    columns={
        "Cycle": "cycle_count",
        "AverageChargeVoltage": "mean_charge_voltage_volt",
        "AverageDischargeVoltage": "mean_discharge_voltage_volt",
        "CE": "coulombic_efficiency",
        "CEndPt": "novonix_charge_endpoint_ampere_hour",
        "CEndPtPercent": "novonix_charge_endpoint_percent",
        "CIE": "novonix_coulombic_inefficiency",
        "DeltaV": "novonix_delta_voltage_volt",
        "DEndPt": "novonix_discharge_endpoint_ampere_hour",
        "DEndPtPercent": "novonix_discharge_endpoint_percent",
        "Ec": "charge_energy_watt_hour",
        "EcPercent": "novonix_charge_energy_percent",
        "Ed": "discharge_energy_watt_hour",
        "EdPercent": "novonix_discharge_energy_percent",
        "EE": "energy_efficiency",
        "Qc": "charge_capacity_ampere_hour",
        "QcPercent": "novonix_charge_capacity_percent",
        "Qd": "discharge_capacity_ampere_hour",
        "QdPercent": "novonix_discharge_capacity_percent",
        "SlipC": "novonix_charge_slippage_ampere_hour",
        "SlipCPercent": "novonix_charge_slippage_percent",
        "SlipD": "novonix_discharge_slippage_ampere_hour",
        "SlipDPercent": "novonix_discharge_slippage_percent",
    },
    labels=(),
    notes=(
        "cycles numbered as the Novonix 'Cycle Number' of the time series (from 1; the "
        "protocol's Increment_cycle_counter step starts the next cycle)",
        "capacities in Ah and energies in Wh as the Novonix time series states them; "
        "AverageChargeVoltage/AverageDischargeVoltage are the software's own averages, close "
        "to but not exactly Ec/Qc and Ed/Qd",
        "charge/discharge endpoints are the net charge counter at the end of the charge and "
        "of the discharge; slippage is the endpoint's shift from the previous cycle",
    ),
)

LAYOUTS: tuple[_Layout, ...] = (_BATTERY_ARCHIVE, _BATTERYDATA, _NOVONIX)


def _header_fields(head: str) -> set[str]:
    line = head.split("\n", 1)[0].rstrip("\r")
    return {field.strip().strip('"') for field in line.split(",")}


def _layout_of(head: str) -> _Layout | None:
    fields = _header_fields(head)
    return next((layout for layout in LAYOUTS if layout.signature <= fields), None)


def _sniff(head: bytes, path: Path) -> bool:
    return not looks_binary(head) and _layout_of(decode_head(head)) is not None


def _snake(header: str) -> str:
    """``"Min Power (W)"`` -> ``"min_power_w"``: an unknown header as a snake_case name."""
    return "_".join(re.findall(r"[a-z0-9]+", re.sub(r"([a-z])([A-Z])", r"\1_\2", header)
                               .lower())) or "column"


@register(
    "cycle-summary-csv",
    vendor="various",
    description="per-cycle summary tables (BatteryArchive.org, batterydata.energy.gov, Novonix)",
    extensions=(".csv",),
    kind="cycle_summary",
    sniff=_sniff,
)
def read_cycle_summary(path: Path) -> CycleSummaryRecord:
    """Read a per-cycle summary CSV of one of the :data:`LAYOUTS` (module docstring).

    Raises
    ------
    FormatError
        When the header is none of the layouts, a numeric cell is not a number, or a
        cycle number is not a whole number.
    """
    text = decode(file_bytes(Path(path)))
    layout = _layout_of(text[:65536])
    if layout is None:
        raise FormatError("expected the header of a per-cycle summary table "
                          f"(one of {', '.join(sorted(x.vendor for x in LAYOUTS))})",
                          file=path, position="line 1")
    raw = parse_table(text, path, first_line=1)
    notes = list(layout.notes)
    columns: dict[str, object] = {}
    dropped = []
    for position, header in enumerate(raw.columns):
        name = layout.columns.get(header, f"{layout.prefix}_{_snake(header)}")
        known = header in layout.columns
        if name in columns:
            raise FormatError(f"columns {header!r} and another one both make {name!r}",
                              file=path, position="line 1")
        if position == 0 and header.startswith("Unnamed: "):
            notes.append("the unnamed first column (the row number pandas wrote) is left out")
        elif len(raw) and raw[header].isna().all() and name != "cycle_count":
            dropped.append(header)
        elif header in layout.labels or not (known or is_numeric_dtype(raw[header])):
            columns[name] = raw[header]
        else:
            columns[name] = numeric_column(raw, header, path, first_data_line=2)
    if dropped:
        notes.append(f"column(s) {dropped} are empty in every row and are left out")
    data = pd.DataFrame(columns, index=pd.RangeIndex(len(raw)))
    data["cycle_count"] = _whole_numbers(data["cycle_count"].to_numpy(float), path)
    data = data[["cycle_count", *[c for c in data.columns if c != "cycle_count"]]]
    start = _start_time(raw)
    meta = Metadata(vendor=layout.vendor, technique=("cycle summary",), start_time=start,
                    time_zone=None if start is None else "local", notes=tuple(notes))
    return CycleSummaryRecord(data, meta)


def _whole_numbers(cycles: np.ndarray, path: Path) -> np.ndarray:
    bad = ~np.isfinite(cycles) | (cycles != np.round(cycles))
    if bad.any():
        row = int(np.argmax(bad))
        raise FormatError(f"expected a whole cycle number, found {cycles[row]!r}", file=path,
                          position=f"line {row + 2}")
    return cycles.astype(np.int64)


def _start_time(raw: pd.DataFrame) -> str | None:
    """The first cycle's start as ISO 8601 local time (the files state no zone)."""
    if "Start_Time" in raw and raw["Start_Time"].notna().any():
        stamp = pd.to_datetime(raw["Start_Time"].iloc[0], errors="coerce")
        return None if pd.isna(stamp) else stamp.isoformat()
    if "Datenum_d" in raw and len(raw):
        datenum = pd.to_numeric(raw["Datenum_d"].iloc[:1], errors="coerce").iloc[0]
        if np.isfinite(datenum):
            return pd.Timestamp((datenum - _DATENUM_EPOCH) * 86400.0, unit="s").round(
                "ms").isoformat()
    return None
