"""Impedance file readers: labkit vs pyimpspec ``parse_data`` vs impedance.py ``readFile``.

Usage: python bench/eis_readers.py [--corpus PATH] [--repeat N]

For every impedance file of the shared corpus (eis/, without reference outputs and
sidecars, and without the BioLogic folders, which are benchmarked with the cycler
readers), each tool reads the file; the table gives which tools read it, the points
each found, the median read time, and the largest relative difference of pyimpspec's
complex impedance from labkit's (same points, same order after sorting by frequency).
A tool that raises is shown as "-". pyimpspec is GPL: installed by the ``bench`` extra.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _machine import describe

import labkit

SKIP = {"_reference", "_sidecar", "biologic_mpr", "biologic_mpt"}
IMPEDANCE_PY_TYPES = {"gamry_dta": "gamry", "zplot_z": "zplot", "autolab_txt": "autolab",
                      "parstat_txt": "parstat", "powersuite_txt": "powersuite",
                      "chinstruments_txt": "chinstruments", "versastudio_par": "versastudio",
                      "csv": None, "drt_txt": None, "drt_synthetic": None}


def _labkit(path: Path) -> tuple[np.ndarray, np.ndarray]:
    data = labkit.read(path).data
    return data["frequency_hertz"].to_numpy(), (data["z_real_ohm"] + 1j * data["z_imag_ohm"]).to_numpy()


def _pyimpspec(path: Path) -> tuple[np.ndarray, np.ndarray]:
    from pyimpspec import parse_data

    sets = parse_data(str(path))
    return (np.concatenate([s.get_frequencies() for s in sets]),
            np.concatenate([s.get_impedances() for s in sets]))


def _impedance_py(path: Path, kind: str | None) -> tuple[np.ndarray, np.ndarray]:
    from impedance.preprocessing import readFile

    frequency, z = readFile(str(path), instrument=kind)
    return np.asarray(frequency), np.asarray(z)


def _timed(read: Callable[[], tuple[np.ndarray, np.ndarray]], repeat: int):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = read()
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                read()
                times.append(time.perf_counter() - start)
    except Exception:  # a competitor failing on a file is a result, not an error
        return None, None
    return result, statistics.median(times)


def _difference(ours, theirs) -> str:
    if ours is None or theirs is None or len(ours[0]) != len(theirs[0]):
        return "-"
    order_ours, order_theirs = np.argsort(ours[0], kind="stable"), np.argsort(theirs[0],
                                                                              kind="stable")
    z_ours, z_theirs = ours[1][order_ours], theirs[1][order_theirs]
    return f"{np.max(np.abs(z_ours - z_theirs) / np.abs(z_ours)):.1e}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_corpus = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
    parser.add_argument("--corpus", type=Path, default=default_corpus)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(describe(), flush=True)
    root = args.corpus / "eis"
    print("| file | labkit pts | ms | pyimpspec pts | ms | max rel dZ | impedance.py pts | ms |")
    print("|---|---|---|---|---|---|---|---|")
    totals = {"labkit": 0, "pyimpspec": 0, "impedance.py": 0, "files": 0}
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if not path.is_file() or path.name == "MANIFEST.md" or SKIP.intersection(parts):
            continue
        totals["files"] += 1
        ours, our_time = _timed(lambda p=path: _labkit(p), args.repeat)
        theirs, their_time = _timed(lambda p=path: _pyimpspec(p), args.repeat)
        kind = IMPEDANCE_PY_TYPES.get(parts[0], "skip")
        other, other_time = (None, None) if kind == "skip" else _timed(
            lambda p=path, k=kind: _impedance_py(p, k), args.repeat)
        for name, result in (("labkit", ours), ("pyimpspec", theirs), ("impedance.py", other)):
            totals[name] += result is not None

        def cell(result, seconds):
            return ("-", "-") if result is None else (str(len(result[0])), f"{seconds * 1e3:.1f}")

        row = [f"{parts[0]}/{path.name}", *cell(ours, our_time), *cell(theirs, their_time),
               _difference(ours, theirs), *cell(other, other_time)]
        print("| " + " | ".join(row) + " |")
    print(f"\nfiles read: labkit {totals['labkit']}/{totals['files']}, pyimpspec "
          f"{totals['pyimpspec']}/{totals['files']}, impedance.py {totals['impedance.py']}/"
          f"{totals['files']}")


if __name__ == "__main__":
    main()
