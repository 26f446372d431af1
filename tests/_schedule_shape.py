"""Compare schedules written to and read back from vendor files.

Vendor files store values in their own units (mA, 0.1 mV, mA·s, C-rates resolved
or not), number steps differently and may list end conditions in another order.
:func:`shape` reduces a schedule to what must survive: step kinds, set points in
amperes, ends in SI units with each goto as the offset of its target in the flat
step order, and loops with their counts.
"""

from __future__ import annotations

from labkit.protocols.schedule import Cell, End, Loop, Schedule, Setpoint


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
                    item.power_watt, tuple(ends)))
    return out


def _goto(end: End, order: list[str], here: int) -> int | str:
    if end.goto is None or end.goto == "end":
        return end.goto or 1
    return order.index(end.goto) - here


def ampere(setpoint: Setpoint, cell: Cell) -> float:
    """A set point in amperes, rounded like :func:`shape`."""
    return _si(setpoint.ampere(cell))
