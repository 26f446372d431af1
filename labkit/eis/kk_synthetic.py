"""Spectra with a known Kramers-Kronig verdict: valid, drifting, or with a corrupt tail.

:func:`kk_spectra` draws the three classes issue 16 measures the KK verdict on, from
circuits typical of solid-electrolyte pellets and cells (all draws independent and
log-uniform unless said otherwise):

* ``pellet``: blocking electrodes. Lead resistance 0.5-3 Ω; one or two electrolyte
  arcs (ZARC, n 0.8-1; the first with R 10 Ω-100 kΩ and its apex at 10 kHz-5 MHz, the
  second 0.2-5× its resistance and 10-1000× slower); the blocking electrode's CPE
  (α 0.75-0.95) with its corner 30-1000× below the slowest arc's apex.
* ``sulfide``: as ``pellet``, but the bulk arc relaxes above the measured range (a
  resistance 15-400 Ω at 20-300 MHz: only the high-frequency intercept and a flank
  show) and one grain-boundary ZARC (0.2-2× the bulk, apex 100 kHz-5 MHz, n 0.8-0.95).
* ``cell``: non-blocking electrodes. One or two electrolyte arcs as ``pellet`` and an
  interface arc (R 0.5-20× the electrolyte's, apex 1 Hz-5 kHz, n 0.7-0.95), half of them
  with a semi-infinite Warburg tail (its |Z| at 0.1 Hz 0.2-3× the interface resistance).
* ``battery``: a milliohm cell. Series resistance 5-50 mΩ, a lead inductance whose
  reactance at the highest frequency is 0.5-20× that resistance, one to three ZARCs
  (total 5-100 mΩ, apexes 1 Hz-10 kHz, n 0.6-0.95) and a finite-length Warburg
  (R 2-50 mΩ, τ 1-100 s).

Each spectrum runs from 7 MHz (or 1 MHz, half of them; the ``battery`` family always
from 1 MHz) to 0.1 Hz at 10 points per decade, and carries Gaussian noise of standard
deviation ``noise`` × |Z| on the real and on the imaginary part, ``noise`` drawn uniform
in 0.1-0.5 %. The points are generated in measurement order, highest frequency first.
The faulty classes change one thing:

* ``drift``: every arc resistance (ZARCs, interface arcs) drifts linearly from the
  first point to the last by ``d`` = +50 % or -50 % (sign random), time taken as
  proportional to the point index; the arcs' CPE magnitudes stay, so their time
  constants drift with them (``tau^n = R Q``).
* ``corrupt_tail``: the last 3-6 points (lowest frequencies) are each moved by 10-30 %
  of their |Z| in a random direction of the complex plane.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

Fault = Literal["valid", "drift", "corrupt_tail"]
FAULTS: tuple[Fault, ...] = ("valid", "drift", "corrupt_tail")
FAMILIES = ("pellet", "sulfide", "cell", "battery")


@dataclass(frozen=True, eq=False)
class KkSpectrum:
    """One generated spectrum and how it was made.

    Attributes
    ----------
    frequency_hertz, impedance_ohm
        The spectrum, highest frequency first.
    family
        ``pellet``, ``sulfide``, ``cell`` or ``battery`` (module doc).
    fault
        ``valid``, ``drift`` or ``corrupt_tail``.
    noise
        Standard deviation of the noise on Re and Im, relative to |Z|.
    """

    frequency_hertz: np.ndarray
    impedance_ohm: np.ndarray
    family: str
    fault: str
    noise: float


@dataclass(frozen=True)
class _Arcs:
    """ZARCs ``R / (1 + (i omega tau)^n)`` whose R may drift (Q = tau^n / R fixed)."""

    resistance: np.ndarray
    tau: np.ndarray
    n: np.ndarray

    def impedance(self, omega: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """Sum of the arcs at each omega, each point's resistances times ``scale``."""
        r = self.resistance[None, :] * scale[:, None]
        tau = self.tau[None, :] * scale[:, None] ** (1.0 / self.n[None, :])
        return (r / (1.0 + (1j * omega[:, None] * tau) ** self.n[None, :])).sum(axis=1)


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(10.0 ** rng.uniform(np.log10(low), np.log10(high)))


def _tau(apex_hertz: float) -> float:
    return 1.0 / (2.0 * np.pi * apex_hertz)


def _electrolyte_arcs(rng: np.random.Generator) -> tuple[list[float], list[float], list[float]]:
    r1, apex1 = _log_uniform(rng, 10, 1e5), _log_uniform(rng, 1e4, 5e6)
    resistance, tau, n = [r1], [_tau(apex1)], [rng.uniform(0.8, 1.0)]
    if rng.random() < 0.5:
        resistance.append(r1 * _log_uniform(rng, 0.2, 5))
        tau.append(tau[0] * _log_uniform(rng, 10, 1000))
        n.append(rng.uniform(0.8, 1.0))
    return resistance, tau, n


def _cpe(omega: np.ndarray, q: float, alpha: float) -> np.ndarray:
    return 1.0 / (q * (1j * omega) ** alpha)


def _pellet(rng: np.random.Generator) -> tuple[float, float, _Arcs, Callable]:
    resistance, tau, n = _electrolyte_arcs(rng)
    alpha = rng.uniform(0.75, 0.95)
    corner = 1.0 / (2.0 * np.pi * max(tau)) / _log_uniform(rng, 30, 1000)
    q = 1.0 / (sum(resistance) * (2.0 * np.pi * corner) ** alpha)
    return (_log_uniform(rng, 0.5, 3), 0.0, _Arcs(*map(np.array, (resistance, tau, n))),
            lambda omega: _cpe(omega, q, alpha))


def _sulfide(rng: np.random.Generator) -> tuple[float, float, _Arcs, Callable]:
    bulk = _log_uniform(rng, 15, 400)
    resistance = [bulk, bulk * rng.uniform(0.2, 2.0)]
    tau = [_tau(_log_uniform(rng, 2e7, 3e8)), _tau(_log_uniform(rng, 1e5, 5e6))]
    n = [1.0, rng.uniform(0.8, 0.95)]
    alpha = rng.uniform(0.75, 0.95)
    corner = 1.0 / (2.0 * np.pi * tau[1]) / _log_uniform(rng, 30, 1000)
    q = 1.0 / (sum(resistance) * (2.0 * np.pi * corner) ** alpha)
    return (_log_uniform(rng, 0.5, 3), 0.0, _Arcs(*map(np.array, (resistance, tau, n))),
            lambda omega: _cpe(omega, q, alpha))


def _cell(rng: np.random.Generator) -> tuple[float, float, _Arcs, Callable]:
    resistance, tau, n = _electrolyte_arcs(rng)
    resistance.append(sum(resistance) * _log_uniform(rng, 0.5, 20))
    tau.append(_tau(_log_uniform(rng, 1, 5e3)))
    n.append(rng.uniform(0.7, 0.95))
    sigma = resistance[-1] * _log_uniform(rng, 0.2, 3) * np.sqrt(2 * np.pi * 0.1) / np.sqrt(2)
    warburg = rng.random() < 0.5
    return (_log_uniform(rng, 0.5, 3), 0.0, _Arcs(*map(np.array, (resistance, tau, n))),
            lambda omega: sigma * (1 - 1j) / np.sqrt(omega) if warburg else 0.0 * omega)


def _battery(rng: np.random.Generator) -> tuple[float, float, _Arcs, Callable]:
    r0 = _log_uniform(rng, 5e-3, 5e-2)
    inductance = r0 * _log_uniform(rng, 0.5, 20) / (2 * np.pi * 1e6)
    count = int(rng.integers(1, 4))
    total = _log_uniform(rng, 5e-3, 0.1)
    share = rng.dirichlet(np.ones(count))
    apex = np.sort(10.0 ** rng.uniform(0, 4, count))[::-1]
    arcs = _Arcs(total * share, 1.0 / (2 * np.pi * apex), rng.uniform(0.6, 0.95, count))
    r_w, tau_w = _log_uniform(rng, 2e-3, 5e-2), _log_uniform(rng, 1, 100)

    def finite_warburg(omega: np.ndarray) -> np.ndarray:
        root = np.sqrt(1j * omega * tau_w)
        return r_w * np.tanh(root) / root

    return r0, inductance, arcs, finite_warburg


_BUILDERS = {"pellet": _pellet, "sulfide": _sulfide, "cell": _cell, "battery": _battery}


def kk_spectrum(rng: np.random.Generator, fault: Fault, family: str | None = None,
                noise: tuple[float, float] = (0.001, 0.005)) -> KkSpectrum:
    """One spectrum of the given class (module doc), drawn with ``rng``; the noise level
    uniform in ``noise`` (relative to |Z|)."""
    if fault not in FAULTS:
        raise ValueError(f"fault must be one of {FAULTS}, not {fault!r}")
    family = family or str(rng.choice(FAMILIES))
    r0, inductance, arcs, rest = _BUILDERS[family](rng)
    top = 1e6 if family == "battery" or rng.random() < 0.5 else 7e6
    frequency = np.logspace(np.log10(top), -1, int(round(10 * np.log10(top / 0.1))) + 1)
    omega = 2.0 * np.pi * frequency
    points = len(frequency)
    scale = np.ones(points)
    if fault == "drift":
        scale = 1.0 + rng.choice([-0.5, 0.5]) * np.arange(points) / (points - 1)
    z = r0 + 1j * omega * inductance + arcs.impedance(omega, scale) + rest(omega)
    level = rng.uniform(*noise)
    z = z + level * np.abs(z) * (rng.standard_normal(points) + 1j * rng.standard_normal(points))
    if fault == "corrupt_tail":
        count = int(rng.integers(3, 7))
        size = rng.uniform(0.1, 0.3, count) * np.abs(z[-count:])
        z[-count:] += size * np.exp(2j * np.pi * rng.random(count))
    return KkSpectrum(frequency, z, family, fault, float(level))


def kk_spectra(count: int, fault: Fault, seed: int = 0,
               noise: tuple[float, float] = (0.001, 0.005)) -> list[KkSpectrum]:
    """``count`` spectra of one class; the same arguments give the same spectra.

    The families take turns (``pellet``, ``sulfide``, ``cell``, ``battery``, ...) so
    every family holds a quarter of the set.
    """
    rng = np.random.default_rng([seed, FAULTS.index(fault)])
    return [kk_spectrum(rng, fault, FAMILIES[index % len(FAMILIES)], noise)
            for index in range(count)]
