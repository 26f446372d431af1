"""Segment a cycling record into steps (rest, OCV, CC charge/discharge, CV, pulse) from the data.

Vendors' step columns are missing in many exports and unreliable in others
(a BioLogic MB sequence, a Neware "CC-CV" step holding both phases, a cycle
counter that increments in the middle of a charge), so the steps are found in
the current and voltage themselves:

1. Every sample is *resting* when ``|I|`` is below ``rest_current_fraction``
   of the largest ``|I|`` in the record, else *charging* (``I > 0``) or
   *discharging*.
2. A new segment starts where that direction changes, where the current jumps
   by more than ``jump_fraction`` of its magnitude while the voltage is not held
   (``|ΔV| > cv_voltage_tolerance_volt``), and, when ``use_vendor_steps`` and the
   record has ``step_count`` or ``step_index``, where the vendor's step changes.
   A lone sample taken while the current ramps up joins the step it ramps into.
3. A charging or discharging segment whose current leaves its initial value
   (median of its first samples) by more than ``cc_current_fraction`` and whose
   voltage then stays within ``cv_voltage_tolerance_volt`` is split into a CC and
   a CV part; the CV part starts after the last sample whose current is within a
   tenth of that fraction of the CC value.
4. Each segment is classified: ``ocv`` (rest before any current flowed),
   ``rest``, ``cc_charge``/``cc_discharge`` (current constant within
   ``cc_current_fraction``), ``pulse`` (a constant-current segment no longer than
   ``pulse_max_second``), ``cv_charge``/``cv_discharge`` (voltage constant within
   ``cv_voltage_tolerance_volt`` while the current changes), or ``other``
   (current and voltage both vary: voltammetry sweeps, constant power...).

Cycles: the record's ``cycle_count`` with ``cycles="vendor"``; with the default
``"auto"`` also, unless it is constant while the data hold several cycles;
otherwise a cycle starts at every step
in the test's first current direction that follows a step in the opposite
direction (a cathode half cell charged first counts charge + discharge as
one cycle; an anode half cell discharged first counts discharge + charge).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from labkit.analysis._base import (
    interval_charge_ampere_hour,
    numeric,
    plain,
    require_columns,
)
from labkit.data import CyclingRecord
from labkit.errors import AnalysisError

STEP_KINDS = (
    "ocv", "rest", "cc_charge", "cc_discharge", "cv_charge", "cv_discharge", "pulse", "other",
)


@dataclass(frozen=True)
class StepParameters:
    """Thresholds of the step segmentation (see the module docstring)."""

    rest_current_fraction: float = 0.002
    jump_fraction: float = 0.2
    cc_current_fraction: float = 0.02
    cv_voltage_tolerance_volt: float = 0.005
    pulse_max_second: float = 30.0
    head_samples: int = 3
    use_vendor_steps: bool = True
    cycles: str = "auto"


@dataclass(frozen=True)
class Steps:
    """The steps of a record.

    Attributes
    ----------
    table
        One row per step: ``step`` (from 1), ``kind``, ``cycle_count``,
        ``first_row``/``last_row`` (positions in the record), start/end time,
        ``duration_second``, mean/start/end current, start/end/mean voltage,
        ``capacity_ampere_hour`` and ``energy_watt_hour`` (magnitudes, integrated
        from current and voltage).
    row_step
        The step number of every sample of the record.
    row_cycle
        The cycle number of every sample.
    cycle_source
        ``"vendor cycle_count"`` or how cycles were derived.
    parameters
        The thresholds used.
    """

    table: pd.DataFrame
    row_step: np.ndarray = field(repr=False)
    row_cycle: np.ndarray = field(repr=False)
    cycle_source: str
    parameters: StepParameters

    def to_frame(self) -> pd.DataFrame:
        """The step table."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: the steps, the cycle source and the thresholds."""
        return {
            "steps": plain(self.table),
            "cycle_source": self.cycle_source,
            "parameters": plain(self.parameters.__dict__),
        }

    def of_kind(self, *kinds: str) -> pd.DataFrame:
        """The rows of the step table whose ``kind`` is one of ``kinds``."""
        return self.table[self.table["kind"].isin(kinds)]

    def per_sample(self, per_step: np.ndarray | pd.Series) -> np.ndarray:
        """A value per step (in step-table order) spread to every sample of the record."""
        return np.asarray(per_step)[self.row_step - 1]


def detect_steps(record: CyclingRecord, parameters: StepParameters | None = None) -> Steps:
    """Segment ``record`` into steps from its current and voltage.

    Parameters
    ----------
    record
        A cycling record with ``test_time_second`` and ``current_ampere``
        (``voltage_volt`` is used when present).
    parameters
        Thresholds; defaults suit cycler data sampled every few seconds.

    Returns
    -------
    Steps

    Raises
    ------
    SchemaError
        When the record has no current column.
    AnalysisError
        When the record has no samples or no current flows at all.
    """
    parameters = parameters or StepParameters()
    require_columns(record, ["test_time_second", "current_ampere"], "step detection")
    time = numeric(record, "test_time_second")
    current = numeric(record, "current_ampere")
    voltage = numeric(record, "voltage_volt") if "voltage_volt" in record.data else np.full_like(
        current, np.nan)
    if len(time) == 0:
        raise AnalysisError("the record has no samples", file=record.meta.source_path)
    peak = np.nanmax(np.abs(current)) if np.isfinite(current).any() else 0.0
    if not peak > 0:
        raise AnalysisError("no current flows in this record (|I| is 0 throughout); "
                            "no charge or discharge step to analyse", file=record.meta.source_path)
    current = np.nan_to_num(current)
    direction = np.where(np.abs(current) <= parameters.rest_current_fraction * peak, 0,
                         np.sign(current)).astype(int)

    segment = _segments(record, current, voltage, direction, parameters)
    segment = _split_cc_cv(segment, current, voltage, direction, parameters)
    table = _step_table(time, current, voltage, direction, segment, parameters)
    row_step = segment + 1
    cycles, cycle_source = _cycles(record, table, row_step, parameters)
    table["cycle_count"] = cycles[table["first_row"].to_numpy()]
    columns = ["step", "kind", "cycle_count"] + [c for c in table.columns
                                                 if c not in ("step", "kind", "cycle_count")]
    return Steps(table[columns], row_step, cycles, cycle_source, parameters)


def _segments(record: CyclingRecord, current: np.ndarray, voltage: np.ndarray,
              direction: np.ndarray, parameters: StepParameters) -> np.ndarray:
    """Segment number (from 0) of every sample, before the CC/CV split."""
    previous_current = np.concatenate([current[:1], current[:-1]])
    magnitude = np.maximum(np.abs(current), np.abs(previous_current))
    jump = np.abs(current - previous_current) > parameters.jump_fraction * magnitude
    voltage_moves = ~(np.abs(np.diff(voltage, prepend=voltage[:1]))
                      <= parameters.cv_voltage_tolerance_volt)
    new = (direction != np.concatenate([direction[:1], direction[:-1]])) | (
        jump & voltage_moves & (direction != 0))
    vendor = np.zeros_like(new)
    if parameters.use_vendor_steps:
        for column in ("step_count", "step_index"):
            if column in record.data:
                steps = numeric(record, column)
                vendor = np.diff(steps, prepend=steps[:1]) != 0
                break
    new[0] = False
    # a lone sample taken while the current ramps up belongs to the step it ramps into
    starts = np.flatnonzero(new)
    lone = starts[(np.diff(starts, append=len(new)) == 1) & (starts + 1 < len(new))]
    lone = lone[(direction[lone] != 0) & (direction[lone] == direction[np.minimum(lone + 1,
                                                                                   len(new) - 1)])]
    new[lone + 1] = False
    return np.cumsum(new | vendor)


def _split_cc_cv(segment: np.ndarray, current: np.ndarray, voltage: np.ndarray,
                 direction: np.ndarray, parameters: StepParameters) -> np.ndarray:
    """Split segments that hold a CC phase followed by a CV phase."""
    frame = pd.DataFrame({"segment": segment, "current": current, "voltage": voltage,
                          "moving": direction != 0})
    grouped = frame.groupby("segment", sort=False)
    rank = grouped.cumcount().to_numpy()
    head = frame[rank < parameters.head_samples].groupby("segment")["current"].median()
    reference = head.reindex(segment).to_numpy()
    deviates = (np.abs(current - reference) > parameters.cc_current_fraction * np.abs(reference)) & (
        frame["moving"].to_numpy())
    # first deviating sample of each segment; the CV part is from there to the segment end
    frame["deviates"] = deviates
    first = frame[deviates].groupby("segment").head(1)
    if first.empty:
        return segment
    first_position = pd.Series(first.index.to_numpy(), index=first["segment"].to_numpy())
    start = first_position.reindex(segment).to_numpy()
    tail = np.isfinite(start) & (np.arange(len(segment)) >= np.nan_to_num(start, nan=np.inf))
    tail_voltage = frame.loc[tail].groupby("segment")["voltage"].agg(["min", "max", "size"])
    held = tail_voltage[(tail_voltage["max"] - tail_voltage["min"]
                         <= parameters.cv_voltage_tolerance_volt) & (tail_voltage["size"] >= 2)]
    # a split needs a CC head before the CV tail
    held = held[first_position.reindex(held.index).to_numpy() > _segment_starts(segment)[held.index]]
    if held.empty:
        return segment
    split_rows = first_position.reindex(held.index).to_numpy().astype(int)
    # the CV phase began where the current first left its CC value by a tenth of the tolerance
    close = (np.abs(current - reference) <= 0.1 * parameters.cc_current_fraction
             * np.abs(reference)) & (np.arange(len(segment)) < np.nan_to_num(start, nan=-1))
    last_close = pd.Series(np.flatnonzero(close)).groupby(segment[close]).max()
    refined = last_close.reindex(held.index).to_numpy() + 1
    split_rows = np.where(np.isfinite(refined), refined, split_rows).astype(int)
    new = np.diff(segment, prepend=segment[:1]) != 0
    new[split_rows] = True
    new[0] = False
    return np.cumsum(new)


def _segment_starts(segment: np.ndarray) -> np.ndarray:
    """Position of the first sample of each segment, indexed by segment number."""
    starts = np.flatnonzero(np.diff(segment, prepend=-1) != 0)
    return starts


def _step_table(time: np.ndarray, current: np.ndarray, voltage: np.ndarray,
                direction: np.ndarray, segment: np.ndarray,
                parameters: StepParameters) -> pd.DataFrame:
    # segments are contiguous, so every statistic is a numpy reduceat over them
    first = np.flatnonzero(np.diff(segment, prepend=-1) != 0)
    last = np.concatenate([first[1:], [len(segment)]]) - 1
    samples = last - first + 1
    charge = interval_charge_ampere_hour(time, current)
    energy = charge * np.nan_to_num(voltage)
    finite_voltage = np.isfinite(voltage)
    voltage_count = np.add.reduceat(finite_voltage.astype(int), first)
    # current spread without each step's first and last sample (switching transients)
    inner_current = current.copy()
    edges = np.concatenate([first, last])
    inner_current[edges[np.concatenate([samples, samples]) > 2]] = np.nan
    spread = np.fmax.reduceat(inner_current, first) - np.fmin.reduceat(inner_current, first)
    with np.errstate(invalid="ignore", divide="ignore"):
        table = pd.DataFrame({
            "first_row": first,
            "last_row": last,
            "start_time_second": time[first],
            "end_time_second": time[last],
            "direction": np.sign(np.add.reduceat(direction, first)).astype(int),
            "mean_current_ampere": np.add.reduceat(current, first) / samples,
            "start_current_ampere": current[first],
            "end_current_ampere": current[last],
            "current_spread_ampere": spread,
            "start_voltage_volt": voltage[first],
            "end_voltage_volt": voltage[last],
            "mean_voltage_volt": np.add.reduceat(np.where(finite_voltage, voltage, 0.0), first)
            / voltage_count,
            "voltage_range_volt": np.fmax.reduceat(voltage, first) - np.fmin.reduceat(voltage,
                                                                                      first),
            "capacity_ampere_hour": np.abs(np.add.reduceat(charge, first)),
            "energy_watt_hour": np.abs(np.add.reduceat(energy, first)),
            "samples": samples,
        })
    # duration: from the previous step's last sample (the step started in that interval)
    end = table["end_time_second"].to_numpy()
    previous_end = np.concatenate([table["start_time_second"].to_numpy()[:1], end[:-1]])
    table["duration_second"] = end - previous_end
    table.insert(0, "step", np.arange(1, len(table) + 1))
    table.insert(1, "kind", _kinds(table, parameters))
    return table


def _kinds(table: pd.DataFrame, parameters: StepParameters) -> np.ndarray:
    direction = table["direction"].to_numpy()
    mean_magnitude = np.abs(table["mean_current_ampere"].to_numpy())
    spread = table["current_spread_ampere"].to_numpy()
    constant_current = spread <= 2 * parameters.cc_current_fraction * mean_magnitude
    held_voltage = table["voltage_range_volt"].to_numpy() <= parameters.cv_voltage_tolerance_volt
    short = table["duration_second"].to_numpy() <= parameters.pulse_max_second
    moving = direction != 0
    before_any_current = np.cumsum(moving) == 0
    charge = direction > 0
    return np.select(
        [
            ~moving & before_any_current,
            ~moving,
            constant_current & short & (len(table) > 1),
            constant_current & charge,
            constant_current,
            held_voltage & charge,
            held_voltage,
        ],
        ["ocv", "rest", "pulse", "cc_charge", "cc_discharge", "cv_charge", "cv_discharge"],
        default="other",
    )


def _cycles(record: CyclingRecord, table: pd.DataFrame, row_step: np.ndarray,
            parameters: StepParameters) -> tuple[np.ndarray, str]:
    if parameters.cycles not in ("auto", "vendor", "derived"):
        raise ValueError("cycles must be 'auto', 'vendor' or 'derived'")
    if parameters.cycles != "derived" and "cycle_count" in record.data:
        vendor = numeric(record, "cycle_count")
        if np.isfinite(vendor).any():
            filled = pd.Series(vendor).ffill().bfill().to_numpy().astype(int)
            derived, source = _derived_cycles(table, row_step)
            if parameters.cycles == "vendor" or np.unique(filled).size > 1 or (
                    np.unique(derived).size == 1):
                return filled, "vendor cycle_count"
            return derived, "the vendor cycle_count is constant; " + source
    if parameters.cycles == "vendor":
        raise AnalysisError("the record has no cycle_count column; use cycles='derived'",
                            file=record.meta.source_path)
    return _derived_cycles(table, row_step)


def _derived_cycles(table: pd.DataFrame, row_step: np.ndarray) -> tuple[np.ndarray, str]:
    direction = table["direction"].to_numpy()
    moving = direction != 0
    first_direction = direction[moving][0]
    last_moving = pd.Series(np.where(moving, direction, np.nan)).ffill().shift(1).to_numpy()
    starts = moving & (direction == first_direction) & (last_moving == -first_direction)
    step_cycle = 1 + np.cumsum(starts)
    word = "charge" if first_direction > 0 else "discharge"
    source = (f"derived: a cycle starts at each {word} step that follows a step in the "
              "opposite direction (the test's first current direction)")
    return step_cycle[row_step - 1], source
