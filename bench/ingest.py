"""Ingestion throughput: the shared corpus copied N times, 1 vs 2 workers vs a local Dask cluster.

Usage: python bench/ingest.py [--copies N] [--corpus PATH]

Copies the corpus's instrument files (cycler/ and eis/, without reference outputs)
N times into a temporary folder, ingests them into a fresh store with each
configuration, and prints files/minute and MB/s. Quarantined files (the corpus's
deliberately broken files, formats not yet read) count as processed: the
pipeline still has to look at them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from _machine import describe

from labkit.ingest import ingest

SKIP = {"_reference", "_sidecar", "_schedules"}


def corpus_files(corpus: Path) -> list[Path]:
    files = []
    for folder in ("cycler", "eis"):
        for path in sorted((corpus / folder).rglob("*")):
            parts = path.relative_to(corpus / folder).parts
            if path.is_file() and path.name != "MANIFEST.md" and not SKIP.intersection(parts):
                files.append(path)
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=3)
    default_corpus = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
    parser.add_argument("--corpus", type=Path,
                        default=Path(os.environ.get("LABKIT_CORPUS", default_corpus)))
    args = parser.parse_args()
    print(describe(), flush=True)
    files = corpus_files(args.corpus)
    with tempfile.TemporaryDirectory() as work:
        source = Path(work) / "exports"
        for copy in range(args.copies):
            for path in files:
                target = source / f"copy{copy}" / path.relative_to(args.corpus)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, target)
        n_files = len(files) * args.copies
        megabytes = sum(p.stat().st_size for p in source.rglob("*") if p.is_file()) / 1e6
        print(f"{n_files} files, {megabytes:.1f} MB ({args.copies} copies of the corpus)")
        print(f"{'configuration':<28}{'seconds':>9}{'files/min':>11}{'MB/s':>8}{'ok':>6}"
              f"{'quarantined':>13}")
        configurations = [("1 worker", {"workers": 1}), ("2 workers", {"workers": 2})]
        try:
            from dask.distributed import Client, LocalCluster

            cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
            configurations.append(("Dask LocalCluster (2 proc)", {"dask": Client(cluster)}))
        except ImportError:
            print("(dask.distributed not installed: Dask row skipped)")
        for name, options in configurations:
            store = Path(work) / f"store-{name.replace(' ', '_')}"
            start = time.perf_counter()
            report = ingest([source], store, **options)
            seconds = time.perf_counter() - start
            print(f"{name:<28}{seconds:>9.1f}{n_files / seconds * 60:>11.0f}"
                  f"{megabytes / seconds:>8.1f}{report.ingested:>6}{report.quarantined:>13}")


if __name__ == "__main__":
    main()
