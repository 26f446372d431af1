"""Electrolyte-limited current and C-rate: textbook limits and hand calculations."""

from __future__ import annotations

import math

import pytest

from labkit.analysis.limits import FARADAY, electrolyte_limits, sand_time

LIQUID = dict(conductivity_siemens_per_centimeter=1e-2, transference_number=0.4,
              thickness_centimeter=25e-4, diffusivity_square_centimeter_per_second=3e-6,
              concentration_mole_per_liter=1.0)


def test_limiting_current_matches_a_hand_calculation():
    result = electrolyte_limits(**LIQUID)
    # 2 F D c / ((1 - t+) L) = 2 · 96485 · 3e-6 · 1e-3 / (0.6 · 25e-4) A/cm²
    expected = 1000 * 2 * FARADAY * 3e-6 * 1e-3 / (0.6 * 25e-4)
    assert result.limiting_current_milliampere_per_square_centimeter == pytest.approx(expected)
    assert result.limiting_current_milliampere_per_square_centimeter == pytest.approx(385.9, rel=1e-3)
    assert result.ohmic_limit_milliampere_per_square_centimeter == pytest.approx(400.0)
    assert result.limiting_mechanism == "concentration"


def test_doubling_the_thickness_halves_the_limiting_current():
    thin = electrolyte_limits(**LIQUID)
    thick = electrolyte_limits(**{**LIQUID, "thickness_centimeter": 50e-4})
    assert thick.limiting_current_milliampere_per_square_centimeter == pytest.approx(
        thin.limiting_current_milliampere_per_square_centimeter / 2)
    assert thick.ohmic_limit_milliampere_per_square_centimeter == pytest.approx(
        thin.ohmic_limit_milliampere_per_square_centimeter / 2)


def test_single_ion_conductor_has_no_concentration_limit():
    result = electrolyte_limits(**{**LIQUID, "transference_number": 1.0},
                                current_density_milliampere_per_square_centimeter=10.0)
    assert math.isinf(result.limiting_current_milliampere_per_square_centimeter)
    assert math.isinf(result.sand_time_second)
    assert result.limiting_mechanism == "ohmic"
    assert result.electrolyte_limited_current_milliampere_per_square_centimeter == pytest.approx(
        400.0)
    near_one = electrolyte_limits(**{**LIQUID, "transference_number": 0.999})
    assert near_one.limiting_current_milliampere_per_square_centimeter > 1e5


def test_sand_time_and_max_c_rate():
    # Sand: π D (c F)² / (4 (i (1 - t+))²) at 1 mA/cm²
    expected = math.pi * 3e-6 * (1e-3 * FARADAY) ** 2 / (4 * (1e-3 * 0.6) ** 2)
    assert sand_time(3e-6, 1.0, 0.4, 1.0) == pytest.approx(expected)
    assert sand_time(3e-6, 1.0, 0.4, 2.0) == pytest.approx(expected / 4)
    solid = electrolyte_limits(conductivity_siemens_per_centimeter=1e-3, transference_number=1.0,
                               thickness_centimeter=30e-4, overpotential_volt=0.05,
                               areal_capacity_milliampere_hour_per_square_centimeter=4.0)
    # σ η / L = 1e-3 · 0.05 / 30e-4 A/cm² = 16.7 mA/cm²; over 4 mAh/cm² = 4.17 C
    assert solid.max_c_rate_per_hour == pytest.approx(1e-3 * 0.05 / 30e-4 * 1000 / 4.0)
    assert solid.limiting_current_milliampere_per_square_centimeter is None
    assert "i_ohm = sigma eta / L" in solid.to_dict()["formulas"].values()
    table = solid.to_frame().set_index("quantity")
    assert table.loc["max_c_rate_per_hour", "value"] == pytest.approx(solid.max_c_rate_per_hour)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="transference number"):
        electrolyte_limits(**{**LIQUID, "transference_number": 1.2})
    with pytest.raises(ValueError, match="thickness"):
        electrolyte_limits(**{**LIQUID, "thickness_centimeter": 0.0})
