"""`labkit demo`, the README's first command: every number it prints matches the known truth."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from labkit.cli import main
from labkit.demo import CARD_TRUTH

TOLERANCE = {  # relative, per quantity; None = exact
    "cycles found": None,
    "capacity retention at cycle 30": 0.01,
    "Tian τ (h)": 0.05,
    "Tian n": 0.05,
    "CCD, last passed (mA/cm²)": None,
    "CCD, failed at (mA/cm²)": None,
    "t⁺ (Bruce–Vincent)": 0.02,
    "σ bulk at 25 °C (S/cm)": 0.05,
    "σ grain boundary at 25 °C (S/cm)": 0.05,
    "Ea bulk, σT Arrhenius, -20–40 °C (eV)": 0.03,
    "Ea grain boundary, σT Arrhenius, -20–40 °C (eV)": 0.03,
}


def test_demo_reproduces_the_known_answers(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    rows = {row["quantity"]: row for row in payload["results"]}
    assert set(TOLERANCE) <= set(rows), f"missing results: {set(TOLERANCE) - set(rows)}"
    for quantity, tolerance in TOLERANCE.items():
        row = rows[quantity]
        if tolerance is None:
            assert row["value"] == row["truth"], quantity
        else:
            assert row["value"] == pytest.approx(row["truth"], rel=tolerance), quantity
    assert rows["files ingested into the store"]["value"] == 14
    assert (tmp_path / "fast_charge_multistep.000").read_bytes().startswith(b"<?xml")
    _the_card_equals_the_truth_within_its_uncertainty(payload, rows)


def _the_card_equals_the_truth_within_its_uncertainty(payload, rows):
    with open(payload["files"]["material card (json)"], encoding="utf-8") as handle:
        card = json.load(handle)
    assert all(test["status"] == "ok" for test in card["tests"]), card["tests"]
    values = {value["quantity"]: value for value in card["values"]}
    for quantity, (label, truth) in CARD_TRUTH.items():
        estimate = values[quantity]["estimate"]
        assert rows[label]["value"] == estimate["value"]  # the demo prints the card's number
        if estimate["stderr"] is None:  # the CCD: a current step, no standard error
            assert estimate["value"] == truth, quantity
        else:
            assert abs(estimate["value"] - truth) <= 3 * estimate["stderr"], (quantity, estimate,
                                                                            truth)
    assert card["row"]["oxidative_stability_volt"]["conditions"][
        "threshold_milliampere_per_square_centimeter"] == 0.01
    csv = pd.read_csv(payload["files"]["material card (csv)"])
    assert len(csv) == len(card["values"])
    with open(payload["files"]["card figure"], "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
