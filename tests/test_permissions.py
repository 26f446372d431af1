"""Files labkit writes get the permissions an ordinary ``open(path, "w")`` gives under the
process's umask (0644 at 022, 0600 at 077), and a file labkit replaces keeps its mode,
while writes stay atomic (temp file + rename).

The umask is process-wide, so the writers run in a child process that sets it: the demo
(example data, the store's Parquet records and catalog, a Maccor procedure), ``read -o``
(Parquet), ``report`` (HTML), ``protocol make`` (BioLogic, YAML), ``dqdv -o`` (CSV),
``labkit.plot.save`` (PNG) and ``save_schedule`` (YAML).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap

import pytest

from labkit.fileio import atomic_temp_path, atomic_write, commit_temp_path

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")

WRITERS = textwrap.dedent("""
    import os, sys
    from pathlib import Path

    os.umask(int(sys.argv[1], 8))
    out = Path(sys.argv[2])

    from labkit.cli import main
    from labkit.plot import save, voltage_capacity
    from labkit.protocols.generators import multistep
    from labkit.protocols.schedule import Cell, save_schedule
    import labkit

    def run(*argv):
        code = main([str(a) for a in argv])
        assert code == 0, (argv, code)

    run("demo", "--out", out / "demo", "--json")
    cycling = out / "demo" / "data" / "cycling_cell.bdf.csv"
    run("read", cycling, "-o", out / "record.parquet", "--json")
    run("report", cycling, "-o", out / "report.html", "--json")
    run("protocol", "make", "cccv", "--capacity", "1.1", "--vmin", "2.0", "--vmax", "3.6",
        "--format", "biologic", "-o", out / "cccv.mps", "--json")
    run("protocol", "make", "cccv", "--capacity", "1.1", "--vmin", "2.0", "--vmax", "3.6",
        "--format", "yaml", "-o", out / "cccv.yaml", "--json")
    run("dqdv", cycling, "--cycle", "2", "-o", out / "dqdv.csv", "--json")
    save(voltage_capacity(labkit.read(cycling)), str(out / "voltage.png"))
    cell = Cell(name="c", nominal_capacity_ampere_hour=1.1, min_voltage_volt=2.0,
                max_voltage_volt=3.6, max_current_ampere=10.0)
    save_schedule(multistep(cell, policy="4.8-5.2-5.2-4.16", cycles=2), out / "schedule.yaml")
""")

EXPECTED_OUTPUTS = ("record.parquet", "report.html", "cccv.mps", "cccv.yaml", "dqdv.csv",
                    "voltage.png", "schedule.yaml", "demo/fast_charge_multistep.000",
                    "demo/store/catalog.sqlite", "demo/data/cycling_cell.bdf.csv")


@pytest.mark.slow
@pytest.mark.parametrize(("umask", "file_mode", "folder_mode"),
                         [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700)])
def test_every_file_labkit_writes_follows_the_umask(tmp_path, umask, file_mode, folder_mode):
    out = tmp_path / "out"
    out.mkdir(mode=0o755)
    script = tmp_path / "writers.py"
    script.write_text(WRITERS, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script), f"{umask:o}", str(out)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    for name in EXPECTED_OUTPUTS:
        assert (out / name).is_file(), f"{name} was not written"
    records = list((out / "demo" / "store" / "records").rglob("*.parquet"))
    assert len(records) == 14  # the demo ingests 14 example files (tests/test_demo.py)
    modes = {path.relative_to(out).as_posix(): stat.S_IMODE(path.stat().st_mode)
             for path in out.rglob("*")}
    wrong = {name: f"{mode:o}" for name, mode in modes.items()
             if mode != (folder_mode if (out / name).is_dir() else file_mode)}
    assert not wrong, f"expected files {file_mode:o} and folders {folder_mode:o}: {wrong}"
    leftovers = [name for name in modes if name.endswith(".tmp")]
    assert not leftovers, f"temporary files left behind: {leftovers}"


@pytest.mark.parametrize("mode", [0o640, 0o600, 0o664, 0o444])
def test_a_replaced_file_keeps_its_mode(tmp_path, mode):
    target = tmp_path / "report.html"
    target.write_text("old")
    target.chmod(mode)
    with atomic_write(target, "w", encoding="utf-8") as handle:
        handle.write("new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == mode


@pytest.mark.parametrize("mode", [0o640, 0o444])
def test_a_replaced_file_written_through_a_temporary_path_keeps_its_mode(tmp_path, mode):
    """The Parquet writer's route: the library writes to a name, then the commit."""
    target = tmp_path / "record.parquet"
    target.write_bytes(b"old")
    target.chmod(mode)
    temp = atomic_temp_path(target)
    assert stat.S_IMODE(temp.stat().st_mode) == 0o600  # nobody else reads it half-written
    temp.write_bytes(b"new")
    commit_temp_path(temp, target)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert [p.name for p in tmp_path.iterdir()] == ["record.parquet"]
