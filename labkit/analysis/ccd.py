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

The input must be such a test, else it is refused with an
:class:`~labkit.errors.AnalysisError` saying what was found: the first half cycles
are at constant current in both directions and their voltage changes sign with the
current (a full or half cell keeps its sign: :mod:`labkit.analysis.recognise`), and the
current density steps up (some half cycle is above every one before it; at most a
quarter of them fall back below half the highest density before them).

Every criterion is evaluated on all half cycles at once (rolling medians over the
concatenated half cycles, windows confined to one half cycle), so a test of 10⁴
half cycles takes as long as its samples need.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from labkit.analysis._base import SECONDS_PER_HOUR, numeric, plain, require_columns, sample_value
from labkit.analysis._ccd_criteria import CcdCriteria
from labkit.analysis.recognise import GALVANOSTATIC_FRACTION, Polarity, polarity
from labkit.analysis.steps import StepParameters, detect_steps
from labkit.data import CyclingRecord
from labkit.errors import AnalysisError

CRITERIA = ("voltage_drop", "ohmic_collapse", "noise", "overpotential_limit")
#: A half cycle below this share of the highest density before it "falls back" ...
FALLS_BACK_FRACTION = 0.5
#: ... and a staircase has at most this share of such half cycles.
FALLS_BACK_SHARE = 0.25


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

    The record must be such a test, else it is refused (see the module docstring):
    a symmetric cell (constant-current half cycles whose voltage changes sign with
    the current, :func:`labkit.analysis.recognise.polarity`) whose current density
    steps up.

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
        When the record holds no half cycle, is not a symmetric cell, or its current
        density never steps up.
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
    found = polarity(steps)
    if not found.symmetric:
        raise AnalysisError(
            "a critical current density needs a symmetric Li|SE|Li cell: constant-current "
            "half cycles whose voltage changes sign with the current; found "
            f"{found.describe()}, {_why_not_symmetric(found)}", file=record.meta.source_path)
    time = numeric(record, "test_time_second")
    voltage = np.abs(np.nan_to_num(numeric(record, "voltage_volt")))

    density = 1000.0 * np.abs(half["mean_current_ampere"].to_numpy()) / area
    levels = _round_significant(density, 3)
    _require_steps_up(record, levels)
    # the half cycles' samples, one after the other (rests left out)
    first_row, last_row = half["first_row"].to_numpy(), half["last_row"].to_numpy()
    lengths = last_row - first_row + 1
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    rows = np.repeat(first_row - starts, lengths) + np.arange(lengths.sum())
    polarisation = voltage[rows]
    table = pd.DataFrame({
        "half_cycle": np.arange(1, len(half) + 1),
        "current_density_milliampere_per_square_centimeter": levels,
        "direction": np.where(half["direction"] > 0, "positive", "negative"),
        "start_time_second": half["start_time_second"],
        "end_time_second": half["end_time_second"],
        "duration_second": half["duration_second"],
        "areal_capacity_milliampere_hour_per_square_centimeter":
            1000.0 * half["capacity_ampere_hour"].to_numpy() / area,
        "mean_polarisation_volt": np.add.reduceat(polarisation, starts) / lengths,
        "max_polarisation_volt": np.maximum.reduceat(polarisation, starts),
        "end_polarisation_volt": polarisation[starts + lengths - 1],
    })

    failure = _first_failure(_HalfCycles(polarisation, starts, lengths), criteria)
    status = np.full(len(table), "passed", dtype=object)
    ccd = failed_at = failure_time = capacity = None
    criterion = failed_number = None
    if failure is None:
        ccd = float(levels.max())
    else:
        number, position, criterion = failure
        row = int(first_row[number]) + position
        status[number] = "failed"
        status[number + 1:] = "not reached"
        failed_at = float(levels[number])
        passed = levels[:number][levels[:number] != failed_at]
        ccd = float(passed.max()) if passed.size else None
        failure_time = float(time[row])
        failed_number = number + 1
        start_row = int(first_row[number])
        half_cycle_start = float(time[start_row - 1] if start_row > 0 else time[start_row])
        elapsed = failure_time - half_cycle_start
        capacity = failed_at * elapsed / SECONDS_PER_HOUR
    table["status"] = status
    protocol = _protocol(table[table["status"] == "passed"], criteria.same_duration_tolerance)
    return CcdResult(ccd, failed_at, criterion, failure_time, failed_number, capacity, protocol,
                     area, criteria, table)


def _why_not_symmetric(found: Polarity) -> str:
    if not (math.isfinite(found.charging_voltage_volt)
            and math.isfinite(found.discharging_voltage_volt)):
        return "current in one direction only"
    if not found.reverses:
        return "the voltage keeps its sign when the current reverses, as in a full or half cell"
    if found.galvanostatic < GALVANOSTATIC_FRACTION:
        return (f"only {found.galvanostatic:.0%} of them at constant current (a voltage "
                "sweep or a potentiostatic test)")
    return (f"the sign of the voltage follows the current's in only {found.consistent:.0%} "
            "of them")


def _require_steps_up(record: CyclingRecord, levels: np.ndarray) -> None:
    """Refuse a test whose current density never rises above where it started, or that
    falls back below :data:`FALLS_BACK_FRACTION` of its highest density too often."""
    highest_before = np.maximum.accumulate(levels)
    if not (levels[1:] > highest_before[:-1]).any():
        raise AnalysisError(
            "a critical current density needs a current density that steps up; found "
            f"{len(levels)} half cycles all at {levels[0]:.3g} mA/cm² (with the area given):"
            " a constant-current cycling test", file=record.meta.source_path)
    falls_back = float(np.mean(levels < FALLS_BACK_FRACTION * highest_before))
    if falls_back > FALLS_BACK_SHARE:
        raise AnalysisError(
            "a critical current density needs a current density that steps up; found "
            f"{falls_back:.0%} of the half cycles below {FALLS_BACK_FRACTION:.0%} of the "
            f"highest density before them (densities from {levels.min():.3g} to "
            f"{levels.max():.3g} mA/cm², up and down)", file=record.meta.source_path)


def _round_significant(values: np.ndarray, digits: int) -> np.ndarray:
    magnitude = np.floor(np.log10(np.where(values > 0, values, 1.0)))
    scale = 10.0 ** (digits - 1 - magnitude)
    return np.round(values * scale) / scale


@dataclass(frozen=True)
class _HalfCycles:
    """|V| of every half cycle, one after the other, and where each starts and how long it is."""

    voltage: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray

    @property
    def position(self) -> np.ndarray:
        """Position of every sample within its half cycle."""
        return np.arange(self.voltage.size) - np.repeat(self.starts, self.lengths)

    @property
    def number(self) -> np.ndarray:
        """Half cycle (from 0) of every sample."""
        return np.repeat(np.arange(self.starts.size), self.lengths)

    def first(self, mask: np.ndarray, position: np.ndarray) -> np.ndarray:
        """Position of the first true sample of each half cycle (its length when none)."""
        found = np.minimum.reduceat(np.where(mask, position, np.iinfo(np.int64).max),
                                    self.starts)
        return np.minimum(found, self.lengths)


#: Rows of the sliding windows taken at once (bounds the memory of a rolling median).
_WINDOW_CHUNK = 1 << 16


def _trailing_median(values: np.ndarray, position: np.ndarray, window: int,
                     earliest: int) -> np.ndarray:
    """Median of the ``window`` samples ending at each sample, where the window starts at or
    after position ``earliest`` of the same half cycle (NaN elsewhere)."""
    out = np.full(values.size, np.nan)
    if values.size < window:
        return out
    views = np.lib.stride_tricks.sliding_window_view(values, window)
    ends = np.arange(window - 1, values.size)
    for chunk in range(0, ends.size, _WINDOW_CHUNK):
        end = ends[chunk:chunk + _WINDOW_CHUNK]
        valid = position[end] >= window - 1 + earliest
        if valid.any():
            out[end[valid]] = np.median(views[chunk:chunk + _WINDOW_CHUNK][valid], axis=1)
    return out


def _noise(half: _HalfCycles, position: np.ndarray, window: int) -> np.ndarray:
    """Rolling median of ``|Δ²V|`` (second difference of consecutive samples) per sample.

    The second difference ignores a steady ramp and the median ignores a single
    jump, so only erratic fluctuation counts. Aligned to the window's end; NaN until
    the window holds ``window`` second differences of the half cycle.
    """
    v = half.voltage
    curvature = np.full(v.size, np.nan)
    curvature[2:] = np.abs(v[2:] - 2 * v[1:-1] + v[:-2])
    return _trailing_median(curvature, position, window, earliest=2)


def _drop(half: _HalfCycles, position: np.ndarray, criteria: CcdCriteria) -> np.ndarray:
    """Samples from which |V| stays below ``1 - drop_fraction`` of the median before them."""
    v, span = half.voltage, criteria.drop_window_samples
    before = np.full(v.size, np.nan)
    full = _trailing_median(v, position, span, earliest=0)
    before[1:] = np.where(position[1:] >= span, full[:-1], np.nan)
    for count in range(1, span):  # fewer than ``span`` samples before: the median of those
        at = np.flatnonzero(position == count)
        before[at] = np.median(np.stack([v[at - back] for back in range(1, count + 1)]), axis=0)
    remaining = np.repeat(half.lengths, half.lengths) - position
    after = v.copy()
    for ahead in range(1, span):
        shifted = np.full(v.size, -np.inf)
        shifted[:-ahead] = v[ahead:]
        after = np.maximum(after, np.where(remaining > ahead, shifted, -np.inf))
    with np.errstate(invalid="ignore"):
        return (before > criteria.drop_floor_volt) & (after < (1.0 - criteria.drop_fraction)
                                                       * before)


def _first_failure(half: _HalfCycles, criteria: CcdCriteria) -> tuple[int, int, str] | None:
    """(half cycle from 0, position in it, criterion) of the first failing sample, or ``None``.

    Every criterion is evaluated on all half cycles at once; in each half cycle the
    earliest candidate wins (at equal positions, the order of :data:`CRITERIA`), and the
    first half cycle with a candidate inside it is the failure.
    """
    v, lengths = half.voltage, half.lengths
    position, number = half.position, half.number
    first_length = int(lengths[0])
    reference_polarisation = float(np.median(v[:first_length]))
    noise = _noise(half, position, criteria.noise_window_samples)
    reference_noise = noise[:first_length]
    baseline_noise = (float(np.nanmedian(reference_noise)) if np.isfinite(reference_noise).any()
                      else 0.0)
    relative = number > 0  # the first half cycle is the reference of the relative criteria
    candidates = np.full((lengths.size, len(CRITERIA)), lengths[:, None])

    candidates[:, 0] = half.first(_drop(half, position, criteria), position)

    # |V| collapse: median over min(collapse_window_samples, half-cycle length) samples
    window = np.minimum(criteria.collapse_window_samples, lengths)
    rolling = _trailing_median(v, position, criteria.collapse_window_samples, earliest=0)
    for short in np.flatnonzero(lengths < criteria.collapse_window_samples):
        start = half.starts[short]
        rolling[start + lengths[short] - 1] = np.median(v[start:start + lengths[short]])
    floor = np.where(relative, max(criteria.collapse_voltage_volt,
                                   criteria.collapse_fraction * reference_polarisation),
                     criteria.collapse_voltage_volt)
    with np.errstate(invalid="ignore"):
        collapsed = half.first(rolling < floor, position)
    # the median turns once half the window has collapsed
    candidates[:, 1] = np.where(collapsed < lengths, collapsed - window // 2, lengths)

    typical = pd.Series(v).groupby(number).median().to_numpy()[number]
    with np.errstate(invalid="ignore"):
        noisy = relative & (noise > criteria.noise_fraction * typical) & (
            noise > criteria.noise_factor * baseline_noise)
    first_noisy = half.first(noisy, position)
    candidates[:, 2] = np.where(first_noisy < lengths,
                                first_noisy - criteria.noise_window_samples // 2, lengths)

    limit = criteria.overpotential_limit_volt
    if limit is not None and math.isfinite(limit):
        candidates[:, 3] = half.first(v >= limit, position)
    which = np.argmin(candidates, axis=1)
    earliest = candidates[np.arange(lengths.size), which]
    failing = np.flatnonzero(earliest < lengths)
    if not failing.size:
        return None
    number = int(failing[0])
    return number, max(int(earliest[number]), 0), CRITERIA[int(which[number])]


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
