"""From electrolyte properties to the current density, and C-rate, a cell can be charged at.

Given the ionic conductivity σ, the Li⁺ transference number t⁺, the separator
(electrolyte layer) thickness L and, when known, the salt diffusion
coefficient D and concentration c₀, :func:`electrolyte_limits` computes:

Concentration (diffusion) limit, binary 1:1 salt, steady state, planar cell::

    i_lim = 2 F D c₀ / ((1 − t⁺) L)

the current at which the salt concentration at the plating electrode reaches
zero under a linear steady-state profile (Newman & Thomas-Alyea,
*Electrochemical Systems*, 3rd ed., §11 and §12; Monroe & Newman 2003). The
same expression holds in concentrated-solution theory with constant
properties when D is the measured (Fickian) salt diffusivity and t⁺ the
transference number relative to the solvent; a Bruce–Vincent t⁺ equals that
only for ideal dilute solutions, so with such a t⁺ the result is the
dilute-solution estimate. As t⁺ → 1 (single-ion conductor) no concentration
gradient forms and there is no concentration limit (``inf``).

Ohmic limit at a stated overpotential η (the only limit of a single-ion
conductor)::

    i_ohm = σ η / L

the current density at which the ohmic drop across the electrolyte layer
alone equals η.

Sand's time at current density i (semi-infinite diffusion, binary salt;
Sand 1901, Bai et al. 2016)::

    t_Sand = π D (c₀ F)² / (4 (i (1 − t⁺))²)

Electrolyte-limited current density = the smaller of the two limits; the
highest C-rate the electrolyte supports = that current density over the
cathode's areal capacity (mA cm⁻² / mAh cm⁻² = h⁻¹).

Assumptions stated in every result: one-dimensional planar transport, a
binary 1:1 salt with constant D, σ and t⁺, isothermal, no convection, the
electrode kinetics and the electrodes' own transport ignored (the electrolyte
layer alone is the bottleneck).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from labkit.analysis._base import plain

FARADAY = 96485.33212  # C/mol

ASSUMPTIONS = (
    "one-dimensional planar transport through the electrolyte layer only",
    "binary 1:1 salt; constant conductivity, diffusivity and transference number",
    "isothermal, no convection; electrode kinetics and electrode transport ignored",
    "concentration limit at steady state (linear concentration profile)",
)
FORMULAS = {
    "limiting_current": "i_lim = 2 F D c0 / ((1 - t+) L)",
    "ohmic_limit": "i_ohm = sigma eta / L",
    "sand_time": "t_Sand = pi D (c0 F)^2 / (4 (i (1 - t+))^2)",
    "max_c_rate": "C_max = min(i_lim, i_ohm) / areal capacity",
}


@dataclass(frozen=True)
class ElectrolyteLimits:
    """Electrolyte-limited current densities and C-rate.

    Attributes
    ----------
    limiting_current_milliampere_per_square_centimeter
        Concentration limit (``inf`` when t⁺ = 1, ``None`` without D and c₀).
    ohmic_limit_milliampere_per_square_centimeter
        σ η / L.
    electrolyte_limited_current_milliampere_per_square_centimeter
        The smaller of the two.
    limiting_mechanism
        ``"concentration"`` or ``"ohmic"``.
    limiting_current_note
        Why there is no finite concentration limit, when there is none (JSON writes
        ``inf`` as ``null``).
    sand_time_second
        At ``current_density_milliampere_per_square_centimeter`` when given.
    max_c_rate_per_hour
        Highest C-rate supported (``None`` without an areal capacity).
    inputs
        Everything used, in the units of its name.
    formulas, assumptions
        As stated in the module docstring.
    """

    limiting_current_milliampere_per_square_centimeter: float | None
    ohmic_limit_milliampere_per_square_centimeter: float
    electrolyte_limited_current_milliampere_per_square_centimeter: float
    limiting_mechanism: str
    sand_time_second: float | None
    max_c_rate_per_hour: float | None
    inputs: dict[str, float | None]
    limiting_current_note: str = ""
    formulas: dict[str, str] = field(default_factory=lambda: dict(FORMULAS))
    assumptions: tuple[str, ...] = ASSUMPTIONS

    def to_frame(self) -> pd.DataFrame:
        """One row per computed quantity: name, value, and the formula it came from."""
        rows = [
            ("limiting_current_milliampere_per_square_centimeter",
             self.limiting_current_milliampere_per_square_centimeter, FORMULAS["limiting_current"]),
            ("ohmic_limit_milliampere_per_square_centimeter",
             self.ohmic_limit_milliampere_per_square_centimeter, FORMULAS["ohmic_limit"]),
            ("electrolyte_limited_current_milliampere_per_square_centimeter",
             self.electrolyte_limited_current_milliampere_per_square_centimeter,
             "min(i_lim, i_ohm)"),
            ("sand_time_second", self.sand_time_second, FORMULAS["sand_time"]),
            ("max_c_rate_per_hour", self.max_c_rate_per_hour, FORMULAS["max_c_rate"]),
        ]
        return pd.DataFrame(rows, columns=["quantity", "value", "formula"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly result (``inf`` written as ``None`` by JSON output)."""
        return plain({
            "limiting_current_milliampere_per_square_centimeter":
                self.limiting_current_milliampere_per_square_centimeter,
            "ohmic_limit_milliampere_per_square_centimeter":
                self.ohmic_limit_milliampere_per_square_centimeter,
            "electrolyte_limited_current_milliampere_per_square_centimeter":
                self.electrolyte_limited_current_milliampere_per_square_centimeter,
            "limiting_mechanism": self.limiting_mechanism,
            "limiting_current_note": self.limiting_current_note,
            "sand_time_second": self.sand_time_second,
            "max_c_rate_per_hour": self.max_c_rate_per_hour,
            "inputs": self.inputs,
            "formulas": self.formulas,
            "assumptions": list(self.assumptions),
        })


def limiting_current_density(diffusivity_square_centimeter_per_second: float,
                             concentration_mole_per_liter: float, transference_number: float,
                             thickness_centimeter: float) -> float:
    """Steady-state concentration-limited current density in mA/cm² (``inf`` when t⁺ ≥ 1)."""
    if transference_number >= 1.0:
        return math.inf
    concentration = concentration_mole_per_liter * 1e-3  # mol/cm³
    amperes = (2 * FARADAY * diffusivity_square_centimeter_per_second * concentration
               / ((1 - transference_number) * thickness_centimeter))
    return 1000.0 * amperes


def ohmic_limit_current_density(conductivity_siemens_per_centimeter: float,
                                overpotential_volt: float, thickness_centimeter: float) -> float:
    """Current density (mA/cm²) whose ohmic drop across the layer equals the overpotential."""
    return 1000.0 * conductivity_siemens_per_centimeter * overpotential_volt / thickness_centimeter


def sand_time(diffusivity_square_centimeter_per_second: float, concentration_mole_per_liter: float,
              transference_number: float, current_density_milliampere_per_square_centimeter: float
              ) -> float:
    """Sand's time in seconds (``inf`` when t⁺ ≥ 1: the salt never depletes)."""
    if transference_number >= 1.0:
        return math.inf
    concentration = concentration_mole_per_liter * 1e-3
    current = current_density_milliampere_per_square_centimeter * 1e-3
    return (math.pi * diffusivity_square_centimeter_per_second * (concentration * FARADAY) ** 2
            / (4 * (current * (1 - transference_number)) ** 2))


def electrolyte_limits(
    *,
    conductivity_siemens_per_centimeter: float,
    transference_number: float,
    thickness_centimeter: float,
    overpotential_volt: float = 0.1,
    diffusivity_square_centimeter_per_second: float | None = None,
    concentration_mole_per_liter: float | None = None,
    areal_capacity_milliampere_hour_per_square_centimeter: float | None = None,
    current_density_milliampere_per_square_centimeter: float | None = None,
) -> ElectrolyteLimits:
    """Electrolyte-limited current density, Sand's time and the highest C-rate.

    Parameters
    ----------
    conductivity_siemens_per_centimeter
        Ionic conductivity σ.
    transference_number
        Li⁺ transference number t⁺ (1 for a single-ion conductor).
    thickness_centimeter
        Electrolyte / separator thickness L.
    overpotential_volt
        Ohmic overpotential allowed across the layer (default 0.1 V).
    diffusivity_square_centimeter_per_second, concentration_mole_per_liter
        Salt diffusivity D and concentration c₀; without them only the ohmic limit is computed.
    areal_capacity_milliampere_hour_per_square_centimeter
        Cathode areal capacity, for the highest C-rate.
    current_density_milliampere_per_square_centimeter
        Current density at which Sand's time is computed.

    Raises
    ------
    ValueError
        On non-physical inputs (non-positive σ, L, D, c₀; t⁺ outside [0, 1]).
    """
    for name, value in (("conductivity", conductivity_siemens_per_centimeter),
                        ("thickness", thickness_centimeter),
                        ("overpotential", overpotential_volt)):
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value}")
    if not 0.0 <= transference_number <= 1.0:
        raise ValueError(f"transference number must be within [0, 1], got {transference_number}")
    known_salt = (diffusivity_square_centimeter_per_second is not None
                  and concentration_mole_per_liter is not None)
    limiting = None
    if known_salt:
        if not (diffusivity_square_centimeter_per_second > 0 and concentration_mole_per_liter > 0):
            raise ValueError("diffusivity and concentration must be positive")
        limiting = limiting_current_density(diffusivity_square_centimeter_per_second,
                                            concentration_mole_per_liter, transference_number,
                                            thickness_centimeter)
    ohmic = ohmic_limit_current_density(conductivity_siemens_per_centimeter, overpotential_volt,
                                        thickness_centimeter)
    limit, mechanism = ohmic, "ohmic"
    if limiting is not None and limiting < ohmic:
        limit, mechanism = limiting, "concentration"
    sand = None
    if known_salt and current_density_milliampere_per_square_centimeter is not None:
        sand = sand_time(diffusivity_square_centimeter_per_second, concentration_mole_per_liter,
                         transference_number, current_density_milliampere_per_square_centimeter)
    max_rate = None
    if areal_capacity_milliampere_hour_per_square_centimeter is not None:
        max_rate = limit / areal_capacity_milliampere_hour_per_square_centimeter
    inputs = {
        "conductivity_siemens_per_centimeter": conductivity_siemens_per_centimeter,
        "transference_number": transference_number,
        "thickness_centimeter": thickness_centimeter,
        "overpotential_volt": overpotential_volt,
        "diffusivity_square_centimeter_per_second": diffusivity_square_centimeter_per_second,
        "concentration_mole_per_liter": concentration_mole_per_liter,
        "areal_capacity_milliampere_hour_per_square_centimeter":
            areal_capacity_milliampere_hour_per_square_centimeter,
        "current_density_milliampere_per_square_centimeter":
            current_density_milliampere_per_square_centimeter,
    }
    note = ""
    if limiting is None:
        note = "salt diffusivity and concentration not given: concentration limit not computed"
    elif math.isinf(limiting):
        note = "t+ = 1: no concentration gradient forms, so there is no concentration limit"
    return ElectrolyteLimits(limiting, ohmic, limit, mechanism, sand, max_rate, inputs, note)
