"""Stability window: onsets of synthetic sweeps against their analytic crossings, corpus LSV/CV files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import corpus_path

import labkit
from labkit import examples
from labkit.analysis.stability import find_sweeps, stability_window
from labkit.analysis.sweep_synthetic import TafelOnset, random_sweeps, sweep_record
from labkit.cli import main
from labkit.errors import AnalysisError, LabkitError, MetadataError

THRESHOLDS = (0.01, 0.1)


def test_threshold_onsets_are_within_5_mv_of_the_analytic_crossing():
    # 80 sweeps (seed 19): rates 0.1-10 mV/s, capacitive baseline up to 1 mF/cm², Tafel rise
    sweeps = random_sweeps(80, seed=19)
    errors, scaled = [], []
    for sweep in sweeps:
        truth = sweep.oxidation or sweep.reduction
        direction = "oxidative" if sweep.oxidation else "reductive"
        result = stability_window(sweep.record)
        for threshold in THRESHOLDS:
            onset = result.onset(direction, "threshold", threshold)
            assert onset is not None, result.analyses[0].not_found
            error = onset.potential_volt.value - truth.crossing_volt(threshold)
            errors.append(error)
            scaled.append(error / onset.potential_volt.stderr)
    errors, scaled = np.abs(errors), np.abs(scaled)
    assert np.mean(errors < 0.005) >= 0.95
    assert np.median(errors) < 0.001
    # the standard errors are honest: about 95 % of the errors within two of them
    assert np.mean(scaled < 2) >= 0.88


def test_the_background_must_be_subtracted_to_find_the_onset():
    # a capacitive current (1 mF/cm² × 10 mV/s = 0.01 mA/cm²) as large as the threshold
    onset = TafelOnset(4.2, 0.12, 5e-4)
    sweep = sweep_record((3.0, onset.crossing_volt(1.0)), 0.01, oxidation=onset,
                         capacitance_farad_per_square_centimeter=1e-3, seed=4)
    truth = onset.crossing_volt(0.01)
    found = stability_window(sweep.record).onset("oxidative", "threshold", 0.01)
    assert found.potential_volt.value == pytest.approx(truth, abs=0.005)
    data = sweep.record.data
    raw = data["voltage_volt"][data["current_ampere"] * 1000 >= 0.01].iloc[0]
    assert abs(raw - truth) > 0.5  # the raw current is above the threshold from the start


def test_a_cyclic_voltammogram_gives_both_onsets_from_their_own_sweeps():
    oxidation, reduction = TafelOnset(4.4, 0.1, 3e-4), TafelOnset(0.8, 0.15, 2e-4, oxidation=False)
    sweep = sweep_record((3.0, 5.0, 0.2, 3.0), 0.002, oxidation=oxidation, reduction=reduction,
                         capacitance_farad_per_square_centimeter=2e-4, step_volt=0.002,
                         area_square_centimeter=0.5, seed=7)
    result = stability_window(sweep.record)
    assert [(s.direction, round(s.start_volt, 3), round(s.end_volt, 3)) for s in result.sweeps] == [
        ("anodic", 3.0, 5.0), ("cathodic", 5.0, 0.2), ("anodic", 0.2, 3.0)]
    for s in result.sweeps:
        assert s.sweep_rate_volt_per_second.value == pytest.approx(0.002, rel=1e-6)
    for direction, truth, sweep_index in (("oxidative", oxidation, 0), ("reductive", reduction, 1)):
        for threshold in THRESHOLDS:
            onset = result.onset(direction, "threshold", threshold)
            assert onset.sweep == sweep_index
            assert onset.potential_volt.value == pytest.approx(truth.crossing_volt(threshold),
                                                               abs=0.005)
    payload = result.to_dict()
    assert payload["sweep_rate_volt_per_second"]["value"] == pytest.approx(0.002, rel=1e-6)
    assert {(o["direction"], o["method"]) for o in payload["onsets"]} == {
        ("oxidative", "threshold"), ("oxidative", "tangent"), ("reductive", "threshold"),
        ("reductive", "tangent")}
    assert len(result.to_frame()) == 6


def test_tangent_onset_is_the_definition_applied_to_the_true_curve():
    onset = TafelOnset(4.3, 0.1, 3e-4)
    sweep = sweep_record((3.2, onset.crossing_volt(0.5)), 0.001, oxidation=onset,
                         capacitance_farad_per_square_centimeter=1e-4, seed=11)
    found = stability_window(sweep.record).onset("oxidative", "tangent")
    # the same construction on the noise-free faradaic current: a line through the points from
    # half its highest value up to it, crossing the (subtracted) background, i.e. zero
    potential = sweep.record.data["voltage_volt"].to_numpy()
    faradaic = onset.current_density(potential)
    steep = faradaic >= faradaic.max() / 2
    slope, intercept = np.polyfit(potential[steep], faradaic[steep], 1)
    expected = -intercept / slope
    assert found.potential_volt.value == pytest.approx(expected, abs=3 * found.potential_volt.stderr
                                                        + 0.002)
    assert found.potential_volt.value > onset.crossing_volt(0.1)  # later than the thresholds


def test_reference_offset_shifts_every_onset():
    sweep = random_sweeps(1, seed=5)[0]
    plain = stability_window(sweep.record)
    shifted = stability_window(sweep.record, reference_offset_volt=0.62)
    assert len(plain.onsets) == len(shifted.onsets) == 3
    for a, b in zip(plain.onsets, shifted.onsets, strict=True):
        assert b.potential_volt.value - a.potential_volt.value == pytest.approx(0.62)
        assert b.potential_volt.stderr == pytest.approx(a.potential_volt.stderr)


def test_a_record_without_a_sweep_gets_a_clear_error():
    with pytest.raises(AnalysisError, match="technique is GCPL.*no potential sweep"):
        stability_window(examples.cycling_cell(cycles=2), area_square_centimeter=1.0)
    ccd = examples.ccd_staircase()
    stepped = labkit.CyclingRecord(ccd.data, labkit.Metadata(technique=()))
    with pytest.raises(AnalysisError, match="holds no potential sweep"):
        find_sweeps(stepped)
    sweep = random_sweeps(1, seed=2)[0].record
    no_area = labkit.CyclingRecord(sweep.data, labkit.Metadata(technique=("LSV",)))
    with pytest.raises(MetadataError, match="area"):
        stability_window(no_area)
    with pytest.raises(AnalysisError, match="no sweep \\[4\\]"):
        stability_window(sweep, sweeps=[4])


def test_window_cli_prints_one_entry_per_file_and_survives_a_bad_one(tmp_path, capsys):
    sweep = random_sweeps(2, seed=8)
    good = tmp_path / "lsv_oxidation.bdf.csv"
    sweep[0].record.data.to_csv(good, index=False, float_format="%.10g")
    impedance = tmp_path / "spectrum.csv"
    examples.pellet_impedance(25).data[["frequency_hertz", "z_real_ohm", "z_imag_ohm"]].to_csv(
        impedance, index=False)
    code = main(["window", str(good), str(impedance), "--area", "1", "--threshold", "0.02",
                 "--figures", str(tmp_path / "figures"), "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 1
    first, second = payload["results"]
    assert first["file"] == str(good)
    truth = sweep[0].oxidation.crossing_volt(0.02)
    threshold = [o for o in first["onsets"] if o["method"] == "threshold"]
    assert [o["threshold_milliampere_per_square_centimeter"] for o in threshold] == [0.02]
    assert threshold[0]["direction"] == "oxidative"
    assert threshold[0]["potential_volt"]["value"] == pytest.approx(truth, abs=0.005)
    assert threshold[0]["potential_volt"]["stderr"] > 0
    assert first["sweep_rate_volt_per_second"]["value"] == pytest.approx(
        sweep[0].sweep_rate_volt_per_second, rel=1e-4)
    assert (tmp_path / "figures" / "lsv_oxidation.bdf.csv.window.png").stat().st_size > 1000
    assert second["error"]["type"] == "SchemaError"
    assert "impedance" in second["error"]["message"]


def test_the_figure_marks_every_onset():
    import matplotlib

    matplotlib.use("Agg")
    from labkit import plot

    sweep = sweep_record((3.0, 5.0, 0.4), 0.005, oxidation=TafelOnset(4.4, 0.1, 3e-4),
                         reduction=TafelOnset(0.8, 0.1, 3e-4, oxidation=False), step_volt=0.004)
    result = stability_window(sweep.record)
    ax = plot.stability_window(result)
    markers = [line for line in ax.lines if line.get_marker() in ("o", "x")]
    assert len(markers) == len(result.onsets) == 6
    assert ax.get_yscale() == "symlog"


# --------------------------------------------------------------------------- corpus

#: LSV / CV files of the corpus: (folder, file, dE/dt programmed in the file's settings, V/s)
CORPUS_SWEEPS = [
    ("biologic", "yadg_lsv.mpr", 0.020), ("biologic", "yadg_lsv.mpt", 0.020),
    ("biologic", "yadg_lsv.issue_195.mpr", 0.100), ("biologic", "yadg_lsv.issue_195.mpt", 0.100),
    ("biologic", "yadg_ds_compat_01_LSV_C06.mpr", None),
    ("biologic", "yadg_cv.mpr", 0.0001), ("biologic", "yadg_cv.mpt", 0.0001),
    ("biologic", "yadg_cv.issue_149.mpr", 0.050), ("biologic", "yadg_cv.issue_149.mpt", 0.050),
    ("biologic", "yadg_cv.issue_217.mpr", 0.050), ("biologic", "yadg_cv.issue_217.mpt", 0.050),
    ("biologic", "yadg_cva.issue_202.mpr", 50.0), ("biologic", "yadg_cva.issue_202.mpt", 50.0),
    ("gamry", "gamryparser_cv_data.dta", None),
    ("gamry", "gamryparser_cv_data_incompleteheader.dta", None),
]


@pytest.mark.corpus
@pytest.mark.parametrize(("folder", "name", "rate"), CORPUS_SWEEPS,
                         ids=[name for _, name, _ in CORPUS_SWEEPS])
def test_every_corpus_sweep_gives_a_result_or_a_clear_error(folder, name, rate):
    path = corpus_path("cycler", folder, name)
    try:
        result = stability_window(labkit.read(path), area_square_centimeter=0.196)
    except LabkitError as exc:
        assert exc.file == str(path) and exc.message
        assert rate is None, f"a sweep of the corpus was refused: {exc}"
        return
    assert result.analyses and result.sweeps
    for analysis in result.analyses:
        assert len(analysis.onsets) + len(analysis.not_found) == 3  # every onset or its reason
    if rate is not None:  # the sweeps run at the rate the file's settings programmed
        assert result.sweeps[0].sweep_rate_volt_per_second.value == pytest.approx(rate, rel=0.01)


@pytest.mark.corpus
def test_corpus_cv_sweeps_turn_at_the_programmed_vertices():
    # yadg_cv.issue_149: from 0 V (vs Eoc ≈ 0) to E1 = 0.5 V, down to E2 = -0.5 V, three cycles
    result = stability_window(labkit.read(corpus_path("cycler", "biologic",
                                                      "yadg_cv.issue_149.mpr")))
    assert result.area_square_centimeter == pytest.approx(0.196)  # stated by the file
    turns = [(s.direction, round(s.end_volt, 2)) for s in result.sweeps]
    assert turns[:4] == [("anodic", 0.5), ("cathodic", -0.5), ("anodic", 0.5), ("cathodic", -0.5)]
    assert len(result.sweeps) == 7


@pytest.mark.corpus
def test_a_gamry_cv_of_ten_millivolt_curves_holds_no_sweep():
    with pytest.raises(AnalysisError, match="no potential sweep.*8.27 mV over 2 points"):
        stability_window(labkit.read(corpus_path("cycler", "gamry", "gamryparser_cv_data.dta")),
                         area_square_centimeter=1.0)
