"""From a fitted circuit to what a solid-electrolyte paper reports: which arc is what, σ, ASR.

:func:`interpret` takes a circuit fit and the pellet geometry and decides, with the
evidence for each decision:

**Arcs.** Every ``R‖CPE``, ``R‖C`` or Zarc arc, ordered by relaxation frequency
(fastest first), with its resistance, effective capacitance (Hsu-Mansfeld
``C = Q^(1/α) R^((1-α)/α)`` by default, or Brug), relaxation frequency
``1 / (2π R C)``, whether that frequency lies inside the measured range
(*resolved*), whether the data determine it (a standard error no larger than the
value) and the capacitance normalised by the cell constant (``C·L/A``, F/cm),
classed by Irvine, Sinclair and West (Adv. Mater. 2 (1990) 132): bulk < 1e-11,
grain boundary 1e-11-1e-8, surface layer 1e-8-1e-7, electrode interface 1e-7-1e-4,
electrochemical reaction above. Arcs of 1e-7 F/cm and more are the electrode
response; the others are the electrolyte's.

**Which resistance is the bulk.** A fast sulfide or halide at room temperature
relaxes its bulk arc at tens to hundreds of MHz, above any potentiostat: its bulk
resistance is then the high-frequency intercept, the top-level series resistance R0
of the fit. So:

1. If an electrolyte arc has bulk-class capacitance, the fastest such arc is the
   bulk. When its relaxation frequency lies above the measured range (only its
   flank is seen, and R0 and its R are not separable), the bulk is the
   high-frequency intercept R0 + R (``bulk_from: "high_frequency_intercept"``);
   otherwise it is the arc (``bulk_from: "arc R1"``) and R0 is leads and cell.
2. Otherwise, if R0 minus the lead resistance is clearly above zero (more than three
   standard errors and 1 % of the electrolyte's resistance), the bulk is that
   intercept and the fastest electrolyte arc is the grain boundary.
3. Otherwise the fastest electrolyte arc is the bulk, flagged ambiguous (its
   capacitance is not in the bulk range, but nothing faster is seen).

Further electrolyte arcs follow in brick-layer order: the next is the grain
boundary, later ones are surface layers. Two arcs of one capacitance class are
never summed silently: they are told apart by this order and flagged
``ambiguous``; so is a surface-layer arc whose capacitance is near the interface
class (it is counted in σ_total, and a note says how to give it to the electrode).
``assign={"R1": "bulk", "R2": "grain_boundary"}`` overrides the rules for the resistors
it names; the others keep their automatic roles, except that an automatic bulk or grain
boundary the user gave to another resistor is left unassigned (not counted). Resistors
given one role are summed, and the notes say so.

**Lead resistance.** ``lead_resistance_ohm`` (the cell and cables measured with the
electrodes shorted) is subtracted from a bulk taken from the intercept; the default
0 is stated in the notes.

**Conductivity.** σ = L / (R A) for the bulk, the grain boundary (the apparent,
macroscopic one) and the total, where R_total is the electrolyte's whole resistance
up to where the electrode response begins (bulk + grain boundary + surface layers).
Standard errors come from the fit's covariance (so a bulk taken as R0 + R1 is as
certain as their sum, however correlated they are) and from the stated geometry
tolerance.

**Cross-check.** The model-free intercepts of :mod:`labkit.eis.intercepts` are
reported; a fit whose resistance up to the electrode response (R0 included)
differs from the low-frequency intercept by more than 5 % is flagged.

**Symmetric cells.** Electrode-interface arcs are reported as area-specific
resistance, for both interfaces (R·A) and per interface (R·A/2).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from labkit.eis.circuit import Circuit, Leaf, Parallel, Series
from labkit.eis.fit import FitResult
from labkit.eis.guess import arc_slots
from labkit.eis.intercepts import Intercepts, intercepts
from labkit.errors import AnalysisError, MetadataError
from labkit.uncertainty import Estimate, finite_or_none

#: Upper limits (F/cm, capacitance × cell constant) of the Irvine-Sinclair-West classes.
CAPACITANCE_CLASSES: tuple[tuple[str, float, str], ...] = (
    ("bulk", 1e-11, "bulk ~1e-12 F/cm (ISW: 1e-12)"),
    ("grain_boundary", 1e-8, "grain boundary 1e-11-1e-8 F/cm (ISW)"),
    ("surface_layer", 1e-7, "surface layer / interphase 1e-9-1e-7 F/cm (ISW)"),
    ("interface", 1e-4, "sample-electrode interface 1e-7-1e-5 F/cm (ISW)"),
    ("electrochemical_reaction", math.inf, "electrochemical reaction ~1e-4 F/cm (ISW)"),
)
#: Normalised capacitance (F/cm) from which an arc is the electrode's response.
ELECTRODE_RESPONSE_FROM = 1e-7
#: Roles a resistor can be given (``assign``); ``series`` = leads and cell.
ROLES = ("bulk", "grain_boundary", "surface_layer", "interface", "electrochemical_reaction",
         "series")
ELECTROLYTE_ROLES = ("bulk", "grain_boundary", "surface_layer")
#: Relative disagreement between the fit and the data's low-frequency intercept that is
#: flagged.
INTERCEPT_TOLERANCE = 0.05
UNDETERMINED = "undetermined"


@dataclass(frozen=True)
class ArcInterpretation:
    """One arc: resistance, effective capacitance, relaxation, role and the evidence."""

    resistor: str
    capacitive_element: str
    resistance_ohm: Estimate
    capacitance_farad: Estimate
    capacitance_method: str
    normalised_capacitance_farad_per_centimeter: float
    relaxation_frequency_hertz: float
    resolved: bool
    determined: bool
    capacitance_class: str
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
                finite_or_none(self.normalised_capacitance_farad_per_centimeter),
            "relaxation_frequency_hertz": finite_or_none(self.relaxation_frequency_hertz),
            "resolved": self.resolved, "determined": self.determined,
            "capacitance_class": self.capacitance_class,
            "role": self.role, "ambiguous": self.ambiguous, "evidence": self.evidence,
        }


@dataclass(frozen=True)
class Interpretation:
    """Arc assignments, resistances, conductivities and area-specific resistances of a fit.

    Attributes
    ----------
    arcs
        Every arc, fastest first.
    series_resistors, series_role, series_evidence
        The top-level resistors (R0) and whether they are the bulk (``"bulk"``) or leads
        and cell (``"series"``).
    bulk_from
        ``"high_frequency_intercept"``, ``"arc R1"`` (the resistor's name) or ``None``.
    resistance_ohm
        ``bulk``, ``grain_boundary``, ``total`` (electrolyte), ``series`` and
        ``electrode`` resistances with standard errors and the resistors they sum.
    intercepts
        The data's model-free intercepts; ``intercept_check`` compares the fit with them.
    """

    circuit: str
    arcs: tuple[ArcInterpretation, ...]
    series_resistors: tuple[str, ...]
    series_role: str
    series_evidence: str
    bulk_from: str | None
    resistance_ohm: dict[str, Estimate]
    conductivity_siemens_per_centimeter: dict[str, Estimate]
    area_specific_resistance_ohm_square_centimeter: dict[str, Estimate]
    geometry: dict[str, float | None]
    lead_resistance_ohm: float
    intercepts: Intercepts
    intercept_check: dict[str, Any] | None
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "circuit": self.circuit,
            "bulk_from": self.bulk_from,
            "series": {"resistors": list(self.series_resistors), "role": self.series_role,
                       "evidence": self.series_evidence},
            "arcs": [a.to_dict() for a in self.arcs],
            "resistance_ohm": {k: _estimate_dict(q) for k, q in self.resistance_ohm.items()},
            "conductivity_siemens_per_centimeter":
                {k: _estimate_dict(q) for k, q in
                 self.conductivity_siemens_per_centimeter.items()},
            "area_specific_resistance_ohm_square_centimeter":
                {k: _estimate_dict(q) for k, q in
                 self.area_specific_resistance_ohm_square_centimeter.items()},
            "lead_resistance_ohm": self.lead_resistance_ohm,
            "intercepts_ohm": self.intercepts.to_dict(),
            "intercept_check": self.intercept_check,
            "geometry": self.geometry,
            "notes": list(self.notes),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per arc, fastest first."""
        rows = [{"resistor": a.resistor, "role": a.role, "resistance_ohm": a.resistance_ohm.value,
                 "resistance_stderr_ohm": a.resistance_ohm.stderr,
                 "capacitance_farad": a.capacitance_farad.value,
                 "capacitance_stderr_farad": a.capacitance_farad.stderr,
                 "relaxation_frequency_hertz": a.relaxation_frequency_hertz,
                 "normalised_capacitance_farad_per_centimeter":
                     a.normalised_capacitance_farad_per_centimeter,
                 "resolved": a.resolved, "determined": a.determined,
                 "ambiguous": a.ambiguous, "evidence": a.evidence} for a in self.arcs]
        return pd.DataFrame(rows)


def _estimate_dict(q: Estimate) -> dict[str, Any]:
    out: dict[str, Any] = {"value": finite_or_none(q.value), "stderr": finite_or_none(q.stderr)}
    if q.inputs and "from" in q.inputs:
        out["from"] = list(q.inputs["from"])
    if q.inputs and "formula" in q.inputs:
        out["formula"] = q.inputs["formula"]
    return out


def effective_capacitance(q: float, alpha: float, resistance: float, *,
                          series_resistance: float = 0.0, method: str = "hsu-mansfeld") -> float:
    """Effective capacitance of a CPE in an arc (``nan`` when it does not fit in a float).

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
    if method not in ("hsu-mansfeld", "brug"):
        raise AnalysisError(f"capacitance method must be 'hsu-mansfeld' or 'brug', got {method!r}")
    if method == "brug" and series_resistance <= 0:
        raise AnalysisError("Brug's effective capacitance needs a positive series resistance")
    if not (q > 0 and resistance > 0 and 0 < alpha <= 1):
        return math.nan
    # In logarithms: a tiny α makes Q^(1/α) overflow a float long before C is meaningless.
    if method == "hsu-mansfeld":
        log_c = math.log(q) / alpha + math.log(resistance) * (1 - alpha) / alpha
    else:
        log_c = math.log(q) / alpha + math.log(1 / series_resistance + 1 / resistance) \
            * (alpha - 1) / alpha
    return math.exp(log_c) if log_c < 700 else math.nan


def _propagate(function: Callable[[np.ndarray], float], names: Sequence[str],
               result: FitResult) -> Estimate:
    """Value and standard error of ``function(values of names)`` by the delta method."""
    values = np.array([result.value(n) for n in names])
    value = float(function(values))
    varied, block = result.covariance_of(names)
    if not varied or not math.isfinite(value):
        return Estimate(value, 0.0 if math.isfinite(value) else math.nan)
    gradient = []
    for name in varied:
        i = list(names).index(name)
        step = 1e-6 * abs(values[i]) or 1e-12
        shifted = values.copy()
        shifted[i] += step
        gradient.append((function(shifted) - value) / step)
    gradient = np.array(gradient)
    with np.errstate(invalid="ignore", over="ignore"):
        variance = float(gradient @ block @ gradient)
    return Estimate(value, math.sqrt(variance) if variance >= 0 else math.nan)


@dataclass(frozen=True)
class _ArcPart:
    resistor: str
    element: str
    unpack: Callable[[np.ndarray], tuple[float, float, float]]  # -> Q, alpha, R
    names: list[str]


def _arc_parts(circuit: Circuit) -> list[_ArcPart]:
    """The simple arcs of a circuit: Zarc, ``p(R,C)`` and ``p(R,CPE)``."""
    parts = []
    for node in arc_slots(circuit):
        if isinstance(node, Leaf):  # Zarc: Q = τ^α / R
            r, tau, alpha = node.parameter_names
            parts.append(_ArcPart(node.label, node.label,
                                  lambda v: (v[1] ** v[2] / v[0], v[2], v[0]), [r, tau, alpha]))
            continue
        if not isinstance(node, Parallel) or len(node.children) != 2:
            continue
        leaves = {c.element.symbol: c for c in node.children if isinstance(c, Leaf)}
        if "R" not in leaves or len(leaves) != 2:
            continue
        r = leaves["R"].label
        if "C" in leaves:
            parts.append(_ArcPart(r, leaves["C"].label, lambda v: (v[1], 1.0, v[0]),
                                  [r, leaves["C"].label]))
        elif "CPE" in leaves:
            q, alpha = leaves["CPE"].parameter_names
            parts.append(_ArcPart(r, leaves["CPE"].label, lambda v: (v[1], v[2], v[0]),
                                  [r, q, alpha]))
    return parts


def capacitance_class(normalised: float) -> tuple[str, bool, str]:
    """ISW class of a normalised capacitance (F/cm): role, near a boundary, the range."""
    if not math.isfinite(normalised) or normalised <= 0:
        return UNDETERMINED, False, "capacitance not determined"
    lower = 0.0
    for role, upper, text in CAPACITANCE_CLASSES:
        if normalised < upper:
            near = (lower > 0 and normalised < 2 * lower) or normalised > upper / 2
            return role, bool(near and math.isfinite(upper)), text
        lower = upper
    return CAPACITANCE_CLASSES[-1][0], False, CAPACITANCE_CLASSES[-1][2]


def _top_level(circuit: Circuit) -> tuple:
    return circuit.root.children if isinstance(circuit.root, Series) else (circuit.root,)


def _series_resistors(circuit: Circuit) -> list[str]:
    return [leaf.label for leaf in _top_level(circuit)
            if isinstance(leaf, Leaf) and leaf.element.symbol == "R"]


def arcs_of(result: FitResult, *, cell_constant_per_centimeter: float = 1.0,
            capacitance_method: str = "hsu-mansfeld") -> list[ArcInterpretation]:
    """Every simple arc of a fit with its numbers and capacitance class, fastest first.

    Roles are the capacitance classes here; :func:`interpret` assigns the final ones.
    """
    circuit = Circuit(result.circuit)
    series = _series_resistors(circuit)
    f_max, f_min = float(np.max(result.frequency_hertz)), float(np.min(result.frequency_hertz))
    arcs = []
    for part in _arc_parts(circuit):
        own = len(part.names)

        def capacitance(values, part=part, n=own):
            q, alpha, r = part.unpack(values[:n])
            if alpha >= 1.0:
                return q
            rs = float(np.sum(values[n:])) if capacitance_method == "brug" else 0.0
            return effective_capacitance(q, alpha, r, series_resistance=rs,
                                         method=capacitance_method)

        c = _propagate(capacitance, part.names + series, result)
        r = _propagate(lambda v: v[0], [part.names[0]], result)
        normalised = c.value * cell_constant_per_centimeter
        relaxation = 1 / (2 * math.pi * r.value * c.value) \
            if r.value > 0 and c.value > 0 else math.nan
        resolved = math.isfinite(relaxation) and f_min <= relaxation <= f_max
        klass, near, text = capacitance_class(normalised)
        where = ("inside the measured range" if resolved else
                 "above the highest measured frequency" if relaxation > f_max else
                 "below the lowest measured frequency" if relaxation < f_min else "unknown")
        evidence = (f"C_eff = {c.value:.3g} ± {c.stderr:.2g} F ({capacitance_method}), "
                    f"× cell constant {cell_constant_per_centimeter:.4g} cm⁻¹ = "
                    f"{normalised:.3g} F/cm: {text}" + (" — near a class boundary" if near else "")
                    + f"; relaxes at {relaxation:.3g} Hz, {where}")
        arcs.append(ArcInterpretation(
            part.resistor, part.element, r, c, capacitance_method, normalised, relaxation,
            resolved, r.determined and c.determined and c.value > 0, klass, klass, near,
            evidence))
    return sorted(arcs, key=lambda a: -a.relaxation_frequency_hertz
                  if math.isfinite(a.relaxation_frequency_hertz) else math.inf)


def interpret(
    result: FitResult,
    *,
    area_square_centimeter: float | None = None,
    thickness_centimeter: float | None = None,
    area_tolerance_square_centimeter: float = 0.0,
    thickness_tolerance_centimeter: float = 0.0,
    capacitance_method: str = "hsu-mansfeld",
    symmetric_cell: bool = False,
    lead_resistance_ohm: float = 0.0,
    assign: Mapping[str, str] | None = None,
) -> Interpretation:
    """Assign the arcs of a fit and derive resistances, conductivities and ASRs (module doc).

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
    lead_resistance_ohm
        Resistance of cell and cables with the electrodes shorted, subtracted from a
        bulk taken from the high-frequency intercept.
    assign
        Resistor -> role (:data:`ROLES`), overriding the automatic assignment.

    Raises
    ------
    AnalysisError
        When the circuit has neither an arc nor a series resistor, or ``assign`` names
        a resistor or role that does not exist.
    """
    circuit = Circuit(result.circuit)
    geometry_known = area_square_centimeter is not None and thickness_centimeter is not None
    cell_constant = thickness_centimeter / area_square_centimeter if geometry_known else 1.0
    arcs = arcs_of(result, cell_constant_per_centimeter=cell_constant,
                   capacitance_method=capacitance_method)
    series = _series_resistors(circuit)
    if not arcs and not series:
        raise AnalysisError(f"circuit {result.circuit!r} has no R||CPE, R||C or Zarc arc and "
                            "no series resistor to interpret")
    if not math.isfinite(lead_resistance_ohm) or lead_resistance_ohm < 0:
        raise AnalysisError(f"the lead resistance must be a finite number >= 0 Ω, got "
                            f"{lead_resistance_ohm}")
    notes = []
    if not geometry_known:
        notes.append("no area/thickness given: capacitances normalised with an assumed cell "
                     "constant of 1 cm⁻¹")
    if assign:
        _check_assignment(arcs, series, assign)
        reading = _automatic(arcs, series, result, lead_resistance_ohm, notes,
                             fixed=frozenset(assign))
        roles, series_role, series_evidence, bulk_from = _assigned(
            arcs, series, assign, reading, notes)
    else:
        roles, series_role, series_evidence, bulk_from = _automatic(
            arcs, series, result, lead_resistance_ohm, notes)
    arcs = [_with_role(a, *roles.get(a.resistor, (a.role, a.ambiguous, ""))) for a in arcs]
    resistance = _resistances(result, arcs, series, series_role, bulk_from,
                              lead_resistance_ohm, notes)
    if any(e.inputs.get("intercept") for e in resistance.values()):
        notes.append(f"lead resistance {lead_resistance_ohm:g} Ω subtracted from the "
                     "high-frequency intercept" + (" (the default: measure cell and cables "
                                                   "with the electrodes shorted and give it)"
                                                   if lead_resistance_ohm == 0 else ""))
    slowest = [a.relaxation_frequency_hertz for a in arcs if a.role in ELECTROLYTE_ROLES]
    found = intercepts(result.frequency_hertz, result.impedance,
                       electrolyte_below_hertz=min(slowest) if slowest else None)
    check = _intercept_check(result, arcs, series, found, notes)
    conductivity = {}
    if geometry_known:
        conductivity = _conductivities(resistance, area_square_centimeter,
                                       thickness_centimeter, area_tolerance_square_centimeter,
                                       thickness_tolerance_centimeter)
    asr = {}
    if symmetric_cell:
        if area_square_centimeter is None:
            raise MetadataError("area-specific resistance needs the electrode area "
                                "(area_square_centimeter)")
        asr = _area_specific(result, arcs, area_square_centimeter,
                             area_tolerance_square_centimeter)
    return Interpretation(
        result.circuit, tuple(arcs), tuple(series), series_role, series_evidence, bulk_from,
        resistance, conductivity, asr,
        {"area_square_centimeter": area_square_centimeter,
         "thickness_centimeter": thickness_centimeter,
         "area_tolerance_square_centimeter": area_tolerance_square_centimeter,
         "thickness_tolerance_centimeter": thickness_tolerance_centimeter},
        float(lead_resistance_ohm), found, check, tuple(notes))


def _with_role(arc: ArcInterpretation, role: str, ambiguous: bool,
               reason: str) -> ArcInterpretation:
    evidence = arc.evidence + (f". {reason}" if reason else "")
    return ArcInterpretation(
        arc.resistor, arc.capacitive_element, arc.resistance_ohm, arc.capacitance_farad,
        arc.capacitance_method, arc.normalised_capacitance_farad_per_centimeter,
        arc.relaxation_frequency_hertz, arc.resolved, arc.determined, arc.capacitance_class,
        role, ambiguous, evidence)


Roles = dict[str, tuple[str, bool, str]]


def _check_assignment(arcs: list[ArcInterpretation], series: list[str],
                      assign: Mapping[str, str]) -> None:
    known = {a.resistor for a in arcs} | set(series)
    for resistor, role in assign.items():
        if resistor not in known:
            raise AnalysisError(f"cannot assign {resistor!r}: the circuit's resistors are "
                                f"{sorted(known)}")
        if role not in ROLES:
            raise AnalysisError(f"cannot assign {resistor!r} to {role!r}: roles are {ROLES}")


def _assigned(arcs: list[ArcInterpretation], series: list[str], assign: Mapping[str, str],
              automatic: tuple[Roles, str, str, str | None],
              notes: list[str]) -> tuple[Roles, str, str, str | None]:
    """The automatic reading with the user's roles put over it.

    A resistor the user names gets that role; the others keep their automatic role,
    except that an automatic bulk or grain boundary the user gave to another resistor
    becomes unassigned (not counted), so that one role is never taken twice.
    """
    automatic_roles, series_role, series_evidence, bulk_from = automatic
    exclusive = {role for role in assign.values() if role in ("bulk", "grain_boundary")}
    roles: Roles = {}
    for arc in arcs:
        role, ambiguous, reason = automatic_roles.get(arc.resistor,
                                                      (arc.role, arc.ambiguous, ""))
        if arc.resistor in assign:
            roles[arc.resistor] = (assign[arc.resistor], False, "assigned by the user")
        elif role in exclusive:
            roles[arc.resistor] = ("unassigned", False, f"its automatic role ({role}) was "
                                   "assigned to another resistor by the user: not counted")
        else:
            roles[arc.resistor] = (role, ambiguous, reason)
    given = {assign[r] for r in series if r in assign}
    if given:
        series_role = given.pop() if len(given) == 1 else "series"
        series_evidence = "assigned by the user"
    elif series_role in exclusive:
        series_role, series_evidence = "series", (f"leads and cell: the user assigned the "
                                                  f"{series_role} to another resistor")
    bulk = [r for r, role in assign.items() if role == "bulk"]
    if bulk:
        bulk_from = "high_frequency_intercept" if all(r in series for r in bulk) else \
            "arc " + "+".join(r for r in bulk if r not in series)
    elif not (series_role == "bulk" or any(role == "bulk" for role, _, _ in roles.values())):
        bulk_from = None
    for role in set(assign.values()):
        same = sorted(r for r, x in assign.items() if x == role)
        if len(same) > 1:
            notes.append(f"{', '.join(same)} assigned to {role} by the user: their resistances "
                         "are summed")
    notes.append("roles assigned by the user: " + ", ".join(
        f"{r}={x}" for r, x in assign.items()) + "; the others by the automatic rules")
    return roles, series_role, series_evidence, bulk_from


def _automatic(arcs: list[ArcInterpretation], series: list[str], result: FitResult,
               lead: float, notes: list[str], fixed: frozenset[str] = frozenset()
               ) -> tuple[Roles, str, str, str | None]:
    """The rules of the module doc; no note about a resistor in ``fixed`` (the user's)."""
    roles: Roles = {}
    f_max, f_min = float(np.max(result.frequency_hertz)), float(np.min(result.frequency_hertz))
    # An arc relaxing above the measured range shows only its flank: its resistance and the
    # series resistance are one high-frequency intercept, determined as a sum.
    above = [a for a in arcs if a.relaxation_frequency_hertz > f_max]
    for arc in above:
        roles[arc.resistor] = ("bulk", arc.capacitance_class != "bulk",
                               "relaxes above the measured range: counted with the series "
                               "resistance as the high-frequency intercept")
    rest = [a for a in arcs if a not in above]
    undetermined = [a for a in rest if not a.resistance_ohm.determined]
    for arc in undetermined:
        roles[arc.resistor] = (UNDETERMINED, False, "its resistance is not determined by the "
                               "data (standard error above the value): not counted")
    unsure = [a.resistor for a in undetermined if a.resistor not in fixed]
    if unsure:
        notes.append(f"arcs {', '.join(unsure)} are not determined by the data and are not "
                     "counted")
    counted = [a for a in rest if a not in undetermined]
    # The electrode response begins at the first arc (fastest first) of electrode-class
    # capacitance or relaxing below the measured range (the bend of a blocking spike);
    # everything slower belongs to it too.
    electrolyte: list[ArcInterpretation] = []
    for arc in counted:
        if arc.capacitance_class not in ELECTROLYTE_ROLES or \
                not arc.relaxation_frequency_hertz >= f_min:
            break
        electrolyte.append(arc)
    for arc in counted[len(electrolyte):]:
        below = not arc.relaxation_frequency_hertz >= f_min
        role = arc.capacitance_class if arc.capacitance_class in (
            "interface", "electrochemical_reaction") else "interface"
        roles[arc.resistor] = (role, arc.capacitance_class != role, "part of the electrode "
                               "response" + (": it relaxes below the lowest measured frequency"
                                             if below else " (electrode-class capacitance, or "
                                             "slower than an arc that has it)"))
    bulk_class = [a for a in electrolyte if a.capacitance_class == "bulk"]
    r0 = _resistance_sum(result, series) if series else (0.0, 0.0)
    series_role, series_evidence, bulk_from = "series", "leads and cell", None
    ordered: list[ArcInterpretation] = []
    intercept = "+".join(series + [a.resistor for a in above])
    if above:
        series_role, bulk_from = "bulk", "high_frequency_intercept"
        series_evidence = (f"{', '.join(a.resistor for a in above)} relaxes above the highest "
                           f"measured frequency ({f_max:.3g} Hz): only its flank is seen, so the "
                           f"bulk is the high-frequency intercept {intercept}")
        ordered = electrolyte
    elif bulk_class:
        bulk = bulk_class[0]
        bulk_from = f"arc {bulk.resistor}"
        roles[bulk.resistor] = ("bulk", False, "the fastest arc with bulk-class capacitance")
        series_evidence = f"a bulk arc ({bulk.resistor}) is resolved: leads and cell"
        ordered = [a for a in electrolyte if a is not bulk]
    else:
        electrolyte_sum = sum(a.resistance_ohm.value for a in electrolyte)
        excess = r0[0] - lead
        if series and excess > 3 * r0[1] and excess > 0.01 * (r0[0] + electrolyte_sum):
            series_role, bulk_from = "bulk", "high_frequency_intercept"
            series_evidence = (f"no arc has bulk-range capacitance and the high-frequency "
                               f"intercept {intercept} = {r0[0]:.4g} ± {r0[1]:.2g} Ω "
                               f"(minus leads {lead:g} Ω) is clearly above zero: the bulk arc "
                               "lies above the measured range")
            ordered = electrolyte
        elif electrolyte:
            first = electrolyte[0]
            bulk_from = f"arc {first.resistor}"
            roles[first.resistor] = (
                "bulk", True, f"no arc has bulk-range capacitance and the high-frequency "
                f"intercept ({r0[0]:.3g} ± {r0[1]:.2g} Ω) is negligible: the fastest "
                "electrolyte arc is taken as the bulk (brick-layer order)")
            ordered = electrolyte[1:]
            series_evidence = "the high-frequency intercept is negligible: leads and cell"
    if series_role == "series" and series and electrolyte and not fixed & set(series):
        excess = r0[0] - lead
        electrolyte_sum = sum(a.resistance_ohm.value for a in electrolyte)
        if excess > 3 * r0[1] and excess > 0.05 * electrolyte_sum:
            notes.append(f"the series resistance {'+'.join(series)} = {r0[0]:.4g} ± "
                         f"{r0[1]:.2g} Ω (leads given: {lead:g} Ω) is {excess / electrolyte_sum:.0%} "
                         "of the electrolyte arcs: more than leads and cell usually are. It is "
                         "not counted in σ; if it is an unresolved faster process, assign it "
                         "(assign={'R0': 'bulk'} / --assign R0=bulk)")
    for position, arc in enumerate(ordered):
        if position == 0:
            same = arc.capacitance_class == "bulk"
            roles[arc.resistor] = (
                "grain_boundary", same or arc.capacitance_class != "grain_boundary",
                "the next electrolyte arc after the bulk (brick-layer order)"
                + ("; it has bulk-class capacitance too, so bulk and grain boundary are told "
                   "apart by relaxation frequency alone" if same else ""))
        else:
            # ``arc.ambiguous`` still holds "near a class boundary" here: a surface-layer arc
            # near the interface class (its upper boundary) may be the electrode's, and it is
            # counted in σ_total.
            near_interface = (arc.capacitance_class == "surface_layer" and arc.ambiguous
                              and arc.normalised_capacitance_farad_per_centimeter > 1e-8)
            roles[arc.resistor] = ("surface_layer",
                                   arc.capacitance_class != "surface_layer" or near_interface,
                                   "a further electrolyte arc after bulk and grain boundary")
            if near_interface and arc.resistor not in fixed:
                notes.append(f"{arc.resistor} ({arc.normalised_capacitance_farad_per_centimeter:.3g}"
                             " F/cm) is counted in σ_total as a surface layer, but its "
                             "capacitance is near the electrode-interface class: if it is the "
                             f"electrode's, assign it (--assign {arc.resistor}=interface)")
    told_apart = bulk_class + ordered[:1]
    if (len(bulk_class) > 1 or (ordered and ordered[0].capacitance_class == "bulk")) and \
            not fixed & {a.resistor for a in told_apart}:
        notes.append("several arcs have bulk-class capacitance: the fastest is taken as bulk, "
                     "the next as grain boundary (brick-layer order); flagged ambiguous")
    return roles, series_role, series_evidence, bulk_from


def _resistance_sum(result: FitResult, names: Sequence[str]) -> tuple[float, float]:
    value = sum(result.value(n) for n in names)
    varied, block = result.covariance_of(names)
    variance = float(block.sum()) if varied else 0.0
    return value, math.sqrt(variance) if variance >= 0 else math.nan


def _resistances(result: FitResult, arcs: list[ArcInterpretation], series: list[str],
                 series_role: str, bulk_from: str | None, lead: float,
                 notes: list[str]) -> dict[str, Estimate]:
    groups: dict[str, list[str]] = {}
    for arc in arcs:
        groups.setdefault(arc.role, []).append(arc.resistor)
    intercept = series_role == "bulk"
    if intercept:
        groups["bulk"] = series + groups.get("bulk", [])
    out: dict[str, Estimate] = {}
    for role in ("bulk", "grain_boundary", "surface_layer"):
        if role in groups:
            value, stderr = _resistance_sum(result, groups[role])
            shifted = role == "bulk" and intercept
            out[role] = Estimate(value - lead if shifted else value, stderr, "ohm", inputs={
                "from": groups[role], "intercept": shifted,
                "formula": " + ".join(groups[role]) + (f" - {lead:g} (leads)" if shifted
                                                       else "")})
    electrolyte = [n for role in ELECTROLYTE_ROLES for n in groups.get(role, [])]
    if electrolyte:
        value, stderr = _resistance_sum(result, electrolyte)
        out["total"] = Estimate(value - lead * intercept, stderr, "ohm", inputs={
            "from": electrolyte, "formula": " + ".join(electrolyte)
            + (f" - {lead:g} (leads)" if intercept else "")})
        if "bulk" in out and out["bulk"].value <= 0:
            notes.append(f"the bulk resistance after subtracting the leads is "
                         f"{out['bulk'].value:.4g} Ω: the lead resistance given is too large")
    if series and not intercept:
        value, stderr = _resistance_sum(result, series)
        out["series"] = Estimate(value, stderr, "ohm", inputs={"from": series})
    electrode = [a.resistor for a in arcs if a.role in ("interface", "electrochemical_reaction")]
    if electrode:
        value, stderr = _resistance_sum(result, electrode)
        out["electrode"] = Estimate(value, stderr, "ohm", inputs={"from": electrode})
    return out


def _intercept_check(result: FitResult, arcs: list[ArcInterpretation], series: list[str],
                     found: Intercepts, notes: list[str]) -> dict[str, Any] | None:
    if found.low_frequency_ohm is None:
        return None
    names = series + [a.resistor for a in arcs if a.role in ELECTROLYTE_ROLES]
    if not names:
        return None
    fitted = sum(result.value(n) for n in names)
    difference = (fitted - found.low_frequency_ohm) / found.low_frequency_ohm
    agrees = abs(difference) <= INTERCEPT_TOLERANCE
    if not agrees:
        notes.append(f"the fit's resistance up to the electrode response ({'+'.join(names)} = "
                     f"{fitted:.4g} Ω) differs by {100 * difference:+.1f} % from the data's "
                     f"low-frequency intercept ({found.low_frequency_ohm:.4g} Ω, "
                     f"{found.low_frequency_method}): check the fit and the arc assignment")
    return {"fit_ohm": fitted, "data_ohm": found.low_frequency_ohm,
            "relative_difference": difference, "agrees": agrees, "from": names}


def _conductivities(resistance: dict[str, Estimate], area: float, thickness: float,
                    area_tol: float, thickness_tol: float) -> dict[str, Estimate]:
    out = {}
    for role in ("bulk", "grain_boundary", "total"):
        if role not in resistance or not resistance[role].value > 0:
            continue
        r, r_err = resistance[role].value, resistance[role].stderr
        sigma = thickness / (r * area)
        from_fit = sigma * r_err / r
        from_geometry = sigma * math.hypot(thickness_tol / thickness, area_tol / area)
        out[role] = Estimate(sigma, math.hypot(from_fit, from_geometry), "S/cm", inputs={
            "resistance_ohm": {"value": r, "stderr": r_err,
                               "from": resistance[role].inputs["from"]},
            "stderr_from_fit": from_fit, "stderr_from_geometry": from_geometry,
            "from": resistance[role].inputs["from"], "formula": "L / (R A)"})
    return out


def _area_specific(result: FitResult, arcs: list[ArcInterpretation], area: float,
                   area_tol: float) -> dict[str, Estimate]:
    names = [a.resistor for a in arcs if a.role in ("interface", "electrochemical_reaction")]
    if not names:
        return {}
    r, r_err = _resistance_sum(result, names)
    total = r * area
    stderr = total * math.hypot(r_err / r, area_tol / area)
    inputs = {"resistance_ohm": {"value": r, "stderr": r_err, "from": names}, "from": names}
    return {
        "total": Estimate(total, stderr, inputs={**inputs, "formula": "R A (both interfaces)"}),
        "per_interface": Estimate(total / 2, stderr / 2,
                                  inputs={**inputs, "formula": "R A / 2 (one interface of two)"}),
    }
