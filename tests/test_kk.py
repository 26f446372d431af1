"""Linear Kramers-Kronig test: synthetic ground truth and the corpus's damaged Gamry files."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import corpus_path

import labkit
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
    assert result.valid
    assert 0.1 < max(result.residual_max_percent_real, result.residual_max_percent_imag) < 1.0


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
    record = labkit.read(corpus_path("eis", "gamry_dta", "impedancepy_exampleDataGamry.DTA"))
    trimmed, result = trim_invalid(record.spectrum(0))
    assert result.valid
    assert trimmed.frequency_hertz.max() == pytest.approx(200015.6)
    # The whole-spectrum test fails every point from 15.8 Hz down; the rest passes.
    assert trimmed.frequency_hertz.min() == pytest.approx(19.86229)


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
