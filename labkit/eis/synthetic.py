"""Synthetic impedance spectra with a known ground truth, for tests and benchmarks.

:func:`pellet_spectra` draws blocking-electrode pellet spectra
(``R0-p(R1,CPE1)-p(R2,CPE2)-CPE3``) with realistic, random parameters: bulk
resistance 100 Ω-100 kΩ, grain-boundary resistance 0.5-5× the bulk one, the
bulk arc's apex between 10 kHz and 1 MHz and the grain-boundary apex between
10 Hz and 10 kHz (log-uniform, at least :data:`MIN_APEX_RATIO` apart), CPE
exponents 0.8-1 (bulk) and 0.7-0.95 (grain boundary, electrode), an
electrode spike whose capacitance is 100-1000× the grain boundary's, series
resistance 1-30 Ω, 60 points from 1 MHz to 0.1 Hz and 1 % Gaussian noise on
the real and imaginary parts (relative to ``|Z|``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labkit.eis.circuit import Circuit

PELLET_CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)-CPE3"
#: Least ratio of the bulk to the grain-boundary apex frequency. Closer arcs are not
#: resolvable at 1 % noise: there even the least-squares optimum started from the true
#: parameters misses R1 or R2 by more than 5 % (no fitting method can do better).
MIN_APEX_RATIO = 50.0


@dataclass(frozen=True)
class SyntheticSpectrum:
    """A noisy spectrum and the parameters it was made from."""

    circuit: str
    frequency_hertz: np.ndarray
    impedance: np.ndarray
    truth: dict[str, float]


def _cpe_for_apex(resistance: float, apex_hertz: float, alpha: float) -> float:
    """Q of a CPE that puts the apex of ``R || CPE`` at ``apex_hertz`` (τ^α = R Q)."""
    tau = 1.0 / (2.0 * np.pi * apex_hertz)
    return tau**alpha / resistance


def pellet_spectra(count: int, seed: int = 0, points: int = 60,
                   noise: float = 0.01) -> list[SyntheticSpectrum]:
    """Draw ``count`` pellet spectra; the same seed gives the same spectra.

    Parameters
    ----------
    count
        Number of spectra.
    seed
        Seed of the random generator.
    points
        Frequencies per spectrum, log-spaced from 1 MHz to 0.1 Hz.
    noise
        Standard deviation of the noise on each of Re and Im, relative to ``|Z|``.
    """
    rng = np.random.default_rng(seed)
    circuit = Circuit(PELLET_CIRCUIT)
    frequency = np.logspace(6, -1, points)
    out = []
    for _ in range(count):
        r_bulk = 10 ** rng.uniform(2, 5)
        r_gb = r_bulk * 10 ** rng.uniform(-0.3, 0.7)
        alpha_bulk, alpha_gb, alpha_el = rng.uniform(0.8, 1.0), rng.uniform(0.7, 0.95), \
            rng.uniform(0.7, 0.95)
        apex_bulk, apex_gb = 10 ** rng.uniform(4, 6), 10 ** rng.uniform(1, 4)
        while apex_bulk / apex_gb < MIN_APEX_RATIO:
            apex_bulk, apex_gb = 10 ** rng.uniform(4, 6), 10 ** rng.uniform(1, 4)
        corner_el = apex_gb * 10 ** rng.uniform(-3, -2)
        truth = {
            "R0": 10 ** rng.uniform(0, 1.5),
            "R1": r_bulk, "CPE1_0": _cpe_for_apex(r_bulk, apex_bulk, alpha_bulk),
            "CPE1_1": alpha_bulk,
            "R2": r_gb, "CPE2_0": _cpe_for_apex(r_gb, apex_gb, alpha_gb), "CPE2_1": alpha_gb,
            "CPE3_0": 1.0 / ((r_bulk + r_gb) * (2 * np.pi * corner_el) ** alpha_el),
            "CPE3_1": alpha_el,
        }
        z = circuit.impedance(truth, frequency)
        z = z + noise * np.abs(z) * (rng.standard_normal(points) + 1j * rng.standard_normal(points))
        out.append(SyntheticSpectrum(PELLET_CIRCUIT, frequency, z, truth))
    return out
