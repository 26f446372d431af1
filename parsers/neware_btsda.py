"""Neware BTSDA exports: record-layer CSV, 3-level (cycle/step/record) CSV, multi-sheet .xlsx.

BTSDA (Neware's data analyser) exports a test as text or Excel:

* Record-layer CSV: one header line (``DataPoint,Cycle Index,Step Index,Step Type,
  Time,Total Time,Current(µA),Voltage(mV),Capacity(mAs),...``), cp1252 or UTF-8,
  units in brackets; times as ``hh:mm:ss(.ms)`` (hours may exceed 24).
* 3-level CSV: three header lines (cycle, step, record), then cycle rows, step rows
  starting with one empty field and record rows starting with two; the degree sign
  may be lost (``T1(?)``).
* ``*.btsda.parquet``: the record-layer CSV converted to Parquet by fastnda.
* ``.xlsx``: sheets unit/test/cycle/step/record/log/...; the ``record`` sheet has the
  record-layer columns, ``unit``/``test`` the channel, start time and active mass.

BTSDA's Capacity/Energy restart at every step and are positive for charge and
discharge; current is negative in discharge, which is labkit's convention already.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from labkit.data import CyclingRecord, Metadata, Sample
from labkit.errors import FormatError
from labkit.parsers import _neware as nw
from labkit.parsers._text import (
    decode,
    decode_head,
    numeric_column,
    read_table,
    si_scale,
    split_header,
)
from labkit.registry import file_bytes, register
from labkit.timezones import LOCAL

_RECORD_KEYS = ("DataPoint", "Cycle Index", "Step Index", "Step Type")
_NAME_TO_CODE = {name.replace(" ", "").lower(): code for code, name in nw.STEP_TYPE_NAMES.items()}
_NAME_TO_CODE["pulse"] = 16

_DATE_NOTE = ("unix_time_second is BTSDA's 'Date' column read as UTC: the export gives the "
              "tester's wall-clock time without a time zone.")
_STEP_COUNT_NOTE = ("step_count counts changes of (Cycle Index, Step Index): a step repeated "
                    "back to back (same index) is not split.")
_CYCLE_NOTE = "cycle_count is BTSDA's 'Cycle Index'."

# BTSDA column name -> labkit column (values converted to the labkit unit of the name)
_COLUMNS = {
    "DataPoint": "record_index", "Cycle Index": "cycle_count", "Step Index": "step_index",
    "Step Number": "step_count", "Step Count": "step_count", "Time": "step_time_second", "Step Time": "step_time_second",
    "Total Time": "test_time_second", "Cumulative Time": "test_time_second",
    "Current": "current_ampere", "Voltage": "voltage_volt", "Power": "power_watt",
    "Capacity": "capacity", "Chg. Cap.": "charge_ah", "DChg. Cap.": "discharge_ah",
    "Energy": "energy", "Chg. Energy": "charge_wh", "DChg. Energy": "discharge_wh",
}
_AUX = re.compile(r"^(?P<kind>CPU|[VTtH])(?P<number>\d*)$")


def _sniff_csv(head: bytes, path: Path) -> bool:
    if b"\x00" in head[:4096]:
        return False
    lines = decode_head(head).splitlines()[:3]
    if not lines:
        return False
    if all(key in lines[0] for key in _RECORD_KEYS):
        return True
    return (len(lines) == 3 and lines[0].startswith("Cycle Index,")
            and lines[1].startswith(",Step Index,") and lines[2].startswith(",,DataPoint,"))


def _sniff_xlsx(head: bytes, path: Path) -> bool:
    workbook = _zip_member_in_head(head, b"xl/workbook.xml")
    if workbook is None:
        return False
    sheets = set(re.findall(rb'<sheet name="([^"]+)"', workbook))
    return {b"record", b"step", b"unit", b"test"} <= sheets


def _zip_member_in_head(head: bytes, name: bytes) -> bytes | None:
    """Inflate one zip member if its local entry lies wholly within ``head``."""
    at = head.find(b"PK\x03\x04")
    while 0 <= at <= len(head) - 30:
        _, _, method, _, _, _, size, _, name_len, extra_len = struct.unpack(
            "<HHHHHIIIHH", head[at + 4:at + 30])
        start = at + 30 + name_len + extra_len
        if head[at + 30:at + 30 + name_len] == name:
            data = head[start:start + size]
            if len(data) < size:
                return None
            return zlib.decompress(data, -15) if method == 8 else data if method == 0 else None
        at = head.find(b"PK\x03\x04", start)
    return None


@register("neware-btsda-csv", vendor="Neware", description="BTSDA CSV export (record layer or "
          "3-level cycle/step/record)", extensions=(".csv",), kind="cycling", sniff=_sniff_csv,
          priority=1)
def read_btsda_csv(path: Path) -> CyclingRecord:
    """Read a BTSDA CSV export (record layer or 3-level) into a cycling record."""
    text = decode(file_bytes(path))
    first = text.split("\n", 1)[0]
    if first.startswith("Cycle Index,"):
        frame, first_line = _three_level(text, path)
    else:
        frame = read_table(text, path, first_line=1, sep=",")
        first_line = 2
    return _record(frame, path, first_line, Metadata(vendor="Neware", technique=("cycling",)))


def _three_level(text: str, path: Path) -> tuple[pd.DataFrame, int]:
    """Record rows of a 3-level export with the cycle/step fields of their step row.

    A cycle row may carry its first step's fields after its own (the first cycle does);
    a step row starts with one empty field, a record row with two.
    """
    lines = text.split("\n", 3)
    if len(lines) < 4:
        raise FormatError("expected three header lines (cycle, step, record) and data",
                          file=path, position="line 1")
    cycle_width = len(lines[0].rstrip("\r").split(","))
    step_names = lines[1].rstrip("\r").split(",")[1:]
    record_names = lines[2].rstrip("\r").split(",")[2:]
    width = max(2 + len(record_names), cycle_width + len(step_names))
    body = read_table(lines[3], path, first_line=4, sep=",", header=None,
                      names=[f"c{i}" for i in range(width)])
    is_cycle, col1 = body["c0"].notna().to_numpy(), body["c1"].notna().to_numpy()
    is_step = ~is_cycle & col1
    is_record = ~is_cycle & ~col1
    carries_step = is_cycle & body[f"c{cycle_width}"].notna().to_numpy()
    starts_step = carries_step | is_step
    owner = np.maximum.accumulate(np.where(starts_step, np.arange(len(body)), -1))[is_record]
    if len(owner) and owner[0] < 0:
        row = int(np.flatnonzero(is_record)[0])
        raise FormatError("record row before any cycle or step row", file=path,
                          position=f"line {row + 4}")
    records = body.loc[is_record, [f"c{i + 2}" for i in range(len(record_names))]]
    records.columns = record_names
    for offset, name in enumerate(step_names):
        if name in ("Step Index", "Step Number", "Step Type"):
            in_step = body[f"c{offset + 1}"].to_numpy()
            in_cycle = body[f"c{cycle_width + offset}"].to_numpy()
            records[name] = np.where(carries_step, in_cycle, in_step)[owner]
    cycle_index = body["c0"].where(is_cycle).ffill()
    records["Cycle Index"] = cycle_index[is_record].to_numpy()
    return records, 4


def _sniff_parquet(head: bytes, path: Path) -> bool:
    # Parquet keeps column names in the footer, out of the sniffer's sight: the name decides.
    return head.startswith(b"PAR1") and path.name.lower().endswith(".btsda.parquet")


@register("neware-btsda-parquet", vendor="Neware", description="BTSDA record-layer CSV "
          "converted to Parquet (fastnda's btsda_csv_to_parquet, *.btsda.parquet)",
          extensions=(".btsda.parquet",), kind="cycling", sniff=_sniff_parquet, priority=1)
def read_btsda_parquet(path: Path) -> CyclingRecord:
    """Read a BTSDA export stored as Parquet (times already in seconds, smallest units)."""
    import pyarrow as pa

    try:
        frame = pd.read_parquet(path)
    except (pa.ArrowException, OSError) as exc:
        raise FormatError(f"expected a readable Parquet file: {exc}", file=path,
                          position="parquet file") from exc
    if not len(frame):
        raise FormatError("the export holds no records (0 rows)", file=path,
                          position="parquet row 0")
    if "Cycle Index" not in frame or "Step Type" not in frame:
        raise FormatError(f"expected BTSDA columns (Cycle Index, Step Type...), found "
                          f"{list(frame.columns)}", file=path, position="parquet schema")
    meta = Metadata(vendor="Neware", technique=("cycling",),
                    notes=("step_count is the parquet's 'Step Count' (fastnda's reading of "
                           "BTSDA's step start/end marks).",))
    return _record(frame, path, 1, meta)


@register("neware-btsda-xlsx", vendor="Neware", description="BTSDA .xlsx export (sheets "
          "unit/test/cycle/step/record)", extensions=(".xlsx",), kind="cycling",
          sniff=_sniff_xlsx, priority=1)
def read_btsda_xlsx(path: Path) -> CyclingRecord:
    """Read the ``record`` sheet of a BTSDA .xlsx export; channel and start from unit/test."""
    from python_calamine import CalamineError

    try:
        rows, grid, sheets = _workbook_rows(path)
    except (CalamineError, zipfile.BadZipFile, zlib.error, EOFError, KeyError, ValueError,
            TypeError, OSError) as exc:
        raise FormatError(f"the workbook is damaged ({type(exc).__name__}: {exc})", file=path,
                          position="byte 0") from exc
    if rows is None:
        raise FormatError(f"expected a 'record' sheet, found {sheets}", file=path,
                          position="sheet 'record'")
    if not rows or rows[0][0] != "DataPoint":
        raise FormatError("expected the header row 'DataPoint, Cycle Index, ...'", file=path,
                          position="sheet 'record' row 1")
    header = [str(c) if c is not None else "" for c in rows[0]]
    frame = pd.DataFrame(rows[1:], columns=header).dropna(how="all")
    return _record(frame, path, 2, _xlsx_meta(grid))


def _workbook_rows(path: Path) -> tuple[list[tuple] | None, dict[str, list[tuple]], list[str]]:
    """Rows of the record sheet (None if absent), of the unit/test sheets, and sheet names.

    calamine reads the workbook from its bytes (not its name), about ten times faster than
    openpyxl; empty cells become ``None``.
    """
    from python_calamine import CalamineWorkbook

    with open(path, "rb") as handle:
        workbook = CalamineWorkbook.from_filelike(handle)
    grid = {}
    for name in ("record", "unit", "test"):
        if name in workbook.sheet_names:
            rows = workbook.get_sheet_by_name(name).to_python()
            grid[name] = [tuple(_cell(cell) for cell in row) for row in rows]
    return grid.pop("record", None), grid, list(workbook.sheet_names)


def _cell(value: object) -> object:
    """Empty cells as ``None`` and whole numbers as ``int``, as Excel shows them."""
    if value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _xlsx_meta(grid: dict[str, list[tuple]]) -> Metadata:
    def right_of(sheet: str, label: str) -> object:
        for row in grid.get(sheet, []):
            for i, cell in enumerate(row):
                if cell == label:
                    return next((c for c in row[i + 1:] if c is not None), None)
        return None

    device = next((row for row in grid.get("unit", []) if row and row[0] == "device"), None)
    channel = "-".join(str(c) for c in device[1:] if c is not None) if device else None
    start = right_of("unit", "Start time") or right_of("test", "Start time")
    mass_text = right_of("test", "Active material")
    notes, mass = [], None
    if isinstance(mass_text, str) and (match := re.fullmatch(r"\s*([\d.]+)\s*(mg|g)\s*", mass_text)):
        mass = float(match.group(1)) * (1e-3 if match.group(2) == "mg" else 1.0)
        if mass_text.strip() == "1mg":
            notes.append("the file states an active mass of 1 mg, BTSDA's default value: check "
                         "it before using specific capacities")
    extra = {k: v for k, v in (("builder", right_of("test", "Builder")),
                               ("remarks", right_of("test", "Remarks")),
                               ("barcode", right_of("test", "Barcode"))) if v not in (None, "-")}
    return Metadata(vendor="Neware", technique=("cycling",),
                    start_time=str(start).replace(" ", "T") if start else None, channel=channel,
                    sample=Sample(active_mass_gram=mass), notes=tuple(notes), extra=extra)


def _seconds(values: pd.Series, column: str, path: Path, first_line: int) -> np.ndarray:
    """``hh:mm:ss(.fff)`` durations (or plain numbers) as seconds.

    Split and checked by pyarrow's string kernels (10x faster than pandas' ``str.split`` on
    a BTSDA export, where two such columns took half the parse).
    """
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.to_numpy(np.float64)
    parts = pc.split_pattern(pc.utf8_trim_whitespace(pa.array(values.astype(str))), ":")
    counts = pc.list_value_length(parts).to_numpy(zero_copy_only=False)
    width = int(counts.max()) if len(counts) else 1
    flat = pc.list_flatten(parts)
    bad = counts != width
    if width <= 3 and not bad.any():
        bad = ~pc.match_substring_regex(flat, _NUMBER).to_numpy(zero_copy_only=False) \
            .reshape(-1, width).all(axis=1)
    if width > 3 or bad.any():
        row = int(np.flatnonzero(bad)[0]) if width <= 3 else int(np.argmax(counts))
        raise FormatError(f"expected a duration hh:mm:ss in column {column!r}, found "
                          f"{values.iloc[row]!r}", file=path, position=f"line {first_line + row}")
    numbers = pc.cast(flat, pa.float64()).to_numpy(zero_copy_only=False).reshape(-1, width)
    seconds = numbers[:, -1]
    for k in range(1, width):
        seconds = seconds + numbers[:, -1 - k] * 60.0 ** k
    return seconds


#: One part of a duration: a plain decimal number.
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def _record(frame: pd.DataFrame, path: Path, first_line: int, meta: Metadata) -> CyclingRecord:
    """Map the BTSDA columns of ``frame`` to labkit's and build the record."""
    if not len(frame):
        raise FormatError("the export holds no records", file=path, position=f"line {first_line}")
    lines = first_line + np.arange(len(frame))
    frame = frame.reset_index(drop=True)
    values: dict[str, np.ndarray] = {}
    extra: dict[str, np.ndarray] = {}
    dropped: list[str] = []
    for header in frame.columns:
        name, unit = split_header(str(header))
        name = name.strip()
        if name in ("Time", "Step Time", "Total Time", "Cumulative Time"):
            values[_COLUMNS[name]] = _seconds(frame[header], str(header), path, first_line)
        elif name in ("DataPoint", "Cycle Index", "Step Index", "Step Number", "Step Count"):
            values[_COLUMNS[name]] = numeric_column(frame, header, path, first_line).astype(np.int64)
        elif name in _COLUMNS:
            target = _COLUMNS[name]
            values[target] = _scaled(frame, header, unit, path, first_line)
        elif name == "Date":
            stamps = pd.to_datetime(frame[header], errors="coerce")
            if stamps.isna().any():
                row = int(np.flatnonzero(stamps.isna().to_numpy())[0])
                raise FormatError(f"expected a date in column 'Date', found "
                                  f"{frame[header].iloc[row]!r}", file=path,
                                  position=f"line {lines[row]}")
            values["unix_time_second"] = stamps.to_numpy("datetime64[ms]").astype(np.int64) / 1e3
        elif (match := _AUX.match(name)) and unit:
            kind, number = match.group("kind"), match.group("number")
            if kind == "V":
                values_of_channel = _scaled(frame, header, unit, path, first_line)
            else:
                values_of_channel = numeric_column(frame, header, path, first_line)
            extra[nw.aux_column_name(kind, number, extra)] = values_of_channel
        elif name != "Step Type":
            dropped.append(str(header))
    missing = [c for c in ("cycle_count", "step_index", "step_time_second",
                           "voltage_volt", "current_ampere") if c not in values]
    if missing or "Step Type" not in frame:
        raise FormatError(f"expected BTSDA columns for {missing or ['Step Type']}, found "
                          f"{list(frame.columns)}", file=path, position=f"line {first_line - 1}")
    codes = _step_codes(frame["Step Type"])
    direction = nw.direction_of(codes)
    direction = np.where(direction != 0, direction, np.sign(values["current_ampere"]))
    notes = list(meta.notes) + [_CYCLE_NOTE, nw.CAPACITY_NOTE]
    if "step_count" not in values:
        values["step_count"] = nw.count_changes(values["cycle_count"], values["step_index"])
        notes.append(_STEP_COUNT_NOTE)
    for kind, short in (("capacity", "ah"), ("energy", "wh")):
        if f"charge_{short}" in values:
            continue
        if kind in values:
            total = np.abs(values.pop(kind))
            values[f"charge_{short}"] = np.where(direction > 0, total, 0.0)
            values[f"discharge_{short}"] = np.where(direction < 0, total, 0.0)
    values.pop("capacity", None)
    values.pop("energy", None)
    if "unix_time_second" in values:
        notes.append(_DATE_NOTE)
    if "power_watt" in values:
        extra = {"power_watt": values.pop("power_watt"), **extra}
    record_frame = nw.cycling_frame(values, step_type=codes, extra=extra)
    # one spelling per step type, as the raw-file readers name them ('CC Dchg' -> 'CC DChg')
    spelled = frame["Step Type"].astype(str).str.strip()
    unique = spelled.unique()
    canonical = {text: nw.STEP_TYPE_NAMES[int(code)] if code else text
                 for text, code in zip(unique, _step_codes(pd.Series(unique)), strict=True)}
    record_frame["neware_step_type"] = pd.Categorical(spelled.map(canonical))
    info = dict(meta.extra)
    if dropped:
        info["dropped_columns"] = dropped
    meta = Metadata(vendor="Neware", technique=meta.technique, start_time=meta.start_time or (
        pd.Timestamp(values["unix_time_second"][0], unit="s").isoformat()
        if "unix_time_second" in values else None), channel=meta.channel, sample=meta.sample,
        notes=tuple(notes), extra=info, instrument="Neware BTSDA export",
        time_zone=LOCAL if "unix_time_second" in values else None)
    return CyclingRecord(record_frame, meta)


def _scaled(frame: pd.DataFrame, header: str, unit: str, path: Path, first_line: int) -> np.ndarray:
    values = numeric_column(frame, header, path, first_line)
    try:
        _, factor = si_scale(unit)
    except KeyError:
        raise FormatError(f"unknown unit {unit!r} in column {header!r}", file=path,
                          position=f"line {first_line - 1}") from None
    return values * factor


def _step_codes(names: pd.Series) -> np.ndarray:
    """Neware step-type codes from BTSDA's names (spelling varies: 'CC DChg'/'CC Dchg')."""
    keys = names.astype(str).str.replace(" ", "", regex=False).str.lower()
    keys = keys.str.removesuffix("step")
    return keys.map(_NAME_TO_CODE).fillna(0).to_numpy(np.uint8)
