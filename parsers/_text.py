"""Helpers shared by the text-format parsers: decoding, header units, numeric tables."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from labkit.errors import FormatError


def decode(data: bytes) -> str:
    """Decode instrument text: UTF-8 (with or without BOM) first, else cp1252/latin-1.

    Exports are mostly latin-1 or cp1252 on Windows; bytes undefined in cp1252 are
    mapped through latin-1 so decoding never fails.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def decode_head(head: bytes) -> str:
    """Decode a file head for sniffing; a multi-byte character cut at the end is dropped."""
    try:
        return head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:
            return head[: exc.start].decode("utf-8-sig", errors="replace")
        return head.decode("latin-1")


def looks_binary(head: bytes) -> bool:
    """Whether a head contains NUL bytes (text exports never do)."""
    return b"\x00" in head[:4096]


_UNIT_IN_HEADER = re.compile(r"^\s*(?P<name>.*?)\s*(?:[\(\[](?P<unit>[^\)\]]*)[\)\]]|/\s*(?P<slash>\S+))\s*$")


def split_header(header: str) -> tuple[str, str]:
    """Split ``"Current (mA)"``, ``"Current[mA]"`` or ``"Current / mA"`` into name and unit.

    >>> split_header("Current(mA)")
    ('Current', 'mA')
    >>> split_header("Voltage")
    ('Voltage', '')
    """
    match = _UNIT_IN_HEADER.match(header)
    if not match:
        return header.strip(), ""
    unit = match.group("unit") if match.group("unit") is not None else match.group("slash")
    return match.group("name"), unit.strip()


# unit as spelled by instruments -> (labkit unit, factor to multiply by)
_SCALE: dict[str, tuple[str, float]] = {
    "s": ("s", 1.0), "sec": ("s", 1.0), "min": ("s", 60.0), "h": ("s", 3600.0),
    "hr": ("s", 3600.0), "ms": ("s", 1e-3),
    "v": ("V", 1.0), "mv": ("V", 1e-3), "µv": ("V", 1e-6), "uv": ("V", 1e-6),
    "a": ("A", 1.0), "ma": ("A", 1e-3), "µa": ("A", 1e-6), "ua": ("A", 1e-6),
    "na": ("A", 1e-9),
    "ah": ("Ah", 1.0), "mah": ("Ah", 1e-3), "µah": ("Ah", 1e-6), "uah": ("Ah", 1e-6),
    "as": ("Ah", 1 / 3600), "mas": ("Ah", 1e-3 / 3600), "c": ("Ah", 1 / 3600),
    "mc": ("Ah", 1e-3 / 3600),
    "wh": ("Wh", 1.0), "mwh": ("Wh", 1e-3), "µwh": ("Wh", 1e-6), "uwh": ("Wh", 1e-6),
    "ws": ("Wh", 1 / 3600), "mws": ("Wh", 1e-3 / 3600), "j": ("Wh", 1 / 3600),
    "w": ("W", 1.0), "mw": ("W", 1e-3), "µw": ("W", 1e-6), "uw": ("W", 1e-6),
    "ohm": ("Ω", 1.0), "Ω": ("Ω", 1.0), "mohm": ("Ω", 1e-3), "mΩ": ("Ω", 1e-3),
    "kohm": ("Ω", 1e3), "kΩ": ("Ω", 1e3),
    "hz": ("Hz", 1.0), "khz": ("Hz", 1e3), "mhz": ("Hz", 1e6),
    "°c": ("°C", 1.0), "degc": ("°C", 1.0), "℃": ("°C", 1.0), "c°": ("°C", 1.0),
}


def si_scale(unit: str) -> tuple[str, float]:
    """The labkit unit and the factor that converts a value in ``unit`` to it.

    Raises
    ------
    KeyError
        For a unit this table does not know (callers turn it into a FormatError).

    >>> si_scale("mAh")
    ('Ah', 0.001)
    """
    key = unit.strip().replace("μ", "µ")
    lowered = key.lower()
    if key in _SCALE:
        return _SCALE[key]
    if lowered in _SCALE:
        return _SCALE[lowered]
    raise KeyError(unit)


def read_table(
    text: str,
    path: Path,
    *,
    first_line: int,
    sep: str = "\t",
    decimal: str = ".",
    header: int | None = 0,
    names: list[str] | None = None,
    index_col: bool | None = None,
) -> pd.DataFrame:
    """Parse a delimited numeric table with pandas' C engine, errors naming the line.

    Parameters
    ----------
    text
        The table text (header row first unless ``header`` is None).
    path
        The file, for error messages.
    first_line
        1-based line number in the file of the first line of ``text``.
    index_col
        ``False``: rows longer than the header drop their surplus trailing fields
        instead of shifting a column into the index.
    """
    try:
        return pd.read_csv(io.StringIO(text), sep=sep, decimal=decimal, header=header,
                           names=names, index_col=index_col, engine="c", low_memory=False)
    except pd.errors.ParserError as exc:
        line = re.search(r"line (\d+)", str(exc))
        position = f"line {first_line + int(line.group(1)) - 1}" if line else None
        raise FormatError(f"table cannot be parsed: {exc}", file=path, position=position) from exc
    except pd.errors.EmptyDataError as exc:
        raise FormatError("expected a table, found none", file=path,
                          position=f"line {first_line}") from exc


def numeric_column(frame: pd.DataFrame, column: str, path: Path, first_data_line: int) -> np.ndarray:
    """A column as float64; a non-numeric cell is a FormatError naming its line and column."""
    return parse_numbers(frame[column], column, path,
                         lambda row: f"line {first_data_line + row}", blanks=())


def parse_numbers(column: pd.Series, header: str, path: Path, where: Callable[[int], str], *,
                  blanks: tuple[str, ...] = ("",), decimal: str = ".", context: str = ""
                  ) -> np.ndarray:
    """A column of text cells as float64; blank cells are NaN.

    Parameters
    ----------
    column, header
        The cells and the column's name in the file (for the error message).
    path
        The file, for error messages.
    where
        Position of a 0-based data row in the file (``"line 12"``), called on error only.
    blanks
        Cell texts (after stripping white space) that stand for a missing value.
    decimal
        The decimal separator of the cells.
    context
        Put before the error message (``"table CURVE: "``).

    Raises
    ------
    FormatError
        At the first cell that is neither blank nor a number.
    """
    if pd.api.types.is_numeric_dtype(column.dtype):
        return column.to_numpy(dtype=np.float64)
    fast = _plain_numbers(column, blanks, decimal)
    if fast is not None:
        return fast
    text = column.astype(str).str.strip()
    if decimal != ".":
        text = text.str.replace(decimal, ".", regex=False)
    blank = text.isin(blanks) | column.isna()
    values = pd.to_numeric(text.where(~blank), errors="coerce")
    bad = values.isna() & ~blank
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise FormatError(f"{context}expected a number in column {header!r}, found "
                          f"{column.iloc[row]!r}", file=path, position=where(row))
    return values.to_numpy(dtype=np.float64)


def _plain_numbers(column: pd.Series, blanks: tuple[str, ...], decimal: str) -> np.ndarray | None:
    """The cells as float64 through pyarrow's cast (several times faster than
    ``pd.to_numeric``), or None when a cell is not a plain number or a blank: the caller
    then takes the careful path, which finds and names it."""
    if not pd.api.types.is_string_dtype(column.dtype):
        return None
    try:
        text = pc.utf8_trim_whitespace(pa.array(column, type=pa.string(), from_pandas=True))
        if decimal != ".":
            text = pc.replace_substring(text, decimal, ".")
        blank = pc.is_null(text)
        if blanks:
            blank = pc.or_(blank, pc.fill_null(pc.is_in(text, value_set=pa.array(blanks)), False))
        values = pc.cast(pc.if_else(blank, pa.scalar(None, pa.string()), text), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    numbers = values.to_numpy(zero_copy_only=False)
    if np.isnan(numbers[~blank.to_numpy(zero_copy_only=False)]).any():
        return None  # a "nan" cell: not a number labkit accepts
    return numbers


def first_iso_time(table: pd.DataFrame, column: str, date_format: str | None = None) -> str | None:
    """The first cell of a date-time column in ISO 8601; None when absent or unparseable."""
    if column not in table or not len(table):
        return None
    stamp = pd.to_datetime(table[column].iloc[0], format=date_format, errors="coerce")
    return None if pd.isna(stamp) else stamp.isoformat()
