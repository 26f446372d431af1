"""Differential capacity: a logistic plateau with an analytic dQ/dV peak."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labkit.analysis.dqdv import differential_capacity
from labkit.data import CyclingRecord, Metadata


def test_dqdv_peak_of_a_logistic_plateau_has_the_analytic_position_and_height():
    q0, v0, width, dt = 1.0, 3.7, 0.02, 2.0
    t = dt * np.arange(1, int(0.999 * 3600 / dt) + 1)
    q = t / 3600
    voltage = v0 + width * np.log(q / (q0 - q))
    voltage += 5e-4 * np.random.default_rng(0).standard_normal(t.size)
    charge = pd.DataFrame({"test_time_second": t, "current_ampere": 1.0, "voltage_volt": voltage})
    discharge = pd.DataFrame({"test_time_second": t[-1] + 60 + t, "current_ampere": -1.0,
                              "voltage_volt": voltage[::-1]})
    record = CyclingRecord(pd.concat([charge, discharge], ignore_index=True), Metadata())
    result = differential_capacity(record)
    for direction in ("charge", "discharge"):
        peak = result.peaks(1, direction).iloc[0]
        assert peak["voltage_volt"] == pytest.approx(v0, abs=0.005)
        # dQ/dV of a logistic peaks at Q0 / (4 w) = 12.5 Ah/V; smoothing lowers it a little
        assert peak["dq_dv_ampere_hour_per_volt"] == pytest.approx(q0 / (4 * width), rel=0.05)
    assert "Savitzky-Golay" in result.to_dict()["method"]
