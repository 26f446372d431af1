"""Plain delimited impedance tables: frequency with Z'/Z'' or |Z|/phase, any column order.

Separators: comma, semicolon, tab or white space; decimal commas when the separator is
not a comma. With a header row, the columns are recognised by name (``f``, ``Freq/Hz``,
``Z'``, ``-Z''``, ``Zimag``, ``|Z|``, ``Phase(Z)/deg``, labkit's own
``frequency_hertz,z_real_ohm,z_imag_ohm``...); a leading minus means the column holds
the negated quantity. Without a header the first three columns are taken as frequency,
Z' and Z'' with the sign as measured (the convention of impedance.py, EISFitpython and
pyDRTtools exports). Several sweeps one after another become several spectra; a
``loop_index``/``cycle`` column, when present, says which spectrum a point belongs to.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from labkit.data import ImpedanceRecord, Metadata
from labkit.errors import FormatError
from labkit.parsers._impedance import (
    apply_plan,
    drop_zero_frequency,
    impedance_frame,
    plan_columns,
    require_finite_frequency,
    snake,
    split_sweeps,
)
from labkit.parsers._text import decode, decode_head, looks_binary
from labkit.registry import file_bytes, register

_NUMBER = re.compile(r"^[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?$")
_UNIT = re.compile(r"^[\[\(]?[A-Za-zΩµμ°%][A-Za-z0-9Ωµμ°%/*^·.-]*[\]\)]?$|^#$")
_SPECTRUM_LABELS = {"loop_index", "loop", "cycle", "cycle number", "spectrum", "sweep"}
_CONDITION_LABELS = {"time/s": "test_time_second", "time": "test_time_second",
                     "time (s)": "test_time_second", "ewe/v": "dc_voltage_volt",
                     "i/a": "dc_current_ampere", "temperature_celsius": "temperature_celsius",
                     "test_time_second": "test_time_second"}


def _fields(line: str, sep: str | None) -> list[str]:
    parts = line.split() if sep is None else line.split(sep)
    return [p.strip() for p in parts]


def _separator(lines: list[str]) -> str | None:
    """The separator that splits the sample lines into the same number (>= 2) of fields."""
    for sep in ("\t", ";", ","):
        counts = {len([f for f in _fields(line, sep) if f]) for line in lines}
        if len(counts) == 1 and counts.pop() >= 2:
            return sep
    counts = {len(line.split()) for line in lines}
    if len(counts) == 1 and counts.pop() >= 2:
        return None
    return "\t" if all("\t" in line for line in lines) else None


def _content_lines(text: str) -> tuple[int, list[str]]:
    """0-based index of the first table line (after blanks and '#' comments) and the lines."""
    lines = text.splitlines()
    start = 0
    while start < len(lines) and (not lines[start].strip() or lines[start].lstrip().startswith("#")):
        start += 1
    return start, lines


def _is_numeric_row(fields: list[str]) -> bool:
    values = [f for f in fields if f]
    return len(values) >= 2 and all(_NUMBER.match(f) for f in values)


def _sniff(head: bytes, path: Path) -> bool:
    if looks_binary(head):
        return False
    text = decode_head(head)
    start, lines = _content_lines(text)
    sample = [line for line in lines[start:start + 12] if line.strip()]
    if len(sample) < 3:
        return False
    sep = _separator(sample[-5:])
    first = _fields(sample[0], sep)
    rows = sample[2:] if _is_unit_row(_fields(sample[1], sep)) else sample[1:]
    if len(rows) < 2 or not all(_is_numeric_row(_fields(line, sep)) for line in rows[:2]):
        return False
    if _is_numeric_row(first):
        return len([f for f in first if f]) >= 3 and _looks_like_sweep(sample[:5], sep)
    names = {_label(f) for f in first}
    return bool(names & {"f", "freq", "frequency", "frequency_hertz", "fre"})


def _is_unit_row(fields: list[str]) -> bool:
    """Whether a row under the header spells units (``Hz``, ``Ohm``, ``[deg]``...)."""
    values = [f for f in fields if f]
    return bool(values) and not any(_NUMBER.match(f) for f in values) and all(
        _UNIT.match(f) for f in values)


def _looks_like_sweep(lines: list[str], sep: str | None) -> bool:
    """Whether the first column of headerless rows is a positive, strictly monotonic sweep."""
    try:
        first = np.array([float(_fields(line, sep)[0].replace(",", ".")) for line in lines])
    except (ValueError, IndexError):
        return False
    steps = np.diff(first)
    return bool((first > 0).all() and ((steps > 0).all() or (steps < 0).all()))


def _label(field: str) -> str:
    text = re.sub(r"\s*(?:[\(\[][^\)\]]*[\)\]]|/\s*\S+)\s*$", "", field.strip().strip('"'))
    return text.strip().lower()


@register("eis-csv", vendor="generic", description="delimited impedance table "
          "(frequency with Z'/Z'' or |Z|/phase, with or without header)",
          extensions=(".csv", ".txt", ".tsv", ".dat"), kind="impedance", sniff=_sniff,
          priority=-1)
def read_eis_csv(path: Path) -> ImpedanceRecord:
    """Read a plain delimited impedance table.

    Raises
    ------
    FormatError
        "ambiguous columns" (naming them) when the header does not say which column is
        frequency, Z' and Z''; a non-numeric cell, named by line and column.
    """
    path = Path(path)
    text = decode(file_bytes(path))
    start, lines = _content_lines(text)
    body = [line for line in lines[start:start + 12] if line.strip()]
    if len(body) < 2:
        raise FormatError("expected a table of at least one row of numbers", file=path,
                          position=f"line {start + 1}")
    sep = _separator(body[-5:])
    first = _fields(lines[start], sep)
    header = not _is_numeric_row(first)
    units = _fields(lines[start + 1], sep) if header and start + 1 < len(lines) else []
    has_units = bool(units) and _is_unit_row(units)
    data_start = start + (1 if header else 0) + (1 if has_units else 0)
    decimal = "."
    sample_text = "\n".join(lines[data_start:data_start + 50])
    if sep != "," and re.search(r"\d,\d", sample_text):
        decimal = ","
    notes: list[str] = []
    if header:
        labels = [f for f in first if f] if sep is None else first
        if has_units:
            unit_labels = [f for f in units if f] if sep is None else units
            labels = [f"{label} ({unit})" if unit else label
                      for label, unit in zip(labels, unit_labels + [""] * len(labels),
                                             strict=False)]
        # an empty first label over an index column (pandas' to_csv) is kept as a column
        frame = _read(lines, data_start, sep, decimal, labels, path)
        plan = plan_columns(labels, path, f"line {start + 1}")
    else:
        frame = _read(lines, data_start, sep, decimal, None, path)
        labels = [f"column {i + 1}" for i in range(frame.shape[1])]
        if frame.shape[1] < 3:
            raise FormatError(f"ambiguous columns {labels}: a table without header needs "
                              "frequency, Z' and Z'' as its first three columns",
                              file=path, position=f"line {start + 1}")
        plan = plan_columns(["f", "Z'", "Z''"] + ["?"] * (frame.shape[1] - 3), path, None)
        notes.append("no header: columns 1-3 read as frequency (Hz), Z' and Z'' (ohm) with "
                     "the sign as measured")
    notes.extend(plan.notes)
    columns = [_numeric(frame, i, path, data_start + 1, labels) for i in range(frame.shape[1])]
    values = apply_plan(plan, columns)
    used = {plan.frequency, plan.real, plan.imag, plan.modulus, plan.phase}
    extra: dict[str, np.ndarray] = {k: v for k, v in values.items()
                                    if k not in ("frequency_hertz", "z_real_ohm", "z_imag_ohm")}
    spectrum = None
    for index, label in enumerate(labels):
        if index in used or not header:
            continue
        name = _label(label)
        if name in _SPECTRUM_LABELS:
            spectrum = columns[index]
        elif label.strip().lower() in _CONDITION_LABELS:
            extra[_CONDITION_LABELS[label.strip().lower()]] = columns[index]
        elif label.strip():
            extra[f"csv_{snake(label)}"] = columns[index]
    if spectrum is not None and np.isfinite(spectrum).all():
        _, spectrum_index = np.unique(spectrum, return_inverse=True)
        notes.append("spectrum taken from the loop/cycle column")
    else:
        spectrum_index = split_sweeps(values["frequency_hertz"])
        if spectrum_index[-1] > 0:
            notes.append("a new spectrum starts wherever the frequency steps back against the "
                         "sweep direction")
    data = impedance_frame(values["frequency_hertz"], values["z_real_ohm"],
                           values["z_imag_ohm"], spectrum=spectrum_index, extra=extra)
    data = drop_zero_frequency(data, notes)
    require_finite_frequency(data, path, data_start + 1)
    return ImpedanceRecord(data, Metadata(technique=("EIS",), notes=tuple(notes),
                                          extra={"columns": labels, "decimal_separator": decimal}))


def _read(lines: list[str], data_start: int, sep: str | None, decimal: str,
          labels: list[str] | None, path: Path) -> pd.DataFrame:
    body = "\n".join(lines[data_start:])
    names = None if labels is None else list(range(len(labels)))
    try:
        frame = pd.read_csv(io.StringIO(body), sep=r"\s+" if sep is None or sep == "\t" else sep,
                            header=None, names=names, decimal=decimal,
                            skipinitialspace=True, skip_blank_lines=True, engine="c",
                            comment="#" if sep != "#" else None)
    except pd.errors.ParserError as exc:
        found = re.search(r"line (\d+)", str(exc))
        position = f"line {data_start + int(found.group(1))}" if found else None
        raise FormatError(f"rows do not match the header's columns: {exc}", file=path,
                          position=position) from exc
    except pd.errors.EmptyDataError as exc:
        raise FormatError("expected rows of numbers after the header", file=path,
                          position=f"line {data_start + 1}") from exc
    if labels is not None and sep in (None, "\t") and frame.shape[1] > len(labels):
        raise FormatError(f"rows have {frame.shape[1]} fields, the header {len(labels)}",
                          file=path, position=f"line {data_start + 1}")
    return frame


def _numeric(frame: pd.DataFrame, index: int, path: Path, first_line: int,
             labels: list[str]) -> np.ndarray:
    column = frame.iloc[:, index]
    if pd.api.types.is_numeric_dtype(column.dtype):
        return column.to_numpy(dtype=np.float64)
    raw = column.astype(str).str.strip().where(column.notna())
    cleaned = raw.str.replace(",", ".", regex=False)
    values = pd.to_numeric(cleaned, errors="coerce")
    bad = values.isna() & raw.notna() & (raw != "")
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        label = labels[index] if index < len(labels) else f"column {index + 1}"
        raise FormatError(f"expected a number in column {label!r}, found {raw.iloc[row]!r}",
                          file=path, position=f"line {first_line + row}")
    return values.to_numpy(dtype=np.float64)
