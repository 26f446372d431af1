"""Gamry Framework ``.DTA`` files: EIS (EISPOT, GALVEIS) and the time-domain techniques.

Layout: ``EXPLAIN`` (or ``VFP600``), then ``KEY<TAB>TYPE<TAB>VALUE<TAB>label`` lines
(``TAG`` names the technique; ``NOTES`` is followed by as many free-text lines as its
value says), and data tables: a ``NAME<TAB>TABLE[<TAB>count]`` line, a row of column
names, a row of units, then rows that start with white space. German-locale files
use decimal commas. ``EXPERIMENTABORTED<TAB>TOGGLE<TAB>T`` marks a run stopped early.

EIS files (a ``ZCURVE`` table) give an :class:`~labkit.data.ImpedanceRecord`, one
spectrum per ``ZCURVE``; with drift correction on, the corrected values
(``ZrealDrCor``...) form a second spectrum after the uncorrected one. Every other
technique (CHRONOA, CHRONOP, CORPOT, CV, SQUARE_WAVE, VFP600...) gives a
:class:`~labkit.data.CyclingRecord` of its ``CURVE`` tables.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from labkit.data import CyclingRecord, ImpedanceRecord, Metadata, Sample
from labkit.errors import FormatError
from labkit.parsers._impedance import concat_spectra, impedance_frame, snake
from labkit.parsers._text import decode, decode_head, parse_numbers
from labkit.registry import file_bytes, register

_TABLE_LINE = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9_]*)\tTABLE(?:\t(?P<count>\d+))?[ \t]*$",
                         re.MULTILINE)
_NOT_DATA_LINE = re.compile(r"^(?![ \t]).*$", re.MULTILINE)

# Gamry unit spelling -> labkit unit suffix ("" for counts and flags).
_UNIT_SUFFIX = {"s": "second", "v": "volt", "v vs. ref.": "volt", "a": "ampere", "hz": "hertz",
                "ohm": "ohm", "°": "degree", "\ufffd": "degree", "deg": "degree",
                "deg c": "celsius", "°c": "celsius", "\ufffdc": "celsius", "#": "", "bits": ""}

# Column names with a labkit meaning, for cycling tables.
_CYCLING_NAMES = {"T": "test_time_second", "Vf": "voltage_volt", "Im": "current_ampere",
                  "Pt": "record_index", "Temp": "temperature_celsius",
                  "Voltage": "voltage_volt", "Current": "current_ampere",
                  "Vstep": "voltage_volt", "Idif": "current_ampere"}

# ZCURVE column names with a labkit meaning (the drift-corrected ones are handled apart).
_IMPEDANCE_NAMES = {"Time": "test_time_second", "Freq": "frequency_hertz",
                    "Zreal": "z_real_ohm", "Zimag": "z_imag_ohm", "Zmod": "z_modulus_ohm",
                    "Zphz": "z_phase_degree", "Idc": "dc_current_ampere",
                    "Vdc": "dc_voltage_volt", "Temp": "temperature_celsius",
                    "Pt": "gamry_point"}
_DRIFT_CORRECTED = {"ZrealDrCor": "z_real_ohm", "ZimagDrCor": "z_imag_ohm",
                    "ZmodDrCor": "z_modulus_ohm", "ZphzDrCor": "z_phase_degree"}


@dataclass
class _Table:
    name: str
    header_line: int  # 1-based line of the NAME<TAB>TABLE line
    columns: list[str]
    units: list[str]
    rows: pd.DataFrame
    declared_rows: int | None


@dataclass
class _DtaFile:
    tag: str
    header: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    tables: list[_Table] = field(default_factory=list)
    decimal: str = "."
    aborted: bool = False


def _sniff(head: bytes, path: Path) -> bool:
    text = decode_head(head[:4096]).lstrip()
    return (text.startswith("EXPLAIN") or text.startswith("VFP600")) and "\nTAG\t" in text


def _line_starts(text: str) -> np.ndarray:
    """Offsets at which each line starts, to turn a character offset into a line number."""
    newlines = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32) == ord("\n")
    return np.concatenate(([0], np.flatnonzero(newlines) + 1))


def _parse(text: str, path: Path) -> _DtaFile:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    starts = _line_starts(text)

    def line_of(offset: int) -> int:
        return int(np.searchsorted(starts, offset, side="right"))

    first = text.lstrip().split("\n", 1)[0].strip()
    if first not in ("EXPLAIN", "VFP600"):
        raise FormatError(f"expected 'EXPLAIN' on the first line of a Gamry file, found {first!r}",
                          file=path, position="line 1")
    decimal = "," if re.search(r"^[A-Z0-9_]+\t(?:QUANT|POTEN)\t-?\d+,\d", text, re.MULTILINE) else "."
    dta = _DtaFile(tag="", decimal=decimal)

    tables = list(_TABLE_LINE.finditer(text))
    header_end = tables[0].start() if tables else len(text)
    table_spans: list[tuple[int, int]] = []
    for match in tables:
        body_start = text.find("\n", match.end())
        body_start = len(text) if body_start < 0 else body_start + 1
        column_end = text.find("\n", body_start)
        units_end = -1 if column_end < 0 else text.find("\n", column_end + 1)
        if column_end < 0 or units_end < 0:
            raise FormatError(
                f"table {match.group('name')} is cut short: expected a row of column names "
                "and a row of units after it",
                file=path, position=f"line {line_of(match.start())}",
            )
        data_start = units_end + 1
        end_match = _NOT_DATA_LINE.search(text, data_start)
        while end_match is not None and end_match.group(0) == "" and end_match.end() < len(text):
            # a blank line inside the block: only a block terminator if nothing tabbed follows
            following = text[end_match.end() + 1:end_match.end() + 2]
            if following in ("\t", " "):
                end_match = _NOT_DATA_LINE.search(text, end_match.end() + 1)
            else:
                break
        data_end = end_match.start() if end_match else len(text)
        dta.tables.append(_read_table(text, match, body_start, column_end, units_end, data_start,
                                      data_end, decimal, path, line_of))
        table_spans.append((match.start(), data_end))

    # Header keys: everything outside the tables.
    outside = [text[:header_end]] + [
        text[table_spans[i][1]:(tables[i + 1].start() if i + 1 < len(tables) else len(text))]
        for i in range(len(tables))
    ]
    for chunk in outside:
        _read_keys(chunk, dta)
    if not dta.tag:
        raise FormatError("expected a 'TAG<TAB>technique' line in the header", file=path,
                          position="line 2")
    if not dta.tables:
        last_line = text.rstrip("\n").count("\n") + 1
        raise FormatError(
            "no data table found (expected a 'CURVE<TAB>TABLE' or 'ZCURVE<TAB>TABLE' line "
            f"followed by column names, units and data); the file ends at line {last_line}, "
            "so its header is incomplete or the file was truncated",
            file=path, position=f"line {last_line}",
        )
    return dta


def _read_keys(chunk: str, dta: _DtaFile) -> None:
    lines = chunk.split("\n")
    skip_notes = 0
    for line in lines:
        if skip_notes:
            dta.notes.append(line.strip())
            skip_notes -= 1
            continue
        fields = line.split("\t")
        if len(fields) < 2 or not fields[0] or fields[0][0].isspace():
            continue
        key, kind, values = fields[0].strip(), fields[1].strip(), fields[2:]
        if key == "TAG":
            dta.tag = kind
            continue
        dta.header[key] = [kind, *values]
        if kind == "NOTES" and values and values[0].strip().isdigit():
            skip_notes = int(values[0])
        if key == "EXPERIMENTABORTED" and values and values[0].strip() == "T":
            dta.aborted = True


def _read_table(text, match, body_start, column_end, units_end, data_start, data_end, decimal,
                path, line_of) -> _Table:
    columns = text[body_start:column_end].strip("\n").split("\t")
    units = text[column_end + 1:units_end].split("\t")
    if columns and columns[0].strip() == "":
        columns = columns[1:]
    if units and units[0].strip() == "":
        units = units[1:]
    columns = [c.strip() for c in columns]
    units = [u.strip() for u in units] + [""] * max(0, len(columns) - len(units))
    header_line = line_of(match.start())
    body = text[data_start:data_end]
    if body.strip():
        try:
            rows = pd.read_csv(io.StringIO(body), sep=r"\s+", header=None, names=columns,
                               decimal=decimal, engine="c")
        except pd.errors.ParserError as exc:
            found = re.search(r"line (\d+)", str(exc))
            position = f"line {header_line + 2 + int(found.group(1))}" if found else None
            raise FormatError(
                f"table {match.group('name')}: a row has more fields than the {len(columns)} "
                f"columns {columns}: {exc}", file=path, position=position) from exc
    else:
        rows = pd.DataFrame({c: pd.Series(dtype=float) for c in columns})
    count = match.group("count")
    return _Table(match.group("name"), header_line, columns, units[:len(columns)], rows,
                  int(count) if count else None)


def _numeric(table: _Table, column: str, decimal: str, path: Path) -> np.ndarray:
    return parse_numbers(table.rows[column], column, path,
                         lambda row: f"line {table.header_line + 3 + row}", blanks=(),
                         decimal=decimal, context=f"table {table.name}: ")


def _is_numeric(table: _Table, column: str) -> bool:
    return pd.api.types.is_numeric_dtype(table.rows[column].dtype) and bool(len(table.rows))


def _vendor_name(column: str, unit: str) -> str:
    suffix = _UNIT_SUFFIX.get(unit.lower(), "")
    name = "gamry_" + snake(column)
    return f"{name}_{suffix}" if suffix and not name.endswith(suffix) else name


def _header_value(dta: _DtaFile, key: str) -> str | None:
    values = dta.header.get(key)
    return values[1].strip() if values and len(values) > 1 else None


def _header_number(dta: _DtaFile, key: str) -> float | None:
    value = _header_value(dta, key)
    if value is None:
        return None
    try:
        return float(value.replace(",", ".") if dta.decimal == "," else value)
    except ValueError:
        return None


def _start_time(dta: _DtaFile) -> str | None:
    """ISO start time from DATE and TIME (local time, no offset), when the date is unambiguous."""
    date, clock = _header_value(dta, "DATE"), _header_value(dta, "TIME")
    if not date or not clock:
        return None
    parts = re.split(r"[./-]", date)
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    a, b, year = (int(p) for p in parts)
    if "/" in date:
        month, day = a, b  # Windows US short date
    elif "." in date or a > 12:
        day, month = a, b
    elif b > 12:
        month, day = a, b
    else:
        return None
    clock_match = re.fullmatch(r"(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?", clock)
    if not clock_match:
        return None
    hour, minute, second = (int(clock_match.group(i)) for i in (1, 2, 3))
    micro = int((clock_match.group(4) or "0")[:6].ljust(6, "0"))
    try:
        return datetime(year, month, day, hour, minute, second, micro).isoformat()
    except ValueError:
        return None


def _metadata(dta: _DtaFile, notes: list[str], technique: str) -> Metadata:
    area = _header_number(dta, "AREA")
    header = {key: values for key, values in dta.header.items()}
    if dta.aborted:
        notes.append("the run was aborted (EXPERIMENTABORTED = T); the record holds the points "
                     "measured before the abort")
    return Metadata(
        technique=(technique,),
        start_time=_start_time(dta),
        instrument=_header_value(dta, "PSTAT") or _header_value(dta, "PSTATSECTION"),
        sample=Sample(name=_header_value(dta, "TITLE") or None,
                      area_square_centimeter=area if area and area > 0 else None),
        notes=tuple(notes),
        extra={"gamry_header": header, "gamry_notes": [n for n in dta.notes if n],
               "gamry_aborted": dta.aborted, "decimal_separator": dta.decimal,
               "tables": [{"name": t.name, "rows": len(t.rows)} for t in dta.tables]},
    )


def _impedance(dta: _DtaFile, path: Path) -> ImpedanceRecord:
    notes: list[str] = []
    frames: list[pd.DataFrame] = []
    vac = _header_number(dta, "VAC")  # mV rms
    for table in dta.tables:
        if table.name != "ZCURVE":
            notes.append(f"table {table.name} ({len(table.rows)} rows) is not part of the record")
            continue
        for needed in ("Freq", "Zreal", "Zimag"):
            if needed not in table.columns:
                raise FormatError(f"ZCURVE lacks the column {needed!r}; found {table.columns}",
                                  file=path, position=f"line {table.header_line + 1}")
        values = {c: _numeric(table, c, dta.decimal, path) for c in table.columns
                  if _is_numeric(table, c) or c in _IMPEDANCE_NAMES
                  or c in _DRIFT_CORRECTED}
        complete = ~(np.isnan(values["Freq"]) | np.isnan(values["Zreal"])
                     | np.isnan(values["Zimag"]))
        if not complete.all():
            notes.append(f"{int((~complete).sum())} incomplete row(s) of {table.name} dropped")
        base: dict[str, np.ndarray | float] = {}
        for column, array in values.items():
            if column in ("Freq", "Zreal", "Zimag") or column in _DRIFT_CORRECTED:
                continue
            unit = table.units[table.columns.index(column)]
            name = _IMPEDANCE_NAMES.get(column) or _vendor_name(column, unit)
            base[name] = array[complete]
        if "temperature_celsius" in base:
            base["temperature_celsius"] = _physical_temperature(base["temperature_celsius"], notes)
        if vac is not None:
            base["ac_amplitude_volt"] = vac * 1e-3
        drift = [c for c in _DRIFT_CORRECTED if c in values]
        raw = dict(base)
        if drift:
            raw["gamry_drift_corrected"] = np.int64(0)
        frames.append(impedance_frame(values["Freq"][complete], values["Zreal"][complete],
                                      values["Zimag"][complete], spectrum=len(frames), extra=raw))
        if drift:
            corrected = dict(base)
            for column in drift:
                corrected[_DRIFT_CORRECTED[column]] = values[column][complete]
            corrected["gamry_drift_corrected"] = np.int64(1)
            real = corrected.pop("z_real_ohm", values["Zreal"][complete])
            imag = corrected.pop("z_imag_ohm", values["Zimag"][complete])
            frames.append(impedance_frame(values["Freq"][complete], real, imag,
                                          spectrum=len(frames), extra=corrected))
            notes.append(f"drift correction was on: spectrum {len(frames) - 2} holds the "
                         f"uncorrected values (Zreal, Zimag), spectrum {len(frames) - 1} the "
                         "drift-corrected ones (ZrealDrCor...); column gamry_drift_corrected "
                         "says which")
    if vac is not None:
        notes.append("ac_amplitude_volt is the requested AC amplitude VAC (rms) from the header")
    data = concat_spectra(frames)
    return ImpedanceRecord(data, _metadata(dta, notes, dta.tag))


def _physical_temperature(values: np.ndarray, notes: list[str]) -> np.ndarray:
    impossible = values < -273.15
    if impossible.any():
        notes.append(f"{int(impossible.sum())} temperature value(s) below absolute zero (no "
                     "thermocouple connected) set to NaN")
        values = np.where(impossible, np.nan, values)
    return values


def _cycling(dta: _DtaFile, path: Path) -> CyclingRecord:
    notes: list[str] = []
    data_tables = [t for t in dta.tables if t.name != "OCVCURVE"] or dta.tables
    for table in dta.tables:
        if table not in data_tables:
            notes.append(f"the open-circuit curve {table.name} measured before the technique "
                         f"({len(table.rows)} rows, its own time base) is not part of the record")
    convention = _header_value(dta, "CONVENTION")
    sign = 1.0
    if convention == "0":
        sign = -1.0
        notes.append("CONVENTION = 0 (cathodic current positive): currents negated to labkit's "
                     "anodic/charge-positive convention")
    elif convention is None:
        notes.append("the file states no current convention; Gamry's anodic-positive default "
                     "assumed")
    frames = []
    for table in data_tables:
        frame: dict[str, np.ndarray] = {}
        for index, column in enumerate(table.columns):
            name = _CYCLING_NAMES.get(column)
            if dta.tag == "SQUARE_WAVE" and column in ("Vf", "Im"):
                name = None
            if name in frame:
                name = None
            if name is not None or _is_numeric(table, column):
                values = _numeric(table, column, dta.decimal, path)
                frame[name or _vendor_name(column, table.units[index])] = values
            else:
                frame[name or _vendor_name(column, table.units[index])] = (
                    table.rows[column].to_numpy(dtype=object))
        if "current_ampere" in frame:
            frame["current_ampere"] = sign * frame["current_ampere"]
        if "temperature_celsius" in frame:
            frame["temperature_celsius"] = _physical_temperature(frame["temperature_celsius"],
                                                                 notes)
        cycle = re.fullmatch(r"CURVE(\d+)", table.name)
        if cycle and dta.tag == "CV":
            frame["cycle_count"] = np.full(len(table.rows), int(cycle.group(1)), dtype=np.int64)
        frame["gamry_curve"] = np.full(len(table.rows), table.name, dtype=object)
        frames.append(pd.DataFrame(frame))
    data = pd.concat(frames, ignore_index=True)
    if "test_time_second" not in data:
        rate = _header_number(dta, "FREQ")
        if not rate or rate <= 0:
            raise FormatError("the data table has no time column and the header gives no "
                              "acquisition frequency (FREQ) to derive one", file=path,
                              position=f"line {data_tables[0].header_line}")
        data.insert(0, "test_time_second", np.arange(len(data), dtype=np.float64) / rate)
        notes.append(f"test_time_second derived as point index / FREQ ({rate:g} Hz); the "
                     "file has no time column")
    if "cycle_count" in data:
        notes.append("cycle_count is the n of the CURVEn table each point belongs to")
    if dta.tag == "SQUARE_WAVE":
        notes.append("voltage_volt is the staircase potential Vstep and current_ampere the "
                      "difference current Idif; forward/reverse values kept as gamry_* columns")
    return CyclingRecord(data, _metadata(dta, notes, dta.tag))


@register("gamry-dta", vendor="Gamry",
          description="Gamry Framework .DTA: EIS (EISPOT/GALVEIS) and time-domain techniques",
          extensions=(".dta",), kind="cycling/impedance", sniff=_sniff)
def read_gamry_dta(path: Path) -> ImpedanceRecord | CyclingRecord:
    """Read a Gamry ``.DTA`` file.

    Returns
    -------
    ImpedanceRecord
        For files with a ``ZCURVE`` table (EISPOT, GALVEIS...).
    CyclingRecord
        For time-domain techniques (CHRONOA, CHRONOP, CORPOT, CV, SQUARE_WAVE, VFP600).

    Raises
    ------
    FormatError
        When the header has no TAG, no data table is present (truncated file) or a
        value is not a number; the message names the line.
    """
    path = Path(path)
    dta = _parse(decode(file_bytes(path)), path)
    if any(t.name == "ZCURVE" for t in dta.tables):
        return _impedance(dta, path)
    return _cycling(dta, path)
