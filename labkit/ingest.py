"""Ingest folders of instrument files into a :class:`~labkit.store.Store`, once each.

:func:`ingest` walks the sources, skips files whose catalogued version is
unchanged, parses the rest in a process pool (or on a Dask cluster), writes each
record as Parquet and only then commits its catalog row. Unreadable files are
quarantined with their error; one bad file never stops a batch. :func:`watch`
polls folders (network shares have no inotify) and ingests a file once its size
and mtime have been stable for a settle time, so half-written exports are never
read. Source files are only ever opened for reading.
"""

from __future__ import annotations

import concurrent.futures
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from labkit.errors import LabkitError
from labkit.fileio import sha256_of
from labkit.store import Entry, Store, stat_signature


def _summary_hook(record, argument: str | None) -> dict[str, Any]:
    return record.summary()


def _cycles_hook(record, argument: str | None) -> dict[str, Any]:
    from labkit.analysis.cycling import summarize_cycles

    if record.kind not in ("cycling", "cycle_summary"):
        return {"skipped": "not a cycling record or per-cycle table"}
    return summarize_cycles(record).to_dict()


def _eis_fit_hook(record, argument: str | None) -> dict[str, Any]:
    from labkit.eis.fit import fit_circuit
    from labkit.eis.models import MODELS, get_model

    if record.kind != "impedance":
        return {"skipped": "not an impedance record"}
    circuit = get_model(argument).circuit if argument in MODELS else argument
    if not circuit:
        raise LabkitError("the eis_fit hook needs a model or circuit: eis_fit:pellet")
    fits = []
    for index, _rows in record.spectra():
        frequency, impedance = record.impedance(index)
        fits.append({"spectrum": index, **fit_circuit(frequency, impedance, circuit).to_dict()})
    return {"circuit": circuit, "fits": fits}


#: Analyses that can run on each newly ingested record, by name; ``name:argument`` passes an
#: argument (``eis_fit:pellet``, ``eis_fit:R0-p(R1,CPE1)``). Each returns a JSON-able dict.
ANALYSIS_HOOKS: dict[str, Callable[[Any, str | None], dict[str, Any]]] = {
    "summary": _summary_hook,
    "cycles": _cycles_hook,
    "eis_fit": _eis_fit_hook,
}


@dataclass
class IngestReport:
    """What one ingest run did.

    Attributes
    ----------
    ingested, skipped, quarantined
        Counts of files parsed and stored, left alone (already in the catalog with
        the same content), and refused.
    files
        One entry per file examined that was not skipped: path, status, output, error.
    """

    ingested: int = 0
    skipped: int = 0
    quarantined: int = 0
    files: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (the ``labkit ingest --json`` payload)."""
        return {"ingested": self.ingested, "skipped": self.skipped,
                "quarantined": self.quarantined, "files": self.files}


def find_sources(sources: Iterable[str | PathLike[str]], store: Store) -> list[Path]:
    """Every regular file under the sources (folders walked recursively), sorted.

    Hidden files and folders (``.name``) and anything inside the store are left out.
    """
    store_root = store.path.resolve()
    found: set[Path] = set()
    for source in sources:
        source = Path(source).resolve()
        if source.is_file():
            found.add(source)
            continue
        if not source.is_dir():
            raise LabkitError("source is neither a file nor a folder", file=source)
        for path in source.rglob("*"):
            relative = path.relative_to(source).parts
            if any(part.startswith(".") for part in relative) or not path.is_file():
                continue
            if store_root == path or store_root in path.parents:
                continue
            found.add(path)
    return sorted(found)


def parse_into_store(path: str, store_path: str, hooks: tuple[str, ...] = (),
                     timezone: str | None = None) -> dict[str, Any]:
    """Parse one source and write its record into the store; commit nothing.

    Runs in a worker process (or Dask worker). Returns the catalog entry fields
    and hook results for the coordinating process to commit, or
    ``{"skip": True}`` when this version is already catalogued.
    """
    import labkit

    store = Store(store_path)
    size, mtime = stat_signature(Path(path))
    sha = sha256_of(path)
    if store.known(path, sha):
        return {"skip": True, "path": path, "sha256": sha, "mtime": mtime}
    try:
        record = labkit.read(path, timezone=timezone)
    except Exception as exc:  # one bad file must never stop a batch
        error = exc.to_dict() if isinstance(exc, LabkitError) else {
            "type": type(exc).__name__, "message": f"internal error: {exc}",
            "file": path, "position": None}
        return {"entry": Entry(path=path, size=size, mtime=mtime, sha256=sha,
                               status="quarantined", error=error).__dict__, "hooks": {}}
    meta = record.meta
    output = store.output_path(path, meta.vendor, meta.source_sha256)
    output.parent.mkdir(parents=True, exist_ok=True)
    record.to_parquet(output)
    hook_results = {name: _run_hook(name, record) for name in hooks}
    entry = Entry(
        path=path, size=meta.source_size_byte, mtime=mtime, sha256=meta.source_sha256,
        status="ok", format=meta.file_format, parser_version=meta.parser_version,
        rows=len(record.data), kind=record.kind, output=str(output.relative_to(store.path)),
        vendor=meta.vendor, technique=meta.technique, start_time=meta.start_time,
        sample={k: v for k, v in meta.to_dict()["sample"].items() if v is not None} or None,
    )
    return {"entry": entry.__dict__, "hooks": hook_results}


def _run_hook(name: str, record) -> dict[str, Any]:
    hook, _, argument = name.partition(":")
    try:
        return {"result": ANALYSIS_HOOKS[hook](record, argument or None)}
    except LabkitError as exc:
        return {"error": exc.to_dict()}


def ingest(
    sources: Iterable[str | PathLike[str]],
    store: Store | str | PathLike[str],
    *,
    workers: int = 1,
    dask: Any = None,
    hooks: Iterable[str] = (),
    progress: bool = False,
    files: list[Path] | None = None,
    timezone: str | None = None,
) -> IngestReport:
    """Ingest every new or changed file under ``sources`` into ``store``.

    Parameters
    ----------
    sources
        Files and folders (walked recursively).
    store
        A :class:`Store` or its folder.
    workers
        Worker processes for parsing (1 = in this process).
    dask
        A ``dask.distributed.Client`` or a scheduler address (``"tcp://host:8786"``);
        parsing then runs on that cluster, which must see the same file paths.
    hooks
        Names from :data:`ANALYSIS_HOOKS` to run on every newly ingested record.
    progress
        Show progress on stderr.
    files
        Explicit file list (skips the walk; used by :func:`watch`).
    timezone
        Zone of the instruments' clocks, for files that write local times without one
        (see :func:`labkit.read`).
    """
    store = store if isinstance(store, Store) else Store(store)
    hooks = tuple(hooks)
    unknown = [h for h in hooks if h.partition(":")[0] not in ANALYSIS_HOOKS]
    if unknown:
        raise LabkitError(f"unknown analysis hooks {unknown}; known: {sorted(ANALYSIS_HOOKS)}")
    store.remove_dead_temporaries()
    report = IngestReport()
    candidates = files if files is not None else find_sources(sources, store)
    todo = []
    for path in candidates:
        if store.unchanged(str(path), *stat_signature(path)):
            report.skipped += 1
        else:
            todo.append(str(path))
    bar = _Progress(len(todo), enabled=progress)
    for outcome in _run(todo, store, hooks, workers, dask, timezone):
        _commit(outcome, store, report)
        bar.step(report)
    bar.close(report)
    return report


def _run(todo: list[str], store: Store, hooks: tuple[str, ...], workers: int,
         dask: Any, timezone: str | None) -> Iterator[dict[str, Any]]:
    store_path = str(store.path)
    if dask is not None:
        from dask.distributed import Client, as_completed

        client = dask if isinstance(dask, Client) else Client(dask)
        futures = client.map(parse_into_store, todo, store_path=store_path, hooks=hooks,
                             timezone=timezone, pure=False)
        for future in as_completed(futures):
            yield future.result()
        if client is not dask:
            client.close()
    elif workers <= 1 or len(todo) <= 1:
        for path in todo:
            yield parse_into_store(path, store_path, hooks, timezone)
    else:
        with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(parse_into_store, path, store_path, hooks, timezone)
                       for path in todo]
            for future in concurrent.futures.as_completed(futures):
                yield future.result()


def _commit(outcome: dict[str, Any], store: Store, report: IngestReport) -> None:
    if outcome.get("skip"):
        store.touch(outcome["path"], outcome["sha256"], outcome["mtime"])
        report.skipped += 1
        return
    entry = Entry(**outcome["entry"])
    if not store.commit(entry):  # another ingester got there first
        report.skipped += 1
        return
    for name, result in outcome["hooks"].items():
        store.add_analysis(entry.path, entry.sha256, name, result.get("result"),
                           result.get("error"))
    if entry.status == "ok":
        report.ingested += 1
    else:
        report.quarantined += 1
    report.files.append({"path": entry.path, "status": entry.status, "output": entry.output,
                         "rows": entry.rows, "error": entry.error})


class _Progress:
    """A one-line progress display on stderr (a line per 10 % when not a terminal)."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.done, self.enabled = total, 0, enabled and total > 0
        self.tty = sys.stderr.isatty()
        self.next_line = 0.1

    def step(self, report: IngestReport) -> None:
        self.done += 1
        if not self.enabled:
            return
        text = (f"ingest {self.done}/{self.total}: {report.ingested} ok, "
                f"{report.quarantined} quarantined")
        if self.tty:
            print("\r" + text, end="", file=sys.stderr, flush=True)
        elif self.done / self.total >= self.next_line:
            print(text, file=sys.stderr, flush=True)
            self.next_line += 0.1

    def close(self, report: IngestReport) -> None:
        if self.enabled and self.tty:
            print(file=sys.stderr)


def watch(
    sources: Iterable[str | PathLike[str]],
    store: Store | str | PathLike[str],
    *,
    interval_second: float = 5.0,
    settle_second: float = 10.0,
    workers: int = 1,
    hooks: Iterable[str] = (),
    max_polls: int | None = None,
    log: Callable[[str], None] | None = None,
    timezone: str | None = None,
) -> None:
    """Poll ``sources`` and ingest each file once it has stopped changing.

    A file is ingested when its size and mtime have been the same for at least
    ``settle_second``; it is seen again only if it changes. Stops after
    ``max_polls`` polls (``None``: until interrupted). State lives in the catalog,
    so a restarted watcher carries on where the last one stopped. ``timezone`` is
    passed to :func:`labkit.read`.
    """
    store = store if isinstance(store, Store) else Store(store)
    sources = list(sources)
    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    first_seen: dict[Path, tuple[tuple[int, float], float]] = {}
    polls = 0
    log(f"watching {', '.join(map(str, sources))} every {interval_second} s "
        f"(settle {settle_second} s) into {store.path}")
    try:
        while max_polls is None or polls < max_polls:
            polls += 1
            now = time.monotonic()
            ready = []
            for path in find_sources(sources, store):
                try:
                    signature = stat_signature(path)
                except FileNotFoundError:
                    continue
                if store.unchanged(str(path), *signature):
                    first_seen.pop(path, None)
                    continue
                seen = first_seen.get(path)
                if seen is None or seen[0] != signature:
                    first_seen[path] = (signature, now)
                elif now - seen[1] >= settle_second:
                    ready.append(path)
            if ready:
                report = ingest([], store, workers=workers, hooks=hooks, files=ready,
                                timezone=timezone)
                for item in report.files:
                    log(f"{item['status']}: {item['path']}"
                        + (f" ({item['error']['message']})" if item["error"] else ""))
                for path in ready:
                    first_seen.pop(path, None)
            if max_polls is None or polls < max_polls:
                time.sleep(interval_second)
    except KeyboardInterrupt:
        log("watch stopped")
