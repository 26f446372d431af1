"""Cycler file parsing speed: labkit vs fastnda, NewareNDA, galvani and cellpy on the same files.

Usage: python bench/parse.py [--corpus PATH] [--repeat N] [--only SUBSTRING]

Files: every Neware raw file (.nda, .nda.zip unzipped to a temporary folder so that
every tool reads the same .nda, .ndax), the Neware BTSDA exports cellpy reads (.csv,
.xlsx), and every BioLogic .mpr of the shared corpus. Each tool reads each file it
can: one untimed warm-up, then the best of ``--repeat`` timed reads, the tools
taking turns, one round over all files per repeat (best, not median: the benchmark
machine is shared and the minimum is the least disturbed number). galvani's time includes making a DataFrame of its
record array (no unit conversion, no validation). labkit's time is ``labkit.read`` end to end: format detection, parsing,
and validation; the record's SHA-256 (of the bytes parsed) is computed when first asked
for, so the column "labkit+SHA-256" times ``labkit.read(path).meta.source_sha256`` (what
``labkit ingest`` pays). The table gives MB/s for labkit and, for every competitor, its
time and the ratio competitor time / labkit time (> 1: labkit is faster). A tool that raises on a file shows "-". Competitors are optional (the
``bench`` extra); one that is not installed is skipped and named.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import logging
import statistics
import tempfile
import time
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

from _machine import describe

import labkit

CELLPY_INSTRUMENTS = {".nda": "neware_nda", ".csv": "neware_txt", ".xlsx": "neware_xlsx",
                      ".mpr": "biologics_mpr"}
SLOW_SECONDS = 1.0  # a tool this slow on its warm-up is timed once


def _fastnda(path: Path) -> object:
    import fastnda

    return fastnda.read(path)


def _newarenda(path: Path) -> object:
    import NewareNDA

    return NewareNDA.read(str(path))


def _galvani(path: Path) -> object:
    import pandas as pd
    from galvani import BioLogic

    # galvani's .data is a view of the file's records; users go on to a DataFrame
    return pd.DataFrame(BioLogic.MPRfile(str(path)).data)


def _cellpy(path: Path) -> object:
    import cellpy

    return cellpy.get(str(path), instrument=CELLPY_INSTRUMENTS[path.suffix],
                      auto_summary=False).data.raw


COMPETITORS: dict[str, tuple[str, Callable[[Path], object], tuple[str, ...]]] = {
    # name: (module to import, reader, file suffixes it reads)
    "fastnda": ("fastnda", _fastnda, (".nda", ".ndax")),
    "NewareNDA": ("NewareNDA", _newarenda, (".nda", ".ndax")),
    "galvani": ("galvani", _galvani, (".mpr",)),
    "cellpy": ("cellpy", _cellpy, (".nda", ".csv", ".xlsx", ".mpr")),
}


def _best_times(readers: dict[str, dict[str, Callable[[], object]]],
                repeat: int) -> dict[str, dict[str, float]]:
    """Best time of each reader that does not raise, per file, the readers taking turns.

    Every reader is warmed up once; then ``repeat`` rounds each go over every file, the
    readers of a file running in turn (a reader slower than SLOW_SECONDS only once). A
    file's timed reads are spread over the whole run, so a burst of load on the shared
    machine (they last seconds) spoils one of them, not all. Each turn starts with the
    next reader: the one that runs right after the others finds the caches and the
    allocator's free memory as they left them, and a fixed order gave the first reader
    (labkit) that handicap on every file.
    """
    sink = io.StringIO()
    best: dict[str, dict[str, float]] = {label: {} for label in readers}
    with warnings.catch_warnings(), contextlib.redirect_stdout(sink), \
            contextlib.redirect_stderr(sink):
        warnings.simplefilter("ignore")
        for label, file_readers in readers.items():
            for name, read in file_readers.items():
                try:
                    start = time.perf_counter()
                    read()
                    best[label][name] = time.perf_counter() - start
                except Exception:  # a tool failing on a file is a result, not an error
                    continue
        for turn in range(repeat):
            for label, times in best.items():
                names = list(times)
                for name in names[turn % len(names):] + names[:turn % len(names)]:
                    if turn and times[name] > SLOW_SECONDS:
                        continue
                    start = time.perf_counter()
                    readers[label][name]()
                    times[name] = min(times[name], time.perf_counter() - start)
    return best


def _files(corpus: Path, scratch: Path) -> list[tuple[str, Path]]:
    neware, biologic = corpus / "cycler" / "neware", corpus / "cycler" / "biologic"
    found: list[tuple[str, Path]] = []
    for path in sorted(neware.iterdir()):
        name = path.name
        if name.endswith(".nda.zip"):
            with zipfile.ZipFile(path) as archive:
                member = next(m for m in archive.namelist() if m.endswith(".nda"))
                target = scratch / Path(member).name
                target.write_bytes(archive.read(member))
            found.append((f"neware/{name} (unzipped)", target))
        elif path.suffix in (".nda", ".ndax") or (
                path.suffix in (".csv", ".xlsx") and ".btsda." not in name):
            found.append((f"neware/{name}", path))
    found += [(f"biologic/{p.name}", p) for p in sorted(biologic.glob("*.mpr"))]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_corpus = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
    parser.add_argument("--corpus", type=Path, default=default_corpus)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", default="", help="only files whose name contains this")
    args = parser.parse_args()
    print(describe(), flush=True)
    logging.disable(logging.CRITICAL)
    installed = {name: spec for name, spec in COMPETITORS.items()
                 if importlib.util.find_spec(spec[0]) is not None}
    for name in COMPETITORS:
        if name not in installed:
            print(f"skipping {name}: not installed (pip install -e '.[bench]')")
    names = list(installed)
    header = ["file", "MB", "labkit ms", "labkit MB/s", "labkit+SHA-256 ms"]
    for name in names:
        header += [f"{name} ms", f"{name}/labkit"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    slower: list[str] = []
    ratios: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        files = [(label, path) for label, path in _files(args.corpus, Path(scratch))
                 if args.only in label]
        readers: dict[str, dict[str, Callable[[], object]]] = {}
        for label, path in files:
            readers[label] = {"labkit": lambda p=path: labkit.read(p),
                              "labkit+sha256": lambda p=path: labkit.read(p).meta.source_sha256}
            for name in names:
                _, reader, suffixes = installed[name]
                if path.suffix in suffixes:
                    readers[label][name] = lambda p=path, r=reader: r(p)
        times = _best_times(readers, args.repeat)
        for label, path in files:
            best = times[label]
            megabytes = path.stat().st_size / 1e6
            ours = best.get("labkit")
            hashed = best.get("labkit+sha256")
            row = [label, f"{megabytes:.3f}", "-" if ours is None else f"{ours * 1e3:.1f}",
                   "-" if ours is None else f"{megabytes / ours:.1f}",
                   "-" if hashed is None else f"{hashed * 1e3:.1f}"]
            for name in names:
                theirs = best.get(name)
                row += ["-" if theirs is None else f"{theirs * 1e3:.1f}",
                        "-" if theirs is None or ours is None else f"{theirs / ours:.2f}"]
                if theirs is not None and ours is not None:
                    ratios.setdefault(f"{name}/labkit", []).append(theirs / ours)
                    ratios.setdefault(f"{name}/(labkit+SHA-256)", []).append(theirs / hashed)
                    if theirs < ours:
                        slower.append(f"{label} ({name} {theirs * 1e3:.1f} ms vs "
                                      f"{ours * 1e3:.1f} ms)")
            print("| " + " | ".join(row) + " |", flush=True)
    print()
    for name, values in ratios.items():
        print(f"{name} over {len(values)} shared files: min {min(values):.2f}, "
              f"median {statistics.median(values):.2f}, max {max(values):.2f}")
    print(f"labkit slower than a competitor on {len(slower)} file(s)"
          + ("".join(f"\n  {item}" for item in slower)))


if __name__ == "__main__":
    main()
