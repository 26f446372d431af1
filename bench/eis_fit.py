"""Circuit-fitting benchmark: labkit vs impedance.py vs pyimpspec on the same synthetic spectra.

Every tool fits the blocking-electrode pellet circuit ``R0-p(R1,CPE1)-p(R2,CPE2)-CPE3``
to the same spectra from :func:`labkit.eis.synthetic.pellet_spectra` (random
realistic parameters, 60 points 1 MHz-0.1 Hz, 1 % noise; draws whose R1 and R2
the noise hides, by their Cramér-Rao bound, are redrawn). A second line fits
unfiltered draws and compares labkit with the least-squares optimum reached
from the true parameters, which no fitting method can beat. A fit succeeds when
R1 and R2 are both within 5 % of the truth. labkit gets no start values and
fits all spectra with its batch API in one process (``fit_batch``: the global
search as a vectorised Levenberg-Marquardt over all spectra, then lmfit's
``least_squares`` polishes each); ``labkit-vectorised`` is the same without the
lmfit polish (``engine="vectorised"``); ``labkit-one-by-one`` calls
``fit_circuit`` per spectrum;
impedance.py and pyimpspec get the same simple start read from the data
(R0 = smallest Re Z, R1 = R2 = half the real-axis span, CPEs at typical
pellet values), since both need one; ``impedance-true-start`` starts impedance.py
from the true parameters, to show its raw speed when it needs no search. pyimpspec
runs one method
(``least_squares``) with modulus weighting; its default tries every method
and weighting, which is several times slower.

Run: ``python bench/eis_fit.py [--count 200] [--seed 0] [--tools labkit,labkit-one-by-one,...]
[--competitor-count N]``
(install the competitors with ``pip install 'labkit[bench]'``).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from _machine import describe

from labkit.eis.batch import fit_batch
from labkit.eis.fit import fit_circuit
from labkit.eis.synthetic import PELLET_CIRCUIT, pellet_spectra


def _simple_guess(z: np.ndarray) -> list[float]:
    r0 = float(z.real.min())
    half = float(z.real.max() - r0) / 2
    return [r0, half, 1e-10, 0.9, half, 1e-8, 0.8, 1e-6, 0.8]


def _labkit_one_by_one(spectrum):
    result = fit_circuit(spectrum.frequency_hertz, spectrum.impedance, PELLET_CIRCUIT)
    return result.value("R1"), result.value("R2")


def _labkit_batch(spectra, engine: str = "lmfit"):
    results = fit_batch([(s.frequency_hertz, s.impedance) for s in spectra], PELLET_CIRCUIT,
                        engine=engine)
    return [(r.value("R1"), r.value("R2")) for r in results]


def _impedance_py(spectrum):
    from impedance.models.circuits import CustomCircuit

    circuit = CustomCircuit(PELLET_CIRCUIT, initial_guess=_simple_guess(spectrum.impedance))
    circuit.fit(spectrum.frequency_hertz, spectrum.impedance)
    return circuit.parameters_[1], circuit.parameters_[4]


def _impedance_py_true_start(spectrum):
    """impedance.py's raw speed: started from the true parameters (not a fair success test)."""
    from impedance.models.circuits import CustomCircuit

    circuit = CustomCircuit(PELLET_CIRCUIT, initial_guess=list(spectrum.truth.values()))
    circuit.fit(spectrum.frequency_hertz, spectrum.impedance)
    return circuit.parameters_[1], circuit.parameters_[4]


def _pyimpspec(spectrum):
    import pyimpspec

    circuit = pyimpspec.parse_cdc("R(RQ)(RQ)Q")
    guess = _simple_guess(spectrum.impedance)
    elements = circuit.get_elements()
    values = [{"R": guess[0]}, {"R": guess[1]}, {"Y": guess[2], "n": guess[3]},
              {"R": guess[4]}, {"Y": guess[5], "n": guess[6]}, {"Y": guess[7], "n": guess[8]}]
    for element, value in zip(elements, values, strict=True):
        element.set_values(**value)
    data = pyimpspec.DataSet(spectrum.frequency_hertz, spectrum.impedance)
    fit = pyimpspec.fit_circuit(circuit, data, method="least_squares", weight="modulus",
                                num_procs=1)
    fitted = fit.circuit.get_elements()
    return fitted[1].get_value("R"), fitted[3].get_value("R")


#: Tools that fit one spectrum per call; labkit's batch API takes them all at once.
TOOLS = {"labkit-one-by-one": _labkit_one_by_one, "impedance": _impedance_py,
         "impedance-true-start": _impedance_py_true_start, "pyimpspec": _pyimpspec}


def run(count: int, seed: int, tools: list[str],
        competitor_count: int | None = None) -> dict[str, tuple[int, float, float]]:
    """Fit the spectra with each tool; name -> (spectra, spectra per second, success fraction).

    Competitors fit the first ``competitor_count`` of the same spectra (all by default).
    """
    spectra = pellet_spectra(count, seed=seed)
    table = {}
    for name, engine in (("labkit", "lmfit"), ("labkit-vectorised", "vectorised")):
        if name in tools:
            start = time.perf_counter()
            values = _labkit_batch(spectra, engine)
            elapsed = time.perf_counter() - start
            table[name] = (count, count / elapsed, _success_rate(values, spectra))
            _explain_misses(values, spectra)
    for name in (t for t in tools if t not in ("labkit", "labkit-vectorised")):
        fit = TOOLS[name]
        subset = spectra if name.startswith("labkit") or competitor_count is None \
            else spectra[:competitor_count]
        values = []
        start = time.perf_counter()
        for spectrum in subset:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    values.append(fit(spectrum))
            except Exception:  # a competitor giving up counts as a failed fit
                values.append((float("nan"), float("nan")))
        elapsed = time.perf_counter() - start
        table[name] = (len(subset), len(subset) / elapsed, _success_rate(values, subset))
    return table


def _explain_misses(values, spectra) -> None:
    """For each labkit miss, whether the least-squares optimum itself misses (a fit
    started from the true parameters): then no fitting method can recover R1/R2."""
    misses = [s for (r1, r2), s in zip(values, spectra, strict=True)
              if not _hit(r1, r2, s)]
    limited = 0
    for s in misses:
        result = fit_circuit(s.frequency_hertz, s.impedance, PELLET_CIRCUIT, initial=s.truth)
        limited += not _hit(result.value("R1"), result.value("R2"), s)
    print(f"labkit misses: {len(misses)}; of these, {limited} are also missed by the "
          "least-squares optimum started from the true parameters (noise-limited)")


def unfiltered(count: int, seed: int) -> tuple[float, float, int]:
    """On draws kept whatever their Cramér-Rao bound: labkit's success, the success of the
    fit started from the true parameters, and the draws only the latter recovers."""
    spectra = pellet_spectra(count, seed=seed, identifiable=False)
    automatic = [_hit(r1, r2, s) for (r1, r2), s in
                 zip(_labkit_batch(spectra), spectra, strict=True)]
    from_truth = []
    for s in spectra:
        result = fit_circuit(s.frequency_hertz, s.impedance, PELLET_CIRCUIT, initial=s.truth,
                             starts=1, restarts=0)
        from_truth.append(_hit(result.value("R1"), result.value("R2"), s))
    only_truth = sum(t and not a for a, t in zip(automatic, from_truth, strict=True))
    return float(np.mean(automatic)), float(np.mean(from_truth)), only_truth


def _hit(r1: float, r2: float, spectrum) -> bool:
    return bool(abs(r1 / spectrum.truth["R1"] - 1) < 0.05
                and abs(r2 / spectrum.truth["R2"] - 1) < 0.05)


def _success_rate(values, spectra) -> float:
    hits = sum(_hit(r1, r2, s) for (r1, r2), s in zip(values, spectra, strict=True))
    return hits / len(spectra)


def main() -> None:
    """Print the table (markdown) with throughput ratios against labkit."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tools", default="labkit,labkit-vectorised,labkit-one-by-one,"
                                           "impedance,impedance-true-start,pyimpspec")
    parser.add_argument("--unfiltered", type=int, default=200, metavar="N",
                        help="also fit N draws without the identifiability filter (0: skip)")
    parser.add_argument("--competitor-count", type=int, default=None,
                        help="competitors fit only the first N of the spectra "
                             "(they take seconds each)")
    args = parser.parse_args()
    print(describe(), flush=True)
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    table = run(args.count, args.seed, tools, args.competitor_count)
    print(f"{args.count} synthetic pellet spectra ({PELLET_CIRCUIT}, 60 points, 1 % noise), "
          f"seed {args.seed}; success = R1 and R2 within 5 %")
    print("| tool | spectra fitted | spectra/s | success | labkit speed-up |")
    print("|---|---|---|---|---|")
    reference = table.get("labkit", (0, float("nan"), 0))[1]
    for name, (fitted, rate, success) in table.items():
        print(f"| {name} | {fitted} | {rate:.1f} | {100 * success:.1f} % "
              f"| {reference / rate:.1f}x |")
    if args.unfiltered:
        labkit_rate, truth_rate, missed = unfiltered(args.unfiltered, args.seed)
        print(f"\n{args.unfiltered} unfiltered draws (identifiable=False): labkit recovers "
              f"{100 * labkit_rate:.1f} %, the least-squares optimum from the true parameters "
              f"{100 * truth_rate:.1f} %; draws only the latter recovers: {missed}")


if __name__ == "__main__":
    main()
