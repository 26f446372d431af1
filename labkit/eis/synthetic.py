"""Synthetic impedance spectra with a known ground truth, for tests and benchmarks.

:func:`pellet_spectra` draws blocking-electrode pellet spectra
(``R0-p(R1,CPE1)-p(R2,CPE2)-CPE3``) with realistic, random parameters, all
log-uniform unless said otherwise: bulk resistance 100 Ω-100 kΩ, grain-boundary
resistance 0.1-10× the bulk one, the bulk arc's apex between 10 kHz and 1 MHz
and the grain-boundary apex between 10 Hz and 10 kHz (independently, as issue 4
states the ranges), CPE exponents uniform in 0.8-1 (bulk) and 0.7-0.95 (grain
boundary, electrode), an electrode spike whose corner lies 100-1000× below the
grain-boundary apex, series resistance 1-30 Ω, 60 points from 1 MHz to 0.1 Hz
and 1 % Gaussian noise on the real and imaginary parts (relative to ``|Z|``).

Some of these draws hold no information on R1 or R2: a grain-boundary arc of a
tenth of the bulk one, or two arcs with apexes a few kHz apart, are buried in 1 %
noise. Whether a draw is *identifiable* is decided by the Cramér-Rao bound, which
depends only on the true parameters and the noise, not on any fitting method:
the smallest standard deviation any unbiased estimator can reach is
sqrt(diag(F⁻¹)), with F the Fisher information of the noisy spectrum. With
``identifiable=True`` (the default) a draw is kept only when that bound lets
R1 and R2 be within ``tolerance`` of the truth with probability ``confidence``
(bound ≤ tolerance / z, z the two-sided normal quantile), which is what a
"recovers R within 5 % in 99 % of cases" bar presumes. ``identifiable=False``
keeps every draw; there the least-squares optimum itself, started from the true
parameters, misses about 20 % of them (see ``bench/eis_fit.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from labkit.eis.circuit import Circuit
from labkit.eis.elements import FrequencyGrid

PELLET_CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)-CPE3"


@dataclass(frozen=True)
class SyntheticSpectrum:
    """A noisy spectrum, the parameters it was made from, and their Cramér-Rao bound.

    Attributes
    ----------
    circuit, frequency_hertz, impedance, truth
        The circuit string, the spectrum and the true parameters.
    cramer_rao_relative
        Parameter name -> smallest relative standard deviation any unbiased estimator
        can reach on this spectrum's noise (:func:`cramer_rao_relative`).
    """

    circuit: str
    frequency_hertz: np.ndarray
    impedance: np.ndarray
    truth: dict[str, float]
    cramer_rao_relative: dict[str, float]


def cramer_rao_relative(circuit: str | Circuit, truth: dict[str, float],
                        frequency_hertz: np.ndarray, noise: float) -> dict[str, float]:
    """Cramér-Rao bound of every parameter, relative to its value.

    The noise model is the one :func:`pellet_spectra` draws: independent Gaussian noise of
    standard deviation ``noise·|Z|`` on the real and on the imaginary part. The Fisher
    information is ``JᵀWJ`` with J the analytic derivative of Z with respect to the
    parameters and W = 1/σ² per point; the bound is sqrt(diag(F⁻¹)) / |value|
    (infinite when F is singular).
    """
    circuit = circuit if isinstance(circuit, Circuit) else Circuit(circuit)
    names = list(circuit.parameter_names)
    values = np.array([truth[n] for n in names], dtype=float)
    z, derivative = circuit.evaluate(values, FrequencyGrid(np.asarray(frequency_hertz)),
                                     jacobian=True)
    sigma = noise * np.abs(z)
    jac = np.vstack([(derivative.real / sigma).T, (derivative.imag / sigma).T])
    try:
        variance = np.diag(np.linalg.inv(jac.T @ jac))
    except np.linalg.LinAlgError:
        variance = np.full(len(names), np.inf)
    with np.errstate(invalid="ignore", divide="ignore"):
        relative = np.sqrt(np.where(variance >= 0, variance, np.inf)) / np.abs(values)
    return dict(zip(names, (float(r) for r in relative), strict=True))


def _cpe_for_apex(resistance: float, apex_hertz: float, alpha: float) -> float:
    """Q of a CPE that puts the apex of ``R || CPE`` at ``apex_hertz`` (τ^α = R Q)."""
    tau = 1.0 / (2.0 * np.pi * apex_hertz)
    return tau**alpha / resistance


def _draw_pellet(rng: np.random.Generator) -> dict[str, float]:
    r_bulk = 10 ** rng.uniform(2, 5)
    r_gb = r_bulk * 10 ** rng.uniform(-1, 1)
    alpha_bulk, alpha_gb, alpha_el = rng.uniform(0.8, 1.0), rng.uniform(0.7, 0.95), \
        rng.uniform(0.7, 0.95)
    apex_bulk, apex_gb = 10 ** rng.uniform(4, 6), 10 ** rng.uniform(1, 4)
    corner_el = apex_gb * 10 ** rng.uniform(-3, -2)
    return {
        "R0": 10 ** rng.uniform(0, 1.5),
        "R1": r_bulk, "CPE1_0": _cpe_for_apex(r_bulk, apex_bulk, alpha_bulk),
        "CPE1_1": alpha_bulk,
        "R2": r_gb, "CPE2_0": _cpe_for_apex(r_gb, apex_gb, alpha_gb), "CPE2_1": alpha_gb,
        "CPE3_0": 1.0 / ((r_bulk + r_gb) * (2 * np.pi * corner_el) ** alpha_el),
        "CPE3_1": alpha_el,
    }


def pellet_spectra(count: int, seed: int = 0, points: int = 60, noise: float = 0.01, *,
                   identifiable: bool = True, tolerance: float = 0.05,
                   confidence: float = 0.99) -> list[SyntheticSpectrum]:
    """Draw ``count`` pellet spectra; the same arguments give the same spectra.

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
    identifiable
        Keep only draws whose R1 and R2 the data determine (module doc): their
        Cramér-Rao bound is at most ``tolerance`` / z(``confidence``). With
        ``noise=0`` every draw is kept.
    tolerance, confidence
        The recovery bar the draws must allow (default: within 5 % with 99 %
        probability, bound ≤ 1.94 %).
    """
    rng = np.random.default_rng(seed)
    circuit = Circuit(PELLET_CIRCUIT)
    frequency = np.logspace(6, -1, points)
    limit = tolerance / NormalDist().inv_cdf(0.5 + confidence / 2)
    out = []
    while len(out) < count:
        truth = _draw_pellet(rng)
        bound = cramer_rao_relative(circuit, truth, frequency, noise) if noise > 0 \
            else dict.fromkeys(truth, 0.0)
        if identifiable and max(bound["R1"], bound["R2"]) > limit:
            continue
        z = circuit.impedance(truth, frequency)
        z = z + noise * np.abs(z) * (rng.standard_normal(points) + 1j * rng.standard_normal(points))
        out.append(SyntheticSpectrum(PELLET_CIRCUIT, frequency, z, truth, bound))
    return out
