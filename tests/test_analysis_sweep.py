"""Every analysis command on corpus files ends in a result or a labkit error: exit 0 or 1
with exactly one JSON object on stdout, never a traceback.

The default run takes a representative sample: the first file of every corpus folder of
cycler files, run through every analysis command (``report`` on three of them: a
cycling file, a chronoamperometry, and the 1.5 s BioLogic step with no complete cycle),
and two impedance files (which the cycling commands must refuse). Each file is read once
and handed to every command. The whole corpus is ``python bench/analysis_sweep.py`` (it
also prints the slowest calls), or this file with ``LABKIT_SWEEP=all`` in the
environment.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import labkit
from bench.analysis_sweep import COMMANDS, corpus_files, run_command
from labkit.errors import LabkitError
from tests.conftest import CORPUS

#: Longest a call may take before the test calls it a hang (the benchmark reports speed).
HANG_SECOND = 120.0
REPORTED = {"fastnda_nda_v26.nda.zip", "yadg_ca.mpr", "navani_00_test_04_MB_C01.mpr"}
IMPEDANCE = {"yadg_peis.mpr", "impedancepy_exampleData.csv"}


def _sample() -> list[Path]:
    """The first file of each cycler folder, the files ``report`` runs on, two spectra."""
    files = corpus_files(CORPUS)
    firsts = {}
    for path in files:
        if "cycler" in path.relative_to(CORPUS).parts[:1]:
            firsts.setdefault(path.parent, path)
    wanted = REPORTED | IMPEDANCE
    return sorted({*firsts.values(), *(p for p in files if p.name in wanted)})


@pytest.fixture(scope="module")
def read_once() -> Iterator[None]:
    """``labkit.read`` remembers each file it read (or the labkit error it raised)."""
    original, done = labkit.read, {}

    def read(path, *args, **kwargs):
        key = (str(path), args, tuple(sorted(kwargs.items())))
        if key not in done:
            try:
                done[key] = original(path, *args, **kwargs)
            except LabkitError as exc:
                done[key] = exc
        if isinstance(done[key], LabkitError):
            raise done[key]
        return done[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(labkit, "read", read)
        yield


def _check(path: Path, commands: dict, scratch: Path) -> None:
    for name, make in commands.items():
        outcome, code, detail = run_command(make(str(path), scratch), HANG_SECOND)
        assert outcome in ("ok", "refused"), f"labkit {name} {path.name}: {outcome}\n{detail}"
        assert code == (0 if outcome == "ok" else 1)


def _commands_for(path: Path) -> dict:
    if path.name in REPORTED:
        return COMMANDS
    return {name: make for name, make in COMMANDS.items() if name != "report"}


@pytest.mark.corpus
@pytest.mark.parametrize("path", _sample() if CORPUS.is_dir() else [],
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_analysis_command_ends_in_a_result_or_a_labkit_error(path, read_once, tmp_path):
    _check(path, _commands_for(path), tmp_path)


def test_the_sample_covers_every_cycler_folder_and_the_issue_files(corpus):
    sample = {p.name for p in _sample()}
    assert sample >= REPORTED | IMPEDANCE
    folders = {p.parent for p in corpus_files(corpus) if p.relative_to(corpus).parts[0] == "cycler"}
    assert {p.parent for p in _sample() if p.relative_to(corpus).parts[0] == "cycler"} == folders


@pytest.mark.slow
@pytest.mark.corpus
@pytest.mark.skipif(os.environ.get("LABKIT_SWEEP") != "all",
                    reason="the whole-corpus sweep (~20 min) runs with LABKIT_SWEEP=all, or as "
                           "python bench/analysis_sweep.py")
def test_every_analysis_command_on_every_corpus_file(corpus, read_once, tmp_path):
    for path in corpus_files(corpus):
        _check(path, COMMANDS, tmp_path)
