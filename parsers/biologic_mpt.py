"""BioLogic EC-Lab / BT-Lab text exports (``.mpt``, ``.mpt.txt``, ``.txt``, ``;`` CSV).

An export starts ``EC-Lab ASCII FILE`` (or ``BT-Lab ASCII FILE``), then
``Nb header lines : N``; line N holds the column labels and data follows. Some exports
have no preamble at all (the labels are line 1), and BT-Lab can also write a
``;``-separated CSV. Files are latin-1/cp1252 or UTF-8, LF or CRLF; the decimal
separator follows the Windows locale (comma in German exports) while the field
separator stays TAB. ``time/s`` can be exported as absolute date-times.

Header facts read when stated: technique (line 4), acquisition start, channel,
software version, electrode surface area, mass of active material, characteristic
mass, battery capacity. EC-Lab's untouched defaults (0 and 0.001) mean "not entered"
and are not reported.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from labkit.data import CyclingRecord, ImpedanceRecord, Metadata, Sample
from labkit.errors import FormatError, line_position
from labkit.parsers._biologic_columns import (
    TECHNIQUE_TITLES,
    build_record,
    label_key,
    placeholder_free,
)
from labkit.parsers._text import decode, decode_head, numeric_column, read_table
from labkit.registry import file_bytes, register

_PREAMBLE = re.compile(r"^\s*(EC-Lab|BT-Lab)\s+ASCII\s+FILE", re.IGNORECASE)
_LOG_FILE = re.compile(r"^\s*(EC-Lab|BT-Lab)\s+(LOG|SETTING)\s+FILE", re.IGNORECASE)
_HEADER_COUNT = re.compile(r"^\s*Nb header lines\s*:\s*(\d+)")
# labels only BioLogic writes; a headerless export must show two of them
_SIGNATURE_LABELS = ("time/s", "Ewe/V", "Ecell/V", "<Ewe>/V", "I/mA", "<I>/mA", "control/V",
                     "(Q-Qo)/mA.h", "Ns changes", "counter inc.", "freq/Hz", "-Im(Z)/Ohm",
                     "Q charge/discharge/mA.h", "dq/mA.h")
_DATE_TIME = "%m/%d/%Y %H:%M:%S"


def _header_labels(line: str) -> list[str]:
    separator = ";" if ";" in line and "\t" not in line else "\t"
    return [label_key(field) for field in line.split(separator)]


def _sniff(head: bytes, path: Path) -> bool:
    text = decode_head(head)
    if _PREAMBLE.match(text):
        return True
    first = text.split("\n", 1)[0]
    labels = set(_header_labels(first))
    return "time/s" in labels and len(labels.intersection(_SIGNATURE_LABELS)) >= 2


def _sniff_log(head: bytes, path: Path) -> bool:
    return bool(_LOG_FILE.match(decode_head(head)))


@register("biologic-mpl", vendor="BioLogic",
          description="EC-Lab / BT-Lab log or settings sidecar (.mpl/.mps): no data, refused "
                      "with a pointer to the data file",
          extensions=(".mpl", ".mps"), kind="cycling", sniff=_sniff_log)
def read_mpl(path: Path) -> CyclingRecord:
    """Refuse an EC-Lab log/settings file with a message saying where the data is.

    Raises
    ------
    FormatError
        Always: these files hold the run's settings, not its data points.
    """
    raise FormatError("this is an EC-Lab/BT-Lab log or settings file (.mpl/.mps); it holds no "
                      "data points - read the .mpr or .mpt of the same run",
                      file=path, position=line_position(1))


@register("biologic-mpt", vendor="BioLogic",
          description="EC-Lab / BT-Lab text export (.mpt, .txt, ;-separated .csv)",
          extensions=(".mpt", ".mpt.txt", ".txt", ".csv"), kind="cycling/impedance",
          sniff=_sniff, priority=5, version="2")
def read_mpt(path: Path) -> CyclingRecord | ImpedanceRecord:
    """Read a BioLogic text export into a labkit record.

    Raises
    ------
    FormatError
        Naming the line, for a bad header count, a non-numeric cell or impedance
        data without frequency/impedance columns.
    """
    path = Path(path)
    text = decode(file_bytes(path))
    label_line = _label_line(text, path)
    start = _line_offset(text, label_line, path)
    header_lines = text[:start].splitlines()
    first_line_end = text.find("\n", start)
    labels_text = text[start:first_line_end if first_line_end >= 0 else len(text)]
    separator = ";" if ";" in labels_text and "\t" not in labels_text else "\t"
    decimal = _decimal(text, first_line_end, separator)
    table = read_table(text[start:], path, first_line=label_line, sep=separator,
                       decimal=decimal)
    table, notes = _drop_unlabelled(table)
    first_data_line = label_line + 1
    raw, time_notes, first_time = _numeric(table, path, first_data_line)
    notes += time_notes
    meta = _metadata(header_lines, path)
    meta = dataclasses.replace(meta, start_time=meta.start_time or first_time,
                               notes=tuple(meta.notes) + tuple(notes))
    columns = {str(label): raw[label].to_numpy() for label in raw.columns}
    return build_record(columns, meta, loop_starts=_loop_starts(header_lines),
                        position=line_position(label_line))


def _label_line(text: str, path: Path) -> int:
    """1-based line number of the column labels."""
    if not _PREAMBLE.match(text):
        return 1
    second = text.split("\n", 2)[1] if text.count("\n") >= 1 else ""
    match = _HEADER_COUNT.match(second)
    if not match:
        raise FormatError(f"expected 'Nb header lines : N' on line 2, found {second.strip()!r}",
                          file=path, position=line_position(2))
    count = int(match.group(1))
    if count < 3:
        raise FormatError(f"header line count {count} is below 3 (preamble + count + labels)",
                          file=path, position=line_position(2))
    return count


def _line_offset(text: str, line: int, path: Path) -> int:
    """Character offset where 1-based ``line`` starts; FormatError if the file is shorter."""
    offset = 0
    for _ in range(1, line):
        newline = text.find("\n", offset)
        if newline < 0 or newline + 1 == len(text):
            n_lines = len(text.splitlines())
            raise FormatError(f"header announces column labels on line {line}, but the file "
                              f"has only {n_lines} lines", file=path,
                              position=line_position(n_lines))
        offset = newline + 1
    return offset


_COMMA_NUMBER = re.compile(r"^-?\d+,\d+(E[+-]?\d+)?$", re.IGNORECASE)


def _decimal(text: str, labels_end: int, separator: str) -> str:
    """',' when the first data line writes numbers with a decimal comma."""
    if separator == ";" or labels_end < 0:
        return "."
    line_end = text.find("\n", labels_end + 1)
    first_row = text[labels_end + 1:line_end if line_end >= 0 else len(text)]
    fields = [f.strip() for f in first_row.split(separator)]
    return "," if any(_COMMA_NUMBER.match(f) for f in fields) else "."


def _drop_unlabelled(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Drop columns without a label: the trailing TAB's empty column, a CSV's row index."""
    unlabelled = [c for c in table.columns
                  if not str(c).strip() or str(c).startswith("Unnamed:")]
    notes = []
    if any(table[c].notna().any() for c in unlabelled):
        notes.append("a column without a label (a row index) was dropped")
    return table.drop(columns=unlabelled), notes


def _numeric(
    table: pd.DataFrame, path: Path, first_data_line: int
) -> tuple[pd.DataFrame, list[str], str | None]:
    """Every column numeric; absolute ``time/s`` date-times become seconds from the first."""
    notes: list[str] = []
    first_time = None
    columns: dict[str, np.ndarray] = {}
    for column in table.columns:
        values = table[column]
        if pd.api.types.is_numeric_dtype(values.dtype):
            columns[column] = values.to_numpy()
            continue
        if label_key(str(column)) == "time/s":
            stamps = pd.to_datetime(values, format=f"{_DATE_TIME}.%f", errors="coerce")
            stamps = stamps.fillna(pd.to_datetime(values, format=_DATE_TIME, errors="coerce"))
            if stamps.notna().all() and len(stamps):
                columns[column] = (stamps - stamps.iloc[0]).dt.total_seconds().to_numpy()
                first_time = stamps.iloc[0].isoformat(timespec="milliseconds")
                notes.append("time/s was exported as date-times (month/day/year, local time); "
                             "test_time_second counts from the first row")
                continue
        columns[column] = numeric_column(table, column, path, first_data_line)
    return pd.DataFrame(columns), notes, first_time


_LOOP = re.compile(r"^\s*Loop\s+\d+\s+from point number\s+(\d+)\s+to\s+(\d+)", re.IGNORECASE)


def _loop_starts(header: list[str]) -> np.ndarray | None:
    """First row of each loop (plus one past the last) from 'Loop k from point number a to b'."""
    spans = [(int(m.group(1)), int(m.group(2))) for m in map(_LOOP.match, header) if m]
    if not spans:
        return None
    return np.array([start for start, _ in spans] + [spans[-1][1] + 1], dtype=np.int64)


def _value(header: list[str], key: str) -> str | None:
    prefix = re.compile(rf"^\s*{re.escape(key)}\s*:\s*(.*?)\s*$", re.IGNORECASE)
    for line in header:
        match = prefix.match(line)
        if match:
            return match.group(1)
    return None


_QUANTITY = re.compile(r"^(-?\d+(?:[.,]\d+)?)\s*(\S+)")
_AREA_CM2 = {"cm2": 1.0, "cm²": 1.0, "mm2": 0.01, "mm²": 0.01, "m2": 1e4, "m²": 1e4}
_MASS_G = {"g": 1.0, "mg": 1e-3, "µg": 1e-6, "kg": 1e3}
_CHARGE_AH = {"A.h": 1.0, "mA.h": 1e-3, "µA.h": 1e-6}


def _quantity(text: str | None, units: dict[str, float]) -> float | None:
    """A header value like ``'0,196 cm²'`` in labkit units; placeholders give None."""
    if not text:
        return None
    match = _QUANTITY.match(text)
    if not match:
        return None
    number = placeholder_free(float(match.group(1).replace(",", ".")))
    unit = match.group(2).replace("μ", "µ")
    if number is None or unit not in units:
        return None
    return number * units[unit]


def _metadata(header: list[str], path: Path) -> Metadata:
    """Technique, start time, channel, software and sample values from the preamble."""
    if not header:
        return Metadata(notes=("headerless export: no technique, start time or sample values",))
    technique = ()
    if len(header) > 3 and header[3].strip() in TECHNIQUE_TITLES:
        technique = (TECHNIQUE_TITLES[header[3].strip()],)
    elif len(header) > 3 and header[3].strip():
        technique = (header[3].strip(),)
    start = _start_time(_value(header, "Acquisition started on"))
    channel = _value(header, "Run on channel")
    channel = channel.split("(")[0].strip() if channel else None
    software = None
    for line in header:
        match = re.match(r"^\s*(EC-Lab|BT-Lab)\s+for windows\s+v(\S+)\s*\(software\)", line,
                         re.IGNORECASE)
        if match:
            family = "BT-Lab" if match.group(1).lower() == "bt-lab" else "EC-Lab"
            software = f"{family} {match.group(2)}"
            break
    sample = Sample(
        area_square_centimeter=_quantity(_value(header, "Electrode surface area"), _AREA_CM2),
        active_mass_gram=_quantity(_value(header, "Mass of active material"), _MASS_G),
        nominal_capacity_ampere_hour=_quantity(_value(header, "Battery capacity"), _CHARGE_AH),
    )
    extra: dict[str, object] = {}
    characteristic = _quantity(_value(header, "Characteristic mass"), _MASS_G)
    if characteristic is not None:
        extra["characteristic_mass_gram"] = characteristic
    if software:
        extra["software_version"] = software.split(" ", 1)[1]
    notes = ("start_time is 'Acquisition started on', local time (no UTC offset stated)",) \
        if start else ()
    return Metadata(technique=technique, start_time=start, instrument=software,
                    channel=channel, sample=sample, notes=notes, extra=extra)


def _start_time(text: str | None) -> str | None:
    """ISO 8601 from EC-Lab's ``MM/DD/YYYY HH:MM:SS[.fff]``; anonymised values give None."""
    if not text:
        return None
    for pattern in (f"{_DATE_TIME}.%f", _DATE_TIME):
        try:
            return datetime.strptime(text.strip(), pattern).isoformat(timespec="milliseconds")
        except ValueError:
            continue
    return None
