"""Fast-charge metrics of every charge: time to 80 % SOC, capacity in 10/15 min, CC fraction.

A *charge* is a maximal run of consecutive charging steps (CC, CV, pulses;
a rest or a discharge ends it), found by :mod:`labkit.analysis.steps`. Its
capacity is integrated from the current from its first sample on, and the
state of charge is that capacity over a reference: the nominal capacity when
given (argument or file), assuming the charge starts from the discharged
state; otherwise the charge's own final capacity (then "80 % SOC" means 80 %
of what this charge put in, and ``soc_reference`` says so).

The US ABC (USABC) fast-charge goal for EV cells is 80 % SOC in 15 minutes;
``meets_usabc_fast_charge`` is true when ``time_to_80_percent_second`` ≤ 900 s
and the SOC reference is the nominal capacity (it is ``None`` otherwise).

Input: a cell that is charged (at least one charge step). A symmetric-cell (Li|SE|Li)
test and a single potentiostatic hold are refused
(:func:`labkit.analysis.recognise.refuse_other_tests`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from labkit.analysis._base import interval_charge_ampere_hour, numeric, plain
from labkit.analysis.recognise import refuse_other_tests
from labkit.analysis.steps import StepParameters, detect_steps
from labkit.data import CyclingRecord
from labkit.errors import AnalysisError

USABC_SOC = 0.8
USABC_SECOND = 15 * 60.0


@dataclass(frozen=True)
class FastChargeResult:
    """Per-charge fast-charge metrics.

    Attributes
    ----------
    charges
        One row per charge: ``charge`` (from 1), ``cycle_count``, start time,
        ``duration_second``, ``capacity_ampere_hour``, ``time_to_80_percent_second``
        (NaN if never reached), ``capacity_in_10_min_ampere_hour``,
        ``capacity_in_15_min_ampere_hour`` (and as SOC fractions), ``cc_fraction``
        (capacity in constant-current steps / total: below 1 for a CC-CV charge, 1 when
        the charge never reached its CV phase), ``has_cv_step``,
        ``meets_usabc_fast_charge``.
    reference_capacity_ampere_hour
        Nominal capacity used for SOC, or ``None`` when each charge is its own reference.
    soc_reference
        ``"nominal capacity"`` or ``"each charge's own capacity"``.
    soc_target
        Fraction of the SOC reference timed (0.8).
    """

    charges: pd.DataFrame
    reference_capacity_ampere_hour: float | None
    soc_reference: str
    soc_target: float

    def to_frame(self) -> pd.DataFrame:
        """The per-charge table."""
        return self.charges.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly result; ``charges`` holds one entry per charge."""
        return {"charges": plain(self.charges),
                "reference_capacity_ampere_hour": self.reference_capacity_ampere_hour,
                "soc_reference": self.soc_reference, "soc_target": self.soc_target}


def fast_charge_metrics(
    record: CyclingRecord,
    *,
    nominal_capacity_ampere_hour: float | None = None,
    soc_target: float = USABC_SOC,
    step_parameters: StepParameters | None = None,
) -> FastChargeResult:
    """Time to ``soc_target``, capacity in 10 and 15 min and CC fraction of every charge.

    Parameters
    ----------
    record
        Cycling record with time and current.
    nominal_capacity_ampere_hour
        SOC reference; default the record's sample value, else each charge's own capacity.
    soc_target
        SOC fraction to time (0.8 for the USABC goal).
    step_parameters
        Thresholds of the step detection.

    Raises
    ------
    AnalysisError
        When the record has no charge, or is another test: a symmetric-cell test or one
        potentiostatic hold (see :mod:`labkit.analysis.recognise`).
    """
    steps = detect_steps(record, step_parameters)
    refuse_other_tests(record, steps, "fast-charge metrics")
    table = steps.table
    charging = (table["direction"] > 0).to_numpy()
    starts = charging & ~np.concatenate([[False], charging[:-1]])
    charge_of_step = np.where(charging, np.cumsum(starts), 0)
    if not charging.any():
        raise AnalysisError("no charge step found in this record", file=record.meta.source_path)
    nominal = nominal_capacity_ampere_hour or record.meta.sample.nominal_capacity_ampere_hour

    time = numeric(record, "test_time_second")
    charge = interval_charge_ampere_hour(time, np.nan_to_num(numeric(record, "current_ampere")))
    row_charge = steps.per_sample(charge_of_step)
    row_cc = steps.per_sample(table["kind"].to_numpy() == "cc_charge")
    step_has_cv = pd.Series(table["kind"].to_numpy() == "cv_charge").groupby(charge_of_step).any()

    # the samples of every charge, one charge after the other (charges are contiguous)
    charge_rows = np.flatnonzero(row_charge > 0)
    curves = _Charges.of(row_charge, charge_rows, time, charge)
    total = np.add.reduceat(curves.q, curves.starts)
    result = pd.DataFrame({
        "charge": np.arange(1, curves.starts.size + 1),
        "cycle_count": table.loc[starts, "cycle_count"].to_numpy(int),
        "start_time_second": curves.start_time,
        "duration_second": np.maximum.reduceat(curves.elapsed, curves.starts),
        "capacity_ampere_hour": total,
    })
    reference = total if nominal is None else np.full(total.size, float(nominal))
    result["time_to_80_percent_second"] = curves.time_to(soc_target * reference)
    for minutes in (10, 15):
        reached = curves.capacity_at(60.0 * minutes)
        result[f"capacity_in_{minutes}_min_ampere_hour"] = reached
        result[f"soc_in_{minutes}_min"] = reached / reference
    cc_capacity = np.add.reduceat(np.where(row_cc[charge_rows], curves.q, 0.0), curves.starts)
    result["cc_fraction"] = cc_capacity / total
    result["has_cv_step"] = step_has_cv.reindex(result["charge"], fill_value=False).to_numpy()
    if nominal is None:
        result["meets_usabc_fast_charge"] = None
    else:
        result["meets_usabc_fast_charge"] = (result["time_to_80_percent_second"]
                                             <= USABC_SECOND).to_numpy()
    if soc_target != USABC_SOC:
        result = result.rename(columns={
            "time_to_80_percent_second": f"time_to_{round(100 * soc_target)}_percent_second"})
    return FastChargeResult(result, None if nominal is None else float(nominal),
                            "each charge's own capacity" if nominal is None else "nominal capacity",
                            soc_target)


@dataclass(frozen=True)
class _Charges:
    """The samples of every charge, one charge after the other: time since the charge began,
    charge of each interval and its running sum; every metric is computed for all at once."""

    starts: np.ndarray  # position of each charge's first sample
    start_time: np.ndarray  # per charge: the time of the sample before its first
    elapsed: np.ndarray
    q: np.ndarray
    cumulative: np.ndarray

    @classmethod
    def of(cls, row_charge: np.ndarray, rows: np.ndarray, time: np.ndarray,
           charge: np.ndarray) -> _Charges:
        """From the charge number of every sample (0 outside charges) and the samples in one."""
        number = row_charge[rows]
        starts = np.flatnonzero(np.diff(number, prepend=0) != 0)
        # each charge starts at the previous sample (the interval ending at its first sample
        # is its own)
        start_time = time[np.maximum(rows[starts] - 1, 0)]
        lengths = np.diff(np.append(starts, rows.size))
        q = charge[rows]
        cumulative = pd.Series(q).groupby(number, sort=False).cumsum().to_numpy()
        return cls(starts, start_time, time[rows] - np.repeat(start_time, lengths), q, cumulative)

    def _first(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per charge: position of its first sample where ``mask`` holds, and whether any does."""
        position = np.arange(mask.size)
        first = np.minimum.reduceat(np.where(mask, position, mask.size), self.starts)
        found = first < np.append(self.starts[1:], mask.size)
        return np.where(found, first, self.starts), found

    def _before(self, position: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Elapsed time and charge at the sample before ``position`` (0, 0 at a charge's start)."""
        opening = position == self.starts
        previous = np.maximum(position - 1, 0)
        return (np.where(opening, 0.0, self.elapsed[previous]),
                np.where(opening, 0.0, self.cumulative[previous]))

    def time_to(self, target: np.ndarray) -> np.ndarray:
        """Time at which each charge first reaches its ``target`` capacity (linear in between),
        NaN if never."""
        lengths = np.diff(np.append(self.starts, self.q.size))
        reached = self.cumulative >= np.repeat(target, lengths) * (1 - 1e-12)
        k, found = self._first(reached)
        t_before, q_before = self._before(k)
        step = self.cumulative[k] - q_before
        with np.errstate(invalid="ignore", divide="ignore"):
            between = t_before + (target - q_before) * (self.elapsed[k] - t_before) / step
        return np.where(found, np.where(step == 0, self.elapsed[k], between), np.nan)

    def capacity_at(self, seconds: float) -> np.ndarray:
        """Capacity charged after ``seconds`` (linear in between; the total if the charge was
        shorter), as ``np.interp`` over (0, 0) and the charge's samples gives it."""
        k, found = self._first(self.elapsed > seconds)
        t_before, q_before = self._before(k)
        with np.errstate(invalid="ignore", divide="ignore"):
            between = q_before + (seconds - t_before) * (self.cumulative[k] - q_before) / (
                self.elapsed[k] - t_before)
        last = np.append(self.starts[1:], self.q.size) - 1
        return np.where(found, between, self.cumulative[last])
