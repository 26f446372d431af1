"""Material card: manifest, detection with evidence, every output format, the figure, the report."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import labkit
from labkit import examples
from labkit.analysis.classify import cycling_test, impedance_test
from labkit.cli import main
from labkit.demo import CARD_TRUTH, MANIFEST
from labkit.eis.tlm_synthetic import transmission_line_spectra
from labkit.errors import FormatError
from labkit.material_card import card, load_manifest, write_card
from labkit.material_card.card import TABLE_TITLES

SPECTRUM_COLUMNS = ["frequency_hertz", "z_real_ohm", "z_imag_ohm"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Path:
    """The demo's example files (known answers) with the demo's manifest beside them."""
    folder = tmp_path_factory.mktemp("new_electrolyte")
    examples.write_examples(folder / "data")
    (folder / "card.yaml").write_text(MANIFEST, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def material(lab):
    return card(lab / "card.yaml")


def test_the_card_holds_the_known_truth_within_its_uncertainty(material):
    assert not material.failed, [run.error for run in material.runs]
    assert material.table == 1 and material.material_class == "oxide"
    assert set(material.row) == {"conductivity_siemens_per_centimeter",
                                 "oxidative_stability_volt",
                                 "ccd_milliampere_per_square_centimeter"}
    for quantity, (_, truth) in CARD_TRUTH.items():
        value = material.value(quantity)
        if math.isnan(value.estimate.stderr):
            assert value.estimate.value == truth, quantity
        else:
            assert abs(value.estimate.value - truth) <= 3 * value.estimate.stderr, (quantity,
                                                                                   value, truth)
    # the cell rows: capacity at each C-rate of examples.rate_capability (Tian τ 0.05 h, n 0.8)
    cells = [v for v in material.values if v.section == "cell"]
    assert [v.conditions["c_rate_per_hour"] for v in cells] == [0.1, 0.2, 0.5, 1, 2, 5, 10]
    truth = examples.tian_capacity(np.array([0.1, 0.2, 0.5, 1, 2, 5, 10]), 0.003, 0.05, 0.8)
    # the generator's voltage cut-off and time step put each discharge within 1 % of the model
    measured = np.array([v.estimate.value for v in cells]) * 0.02 / 1000
    assert measured == pytest.approx(truth, rel=0.01)
    assert all(v.conditions["cell"]["cathode"] == "NMC811" for v in cells)
    # every number says where it came from
    for value in material.values:
        assert value.files and all(Path(f).exists() for f in value.files)
        assert value.analysis.startswith("labkit.")
    tortuosity = material.value("tortuosity_factor")
    assert tortuosity.conditions["sigma_electrolyte_source"].startswith("this card's σ")


def _markdown_numbers(text: str) -> list[tuple[str, float, float]]:
    section = text.split("## Where each number comes from")[1].split("## Tests")[0]
    rows = [line.split(" | ") for line in section.strip().splitlines()[2:]]
    return [(row[0].lstrip("| "), float(row[1]), math.nan if row[2] == "–" else float(row[2]))
            for row in rows]


def _card_numbers(material) -> list[tuple[str, float, float]]:
    return [(v.quantity, v.estimate.value, v.estimate.stderr) for v in material.values]


def _same(found, expected, relative):
    assert len(found) == len(expected)
    for (q1, v1, e1), (q2, v2, e2) in zip(found, expected, strict=True):
        assert q1 == q2
        assert v1 == pytest.approx(v2, rel=relative)
        assert (math.isnan(e1) and math.isnan(e2)) or e1 == pytest.approx(e2, rel=relative,
                                                                          abs=1e-300)


def test_json_carries_every_number(material, tmp_path):
    payload = json.loads(write_card(material, tmp_path / "card.json").read_text("utf-8"))
    found = [(v["quantity"], v["estimate"]["value"], math.nan if v["estimate"]["stderr"] is None
              else v["estimate"]["stderr"]) for v in payload["values"]]
    _same(found, _card_numbers(material), 1e-15)
    assert payload["review_table"] == 1 and payload["review_table_title"] == TABLE_TITLES[1]
    assert payload["row"]["ccd_milliampere_per_square_centimeter"]["estimate"] == {
        "value": 0.5, "stderr": None}
    assert [t["status"] for t in payload["tests"]] == ["ok"] * 6


def test_csv_carries_every_number(material, tmp_path):
    frame = pd.read_csv(write_card(material, tmp_path / "card.csv"))
    found = list(zip(frame["quantity"], frame["value"], frame["stderr"], strict=True))
    _same(found, _card_numbers(material), 1e-12)
    assert frame["in_table_row"].sum() == 3
    assert set(frame["section"]) == {"table", "cell", "additional"}


def test_markdown_carries_every_number_and_the_review_row(material, tmp_path):
    text = write_card(material, tmp_path / "card.md").read_text("utf-8")
    _same(_markdown_numbers(text), _card_numbers(material), 1e-5)
    header = "| ICE type | ICE formula/component | σ [mS cm⁻¹] @temperature | Oxidative stability"
    assert header in text
    row = next(line for line in text.splitlines() if line.startswith("| oxide |"))
    sigma = material.value("conductivity_siemens_per_centimeter").estimate
    assert f"{1000 * sigma.value:.4f}"[:6] in row.replace(" ", "")  # σ in mS/cm as the review
    assert "0.5@25 °C (failed at 0.6)" in row and row.endswith("| this work |")
    with pytest.raises(labkit.LabkitError, match=r"\.json, \.csv or \.md"):
        write_card(material, tmp_path / "card.txt")


def test_the_figure_places_the_material_among_the_review(material):
    import matplotlib

    matplotlib.use("Agg")
    from labkit.material_card.figure import card_figure

    axes = card_figure(material)
    assert len(axes) == 3  # σ vs CCD, oxidative stability vs σ, capacity vs C-rate
    for ax in axes:
        labels = [text.get_text() for text in ax.get_legend().get_texts()]
        assert any(label.startswith(material.material) for label in labels), labels
    own = axes[1].containers[-1]  # the errorbar of the material's own point
    x, y = own.lines[0].get_data()
    assert y[0] == pytest.approx(material.value("oxidative_stability_volt").estimate.value)
    assert x[0] == pytest.approx(material.value("conductivity_siemens_per_centimeter")
                                 .estimate.value)


def _sweep_test(lab: Path) -> str:
    """The manifest entry of the example LSV (the card's quickest test)."""
    return (f"  - kind: stability_window\n    files: [{lab}/data/lsv_oxidation.bdf.csv]\n"
            "    area_square_centimeter: 0.785\n")


def _small_manifest(lab: Path, folder: Path) -> Path:
    """A card of two quick tests (a sweep and a CCD test), for the command line and the report."""
    manifest = folder / "small.yaml"
    manifest.write_text(f"""
material: quick oxide
class: oxide
tests:
{_sweep_test(lab)}  - kind: ccd
    files: [{lab}/data/ccd_li_llzo_li.bdf.csv]
    area_square_centimeter: 1.0
""", encoding="utf-8")
    return manifest


def test_card_cli_writes_the_card_and_its_figure(lab, tmp_path, capsys):
    code = main(["card", str(_small_manifest(lab, tmp_path)), "-o", str(tmp_path / "card.md"),
                 "--figure", str(tmp_path / "card.png"), "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0
    assert payload["output"] == str(tmp_path / "card.md")
    assert (tmp_path / "card.png").read_bytes()[:4] == b"\x89PNG"
    assert payload["row"]["oxidative_stability_volt"]["estimate"]["value"] == pytest.approx(
        examples.OXIDATION.crossing_volt(0.01), abs=0.005)
    assert payload["row"]["ccd_milliampere_per_square_centimeter"]["estimate"]["value"] == 0.5
    assert "| oxide | quick oxide | – |" in (tmp_path / "card.md").read_text("utf-8")


def test_a_polymer_card_uses_table_3_with_t_plus_in_its_row(lab, tmp_path):
    manifest = tmp_path / "polymer.yaml"
    manifest.write_text(f"""
material: PEO-LiTFSI test film
class: polymer
tests:
  - kind: transference
    ca: {lab}/data/transference_ca.bdf.csv
    eis_before: {lab}/data/transference_eis_before.csv
    eis_after: {lab}/data/transference_eis_after.csv
{_sweep_test(lab)}""", encoding="utf-8")
    result = card(manifest)
    assert result.table == 3
    assert set(result.row) == {"transference_number", "oxidative_stability_volt"}
    assert result.row["transference_number"].estimate.value == pytest.approx(0.4, abs=0.005)
    text = result.to_markdown()
    assert "| Electrolyte | σ [mS cm⁻¹] @temperature | t_Li+ | Oxidative stability [V] |" in text
    assert "| PEO-LiTFSI test film | – | 0.40145 ± 0.00098 |" in text


def test_a_bad_test_is_its_own_error_and_the_others_still_run(lab, tmp_path, capsys):
    manifest = tmp_path / "card.yaml"
    manifest.write_text(f"""
material: half-broken
class: sulfide
tests:
{_sweep_test(lab)}  - kind: ccd
    files: [{lab}/data/ccd_li_llzo_li.bdf.csv]
    aera_square_centimeter: 1.0
  - kind: rate
    files: [{lab}/data/no_such_*.csv]
  - kind: tortoise
    files: [x.csv]
  - kind: ccd
    files: [{lab}/data/lsv_oxidation.bdf.csv]
    area_square_centimeter: 1.0
""", encoding="utf-8")
    result = card(manifest)
    errors = [None if run.error is None else run.error["message"] for run in result.runs]
    assert errors[0] is None and result.row["oxidative_stability_volt"]
    assert "unknown key(s) ['aera_square_centimeter']" in errors[1]
    assert "no file matches" in errors[2]
    assert "unknown kind 'tortoise'" in errors[3]
    assert "holds a potential sweep" in errors[4]  # an LSV is not a CCD test
    code = main(["card", str(manifest), "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 1 and [t["status"] for t in payload["tests"]] == ["ok"] + ["error"] * 4


def test_a_manifest_that_is_not_one_is_a_format_error(tmp_path):
    broken = tmp_path / "card.yaml"
    broken.write_text("material: x\ntests:\n  - kind: ccd\n    files: [a, b\n", encoding="utf-8")
    with pytest.raises(FormatError, match="not valid YAML") as caught:
        load_manifest(broken)
    assert caught.value.position.startswith("line ")
    (tmp_path / "list.yaml").write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(FormatError, match="'material'.*'tests'"):
        load_manifest(tmp_path / "list.yaml")


def test_without_a_manifest_the_tests_are_detected_with_their_evidence(lab, tmp_path):
    folder = tmp_path / "raw"
    folder.mkdir()
    for name in ("lsv_oxidation.bdf.csv", "ccd_li_llzo_li.bdf.csv", "transference_ca.bdf.csv",
                 "transference_eis_before.csv", "transference_eis_after.csv",
                 "composite_cathode_blocking_eis.csv", "pellet_eis_-20C.csv",
                 "pellet_eis_0C.csv", "pellet_eis_25C.csv"):
        shutil.copy(lab / "data" / name, folder / name)
    (folder / "notes.txt").write_text("not a data file\n", encoding="utf-8")
    result = card(folder, material_class="oxide", sample={"area_square_centimeter": 1.0,
                                                          "thickness_centimeter": 0.1})
    runs = {run.test.kind: run for run in result.runs}
    assert set(runs) == {"eis_temperature_series", "stability_window", "ccd", "transference",
                         "tortuosity"}
    assert "potential sweep" in runs["stability_window"].test.evidence
    assert "changes sign" in runs["ccd"].test.evidence
    assert "held at 0.01 V" in runs["transference"].test.evidence
    assert "before/after it: transference_eis_before.csv" in runs["transference"].test.evidence
    assert "transmission line" in runs["tortuosity"].test.evidence
    # the -20 °C pellet's spike starts below 0.1 Hz: kept in the series by its name
    assert len(runs["eis_temperature_series"].test.files) == 3
    assert "spike lies below the range" in runs["eis_temperature_series"].test.evidence
    # the composite electrode's geometry is never borrowed from the pellet's
    assert "write a manifest" in runs["tortuosity"].error["message"]
    assert runs["ccd"].values[0].estimate.value == 0.5
    assert any("notes.txt" in note and "unreadable" in note for note in result.notes)


def test_report_opens_with_the_card_when_a_manifest_is_among_its_inputs(lab, tmp_path):
    from labkit.report import write_report

    summary = write_report([_small_manifest(lab, tmp_path),
                            lab / "data" / "lsv_oxidation.bdf.csv"],
                           tmp_path / "report.html", sample={"area_square_centimeter": 0.785})
    first, sweep = summary.sections
    assert first["kind"] == "material card" and first["figures"] == 1
    assert re.match(r"4\.358\d+ ± 0\.000\d+ V", first["results"]["oxidative stability"])
    assert first["results"]["CCD"] == "0.5 mA/cm²"
    assert sweep["kind"] == "cycling (potential-sweep)"
    page = (tmp_path / "report.html").read_text("utf-8")
    assert "material card: quick oxide" in page


def test_records_are_classified_with_their_evidence():
    line = transmission_line_spectra(1, seed=4)[0]
    tlm = labkit.ImpedanceRecord(pd.DataFrame({
        "spectrum": 0, "frequency_hertz": line.frequency_hertz, "z_real_ohm": line.impedance.real,
        "z_imag_ohm": line.impedance.imag}), labkit.Metadata())
    assert impedance_test(tlm).kind == "transmission-line"
    assert impedance_test(examples.pellet_impedance(25)).kind == "blocking-pellet"
    _, before, _ = examples.transference_experiment()
    assert impedance_test(before).kind == "non-blocking"
    sweep = examples.stability_sweep().record
    unnamed = labkit.CyclingRecord(sweep.data, labkit.Metadata())
    assert cycling_test(unnamed).kind == "potential-sweep"
    assert "1 mV/s" in cycling_test(unnamed).evidence
    assert cycling_test(examples.ccd_staircase()).kind == "stepped-current"
    assert cycling_test(examples.cycling_cell(cycles=2)).kind == "galvanostatic"
