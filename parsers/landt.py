"""LANDt data in SINTEF's harmonised CSV.

No native LANDt file (``.cex``) is publicly available to learn from; what
exists is the CSV SINTEF exports from LANDt runs (published with the Battery
Data Format examples): six ``key: value`` metadata lines (``cell model:``,
``cell id:``, ``test:``, ``checkpoint:``, nominal capacity / energy used for C-
and E-rates), then the header ``channel_index,cycle_index,step_index,
date_time_iso_string,test_time_s,step_time_s,current_A,voltage_V,
discharge_capacity_Ah,charge_capacity_Ah,discharge_energy_Wh,charge_energy_Wh,
Pressure_Psi,temperature_1_C,...,step_name``. Every data line ends with a comma.

Direction: ``current_A`` is signed, negative on discharge (labkit's
convention); capacities and energies are unsigned per-direction amounts in
Ah / Wh. ``date_time_iso_string`` is ``MM/DD/YYYY hh:mm:ss`` local time without
a zone: the first row gives ``meta.start_time``; no ``unix_time_second`` is
made. ``channel_index`` counts rows in the sample and is kept as named
(``landt_channel_index``). ``Pressure_Psi`` is not kept.
"""

from __future__ import annotations

import re
from pathlib import Path

from labkit.data import CyclingRecord, Metadata, Sample
from labkit.errors import FormatError
from labkit.parsers._text import decode, decode_head, first_iso_time, looks_binary
from labkit.parsers._timecheck import time_order_notes
from labkit.parsers.delimited import parse_table, tidy_columns
from labkit.registry import file_bytes, register

_HEADER_START = "channel_index,cycle_index,step_index,date_time_iso_string,test_time_s"

_COLUMNS = {
    "test_time_s": "test_time_second",
    "step_time_s": "step_time_second",
    "current_A": "current_ampere",
    "voltage_V": "voltage_volt",
    "cycle_index": "cycle_count",
    "step_index": "step_index",
    "charge_capacity_Ah": "charging_capacity_ampere_hour",
    "discharge_capacity_Ah": "discharging_capacity_ampere_hour",
    "charge_energy_Wh": "charging_energy_watt_hour",
    "discharge_energy_Wh": "discharging_energy_watt_hour",
    "temperature_1_C": "temperature_celsius",
    "temperature_2_C": "temperature_t2_celsius",
    "temperature_3_C": "temperature_t3_celsius",
    "channel_index": "landt_channel_index",
    "step_name": "landt_step_name",
}
_UNITS = {"test_time_s": "s", "step_time_s": "s", "current_A": "A", "voltage_V": "V",
          "charge_capacity_Ah": "Ah", "discharge_capacity_Ah": "Ah", "charge_energy_Wh": "Wh",
          "discharge_energy_Wh": "Wh", "temperature_1_C": "°C", "temperature_2_C": "°C",
          "temperature_3_C": "°C"}


def _sniff(head: bytes, path: Path) -> bool:
    return not looks_binary(head) and ("\n" + _HEADER_START) in decode_head(head)


def _number(text: str) -> float | None:
    match = re.search(r"[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?", text)
    return float(match.group()) if match else None


@register(
    "landt-sintef-csv",
    vendor="LANDt",
    description="LANDt run in SINTEF's harmonised CSV (6 metadata lines, snake_case header)",
    extensions=(".csv",),
    kind="cycling",
    sniff=_sniff,
)
def read_landt_csv(path: Path) -> CyclingRecord:
    """Read a SINTEF harmonised LANDt CSV (see the module docstring for units and sign)."""
    lines = decode(file_bytes(Path(path))).splitlines()
    header_index = next((i for i, line in enumerate(lines[:50]) if line.startswith(_HEADER_START)),
                        None)
    if header_index is None:
        raise FormatError(f"expected a header starting {_HEADER_START!r}", file=path,
                          position="line 1")
    raw = parse_table("\n".join(lines[header_index:]), path, first_line=header_index + 1)
    columns = {k: v for k, v in _COLUMNS.items() if k in raw}
    data = tidy_columns(raw, columns, path, first_data_line=header_index + 2, units=_UNITS)
    fields = {}
    for line in lines[:header_index]:
        key, _, value = line.rstrip(",").partition(":")
        fields[key.strip()] = value.strip().strip(",")
    nominal = next((v for k, v in fields.items() if k.startswith("Nominal capacity")), "")
    meta = Metadata(
        vendor="LANDt",
        start_time=first_iso_time(raw, "date_time_iso_string", "%m/%d/%Y %H:%M:%S"),
        sample=Sample(name=fields.get("cell id") or None,
                      nominal_capacity_ampere_hour=_number(nominal)),
        notes=time_order_notes(data["test_time_second"].to_numpy(), header_index + 2),
        extra=fields,
    )
    return CyclingRecord(data, meta)
