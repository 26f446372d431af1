"""Recognise the test a cycling record holds, so that an analysis refuses any other test.

An analysis given the wrong kind of test would still compute numbers (a CCD of a
full cell, a transference number of a galvanostatic charge), so each one checks its
input first and raises :class:`~labkit.errors.AnalysisError` saying what it found:

``critical_current_density``
    needs a symmetric Li|SE|Li cell (:func:`symmetric_cell`) whose current density
    steps up (checked in :mod:`labkit.analysis.ccd`);
``transference_number``
    needs a potentiostatic hold: current of one sign while the voltage is held
    (:func:`held_voltage`), varying less than the current, at a small polarisation
    (:data:`MAX_POLARISATION_VOLT`);
``summarize_cycles``, ``fast_charge_metrics``, ``differential_capacity``, ``rate_capability``
    need a cell that is charged and/or discharged: they refuse a symmetric cell and a
    single potentiostatic hold (:func:`refuse_other_tests`); dQ/dV and rate need more
    (see their modules).

Both recognisers read the step table of :func:`labkit.analysis.steps.detect_steps`, so
they cost nothing beside the analysis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from labkit.analysis._base import numeric
from labkit.analysis.steps import Steps
from labkit.data import CyclingRecord
from labkit.errors import AnalysisError

#: Half cycles (steps with current) examined, from the start: a test's first half
#: cycles show what it is; a cell that shorted later must not change the answer.
EXAMINED_HALF_CYCLES = 20
#: Half cycles of fewer samples are not examined (a sample taken as the current switches).
MIN_SAMPLES = 3
#: A half cycle whose mean |V| is below this has no sign to read (a shorted cell, noise).
VOLTAGE_FLOOR_VOLT = 1e-4
#: Share of the examined half cycles whose voltage must have the sign typical of their
#: current direction.
CONSISTENT_FRACTION = 0.8
#: Share of the examined half cycles that must be at constant current.
GALVANOSTATIC_FRACTION = 0.5
#: A held voltage varies (5th to 95th percentile) by at most this share of its level ...
HOLD_SPREAD_FRACTION = 0.02
#: ... or by this much, whichever is larger (instrument resolution at small polarisations).
HOLD_SPREAD_FLOOR_VOLT = 1e-3
#: Largest |ΔV| of a Bruce–Vincent polarisation: the method assumes the interface's
#: small-signal (linear) response, so ΔV is 5–50 mV in practice; 0.5 V leaves a wide
#: margin and still tells a symmetric cell's polarisation from a cell held at its voltage.
MAX_POLARISATION_VOLT = 0.5

_CONSTANT_CURRENT = ("cc_charge", "cc_discharge", "pulse")


@dataclass(frozen=True)
class Polarity:
    """How the voltage of the first half cycles relates to the current.

    Attributes
    ----------
    charging_voltage_volt, discharging_voltage_volt
        Median of the mean voltage of the examined half cycles with positive / negative
        current (NaN when there is none).
    consistent
        Share of the examined half cycles whose mean voltage has the sign of that median
        for their current direction.
    galvanostatic
        Share of them at constant current.
    examined
        How many half cycles were examined (at most :data:`EXAMINED_HALF_CYCLES`, each of
        at least :data:`MIN_SAMPLES` samples and a mean |V| above :data:`VOLTAGE_FLOOR_VOLT`).
    """

    charging_voltage_volt: float
    discharging_voltage_volt: float
    consistent: float
    galvanostatic: float
    examined: int

    @property
    def reverses(self) -> bool:
        """Whether the typical voltage has opposite signs in the two current directions."""
        return bool(np.sign(self.charging_voltage_volt) * np.sign(self.discharging_voltage_volt)
                    < 0)

    @property
    def symmetric(self) -> bool:
        """Constant-current half cycles in both directions whose voltage changes sign with
        the current, consistently (in the same sense throughout, whichever way the cell
        is wired)."""
        return (self.reverses and self.consistent >= CONSISTENT_FRACTION
                and self.galvanostatic >= GALVANOSTATIC_FRACTION)

    def describe(self) -> str:
        """``"V ≈ +2.39 V while the current is positive and +1.95 V while it is negative"``."""
        parts = [f"{v:+.3g} V while the current is {sign}"
                 for v, sign in ((self.charging_voltage_volt, "positive"),
                                 (self.discharging_voltage_volt, "negative")) if math.isfinite(v)]
        return "V ≈ " + " and ".join(parts) + f" (first {self.examined} half cycles)"


def polarity(steps: Steps) -> Polarity:
    """The :class:`Polarity` of the first :data:`EXAMINED_HALF_CYCLES` half cycles of ``steps``."""
    table = steps.table
    half = table[(table["direction"] != 0) & (table["samples"] >= MIN_SAMPLES)
                 & (table["mean_voltage_volt"].abs() > VOLTAGE_FLOOR_VOLT)].head(
        EXAMINED_HALF_CYCLES)
    direction = half["direction"].to_numpy()
    voltage = half["mean_voltage_volt"].to_numpy(float)
    if not direction.size:
        return Polarity(math.nan, math.nan, math.nan, 0.0, 0)

    def median(values: np.ndarray) -> float:
        return float(np.median(values)) if values.size else math.nan

    charging, discharging = median(voltage[direction > 0]), median(voltage[direction < 0])
    typical = np.sign(np.where(direction > 0, charging, discharging))
    return Polarity(charging, discharging, float(np.mean(np.sign(voltage) == typical)),
                    float(half["kind"].isin(_CONSTANT_CURRENT).mean()), int(direction.size))


@dataclass(frozen=True)
class Hold:
    """Voltage and current over a stretch of samples: the voltage's level and spread, and
    how much each of them varies relative to its level.

    Attributes
    ----------
    level_volt
        Median voltage.
    low_volt, high_volt
        5th and 95th percentiles (a settling transient at the start does not count).
    current_spread
        The current's 5th–95th percentile range over its median magnitude.
    """

    level_volt: float
    low_volt: float
    high_volt: float
    current_spread: float

    @property
    def held(self) -> bool:
        """Whether the spread is within :data:`HOLD_SPREAD_FRACTION` of the level (or
        :data:`HOLD_SPREAD_FLOOR_VOLT`)."""
        return self.high_volt - self.low_volt <= max(HOLD_SPREAD_FRACTION * abs(self.level_volt),
                                                     HOLD_SPREAD_FLOOR_VOLT)

    @property
    def voltage_spread(self) -> float:
        """The voltage's 5th–95th percentile range over its level's magnitude."""
        return (self.high_volt - self.low_volt) / abs(self.level_volt) if self.level_volt else (
            math.inf)

    @property
    def current_controlled(self) -> bool:
        """Whether the current varies less than the voltage (relative to their levels): the
        instrument held the current, as in a galvanostatic step, not the voltage."""
        return self.current_spread < self.voltage_spread

    @property
    def polarised(self) -> bool:
        """Whether the level is away from 0 V (by more than :data:`HOLD_SPREAD_FLOOR_VOLT`)."""
        return abs(self.level_volt) > HOLD_SPREAD_FLOOR_VOLT

    @property
    def potentiostatic(self) -> bool:
        """Held, away from 0 V, and not a current held constant."""
        return self.held and self.polarised and not self.current_controlled

    def describe(self) -> str:
        """``"V from 2.1 to 2.4 V (median 2.3 V)"``."""
        return (f"V from {self.low_volt:.4g} to {self.high_volt:.4g} V "
                f"(median {self.level_volt:.4g} V)")


def held_voltage(voltage: np.ndarray, current: np.ndarray) -> Hold | None:
    """The :class:`Hold` of a stretch of voltage and current samples (``None`` without a
    finite voltage)."""
    finite = np.isfinite(voltage)
    if not finite.any():
        return None
    low, level, high = np.percentile(voltage[finite], [5, 50, 95])
    magnitude = np.abs(current[np.isfinite(current)])
    spread = math.inf
    if magnitude.size and np.median(magnitude) > 0:
        low_i, median_i, high_i = np.percentile(magnitude, [5, 50, 95])
        spread = float((high_i - low_i) / median_i)
    return Hold(float(level), float(low), float(high), spread)


def single_hold(record: CyclingRecord, steps: Steps) -> Hold | None:
    """The hold when the whole record is one potentiostatic hold, else ``None``.

    That is: every step with current flows in one direction, and over the samples
    whose current has that sign (however small: a hold's current decays) the voltage
    is held away from 0 V and varies less than the current (:attr:`Hold.potentiostatic`).
    """
    directions = set(np.unique(steps.table["direction"])) - {0}
    if "voltage_volt" not in record.data or len(directions) != 1:
        return None
    current = numeric(record, "current_ampere")
    flowing = np.sign(current) == directions.pop()
    hold = held_voltage(numeric(record, "voltage_volt")[flowing], current[flowing])
    return hold if hold is not None and hold.potentiostatic else None


def refuse_other_tests(record: CyclingRecord, steps: Steps, analysis: str) -> None:
    """Refuse a symmetric-cell test or a single potentiostatic hold given to ``analysis``,
    an analysis of a cell that is charged and discharged.

    Raises
    ------
    AnalysisError
        Naming what the record holds and the analysis that suits it.
    """
    found = polarity(steps)
    if found.symmetric:
        raise AnalysisError(
            f"{analysis} needs a cell that is charged and discharged; this record is a "
            f"symmetric-cell test (constant-current half cycles whose voltage changes sign "
            f"with the current: {found.describe()}); labkit ccd analyses it",
            file=record.meta.source_path)
    hold = single_hold(record, steps)
    if hold is not None:
        raise AnalysisError(
            f"{analysis} needs a cell that is charged and discharged; this record is one "
            f"potentiostatic hold (current of one sign while {hold.describe()}); "
            "labkit transference analyses a Bruce–Vincent polarisation",
            file=record.meta.source_path)
