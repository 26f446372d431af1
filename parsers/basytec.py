"""BaSyTec Battery Test System result files (``.txt``).

Layout: preamble lines starting with ``~`` (``~Start of Test: dd.mm.yyyy
hh:mm:ss``, ``~Testchannel:``, ``~Battery:``, ``~Testplan:``...); the last ``~``
line is the TAB-separated column header (``~Time[s]  DataSet  t-Step[s] ...
U[V]  I[A] ... T1[°C] ... Cyc-Count  Count  State``), data follows.

Quirks: the degree sign may be missing or already replaced by U+FFFD (the
corpus sample), so temperature columns are matched by name (``T1[...]``) and
taken as °C. The time unit follows the export settings: ``Time[s]`` or
``Time[h]`` (both converted to seconds).

Direction: BaSyTec current is signed, positive = charge, as in labkit. The
``Ah``/``Wh`` running balances are signed (charge positive) and become
``net_capacity_ampere_hour`` / ``net_energy_watt_hour``; the per-cycle and
per-step discharge amounts are negative in BaSyTec and are stored as magnitudes.
``Line`` (the test-plan line) becomes ``step_index``, ``Cyc-Count`` becomes
``cycle_count``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from labkit.data import CyclingRecord, Metadata, Sample
from labkit.errors import FormatError
from labkit.parsers._text import decode, decode_head, looks_binary
from labkit.parsers._timecheck import time_order_notes
from labkit.parsers.delimited import parse_table, tidy_columns
from labkit.registry import file_bytes, register

#: Header pattern (after the unit is split off) -> labkit column.
_COLUMNS: tuple[tuple[str, str], ...] = (
    (r"Time\[(s|h|min)\]", "test_time_second"),
    (r"t-Step\[(s|h|min)\]", "step_time_second"),
    (r"U\[(m?V)\]", "voltage_volt"),
    (r"I\[(m?A)\]", "current_ampere"),
    (r"P\[(m?W)\]", "power_watt"),
    (r"Ah\[(m?Ah)\]", "net_capacity_ampere_hour"),
    (r"Ah-Cyc-Charge", "charging_capacity_ampere_hour"),
    (r"Ah-Cyc-Discharge", "discharging_capacity_ampere_hour"),
    (r"Ah-Step", "step_capacity_ampere_hour"),
    (r"Wh\[(m?Wh)\]", "net_energy_watt_hour"),
    (r"Wh-Cyc-Charge", "charging_energy_watt_hour"),
    (r"Wh-Cyc-Discharge", "discharging_energy_watt_hour"),
    (r"Wh-Step", "step_energy_watt_hour"),
    (r"T1\[.*\]", "temperature_celsius"),
    (r"DataSet", "record_index"),
    (r"Line", "step_index"),
    (r"Cyc-Count", "cycle_count"),
    (r"Command", "basytec_command"),
    (r"State", "basytec_state"),
)
_MAGNITUDES = ("discharging_capacity_ampere_hour", "step_capacity_ampere_hour",
               "discharging_energy_watt_hour", "step_energy_watt_hour")


def _sniff(head: bytes, path: Path) -> bool:
    if looks_binary(head):
        return False
    text = decode_head(head)
    return text.startswith("~") and (
        "basytec" in text.split("\n", 1)[0].lower() or "\n~Time[" in text
    )


def _mapping(names: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    columns: dict[str, str] = {}
    units: dict[str, str] = {}
    for name in names:
        for pattern, target in _COLUMNS:
            match = re.fullmatch(pattern, name)
            if match and target not in columns.values():
                columns[name] = target
                if target == "temperature_celsius":
                    units[name] = "°C"
                elif match.groups():
                    units[name] = match.group(1)
                else:  # cycle/step amounts carry no unit in the header: Ah or Wh
                    units[name] = "Wh" if target.endswith("watt_hour") else (
                        "Ah" if target.endswith("ampere_hour") else "")
                break
    return columns, units


@register(
    "basytec-txt",
    vendor="BaSyTec",
    description="BaSyTec result file ('~' preamble, TAB-separated data)",
    extensions=(".txt",),
    kind="cycling",
    sniff=_sniff,
)
def read_basytec(path: Path) -> CyclingRecord:
    """Read a BaSyTec result file (see the module docstring for units and sign)."""
    lines = decode(file_bytes(Path(path))).splitlines()
    data_start = next((i for i, line in enumerate(lines) if not line.startswith("~")), len(lines))
    if data_start == 0 or not lines[data_start - 1].startswith("~Time["):
        raise FormatError("expected a '~Time[...]' column header as the last '~' line",
                          file=path, position=f"line {max(data_start, 1)}")
    header_line = data_start  # 1-based line of the header is data_start
    table_text = "\n".join([lines[data_start - 1][1:]] + lines[data_start:])
    raw = parse_table(table_text, path, first_line=header_line, sep="\t")
    columns, units = _mapping(list(raw.columns))
    data = tidy_columns(raw, columns, path, first_data_line=header_line + 1, units=units)
    for column in _MAGNITUDES:
        if column in data:
            data[column] = data[column].abs()
    fields = {}
    for line in lines[: data_start - 1]:
        key, sep, value = line[1:].partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    start = pd.to_datetime(fields.get("Start of Test", ""), format="%d.%m.%Y %H:%M:%S",
                           errors="coerce")
    notes = time_order_notes(data["test_time_second"].to_numpy(), header_line + 1) \
        if "test_time_second" in data else ()
    meta = Metadata(
        vendor="BaSyTec",
        start_time=None if pd.isna(start) else start.isoformat(),
        channel=fields.get("Testchannel") or None,
        sample=Sample(name=fields.get("Battery") or None),
        notes=notes,
        extra=fields,
    )
    return CyclingRecord(data, meta)
