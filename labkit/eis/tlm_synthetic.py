"""Synthetic blocking transmission-line spectra of composite electrodes: tortuosity's ground truth.

:func:`transmission_line_spectra` draws spectra of ``R0-TLMQ1`` (a separator / contact
resistance in series with the transmission line of a composite electrode under blocking
conditions) over the ranges issue 19 asks the ionic resistance to be recovered on:
R_ion log-uniform 3-1000 Ω, CPE exponent α uniform 0.8-1, and, as a lab would see them,
the series resistance 0.2-2× R_ion (log-uniform) and the line's characteristic
frequency (where ``R_ion Q (2πf)^α = 1``) log-uniform 0.1 Hz-1 kHz; 81 points from
1 MHz to 10 mHz and Gaussian noise of ``noise·|Z|`` on the real and on the imaginary
part (0.5 % by default), the noise model of :mod:`labkit.eis.synthetic`.
"""

from __future__ import annotations

import numpy as np

from labkit.eis.circuit import Circuit
from labkit.eis.synthetic import SyntheticSpectrum, cramer_rao_relative

TLM_CIRCUIT = "R0-TLMQ1"


def transmission_line_q(ionic_resistance_ohm: float, characteristic_hertz: float,
                        alpha: float) -> float:
    """Q of the line's CPE that puts its characteristic frequency at ``characteristic_hertz``."""
    return 1.0 / (ionic_resistance_ohm * (2 * np.pi * characteristic_hertz) ** alpha)


def transmission_line_spectra(count: int, seed: int = 0, points: int = 81,
                              noise: float = 0.005) -> list[SyntheticSpectrum]:
    """Draw ``count`` blocking transmission-line spectra; the same arguments give the same ones.

    Parameters
    ----------
    count
        Number of spectra.
    seed
        Seed of the random generator.
    points
        Frequencies per spectrum, log-spaced from 1 MHz to 10 mHz.
    noise
        Standard deviation of the noise on each of Re and Im, relative to ``|Z|``.
    """
    rng = np.random.default_rng(seed)
    circuit = Circuit(TLM_CIRCUIT)
    frequency = np.logspace(6, -2, points)
    out = []
    for _ in range(count):
        r_ion = float(10 ** rng.uniform(np.log10(3.0), 3.0))
        alpha = float(rng.uniform(0.8, 1.0))
        truth = {"R0": r_ion * float(10 ** rng.uniform(np.log10(0.2), np.log10(2.0))),
                 "TLMQ1_0": r_ion,
                 "TLMQ1_1": transmission_line_q(r_ion, float(10 ** rng.uniform(-1, 3)), alpha),
                 "TLMQ1_2": alpha}
        z = circuit.impedance(truth, frequency)
        z = z + noise * np.abs(z) * (rng.standard_normal(points) + 1j * rng.standard_normal(points))
        bound = cramer_rao_relative(circuit, truth, frequency, noise) if noise > 0 \
            else dict.fromkeys(truth, 0.0)
        out.append(SyntheticSpectrum(TLM_CIRCUIT, frequency, z, truth, bound))
    return out
