"""Spectra of R_inf + ZARC elements with their analytical DRT: the DRT ground truth.

A ZARC ``R / (1 + (i omega tau)^n)`` has the distribution of relaxation times

    gamma(ln t) = R / (2 pi) * sin((1 - n) pi) / (cosh(n ln(t / tau)) - cos((1 - n) pi))

(Cole & Cole 1941; Boukamp 2015). :func:`zarc_spectra` draws the spectra issue 11
asks DRT peak accuracy on: R_inf plus one or two ZARCs with n in 0.7-0.95, time
constants 10x to 100x apart, 0.5-1 % noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class ZarcSpectrum:
    """A noisy R_inf + ZARC spectrum and the parameters it was made from.

    Attributes
    ----------
    frequency_hertz, impedance_ohm
        The spectrum (decreasing frequency).
    r_inf_ohm
        Series resistance.
    resistance_ohm, tau_second, dispersion
        One entry per ZARC, by increasing tau.
    noise
        Standard deviation of the noise on Re and Im, relative to |Z|.
    """

    frequency_hertz: np.ndarray
    impedance_ohm: np.ndarray
    r_inf_ohm: float
    resistance_ohm: np.ndarray
    tau_second: np.ndarray
    dispersion: np.ndarray
    noise: float


def zarc_impedance(frequency_hertz: np.ndarray, resistance_ohm: np.ndarray,
                   tau_second: np.ndarray, dispersion: np.ndarray) -> np.ndarray:
    """Sum of ZARC impedances at each frequency."""
    omega = 2.0 * np.pi * np.asarray(frequency_hertz, float)
    r, t, n = (np.atleast_1d(np.asarray(v, float))[:, None]
               for v in (resistance_ohm, tau_second, dispersion))
    return (r / (1.0 + (1j * omega[None, :] * t) ** n)).sum(axis=0)


def zarc_distribution(tau: np.ndarray, resistance_ohm: np.ndarray, tau_second: np.ndarray,
                      dispersion: np.ndarray) -> np.ndarray:
    """Analytical gamma(ln tau) of a sum of ZARCs (Ohm per unit ln tau)."""
    log_ratio = np.log(np.asarray(tau, float))[None, :] - np.log(
        np.atleast_1d(np.asarray(tau_second, float)))[:, None]
    r = np.atleast_1d(np.asarray(resistance_ohm, float))[:, None]
    n = np.atleast_1d(np.asarray(dispersion, float))[:, None]
    angle = (1.0 - n) * np.pi
    return (r / (2.0 * np.pi) * np.sin(angle) / (np.cosh(n * log_ratio) - np.cos(angle))).sum(0)


def zarc_spectra(count: int, seed: int = 0, points_per_decade: int = 10) -> list[ZarcSpectrum]:
    """Draw issue 11's accuracy set; the same seed gives the same spectra.

    Each spectrum: 1 MHz to 10 mHz at ``points_per_decade``; one ZARC (half the spectra) or two; the first ZARC's tau
    log-uniform in 1e-5..1e-2 s, the second 10x-100x slower (log-uniform); the
    first R log-uniform in 10-1000 Ohm, the second that times 10^U(-1, 1) (arcs
    within a factor 10 of each other: a smaller arc under 1 % noise next to a big
    one is not resolvable by any method to 15 %); R_inf 0.1-1 times the smallest
    arc (log-uniform; an arc much smaller than R_inf drowns in noise of 1 % of
    |Z| likewise); n uniform in 0.7-0.95; noise uniform in 0.5-1 % of |Z| on Re
    and Im.
    """
    rng = np.random.default_rng(seed)
    frequency = np.logspace(6, -2, 8 * points_per_decade + 1)
    out = []
    for index in range(count):
        arcs = 1 + index % 2
        tau = 10.0 ** rng.uniform(-5, -2)
        taus = np.array([tau, tau * 10.0 ** rng.uniform(1, 2)])[:arcs]
        first = 10.0 ** rng.uniform(1, 3)
        resistance = np.array([first, first * 10.0 ** rng.uniform(-1, 1)])[:arcs]
        dispersion = rng.uniform(0.7, 0.95, arcs)
        r_inf = resistance.min() * 10.0 ** rng.uniform(-1, 0)
        noise = rng.uniform(0.005, 0.01)
        z = r_inf + zarc_impedance(frequency, resistance, taus, dispersion)
        z = z + noise * np.abs(z) * (rng.standard_normal(len(z))
                                     + 1j * rng.standard_normal(len(z)))
        out.append(ZarcSpectrum(frequency, z, r_inf, resistance, taus, dispersion, noise))
    return out
