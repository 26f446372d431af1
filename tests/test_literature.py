"""labkit.literature: the shipped tables equal the review's text, and the figures place a result."""

from __future__ import annotations

import math
import re

import matplotlib
import matplotlib.collections

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from labkit import literature  # noqa: E402
from labkit.analysis._base import Estimate  # noqa: E402
from labkit.errors import MetadataError  # noqa: E402
from tests.conftest import CORPUS  # noqa: E402

REVIEW = CORPUS.parent / "literature" / "review_tables.txt"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def review_rows() -> dict[int, list[list[str]]]:
    """The tab-separated data rows of each table of the review text, by table number."""
    if not REVIEW.exists():
        pytest.skip(f"{REVIEW} not found (the shared literature folder)")
    tables: dict[int, list[list[str]]] = {}
    current = None
    for line in REVIEW.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"## Table (\d)", line)
        if heading:
            current = int(heading.group(1))
            tables[current] = []
        elif line.startswith("##"):
            current = None
        elif current and "\t" in line:
            tables[current].append(line.split("\t"))
    return {number: rows[1:] for number, rows in tables.items()}  # drop the header rows


def _value_at(cell: str) -> tuple[float, str]:
    """``'2.21@25 °C'`` -> (2.21, '25 °C'); a dash -> (nan, '')."""
    cell = cell.strip()
    if cell in {"", "-", "_"}:
        return math.nan, ""
    value, _, condition = cell.partition("@")
    return float(value), condition.strip()


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-9)


def test_ceramics_equal_table_1_row_by_row(review_rows):
    table = literature.load("ceramics")
    text = review_rows[1]
    assert len(table) == len(text) == 12
    for row, cells in zip(table.itertuples(), text, strict=True):
        sigma, sigma_at = _value_at(cells[2])
        ccd, ccd_at = _value_at(cells[4])
        assert _same(row.conductivity_siemens_per_centimeter, sigma * 1e-3), cells
        assert _same(row.ccd_milliampere_per_square_centimeter, ccd), cells
        assert row.conductivity_temperature_as_stated == sigma_at
        if sigma_at.endswith("°C"):
            assert row.conductivity_temperature_celsius == float(sigma_at.split()[0])
        else:  # "RT" is not turned into a number
            assert math.isnan(row.conductivity_temperature_celsius)
        if cells[-1].strip():
            assert row.reference == cells[-1].strip("[] ").replace(" ", "")


def test_ceramics_spot_values(review_rows):
    table = literature.load(1)
    llzo = table[table["material"] == "LLZO"].iloc[0]
    assert llzo["conductivity_siemens_per_centimeter"] == pytest.approx(1.00e-3)
    assert llzo["ccd_milliampere_per_square_centimeter"] == 3.2
    assert llzo["oxidative_stability_as_stated"] == "≈3.0 V by DFT"
    assert llzo["reference"] == "49"
    garnet = table[table["reference"] == "34"].iloc[0]
    assert garnet["ccd_milliampere_per_square_centimeter"] == 100.0
    assert garnet["ccd_temperature_as_stated"] == "RT"
    lsipscl = table[table["reference"] == "30"].iloc[0]
    assert math.isnan(lsipscl["ccd_milliampere_per_square_centimeter"])  # '_' in the table
    assert set(table["citation"]) == {
        "J. Yu et al., Adv. Mater. 2025, 2417796, doi:10.1002/adma.202417796"}


def test_polymers_equal_table_3(review_rows):
    table = literature.load("polymers")
    text = review_rows[3]
    assert len(table) == len(text) == 12
    for row, cells in zip(table.itertuples(), text, strict=True):
        sigma, _ = _value_at(cells[1].replace("−", "-"))
        assert _same(row.conductivity_siemens_per_centimeter, sigma * 1e-3), cells
        assert row.transference_number == float(cells[2].split()[0]), cells
        assert row.reference == cells[-1].strip("[] ")


def test_cells_equal_the_capacity_columns(review_rows):
    cells = literature.load("cells")
    pattern = re.compile(r"([\d.]+)\s*(?:mAh g ⁻¹\s*)?/\s*([\d.]+)\s*C?")
    for number, column in ((2, 6), (3, 5)):
        expected = []
        for entry, row in enumerate(review_rows[number], start=1):
            for part in row[column].split(";"):
                match = pattern.search(part)
                if match and "mA cm" not in part:
                    expected.append((entry, float(match.group(1)), float(match.group(2))))
        rows = cells[(cells["table"] == number) & cells["c_rate_per_hour"].notna()]
        got = list(zip(rows["entry"], rows["specific_capacity_milliampere_hour_per_gram"],
                       rows["c_rate_per_hour"], strict=True))
        assert got == expected
    garnet = cells[cells["reference"] == "34"].iloc[0]  # rate given as a current density
    assert math.isnan(garnet["c_rate_per_hour"])
    assert garnet["current_density_milliampere_per_square_centimeter"] == 6.9


def test_unknown_table_is_refused():
    with pytest.raises(KeyError, match="ceramics"):
        literature.load("liquids")


def test_ceramics_figure_places_the_lab_point():
    class CcdLike:
        ccd_milliampere_per_square_centimeter = 0.5

    ax = literature.ceramics_figure(Estimate(3.4e-4, 2e-5), CcdLike())
    star = next(c for c in ax.containers if c.lines[0].get_marker() == "*")
    assert star.lines[0].get_xdata()[0] == pytest.approx(3.4e-4)
    assert star.lines[0].get_ydata()[0] == 0.5
    plotted = sum(len(c.get_offsets()) for c in ax.collections
                  if isinstance(c, matplotlib.collections.PathCollection))
    table = literature.load("ceramics")
    complete = table.dropna(subset=["conductivity_siemens_per_centimeter",
                                    "ccd_milliampere_per_square_centimeter"])
    assert plotted == len(complete) == 8


def test_polymers_figure_takes_a_transference_result():
    class TransferenceLike:
        t_plus_bruce_vincent = Estimate(0.41, 0.01)

    ax = literature.polymers_figure(2e-4, TransferenceLike())
    star = next(c for c in ax.containers if c.lines[0].get_marker() == "*")
    assert star.lines[0].get_ydata()[0] == pytest.approx(0.41)


def test_cells_figure_has_the_usabc_line_and_the_lab_rates():
    own = pd.DataFrame({"c_rate_per_hour": [0.1, 1, 5],
                        "specific_capacity_milliampere_hour_per_gram": [150, 140, 100]})
    ax = literature.cells_figure(own)
    usabc = next(line for line in ax.lines if "USABC" in str(line.get_label()))
    assert usabc.get_xdata()[0] == pytest.approx(0.8 / 0.25)
    np.testing.assert_allclose(ax.lines[-1].get_ydata(), [150, 140, 100])


def test_cells_figure_needs_specific_capacity():
    class RateLike:
        rates = pd.DataFrame({"c_rate_per_hour": [1.0], "mean_capacity_ampere_hour": [0.003]})

    with pytest.raises(MetadataError, match="active mass"):
        literature.cells_figure(RateLike())


def test_an_arrhenius_fit_gives_the_sigma_at_25_c():
    arrhenius_module = pytest.importorskip("labkit.eis.arrhenius")
    temperature = np.array([-20.0, 0.0, 25.0, 60.0])
    kelvin = temperature + 273.15
    sigma = 1e3 / kelvin * np.exp(-0.4 / (8.617333262e-5 * kelvin))
    fit = arrhenius_module.fit_arrhenius(temperature, sigma)
    ax = literature.ceramics_figure(fit, 1.0)
    star = next(c for c in ax.containers if c.lines[0].get_marker() == "*")
    assert star.lines[0].get_xdata()[0] == pytest.approx(sigma[2], rel=1e-9)
    ax = literature.polymers_figure(fit, 0.5, temperature_celsius=60.0)
    star = next(c for c in ax.containers if c.lines[0].get_marker() == "*")
    assert star.lines[0].get_xdata()[0] == pytest.approx(sigma[3], rel=1e-9)
