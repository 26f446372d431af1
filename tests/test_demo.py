"""`labkit demo`, the README's first command: every number it prints matches the known truth."""

from __future__ import annotations

import json

import pytest

from labkit.cli import main

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
    assert rows["files ingested into the store"]["value"] == 12
    assert (tmp_path / "fast_charge_multistep.000").read_bytes().startswith(b"<?xml")
