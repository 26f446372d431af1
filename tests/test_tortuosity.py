"""Composite-electrode tortuosity: R_ion of synthetic blocking transmission lines, derived numbers, CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from labkit.cli import main
from labkit.eis.circuit import Circuit
from labkit.eis.tlm_synthetic import TLM_CIRCUIT, transmission_line_q, transmission_line_spectra
from labkit.eis.tortuosity import fit_tortuosity, tortuosity_of
from labkit.errors import FitError, MetadataError
from labkit.uncertainty import Estimate


def test_ionic_resistance_within_3_percent_on_synthetic_transmission_lines():
    # R_ion 3-1000 Ω, α 0.8-1, 0.5 % noise (seed 19); no start values given
    spectra = transmission_line_spectra(40, seed=19)
    errors, scaled = [], []
    for spectrum in spectra:
        result = fit_tortuosity((spectrum.frequency_hertz, spectrum.impedance),
                                area_square_centimeter=1.0, thickness_centimeter=0.01)
        truth = spectrum.truth["TLMQ1_0"]
        errors.append(abs(result.ionic_resistance_ohm.value / truth - 1))
        scaled.append(abs(result.ionic_resistance_ohm.value - truth)
                      / result.ionic_resistance_ohm.stderr)
    assert np.mean(np.array(errors) < 0.03) >= 0.95
    assert np.median(errors) < 0.01
    assert np.mean(np.array(scaled) < 3) >= 0.9  # the standard errors are honest


def _spectrum(r_s=20.0, r_ion=60.0, knee_hertz=5.0, alpha=0.9, noise=0.005, seed=0,
              lowest_hertz=1e-2):
    frequency = np.logspace(6, np.log10(lowest_hertz), 81)
    truth = {"R0": r_s, "TLMQ1_0": r_ion, "TLMQ1_1": transmission_line_q(r_ion, knee_hertz, alpha),
             "TLMQ1_2": alpha}
    z = Circuit(TLM_CIRCUIT).impedance(truth, frequency)
    rng = np.random.default_rng(seed)
    return frequency, z + noise * np.abs(z) * (rng.standard_normal(z.size)
                                               + 1j * rng.standard_normal(z.size))


def test_effective_conductivity_macmullin_and_tortuosity_follow_their_formulas():
    sigma_se = Estimate(1.2e-3, 0.06e-3)  # 5 %
    result = fit_tortuosity(_spectrum(), area_square_centimeter=0.785,
                            thickness_centimeter=0.006,
                            sigma_electrolyte_siemens_per_centimeter=sigma_se,
                            volume_fraction=0.35)
    r_ion = result.ionic_resistance_ohm
    assert r_ion.value == pytest.approx(60.0, rel=0.03)
    sigma_eff = result.effective_conductivity_siemens_per_centimeter
    assert sigma_eff.value == pytest.approx(0.006 / (r_ion.value * 0.785))
    assert sigma_eff.stderr / sigma_eff.value == pytest.approx(r_ion.stderr / r_ion.value)
    macmullin = result.macmullin_number
    assert macmullin.value == pytest.approx(1.2e-3 / sigma_eff.value)
    assert macmullin.stderr / macmullin.value == pytest.approx(
        math.hypot(0.05, r_ion.stderr / r_ion.value))
    assert result.tortuosity_factor.value == pytest.approx(0.35 * macmullin.value)
    # truth: σ_eff = 0.006 / (60 · 0.785), so τ = 0.35 · 1.2e-3 / σ_eff = 3.3
    assert result.tortuosity_factor.value == pytest.approx(
        0.35 * 1.2e-3 * 60 * 0.785 / 0.006, rel=0.03)
    assert result.notes == ()


def test_without_the_electrolyte_conductivity_only_the_effective_conductivity():
    result = fit_tortuosity(_spectrum(), area_square_centimeter=1.0, thickness_centimeter=0.01)
    assert result.macmullin_number is None and result.tortuosity_factor is None
    assert any("sigma_electrolyte" in note for note in result.notes)
    payload = result.to_dict()
    assert payload["macmullin_number"] is None
    assert payload["effective_conductivity_siemens_per_centimeter"]["value"] > 0
    with pytest.raises(MetadataError, match="volume fraction"):
        fit_tortuosity(_spectrum(), area_square_centimeter=1.0, thickness_centimeter=0.01,
                       sigma_electrolyte_siemens_per_centimeter=1e-3, volume_fraction=1.5)
    with pytest.raises(FitError, match="no transmission line"):
        fit_tortuosity(_spectrum(), area_square_centimeter=1.0, thickness_centimeter=0.01,
                       circuit="R0-p(R1,CPE1)")


def test_the_low_frequency_intercept_is_r_s_plus_a_third_of_r_ion():
    result = fit_tortuosity(_spectrum(noise=0.002), area_square_centimeter=1.0,
                            thickness_centimeter=0.01)
    check = result.low_frequency_check
    assert check.in_regime and check.agrees
    assert check.intercept_ohm.value == pytest.approx(20.0 + 60.0 / 3, rel=0.02)
    assert check.ionic_resistance_ohm.value == pytest.approx(60.0, rel=0.15)
    # the same electrode measured only down to 20 Hz never reaches the capacitive regime
    short = fit_tortuosity(_spectrum(lowest_hertz=20.0), area_square_centimeter=1.0,
                           thickness_centimeter=0.01)
    assert not short.low_frequency_check.in_regime and not short.low_frequency_check.agrees
    assert any("lower frequencies" in note for note in short.notes)


def test_a_batch_never_aborts_and_the_cli_prints_one_entry_per_spectrum(tmp_path, capsys):
    frequency, z = _spectrum(r_ion=250.0, knee_hertz=1.0, alpha=0.85, seed=3)
    good = tmp_path / "composite_blocking.csv"
    pd.DataFrame({"frequency_hertz": frequency, "z_real_ohm": z.real,
                  "z_imag_ohm": z.imag}).to_csv(good, index=False)
    cycling = tmp_path / "not_impedance.bdf.csv"
    pd.DataFrame({"test_time_second": [0.0, 1.0, 2.0], "voltage_volt": [3.0, 3.1, 3.2],
                  "current_ampere": [0.1, 0.1, 0.1]}).to_csv(cycling, index=False)
    missing = tmp_path / "missing.csv"
    assert [type(r).__name__ for r in tortuosity_of(
        [good, cycling, missing], area_square_centimeter=1.0, thickness_centimeter=0.01)] == [
        "TortuosityResult", "TortuosityFailure", "TortuosityFailure"]
    code = main(["eis", "tortuosity", str(good), str(missing), "--area", "0.785", "--thickness",
                 "0.006", "--sigma-electrolyte", "1e-3", "--volume-fraction", "0.3", "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 1
    entry, failure = payload["results"]
    assert entry["file"] == str(good) and entry["spectrum"] == 0
    assert entry["ionic_resistance_ohm"]["value"] == pytest.approx(250.0, rel=0.03)
    assert entry["ionic_resistance_ohm"]["stderr"] > 0
    sigma_eff = entry["effective_conductivity_siemens_per_centimeter"]["value"]
    assert sigma_eff == pytest.approx(0.006 / (entry["ionic_resistance_ohm"]["value"] * 0.785))
    assert entry["macmullin_number"]["value"] == pytest.approx(1e-3 / sigma_eff)
    assert entry["tortuosity_factor"]["value"] == pytest.approx(0.3e-3 / sigma_eff)
    assert entry["low_frequency_check"]["agrees"] is True
    assert failure["file"] == str(missing) and failure["error"]["type"]
