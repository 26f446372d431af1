"""Voltaiq Data Format (VDF) text files, as written by battery-lab loggers.

Layout (VDF 3.0): ``Key: value`` header lines (``Start Time:`` unix ms,
``Format Version:``, ``Timezone:``, ``Channel Number:``), a ``[DATA START]``
line, then a TAB-separated row of names and a row of units (``second``,
``amp``, ``volt``, ``epoch``, ``celsius``, ``none``...), then data.

Columns: ``Test Time`` -> ``test_time_second``, ``Current`` ->
``current_ampere``, ``Potential`` -> ``voltage_volt``, ``Timestamp`` (epoch ms)
-> ``unix_time_second``, ``Ambient Temperature`` ->
``ambient_temperature_celsius``; every other numeric column is kept as
``vdf_<name>`` (with its unit suffix when the unit row gives one labkit knows).
The corpus sample is an expansion-sensor (LDC) log written beside a Neware
channel: its current and potential are 0 throughout, which ``meta.notes`` says.

Direction: VDF current is taken as positive = charge (the convention of the
format); the sample cannot confirm it, as it carries no current.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from labkit.data import CyclingRecord, Metadata
from labkit.errors import FormatError
from labkit.parsers._text import decode, decode_head, looks_binary
from labkit.parsers._timecheck import time_order_notes
from labkit.parsers.delimited import parse_table, tidy_columns
from labkit.registry import file_bytes, register

_MARKER = "[DATA START]"
_NAMES = {
    "Test Time": "test_time_second",
    "Current": "current_ampere",
    "Potential": "voltage_volt",
    "Timestamp": "unix_time_second",
    "Ambient Temperature": "ambient_temperature_celsius",
    "Datapoint Number": "record_index",
}
#: VDF unit word -> (labkit unit spelling for si_scale, suffix for vendor columns).
_UNITS = {"second": ("s", "_second"), "amp": ("A", "_ampere"), "volt": ("V", "_volt"),
          "milliamp": ("mA", "_ampere"), "millivolt": ("mV", "_volt"),
          "epoch": ("ms", "_second"), "celsius": ("°C", "_celsius"),
          "amp_hour": ("Ah", "_ampere_hour"), "watt_hour": ("Wh", "_watt_hour"),
          "watt": ("W", "_watt"), "ohm": ("ohm", "_ohm"), "percent": ("", "_percent"),
          "none": ("", "")}


def _sniff(head: bytes, path: Path) -> bool:
    if looks_binary(head):
        return False
    text = decode_head(head)
    return ("\n" + _MARKER) in text and "Format Version:" in text.split(_MARKER, 1)[0]


@register(
    "voltaiq-vdf",
    vendor="Voltaiq",
    description="Voltaiq Data Format text (header, [DATA START], names and units rows)",
    extensions=(".csv", ".vdf"),
    kind="cycling",
    sniff=_sniff,
)
def read_vdf(path: Path) -> CyclingRecord:
    """Read a VDF file (see the module docstring for columns and sign)."""
    lines = decode(file_bytes(Path(path))).splitlines()
    marker = next((i for i, line in enumerate(lines[:200]) if line.strip() == _MARKER), None)
    if marker is None or marker + 2 >= len(lines):
        raise FormatError(f"expected {_MARKER!r} followed by a names row and a units row",
                          file=path, position="line 1")
    names = [n.strip() for n in lines[marker + 1].split("\t")]
    unit_words = [u.strip().lower() for u in lines[marker + 2].split("\t")]
    if len(unit_words) != len(names):
        raise FormatError(f"units row has {len(unit_words)} fields for {len(names)} names",
                          file=path, position=f"line {marker + 3}")
    body = "\n".join([lines[marker + 1]] + lines[marker + 3:])
    raw = parse_table(body, path, first_line=marker + 2, sep="\t")
    columns: dict[str, str] = {}
    units: dict[str, str] = {}
    for name, word in zip(names, unit_words, strict=True):
        if word not in _UNITS:
            raise FormatError(f"column {name!r}: unknown VDF unit {word!r}", file=path,
                              position=f"line {marker + 3}")
        unit, suffix = _UNITS[word]
        if name in _NAMES:
            columns[name] = _NAMES[name]
        elif pd.api.types.is_numeric_dtype(raw[name]):
            columns[name] = "vdf_" + re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") + suffix
        units[name] = unit
    data = tidy_columns(raw, columns, path, first_data_line=marker + 4, units=units)
    notes = list(time_order_notes(data["test_time_second"].to_numpy(), marker + 4))
    signals = [c for c in ("current_ampere", "voltage_volt") if c in data]
    if signals and len(data) and all(np.all(data[c].to_numpy() == 0) for c in signals):
        notes.append("current and potential are 0 on every row: a sensor log, not cycling data")
    fields = {}
    for line in lines[:marker]:
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    start = pd.to_numeric(fields.get("Start Time"), errors="coerce")
    meta = Metadata(
        vendor="Voltaiq",
        start_time=None if pd.isna(start) else pd.Timestamp(start, unit="ms", tz="UTC").isoformat(),
        channel=fields.get("Channel Number") or None,
        notes=tuple(notes),
        extra=fields,
    )
    return CyclingRecord(data, meta)
