"""Malformed input never escapes as anything but a labkit error, never hangs, never
changes the input.

A short run of the fuzz harness ``bench/fuzz.py`` (the long runs are made by hand, see
the README): ``LABKIT_FUZZ_COUNT`` (default 1) damaged copies of every corpus file, read
by ``labkit.read`` and the schedule reader in worker processes with a per-input time
limit. The seed changes from run to run and is part of the test's name and of its failure
message; ``LABKIT_FUZZ_SEED=<seed>`` runs the same inputs again, and the message gives the
command that replays each failing one alone. The originals are hashed before and after.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import random
import sys
import zipfile
from pathlib import Path

import pytest

import labkit
from labkit.errors import FormatError
from tests.conftest import CORPUS, ROOT
from tests.test_damaged_containers import labkit_record

_spec = importlib.util.spec_from_file_location("labkit_bench_fuzz", ROOT / "bench" / "fuzz.py")
fuzz = sys.modules[_spec.name] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fuzz)

SEED = int(os.environ.get("LABKIT_FUZZ_SEED") or random.SystemRandom().randrange(10**9))
COUNT = int(os.environ.get("LABKIT_FUZZ_COUNT", "1"))
#: Per input; labkit's own longest limit on a corpus file (mdbtools on the 3.7 MB .res:
#: 5 s + 0.5 s/MB) is well inside it, also on a busy CI machine.
TIMEOUT_SECOND = 20.0
FILES = fuzz.corpus_files(CORPUS)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
@pytest.mark.skipif(not FILES, reason=f"shared corpus not found at {CORPUS} (set LABKIT_CORPUS)")
@pytest.mark.skipif(sys.platform == "win32", reason="the harness kills process groups (POSIX)")
@pytest.mark.parametrize("seed", [SEED], ids=lambda seed: f"seed={seed}")
def test_short_fuzz_run_finds_no_crash_and_no_hang(seed: int):
    before = {path: _sha256(path) for path in FILES}
    outcomes = fuzz.run(CORPUS, FILES, COUNT, seed, TIMEOUT_SECOND, jobs=min(2, os.cpu_count() or 1))
    assert len(outcomes) == COUNT * len(FILES)
    defects = [o for o in outcomes if o.kind in fuzz.DEFECTS]
    assert not defects, (f"fuzz seed {seed} (LABKIT_FUZZ_SEED={seed} repeats the run):\n"
                         + fuzz.report(defects, seed, slowest=0))
    changed = [path.name for path in FILES if _sha256(path) != before[path]]
    assert not changed, f"labkit modified its input: {changed}"


def test_mutations_replay_from_seed_file_and_index():
    data = random.Random(0).randbytes(10_000)
    first = fuzz.mutate(data, "x.mpr", fuzz.mutation_rng(11, "cycler/x.mpr", 3))
    again = fuzz.mutate(data, "x.mpr", fuzz.mutation_rng(11, "cycler/x.mpr", 3))
    assert first == again
    others = [fuzz.mutate(data, "x.mpr", fuzz.mutation_rng(11, "cycler/x.mpr", i))
              for i in range(20)]
    assert all((m.content, m.name) != (data, "x.mpr") for m in others)  # each one damaged
    assert len({(m.content, m.name) for m in others}) == 20  # and each differently


def test_zip_mutants_damage_a_field_or_a_repacked_member(tmp_path: Path):
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.ndc", bytes(range(256)) * 100)
        archive.writestr("TestInfo.xml", "<TestInfo/>" * 50)
    data = buffer.getvalue()
    descriptions = [fuzz.mutate(data, "run.ndax", fuzz.mutation_rng(5, "run.ndax", i)).description
                    for i in range(200)]
    assert any(d.startswith("zip central directory entry") for d in descriptions)
    assert any(d.startswith("zip local header") for d in descriptions)
    repacked = [i for i, d in enumerate(descriptions) if d.startswith("zip member")]
    assert repacked
    mutant = fuzz.mutate(data, "run.ndax", fuzz.mutation_rng(5, "run.ndax", repacked[0]))
    with zipfile.ZipFile(io.BytesIO(mutant.content)) as archive:
        assert archive.testzip() is None  # CRCs valid: the damage is inside a member


def test_outcome_of_tells_refusals_from_crashes(tmp_path: Path):
    path = tmp_path / "x.csv"

    def refuses(p: Path) -> None:
        raise FormatError("expected a header", file=p, position="line 1")

    def fails(p: Path) -> None:
        raise ValueError("could not convert")

    def refuses_without_file(p: Path) -> None:
        raise FormatError("expected a header")

    assert fuzz.outcome_of(path, [("a", refuses), ("b", refuses)]) == ("refused", "")
    assert fuzz.outcome_of(path, [("a", refuses), ("b", lambda p: None)]) == ("ok", "")
    kind, detail = fuzz.outcome_of(path, [("a", refuses), ("b", fails)])
    assert kind == "crash" and detail.startswith("b: ValueError: could not convert at ")
    assert fuzz.outcome_of(path, [("a", refuses_without_file)])[0] == "crash"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX shell stand-in, process groups")
def test_a_read_that_hangs_is_reported_and_its_process_group_killed(tmp_path: Path,
                                                                    monkeypatch):
    """A stand-in ``mdb-tables`` that never answers, under a fuzz limit shorter than
    labkit's own: the harness kills the worker's group, the stand-in's child included."""
    tools = tmp_path / "bin"
    tools.mkdir()
    pid_file = tmp_path / "sleep.pid"
    script = tools / "mdb-tables"
    script.write_text(f"#!/bin/sh\nsleep 300 &\necho $! > {pid_file}\nwait\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    database = tmp_path / "hang.res"
    database.write_bytes(b"\x00\x01\x00\x00Standard Jet DB\x00" + bytes(4096))
    worker = fuzz._Worker(memory_megabyte=0)
    try:
        kind, detail, _ = worker.read(database, timeout=1.0)
        assert (kind, detail) == ("hang", "no answer within 1 s (process group killed)")
        sleeper = Path(f"/proc/{int(pid_file.read_text())}")
        assert not sleeper.exists() or b") Z " in (sleeper / "stat").read_bytes()
        kind, _, _ = worker.read(tmp_path / "missing.csv", timeout=30.0)  # a fresh worker
        assert kind == "refused"
    finally:
        worker.stop()


def test_damaged_labkit_parquet_records_give_a_record_or_a_labkit_error(tmp_path: Path):
    """labkit's own output, damaged (a store on a failing disk): the seed of this run."""
    original = labkit_record(tmp_path).read_bytes()
    damaged = tmp_path / "damaged.parquet"
    outcomes = []
    for index in range(150):
        mutant = fuzz.mutate(original, damaged.name, fuzz.mutation_rng(SEED, "record", index))
        damaged.write_bytes(mutant.content)
        replay = f"LABKIT_FUZZ_SEED={SEED}, mutant {index} ({mutant.description})"
        try:
            labkit.read_parquet(damaged)
            outcomes.append("ok")
        except labkit.LabkitError as exc:
            assert exc.file == str(damaged), f"{replay}: {exc}"
            outcomes.append("refused")
        except Exception as exc:  # the defect this test looks for
            pytest.fail(f"{replay}: {type(exc).__name__}: {exc}")
    assert len(outcomes) == 150 and "refused" in outcomes, f"seed {SEED}"


@pytest.mark.parametrize("content", [b"", b"\x00" * 4096, b"\xff\xfe" * 100,
                                     "é,ü\n1,2\n".encode("latin-1")],
                         ids=["empty", "zeros", "utf16_marks", "latin1_header"])
def test_degenerate_inputs_are_refused_with_a_labkit_error(content: bytes, tmp_path: Path):
    path = tmp_path / "degenerate.csv"
    path.write_bytes(content)
    with pytest.raises(labkit.LabkitError):
        labkit.read(path)
