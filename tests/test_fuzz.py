"""Malformed input never escapes as anything but a labkit error, never hangs, never
changes the input.

Each corpus instrument file is mutated in a temporary copy (truncated, bytes
flipped, garbage appended, renamed to a wrong extension, emptied, or given
bytes that are not valid in any text encoding) and read with ``labkit.read``.
The outcome must be a record that passes validation, or a ``LabkitError``; any
other exception, or a read longer than the time limit, fails the test. The
originals are hashed before and after to prove they are never modified.
"""

from __future__ import annotations

import random
import signal
from pathlib import Path

import pytest

import labkit
from labkit.fileio import sha256_of
from tests.conftest import CORPUS

SKIP_DIRS = {"_reference", "_sidecar", "_schedules"}
MAX_FULL_BYTES = 600_000  # larger files get the cheap mutations only
SECONDS_PER_READ = 10


def _corpus_files() -> list[Path]:
    files = []
    for folder in ("cycler", "eis"):
        root = CORPUS / folder
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.name != "MANIFEST.md" and not SKIP_DIRS.intersection(
                path.relative_to(root).parts
            ):
                files.append(path)
    return files


FILES = _corpus_files()


class _Timeout(Exception):
    pass


def _raise_timeout(_signum, _frame):
    raise _Timeout


def _outcome(path: Path) -> str:
    signal.signal(signal.SIGALRM, _raise_timeout)
    signal.setitimer(signal.ITIMER_REAL, SECONDS_PER_READ)
    try:
        record = labkit.read(path)
        record.validate()
        return "ok"
    except labkit.LabkitError as exc:
        assert exc.file, f"{type(exc).__name__} without a file name: {exc}"
        return "refused"
    except _Timeout:
        pytest.fail(f"labkit.read hung (> {SECONDS_PER_READ} s) on {path.name}")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _mutations(data: bytes, rng: random.Random) -> dict[str, bytes]:
    size = len(data)
    cuts = {f"truncated_{f}": data[: int(size * f)] for f in (0.03, 0.5, 0.97)}
    cuts["head_only"] = data[:200]
    if size > MAX_FULL_BYTES:
        return cuts
    flipped = bytearray(data)
    for _ in range(max(4, size // 5000)):
        position = rng.randrange(size)
        flipped[position] ^= 1 << rng.randrange(8)
    garbage = bytes(rng.randrange(256) for _ in range(997))
    middle = size // 2
    return {
        **cuts,
        "flipped_bytes": bytes(flipped),
        "garbage_appended": data + garbage,
        "garbage_inserted": data[:middle] + garbage + data[middle:],
        "invalid_text_bytes": data[:middle] + b"\xff\xfe\x80\x81\xc3" * 50 + data[middle:],
    }


@pytest.mark.skipif(not FILES, reason=f"shared corpus not found at {CORPUS} (set LABKIT_CORPUS)")
@pytest.mark.parametrize("original", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_mutated_file_gives_record_or_labkit_error(original: Path, tmp_path: Path):
    before = sha256_of(original)
    _outcome(original)
    assert sha256_of(original) == before, "labkit.read modified its input"
    rng = random.Random(original.name)
    data = original.read_bytes()
    for name, content in _mutations(data, rng).items():
        copy = tmp_path / f"{name}{''.join(original.suffixes[-2:])}"
        copy.write_bytes(content)
        _outcome(copy)
    wrong_extension = tmp_path / (original.stem + (".csv" if original.suffix != ".csv" else ".mpr"))
    wrong_extension.write_bytes(data[:MAX_FULL_BYTES])
    _outcome(wrong_extension)


@pytest.mark.parametrize("content", [b"", b"\x00" * 4096, b"\xff\xfe" * 100, "é,ü\n1,2\n".encode("latin-1")])
def test_degenerate_inputs_are_refused_with_a_labkit_error(content: bytes, tmp_path: Path):
    path = tmp_path / "degenerate.csv"
    path.write_bytes(content)
    with pytest.raises(labkit.LabkitError):
        labkit.read(path)
