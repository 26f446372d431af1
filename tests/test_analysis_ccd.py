"""Critical current density: staircases with a failure injected at a known step and time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labkit.analysis.ccd import CcdCriteria, critical_current_density
from labkit.data import CyclingRecord, Metadata, Sample
from labkit.errors import MetadataError

DENSITIES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
DT = 5.0


def _staircase(fail_level=None, mode="short", half_cycle_second=600.0, capacity=None,
               asr=100.0, noise_volt=5e-4, seed=0, area=1.0, rest_second=0.0):
    """± each density per level; V = j·ASR with a nucleation overshoot and Gaussian noise.

    The failure starts 300 s into the positive half cycle of ``fail_level``. Returns the
    record and the time of the first failing sample.
    """
    rng = np.random.default_rng(seed)
    rows, clock, truth = [], 0.0, None
    for level, density in enumerate(DENSITIES):
        duration = half_cycle_second if capacity is None else capacity / density * 3600
        for sign in (1, -1):
            n = int(round(duration / DT))
            t = clock + DT * np.arange(1, n + 1)
            v = density / 1000 * asr * (1 + 0.05 * np.exp(-(t - clock) / 60))
            if level == fail_level and sign == 1:
                k = int(300 / DT)
                truth = t[k]
                if mode == "short":
                    v[k:] = 3e-4
                elif mode == "soft":
                    v[k:] = v[k:] * np.exp(-np.arange(n - k) / 10.0) + 3e-4
                elif mode == "noise":
                    v[k:] = v[k:] * (1 + 0.6 * rng.standard_normal(n - k))
                elif mode == "limit":
                    v[k:] = np.minimum(v[k] + 0.5 * np.arange(n - k), 5.2)
            v = sign * (np.abs(v) + noise_volt * rng.standard_normal(n))
            rows.append(pd.DataFrame({"test_time_second": t,
                                      "current_ampere": sign * density / 1000 * area,
                                      "voltage_volt": v}))
            clock = t[-1]
            if rest_second:
                rest = clock + DT * np.arange(1, int(rest_second / DT) + 1)
                rows.append(pd.DataFrame({"test_time_second": rest, "current_ampere": 0.0,
                                          "voltage_volt": noise_volt * rng.standard_normal(
                                              rest.size)}))
                clock = rest[-1]
    return CyclingRecord(pd.concat(rows, ignore_index=True), Metadata()), truth


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hard_short_is_a_voltage_drop_at_the_injected_sample(seed):
    record, truth = _staircase(fail_level=3, seed=seed)
    result = critical_current_density(record, area_square_centimeter=1.0)
    assert result.criterion == "voltage_drop"
    assert result.ccd_milliampere_per_square_centimeter == pytest.approx(0.3)
    assert result.failed_at_milliampere_per_square_centimeter == pytest.approx(0.4)
    assert result.failure_time_second == pytest.approx(truth)
    assert result.protocol == "fixed-time"
    # 0.4 mA/cm² for 305 s into the half cycle
    assert result.critical_areal_capacity_milliampere_hour_per_square_centimeter == pytest.approx(
        0.4 * (300 + DT) / 3600)
    status = result.half_cycles["status"].tolist()
    assert status[:6] == ["passed"] * 6 and status[6] == "failed"


def test_gradual_soft_short_is_an_ohmic_collapse():
    record, truth = _staircase(fail_level=4, mode="soft")
    result = critical_current_density(record, area_square_centimeter=1.0)
    assert result.criterion == "ohmic_collapse"
    assert result.failed_at_milliampere_per_square_centimeter == pytest.approx(0.5)
    # |V| = 50 mV·exp(-m/10) falls below 10 % of the first polarisation (~1 mV) at m = 10 ln 50
    expected = truth + 10 * np.log(50) * DT
    assert result.failure_time_second == pytest.approx(expected, abs=3 * DT)


def test_erratic_voltage_is_noise():
    record, truth = _staircase(fail_level=2, mode="noise")
    result = critical_current_density(record, area_square_centimeter=1.0)
    assert result.criterion == "noise"
    assert result.ccd_milliampere_per_square_centimeter == pytest.approx(0.2)
    assert abs(result.failure_time_second - truth) <= 3 * DT


def test_overpotential_limit_fires_when_the_voltage_reaches_it():
    record, _ = _staircase(fail_level=5, mode="limit")
    result = critical_current_density(record, area_square_centimeter=1.0)
    assert result.criterion == "overpotential_limit"
    voltage = record.data["voltage_volt"].abs().to_numpy()
    first_at_limit = record.data["test_time_second"].to_numpy()[np.argmax(voltage >= 5.0)]
    assert result.failure_time_second == pytest.approx(first_at_limit)
    assert result.ccd_milliampere_per_square_centimeter == pytest.approx(0.5)
    lenient = critical_current_density(record, 1.0, CcdCriteria(overpotential_limit_volt=None))
    assert lenient.criterion is None


def test_healthy_cell_passes_every_step_and_fixed_capacity_is_recognised():
    record, _ = _staircase(capacity=0.05)
    result = critical_current_density(record, area_square_centimeter=1.0)
    assert result.criterion is None and result.failure_time_second is None
    assert result.ccd_milliampere_per_square_centimeter == pytest.approx(0.6)
    assert result.protocol == "fixed-capacity"
    areal = result.half_cycles["areal_capacity_milliampere_hour_per_square_centimeter"]
    assert areal.to_numpy() == pytest.approx(0.05, rel=0.02)


def test_rests_between_half_cycles_change_nothing():
    record, truth = _staircase(fail_level=3, rest_second=120.0)
    result = critical_current_density(record, area_square_centimeter=1.0)
    assert result.criterion == "voltage_drop"
    assert result.failure_time_second == pytest.approx(truth)
    assert len(result.half_cycles) == 2 * len(DENSITIES)
    assert result.protocol == "fixed-time"


def test_current_density_uses_the_area():
    record, _ = _staircase(fail_level=3, area=0.5)
    result = critical_current_density(record, area_square_centimeter=0.5)
    assert result.failed_at_milliampere_per_square_centimeter == pytest.approx(0.4)


def test_area_from_metadata_or_a_clear_error():
    record, _ = _staircase(fail_level=3)
    with pytest.raises(MetadataError, match="cell area not given"):
        critical_current_density(record)
    with_area = CyclingRecord(record.data, Metadata(sample=Sample(area_square_centimeter=1.0)))
    assert critical_current_density(with_area).failed_at_milliampere_per_square_centimeter == 0.4


def test_example_llzo_staircase_shorts_at_06():
    from labkit.examples import ccd_staircase

    result = critical_current_density(ccd_staircase())
    assert result.ccd_milliampere_per_square_centimeter == pytest.approx(0.5)
    assert result.failed_at_milliampere_per_square_centimeter == pytest.approx(0.6)
    assert result.criterion in ("voltage_drop", "ohmic_collapse")
