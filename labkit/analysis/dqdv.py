"""Differential capacity dQ/dV of every half cycle, with a stated smoothing method.

Method, for each cycle and direction (charge: ``I > 0``, discharge: ``I < 0``):

1. Q is the charge passed in that half cycle, integrated from the current
   (rectangle rule), and V the measured voltage.
2. V is made monotonic along the half cycle (running maximum on charge,
   running minimum on discharge), so noise and relaxation spikes cannot make
   Q(V) multivalued.
3. Q is interpolated linearly onto a uniform voltage grid of spacing
   ``voltage_step_volt`` spanning the half cycle.
4. dQ/dV is the first derivative of a Savitzky–Golay filter (polynomial of
   order ``polyorder`` over ``window_points`` grid points) applied to Q on that
   grid; the filter smooths and differentiates in one step, and its effective
   voltage resolution is about ``window_points × voltage_step_volt``.

dQ/dV is reported as a positive magnitude for both directions (Ah/V), so
charge and discharge peaks can be overlaid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.signal import savgol_filter

from labkit.analysis._base import interval_charge_ampere_hour, numeric, plain, require_columns
from labkit.analysis.steps import StepParameters, detect_steps
from labkit.data import CyclingRecord
from labkit.errors import AnalysisError


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
    """

    curves: pd.DataFrame
    voltage_step_volt: float
    window_points: int
    polyorder: int

    method = ("monotonic voltage, linear interpolation of Q onto a uniform voltage grid, "
              "Savitzky-Golay first derivative")

    def to_frame(self) -> pd.DataFrame:
        """The curves as one long table."""
        return self.curves.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: the curves and the smoothing method and settings."""
        return {"curves": plain(self.curves), "method": self.method,
                "voltage_step_volt": self.voltage_step_volt,
                "window_points": self.window_points, "polyorder": self.polyorder}

    def peaks(self, cycle: int, direction: str) -> pd.DataFrame:
        """Local maxima of one curve, highest first."""
        curve = self.curves[(self.curves["cycle_count"] == cycle)
                            & (self.curves["direction"] == direction)]
        y = curve["dq_dv_ampere_hour_per_volt"].to_numpy()
        inner = np.flatnonzero((y[1:-1] > y[:-2]) & (y[1:-1] >= y[2:])) + 1
        return curve.iloc[inner].sort_values("dq_dv_ampere_hour_per_volt", ascending=False)


def differential_capacity(
    record: CyclingRecord,
    *,
    cycles: list[int] | None = None,
    voltage_step_volt: float = 0.002,
    window_points: int = 11,
    polyorder: int = 2,
    step_parameters: StepParameters | None = None,
) -> DifferentialCapacity:
    """dQ/dV of each half cycle of ``record`` (see the module docstring for the method).

    Parameters
    ----------
    record
        Cycling record with time, current and voltage.
    cycles
        Cycles to analyse (default all).
    voltage_step_volt
        Spacing of the voltage grid.
    window_points, polyorder
        Savitzky–Golay window (odd number of grid points) and polynomial order.
    step_parameters
        Thresholds of the step detection that numbers the cycles.

    Raises
    ------
    AnalysisError
        When no half cycle spans enough voltage for the filter window.
    """
    require_columns(record, ["test_time_second", "current_ampere", "voltage_volt"], "dQ/dV")
    if window_points % 2 == 0 or window_points <= polyorder:
        raise ValueError("window_points must be odd and larger than polyorder")
    steps = detect_steps(record, step_parameters)
    time = numeric(record, "test_time_second")
    current = np.nan_to_num(numeric(record, "current_ampere"))
    voltage = numeric(record, "voltage_volt")
    charge = interval_charge_ampere_hour(time, current)
    direction = steps.per_sample(steps.table["direction"])
    frame = pd.DataFrame({"cycle_count": steps.row_cycle, "direction": direction,
                          "q": np.abs(charge), "voltage": voltage})
    frame = frame[(frame["direction"] != 0) & np.isfinite(frame["voltage"])]
    if cycles is not None:
        frame = frame[frame["cycle_count"].isin(cycles)]
    curves = []
    for (cycle, sign), part in frame.groupby(["cycle_count", "direction"], sort=True):
        curve = _curve(part["q"].cumsum().to_numpy(), part["voltage"].to_numpy(), sign > 0,
                       voltage_step_volt, window_points, polyorder)
        if curve is not None:
            curve.insert(0, "direction", "charge" if sign > 0 else "discharge")
            curve.insert(0, "cycle_count", int(cycle))
            curves.append(curve)
    if not curves:
        raise AnalysisError(f"no half cycle spans the {window_points} x {voltage_step_volt} V "
                            "the smoothing window needs", file=record.meta.source_path)
    return DifferentialCapacity(pd.concat(curves, ignore_index=True), voltage_step_volt,
                                window_points, polyorder)


def _curve(capacity: np.ndarray, voltage: np.ndarray, rising: bool, step: float, window: int,
           polyorder: int) -> pd.DataFrame | None:
    monotonic = np.maximum.accumulate(voltage) if rising else np.minimum.accumulate(voltage)
    low, high = float(monotonic.min()), float(monotonic.max())
    grid = np.arange(low, high + step / 2, step)
    if grid.size < window:
        return None
    # np.interp needs increasing x; keep the last capacity at each repeated voltage
    order = monotonic if rising else monotonic[::-1]
    q = capacity if rising else capacity[::-1]
    unique_v, last = np.unique(order[::-1], return_index=True)
    q_unique = q[::-1][last]
    q_grid = np.interp(grid, unique_v, q_unique)
    derivative = savgol_filter(q_grid, window, polyorder, deriv=1, delta=step)
    return pd.DataFrame({"voltage_volt": grid, "capacity_ampere_hour": q_grid,
                         "dq_dv_ampere_hour_per_volt": np.abs(derivative)})
