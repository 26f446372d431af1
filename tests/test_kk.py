"""Linear Kramers-Kronig test: synthetic ground truth and the corpus's damaged Gamry files."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import corpus_path

import labkit
from labkit.eis.kk_synthetic import FAULTS, kk_spectra
from labkit.eis.kramers_kronig import kramers_kronig, kramers_kronig_batch, trim_invalid
from labkit.eis.zarc_synthetic import zarc_impedance


def _clean_spectrum(noise: float = 0.0, seed: int = 0):
    frequency = np.logspace(6, -2, 81)
    z = 20.0 + zarc_impedance(frequency, [100.0, 300.0], [1e-5, 1e-2], [0.9, 0.8])
    rng = np.random.default_rng(seed)
    z = z + noise * np.abs(z) * (rng.standard_normal(81) + 1j * rng.standard_normal(81))
    return frequency, z


def test_noise_free_causal_spectrum_passes_with_tiny_residuals():
    result = kramers_kronig(_clean_spectrum())
    assert result.valid
    assert result.residual_max_percent_real < 0.05
    assert result.residual_max_percent_imag < 0.05
    assert 3 <= result.number_of_rc <= 60
    assert result.valid_frequency_range_hertz == (0.01, 1e6)


def test_noisy_spectrum_residuals_are_noise_sized():
    result = kramers_kronig(_clean_spectrum(noise=0.002), max_residual_percent=1.0)
    assert result.valid and result.decided_by == ()
    assert 0.1 < max(result.residual_max_percent_real, result.residual_max_percent_imag) < 1.0
    assert result.noise_percent == pytest.approx(0.2, rel=0.25)
    # Yrjänä & Bobacka: pseudo chi-square ~ 2 N sigma^2, less the share the fit takes.
    assert result.noise_pseudo_chi_square_percent == pytest.approx(0.2, rel=0.25)
    assert result.point_limit_percent == pytest.approx(1.0)  # 4.5 x 0.2 % is below the floor


def test_a_noisier_valid_spectrum_passes_where_a_fixed_one_percent_limit_fails():
    """0.5 % noise: some residual exceeds 1 % (the old fixed limit), none 4.5 x the noise."""
    result = kramers_kronig(_clean_spectrum(noise=0.005, seed=3))
    assert max(result.residual_max_percent_real, result.residual_max_percent_imag) > 1.0
    assert result.valid, result.reason
    assert result.point_limit_percent == pytest.approx(4.5 * result.noise_percent)
    assert result.statistics.largest_over_noise < 4.5
    assert not kramers_kronig(_clean_spectrum(noise=0.005, seed=3), max_residual_percent=1.0).valid


def test_a_drift_below_every_point_limit_fails_on_structure():
    """Both arcs' resistances grow 5 % from the first point to the last, 0.2 % noise: no
    residual reaches the 1 % point limit (the largest is 0.72 %), but the residuals are
    smooth: 0.2 % rms that the point-to-point scatter does not explain. (3 % drift leaves
    0.11 % rms, below the 0.15 % floor: valid.)"""
    frequency = np.logspace(6, -2, 81)
    scale = 1.0 + 0.05 * np.arange(81) / 80
    z = 20.0 + zarc_impedance(frequency, [100.0], [1e-5], [0.9]) * scale + zarc_impedance(
        frequency, [300.0], [1e-2], [0.8]) * scale
    rng = np.random.default_rng(5)
    z = z + 0.002 * np.abs(z) * (rng.standard_normal(81) + 1j * rng.standard_normal(81))
    result = kramers_kronig((frequency, z))
    assert not result.valid
    assert result.decided_by == ("smoothness",)
    assert result.statistics.smoothness == pytest.approx(0.45, abs=0.05)
    assert result.structure_percent == pytest.approx(0.2, abs=0.02)
    assert max(result.residual_max_percent_real, result.residual_max_percent_imag) < 1.0
    # Every point is within the point limit; the range keeps those within the noise band.
    low, high = result.valid_frequency_range_hertz
    assert low > 0.01 and high <= 1e6 and high / low > 100


def test_jumping_low_frequency_points_are_flagged_and_trimmed():
    frequency, z = _clean_spectrum(noise=0.001)
    garbage = frequency < 0.1  # the last ten points: the system jumped while they were measured
    z = z.copy()
    # The real part jumps by +-5 % from point to point, the imaginary part does not
    # follow, as no causal impedance would (the pattern of the Gamry example file).
    z[garbage] += 0.05 * np.abs(z[garbage]) * (-1.0) ** np.arange(garbage.sum())
    result = kramers_kronig((frequency, z))
    assert not result.valid
    assert "Hz" in result.reason
    trimmed, after = trim_invalid((frequency, z))
    assert after.valid
    assert trimmed.frequency_hertz.max() == 1e6
    assert trimmed.frequency_hertz.min() >= 0.05


def test_too_few_points_is_an_invalid_verdict_with_reason():
    frequency, z = _clean_spectrum()
    result = kramers_kronig((frequency[:5], z[:5]))
    assert not result.valid and result.number_of_rc == 0
    assert "only 5 usable points" in result.reason


@pytest.mark.parametrize("name", ["impedancepy_exampleDataGamryABORT.DTA",
                                  "gamryparser_eispot_data_curveaborted.dta"])
def test_aborted_gamry_runs_are_flagged(name):
    record = labkit.read(corpus_path("eis", "gamry_dta", name))
    (result,) = kramers_kronig_batch(record)
    assert not result.valid
    assert "aborted" in result.reason


@pytest.mark.parametrize("name", ["impedancepy_exampleDataGamry.DTA",
                                  "gamryparser_eispot_data.dta"])
def test_gamry_files_with_garbage_low_frequency_points_fail(name):
    # exampleDataGamry holds the same points as the ABORT file (jumping real part
    # below ~16 Hz); eispot_data repeats one value for its last five frequencies.
    record = labkit.read(corpus_path("eis", "gamry_dta", name))
    (result,) = kramers_kronig_batch(record)
    assert not result.valid
    low, high = result.valid_frequency_range_hertz
    assert low > record.data["frequency_hertz"].min()


@pytest.mark.parametrize("folder, name", [
    ("gamry_dta", "pyimpspec_data.dta"),
    ("gamry_dta", "hybriddrt_EISGALV_EISTest3.DTA"),
    ("zplot_z", "impedancepy_Circuit1_EIS_1.z"),
    ("zplot_z", "impedancepy_Circuit3_EIS_1.z"),
    ("biologic_mpr", "hybriddrt_PEIS_LPSCl_IonBlocking_-25C.mpr"),
    ("novocontrol_txt", "eisfitpython_s04147-160deg.txt"),
])
def test_clean_corpus_spectra_pass(folder, name):
    record = labkit.read(corpus_path("eis", folder, name))
    for result in kramers_kronig_batch(record):
        assert result.valid, result.reason


def test_trim_keeps_the_valid_part_of_the_garbage_gamry_spectrum():
    """The real part jumps from point to point below 16 Hz (garbage); above, the residuals
    of 200 kHz-20 Hz are still structured beyond the noise (0.18 %): imaginary residuals
    of +0.6 to +1 % between 400 and 20 Hz in one hump, and -0.8 to -0.9 % at 32-40 kHz.
    Trimming keeps 25.3 kHz-49.9 Hz, where the residuals are noise (a fixed 1 % limit
    kept 200 kHz-19.9 Hz, hump and all)."""
    record = labkit.read(corpus_path("eis", "gamry_dta", "impedancepy_exampleDataGamry.DTA"))
    trimmed, result = trim_invalid(record.spectrum(0))
    assert result.valid
    assert trimmed.frequency_hertz.max() == pytest.approx(25265.63)
    assert trimmed.frequency_hertz.min() == pytest.approx(49.86702)
    assert result.noise_percent == pytest.approx(0.17, abs=0.02)


def test_cli_batch_entries_errors_and_exit_code(tmp_path, capsys):
    import json

    from labkit.cli import main

    aborted = corpus_path("eis", "gamry_dta", "gamryparser_eispot_data_curveaborted.dta")
    clean = corpus_path("eis", "zplot_z", "impedancepy_Circuit1_EIS_1.z")
    broken = tmp_path / "broken.z"
    broken.write_text("not an impedance file\n")
    code = main(["eis", "kk", str(aborted), str(clean), str(broken), "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 1
    first, second, third = payload["results"]
    assert (first["file"], first["spectrum"], first["valid"]) == (str(aborted), 0, False)
    assert "aborted" in first["reason"]
    assert second["valid"] and second["number_of_rc"] > 0
    assert set(second["residual_max_percent"]) == {"real", "imag"}
    assert second["valid_frequency_range_hertz"]["high"] == pytest.approx(5e4)
    assert third["error"]["type"] == "FormatError" and third["file"] == str(broken)
    assert main(["eis", "kk", str(clean), "--json"]) == 0


# Issue 16 E: the verdict on generated sets, 200 spectra per class (valid; arc resistances
# drifting +-50 % over the sweep; last 3-6 points off by 10-30 % of |Z|), four circuit
# families (labkit.eis.kk_synthetic), 0.1-0.5 % noise. Seed 16 was not among the seeds
# (1, 2, 2026) the limits were set on.
SET_SIZE, SET_SEED = 200, 16


@pytest.fixture(scope="module")
def generated_verdicts():
    return {fault: [kramers_kronig((s.frequency_hertz, s.impedance_ohm)).valid
                    for s in kk_spectra(SET_SIZE, fault, seed=SET_SEED)] for fault in FAULTS}


def test_generated_sets_are_reproducible_and_as_described():
    first, again = kk_spectra(8, "drift", seed=3), kk_spectra(8, "drift", seed=3)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.impedance_ohm, b.impedance_ohm)
    spectra = kk_spectra(8, "corrupt_tail", seed=3)
    assert [s.family for s in spectra[:4]] == ["pellet", "sulfide", "cell", "battery"]
    assert all(0.001 <= s.noise <= 0.005 for s in spectra)
    assert {len(s.frequency_hertz) for s in spectra} <= {71, 79}  # 1 or 7 MHz to 0.1 Hz
    assert all(s.frequency_hertz[-1] == pytest.approx(0.1) for s in spectra)


def test_valid_noisy_spectra_pass(generated_verdicts):
    assert np.mean(generated_verdicts["valid"]) >= 0.95


def test_drifting_spectra_are_flagged(generated_verdicts):
    assert 1 - np.mean(generated_verdicts["drift"]) >= 0.95


def test_spectra_with_a_corrupt_low_frequency_tail_are_flagged(generated_verdicts):
    assert 1 - np.mean(generated_verdicts["corrupt_tail"]) >= 0.95


def test_empty_tau_extensions_is_an_error_not_an_assertion():
    with pytest.raises(ValueError, match="tau_extensions_decades is empty"):
        kramers_kronig(_clean_spectrum(), tau_extensions_decades=())
