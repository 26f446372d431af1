"""PyBaMM ``Experiment`` step strings: write a schedule as them, read them back.

PyBaMM's language ("Charge at 1C until 4.2 V", "Hold at 4.2 V until C/20",
"Rest for 1 hour", "Discharge at 2 A for 10 minutes or until 3.0 V") is also a
readable way to describe a test. The written file is a small Python module
defining ``steps`` (loops become ``*[...] * N``), so it can be pasted into
``pybamm.Experiment(steps)``. Two translations keep the test the same, each marked
with a comment in the file:

* the capacity end of a constant-current step becomes the time that passes that
  capacity at that current (PyBaMM steps end on time, voltage or current only);
* mA/cm² set points become amperes (the cell area is needed).

What the strings cannot hold is refused, naming the step: EIS steps (PyBaMM does not
simulate impedance), pulse trains (a repeated on/off block cannot be left when the
voltage limit is reached), chamber temperatures (an Experiment takes temperature
as a keyword, not in the string) and ends that jump elsewhere than the next step
(an end of the test on a voltage limit, a goto). :mod:`labkit.protocols.simulate` runs such
schedules with :func:`step_strings`, which approximates them (EIS as a rest of its
time limit, one on/off pair of a pulse train).

The strings state no cell: a file read back has the capacity and voltage window of
no cell (PyBaMM's parameter set gives them when the experiment runs).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from labkit.errors import ProtocolError
from labkit.protocols.formats import ScheduleFormat, register
from labkit.protocols.schedule import (
    Cell,
    End,
    Loop,
    Schedule,
    Setpoint,
    Step,
    read_yaml,
    until_current,
    until_time,
    until_voltage,
)

# -- writing -------------------------------------------------------------------


def _duration(seconds: float) -> str:
    if seconds % 3600 == 0:
        return f"{seconds / 3600:.10g} hours"
    if seconds % 60 == 0:
        return f"{seconds / 60:.10g} minutes"
    return f"{seconds:.10g} seconds"


def _c_rate(value: float, *, fraction: bool = False) -> str:
    """A C-rate as PyBaMM reads it, exactly: ``0.5C``; ``C/3`` where the decimal would
    round (and, with ``fraction``, for any reciprocal of a whole number: ``C/20``)."""
    text = f"{value:.10g}"
    exact = float(text) == value
    whole = round(1 / value) if 0 < value < 1 else 0
    if whole and abs(1 / value - whole) < 1e-9 * whole and (fraction or not exact):
        return f"C/{whole}"
    return f"{text if exact else repr(value)}C"


def _current_text(setpoint: Setpoint, cell: Cell) -> str:
    magnitude = abs(setpoint.value)
    if setpoint.unit == "C":
        return _c_rate(magnitude)
    if setpoint.unit == "mA":
        return f"{magnitude:.10g} mA"
    return f"{abs(setpoint.ampere(cell)):.10g} A"


def _end_text(end: End, cell: Cell) -> str:
    if end.quantity == "voltage":
        return f"{end.value:.10g} V"
    if end.quantity == "current":
        if end.unit == "C":
            return _c_rate(end.value, fraction=True)
        return f"{end.si_value(cell):.10g} A"
    raise ProtocolError(f"PyBaMM has no '{end.quantity}' end condition")


def step_strings(step: Step, cell: Cell) -> tuple[list[str], list[str]]:
    """The PyBaMM strings of one step and the translation notes it needed."""
    notes: list[str] = []
    time_end = step.end("time")
    seconds = time_end.value if time_end else None
    capacity = step.end("capacity")
    if capacity is not None and step.kind == "cc" and step.current is not None:
        seconds_at_capacity = capacity.si_value(cell) / abs(step.current.ampere(cell)) * 3600
        seconds = min(seconds, seconds_at_capacity) if seconds else seconds_at_capacity
        notes.append(f"{step.label}: capacity end written as time")
    if step.current is not None and step.current.unit == "mA/cm2":
        notes.append(f"{step.label}: current density written in A")
    limits = [_end_text(e, cell) for e in step.ends if e.quantity in ("voltage", "current")]
    if step.kind == "cc" and step.current is not None:
        limits = [_end_text(e, cell) for e in step.ends if e.quantity == "voltage"]

    def phrase(start: str) -> str:
        text = start + (f" for {_duration(seconds)}" if seconds else "")
        if limits:
            text += (" or until " if seconds else " until ") + " or until ".join(limits)
        return text

    if step.kind in ("rest", "ocv"):
        return [f"Rest for {_duration(seconds)}"], notes
    if step.kind == "eis":
        notes.append(f"{step.label}: EIS written as a rest")
        return [f"Rest for {_duration(seconds)}"], notes
    if step.kind == "cc":
        verb = "Charge" if step.current.value > 0 else "Discharge"
        return [phrase(f"{verb} at {_current_text(step.current, cell)}")], notes
    if step.kind == "cv":
        return [phrase(f"Hold at {step.voltage_volt:.10g} V")], notes
    if step.kind == "cp":
        verb = "Charge" if step.power_watt > 0 else "Discharge"
        return [phrase(f"{verb} at {abs(step.power_watt):.10g} W")], notes
    if step.kind == "cccv":
        verb = "Charge" if step.current.value > 0 else "Discharge"
        rising = step.current.value > 0
        cc = f"{verb} at {_current_text(step.current, cell)} until {step.voltage_volt:.10g} V"
        hold_limits = [_end_text(e, cell) for e in step.ends if e.quantity == "current"]
        hold = f"Hold at {step.voltage_volt:.10g} V"
        hold += f" for {_duration(seconds)}" if seconds else ""
        if hold_limits:
            hold += (" or until " if seconds else " until ") + hold_limits[0]
        del rising
        return [cc, hold], notes
    if step.kind == "pulse":
        notes.append(f"{step.label}: pulse written as one on/off pair")
        verb = "Charge" if step.current.value > 0 else "Discharge"
        volts = [_end_text(e, cell) for e in step.ends if e.quantity == "voltage"]
        until = f" or until {volts[0]}" if volts else ""
        on = f"{verb} at {_current_text(step.current, cell)} for {_duration(step.pulse.on_second)}"
        off_setpoint = step.pulse.off_current
        if off_setpoint.value == 0:
            off = f"Rest for {_duration(step.pulse.off_second)}"
        else:
            off_verb = "Charge" if off_setpoint.value > 0 else "Discharge"
            off = (f"{off_verb} at {_current_text(off_setpoint, cell)} for "
                   f"{_duration(step.pulse.off_second)}")
        return [on + until, off], notes
    raise ProtocolError(f"{step.label}: PyBaMM cannot express a {step.kind} step")


def experiment_steps(schedule: Schedule) -> list[str]:
    """The schedule as a flat list of PyBaMM strings (loops expanded)."""

    def expand(items) -> list[str]:
        out: list[str] = []
        for item in items:
            if isinstance(item, Loop):
                out.extend(expand(item.steps) * item.count)
            else:
                out.extend(step_strings(item, schedule.cell)[0])
        return out

    return expand(schedule.labelled().steps)


def _refuse_approximations(schedule: Schedule) -> None:
    """Refuse the steps :func:`step_strings` can only approximate."""
    for step, _ in schedule.flat_steps():
        if step.kind == "eis":
            raise ProtocolError(f"{step.label}: PyBaMM does not simulate EIS, so an Experiment "
                                "cannot hold this step (labkit.protocols.simulate runs it as "
                                "a rest)")
        if step.kind == "pulse":
            raise ProtocolError(f"{step.label}: PyBaMM strings cannot repeat an on/off pulse "
                                "until a voltage limit (a repeated block is not left when the "
                                "limit is reached)")
        if step.chamber_celsius is not None:
            raise ProtocolError(f"{step.label}: PyBaMM step strings carry no temperature (an "
                                "Experiment takes it as a keyword argument)")
        jump = next((e for e in step.ends if e.goto is not None), None)
        if jump is not None:
            raise ProtocolError(f"{step.label}: a PyBaMM step always continues with the next "
                                f"one; its {jump.quantity} end going to {jump.goto!r} cannot be "
                                "written")


def render_pybamm(schedule: Schedule) -> bytes:
    """A Python module defining ``steps`` for ``pybamm.Experiment(steps)``.

    Raises
    ------
    ProtocolError
        For EIS and pulse steps, chamber temperatures and ends that jump, which the
        strings cannot hold.
    """
    _refuse_approximations(schedule)
    lines = [f"# PyBaMM experiment written by labkit from schedule {schedule.name!r}.",
             "# Use: pybamm.Experiment(steps)", "steps = ["]
    notes: list[str] = []

    def emit(items, indent: int) -> None:
        pad = "    " * indent
        for item in items:
            if isinstance(item, Loop):
                lines.append(f"{pad}*[  # {item.label}")
                emit(item.steps, indent + 1)
                lines.append(f"{pad}] * {item.count},")
            else:
                strings, step_notes = step_strings(item, schedule.cell)
                notes.extend(step_notes)
                lines.extend(f"{pad}{text!r},  # {item.label}" for text in strings)

    emit(schedule.steps, 1)
    lines.append("]")
    lines += [f"# note: {note}" for note in notes]
    return ("\n".join(lines) + "\n").encode("utf-8")


# -- reading -------------------------------------------------------------------

_NUMBER = r"(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"
_CURRENT = rf"(?:C/{_NUMBER}|{_NUMBER}\s*(C|A|mA|W|mW))"
_DURATION = rf"{_NUMBER}\s*(seconds?|s|minutes?|min|hours?|h)\b"
_STEP = re.compile(
    rf"^(?P<verb>Charge|Discharge|Hold|Rest)"
    rf"(?:\s+at\s+(?P<at>C/{_NUMBER}|{_NUMBER}\s*(?:C|A|mA|W|mW|V)))?"
    rf"(?:\s+for\s+(?P<for>{_DURATION}))?"
    rf"(?P<untils>(?:\s+(?:or\s+)?until\s+[^()]+?)*)"
    rf"\s*(?:\((?P<period>[^)]*)\))?\s*$",
    re.IGNORECASE,
)
_NO_DURATION = "no duration in the PyBaMM string"
_UNITS_TO_SECONDS = {"s": 1, "second": 1, "seconds": 1, "min": 60, "minute": 60, "minutes": 60,
                     "h": 3600, "hour": 3600, "hours": 3600}


def _seconds(text: str) -> float:
    match = re.match(_DURATION, text.strip(), re.IGNORECASE)
    if not match:
        raise ProtocolError(f"cannot read the duration {text!r}")
    return float(match.group(1)) * _UNITS_TO_SECONDS[match.group(2).lower()]


def _quantity(text: str) -> tuple[float, str]:
    text = text.strip()
    match = re.fullmatch(rf"C/{_NUMBER}", text, re.IGNORECASE)
    if match:
        return 1 / float(match.group(1)), "C"
    match = re.fullmatch(rf"{_NUMBER}\s*(C|A|mA|W|mW|V)", text)
    if not match:
        raise ProtocolError(f"cannot read the quantity {text!r}")
    return float(match.group(1)), match.group(2)


def parse_step(text: str, *, default_hours: float = 24.0) -> Step:
    """One PyBaMM string as a :class:`Step`.

    Steps without a duration get a ``default_hours`` time limit (labkit requires one),
    noted in the step's ``note``.
    """
    match = _STEP.match(text.strip())
    if not match:
        raise ProtocolError(f"not a PyBaMM step string: {text!r}")
    verb = match.group("verb").lower()
    ends: list[End] = []
    note = ""
    for until in re.findall(r"until\s+([^()]+?)(?=\s+or\s+until|\s*$|\s*\()",
                            match.group("untils") or ""):
        operator, quantity = re.fullmatch(r"([<>]?)\s*(.*)", until.strip()).groups()
        value, unit = _quantity(quantity)
        if unit == "V":
            rising = operator == ">" if operator else verb != "discharge"
            ends.append(until_voltage(value, rising=rising))
        elif unit in ("A", "mA", "C"):
            ends.append(until_current(value, unit))
        else:
            raise ProtocolError(f"unsupported end condition {until!r} in {text!r}")
    if match.group("for"):
        ends.append(until_time(_seconds(match.group("for"))))
    else:
        ends.append(until_time(default_hours * 3600))
        note = f"{_NO_DURATION}; {default_hours:g} h time limit added"
    if verb == "rest":
        return Step("rest", ends=tuple(ends), note=note)
    value, unit = _quantity(match.group("at") or "")
    if verb == "hold":
        if unit != "V":
            raise ProtocolError(f"'Hold at' needs a voltage: {text!r}")
        return Step("cv", voltage_volt=value, ends=tuple(ends), note=note)
    sign = 1.0 if verb == "charge" else -1.0
    if unit in ("W", "mW"):
        return Step("cp", power_watt=sign * value * (1e-3 if unit == "mW" else 1.0),
                    ends=tuple(ends), note=note)
    if unit == "V":
        raise ProtocolError(f"'{match.group('verb')} at' needs a current or power: {text!r}")
    return Step("cc", current=Setpoint(sign * value, unit), ends=tuple(ends), note=note)


def merge_cccv(steps: list[Step]) -> list[Step]:
    """Join "Charge at X until V" + "Hold at V until I" into one ``cccv`` step."""
    out: list[Step] = []
    for step in steps:
        previous = out[-1] if out else None
        if (step.kind == "cv" and previous is not None and previous.kind == "cc"
                and previous.end("voltage") is not None
                and previous.end("voltage").value == step.voltage_volt):
            ends = tuple(e for e in step.ends if e.quantity != "time")
            seconds = step.end("time").value
            if not previous.note.startswith(_NO_DURATION):
                seconds += previous.end("time").value
            out[-1] = Step("cccv", current=previous.current, voltage_volt=step.voltage_volt,
                           ends=(*ends, until_time(seconds)), note=step.note)
        else:
            out.append(step)
    return out


def _literal_items(node: ast.AST, path: Path) -> list[Step | Loop]:
    if not isinstance(node, ast.List):
        raise ProtocolError("expected a list of PyBaMM strings", file=path,
                            position=f"line {getattr(node, 'lineno', '?')}")
    items: list[Step | Loop] = []
    for element in node.elts:
        if isinstance(element, ast.Constant) and isinstance(element.value, str):
            items.append(parse_step(element.value))
            items[-2:] = merge_cccv(items[-2:]) if len(items) > 1 and isinstance(
                items[-2], Step) else items[-2:]
        elif (isinstance(element, ast.Starred) and isinstance(element.value, ast.BinOp)
              and isinstance(element.value.op, ast.Mult)
              and isinstance(element.value.right, ast.Constant)):
            body = _literal_items(element.value.left, path)
            items.append(Loop(tuple(body), int(element.value.right.value)))
        else:
            raise ProtocolError("expected a string or *[...] * N", file=path,
                                position=f"line {element.lineno}")
    return items


#: PyBaMM strings state no cell: the parameter set gives its capacity and window.
_NO_CELL = Cell(min_voltage_volt=None, max_voltage_volt=None)


def parse_pybamm(path: Path) -> Schedule:
    """Read a file written by :func:`render_pybamm` (or any ``steps = [...]`` module)."""
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except SyntaxError as exc:
        raise ProtocolError(f"not Python: {exc.msg}", file=path,
                            position=f"line {exc.lineno}") from exc
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and getattr(node.targets[0], "id", None) == "steps"):
            return Schedule(Path(path).stem, _NO_CELL, tuple(_literal_items(node.value, path)))
    raise ProtocolError("no 'steps = [...]' assignment found", file=path)


def parse_pyprobe_readme(path: Path) -> Schedule:
    """Read a PyProBE ``README.yaml``: experiments whose ``Steps`` are PyBaMM strings."""
    data = read_yaml(Path(path), "a PyProBE README.yaml")
    if not isinstance(data, dict):
        raise ProtocolError("expected a mapping of experiments", file=path)
    items: list[Step | Loop] = []
    for experiment, content in data.items():
        steps = (content or {}).get("Steps") if isinstance(content, dict) else None
        if steps is None:
            raise ProtocolError(f"experiment {experiment!r} has no 'Steps' (a 'Total Steps' "
                                "summary holds no step definitions)", file=path)
        texts = list(steps.values()) if isinstance(steps, dict) else list(steps)
        parsed = []
        for text in texts:
            parsed.extend(parse_step(part) for part in str(text).split(",") if part.strip())
        repeat = int(content.get("Repeat", 1)) if isinstance(content, dict) else 1
        body = tuple(merge_cccv(parsed))
        items.append(Loop(body, repeat, label=str(experiment)) if repeat > 1 else
                     Loop(body, 1, label=str(experiment)))
    return Schedule(Path(path).stem, _NO_CELL, tuple(items))


def _sniff_pybamm(head: bytes, path: Path) -> bool:
    return b"steps = [" in head[:4096]


def _sniff_pyprobe(head: bytes, path: Path) -> bool:
    text = head[:4096].decode("utf-8", "replace")
    return "Steps:" in text and bool(re.search(r"(Charge|Discharge|Rest|Hold) (at|for)", text))


register(ScheduleFormat("pybamm", ".py", "PyBaMM Experiment step strings (Python list)",
                        render=render_pybamm, parse=parse_pybamm, sniff=_sniff_pybamm,
                        capacity_at_start=True))
register(ScheduleFormat("pyprobe", ".yaml", "PyProBE README.yaml (PyBaMM strings per step)",
                        parse=parse_pyprobe_readme, sniff=_sniff_pyprobe,
                        capacity_at_start=True))
