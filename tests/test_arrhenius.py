"""Arrhenius / VTF: ground truth generated here, a synthetic pellet series, the corpus series."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import CORPUS, corpus_path

from labkit.eis.arrhenius import (
    BOLTZMANN_EV_PER_KELVIN,
    arrhenius_series,
    fit_arrhenius,
    fit_vtf,
    temperature_from_filename,
)
from labkit.errors import AnalysisError, MetadataError
from labkit.examples import pellet_impedance

TEMPERATURES = np.array([-20.0, 0.0, 20.0, 40.0, 60.0, 80.0])


@pytest.mark.parametrize("convention", ["sigma_T", "sigma"])
def test_exact_points_give_the_parameters_back(convention):
    t = TEMPERATURES + 273.15
    factor = t if convention == "sigma_T" else 1.0
    sigma = 250.0 * np.exp(-0.42 / (BOLTZMANN_EV_PER_KELVIN * t)) / factor
    fit = fit_arrhenius(TEMPERATURES, sigma, convention=convention)
    assert fit.convention == convention
    assert fit.activation_energy_electronvolt.value == pytest.approx(0.42, abs=1e-9)
    assert fit.prefactor.value == pytest.approx(250.0, rel=1e-8)
    expected_25 = 250.0 * np.exp(-0.42 / (BOLTZMANN_EV_PER_KELVIN * 298.15)) / (
        298.15 if convention == "sigma_T" else 1.0)
    assert fit.sigma_25c_siemens_per_centimeter.value == pytest.approx(expected_25, rel=1e-8)
    assert fit.r_squared == pytest.approx(1.0)


def test_noise_gives_a_standard_error_that_covers_the_truth():
    rng = np.random.default_rng(4)
    t = TEMPERATURES + 273.15
    misses = 0
    for _ in range(200):
        sigma = 10.0 / t * np.exp(-0.3 / (BOLTZMANN_EV_PER_KELVIN * t)) * (
            1 + 0.02 * rng.standard_normal(len(t)))
        fit = fit_arrhenius(TEMPERATURES, sigma, np.full(len(t), 0.02) * sigma)
        ea = fit.activation_energy_electronvolt
        misses += abs(ea.value - 0.3) > 2 * ea.stderr
    assert misses < 30  # about 5 % of 200 expected outside 2 sigma (t-distribution, 4 dof: ~12 %)


def test_vtf_recovers_b_and_t0():
    t = np.linspace(20, 90, 8) + 273.15
    sigma = 5.0 / np.sqrt(t) * np.exp(-900.0 / (t - 200.0))
    fit = fit_vtf(t - 273.15, sigma)
    assert fit.pseudo_activation_kelvin.value == pytest.approx(900.0, rel=1e-4)
    assert fit.vogel_temperature_kelvin.value == pytest.approx(200.0, abs=0.05)
    assert fit.pseudo_activation_energy_electronvolt.value == pytest.approx(
        900.0 * BOLTZMANN_EV_PER_KELVIN, rel=1e-4)


def test_bad_input_is_an_analysis_error():
    with pytest.raises(AnalysisError, match="at least 3"):
        fit_arrhenius([20, 30], [1e-3, 2e-3])
    with pytest.raises(AnalysisError, match="positive"):
        fit_arrhenius([20, 30, 40], [1e-3, -2e-3, 3e-3])


@pytest.mark.parametrize("name, expected", [
    ("s04147-140deg.txt", 140.0), ("PEIS_LPSCl_IonBlocking_-25C.mpr", -25.0),
    ("pellet_25C.csv", 25.0), ("cell_60degC-run2.mpr", 60.0), ("cell-1C-rate.csv", None),
    ("data.csv", None),
])
def test_temperature_from_filename(name, expected):
    assert temperature_from_filename(name) == expected


def test_synthetic_pellet_series_recovers_both_activation_energies():
    # Blocking-electrode pellet spectra (labkit.examples) with sigma*T Arrhenius bulk
    # (0.35 eV) and grain boundary (0.50 eV), 1 % noise, 7 MHz-0.1 Hz; temperatures
    # where both arcs lie inside the frequency window.
    temperatures = [-20, -10, 0, 10, 20, 30, 40]
    records = [pellet_impedance(t, seed=i, noise=0.01) for i, t in enumerate(temperatures)]
    series = arrhenius_series(records, area_square_centimeter=0.785, thickness_centimeter=0.1)
    assert series.fits["bulk"].activation_energy_electronvolt.value == pytest.approx(0.35,
                                                                                     abs=0.01)
    assert series.fits["grain_boundary"].activation_energy_electronvolt.value == pytest.approx(
        0.50, abs=0.01)
    assert series.fits["bulk"].sigma_25c_siemens_per_centimeter.value == pytest.approx(
        1e-5, rel=0.03)
    assert {p.temperature_source for p in series.points} == {"file"}


def test_missing_temperature_is_that_spectrums_metadata_error(tmp_path):
    path = tmp_path / "spectrum.csv"
    record = pellet_impedance(25.0)
    frame = record.data[["frequency_hertz", "z_real_ohm", "z_imag_ohm"]]
    frame.rename(columns={"frequency_hertz": "Freq", "z_real_ohm": "Real",
                          "z_imag_ohm": "Imag"}).to_csv(path)
    series = arrhenius_series([path], area_square_centimeter=0.785, thickness_centimeter=0.1,
                              circuit="R0-p(R1,CPE1)-p(R2,CPE2)-CPE3")
    (point,) = series.points
    assert point.error["type"] == "MetadataError" and "no temperature" in point.error["message"]
    assert point.error["file"] == str(path) and point.error["position"] == "spectrum 0"
    assert series.fits == {}
    given = arrhenius_series([path, path, path], area_square_centimeter=0.785,
                             thickness_centimeter=0.1, temperatures_celsius=[25, 25, 26],
                             circuit="R0-p(R1,CPE1)-p(R2,CPE2)-CPE3")
    assert [p.temperature_source for p in given.points] == ["given"] * 3
    with pytest.raises(MetadataError, match="2 temperatures given for 3 spectra"):
        arrhenius_series([path, path, path], area_square_centimeter=0.785,
                         thickness_centimeter=0.1, temperatures_celsius=[25, 26])


def test_corpus_novocontrol_series_end_to_end(capsys):
    from labkit.cli import main

    files = sorted(str(p) for p in (CORPUS / "eis" / "novocontrol_txt").glob(
        "eisfitpython_s04147-*deg.txt"))
    if len(files) != 7:
        corpus_path("eis", "novocontrol_txt", "eisfitpython_s04147-140deg.txt")
        pytest.skip("the s04147 series is incomplete")
    # Geometry used by the EISFitpython authors: D = 0.8 cm, l = 0.21 cm.
    area = np.pi * 0.4**2
    code = main(["eis", "arrhenius", *files, "--area", str(area), "--thickness", "0.21",
                 "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["convention"] == "sigma_T"
    assert [p["temperature_celsius"] for p in payload["points"]] == [140, 150, 160, 170, 180,
                                                                     190, 200]
    assert payload["temperature_sources"] == ["file"]
    # EISFitpython's published analysis of this series (Example3/Arrhenius_Analysis_Report:
    # circuit (R1|Q1)+(R2|Q1)+Q2, D = 0.8 cm, l = 0.21 cm): total sigma per temperature and
    # Ea(total) = 0.8555 +- 0.0006 eV (Example4, single-chi fit: 0.8566 +- 0.0007 eV).
    published = [1.936e-07, 3.338e-07, 5.594e-07, 9.201e-07, 1.477e-06, 2.320e-06, 3.556e-06]
    total = payload["total"]
    measured = [p["sigma_siemens_per_centimeter"] for p in total["points"]]
    assert measured == pytest.approx(published, rel=0.01)
    assert total["activation_energy_electronvolt"]["value"] == pytest.approx(0.8555, abs=0.005)
    assert total["activation_energy_electronvolt"]["stderr"] < 0.005
    assert total["sigma_25c_siemens_per_centimeter"]["value"] == pytest.approx(2.5125e-11,
                                                                             rel=0.05)
    # Both arcs have bulk-like capacitances (~1e-11 F/cm, Irvine-Sinclair-West): they are
    # told apart by relaxation frequency (brick-layer order), flagged ambiguous, and their
    # separate Ea are EISFitpython's (Example3 report: bulk 0.5869 +- 0.0163 eV, grain
    # boundary 0.8919 +- 0.0025 eV, sigma per temperature as below).
    selection = payload["model_selection"]
    assert payload["circuit"] == "R0-p(R1,CPE1)-p(R2,CPE2)-CPE3" == selection["circuit"]
    assert "keep their roles" in selection["reason"]
    bulk, gb = payload["bulk"], payload["grain_boundary"]
    assert bulk["activation_energy_electronvolt"]["value"] == pytest.approx(0.5869, abs=0.03)
    assert gb["activation_energy_electronvolt"]["value"] == pytest.approx(0.8919, abs=0.005)
    published_bulk = [2.857e-06, 3.721e-06, 5.256e-06, 7.453e-06, 1.049e-05, 1.523e-05,
                      1.860e-05]
    published_gb = [2.076e-07, 3.666e-07, 6.261e-07, 1.050e-06, 1.719e-06, 2.737e-06, 4.397e-06]
    assert [p["sigma_siemens_per_centimeter"] for p in bulk["points"]] == pytest.approx(
        published_bulk, rel=0.02)
    assert [p["sigma_siemens_per_centimeter"] for p in gb["points"]] == pytest.approx(
        published_gb, rel=0.02)
    roles = [p["roles"] for p in payload["points"]]
    assert all(r["R1"] == "bulk" and r["R2"] == "grain_boundary" for r in roles)
    # At 190 and 200 degC the bulk arc relaxes above 1 MHz: the bulk is the intercept R0 + R1.
    assert [p["bulk_from"] for p in payload["points"]] == ["arc R1"] * 5 + [
        "high_frequency_intercept"] * 2
    arcs = {arc["resistor"]: arc for arc in payload["arcs"]}
    assert arcs["R2"]["role"] == "grain_boundary"
    assert arcs["R2"]["activation_energy_electronvolt"]["value"] == pytest.approx(
        gb["activation_energy_electronvolt"]["value"], abs=1e-6)
