"""Electrochemical stability window from a linear sweep or the sweeps of a cyclic voltammogram.

The oxidative limit of an electrolyte is where a sweep towards positive potentials
(an *anodic* sweep) starts to drive an oxidation current, the reductive limit where a
sweep towards negative potentials (*cathodic*) starts to drive a reduction current.
:func:`stability_window` finds them in four steps:

1. **Sweeps.** The record's potential is cut at its turning points (a reversal counts
   once the potential has come back by ``max(5 mV, 10 × its noise)``) and at gaps in
   time; holds at either end are trimmed. A piece is a sweep when it spans at least
   ``minimum_span_volt``, its potential is a straight line in time (R² ≥ 0.99) and its
   current is not constant (a galvanostatic step has a constant current and a
   sloping potential too). Its sweep rate is the slope of that line, with its standard
   error. Files whose technique is known to hold no sweep (GCPL, CA, OCV, PEIS...) are
   refused at once. By default the first anodic and the first cathodic sweep are
   analysed.
2. **Background.** In the sweep's own direction (potential and current multiplied by
   −1 for a cathodic sweep, so the faradaic current rises), the flattest stretch before
   the current rises is found (sliding windows of 15 % of the points, scored by the
   change of their straight line across the window plus twice its scatter) and grown
   on both sides while the points stay within 2 σ of its line (five points in a row
   beyond end it). The line fitted there is the capacitive / background current
   (double layer ``C ν`` and any leakage) and is subtracted from the whole sweep.
3. **Threshold onsets.** For each current density threshold (default 0.01 and
   0.1 mA cm⁻²), the point after the background window from which the
   background-subtracted current stays above the threshold up to its highest value
   (a bump that falls back below it is not the onset, nor is a threshold below three
   times the background's scatter, which noise alone crosses). The crossing is located
   by a weighted fit of ``ln j`` against E, quadratic, over the points between half and
   twice the threshold (an exponential rise is straight there, other rises nearly so),
   or by linear interpolation when fewer than six points are there. Its standard error
   combines the fit's and that of the background line at the crossing, divided by the
   current's slope.
4. **Tangent onset.** The line fitted to the steep rise (from half the highest
   background-subtracted current after the background window up to it) intersected
   with the background line; standard error propagated from both fits. The tangent
   onset depends on how far the sweep was driven: it is reported beside the threshold
   onsets, not instead of them.

No standard fixes the thresholds: 0.01 and 0.1 mA cm⁻² are common choices (a
sweep-rate-dependent capacitive current is why the background is subtracted first),
and every onset states its threshold, its sweep, the sweep rate and its evidence.
Potentials are as measured plus ``reference_offset_volt`` (e.g. +0.62 V to quote a
potential measured against In–Li versus Li⁺/Li).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from labkit.analysis._base import numeric, plain, require_columns, sample_value
from labkit.data import CyclingRecord
from labkit.errors import AnalysisError
from labkit.uncertainty import Estimate

DEFAULT_THRESHOLDS_MILLIAMPERE_PER_SQUARE_CENTIMETER = (0.01, 0.1)
#: Techniques (as parsers name them) that never hold a potential sweep.
NOT_SWEEP_TECHNIQUES = frozenset({
    "GCPL", "CP", "CA", "OCV", "COC", "COV", "WAIT", "PEIS", "GEIS", "SPEIS", "SGEIS", "ZIR",
    "EIS", "FRA", "CHRONOA", "CHRONOP", "CORPOT", "CCD", "CYCLING", "RATE CAPABILITY",
    "CYCLE SUMMARY", "BCD"})
MINIMUM_SPAN_VOLT = 0.05
_MINIMUM_POINTS = 10
_HYSTERESIS_VOLT = 0.005
_LINEARITY = 0.99
_BASELINE_WINDOW = 0.15
_DEPARTURE_SIGMA = 2.0
_DEPARTURE_RUN = 5


@dataclass(frozen=True, eq=False)
class Sweep:
    """One monotonic potential sweep of a record.

    Attributes
    ----------
    index
        Position among the record's sweeps (from 0, in time order).
    direction
        ``"anodic"`` (potential rising) or ``"cathodic"``.
    cycle
        The record's ``cycle_count`` at the sweep's start, when it has one.
    rows
        Row positions (``record.data.iloc``) of the sweep's points.
    start_volt, end_volt
        Measured potential at its first and last point.
    sweep_rate_volt_per_second
        Slope of potential against time (magnitude), with its standard error.
    """

    index: int
    direction: str
    cycle: int | None
    rows: np.ndarray
    start_volt: float
    end_volt: float
    sweep_rate_volt_per_second: Estimate

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (without the row positions)."""
        return {"index": self.index, "direction": self.direction, "cycle": self.cycle,
                "start_volt": self.start_volt, "end_volt": self.end_volt,
                "points": int(self.rows.size),
                "sweep_rate_volt_per_second": self.sweep_rate_volt_per_second.to_dict()}


@dataclass(frozen=True)
class Onset:
    """An onset potential: where, how it was found, and the evidence.

    Attributes
    ----------
    direction
        ``"oxidative"`` (from an anodic sweep) or ``"reductive"`` (cathodic).
    method
        ``"threshold"`` or ``"tangent"``.
    threshold_milliampere_per_square_centimeter
        The current density threshold (``None`` for the tangent method).
    potential_volt
        The onset potential (reference offset applied) with its standard error.
    sweep
        Index of the sweep it came from.
    sweep_rate_volt_per_second
        That sweep's rate.
    evidence
        The numbers behind it, in words.
    """

    direction: str
    method: str
    threshold_milliampere_per_square_centimeter: float | None
    potential_volt: Estimate
    sweep: int
    sweep_rate_volt_per_second: Estimate
    evidence: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the keys of ``labkit window --json``)."""
        return {"direction": self.direction, "method": self.method,
                "threshold_milliampere_per_square_centimeter":
                    self.threshold_milliampere_per_square_centimeter,
                "potential_volt": self.potential_volt.to_dict(), "sweep": self.sweep,
                "sweep_rate_volt_per_second": self.sweep_rate_volt_per_second.to_dict(),
                "evidence": self.evidence}


@dataclass(frozen=True, eq=False)
class SweepAnalysis:
    """One analysed sweep: its curve, the background line, the onsets found and those not.

    Attributes
    ----------
    sweep
        The sweep.
    potential_volt, current_density_milliampere_per_square_centimeter
        The curve (reference offset applied to the potential).
    background_milliampere_per_square_centimeter
        The background line evaluated at every point.
    background_window_volt
        Potentials (offset applied) bounding the stretch the background was fitted on.
    background_slope_milliampere_per_square_centimeter_per_volt
        Slope of the background line against the measured potential.
    background_scatter_milliampere_per_square_centimeter
        RMS residual about it (the noise the thresholds are compared with).
    onsets
        The onsets found on this sweep.
    not_found
        Why an onset was not found (one sentence each).
    """

    sweep: Sweep
    potential_volt: np.ndarray
    current_density_milliampere_per_square_centimeter: np.ndarray
    background_milliampere_per_square_centimeter: np.ndarray
    background_window_volt: tuple[float, float]
    background_slope_milliampere_per_square_centimeter_per_volt: Estimate
    background_scatter_milliampere_per_square_centimeter: float
    onsets: tuple[Onset, ...]
    not_found: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the curve)."""
        return {"sweep": self.sweep.to_dict(),
                "background_window_volt": list(self.background_window_volt),
                "background_slope_milliampere_per_square_centimeter_per_volt":
                    self.background_slope_milliampere_per_square_centimeter_per_volt.to_dict(),
                "background_scatter_milliampere_per_square_centimeter":
                    plain(self.background_scatter_milliampere_per_square_centimeter),
                "not_found": list(self.not_found)}


@dataclass(frozen=True, eq=False)
class StabilityWindow:
    """Oxidative and reductive onsets of a record's sweeps.

    Attributes
    ----------
    file
        The record's source file.
    area_square_centimeter
        Electrode area the current densities use.
    reference_offset_volt
        Added to every measured potential.
    thresholds_milliampere_per_square_centimeter
        The thresholds applied.
    sweeps
        Every sweep found in the record.
    analyses
        The sweeps analysed, with their onsets.
    """

    file: str | None
    area_square_centimeter: float
    reference_offset_volt: float
    thresholds_milliampere_per_square_centimeter: tuple[float, ...]
    sweeps: tuple[Sweep, ...]
    analyses: tuple[SweepAnalysis, ...]

    @property
    def onsets(self) -> tuple[Onset, ...]:
        """Every onset found, sweep by sweep."""
        return tuple(onset for analysis in self.analyses for onset in analysis.onsets)

    def onset(self, direction: str, method: str = "threshold",
              threshold_milliampere_per_square_centimeter: float | None = None) -> Onset | None:
        """The first onset of a direction and method (threshold: the first threshold by default)."""
        if method == "threshold" and threshold_milliampere_per_square_centimeter is None:
            threshold_milliampere_per_square_centimeter = \
                self.thresholds_milliampere_per_square_centimeter[0]
        for onset in self.onsets:
            if (onset.direction == direction and onset.method == method
                    and onset.threshold_milliampere_per_square_centimeter
                    == threshold_milliampere_per_square_centimeter):
                return onset
        return None

    @property
    def sweep_rate_volt_per_second(self) -> Estimate:
        """Sweep rate of the first analysed sweep (each onset states its own)."""
        return self.analyses[0].sweep.sweep_rate_volt_per_second

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"file", "sweep_rate_volt_per_second", "onsets", "sweeps", ...}``."""
        return {"file": self.file,
                "sweep_rate_volt_per_second": self.sweep_rate_volt_per_second.to_dict(),
                "area_square_centimeter": self.area_square_centimeter,
                "reference_offset_volt": self.reference_offset_volt,
                "thresholds_milliampere_per_square_centimeter":
                    list(self.thresholds_milliampere_per_square_centimeter),
                "onsets": [onset.to_dict() for onset in self.onsets],
                "analysed_sweeps": [analysis.to_dict() for analysis in self.analyses],
                "sweeps": [sweep.to_dict() for sweep in self.sweeps]}

    def to_frame(self) -> pd.DataFrame:
        """One row per onset: direction, method, threshold, potential, stderr, sweep, rate."""
        return pd.DataFrame([{
            "direction": o.direction, "method": o.method,
            "threshold_milliampere_per_square_centimeter":
                o.threshold_milliampere_per_square_centimeter,
            "potential_volt": o.potential_volt.value, "potential_stderr_volt":
                o.potential_volt.stderr, "sweep": o.sweep,
            "sweep_rate_volt_per_second": o.sweep_rate_volt_per_second.value,
        } for o in self.onsets], columns=[
            "direction", "method", "threshold_milliampere_per_square_centimeter",
            "potential_volt", "potential_stderr_volt", "sweep", "sweep_rate_volt_per_second"])


# --------------------------------------------------------------------------- sweeps


def _noise(values: np.ndarray) -> float:
    """Standard deviation of white noise on a smooth series, from its second differences."""
    if values.size < 3:
        return 0.0
    return float(np.median(np.abs(np.diff(values, 2)))) / (0.6745 * math.sqrt(6.0))


def _turning_points(potential: np.ndarray, hysteresis: float) -> list[int]:
    """Indices of the extremes between which the potential is monotonic (zig-zag with
    hysteresis: a reversal counts once the potential has come back by ``hysteresis``)."""
    turning = [0]
    high = low = 0
    trend = 0
    extreme = 0
    for i in range(1, potential.size):
        value = potential[i]
        if trend == 0:
            high = i if value > potential[high] else high
            low = i if value < potential[low] else low
            if potential[high] - potential[low] >= hysteresis:
                trend = 1 if high > low else -1
                turning[0] = low if trend == 1 else high
                extreme = high if trend == 1 else low
        elif trend * (value - potential[extreme]) > 0:
            extreme = i
        elif trend * (potential[extreme] - value) >= hysteresis:
            turning.append(extreme)
            trend, extreme = -trend, i
    turning.append(extreme if trend else potential.size - 1)
    return turning


def _polynomial(x: np.ndarray, y: np.ndarray, degree: int = 1,
                weights: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Least-squares ``y = Σ c_k (x - centre)^k``: coefficients, covariance (scaled by the
    residual variance), the centre, and the RMS residual."""
    centre = float(np.average(x, weights=weights))
    design = np.vander(x - centre, degree + 1, increasing=True)
    w = np.ones_like(x) if weights is None else weights
    normal = design.T @ (w[:, None] * design)
    coefficients = np.linalg.solve(normal, design.T @ (w * y))
    residual = y - design @ coefficients
    dof = max(x.size - degree - 1, 1)
    scale = float(w @ residual**2) / dof
    covariance = scale * np.linalg.inv(normal)
    return coefficients, covariance, centre, float(math.sqrt(np.mean(residual**2)))


def _sweep(index: int, rows: np.ndarray, time: np.ndarray, potential: np.ndarray,
           cycle: np.ndarray | None) -> Sweep:
    coefficients, covariance, _, _ = _polynomial(time, potential)
    rate = Estimate(abs(float(coefficients[1])), math.sqrt(max(covariance[1, 1], 0.0)), "V/s")
    return Sweep(index, "anodic" if potential[-1] > potential[0] else "cathodic",
                 None if cycle is None else int(cycle[0]), rows, float(potential[0]),
                 float(potential[-1]), rate)


def _why_not_a_sweep(time: np.ndarray, potential: np.ndarray, current: np.ndarray,
                     minimum_span_volt: float) -> str | None:
    span = abs(potential[-1] - potential[0])
    if potential.size < _MINIMUM_POINTS or span < minimum_span_volt:
        return f"{span * 1000:.3g} mV over {potential.size} points"
    if np.ptp(time) <= 0:
        return "no time passes"
    r = np.corrcoef(time, potential)[0, 1]
    if not r * r >= _LINEARITY:
        return f"{span:.3g} V but not linear in time (R² = {r * r:.3f})"
    level = float(np.median(np.abs(current)))
    spread = float(np.subtract(*np.percentile(current, [75, 25])))
    if np.ptp(current) == 0 or spread <= 0.01 * level:
        return f"{span:.3g} V at a constant current (a galvanostatic step or a rest)"
    return None


def find_sweeps(record: CyclingRecord, *,
                minimum_span_volt: float = MINIMUM_SPAN_VOLT) -> tuple[Sweep, ...]:
    """The monotonic potential sweeps of a record, in time order.

    Raises
    ------
    SchemaError
        When the record lacks time, potential or current.
    AnalysisError
        When its technique holds no sweep, or no piece of it is a sweep (the message
        says what the longest monotonic piece was).
    """
    require_columns(record, ["test_time_second", "voltage_volt", "current_ampere"],
                    "a stability window")
    refused = {t.upper() for t in record.meta.technique} & NOT_SWEEP_TECHNIQUES
    if refused:
        raise AnalysisError(f"the record's technique is {', '.join(sorted(refused))}, which "
                            "holds no potential sweep; a stability window needs a linear sweep "
                            "(LSV) or cyclic voltammetry (CV)", file=record.meta.source_path)
    time, potential = numeric(record, "test_time_second"), numeric(record, "voltage_volt")
    current = numeric(record, "current_ampere")
    cycle = numeric(record, "cycle_count") if "cycle_count" in record.data else None
    rows = np.flatnonzero(np.isfinite(time) & np.isfinite(potential) & np.isfinite(current))
    if rows.size < _MINIMUM_POINTS:
        raise AnalysisError(f"the record has {rows.size} points with time, potential and "
                            f"current; a sweep needs at least {_MINIMUM_POINTS}",
                            file=record.meta.source_path)
    hysteresis = max(_HYSTERESIS_VOLT, 10.0 * _noise(potential[rows]))
    tolerance = 3.0 * _noise(potential[rows])
    step = np.diff(time[rows])
    typical = float(np.median(step[step > 0])) if (step > 0).any() else 0.0
    cuts = np.flatnonzero((step < 0) | (step > 20.0 * typical)) + 1
    sweeps: list[Sweep] = []
    rejected: list[str] = []
    for piece in np.split(rows, cuts):
        if piece.size < 2:
            continue
        turning = _turning_points(potential[piece], hysteresis)
        for first, last in zip(turning[:-1], turning[1:], strict=True):
            segment = piece[first:last + 1]
            oriented = np.sign(potential[segment[-1]] - potential[segment[0]]) * potential[segment]
            # trim holds: the rest before the ramp and the hold at its end
            start = int(np.flatnonzero(oriented <= oriented[0] + tolerance)[-1])
            stop = int(np.flatnonzero(oriented >= oriented[-1] - tolerance)[0])
            if stop <= start:
                rejected.append(f"a hold of {segment.size} points without a ramp")
                continue
            segment = segment[start:stop + 1]
            reason = _why_not_a_sweep(time[segment], potential[segment], current[segment],
                                      minimum_span_volt)
            if reason is None:
                sweeps.append(_sweep(len(sweeps), segment, time[segment], potential[segment],
                                     None if cycle is None else cycle[segment]))
            else:
                rejected.append(reason)
    if not sweeps:
        seen = "; ".join(rejected[:3]) + (f" (and {len(rejected) - 3} more)"
                                          if len(rejected) > 3 else "")
        raise AnalysisError(f"the record holds no potential sweep (a monotonic potential ramp, "
                            f"linear in time, of at least {minimum_span_volt * 1000:g} mV and "
                            f"{_MINIMUM_POINTS} points): its monotonic pieces are {seen or 'none'}",
                            file=record.meta.source_path)
    return tuple(sweeps)


# --------------------------------------------------------------------------- one sweep


@dataclass(frozen=True)
class _Background:
    first: int
    last: int
    coefficients: np.ndarray
    covariance: np.ndarray
    centre: float
    scatter: float

    def at(self, x: np.ndarray) -> np.ndarray:
        return self.coefficients[0] + self.coefficients[1] * (x - self.centre)

    def stderr_at(self, x: float) -> float:
        gradient = np.array([1.0, x - self.centre])
        return math.sqrt(max(float(gradient @ self.covariance @ gradient), 0.0))


def _first_run(flags: np.ndarray, length: int, start: int) -> int | None:
    """First index ≥ ``start`` from which ``length`` flags in a row are true."""
    if flags.size - start < length:
        return None
    runs = np.convolve(flags[start:].astype(int), np.ones(length, int), "valid") == length
    found = np.flatnonzero(runs)
    return int(found[0]) + start if found.size else None


def _background(x: np.ndarray, y: np.ndarray) -> _Background:
    """The background line on the flattest stretch before the rise, grown while it fits."""
    n = x.size
    width = max(_MINIMUM_POINTS, int(_BASELINE_WINDOW * n))
    smooth = pd.Series(y).rolling(5, center=True, min_periods=1).median().to_numpy()
    low, high = np.percentile(smooth, 10), smooth.max()
    risen = np.flatnonzero(smooth > low + 0.5 * (high - low))
    rise = int(risen[0]) if risen.size else n
    limit = max(rise, min(n, 2 * width))  # windows end before the rise (or span half the sweep)
    best, best_score = (0, min(width, n) - 1), math.inf
    for first in range(0, max(limit - width, 0) + 1, max(1, n // 100)):
        last = min(first + width, n) - 1
        coefficients, _, _, scatter = _polynomial(x[first:last + 1], y[first:last + 1])
        score = abs(coefficients[1]) * (x[last] - x[first]) + 2.0 * scatter
        if score < best_score:
            best, best_score = (first, last), score
    first, last = best
    for _ in range(2):  # grow on both sides while the points stay on the line
        coefficients, covariance, centre, scatter = _polynomial(x[first:last + 1],
                                                                y[first:last + 1])
        sigma = max(scatter, 1e-300)
        away = np.abs(y - (coefficients[0] + coefficients[1] * (x - centre))) > (
            _DEPARTURE_SIGMA * sigma)
        right = _first_run(away, _DEPARTURE_RUN, last + 1)
        last = n - 1 if right is None else max(right - 1, last)
        left = _first_run(away[::-1], _DEPARTURE_RUN, n - first)
        first = 0 if left is None else min(n - left, first)
    coefficients, covariance, centre, scatter = _polynomial(x[first:last + 1], y[first:last + 1])
    return _Background(first, last, coefficients, covariance, centre, scatter)


def _threshold_crossing(x: np.ndarray, excess: np.ndarray, threshold: float,
                        background: _Background) -> tuple[float, float, str] | str:
    """``(x, stderr, evidence)`` where ``excess`` crosses ``threshold``, or why not."""
    start = background.last + 1
    if start >= x.size:
        return "the background line fits the sweep to its end: the current never rises above it"
    if threshold < 3 * background.scatter:
        return (f"the threshold is below 3× the background's scatter "
                f"({background.scatter:.3g} mA cm⁻²): noise alone crosses it")
    peak = start + int(np.argmax(excess[start:]))
    if excess[peak] < threshold:
        return (f"the background-subtracted current never reaches {threshold:g} mA cm⁻² "
                f"(highest {float(excess[peak]):.3g} mA cm⁻² after the background window)")
    # from here on the current stays above the threshold up to its highest value
    under = np.flatnonzero(excess[start:peak] < threshold)
    index = start + int(under[-1]) + 1 if under.size else start
    below = np.flatnonzero(excess[start:index] < threshold / 2)
    first = start + int(below[-1]) + 1 if below.size else start
    # the band of half to twice the threshold around the crossing (and the crossing point)
    leaves = np.flatnonzero(excess[index:peak + 1] > 2 * threshold)
    last = max(index + int(leaves[0]) - 1 if leaves.size else peak, index)
    points = np.arange(first, last + 1)
    points = points[excess[points] > 0]
    sigma = max(background.scatter, 1e-300)
    if points.size >= 6 and np.ptp(x[points]) > 0:
        # ln j is nearly straight across the crossing (exactly so for an exponential rise);
        # a quadratic takes up the curvature a rise that is not purely exponential has.
        # Weights 1/var(ln j) = (j/σ)².
        coefficients, covariance, centre, _ = _polynomial(
            x[points], np.log(excess[points]), 2, (excess[points] / sigma) ** 2)
        c0, c1, c2 = coefficients
        if c1 <= 0:
            return "the current does not rise across the threshold (non-positive local slope)"
        u = (math.log(threshold) - c0) / c1
        for _ in range(20):  # Newton from the straight-line root
            u -= (c0 + c1 * u + c2 * u * u - math.log(threshold)) / (c1 + 2 * c2 * u)
        slope = c1 + 2 * c2 * u  # d ln j / dx at the crossing
        if not slope > 0:
            return "the current does not rise across the threshold (non-positive local slope)"
        crossing = centre + u
        gradient = -np.array([1.0, u, u * u]) / slope
        fit_variance = float(gradient @ covariance @ gradient)
        rise = slope * threshold  # d(excess)/dx at the crossing
        how = (f"a fit of ln j (quadratic in E) to {points.size} points between "
               f"{threshold / 2:g} and {2 * threshold:g} mA cm⁻²")
    else:
        before = index - 1
        rise = (excess[index] - excess[before]) / (x[index] - x[before])
        if not rise > 0:
            return "the current does not rise across the threshold"
        crossing = x[before] + (threshold - excess[before]) / rise
        # noise at the two points, and the unknown curve between them (uniform over the gap)
        fit_variance = (sigma / rise) ** 2 + (x[index] - x[before]) ** 2 / 12
        how = "linear interpolation between the two points around it"
    stderr = math.sqrt(fit_variance + (background.stderr_at(crossing) / rise) ** 2)
    return crossing, stderr, how


def _tangent(x: np.ndarray, y: np.ndarray, excess: np.ndarray, floor: float,
             background: _Background) -> tuple[float, float, str] | str:
    start = background.last + 1
    if start >= x.size:
        return "the background line fits the sweep to its end: the current never rises above it"
    peak = start + int(np.argmax(excess[start:]))
    if excess[peak] < floor:
        return (f"the current never rises {floor:.3g} mA cm⁻² above the background (at most "
                f"{excess[peak]:.3g})")
    below = np.flatnonzero(excess[start:peak] < excess[peak] / 2)
    first = start + int(below[-1]) + 1 if below.size else start
    if peak - first + 1 < 3:
        return f"only {peak - first + 1} points on the steep rise; a tangent needs 3"
    steep, steep_cov, steep_centre, _ = _polynomial(x[first:peak + 1], y[first:peak + 1])
    base, base_cov = background.coefficients, background.covariance
    # y = a + b (x - cb) and y = c + d (x - cs): solve for x
    a, b, c, d = base[0], base[1], steep[0], steep[1]
    if d - b <= 0:
        return "the rise is not steeper than the background"
    crossing = (a - b * background.centre - c + d * steep_centre) / (d - b)
    u, v = crossing - background.centre, crossing - steep_centre
    gradient_base = np.array([1.0, u]) / (d - b)
    gradient_steep = -np.array([1.0, v]) / (d - b)
    variance = float(gradient_base @ base_cov @ gradient_base
                     + gradient_steep @ steep_cov @ gradient_steep)
    how = (f"tangent fitted to {peak - first + 1} points on the rise (from half of its highest "
           f"{excess[peak]:.3g} mA cm⁻² above the background up to it), slope {d:.3g} "
           "mA cm⁻² V⁻¹, intersected with the background line")
    return crossing, math.sqrt(max(variance, 0.0)), how


def _analyse(sweep: Sweep, potential: np.ndarray, density: np.ndarray,
             thresholds: Sequence[float], offset: float) -> SweepAnalysis:
    sign = 1.0 if sweep.direction == "anodic" else -1.0
    direction = "oxidative" if sweep.direction == "anodic" else "reductive"
    x, y = sign * potential, sign * density
    background = _background(x, y)
    excess = y - background.at(x)
    window = sorted((float(potential[background.first]) + offset,
                     float(potential[background.last]) + offset))
    base = (f"background line fitted to {background.last - background.first + 1} points "
            f"from {window[0]:.4g} to {window[1]:.4g} V (scatter "
            f"{background.scatter:.3g} mA cm⁻²)")
    onsets, missing = [], []
    for threshold in thresholds:
        found = _threshold_crossing(x, excess, threshold, background)
        if isinstance(found, str):
            missing.append(f"{direction} onset at {threshold:g} mA cm⁻²: {found}")
            continue
        crossing, stderr, how = found
        potential_volt = Estimate(float(sign * crossing + offset), float(stderr), "V")
        onsets.append(Onset(direction, "threshold", threshold, potential_volt, sweep.index,
                            sweep.sweep_rate_volt_per_second,
                            f"current {threshold:g} mA cm⁻² above the {base}, and above it "
                            f"from there up to its highest value; located by {how}"))
    found = _tangent(x, y, excess, max(min(thresholds), 10 * background.scatter), background)
    if isinstance(found, str):
        missing.append(f"{direction} tangent onset: {found}")
    else:
        crossing, stderr, how = found
        potential_volt = Estimate(float(sign * crossing + offset), float(stderr), "V")
        onsets.append(Onset(direction, "tangent", None, potential_volt, sweep.index,
                            sweep.sweep_rate_volt_per_second, f"{how}; {base}"))
    slope = Estimate(float(background.coefficients[1]),
                     math.sqrt(max(float(background.covariance[1, 1]), 0.0)))
    return SweepAnalysis(sweep, potential + offset, density, sign * background.at(x),
                         (window[0], window[1]), slope, background.scatter, tuple(onsets),
                         tuple(missing))


def stability_window(
    record: CyclingRecord,
    *,
    area_square_centimeter: float | None = None,
    thresholds_milliampere_per_square_centimeter: Sequence[float] = (
        DEFAULT_THRESHOLDS_MILLIAMPERE_PER_SQUARE_CENTIMETER),
    reference_offset_volt: float = 0.0,
    sweeps: Sequence[int] | None = None,
    minimum_span_volt: float = MINIMUM_SPAN_VOLT,
) -> StabilityWindow:
    """Oxidative and reductive onset potentials of a linear sweep or cyclic voltammogram.

    Parameters
    ----------
    record
        LSV or CV: ``test_time_second``, ``voltage_volt``, ``current_ampere``.
    area_square_centimeter
        Working-electrode area; default the record's sample area.
    thresholds_milliampere_per_square_centimeter
        Current densities above the background that define the threshold onsets.
    reference_offset_volt
        Added to every potential (a change of reference electrode).
    sweeps
        Indices (from :func:`find_sweeps`) of the sweeps to analyse; default the first
        anodic and the first cathodic sweep.
    minimum_span_volt
        Shortest potential range that counts as a sweep.

    Raises
    ------
    MetadataError
        When the area is neither given nor stated by the file.
    AnalysisError
        When the record holds no sweep, a threshold is not positive or a sweep index
        does not exist.
    """
    thresholds = tuple(float(t) for t in thresholds_milliampere_per_square_centimeter)
    if not thresholds or not all(t > 0 and math.isfinite(t) for t in thresholds):
        raise AnalysisError(f"current density thresholds must be positive numbers, got "
                            f"{list(thresholds_milliampere_per_square_centimeter)}")
    area = sample_value(area_square_centimeter, record, "area_square_centimeter",
                        "working-electrode area", "area_square_centimeter=... or --area CM2")
    found = find_sweeps(record, minimum_span_volt=minimum_span_volt)
    if sweeps is None:
        chosen = [next(s for s in found if s.direction == d) for d in ("anodic", "cathodic")
                  if any(s.direction == d for s in found)]
        chosen.sort(key=lambda s: s.index)
    else:
        unknown = [i for i in sweeps if not 0 <= i < len(found)]
        if unknown:
            raise AnalysisError(f"the record has {len(found)} sweeps (0 to {len(found) - 1}); "
                                f"no sweep {unknown}", file=record.meta.source_path)
        chosen = [found[i] for i in sweeps]
    potential = numeric(record, "voltage_volt")
    density = numeric(record, "current_ampere") * 1000.0 / area
    analyses = tuple(_analyse(s, potential[s.rows], density[s.rows], thresholds,
                              float(reference_offset_volt)) for s in chosen)
    return StabilityWindow(record.meta.source_path, area, float(reference_offset_volt),
                           thresholds, found, analyses)

