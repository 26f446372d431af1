"""Compare schedules written to and read back from vendor files.

Vendor files store values in their own units (mA, 0.1 mV, mA·s, C-rates resolved
or not), number steps differently and may list end conditions in another order.
:func:`shape` reduces a schedule to what must survive: step kinds, set points in
amperes, ends in SI units with each goto as the offset of its target in the flat
step order, EIS settings, chamber temperatures, and loops with their counts.
:func:`as_written` is a schedule as a vendor file holds it, by the translations its
writer documents (a pulse train as a loop, a CC-CV as two BioLogic sequences...).
"""

from __future__ import annotations

import dataclasses
import math

from labkit.protocols.schedule import Cell, End, Loop, Schedule, Setpoint, Step


def _si(value: float) -> float:
    return float(f"{value:.7g}")  # vendor files keep 7-10 significant digits


def shape(schedule: Schedule, *, kinds: dict[str, str] | None = None) -> list:
    """Comparable nested lists; ``kinds`` maps kinds a format merges (``{"ocv": "rest"}``)."""
    order = [step.label for step, _ in schedule.labelled().flat_steps()]
    return _items(schedule.labelled().steps, schedule.cell, order, kinds or {})


def _items(items, cell: Cell, order: list[str], kinds: dict[str, str]) -> list:
    out = []
    for item in items:
        if isinstance(item, Loop):
            out.append(("loop", item.count, _items(item.steps, cell, order, kinds)))
            continue
        here = order.index(item.label)
        ends = sorted((e.quantity, e.operator, _si(e.si_value(cell)), _goto(e, order, here))
                      for e in item.ends)
        current = None if item.current is None else _si(item.current.ampere(cell))
        out.append((kinds.get(item.kind, item.kind), current, item.voltage_volt,
                    item.power_watt, tuple(ends), item.impedance, item.chamber_celsius))
    return out


def _goto(end: End, order: list[str], here: int) -> int | str:
    if end.goto is None or end.goto == "end":
        return end.goto or 1
    return order.index(end.goto) - here


def ampere(setpoint: Setpoint, cell: Cell) -> float:
    """A set point in amperes, rounded like :func:`shape`."""
    return _si(setpoint.ampere(cell))


# -- the translations writers document ---------------------------------------------

_AFTER = "@after:"  # goto marker: the step after the one labelled so, in the written order


def as_written(schedule: Schedule, fmt: str) -> Schedule:
    """``schedule`` as a ``fmt`` file holds it, by the translations its writer documents.

    * Maccor, BioLogic, Arbin: a pulse train is a loop of ``ceil(time / period)`` on and
      off steps whose voltage end leaves the loop.
    * BioLogic: a CC-CV step is a CC sequence to the hold voltage (its time and capacity
      ends jump past the CV) and a CV sequence; a loop of one pass is its body.
    * PyBaMM: the capacity end of a constant-current step is the time that passes that
      capacity at that current.
    """
    items = schedule.labelled().steps
    if fmt in ("maccor", "biologic", "biologic-bt", "arbin"):
        items = _map_steps(items, _pulse_as_loop)
    if fmt in ("biologic", "biologic-bt"):
        items = _flatten_single_passes(_map_steps(items, _cccv_as_cc_and_cv))
    if fmt == "pybamm":
        items = _map_steps(items, lambda step: [_capacity_as_time(step, schedule.cell)])
    written = dataclasses.replace(schedule, steps=items)
    order = [step.label for step, _ in written.flat_steps()]

    def resolve(end: End) -> End:
        if not (end.goto or "").startswith(_AFTER):
            return end
        position = order.index(end.goto[len(_AFTER):]) + 1
        return dataclasses.replace(end, goto=order[position] if position < len(order) else "end")

    return dataclasses.replace(written, steps=_map_steps(
        written.steps, lambda step: [dataclasses.replace(
            step, ends=tuple(resolve(e) for e in step.ends))]))


def _map_steps(items, change) -> tuple:
    """``items`` with each step replaced by the items ``change(step)`` returns."""
    out = []
    for item in items:
        if isinstance(item, Loop):
            out.append(dataclasses.replace(item, steps=_map_steps(item.steps, change)))
        else:
            out += change(item)
    return tuple(out)


def _flatten_single_passes(items) -> tuple:
    out = []
    for item in items:
        if isinstance(item, Loop) and item.count == 1:
            out += _flatten_single_passes(item.steps)
        elif isinstance(item, Loop):
            out.append(dataclasses.replace(item, steps=_flatten_single_passes(item.steps)))
        else:
            out.append(item)
    return tuple(out)


def _pulse_as_loop(step: Step) -> list:
    if step.kind != "pulse":
        return [step]
    pulse = step.pulse
    off_label = f"{step.label}_off"
    on = Step("cc", label=step.label, current=step.current, ends=(
        End("time", ">=", pulse.on_second, "s"),
        *[dataclasses.replace(e, goto=e.goto or _AFTER + off_label) for e in step.ends
          if e.quantity == "voltage"]))
    resting = pulse.off_current.value == 0
    off = Step("rest" if resting else "cc", label=off_label,
               current=None if resting else pulse.off_current,
               ends=(End("time", ">=", pulse.off_second, "s"),))
    count = max(1, math.ceil(step.end("time").value / (pulse.on_second + pulse.off_second)))
    return [Loop((on, off), count, f"{step.label}_pulses")]


def _cccv_as_cc_and_cv(step: Step) -> list:
    if step.kind != "cccv":
        return [step]
    charge = step.current.value > 0
    cv_label = f"{step.label}_cv"
    cc = dataclasses.replace(step, kind="cc", voltage_volt=None, ends=(
        End("voltage", ">=" if charge else "<=", step.voltage_volt, "V"),
        *[dataclasses.replace(e, goto=e.goto or _AFTER + cv_label) for e in step.ends
          if e.quantity in ("time", "capacity")]))
    cv = dataclasses.replace(step, kind="cv", current=None, label=cv_label,
                             ends=tuple(e for e in step.ends if e.quantity != "voltage"))
    return [cc, cv]


def _capacity_as_time(step: Step, cell: Cell) -> Step:
    capacity = step.end("capacity")
    if step.kind != "cc" or capacity is None:
        return step
    seconds = capacity.si_value(cell) / abs(step.current.ampere(cell)) * 3600
    time_end = step.end("time")
    if time_end is not None:
        seconds = min(seconds, time_end.value)
    ends = tuple(e for e in step.ends if e.quantity not in ("capacity", "time"))
    return dataclasses.replace(step, ends=(*ends, End("time", ">=", seconds, "s")))
