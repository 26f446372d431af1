"""Choosing the equivalent circuit of a solid-electrolyte spectrum: ``--model auto``.

A solid-electrolyte spectrum is one of a small family: a high-frequency intercept
(leads, or a bulk arc above the measured range), one or two electrolyte arcs,
perhaps an electrode arc, then either the spike of ion-blocking electrodes or the
arc of non-blocking (Li) ones closing on the real axis; an inductive lead shows as
positive Z'' at the top frequencies. :data:`FAMILY` writes these down; every member
is fitted (one vectorised batch per member for all spectra; a spectrum that clearly
ends in a blocking spike is not given the non-blocking members, one that clearly closes
on the real axis not the blocking ones) and the choice is:

1. **Every parameter determined.** A member is *eligible* when its fit converged and
   every parameter that enters a reported number has a standard error no larger than
   its value. Exempt are the top-level series resistance and inductance (a lead of
   0.5 Ω under a 100 kΩ pellet is legitimately unknowable) and an arc that relaxes
   above the measured range: only its flank is seen, so its capacitance is free to be
   uncertain, and its resistance counts together with the series resistance (their
   sum must be determined).
2. **The lowest BIC** (lmfit's ``n ln(χ²/n) + k ln n``) among the eligible members;
   when none is eligible, the lowest BIC of all that converged, said in the reason.
3. **Residual structure** is reported for every member: the Wald-Wolfowitz runs test
   of the signs of the real and imaginary residuals in frequency order. A chosen
   model whose residuals are still structured (|z| > 3) is said to describe the
   spectrum incompletely.

For a temperature series (:func:`select_series_model`) one member is chosen for the
whole series, so that a resistor names the same arc at every temperature: the least
BIC summed over the spectra, among members eligible in at least 3 of 4 spectra whose
arcs keep one role (bulk, grain boundary...) through the series.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from labkit._threads import on_one_blas_thread
from labkit.eis.batch import FailedFit, fit_batch
from labkit.eis.circuit import Circuit, Leaf, Series
from labkit.eis.conductivity import arcs_of
from labkit.eis.fit import FitResult
from labkit.errors import LabkitError

#: |z| of the runs test above which residuals count as structured.
STRUCTURED_RUNS_Z = 3.0
#: Screening the members: every automatic start (up to this many) is polished, then this
#: many rounds of random restarts where a fit stays above the noise floor; the chosen
#: member is then polished by the caller's engine.
SCREEN_STARTS = 8
SCREEN_RESTARTS = 1
#: Share of a series' spectra in which a member must be eligible to be chosen for it.
SERIES_ELIGIBLE_SHARE = 0.75


@dataclass(frozen=True)
class Candidate:
    """One member of the solid-electrolyte family."""

    name: str
    circuit: str
    description: str
    blocking: bool


FAMILY: tuple[Candidate, ...] = (
    Candidate("intercept-arc", "R0-p(R1,CPE1)-CPE2",
              "high-frequency intercept, one electrolyte arc, blocking electrodes", True),
    Candidate("dielectric-bulk", "R0-p(R1,C1)-p(R2,CPE2)-CPE3",
              "bulk arc with its ideal geometric capacitance (often above the measured "
              "range: only its flank is seen), grain-boundary arc, blocking electrodes", True),
    Candidate("two-arcs", "R0-p(R1,CPE1)-p(R2,CPE2)-CPE3",
              "two electrolyte arcs (bulk and grain boundary), or one arc and an electrode "
              "arc, blocking electrodes", True),
    Candidate("two-arcs-electrode", "R0-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)-CPE4",
              "two electrolyte arcs and an electrode arc (contact, interphase), blocking "
              "electrodes", True),
    Candidate("dielectric-bulk-electrode", "R0-p(R1,C1)-p(R2,CPE2)-p(R3,CPE3)-CPE4",
              "bulk arc with its geometric capacitance, grain-boundary arc and an electrode "
              "arc, blocking electrodes", True),
    Candidate("arc", "R0-p(R1,CPE1)",
              "one arc closing on the real axis: the electrolyte alone, or non-blocking "
              "electrodes whose electrolyte arc lies above the measured range", False),
    Candidate("arc-electrode", "R0-p(R1,CPE1)-p(R2,CPE2)",
              "one electrolyte arc and the electrode arc of non-blocking (Li) electrodes", False),
    Candidate("two-arcs-electrode-nonblocking", "R0-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)",
              "bulk and grain-boundary arcs and the electrode arc of non-blocking (Li) "
              "electrodes", False),
)


def shows_inductance(frequency_hertz: np.ndarray, impedance: np.ndarray) -> bool:
    """Whether the highest-frequency point has positive Z'' (an inductive lead)."""
    top = int(np.argmax(frequency_hertz))
    return bool(np.imag(impedance[top]) > 0)


def with_inductance(candidate: Candidate) -> Candidate:
    """The member with a series inductance ``L0`` in front."""
    return Candidate(candidate.name + "+inductance", "L0-" + candidate.circuit,
                     candidate.description + ", inductive leads", candidate.blocking)


def runs_z(residuals: np.ndarray) -> float:
    """Wald-Wolfowitz runs-test z of residual signs (real part, then imaginary part).

    Each half is tested on its own and the two z values combined as
    ``(z_real + z_imag) / sqrt(2)``; too few runs (structure) gives a negative z.
    """
    values = np.asarray(residuals, float)
    half = values.size // 2
    scores = []
    for part in (values[:half], values[half:]):
        signs = part[part != 0] > 0
        n_pos, n_neg = int(signs.sum()), int((~signs).sum())
        n = n_pos + n_neg
        if n_pos == 0 or n_neg == 0 or n < 3:
            scores.append(-math.sqrt(n) if n else 0.0)
            continue
        runs = 1 + int(np.count_nonzero(signs[1:] != signs[:-1]))
        mean = 1 + 2 * n_pos * n_neg / n
        variance = 2 * n_pos * n_neg * (2 * n_pos * n_neg - n) / (n * n * (n - 1))
        scores.append((runs - mean) / math.sqrt(variance) if variance > 0 else 0.0)
    return float(sum(scores) / math.sqrt(len(scores)))


def _top_level(circuit: Circuit) -> tuple:
    return circuit.root.children if isinstance(circuit.root, Series) else (circuit.root,)


def undetermined_parameters(result: FitResult) -> list[str]:
    """Parameters that enter reported numbers and are not determined (module doc, rule 1)."""
    circuit = Circuit(result.circuit)
    exempt: set[str] = set()
    series = []
    for node in _top_level(circuit):
        if isinstance(node, Leaf) and node.element.symbol in ("R", "L"):
            exempt.update(node.parameter_names)
            if node.element.symbol == "R":
                series.append(node.label)
    f_max = float(np.max(result.frequency_hertz))
    merged = []
    for arc in arcs_of(result):
        if arc.relaxation_frequency_hertz > f_max:
            names = [n for n in circuit.parameter_names
                     if n == arc.capacitive_element or n.startswith(arc.capacitive_element + "_")]
            exempt.update(names + [arc.resistor])
            merged.append(arc.resistor)
    out = []
    for name, parameter in result.parameters.items():
        if name not in exempt and not parameter.determined:
            out.append(name)
    if merged:
        value = sum(result.value(n) for n in series + merged)
        varied, block = result.covariance_of(series + merged)
        variance = float(block.sum()) if varied else 0.0
        if not (variance >= 0 and math.sqrt(variance) <= abs(value)):
            out.append("+".join(series + merged))
    return out


@dataclass(frozen=True)
class CandidateScore:
    """How one member fitted one spectrum (or a series: sums and counts)."""

    name: str
    circuit: str
    bic: float
    chi_square: float
    success: bool
    eligible: bool
    undetermined: tuple[str, ...]
    residual_runs_z: float
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``model_selection`` entries)."""
        return {"name": self.name, "circuit": self.circuit,
                "bic": self.bic if math.isfinite(self.bic) else None,
                "chi_square": self.chi_square if math.isfinite(self.chi_square) else None,
                "success": self.success, "eligible": self.eligible,
                "undetermined": list(self.undetermined),
                "residual_runs_z": self.residual_runs_z
                if math.isfinite(self.residual_runs_z) else None,
                **({"error": self.error} if self.error else {})}


@dataclass(frozen=True)
class ModelChoice:
    """The member chosen for one spectrum, with the scores of every member tried."""

    fit: FitResult
    name: str
    scores: tuple[CandidateScore, ...]
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """``{"model", "circuit", "reason", "model_selection": [...]}`` (best first)."""
        return {"model": self.name, "circuit": self.fit.circuit, "reason": self.reason,
                "model_selection": [s.to_dict() for s in self.scores]}


def low_frequency_end(frequency_hertz: np.ndarray, impedance: np.ndarray) -> str:
    """``"spike"``, ``"closing"`` or ``"unclear"``: how the spectrum ends at low frequency.

    A spike: the last three points climb in −Z'' as the frequency falls, the last one at a
    phase steeper than −65°. Closing: the last point's −Z'' is under 5 % of the largest
    and falling. Only these clear cases narrow the family (:func:`candidates_for`).
    """
    order = np.argsort(frequency_hertz)
    minus_imag = -np.asarray(impedance)[order].imag
    if minus_imag.size < 4:
        return "unclear"
    last = np.asarray(impedance)[order][0]
    climbing = minus_imag[0] > minus_imag[1] > minus_imag[2]
    if climbing and np.degrees(np.angle(last)) < -65:
        return "spike"
    if minus_imag[0] < 0.05 * minus_imag.max() and minus_imag[0] < minus_imag[1]:
        return "closing"
    return "unclear"


def candidates_for(spectra: Sequence[tuple[np.ndarray, np.ndarray]],
                   family: Sequence[Candidate] = FAMILY) -> list[Candidate]:
    """The members worth fitting to these spectra: each with a series inductance when any
    spectrum shows one; only the blocking (non-blocking) members when every spectrum ends
    in a clear spike (closes on the real axis)."""
    ends = {low_frequency_end(f, z) for f, z in spectra}
    members = list(family)
    if ends == {"spike"}:
        members = [c for c in members if c.blocking] or members
    elif ends == {"closing"}:
        members = [c for c in members if not c.blocking] or members
    if any(shows_inductance(f, z) for f, z in spectra):
        return [with_inductance(c) for c in members]
    return members


def _score(candidate: Candidate, result: FitResult | FailedFit) -> CandidateScore:
    if isinstance(result, FailedFit):
        return CandidateScore(candidate.name, candidate.circuit, math.inf, math.inf, False,
                              False, (), math.nan, str(result.error.get("message")))
    # Screening fits may stop at the iteration limit while creeping along a valley of two
    # parameters that trade off (R0 and an arc above the range): finite standard errors are
    # what matter here; the chosen member is polished to convergence afterwards.
    usable = result.success or all(math.isfinite(p.stderr) for p in result.parameters.values()
                                   if p.vary)
    missing = tuple(undetermined_parameters(result)) if usable else ()
    return CandidateScore(candidate.name, result.circuit, result.bic, result.chi_square,
                          usable, usable and not missing, missing, runs_z(result.residuals))


def _choose(scores: Sequence[CandidateScore]) -> tuple[int, str]:
    """Index of the chosen score and the reason (module doc, rules 1-3)."""
    eligible = [i for i, s in enumerate(scores) if s.eligible]
    converged = [i for i, s in enumerate(scores) if s.success]
    if eligible:
        best = min(eligible, key=lambda i: scores[i].bic)
        reason = f"lowest BIC ({scores[best].bic:.1f}) among the models whose parameters are " \
                 "all determined"
    elif converged:
        best = min(converged, key=lambda i: scores[i].bic)
        reason = (f"no model has every parameter determined; lowest BIC ({scores[best].bic:.1f}) "
                  f"of those that converged (undetermined: "
                  f"{', '.join(scores[best].undetermined)})")
    else:
        best = min(range(len(scores)), key=lambda i: scores[i].chi_square)
        reason = "no model converged with finite standard errors; lowest χ² shown"
    z = scores[best].residual_runs_z
    if math.isfinite(z) and abs(z) > STRUCTURED_RUNS_Z:
        reason += (f"; its residuals are still structured (runs test z = {z:.1f}): no model of "
                   "the family describes this spectrum fully")
    return best, reason


def _screen(spectra: Sequence[tuple[np.ndarray, np.ndarray]], candidates: Sequence[Candidate],
            fit_options: dict[str, Any]) -> list[list[FitResult | FailedFit]]:
    """Per candidate, a fit of every spectrum with labkit's vectorised engine from every
    automatic start, whether or not one already reached the noise floor (BIC differences
    of a few units decide, and a local optimum at the noise level can still be the wrong
    one), then :data:`SCREEN_RESTARTS` round of random restarts where the fit stays above
    the floor. The chosen member is polished with the caller's options (:func:`_refined`)."""
    options = {**fit_options, "engine": "vectorised", "good_enough": 0.0,
               "starts": SCREEN_STARTS,
               "restarts": min(fit_options.get("restarts", SCREEN_RESTARTS), SCREEN_RESTARTS)}
    return [fit_batch(spectra, c.circuit, **options) for c in candidates]


def _refined(spectra: Sequence[tuple[np.ndarray, np.ndarray]], circuit: str,
             screened: Sequence[FitResult | FailedFit],
             fit_options: dict[str, Any]) -> list[FitResult | FailedFit]:
    """The chosen member's screening optimum polished by the caller's engine (lmfit by
    default: its values, standard errors and statistics are then the ones reported)."""
    from labkit.eis.fit import fit_circuit

    options = {k: v for k, v in fit_options.items() if k in ("weighting", "engine")}
    out: list[FitResult | FailedFit] = []
    for (frequency, z), quick in zip(spectra, screened, strict=True):
        if isinstance(quick, FailedFit) or options.get("engine") == "vectorised":
            out.append(quick)
            continue
        try:
            out.append(fit_circuit(frequency, z, circuit, initial=quick.values, starts=1,
                                   restarts=0, **options))
        except LabkitError as exc:
            out.append(FailedFit(exc.to_dict()))
    return out


@on_one_blas_thread
def select_models(spectra: Sequence[tuple[np.ndarray, np.ndarray]], *,
                  family: Sequence[Candidate] = FAMILY,
                  **fit_options: Any) -> list[ModelChoice | FailedFit]:
    """Fit every member to every spectrum and choose one per spectrum (module doc).

    Parameters
    ----------
    spectra
        ``(frequency_hertz, impedance)`` pairs.
    family
        The members to try (default :data:`FAMILY`; a series inductance is added to
        each when any spectrum shows one).
    fit_options
        Passed to :func:`labkit.eis.batch.fit_batch` (workers, weighting, engine...).

    Returns
    -------
    Per spectrum, a :class:`ModelChoice`, or the :class:`FailedFit` of a spectrum no
    member could be fitted to.
    """
    spectra = list(spectra)
    if not spectra:
        return []
    candidates = [candidates_for([s], family) for s in spectra]
    # Spectra with and without an inductive lead are fitted as two batches.
    # Spectra with the same members (inductive lead or not, how they end) are one batch.
    groups: dict[tuple[str, ...], list[int]] = {}
    for index, members in enumerate(candidates):
        groups.setdefault(tuple(c.circuit for c in members), []).append(index)
    out: list[ModelChoice | FailedFit | None] = [None] * len(spectra)
    for indices in groups.values():
        members = candidates[indices[0]]
        group = [spectra[i] for i in indices]
        fits = _screen(group, members, fit_options)
        chosen: dict[int, list[int]] = {}  # member -> positions in the group
        picks = []
        for position in range(len(indices)):
            results = [fits[k][position] for k in range(len(members))]
            scores = [_score(c, r) for c, r in zip(members, results, strict=True)]
            if all(isinstance(r, FailedFit) for r in results):
                picks.append((results[0], None))
                continue
            best, reason = _choose(scores)
            chosen.setdefault(best, []).append(position)
            picks.append((best, (scores, reason)))
        final: dict[int, FitResult | FailedFit] = {}
        for best, positions in chosen.items():
            refined = _refined([group[p] for p in positions], members[best].circuit,
                               [fits[best][p] for p in positions], fit_options)
            final.update(zip(positions, refined, strict=True))
        for position, (best, scored) in enumerate(picks):
            index = indices[position]
            if scored is None:
                out[index] = best
                continue
            scores, reason = scored
            result = final[position]
            if isinstance(result, FailedFit):
                out[index] = result
                continue
            scores[best] = _score(members[best], result)
            order = sorted(range(len(scores)), key=lambda i: (i != best, scores[i].bic))
            out[index] = ModelChoice(result, members[best].name,
                                     tuple(scores[i] for i in order), reason)
    return out  # type: ignore[return-value]


@dataclass(frozen=True)
class SeriesChoice:
    """The member chosen for a whole series, its fits, and every member's summed score."""

    name: str
    circuit: str
    fits: tuple[FitResult | FailedFit, ...]
    scores: tuple[CandidateScore, ...]
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """``{"model", "circuit", "reason", "model_selection": [...]}`` (best first)."""
        return {"model": self.name, "circuit": self.circuit, "reason": self.reason,
                "model_selection": [s.to_dict() for s in self.scores]}


def _consistent(results: Sequence[FitResult | FailedFit],
                roles: Callable[[FitResult], Mapping[str, str]]) -> tuple[bool, str]:
    """Whether every arc resistor keeps one role in at least
    :data:`SERIES_ELIGIBLE_SHARE` of the spectra it was fitted in, and which did not."""
    seen: dict[str, list[str]] = {}
    for result in results:
        if isinstance(result, FailedFit):
            continue
        try:
            assigned = roles(result)
        except LabkitError:
            continue
        for resistor, role in assigned.items():
            seen.setdefault(resistor, []).append(role)
    changing = []
    for resistor, found in seen.items():
        most = max(found.count(role) for role in set(found))
        if most < SERIES_ELIGIBLE_SHARE * len(found):
            changing.append(f"{resistor} ({', '.join(sorted(set(found)))})")
    return not changing, "; ".join(changing)


@on_one_blas_thread
def select_series_model(spectra: Sequence[tuple[np.ndarray, np.ndarray]], *,
                        family: Sequence[Candidate] = FAMILY,
                        roles: Callable[[FitResult], Mapping[str, str]] | None = None,
                        **fit_options: Any) -> SeriesChoice:
    """One member for every spectrum of a series (module doc).

    A member is eligible for the series when it is eligible in at least
    :data:`SERIES_ELIGIBLE_SHARE` of the spectra and, given ``roles`` (fit -> arc
    resistor -> role, e.g. from :func:`labkit.eis.conductivity.interpret`), when every
    arc keeps one role in that share of the spectra: an arc that is grain boundary at
    one temperature and a surface layer at the next is not one process followed
    through the series. The least summed BIC among the eligible members wins.
    """
    spectra = list(spectra)
    members = candidates_for(spectra, family)
    fits = _screen(spectra, members, fit_options)
    scores = []
    for candidate, results in zip(members, fits, strict=True):
        per = [_score(candidate, r) for r in results]
        converged = [s for s in per if s.success]
        complete = len(converged) == len(per)
        eligible = complete and sum(s.eligible for s in per) >= SERIES_ELIGIBLE_SHARE * len(per)
        undetermined = sorted({name for s in per for name in s.undetermined})
        problem = None if converged else "no spectrum could be fitted"
        if eligible and roles is not None:
            eligible, changing = _consistent(results, roles)
            if not eligible:
                problem = f"arcs change role across the series: {changing}"
        scores.append(CandidateScore(
            candidate.name, candidate.circuit,
            sum(s.bic for s in per) if complete else math.inf,
            sum(s.chi_square for s in per), complete, eligible, tuple(undetermined),
            float(np.mean([s.residual_runs_z for s in converged])) if converged else math.nan,
            problem))
    best, reason = _choose(scores)
    order = sorted(range(len(scores)), key=lambda i: (i != best, scores[i].bic))
    reason = reason.replace("lowest BIC", "lowest BIC summed over the series")
    if roles is not None:
        reason = reason.replace("all determined", "all determined and whose arcs keep their "
                                "roles through the series")
    final = _refined(spectra, members[best].circuit, fits[best], fit_options)
    return SeriesChoice(members[best].name, members[best].circuit, tuple(final),
                        tuple(scores[i] for i in order), reason)
