"""Differential capacity dQ/dV of every half cycle, with a stated smoothing method.

Method, for each cycle and direction (charge: ``I > 0``, discharge: ``I < 0``):

1. Q is the charge passed in that half cycle, integrated from the current
   (rectangle rule), and V the measured voltage.
2. V is made monotonic along the half cycle (running maximum on charge,
   running minimum on discharge), so noise and relaxation spikes cannot make
   Q(V) multivalued; where it stays at one value, Q there is that of the last
   sample at it.
3. Q is interpolated linearly onto a uniform voltage grid of spacing
   ``voltage_step_volt`` spanning the half cycle.
4. dQ/dV is the first derivative of a Savitzky–Golay filter (polynomial of
   order ``polyorder`` over ``window_points`` grid points) applied to Q on that
   grid; the filter smooths and differentiates in one step, and its effective
   voltage resolution is about ``window_points × voltage_step_volt``.

dQ/dV is reported as a positive magnitude for both directions (Ah/V), so
charge and discharge peaks can be overlaid. Every half cycle is computed at once
(one interpolation and one correlation over all of them), so all cycles of a long
test are the default; ``cycles`` restricts the output.

Input: a cell charged or discharged at constant current. Refused with an
:class:`~labkit.errors.AnalysisError` saying what was found: a symmetric-cell test
and a single potentiostatic hold (:func:`labkit.analysis.recognise.refuse_other_tests`),
a record without a constant-current charge or discharge step (a voltage sweep, ...).
A half cycle with fewer than ``window_points`` samples or grid points (a short pulse)
has no curve; a record in which none has them is refused.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from labkit.analysis._base import (
    evenly_spaced,
    interval_charge_ampere_hour,
    numeric,
    plain,
    require_columns,
)
from labkit.analysis.recognise import refuse_other_tests
from labkit.analysis.steps import StepParameters, detect_steps
from labkit.data import CyclingRecord
from labkit.errors import AnalysisError

#: Most cycles the default of :func:`differential_capacity` draws curves of: a long test's
#: curves are that many cycles evenly spaced (a 10⁴-cycle test would otherwise give 10⁷
#: grid points, many times the record); ``cycles="all"`` asks for every one.
DEFAULT_CYCLE_COUNT = 50

@dataclass(frozen=True)
class DifferentialCapacity:
    """dQ/dV curves.

    Attributes
    ----------
    curves
        Long table: ``cycle_count``, ``direction`` (``"charge"``/``"discharge"``),
        ``voltage_volt``, ``capacity_ampere_hour`` (on the grid) and
        ``dq_dv_ampere_hour_per_volt``.
    voltage_step_volt, window_points, polyorder
        The smoothing settings (see the module docstring).
    selection
        Which cycles have curves and why (the default picks at most
        :data:`DEFAULT_CYCLE_COUNT`).
    """

    curves: pd.DataFrame
    voltage_step_volt: float
    window_points: int
    polyorder: int
    selection: str = "the cycles asked for"

    method = ("monotonic voltage, linear interpolation of Q onto a uniform voltage grid, "
              "Savitzky-Golay first derivative")

    def to_frame(self) -> pd.DataFrame:
        """The curves as one long table."""
        return self.curves.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: the curves and the smoothing method and settings."""
        return {"curves": plain(self.curves), "method": self.method,
                "selection": self.selection, "voltage_step_volt": self.voltage_step_volt,
                "window_points": self.window_points, "polyorder": self.polyorder}

    def peaks(self, cycle: int, direction: str) -> pd.DataFrame:
        """Local maxima of one curve, highest first."""
        curve = self.curves[(self.curves["cycle_count"] == cycle)
                            & (self.curves["direction"] == direction)]
        y = curve["dq_dv_ampere_hour_per_volt"].to_numpy()
        inner = np.flatnonzero((y[1:-1] > y[:-2]) & (y[1:-1] >= y[2:])) + 1
        return curve.iloc[inner].sort_values("dq_dv_ampere_hour_per_volt", ascending=False)

    def main_peaks(self) -> pd.DataFrame:
        """The highest local maximum of every curve (a curve without one has no row).

        One row per curve, in curve order: ``cycle_count``, ``direction``,
        ``voltage_volt``, ``dq_dv_ampere_hour_per_volt``; the same as the first row of
        :meth:`peaks` of each curve, for all curves at once.
        """
        curves = self.curves
        cycle = curves["cycle_count"].to_numpy()
        charge = (curves["direction"] == "charge").to_numpy()
        new = np.ones(cycle.size, dtype=bool)
        new[1:] = (cycle[1:] != cycle[:-1]) | (charge[1:] != charge[:-1])
        same = np.cumsum(new)  # curve number of every point
        y = curves["dq_dv_ampere_hour_per_volt"].to_numpy()
        inner = np.zeros(y.size, dtype=bool)
        inner[1:-1] = ((y[1:-1] > y[:-2]) & (y[1:-1] >= y[2:]) & (same[1:-1] == same[:-2])
                       & (same[1:-1] == same[2:]))
        maxima = curves[inner]
        key = same[inner]
        # per curve, highest first (lexsort is stable: equal heights stay in voltage order)
        order = np.lexsort((-maxima["dq_dv_ampere_hour_per_volt"].to_numpy(), key))
        top = maxima.iloc[order][np.diff(key[order], prepend=-1) != 0]
        return top[["cycle_count", "direction", "voltage_volt",
                    "dq_dv_ampere_hour_per_volt"]].reset_index(drop=True)


def differential_capacity(
    record: CyclingRecord,
    *,
    cycles: Sequence[int] | str | None = None,
    voltage_step_volt: float = 0.002,
    window_points: int = 11,
    polyorder: int = 2,
    step_parameters: StepParameters | None = None,
) -> DifferentialCapacity:
    """dQ/dV of each half cycle of ``record`` (see the module docstring for the method).

    Parameters
    ----------
    record
        Cycling record with time, current and voltage, of a cell charged or discharged
        at constant current (see the module docstring for what is refused).
    cycles
        Cycles to analyse; ``"all"`` for every cycle. Default: every cycle that has a
        curve when there are at most :data:`DEFAULT_CYCLE_COUNT` of them, else that many
        evenly spaced from the first to the last (``selection`` in the result says which).
    voltage_step_volt
        Spacing of the voltage grid.
    window_points, polyorder
        Savitzky–Golay window (odd number of grid points) and polynomial order.
    step_parameters
        Thresholds of the step detection that numbers the cycles.

    Raises
    ------
    ValueError
        When the window is even or not larger than ``polyorder``, or the step is not a
        positive number.
    AnalysisError
        When the record is another test (a symmetric cell, a potentiostatic hold), has no
        constant-current charge or discharge, or no half cycle has the samples and the
        voltage span the smoothing window needs.
    """
    require_columns(record, ["test_time_second", "current_ampere", "voltage_volt"], "dQ/dV")
    if window_points % 2 == 0 or window_points <= polyorder:
        raise ValueError("window_points must be odd and larger than polyorder")
    if not (math.isfinite(voltage_step_volt) and voltage_step_volt > 0):
        raise ValueError(f"voltage_step_volt must be a positive number, got {voltage_step_volt}")
    steps = detect_steps(record, step_parameters)
    refuse_other_tests(record, steps, "dQ/dV")
    kinds = steps.table["kind"]
    if not kinds.isin(("cc_charge", "cc_discharge")).any():
        found = ", ".join(f"{kind} × {count}" for kind, count in kinds.value_counts().items())
        raise AnalysisError("dQ/dV needs charges or discharges at constant current; found no "
                            f"constant-current step (steps: {found})",
                            file=record.meta.source_path)
    time = numeric(record, "test_time_second")
    current = np.nan_to_num(numeric(record, "current_ampere"))
    voltage = numeric(record, "voltage_volt")
    direction = steps.per_sample(steps.table["direction"])
    keep = (direction != 0) & np.isfinite(voltage)
    if cycles is not None and not isinstance(cycles, str):
        keep &= np.isin(steps.row_cycle, np.asarray(cycles, dtype=np.int64))
    half = _HalfCycles.of(steps.row_cycle[keep], direction[keep], voltage[keep],
                          np.abs(interval_charge_ampere_hour(time, current))[keep])
    grid = half.grid(voltage_step_volt)
    usable = (grid.points >= window_points) & (half.lengths >= window_points)
    if not usable.any():
        raise AnalysisError(
            f"no half cycle has the {window_points} samples and the {window_points} × "
            f"{voltage_step_volt} V span the smoothing window needs; found "
            f"{half.describe()}", file=record.meta.source_path)
    chosen, selection = _chosen_cycles(half.cycle[usable], cycles)
    curves = half.curves(grid, usable & np.isin(half.cycle, chosen), window_points, polyorder)
    return DifferentialCapacity(curves, voltage_step_volt, window_points, polyorder, selection)


def _chosen_cycles(with_curve: np.ndarray, cycles: Sequence[int] | str | None,
                   ) -> tuple[np.ndarray, str]:
    """The cycles to draw curves of (from those with one) and the words for the choice."""
    available = np.unique(with_curve)
    if cycles is not None and not isinstance(cycles, str):
        return available, "the cycles asked for"
    if cycles is not None and cycles != "all":
        raise ValueError(f"cycles must be a list of cycle numbers or 'all', got {cycles!r}")
    if cycles == "all" or available.size <= DEFAULT_CYCLE_COUNT:
        return available, f"every cycle with a curve ({available.size})"
    picked = evenly_spaced(available, DEFAULT_CYCLE_COUNT)
    return picked, (f"{picked.size} of the {available.size} cycles with a curve, evenly spaced "
                    f"from cycle {picked[0]} to {picked[-1]} (every one: cycles='all', CLI "
                    "--all-cycles)")


@dataclass(frozen=True)
class _HalfCycles:
    """The samples of every half cycle (a cycle's samples with one current direction), in
    curve order (cycle, then discharge before charge), time order within each.

    ``x`` is the voltage in the direction it moves (V on charge, −V on discharge) made
    monotonic per half cycle and shifted so that each half cycle lies above the one before
    (``x + offset × half-cycle number``): one ``np.interp`` then serves every curve.
    """

    cycle: np.ndarray  # per half cycle
    rising: np.ndarray  # per half cycle: charge
    starts: np.ndarray  # per half cycle: its first sample
    lengths: np.ndarray
    x: np.ndarray  # per sample
    capacity: np.ndarray  # per sample: charge passed since the half cycle began
    x_floor: float  # x = (±V) − x_floor + offset × number
    offset: float

    @classmethod
    def of(cls, cycle: np.ndarray, direction: np.ndarray, voltage: np.ndarray,
           charge: np.ndarray) -> _HalfCycles:
        """Group samples (cycle, direction, voltage, |charge| of their interval) into half cycles."""
        key = 2 * cycle.astype(np.int64) + (direction > 0)
        order = np.argsort(key, kind="stable")
        key, moving = key[order], np.where(direction[order] > 0, voltage[order], -voltage[order])
        starts = np.flatnonzero(np.diff(key, prepend=-1) != 0)
        lengths = np.diff(np.append(starts, key.size))
        number = np.repeat(np.arange(starts.size), lengths)
        capacity = pd.Series(charge[order]).groupby(number, sort=False).cumsum().to_numpy()
        x_floor = float(moving.min()) if moving.size else 0.0
        offset = float(moving.max() - x_floor) + 1.0 if moving.size else 1.0
        x = np.maximum.accumulate(moving - x_floor + offset * number)
        return cls(key[starts] // 2, (key[starts] % 2).astype(bool), starts, lengths, x,
                   capacity, x_floor, offset)

    def describe(self) -> str:
        """How many half cycles, of how many samples, spanning how much voltage."""
        if not self.starts.size:
            return "no sample with current and a voltage in the cycles asked for"
        span = self.x[self.starts + self.lengths - 1] - self.x[self.starts]
        return (f"{self.starts.size} half cycles of at most {self.lengths.max()} samples "
                f"spanning at most {span.max():.3g} V")

    def grid(self, step: float) -> _Grid:
        """The voltage grid of every half cycle: from its lowest voltage, ``step`` apart."""
        number = np.arange(self.starts.size)
        low_x = self.x[self.starts] - self.offset * number  # monotonic: first is lowest
        high_x = self.x[self.starts + self.lengths - 1] - self.offset * number
        low = np.where(self.rising, low_x + self.x_floor, -high_x - self.x_floor)
        high = low + (high_x - low_x)
        return _Grid(step, low, low_x, high_x,
                     np.ceil((high + step / 2 - low) / step).astype(np.int64))

    def curves(self, grid: _Grid, use: np.ndarray, window: int, polyorder: int) -> pd.DataFrame:
        """The dQ/dV curves of the half cycles ``use`` selects (each with ``window`` points)."""
        points, number = grid.points[use], np.flatnonzero(use)
        grid_starts = np.concatenate([[0], np.cumsum(points)[:-1]])
        index = np.arange(points.sum()) - np.repeat(grid_starts, points)
        volt = np.repeat(grid.low_volt[use], points) + grid.step * index
        rising = np.repeat(self.rising[use], points)
        grid_x = np.clip(np.where(rising, volt, -volt) - self.x_floor,
                         np.repeat(grid.low_x[use], points), np.repeat(grid.high_x[use], points))
        grid_x += self.offset * np.repeat(number, points)
        # Q at each (monotonic) voltage: the charge passed by the last sample at it
        last = np.flatnonzero(np.diff(self.x, append=np.inf) != 0)
        q_grid = np.interp(grid_x, self.x[last], self.capacity[last])
        derivative = _savitzky_golay_derivative(q_grid, grid_starts, points, grid.step, window,
                                                polyorder)
        return pd.DataFrame({
            "cycle_count": np.repeat(self.cycle[use], points).astype(int),
            # taking from a two-entry index makes the text column without a string per row
            "direction": pd.Index(["discharge", "charge"]).take(rising.astype(np.int8)),
            "voltage_volt": volt, "capacity_ampere_hour": q_grid,
            "dq_dv_ampere_hour_per_volt": np.abs(derivative)})


@dataclass(frozen=True)
class _Grid:
    """Per half cycle: the grid spacing, lowest voltage, monotonic-x range and point count."""

    step: float
    low_volt: np.ndarray
    low_x: np.ndarray
    high_x: np.ndarray
    points: np.ndarray


def _savitzky_golay_derivative(values: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
                               step: float, window: int, polyorder: int) -> np.ndarray:
    """``scipy.signal.savgol_filter(..., deriv=1, mode="interp")`` of each curve, all at once.

    Inside a curve the filter is one correlation with fixed weights; in the ``window // 2``
    points at either end it evaluates the polynomial fitted to the curve's first or last
    ``window`` points: both are rows of the filter's matrix on a ``window``-point signal.
    """
    weights = _savitzky_golay_matrix(window, polyorder, step)
    half = window // 2
    out = np.empty_like(values)
    out[half:values.size - half] = np.correlate(values, weights[half], mode="valid")
    head = starts[:, None] + np.arange(window)
    tail = (starts + lengths - window)[:, None] + np.arange(window)
    out[head[:, :half]] = values[head] @ weights[:half].T
    out[tail[:, window - half:]] = values[tail] @ weights[window - half:].T
    return out


def _savitzky_golay_matrix(window: int, polyorder: int, step: float) -> np.ndarray:
    """The first-derivative Savitzky–Golay filter of a ``window``-point signal as a matrix.

    Row ``i`` gives the derivative at point ``i`` of the least-squares polynomial of order
    ``polyorder`` through the ``window`` points spaced ``step`` apart: the middle row is the
    filter's usual weights, the others what ``savgol_filter(mode="interp")`` uses at the
    ends (computed here because importing ``scipy.signal`` takes seconds).
    """
    x = np.arange(window) - window // 2
    fit = np.linalg.pinv(np.vander(x, polyorder + 1, increasing=True))  # values -> coefficients
    power = np.arange(polyorder + 1)
    slope = power * np.where(power > 0, x[:, None] ** np.maximum(power - 1, 0), 0.0)
    return slope @ fit / step
