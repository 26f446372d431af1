"""Li⁺ transference number: CA + EIS with a known t⁺, by every method."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labkit.analysis._base import Estimate
from labkit.analysis.transference import transference_number
from labkit.data import CyclingRecord, Metadata
from labkit.errors import MetadataError


def _ca(t_plus, delta_v=0.01, rb=100.0, r0=500.0, rss=550.0, noise=0.0, seed=0, tail=300.0):
    """Ohmic model: I0 = ΔV/(Rb+R0); I_ss = ΔV/(Rb/t+ + Rss), the Bruce–Vincent steady state."""
    i0 = delta_v / (rb + r0)
    iss = delta_v / (rb / t_plus + rss)
    t = np.arange(0.0, 4 * 3600 + 1, 5.0)
    current = iss + (i0 - iss) * np.exp(-t / tail)
    current = current + noise * i0 * np.random.default_rng(seed).standard_normal(t.size)
    data = pd.DataFrame({"test_time_second": t, "current_ampere": current,
                         "voltage_volt": np.full(t.size, delta_v)})
    return CyclingRecord(data, Metadata()), i0, iss


@pytest.mark.parametrize("t_plus", [0.2, 0.4, 0.9])
def test_exact_data_give_the_known_t_plus_by_all_corrected_methods(t_plus):
    record, i0, iss = _ca(t_plus)
    result = transference_number(record, r0_ohm=500.0, rss_ohm=550.0, rb_ohm=100.0)
    assert result.t_plus_bruce_vincent.value == pytest.approx(t_plus, rel=1e-6)
    assert result.t_plus_bruce_vincent_ohm.value == pytest.approx(t_plus, rel=1e-6)
    assert result.t_plus_watanabe.value == pytest.approx(t_plus, rel=1e-6)
    assert result.t_plus_evans.value == pytest.approx(iss / i0, rel=1e-6)
    assert result.steady_state


def test_uncertainty_propagation_matches_a_monte_carlo():
    record, _, _ = _ca(0.4, noise=0.002)
    r0, rss = Estimate(500.0, 10.0), Estimate(550.0, 10.0)
    result = transference_number(record, r0_ohm=r0, rss_ohm=rss)
    rng = np.random.default_rng(1)
    iss, i0, dv = result.iss_ampere.value, result.i0_ampere.value, result.delta_v_volt.value
    r0_draw = rng.normal(500, 10, 200_000)
    rss_draw = rng.normal(550, 10, 200_000)
    i0_draw = rng.normal(i0, result.i0_ampere.stderr, 200_000)
    iss_draw = rng.normal(iss, result.iss_ampere.stderr, 200_000)
    draws = iss_draw * (dv - i0_draw * r0_draw) / (i0_draw * (dv - iss_draw * rss_draw))
    assert result.t_plus_bruce_vincent.stderr == pytest.approx(draws.std(), rel=0.05)
    assert result.t_plus_bruce_vincent.value == pytest.approx(0.4, abs=3 * draws.std())


def test_unsteady_current_is_flagged():
    record, _, _ = _ca(0.4, tail=20000.0)
    result = transference_number(record, r0_ohm=500.0, rss_ohm=550.0)
    assert not result.steady_state
    assert result.steady_drift_fraction < -0.01


def test_spectra_are_fitted_for_the_resistances():
    from labkit.examples import transference_experiment

    ca, before, after = transference_experiment(t_plus=0.4)
    result = transference_number(ca, eis_before=before, eis_after=after)
    assert result.r0_ohm.value == pytest.approx(500.0, rel=0.01)
    assert result.rss_ohm.value == pytest.approx(550.0, rel=0.01)
    assert result.rb_ohm.value == pytest.approx(100.0, rel=0.01)
    for estimate in (result.t_plus_bruce_vincent, result.t_plus_bruce_vincent_ohm,
                     result.t_plus_watanabe):
        assert estimate.value == pytest.approx(0.4, abs=max(0.01, 3 * estimate.stderr))
        assert 0 < estimate.stderr < 0.01
    assert set(result.to_dict()) >= {"t_plus_bruce_vincent", "t_plus_evans", "t_plus_watanabe"}


def test_missing_resistances_or_voltage_are_clear_errors():
    record, _, _ = _ca(0.4)
    with pytest.raises(MetadataError, match="interfacial resistances not given"):
        transference_number(record)
    no_voltage = CyclingRecord(record.data.drop(columns="voltage_volt"), Metadata())
    with pytest.raises(MetadataError, match="ΔV not given"):
        transference_number(no_voltage, r0_ohm=1.0, rss_ohm=1.0)
    assert transference_number(no_voltage, r0_ohm=500.0, rss_ohm=550.0,
                               delta_v_volt=0.01).t_plus_bruce_vincent.value == pytest.approx(0.4)


def test_rests_before_and_after_the_polarisation_are_ignored():
    record, _, _ = _ca(0.4)
    rest = pd.DataFrame({"test_time_second": np.arange(-600.0, 0.0, 5.0), "current_ampere": 0.0,
                         "voltage_volt": 0.0})
    after = pd.DataFrame({"test_time_second": 4 * 3600 + np.arange(5.0, 600.0, 5.0),
                          "current_ampere": 0.0, "voltage_volt": 0.0})
    padded = pd.concat([rest, record.data, after], ignore_index=True)
    result = transference_number(CyclingRecord(padded, Metadata()), r0_ohm=500.0, rss_ohm=550.0)
    assert result.t_plus_bruce_vincent.value == pytest.approx(0.4, rel=1e-6)
    assert result.delta_v_volt.value == pytest.approx(0.01)
