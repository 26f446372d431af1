"""DRT benchmark: labkit vs pyDRTtools on the same synthetic spectra, in one run.

Spectra: issue 11's accuracy set, :func:`labkit.eis.zarc_synthetic.zarc_spectra`
(R_inf + one or two ZARCs, n 0.7-0.95, time constants 10x-100x apart, 0.5-1 %
noise, 81 points 1 MHz-10 mHz), written as ``Freq,Real,Imag`` CSV files.

Speed, in CPU seconds (user + system: the machine may be shared; wall time would
measure the other users too)
    * labkit: the batch command's marginal cost per spectrum, start-up excluded:
      ``labkit eis drt --json`` run as a subprocess on ``--small`` files and on
      all files; cost = (t_all - t_small) / (count - small). In-process time per
      spectrum is printed too.
    * pyDRTtools 0.2: ``runs.simple_run`` (its default pipeline: Gaussian RBFs,
      FWHM coefficient 0.5, 1st-derivative penalty, GCV, combined Re/Im, R_inf and
      L, gamma >= 0 via cvxopt), per spectrum in one process (its import is not
      counted), i.e. also a marginal cost.

Accuracy, on the same spectra
    * DRT: relative L2 distance between gamma and the analytical ZARC DRT over
      the tau range the data covers, median over the spectra.
    * Issue 11's peak bar: a spectrum passes when the number of peaks equals the
      number of arcs and every peak's tau is within a factor 1.25 and resistance
      within 15 % of its arc. labkit: its peaks (ZARC refinement). pyDRTtools:
      maxima of its gamma with the area between the neighbouring minima, peaks
      under 5 % of the total area dropped (what its DRT gives without the user
      stating the number of peaks; labkit's own DRT read the same way is shown as
      ``labkit --no-refine``); with
      ``--pydrttools-peak-analysis``, also its ``peak_analysis`` (Gaussian fits by
      differential evolution) told the true number of peaks, on the first
      ``--peak-analysis-count`` spectra (it takes seconds per spectrum).

pyDRTtools imports its Qt GUI from its package ``__init__``; the benchmark
registers empty stand-ins for its ``cli``, ``GUI`` and ``layout`` modules so it
imports on a headless machine (the numerical modules are untouched).

Run: ``python bench/drt.py [--count 100] [--seed 1] [--small 10]
[--pydrttools-peak-analysis]`` (``pip install 'labkit[bench]'``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import pandas as pd
from _machine import describe

from labkit.eis.drt import drt
from labkit.eis.zarc_synthetic import ZarcSpectrum, zarc_distribution, zarc_spectra


def _import_pydrttools():
    for name in ("cli", "GUI", "layout"):
        sys.modules.setdefault(f"pyDRTtools.{name}", types.ModuleType(f"pyDRTtools.{name}"))
    with contextlib.redirect_stdout(io.StringIO()):
        from cvxopt import solvers
        from pyDRTtools import runs
    solvers.options["show_progress"] = False
    return runs


def _peak_bar(truth: ZarcSpectrum, tau: np.ndarray, resistance: np.ndarray) -> bool:
    if len(tau) != len(truth.tau_second):
        return False
    order = np.argsort(tau)
    return bool(np.all(np.abs(np.log(tau[order] / truth.tau_second)) <= math.log(1.25))
                and np.all(np.abs(resistance[order] / truth.resistance_ohm - 1) <= 0.15))


def _drt_error(truth: ZarcSpectrum, tau: np.ndarray, gamma: np.ndarray) -> float:
    """Relative L2 distance to the analytical DRT over the data's tau range."""
    inside = (tau >= 1 / (2 * np.pi * truth.frequency_hertz.max())) & (
        tau <= 1 / (2 * np.pi * truth.frequency_hertz.min()))
    log_tau, estimate = np.log(tau[inside]), gamma[inside]
    exact = zarc_distribution(tau[inside], truth.resistance_ohm, truth.tau_second,
                              truth.dispersion)
    return float(np.sqrt(np.trapezoid((estimate - exact) ** 2, log_tau)
                         / np.trapezoid(exact**2, log_tau)))


def _area_peaks(tau: np.ndarray, gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maxima of gamma (prominence 3 % of the top) with the area between neighbouring
    minima; peaks holding less than 5 % of the total area are dropped as noise."""
    from scipy.signal import find_peaks

    indices, _ = find_peaks(gamma, prominence=0.03 * gamma.max())
    log_tau = np.log(tau)
    bounds = [0] + [a + int(np.argmin(gamma[a:b])) for a, b in zip(indices[:-1], indices[1:],
                                                                    strict=True)] + [len(gamma)]
    areas = np.array([np.trapezoid(gamma[a:b], log_tau[a:b])
                      for a, b in zip(bounds[:-1], bounds[1:], strict=True)])
    keep = areas >= 0.05 * np.trapezoid(gamma, log_tau)
    return tau[indices][keep], areas[keep]


def _write_files(spectra: list[ZarcSpectrum], folder: Path) -> list[Path]:
    paths = []
    for index, spectrum in enumerate(spectra):
        path = folder / f"zarc_{index:04d}.csv"
        pd.DataFrame({"Freq": spectrum.frequency_hertz, "Real": spectrum.impedance_ohm.real,
                      "Imag": spectrum.impedance_ohm.imag}).to_csv(path)
        paths.append(path)
    return paths


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time_command(paths: list[Path], *options: str) -> float:
    """CPU seconds (user + system) of one ``labkit eis drt`` run on ``paths``."""
    command = [sys.executable, "-m", "labkit", "eis", "drt", "--json", *options,
               *map(str, paths)]
    before = _children_cpu()
    done = subprocess.run(command, capture_output=True, env={**os.environ}, check=False)
    if done.returncode != 0:
        raise SystemExit(f"labkit eis drt failed: {done.stderr.decode()[-2000:]}")
    return _children_cpu() - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--small", type=int, default=10,
                        help="files in the short command run (start-up measurement)")
    parser.add_argument("--pydrttools-peak-analysis", action="store_true")
    parser.add_argument("--peak-analysis-count", type=int, default=20)
    args = parser.parse_args()
    print(describe(), flush=True)
    spectra = zarc_spectra(args.count, seed=args.seed)

    with tempfile.TemporaryDirectory() as folder:
        paths = _write_files(spectra, Path(folder))
        costs = {}
        for label, options in (("refined", ()), ("drt only", ("--no-refine",))):
            small = _time_command(paths[:args.small], *options)
            full = _time_command(paths, *options)
            costs[label] = (full - small) / (args.count - args.small)

    start = time.process_time()
    ours = [drt((s.frequency_hertz, s.impedance_ohm)) for s in spectra]
    in_process = (time.process_time() - start) / args.count
    our_pass = [_peak_bar(s, np.array([p.tau_second for p in r.peaks]),
                          np.array([p.resistance_ohm for p in r.peaks]))
                for s, r in zip(spectra, ours, strict=True)]
    our_error = [_drt_error(s, r.tau_second, r.gamma_ohm) for s, r in zip(spectra, ours,
                                                                           strict=True)]
    our_area_pass = [_peak_bar(s, *_area_peaks(r.tau_second, r.gamma_ohm))
                     for s, r in zip(spectra, ours, strict=True)]

    runs = _import_pydrttools()
    theirs = []
    start = time.process_time()
    for s in spectra:
        entry = runs.EIS_object(s.frequency_hertz, s.impedance_ohm.real, s.impedance_ohm.imag)
        with contextlib.redirect_stdout(io.StringIO()):
            runs.simple_run(entry)
        theirs.append((np.asarray(entry.out_tau_vec).ravel(), np.asarray(entry.gamma).ravel()))
    their_cost = (time.process_time() - start) / args.count
    their_pass = [_peak_bar(s, *_area_peaks(tau, gamma))
                  for s, (tau, gamma) in zip(spectra, theirs, strict=True)]
    their_error = [_drt_error(s, tau, gamma) for s, (tau, gamma) in zip(spectra, theirs,
                                                                       strict=True)]

    print(f"{args.count} spectra (seed {args.seed}), R_inf + 1 or 2 ZARCs, 81 points, "
          f"0.5-1 % noise")
    print(f"{'tool':<40} {'CPU ms/spec':>12} {'median DRT L2':>14} {'issue-11 bar':>13}")
    rows = [
        ("labkit eis drt (batch marginal)", costs["refined"], np.median(our_error),
         np.mean(our_pass)),
        ("labkit eis drt --no-refine (marginal)", costs["drt only"], np.median(our_error),
         np.mean(our_area_pass)),
        ("labkit drt() in process", in_process, np.median(our_error), np.mean(our_pass)),
        ("pyDRTtools simple_run + maxima", their_cost, np.median(their_error),
         np.mean(their_pass)),
    ]
    for name, cost, error, passed in rows:
        print(f"{name:<40} {1e3 * cost:>12.1f} {error:>14.3f} {100 * passed:>12.0f}%")
    if args.pydrttools_peak_analysis:
        subset = spectra[:args.peak_analysis_count]
        passed = []
        start = time.process_time()
        for s in subset:
            entry = runs.EIS_object(s.frequency_hertz, s.impedance_ohm.real,
                                    s.impedance_ohm.imag)
            with contextlib.redirect_stdout(io.StringIO()):
                runs.peak_analysis(entry, N_peaks=len(s.tau_second))
            fits = np.atleast_2d(entry.Gaussian)
            tau = np.array([entry.out_tau_vec[int(np.argmax(g))] for g in fits])
            area = np.array([np.trapezoid(g, np.log(entry.out_tau_vec)) for g in fits])
            passed.append(_peak_bar(s, tau, area))
        analysis_cost = (time.process_time() - start) / len(subset)
        labkit_subset = np.mean(our_pass[:len(subset)])
        print(f"{'pyDRTtools peak_analysis (N given)':<40} {1e3 * analysis_cost:>12.1f} "
              f"{'':>14} {100 * np.mean(passed):>12.0f}%  (first {len(subset)} spectra; "
              f"labkit on them: {100 * labkit_subset:.0f}%)")
        print(f"speed ratio, peaks (pyDRTtools peak_analysis / labkit eis drt): "
              f"{analysis_cost / costs['refined']:.1f}x")
    print(f"speed ratio, DRT only (pyDRTtools simple_run / labkit eis drt --no-refine): "
          f"{their_cost / costs['drt only']:.1f}x")
    print(f"speed ratio, labkit with refined peaks vs pyDRTtools DRT only: "
          f"{their_cost / costs['refined']:.1f}x")

if __name__ == "__main__":
    main()
