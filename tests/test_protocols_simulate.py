"""Closing the loop: a generated schedule simulated with PyBaMM, analysed by labkit."""

from __future__ import annotations

import pytest

from labkit.analysis.rate import rate_capability
from labkit.protocols.generators import rate_ladder
from labkit.protocols.schedule import Cell
from labkit.protocols.simulate import experiment_cycles, simulate

pytest.importorskip("pybamm", reason="the `sim` extra (PyBaMM) is not installed")

CELL = Cell(name="LG M50 scaled", nominal_capacity_ampere_hour=5.0, min_voltage_volt=2.5,
            max_voltage_volt=4.2)


def test_each_loop_iteration_is_one_pybamm_cycle():
    cycles = experiment_cycles(rate_ladder(CELL, rates=(0.5, 1.0), repeats=2, return_rate=0.5))
    assert len(cycles) == 6
    assert cycles[0][3] == "Discharge at 0.5C for 3 hours or until 2.5 V"


@pytest.mark.slow
def test_simulated_rate_ladder_is_found_by_the_rate_analysis():
    rates = (0.5, 1.0, 2.0)
    record = simulate(rate_ladder(CELL, rates=rates, repeats=1, return_rate=0.5))
    assert record.meta.vendor == "PyBaMM"
    assert (record.data["current_ampere"] > 0).any() and (record.data["current_ampere"] < 0).any()
    result = rate_capability(record)
    assert result.reference_capacity_ampere_hour == pytest.approx(5.0)
    assert result.rates["c_rate_per_hour"].tolist() == pytest.approx(list(rates))
    assert len(result.recovery) == 1  # the return to C/2
    capacity = result.rates["mean_capacity_ampere_hour"].to_numpy()
    assert (capacity[:-1] > capacity[1:]).all(), "capacity must fall as the rate rises"
    assert result.recovery["recovery"].iloc[0] == pytest.approx(1.0, abs=0.02)
