"""Every corpus impedance file through every ``labkit eis`` batch command, in one call each.

Issue 16, F: an exception in one spectrum is that entry's ``error`` object; the other
spectra are computed; the command exits 0 or 1 and prints exactly one JSON object, never
a traceback. Expected entry counts come from reading each file with ``labkit.read``.
"""

from __future__ import annotations

import json

import pytest
from conftest import CORPUS

import labkit
from labkit.cli import main

FILES = sorted(str(p) for p in (CORPUS / "eis").rglob("*") if p.is_file()
               and p.name != "MANIFEST.md") if (CORPUS / "eis").is_dir() else []
GEOMETRY = ["--area", "0.785", "--thickness", "0.1"]


def _expected_entries() -> int:
    """One entry per spectrum of a readable impedance file, one per other file."""
    count = 0
    for path in FILES:
        try:
            record = labkit.read(path)
        except labkit.LabkitError:
            count += 1
            continue
        count += record.data["spectrum"].nunique() if record.kind == "impedance" and len(
            record.data) else 1
    return count


@pytest.mark.slow
@pytest.mark.skipif(not FILES, reason=f"shared corpus not found at {CORPUS} (set LABKIT_CORPUS)")
@pytest.mark.parametrize("command", [
    ["eis", "fit", "--model", "pellet", *GEOMETRY], ["eis", "fit"], ["eis", "kk"],
    ["eis", "drt"], ["eis", "arrhenius", *GEOMETRY]], ids=" ".join)
def test_every_corpus_impedance_file_in_one_batch(command, capsys):
    code = main([*command, *FILES, "--json"])
    captured = capsys.readouterr()
    assert code in (0, 1)
    assert "Traceback" not in captured.err
    payload = json.loads(captured.out)  # exactly one JSON object
    entries = payload["points"] if command[1] == "arrhenius" else payload["results"]
    assert len(entries) == _expected_entries()
    for entry in entries:
        assert "file" in entry
        if "error" in entry:
            assert set(entry["error"]) >= {"type", "message", "file", "position"}
            assert not entry["error"].get("internal"), entry["error"]
