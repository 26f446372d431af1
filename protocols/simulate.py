"""Simulate a schedule on a PyBaMM model cell and return the data as a labkit record.

Needs the optional ``sim`` extra (``pip install labkit[sim]``, which installs PyBaMM).
The schedule is turned into PyBaMM ``Experiment`` strings
(:mod:`labkit.protocols.pybamm`, with the translations listed there), each
top-level loop iteration becoming one PyBaMM cycle. The model cell is a PyBaMM
parameter set (default ``Chen2020``, an LG M50 NMC811|graphite-SiOx cell) whose
electrode width is scaled so its nominal capacity equals the schedule cell's;
the voltage cut-offs are widened to the schedule cell's window (where it states one). The returned
:class:`~labkit.data.CyclingRecord` follows labkit's conventions (current positive
on charge), so every analysis runs on it unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from labkit.data import CyclingRecord, Metadata, Sample
from labkit.errors import ProtocolError
from labkit.protocols.pybamm import step_strings
from labkit.protocols.schedule import Loop, Schedule

_MODELS = ("SPM", "SPMe", "DFN")


def experiment_cycles(schedule: Schedule) -> list[tuple[str, ...]]:
    """PyBaMM cycles: each top-level step alone, each top-level loop iteration as one tuple."""
    schedule = schedule.labelled()

    def strings(items) -> list[str]:
        out: list[str] = []
        for item in items:
            if isinstance(item, Loop):
                out.extend(strings(item.steps) * item.count)
            else:
                out.extend(step_strings(item, schedule.cell)[0])
        return out

    cycles: list[tuple[str, ...]] = []
    for item in schedule.steps:
        if isinstance(item, Loop):
            cycles.extend([tuple(strings(item.steps))] * item.count)
        else:
            cycles.append(tuple(strings([item])))
    return cycles


def simulate(schedule: Schedule, *, model: str = "SPMe", parameter_set: str = "Chen2020",
             period_second: float = 30.0) -> CyclingRecord:
    """Run ``schedule`` on a PyBaMM model cell.

    Parameters
    ----------
    schedule
        A valid schedule whose cell states its nominal capacity.
    model
        ``"SPM"``, ``"SPMe"`` (default) or ``"DFN"``.
    parameter_set
        A PyBaMM parameter set name.
    period_second
        Output sampling period.

    Returns
    -------
    CyclingRecord
        ``test_time_second``, ``voltage_volt``, ``current_ampere`` (positive = charge),
        ``cycle_count`` (PyBaMM cycle, from 1), ``step_count`` (from 1).
    """
    try:
        import pybamm
    except ImportError:
        raise ProtocolError("simulation needs PyBaMM: pip install 'labkit[sim]'") from None
    if model not in _MODELS:
        raise ProtocolError(f"unknown model {model!r}; expected one of {_MODELS}")
    schedule = schedule.validate()
    cell = schedule.cell
    if cell.nominal_capacity_ampere_hour is None:
        raise ProtocolError("simulation needs the cell's nominal capacity")
    parameters = pybamm.ParameterValues(parameter_set)
    scale = cell.nominal_capacity_ampere_hour / parameters["Nominal cell capacity [A.h]"]
    parameters.update({
        "Electrode width [m]": parameters["Electrode width [m]"] * scale,
        "Nominal cell capacity [A.h]": cell.nominal_capacity_ampere_hour,
    })
    if cell.min_voltage_volt is not None:  # a window the cell does not state stays PyBaMM's
        parameters["Lower voltage cut-off [V]"] = min(parameters["Lower voltage cut-off [V]"],
                                                      cell.min_voltage_volt - 0.1)
    if cell.max_voltage_volt is not None:
        parameters["Upper voltage cut-off [V]"] = max(parameters["Upper voltage cut-off [V]"],
                                                      cell.max_voltage_volt + 0.1)
    experiment = pybamm.Experiment(experiment_cycles(schedule),
                                   period=f"{period_second:g} seconds")
    simulation = pybamm.Simulation(getattr(pybamm.lithium_ion, model)(),
                                   parameter_values=parameters, experiment=experiment)
    try:
        solution = simulation.solve()
    except pybamm.SolverError as exc:
        raise ProtocolError(f"PyBaMM could not simulate the schedule: {exc}") from exc
    parts = []
    step_count = 0
    for cycle_number, cycle in enumerate(solution.cycles, start=1):
        if cycle is None:
            break
        for step in cycle.steps:
            step_count += 1
            if isinstance(step, pybamm.EmptySolution):
                continue  # the step's end condition held at its start: nothing recorded
            parts.append(pd.DataFrame({
                "test_time_second": step["Time [s]"].entries,
                "voltage_volt": step["Voltage [V]"].entries,
                "current_ampere": -step["Current [A]"].entries,  # PyBaMM: positive = discharge
                "cycle_count": np.int32(cycle_number),
                "step_count": np.int32(step_count),
            }))
    if not parts:
        raise ProtocolError("PyBaMM returned no data for the schedule")
    data = pd.concat(parts, ignore_index=True)
    meta = Metadata(vendor="PyBaMM", technique=("simulation",),
                    instrument=f"PyBaMM {pybamm.__version__} {model} ({parameter_set})",
                    sample=Sample(name=cell.name or None,
                                  nominal_capacity_ampere_hour=cell.nominal_capacity_ampere_hour,
                                  area_square_centimeter=cell.area_square_centimeter),
                    notes=(f"simulated schedule {schedule.name!r}",
                           f"{parameter_set} cell scaled to "
                           f"{cell.nominal_capacity_ampere_hour:g} Ah by electrode width"))
    record = CyclingRecord(data, meta)
    record.validate()
    return record
