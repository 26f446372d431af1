"""From a fitted circuit to what a solid-electrolyte paper reports: which arc is what, σ, ASR.

For every ``R‖CPE`` (or ``R‖C``, Zarc) arc of a fit, :func:`interpret`

* computes its effective capacitance, Hsu-Mansfeld ``C = Q^(1/α) R^((1-α)/α)``
  (the default, for a parallel R-CPE) or Brug ``C = Q^(1/α) (1/Rs + 1/R)^((α-1)/α)``
  (``Rs`` the series resistance), with its standard error propagated from the
  fit's covariance;
* normalises it by the cell constant (``C·L/A``, F/cm; with no geometry a cell
  constant of 1 cm⁻¹ is assumed and said) and assigns the arc by the
  Irvine-Sinclair-West ranges (Adv. Mater. 2 (1990) 132, Table 1: bulk ~1e-12,
  grain boundary 1e-11-1e-8, surface layer 1e-9-1e-7, electrode interface
  1e-7-1e-5, electrochemical reaction ~1e-4 F for 1 cm⁻¹), keeping the
  numbers and the range as evidence and flagging values within a factor 2 of a
  range boundary as ambiguous;
* gives σ = L/(R·A) for the bulk, grain-boundary and total resistance, with
  the standard error from the fit (including the bulk/grain-boundary
  covariance for the total) and from the stated geometry tolerance;
* gives the area-specific resistance of interface arcs of a symmetric cell,
  both as measured (two interfaces, R·A) and per interface (R·A/2).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from labkit.eis.circuit import Circuit, Leaf, Parallel, Series
from labkit.eis.fit import FitResult
from labkit.eis.guess import arc_slots
from labkit.errors import AnalysisError, MetadataError
from labkit.uncertainty import Estimate

#: Upper limits (F/cm, capacitance × cell constant) of the Irvine-Sinclair-West classes.
CAPACITANCE_CLASSES: tuple[tuple[str, float, str], ...] = (
    ("bulk", 1e-11, "bulk ~1e-12 F/cm (ISW: 1e-12)"),
    ("grain_boundary", 1e-8, "grain boundary 1e-11-1e-8 F/cm (ISW)"),
    ("surface_layer", 1e-7, "surface layer / interphase 1e-9-1e-7 F/cm (ISW)"),
    ("interface", 1e-4, "sample-electrode interface 1e-7-1e-5 F/cm (ISW)"),
    ("electrochemical_reaction", math.inf, "electrochemical reaction ~1e-4 F/cm (ISW)"),
)


@dataclass(frozen=True)
class ArcInterpretation:
    """One arc: its resistance, effective capacitance, assignment and the evidence."""

    resistor: str
    capacitive_element: str
    resistance_ohm: Estimate
    capacitance_farad: Estimate
    capacitance_method: str
    normalised_capacitance_farad_per_centimeter: float
    role: str
    ambiguous: bool
    evidence: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "resistor": self.resistor, "capacitive_element": self.capacitive_element,
            "resistance_ohm": self.resistance_ohm.to_dict(),
            "capacitance_farad": self.capacitance_farad.to_dict(),
            "capacitance_method": self.capacitance_method,
            "normalised_capacitance_farad_per_centimeter":
                self.normalised_capacitance_farad_per_centimeter,
            "role": self.role, "ambiguous": self.ambiguous, "evidence": self.evidence,
        }


@dataclass(frozen=True)
class Interpretation:
    """Arc assignments, conductivities and area-specific resistances of one fit."""

    circuit: str
    arcs: tuple[ArcInterpretation, ...]
    conductivity_siemens_per_centimeter: dict[str, Estimate]
    area_specific_resistance_ohm_square_centimeter: dict[str, Estimate]
    geometry: dict[str, float | None]
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "circuit": self.circuit,
            "arcs": [a.to_dict() for a in self.arcs],
            "conductivity_siemens_per_centimeter":
                {k: q.to_dict() for k, q in self.conductivity_siemens_per_centimeter.items()},
            "area_specific_resistance_ohm_square_centimeter":
                {k: q.to_dict() for k, q in
                 self.area_specific_resistance_ohm_square_centimeter.items()},
            "geometry": self.geometry,
            "notes": list(self.notes),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per arc."""
        rows = [{"resistor": a.resistor, "role": a.role, "resistance_ohm": a.resistance_ohm.value,
                 "resistance_stderr_ohm": a.resistance_ohm.stderr,
                 "capacitance_farad": a.capacitance_farad.value,
                 "capacitance_stderr_farad": a.capacitance_farad.stderr,
                 "normalised_capacitance_farad_per_centimeter":
                     a.normalised_capacitance_farad_per_centimeter,
                 "ambiguous": a.ambiguous, "evidence": a.evidence} for a in self.arcs]
        return pd.DataFrame(rows)


def effective_capacitance(q: float, alpha: float, resistance: float, *,
                          series_resistance: float = 0.0, method: str = "hsu-mansfeld") -> float:
    """Effective capacitance of a CPE in an arc.

    Parameters
    ----------
    q, alpha
        CPE parameters (``Z = 1/(Q (jω)^α)``).
    resistance
        Resistance in parallel with the CPE.
    series_resistance
        Resistance in series with the arc (Brug only).
    method
        ``"hsu-mansfeld"`` (C = Q^(1/α) R^((1-α)/α)) or ``"brug"``.
    """
    if method == "hsu-mansfeld":
        return q ** (1 / alpha) * resistance ** ((1 - alpha) / alpha)
    if method == "brug":
        if series_resistance <= 0:
            raise AnalysisError("Brug's effective capacitance needs a positive series resistance")
        return q ** (1 / alpha) * (1 / series_resistance + 1 / resistance) ** ((alpha - 1) / alpha)
    raise AnalysisError(f"capacitance method must be 'hsu-mansfeld' or 'brug', got {method!r}")


def _propagate(function: Callable[[np.ndarray], float], names: Sequence[str],
               result: FitResult) -> Estimate:
    """Value and standard error of ``function(values of names)`` by the delta method."""
    values = np.array([result.value(n) for n in names])
    value = float(function(values))
    covariance = result.covariance()
    varied = [n for n in names if n in covariance.index]
    if not varied:
        return Estimate(value, 0.0)
    gradient = []
    for name in varied:
        i = list(names).index(name)
        step = 1e-6 * abs(values[i]) or 1e-12
        shifted = values.copy()
        shifted[i] += step
        gradient.append((function(shifted) - value) / step)
    gradient = np.array(gradient)
    block = covariance.loc[varied, varied].to_numpy()
    variance = float(gradient @ block @ gradient)
    return Estimate(value, math.sqrt(variance) if variance >= 0 else math.nan)


def _arc_parts(circuit: Circuit) -> list[tuple[str, str, Callable, list[str]]]:
    """(resistor, capacitive element, C(values, Rs), parameter names) of each simple arc."""
    parts = []
    for node in arc_slots(circuit):
        if isinstance(node, Leaf):  # Zarc: Q = τ^α / R
            r, tau, alpha = node.parameter_names
            parts.append((node.label, node.label, lambda v: (v[1] ** v[2] / v[0], v[2], v[0]),
                          [r, tau, alpha]))
            continue
        if not isinstance(node, Parallel) or len(node.children) != 2:
            continue
        leaves = {c.element.symbol: c for c in node.children if isinstance(c, Leaf)}
        if "R" not in leaves or len(leaves) != 2:
            continue
        r = leaves["R"].label
        if "C" in leaves:
            c = leaves["C"].label
            parts.append((r, c, lambda v: (v[1], 1.0, v[0]), [r, c]))
        elif "CPE" in leaves:
            q, alpha = leaves["CPE"].parameter_names
            parts.append((r, leaves["CPE"].label, lambda v: (v[1], v[2], v[0]), [r, q, alpha]))
    return parts


def _classify(normalised: float) -> tuple[str, bool, str]:
    lower = 0.0
    for role, upper, text in CAPACITANCE_CLASSES:
        if normalised < upper:
            ambiguous = (lower > 0 and normalised < 2 * lower) or normalised > upper / 2
            return role, bool(ambiguous and math.isfinite(upper)), text
        lower = upper
    raise AssertionError("unreachable: the last class is unbounded")


def interpret(
    result: FitResult,
    *,
    area_square_centimeter: float | None = None,
    thickness_centimeter: float | None = None,
    area_tolerance_square_centimeter: float = 0.0,
    thickness_tolerance_centimeter: float = 0.0,
    capacitance_method: str = "hsu-mansfeld",
    symmetric_cell: bool = False,
) -> Interpretation:
    """Assign the arcs of a fit and derive conductivities and area-specific resistances.

    Parameters
    ----------
    result
        A circuit fit whose arcs are ``p(R,CPE)``, ``p(R,C)`` or Zarc elements.
    area_square_centimeter, thickness_centimeter
        Electrode area and electrolyte thickness; σ needs both, ASR needs the area.
    area_tolerance_square_centimeter, thickness_tolerance_centimeter
        Stated standard uncertainty of the geometry, propagated into σ and ASR.
    capacitance_method
        ``"hsu-mansfeld"`` or ``"brug"`` (series resistance = the circuit's top-level resistors).
    symmetric_cell
        Report interface arcs as area-specific resistance of a symmetric cell.

    Raises
    ------
    AnalysisError
        When the circuit has no arc labkit can interpret.
    """
    circuit = Circuit(result.circuit)
    parts = _arc_parts(circuit)
    if not parts:
        raise AnalysisError(f"circuit {result.circuit!r} has no R||CPE, R||C or Zarc arc to "
                            "interpret")
    geometry_known = area_square_centimeter is not None and thickness_centimeter is not None
    cell_constant = thickness_centimeter / area_square_centimeter if geometry_known else 1.0
    top = circuit.root.children if isinstance(circuit.root, Series) else (circuit.root,)
    series = [leaf.label for leaf in top
              if isinstance(leaf, Leaf) and leaf.element.symbol == "R"]
    notes = []
    if not geometry_known:
        notes.append("no area/thickness given: capacitances normalised with an assumed cell "
                     "constant of 1 cm⁻¹")
    arcs = []
    for resistor, element, unpack, names in parts:
        all_names = names + series
        own = len(names)

        def capacitance(values, unpack=unpack, n=own):
            q, alpha, r = unpack(values[:n])
            rs = float(np.sum(values[n:])) if capacitance_method == "brug" else 0.0
            if alpha >= 1.0:
                return q
            return effective_capacitance(q, alpha, r, series_resistance=rs,
                                         method=capacitance_method)

        c = _propagate(capacitance, all_names, result)
        r = _propagate(lambda v: v[0], [names[0]], result)
        normalised = c.value * cell_constant
        role, ambiguous, text = _classify(normalised)
        evidence = (f"C_eff = {c.value:.3g} ± {c.stderr:.2g} F ({capacitance_method}), "
                    f"× cell constant {cell_constant:.4g} cm⁻¹ = {normalised:.3g} F/cm: {text}"
                    + (" — near a class boundary" if ambiguous else ""))
        arcs.append(ArcInterpretation(resistor, element, r, c, capacitance_method, normalised,
                                      role, ambiguous, evidence))
    for role in ("bulk", "grain_boundary"):
        same = [a.resistor for a in arcs if a.role == role]
        if len(same) > 1:
            notes.append(f"{len(same)} arcs ({', '.join(same)}) fall in the {role} capacitance "
                         "range; their resistances are summed for its conductivity")
    conductivity = {}
    asr = {}
    if geometry_known:
        conductivity = _conductivities(result, arcs, area_square_centimeter,
                                       thickness_centimeter, area_tolerance_square_centimeter,
                                       thickness_tolerance_centimeter)
    if symmetric_cell:
        if area_square_centimeter is None:
            raise MetadataError("area-specific resistance needs the electrode area "
                                "(area_square_centimeter)")
        asr = _area_specific(result, arcs, area_square_centimeter,
                             area_tolerance_square_centimeter)
    return Interpretation(
        result.circuit, tuple(arcs), conductivity, asr,
        {"area_square_centimeter": area_square_centimeter,
         "thickness_centimeter": thickness_centimeter,
         "area_tolerance_square_centimeter": area_tolerance_square_centimeter,
         "thickness_tolerance_centimeter": thickness_tolerance_centimeter},
        tuple(notes))


def _resistance_sum(result: FitResult, names: list[str]) -> tuple[float, float]:
    value = sum(result.value(n) for n in names)
    covariance = result.covariance()
    varied = [n for n in names if n in covariance.index]
    variance = float(covariance.loc[varied, varied].to_numpy().sum()) if varied else 0.0
    return value, math.sqrt(max(variance, 0.0))


def _conductivities(result: FitResult, arcs: list[ArcInterpretation], area: float,
                    thickness: float, area_tol: float, thickness_tol: float
                    ) -> dict[str, Estimate]:
    groups: dict[str, list[str]] = {}
    for arc in arcs:
        if arc.role in ("bulk", "grain_boundary"):
            groups.setdefault(arc.role, []).append(arc.resistor)
    if groups:
        groups["total"] = [n for names in list(groups.values()) for n in names]
    out = {}
    for role, names in groups.items():
        r, r_err = _resistance_sum(result, names)
        sigma = thickness / (r * area)
        from_fit = sigma * r_err / r
        from_geometry = sigma * math.hypot(thickness_tol / thickness, area_tol / area)
        out[role] = Estimate(sigma, math.hypot(from_fit, from_geometry), inputs={
            "resistance_ohm": {"value": r, "stderr": r_err, "from": names},
            "stderr_from_fit": from_fit, "stderr_from_geometry": from_geometry,
            "formula": "L / (R A)"})
    return out


def _area_specific(result: FitResult, arcs: list[ArcInterpretation], area: float,
                   area_tol: float) -> dict[str, Estimate]:
    names = [a.resistor for a in arcs if a.role in ("interface", "surface_layer")]
    if not names:
        return {}
    r, r_err = _resistance_sum(result, names)
    total = r * area
    stderr = total * math.hypot(r_err / r, area_tol / area)
    inputs = {"resistance_ohm": {"value": r, "stderr": r_err, "from": names}}
    return {
        "total": Estimate(total, stderr, inputs={**inputs, "formula": "R A (both interfaces)"}),
        "per_interface": Estimate(total / 2, stderr / 2,
                                  inputs={**inputs, "formula": "R A / 2 (one interface of two)"}),
    }
