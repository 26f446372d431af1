"""Automatic circuit fits on the real spectra of the corpus, against an exhaustive search.

For every spectrum labkit reads from ``<corpus>/eis`` (``labkit.read``; the first
``--per-file`` spectra of each file; files labkit refuses are skipped; spectra
that are byte-for-byte twins of one already seen, the same data exported in
another format, are fitted once), every circuit of ``CIRCUITS`` is fitted twice:

* **default**: ``fit_circuit(f, z, circuit)`` as a user calls it (modulus weighting,
  ``starts=5``, ``restarts=8``, ``seed=0``, lmfit's final fit), timed;
* **reference**: the lowest χ² (same weighting) found by anything: 64 random starts
  that ignore the data's features (``random_starts``), every automatic guess
  (``initial_guesses`` without a limit) and 16 log-normal perturbations of each
  (σ = 1.5 in the fit's log coordinates), three rounds of basin hopping around the
  best distinct optima so far, ``starts=50, restarts=30`` with three independent random sequences,
  and the default fits under proportional and unit weighting used as starts; the
  best few end in lmfit's final fit like a default fit does.

The default *reaches the optimum* when its χ² is within 0.1 % (relative) of the
reference; both χ² are counted plus that of a fit missing every point by 1e-6 of
|Z|, so the noise-free (simulated) spectra of the corpus, fitted to rounding
error, do not compare rounding errors. The table gives per circuit the cases, how many reach it, the
median and largest ratio default/reference and the time of the default fits;
the misses are listed after it.

Why these circuits: they are what a solid-state / Li-ion lab fits to such data, and
all of them are tried on every spectrum, as a lab compares models on one
spectrum (AIC), so the optimiser must find the optimum of a model that does not
suit the data as well:

* ``R0-p(R1,CPE1)-CPE2`` (pellet-bulk: one arc and the blocking-electrode spike),
* ``R0-p(R1,CPE1)-p(R2,CPE2)-CPE3`` (pellet: bulk and grain boundary resolved),
* ``R0-p(R1,CPE1)-p(R2,CPE2)`` (symmetric Li | SE | Li cell: electrolyte and interface),
* ``R0-p(R1-W1,CPE1)`` (Randles with semi-infinite Warburg, the named ``randles``),
* ``R0-p(R1-Wo1,CPE1)`` (Randles with finite, reflective diffusion),
* ``R0-p(R1,CPE1)-W1`` (charge transfer and Warburg in series),
* ``R0-p(R1,CPE1)-p(R2,CPE2)-Wo1`` (composite cathode half cell).

Run: ``python bench/eis_fit_corpus.py [--corpus ../shared/corpus] [--per-file 3]
[--circuits "R0-p(R1,CPE1)-CPE2;..."] [--weighting modulus] [--workers 1] [--quiet]``
(a full run takes 25-35 minutes in one process; ``--per-file 1`` or fewer circuits for less).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from _machine import describe

import labkit
from labkit.eis.circuit import Circuit
from labkit.eis.fit import Constraints, _Mapping, fit_circuit
from labkit.eis.guess import initial_guesses, spectrum_features
from labkit.eis.vectorised import _Batch, fit_spectra_together
from labkit.errors import LabkitError

CIRCUITS = (
    "R0-p(R1,CPE1)-CPE2",
    "R0-p(R1,CPE1)-p(R2,CPE2)-CPE3",
    "R0-p(R1,CPE1)-p(R2,CPE2)",
    "R0-p(R1-W1,CPE1)",
    "R0-p(R1-Wo1,CPE1)",
    "R0-p(R1,CPE1)-W1",
    "R0-p(R1,CPE1)-p(R2,CPE2)-Wo1",
)
#: Relative χ² margin within which the default counts as having reached the optimum.
REACHED = 1e-3
_SKIPPED_FOLDERS = {"_reference", "_sidecar"}


@dataclass
class Case:
    """One (spectrum, circuit) comparison."""

    spectrum: str
    circuit: str
    default: float
    reference: float
    seconds: float
    exact: float

    @property
    def ratio(self) -> float:
        """default / reference, both plus the χ² of an exact fit (see ``exact_chi_square``)."""
        return (self.default + self.exact) / (self.reference + self.exact)


def exact_chi_square(z: np.ndarray, weighting: str) -> float:
    """χ² of a model that misses every point by 1e-6 of |Z|: on noise-free (simulated)
    spectra optima below it differ only in rounding and count as equal."""
    if weighting == "modulus":
        weights = 2 / np.abs(z) ** 2
    elif weighting == "proportional":
        weights = 1 / np.maximum(z.real**2, 1e-300) + 1 / np.maximum(z.imag**2, 1e-300)
    else:
        weights = np.full(z.size, 2.0)
    return float(1e-12 * np.sum(np.abs(z) ** 2 * weights) / 2)


def corpus_spectra(folder: Path, per_file: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(label, frequency, impedance)`` of the first spectra of every readable file."""
    out, seen = [], set()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.name == "MANIFEST.md" or _SKIPPED_FOLDERS & set(path.parts):
            continue
        try:
            record = labkit.read(path)
        except LabkitError:
            continue
        if not hasattr(record, "impedance") or not len(record.data):
            continue
        for index in sorted(record.data["spectrum"].unique())[:per_file]:
            frequency, z = record.impedance(int(index))
            good = np.isfinite(frequency) & np.isfinite(z) & (frequency > 0) & (np.abs(z) > 0)
            frequency, z = frequency[good], z[good]
            key = hashlib.sha1(np.round(np.r_[frequency, z.real, z.imag], 9).tobytes()).digest()
            if key in seen:
                continue
            seen.add(key)
            out.append((f"{path.relative_to(folder)}#{int(index)}", frequency, z))
    return out


def _values(result) -> dict[str, float]:
    return {name: p.value for name, p in result.parameters.items()}


def _polished(frequency, z, circuit: Circuit, start: dict[str, float], weighting: str):
    """lmfit's final fit from ``start`` (no other start)."""
    return fit_circuit(frequency, z, circuit, weighting=weighting, initial=start,
                       starts=1, restarts=0)


def random_starts(circuit: Circuit, frequency: np.ndarray, z: np.ndarray, count: int,
                  rng: np.random.Generator) -> np.ndarray:
    """Parameter vectors drawn without the data's features: resistances log-uniform from
    1/100 of the smallest to 10x the largest |Z|, time constants log-uniform over the
    measured range widened tenfold each side, α uniform in [0.4, 1]; other quantities
    built from those (Q = τ^0.8/R, C = τ/R, Warburg σ = R/√τ, L = R/ω_max)."""
    omega, modulus = 2 * np.pi * frequency, np.abs(z)
    size = (count, len(circuit.parameter_names))
    r = 10 ** rng.uniform(np.log10(modulus.min()) - 2, np.log10(modulus.max()) + 1, size)
    tau = 10 ** rng.uniform(np.log10(0.1 / omega.max()), np.log10(10 / omega.min()), size)
    by_unit = {"ohm": r, "s": tau, "": rng.uniform(0.4, 1.0, size), "F": tau / r,
               "F s^(alpha-1)": tau**0.8 / r, "ohm s^-1/2": r / np.sqrt(tau),
               "H": r / omega.max()}
    columns = [by_unit.get(unit, r)[:, k] for k, unit in enumerate(circuit.units)]
    low = np.array([b[0] for b in circuit.bounds])
    high = np.array([b[1] for b in circuit.bounds])
    return np.clip(np.column_stack(columns), np.where(low == 0, 1e-300, low), high)


def exhaustive_fit(frequency, z, circuit: Circuit, weighting: str, default):
    """The fit of lowest χ² found by the searches of the module doc (``default`` included)."""
    mapping = _Mapping(circuit, Constraints())
    rng = np.random.default_rng(12345)
    guesses = initial_guesses(circuit, spectrum_features(frequency, z))
    x_guesses = mapping.to_x(np.array(guesses))
    starts = [x_guesses, mapping.to_x(random_starts(circuit, frequency, z, 64, rng))]
    starts += [x_guesses[i] + rng.normal(0, 1.5, (16, x_guesses.shape[1]))
               for i in range(len(x_guesses))]
    x0 = np.vstack(starts)

    def polish(x0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = np.arange(len(x0))
        batch = _Batch(circuit, mapping, np.tile(frequency, (len(x0), 1)),
                       np.tile(z, (len(x0), 1)), weighting)
        x, cost, _ = batch.levenberg_marquardt(x0, rows)
        return x, np.where(np.isfinite(cost), cost, np.inf)

    with np.errstate(all="ignore"):
        x, cost = polish(x0)
        for _ in range(3):  # basin hopping around the best distinct optima
            order = np.argsort(cost)
            _, first = np.unique(np.round(cost[order] / cost[order[0]], 4), return_index=True)
            best = x[order[first[:4]]]
            hops = np.vstack([b + rng.normal(0, 0.7, (16, b.size)) for b in best])
            hx, hcost = polish(hops)
            x, cost = np.vstack([x, hx]), np.concatenate([cost, hcost])
    order = np.argsort(cost)
    _, first = np.unique(np.round(cost[order] / cost[order[0]], 6), return_index=True)
    found = [default]
    names = circuit.parameter_names
    for k in order[first[:3]]:
        p, _ = mapping.free_values(x[k])
        found.append(_polished(frequency, z, circuit, dict(zip(names, mapping.full(p),
                                                                strict=True)), weighting))
    # Three independent random-restart sequences in one vectorised run (one row each).
    seeded = fit_spectra_together([(frequency, z)] * 3, circuit, weighting=weighting,
                                  starts=50, restarts=30, seed=1, warm_start=False,
                                  engine="vectorised")
    found.append(_polished(frequency, z, circuit,
                           _values(min(seeded, key=lambda r: r.chi_square)), weighting))
    for other in ("modulus", "proportional", "unit"):
        if other != weighting:
            start = _values(fit_circuit(frequency, z, circuit, weighting=other))
            found.append(_polished(frequency, z, circuit, start, weighting))
    return min(found, key=lambda r: r.chi_square)


def compare(job: tuple[str, np.ndarray, np.ndarray, str, str]) -> Case:
    """The default fit and the reference of one (spectrum, circuit)."""
    label, frequency, z, text, weighting = job
    warnings.simplefilter("ignore")
    circuit = Circuit(text)
    tic = time.perf_counter()
    default = fit_circuit(frequency, z, circuit, weighting=weighting)
    seconds = time.perf_counter() - tic
    reference = exhaustive_fit(frequency, z, circuit, weighting, default).chi_square
    return Case(label, text, default.chi_square, reference, seconds,
                exact_chi_square(z, weighting))


def run(corpus: Path, per_file: int, circuits: list[str], weighting: str, workers: int,
        quiet: bool) -> list[Case]:
    spectra = corpus_spectra(corpus / "eis", per_file)
    if not quiet:
        print(f"{len(spectra)} distinct spectra")
    jobs = [(label, frequency, z, text, weighting) for text in circuits
            for label, frequency, z in spectra
            if 2 * frequency.size > len(Circuit(text).parameter_names)]
    if workers <= 1:
        return [compare(job) for job in jobs]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(compare, jobs, chunksize=4))


def table(cases: list[Case], circuits: list[str]) -> str:
    lines = ["| circuit | cases | default reaches optimum | median ratio | max ratio "
             "| default fits, ms each |", "|---|---:|---:|---:|---:|---:|"]
    groups = [(c, [k for k in cases if k.circuit == c]) for c in circuits] + [("all", cases)]
    for name, group in groups:
        if not group:
            continue
        ratios = np.array([k.ratio for k in group])
        reached = int(np.sum(ratios <= 1 + REACHED))
        ms = 1000 * np.mean([k.seconds for k in group])
        lines.append(f"| `{name}` | {len(group)} | {reached} ({100 * reached / len(group):.0f} %)"
                     f" | {np.median(ratios):.4g} | {ratios.max():.4g} | {ms:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_corpus = os.environ.get(
        "LABKIT_CORPUS", str(Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"))
    parser.add_argument("--corpus", type=Path, default=Path(default_corpus),
                        help="the shared corpus (default: $LABKIT_CORPUS or ../shared/corpus)")
    parser.add_argument("--per-file", type=int, default=3,
                        help="spectra fitted per file (the first ones)")
    parser.add_argument("--circuits", default=";".join(CIRCUITS),
                        help="circuits separated by ';'")
    parser.add_argument("--weighting", default="modulus",
                        choices=("modulus", "proportional", "unit"))
    parser.add_argument("--workers", type=int, default=1,
                        help="processes (default times are per process: keep 1 to time)")
    parser.add_argument("--quiet", action="store_true", help="no list of misses")
    args = parser.parse_args()
    print(describe(), flush=True)
    circuits = [c.strip() for c in args.circuits.split(";") if c.strip()]
    warnings.simplefilter("ignore")
    tic = time.perf_counter()
    cases = run(args.corpus, args.per_file, circuits, args.weighting, args.workers,
                args.quiet)
    print(table(cases, circuits))
    print(f"({time.perf_counter() - tic:.0f} s in all)")
    if not args.quiet:
        misses = sorted((k for k in cases if k.ratio > 1 + REACHED), key=lambda k: -k.ratio)
        for k in misses:
            print(f"miss {k.ratio:10.4g}  {k.circuit:32s} {k.spectrum}")


if __name__ == "__main__":
    main()
