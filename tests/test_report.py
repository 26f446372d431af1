"""labkit report: the analyses that apply, their numbers, and a page Chromium renders whole."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from labkit import examples
from labkit.cli import main
from labkit.report import with_uncertainty, write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def example_folder(tmp_path_factory) -> Path:
    """A small lab folder: a pellet spectrum, a CCD test, a Bruce–Vincent set, a short cycling.

    Every sample has a 1 cm² electrode, the area the report is given.
    """
    folder = tmp_path_factory.mktemp("lab")
    spectrum_columns = ["frequency_hertz", "z_real_ohm", "z_imag_ohm"]
    examples.ccd_staircase().data.to_csv(folder / "ccd_li_llzo_li.bdf.csv", index=False)
    ca, before, after = examples.transference_experiment()
    ca.data.to_csv(folder / "transference_ca.bdf.csv", index=False)
    before.data[spectrum_columns].to_csv(folder / "transference_eis_before.csv", index=False)
    after.data[spectrum_columns].to_csv(folder / "transference_eis_after.csv", index=False)
    pellet = examples.pellet_impedance(25, area_cm2=1.0, thickness_cm=0.1, seed=125)
    pellet.data[spectrum_columns].to_csv(folder / "pellet_eis_25C.csv", index=False)
    examples.cycling_cell(cycles=3).data.to_csv(folder / "short_cycling.bdf.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def report(example_folder, tmp_path_factory):
    output = tmp_path_factory.mktemp("out") / "report.html"
    summary = write_report([example_folder], output,
                           sample={"area_square_centimeter": 1.0,
                                   "thickness_centimeter": 0.1})
    return output, summary


def _section(summary, name):
    return next(s for s in summary.sections if Path(s["file"]).name == name)


def _number(text: str) -> float:
    """The value of ``'(1.022 ± 0.012) × 10⁻⁵ S cm⁻¹'`` or ``'0.4015 ± 0.0010'``."""
    mantissa = float(re.search(r"[-\d.]+", text).group())
    power = re.search(r"10([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)", text)
    if power:
        digits = power.group(1).translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789"))
        mantissa *= 10.0 ** int(digits)
    return mantissa


def test_each_record_gets_the_analyses_that_apply(report):
    _, summary = report
    kinds = {Path(s["file"]).name: s["kind"] for s in summary.sections}
    assert kinds == {"pellet_eis_25C.csv": "impedance",
                     "ccd_li_llzo_li.bdf.csv": "cycling (stepped-current)",
                     "transference_ca.bdf.csv": "cycling (chronoamperometry)",
                     "transference_eis_before.csv": "impedance",
                     "transference_eis_after.csv": "impedance",
                     "short_cycling.bdf.csv": "cycling (galvanostatic)"}
    assert summary.failed_inputs == []  # one temperature only: no Arrhenius section


def test_report_numbers_recover_the_example_ground_truth(report):
    _, summary = report
    pellet = _section(summary, "pellet_eis_25C.csv")["results"]
    # examples.pellet_impedance: σ_bulk(25 °C) = 1e-5, σ_gb = 5e-6 S/cm, 1 % noise
    assert _number(pellet["σ bulk"]) == pytest.approx(1e-5, rel=0.05)
    assert _number(pellet["σ grain boundary"]) == pytest.approx(5e-6, rel=0.05)
    ccd = _section(summary, "ccd_li_llzo_li.bdf.csv")["results"]
    assert _number(ccd["critical current density"]) == 0.5  # shorts at 0.6 mA/cm²
    transference = _section(summary, "transference_ca.bdf.csv")["results"]
    # paired with the before/after spectra by file name; the example's t+ is 0.4
    assert _number(transference["t⁺ Bruce–Vincent"]) == pytest.approx(0.4, abs=0.01)
    cycling = _section(summary, "short_cycling.bdf.csv")
    assert cycling["results"]["cycles"] == "3"
    assert _number(cycling["results"]["first discharge capacity"]) == pytest.approx(3.0, rel=0.05)


def test_page_is_self_contained(report):
    output, summary = report
    page = output.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@media print" in page
    figures = sum(s["figures"] for s in summary.sections)
    assert page.count('src="data:image/png;base64,') == figures >= 15


def test_missing_sample_values_are_reported_not_guessed(example_folder, tmp_path):
    summary = write_report([example_folder / "ccd_li_llzo_li.bdf.csv",
                            example_folder / "transference_eis_before.csv"], tmp_path / "r.html")
    ccd, spectrum = summary.sections
    assert any("area" in text for text in ccd["skipped"]) and "critical current density" \
        not in ccd["results"]
    assert any("area is not known" in text for text in spectrum["skipped"])
    assert not any(key.startswith(("σ", "ASR")) for key in spectrum["results"])


def test_unreadable_input_is_listed_and_exits_1(example_folder, tmp_path, capsys):
    bad = tmp_path / "broken.mpr"
    bad.write_bytes(b"BIO-LOGIC MODULAR FILE\x1a" + b"\x00" * 10)
    output = tmp_path / "r.html"
    code = main(["report", str(bad), str(example_folder / "ccd_li_llzo_li.bdf.csv"),
                 "-o", str(output), "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 1
    assert payload["failed_inputs"][0]["file"] == str(bad)
    assert payload["records"] == 1
    assert "broken.mpr" in output.read_text(encoding="utf-8")


def test_uncertainty_text():
    assert with_uncertainty(1.0219e-5, 1.19e-7, "S cm⁻¹") == "(1.022 ± 0.012) × 10⁻⁵ S cm⁻¹"
    assert with_uncertainty(12466.0, 145.7) == "12466 ± 146"
    assert with_uncertainty(0.01, 3e-20, "V") == "0.01 V"
    assert with_uncertainty(float("nan")) == "–"


_PROBE = """<script>
window.labkitErrors = [];
window.addEventListener('error', e => window.labkitErrors.push(String(e.message || e.type)), true);
window.addEventListener('load', () => {
  const images = Array.from(document.images);
  const visible = images.filter(img => {
    const box = img.getBoundingClientRect(); const style = getComputedStyle(img);
    return img.complete && img.naturalWidth > 0 && box.width > 100 && box.height > 50 &&
           style.visibility !== 'hidden' && style.display !== 'none';
  });
  const out = document.createElement('pre'); out.id = 'labkit-probe';
  out.textContent = JSON.stringify({images: images.length, visible: visible.length,
                                    errors: window.labkitErrors,
                                    width: document.documentElement.scrollWidth});
  document.body.appendChild(out);
});
</script>"""


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian package "
                    "'chromium'; .ci/run installs it): the browser rendering test is skipped")
def test_chromium_renders_every_figure_and_takes_a_screenshot(report, tmp_path):
    output, summary = report
    probed = tmp_path / "probed.html"
    probed.write_text(output.read_text(encoding="utf-8").replace("</head>", _PROBE + "</head>"),
                      encoding="utf-8")
    dom = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile-dom'}",
         "--window-size=1280,2000", "--virtual-time-budget=10000", "--dump-dom",
         probed.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    probe = json.loads(re.search(r'<pre id="labkit-probe">(.*?)</pre>', dom.stdout,
                                 re.S).group(1).replace("&quot;", '"'))
    figures = sum(s["figures"] for s in summary.sections)
    assert probe["errors"] == []
    assert probe["images"] == probe["visible"] == figures
    assert probe["width"] <= 1280  # nothing forces a horizontal scroll at laptop width

    screenshot = tmp_path / "report.png"
    shot = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile-shot'}",
         f"--screenshot={screenshot}", "--window-size=1280,2000", output.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert shot.returncode == 0, shot.stderr[-2000:]
    image = np.asarray(Image.open(screenshot).convert("L"), dtype=float)
    assert image.shape == (2000, 1280)
    assert image.std() > 20  # a rendered page, not a blank one


def test_spectra_at_several_temperatures_get_an_arrhenius_section():
    from labkit.report import Section, _temperature_series

    kelvin = np.array([-20.0, 0.0, 25.0, 60.0]) + 273.15
    sigma = 3.0 / kelvin * np.exp(-0.35 / (8.617333262e-5 * kelvin))  # Ea = 0.35 eV
    sections = []
    for t, s in zip(kelvin - 273.15, sigma, strict=True):
        section = Section(f"pellet_{t:g}C.csv", "", "impedance")
        section.conductivities.append((float(t), "bulk", float(s), 0.01 * float(s)))
        sections.append(section)
    series = _temperature_series(sections)
    assert series is not None and len(series.figures) == 1
    results = dict(series.findings)
    assert _number(results["Ea bulk"]) == pytest.approx(0.35, abs=5e-4)  # 4 digits shown
    assert _number(results["σ(25 °C) bulk"]) == pytest.approx(sigma[2], rel=1e-3)
    assert _temperature_series(sections[:2]) is None  # two temperatures are not a series


def test_column_headers_carry_unit_symbols():
    from labkit.report import column_label

    assert column_label("current_density_milliampere_per_square_centimeter") == \
        "current density / mA cm⁻²"
    assert column_label("mean_capacity_ampere_hour") == "mean capacity / Ah"
    assert column_label("c_rate_per_hour") == "c rate / h⁻¹"
    assert column_label("coulombic_efficiency") == "coulombic efficiency"


def test_a_vendor_cycle_summary_gets_its_own_section():
    """A CycleSummaryRecord (a vendor's per-cycle table) is shown as the file states it,
    completed with retention (not analysed as a time series)."""
    import pandas as pd

    from labkit.data import CycleSummaryRecord, Metadata
    from labkit.report import build_sections

    table = pd.DataFrame({"cycle_count": [1, 2, 3],
                          "charge_capacity_ampere_hour": [1.02, 1.01, 1.00],
                          "discharge_capacity_ampere_hour": [1.00, 0.99, 0.97]})
    table["coulombic_efficiency"] = table["discharge_capacity_ampere_hour"] \
        / table["charge_capacity_ampere_hour"]
    record = CycleSummaryRecord(table, Metadata(source_path="cell_summary.csv"))
    (section,) = build_sections([record])
    assert section.kind == "per-cycle summary table"
    assert len(section.figures) == 1 and not section.skipped
    findings = dict(section.findings)
    assert findings["cycles"] == "3"
    assert _number(findings["first discharge capacity"]) == pytest.approx(1000.0)
    (caption, shown), = section.tables
    assert list(shown["coulombic_efficiency"]) == list(table["coulombic_efficiency"])
    assert shown["capacity_retention"].tolist() == pytest.approx([1.0, 0.99, 0.97])
    faded_record = CycleSummaryRecord(table.assign(discharge_capacity_ampere_hour=[1.0, 0.9, 0.7]),
                                        Metadata(source_path="cell_summary.csv"))
    (faded,) = build_sections([faded_record])
    assert dict(faded.findings)["first cycle below 80% retention"] == "3"


def test_every_cycling_record_gets_a_time_series_first(report):
    _, summary = report
    for section in summary.sections:
        if section["kind"].startswith("cycling"):
            assert section["figures"] >= 2, section  # the time series and the analysis' own


def _first_figure_is_the_time_series(record) -> None:
    from labkit.report import build_sections

    (section,) = build_sections([record])
    caption, png = section.figures[0]
    assert caption == "voltage and current against time"
    assert Image.open(io.BytesIO(base64.b64decode(png))).size[0] > 300


def test_a_lone_half_charge_still_gets_voltage_and_current_against_time():
    import pandas as pd

    from labkit.data import CyclingRecord, Metadata

    _first_figure_is_the_time_series(CyclingRecord(
        pd.DataFrame({"test_time_second": np.arange(0.0, 600.0, 10.0),
                      "voltage_volt": np.linspace(3.5, 3.9, 60), "current_ampere": 0.01}),
        Metadata(source_path="half_charge.csv")))


def test_a_biologic_step_of_1_5_s_gets_voltage_and_current_against_time():
    """Issue 17: the report of this file (no complete cycle) had no figure at all."""
    import labkit
    from tests.conftest import corpus_path

    _first_figure_is_the_time_series(labkit.read(corpus_path(
        "cycler", "biologic", "navani_00_test_04_MB_C01.mpr")))
