"""Maccor text exports (every export template) and the Maccor AC-impedance (EDA) export.

Maccor's export tool writes a preamble chosen by the template, then one delimited
table whose column set the template also chooses. labkit finds the table by its
header row (``Rec#``/``Rec`` plus a cycle column and ``Step``), whatever comes
before it, so the numbered extensions (``.001``, ``.052``, ...) play no part.
Templates in the wild and how they are handled:

* ``Today's Date ... Date of Test: ... Filename: ... Procedure: ...`` line(s), tab
  separated; time as ``Test (Sec)``, ``Test (Min)`` or ``TestTime`` holding
  ``0d 00:00:00.00`` durations.
* ``Name:``/``Channel:``/``Tester``/``Started`` block with ``Cap. [Ah]``-style
  headers and a numeric ``TestTime`` that states no unit: the unit (s, min or h)
  is taken from the ``DPt Time`` clock and written into ``meta.notes``. Comma
  decimals are recognised from the first data row.
* comma separated (``Rec,Cycle C,Step,Test Time (sec),...,Capacity,Energy``) with
  ``23-Nov-23 3:56:11 PM`` dates.
* files re-saved by pandas (``Today''s Date``, an empty ``Unnamed: 12`` column).

Conventions applied (all stated in ``meta.notes`` of each record):

* Current: some templates write signed current, others magnitudes; the ``State``
  (``Md``) letter decides: ``D`` rows are negative, ``C`` rows positive, other
  states keep the file's value. Without a state column the file's sign is kept.
* ``Amp-hr``/``Watt-hr`` are Maccor's running counters. The corpus shows both
  behaviours a procedure can select: reset at every step (cellpy_maccor_001: the
  CV step after a CC step restarts from 0) and carried over consecutive steps of
  the same direction (cellpy_maccor_three: the CV step continues the CC value).
  labkit turns the counter into increments (a drop at a step boundary is a reset)
  and builds ``step_capacity_ampere_hour`` (since the start of the step) and
  ``charging/discharging_capacity_ampere_hour`` (cumulative within the cycle, as
  BDF and Arbin define them), likewise for energy.
* ``cycle_count``: ``Cyc#`` counts from 0 and becomes ``Cyc# + 1``; ``Cycle C``
  already counts from 1 and is kept.
* ``DPt Time`` carries no time zone: ``unix_time_second`` reads it as UTC.
* A ``Volts`` column whose values are 1000 times the energy/capacity ratio of the
  same rows is in millivolts (cellpy_maccor_three.txt, next to mAmp headers): it
  is scaled and the fact noted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from labkit.data import CyclingRecord, ImpedanceRecord, Metadata, Sample
from labkit.errors import FormatError
from labkit.parsers._text import decode, decode_head, looks_binary, parse_numbers, read_table
from labkit.registry import file_bytes, register
from labkit.timezones import LOCAL

_RECORD_FIELDS = {"rec#", "rec"}
_CYCLE_FIELDS = {"cyc#", "cycle c", "cycle p"}
#: How many lines may precede the table header.
_MAX_PREAMBLE_LINES = 60
_Found = TypeVar("_Found")

_PREAMBLE_KEYS = re.compile(
    r"(Today'{1,2}s Date|Date of Test|Filename|Procedure|Comment/Barcode|Tester Channel|"
    r"Description|Name|Channel|Tester|Started|SCap|C Rate|Ch\. max\. V|DisCh\. min\. V|"
    r"Ch\. max\. I|DisCh\. max\. I)\s*:?"
)
_DURATION_PARTS = r"^\s*(?P<days>\d+)d\s+(?P<hours>\d+):(?P<minutes>\d+):(?P<seconds>\d+(?:\.\d*)?)\s*$"
_TIME_HEADER = re.compile(
    r"^(?P<which>test|step)\s*(?P<time>time)?\s*(?:\(\s*(?P<unit>sec|s|min|hr|h)\s*\))?$"
)
_TIME_UNITS = {"sec": 1.0, "s": 1.0, "min": 60.0, "hr": 3600.0, "h": 3600.0}
_TIMESTAMP_FORMATS = (
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M:%S %p",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M:%S.%f",
    "%d-%b-%y %I:%M:%S %p",
    "%d-%b-%y %H:%M:%S",
    "%d %B %Y, %I:%M:%S %p",
    "%m/%d/%Y",
    "%d-%b-%y",
    "%d %B %Y",
)
_TIME_OF_DAY_FORMATS = ("%H:%M:%S", "%I:%M:%S %p")

# header (lower case) -> (labkit column, factor to SI)
_QUANTITIES: dict[str, tuple[str, float]] = {
    "amp-hr": ("capacity", 1.0),
    "mamp-hr": ("capacity", 1e-3),
    "cap. [ah]": ("capacity", 1.0),
    "cap. [mah]": ("capacity", 1e-3),
    "capacity": ("capacity", 1.0),
    "watt-hr": ("energy", 1.0),
    "mwatt-hr": ("energy", 1e-3),
    "ener. [wh]": ("energy", 1.0),
    "ener. [mwh]": ("energy", 1e-3),
    "energy": ("energy", 1.0),
    "amps": ("current", 1.0),
    "mamps": ("current", 1e-3),
    "current [a]": ("current", 1.0),
    "current [ma]": ("current", 1e-3),
    "current": ("current", 1.0),
    "volts": ("voltage", 1.0),
    "mvolts": ("voltage", 1e-3),
    "voltage [v]": ("voltage", 1.0),
    "voltage [mv]": ("voltage", 1e-3),
    "voltage": ("voltage", 1.0),
    "acimp/ohms": ("maccor_ac_impedance_ohm", 1.0),
    "dcir/ohms": ("internal_resistance_ohm", 1.0),
    "wf chg cap": ("maccor_wf_charging_capacity_ampere_hour", 1.0),
    "wf dis cap": ("maccor_wf_discharging_capacity_ampere_hour", 1.0),
    "wf chg e": ("maccor_wf_charging_energy_watt_hour", 1.0),
    "wf dis e": ("maccor_wf_discharging_energy_watt_hour", 1.0),
}
_AUX_UNITS = {"c": "temperature_celsius", "v": "volt", "mv": "volt"}


def _header_fields(line: str) -> list[str] | None:
    """The fields of a Maccor table header line, or None when the line is not one."""
    if "step" not in line.lower():  # every template's header has a Step column
        return None
    sep = "\t" if "\t" in line else ","
    fields = [field.strip() for field in line.rstrip("\r\n").split(sep)]
    lowered = {field.lower() for field in fields}
    if fields and fields[0].lower() in _RECORD_FIELDS and lowered & _CYCLE_FIELDS and "step" in lowered:
        return fields
    return None


def _sniff(head: bytes, path: Path) -> bool:
    if looks_binary(head):
        return False
    lines = decode_head(head).splitlines()[:_MAX_PREAMBLE_LINES]
    return any(_header_fields(line) for line in lines)


def _sniff_eda(head: bytes, path: Path) -> bool:
    if looks_binary(head):
        return False
    text = decode_head(head[:4096])
    return text.lstrip().startswith("MACCOR") and "AC Impedance" in text.split("\n", 1)[0]


@register(
    "maccor-text",
    vendor="Maccor",
    description="Maccor text export, any template (tab or comma separated, numbered extensions)",
    extensions=(".txt", ".csv", ".001", ".002", ".010", ".034", ".041", ".052", ".070"),
    kind="cycling",
    sniff=_sniff,
    priority=1,
)
def read_maccor_text(path: Path) -> CyclingRecord:
    """Read a Maccor text export into a :class:`CyclingRecord` (see the module docstring)."""
    text = decode(file_bytes(path))
    found = _find_line(text, _header_fields)
    if found is None:
        raise FormatError(
            f"expected a Maccor table header (Rec#/Rec, Cyc#/Cycle C, Step, ...) within the "
            f"first {_MAX_PREAMBLE_LINES} lines, found none", file=path, position="line 1")
    header_line, header_start, body_start, fields = found
    preamble = _preamble(text[:header_start])
    sep = "\t" if "\t" in text[header_start:body_start] else ","
    body = text[body_start:]
    decimal = _decimal(body, sep)
    names = _positional_names(max(len(fields), _count_first_row_fields(body, sep)))
    table = read_table(body, path, first_line=header_line + 1, sep=sep, decimal=decimal,
                       header=None, names=names)
    notes: list[str] = []
    table = _drop_truncated_last_row(table, fields, notes)
    if table.empty:
        raise FormatError("expected data rows after the table header, found none", file=path,
                          position=f"line {header_line + 1}")
    frame = _convert(table, fields, names, preamble, path, _Lines(body, header_line + 1, decimal),
                     notes)
    if decimal == ",":
        notes.append("comma decimal separator")
    return CyclingRecord(frame.data, _metadata(preamble, frame, notes))


def _find_line(text: str, match: Callable[[str], _Found | None]
               ) -> tuple[int, int, int, _Found] | None:
    """The first of the first ``_MAX_PREAMBLE_LINES`` lines that ``match`` accepts.

    Returns its 1-based number, the offsets of its start and of the next line, and what
    ``match`` returned for it; None when no line matches.
    """
    offset = 0
    for number in range(1, _MAX_PREAMBLE_LINES + 1):
        end = text.find("\n", offset)
        next_line = len(text) if end < 0 else end + 1
        found = match(text[offset:next_line].rstrip("\r\n"))
        if found:
            return number, offset, next_line, found
        if end < 0:
            return None
        offset = next_line
    return None


def _preamble(text: str) -> dict[str, str]:
    """Key/value pairs of the lines before the table (``Date of Test``, ``Procedure``...)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        matches = list(_PREAMBLE_KEYS.finditer(line))
        for index, match in enumerate(matches):
            end = matches[index + 1].start() if index + 1 < len(matches) else len(line)
            key = match.group(1).replace("''", "'")
            value = line[match.end(): end].strip(" \t:,")
            value = "".join(ch for ch in value if ch.isprintable()).strip()
            if value and key not in values:
                values[key] = value
    return values


def _decimal(body: str, sep: str) -> str:
    """``","`` when a tab-separated table writes numbers with decimal commas."""
    if sep != "\t":
        return "."
    fields = _first_data_line(body).split("\t")
    commas = sum(bool(re.fullmatch(r"-?\d+,\d+", f.strip())) for f in fields)
    points = sum(bool(re.fullmatch(r"-?\d+\.\d+", f.strip())) for f in fields)
    return "," if commas > points else "."


def _first_data_line(body: str) -> str:
    """The first non-blank line of the table body (blank lines may follow the header)."""
    return next((line for line in body.split("\n", 6)[:6] if line.strip()), "").rstrip("\r")


def _count_first_row_fields(body: str, sep: str) -> int:
    return len(_first_data_line(body).split(sep))


def _positional_names(count: int) -> list[str]:
    """Column names by position (Maccor repeats header names such as ``Units``); a data row
    longer than the header (trailing separator) gets spare columns."""
    return [f"c{index}" for index in range(count)]


def _drop_truncated_last_row(table: pd.DataFrame, fields: list[str], notes: list[str]
                             ) -> pd.DataFrame:
    """Drop a last row cut short (an export or copy interrupted mid-line)."""
    if table.empty:
        return table
    core = [f"c{i}" for i, name in enumerate(fields) if name.lower() in ("state", "md", "volts",
                                                                        "voltage", "voltage [v]")]
    if core and table[core].iloc[-1].isna().any() and not table[core].iloc[:-1].isna().all().any():
        notes.append(f"last data row is incomplete (file cut short); dropped ({len(table)} rows "
                     f"in the file, {len(table) - 1} kept)")
        return table.iloc[:-1]
    return table


class _Lines:
    """Where the table body lies: maps a data row (0-based, blank lines skipped as pandas
    does) to its file line, and remembers the decimal separator of its numbers."""

    def __init__(self, body: str, first: int, decimal: str = ".") -> None:
        self.body = body
        self.first = first
        self.decimal = decimal

    def of(self, row: int) -> str:
        """``"line N"`` of data row ``row``; only called on the error path."""
        lines = np.array(self.body.split("\n"), dtype=object)
        filled = np.flatnonzero([bool(line.strip()) for line in lines])
        line = self.first + int(filled[row]) if row < len(filled) else self.first + row
        return f"line {line}"


@dataclass(frozen=True)
class _Converted:
    """The labkit frame plus the test start (unix seconds) the metadata needs."""

    data: pd.DataFrame
    start_unix: float | None


def _convert(
    table: pd.DataFrame,
    fields: list[str],
    names: list[str],
    preamble: dict[str, str],
    path: Path,
    lines: _Lines,
    notes: list[str],
) -> _Converted:
    out: dict[str, np.ndarray] = {}
    raw: dict[str, pd.Series] = {}
    aux_number = 0
    temperature_number = 0
    for index, header in enumerate(fields):
        column = table[names[index]]
        key = header.lower()
        if column.isna().all() or key.startswith("unnamed") or key == "units" or not key:
            continue
        if key in _RECORD_FIELDS:
            out["record_index"] = _integers(_numbers(column, header, path, lines))
        elif key == "cyc#":
            out["cycle_count"] = _integers(_numbers(column, header, path, lines) + 1)
            notes.append("cycle_count = Cyc# + 1 (Maccor counts cycles from 0)")
        elif key == "cycle c":
            out["cycle_count"] = _integers(_numbers(column, header, path, lines))
        elif key == "cycle p":
            out["maccor_procedure_cycle"] = _integers(_numbers(column, header, path, lines))
        elif key == "step":
            out["step_index"] = _integers(_numbers(column, header, path, lines))
        elif key in ("state", "md"):
            raw["state"] = column.astype(str).str.strip()
        elif key == "es":
            out["maccor_end_status"] = _integers(_numbers(column, header, path, lines))
        elif key in ("dpt time", "dpt  time"):
            raw["timestamp"] = column
        elif (match := _TIME_HEADER.match(key)) and (match.group("time") or match.group("unit")):
            raw[match.group("which")] = column
            raw[match.group("which") + "_unit"] = pd.Series([match.group("unit") or ""])
        elif key in _QUANTITIES:
            name, factor = _QUANTITIES[key]
            values = _numbers(column, header, path, lines) * factor
            if name in ("capacity", "energy", "current", "voltage"):
                raw[name] = pd.Series(values)
                raw[name + "_header"] = pd.Series([header])
            else:
                out[name] = values
        elif re.fullmatch(r"temp\s*\d*", key):
            temperature_number += 1
            name = "temperature_celsius" if temperature_number == 1 else (
                f"maccor_temperature_{temperature_number}_celsius")
            out[name] = _numbers(column, header, path, lines)
        elif re.fullmatch(r"aux\s*#?\s*\d+", key):
            aux_number = int(re.sub(r"\D", "", key))
            unit = ""
            if index + 1 < len(fields) and fields[index + 1].lower() == "units":
                unit_values = table[names[index + 1]].dropna().astype(str).str.strip().str.lower()
                unit = unit_values.iloc[0] if len(unit_values) else ""
            suffix = _AUX_UNITS.get(unit, "")
            factor = 1e-3 if unit == "mv" else 1.0
            name = f"maccor_aux_{aux_number}" + (f"_{suffix}" if suffix else "")
            out[name] = _numbers(column, header, path, lines) * factor
        elif re.fullmatch(r"(var|loop)\s*\d+", key) or key == "range":
            out["maccor_" + re.sub(r"\s+", "", key)] = _numbers(column, header, path, lines)
        else:
            name = "maccor_" + re.sub(r"[^a-z0-9]+", "_", key).strip("_")
            if pd.api.types.is_numeric_dtype(column.dtype):
                out[name] = column.to_numpy()
            else:
                out[name] = column.astype(str).to_numpy()

    unix = _timestamps(raw.get("timestamp"), preamble, path, lines, notes)
    factor: float | None = None
    for which in ("test", "step"):
        if which in raw:
            out[f"{which}_time_second"], factor = _seconds(
                raw[which], str(raw[which + "_unit"].iloc[0]), unix, factor, path, lines,
                which, notes)
    if "test_time_second" not in out:
        raise FormatError("expected a test time column (Test (Sec), TestTime, ...), found none; "
                          f"header fields: {fields}", file=path, position=f"line {lines.first - 1}")
    if unix is not None:
        out["unix_time_second"] = unix
        notes.extend(_clock_jump_notes(unix, out["test_time_second"], lines))

    state = raw.get("state")
    if "current" in raw:
        out["current_ampere"] = _signed_current(raw["current"].to_numpy(), state, notes)
    if "voltage" in raw:
        out["voltage_volt"] = raw["voltage"].to_numpy()
    direction = _direction(state, out.get("current_ampere"), len(table))
    if "capacity" in raw or "energy" in raw:
        _counters(out, raw, direction, notes)
    if "voltage_volt" in out and "voltage" in raw:
        _check_millivolts(out, raw, notes)
    if state is not None:
        out["maccor_state"] = state.to_numpy()

    order = ["record_index", "test_time_second", "step_time_second", "unix_time_second",
             "cycle_count", "step_index", "current_ampere", "voltage_volt"]
    columns = {name: out[name] for name in order if name in out}
    columns.update({name: values for name, values in out.items() if name not in columns})
    start = None
    if unix is not None and np.isfinite(unix[0]):
        start = float(unix[0] - out["test_time_second"][0])
    return _Converted(pd.DataFrame(columns), start)


def _integers(values: np.ndarray) -> np.ndarray:
    """Counts as int64 when every cell holds one; with empty cells they stay float (NaN)."""
    return values.astype(np.int64) if np.isfinite(values).all() else values


def _numbers(column: pd.Series, header: str, path: Path, lines: _Lines) -> np.ndarray:
    """A column as float64 (``N/A`` is blank); a non-number is a FormatError naming its line."""
    return parse_numbers(column, header, path, lines.of, blanks=("N/A", "", "nan"),
                         decimal=lines.decimal)


def _seconds(
    column: pd.Series,
    unit: str,
    unix: np.ndarray | None,
    known_factor: float | None,
    path: Path,
    lines: _Lines,
    which: str,
    notes: list[str],
) -> tuple[np.ndarray, float | None]:
    """A time column in seconds: ``Nd hh:mm:ss`` durations or numbers in a stated unit.

    A number column without a unit takes ``known_factor`` (the test time's unit) or the unit
    the wall clock shows. Returns the seconds and the factor used (None for durations)."""
    if not pd.api.types.is_numeric_dtype(column.dtype):
        parts = column.astype(str).str.extract(_DURATION_PARTS)
        bad = parts["days"].isna() & column.notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise FormatError(
                f"expected a {which} time as a number or 'Nd hh:mm:ss', found {column.iloc[row]!r}",
                file=path,
                position=lines.of(row),
            )
        parts = parts.astype(float)
        return (parts["days"] * 86400 + parts["hours"] * 3600 + parts["minutes"] * 60
                + parts["seconds"]).to_numpy(), None
    values = column.to_numpy(dtype=np.float64)
    if unit:
        return values * _TIME_UNITS[unit], _TIME_UNITS[unit]
    if known_factor is not None:
        return values * known_factor, known_factor
    factor = _time_unit_from_clock(values, unix)
    if factor is None:
        raise FormatError(
            f"the {which} time column states no unit and the file has no date-time column to "
            "infer it from; expected 'Test (Sec)', 'Test (Min)' or a DPt Time column",
            file=path, position=f"line {lines.first - 1}")
    if which == "test":
        label = {1.0: "seconds", 60.0: "minutes", 3600.0: "hours"}[factor]
        notes.append(f"TestTime/StepTime state no unit; the DPt Time clock shows they are {label}")
    return values * factor, factor


def _time_unit_from_clock(values: np.ndarray, unix: np.ndarray | None) -> float | None:
    """Seconds per unit of a unit-less time column, judged against the wall clock."""
    if unix is None:
        return None
    finite = np.isfinite(values) & np.isfinite(unix)
    if finite.sum() < 2:
        return None
    span = values[finite][-1] - values[finite][0]
    clock = unix[finite][-1] - unix[finite][0]
    if span <= 0 or clock <= 0:
        return None
    ratio = clock / span
    best = min((1.0, 60.0, 3600.0), key=lambda candidate: abs(np.log(ratio / candidate)))
    return best if abs(np.log(ratio / best)) < np.log(1.5) else None


def _timestamps(
    column: pd.Series | None, preamble: dict[str, str], path: Path, lines: _Lines,
    notes: list[str],
) -> np.ndarray | None:
    """``DPt Time`` as unix seconds (read as UTC), or None when the file has none."""
    if column is None:
        return None
    text = column.astype(str).str.strip()
    dated = _parse_dates(text)
    if dated.notna().all():
        notes.append("DPt Time has no time zone; unix_time_second reads it as UTC")
        if text.iloc[0].split(" ")[0].count("/") == 2 and (dated.dt.day <= 12).all():
            notes.append("DPt Time dates are ambiguous (no day above 12); read month/day/year, "
                         "Maccor's default")
        return (dated - pd.Timestamp("1970-01-01")).dt.total_seconds().to_numpy()
    for fmt in _TIME_OF_DAY_FORMATS:
        parsed = pd.to_datetime(text, format=fmt, errors="coerce")
        if parsed.notna().all():
            day = _date_of_test(preamble)
            if day is None:
                notes.append("DPt Time holds only the time of day and the header no date: "
                             "no unix_time_second")
                return None
            of_day = (parsed - parsed.dt.normalize()).dt.total_seconds().to_numpy()
            rollovers = np.concatenate([[0], np.cumsum(np.diff(of_day) < -43200)])
            notes.append("DPt Time holds only the time of day; the date is the header's "
                         "'Date of Test' (midnight rollovers counted); read as UTC")
            return (day - pd.Timestamp("1970-01-01")).total_seconds() + of_day + rollovers * 86400.0
    row = int(np.flatnonzero(dated.isna().to_numpy())[0])
    raise FormatError(f"expected a date-time in DPt Time like the rows before, found "
                      f"{text.iloc[row]!r}", file=path, position=lines.of(row))


def _parse_dates(text: pd.Series) -> pd.Series:
    """Date-times in the one format that reads most cells; cells holding only the date part
    of that format (Maccor writes ``10/22/2019`` at exact midnight) are read as midnight.
    NaT where a cell is still unread."""
    sample = text.iloc[:200]
    best = max(_TIMESTAMP_FORMATS, key=lambda fmt: int(
        pd.to_datetime(sample, format=fmt, errors="coerce").notna().sum()))
    parsed = pd.to_datetime(text, format=best, errors="coerce")
    date_part = re.split(r",? %[HI]", best)[0]
    if date_part != best and parsed.isna().any():
        parsed = parsed.fillna(pd.to_datetime(text.where(parsed.isna()), format=date_part,
                                              errors="coerce"))
    return parsed


def _clock_jump_notes(unix: np.ndarray, test_time: np.ndarray, lines: _Lines) -> list[str]:
    """Notes where the wall clock jumps against the test time by more than a minute: a
    daylight-saving change (the clock has no zone) or a pause/resume of the channel."""
    jumps = np.diff(unix - test_time)
    rows = np.flatnonzero(np.abs(jumps) > 60)
    notes = [f"DPt Time jumps by {jumps[row]:+.0f} s relative to the test time at "
             f"{lines.of(int(row) + 1)} (daylight-saving change or paused channel?); "
             "unix_time_second keeps the file's clock" for row in rows[:3]]
    if len(rows) > 3:
        notes.append(f"... {len(rows) - 3} further clock jump(s)")
    return notes


def _date_of_test(preamble: dict[str, str]) -> pd.Timestamp | None:
    value = preamble.get("Date of Test", "")
    for fmt in _TIMESTAMP_FORMATS:
        parsed = pd.to_datetime(value, format=fmt, errors="coerce")
        if not pd.isna(parsed):
            return parsed.normalize()
    return None


def _signed_current(current: np.ndarray, state: pd.Series | None, notes: list[str]) -> np.ndarray:
    """Current with labkit's sign (charge positive), from the State letter where there is one."""
    if state is None:
        notes.append("no State column: current_ampere keeps the file's sign")
        return current
    letters = state.to_numpy()
    signed = np.where(letters == "D", -np.abs(current), np.where(letters == "C", np.abs(current),
                                                                    current))
    was_signed = bool(np.any(current[letters == "D"] < 0))
    notes.append("current_ampere sign from State (D negative, C positive); the file's Amps were "
                 + ("signed" if was_signed else "magnitudes"))
    return signed


def _direction(state: pd.Series | None, current: np.ndarray | None, rows: int) -> np.ndarray:
    """+1 on charge rows, -1 on discharge rows, 0 elsewhere."""
    if state is not None:
        letters = state.to_numpy()
        return np.where(letters == "C", 1, np.where(letters == "D", -1, 0))
    if current is not None:
        return np.sign(current).astype(int)
    return np.zeros(rows, dtype=int)


def _counters(out: dict[str, np.ndarray], raw: dict[str, pd.Series], direction: np.ndarray,
              notes: list[str]) -> None:
    """Capacity/energy columns from Maccor's running Amp-hr/Watt-hr counters."""
    cycle = out.get("cycle_count", np.zeros(len(direction), dtype=np.int64))
    step = out.get("step_index", np.zeros(len(direction), dtype=np.int64))
    boundary = np.ones(len(direction), dtype=bool)
    boundary[1:] = (step[1:] != step[:-1]) | (cycle[1:] != cycle[:-1])
    run = np.cumsum(boundary)
    for quantity, unit in (("capacity", "ampere_hour"), ("energy", "watt_hour")):
        if quantity not in raw:
            continue
        counter = np.abs(raw[quantity].to_numpy(dtype=np.float64))
        counter = np.where(np.isfinite(counter), counter, 0.0)
        increment = np.diff(counter, prepend=0.0)
        reset = boundary & (increment < 0)
        increment[reset] = counter[reset]
        increment[0] = counter[0]
        frame = pd.DataFrame({"run": run, "cycle": cycle, "increment": increment,
                              "charge": np.where(direction > 0, increment, 0.0),
                              "discharge": np.where(direction < 0, increment, 0.0)})
        out[f"step_{quantity}_{unit}"] = frame.groupby("run", sort=False)["increment"].cumsum().to_numpy()
        by_cycle = frame.groupby("cycle", sort=False)
        out[f"charging_{quantity}_{unit}"] = by_cycle["charge"].cumsum().to_numpy()
        out[f"discharging_{quantity}_{unit}"] = by_cycle["discharge"].cumsum().to_numpy()
        carried = int(np.count_nonzero(boundary[1:] & (counter[:-1] > 0) & ~reset[1:]))
        header = str(raw[quantity + "_header"].iloc[0])
        notes.append(
            f"{header} is Maccor's running counter; step_{quantity}_{unit} counts from each step "
            f"start, charging/discharging_{quantity}_{unit} accumulate within each cycle by "
            f"State; at step starts the counter fell back {int(np.count_nonzero(reset))} time(s) "
            f"(reset) and continued from a non-zero value {carried} time(s)")


def _check_millivolts(out: dict[str, np.ndarray], raw: dict[str, pd.Series], notes: list[str]) -> None:
    """Scale a 'Volts' column that the file's own energy/capacity ratio shows to be in mV."""
    if "step_capacity_ampere_hour" not in out or "step_energy_watt_hour" not in out:
        return
    charge = out["charging_capacity_ampere_hour"] + out["discharging_capacity_ampere_hour"]
    energy = out["charging_energy_watt_hour"] + out["discharging_energy_watt_hour"]
    total_charge = np.nansum(np.diff(charge, prepend=0.0).clip(min=0))
    if total_charge <= 0:
        return
    mean_volt = np.nansum(np.diff(energy, prepend=0.0).clip(min=0)) / total_charge
    median = float(np.nanmedian(out["voltage_volt"]))
    if mean_volt > 0 and 500 < median / mean_volt < 2000:
        out["voltage_volt"] = out["voltage_volt"] * 1e-3
        notes.append(
            f"'{raw['voltage_header'].iloc[0]}' values (median {median:.4g}) are 1000 x the "
            f"energy/capacity ratio of the file ({mean_volt:.4g} V): read as millivolts")


def _metadata(preamble: dict[str, str], frame: _Converted, notes: list[str]) -> Metadata:
    start = None
    if frame.start_unix is not None:
        start = pd.Timestamp(round(frame.start_unix), unit="s").isoformat()
    name = preamble.get("Name") or preamble.get("Filename")
    return Metadata(
        technique=(),
        start_time=start,
        time_zone=LOCAL if frame.start_unix is not None else None,
        instrument=("Maccor " + preamble["Tester"]) if "Tester" in preamble and not
        preamble["Tester"].lower().startswith("maccor") else preamble.get("Tester"),
        channel=preamble.get("Tester Channel") or preamble.get("Channel"),
        sample=Sample(name=name),
        notes=tuple(dict.fromkeys(notes)),
        extra=dict(preamble),
    )


# --- AC impedance (EDA) export -------------------------------------------------------------

_EDA_COLUMNS: dict[str, str] = {
    "freq(hz)": "frequency_hertz",
    "z'(a)": "z_real_ohm",
    "z''(b)": "z_imag_ohm",
    "phase_angle": "z_phase_degree",
    "z-mag": "z_modulus_ohm",
    "time(sec)": "test_time_second",
    "v-dc": "dc_voltage_volt",
    "c(f)": "maccor_capacitance_farad",
    "polar(v)": "maccor_angular_frequency_radian_per_second",
}


@register(
    "maccor-eda",
    vendor="Maccor",
    description="Maccor AC impedance (FRA sweep) export, .EDA####.### companion files",
    extensions=(".eda",),
    kind="impedance",
    sniff=_sniff_eda,
    priority=1,
    version="2",
)
def read_maccor_eda(path: Path) -> ImpedanceRecord:
    """Read a Maccor AC-impedance export into an :class:`ImpedanceRecord`.

    The file states no impedance unit; the ``Z'(a)``/``Z''(b)`` headers follow the
    ZPlot convention, which is ohms, and the phase column agrees with
    ``atan2(Z'', Z')``. A new spectrum starts where the frequency rises again.
    """
    text = decode(file_bytes(path))
    found = _find_line(text, lambda line: line.lower().startswith("freq(hz)") and line)
    if found is None:
        raise FormatError("expected a 'Freq(Hz)' table header in the Maccor AC impedance "
                          "export, found none", file=path, position="line 1")
    header_line, header_start, body_start, header = found
    preamble_lines = text[:header_start].splitlines()
    fields = [f.strip() for f in header.split("\t")]
    body = text[body_start:]
    names = _positional_names(max(len(fields), _count_first_row_fields(body, "\t")))
    table = read_table(body, path, first_line=header_line + 1, header=None, names=names)
    if table.empty:
        raise FormatError("expected impedance rows after the header, found none", file=path,
                          position=f"line {header_line + 1}")
    columns: dict[str, np.ndarray] = {}
    for index, header in enumerate(fields):
        column = table[names[index]]
        key = header.lower()
        if column.isna().all() or not key:
            continue
        name = _EDA_COLUMNS.get(key, "maccor_" + re.sub(r"[^a-z0-9]+", "_", key).strip("_"))
        columns[name] = _numbers(column, header, path, _Lines(body, header_line + 1))
    missing = [c for c in ("frequency_hertz", "z_real_ohm", "z_imag_ohm") if c not in columns]
    if missing:
        raise FormatError(f"impedance table lacks {missing}; header fields: {fields}", file=path,
                          position=f"line {header_line}")
    frequency = columns["frequency_hertz"]
    if not np.all(np.isfinite(frequency)) or np.any(frequency <= 0):
        row = int(np.flatnonzero(~(np.isfinite(frequency) & (frequency > 0)))[0])
        raise FormatError(f"expected a positive frequency, found {frequency[row]!r}", file=path,
                          position=f"data row {row + 1}")
    spectrum = np.concatenate([[0], np.cumsum(np.diff(frequency) > 0)]).astype(np.int64)
    data = pd.DataFrame({"spectrum": spectrum, **columns})
    start = _eda_start(preamble_lines)
    return ImpedanceRecord(data, Metadata(
        technique=("EIS",),
        start_time=start,
        notes=("impedance unit not stated in the file; Z'(a)/Z''(b) read as ohms (ZPlot "
               "convention)", "maccor_angular_frequency_radian_per_second is the column the "
               "file heads 'Polar(V)': it equals 2*pi*frequency"),
        extra={"header": [line.strip() for line in preamble_lines if line.strip()]},
    ))


def _eda_start(lines: list[str]) -> str | None:
    for line in lines:
        match = re.search(r"Start Date:\s*(?:\w+,\s*)?(.+?)\s+Start Time:\s*(\d+:\d+(?::\d+)?)", line)
        if match:
            parsed = pd.to_datetime(f"{match.group(1)} {match.group(2)}", format="mixed",
                                    errors="coerce")
            return None if pd.isna(parsed) else parsed.isoformat()
    return None
