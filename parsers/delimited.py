"""Generic delimited-text reader: any CSV/TSV with an explicit column mapping.

For a file no vendor parser knows, say which column holds what and in which
unit, and get a :class:`~labkit.data.CyclingRecord` in labkit's canonical
columns and SI units::

    from labkit.parsers.delimited import read_delimited
    record = read_delimited(
        "export.csv",
        columns={"Time (h)": "test_time_second", "U": "voltage_volt", "I": "current_ampere"},
        units={"U": "mV", "I": "mA"},
    )

A unit is taken from ``units`` first, else from the header itself
(``"Time (h)"``, ``"I[mA]"``, ``"Current / A"``), else the column is assumed to
be in the target's unit already. Every value goes through pandas' C parser;
a cell that is not a number is a :class:`~labkit.errors.FormatError` naming
its line and column.

:func:`tidy_columns` is the same conversion on an already parsed table; the
vendor parsers of this package use it. Auto-detection of CSVs whose header
uses Battery Data Format names lives in :mod:`labkit.parsers.bdf`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from labkit.columns import CYCLING_COLUMNS, unit_of
from labkit.data import CyclingRecord, Metadata
from labkit.errors import FormatError
from labkit.parsers._text import decode, numeric_column, read_table, si_scale, split_header
from labkit.parsers._timecheck import time_order_notes
from labkit.registry import file_bytes

#: Columns holding whole numbers; stored as int64 when no value is missing.
COUNT_COLUMNS = ("cycle_count", "step_index", "step_count", "record_index")

_CANDIDATE_SEPARATORS = (",", "\t", ";", "|")

#: Unit spellings meaning "a pure number" (BDF writes counts as ``/ 1``).
_DIMENSIONLESS = ("", "1", "-", "none")


def guess_separator(header: str) -> str:
    """The most frequent of ``,``, TAB, ``;``, ``|`` in a header line (``,`` when none occurs)."""
    counts = {sep: header.count(sep) for sep in _CANDIDATE_SEPARATORS}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def parse_table(text: str, path: Path, *, first_line: int, sep: str = ",",
                decimal: str = ".") -> pd.DataFrame:
    """Parse a delimited table (header row first) with pandas' C engine.

    Unlike a plain ``pandas.read_csv``, rows with more fields than the header (exports
    ending every line with a separator) never shift a column into the index; the
    surplus trailing fields are dropped. Errors name the file line.
    """
    table = read_table(text, path, first_line=first_line, sep=sep, decimal=decimal,
                       index_col=False)
    table.columns = [str(c).strip() for c in table.columns]
    return table


def column_factor(source: str, target: str, unit: str | None, path: Path) -> float:
    """The factor converting column ``source`` (in ``unit``) to the unit ``target`` names.

    Parameters
    ----------
    source
        Header of the column in the file.
    target
        Canonical labkit name (its suffix names the unit, :func:`labkit.columns.unit_of`).
    unit
        Unit of the values as the file or the user states it; ``None`` means take it
        from the header text, and no unit at all means the values are already in the
        target's unit.

    Raises
    ------
    FormatError
        When the unit is unknown or of another quantity than the target.
    """
    if unit is None:
        unit = split_header(source)[1]
    wanted = unit_of(target)
    if unit.strip().lower() in _DIMENSIONLESS:
        return 1.0
    try:
        labkit_unit, factor = si_scale(unit)
    except KeyError:
        raise FormatError(
            f"column {source!r}: unknown unit {unit!r}; give its unit in units=",
            file=path,
        ) from None
    if labkit_unit != wanted:
        raise FormatError(
            f"column {source!r} is in {unit!r} ({labkit_unit}) but {target!r} needs "
            f"{wanted or 'a pure number'}",
            file=path,
        )
    return factor


def tidy_columns(
    raw: pd.DataFrame,
    columns: Mapping[str, str],
    path: Path,
    *,
    first_data_line: int,
    units: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Rename, convert to SI and type-check the mapped columns of a parsed table.

    Parameters
    ----------
    raw
        The table as pandas parsed it, headers as in the file.
    columns
        File header -> labkit column. A target with a unit suffix (or a canonical
        name) must be numeric; other targets (labels such as ``bdf_step_type``)
        are kept as they are.
    path
        The file, for error messages.
    first_data_line
        1-based line number of the first data row, for error messages.
    units
        File header -> unit of its values, overriding the unit in the header.

    Returns
    -------
    pandas.DataFrame
        Only the mapped columns, in mapping order; counts as int64 when complete.

    Raises
    ------
    FormatError
        A mapped column is absent, two columns map to one name, a unit does not fit,
        or a cell of a numeric column is not a number.
    """
    units = dict(units or {})
    targets = list(columns.values())
    doubled = sorted({t for t in targets if targets.count(t) > 1})
    if doubled:
        raise FormatError(f"several columns map to {doubled}; map each name once", file=path)
    missing = [source for source in columns if source not in raw.columns]
    if missing:
        raise FormatError(
            f"expected column(s) {missing} in the header; found {list(map(str, raw.columns))}",
            file=path,
            position=f"line {first_data_line - 1}",
        )
    out: dict[str, object] = {}
    for source, target in columns.items():
        numeric = target in CYCLING_COLUMNS or bool(unit_of(target))
        if not numeric:
            out[target] = raw[source].to_numpy()
            continue
        values = numeric_column(raw, source, path, first_data_line)
        factor = column_factor(source, target, units.get(source), path)
        if factor != 1.0:
            values = values * factor
        complete = not np.isnan(values).any()
        if target in COUNT_COLUMNS and complete and np.all(values == np.round(values)):
            values = values.astype(np.int64)
        out[target] = values
    return pd.DataFrame(out, index=pd.RangeIndex(len(raw)))


def read_delimited(
    path: str | PathLike[str],
    columns: Mapping[str, str],
    units: Mapping[str, str] | None = None,
    sep: str | None = None,
    *,
    header_line: int = 1,
    decimal: str = ".",
    invert_current: bool = False,
    meta: Metadata | None = None,
) -> CyclingRecord:
    """Read a delimited text file with an explicit column mapping.

    Parameters
    ----------
    path
        The file (any encoding :func:`labkit.parsers._text.decode` handles).
    columns
        Header in the file -> labkit column name (see :mod:`labkit.columns`), e.g.
        ``{"Time (h)": "test_time_second", "Ewe/V": "voltage_volt"}``. Columns not
        mapped are dropped. ``test_time_second`` and a voltage or current are required.
    units
        Header -> unit of its values when the header does not say (``{"I": "mA"}``).
    sep
        Field separator; ``None`` picks the most frequent of ``, TAB ; |`` in the header.
    header_line
        1-based line number of the header row; lines above it are skipped.
    decimal
        Decimal mark (``","`` for many European exports).
    invert_current
        Set for files whose current is positive on discharge: labkit's convention is
        positive = charge.
    meta
        Metadata to attach (start time, sample...); provenance is filled in by
        :func:`labkit.read` only, so this function returns it as given.

    Returns
    -------
    CyclingRecord
        Validated; decreasing or repeated test times are described in ``meta.notes``.

    Raises
    ------
    FormatError
        Naming the file and line: header line missing, unknown column, bad unit,
        a cell that is not a number.
    """
    path = Path(path)
    text = decode(file_bytes(path))
    lines = text.splitlines()
    if header_line < 1 or header_line > len(lines):
        raise FormatError(
            f"expected a header at line {header_line}, the file has {len(lines)} line(s)",
            file=path,
            position=f"line {header_line}",
        )
    header = lines[header_line - 1]
    separator = sep if sep is not None else guess_separator(header)
    body = "\n".join(lines[header_line - 1:])
    raw = parse_table(body, path, first_line=header_line, sep=separator, decimal=decimal)
    data = tidy_columns(raw, {k.strip(): v for k, v in columns.items()}, path,
                        first_data_line=header_line + 1,
                        units={k.strip(): v for k, v in (units or {}).items()})
    if invert_current and "current_ampere" in data:
        data["current_ampere"] = -data["current_ampere"]
    meta = meta or Metadata()
    if "test_time_second" in data:
        notes = time_order_notes(data["test_time_second"].to_numpy(), header_line + 1)
        meta = dataclasses.replace(meta, notes=meta.notes + notes)
    record = CyclingRecord(data, meta)
    record.validate()
    return record
