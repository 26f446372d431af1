"""Schedule generators for fast charging and characterisation, with defaults from practice.

Each generator is a function of a :class:`~labkit.protocols.schedule.Cell` and
documented keyword parameters that returns a validated
:class:`~labkit.protocols.schedule.Schedule`. :data:`GENERATORS` maps the names
``labkit protocol make NAME`` accepts to them.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Sequence

from labkit.errors import ProtocolError
from labkit.protocols.schedule import (
    Cell,
    End,
    Impedance,
    Loop,
    Pulse,
    Recording,
    Safety,
    Schedule,
    Setpoint,
    Step,
    until_capacity,
    until_current,
    until_time,
    until_voltage,
)

HOUR = 3600.0
MINUTE = 60.0

GENERATORS: dict[str, Callable[..., Schedule]] = {}


def generator(function: Callable[..., Schedule]) -> Callable[..., Schedule]:
    """Register a generator under its function name; it refuses a cell without a voltage
    window (its limits and end voltages come from the window)."""

    @functools.wraps(function)
    def with_window(cell: Cell, *args, **kwargs) -> Schedule:
        if cell.min_voltage_volt is None or cell.max_voltage_volt is None:
            raise ProtocolError(f"{function.__name__} needs the cell's voltage window "
                                "(min_voltage_volt and max_voltage_volt)")
        return function(cell, *args, **kwargs)

    GENERATORS[function.__name__] = with_window
    return with_window


def _safety(cell: Cell) -> Safety:
    margin = 0.05
    return Safety(min_voltage_volt=cell.min_voltage_volt - margin,
                  max_voltage_volt=cell.max_voltage_volt + margin,
                  max_current_ampere=cell.max_current_ampere,
                  max_temperature_celsius=60.0)


def _finish(name: str, cell: Cell, steps: Sequence[Step | Loop], description: str) -> Schedule:
    return Schedule(name, cell, tuple(steps), safety=_safety(cell),
                    description=description).validate()


def rest(minutes: float, label: str = "", note: str = "") -> Step:
    """Open-circuit rest, recording every 60 s."""
    return Step("rest", label=label, ends=(until_time(minutes * MINUTE),),
                record=Recording(every_second=60.0), note=note)


def cc_charge(cell: Cell, rate: float, *, to_volt: float | None = None,
              capacity_c: float | None = None, label: str = "", note: str = "") -> Step:
    """Constant-current charge at ``rate`` C to ``to_volt`` (default the cell's max) or a capacity."""
    ends: list[End] = [until_voltage(to_volt or cell.max_voltage_volt, rising=True)]
    if capacity_c is not None:
        ends.append(until_capacity(capacity_c, "C"))
    ends.append(until_time(_time_limit(rate, capacity_c)))
    return Step("cc", label=label, current=Setpoint(rate, "C"), ends=tuple(ends),
                record=Recording(every_second=10.0, every_volt=0.005), note=note)


def cc_discharge(cell: Cell, rate: float, *, to_volt: float | None = None,
                 label: str = "", note: str = "") -> Step:
    """Constant-current discharge at ``rate`` C to ``to_volt`` (default the cell's min)."""
    return Step("cc", label=label, current=Setpoint(-rate, "C"),
                ends=(until_voltage(to_volt or cell.min_voltage_volt, rising=False),
                      until_time(_time_limit(rate))),
                record=Recording(every_second=10.0, every_volt=0.005), note=note)


def cccv_charge(cell: Cell, rate: float, *, cutoff_c: float = 0.05, hold_volt: float | None = None,
                max_hours: float | None = None, label: str = "", note: str = "") -> Step:
    """CC-CV charge: ``rate`` C to the hold voltage, then hold until the current falls to ``cutoff_c``."""
    hours = max_hours if max_hours is not None else 1.5 / rate + 2.0
    return Step("cccv", label=label, current=Setpoint(rate, "C"),
                voltage_volt=hold_volt or cell.max_voltage_volt,
                ends=(until_current(cutoff_c, "C"), until_time(hours * HOUR)),
                record=Recording(every_second=10.0, every_volt=0.005, every_ampere=None),
                note=note)


def _time_limit(rate: float, capacity_c: float | None = None) -> float:
    """A generous time limit: 1.5x the ideal duration, at least 10 minutes."""
    fraction = capacity_c if capacity_c is not None else 1.0
    return max(1.5 * fraction / abs(rate) * HOUR, 10 * MINUTE)


def _cycling(name: str, cell: Cell, charge: Sequence[Step], cycles: int, discharge_rate: float,
             description: str, rest_minutes: float = 10.0) -> Schedule:
    body = (*charge, rest(rest_minutes), cc_discharge(cell, discharge_rate), rest(rest_minutes))
    return _finish(name, cell, [Loop(tuple(body), cycles, label="cycle")], description)


@generator
def cccv(cell: Cell, rate: float = 1.0, cutoff_c: float = 0.05, cycles: int = 100,
         discharge_rate: float = 0.5) -> Schedule:
    """CC-CV fast charge at ``rate`` C (CV to ``cutoff_c``), C/2 discharge, repeated ``cycles`` times."""
    return _cycling(f"CC-CV {rate:g}C", cell, [cccv_charge(cell, rate, cutoff_c=cutoff_c)],
                    cycles, discharge_rate, f"CC-CV charge at {rate:g}C to "
                    f"{cell.max_voltage_volt} V, CV to C/{1 / cutoff_c:g}")


@generator
def mscc(cell: Cell, rates: Sequence[float] = (3.0, 2.0, 1.0),
         switch_soc: Sequence[float] = (0.3, 0.6, 0.8), switch_volt: Sequence[float] | None = None,
         cycles: int = 100, discharge_rate: float = 0.5) -> Schedule:
    """Multi-stage constant current: stage k at ``rates[k]`` until ``switch_soc[k]`` (or a voltage).

    Parameters
    ----------
    rates
        C-rate of each stage, usually decreasing.
    switch_soc
        State of charge (fraction of nominal capacity, from empty) that ends each stage.
    switch_volt
        Alternatively, the voltage that ends each stage.
    """
    if switch_volt is None and len(switch_soc) != len(rates):
        raise ProtocolError("mscc needs one switch SOC per stage")
    if switch_volt is not None and len(switch_volt) != len(rates):
        raise ProtocolError("mscc needs one switch voltage per stage")
    stages, previous = [], 0.0
    for index, rate in enumerate(rates):
        if switch_volt is not None:
            step = cc_charge(cell, rate, to_volt=switch_volt[index], label=f"stage_{index + 1}")
        else:
            window = switch_soc[index] - previous
            if window <= 0:
                raise ProtocolError("switch SOCs must increase")
            step = cc_charge(cell, rate, capacity_c=window, label=f"stage_{index + 1}")
            previous = switch_soc[index]
        stages.append(step)
    return _cycling("MSCC " + "-".join(f"{r:g}C" for r in rates), cell, stages, cycles,
                    discharge_rate, "multi-stage constant-current fast charge")


@generator
def boost(cell: Cell, boost_rate: float = 3.0, boost_minutes: float = 5.0, rate: float = 1.0,
          cutoff_c: float = 0.05, cycles: int = 100, discharge_rate: float = 0.5) -> Schedule:
    """Boost charging: ``boost_rate`` for ``boost_minutes`` at low SOC, then CC-CV at ``rate``."""
    boost_step = Step("cc", label="boost", current=Setpoint(boost_rate, "C"),
                      ends=(until_voltage(cell.max_voltage_volt, True),
                            until_time(boost_minutes * MINUTE)),
                      record=Recording(every_second=5.0, every_volt=0.005))
    return _cycling(f"boost {boost_rate:g}C/{boost_minutes:g} min", cell,
                    [boost_step, cccv_charge(cell, rate, cutoff_c=cutoff_c)], cycles,
                    discharge_rate, "boost charging then CC-CV")


@generator
def pulse_charge(cell: Cell, rate: float = 2.0, on_second: float = 10.0, off_second: float = 2.0,
                 off_rate: float = 0.0, cycles: int = 100, discharge_rate: float = 0.5) -> Schedule:
    """Pulse charging: ``rate`` C for ``on_second``, ``off_rate`` C for ``off_second``, to the max voltage."""
    duty = on_second / (on_second + off_second)
    step = Step("pulse", label="pulse_charge", current=Setpoint(rate, "C"),
                pulse=Pulse(on_second, off_second, Setpoint(off_rate, "C")),
                ends=(until_voltage(cell.max_voltage_volt, True),
                      until_time(_time_limit(rate * duty + off_rate * (1 - duty)))),
                record=Recording(every_second=1.0))
    return _cycling(f"pulse {rate:g}C {on_second:g}s/{off_second:g}s", cell, [step], cycles,
                    discharge_rate, "pulsed fast charge")


_POLICY_SEGMENT = re.compile(r"^\s*(?P<rate>\d+(?:\.\d+)?)\s*C?\s*(?:\((?P<soc>\d+(?:\.\d+)?)\s*%\))?\s*$")


def parse_policy(policy: str, final_soc: float = 0.8) -> list[tuple[float, float]]:
    """Parse a multi-step fast-charge policy into ``(C-rate, SOC at the end of the step)``.

    Two spellings: Severson/Attia ``"3.6C(9%)-5C"`` (each step until its SOC, the last
    to ``final_soc``) and Attia's CC1–CC4 ``"4.8-5.2-5.2-4.16"`` (equal SOC windows
    from 0 to ``final_soc``).

    >>> parse_policy("3.6C(9%)-5C")
    [(3.6, 0.09), (5.0, 0.8)]
    >>> parse_policy("4.8-5.2-5.2-4.16")
    [(4.8, 0.2), (5.2, 0.4), (5.2, 0.6), (4.16, 0.8)]
    """
    segments = [s.strip() for s in re.split(r"-(?=\s*\d)", policy) if s.strip()]
    parsed = []
    for segment in segments:
        match = _POLICY_SEGMENT.match(segment)
        if match is None:
            raise ProtocolError(f"policy step {segment!r} is not '<rate>C' or '<rate>C(<soc>%)'")
        soc = match.group("soc")
        parsed.append((float(match.group("rate")), None if soc is None else float(soc) / 100))
    if all(soc is None for _, soc in parsed):
        width = final_soc / len(parsed)
        return [(rate, round(width * (i + 1), 10)) for i, (rate, _) in enumerate(parsed)]
    result = []
    for index, (rate, soc) in enumerate(parsed):
        if soc is None:
            if index != len(parsed) - 1:
                raise ProtocolError(f"policy step {index + 1} of {policy!r} needs an SOC")
            soc = final_soc
        result.append((rate, soc))
    if any(b[1] <= a[1] for a, b in zip(result, result[1:], strict=False)):
        raise ProtocolError(f"SOC switch points of {policy!r} must increase")
    return result


@generator
def multistep(cell: Cell, policy: str = "4.8-5.2-5.2-4.16", final_soc: float = 0.8,
              finish_rate: float = 1.0, discharge_rate: float = 4.0, cycles: int = 100) -> Schedule:
    """The closed-loop-optimised multi-step fast charge of Attia et al. (Nature 2020).

    Each CC step charges to its SOC switch point (capacity from empty, in units of the
    nominal capacity) or the max voltage; then a ``finish_rate`` CC-CV to the max voltage,
    a rest, and a ``discharge_rate`` CC-CV discharge to the min voltage, as in the paper.
    """
    stages, previous = [], 0.0
    for index, (rate, soc) in enumerate(parse_policy(policy, final_soc)):
        stages.append(cc_charge(cell, rate, capacity_c=soc - previous, label=f"CC{index + 1}",
                                note=f"{rate:g}C to {soc:.0%} SOC"))
        previous = soc
    finish = cccv_charge(cell, finish_rate, cutoff_c=0.05, label="finish")
    discharge = Step("cccv", label="discharge", current=Setpoint(-discharge_rate, "C"),
                     voltage_volt=cell.min_voltage_volt,
                     ends=(until_current(0.05, "C"), until_time(_time_limit(discharge_rate)
                                                                + HOUR)),
                     record=Recording(every_second=5.0, every_volt=0.005))
    body = (*stages, finish, rest(5.0), discharge, rest(5.0))
    return _finish(f"multistep {policy}", cell, [Loop(body, cycles, label="cycle")],
                   f"Attia et al. 2020 multi-step fast charge {policy} to {final_soc:.0%} SOC")


@generator
def fast_charge_check(cell: Cell, target_soc: float = 0.8, minutes: float = 15.0,
                      discharge_rate: float = 1 / 3) -> Schedule:
    """The "0–80 % SOC in 15 min" check: full discharge, then CC at the rate that would
    deliver ``target_soc`` in ``minutes``, capped by the max voltage and the time, then
    a C/3 discharge to measure what was stored."""
    rate = target_soc / (minutes / 60)
    charge = Step("cc", label="fast_charge", current=Setpoint(rate, "C"),
                  ends=(until_voltage(cell.max_voltage_volt, True),
                        until_capacity(target_soc, "C"), until_time(minutes * MINUTE)),
                  record=Recording(every_second=1.0, every_volt=0.005),
                  note=f"{target_soc:.0%} in {minutes:g} min = {rate:g}C")
    steps = [cc_discharge(cell, discharge_rate, label="empty"), rest(30), charge, rest(10),
             cc_discharge(cell, discharge_rate, label="measure"), rest(10)]
    return _finish(f"fast-charge check {target_soc:.0%} in {minutes:g} min", cell, steps,
                   "USABC-style fast-charge capability check")


@generator
def rate_ladder(cell: Cell, rates: Sequence[float] = (0.1, 0.2, 0.5, 1, 2, 5, 10),
                repeats: int = 3, return_rate: float = 0.1, charge_rate: float = 0.2,
                symmetric: bool = False) -> Schedule:
    """Rate-capability ladder: ``repeats`` discharges at each rate, then back to ``return_rate``.

    Charges are CC-CV at ``charge_rate`` (or at the same rate when ``symmetric``).
    """
    items: list[Step | Loop] = []
    for rate in (*rates, return_rate):
        charge = cccv_charge(cell, rate if symmetric else charge_rate)
        body = (charge, rest(10), cc_discharge(cell, rate, note=f"{rate:g}C"), rest(10))
        items.append(Loop(body, repeats, label=f"rate_{rate:g}C"))
    return _finish("rate ladder " + "/".join(f"{r:g}" for r in rates), cell, items,
                   "rate capability with a return to the low rate")


@generator
def long_term_cycling(cell: Cell, cycles: int = 500, rate: float = 1.0,
                      reference_every: int = 50, reference_rate: float = 0.1) -> Schedule:
    """Cycling at ``rate`` with a slow reference cycle every ``reference_every`` cycles."""
    if cycles % reference_every:
        raise ProtocolError("cycles must be a multiple of reference_every")
    reference = (cccv_charge(cell, reference_rate), rest(30),
                 cc_discharge(cell, reference_rate, note="reference"), rest(30))
    block = Loop((cccv_charge(cell, rate), rest(10), cc_discharge(cell, rate), rest(10)),
                 reference_every, label="ageing")
    return _finish(f"cycling {rate:g}C x{cycles}", cell,
                   [Loop((*reference, block), cycles // reference_every, label="block"),
                    *reference], "long-term cycling with periodic reference cycles")


@generator
def ccd_staircase(cell: Cell, densities: Sequence[float] = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5,
                                                              0.6, 0.8, 1.0, 1.2, 1.5, 2.0),
                  half_cycle_minutes: float | None = 30.0,
                  areal_capacity: float | None = None, cycles_per_step: int = 1,
                  overpotential_limit_volt: float = 5.0, rest_minutes: float = 5.0) -> Schedule:
    """Critical-current-density staircase for a Li|SE|Li symmetric cell.

    Each density (mA/cm²) is applied as plating/stripping half cycles of fixed time
    (``half_cycle_minutes``) or fixed areal capacity (``areal_capacity``, mAh/cm²);
    the cell's voltage window must be ± ``overpotential_limit_volt`` or narrower.
    """
    if cell.area_square_centimeter is None:
        raise ProtocolError("a CCD staircase needs the cell's area (mA/cm² set points)")
    if (half_cycle_minutes is None) == (areal_capacity is None):
        raise ProtocolError("give exactly one of half_cycle_minutes and areal_capacity")
    items: list[Step | Loop] = []
    limit = min(overpotential_limit_volt, cell.max_voltage_volt)
    for density in densities:
        halves = []
        for sign, name in ((1, "strip"), (-1, "plate")):
            if areal_capacity is not None:
                ends = (until_capacity(areal_capacity, "mAh/cm2"),
                        until_voltage(sign * limit, rising=sign > 0, goto="end"),
                        until_time(1.5 * areal_capacity / density * HOUR))
            else:
                ends = (until_voltage(sign * limit, rising=sign > 0, goto="end"),
                        until_time(half_cycle_minutes * MINUTE))
            halves.append(Step("cc", label=f"{name}_{density:g}", note=f"{density:g} mA/cm²",
                               current=Setpoint(sign * density, "mA/cm2"), ends=ends,
                               record=Recording(every_second=1.0, every_volt=0.001)))
            halves.append(rest(rest_minutes, label=f"rest_{name}_{density:g}"))
        items.append(Loop(tuple(halves), cycles_per_step, label=f"density_{density:g}"))
    protocol = (f"{half_cycle_minutes:g} min" if half_cycle_minutes is not None
                else f"{areal_capacity:g} mAh/cm²")
    return _finish(f"CCD staircase ({protocol} per half cycle)", cell, items,
                   "stepped-current critical current density test; a voltage limit ends the test")


def eis_step(label: str, start_hertz: float = 1e6, end_hertz: float = 0.1,
             amplitude_volt: float = 0.010, points_per_decade: int = 10) -> Step:
    """A potentiostatic EIS step at open circuit."""
    return Step("eis", label=label, impedance=Impedance("potentiostatic", start_hertz, end_hertz,
                                                        points_per_decade, amplitude_volt, "V"),
                ends=(until_time(3 * HOUR),))


@generator
def bruce_vincent(cell: Cell, delta_volt: float = 0.010, hold_hours: float = 4.0,
                  rest_hours: float = 2.0) -> Schedule:
    """Bruce–Vincent t⁺ sequence: rest, EIS, chronoamperometry at ΔV, EIS."""
    hold = Step("cv", label="polarise", voltage_volt=delta_volt,
                ends=(until_time(hold_hours * HOUR),), record=Recording(every_second=1.0,
                                                                        every_ampere=1e-7),
                note=f"ΔV = {delta_volt * 1000:g} mV")
    steps = [rest(rest_hours * 60, label="equilibrate"), eis_step("eis_before"), hold,
             eis_step("eis_after")]
    window = Cell(**{**cell.__dict__, "min_voltage_volt": min(cell.min_voltage_volt, -0.5),
                     "max_voltage_volt": max(cell.max_voltage_volt, 0.5)})
    return _finish("Bruce-Vincent", window, steps, "EIS - chronoamperometry - EIS for t+")


@generator
def eis_temperature_series(cell: Cell, temperatures: Sequence[float] = (-20, 0, 20, 40, 60, 80),
                           hold_minutes: float = 60.0, start_hertz: float = 7e6,
                           end_hertz: float = 1.0) -> Schedule:
    """EIS at each chamber temperature after an equilibration hold of ``hold_minutes``."""
    items = []
    for temperature in temperatures:
        items.append(Step("rest", label=f"hold_{temperature:g}C", chamber_celsius=float(temperature),
                          ends=(until_time(hold_minutes * MINUTE),),
                          record=Recording(every_second=60.0)))
        step = eis_step(f"eis_{temperature:g}C", start_hertz, end_hertz)
        items.append(Step(**{**step.__dict__, "chamber_celsius": float(temperature)}))
    return _finish("EIS temperature series", cell, items,
                   "impedance at each temperature after equilibration")


@generator
def formation(cell: Cell, cycles: int = 3, rate: float = 0.1, cutoff_c: float = 0.02,
              initial_rest_hours: float = 6.0) -> Schedule:
    """Formation: a wetting rest, then slow CC-CV charge / CC discharge cycles."""
    body = (cccv_charge(cell, rate, cutoff_c=cutoff_c), rest(30), cc_discharge(cell, rate), rest(30))
    return _finish(f"formation {cycles}x {rate:g}C", cell,
                   [rest(initial_rest_hours * 60, label="wetting"), Loop(body, cycles, "formation")],
                   "formation cycles")


def describe(name: str) -> dict:
    """Name, summary and parameters (with defaults) of a generator, for ``protocol list``."""
    function = GENERATORS[name]
    parameters = {
        p.name: (None if p.default is inspect.Parameter.empty else p.default)
        for p in inspect.signature(function).parameters.values() if p.name != "cell"
    }
    return {"name": name, "summary": (function.__doc__ or "").strip().splitlines()[0],
            "parameters": parameters}
