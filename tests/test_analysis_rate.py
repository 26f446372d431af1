"""Rate capability: ladders generated from the Tian model with exact capacities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labkit.analysis.rate import fit_tian, rate_capability, snap_rate, tian_capacity
from labkit.data import CyclingRecord, Metadata
from labkit.errors import AnalysisError, MetadataError

NOMINAL = 0.002  # Ah
TAU, N = 0.08, 0.9


def _ladder(rates, repeats=2, spread=0.0, seed=0):
    """Charge at C/5 then discharge at each rate; every step 200 samples, capacities exact."""
    rng = np.random.default_rng(seed)
    rows, clock, truth = [], [0.0], []

    def step(current, capacity, v0, v1):
        dt = capacity * 3600 / abs(current) / 200
        t = clock[0] + dt * np.arange(1, 201)
        rows.append(pd.DataFrame({"test_time_second": t, "current_ampere": current,
                                  "voltage_volt": np.linspace(v0, v1, 200)}))
        clock[0] = t[-1]

    def rest():
        t = clock[0] + 60.0 * np.arange(1, 6)
        rows.append(pd.DataFrame({"test_time_second": t, "current_ampere": 0.0,
                                  "voltage_volt": 3.6}))
        clock[0] = t[-1]

    for rate in rates:
        for _ in range(repeats):
            capacity = float(tian_capacity(np.array([rate]), NOMINAL, TAU, N)[0])
            capacity *= 1 + spread * rng.standard_normal()
            truth.append(capacity)
            step(0.2 * NOMINAL, capacity, 3.4, 4.2)
            rest()
            step(-rate * NOMINAL, capacity, 4.0, 3.0)
            rest()
    return CyclingRecord(pd.concat(rows, ignore_index=True), Metadata()), np.array(truth)


def test_rates_are_detected_grouped_and_the_tian_parameters_recovered():
    rates = (0.1, 0.2, 0.5, 1, 2, 5, 10, 0.2)
    record, truth = _ladder(rates)
    result = rate_capability(record, nominal_capacity_ampere_hour=NOMINAL)
    assert result.rates["c_rate_per_hour"].tolist() == [0.1, 0.2, 0.5, 1, 2, 5, 10]
    assert result.rates["count"].tolist() == [2] * 7
    assert result.rates["mean_capacity_ampere_hour"].to_numpy() == pytest.approx(
        truth[:-2:2], rel=1e-9)
    assert result.rates["retention"].to_numpy() == pytest.approx(truth[:-2:2] / truth[0])
    assert result.recovery["c_rate_per_hour"].tolist() == [0.2]
    assert result.recovery["recovery"].iloc[0] == pytest.approx(1.0)
    fit = result.tian_fit
    assert fit.success
    assert fit.tau_hour.value == pytest.approx(TAU, rel=1e-4)
    assert fit.n.value == pytest.approx(N, rel=1e-4)
    assert fit.q_max_ampere_hour.value == pytest.approx(NOMINAL, rel=1e-4)
    assert set(result.to_dict()) >= {"rates", "tian_fit"}


def test_tian_uncertainties_cover_the_truth_on_noisy_capacities():
    rates = np.array([0.1, 0.2, 0.5, 1, 2, 5, 10, 20])
    rng = np.random.default_rng(3)
    hits = 0
    for _ in range(40):
        noisy = tian_capacity(rates, 1.0, TAU, N) * (1 + 0.005 * rng.standard_normal(rates.size))
        fit = fit_tian(rates, noisy)
        hits += abs(fit.tau_hour.value - TAU) <= 2 * fit.tau_hour.stderr
    assert hits >= 32  # ~95 % expected inside 2 sigma


def test_mass_times_specific_capacity_defines_1c():
    record, _ = _ladder((0.5, 1, 2, 5), repeats=1)
    result = rate_capability(record, active_mass_gram=0.01, specific_capacity_milliampere_hour_per_gram=200)
    assert result.reference_capacity_ampere_hour == pytest.approx(NOMINAL)
    assert result.rates["c_rate_per_hour"].tolist() == [0.5, 1, 2, 5]
    with pytest.raises(MetadataError, match="nominal capacity not given"):
        rate_capability(record)


def test_snapping_to_usual_rates():
    assert snap_rate(np.array([0.098, 0.34, 1.04, 2.5, 9.3, 11.0]), 0.05).tolist() == pytest.approx(
        [0.1, 1 / 3, 1.0, 2.5, 9.0, 11.0])


def test_example_rate_ladder_gives_its_tian_parameters():
    from labkit.examples import rate_capability as example

    result = rate_capability(example())
    assert result.tian_fit.tau_hour.value == pytest.approx(0.05, rel=0.05)
    assert result.tian_fit.n.value == pytest.approx(0.8, rel=0.05)


def test_a_record_without_discharge_steps_cannot_give_rates():
    record, _ = _ladder((1, 2), repeats=1)
    record = CyclingRecord(record.data[record.data["current_ampere"] >= 0], record.meta)
    with pytest.raises(AnalysisError, match="no constant-current discharge step"):
        rate_capability(record, nominal_capacity_ampere_hour=1.0)
