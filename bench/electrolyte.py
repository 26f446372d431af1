"""Solid-electrolyte conductivity and activation energy on generated pellets (issue 16's bars).

Sets from :mod:`labkit.eis.electrolyte_synthetic` (sulfide-like: bulk arc above 20 MHz,
resolved grain boundary, 7 MHz-0.1 Hz; ceramic-like: both arcs resolved, a lead of
0.5-3 Ω, 1 MHz-0.1 Hz; the same with both arcs in one capacitance class; 10 points per
decade, 0.3 % noise; draws the noise leaves unidentifiable, by the Cramér-Rao bound, are
redrawn and counted). A spectrum succeeds when σ_total is within 3 % and σ_bulk within
5 % of the truth; a temperature series when bulk, grain-boundary and total Ea are all
within 0.01 eV of the truth's.

Tools:

* ``labkit auto``: labkit's default (``--model auto``): the solid-electrolyte family
  fitted, the member chosen by BIC among those whose parameters are determined, the arcs
  assigned by :func:`labkit.eis.conductivity.interpret` (bulk from a resolved arc or the
  high-frequency intercept);
* ``labkit pellet``: the fixed pellet model ``R0-p(R1,CPE1)-p(R2,CPE2)-CPE3`` (labkit's
  default before issue 16) with the same interpretation;
* ``impedance.py pellet``: what a user of impedance.py would do: the pellet circuit from a
  start read off the data (R0 = smallest Z', R1 = R2 = half the span, typical CPEs), R1
  taken as bulk, R2 as grain boundary, R0 ignored; at most 10 000 function evaluations.

Run: ``python bench/electrolyte.py [--count 200] [--series 10] [--seed 2026]
[--competitor-count 20]``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from _machine import describe

from labkit.eis.arrhenius import arrhenius_series, fit_arrhenius
from labkit.eis.batch import FailedFit, fit_batch
from labkit.eis.conductivity import interpret
from labkit.eis.electrolyte_synthetic import pellets, series_records, temperature_series
from labkit.eis.model_selection import select_models

PELLET = "R0-p(R1,CPE1)-p(R2,CPE2)-CPE3"
KINDS = (("sulfide", False), ("ceramic", False), ("ceramic", True))
#: impedance.py's evaluation budget per fit (its default, 1e5 with numerical derivatives,
#: took minutes on some sulfide spectra).
MAX_EVALUATIONS = 10_000


def _success(truth, sigma: dict) -> bool:
    true = truth.sigma_siemens_per_centimeter()
    return ("total" in sigma and "bulk" in sigma
            and abs(sigma["total"] / true["total"] - 1) <= 0.03
            and abs(sigma["bulk"] / true["bulk"] - 1) <= 0.05)


def _labkit(items, fits) -> list[dict]:
    out = []
    for item, fit in zip(items, fits, strict=True):
        if isinstance(fit, FailedFit):
            out.append({})
            continue
        meaning = interpret(getattr(fit, "fit", fit),
                            area_square_centimeter=item.truth.area_square_centimeter,
                            thickness_centimeter=item.truth.thickness_centimeter)
        out.append({k: q.value for k, q in meaning.conductivity_siemens_per_centimeter.items()})
    return out


def _impedance_py(item) -> dict:
    from impedance.models.circuits import CustomCircuit

    z = item.impedance
    r0 = float(z.real.min())
    half = float(z.real.max() - r0) / 2
    model = CustomCircuit(PELLET, initial_guess=[r0, half, 1e-10, 0.9, half, 1e-8, 0.8,
                                                 1e-6, 0.8])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model.fit(item.frequency_hertz, z, maxfev=MAX_EVALUATIONS)
        except Exception:  # noqa: BLE001 - a failed competitor fit counts as a miss
            return {}
    _, r1, _, _, r2, *_ = model.parameters_
    k = item.truth.cell_constant_per_centimeter
    return {"bulk": k / r1, "total": k / (r1 + r2)}


def _spectra_table(count: int, seed: int, competitors: int) -> None:
    print("\n| set | tool | success | spectra/s |\n|---|---|---|---|")
    for number, (kind, same_class) in enumerate(KINDS):
        synthetic = pellets(kind, count, seed=seed + number, same_class=same_class)
        name = kind + (" (one capacitance class)" if same_class else "")
        spectra = [(p.frequency_hertz, p.impedance) for p in synthetic.items]
        rows = []
        start = time.perf_counter()
        auto = _labkit(synthetic.items, select_models(spectra))
        rows.append(("labkit auto", auto, count, time.perf_counter() - start))
        start = time.perf_counter()
        fixed = _labkit(synthetic.items, fit_batch(spectra, PELLET))
        rows.append(("labkit pellet", fixed, count, time.perf_counter() - start))
        if competitors:
            start = time.perf_counter()
            other = [_impedance_py(item) for item in synthetic.items[:competitors]]
            rows.append(("impedance.py pellet", other, competitors,
                         time.perf_counter() - start))
        for tool, sigmas, n, seconds in rows:
            good = sum(_success(item.truth, s) for item, s in zip(synthetic.items, sigmas,
                                                                  strict=False))
            print(f"| {name} ({synthetic.drawn} drawn for {count}) | {tool} | "
                  f"{100 * good / n:.1f} % | {n / seconds:.1f} |")


def _series_table(count: int, seed: int) -> None:
    print("\n| series | success (all three Ea within 0.01 eV) | largest error, eV | s/series |"
          "\n|---|---|---|---|")
    for number, (kind, same_class) in enumerate(KINDS):
        synthetic = temperature_series(kind, count, seed=seed + 10 + number,
                                       same_class=same_class)
        good, worst, start = 0, 0.0, time.perf_counter()
        for series in synthetic.items:
            truth = series[0].truth
            result = arrhenius_series(series_records(series),
                                      area_square_centimeter=truth.area_square_centimeter,
                                      thickness_centimeter=truth.thickness_centimeter)
            errors = []
            for role in ("bulk", "grain_boundary", "total"):
                expected = fit_arrhenius([i.temperature_celsius for i in series],
                                         [i.truth.sigma_siemens_per_centimeter()[role]
                                          for i in series]).activation_energy_electronvolt
                found = result.fits.get(role)
                errors.append(abs(found.activation_energy_electronvolt.value - expected.value)
                              if found else np.inf)
            good += max(errors) <= 0.01
            worst = max(worst, max(errors))
        seconds = (time.perf_counter() - start) / count
        name = kind + (" (one capacitance class)" if same_class else "")
        print(f"| {name} ({synthetic.drawn} drawn for {count}) | {100 * good / count:.0f} % | "
              f"{worst:.4f} | {seconds:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="spectra per set")
    parser.add_argument("--series", type=int, default=10, help="temperature series per set")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--competitor-count", type=int, default=20,
                        help="spectra per set fitted by impedance.py (0 = none)")
    args = parser.parse_args()
    print(describe())
    _spectra_table(args.count, args.seed, args.competitor_count)
    if args.series:
        _series_table(args.series, args.seed)


if __name__ == "__main__":
    main()
