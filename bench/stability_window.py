"""Stability-window benchmark: threshold onsets of synthetic sweeps against the analytic crossing.

The sweeps are :func:`labkit.analysis.sweep_synthetic.random_sweeps` (half oxidative, half
reductive LSVs; 0.1-10 mV/s; a capacitive background up to 1 mF/cm² × ν plus a leakage;
a Tafel rise from a known onset; noise). Each tool reports the potential where the faradaic
current density reaches 0.01 and 0.1 mA/cm²; a success is within 5 mV of the analytic
crossing ``E_on ± b ln(1 + j_th/j₀)``.

* ``labkit``: :func:`labkit.analysis.stability_window` (background fitted on the flat part of
  the sweep and subtracted, local fit of ln j across the threshold);
* ``raw-threshold``: what a spreadsheet does without a tool: the first measured point at or
  beyond the threshold, no background subtracted;
* ``first-point-background``: the raw current minus its value at the sweep's first point, then
  the first point at or beyond the threshold (a common quick correction).

``--noise-factor`` multiplies the noise of every sweep (the README's second line uses 10,
an absolute noise up to 1 µA/cm²).

Run: ``python bench/stability_window.py [--count 400] [--seed 2026] [--noise-factor 1]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from labkit.analysis.stability import stability_window
from labkit.analysis.sweep_synthetic import SyntheticSweep, random_sweeps, sweep_record

THRESHOLDS = (0.01, 0.1)


def _oriented(sweep: SyntheticSweep) -> tuple[np.ndarray, np.ndarray, float]:
    data = sweep.record.data
    sign = 1.0 if sweep.oxidation is not None else -1.0
    density = data["current_ampere"].to_numpy() * 1000 / sweep.area_square_centimeter
    return data["voltage_volt"].to_numpy(), sign * density, sign


def _raw(sweep: SyntheticSweep, subtract_first: bool) -> dict[float, float]:
    potential, density, _ = _oriented(sweep)
    if subtract_first:
        density = density - density[0]
    out = {}
    for threshold in THRESHOLDS:
        above = np.flatnonzero(density >= threshold)
        out[threshold] = float(potential[above[0]]) if above.size else np.nan
    return out


def _labkit(sweep: SyntheticSweep) -> dict[float, float]:
    direction = "oxidative" if sweep.oxidation is not None else "reductive"
    result = stability_window(sweep.record, thresholds_milliampere_per_square_centimeter=THRESHOLDS)
    out = {}
    for threshold in THRESHOLDS:
        onset = result.onset(direction, "threshold", threshold)
        out[threshold] = np.nan if onset is None else onset.potential_volt.value
    return out


TOOLS = {"labkit": _labkit, "raw-threshold": lambda s: _raw(s, False),
         "first-point-background": lambda s: _raw(s, True)}


def _noisier(sweep: SyntheticSweep, factor: float, seed: int) -> SyntheticSweep:
    """The same sweep with its absolute noise multiplied by ``factor`` (fresh noise)."""
    if factor == 1:
        return sweep
    potential = sweep.record.data["voltage_volt"]
    return sweep_record(
        (float(potential.iloc[0]), float(potential.iloc[-1])), sweep.sweep_rate_volt_per_second,
        oxidation=sweep.oxidation, reduction=sweep.reduction,
        capacitance_farad_per_square_centimeter=sweep.capacitance_farad_per_square_centimeter,
        leak_milliampere_per_square_centimeter_per_volt=(
            sweep.leak_milliampere_per_square_centimeter_per_volt),
        noise_milliampere_per_square_centimeter=(
            factor * sweep.noise_milliampere_per_square_centimeter),
        relative_noise=sweep.relative_noise, seed=seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--noise-factor", type=float, default=1.0)
    args = parser.parse_args()
    sweeps = [_noisier(s, args.noise_factor, args.seed + i)
              for i, s in enumerate(random_sweeps(args.count, seed=args.seed))]
    print(f"{args.count} sweeps (seed {args.seed}, noise × {args.noise_factor:g}); success = "
          "within 5 mV of the analytic crossing")
    print(f"{'tool':<24}{'0.01 mA/cm²':>14}{'0.1 mA/cm²':>14}{'median |err| mV':>18}"
          f"{'ms/sweep':>10}")
    for name, tool in TOOLS.items():
        errors = {t: [] for t in THRESHOLDS}
        start = time.perf_counter()
        for sweep in sweeps:
            truth = sweep.oxidation or sweep.reduction
            found = tool(sweep)
            for threshold in THRESHOLDS:
                errors[threshold].append(found[threshold] - truth.crossing_volt(threshold))
        elapsed = (time.perf_counter() - start) / len(sweeps) * 1000
        rates = [np.mean(np.abs(np.nan_to_num(errors[t], nan=np.inf)) < 0.005) for t in THRESHOLDS]
        every = np.abs(np.nan_to_num(np.concatenate(list(errors.values())), nan=np.inf))
        print(f"{name:<24}{rates[0]:>13.1%}{rates[1]:>14.1%}{1000 * np.median(every):>18.3g}"
              f"{elapsed:>10.1f}")


if __name__ == "__main__":
    main()
