"""Shared fixtures: the path to the shared corpus of real instrument files.

The corpus is found through one setting, the environment variable
``LABKIT_CORPUS`` (default ``../shared/corpus`` beside the checkout). Tests that
need it skip with a message saying so when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("LABKIT_CORPUS", ROOT.parent / "shared" / "corpus"))


def corpus_path(*parts: str) -> Path:
    """A path inside the corpus; skips the calling test when it is missing."""
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"corpus file {path} not found (set LABKIT_CORPUS to the shared corpus)")
    return path


#: fastnda's own test files (tests/test_data of a clone of github.com/EmpaEConversion/fastnda,
#: BSD-3-Clause): set LABKIT_FASTNDA_TEST_DATA to that folder. Never copied into this project.
FASTNDA_TEST_DATA = Path(os.environ.get("LABKIT_FASTNDA_TEST_DATA",
                                        ROOT.parent / "fastnda" / "tests" / "test_data"))


def fastnda_test_data(name: str) -> Path:
    """A file of fastnda's test data; skips the calling test when it is missing."""
    path = FASTNDA_TEST_DATA / name
    if not path.exists():
        pytest.skip(f"fastnda test file {path} not found (set LABKIT_FASTNDA_TEST_DATA to the "
                    "tests/test_data folder of a fastnda clone)")
    return path


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The corpus root; skips when it is absent."""
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS} (set LABKIT_CORPUS)")
    return CORPUS


def copy_with_line(source: Path, folder: Path, line_number: int, new_line: bytes | str,
                   name: str | None = None) -> Path:
    """A copy of ``source`` in ``folder`` (as ``name``, default its own) whose 1-based line
    ``line_number`` is ``new_line``: a damaged input made from a real file."""
    lines = source.read_bytes().split(b"\n")
    lines[line_number - 1] = new_line.encode() if isinstance(new_line, str) else new_line
    target = folder / (name or source.name)
    target.write_bytes(b"\n".join(lines))
    return target
