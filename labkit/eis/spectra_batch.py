"""Run one per-spectrum analysis (KK, DRT) over the spectra of many files, as one batch.

Files are read in the calling process; a file that cannot be read gives one
entry with an ``error`` object and the others still run. The spectra are then
analysed in this process or on a local process pool (``workers``); a spectrum
whose analysis fails gives an entry with an ``error`` object. Entries come back
in input order, each with ``file`` and ``spectrum``, as ``labkit eis fit`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from labkit.data import ImpedanceRecord
from labkit.errors import SchemaError, error_dict

#: analysis(frequency_hertz, impedance, **options) -> object with to_dict()
Analysis = Callable[..., Any]


@dataclass(frozen=True)
class SpectrumJob:
    """One spectrum of one file, ready for analysis."""

    file: str
    spectrum: int
    frequency_hertz: np.ndarray
    impedance_ohm: np.ndarray
    record: ImpedanceRecord


def read_jobs(paths: Sequence[str], spectrum: int | None = None
              ) -> tuple[list[SpectrumJob | dict[str, Any]], int]:
    """The spectra of ``paths`` (only ``spectrum`` of each when given), or error entries.

    Returns
    -------
    Jobs and error entries in input order, and the number of error entries.
    """
    import labkit

    out: list[SpectrumJob | dict[str, Any]] = []
    failed = 0
    for path in paths:
        try:
            record = labkit.read(path)
            if not isinstance(record, ImpedanceRecord):
                raise SchemaError("expected impedance spectra, found a cycling (time-series) "
                                  "file", file=path)
            indices = [spectrum] if spectrum is not None else \
                sorted(int(i) for i in record.data["spectrum"].unique())
            if not indices:
                raise SchemaError("the file holds no impedance points", file=path)
            pairs = [(index, *record.impedance(index)) for index in indices]
        except Exception as exc:  # noqa: BLE001 - one bad file must not end the batch
            out.append({"file": str(path), "spectrum": spectrum, "success": False,
                        "error": error_dict(exc, file=path)})
            failed += 1
            continue
        out.extend(SpectrumJob(str(path), index, frequency, impedance, record)
                   for index, frequency, impedance in pairs)
    return out, failed


def _run_one(analysis: Analysis, frequency: np.ndarray, impedance: np.ndarray,
             options: dict[str, Any]) -> Any:
    try:
        return analysis((frequency, impedance), **options)
    except Exception as exc:  # noqa: BLE001 - one bad spectrum must not end the batch
        return exc


def run_jobs(analysis: Analysis, jobs: Sequence[SpectrumJob], *, workers: int = 1,
             **options: Any) -> list[Any]:
    """``analysis((f, Z), **options)`` for every job, in order; the exception in its place
    when it fails. ``analysis`` must be a module-level function (it is pickled for workers).
    """
    arguments = [(analysis, j.frequency_hertz, j.impedance_ohm, options) for j in jobs]
    if workers <= 1 or len(jobs) < 2:
        return [_run_one(*a) for a in arguments]
    chunk = max(1, len(jobs) // (4 * workers))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_run_one, *zip(*arguments, strict=True), chunksize=chunk))


def entry_of(job: SpectrumJob, outcome: Any) -> dict[str, Any]:
    """The output entry of one analysed spectrum (``error`` object when it failed)."""
    head = {"file": job.file, "spectrum": job.spectrum}
    if isinstance(outcome, BaseException):
        return {**head, "success": False, "error": error_dict(
            outcome, file=job.file, position=f"spectrum {job.spectrum}")}
    try:
        return {**head, "success": True, **outcome.to_dict()}
    except Exception as exc:  # noqa: BLE001 - this spectrum's error, not the batch's
        return {**head, "success": False, "error": error_dict(
            exc, file=job.file, position=f"spectrum {job.spectrum}")}
