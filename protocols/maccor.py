"""Maccor procedure files (XML ``.000``): write a schedule, read a procedure back.

The layout follows the procedures saved by Maccor's editor (BTVersion 11): a
``MaccorTestProcedure`` with a ``header`` and ``ProcSteps`` of ``TestStep``
elements, each with fixed-width ``StepType`` / ``StepMode`` codes (``" Charge "``,
``"Dischrge"``, ``"  Rest  "``, ``"  Do 1  "``, ``" Loop 1 "``, ``"AdvCycle"``,
``"  End   "``), ``Limits``, ``Ends`` (``EndType``, ``Oper``, goto ``Step``,
``Value``), ``Reports``, ``Range``, ``Option1-3`` and ``StepNote``.

Mapping: ``cc`` = Current mode without a voltage limit, ending on voltage;
``cccv`` = Current mode with ``Limits/Voltage`` (Maccor holds that voltage), ending
on current; ``cv`` = Voltage mode; ``cp`` = Power mode; ``rest``/``ocv`` = Rest;
``eis`` = an ``FRA`` step naming a settings file (a name that spells out the settings;
the ``.FRA`` file itself is not written); ``pulse`` = a Do/Loop of the
on and off steps. Loops are Do/Loop pairs with a ``Loop Cnt`` end and an
``AdvCycle`` closing each iteration, nesting as Do 1/Do 2/Do 3. The schedule's
safety voltages become channel-safety ends jumping to the final End step.
Currents in mA/cm² are written in amperes; C-rates are written as Maccor's
``"<value>C"`` (Maccor is given the cell's capacity when the test starts).

Reading: the cell window is the procedure's channel-safety voltages (none when it has
none). A step the model cannot express (``Chg Func``, ``FastWave``, a set point or end
written as a variable or function, a step type never seen in a real procedure such as
``Do Test``) is kept as an ``opaque`` step holding what could be read: its voltage
limit (``Limits/Voltage``, the highest of ``4.43|4.43``), current limit and ends.
``SetVar`` reports are not kept.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import escape

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

_TYPE_WIDTH = 8
_END_TYPES = {"time": "StepTime", "voltage": "Voltage ", "current": "Current ",
              "capacity": "Amp Hour"}
_OPERATORS = {">=": "&gt;= ", "<=": "&lt;= ", "=": " = "}


def _code(text: str) -> str:
    """Centre a Maccor code in its 8-character field as the editor does (``"  Rest  "``)."""
    return text.center(_TYPE_WIDTH) if len(text) < _TYPE_WIDTH else text


def _hms(seconds: float) -> str:
    seconds = round(seconds, 2)  # Maccor's resolution is 10 ms
    whole = int(seconds)
    fraction = seconds - whole
    text = f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    return text + (f"{fraction:.2f}"[1:] if fraction > 1e-9 else "")


def _parse_hms(text: str) -> float:
    """Maccor durations: ``03:00:00``, ``00:00:30``, ``::.01``, ``1:00:00.5``."""
    parts = text.strip().split(":")
    if len(parts) != 3:
        raise ProtocolError(f"expected a duration hh:mm:ss, found {text!r}")
    hours, minutes, seconds = ((float(p) if p else 0.0) for p in parts)
    return hours * 3600 + minutes * 60 + seconds


def _number(value: float) -> str:
    return f"{value:.10g}"


def _amount(value: float, unit: str, cell: Cell, kind: str) -> str:
    if unit == "C":
        return f"{_number(abs(value))}C"
    if kind == "current":
        return _number(abs(Setpoint(value, unit).ampere(cell)))
    return _number(abs(End("capacity", ">=", value, unit).si_value(cell)))


class _Writer:
    """Turns a labelled schedule into numbered Maccor steps (two passes for gotos)."""

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self.cell = schedule.cell
        self.rows: list[dict] = []
        self.numbers: dict[str, int] = {}

    def add(self, **row) -> int:
        self.rows.append(row)
        return len(self.rows)

    def emit(self, items, depth: int = 0) -> None:
        for item in items:
            if isinstance(item, Loop):
                if depth >= 3:
                    raise ProtocolError(f"{item.label}: Maccor nests loops 3 deep at most")
                self.add(type=f"Do {depth + 1}", label=item.label)
                self.emit(item.steps, depth + 1)
                self.add(type="AdvCycle")
                self.add(type=f"Loop {depth + 1}", loop_count=item.count)
            else:
                self.numbers[item.label] = len(self.rows) + 1
                self.step(item, depth)

    def step(self, step: Step, depth: int) -> None:
        if step.chamber_celsius is not None:
            raise ProtocolError(f"{step.label}: no Maccor procedure in the corpus sets a "
                                "chamber temperature, so the writer has no step for it")
        if step.kind == "pulse":
            if depth >= 3:
                raise ProtocolError(f"{step.label}: no loop level left for the pulse train")
            cycle = step.pulse.on_second + step.pulse.off_second
            count = max(1, math.ceil(step.end("time").value / cycle))
            self.add(type=f"Do {depth + 1}", label=step.label)
            on = Step("cc", label=step.label, current=step.current,
                      ends=(*[e for e in step.ends if e.quantity == "voltage"],
                            End("time", ">=", step.pulse.on_second, "s")),
                      record=step.record, note=step.note or "pulse on")
            off_kind = "rest" if step.pulse.off_current.value == 0 else "cc"
            off = Step(off_kind, current=None if off_kind == "rest" else step.pulse.off_current,
                       ends=(End("time", ">=", step.pulse.off_second, "s"),),
                       record=step.record, note="pulse off")
            self.add(step=on, exit_pulse=True)
            self.add(step=off)
            self.add(type=f"Loop {depth + 1}", loop_count=count)
            return
        self.add(step=step)

    def render(self) -> str:
        self.emit(self.schedule.steps)
        end_number = self.add(type="End")
        lines = ['<?xml version="1.0" encoding="UTF-8"?>',
                 '<?maccor-application progid="Maccor Procedure File"?>',
                 "<MaccorTestProcedure>", "  <header>", "    <BuildTestVersion>",
                 "      <major>1</major>", "      <minor>5</minor>",
                 "      <release>7006</release>", "      <build>32043</build>",
                 "    </BuildTestVersion>", "    <FileFormatVersion>",
                 "      <BTVersion>11</BTVersion>", "    </FileFormatVersion>",
                 "    <ProcDesc>", f"      <desc>{escape(self.schedule.name)}</desc>",
                 "    </ProcDesc>", "  </header>", "  <ProcSteps>"]
        for number, row in enumerate(self.rows, start=1):
            lines += self._test_step(number, row, end_number)
        lines += ["  </ProcSteps>", "</MaccorTestProcedure>"]
        return "\n".join(lines) + "\n"

    def _target(self, goto: str | None, number: int, end_number: int) -> int:
        if goto is None:
            return number + 1
        if goto == "end":
            return end_number
        return self.numbers[goto]

    def _test_step(self, number: int, row: dict, end_number: int) -> list[str]:
        step: Step | None = row.get("step")
        ends: list[tuple[str, str, int, str]] = []
        limits: list[str] = []
        mode, value, note, code = "", "", "", row.get("type", "")
        reports: list[tuple[str, str]] = []
        if "loop_count" in row:
            ends.append(("Loop Cnt", "=", number + 1, str(row["loop_count"])))
        if step is not None:
            code, mode, value, limits = self._setpoint(step)
            note = step.note
            for end in step.ends:
                if end.quantity not in _END_TYPES:
                    raise ProtocolError(f"{step.label}: Maccor has no {end.quantity} end")
                if end.quantity == "time":
                    text = _hms(end.value)
                    operator = "="
                elif end.quantity == "voltage":
                    text, operator = _number(end.value), end.operator
                else:
                    text, operator = _amount(end.value, end.unit, self.cell, end.quantity), end.operator
                goto = self._target(end.goto, number, end_number)
                if row.get("exit_pulse") and end.quantity == "voltage":
                    goto = number + 3  # leave the pulse loop
                ends.append((_END_TYPES[end.quantity], operator, goto, text))
            ends += self._safety(step, end_number)
            reports = self._reports(step.record)
        out = ["    <TestStep>", f"      <StepType>{_code(code)}</StepType>",
               f"      <StepMode>{mode:<8}</StepMode>", f"      <StepValue>{value}</StepValue>"]
        out += ["      <Limits>", *limits, "      </Limits>"] if limits else ["      <Limits/>"]
        if ends:
            out.append("      <Ends>")
            for end_type, operator, goto, text in ends:
                out += ["        <EndEntry>", f"          <EndType>{end_type}</EndType>",
                        "          <SpecialType> </SpecialType>",
                        f"          <Oper>{_OPERATORS[operator]}</Oper>",
                        f"          <Step>{goto:03d}</Step>", f"          <Value>{text}</Value>",
                        "        </EndEntry>"]
            out.append("      </Ends>")
        else:
            out.append("      <Ends/>")
        if reports:
            out.append("      <Reports>")
            for report_type, text in reports:
                out += ["        <ReportEntry>", f"          <ReportType>{report_type}</ReportType>",
                        f"          <Value>{text}</Value>", "        </ReportEntry>"]
            out.append("      </Reports>")
        else:
            out.append("      <Reports/>")
        active = step is not None
        out += [f"      <Range>{'A' if active else ''}</Range>",
                f"      <Option1>{'N' if active else ''}</Option1>",
                f"      <Option2>{'N' if active else ''}</Option2>",
                f"      <Option3>{'N' if active else ''}</Option3>",
                f"      <StepNote>{escape(note)}</StepNote>", "    </TestStep>"]
        return out

    def _setpoint(self, step: Step) -> tuple[str, str, str, list[str]]:
        if step.kind in ("rest", "ocv"):
            return "Rest", "", "", []
        if step.kind == "eis":
            return "FRA", "", _fra_name(step.impedance), []
        if step.kind in ("cc", "cccv"):
            code = "Charge" if step.current.value > 0 else "Dischrge"
            amount = _amount(step.current.value, step.current.unit, self.cell, "current")
            limits = ([f"        <Voltage>{_number(step.voltage_volt)}</Voltage>"]
                      if step.kind == "cccv" else [])
            return code, "Current", amount, limits
        if step.kind == "cv":
            low = self.cell.min_voltage_volt
            code = "Charge" if low is None or step.voltage_volt >= low else "Dischrge"
            return code, "Voltage", _number(step.voltage_volt), []
        if step.kind == "cp":
            code = "Charge" if step.power_watt > 0 else "Dischrge"
            return code, "Power", _number(abs(step.power_watt)), []
        raise ProtocolError(f"{step.label}: Maccor writer cannot express a {step.kind} step")

    def _safety(self, step: Step, end_number: int) -> list[tuple[str, str, int, str]]:
        safety = self.schedule.safety
        if step.kind == "eis":
            return []
        out = []
        if safety.max_voltage_volt is not None:
            out.append(("Voltage ", ">=", end_number, _number(safety.max_voltage_volt)))
        if safety.min_voltage_volt is not None:
            out.append(("Voltage ", "<=", end_number, _number(safety.min_voltage_volt)))
        return out

    @staticmethod
    def _reports(record: Recording) -> list[tuple[str, str]]:
        out = []
        if record.every_second:
            out.append(("StepTime", _hms(record.every_second)))
        if record.every_volt:
            out.append(("Voltage ", _number(record.every_volt)))
        if record.every_ampere:
            out.append(("Current ", _number(record.every_ampere)))
        return out


def _fra_name(settings: Impedance) -> str:
    """The name of the FRA settings file of an EIS step; it spells out the settings, so
    a procedure labkit wrote reads back with them (the .FRA file itself is not written)."""
    return (f"labkit_{settings.mode[:3]}_{settings.amplitude * 1000:.10g}m"
            f"{settings.amplitude_unit}_{settings.start_frequency_hertz:.10g}Hz_"
            f"{settings.end_frequency_hertz:.10g}Hz_{settings.points_per_decade}ppd")


_FRA_NAME = re.compile(r"labkit_(pot|gal)_(\S+?)m(V|A)_(\S+?)Hz_(\S+?)Hz_(\d+)ppd")


def _fra_settings(name: str) -> Impedance | None:
    """The settings :func:`_fra_name` spelled out, None for another FRA file's name."""
    match = _FRA_NAME.fullmatch(name)
    if match is None:
        return None
    mode, amplitude, unit, start, end, per_decade = match.groups()
    try:
        return Impedance("potentiostatic" if mode == "pot" else "galvanostatic", float(start),
                         float(end), int(per_decade), float(amplitude) * 1e-3, unit)
    except ValueError:
        return None


def render_maccor(schedule: Schedule) -> bytes:
    """The Maccor XML procedure of a (validated) schedule."""
    return _Writer(schedule.labelled()).render().encode("ascii", "xmlcharrefreplace")


# -- reading -------------------------------------------------------------------


def _text(element: ET.Element, tag: str) -> str:
    child = element.find(tag)
    return "" if child is None or child.text is None else child.text


def _setpoint_value(text: str, where: str) -> Setpoint:
    text = text.strip()
    try:
        if text.upper().endswith("C"):
            return Setpoint(float(text[:-1]), "C")
        return Setpoint(float(text), "A")
    except ValueError:
        raise ProtocolError(f"{where}: expected a number or '<n>C', found {text!r}") from None


def parse_maccor(path: Path) -> Schedule:
    """Read a Maccor XML procedure into a schedule (loops from Do/Loop, gotos as labels)."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        line, column = exc.position
        raise ProtocolError(f"not well-formed XML: {exc}", file=path,
                            position=f"line {line}") from exc
    except (LookupError, ValueError) as exc:  # expat's refusal of the declared encoding
        with open(path, "rb") as handle:
            declared = re.search(rb"encoding=[\"']([^\"']*)", handle.read(200))
        name = declared.group(1).decode("latin-1") if declared else "?"
        raise ProtocolError(f"the XML declaration names encoding {name!r}, which cannot be "
                            f"read ({exc}); expected UTF-8 or a single-byte encoding",
                            file=path, position="line 1") from exc
    if root.tag != "MaccorTestProcedure":
        raise ProtocolError(f"expected <MaccorTestProcedure>, found <{root.tag}>", file=path)
    steps = root.findall("./ProcSteps/TestStep")
    if not steps:
        raise ProtocolError("procedure has no TestStep", file=path)
    labels = _goto_labels([_text(s, "StepType").strip() for s in steps])
    end_numbers = {n for n, s in enumerate(steps, 1) if _text(s, "StepType").strip() == "End"}
    stack: list[list] = [[]]
    loop_labels: list[str] = []
    description = _text(root, "./header/ProcDesc/desc")
    for number, element in enumerate(steps, start=1):
        code = _text(element, "StepType").strip()
        where = f"step {number:03d} ({code or 'empty'})"
        if code == "End":
            continue
        if code.startswith("Do ") and code[3:].isdigit():
            stack.append([])
            loop_labels.append(f"loop_{number:03d}")
            continue
        if code.startswith("Loop ") and code[5:].isdigit():
            if len(stack) < 2:
                raise ProtocolError(f"{where}: Loop without a matching Do", file=path)
            count_text = next((_text(e, "Value") for e in element.findall("./Ends/EndEntry")
                               if _text(e, "EndType").strip() == "Loop Cnt"), None)
            if count_text is None:
                raise ProtocolError(f"{where}: loop has no 'Loop Cnt' end", file=path)
            body = stack.pop()
            stack[-1].append(Loop(tuple(body), int(float(count_text)), loop_labels.pop()))
            continue
        if code in ("AdvCycle",):
            continue
        step = _read_step(element, code, where, labels, end_numbers, number, path)
        step = Step(**{**step.__dict__, "label": f"step_{number:03d}"})
        stack[-1].append(step)
    if len(stack) != 1:
        raise ProtocolError("a Do step has no matching Loop", file=path)
    pauses = {f"step_{n:03d}" for n, s in enumerate(steps, 1)
              if _text(s, "StepType").strip() == "Pause"}
    items, safety = _extract_safety(tuple(stack[0]), ("end", *pauses))
    cell = Cell(min_voltage_volt=safety.min_voltage_volt, max_voltage_volt=safety.max_voltage_volt)
    return Schedule(description or Path(path).stem, cell, items, safety=safety,
                    description=description)


def _extract_safety(items: tuple, stops: tuple[str, ...]) -> tuple[tuple, Safety]:
    """Voltage ends that jump to a stop (End, or a Pause step where the operator decides)
    on every powered and rest step are channel safety limits: take them off the steps
    and into :class:`Safety` (written back as jumps to End). FRA, opaque (FastWave ends
    are in its waveform file) and the Pause steps themselves need not carry them."""
    order = [s.label for s, _ in walk_steps(items)]
    # a step whose next step is a stop (or the last step) reaches it by "next step" too
    into_stop = {label for label, following in zip(order, [*order[1:], "end"], strict=True)
                 if following in stops}
    flat = [s for s, _ in walk_steps(items)
            if s.kind not in ("eis", "opaque") and s.label not in stops]
    common = None
    for step in flat:
        ending = (*stops, None) if step.label in into_stop else stops
        pairs = {(e.operator, e.value) for e in step.ends
                 if e.quantity == "voltage" and e.goto in ending}
        common = pairs if common is None else common & pairs
    common = common or set()
    highs = [v for op, v in common if op == ">="]
    lows = [v for op, v in common if op == "<="]
    safety = Safety(max_voltage_volt=min(highs) if highs else None,
                    min_voltage_volt=max(lows) if lows else None)
    if not common:
        return items, safety

    def strip(entries):
        out = []
        for item in entries:
            if isinstance(item, Loop):
                out.append(Loop(strip(item.steps), item.count, item.label))
            else:
                ends = tuple(e for e in item.ends if not (
                    e.quantity == "voltage" and e.goto in (*stops, None)
                    and (e.operator, e.value) in common
                    and (e.goto in stops or item.label in into_stop)))
                out.append(Step(**{**item.__dict__, "ends": ends}))
        return tuple(out)

    return strip(items), safety


def _goto_labels(codes: list[str]) -> dict[int, str]:
    """Goto targets by step number: a jump to a Do, Loop or AdvCycle lands on the next
    step that does something (labelled ``step_<number>``), a jump past the last one ends."""
    labels: dict[int, str] = {}
    following = "end"
    for number in range(len(codes), 0, -1):
        code = codes[number - 1]
        structural = code == "AdvCycle" or code == "End" or (
            code.split(" ")[0] in ("Do", "Loop") and code.split(" ")[-1].isdigit())
        if not structural:
            following = f"step_{number:03d}"
        labels[number] = following
    return labels


#: Step types of real Maccor procedures (corpus) the model has no step for.
_UNMODELLED_TYPES = ("Chg Func", "FastWave")


def _read_ends(element, where, labels, end_numbers, number) -> tuple[list[End], list[str]]:
    """The ends labkit reads, and the others as the file writes them."""
    ends: list[End] = []
    unread: list[str] = []
    for entry in element.findall("./Ends/EndEntry"):
        end_type = _text(entry, "EndType").strip()
        operator = _text(entry, "Oper").strip()
        text = _text(entry, "Value").strip()
        goto_text = _text(entry, "Step").strip()
        goto_number = int(goto_text) if goto_text.isdigit() else number + 1
        if goto_number == number + 1:
            goto = None  # the next step (even when that is End)
        else:
            goto = "end" if goto_number in end_numbers else labels.get(goto_number)
        try:
            if end_type == "StepTime":
                ends.append(End("time", ">=", _parse_hms(text), "s", goto))
            elif end_type == "Voltage":
                ends.append(End("voltage", ">=" if operator == ">=" else "<=", float(text),
                                "V", goto))
            elif end_type in ("Current", "Amp Hour"):
                setpoint = _setpoint_value(text, where)
                quantity = "current" if end_type == "Current" else "capacity"
                unit = setpoint.unit if setpoint.unit == "C" else (
                    "A" if quantity == "current" else "Ah")
                ends.append(End(quantity, ">=" if operator == ">=" else "<=", setpoint.value,
                                unit, goto))
            elif end_type != "Themocpl":  # thermocouple safety: not a step end labkit models
                raise ValueError(end_type)
        except (ValueError, ProtocolError):
            unread.append(f"{end_type} {operator} {text} -> {goto_text or 'next'}")
    return ends, unread


def _read_step(element, code, where, labels, end_numbers, number, path) -> Step:
    mode = _text(element, "StepMode").strip()
    value = _text(element, "StepValue").strip()
    ends, unread = _read_ends(element, where, labels, end_numbers, number)
    record = _read_reports(element)
    note = _text(element, "StepNote").strip()
    label = labels[number]
    if not unread:
        try:
            step = _modelled_step(element, code, mode, value, label, tuple(ends), record, note)
        except (ValueError, ProtocolError):
            step = None  # a set point written as a variable or function
        if step is not None:
            return step
    return _opaque_step(element, code, mode, value, label, ends, unread, record, note)


def _modelled_step(element, code, mode, value, label, ends, record, note) -> Step | None:
    """The step labkit models for this Maccor step, None when it models none."""
    if code == "Rest":
        return Step("rest", label=label, ends=ends, record=record, note=note)
    if code == "Pause":
        return Step("rest", label=label, ends=ends, record=record,
                    note=note or "Maccor Pause (waits for the operator)")
    if code == "FRA":
        settings = _fra_settings(value)
        return Step("eis", label=label, impedance=settings or Impedance(), ends=ends,
                    note=note or ("" if settings else f"Maccor FRA settings file {value!r} "
                                  "(the settings shown are labkit's defaults)"))
    if code not in ("Charge", "Dischrge"):
        return None
    sign = 1.0 if code == "Charge" else -1.0
    if mode == "Current":
        setpoint = _setpoint_value(value, label)
        current = Setpoint(sign * setpoint.value, setpoint.unit)
        limit = _text(element, "./Limits/Voltage").strip()
        if limit:
            return Step("cccv", label=label, current=current, voltage_volt=float(limit),
                        ends=ends, record=record, note=note)
        return Step("cc", label=label, current=current, ends=ends, record=record, note=note)
    if mode == "Voltage":
        return Step("cv", label=label, voltage_volt=float(value), ends=ends, record=record,
                    note=note)
    if mode == "Power":
        return Step("cp", label=label, power_watt=sign * float(value), ends=ends, record=record,
                    note=note)
    return None


def _opaque_step(element, code, mode, value, label, ends, unread, record, note) -> Step:
    """A Maccor step labkit does not model, with what of it could be read."""
    parts = [f"Maccor {code!r}" + ("" if code in _UNMODELLED_TYPES or code in (
        "Charge", "Dischrge", "Rest", "Pause", "FRA") else
        " (a step type not seen in any real Maccor procedure)")]
    parts += [f"StepMode {mode}"] if mode else []
    parts += [f"StepValue {value}"] if value else []
    parts += [f"ends labkit cannot read: {'; '.join(unread)}"] if unread else []
    return Step("opaque", label=label, ends=tuple(ends), record=record, note=note,
                voltage_volt=_limit(_text(element, "./Limits/Voltage")),
                current=_current_limit(_text(element, "./Limits/Current")),
                vendor_step=", ".join(parts))


def _limit(text: str) -> float | None:
    """The highest number of a limit (``4.43|4.43`` on function steps), None if none."""
    numbers = []
    for part in text.split("|"):
        try:
            numbers.append(float(part))
        except ValueError:
            continue
    return max(numbers, default=None)


def _current_limit(text: str) -> Setpoint | None:
    ampere = _limit(text)
    return None if ampere is None else Setpoint(ampere, "A")


def _read_reports(element) -> Recording:
    every = {"StepTime": None, "Voltage": None, "Current": None}
    for entry in element.findall("./Reports/ReportEntry"):
        kind = _text(entry, "ReportType").strip()
        text = _text(entry, "Value").strip()
        if kind == "StepTime":
            every[kind] = _parse_hms(text)
        elif kind in every and not text.upper().endswith("C"):
            every[kind] = float(text)  # C-rate report steps need the capacity: not kept
    return Recording(every_second=every["StepTime"], every_volt=every["Voltage"],
                     every_ampere=every["Current"])


def _sniff(head: bytes, path: Path) -> bool:
    return b"<MaccorTestProcedure" in head[:2048]


register(ScheduleFormat("maccor", ".000", "Maccor procedure (XML .000)",
                        render=render_maccor, parse=parse_maccor, sniff=_sniff,
                        capacity_at_start=True))
