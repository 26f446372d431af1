"""labkit and fastnda 1.3 give the same values on every Neware file both read.

Files: every ``.nda``/``.nda.zip``/``.ndax`` of the corpus and, where
LABKIT_FASTNDA_TEST_DATA points at fastnda's own test files, those too. fastnda is
the ``bench`` extra: without it the tests skip. fastnda reads with ``cycle_mode="raw"``
(the file's cycle field; where a file has none it derives cycles as labkit does).
"""

from __future__ import annotations

import io
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import CORPUS, FASTNDA_TEST_DATA

import labkit

pytestmark = pytest.mark.corpus

#: Files both tools refuse or read as empty (a test that recorded no data).
EMPTY = {"fastnda_empty.ndax", "empty.ndax"}


def _neware_files() -> list[Path]:
    found = []
    for folder in (CORPUS / "cycler" / "neware", FASTNDA_TEST_DATA):
        if folder.is_dir():
            found += [p for p in sorted(folder.iterdir()) if p.name not in EMPTY and (
                p.suffix in (".nda", ".ndax") or p.name.endswith(".nda.zip"))]
    return found


def _close(name: str, ours, theirs, atol: float, rtol: float = 1e-6) -> None:
    ours, theirs = np.asarray(ours, float), np.asarray(theirs, float)
    excess = np.abs(ours - theirs) - (atol + rtol * np.abs(theirs))
    worst = int(np.argmax(excess))
    assert excess[worst] <= 0, f"{name}, row {worst}: labkit {ours[worst]}, fastnda {theirs[worst]}"


@pytest.mark.parametrize("path", _neware_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_labkit_and_fastnda_agree(path: Path, tmp_path: Path) -> None:
    fastnda = pytest.importorskip("fastnda")
    ours = labkit.read(path).data
    if path.name.endswith(".zip"):  # fastnda reads the .nda itself
        with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as archive:
            member = next(m for m in archive.namelist() if m.endswith(".nda"))
            path = tmp_path / Path(member).name
            path.write_bytes(archive.read(member))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = fastnda.read(path, cycle_mode="raw").to_pandas()
    assert len(ours) == len(theirs)
    _close("voltage (V)", ours["voltage_volt"], theirs["voltage_V"], 1e-7)
    _close("current (mA)", ours["current_ampere"] * 1e3, theirs["current_mA"], 1e-6)
    for column, their_column in (("step_index", "step_index"), ("step_count", "step_count"),
                                 ("cycle_count", "cycle_count")):
        np.testing.assert_array_equal(ours[column], theirs[their_column], err_msg=column)
    _close("step time (s)", ours["step_time_second"], theirs["step_time_s"], 1e-6)
    _close("test time (s)", ours["test_time_second"], theirs["total_time_s"], 1e-6)
    assert ("unix_time_second" in ours) == ("unix_time_s" in theirs)
    if "unix_time_s" in theirs:
        _close("unix time (s)", ours["unix_time_second"], theirs["unix_time_s"], 1e-6, 0)
    # fastnda subtracts float32 charge and discharge: up to ~1e-5 mAh off where both are large
    _close("capacity (mAh)", ours["step_capacity_ampere_hour"] * 1e3,
           np.abs(theirs["capacity_mAh"]), 1e-5)
    _close("energy (mWh)", ours["step_energy_watt_hour"] * 1e3, np.abs(theirs["energy_mWh"]),
           1e-4)
    assert (ours["neware_step_type"].astype(str).str.replace(" ", "_").str.lower().to_numpy()
            == theirs["step_type"].astype(str).str.lower().str.replace("pulse", "pulse_step")
            .to_numpy()).all()
