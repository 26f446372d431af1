"""Model-free real-axis intercepts of a spectrum: what a Nyquist plot shows without a fit.

A paper's σ_total is often read straight off the Nyquist plot: the real part where
the electrolyte arcs end and the electrode response (a blocking spike or an electrode
arc) begins. :func:`intercepts` reads both intercepts from the data:

* **high frequency**: where the spectrum crosses the real axis at its high-frequency
  end (an inductive lead turning capacitive), interpolated linearly in Z'' between
  the two points on either side; ``None`` when it does not cross (the highest
  point then lies on an arc, and its Z' is only an upper bound, reported as
  ``highest_frequency_real_ohm``);
* **low frequency**: below ``electrolyte_below_hertz`` (the slowest electrolyte arc's
  relaxation frequency, when a fit gives it), the first real-axis crossing, else the
  first local minimum of −Z'' (the lowest of five neighbouring points; the vertex of
  the parabola through it and its neighbours against log f, Z' interpolated there);
  ``None`` when −Z'' only falls.

They are independent of any circuit, so a fit whose resistances disagree with them
by more than a few per cent is worth a look (:mod:`labkit.eis.conductivity` flags it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Intercepts:
    """The real-axis intercepts read from the data, and how each was found."""

    high_frequency_ohm: float | None
    high_frequency_method: str
    low_frequency_ohm: float | None
    low_frequency_method: str
    low_frequency_hertz: float | None
    highest_frequency_real_ohm: float

    def to_dict(self) -> dict[str, Any]:
        """``{"high_frequency", "low_frequency", ...}`` in ohms, with the methods."""
        return {"high_frequency": self.high_frequency_ohm,
                "high_frequency_method": self.high_frequency_method,
                "low_frequency": self.low_frequency_ohm,
                "low_frequency_method": self.low_frequency_method,
                "low_frequency_hertz": self.low_frequency_hertz,
                "highest_frequency_real_ohm": self.highest_frequency_real_ohm}


def _crossing(real: np.ndarray, minus_imag: np.ndarray, i: int) -> float:
    """Z' where −Z'' passes zero between points i and i+1 (linear in −Z'')."""
    a, b = minus_imag[i], minus_imag[i + 1]
    share = a / (a - b) if a != b else 0.5
    return float(real[i] + share * (real[i + 1] - real[i]))


def _high_frequency(real: np.ndarray, minus_imag: np.ndarray) -> tuple[float | None, str]:
    if minus_imag[0] >= 0:
        return None, ("no real-axis crossing: the highest-frequency point lies on an arc "
                      f"(−Z'' = {minus_imag[0]:.4g} Ω)")
    capacitive = np.flatnonzero(minus_imag > 0)
    if capacitive.size == 0:
        return None, "the spectrum never turns capacitive"
    i = int(capacitive[0]) - 1
    return _crossing(real, minus_imag, i), "real-axis crossing of the inductive branch"


def _low_frequency(frequency: np.ndarray, real: np.ndarray, minus_imag: np.ndarray,
                   start: int) -> tuple[float | None, str, float | None]:
    for i in range(max(start, 1), len(real) - 1):
        if minus_imag[i] > 0 >= minus_imag[i + 1]:
            return (_crossing(real, minus_imag, i), "real-axis crossing below the electrolyte "
                    "arcs", float(np.sqrt(frequency[i] * frequency[i + 1])))
        # A minimum over two neighbours on each side, so that noise on a flat stretch
        # (an arc's apex) is not taken for the end of the arcs.
        if minus_imag[i] < minus_imag[i - 1] and \
                minus_imag[i] <= minus_imag[max(i - 2, 0):i + 3].min():
            x = np.log(frequency[i - 1:i + 2])[::-1]  # increasing
            curvature, slope, _ = np.polyfit(x, minus_imag[i - 1:i + 2][::-1], 2)
            vertex = float(np.clip(-slope / (2 * curvature), x[0], x[2])) \
                if curvature > 0 else float(x[1])
            value = float(np.interp(vertex, x, real[i - 1:i + 2][::-1]))
            return (value, "minimum of −Z'' between the electrolyte arcs and the electrode "
                    "response", float(np.exp(vertex)))
    return None, "−Z'' has no minimum and no real-axis crossing below the electrolyte arcs", \
        None


def intercepts(frequency_hertz: np.ndarray, impedance: np.ndarray, *,
               electrolyte_below_hertz: float | None = None) -> Intercepts:
    """Read the high- and low-frequency real-axis intercepts from a spectrum (module doc).

    Parameters
    ----------
    frequency_hertz, impedance
        The spectrum, in any order (capacitive arcs with negative imaginary part).
    electrolyte_below_hertz
        Look for the low-frequency intercept only below this frequency (the slowest
        electrolyte arc's relaxation frequency); the whole spectrum when ``None``.
    """
    order = np.argsort(-np.asarray(frequency_hertz, float))
    frequency = np.asarray(frequency_hertz, float)[order]
    z = np.asarray(impedance, complex)[order]
    real, minus_imag = z.real, -z.imag
    high, high_method = _high_frequency(real, minus_imag)
    start = 0 if electrolyte_below_hertz is None else \
        int(np.searchsorted(-frequency, -electrolyte_below_hertz))
    low, low_method, where = _low_frequency(frequency, real, minus_imag, start)
    return Intercepts(high, high_method, low, low_method, where, float(real[0]))
