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


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The corpus root; skips when it is absent."""
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS} (set LABKIT_CORPUS)")
    return CORPUS
