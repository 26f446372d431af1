"""Fast-charge metrics: CC-CV charges whose capacity-time curve is known analytically."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labkit.analysis.fast_charge import fast_charge_metrics
from labkit.data import CyclingRecord, Metadata


def _cccv_charge(cc_current=4.0, cv_tau=300.0, dt=1.0, cc_seconds=600.0, cv_seconds=1800.0):
    """Rest, CC at ``cc_current`` A to 4.2 V, then CV with I = I_cc·exp(-t/τ)."""
    rest = pd.DataFrame({"test_time_second": dt * np.arange(1, 11), "current_ampere": 0.0,
                         "voltage_volt": 3.0})
    t_cc = 10 * dt + dt * np.arange(1, int(cc_seconds / dt) + 1)
    cc = pd.DataFrame({"test_time_second": t_cc, "current_ampere": cc_current,
                       "voltage_volt": np.linspace(3.4, 4.2, t_cc.size)})
    elapsed = dt * np.arange(1, int(cv_seconds / dt) + 1)
    cv = pd.DataFrame({"test_time_second": t_cc[-1] + elapsed,
                       "current_ampere": cc_current * np.exp(-elapsed / cv_tau),
                       "voltage_volt": 4.2})
    return CyclingRecord(pd.concat([rest, cc, cv], ignore_index=True), Metadata())


def test_fast_charge_time_to_80_percent_and_cc_fraction_match_the_analytic_charge():
    record = _cccv_charge()
    result = fast_charge_metrics(record, nominal_capacity_ampere_hour=1.0)
    row = result.charges.iloc[0]
    q_cc = 4.0 * 600 / 3600  # 0.6667 Ah
    # CV: Q(t) = q_cc + 4 τ (1 - exp(-t/τ)) / 3600 reaches 0.8 Ah at t = -τ ln(1 - 0.1333·3600/(4τ))
    t80 = 600 - 300 * np.log(1 - (0.8 - q_cc) * 3600 / (4 * 300))
    assert row["time_to_80_percent_second"] == pytest.approx(t80, abs=2.0)
    assert row["capacity_in_10_min_ampere_hour"] == pytest.approx(q_cc, rel=1e-9)
    q15 = q_cc + 4 * 300 * (1 - np.exp(-1.0)) / 3600
    assert row["capacity_in_15_min_ampere_hour"] == pytest.approx(q15, rel=2e-3)
    total = q_cc + 4 * 300 * (1 - np.exp(-6.0)) / 3600
    assert row["cc_fraction"] == pytest.approx(q_cc / total, rel=2e-3)
    assert bool(row["meets_usabc_fast_charge"]) is bool(t80 <= 900)


def test_slow_charge_fails_the_usabc_target_and_own_capacity_reference_is_stated():
    record = _cccv_charge(cc_current=1.0, cc_seconds=2400, cv_seconds=1200)
    result = fast_charge_metrics(record, nominal_capacity_ampere_hour=1.0)
    assert not bool(result.charges["meets_usabc_fast_charge"].iloc[0])
    own = fast_charge_metrics(record)
    assert own.soc_reference == "each charge's own capacity"
    assert own.charges["meets_usabc_fast_charge"].iloc[0] is None
