"""Arbin text and spreadsheet exports: SQL-table CSV dumps, MITS Pro 8 CSV, DataPro .xlsx.

Three layouts, all carrying Channel_Normal_Table quantities (mapped by
:mod:`labkit.parsers._arbin_columns`; Arbin's sign and capacity conventions are
labkit's):

* **CSV dump of Channel_Normal_Table** (``Data_Point,Test_Time,DateTime,...``, as
  written by Arbin's SQL-server data export and by tools such as beep):
  ``DateTime`` is unix seconds. ``Step_Index``/``Cycle_Index`` may be empty in the
  first rows; they stay empty (NaN). A sidecar ``<stem>_Metadata.csv`` (a dump of
  Global_Table) next to the file is read when present: test id, channel, schedule,
  start time. The sidecar alone is refused with a message naming its data file.
* **MITS Pro 8 CSV** (``Data Point,Date Time,Test Time (s),...``): UTF-8 with BOM,
  units in parentheses, a TAB before the ``Date Time`` value, empty trailing columns.
  ``Aux_Temperature_<n> (C)`` columns: the first is ``temperature_celsius``.
* **DataPro .xlsx** (sheet ``Global_Info`` + sheets ``Channel_<ch>_<part>``): the
  parts of the first channel are joined in order; other channels in the same
  workbook are listed in ``meta.notes`` and not read.

Wall-clock columns written as local date-times without a zone are read as UTC.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from labkit.data import CyclingRecord, Metadata, Sample
from labkit.errors import FormatError, LabkitError
from labkit.parsers._arbin_columns import canonical_key, labkit_column
from labkit.parsers._spreadsheet import read_sheets
from labkit.parsers._text import decode, decode_head, looks_binary, parse_numbers, read_table
from labkit.registry import file_bytes, register
from labkit.timezones import LOCAL

_DUMP_FIELDS = ("data_point", "test_time", "datetime", "step_time", "current", "voltage")
_MITS_FIELDS = ("data_point", "date_time", "test_time_s", "current_a", "voltage_v")
_SIDECAR_FIELDS = ("test_id", "iv_ch_id", "first_start_datetime", "schedule_file_name")
_WALL_CLOCK_FORMATS = ("%m/%d/%Y %H:%M:%S.%f", "%m/%d/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f",
                       "%Y-%m-%d %H:%M:%S")
_AUX = re.compile(r"^aux_(?P<what>temperature|voltage|dt_dt|dv_dt)_(?P<index>\d+)(?:_[a-z_]+)?$")


def _sniff_header(fields: tuple[str, ...]) -> Callable[[bytes, Path], bool]:
    """A sniffer: a text file whose first comma-separated line names all ``fields``."""
    def sniff(head: bytes, path: Path) -> bool:
        if looks_binary(head):
            return False
        first = decode_head(head[:8192]).split("\n", 1)[0]
        return set(fields) <= {canonical_key(field) for field in first.split(",")}
    return sniff


def _read_csv(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """The table of a CSV export (a last row cut short dropped) and the notes so far."""
    text = decode(file_bytes(path))
    table = read_table(text, path, first_line=1, sep=",")
    notes: list[str] = []
    return _drop_cut_last_row(table, text, notes), notes


@register(
    "arbin-csv",
    vendor="Arbin",
    description="Arbin Channel_Normal_Table CSV dump (unix DateTime), with its _Metadata.csv sidecar",
    extensions=(".csv",),
    kind="cycling",
    sniff=_sniff_header(_DUMP_FIELDS),
    priority=1,
    version="2",
)
def read_arbin_csv(path: Path) -> CyclingRecord:
    """Read an Arbin Channel_Normal_Table CSV dump (and its ``_Metadata.csv`` sidecar)."""
    table, notes = _read_csv(path)
    data = _arbin_frame(table, path, notes)
    if "DateTime" in table:
        data.insert(1, "unix_time_second", _numbers(table["DateTime"], "DateTime", path))
    empty = [column for column in data if data[column].isna().all()]
    if empty and len(data):
        data = data.drop(columns=empty)
        notes.append(f"columns empty in every row, left out: {empty}")
    for column, header in (("cycle_count", "Cycle_Index"), ("step_index", "Step_Index")):
        if column in data and data[column].isna().any():
            count = int(data[column].isna().sum())
            notes.append(f"{header} is empty in {count} row(s) (kept empty)")
    sidecar = path.with_name(path.stem + "_Metadata.csv")
    extra: dict[str, object] = {}
    start = channel = name = None
    if sidecar.is_file():
        extra = _read_sidecar(sidecar)
        notes.append(f"test metadata from the sidecar {sidecar.name}")
        stamp = extra.get("first_start_datetime")
        if isinstance(stamp, (int, float)) and stamp > 0:
            start = pd.Timestamp(stamp, unit="s", tz="UTC").isoformat()
        channel = None if extra.get("iv_ch_id") is None else str(extra["iv_ch_id"])
        name = extra.get("item_id")
    elif "unix_time_second" in data and len(data):
        start = pd.Timestamp(round(float(data["unix_time_second"].iloc[0]
                                         - data["test_time_second"].iloc[0])), unit="s",
                             tz="UTC").isoformat()
    return CyclingRecord(data, Metadata(start_time=start, channel=channel,
                                        sample=Sample(name=None if name is None else str(name)),
                                        notes=tuple(notes), extra=extra))


@register(
    "arbin-csv-metadata",
    vendor="Arbin",
    description="Arbin Global_Table CSV sidecar (_Metadata.csv): refused, read its data file",
    extensions=("_metadata.csv",),
    kind="cycling",
    sniff=_sniff_header(_SIDECAR_FIELDS),
    priority=1,
)
def refuse_arbin_sidecar(path: Path) -> CyclingRecord:
    """The sidecar holds test metadata only; say which file to read instead."""
    data_file = path.with_name(re.sub(r"_Metadata$", "", path.stem, flags=re.IGNORECASE) + ".csv")
    raise LabkitError(
        "this is the metadata sidecar of an Arbin CSV dump (Global_Table fields, no data "
        f"points); read the data file {data_file.name} instead, which picks this file up",
        file=path,
    )


@register(
    "arbin-mits-csv",
    vendor="Arbin",
    description="Arbin MITS Pro 8 CSV export ('Name (unit)' headers, UTF-8 with BOM)",
    extensions=(".csv",),
    kind="cycling",
    sniff=_sniff_header(_MITS_FIELDS),
    priority=1,
    version="2",
)
def read_arbin_mits_csv(path: Path) -> CyclingRecord:
    """Read an Arbin MITS Pro 8 CSV export."""
    table, notes = _read_csv(path)
    data = _arbin_frame(table.dropna(axis="columns", how="all"), path, notes)
    date_column = next((c for c in table.columns if canonical_key(c) == "date_time"), None)
    if date_column is not None:
        data.insert(1, "unix_time_second", _wall_clock(table[date_column], path, notes))
    start = _start_from(data)
    return CyclingRecord(data, Metadata(start_time=start, notes=tuple(notes),
                                        time_zone=LOCAL if date_column is not None else None))


def _sniff_datapro(head: bytes, path: Path) -> bool:
    workbook = _zip_member_from_head(head, "xl/workbook.xml")
    return workbook is not None and b'name="Global_Info"' in workbook and (
        b'name="Channel_' in workbook)


@register(
    "arbin-datapro-xlsx",
    vendor="Arbin",
    description="Arbin DataPro/MITS .xlsx export (Global_Info sheet + Channel_* sheets)",
    extensions=(".xlsx",),
    kind="cycling",
    sniff=_sniff_datapro,
    priority=1,
    version="2",
)
def read_arbin_xlsx(path: Path) -> CyclingRecord:
    """Read an Arbin DataPro .xlsx export (first channel; parts joined in order)."""
    sheets = read_sheets(path, header=None)
    channel_sheets = [name for name in sheets if re.fullmatch(r"Channel_\d+(_\d+)?", name)]
    if not channel_sheets:
        raise FormatError(f"expected Channel_<n>_<part> sheets, found {list(sheets)}", file=path,
                          position="workbook")
    channels = sorted({name.split("_")[1] for name in channel_sheets}, key=int)
    first = channels[0]
    parts = sorted((n for n in channel_sheets if n.split("_")[1] == first),
                   key=lambda n: int(n.split("_")[2]) if n.count("_") == 2 else 0)
    frames = []
    for sheet in parts:
        raw = sheets[sheet]
        if raw.empty:
            continue
        header = [str(value).strip() for value in raw.iloc[0]]
        body = raw.iloc[1:].reset_index(drop=True)
        body.columns = header
        frames.append(body)
    if not frames:
        raise FormatError(f"sheets {parts} hold no rows", file=path, position=f"sheet '{parts[0]}'")
    table = pd.concat(frames, ignore_index=True)
    notes: list[str] = []
    if len(parts) > 1:
        notes.append(f"channel {first} is split over sheets {parts}; joined in order")
    if len(channels) > 1:
        notes.append(f"workbook holds channels {channels}; channel {first} read (the others "
                     "are not)")
    for column in table.columns:
        if canonical_key(column) != "date_time":
            table[column] = pd.to_numeric(table[column], errors="coerce")
    data = _arbin_frame(table, path, notes, position=f"sheet '{parts[0]}'")
    if "Date_Time" in table:
        stamps = pd.to_datetime(table["Date_Time"], errors="coerce")
        data.insert(1, "unix_time_second",
                    (stamps - pd.Timestamp("1970-01-01")).dt.total_seconds().to_numpy())
        notes.append("Date_Time has no time zone; unix_time_second reads it as UTC")
    info = _global_info(sheets.get("Global_Info"))
    start = info.get("Start DateTime")
    return CyclingRecord(data, Metadata(
        start_time=pd.Timestamp(start).isoformat() if start is not None else _start_from(data),
        time_zone=LOCAL if "Date_Time" in table else None,
        channel=first,
        sample=Sample(name=info.get("Test Name")),
        instrument=("Arbin " + str(info["Software Version"])) if info.get("Software Version")
        else None,
        notes=tuple(notes),
        extra={key: str(value) for key, value in info.items()},
    ))


def _drop_cut_last_row(table: pd.DataFrame, text: str, notes: list[str]) -> pd.DataFrame:
    """Drop a last line with fewer fields than the header (a file cut mid-line)."""
    header = text.split("\n", 1)[0]
    last = text.rstrip("\r\n").rsplit("\n", 1)[-1]
    if len(table) and last.count(",") < header.count(","):
        notes.append(f"last data row (line {len(table) + 1}) has {last.count(',') + 1} of "
                     f"{header.count(',') + 1} fields (file cut short); dropped")
        return table.iloc[:-1]
    return table


def _arbin_frame(table: pd.DataFrame, path: Path, notes: list[str],
                 position: str | None = None) -> pd.DataFrame:
    """Arbin columns -> labkit columns; aux temperature/voltage columns by index."""
    columns: dict[str, np.ndarray] = {}
    temperature_index: str | None = None
    for header in table.columns:
        key = canonical_key(str(header))
        if key in ("datetime", "date_time") or key.startswith("unnamed"):
            continue
        aux = _AUX.match(key)
        if aux:
            name = _aux_name(aux.group("what"), aux.group("index"), temperature_index is None)
            if name == "temperature_celsius":
                temperature_index = aux.group("index")
            factor = 1.0
        else:
            name, factor = labkit_column(str(header))
        if name in columns:
            name = "arbin_" + key
        columns[name] = _numbers(table[header], str(header), path, position) * factor
    if "test_time_second" not in columns:
        raise FormatError(f"expected a Test_Time column, found {list(table.columns)}", file=path,
                          position=position or "line 1")
    frame = pd.DataFrame(columns)
    for integer in ("record_index", "step_index", "cycle_count"):
        if integer in frame and frame[integer].notna().all():
            frame[integer] = frame[integer].astype(np.int64)
    if temperature_index is not None:
        notes.append(f"temperature_celsius is Aux_Temperature_{temperature_index}")
    return frame


def _aux_name(what: str, index: str, first_temperature: bool) -> str:
    if what == "temperature":
        return "temperature_celsius" if first_temperature else (
            f"arbin_aux_{index}_temperature_celsius")
    if what == "voltage":
        return f"arbin_aux_{index}_voltage_volt"
    if what == "dv_dt":
        return f"arbin_aux_{index}_dv_dt_volt_per_second"
    return f"arbin_aux_{index}_dtemperature_dt_celsius_per_second"


def _numbers(column: pd.Series, header: str, path: Path, position: str | None = None) -> np.ndarray:
    """A column as float64; a non-numeric cell is a FormatError naming its line (or sheet row)."""
    return parse_numbers(column, header, path, lambda row: (
        f"{position} row {row + 2}" if position else f"line {row + 2}"))


def _wall_clock(column: pd.Series, path: Path, notes: list[str]) -> np.ndarray:
    """MITS ``Date Time`` (a TAB before the value) as unix seconds, read as UTC."""
    text = column.astype(str).str.strip()
    best = max(_WALL_CLOCK_FORMATS, key=lambda fmt: int(
        pd.to_datetime(text, format=fmt, errors="coerce").notna().sum()))
    stamps = pd.to_datetime(text, format=best, errors="coerce")
    if stamps.isna().any():
        row = int(np.flatnonzero(stamps.isna().to_numpy())[0])
        raise FormatError(f"expected a date-time such as 09/20/2024 08:32:34.558, found "
                          f"{text.iloc[row]!r}", file=path, position=f"line {row + 2}")
    notes.append("Date Time has no time zone; unix_time_second reads it as UTC")
    return (stamps - pd.Timestamp("1970-01-01")).dt.total_seconds().to_numpy()


def _start_from(data: pd.DataFrame) -> str | None:
    if "unix_time_second" not in data or not len(data):
        return None
    start = float(data["unix_time_second"].iloc[0] - data["test_time_second"].iloc[0])
    return pd.Timestamp(round(start), unit="s").isoformat() if np.isfinite(start) else None


def _read_sidecar(path: Path) -> dict[str, object]:
    """The first row of a Global_Table CSV sidecar, keys in snake case."""
    table = read_table(decode(file_bytes(path)), path, first_line=1, sep=",")
    if table.empty:
        raise FormatError("the metadata sidecar holds no row", file=path, position="line 2")
    row = table.iloc[0]
    out: dict[str, object] = {}
    for header, value in row.items():
        key = canonical_key(str(header))
        if not key or key.startswith("unnamed"):
            continue
        if isinstance(value, np.generic):
            value = value.item()
        out[key] = None if isinstance(value, float) and np.isnan(value) else value
    return out


def _global_info(sheet: pd.DataFrame | None) -> dict[str, object]:
    """The Global_Info sheet: test name and the row under the 'Channel' header row."""
    if sheet is None or sheet.empty:
        return {}
    info: dict[str, object] = {}
    first_column = sheet.iloc[:, 0].astype(str).str.strip()
    header_rows = np.flatnonzero(first_column.to_numpy() == "Channel")
    if len(header_rows) and header_rows[0] + 1 < len(sheet):
        header = sheet.iloc[header_rows[0]]
        values = sheet.iloc[header_rows[0] + 1]
        for key, value in zip(header, values, strict=True):
            if isinstance(key, str) and not pd.isna(value):
                info[key.strip()] = value
    report = np.argwhere(sheet.astype(str).to_numpy() == "TEST REPORT")
    if len(report) and report[0][0] + 1 < len(sheet):
        name = sheet.iat[report[0][0] + 1, report[0][1]]
        if isinstance(name, str):
            info["Test Name"] = name
    return info


def _zip_member_from_head(head: bytes, member: str) -> bytes | None:
    """The (possibly partial) uncompressed bytes of a zip member whose local header lies
    in ``head``; None when it is not there. Only the head is used: sniffers open no file."""
    offset = 0
    wanted = member.encode()
    while offset + 30 <= len(head) and head[offset:offset + 4] == b"PK\x03\x04":
        method, _, _, _, compressed, _, name_length, extra_length = struct.unpack(
            "<HHHIIIHH", head[offset + 8:offset + 30])
        name = head[offset + 30:offset + 30 + name_length]
        start = offset + 30 + name_length + extra_length
        if name == wanted:
            payload = head[start:start + compressed] if compressed else head[start:]
            if method == 0:
                return payload
            if method == 8:
                return zlib.decompressobj(-15).decompress(payload)
            return None
        if compressed == 0:
            return None
        offset = start + compressed
    return None

