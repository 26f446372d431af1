"""BioLogic EC-Lab / BT-Lab settings (``.mps``) and log files (``.mpl``): write and read.

Layout (corpus ``biologic/*.mps``): line 1 ``EC-LAB SETTING FILE`` or ``BT-LAB SETTING
FILE``, ``Number of linked techniques : N``, ``key : value`` header lines (control range,
``Safety Limits :`` with TAB-indented lines, ``Battery capacity``...), then per technique
``Technique : k``, the technique name, and its parameter table: each row is the key
left-justified to 20 characters followed by one 20-character cell per sequence ``Ns``.
Files are latin-1/cp1252 (``µ`` = 0xB5); the decimal separator follows the Windows locale
(``.`` or ``,``); the instrument PC writes CRLF. Log files (``.mpl``) and the header of
ASCII exports (``.mpt``) carry the same table after a run header, without ``Technique :``
lines (only the first table is read; later ``Modify on`` edits are stated in the
description).

Writer: one **Modulo Bat** technique. Modulo Bat is the one BioLogic technique whose
sequences take any order of CC / CV / Rest / EIS with up to three end conditions each,
jumps to any sequence and loops (``ctrl_seq``/``ctrl_repeat``), which is what a labkit
schedule is; the corpus holds Modulo Bat files saved by both EC-Lab (``biologiccom_MB*``,
and the aurora log of a file EC-Lab 11.61 loaded) and BT-Lab (``beep_formationV1.mps``).
Linked GCPL/OCV/PEIS techniques fix the order inside each Ns (galvanostatic, CV hold,
rest) and cannot jump to an arbitrary step or stop the run on a limit, so they are read but
not written. ``software="EC-Lab"`` (the registered
``biologic`` format: VMP/SP/MPG potentiostats) writes the EC-Lab v11.50 row set with
``Ewe`` limits; ``software="BT-Lab"`` (``biologic-bt``: BCS cyclers) the BT-Lab row set
with ``Ecell`` limits and the safety voltages in the header. Output is cp1252, CRLF,
decimal point.

Mapping: ``rest``/``ocv`` = Rest; ``cc`` = CC (``ctrl1_val`` magnitude, direction in
``charge/discharge``; C-rates as ``Apply I/C`` ``C x N`` / ``C / N`` when N has two
decimals, else resolved to amperes); ``cv`` = CV vs. Ref; ``cccv`` = a CC sequence to the
hold voltage followed by a CV sequence (each gets the step's time limit); ``pulse`` = a
loop of the on and off sequences whose voltage limit leaves the loop; ``eis`` = PEIS /
GEIS (EC-Lab only); loops = ``Loop`` sequences. Ends: ``Time``, ``Ewe``/``Ecell``,
``|I|`` (CV taper), ``|Q|`` (capacity); ``goto`` = ``Goto sequence``, ``"end"`` = ``Stop``.
Reading adds GCPL (each Ns = CC [+ CV hold tM to Im] [+ rest tR], ``goto Ns'``/``nc
cycles`` loops), GCPL 7, Chronopotentiometry, OCV, PEIS and the linked ``Loop``
technique (``goto Ne``/``nt times``).

Refused when writing, naming the step: ``cp`` steps and chamber set points (no such
sequence in the corpus), dV/dt ends (no Modulo Bat limit for them in the corpus: GCPL/OCV
rests ending on ``dER/dt`` are read but cannot be written), more than three ends on one
sequence, EIS in BT-Lab files. The EC-Lab header keeps only the observed ``Do not start
on E overload`` safety line, so the schedule's safety voltages are written for BT-Lab
only.

Reading keeps as an ``opaque`` step (with its ends and, on CC / CV, its set point) a
Modulo Bat ``CR`` / ``UP`` or other sequence type, a sequence with a limit labkit has no
end for (``|Q|`` relative to C / N, a limit action other than next / goto / stop), a set
point ``vs.`` anything but ``<None>``/``Ref``, a GEIS / PEIS amplitude in the other
quantity, and a technique other than those above. Refused when reading: EIS at a DC
potential other than 0 V vs. Eoc and GCPL rest potential limits ``EL``. The cell window
is the safety limits, else the control range (none when the header has neither); the
capacity is the header's ``Battery capacity`` (EC-Lab and BT-Lab resolve C-rates with
the capacity set when the run starts).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from labkit.errors import ProtocolError
from labkit.protocols.formats import ScheduleFormat, register
from labkit.protocols.schedule import (
    Cell,
    End,
    Impedance,
    Loop,
    Recording,
    Safety,
    Schedule,
    Setpoint,
    Step,
    walk_steps,
)

_WIDTH = 20
_CURRENT = {"A": 1.0, "mA": 1e-3, "µA": 1e-6, "uA": 1e-6, "nA": 1e-9, "pA": 1e-12}
_CHARGE = {"A.h": 1.0, "mA.h": 1e-3, "µA.h": 1e-6, "uA.h": 1e-6, "nA.h": 1e-9, "pA.h": 1e-12}
_TIME = {"ms": 1e-3, "s": 1.0, "mn": 60.0, "h": 3600.0, "d": 86400.0}
_VOLTAGE = {"V": 1.0, "mV": 1e-3, "µV": 1e-6, "uV": 1e-6}
_FREQUENCY = {"MHz": 1e6, "kHz": 1e3, "Hz": 1.0, "mHz": 1e-3, "µHz": 1e-6}
_MB, _GCPL, _GCPL7 = "Modulo Bat", "Galvanostatic Cycling with Potential Limitation", \
    "Galvanostatic Cycling with Potential Limitation 7"
_OCV, _PEIS, _CP, _LOOP = ("Open Circuit Voltage", "Potentio Electrochemical Impedance "
                           "Spectroscopy", "Chronopotentiometry", "Loop")
_MAX_LIMITS = 3


# -- reading -------------------------------------------------------------------


@dataclass
class _Table:
    """One technique: its number, name, rows (key -> one cell per sequence), first line."""

    number: int
    name: str
    rows: dict[str, list[str]]
    line: int
    row_lines: dict[str, int] = field(default_factory=dict)


class _Cell(str):
    """A table cell that remembers its row and line, for error messages."""

    key: str
    line: int

    def __new__(cls, text: str, key: str, line: int) -> _Cell:
        cell = super().__new__(cls, text)
        cell.key, cell.line = key, line
        return cell


def _place(text: str, where: str, line: int | None) -> tuple[str, int | None]:
    if isinstance(text, _Cell):
        return f"{where}, row {text.key!r}", text.line
    return where, line


class _Reader:
    """Numbers with either decimal separator, durations and units, with file positions."""

    def __init__(self, path: Path, comma: bool) -> None:
        self.path = path
        self.comma = comma
        #: capacity implied by a GCPL "C / N" / "C x N" current Is (A h), when one is given
        self.implied_capacity: float | None = None

    def fail(self, message: str, line: int | None = None) -> ProtocolError:
        return ProtocolError(message, file=self.path,
                             position=None if line is None else f"line {line}")

    def number(self, text: str, where: str, line: int | None) -> float:
        where, line = _place(text, where, line)
        cleaned = text.strip().replace(",", ".") if self.comma else text.strip()
        try:
            value = float(cleaned)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise self.fail(f"{where}: expected a number, found {text.strip()!r}", line)
        return value

    def duration(self, text: str, where: str, line: int | None) -> float:
        where, line = _place(text, where, line)
        parts = text.strip().split(":")
        if len(parts) != 3:
            raise self.fail(f"{where}: expected a duration h:mm:s.ssss, found {text!r}", line)
        hours, minutes, seconds = (self.number(p, where, line) for p in parts)
        return hours * 3600 + minutes * 60 + seconds

    def scaled(self, value: str, unit: str, table: dict[str, float], where: str,
               line: int | None) -> float:
        unit_where, unit_line = _place(unit, where, line)
        if unit.strip() not in table:
            raise self.fail(f"{unit_where}: unit {unit.strip()!r} is not one of "
                            f"{sorted(table)}", unit_line)
        return float(f"{self.number(value, where, line) * table[unit.strip()]:.12g}")


def _decode(path: Path) -> list[str]:
    return path.read_bytes().decode("cp1252", errors="replace").splitlines()


@dataclass
class _Settings:
    """What a settings or log file holds: technique tables, ``key : value`` header lines,
    TAB-indented safety lines, and whether the log records later modifications."""

    tables: list[_Table]
    header: dict[str, str]
    safety_lines: list[str]
    modified: bool = False


def _settings(lines: list[str], path: Path) -> _Settings:
    """Split a settings (``.mps``), log (``.mpl``) or export (``.mpt``) header."""
    first = lines[0].strip() if lines else ""
    header: dict[str, str] = {}
    safety_lines: list[str] = []
    tables: list[_Table] = []
    modified = False
    if first in ("EC-LAB SETTING FILE", "BT-LAB SETTING FILE"):
        index = 1
        while index < len(lines):
            line = lines[index]
            match = re.fullmatch(r"Technique : (\d+)", line.strip())
            if match:
                name = lines[index + 1].strip() if index + 1 < len(lines) else ""
                rows, row_lines, end = _rows(lines, index + 2)
                tables.append(_Table(int(match.group(1)), name, rows, index + 3, row_lines))
                index = end
                continue
            _header_line(line, header, safety_lines, index + 1)
            index += 1
    elif first in ("EC-Lab LOG FILE", "BT-Lab LOG FILE", "EC-Lab ASCII FILE"):
        index = 1  # the technique name is the first line after the title (and line count)
        while index < len(lines) and (not lines[index].strip()
                                      or lines[index].startswith("Nb header lines")):
            index += 1
        name = lines[index].strip() if index < len(lines) else ""
        index += 1
        # the run header ends with "Cycle Definition : ..."; the table follows
        while index < len(lines) and not (
                "Cycle Definition" in header and _is_row(lines[index])):
            _header_line(lines[index], header, safety_lines, index + 1)
            index += 1
        rows, row_lines, end = _rows(lines, index)
        tables.append(_Table(1, name, rows, index + 1, row_lines))
        modified = any(line.startswith("Modify on") for line in lines[end:])
    else:
        raise ProtocolError("expected 'EC-LAB SETTING FILE', 'BT-LAB SETTING FILE', a "
                            f"LOG FILE or ASCII FILE title, found {first[:40]!r}", file=path,
                            position="line 1")
    if not tables:
        raise ProtocolError("no technique table found", file=path)
    return _Settings(tables, header, safety_lines, modified)


def _header_line(line: str, header: dict[str, str], safety: list[str], number: int) -> None:
    """File ``line`` (1-based ``number``) into the header (first value of each key) or the
    TAB-indented safety lines; values remember their line for error messages."""
    if line.startswith("\t"):
        safety.append(_Cell(line.strip(), "Safety Limits", number))
    elif " : " in line:
        key, _, value = line.partition(" : ")
        header.setdefault(key.strip(), _Cell(value.strip(), key.strip(), number))


def _is_row(line: str) -> bool:
    return (len(line) > _WIDTH and not line.startswith((" ", "\t")) and " : " not in line
            and line[_WIDTH - 1] == " ")


def _rows(lines: list[str], index: int) -> tuple[dict[str, list[str]], dict[str, int], int]:
    """Fixed-width rows from ``index`` up to the next blank line; cells by 20 characters.
    Returns the rows, the 1-based line of each row and the index after the table."""
    rows: dict[str, list[str]] = {}
    row_lines: dict[str, int] = {}
    while index < len(lines) and lines[index].strip():
        line = lines[index].rstrip("\r")
        key = line[:_WIDTH].strip()
        body = line[_WIDTH:]
        count = max(1, math.ceil(len(body.rstrip()) / _WIDTH))
        if key not in rows:
            rows[key] = [body[k * _WIDTH:(k + 1) * _WIDTH].strip() for k in range(count)]
            row_lines[key] = index + 1
        index += 1
    return rows, row_lines, index


def parse_biologic(path: Path) -> Schedule:
    """Read a BioLogic ``.mps`` settings file (or the settings of a ``.mpl`` log)."""
    path = Path(path)
    lines = _decode(path)
    settings = _settings(lines, path)
    tables, header = settings.tables, settings.header
    comma = bool(re.search(r"\d,\d", header.get("Ecell ctrl range", "")
                           + header.get("Ewe ctrl range", ""))) or any(
        re.fullmatch(r"-?\d+,\d+", cell) for table in tables for row in table.rows.values()
        for cell in row)
    reader = _Reader(path, comma)
    capacity = _battery_capacity(header, reader)
    items: list[tuple[tuple[int, int], Step | Loop]] = []
    for table in tables:
        parse = _TECHNIQUES.get(table.name)
        if parse is None:
            items.append(((table.number, 0), Step(
                "opaque", label=f"t{table.number}_ns0",
                vendor_step=f"BioLogic technique {table.number} {table.name!r}")))
            continue
        parse(table, reader, items)
    steps = _resolve_gotos(tuple(item for _, item in items), reader)
    if not steps:
        raise reader.fail("the settings hold no step")
    safety = _safety(settings.safety_lines, reader)
    notes = []
    if capacity is None and reader.implied_capacity is not None:
        capacity = float(f"{reader.implied_capacity:.9g}")
        notes.append(f"nominal capacity {capacity * 1e3:g} mA h taken from the GCPL current Is "
                     "shown for its C-rate (the header's Battery capacity is 0)")
    cell = Cell(nominal_capacity_ampere_hour=capacity,
                min_voltage_volt=safety.min_voltage_volt if safety.min_voltage_volt is not None
                else _control_range(header, reader)[0],
                max_voltage_volt=safety.max_voltage_volt if safety.max_voltage_volt is not None
                else _control_range(header, reader)[1])
    if settings.modified:
        notes.append("the log records settings modified during the run (Modify on); "
                     "these are the settings it started with")
    return Schedule(str(header.get("Comments", "")) or path.stem, cell, steps, safety=safety,
                    description="; ".join(notes))


def _battery_capacity(header: dict[str, str], reader: _Reader) -> float | None:
    match = re.fullmatch(r"([-0-9.,]+) (\S+)", header.get("Battery capacity", ""))
    if not match or match.group(2) not in _CHARGE:
        return None
    text = header["Battery capacity"]
    value = reader.scaled(_Cell(match.group(1), "Battery capacity", text.line), match.group(2),
                          _CHARGE, "header", None)
    return value or None


def _control_range(header: dict[str, str],
                   reader: _Reader) -> tuple[float, float] | tuple[None, None]:
    text = header.get("Ecell ctrl range") or header.get("Ewe ctrl range") or ""
    match = re.fullmatch(r"min = (\S+) V, max = (\S+) V", text)
    if not match:
        return None, None
    line = getattr(text, "line", None)
    return (reader.number(match.group(1), "control range", line),
            reader.number(match.group(2), "control range", line))


def _safety(safety_lines: list[str], reader: _Reader) -> Safety:
    limits = {}
    for line in safety_lines:
        match = re.fullmatch(r"(?:Ecell|Ewe) (min|max) = (\S+) V", line)
        if match:
            limits[match.group(1)] = reader.number(match.group(2), "Safety Limits",
                                                   getattr(line, "line", None))
    return Safety(min_voltage_volt=limits.get("min"), max_voltage_volt=limits.get("max"))


def _cell(table: _Table, key: str, column: int, default: str = "") -> str:
    row = table.rows.get(key)
    if row is None:
        return default
    return _Cell(row[column] if column < len(row) else default, key, table.row_lines[key])


def _column(table: _Table, column: int):
    """``cell(key, default="")``: the value of ``key`` in sequence ``column``."""
    return lambda key, default="": _cell(table, key, column, default)


def _columns(table: _Table) -> list[int]:
    return list(range(len(table.rows.get("Ns", [""]))))


def _wrap(items: list, start: tuple[int, int], count: int, label: str) -> None:
    """Collapse the items from ``start`` on into a loop of ``count`` passes."""
    body = []
    while items and items[-1][0] >= start:
        body.insert(0, items.pop())
    if not body:
        return  # a loop over empty sequences (e.g. onto a Loop with no repeat) does nothing
    items.append((body[0][0], Loop(tuple(item for _, item in body), count, label)))


def _gcpl(table: _Table, reader: _Reader, items: list) -> None:
    t = table.number
    for column in _columns(table):
        where = f"technique {t} ({table.name}) Ns {column}"
        line = table.line
        cell = _column(table, column)
        key = (t, column)
        mode = cell("Set I/C", "I")
        if cell("vs.", "<None>") not in ("<None>", ""):
            raise reader.fail(f"{where}: a current vs. {cell('vs.')} cannot be expressed", line)
        t1 = reader.duration(cell("t1 (h:m:s)", "0:00:0"), where, line)
        if t1 > 0:
            if mode == "I":
                current = Setpoint(reader.scaled(cell("Is"), cell("unit Is"), _CURRENT, where,
                                                 line), "A")
            else:
                n = _multiplier(reader, cell("N"), where, line)
                sign = -1.0 if cell("I sign").startswith("<") else 1.0
                current = Setpoint(sign * (n if mode == "C x N" else 1 / n), "C")
                shown = abs(reader.scaled(cell("Is", "0"), cell("unit Is", "A"), _CURRENT,
                                          where, line))
                if shown > 0 and reader.implied_capacity is None:
                    reader.implied_capacity = shown / abs(current.value)
            charge = current.value >= 0
            em = reader.number(cell("EM (V)", "0"), where, line)
            ends = [End("voltage", ">=" if charge else "<=", em, "V"),
                    End("time", ">=", t1, "s")]
            dqm = cell("dQM")
            if dqm and reader.number(dqm, where, line) > 0:
                ends.append(End("capacity", ">=", reader.scaled(dqm, cell("unit dQM"), _CHARGE,
                                                                where, line), "Ah"))
            record = _gcpl_record(reader, cell("dE1 (mV)"), cell("dt1 (s)"), where, line)
            items.append((key, Step("cc", label=f"t{t}_ns{column}", current=current,
                                    ends=tuple(ends), record=record)))
            tm = reader.duration(cell("tM (h:m:s)", "0:00:0"), where, line)
            if tm > 0:
                cv_ends = [End("time", ">=", tm, "s")]
                im = cell("Im")
                if im and reader.number(im, where, line) > 0:
                    cv_ends.append(End("current", "<=", reader.scaled(im, cell("unit Im"),
                                                                      _CURRENT, where, line),
                                       "A"))
                items.append((key, Step("cv", label=f"t{t}_ns{column}_cv", voltage_volt=em,
                                        ends=tuple(cv_ends),
                                        record=Recording(every_second=_positive(
                                            reader, cell("dtq (s)"), where, line)))))
        _rest_part(reader, items, key, cell, where, line, f"t{t}_ns{column}_rest")
        goto, cycles = cell("goto Ns'", "0"), cell("nc cycles", "0")
        if cycles and reader.number(cycles, where, line) > 0:
            _wrap(items, (t, int(reader.number(goto, where, line))),
                  int(reader.number(cycles, where, line)) + 1, f"t{t}_loop{column}")


def _multiplier(reader: _Reader, text: str, where: str, line: int) -> float:
    """The N of ``C / N`` and ``C x N``: a positive number."""
    value = reader.number(text, where, line)
    if not value > 0:
        where, line = _place(text, where, line)
        raise reader.fail(f"{where}: N of a C-rate must be positive, is {value:g}", line)
    return value


def _positive(reader: _Reader, text: str, where: str, line: int) -> float | None:
    if not text:
        return None
    value = reader.number(text, where, line)
    return value if value > 0 else None


def _gcpl_record(reader, de: str, dt: str, where: str, line: int) -> Recording:
    volt = _positive(reader, de, where, line)
    return Recording(every_second=_positive(reader, dt, where, line),
                     every_volt=None if volt is None else volt * 1e-3)


def _rest_part(reader, items, key, cell, where, line, label) -> None:
    rest = reader.duration(cell("tR (h:m:s)", "0:00:0"), where, line)
    if rest <= 0:
        return
    el = cell("EL (V)", "pass")
    if el not in ("pass", "") and reader.number(el, where, line) != 0:
        raise reader.fail(f"{where}: the rest potential limit EL = {el} V cannot be "
                          "expressed", line)
    ends = [End("time", ">=", rest, "s")]
    slope = _positive(reader, cell("dER/dt (mV/h)"), where, line)
    if slope is not None:
        ends.append(End("dv_dt", "<=", slope * 1e-3 / 3600, "V/s"))
    record = _gcpl_record(reader, cell("dER (mV)"), cell("dtR (s)"), where, line)
    items.append((key, Step("rest", label=label, ends=tuple(ends), record=record)))


def _ocv(table: _Table, reader: _Reader, items: list) -> None:
    where = f"technique {table.number} ({table.name})"
    _rest_part(reader, items, (table.number, 0), _column(table, 0),
               where, table.line, f"t{table.number}_ns0")


def _chronopotentiometry(table: _Table, reader: _Reader, items: list) -> None:
    t = table.number
    for column in _columns(table):
        where = f"technique {t} ({table.name}) Ns {column}"
        cell = _column(table, column)
        line = table.line
        if cell("vs.", "<None>") not in ("<None>", ""):
            raise reader.fail(f"{where}: a current vs. {cell('vs.')} cannot be expressed", line)
        duration = reader.duration(cell("ts (h:m:s)", "0:00:0"), where, line)
        if duration <= 0:
            continue
        ampere = reader.scaled(cell("Is"), cell("unit Is"), _CURRENT, where, line)
        ends = [End("voltage", ">=" if ampere >= 0 else "<=",
                    reader.number(cell("EM (V)", "0"), where, line), "V"),
                End("time", ">=", duration, "s")]
        dqm = cell("dQM")
        if dqm and reader.number(dqm, where, line) > 0:
            ends.append(End("capacity", ">=", reader.scaled(dqm, cell("unit dQM"), _CHARGE,
                                                            where, line), "Ah"))
        record = _gcpl_record(reader, cell("dEs (mV)"), cell("dts (s)"), where, line)
        items.append(((t, column), Step("cc", label=f"t{t}_ns{column}",
                                        current=Setpoint(ampere, "A"), ends=tuple(ends),
                                        record=record)))
        goto, cycles = cell("goto Ns'", "0"), cell("nc cycles", "0")
        if cycles and reader.number(cycles, where, line) > 0:
            _wrap(items, (t, int(reader.number(goto, where, line))),
                  int(reader.number(cycles, where, line)) + 1, f"t{t}_loop{column}")


def _peis(table: _Table, reader: _Reader, items: list) -> None:
    t = table.number
    for column in _columns(table):
        where = f"technique {t} ({table.name}) Ns {column}"
        cell = _column(table, column)
        line = table.line
        if cell("vs.") != "Eoc" or reader.number(cell("E (V)", "0"), where, line) != 0:
            raise reader.fail(f"{where}: EIS at {cell('E (V)')} V vs. {cell('vs.')} cannot be "
                              "expressed (labkit EIS steps are at open circuit)", line)
        if cell("Points", "per decade") != "per decade":
            raise reader.fail(f"{where}: frequency points {cell('Points')!r} cannot be "
                              "expressed (labkit counts points per decade)", line)
        settings = Impedance(
            "potentiostatic",
            reader.scaled(cell("fi"), cell("unit fi"), _FREQUENCY, where, line),
            reader.scaled(cell("ff"), cell("unit ff"), _FREQUENCY, where, line),
            int(reader.number(cell("Nd"), where, line)),
            reader.number(cell("Va (mV)"), where, line) * 1e-3, "V")
        items.append(((t, column), Step("eis", label=f"t{t}_ns{column}", impedance=settings)))


def _loop_technique(table: _Table, reader: _Reader, items: list) -> None:
    where = f"technique {table.number} (Loop)"
    target = int(reader.number(_cell(table, "goto Ne", 0, "1"), where, table.line))
    times = int(reader.number(_cell(table, "nt times", 0, "0"), where, table.line))
    if times > 0:
        _wrap(items, (target, 0), times + 1, f"t{table.number}_loop")


def _modulo_bat(table: _Table, reader: _Reader, items: list) -> None:
    t = table.number
    for column in _columns(table):
        where = f"technique {t} (Modulo Bat) Ns {column}"
        line = table.line
        cell = _column(table, column)
        kind = cell("ctrl_type")
        label = f"t{t}_ns{column}"
        if kind == "Loop":
            repeat = int(reader.number(cell("ctrl_repeat", "0"), where, line))
            if repeat > 0:
                _wrap(items, (t, int(reader.number(cell("ctrl_seq"), where, line))),
                      repeat + 1, label)
            continue
        charge = cell("charge/discharge", "Charge") != "Discharge"
        ends: list[End] = []
        unread: list[str] = []
        for k in range(1, int(reader.number(cell("lim_nb", "0"), where, line)) + 1):
            try:
                ends.append(_mb_limit(cell, k, charge, t, reader, where, line))
            except _Unexpressible:
                unread.append(" ".join(cell(f"lim{k}_{name}") for name in (
                    "type", "comp", "value", "value_unit", "Q", "action")))
        ends = tuple(ends)
        record = _mb_record(cell, reader, where, line)
        vs = cell("ctrl1_val_vs", "<None>")
        amplitude_units = {"PEIS": _VOLTAGE, "GEIS": _CURRENT}.get(kind)
        if unread or kind not in _MB_MODELLED or (kind == "CC" and vs not in ("<None>", "")) or (
                kind == "CV" and vs not in ("Ref", "<None>", "")) or (
                amplitude_units is not None and cell("ctrl1_val_unit") not in amplitude_units):
            items.append(((t, column), _mb_opaque(cell, kind, charge, unread, label, ends, record,
                                                  reader, where, line)))
            continue
        if kind == "Rest":
            step = Step("rest", label=label, ends=ends, record=record)
        elif kind == "CC":
            mode = cell("Apply I/C", "I")
            if mode == "I":
                magnitude = reader.scaled(cell("ctrl1_val"), cell("ctrl1_val_unit"), _CURRENT,
                                          where, line)
                current = Setpoint(magnitude if charge else -magnitude, "A")
            else:
                n = _multiplier(reader, cell("N"), where, line)
                rate = n if mode == "C x N" else 1 / n
                current = Setpoint(rate if charge else -rate, "C")
            step = Step("cc", label=label, current=current, ends=ends, record=record)
        elif kind == "CV":
            step = Step("cv", label=label, voltage_volt=reader.scaled(
                cell("ctrl1_val"), cell("ctrl1_val_unit"), _VOLTAGE, where, line),
                ends=ends, record=record)
        elif kind in ("PEIS", "GEIS"):
            galvanostatic = kind == "GEIS"
            amplitude = reader.scaled(cell("ctrl1_val"), cell("ctrl1_val_unit"),
                                      _CURRENT if galvanostatic else _VOLTAGE, where, line)
            settings = Impedance(
                "galvanostatic" if galvanostatic else "potentiostatic",
                reader.scaled(cell("ctrl2_val"), cell("ctrl2_val_unit"), _FREQUENCY, where,
                              line),
                reader.scaled(cell("ctrl3_val"), cell("ctrl3_val_unit"), _FREQUENCY, where,
                              line),
                int(reader.number(cell("ctrl_Nd", "10"), where, line)), amplitude,
                "A" if galvanostatic else "V")
            step = Step("eis", label=label, impedance=settings, ends=ends)
        items.append(((t, column), step))


#: Modulo Bat sequence types labkit models, and the others of real files (corpus).
_MB_MODELLED = ("Rest", "CC", "CV", "PEIS", "GEIS")
_MB_UNMODELLED = ("CR", "UP")


class _Unexpressible(ProtocolError):
    """A limit labkit has no end condition for (the file is well formed)."""


def _mb_opaque(cell, kind: str, charge: bool, unread: list[str], label: str, ends, record,
               reader: _Reader, where: str, line: int) -> Step:
    """A Modulo Bat sequence labkit does not model, with what of it could be read."""
    known = kind in _MB_MODELLED or kind in _MB_UNMODELLED
    value, unit = cell("ctrl1_val"), cell("ctrl1_val_unit")
    text = f"BioLogic Modulo Bat {kind!r}" + (
        "" if known else " (a sequence type not seen in any BioLogic file)")
    if value:
        text += f", ctrl1_val {value} {unit} vs. {cell('ctrl1_val_vs', '<None>')}"
    if unread:
        text += f", limits labkit cannot read: {'; '.join(unread)}"
    current = volt = None  # the set point of a CC or CV sequence (vs. another reference)
    if kind == "CC" and value and unit in _CURRENT:
        magnitude = reader.scaled(value, unit, _CURRENT, where, line)
        current = Setpoint(magnitude if charge else -magnitude, "A")
    elif kind == "CV" and value and unit in _VOLTAGE:
        volt = reader.scaled(value, unit, _VOLTAGE, where, line)
    return Step("opaque", label=label, current=current, voltage_volt=volt, ends=ends,
                record=record, vendor_step=text)


def _mb_limit(cell, k: int, charge: bool, t: int, reader: _Reader, where: str,
              line: int) -> End:
    kind, comp = cell(f"lim{k}_type"), cell(f"lim{k}_comp")
    value, unit = cell(f"lim{k}_value"), cell(f"lim{k}_value_unit")
    action = cell(f"lim{k}_action", "Next sequence")
    operator = ">=" if comp == ">" else "<=" if comp == "<" else None
    if operator is None:
        raise reader.fail(f"{where}: limit {k} comparison {comp!r} is not > or <", line)
    if action == "Next sequence":
        goto = None
    elif action == "Stop":
        goto = "end"
    elif action == "Goto sequence":
        goto = f"@t{t}_ns{int(reader.number(cell(f'lim{k}_seq'), where, line))}"
    else:
        raise _Unexpressible(f"{where}: limit action {action!r} cannot be expressed",
                             file=reader.path, position=f"line {line}")
    if kind == "Time":
        return End("time", ">=", reader.scaled(value, unit, _TIME, where, line), "s", goto)
    if kind in ("Ecell", "Ewe"):
        return End("voltage", operator, reader.scaled(value, unit, _VOLTAGE, where, line), "V",
                   goto)
    if kind in ("I", "|I|") and operator == "<=":
        return End("current", "<=", abs(reader.scaled(value, unit, _CURRENT, where, line)), "A",
                   goto)
    if kind == "|Q|" and operator == ">=" and cell(f"lim{k}_Q", "Q limit") == "Q limit":
        return End("capacity", ">=", reader.scaled(value, unit, _CHARGE, where, line), "Ah",
                   goto)
    where, line = _place(kind, where, line)
    raise _Unexpressible(f"{where}: limit {k} on {kind} {comp} cannot be expressed",
                         file=reader.path, position=f"line {line}")


def _mb_record(cell, reader: _Reader, where: str, line: int) -> Recording:
    every: dict[str, float | None] = {"time": None, "volt": None, "ampere": None}
    for k in range(1, int(reader.number(cell("rec_nb", "0"), where, line)) + 1):
        kind, value, unit = cell(f"rec{k}_type"), cell(f"rec{k}_value"), cell(f"rec{k}_value_unit")
        if kind == "Time":
            every["time"] = reader.scaled(value, unit, _TIME, where, line) or None
        elif kind in ("Ecell", "Ewe"):
            every["volt"] = reader.scaled(value, unit, _VOLTAGE, where, line) or None
        elif kind in ("I", "|I|"):
            every["ampere"] = reader.scaled(value, unit, _CURRENT, where, line) or None
    return Recording(every_second=every["time"], every_volt=every["volt"],
                     every_ampere=every["ampere"])


_TECHNIQUES = {_MB: _modulo_bat, _GCPL: _gcpl, _GCPL7: _gcpl, _OCV: _ocv, _PEIS: _peis,
               _CP: _chronopotentiometry, _LOOP: _loop_technique}


def _resolve_gotos(items: tuple, reader: _Reader) -> tuple:
    """``@t1_ns5`` goto markers -> the label of the first step at or after that sequence."""
    flat = [step for step, _ in walk_steps(items)]

    def sequence(label: str) -> tuple[int, int]:
        t, ns = re.match(r"t(\d+)_ns(\d+)", label).groups()
        return int(t), int(ns)

    def target(marker: str) -> str:
        wanted = sequence(marker[1:])
        for step in flat:
            if sequence(step.label) >= wanted:
                return step.label
        return "end"

    def fix(entries):
        out = []
        for entry in entries:
            if isinstance(entry, Loop):
                out.append(replace(entry, steps=fix(entry.steps)))
            else:
                out.append(replace(entry, ends=tuple(
                    replace(e, goto=target(e.goto)) if e.goto and e.goto.startswith("@") else e
                    for e in entry.ends)))
        return tuple(out)

    return fix(items)


# -- writing -------------------------------------------------------------------


@dataclass
class _Sequence:
    """One Modulo Bat sequence before rendering."""

    cells: dict[str, str]
    limits: list[tuple[str, str, float, str, str]] = field(default_factory=list)
    #: (type, comp, value, unit, goto) with goto None / "end" / a step label / "#<index>"
    record: Recording | None = None


_EC_LAB_ROWS = ("Ns", "ctrl_type", "Apply I/C", "current/potential", "ctrl1_val",
                "ctrl1_val_unit", "ctrl1_val_vs", "ctrl2_val", "ctrl2_val_unit", "ctrl2_val_vs",
                "ctrl3_val", "ctrl3_val_unit", "ctrl3_val_vs", "N", "charge/discharge",
                "charge/discharge_1", "Apply I/C_1", "N1", "ctrl4_val", "ctrl4_val_unit",
                "ctrl5_val", "ctrl5_val_unit", "ctrl_tM", "ctrl_seq", "ctrl_repeat",
                "ctrl_trigger", "ctrl_TO_t", "ctrl_TO_t_unit", "ctrl_Nd", "ctrl_Na",
                "ctrl_corr", "lim_nb")
_BT_LAB_ROWS = ("Ns", "ctrl_type", "Apply I/C", "ctrl1_val", "ctrl1_val_unit", "ctrl1_val_vs",
                "ctrl2_val", "ctrl2_val_unit", "ctrl2_val_vs", "ctrl3_val", "ctrl3_val_unit",
                "ctrl3_val_vs", "N", "charge/discharge", "ctrl_seq", "ctrl_repeat",
                "ctrl_trigger", "ctrl_TO_t", "ctrl_TO_t_unit", "ctrl_Nd", "ctrl_Na",
                "ctrl_corr", "lim_nb")
_TAIL_ROWS = ("E range min (V)", "E range max (V)", "I Range", "I Range min", "I Range max",
              "I Range init", "auto rest", "Bandwidth")
_LIMIT_ROWS = ("type", "comp", "Q", "value", "value_unit", "action", "seq")
_I_RANGES = ((10e-6, "10 µA"), (100e-6, "100 µA"), (1e-3, "1 mA"), (10e-3, "10 mA"),
             (100e-3, "100 mA"), (1.0, "1 A"), (10.0, "10 A"))
_E_RANGES = ((0.0, 5.0), (0.0, 10.0), (-2.5, 2.5), (-5.0, 5.0), (-10.0, 10.0))


def _fixed(value: float, decimals: int = 3) -> str:
    return f"{value:.{decimals}f}"


def _in_unit(value: float, table: dict[str, float], units: tuple[str, ...]) -> tuple[str, str]:
    """``value`` (SI) in the largest of ``units`` (largest first) where it is at least 1 and
    exact to the 3 decimals BioLogic writes, else in the smallest unit."""
    for unit in units:
        scaled = value / table[unit]
        if abs(scaled) < 1 and unit != units[-1]:
            continue
        if abs(round(scaled, 3) - scaled) <= 1e-9 * max(abs(scaled), 1.0):
            return _fixed(scaled), unit
    return _fixed(value / table[units[-1]]), units[-1]


class _Writer:
    def __init__(self, schedule: Schedule, software: str) -> None:
        self.schedule = schedule
        self.cell = schedule.cell
        self.bt_lab = software == "BT-Lab"
        self.sequences: list[_Sequence] = []
        self.first: dict[str, int] = {}  # step label -> its first sequence
        self.voltage_kind = "Ecell" if self.bt_lab else "Ewe"

    # -- structure -------------------------------------------------------------

    def emit(self, items) -> None:
        for item in items:
            if isinstance(item, Loop):
                start = len(self.sequences)
                self.emit(item.steps)
                if item.count == 1:
                    continue  # one pass needs no Loop sequence (and reads back flat)
                self.sequences.append(_Sequence({"ctrl_type": "Loop", "ctrl_seq": str(start),
                                                 "ctrl_repeat": str(item.count - 1)}))
            else:
                self.first[item.label] = len(self.sequences)
                self.step(item)

    def step(self, step: Step) -> None:
        where = step.label
        if step.kind == "cp":
            raise ProtocolError(f"{where}: the BioLogic writer has no constant-power sequence "
                                "(none in the corpus Modulo Bat files)")
        if step.chamber_celsius is not None:
            raise ProtocolError(f"{where}: BioLogic settings hold no chamber set point")
        for end in step.ends:
            if end.quantity == "dv_dt":
                raise ProtocolError(f"{where}: Modulo Bat has no dV/dt limit")
        if step.kind in ("rest", "ocv"):
            self.add(self._base("Rest"), step, step.ends)
        elif step.kind == "cc":
            self.add(self._current_cells(step.current), step, step.ends)
        elif step.kind == "cv":
            self.add(self._voltage_cells(step.voltage_volt), step, step.ends)
        elif step.kind == "cccv":
            charge = step.current.value > 0
            after = f"#{len(self.sequences) + 2}"
            cc_ends = [End("voltage", ">=" if charge else "<=", step.voltage_volt, "V")]
            cc_ends += [replace(e, goto=e.goto or after) for e in step.ends
                        if e.quantity in ("time", "capacity")]
            cc_ends += [e for e in step.ends if e.quantity == "voltage"]
            self.add(self._current_cells(step.current), step, cc_ends)
            self.add(self._voltage_cells(step.voltage_volt, step.current.value > 0), step,
                     [e for e in step.ends if e.quantity != "voltage"])
        elif step.kind == "pulse":
            self._pulse(step)
        else:
            self._eis(step)

    def _pulse(self, step: Step) -> None:
        pulse = step.pulse
        count = max(1, math.ceil(step.end("time").value / (pulse.on_second + pulse.off_second)))
        start = len(self.sequences)
        leave = f"#{start + 3}"
        on_ends = [End("time", ">=", pulse.on_second, "s")]
        on_ends += [replace(e, goto=e.goto or leave) for e in step.ends
                    if e.quantity in ("voltage", "capacity")]
        self.add(self._current_cells(step.current), step, on_ends)
        off_ends = [End("time", ">=", pulse.off_second, "s")]
        if pulse.off_current.value == 0:
            self.add(self._base("Rest"), step, off_ends)
        else:
            self.add(self._current_cells(pulse.off_current), step, off_ends)
        self.sequences.append(_Sequence({"ctrl_type": "Loop", "ctrl_seq": str(start),
                                         "ctrl_repeat": str(count - 1)}))

    def _eis(self, step: Step) -> None:
        if self.bt_lab:
            raise ProtocolError(f"{step.label}: the BT-Lab Modulo Bat row set of the corpus has "
                                "no EIS sequence; write it for EC-Lab (format 'biologic')")
        settings = step.impedance
        galvanostatic = settings.mode == "galvanostatic"
        if galvanostatic:
            amplitude = _in_unit(settings.amplitude, _CURRENT, ("A", "mA", "µA", "nA"))
        else:
            amplitude = _in_unit(settings.amplitude, _VOLTAGE, ("V", "mV", "µV"))
        start = _in_unit(settings.start_frequency_hertz, _FREQUENCY, ("MHz", "kHz", "Hz", "mHz"))
        end = _in_unit(settings.end_frequency_hertz, _FREQUENCY, ("MHz", "kHz", "Hz", "mHz"))
        cells = self._base("GEIS" if galvanostatic else "PEIS")
        cells.update({"current/potential": "current" if galvanostatic else "potential",
                      "ctrl1_val": amplitude[0], "ctrl1_val_unit": amplitude[1],
                      "ctrl2_val": start[0], "ctrl2_val_unit": start[1],
                      "ctrl3_val": end[0], "ctrl3_val_unit": end[1],
                      "ctrl_Nd": str(settings.points_per_decade)})
        self.add(cells, step, step.ends)

    def _base(self, kind: str) -> dict[str, str]:
        return {"ctrl_type": kind}

    def _current_cells(self, setpoint: Setpoint) -> dict[str, str]:
        charge = setpoint.value > 0
        cells = self._base("CC")
        cells["charge/discharge"] = "Charge" if charge else "Discharge"
        rate = abs(setpoint.value)
        if setpoint.unit == "C" and rate > 0:
            n, mode = (rate, "C x N") if rate >= 1 else (1 / rate, "C / N")
            if abs(round(n, 2) - n) < 1e-9:
                cells.update({"Apply I/C": mode, "N": _fixed(n, 2)})
        ampere = abs(setpoint.ampere(self.cell))
        value, unit = _in_unit(ampere, _CURRENT, ("A", "mA", "µA", "nA"))
        cells.update({"ctrl1_val": value, "ctrl1_val_unit": unit, "ctrl1_val_vs": "<None>"})
        return cells

    def _voltage_cells(self, volt: float, charge: bool = True) -> dict[str, str]:
        cells = self._base("CV")
        cells.update({"ctrl1_val": _fixed(volt), "ctrl1_val_unit": "V", "ctrl1_val_vs": "Ref",
                      "charge/discharge": "Charge" if charge else "Discharge"})
        return cells

    def add(self, cells: dict[str, str], step: Step, ends) -> None:
        sequence = _Sequence(cells, record=step.record)
        for end in ends:
            value = end.si_value(self.cell)
            if end.quantity == "time":
                sequence.limits.append(("Time", ">", value, "s", end.goto))
            elif end.quantity == "voltage":
                sequence.limits.append((self.voltage_kind, ">" if end.operator == ">=" else "<",
                                        value, "V", end.goto))
            elif end.quantity == "current":
                sequence.limits.append(("|I|", "<", value, "A", end.goto))
            elif end.quantity == "capacity":
                sequence.limits.append(("|Q|", ">", value, "A.h", end.goto))
        if len(sequence.limits) > _MAX_LIMITS:
            raise ProtocolError(f"{step.label}: a Modulo Bat sequence holds {_MAX_LIMITS} limits, "
                                f"this step needs {len(sequence.limits)}")
        self.sequences.append(sequence)

    # -- rendering -------------------------------------------------------------

    def render(self) -> str:
        self.emit(self.schedule.steps)
        count = len(self.sequences)
        width_limits = _MAX_LIMITS if self.bt_lab else max(
            [len(s.limits) for s in self.sequences] + [1])
        self.width_records = 3 if self.bt_lab else max(
            [len(_record_entries(s.record, self.voltage_kind)) for s in self.sequences] + [1])
        if self.cell.min_voltage_volt is None or self.cell.max_voltage_volt is None:
            raise ProtocolError("BioLogic settings need the cell's voltage window for their E "
                                "range (min_voltage_volt and max_voltage_volt)")
        low, high = next(((lo, hi) for lo, hi in _E_RANGES if lo <= self.cell.min_voltage_volt
                          and self.cell.max_voltage_volt <= hi), (-10.0, 10.0))
        currents = [abs(step.current.ampere(self.cell)) for step, _ in
                    self.schedule.flat_steps() if step.current is not None]
        largest = max(currents, default=None)
        if largest is None:  # no set current: the range of the largest permitted one
            largest = min((c for c in (self.cell.max_current_ampere,
                                       self.schedule.safety.max_current_ampere,
                                       self.schedule.instrument.max_current_ampere)
                           if c is not None), default=None)
        i_range = next((name for top, name in _I_RANGES if largest is not None
                        and largest <= top), "10 A" if self.bt_lab else "Auto")
        rows: dict[str, list[str]] = {}
        for index, sequence in enumerate(self.sequences):
            cells = self._cells(index, sequence, width_limits, low, high, i_range)
            for key, value in cells.items():
                rows.setdefault(key, []).append(value)
        lines = self._header(low, high) + ["Technique : 1", "Modulo Bat"]
        for key, values in rows.items():
            if len(values) != count:  # a step this writer cannot lay out in the table
                raise ProtocolError(f"the settings row {key!r} would have {len(values)} of "
                                    f"{count} cells: this schedule cannot be written as a "
                                    "Modulo Bat table")
            lines.append(key.ljust(_WIDTH) + "".join(v.ljust(_WIDTH) for v in values))
        return "\r\n".join(lines) + "\r\n"

    def _target(self, goto: str | None, index: int) -> tuple[str, str]:
        if goto is None:
            return "Next sequence", str(index + 1)
        if goto == "end":
            return "Stop", "9999"
        target = int(goto[1:]) if goto.startswith("#") else self.first[goto]
        if target >= len(self.sequences):
            return "Stop", "9999"  # a jump past the last sequence ends the run
        return "Goto sequence", str(target)

    def _cells(self, index, sequence, width_limits, low, high, i_range) -> dict[str, str]:
        base = {key: "" for key in (_BT_LAB_ROWS if self.bt_lab else _EC_LAB_ROWS)}
        base.update({"Ns": str(index), "Apply I/C": "I", "N": "1.00",
                     "charge/discharge": "Charge", "ctrl_seq": "0", "ctrl_repeat": "0",
                     "ctrl_trigger": "Falling Edge", "ctrl_TO_t": "0.000", "ctrl_TO_t_unit": "d",
                     "ctrl_Nd": "6", "ctrl_Na": "1", "ctrl_corr": "0"})
        if not self.bt_lab:
            base.update({"current/potential": "current", "charge/discharge_1": "Charge",
                         "Apply I/C_1": "I", "N1": "0.00", "ctrl_tM": "0", "ctrl_Na": "2"})
        base.update({k: v for k, v in sequence.cells.items() if k in base})
        base["lim_nb"] = str(len(sequence.limits))
        for k in range(1, width_limits + 1):
            if k <= len(sequence.limits):
                kind, comp, value, unit, goto = sequence.limits[k - 1]
                action, target = self._target(goto, index)
                text, unit = self._limit_value(kind, value)
                cells = (kind, comp, "Q limit", text, unit, action, target)
            else:
                cells = ("Time", "<", "Q limit", "0.000", "s", "Next sequence", str(index + 1))
            base.update({f"lim{k}_{name}": cell for name, cell in zip(_LIMIT_ROWS, cells,
                                                                       strict=True)})
        base.update(self._record_cells(sequence.record))
        base.update({"E range min (V)": _fixed(low), "E range max (V)": _fixed(high),
                     "I Range": (i_range if self.bt_lab or sequence.cells["ctrl_type"] == "CC"
                                 else "Auto"),
                     "I Range min": "Unset",
                     "I Range max": "Unset", "I Range init": "Unset", "auto rest": "0",
                     "Bandwidth": "5" if not self.bt_lab else "4"})
        return base

    @staticmethod
    def _limit_value(kind: str, value: float) -> tuple[str, str]:
        if kind == "Time":
            return _fixed(value), "s"
        if kind == "|I|":
            return _in_unit(value, _CURRENT, ("A", "mA", "µA", "nA"))
        if kind == "|Q|":
            return _in_unit(value, _CHARGE, ("A.h", "mA.h", "µA.h", "nA.h", "pA.h"))
        return _fixed(value), "V"

    def _record_cells(self, record: Recording | None) -> dict[str, str]:
        entries = _record_entries(record, self.voltage_kind)
        cells = {"rec_nb": str(len(entries))}
        for k in range(1, self.width_records + 1):
            kind, value, unit = entries[k - 1] if k <= len(entries) else ("Time", "0.000", "s")
            cells.update({f"rec{k}_type": kind, f"rec{k}_value": value,
                          f"rec{k}_value_unit": unit})
        return cells

    def _header(self, low: float, high: float) -> list[str]:
        cell, safety = self.cell, self.schedule.safety
        name = self.schedule.name.replace("\n", " ")
        capacity = (cell.nominal_capacity_ampere_hour or 0.0) * 1e3
        area = cell.area_square_centimeter or 0.001
        if self.bt_lab:
            lines = ["BT-LAB SETTING FILE", "", "Number of linked techniques : 1", "",
                     f"Filename : {name}.mps", "", "Device : BCS-805",
                     f"Ecell ctrl range : min = {low:.2f} V, max = {high:.2f} V",
                     "Safety Limits :"]
            if safety.min_voltage_volt is not None:
                lines.append(f"\tEcell min = {safety.min_voltage_volt:.2f} V")
            if safety.max_voltage_volt is not None:
                lines.append(f"\tEcell max = {safety.max_voltage_volt:.2f} V")
            lines.append("\tfor t > 100 ms")
        else:
            lines = ["EC-LAB SETTING FILE", "", "Number of linked techniques : 1", "",
                     "EC-LAB for windows v11.50 (software)", "Internet server v0.00 (firmware)",
                     "Command interpretor v0.00 (firmware)", "", f"Filename : {name}.mps", "",
                     "Device : SP-150", "CE vs. WE compliance from -10 V to 10 V",
                     "Electrode connection : standard", "Potential control : Ewe",
                     f"Ewe ctrl range : min = {low:.2f} V, max = {high:.2f} V",
                     "Safety Limits :", "\tDo not start on E overload"]
        lines += ["Electrode material : ", "Initial state : ", "Electrolyte : ",
                  f"Comments : {name}", "Mass of active material : 0.001 mg", " at x = 0.000",
                  "Molecular weight of active material (at x = 0) : 0.001 g/mol",
                  "Atomic weight of intercalated ion : 0.001 g/mol",
                  "Acquisition started at : xo = 0.000",
                  "Number of e- transfered per intercalated ion : 1",
                  "for DX = 1, DQ = 26.802 mA.h", f"Battery capacity : {capacity:.3f} mA.h",
                  f"Electrode surface area : {area:.3f} cm²", "Characteristic mass : 0.001 g"]
        if not self.bt_lab:
            lines.append("Volume (V) : 0.001 cm³")
        lines += ["Cycle Definition : Charge/Discharge alternance",
                  "Do not turn to OCV between techniques", ""]
        return lines


def _record_entries(record: Recording | None, voltage_kind: str) -> list[tuple[str, str, str]]:
    entries = []
    if record is not None:
        if record.every_second:
            entries.append(("Time", *_in_unit(record.every_second, _TIME, ("s", "ms"))))
        if record.every_volt:
            entries.append((voltage_kind, *_in_unit(record.every_volt, _VOLTAGE, ("V", "mV"))))
        if record.every_ampere:
            entries.append(("I", *_in_unit(record.every_ampere, _CURRENT, ("A", "mA", "µA", "nA"))))
    return entries


def render_biologic(schedule: Schedule, software: str = "EC-Lab") -> bytes:
    """The ``.mps`` settings (one Modulo Bat technique) of a schedule.

    Parameters
    ----------
    schedule
        A validated schedule.
    software
        ``"EC-Lab"`` (VMP/SP/MPG potentiostats) or ``"BT-Lab"`` (BCS cyclers).
    """
    if software not in ("EC-Lab", "BT-Lab"):
        raise ProtocolError(f"software must be 'EC-Lab' or 'BT-Lab', not {software!r}")
    return _Writer(schedule.labelled(), software).render().encode("cp1252", errors="replace")


def _sniff(head: bytes, path: Path) -> bool:
    return head.startswith((b"EC-LAB SETTING FILE", b"BT-LAB SETTING FILE", b"EC-Lab LOG FILE",
                            b"BT-Lab LOG FILE")) or (
        head.startswith(b"EC-Lab ASCII FILE") and path.suffix.lower() == ".mpt")


register(ScheduleFormat("biologic", ".mps", "BioLogic EC-Lab settings (.mps, Modulo Bat; reads "
                        ".mps/.mpl of EC-Lab and BT-Lab)", render=render_biologic,
                        parse=parse_biologic, sniff=_sniff, capacity_at_start=True))
register(ScheduleFormat("biologic-bt", ".mps", "BioLogic BT-Lab settings (.mps, Modulo Bat, "
                        "BCS cyclers)",
                        render=lambda schedule: render_biologic(schedule, "BT-Lab"),
                        parse=parse_biologic, capacity_at_start=True))
