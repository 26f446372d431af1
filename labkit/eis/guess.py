"""Automatic starting values for a circuit fit, read from the data alone.

Two stages, both cheap:

1. :func:`spectrum_features` describes the spectrum by a non-negative linear
   least-squares fit of a flexible model: a series resistance, RC relaxations
   on a dense grid of time constants (a coarse distribution of relaxation
   times), a low-frequency tail of power-law (CPE-like) terms and an inductance.
   Clusters of relaxation weight are the arcs (resistance, time constant,
   width), the tail terms give the low-frequency spike, the constant gives
   the high-frequency intercept. An unconstrained fit of the same basis gives
   the noise floor a good circuit fit should reach. Peaks from a real DRT can
   be passed instead.
2. :func:`initial_guesses` maps those features onto the circuit's structure:
   a lone top-level R takes the intercept, every ``p(...)`` or Zarc takes an
   arc (in circuit order = from high to low frequency), capacitive and
   diffusive elements in series take the tail, and it proposes a few
   alternative assignments for the multi-start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from scipy.optimize import nnls

from labkit.eis.circuit import Circuit, Leaf, Node, Parallel, Series

#: Time-constant grid density of the feature fit, per decade.
_TAU_PER_DECADE = 5
#: Exponents of the low-frequency tail terms 1/(jω)^a.
_TAIL_EXPONENTS = np.linspace(0.5, 1.0, 11)
#: Relative weight of the smoothing (ridge) rows of the feature fit.
_RIDGE = 0.2

_RESISTIVE = {"R"}
_INDUCTIVE = {"L", "La"}
_ARC_ELEMENTS = {"Zarc"}
_DIFFUSIVE = {"W", "Wo", "Ws", "G", "Gs"}
#: In a Randles slot whose diffusion element takes an arc, the share of the arc's resistance
#: its charge-transfer resistor starts with; its double layer starts this much faster than
#: the fastest arc.
_CHARGE_TRANSFER_SHARE = 0.1
_DOUBLE_LAYER_SPEED_UP = 10.0


@dataclass(frozen=True)
class Arc:
    """One relaxation read from the data: resistance, time constant, dispersion."""

    resistance_ohm: float
    tau_second: float
    alpha: float = 0.9


@dataclass(frozen=True)
class Features:
    """What the data say before any circuit is fitted.

    Attributes
    ----------
    r_inf_ohm
        High-frequency real intercept.
    arcs
        Arcs from high to low frequency.
    tail_q
        Q of the low-frequency power-law tail ``1/(Q (jω)^α)`` (0 when there is none).
    tail_alpha
        α of that tail.
    inductance_henry
        Series inductance seen at high frequency (0 when none).
    noise_floor
        RMS modulus-weighted residual of the feature fit (a lower bound for a good fit).
    omega_min, omega_max
        Angular frequency range of the data.
    """

    r_inf_ohm: float
    arcs: tuple[Arc, ...]
    tail_q: float
    tail_alpha: float
    inductance_henry: float
    noise_floor: float
    omega_min: float
    omega_max: float
    z_scale_ohm: float

    def tail_modulus(self, omega: float) -> float:
        """``|Z|`` of the tail at ``omega`` (``inf`` when there is no tail)."""
        return np.inf if self.tail_q <= 0 else 1.0 / (self.tail_q * omega**self.tail_alpha)


def spectrum_features(frequency_hertz: np.ndarray, impedance: np.ndarray,
                      peaks: Sequence | None = None) -> Features:
    """Read the intercept, arcs and low-frequency tail of one spectrum.

    Parameters
    ----------
    frequency_hertz, impedance
        The spectrum (any frequency order).
    peaks
        Arcs from a distribution-of-relaxation-times analysis (``labkit.eis.drt``'s
        ``DrtResult.peaks``, or :class:`Arc` objects); when given they replace the
        arcs found here.
    """
    omega = 2 * np.pi * np.asarray(frequency_hertz, float)
    z = np.asarray(impedance, complex)
    lo, hi = np.log10(omega.min()), np.log10(omega.max())
    taus = np.logspace(-hi - 1, -lo, int((hi - lo + 1) * _TAU_PER_DECADE) + 1)
    n_tau = taus.size
    stacked, norms, target = _weighted_basis(omega, z, taus)
    coefficients = _relaxation_fit(stacked, norms, target, n_tau, _RIDGE)
    noise_floor = _noise_floor(stacked, target)
    r_inf = float(coefficients[0])
    relaxation = coefficients[1:1 + n_tau]
    tail = coefficients[1 + n_tau:1 + n_tau + _TAIL_EXPONENTS.size]
    inductance = float(coefficients[-1])
    tail_q, tail_alpha = _tail_from_terms(tail, omega)
    arcs = tuple(sorted((_as_arc(p) for p in peaks), key=lambda a: a.tau_second)) \
        if peaks is not None else _arcs_from_relaxation(relaxation, taus, r_inf)
    return Features(
        r_inf_ohm=max(r_inf, 0.0), arcs=arcs, tail_q=tail_q, tail_alpha=tail_alpha,
        inductance_henry=inductance, noise_floor=noise_floor,
        omega_min=float(omega.min()), omega_max=float(omega.max()),
        z_scale_ohm=float(np.median(np.abs(z))))


def _as_arc(peak) -> Arc:
    """An :class:`Arc` from a DRT peak (anything with ``resistance_ohm`` and ``tau_second``,
    and ``alpha`` or ``dispersion`` when known, like :class:`labkit.eis.drt.DrtPeak`)."""
    if isinstance(peak, Arc):
        return peak
    alpha = getattr(peak, "alpha", None) or getattr(peak, "dispersion", None) or 0.9
    return Arc(float(peak.resistance_ohm), float(peak.tau_second), float(alpha))


@lru_cache(maxsize=64)
def _basis(omega_bytes: bytes, taus_bytes: bytes) -> np.ndarray:
    """The unweighted basis for a frequency grid; cached, as a batch shares its grid."""
    jw = 1j * np.frombuffer(omega_bytes)
    taus = np.frombuffer(taus_bytes)
    basis = np.column_stack([np.ones_like(jw), 1.0 / (1.0 + jw[:, None] * taus[None, :]),
                             np.exp(-_TAIL_EXPONENTS[None, :] * np.log(jw)[:, None]), jw])
    basis.flags.writeable = False
    return basis


def _weighted_basis(omega: np.ndarray, z: np.ndarray,
                    taus: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Modulus-weighted basis (R_inf, RC grid, tail terms, inductance), real rows then
    imaginary rows, columns scaled to unit norm; the column norms; the weighted data."""
    weight = 1.0 / np.maximum(np.abs(z), 1e-300)
    basis = _basis(omega.tobytes(), taus.tobytes())
    weighted = basis * weight[:, None]
    stacked = np.vstack([weighted.real, weighted.imag])
    norms = np.linalg.norm(stacked, axis=0)
    norms[norms == 0] = 1.0
    target = np.concatenate([(z * weight).real, (z * weight).imag])
    return stacked / norms, norms, target


def _relaxation_fit(stacked: np.ndarray, norms: np.ndarray, target: np.ndarray,
                    n_tau: int, ridge: float) -> np.ndarray:
    """Non-negative fit of the basis; coefficients (R_inf, one R per τ, one 1/Q per tail
    exponent, L).

    The size of the relaxation weights (not of the tail terms) is penalised, so the
    low-frequency spike is described by the tail terms rather than by slow arcs.
    """
    penalty = np.zeros((n_tau, stacked.shape[1]))
    penalty[np.arange(n_tau), 1 + np.arange(n_tau)] = ridge
    solution, _ = nnls(np.vstack([stacked, penalty]),
                       np.concatenate([target, np.zeros(n_tau)]), maxiter=2000)
    return solution / norms


def _noise_floor(stacked: np.ndarray, target: np.ndarray) -> float:
    """Noise of the weighted data per real value: the residual of the data projected on
    the span of the flexible basis, divided by the degrees of freedom left."""
    q, _ = np.linalg.qr(stacked)
    residual = target - q @ (q.T @ target)
    return float(np.sqrt(np.sum(residual**2) / max(target.size - q.shape[1], 1)))


def _tail_from_terms(tail: np.ndarray, omega: np.ndarray) -> tuple[float, float]:
    """One CPE ``1/(Q (jω)^α)`` matching the sum of tail terms at the lowest frequencies."""
    if not np.any(tail > 0):
        return 0.0, 0.9
    low = np.sort(omega)[:2]
    low = np.array([low[0], max(low[1], low[0] * 1.5)])
    moduli = np.array([np.abs(np.sum(tail * np.exp(-_TAIL_EXPONENTS * np.log(1j * w))))
                       for w in low])
    alpha = float(np.clip(-np.log(moduli[1] / moduli[0]) / np.log(low[1] / low[0]), 0.4, 1.0))
    q = 1.0 / (moduli[0] * low[0] ** alpha)
    return q, alpha


def _arcs_from_relaxation(weights: np.ndarray, taus: np.ndarray,
                          r_inf: float) -> tuple[Arc, ...]:
    """Split the relaxation weights into clusters at their minima; one arc per cluster.

    A cluster counts as an arc when its resistance is at least 3 % of the real
    part the spectrum has reached at its frequency (intercept plus faster arcs).
    """
    total = weights.sum()
    if total <= 0:
        return ()
    # Relative to the largest weight only to drop rounding dust: a blocking electrode's spike
    # read as relaxation can outweigh the bulk arc a thousandfold; the 3 % rule below
    # judges each cluster against the real part reached at its own frequency.
    significant = weights > 1e-9 * weights.max()
    # A cluster boundary is a zero run or a local minimum clearly below both neighbours' peaks.
    labels = np.zeros(weights.size, dtype=int)
    current, rising_peak, in_cluster = 0, 0.0, False
    for index in range(weights.size):
        w = weights[index]
        if not significant[index]:
            in_cluster = False
            labels[index] = -1
            continue
        if not in_cluster:
            current += 1
            in_cluster, rising_peak = True, w
        elif (index + 1 < weights.size and w < weights[index - 1] and w <= weights[index + 1]
              and w < 0.5 * rising_peak and w < 0.5 * weights[index + 1:].max(initial=0)):
            current += 1
            rising_peak = w
        rising_peak = max(rising_peak, w)
        labels[index] = current
    arcs = []
    log_tau = np.log(taus)
    reached = max(r_inf, 0.0)
    for label in range(1, current + 1):
        member = labels == label
        r = weights[member].sum()
        reached += r
        if r < 0.03 * reached:
            continue
        mean = float(np.sum(weights[member] * log_tau[member]) / r)
        spread = float(np.sqrt(np.sum(weights[member] * (log_tau[member] - mean) ** 2) / r))
        # A Zarc of dispersion α spreads its relaxation over ~ (1-α)·π ln-units.
        alpha = float(np.clip(1.0 - max(spread - 0.5, 0.0) / 2.5, 0.6, 1.0))
        arcs.append(Arc(float(r), float(np.exp(mean)), alpha))
    return tuple(arcs)


# --- mapping onto the circuit --------------------------------------------------------


def _top_level(circuit: Circuit) -> tuple[Node, ...]:
    root = circuit.root
    return root.children if isinstance(root, Series) else (root,)


def _leaves_of(node: Node) -> list[Leaf]:
    if isinstance(node, Leaf):
        return [node]
    return [leaf for child in node.children for leaf in _leaves_of(child)]


def _is_arc(node: Node) -> bool:
    return isinstance(node, Parallel) or (isinstance(node, Leaf)
                                          and node.element.symbol in _ARC_ELEMENTS)


def arc_slots(circuit: Circuit) -> list[Node]:
    """The top-level nodes of a circuit that make an arc (``p(...)`` and Zarc), in order."""
    return [node for node in _top_level(circuit) if _is_arc(node)]


def _is_diffusion_slot(node: Node) -> bool:
    """``p(R-W, C)`` and the like: an arc slot with a diffusion element (Randles)."""
    return isinstance(node, Parallel) and any(
        leaf.element.symbol in _DIFFUSIVE for leaf in _leaves_of(node))


def _fit_arcs_to_slots(arcs: tuple[Arc, ...], slots: int) -> list[Arc]:
    """Merge the smallest neighbouring arcs, or split the largest, until the counts agree."""
    arcs = sorted(arcs, key=lambda a: a.tau_second)
    while len(arcs) > slots > 0:
        pair = min(range(len(arcs) - 1),
                   key=lambda i: arcs[i].resistance_ohm + arcs[i + 1].resistance_ohm)
        a, b = arcs[pair], arcs[pair + 1]
        r = a.resistance_ohm + b.resistance_ohm
        tau = float(np.exp((a.resistance_ohm * np.log(a.tau_second)
                            + b.resistance_ohm * np.log(b.tau_second)) / r))
        arcs[pair:pair + 2] = [Arc(r, tau, min(a.alpha, b.alpha, 0.9))]
    while len(arcs) < slots:
        if not arcs:
            return []
        big = max(range(len(arcs)), key=lambda i: arcs[i].resistance_ohm)
        a = arcs[big]
        arcs[big:big + 1] = [Arc(a.resistance_ohm / 2, a.tau_second / 5, a.alpha),
                             Arc(a.resistance_ohm / 2, a.tau_second * 5, a.alpha)]
    return arcs


def _tail_leaves(circuit: Circuit) -> list[Leaf]:
    """Top-level elements that make the low-frequency tail (C, CPE, Warburg...)."""
    return [n for n in _top_level(circuit) if isinstance(n, Leaf) and not _is_arc(n)
            and n.element.symbol not in _RESISTIVE | _INDUCTIVE]


class _Builder:
    """Fills a parameter vector element by element from the features."""

    def __init__(self, circuit: Circuit, features: Features) -> None:
        self.circuit = circuit
        self.features = features
        self.values = np.full(len(circuit.parameter_names), np.nan)
        omega_geo = np.sqrt(features.omega_min * features.omega_max)
        self.default_tau = 1.0 / omega_geo

    def set(self, leaf: Leaf, values: list[float]) -> None:
        self.values[leaf.first:leaf.first + len(values)] = values

    def tail(self, leaf: Leaf, share: int = 1) -> None:
        f = self.features
        w = f.omega_min
        modulus = f.tail_modulus(w)
        if not np.isfinite(modulus):
            modulus = 0.1 * f.z_scale_ohm
        modulus /= share
        alpha = f.tail_alpha if f.tail_q > 0 else 0.9
        symbol = leaf.element.symbol
        if symbol == "C":
            self.set(leaf, [1.0 / (modulus * w)])
        elif symbol == "CPE":
            self.set(leaf, [1.0 / (modulus * w**alpha), alpha])
        elif symbol == "W":
            self.set(leaf, [modulus * np.sqrt(w) / np.sqrt(2.0)])
        elif symbol in {"Wo", "Ws", "G"}:
            tau = 1.0 / w
            self.set(leaf, [modulus, tau])
        elif symbol == "Gs":
            self.set(leaf, [modulus, 1.0 / w, 1.0])
        elif symbol == "TLMQ":
            self.set(leaf, [f.z_scale_ohm, 1.0 / (modulus * w**alpha), alpha])
        else:
            self.generic(leaf)

    def generic(self, leaf: Leaf) -> None:
        """Scale-based values for elements with no structural role."""
        f = self.features
        values = []
        for unit, (low, high) in zip(leaf.element.units, leaf.element.bounds, strict=True):
            if unit == "ohm":
                values.append(f.z_scale_ohm)
            elif unit == "s":
                values.append(self.default_tau)
            elif unit == "F":
                values.append(self.default_tau / f.z_scale_ohm)
            elif unit == "H":
                values.append(max(f.inductance_henry, 1e-3 * f.z_scale_ohm / f.omega_max))
            elif unit == "":
                values.append(0.8 if high <= 1.0 else 1.0)
            elif unit.startswith("F s^"):
                values.append(self.default_tau**0.8 / f.z_scale_ohm)
            elif unit.startswith("ohm s^-1/2"):
                values.append(f.z_scale_ohm * np.sqrt(1.0 / self.default_tau))
            else:
                values.append((low + high) / 2 if np.isfinite(high) else max(low, 1.0))
        self.set(leaf, values)

    def arc(self, node: Node, arc: Arc, double_layer_tau: float | None = None) -> None:
        """Values of one arc slot; with ``double_layer_tau``, a Randles slot whose
        diffusion element makes ``arc`` and whose R || C relaxes at that time constant."""
        if isinstance(node, Leaf):  # Zarc
            self.set(node, [arc.resistance_ohm, arc.tau_second, arc.alpha])
            return
        branch_leaves = [_leaves_of(child) for child in node.children]
        resistors = [leaf for leaves in branch_leaves for leaf in leaves
                     if leaf.element.symbol in _RESISTIVE]
        r = arc.resistance_ohm
        tau = arc.tau_second
        diffusion_takes_arc = double_layer_tau is not None
        if diffusion_takes_arc:
            r, tau = _CHARGE_TRANSFER_SHARE * r, double_layer_tau
        for leaf in resistors:
            self.set(leaf, [r / len(resistors)])
        for leaves in branch_leaves:
            for leaf in leaves:
                symbol = leaf.element.symbol
                if symbol in _RESISTIVE:
                    continue
                if len(leaves) == 1 and symbol == "C":
                    self.set(leaf, [tau / r])
                elif len(leaves) == 1 and symbol == "CPE":
                    self.set(leaf, [tau**arc.alpha / r, arc.alpha])
                elif symbol in _INDUCTIVE:
                    self.generic(leaf)
                elif diffusion_takes_arc and symbol in _DIFFUSIVE:
                    self.diffusion(leaf, arc)
                else:
                    # Diffusion in series with the arc resistance (Randles): the tail.
                    self.tail(leaf)

    def diffusion(self, leaf: Leaf, arc: Arc) -> None:
        """A diffusion element whose impedance at ω = 1/τ is about the arc's resistance."""
        r, tau = arc.resistance_ohm, arc.tau_second
        symbol = leaf.element.symbol
        if symbol == "W":  # |Z| = A √(2/ω)
            self.set(leaf, [r / np.sqrt(2.0 * tau)])
        elif symbol == "Gs":
            self.set(leaf, [r, tau, 1.0])
        else:  # Wo, Ws, G: (resistance, time constant)
            self.set(leaf, [r, tau])

    def build(self, arcs: list[Arc], diffusion_takes_slowest: bool = False) -> np.ndarray:
        """The parameter vector with ``arcs`` (fastest first) on the circuit's arc slots
        in circuit order, or, with ``diffusion_takes_slowest``, the slowest arcs on the
        diffusion elements of Randles slots and the others in circuit order."""
        f = self.features
        top = _top_level(self.circuit)
        slots = [node for node in top if _is_arc(node)]
        if diffusion_takes_slowest:
            ordered = sorted(slots, key=_is_diffusion_slot)  # Randles slots last
            double_layer = min(a.tau_second for a in arcs) / _DOUBLE_LAYER_SPEED_UP
            for node, arc in zip(ordered, arcs, strict=False):
                self.arc(node, arc, double_layer if _is_diffusion_slot(node) else None)
        else:
            for node, arc in zip(slots, arcs, strict=False):
                self.arc(node, arc)
        series_r = [n for n in top if isinstance(n, Leaf) and n.element.symbol in _RESISTIVE]
        unassigned = arcs[len(slots):] if len(arcs) > len(slots) else []
        for leaf in series_r:
            extra = sum(a.resistance_ohm for a in unassigned) if not slots else 0.0
            r_inf = f.r_inf_ohm if f.r_inf_ohm > 0 else 0.01 * f.z_scale_ohm
            self.set(leaf, [(r_inf + extra) / len(series_r)])
        tails = _tail_leaves(self.circuit)
        for leaf in tails:
            self.tail(leaf, share=len(tails))
        for node in top:
            if not isinstance(node, Leaf) and not _is_arc(node):
                for leaf in _leaves_of(node):
                    self.generic(leaf)
        for leaf in self.circuit.leaves:
            if np.isnan(self.values[leaf.first:leaf.first + len(leaf.element.parameters)]).any():
                self.generic(leaf)
        low = np.array([b[0] for b in self.circuit.bounds])
        high = np.array([b[1] for b in self.circuit.bounds])
        tiny = np.where(low == 0, 1e-300, low)
        return np.clip(self.values, tiny, high)


def initial_guesses(circuit: Circuit, features: Features,
                    limit: int | None = None) -> list[np.ndarray]:
    """Starting vectors for the fit, the most plausible first (at most ``limit``).

    The first maps the detected arcs onto the circuit's arcs from high to low
    frequency; the others vary what data alone cannot settle: the slowest arcs made
    by the diffusion element of Randles slots (``p(R-Wo,C)``), the high-frequency
    intercept made by an arc above the measured range, arcs merged or split
    differently, and dispersion (α) near 1 or lower.
    """
    slots = len(arc_slots(circuit))
    everything = tuple(sorted(features.arcs, key=lambda a: a.tau_second))
    visible = everything
    if _tail_leaves(circuit):
        # Relaxations much slower than the lowest frequency belong to the tail element.
        visible = tuple(a for a in everything if a.tau_second * features.omega_min < 0.1)
    base = _fit_arcs_to_slots(visible, slots)
    candidates = [base]
    if slots and base:
        candidates.append([replace(a, alpha=0.97) for a in base])
        candidates.append([replace(a, alpha=0.75) for a in base])
        if len(everything) > len(visible):
            candidates.append(_fit_arcs_to_slots(everything, slots))
        if len(everything) >= slots:
            # The fastest arcs only, or the largest only (the rest joins their neighbours).
            candidates.append(list(everything[:slots]))
            largest = sorted(everything, key=lambda a: -a.resistance_ohm)[:slots]
            candidates.append(_fit_arcs_to_slots(tuple(largest), slots))
        if slots >= 2:
            # Split the largest single arc instead of trusting small ones.
            merged = _fit_arcs_to_slots(visible or everything, 1)
            candidates.append(_fit_arcs_to_slots(tuple(merged), slots))
    plans = [(arcs, False, features) for arcs in candidates]
    if base and any(_is_diffusion_slot(node) for node in arc_slots(circuit)):
        # Randles slots: their diffusion element, not their R || C, makes the slowest arc.
        plans.insert(1, (base, True, features))
    series_r = [n for n in _top_level(circuit) if isinstance(n, Leaf)
                and n.element.symbol in _RESISTIVE]
    if slots >= 2 and series_r and features.r_inf_ohm > 0:
        # The intercept may be an arc above the measured range (a sulfide's bulk): its flank
        # is all the data show. The fastest slot takes most of the intercept, relaxing 3 or
        # 30 times above the highest frequency; the series resistor keeps a tenth.
        # The other slots take the fastest arcs seen: slow "arcs" may be the bend of the
        # low-frequency spike, which the tail element makes.
        seen = visible or everything
        rest = list(seen[:slots - 1]) if len(seen) >= slots - 1 else \
            _fit_arcs_to_slots(seen, slots - 1)
        lead = replace(features, r_inf_ohm=0.1 * features.r_inf_ohm)
        for position, above in ((1, 3.0), (3, 30.0)):
            flank = Arc(0.9 * features.r_inf_ohm, 1.0 / (above * features.omega_max), 1.0)
            plans.insert(position, ([flank] + rest, False, lead))
    guesses: list[np.ndarray] = []
    seen: set[bytes] = set()
    for arcs, diffusion_takes_slowest, described in plans:
        vector = _Builder(circuit, described).build(arcs, diffusion_takes_slowest)
        key = np.round(np.log(np.abs(vector) + 1e-300), 6).tobytes()
        if key not in seen:
            seen.add(key)
            guesses.append(vector)
        if limit is not None and len(guesses) >= limit:
            break
    return guesses


def _arc_time_constant(node: Node, values: np.ndarray) -> float | None:
    """τ of a simple arc slot (``p(R,C)``, ``p(R,CPE)``, Zarc), else None."""
    if isinstance(node, Leaf):
        return float(values[node.first + 1]) if node.element.symbol in _ARC_ELEMENTS else None
    if not isinstance(node, Parallel) or len(node.children) != 2:
        return None
    symbols = {c.element.symbol: c for c in node.children if isinstance(c, Leaf)}
    if "R" not in symbols or len(symbols) != 2:
        return None
    r = values[symbols["R"].first]
    if "C" in symbols:
        return float(r * values[symbols["C"].first])
    if "CPE" in symbols:
        q, alpha = values[symbols["CPE"].first:symbols["CPE"].first + 2]
        return float((r * q) ** (1.0 / alpha)) if alpha > 0 else None
    return None


def _signature(node: Node) -> tuple:
    if isinstance(node, Leaf):
        return (node.element.symbol,)
    return (type(node).__name__, tuple(_signature(c) for c in node.children))


def canonical_arc_order(circuit: Circuit, values: np.ndarray,
                        locked: set[str] = frozenset()) -> np.ndarray:
    """Reorder interchangeable series arcs so that faster arcs come first in the circuit.

    Arcs in series commute, so a fit may return the grain-boundary arc in the
    bulk arc's place; labkit's convention (and the named models') is circuit
    order = high to low frequency. Arcs touching a ``locked`` (fixed, shared,
    bounded) parameter are left alone.
    """
    out = values.copy()
    groups: dict[tuple, list[Node]] = {}
    for node in arc_slots(circuit):
        names = {n for leaf in _leaves_of(node) for n in leaf.parameter_names}
        if names & locked or _arc_time_constant(node, values) is None:
            continue
        groups.setdefault(_signature(node), []).append(node)
    for nodes in groups.values():
        if len(nodes) < 2:
            continue
        order = sorted(nodes, key=lambda n: _arc_time_constant(n, values))
        for target, source in zip(nodes, order, strict=True):
            for t_leaf, s_leaf in zip(_leaves_of(target), _leaves_of(source), strict=True):
                size = len(t_leaf.element.parameters)
                out[t_leaf.first:t_leaf.first + size] = values[s_leaf.first:s_leaf.first + size]
    return out
