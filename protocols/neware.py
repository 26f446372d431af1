"""Neware BTS step files (``Step.xml`` / ``EditStep.xml``): write a schedule, read one back.

Layout (every step file in the corpus): ``<root><config type="Step File" version="17|18">``
holding ``Head_Info`` (``Operate``, ``Scale``, ``Start_Step``, ``RateType``, optional
``MultCap``), an optional ``Whole_Prt`` (test-wide ``Protect`` and ``Record``), the steps
as *numbered element names* ``<Step1 Step_ID="1" Step_Type="4">`` inside
``<Step_Info Num="n">`` and an ``SMBUS`` block. CRLF, two-space indentation,
``<Tag Value="…" />`` and no newline after ``</root>``. The writer emits the form the
BTS Client editor saves (``EditStep.xml``: ``Operate`` 66, version 17, declared
GB2312, Record in every step); the reader accepts both versions and both forms, and reads
the ``Step.xml`` stored in a ``.ndax`` data archive (the steps the test ran).

Units: voltage in 0.1 mV, current in mA (a magnitude; the direction is in the step
type), time in ms, capacity in mA·s, temperature in 0.1 °C. ``RateType`` 105 is
C-rate mode (``Rate`` / ``Stop_Rate`` beside the mA values, ``MultCap`` = nominal
capacity); 103 is absolute mode.

Mapping: ``rest``/``ocv`` = Rest (4) and a rest without a time limit = Pause (13);
``cc`` = CC_Chg/CC_DChg (1/2) with ``Stop_Volt``; ``cccv`` = CCCV_Chg/CCCV_DChg
(7/20) with ``Volt`` and ``Stop_Curr``; ``cv`` = CV_Chg/CV_DChg (3/19); time,
capacity (``Cap``) and current (``Stop_Curr``) ends as the step type allows. A
loop is its body followed by a Cycle step (5) whose ``Start_Step`` is the first
step of the body and ``Cycle_Count`` the number of passes; nested loops put the
inner Cycle first. A rest with a chamber temperature is a Control step (21,
``ControlStepValue ControlType="5"``) holding that temperature for the rest time.
A voltage end that stops the test (``goto="end"``) is a per-step ``Protect``
limit; the schedule's safety limits are the ``Whole_Prt`` protection.

Not expressible, refused naming the step: gotos to other steps (step files only
go to the next step), ``cp``, ``pulse`` and ``eis`` steps (no such step in any step
file seen), dV/dt ends, and ends a step type has no field for (a voltage end on a
CC-CV step). A per-step voltage ``Protect`` limit is read as an end stopping the test
where it is tighter than the whole-test one (an equal one is a copy, a looser one never
trips first); current and temperature protection of single steps, ``dTdt`` limits and
``Step_Range`` are not kept. The cell window is the whole-test voltage protection (none
when the file has none). A step type labkit does not model (CP, CR, Pulse, SIM, a
Control step other than a chamber temperature...) is read as an ``opaque`` step with
its current, ``Volt`` and ends.
"""

from __future__ import annotations

import math
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from xml.sax.saxutils import quoteattr

from labkit.errors import ProtocolError
from labkit.protocols.formats import ScheduleFormat, register
from labkit.protocols.schedule import (
    Cell,
    End,
    Loop,
    Recording,
    Safety,
    Schedule,
    Setpoint,
    Step,
)
from labkit.ziparchive import open_zip, read_member

_REST, _CYCLE, _END, _PAUSE, _CONTROL = 4, 5, 6, 13, 21
_CC = {True: 1, False: 2}
_CV = {True: 3, False: 19}
_CCCV = {True: 7, False: 20}
_KIND_OF_TYPE = {1: ("cc", True), 2: ("cc", False), 3: ("cv", True), 19: ("cv", False),
                 7: ("cccv", True), 20: ("cccv", False)}
_TYPE_NAMES = {1: "CC_Chg", 2: "CC_DChg", 3: "CV_Chg", 4: "Rest", 5: "Cycle", 6: "End",
               7: "CCCV_Chg", 8: "CP_DChg", 9: "CP_Chg", 10: "CR_DChg", 13: "Pause",
               16: "Pulse", 17: "SIM", 19: "CV_DChg", 20: "CCCV_DChg", 21: "Control",
               22: "OCV", 26: "CPCV_DChg", 27: "CPCV_Chg"}
_ABSOLUTE, _C_RATE = 103, 105
# Order of the Limit/Main children in the corpus files.
_MAIN_ORDER = ("Curr", "Rate", "Volt", "Time", "Cap", "Stop_Volt", "Stop_Curr", "Stop_Rate")
_VOLT, _MILLI, _MS, _MAS, _DECI = 1e4, 1e3, 1e3, 3.6e6, 10.0
# The Control step of the corpus (BTS 8.0.1): a wait condition on the step time.
_WAIT = ('type="3" Function="0" CmpType="4" Jump_Line="65526" Value="{}" TimeGoto="0" '
         'ThrowParam=" 0" GlobleUserID="2147483647" GLobleType="1" GlobalVar="2147483647" '
         'Aux="0"')


def _number(value: float) -> str:
    """Neware numbers: integers without a point, others with up to 10 significant digits."""
    value = round(value, 9)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.10g}".upper()


class _Writer:
    """Numbers the steps of a labelled schedule and renders the XML lines."""

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self.cell = schedule.cell
        self.rate_mode = (schedule.cell.nominal_capacity_ampere_hour is not None and any(
            _uses_c_rate(step) for step, _ in schedule.flat_steps()))
        self.steps: list[list[str]] = []  # body lines of each step, numbered in order

    # -- structure -------------------------------------------------------------

    def emit(self, items) -> int | None:
        """Add ``items``; return the Step_ID of the first step they add."""
        first = None
        for item in items:
            if isinstance(item, Loop):
                start = self.emit(item.steps)
                if start is None:
                    raise ProtocolError(f"{item.label}: a loop needs at least one step")
                self.add(_CYCLE, ["        <Limit>", "          <Other>",
                                  f'            <Start_Step Value="{start}" />',
                                  f'            <Cycle_Count Value="{item.count}" />',
                                  "          </Other>", "        </Limit>"])
                first = start if first is None else first
            else:
                number = self.step(item)
                first = number if first is None else first
        return first

    def add(self, step_type: int, body: list[str]) -> int:
        number = len(self.steps) + 1
        self.steps.append([f'      <Step{number} Step_ID="{number}" Step_Type="{step_type}">',
                           *body, f"      </Step{number}>"])
        return number

    # -- one step --------------------------------------------------------------

    def step(self, step: Step) -> int:
        where = step.label
        if step.kind in ("cp", "pulse", "eis"):
            raise ProtocolError(f"{where}: Neware step files hold no {step.kind} step labkit "
                                "can write (no such step in any step file seen)")
        for end in step.ends:
            if end.goto not in (None, "end") or (end.goto == "end" and end.quantity != "voltage"):
                raise ProtocolError(f"{where}: Neware steps only continue with the next step; "
                                    f"the {end.quantity} end going to {end.goto!r} cannot be "
                                    "written (a voltage end to 'end' becomes a protection)")
        quantities = [e.quantity for e in step.ends if e.goto is None]
        for quantity in set(quantities):
            if quantities.count(quantity) > 1:
                raise ProtocolError(f"{where}: Neware has one {quantity} end per step")
        if step.chamber_celsius is not None and step.kind not in ("rest", "ocv"):
            raise ProtocolError(f"{where}: Neware sets the chamber in a Control step; put the "
                                "temperature on a rest step before this one")
        main: list[tuple[str, str]] = []
        charge = True
        if step.kind in ("rest", "ocv"):
            time_end = step.end("time")
            if step.chamber_celsius is not None:
                if time_end is None:
                    raise ProtocolError(f"{where}: a chamber hold needs a time limit")
                step_type = _CONTROL
            else:
                step_type = _REST if time_end is not None else _PAUSE
            allowed = {"time"}
        elif step.kind == "cc":
            charge = step.current.value > 0
            step_type = _CC[charge]
            main += self._current(step.current, "Curr", "Rate")
            allowed = {"time", "voltage", "capacity"}
        elif step.kind == "cccv":
            charge = step.current.value > 0
            step_type = _CCCV[charge]
            main += self._current(step.current, "Curr", "Rate")
            main.append(("Volt", _number(step.voltage_volt * _VOLT)))
            allowed = {"time", "current", "capacity"}
        else:  # cv
            charge = step.current.value > 0 if step.current is not None else True
            step_type = _CV[charge]
            if step.current is not None:
                main += self._current(step.current, "Curr", "Rate")
            main.append(("Volt", _number(step.voltage_volt * _VOLT)))
            allowed = {"time", "current", "capacity"}
        protect: list[str] = []
        for end in step.ends:
            if end.goto == "end":
                protect.append(f'              <{"Upper" if end.operator == ">=" else "Lower"} '
                               f'Value="{_number(end.value * _VOLT)}" />')
                continue
            if end.quantity not in allowed:
                raise ProtocolError(f"{where}: a Neware {_TYPE_NAMES[step_type]} step has no "
                                    f"{end.quantity} end")
            if end.quantity == "time":
                if step_type != _CONTROL:
                    main.append(("Time", _number(end.value * _MS)))
            elif end.quantity == "voltage":
                if (end.operator == ">=") != charge:
                    raise ProtocolError(f"{where}: a Neware {_TYPE_NAMES[step_type]} step ends "
                                        f"at a voltage {'above' if charge else 'below'}, not "
                                        f"V {end.operator} {end.value:g}")
                main.append(("Stop_Volt", _number(end.value * _VOLT)))
            elif end.quantity == "capacity":
                main.append(("Cap", _number(end.si_value(self.cell) * _MAS)))
            elif end.quantity == "current":
                main += self._current(Setpoint(end.value, end.unit), "Stop_Curr", "Stop_Rate")
        body = self._record(step.record)
        if step_type == _CONTROL:
            wait = _WAIT.format(_number(step.end("time").value * _MS))
            body += ["        <Limit>", '          <Other CndCount="1">',
                     f"            <Cnd1 {wait} />", "          </Other>", "        </Limit>"]
        elif main:
            main.sort(key=lambda item: _MAIN_ORDER.index(item[0]))
            body += ["        <Limit>", "          <Main>",
                     *[f'            <{tag} Value="{value}" />' for tag, value in main],
                     "          </Main>", "        </Limit>"]
        if protect:
            body += ["        <Protect>", "          <Main>", "            <Volt>", *protect,
                     "            </Volt>", "          </Main>", "        </Protect>"]
        if step_type == _CONTROL:
            body.append(f'        <ControlStepValue ControlType="5" '
                        f'TempValue="{_number(step.chamber_celsius * _DECI)}" />')
        return self.add(step_type, body)

    def _current(self, setpoint: Setpoint, tag: str, rate_tag: str) -> list[tuple[str, str]]:
        milliamp = abs(setpoint.ampere(self.cell)) * _MILLI
        out = [(tag, _number(milliamp))]
        if self.rate_mode and setpoint.unit == "C":
            out.append((rate_tag, _number(abs(setpoint.value))))
        return out

    @staticmethod
    def _record(record: Recording) -> list[str]:
        fields = [("Time", record.every_second, _MS), ("Volt", record.every_volt, _VOLT),
                  ("Curr", record.every_ampere, _MILLI)]
        rows = [f'            <{tag} Value="{_number(value * scale)}" />'
                for tag, value, scale in fields if value]
        if not rows:
            return []
        return ["        <Record>", "          <Main>", *rows, "          </Main>",
                "        </Record>"]

    # -- file ------------------------------------------------------------------

    def render(self) -> str:
        self.emit(self.schedule.steps)
        self.add(_END, [])
        head = ['      <Operate Value="66" />', '      <Scale Value="1" />',
                '      <Start_Step Value="1" Hide_Ctrl_Step="0" />']
        if self.schedule.name:
            head.append(f"      <Remark Value={quoteattr(self.schedule.name)} />")
        head.append(f'      <RateType Value="{_C_RATE if self.rate_mode else _ABSOLUTE}" />')
        if self.rate_mode:
            capacity = self.cell.nominal_capacity_ampere_hour * _MAS
            head.append(f'      <MultCap Value="{_number(capacity)}" />')
        body = "\r\n".join(line for lines in self.steps for line in lines)
        guid = uuid.uuid5(uuid.NAMESPACE_URL, "labkit:" + body)
        date = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
        lines = ['<?xml version="1.0" encoding="GB2312"?>', "<root>",
                 f'  <config type="Step File" version="17" client_version="BTS Client '
                 f'8.0.0.513(2023.11.27)(R3)" date="{date}" Guid="{guid}">',
                 "    <Head_Info>", *head, "    </Head_Info>", *self._whole(),
                 f'    <Step_Info Num="{len(self.steps)}">', body, "    </Step_Info>",
                 "    <SMBUS>", '      <SMBUS_Info Num="0" AdjacentInterval="0" />',
                 "    </SMBUS>", "  </config>", "</root>"]
        return "\r\n".join(lines)

    def _whole(self) -> list[str]:
        safety = self.schedule.safety
        main: list[str] = []
        if safety.max_voltage_volt is not None or safety.min_voltage_volt is not None:
            main.append("          <Volt>")
            if safety.max_voltage_volt is not None:
                main.append(f'            <Upper Value="{_number(safety.max_voltage_volt * _VOLT)}" />')
            if safety.min_voltage_volt is not None:
                main.append(f'            <Lower Value="{_number(safety.min_voltage_volt * _VOLT)}" />')
            main.append("          </Volt>")
        if safety.max_current_ampere is not None:
            milliamp = _number(safety.max_current_ampere * _MILLI)
            main += ["          <Curr>", f'            <Upper Value="{milliamp}" />',
                     f'            <Lower Value="-{milliamp}" />', "          </Curr>"]
        protect = []
        if main:
            protect += ["        <Main>", *main, "        </Main>"]
        if safety.max_temperature_celsius is not None:
            protect += ["        <Aux>", "          <Temp>",
                        f'            <Upper Value="{_number(safety.max_temperature_celsius * _DECI)}" />',
                        "          </Temp>", "        </Aux>"]
        if not protect:
            return []
        return ["    <Whole_Prt>", "      <Protect>", *protect, "      </Protect>",
                "    </Whole_Prt>"]


def _uses_c_rate(step: Step) -> bool:
    return ((step.current is not None and step.current.unit == "C")
            or any(e.quantity == "current" and e.unit == "C" for e in step.ends))


def render_neware(schedule: Schedule) -> bytes:
    """The Neware step file (EditStep form, v17, GB2312, CRLF) of a schedule."""
    text = _Writer(schedule.labelled()).render()
    return text.encode("gb2312", errors="xmlcharrefreplace")


# -- reading -------------------------------------------------------------------


def _value(element: ET.Element | None, tag: str) -> float | None:
    child = None if element is None else element.find(tag)
    return None if child is None else _number_attribute(child, "Value")


def _step_file(path: Path) -> tuple[bytes, Path, list[str]]:
    """The step-file bytes and the name to report: the file itself, or the ``Step.xml``
    member of a ``.ndax`` archive (the steps the test ran; ``EditStep.xml`` if absent)."""
    raw = path.read_bytes()
    if not raw.startswith(b"PK\x03\x04"):
        return raw, path, []
    with open_zip(raw, path, ProtocolError) as archive:
        names = archive.namelist()
        member = next((n for n in ("Step.xml", "EditStep.xml") if n in names), None)
        if member is None:
            raise ProtocolError("the .ndax archive holds no Step.xml or EditStep.xml", file=path)
        others = sorted(n for n in names if re.fullmatch(r"Step[0-9]+\.xml", n))
        return (read_member(archive, member, path, ProtocolError), Path(f"{path}!{member}"),
                others)


def _number_attribute(element: ET.Element, name: str) -> float:
    text = element.get(name)
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value):
        raise ProtocolError(f"<{element.tag}> {name} should be a number, is {text!r}")
    return value


def _parse_xml(raw: bytes, path: Path) -> tuple[ET.Element, dict[int, int]]:
    """The root element, and the line of each ``<StepN Step_ID="k">`` by k."""
    text = raw.decode("gb18030", errors="replace")
    # ElementTree cannot decode GB2312: drop the declaration, keep the lines in place.
    text = re.sub(r"^\ufeff?<\?xml[^>]*\?>", "", text, count=1)
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ProtocolError(f"not well-formed XML: {exc}", file=path,
                            position=f"line {exc.position[0]}") from exc
    lines = {int(m.group(1)): text.count("\n", 0, m.start()) + 1
             for m in re.finditer(r'<Step[0-9]+ Step_ID="([0-9]+)"', text)}
    return root, lines


def _located(exc: ProtocolError, path: Path, line: int | None) -> ProtocolError:
    """``exc`` with the file and line filled in where it had none."""
    if exc.file is None:
        exc.file = str(path)
    if exc.position is None and line is not None:
        exc.position = f"line {line}"
    exc.args = (exc._render(),)
    return exc


def parse_neware(path: Path) -> Schedule:
    """Read a Neware BTS step file, or the one inside a ``.ndax`` data archive, into a
    schedule (Cycle steps become loops)."""
    raw, path, others = _step_file(Path(path))
    root, step_lines = _parse_xml(raw, path)
    try:
        schedule = _schedule(root, step_lines, path)
        if others:  # the step file was changed while the test ran
            schedule = replace(schedule, description=f"the archive also holds {', '.join(others)} "
                               "(earlier versions of the steps); this is Step.xml")
        return schedule
    except ProtocolError as exc:
        raise _located(exc, path, None) from None


def _schedule(root: ET.Element, step_lines: dict[int, int], path: Path) -> Schedule:
    config = root.find("config")
    if root.tag != "root" or config is None or config.get("type") != "Step File":
        raise ProtocolError('expected <root><config type="Step File">', file=path)
    head = config.find("Head_Info")
    info = config.find("Step_Info")
    if head is None or info is None:
        raise ProtocolError("step file has no Head_Info or Step_Info", file=path)
    rate_mode = _value(head, "RateType") == _C_RATE
    capacity = _value(head, "MultCap")
    whole = config.find("Whole_Prt/Protect/Main")
    whole_volt = (_value(whole, "Volt/Upper"), _value(whole, "Volt/Lower"))
    current_upper = _value(whole, "Curr/Upper")
    temperature = _value(config.find("Whole_Prt/Protect/Aux"), "Temp/Upper")
    safety = Safety(
        max_voltage_volt=None if whole_volt[0] is None else whole_volt[0] / _VOLT,
        min_voltage_volt=None if whole_volt[1] is None else whole_volt[1] / _VOLT,
        max_current_ampere=None if current_upper is None else current_upper / _MILLI,
        max_temperature_celsius=None if temperature is None else temperature / _DECI)
    items: list[tuple[int, Step | Loop]] = []  # (first Step_ID, item)
    for element in info:
        try:
            number = int(element.get("Step_ID", ""))
            step_type = int(element.get("Step_Type", ""))
        except ValueError:
            raise ProtocolError(f"<{element.tag}> needs integer Step_ID and Step_Type "
                                "attributes") from None
        where = f"Step_ID {number} ({_TYPE_NAMES.get(step_type, f'Step_Type {step_type}')})"
        if step_type == _END:
            break
        try:
            if step_type == _CYCLE:
                _close_loop(items, element, number, where, path)
                continue
            step = _read_step(element, step_type, rate_mode, whole_volt, where, path)
        except ProtocolError as exc:
            if not exc.message.startswith(where):
                exc.message = f"{where}: {exc.message}"
            raise _located(exc, path, step_lines.get(number)) from None
        items.append((number, Step(**{**step.__dict__, "label": f"step_{number:03d}"})))
    steps = tuple(item for _, item in items)
    if not steps:
        raise ProtocolError("step file has no steps before End", file=path)
    low, high = whole_volt[1], whole_volt[0]
    cell = Cell(nominal_capacity_ampere_hour=None if capacity is None else capacity / _MAS,
                min_voltage_volt=None if low is None else low / _VOLT,
                max_voltage_volt=None if high is None else high / _VOLT)
    remark = head.find("Remark")
    name = remark.get("Value", "") if remark is not None else ""
    return Schedule(name or Path(str(path).split("!")[0]).stem, cell, steps, safety=safety)


def _close_loop(items: list, element: ET.Element, number: int, where: str, path: Path) -> None:
    other = element.find("Limit/Other")
    start, count = _value(other, "Start_Step"), _value(other, "Cycle_Count")
    if start is None or count is None:
        raise ProtocolError(f"{where}: a Cycle step needs Start_Step and Cycle_Count", file=path)
    body = []
    while items and items[-1][0] >= start:
        body.insert(0, items.pop())
    if not body or body[0][0] != int(start):
        raise ProtocolError(f"{where}: Start_Step {int(start)} does not begin a step or an "
                            "enclosed loop before this Cycle step", file=path)
    loop = Loop(tuple(item for _, item in body), int(count), f"loop_{number:03d}")
    items.append((int(start), loop))


def _read_step(element, step_type, rate_mode, whole_volt, where, path) -> Step:
    main = element.find("Limit/Main")
    record_main = element.find("Record/Main")
    every = [_value(record_main, tag) for tag in ("Time", "Volt", "Curr")]
    record = Recording(every_second=None if every[0] is None else every[0] / _MS,
                       every_volt=None if every[1] is None else every[1] / _VOLT,
                       every_ampere=None if every[2] is None else every[2] / _MILLI)
    ends: list[End] = []
    time = _value(main, "Time")
    if time is not None:
        ends.append(End("time", ">=", time / _MS, "s"))
    stops = _protection_stops(element.find("Protect/Main"), whole_volt)
    if step_type == _REST:
        return Step("rest", ends=(*ends, *stops), record=record)
    if step_type == _PAUSE:
        return Step("rest", ends=(*ends, *stops), record=record,
                    note="Neware Pause (waits for the operator)")
    control = element.find("ControlStepValue")
    condition = element.find("Limit/Other/Cnd1")
    if (step_type == _CONTROL and control is not None and control.get("ControlType") == "5"
            and condition is not None and condition.get("type") == "3"):
        wait = _number_attribute(condition, "Value") / _MS
        return Step("rest", ends=(End("time", ">=", wait, "s"), *stops), record=record,
                    chamber_celsius=_number_attribute(control, "TempValue") / _DECI)
    kind, charge = _KIND_OF_TYPE.get(step_type, ("opaque", step_type not in _DISCHARGE_TYPES))
    sign = 1.0 if charge else -1.0
    current = _setpoint(main, "Curr", "Rate", rate_mode)
    if current is not None:
        current = Setpoint(sign * current.value, current.unit)
    stop_volt = _value(main, "Stop_Volt")
    if stop_volt is not None:
        ends.append(End("voltage", ">=" if charge else "<=", stop_volt / _VOLT, "V"))
    stop_current = _setpoint(main, "Stop_Curr", "Stop_Rate", rate_mode)
    if stop_current is not None:
        ends.append(End("current", "<=", stop_current.value, stop_current.unit))
    cap = _value(main, "Cap")
    if cap is not None:
        ends.append(End("capacity", ">=", cap / _MAS, "Ah"))
    volt = _value(main, "Volt")
    volt = None if volt is None else volt / _VOLT
    if kind == "opaque":
        return Step("opaque", current=current, voltage_volt=volt, ends=(*ends, *stops),
                    record=record, vendor_step=_vendor_step(element, step_type))
    if kind in ("cccv", "cv") and volt is None:
        raise ProtocolError(f"{where}: a constant-voltage step needs <Volt>", file=path)
    if kind in ("cc", "cccv") and current is None:
        raise ProtocolError(f"{where}: a constant-current step needs <Curr>", file=path)
    return Step(kind, current=current, voltage_volt=volt, ends=(*ends, *stops), record=record)


#: Neware step types that discharge (the others charge or hold no direction).
_DISCHARGE_TYPES = (2, 8, 10, 19, 20, 26)


def _vendor_step(element: ET.Element, step_type: int) -> str:
    """What a Neware step labkit does not model is: its type and the limits it holds."""
    name = _TYPE_NAMES.get(step_type)
    text = (f"Neware {name} (Step_Type {step_type})" if name else
            f"Neware Step_Type {step_type} (a step type not seen in any Neware file)")
    limits = [f"{child.tag} {child.get('Value')}" for child in element.iterfind("Limit/Main/*")]
    others = [child.tag for child in element.iterfind("Limit/Other/*")]
    if element.find("ControlStepValue") is not None:
        others.append("ControlStepValue " + " ".join(
            f"{k}={v}" for k, v in element.find("ControlStepValue").attrib.items()))
    if limits:
        text += ", limits " + ", ".join(limits)
    if others:
        text += ", other settings " + ", ".join(others)
    return text


def _protection_stops(protect: ET.Element | None,
                      whole_volt: tuple[float | None, float | None]) -> tuple[End, ...]:
    """A step's voltage protection as ends that stop the test, where it is tighter than
    the whole-test protection (an equal one is a copy; a looser one never trips first)."""
    upper, lower = _value(protect, "Volt/Upper"), _value(protect, "Volt/Lower")
    whole_upper, whole_lower = whole_volt
    stops = []
    if upper is not None and (whole_upper is None or upper < whole_upper):
        stops.append(End("voltage", ">=", upper / _VOLT, "V", goto="end"))
    if lower is not None and (whole_lower is None or lower > whole_lower):
        stops.append(End("voltage", "<=", lower / _VOLT, "V", goto="end"))
    return tuple(stops)


def _setpoint(main, tag: str, rate_tag: str, rate_mode: bool) -> Setpoint | None:
    rate = _value(main, rate_tag) if rate_mode else None
    if rate is not None:
        return Setpoint(rate, "C")
    milliamp = _value(main, tag)
    return None if milliamp is None else Setpoint(milliamp, "mA")


def _sniff(head: bytes, path: Path) -> bool:
    return b'type="Step File"' in head[:1024] or (
        head.startswith(b"PK\x03\x04") and path.suffix.lower() == ".ndax")


register(ScheduleFormat("neware", ".xml", "Neware BTS step file (Step.xml / EditStep.xml)",
                        render=render_neware, parse=parse_neware, sniff=_sniff))
