"""IviumSoft ``.idf`` (one dataset) and ``.ids`` (several datasets) files.

INI-like ``key=value`` text after a few binary bytes. Each dataset has ``Method=``,
``Technique=``, ``Title=``, ``starttime=`` keys and a ``primary_data`` block: the line
``primary_data``, the number of columns (3), the number of rows, then rows ``Z' Z''
frequency`` (Z'' with the sign as measured). An ``.ids`` file repeats this per dataset;
each impedance dataset becomes one spectrum.
"""

from __future__ import annotations

import re
from pathlib import Path

from labkit.data import ImpedanceRecord, Metadata
from labkit.errors import FormatError
from labkit.parsers._impedance import (
    concat_spectra,
    impedance_frame,
    numeric_block,
    require_finite_frequency,
)
from labkit.parsers._text import decode
from labkit.registry import file_bytes, register

_PRIMARY = re.compile(r"^primary_data\s*$", re.MULTILINE)


def _sniff(head: bytes, path: Path) -> bool:
    return b"Corrosion=" in head[:512] and (b"primary_data" in head or b"Technique=" in head)


@register("ivium-idf", vendor="Ivium", description="IviumSoft .idf/.ids dataset",
          extensions=(".idf", ".ids"), kind="impedance", sniff=_sniff)
def read_ivium(path: Path) -> ImpedanceRecord:
    """Read the impedance datasets of an Ivium ``.idf`` or ``.ids`` file.

    Raises
    ------
    FormatError
        When no ``primary_data`` block is found, or a block is cut short.
    """
    path = Path(path)
    text = decode(file_bytes(path).replace(b"\x00", b"")).replace("\r\n", "\n")
    lines = text.split("\n")
    starts = [text.count("\n", 0, m.start()) for m in _PRIMARY.finditer(text)]
    if not starts:
        raise FormatError("expected a 'primary_data' block", file=path)
    frames, titles, techniques, notes = [], [], [], []
    previous_end = 0
    for number, start in enumerate(starts):
        keys = _keys(lines[previous_end:start])
        try:
            columns, rows = int(lines[start + 1].split()[0]), int(lines[start + 2].split()[0])
        except (IndexError, ValueError):
            raise FormatError("expected the column and row counts after 'primary_data'",
                              file=path, position=f"line {start + 2}") from None
        end = start + 3 + rows
        if end > len(lines) or columns < 3:
            raise FormatError(f"primary_data declares {rows} rows of {columns} values; the "
                              "file is cut short or not impedance data", file=path,
                              position=f"line {start + 3}")
        values = numeric_block(lines[:end], start + 3, path, columns=columns)
        previous_end = end
        if keys.get("Method", "Impedance") != "Impedance":
            notes.append(f"dataset {number + 1} ({keys.get('Method')}) is not impedance; skipped")
            continue
        frames.append(impedance_frame(values[:, 2], values[:, 0], values[:, 1],
                                      spectrum=len(frames)))
        titles.append(keys.get("Title", ""))
        techniques.append(keys.get("Technique", ""))
    if not frames:
        raise FormatError("no impedance dataset (Method=Impedance) in the file", file=path)
    data = concat_spectra(frames)
    require_finite_frequency(data, path, None)
    start_keys = _keys(lines[:starts[0]])
    return ImpedanceRecord(data, Metadata(
        technique=tuple(dict.fromkeys(t for t in techniques if t)) or ("Impedance",),
        start_time=start_keys.get("starttime") or None,
        instrument=start_keys.get("serialnumber") or None,
        notes=tuple(notes), extra={"titles": titles}))


def _keys(lines: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition("=")
        if sep and key and "[" not in key and "." not in key:
            out.setdefault(key.strip(), value.strip())
    return out
