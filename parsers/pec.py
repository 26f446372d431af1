"""PEC SBT CSV exports (both layouts seen in the wild).

Layout: ``Key:,value`` header lines (``Test:``, ``TestRegime Name:``,
``Start Time:`` ...), an optional ``#RESULTS CHECK`` ... ``#END RESULTS CHECK``
block, then the table whose header row starts ``Test,Cell,Rack,Shelf,...``.
Data rows carry more (empty) trailing fields than the header names; they are
dropped. Two export versions:

* older (e.g. cellpy's ``pec.csv``): ``Total Time (Seconds)``, ``Voltage (mV)``,
  ``Current (mA)``, energies mislabelled ``Charge Capacity (mWh)`` /
  ``Discharge Capacity (mWh)``;
* newer (``TestNNNNN.csv``): ``Instruction Name``, times
  ``Total Time (Hours in hh:mm:ss.xxx)`` (hours may exceed 24), ``Voltage (V)``,
  ``Current (A)``, ``Charge Energy (mWh)``.

Direction: PEC current is signed, negative on discharge, which is labkit's
convention already; capacities and energies are unsigned magnitudes in mAh /
mWh (converted to Ah / Wh). ``Cycle`` counts from 0 in PEC; ``cycle_count`` is
``Cycle + 1`` (as cellpy does). ``Step`` is the programmed step number and
becomes ``step_index``. Times in ``Real Time`` are local without a zone, so no
``unix_time_second`` is made; the header ``Start Time`` goes to ``meta.start_time``.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from labkit.data import CyclingRecord, Metadata, Sample
from labkit.errors import FormatError
from labkit.parsers._text import decode, decode_head, looks_binary
from labkit.parsers._timecheck import time_order_notes
from labkit.parsers.delimited import tidy_columns
from labkit.registry import file_bytes, register

_TABLE_START = "Test,Cell,Rack,Shelf,Position"
_DURATION = "Hours in hh:mm:ss.xxx"

#: Header pattern -> labkit column; the unit comes from the header (seconds handled here).
_COLUMNS: tuple[tuple[str, str], ...] = (
    (r"Total Time \(.*\)", "test_time_second"),
    (r"Step Time \(.*\)", "step_time_second"),
    (r"Step", "step_index"),
    (r"Cycle", "cycle_count"),
    (r"Voltage \((m?V)\)", "voltage_volt"),
    (r"Current \((m?A)\)", "current_ampere"),
    (r"Charge Capacity \((m?Ah)\)", "charging_capacity_ampere_hour"),
    (r"Discharge Capacity \((m?Ah)\)", "discharging_capacity_ampere_hour"),
    (r"Charge (?:Capacity|Energy) \((m?Wh)\)", "charging_energy_watt_hour"),
    (r"Discharge (?:Capacity|Energy) \((m?Wh)\)", "discharging_energy_watt_hour"),
    (r"(?:Cell surface temperature|Temp) \(.*C\)", "temperature_celsius"),
    (r"Ambient temperature \(.*C\)", "ambient_temperature_celsius"),
    (r"ReasonCode", "pec_reason_code"),
    (r"Instruction Name", "pec_instruction_name"),
)


def _sniff(head: bytes, path: Path) -> bool:
    if looks_binary(head):
        return False
    text = decode_head(head)
    return text.startswith("Request Year:,") or ("\n" + _TABLE_START) in text


def _header_fields(lines: list[str], end: int) -> dict[str, str]:
    fields = {}
    for line in lines[:end]:
        key, sep, value = line.partition(":,")
        if sep and not line.startswith("#"):
            fields[key.strip()] = value.rstrip(",").strip()
    return fields


def _parse_time(value: str) -> str | None:
    stamp = pd.to_datetime(value, format="%m/%d/%Y %H:%M:%S", errors="coerce")
    if pd.isna(stamp) or stamp.year < 1900:
        return None
    return stamp.isoformat()


def _durations(column: pd.Series, name: str, path: Path, first_data_line: int) -> np.ndarray:
    """``hhh:mm:ss.xxx`` strings to seconds, vectorised; a malformed cell is a FormatError."""
    parts = column.astype(str).str.strip().str.split(":", expand=True)
    if parts.shape[1] != 3:
        raise FormatError(f"expected hh:mm:ss.xxx in column {name!r}", file=path,
                          position=f"line {first_data_line}")
    numbers = parts.apply(pd.to_numeric, errors="coerce")
    bad = numbers.isna().any(axis=1).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise FormatError(f"expected hh:mm:ss.xxx in column {name!r}, found {column.iloc[row]!r}",
                          file=path, position=f"line {first_data_line + row}")
    return (numbers[0] * 3600 + numbers[1] * 60 + numbers[2]).to_numpy(dtype=float)


@register(
    "pec-csv",
    vendor="PEC",
    description="PEC SBT CSV export (seconds or hh:mm:ss.xxx times, mV/mA or V/A)",
    extensions=(".csv",),
    kind="cycling",
    sniff=_sniff,
)
def read_pec_csv(path: Path) -> CyclingRecord:
    """Read a PEC SBT CSV export (see the module docstring for units and sign)."""
    lines = decode(file_bytes(Path(path))).splitlines()
    header_index = next((i for i, line in enumerate(lines[:500]) if line.startswith(_TABLE_START)),
                        None)
    if header_index is None:
        raise FormatError(f"expected a table header starting {_TABLE_START!r}", file=path,
                          position="line 1")
    names = [n.strip() for n in lines[header_index].rstrip(",").split(",")]
    first_data_line = header_index + 2
    try:
        raw = pd.read_csv(io.StringIO("\n".join(lines[header_index + 1:])), header=None,
                          names=names, index_col=False, engine="c", low_memory=False,
                          dtype={k: str for k in ("Rack", "Shelf", "Position", "Cell ID")
                                 if k in names})
    except pd.errors.ParserError as exc:
        raise FormatError(f"table cannot be parsed: {exc}", file=path,
                          position=f"line {first_data_line}") from exc
    except pd.errors.EmptyDataError as exc:
        raise FormatError("expected data rows after the header", file=path,
                          position=f"line {first_data_line}") from exc
    cells = raw["Cell"].dropna().unique()
    if len(cells) > 1:
        raise FormatError(f"file holds {len(cells)} cells {list(cells)}; labkit records hold one "
                          "cell: export each cell separately", file=path)
    columns: dict[str, str] = {}
    units: dict[str, str] = {}
    for name in names:
        for pattern, target in _COLUMNS:
            if target not in columns.values() and re.fullmatch(pattern, name):
                columns[name] = target
                if _DURATION in name:
                    raw[name] = _durations(raw[name], name, path, first_data_line)
                    units[name] = "s"
                elif "(Seconds)" in name:
                    units[name] = "s"
                break
    data = tidy_columns(raw, columns, path, first_data_line=first_data_line, units=units)
    notes = ["PEC counts cycles from 0; cycle_count = Cycle + 1"]
    if "cycle_count" in data:
        data["cycle_count"] = data["cycle_count"] + 1
    if "test_time_second" in data:
        notes += time_order_notes(data["test_time_second"].to_numpy(), first_data_line)
    fields = _header_fields(lines, header_index)
    first_row = raw.iloc[0] if len(raw) else None
    channel = None
    if first_row is not None:
        channel = "/".join(str(first_row[k]) for k in ("Rack", "Shelf", "Position") if k in raw)
    cell_id = first_row["Cell ID"] if first_row is not None and "Cell ID" in raw else None
    meta = Metadata(
        vendor="PEC",
        start_time=_parse_time(fields.get("Start Time", "")),
        channel=channel,
        sample=Sample(name=None if pd.isna(cell_id) else str(cell_id)),
        notes=tuple(notes),
        extra=fields,
    )
    return CyclingRecord(data, meta)
