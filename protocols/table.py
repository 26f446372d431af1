"""A plain, human-readable table of a schedule, for the lab notebook."""

from __future__ import annotations

from labkit.protocols.formats import ScheduleFormat, register
from labkit.protocols.schedule import End, Loop, Schedule, Setpoint, Step, window_text

_OPERATOR_WORDS = {">=": "≥", "<=": "≤"}


def describe_end(end: End) -> str:
    """``"V ≥ 4.2 V"``, ``"t ≥ 3600 s → end"`` (current ends are on its magnitude)."""
    symbol = {"time": "t", "voltage": "V", "current": "I", "capacity": "Q", "dv_dt": "dV/dt"}
    text = f"{symbol.get(end.quantity, end.quantity)} {_OPERATOR_WORDS.get(end.operator, end.operator)} {end.value:g} {end.unit}"
    return text + (f" → {end.goto}" if end.goto else "")


def _magnitude(setpoint: Setpoint) -> str:
    return str(Setpoint(abs(setpoint.value), setpoint.unit))


def describe_step(step: Step) -> str:
    """The set point of a step in words."""
    if step.kind in ("rest", "ocv"):
        text = "rest (open circuit)"
    elif step.kind == "cc":
        text = f"{'charge' if step.current.value > 0 else 'discharge'} at {_magnitude(step.current)}"
    elif step.kind == "cv":
        text = f"hold at {step.voltage_volt:g} V"
    elif step.kind == "cccv":
        text = (f"{'charge' if step.current.value > 0 else 'discharge'} at {_magnitude(step.current)}, "
                f"then hold at {step.voltage_volt:g} V")
    elif step.kind == "cp":
        text = f"{'charge' if step.power_watt > 0 else 'discharge'} at {abs(step.power_watt):g} W"
    elif step.kind == "pulse":
        text = (f"pulse {step.current} for {step.pulse.on_second:g} s / "
                f"{step.pulse.off_current} for {step.pulse.off_second:g} s")
    elif step.kind == "eis":
        z = step.impedance
        amplitude = (f"{z.amplitude * 1000:g} mV" if z.amplitude_unit == "V"
                     else f"{z.amplitude * 1000:g} mA")
        text = (f"{z.mode} EIS {z.start_frequency_hertz:g} Hz → {z.end_frequency_hertz:g} Hz, "
                f"{amplitude}, {z.points_per_decade} points/decade")
    elif step.kind == "opaque":
        text = f"{step.vendor_step or 'a vendor step'} (not modelled by labkit)"
    else:
        text = step.kind
    if step.chamber_celsius is not None:
        text += f" (chamber {step.chamber_celsius:g} °C)"
    return text


def render_table(schedule: Schedule) -> str:
    """Markdown: the cell, the safety limits, and one row per step with loops indented."""
    schedule = schedule.labelled()
    cell = schedule.cell
    lines = [f"# {schedule.name}", ""]
    if schedule.description:
        lines += [schedule.description, ""]
    low, high = cell.min_voltage_volt, cell.max_voltage_volt
    facts = [f"voltage window {window_text(low, high)}" if (low, high) != (None, None)
             else "voltage window not stated"]
    if cell.nominal_capacity_ampere_hour is not None:
        facts.append(f"nominal capacity {cell.nominal_capacity_ampere_hour * 1000:g} mAh")
    if cell.area_square_centimeter is not None:
        facts.append(f"area {cell.area_square_centimeter:g} cm²")
    if cell.max_current_ampere is not None:
        facts.append(f"max current {cell.max_current_ampere:g} A")
    lines += [f"Cell {cell.name or '(unnamed)'}: " + ", ".join(facts) + ".", ""]
    lines += ["| # | step | set point | ends when | record | note |",
              "|---|---|---|---|---|---|"]
    counter = 0

    def emit(items, depth: int) -> None:
        nonlocal counter
        for item in items:
            indent = "  " * depth
            if isinstance(item, Loop):
                lines.append(f"|  | {indent}**repeat ×{item.count}** ({item.label}) |  |  |  |  |")
                emit(item.steps, depth + 1)
            else:
                counter += 1
                record = ", ".join(filter(None, (
                    f"{item.record.every_second:g} s" if item.record.every_second else "",
                    f"{item.record.every_volt * 1000:g} mV" if item.record.every_volt else "",
                    f"{item.record.every_ampere:g} A" if item.record.every_ampere else "")))
                ends = " or ".join(describe_end(e) for e in item.ends)
                lines.append(f"| {counter} | {indent}{item.label} | {describe_step(item)} | "
                             f"{ends} | {record} | {item.note} |")

    emit(schedule.steps, 0)
    return "\n".join(lines) + "\n"


register(ScheduleFormat("table", ".md", "human-readable table (Markdown) for the lab notebook",
                        render=lambda schedule: render_table(schedule).encode("utf-8"),
                        writes_opaque=True))
