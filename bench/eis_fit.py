"""Circuit-fitting benchmark: labkit vs impedance.py vs pyimpspec on the same synthetic spectra.

Every tool fits the blocking-electrode pellet circuit ``R0-p(R1,CPE1)-p(R2,CPE2)-CPE3``
to the same spectra from :func:`labkit.eis.synthetic.pellet_spectra` (random
realistic parameters, 60 points 1 MHz-0.1 Hz, 1 % noise). A fit succeeds when
R1 and R2 are both within 5 % of the truth. labkit gets no start values;
impedance.py and pyimpspec get the same simple start read from the data
(R0 = smallest Re Z, R1 = R2 = half the real-axis span, CPEs at typical
pellet values), since both need one. pyimpspec runs one method
(``least_squares``) with modulus weighting; its default tries every method
and weighting, which is several times slower.

Run: ``python bench/eis_fit.py [--count 200] [--seed 0] [--tools labkit,impedance,pyimpspec]
[--competitor-count N]``
(install the competitors with ``pip install 'labkit[bench]'``).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from labkit.eis.fit import fit_circuit
from labkit.eis.synthetic import PELLET_CIRCUIT, pellet_spectra


def _simple_guess(z: np.ndarray) -> list[float]:
    r0 = float(z.real.min())
    half = float(z.real.max() - r0) / 2
    return [r0, half, 1e-10, 0.9, half, 1e-8, 0.8, 1e-6, 0.8]


def _labkit(spectrum):
    result = fit_circuit(spectrum.frequency_hertz, spectrum.impedance, PELLET_CIRCUIT)
    return result.value("R1"), result.value("R2")


def _impedance_py(spectrum):
    from impedance.models.circuits import CustomCircuit

    circuit = CustomCircuit(PELLET_CIRCUIT, initial_guess=_simple_guess(spectrum.impedance))
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


TOOLS = {"labkit": _labkit, "impedance": _impedance_py, "pyimpspec": _pyimpspec}


def run(count: int, seed: int, tools: list[str],
        competitor_count: int | None = None) -> dict[str, tuple[int, float, float]]:
    """Fit the spectra with each tool; name -> (spectra, spectra per second, success fraction).

    Competitors fit the first ``competitor_count`` of the same spectra (all by default).
    """
    spectra = pellet_spectra(count, seed=seed)
    table = {}
    for name in tools:
        fit = TOOLS[name]
        subset = spectra if name == "labkit" or competitor_count is None \
            else spectra[:competitor_count]
        successes = 0
        start = time.perf_counter()
        for spectrum in subset:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    r1, r2 = fit(spectrum)
            except Exception:  # a competitor giving up counts as a failed fit
                continue
            successes += (abs(r1 / spectrum.truth["R1"] - 1) < 0.05
                          and abs(r2 / spectrum.truth["R2"] - 1) < 0.05)
        elapsed = time.perf_counter() - start
        table[name] = (len(subset), len(subset) / elapsed, successes / len(subset))
    return table


def main() -> None:
    """Print the table (markdown) with throughput ratios against labkit."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tools", default="labkit,impedance,pyimpspec")
    parser.add_argument("--competitor-count", type=int, default=None,
                        help="competitors fit only the first N spectra (they take seconds each)")
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
