"""Checking a schedule file: is it safe to run, and what must the cycler be given?

:func:`check_file` reads a schedule file in any format labkit reads and runs the
schedule rules on it, against the cell the file states or a cell given by the user
(its fields replace the file's). It knows what each vendor's software does:

* A C-rate or capacity fraction in a file whose software is given the nominal
  capacity when the test starts (``ScheduleFormat.capacity_at_start``: Maccor,
  BioLogic, Arbin, PyBaMM) is no problem: a note says what the cycler needs. With a
  given capacity, it is resolved to amperes and the current rules run on it.
* The voltage rules run against the window the file states or the one given; a
  format that states none (PyBaMM) gets none invented, and a note says so.
* A vendor step labkit does not model is an ``opaque`` step: the rules run on what
  of it could be read (ends, voltage limit, current) and a note names it.
* Vendor files are checked for what makes a test unsafe; a step that ends on voltage
  or current alone is noted. labkit's own YAML/JSON are checked by the rules labkit
  writes by (``ScheduleFormat.native``: a time limit on every step).

Notes have the shape of problems (``step``, ``rule``, ``message``) but do not make a
file invalid.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from os import PathLike
from typing import Any

from labkit.errors import ProtocolError
from labkit.protocols import formats
from labkit.protocols.schedule import Cell, Problem, Schedule, Step, window_text
from labkit.protocols.table import describe_end

_CELL_FIELDS = tuple(f.name for f in dataclasses.fields(Cell))


@dataclass(frozen=True)
class CheckReport:
    """What :func:`check_file` found.

    Attributes
    ----------
    file
        The file checked.
    format
        The format it was read as.
    schedule
        The schedule read, labelled, with the cell it was checked against.
    given
        The cell fields the user gave (they replace the file's).
    problems
        Rules the schedule breaks; the file is valid when there are none.
    notes
        What the cycler needs and what could not be checked.
    """

    file: str
    format: str
    schedule: Schedule
    given: tuple[str, ...]
    problems: tuple[Problem, ...]
    notes: tuple[Problem, ...]

    @property
    def valid(self) -> bool:
        """True when no rule is broken."""
        return not self.problems

    def opaque_steps(self) -> list[Step]:
        """The steps labkit keeps opaque (vendor steps it does not model)."""
        return [step for step, _ in self.schedule.flat_steps() if step.kind == "opaque"]

    def to_dict(self) -> dict[str, Any]:
        """The ``protocol check --json`` object (without the step listing)."""
        return {"valid": self.valid, "format": self.format, "name": self.schedule.name,
                "cell": dataclasses.asdict(self.schedule.cell), "cell_given": list(self.given),
                "problems": [p.to_dict() for p in self.problems],
                "notes": [n.to_dict() for n in self.notes],
                "opaque_steps": [{"label": s.label, "vendor_step": s.vendor_step}
                                 for s in self.opaque_steps()]}


def check_file(path: str | PathLike[str], format: str | None = None,
               cell: Mapping[str, Any] | None = None) -> CheckReport:
    """Read a schedule file and check it.

    Parameters
    ----------
    path
        Any schedule file labkit reads.
    format
        Skip detection and read it as this format.
    cell
        :class:`~labkit.protocols.schedule.Cell` fields to check against; each replaces
        what the file states (``{"nominal_capacity_ampere_hour": 2.0, ...}``).

    Raises
    ------
    ProtocolError
        When the file cannot be read, or ``cell`` names an unknown field.
    """
    schedule, name = formats.read(path, format)
    return check_schedule(schedule, formats.get(name), cell, file=str(path))


def check_schedule(schedule: Schedule, fmt: formats.ScheduleFormat,
                   cell: Mapping[str, Any] | None = None, file: str = "") -> CheckReport:
    """Check a schedule read as ``fmt`` (see :func:`check_file`)."""
    given = dict(cell or {})
    unknown = set(given) - set(_CELL_FIELDS)
    if unknown:
        raise ProtocolError(f"unknown cell fields {sorted(unknown)}; known: "
                            f"{sorted(_CELL_FIELDS)}")
    stated = schedule.cell
    schedule = dataclasses.replace(schedule, cell=dataclasses.replace(stated, **given)
                                   ).labelled()
    problems = schedule.problems(capacity_at_start=fmt.capacity_at_start,
                                 strict_time_limits=fmt.native)
    notes = [*_capacity_notes(schedule, fmt, stated, given), *_window_notes(schedule),
             *_opaque_notes(schedule)]
    if not fmt.native:
        notes += _time_limit_notes(schedule)
    return CheckReport(file, fmt.name, schedule, tuple(given), tuple(problems), tuple(notes))


def _uses_capacity(step: Step) -> bool:
    """True when a set point or an end of ``step`` is a C-rate or capacity fraction."""
    units = [e.unit for e in step.ends]
    units += [step.current.unit] if step.current is not None else []
    units += [step.pulse.off_current.unit] if step.pulse is not None else []
    return "C" in units


def _capacity_notes(schedule: Schedule, fmt: formats.ScheduleFormat, stated: Cell,
                    given: dict[str, Any]) -> list[Problem]:
    steps = [step.label for step, _ in schedule.flat_steps() if _uses_capacity(step)]
    if not steps:
        return []
    where = f"{len(steps)} steps ({_listing(steps)})"
    capacity = schedule.cell.nominal_capacity_ampere_hour
    if capacity is None:
        if not fmt.capacity_at_start:
            return []  # the rule "resolvable" reports it
        return [Problem("schedule", "capacity-at-start",
                        f"C-rates and capacity fractions in {where} are resolved by the cycler "
                        "when the test starts: give it the cell's nominal capacity. Their "
                        "currents were not checked against a current range (check with "
                        "--cell or --capacity to do so)")]
    field = "nominal_capacity_ampere_hour"
    if field not in given:
        return [Problem("schedule", "capacity-at-start",
                        f"C-rates and capacity fractions in {where} were resolved with the "
                        f"nominal capacity the file states, {capacity:g} Ah")]
    message = (f"C-rates and capacity fractions in {where} were resolved with the given "
               f"nominal capacity {capacity:g} Ah")
    if fmt.capacity_at_start:
        message += "; give the cycler this capacity when the test starts"
    if stated.nominal_capacity_ampere_hour not in (None, capacity):
        message += f" (the file states {stated.nominal_capacity_ampere_hour:g} Ah)"
    return [Problem("schedule", "capacity-at-start", message)]


def _window_notes(schedule: Schedule) -> list[Problem]:
    low, high = schedule.cell.min_voltage_volt, schedule.cell.max_voltage_volt
    if low is not None and high is not None:
        return []
    if low is None and high is None:
        return [Problem("cell", "voltage-window",
                        "the file states no cell voltage window, so voltage ends and holds "
                        "were not checked against one (check with --cell or --vmin/--vmax)")]
    return [Problem("cell", "voltage-window",
                    f"the file states only one bound of the cell window ({window_text(low, high)})"
                    "; the other was not checked (give it with --vmin/--vmax)")]


def _opaque_notes(schedule: Schedule) -> list[Problem]:
    notes = []
    for step, _ in schedule.flat_steps():
        if step.kind != "opaque":
            continue
        checked = [text for text, present in (
            (f"its ends ({', '.join(describe_end(e) for e in step.ends)})", step.ends),
            (f"its voltage limit {step.voltage_volt:g} V" if step.voltage_volt is not None
             else "", step.voltage_volt is not None),
            (f"its current {step.current}", step.current is not None)) if present]
        notes.append(Problem(step.label, "opaque-step",
                             f"{step.vendor_step or 'a vendor step'}: labkit does not model "
                             "this step and keeps it as it is; "
                             + (f"checked {' and '.join(checked)}" if checked
                                else "nothing of it could be checked")))
    return notes


def _time_limit_notes(schedule: Schedule) -> list[Problem]:
    notes = []
    for step, _ in schedule.flat_steps():
        time_end = step.end("time")
        if time_end is not None and time_end.value == 0:
            notes.append(Problem(step.label, "time-limit", "a time limit of 0 s ends the step "
                                 "as soon as it starts (after what it measures)"))
        if step.kind == "eis" or time_end is not None:
            continue
        if step.ends:
            ends = " or ".join(describe_end(e) for e in step.ends)
            message = f"no time limit: the step ends only when {ends} (or on a safety limit)"
        else:
            message = ("no end condition: the step runs until the operator or a safety limit "
                       "ends it")
        notes.append(Problem(step.label, "time-limit", message))
    return notes


def _listing(labels: list[str], shown: int = 5) -> str:
    text = ", ".join(labels[:shown])
    return text + (f" and {len(labels) - shown} more" if len(labels) > shown else "")
