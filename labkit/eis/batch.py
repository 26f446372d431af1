"""Fit many spectra: in-process, on a local process pool, or on a Dask cluster.

Spectra are cut into contiguous chunks, and each chunk is fitted in one
vectorised pass (:mod:`labkit.eis.vectorised`): all spectra at once from their
automatic guesses (or the given start values), then spectra that did not
settle start from a settled neighbour's result (warm start: a temperature or
cycle series changes little from one spectrum to the next), then the other
guesses and random restarts. A bad neighbour never spoils a fit: its result is
only kept when it beats the spectrum's own starts.

A spectrum that cannot be fitted gives a :class:`FailedFit` in its place; the
others still run (when a vectorised pass raises, its spectra are fitted one by one so
that only the one at fault fails).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from labkit.eis.fit import (
    ENGINES,
    WEIGHTINGS,
    FitResult,
    check_choice,
    checked_spectrum,
    constraints_from,
)
from labkit.eis.vectorised import fit_spectra_together
from labkit.errors import FitError, LabkitError, error_dict

Spectrum = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class FailedFit:
    """A spectrum that could not be fitted, with the error as the CLI prints it."""

    error: Mapping[str, Any]
    success: bool = False

    def to_dict(self) -> dict[str, Any]:
        """``{"error": {...}, "success": false}``."""
        return {"error": dict(self.error), "success": False}


def _fit_chunk(chunk: Sequence[Spectrum], circuit: str, warm_start: bool,
               options: Mapping[str, Any]) -> list[FitResult | FailedFit]:
    results: list[FitResult | FailedFit | None] = [None] * len(chunk)
    good, spectra = [], []
    for index, (frequency, impedance) in enumerate(chunk):
        try:
            spectra.append(checked_spectrum(frequency, impedance))
            good.append(index)
        except LabkitError as exc:
            results[index] = FailedFit(exc.to_dict())
    given, options = options, dict(options)
    constraints = constraints_from(*(options.pop(key, None) for key in
                                     ("fixed", "bounds", "shared", "initial", "parameters")))
    try:
        fitted = fit_spectra_together(spectra, circuit, constraints=constraints,
                                      warm_start=warm_start, **options)
    except Exception as exc:  # noqa: BLE001 - find the spectrum at fault, fit the others
        if len(spectra) == 1:
            fitted = [FailedFit(error_dict(exc))]
        else:
            fitted = [_fit_chunk([spectrum], circuit, False, given)[0] for spectrum in spectra]
    for index, result in zip(good, fitted, strict=True):
        results[index] = result
    return results


def _ceil_div(count: int, size: int) -> int:
    return -(-count // max(size, 1))


def _chunks(spectra: Sequence[Spectrum], count: int) -> list[Sequence[Spectrum]]:
    count = max(1, min(count, len(spectra)))
    bounds = np.linspace(0, len(spectra), count + 1).astype(int)
    return [spectra[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


def fit_batch(
    spectra: Sequence[Spectrum],
    circuit: str,
    *,
    workers: int = 1,
    client: Any = None,
    warm_start: bool = True,
    chunk_size: int = 256,
    **fit_options: Any,
) -> list[FitResult | FailedFit]:
    """Fit ``circuit`` to every ``(frequency_hertz, impedance)`` pair, in input order.

    Parameters
    ----------
    spectra
        The spectra, ideally in series order (temperature, cycle...) for warm starts.
    circuit
        Circuit string (see :class:`labkit.eis.circuit.Circuit`).
    workers
        Local worker processes (1 = in this process). Ignored when ``client`` is given.
    client
        A ``dask.distributed.Client`` or a scheduler address (``"tcp://host:8786"``):
        run the chunks on that cluster (needs the ``dask`` extra).
    warm_start
        Let spectra the first guess did not settle start from a settled neighbour.
    chunk_size
        Most spectra fitted together in one vectorised pass (one task on a cluster); it
        bounds the memory (about 20 kB per spectrum of 60 points) for batches of 100,000.
    fit_options
        Passed to :func:`labkit.eis.fit.fit_circuit` (weighting, engine, fixed, bounds,
        shared...).

    Raises
    ------
    FitError
        On a bad ``workers``, ``weighting`` or ``engine`` (a spectrum that cannot be fitted
        gives a :class:`FailedFit` instead).
    """
    check_choice("weighting", fit_options.get("weighting", "modulus"), WEIGHTINGS)
    check_choice("engine", fit_options.get("engine", "lmfit"), ENGINES)
    spectra = list(spectra)
    if not spectra:
        return []
    if client is not None:
        return _fit_on_dask(spectra, circuit, client, warm_start, chunk_size, fit_options)
    if workers < 1:
        raise FitError(f"workers must be at least 1, got {workers}")
    chunks = _chunks(spectra, max(workers, _ceil_div(len(spectra), chunk_size)))
    if workers == 1:
        return [result for chunk in chunks
                for result in _fit_chunk(chunk, circuit, warm_start, fit_options)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        parts = pool.map(_fit_chunk, chunks, [circuit] * len(chunks),
                         [warm_start] * len(chunks), [fit_options] * len(chunks))
        return [result for part in parts for result in part]


def _fit_on_dask(spectra: list[Spectrum], circuit: str, client: Any, warm_start: bool,
                 chunk_size: int, options: Mapping[str, Any]) -> list[FitResult | FailedFit]:
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise FitError("fitting on a Dask cluster needs the 'dask' extra: "
                       "pip install 'labkit[dask]'") from exc
    own_client = isinstance(client, str)
    if own_client:
        client = Client(client)
    try:
        chunks = _chunks(spectra, _ceil_div(len(spectra), chunk_size))
        futures = client.map(_fit_chunk, chunks, circuit=circuit, warm_start=warm_start,
                             options=dict(options), pure=False)
        return [result for part in client.gather(futures) for result in part]
    finally:
        if own_client:
            client.close()
