"""Deterministic damaged copies of a file, for "bad input is a labkit error" tests."""

from __future__ import annotations

import random
from collections.abc import Iterator


def mutations(raw: bytes, count: int = 20, seed: int = 7) -> Iterator[bytes]:
    """``count`` damaged versions of ``raw``: truncated, bytes overwritten, a line
    deleted, duplicated or swapped with another."""
    rng = random.Random(seed)
    for _ in range(count):
        kind = rng.choice(("truncate", "overwrite", "delete", "duplicate", "swap"))
        if kind == "truncate":
            yield raw[:rng.randrange(max(len(raw), 1))]
            continue
        if kind == "overwrite":
            data = bytearray(raw)
            for _ in range(rng.randint(1, 5)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            yield bytes(data)
            continue
        lines = raw.split(b"\n")
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        if kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        else:
            lines[i], lines[j] = lines[j], lines[i]
        yield b"\n".join(lines)
