"""Critical current density (CCD) of a stepped-current test on a symmetric Li|SE|Li cell.

The cell is plated and stripped at a current density raised step by step
(fixed time per half cycle, or fixed areal capacity) until it fails. Each
half cycle (a run of samples with one current direction, found by
:mod:`labkit.analysis.steps`) is checked, in time order, against four failure
criteria, each an explicit parameter of :class:`CcdCriteria`:

``voltage_drop``
    a sudden fall of ``|V|`` by more than ``drop_fraction`` from one sample to
    the next: every one of the ``drop_window_samples`` samples from there on
    is below ``1 - drop_fraction`` times the median of as many samples before
    (so one noisy sample does not count). A dendrite bridging the electrolyte
    shorts the cell within a sample interval (the failure signature used by
    Sharafi et al., J. Power Sources 302, 135 (2016) and Kasemchainan et al.,
    Nat. Mater. 18, 1105 (2019));
``ohmic_collapse``
    ``|V|`` (median of ``collapse_window_samples``) below ``collapse_fraction``
    of the polarisation of the first half cycle, or below
    ``collapse_voltage_volt``: polarisation grows with current in a healthy
    cell, so a voltage near zero at a higher current means the current flows
    through an electronic path (a gradual, soft short);
``noise``
    the median of ``|Δ²V|`` (second difference of consecutive samples) over
    ``noise_window_samples`` (blind to a steady ramp and to a single jump)
    above ``noise_fraction`` of the half cycle's median ``|V|`` and above
    ``noise_factor`` times that of the first half cycle (intermittent soft
    shorts make the voltage erratic);
``overpotential_limit``
    ``|V|`` reaching ``overpotential_limit_volt`` (loss of contact / voids; also
    the cut-off a cycler applies).

No standard fixes these thresholds: the defaults of :class:`CcdCriteria` are
labkit's, chosen to ignore the nucleation overshoot and the noise of typical
data (a halving of the voltage, a tenth of the first polarisation, a 5 V
limit), and every result states the values it used.

The first half cycle is the reference of the relative criteria, so it is
checked only against the absolute ones (drop, ``collapse_voltage_volt``,
limit). The earliest sample meeting any criterion is the failure (at the
same sample the order above decides). The CCD is the highest current density of which
every half cycle passed; the failing density is reported beside it, together
with the areal capacity passed in the failing half cycle before it failed (the
critical areal capacity). The protocol is recognised as fixed-time or
fixed-capacity from the half-cycle durations and capacities.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from labkit.analysis._base import SECONDS_PER_HOUR, numeric, plain, require_columns, sample_value
from labkit.analysis._ccd_criteria import CcdCriteria
from labkit.analysis.steps import StepParameters, detect_steps
from labkit.data import CyclingRecord
from labkit.errors import AnalysisError

CRITERIA = ("voltage_drop", "ohmic_collapse", "noise", "overpotential_limit")


@dataclass(frozen=True)
class CcdResult:
    """Outcome of a CCD test.

    Attributes
    ----------
    ccd_milliampere_per_square_centimeter
        Highest current density all of whose half cycles passed (``None`` if the
        first one failed).
    failed_at_milliampere_per_square_centimeter
        Current density of the failing half cycle (``None`` when the cell never failed).
    criterion
        Which criterion fired (one of :data:`CRITERIA`) or ``None``.
    failure_time_second
        Test time of the failure.
    failed_half_cycle
        Number (from 1) of the failing half cycle.
    critical_areal_capacity_milliampere_hour_per_square_centimeter
        Areal capacity passed in the failing half cycle before failure.
    protocol
        ``"fixed-time"``, ``"fixed-capacity"`` or ``"mixed"``.
    area_square_centimeter
        Electrode area used.
    criteria
        The thresholds used.
    half_cycles
        One row per half cycle: current density, direction, times, polarisation
        (mean, max, end ``|V|``), areal capacity, and ``status`` (passed/failed/not reached).
    """

    ccd_milliampere_per_square_centimeter: float | None
    failed_at_milliampere_per_square_centimeter: float | None
    criterion: str | None
    failure_time_second: float | None
    failed_half_cycle: int | None
    critical_areal_capacity_milliampere_hour_per_square_centimeter: float | None
    protocol: str
    area_square_centimeter: float
    criteria: CcdCriteria
    half_cycles: pd.DataFrame

    @property
    def failed(self) -> bool:
        """Whether a failure criterion fired."""
        return self.criterion is not None

    def to_frame(self) -> pd.DataFrame:
        """The per-half-cycle table."""
        return self.half_cycles.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly result with the stable key names of ``labkit ccd --json``."""
        return {
            "ccd_milliampere_per_square_centimeter": self.ccd_milliampere_per_square_centimeter,
            "failed_at_milliampere_per_square_centimeter":
                self.failed_at_milliampere_per_square_centimeter,
            "criterion": self.criterion,
            "failure_time_second": self.failure_time_second,
            "failed": self.failed,
            "failed_half_cycle": self.failed_half_cycle,
            "critical_areal_capacity_milliampere_hour_per_square_centimeter":
                self.critical_areal_capacity_milliampere_hour_per_square_centimeter,
            "protocol": self.protocol,
            "area_square_centimeter": self.area_square_centimeter,
            "criteria": plain(asdict(self.criteria)),
            "half_cycles": plain(self.half_cycles),
        }


def critical_current_density(
    record: CyclingRecord,
    area_square_centimeter: float | None = None,
    criteria: CcdCriteria | None = None,
    step_parameters: StepParameters | None = None,
) -> CcdResult:
    """Find the critical current density of a stepped-current symmetric-cell test.

    Parameters
    ----------
    record
        Time, current and voltage of the test.
    area_square_centimeter
        Electrode area; defaults to the record's sample metadata.
    criteria
        Failure criteria (defaults: :class:`CcdCriteria`).
    step_parameters
        Thresholds of the half-cycle segmentation.

    Raises
    ------
    MetadataError
        When the area is given neither here nor in the file.
    AnalysisError
        When the record holds no half cycle.
    """
    criteria = criteria or CcdCriteria()
    area = sample_value(area_square_centimeter, record, "area_square_centimeter", "cell area",
                        "area_square_centimeter=... (CLI: --area CM2)")
    require_columns(record, ["test_time_second", "current_ampere", "voltage_volt"],
                    "a critical current density analysis")
    step_parameters = step_parameters or StepParameters(pulse_max_second=0.0)
    steps = detect_steps(record, step_parameters)
    half = steps.table[steps.table["direction"] != 0].reset_index(drop=True)
    if half.empty:
        raise AnalysisError("no half cycle (no current) in this record",
                            file=record.meta.source_path)
    time = numeric(record, "test_time_second")
    voltage = np.abs(np.nan_to_num(numeric(record, "voltage_volt")))

    density = 1000.0 * np.abs(half["mean_current_ampere"].to_numpy()) / area
    table = pd.DataFrame({
        "half_cycle": np.arange(1, len(half) + 1),
        "current_density_milliampere_per_square_centimeter": _round_significant(density, 3),
        "direction": np.where(half["direction"] > 0, "positive", "negative"),
        "start_time_second": half["start_time_second"],
        "end_time_second": half["end_time_second"],
        "duration_second": half["duration_second"],
        "areal_capacity_milliampere_hour_per_square_centimeter":
            1000.0 * half["capacity_ampere_hour"].to_numpy() / area,
    })
    slices = [slice(int(a), int(b) + 1) for a, b in zip(half["first_row"], half["last_row"], strict=True)]
    table["mean_polarisation_volt"] = [float(np.mean(voltage[s])) for s in slices]
    table["max_polarisation_volt"] = [float(np.max(voltage[s])) for s in slices]
    table["end_polarisation_volt"] = [float(voltage[s.stop - 1]) for s in slices]

    first = slices[0]
    reference_polarisation = float(np.median(voltage[first]))
    reference_noise = _noise(voltage[first], criteria.noise_window_samples)
    baseline_noise = float(np.nanmedian(reference_noise)) if np.isfinite(
        reference_noise).any() else 0.0

    failure: tuple[int, int, str] | None = None
    for number, rows in enumerate(slices):
        fired = _first_failure(voltage[rows], criteria, reference_polarisation,
                               baseline_noise, check_relative=number > 0)
        if fired is not None:
            failure = (number, rows.start + fired[0], fired[1])
            break

    status = np.full(len(table), "passed", dtype=object)
    ccd = failed_at = failure_time = capacity = None
    criterion = failed_number = None
    levels = table["current_density_milliampere_per_square_centimeter"].to_numpy()
    if failure is None:
        ccd = float(levels.max())
    else:
        number, row, criterion = failure
        status[number] = "failed"
        status[number + 1:] = "not reached"
        failed_at = float(levels[number])
        passed = levels[:number][levels[:number] != failed_at]
        ccd = float(passed.max()) if passed.size else None
        failure_time = float(time[row])
        failed_number = number + 1
        start_row = slices[number].start
        half_cycle_start = float(time[start_row - 1] if start_row > 0 else time[start_row])
        elapsed = failure_time - half_cycle_start
        capacity = failed_at * elapsed / SECONDS_PER_HOUR
    table["status"] = status
    protocol = _protocol(table[table["status"] == "passed"], criteria.same_duration_tolerance)
    return CcdResult(ccd, failed_at, criterion, failure_time, failed_number, capacity, protocol,
                     area, criteria, table)


def _round_significant(values: np.ndarray, digits: int) -> np.ndarray:
    magnitude = np.floor(np.log10(np.where(values > 0, values, 1.0)))
    scale = 10.0 ** (digits - 1 - magnitude)
    return np.round(values * scale) / scale


def _noise(voltage: np.ndarray, window: int) -> np.ndarray:
    """Rolling median of ``|Δ²V|`` (second difference of consecutive samples).

    The second difference ignores a steady ramp and the median ignores a single
    jump, so only erratic fluctuation counts. Aligned to the window's end.
    """
    curvature = pd.Series(np.abs(np.diff(voltage, n=2, prepend=[np.nan, np.nan])))
    return curvature.rolling(window, min_periods=window).median().to_numpy()


def _first_failure(voltage: np.ndarray, criteria: CcdCriteria, reference_polarisation: float,
                   baseline_noise: float, check_relative: bool) -> tuple[int, str] | None:
    """(position in the half cycle, criterion) of the first failing sample, or ``None``."""
    n = voltage.size
    candidates: list[tuple[int, int, str]] = []

    series = pd.Series(voltage)
    span = criteria.drop_window_samples
    before = series.rolling(span, min_periods=1).median().shift(1).to_numpy()
    after = series[::-1].rolling(span, min_periods=1).max()[::-1].to_numpy()
    drop = (before > criteria.drop_floor_volt) & (after < (1.0 - criteria.drop_fraction) * before)
    candidates.append((_first(drop), 0, "voltage_drop"))

    window = min(criteria.collapse_window_samples, n)
    rolling = pd.Series(voltage).rolling(window, min_periods=window).median().to_numpy()
    floor = criteria.collapse_voltage_volt
    if check_relative:
        floor = max(floor, criteria.collapse_fraction * reference_polarisation)
    collapsed = rolling < floor
    # the median turns once half the window has collapsed
    first_collapse = _first(collapsed)
    candidates.append((first_collapse - window // 2 if first_collapse < n else n, 1,
                       "ohmic_collapse"))

    if check_relative:
        noise = _noise(voltage, criteria.noise_window_samples)
        median_polarisation = float(np.median(voltage))
        noisy = (noise > criteria.noise_fraction * median_polarisation) & (
            noise > criteria.noise_factor * baseline_noise)
        first_noisy = _first(noisy)
        # the median turns once half the window is noisy
        candidates.append((first_noisy - criteria.noise_window_samples // 2
                           if first_noisy < n else n, 2, "noise"))

    if criteria.overpotential_limit_volt is not None and math.isfinite(
            criteria.overpotential_limit_volt):
        candidates.append((_first(voltage >= criteria.overpotential_limit_volt), 3,
                           "overpotential_limit"))
    position, _, name = min(candidates)
    return None if position >= n else (max(position, 0), name)


def _first(mask: np.ndarray) -> int:
    """Index of the first true element, or ``len(mask)``."""
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else mask.size


def _protocol(passed: pd.DataFrame, tolerance: float) -> str:
    if len(passed) < 2:
        return "mixed"
    duration = passed["duration_second"].to_numpy()
    capacity = passed["areal_capacity_milliampere_hour_per_square_centimeter"].to_numpy()

    def uniform(values: np.ndarray) -> bool:
        return bool(np.ptp(values) <= tolerance * np.median(values))

    if uniform(duration):
        return "fixed-time"
    if uniform(capacity):
        return "fixed-capacity"
    return "mixed"
