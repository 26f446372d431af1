"""Circuit elements: one small function per element, registered with its parameters.

Each element is a function ``element(values, grid) -> (z, derivatives)`` where
``values`` are its parameter values, ``grid`` the :class:`FrequencyGrid` and
``derivatives`` one complex array ``dZ/dp`` per parameter (or ``None`` when
the element leaves them to a finite-difference fallback). The :func:`element`
decorator records the symbol, parameter names, units, bounds and what the
element means, so adding an element touches one place.

The definitions follow impedance.py's ``elements.py`` (same symbols, same
parameter order, same formulas) so circuit strings and fitted values carry
over; the analytic derivatives are labkit's, for fast and robust fitting.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from labkit.errors import FitError

Derivatives = Sequence[np.ndarray] | None
ElementFunction = Callable[[Sequence[float], "FrequencyGrid"], tuple[np.ndarray, Derivatives]]

INF = float("inf")


class FrequencyGrid:
    """Angular frequencies of a spectrum and the quantities elements reuse.

    Parameters
    ----------
    frequency_hertz
        Frequencies of the spectrum, Hz.
    """

    def __init__(self, frequency_hertz: np.ndarray) -> None:
        self.frequency_hertz = np.asarray(frequency_hertz, dtype=float)
        self.omega = 2.0 * np.pi * self.frequency_hertz
        self.j_omega = 1j * self.omega

    @cached_property
    def log_omega(self) -> np.ndarray:
        """``ln ω``."""
        return np.log(self.omega)

    @cached_property
    def log_j_omega(self) -> np.ndarray:
        """``ln(jω)`` (the derivative of ``(jω)^α`` with respect to α, divided by it)."""
        return self.log_omega + 0.5j * np.pi

    @cached_property
    def ones(self) -> np.ndarray:
        """A complex array of ones, the derivative of a constant impedance."""
        return np.ones(self.omega.shape, dtype=complex)

    def __len__(self) -> int:
        return self.omega.size


@dataclass(frozen=True)
class Element:
    """A registered circuit element.

    Attributes
    ----------
    symbol
        Letters of the element in a circuit string (``"CPE"``).
    parameters
        Names of its parameters in order (``("Q", "alpha")``).
    units
        Unit of each parameter.
    bounds
        ``(lower, upper)`` of each parameter; a parameter whose lower bound is 0
        and upper bound infinite is strictly positive and fitted in log space.
    description
        What the element is.
    function
        ``function(values, grid) -> (z, derivatives)``.
    """

    symbol: str
    parameters: tuple[str, ...]
    units: tuple[str, ...]
    bounds: tuple[tuple[float, float], ...]
    description: str
    function: ElementFunction

    def impedance(self, values: Sequence[float], frequency_hertz: np.ndarray) -> np.ndarray:
        """The element's impedance at the given frequencies."""
        return self.function(values, FrequencyGrid(frequency_hertz))[0]


ELEMENTS: dict[str, Element] = {}


def element(
    symbol: str,
    parameters: Sequence[str],
    units: Sequence[str],
    bounds: Sequence[tuple[float, float]],
    description: str,
) -> Callable[[ElementFunction], ElementFunction]:
    """Register an element function under ``symbol``.

    Raises
    ------
    FitError
        When the symbol is taken, is ``p`` (the parallel operator) or the
        metadata lengths disagree.
    """
    if not (len(parameters) == len(units) == len(bounds)):
        raise FitError(f"element {symbol}: parameters, units and bounds differ in length")
    if symbol in ELEMENTS or symbol == "p" or not symbol.isalpha():
        raise FitError(f"element symbol {symbol!r} is taken or not letters only")

    def decorator(function: ElementFunction) -> ElementFunction:
        ELEMENTS[symbol] = Element(symbol, tuple(parameters), tuple(units), tuple(bounds),
                                   description, function)
        return function

    return decorator


@element("R", ["R"], ["ohm"], [(0.0, INF)], "resistor")
def resistor(values: Sequence[float], grid: FrequencyGrid) -> tuple[np.ndarray, Derivatives]:
    """``Z = R``."""
    return values[0] * grid.ones, (grid.ones,)


@element("C", ["C"], ["F"], [(0.0, INF)], "ideal capacitor")
def capacitor(values: Sequence[float], grid: FrequencyGrid) -> tuple[np.ndarray, Derivatives]:
    """``Z = 1 / (jωC)``."""
    z = 1.0 / (values[0] * grid.j_omega)
    return z, (-z / values[0],)


@element("L", ["L"], ["H"], [(0.0, INF)], "ideal inductor")
def inductor(values: Sequence[float], grid: FrequencyGrid) -> tuple[np.ndarray, Derivatives]:
    """``Z = jωL``."""
    return values[0] * grid.j_omega, (grid.j_omega,)


@element("CPE", ["Q", "alpha"], ["F s^(alpha-1)", ""], [(0.0, INF), (0.0, 1.0)],
         "constant phase element")
def constant_phase(values: Sequence[float], grid: FrequencyGrid) -> tuple[np.ndarray, Derivatives]:
    """``Z = 1 / (Q (jω)^α)``."""
    q, alpha = values
    # (jω)^-α = ω^-α e^(-jπα/2): a real power and one phase per spectrum (a complex
    # exponential of every point costs three times as much in the fits' inner loop).
    z = np.exp(-alpha * grid.log_omega) * (np.exp(-0.5j * np.pi * alpha) / q)
    return z, (-z / q, -z * grid.log_j_omega)


@element("La", ["L", "alpha"], ["H s^(alpha-1)", ""], [(0.0, INF), (0.0, 1.0)],
         "modified inductance (BioLogic application note 42)")
def modified_inductor(values: Sequence[float], grid: FrequencyGrid) -> tuple[np.ndarray, Derivatives]:
    """``Z = (jωL)^α``, as impedance.py defines it."""
    inductance, alpha = values
    log_base = np.log(inductance) + grid.log_j_omega
    z = np.exp(alpha * log_base)
    return z, (alpha * z / inductance, z * log_base)


@element("W", ["A"], ["ohm s^-1/2"], [(0.0, INF)], "semi-infinite Warburg diffusion")
def warburg(values: Sequence[float], grid: FrequencyGrid) -> tuple[np.ndarray, Derivatives]:
    """``Z = A (1 - j) / sqrt(ω)``."""
    unit = (1.0 - 1.0j) / np.sqrt(grid.omega)
    return values[0] * unit, (unit,)


def _diffusion_root(tau: float, grid: FrequencyGrid) -> np.ndarray:
    return np.sqrt(grid.j_omega * tau)


@element("Wo", ["Z0", "tau"], ["ohm", "s"], [(0.0, INF), (0.0, INF)],
         "finite-space (open, reflective boundary) Warburg diffusion")
def warburg_open(values: Sequence[float], grid: FrequencyGrid) -> tuple[np.ndarray, Derivatives]:
    """``Z = Z0 coth(s) / s`` with ``s = sqrt(jωτ)``.

    Zahner's finite diffusion FI, ``W coth(sqrt(jω/k)) / sqrt(jω)``, is this element with
    ``Z0 = W / sqrt(k)`` and ``τ = 1 / k``.
    """
    z0, tau = values
    s = _diffusion_root(tau, grid)
    coth = 1.0 / np.tanh(s)
    shape = coth / s
    # d(coth s / s)/ds = -(csch² s)/s - coth s / s², ds/dτ = s / (2τ)
    d_shape = (-(coth * coth - 1.0) / s - coth / (s * s)) * s / (2.0 * tau)
    return z0 * shape, (shape, z0 * d_shape)


@element("Ws", ["Z0", "tau"], ["ohm", "s"], [(0.0, INF), (0.0, INF)],
         "finite-length (short, transmissive boundary) Warburg diffusion")
def warburg_short(values: Sequence[float], grid: FrequencyGrid) -> tuple[np.ndarray, Derivatives]:
    """``Z = Z0 tanh(s) / s`` with ``s = sqrt(jωτ)``."""
    z0, tau = values
    s = _diffusion_root(tau, grid)
    tanh = np.tanh(s)
    shape = tanh / s
    d_shape = ((1.0 - tanh * tanh) / s - tanh / (s * s)) * s / (2.0 * tau)
    return z0 * shape, (shape, z0 * d_shape)


@element("G", ["R", "tau"], ["ohm", "s"], [(0.0, INF), (0.0, INF)],
         "Gerischer element (reaction coupled to diffusion)")
def gerischer(values: Sequence[float], grid: FrequencyGrid) -> tuple[np.ndarray, Derivatives]:
    """``Z = R / sqrt(1 + jωτ)``."""
    r, tau = values
    base = 1.0 + grid.j_omega * tau
    z = r / np.sqrt(base)
    return z, (z / r, -0.5 * z * grid.j_omega / base)


@element("Gs", ["R", "tau", "phi"], ["ohm", "s", ""], [(0.0, INF), (0.0, INF), (0.0, INF)],
         "finite-length Gerischer element")
def gerischer_finite(values: Sequence[float], grid: FrequencyGrid) -> tuple[np.ndarray, Derivatives]:
    """``Z = R / (sqrt(1 + jωτ) tanh(φ sqrt(1 + jωτ)))``."""
    r, tau, phi = values
    root = np.sqrt(1.0 + grid.j_omega * tau)
    return r / (root * np.tanh(phi * root)), None


@element("Zarc", ["R", "tau", "alpha"], ["ohm", "s", ""], [(0.0, INF), (0.0, INF), (0.0, 1.0)],
         "R parallel to a CPE written with its time constant (Cole-Cole)")
def zarc(values: Sequence[float], grid: FrequencyGrid) -> tuple[np.ndarray, Derivatives]:
    """``Z = R / (1 + (jωτ)^α)``."""
    r, tau, alpha = values
    power = np.exp(alpha * (grid.log_j_omega + np.log(tau)))
    denominator = 1.0 + power
    z = r / denominator
    d_power = -z / denominator
    return z, (z / r, d_power * power * alpha / tau,
               d_power * power * (grid.log_j_omega + np.log(tau)))


@element("TLMQ", ["Rion", "Q", "alpha"], ["ohm", "F s^(alpha-1)", ""],
         [(0.0, INF), (0.0, INF), (0.0, 1.0)],
         "transmission line of a porous electrode: ionic resistance and CPE surface (Landesfeind 2016)")
def transmission_line(values: Sequence[float], grid: FrequencyGrid) -> tuple[np.ndarray, Derivatives]:
    """``Z = sqrt(Rion Zs) coth(sqrt(Rion / Zs))`` with ``Zs = 1 / (Q (jω)^α)``."""
    r_ion, q, alpha = values
    surface = 1.0 / (q * np.exp(alpha * grid.log_j_omega))
    return np.sqrt(r_ion * surface) / np.tanh(np.sqrt(r_ion / surface)), None


def numeric_derivatives(
    function: ElementFunction, values: Sequence[float], grid: FrequencyGrid, z: np.ndarray
) -> list[np.ndarray]:
    """Forward-difference ``dZ/dp`` for elements that do not give them analytically."""
    derivatives = []
    for index, value in enumerate(values):
        step = 1e-7 * np.maximum(np.abs(value), 1e-30)
        shifted = list(values)
        shifted[index] = value + step
        derivatives.append((function(shifted, grid)[0] - z) / step)
    return derivatives
