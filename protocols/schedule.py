"""The vendor-neutral test schedule: cell, steps with end conditions, loops, safety limits.

A :class:`Schedule` is plain frozen data. Currents are signed, positive = charge,
and may be given in A, mA, C-rate or mA/cm²; they resolve to amperes against the
:class:`Cell`. :meth:`Schedule.problems` lists every rule a schedule breaks (each
naming the step and the rule) and :meth:`Schedule.validate` refuses an unsafe or
incomplete schedule before anything is written. A step read from a vendor file that
labkit does not model is kept as an ``opaque`` step (its vendor type in
:attr:`Step.vendor_step`): the rules run on what of it can be read, and no writer
but labkit's own YAML/JSON and the table writes it. :meth:`Schedule.to_dict` /
:meth:`Schedule.from_dict` (and YAML/JSON through them) round-trip losslessly.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any, Literal

from labkit.errors import ProtocolError

SCHEMA_VERSION = 1

StepKind = Literal["rest", "ocv", "cc", "cv", "cccv", "cp", "pulse", "eis", "opaque"]
STEP_KINDS: tuple[str, ...] = ("rest", "ocv", "cc", "cv", "cccv", "cp", "pulse", "eis", "opaque")

#: Units a current (or current end condition) may be given in.
CURRENT_UNITS = ("A", "mA", "C", "mA/cm2")
#: Units a capacity end condition may be given in ("C" = fraction of nominal capacity).
CAPACITY_UNITS = ("Ah", "mAh", "C", "mAh/cm2")
_END_UNITS = {
    "time": ("s",),
    "voltage": ("V",),
    "current": CURRENT_UNITS,
    "capacity": CAPACITY_UNITS,
    "dv_dt": ("V/s",),
}
#: Longest loop count accepted (a loop that never ends is a mistake, not a test).
MAX_LOOP_COUNT = 100_000


@dataclass(frozen=True)
class Cell:
    """The cell a schedule targets.

    Attributes
    ----------
    name
        Free text.
    nominal_capacity_ampere_hour
        Needed to resolve C-rates and capacity fractions.
    area_square_centimeter
        Needed to resolve mA/cm² and mAh/cm².
    min_voltage_volt, max_voltage_volt
        The cell's permitted voltage window; ``None`` when not stated (a schedule read
        from a file that states none): the window rules then do not run on that bound.
    max_current_ampere
        Largest current magnitude the cell may see.
    temperature_celsius
        Test temperature.
    """

    name: str = ""
    nominal_capacity_ampere_hour: float | None = None
    area_square_centimeter: float | None = None
    min_voltage_volt: float | None = 2.5
    max_voltage_volt: float | None = 4.2
    max_current_ampere: float | None = None
    temperature_celsius: float | None = None


@dataclass(frozen=True)
class Instrument:
    """The range of the channel the schedule runs on."""

    name: str = "generic"
    max_current_ampere: float | None = None
    min_voltage_volt: float | None = None
    max_voltage_volt: float | None = None


@dataclass(frozen=True)
class Safety:
    """Limits applied to every step; crossing one stops the test."""

    min_voltage_volt: float | None = None
    max_voltage_volt: float | None = None
    max_current_ampere: float | None = None
    max_temperature_celsius: float | None = None


@dataclass(frozen=True)
class Setpoint:
    """A current with its unit: ``Setpoint(0.5, "C")``, ``Setpoint(-2.0, "mA/cm2")``."""

    value: float
    unit: str = "A"

    def ampere(self, cell: Cell) -> float:
        """The current in amperes for this cell.

        Raises
        ------
        ProtocolError
            When the unit needs a cell value that is not given.
        """
        return _to_ampere(self.value, self.unit, cell)

    def __str__(self) -> str:
        return f"{self.value:g} {self.unit}" if self.unit != "C" else f"{self.value:g}C"


def _to_ampere(value: float, unit: str, cell: Cell) -> float:
    return _resolve(value, unit, cell, "A", "current", "a C-rate")


def _to_ampere_hour(value: float, unit: str, cell: Cell) -> float:
    return _resolve(value, unit, cell, "Ah", "capacity", "a capacity fraction")


def _resolve(value: float, unit: str, cell: Cell, base: str, quantity: str,
             c_meaning: str) -> float:
    """``value`` in ``base`` (A or Ah) from ``base``, milli-``base``, C or milli-``base``/cm²."""
    if unit == base:
        return value
    if unit == f"m{base}":
        return value * 1e-3
    if unit == "C":
        if cell.nominal_capacity_ampere_hour is None:
            raise ProtocolError(f"{c_meaning} needs the cell's nominal capacity")
        return value * cell.nominal_capacity_ampere_hour
    if unit == f"m{base}/cm2":
        if cell.area_square_centimeter is None:
            raise ProtocolError(f"an areal {quantity} needs the cell's area")
        return value * 1e-3 * cell.area_square_centimeter
    raise ProtocolError(f"unknown {quantity} unit {unit!r}; expected one of "
                        f"{(base, f'm{base}', 'C', f'm{base}/cm2')}")


@dataclass(frozen=True)
class End:
    """An end condition: the step ends when ``quantity operator value`` holds.

    Attributes
    ----------
    quantity
        ``"time"`` (s, step time), ``"voltage"`` (V), ``"current"`` (magnitude),
        ``"capacity"`` (charge passed in the step) or ``"dv_dt"`` (V/s).
    operator
        ``">="`` or ``"<="``.
    value
        Threshold in ``unit``.
    unit
        See :data:`CURRENT_UNITS`, :data:`CAPACITY_UNITS`; ``"s"``, ``"V"``, ``"V/s"``.
    goto
        Label of the step to continue with; ``None`` = the next step, ``"end"`` = stop.
    """

    quantity: str
    operator: str
    value: float
    unit: str
    goto: str | None = None

    def si_value(self, cell: Cell) -> float:
        """The threshold in s, V, A, Ah or V/s."""
        if self.quantity == "current":
            return _to_ampere(self.value, self.unit, cell)
        if self.quantity == "capacity":
            return _to_ampere_hour(self.value, self.unit, cell)
        return self.value


def until_time(seconds: float, goto: str | None = None) -> End:
    """Step time limit."""
    return End("time", ">=", float(seconds), "s", goto)


def until_voltage(volt: float, rising: bool, goto: str | None = None) -> End:
    """Voltage limit: ``rising`` for charge (V >= volt), else discharge (V <= volt)."""
    return End("voltage", ">=" if rising else "<=", float(volt), "V", goto)


def until_current(value: float, unit: str = "A", goto: str | None = None) -> End:
    """Current magnitude falls to ``value`` (CV taper end)."""
    return End("current", "<=", float(value), unit, goto)


def until_capacity(value: float, unit: str = "Ah", goto: str | None = None) -> End:
    """Charge passed in the step reaches ``value``."""
    return End("capacity", ">=", float(value), unit, goto)


@dataclass(frozen=True)
class Recording:
    """When data points are recorded: every Δt, ΔV or ΔI (any that is set)."""

    every_second: float | None = 10.0
    every_volt: float | None = None
    every_ampere: float | None = None


@dataclass(frozen=True)
class Pulse:
    """A pulse train: ``current`` for ``on_second``, ``off_current`` for ``off_second``."""

    on_second: float
    off_second: float
    off_current: Setpoint = Setpoint(0.0, "A")


@dataclass(frozen=True)
class Impedance:
    """EIS settings of an ``eis`` step."""

    mode: Literal["potentiostatic", "galvanostatic"] = "potentiostatic"
    start_frequency_hertz: float = 1e6
    end_frequency_hertz: float = 0.1
    points_per_decade: int = 10
    amplitude: float = 0.010
    amplitude_unit: Literal["V", "A"] = "V"


@dataclass(frozen=True)
class Step:
    """One step of a schedule.

    Attributes
    ----------
    kind
        ``rest``, ``ocv``, ``cc``, ``cv``, ``cccv``, ``cp``, ``pulse``, ``eis``, or
        ``opaque`` for a vendor step labkit does not model (read from a file, never
        generated).
    label
        Unique name (targets of ``goto``); generated when empty.
    current
        Signed setpoint for ``cc``, ``cccv`` and ``pulse`` (positive = charge); on an
        ``opaque`` step, the current the file states for it (its set point or limit),
        checked against the current range.
    voltage_volt
        Hold voltage of ``cv``/``cccv``; on an ``opaque`` step, the voltage limit the
        file states for it, checked against the cell window.
    power_watt
        Signed power of ``cp``.
    ends
        End conditions; the first that holds ends the step.
    record
        Recording rule.
    pulse, impedance
        Settings of ``pulse`` and ``eis`` steps.
    chamber_celsius
        Climate-chamber set point held during the step (temperature series).
    note
        Free text shown in tables and vendor step notes.
    vendor_step
        On an ``opaque`` step: the vendor's step type and what labkit could not read of
        it (``"Maccor 'Chg Func', StepValue 0|VAR1"``).
    """

    kind: str
    label: str = ""
    current: Setpoint | None = None
    voltage_volt: float | None = None
    power_watt: float | None = None
    ends: tuple[End, ...] = ()
    record: Recording = field(default_factory=Recording)
    pulse: Pulse | None = None
    impedance: Impedance | None = None
    chamber_celsius: float | None = None
    note: str = ""
    vendor_step: str = ""

    def end(self, quantity: str) -> End | None:
        """The first end condition on ``quantity``, if any."""
        return next((e for e in self.ends if e.quantity == quantity), None)


@dataclass(frozen=True)
class Loop:
    """Repeat ``steps`` ``count`` times."""

    steps: tuple[Step | Loop, ...]
    count: int
    label: str = ""


def walk_steps(items: tuple[Step | Loop, ...], loops: tuple[Loop, ...] = ()
               ) -> Iterator[tuple[Step, tuple[Loop, ...]]]:
    """Every step of a step/loop tree in order, with the loops enclosing it."""
    for item in items:
        if isinstance(item, Loop):
            yield from walk_steps(item.steps, (*loops, item))
        else:
            yield item, loops


@dataclass(frozen=True)
class Problem:
    """A rule a schedule breaks."""

    step: str
    rule: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """``{"step", "rule", "message"}``."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Schedule:
    """A complete test: what cell, which steps, which limits.

    Examples
    --------
    >>> from labkit.protocols.schedule import *
    >>> cell = Cell(nominal_capacity_ampere_hour=0.003, min_voltage_volt=3.0, max_voltage_volt=4.2)
    >>> charge = Step("cccv", current=Setpoint(1, "C"), voltage_volt=4.2,
    ...               ends=(until_current(0.05, "C"), until_time(3 * 3600)))
    >>> Schedule("1C CC-CV", cell, (charge,)).problems()
    []
    """

    name: str
    cell: Cell
    steps: tuple[Step | Loop, ...]
    safety: Safety = field(default_factory=Safety)
    instrument: Instrument = field(default_factory=Instrument)
    description: str = ""

    # -- traversal -------------------------------------------------------------

    def flat_steps(self) -> Iterator[tuple[Step, tuple[Loop, ...]]]:
        """Every step in order with the loops enclosing it (outermost first)."""
        return walk_steps(self.steps)

    def labelled(self) -> Schedule:
        """A copy where every step and loop has a unique label (``step_1``, ``loop_1``...)."""
        counters = {"step": 0, "loop": 0}

        def relabel(items):
            out = []
            for item in items:
                if isinstance(item, Loop):
                    counters["loop"] += 1
                    out.append(dataclasses.replace(
                        item, steps=relabel(item.steps),
                        label=item.label or f"loop_{counters['loop']}"))
                else:
                    counters["step"] += 1
                    out.append(item if item.label else dataclasses.replace(
                        item, label=f"step_{counters['step']}"))
            return tuple(out)

        return dataclasses.replace(self, steps=relabel(self.steps))

    # -- validation ------------------------------------------------------------

    def problems(self, *, capacity_at_start: bool = False,
                 strict_time_limits: bool = True) -> list[Problem]:
        """Every rule this schedule breaks; empty when it is safe and complete.

        Parameters
        ----------
        capacity_at_start
            True for a file whose cycler software is given the cell's nominal capacity
            when the test starts (Maccor, BioLogic, Arbin, PyBaMM): a C-rate or capacity
            fraction the cell cannot resolve is then no problem, and the rules that need
            it in amperes (the current range) are not run on it.
        strict_time_limits
            labkit's own rule, every step has a positive time limit. False for a vendor's
            file, whose steps may end on voltage or current alone, or at once (a 0 s
            limit after an internal-resistance pulse).
        """
        schedule = self.labelled()
        found: list[Problem] = []
        cell = schedule.cell
        low, high = cell.min_voltage_volt, cell.max_voltage_volt
        if low is not None and high is not None and low >= high:
            found.append(Problem("cell", "voltage-window",
                                 f"min voltage {low} V is not below max voltage {high} V"))
        max_current = _smallest(cell.max_current_ampere, schedule.instrument.max_current_ampere,
                                schedule.safety.max_current_ampere)
        labels = [s.label for s, _ in schedule.flat_steps()]
        duplicates = {x for x in labels if labels.count(x) > 1}
        for label in sorted(duplicates):
            found.append(Problem(label, "unique-label", "two steps share this label"))
        targets = set(labels) | {"end"}
        if not labels:
            found.append(Problem("schedule", "not-empty", "the schedule has no steps"))
        deferred = capacity_at_start and cell.nominal_capacity_ampere_hour is None
        for step, _loops in schedule.flat_steps():
            found.extend(_step_problems(step, cell, max_current, targets,
                                        deferred=deferred,
                                        strict_time_limits=strict_time_limits))
        found.extend(_loop_problems(schedule.steps))
        return found

    def validate(self) -> Schedule:
        """Return the labelled schedule, or raise :class:`ProtocolError` listing every problem."""
        problems = self.problems()
        if problems:
            listing = "; ".join(f"{p.step}: {p.rule}: {p.message}" for p in problems)
            raise ProtocolError(f"schedule {self.name!r} refused: {listing}")
        return self.labelled()

    # -- serialisation ---------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON/YAML-ready); :meth:`from_dict` inverts it exactly."""
        return {
            "labkit_schedule": SCHEMA_VERSION,
            "name": self.name,
            "description": self.description,
            "cell": dataclasses.asdict(self.cell),
            "instrument": dataclasses.asdict(self.instrument),
            "safety": dataclasses.asdict(self.safety),
            "steps": [_item_to_dict(item) for item in self.steps],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schedule:
        """Build a schedule from :meth:`to_dict` output (or hand-written YAML/JSON)."""
        if not isinstance(data, dict) or "steps" not in data:
            raise ProtocolError("a schedule needs a mapping with 'name', 'cell' and 'steps'")
        version = data.get("labkit_schedule", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise ProtocolError(f"schedule schema version {version} is not supported "
                                f"(this labkit reads version {SCHEMA_VERSION})")
        try:
            return cls(
                name=str(data.get("name", "")),
                description=str(data.get("description", "")),
                cell=Cell(**data.get("cell", {})),
                instrument=Instrument(**data.get("instrument", {})),
                safety=Safety(**data.get("safety", {})),
                steps=tuple(_item_from_dict(item) for item in data["steps"]),
            )
        except TypeError as exc:
            raise ProtocolError(f"schedule has an unknown or missing field: {exc}") from exc

    def to_yaml(self) -> str:
        """YAML text (block style, keys in definition order)."""
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    def to_json(self) -> str:
        """JSON text, indented."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)


def _smallest(*values: float | None) -> float | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def _outside(volt: float, low: float | None, high: float | None) -> bool:
    return (low is not None and volt < low) or (high is not None and volt > high)


def window_text(low: float | None, high: float | None) -> str:
    """``"2.5-4.2 V"``, or ``"up to 4.2 V"`` / ``"from 2.5 V"`` when one bound is unstated."""
    if low is None:
        return f"up to {high:g} V"
    if high is None:
        return f"from {low:g} V"
    return f"{low:g}-{high:g} V"


def _step_problems(step: Step, cell: Cell, max_current: float | None, targets: set[str], *,
                   deferred: bool, strict_time_limits: bool) -> list[Problem]:
    """The rules ``step`` breaks; ``deferred``: C units the cell cannot resolve are resolved
    by the cycler at test start, so they are no problem (and are not range-checked)."""
    found: list[Problem] = []
    low, high = cell.min_voltage_volt, cell.max_voltage_volt

    def problem(rule: str, message: str) -> None:
        found.append(Problem(step.label, rule, message))

    if step.kind not in STEP_KINDS:
        problem("step-kind", f"unknown step kind {step.kind!r}; expected one of {STEP_KINDS}")
        return found
    if strict_time_limits and step.kind != "eis" and step.end("time") is None:
        problem("time-limit", "every step needs a time limit so that it always ends")
    for end in step.ends:
        if end.quantity not in _END_UNITS:
            problem("end-condition", f"unknown end quantity {end.quantity!r}")
            continue
        if end.unit not in _END_UNITS[end.quantity]:
            problem("end-condition", f"{end.quantity} end in unknown unit {end.unit!r}; "
                                     f"expected one of {_END_UNITS[end.quantity]}")
            continue
        if end.operator not in (">=", "<="):
            problem("end-condition", f"operator {end.operator!r} is not >= or <=")
        if end.goto is not None and end.goto not in targets:
            problem("goto-target", f"goto {end.goto!r} names no step")
        if deferred and end.unit == "C":
            continue
        try:
            value = end.si_value(cell)
        except ProtocolError as exc:
            problem("resolvable", str(exc))
            continue
        if end.quantity == "time" and not (value > 0 or value == 0 and not strict_time_limits):
            problem("time-limit", f"time limit must be positive, is {value} s")
        if end.quantity == "voltage" and _outside(value, low, high):
            problem("voltage-window", f"voltage end {value} V is outside the cell window "
                                      f"{window_text(low, high)}")
    needs_current = step.kind in ("cc", "cccv", "pulse")
    if needs_current and step.current is None:
        problem("setpoint", f"a {step.kind} step needs a current")
    currents = [step.current] if step.current is not None else []
    if step.pulse is not None:
        currents.append(step.pulse.off_current)
    for setpoint in currents:
        if deferred and setpoint.unit == "C":
            continue
        try:
            ampere = setpoint.ampere(cell)
        except ProtocolError as exc:
            problem("resolvable", str(exc))
            continue
        if max_current is not None and abs(ampere) > max_current * (1 + 1e-9):
            problem("current-range", f"current {ampere:.6g} A exceeds the permitted "
                                     f"{max_current:.6g} A")
    if step.kind in ("cv", "cccv"):
        if step.voltage_volt is None:
            problem("setpoint", f"a {step.kind} step needs a hold voltage")
        elif _outside(step.voltage_volt, low, high):
            problem("voltage-window", f"hold voltage {step.voltage_volt} V is outside the "
                                      f"cell window {window_text(low, high)}")
    if step.kind == "opaque" and step.voltage_volt is not None and _outside(
            step.voltage_volt, low, high):
        problem("voltage-window", f"voltage limit {step.voltage_volt} V of this "
                                  f"{step.vendor_step or 'opaque'} step is outside the cell "
                                  f"window {window_text(low, high)}")
    if step.kind == "cp" and step.power_watt is None:
        problem("setpoint", "a cp step needs a power")
    if step.kind == "pulse" and step.pulse is None:
        problem("setpoint", "a pulse step needs pulse timing")
    if step.kind == "eis":
        settings = step.impedance
        if settings is None:
            problem("setpoint", "an eis step needs impedance settings")
        elif not (settings.start_frequency_hertz > 0 and settings.end_frequency_hertz > 0
                  and settings.points_per_decade > 0 and settings.amplitude > 0):
            problem("eis-settings", "frequencies, points per decade and amplitude must be > 0")
    return found


def _loop_problems(items, path: str = "") -> list[Problem]:
    found = []
    for item in items:
        if isinstance(item, Loop):
            label = item.label or "loop"
            if not isinstance(item.count, int) or not 1 <= item.count <= MAX_LOOP_COUNT:
                found.append(Problem(label, "loop-count", f"loop count must be an integer "
                                     f"from 1 to {MAX_LOOP_COUNT}, is {item.count!r}"))
            if not item.steps:
                found.append(Problem(label, "loop-body", "a loop needs at least one step"))
            found.extend(_loop_problems(item.steps))
    return found


def _item_to_dict(item: Step | Loop) -> dict[str, Any]:
    if isinstance(item, Loop):
        return {"loop": {"label": item.label, "count": item.count,
                         "steps": [_item_to_dict(s) for s in item.steps]}}
    out: dict[str, Any] = {"kind": item.kind}
    for f in dataclasses.fields(item):
        if f.name == "kind":
            continue
        value = getattr(item, f.name)
        if value is None or value == "" or value == ():
            continue
        if f.name == "ends":
            out["ends"] = [dataclasses.asdict(e) for e in value]
        elif dataclasses.is_dataclass(value):
            out[f.name] = dataclasses.asdict(value)
        else:
            out[f.name] = value
    return out


def _item_from_dict(data: dict[str, Any]) -> Step | Loop:
    if "loop" in data:
        loop = data["loop"]
        return Loop(steps=tuple(_item_from_dict(s) for s in loop.get("steps", ())),
                    count=loop.get("count"), label=loop.get("label", ""))
    data = dict(data)
    if "current" in data:
        data["current"] = Setpoint(**data["current"])
    if "ends" in data:
        data["ends"] = tuple(End(**e) for e in data["ends"])
    if "record" in data:
        data["record"] = Recording(**data["record"])
    if "pulse" in data:
        pulse = dict(data["pulse"])
        if "off_current" in pulse:
            pulse["off_current"] = Setpoint(**pulse["off_current"])
        data["pulse"] = Pulse(**pulse)
    if "impedance" in data:
        data["impedance"] = Impedance(**data["impedance"])
    return Step(**data)


def read_yaml(path: Path, expected: str) -> object:
    """The document of a YAML (or JSON) file.

    Raises
    ------
    ProtocolError
        Saying ``expected`` and where the text stops being YAML (line and column), or
        where it stops being UTF-8 (byte).
    """
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"expected {expected} in UTF-8: {exc.reason}", file=path,
                            position=f"byte {exc.start}") from exc
    except yaml.YAMLError as exc:
        raise ProtocolError(f"expected {expected}: {_yaml_problem(exc)}", file=path,
                            position=_yaml_position(exc)) from exc


def _yaml_problem(exc: Exception) -> str:
    return getattr(exc, "problem", None) or str(exc).splitlines()[0]


def _yaml_position(exc: Exception) -> str | None:
    """Line and column of a syntax error; character offset of a character YAML refuses."""
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        return f"line {mark.line + 1}, column {mark.column + 1}"
    offset = getattr(exc, "position", None)  # yaml.reader.ReaderError
    return None if offset is None else f"character {offset}"


def load_schedule(path: str | PathLike[str]) -> Schedule:
    """Read a schedule from a labkit YAML or JSON file."""
    path = Path(path)
    data = read_yaml(path, "a YAML/JSON schedule")
    try:
        return Schedule.from_dict(data)
    except ProtocolError as exc:
        exc.file = str(path)
        exc.args = (exc._render(),)
        raise


def save_schedule(schedule: Schedule, path: str | PathLike[str]) -> None:
    """Write a schedule as YAML (``.yaml``/``.yml``) or JSON (anything else), atomically."""
    from labkit.fileio import atomic_write

    path = Path(path)
    text = schedule.to_yaml() if path.suffix.lower() in (".yaml", ".yml") else schedule.to_json()
    with atomic_write(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
