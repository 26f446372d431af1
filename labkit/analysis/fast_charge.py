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

    rows = pd.DataFrame({"charge": row_charge, "time": time, "q": charge, "cc": row_cc})
    rows = rows[rows["charge"] > 0]
    # each charge starts at the previous sample (the interval ending at its first sample is its own)
    first_positions = np.flatnonzero(np.diff(row_charge, prepend=0) > 0)
    start_time = pd.Series(time[np.maximum(first_positions - 1, 0)],
                           index=row_charge[first_positions])
    rows["elapsed"] = rows["time"] - start_time.reindex(rows["charge"]).to_numpy()
    rows["q_cumulative"] = rows.groupby("charge")["q"].cumsum()
    grouped = rows.groupby("charge", sort=True)
    total = grouped["q"].sum()
    result = pd.DataFrame({
        "charge": total.index.to_numpy(int),
        "cycle_count": table.loc[starts, "cycle_count"].to_numpy(int),
        "start_time_second": start_time.reindex(total.index).to_numpy(),
        "duration_second": grouped["elapsed"].max().to_numpy(),
        "capacity_ampere_hour": total.to_numpy(),
    })
    reference = total if nominal is None else pd.Series(float(nominal), index=total.index)
    target = soc_target * reference
    curves = {key: (part["elapsed"].to_numpy(), part["q_cumulative"].to_numpy())
              for key, part in grouped}
    result["time_to_80_percent_second"] = [_time_to(*curve, target[key])
                                           for key, curve in curves.items()]
    for minutes in (10, 15):
        reached = np.array([_capacity_at(*curve, 60.0 * minutes) for curve in curves.values()])
        result[f"capacity_in_{minutes}_min_ampere_hour"] = reached
        result[f"soc_in_{minutes}_min"] = reached / reference.to_numpy()
    cc_capacity = rows[rows["cc"]].groupby("charge")["q"].sum().reindex(total.index, fill_value=0.0)
    has_cv = step_has_cv.reindex(total.index, fill_value=False).to_numpy()
    result["cc_fraction"] = cc_capacity.to_numpy() / total.to_numpy()
    result["has_cv_step"] = has_cv
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


def _time_to(elapsed: np.ndarray, cumulative: np.ndarray, target: float) -> float:
    """Time at which ``cumulative`` first reaches ``target`` (linear in between), NaN if never."""
    reached = np.flatnonzero(cumulative >= target * (1 - 1e-12))
    if not reached.size:
        return float("nan")
    k = int(reached[0])
    q_before = cumulative[k - 1] if k > 0 else 0.0
    t_before = elapsed[k - 1] if k > 0 else 0.0
    if cumulative[k] == q_before:
        return float(elapsed[k])
    return float(t_before + (target - q_before) * (elapsed[k] - t_before) / (cumulative[k] - q_before))


def _capacity_at(elapsed: np.ndarray, cumulative: np.ndarray, seconds: float) -> float:
    """Capacity charged after ``seconds`` (linear in between; the total if the charge was shorter)."""
    return float(np.interp(seconds, np.concatenate([[0.0], elapsed]),
                           np.concatenate([[0.0], cumulative])))
