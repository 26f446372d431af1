"""Per-cycle summary: capacities, energies, efficiencies, mean voltages, retention.

Capacities and energies come from the vendor's cumulative columns when the
record has them (``charging_capacity_ampere_hour`` ...): the sum, within each
cycle, of the column's increases (a reset to zero at a step or cycle start is
not an increase), which is right whether the vendor accumulates per step, per
half cycle or per cycle. Otherwise they are integrated from ``current_ampere``
(and ``voltage_volt`` for energy) with the rectangle rule a cycler uses; the
result says which (``capacity_source``, ``energy_source``).

Conventions: coulombic efficiency = discharge / charge capacity of the same
cycle, energy efficiency likewise; mean voltage = energy / capacity (the
charge-weighted mean); retention = discharge capacity / that of the reference
cycle (the first cycle with a discharge, unless given).

Input: a cell that is charged and/or discharged. A symmetric-cell (Li|SE|Li) test and
a single potentiostatic hold are refused (:func:`labkit.analysis.recognise.refuse_other_tests`),
as is a record in which no current flows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from labkit.analysis._base import (
    interval_charge_ampere_hour,
    numeric,
    optional_sample_value,
    plain,
    require_columns,
    sample_intervals,
)
from labkit.analysis.recognise import refuse_other_tests
from labkit.analysis.steps import StepParameters, Steps, detect_steps
from labkit.data import CycleSummaryRecord, CyclingRecord, Record
from labkit.errors import AnalysisError

_CAPACITY_COLUMNS = ("charging_capacity_ampere_hour", "discharging_capacity_ampere_hour")
_ENERGY_COLUMNS = ("charging_energy_watt_hour", "discharging_energy_watt_hour")
# the same quantities per cycle (a summary table's names)
_TABLE_CAPACITIES = ("charge_capacity_ampere_hour", "discharge_capacity_ampere_hour")
_TABLE_ENERGIES = ("charge_energy_watt_hour", "discharge_energy_watt_hour")


@dataclass(frozen=True)
class CycleSummary:
    """Per-cycle values of a cycling test.

    Attributes
    ----------
    table
        One row per cycle: ``cycle_count``, ``charge_capacity_ampere_hour``,
        ``discharge_capacity_ampere_hour``, ``charge_energy_watt_hour``,
        ``discharge_energy_watt_hour``, ``coulombic_efficiency``,
        ``energy_efficiency``, ``mean_charge_voltage_volt``,
        ``mean_discharge_voltage_volt``, ``capacity_retention``, start/end time,
        ``charge_time_second``/``discharge_time_second`` (time in charging/discharging
        steps), ``max_voltage_volt``/``min_voltage_volt``,
        and, when mass/area are known, ``specific_*_milliampere_hour_per_gram``
        and ``areal_*_milliampere_hour_per_square_centimeter``.
    capacity_source, energy_source
        Vendor columns used, or "integrated from current_ampere".
    cycle_source
        Vendor ``cycle_count`` or how cycles were derived.
    reference_cycle
        The cycle retention is relative to.
    retention_threshold
        Fraction (0.8 = 80 %).
    cycle_below_threshold
        First cycle whose retention is below the threshold, ``None`` if none.
    active_mass_gram, area_square_centimeter
        Sample values used (``None`` when unknown).
    steps
        The step segmentation the summary was built on (None for a per-cycle table).
    """

    table: pd.DataFrame
    capacity_source: str
    energy_source: str
    cycle_source: str
    reference_cycle: int | None
    retention_threshold: float
    cycle_below_threshold: int | None
    active_mass_gram: float | None
    area_square_centimeter: float | None
    steps: Steps | None

    def to_frame(self) -> pd.DataFrame:
        """The per-cycle table."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary; ``cycles`` holds one entry per cycle."""
        return {
            "cycles": plain(self.table),
            "capacity_source": self.capacity_source,
            "energy_source": self.energy_source,
            "cycle_source": self.cycle_source,
            "reference_cycle": self.reference_cycle,
            "retention_threshold": self.retention_threshold,
            "cycle_below_threshold": self.cycle_below_threshold,
            "active_mass_gram": self.active_mass_gram,
            "area_square_centimeter": self.area_square_centimeter,
        }


def summarize_cycles(
    record: CyclingRecord | CycleSummaryRecord,
    *,
    active_mass_gram: float | None = None,
    area_square_centimeter: float | None = None,
    retention_threshold: float = 0.8,
    reference_cycle: int | None = None,
    use_vendor_capacity: bool = True,
    step_parameters: StepParameters | None = None,
) -> CycleSummary:
    """Summarise every cycle of ``record``.

    Parameters
    ----------
    record
        Cycling record with time and current (vendor capacity/energy columns optional),
        or a per-cycle summary file's record: its numbers are taken as the file gives
        them (efficiencies, retention... too, where it has them) and completed with
        the columns it lacks, computed as for a time series; ``steps`` is then None.
    active_mass_gram, area_square_centimeter
        For specific and areal values; default to the record's sample metadata.
    retention_threshold
        Retention fraction whose first crossing is reported (0.8 = 80 %).
    reference_cycle
        Cycle retention is relative to; default the first cycle with a discharge.
    use_vendor_capacity
        Use the vendor capacity/energy columns when present (else integrate current).
    step_parameters
        Thresholds of the step detection (cycles come from it when the record has no
        ``cycle_count``).

    Raises
    ------
    SchemaError
        Without ``current_ampere``.
    AnalysisError
        When no cycle has a charge or a discharge, or the record is another test: a
        symmetric-cell test (half cycles whose voltage changes sign with the current) or
        one potentiostatic hold (see :mod:`labkit.analysis.recognise`).
    """
    if isinstance(record, CycleSummaryRecord):
        return _summary_of_table(record, active_mass_gram=active_mass_gram,
                                 area_square_centimeter=area_square_centimeter,
                                 retention_threshold=retention_threshold,
                                 reference_cycle=reference_cycle)
    require_columns(record, ["test_time_second", "current_ampere"], "a cycle summary")
    steps = detect_steps(record, step_parameters)
    refuse_other_tests(record, steps, "a cycle summary")
    time = numeric(record, "test_time_second")
    current = np.nan_to_num(numeric(record, "current_ampere"))
    voltage = numeric(record, "voltage_volt") if "voltage_volt" in record.data else None
    cycle = steps.row_cycle

    step_charge = interval_charge_ampere_hour(time, current)
    frame = pd.DataFrame({"cycle_count": cycle,
                          "charge": np.clip(step_charge, 0, None),
                          "discharge": np.clip(-step_charge, 0, None)})
    capacity_source = "integrated from current_ampere (rectangle rule)"
    if use_vendor_capacity and all(c in record.data for c in _CAPACITY_COLUMNS):
        frame["charge"] = _increases(numeric(record, _CAPACITY_COLUMNS[0]))
        frame["discharge"] = _increases(numeric(record, _CAPACITY_COLUMNS[1]))
        capacity_source = "vendor columns " + ", ".join(_CAPACITY_COLUMNS)
    energy_source = "not available (no voltage_volt)"
    if use_vendor_capacity and all(c in record.data for c in _ENERGY_COLUMNS):
        frame["charge_energy"] = _increases(numeric(record, _ENERGY_COLUMNS[0]))
        frame["discharge_energy"] = _increases(numeric(record, _ENERGY_COLUMNS[1]))
        energy_source = "vendor columns " + ", ".join(_ENERGY_COLUMNS)
    elif voltage is not None:
        energy = step_charge * np.nan_to_num(voltage)
        frame["charge_energy"] = np.clip(energy, 0, None) * (step_charge > 0)
        frame["discharge_energy"] = np.clip(-energy, 0, None) * (step_charge < 0)
        energy_source = "integrated from current_ampere x voltage_volt (rectangle rule)"
    else:
        frame["charge_energy"] = np.nan
        frame["discharge_energy"] = np.nan
    frame["time"] = time
    # time charging / discharging: each sample's interval counted in its step's direction
    interval = sample_intervals(time)
    row_direction = steps.per_sample(steps.table["direction"])
    frame["charge_time"] = np.where(row_direction > 0, interval, 0.0)
    frame["discharge_time"] = np.where(row_direction < 0, interval, 0.0)
    frame["voltage"] = np.nan if voltage is None else voltage

    grouped = frame.groupby("cycle_count", sort=True)
    table = pd.DataFrame({
        "charge_capacity_ampere_hour": grouped["charge"].sum(),
        "discharge_capacity_ampere_hour": grouped["discharge"].sum(),
        "charge_energy_watt_hour": grouped["charge_energy"].sum(min_count=1),
        "discharge_energy_watt_hour": grouped["discharge_energy"].sum(min_count=1),
        "start_time_second": grouped["time"].min(),
        "end_time_second": grouped["time"].max(),
        "charge_time_second": grouped["charge_time"].sum(),
        "discharge_time_second": grouped["discharge_time"].sum(),
        "max_voltage_volt": grouped["voltage"].max(),
        "min_voltage_volt": grouped["voltage"].min(),
    })
    table.index.name = "cycle_count"
    table = table.reset_index()
    return _completed(table, record, capacity_source, energy_source, steps.cycle_source, steps,
                      active_mass_gram=active_mass_gram,
                      area_square_centimeter=area_square_centimeter,
                      retention_threshold=retention_threshold, reference_cycle=reference_cycle)


def _summary_of_table(record: CycleSummaryRecord, **options: Any) -> CycleSummary:
    """A vendor's per-cycle table, its numbers as given, completed with what it lacks."""
    require_columns(record, ["cycle_count", *_TABLE_CAPACITIES], "a cycle summary")
    table = record.data.sort_values("cycle_count", kind="stable").reset_index(drop=True)
    for column in _TABLE_ENERGIES:
        if column not in table:
            table[column] = np.nan
    source = f"the file's per-cycle table ({record.meta.file_format or 'cycle summary'})"
    has_energy = table[list(_TABLE_ENERGIES)].notna().any().all()
    return _completed(table, record, source,
                      source if has_energy else "not available (the table has no energies)",
                      "the file's cycle_count (how it numbers cycles: see the record's notes)",
                      None, **options)


def _completed(table: pd.DataFrame, record: Record, capacity_source: str, energy_source: str,
               cycle_source: str, steps: Steps | None, *, active_mass_gram: float | None,
               area_square_centimeter: float | None, retention_threshold: float,
               reference_cycle: int | None) -> CycleSummary:
    """The summary of per-cycle totals: efficiencies, mean voltages, retention, specific and
    areal capacities added, except those the table already has (a vendor's own values) and
    the caller did not ask for (an explicit reference cycle, mass or area recomputes)."""
    if not (table["charge_capacity_ampere_hour"].gt(0) | table["discharge_capacity_ampere_hour"]
            .gt(0)).any():
        raise AnalysisError("no cycle has a charge or a discharge", file=record.meta.source_path)
    charge_q = table["charge_capacity_ampere_hour"].where(lambda q: q > 0)
    discharge_q = table["discharge_capacity_ampere_hour"].where(lambda q: q > 0)
    derived = {
        "coulombic_efficiency": lambda: discharge_q / charge_q,
        "energy_efficiency": lambda: (table["discharge_energy_watt_hour"].where(lambda e: e > 0)
                                      / table["charge_energy_watt_hour"].where(lambda e: e > 0)),
        "mean_charge_voltage_volt": lambda: table["charge_energy_watt_hour"] / charge_q,
        "mean_discharge_voltage_volt": lambda: table["discharge_energy_watt_hour"] / discharge_q,
    }
    for column, value in derived.items():
        if column not in table:
            table[column] = value()

    reference = _reference_cycle(table, reference_cycle)
    below = None
    if reference is not None:
        if "capacity_retention" not in table or reference_cycle is not None:
            reference_q = table.loc[table["cycle_count"] == reference,
                                    "discharge_capacity_ampere_hour"].iloc[0]
            table["capacity_retention"] = discharge_q / reference_q
        after = table[(table["cycle_count"] > reference)
                      & (table["capacity_retention"] < retention_threshold)]
        below = int(after["cycle_count"].iloc[0]) if len(after) else None
    elif "capacity_retention" not in table:
        table["capacity_retention"] = np.nan

    mass = optional_sample_value(active_mass_gram, record, "active_mass_gram")
    area = optional_sample_value(area_square_centimeter, record, "area_square_centimeter")
    for direction in ("charge", "discharge"):
        milliampere_hour = 1000.0 * table[f"{direction}_capacity_ampere_hour"]
        specific = f"specific_{direction}_capacity_milliampere_hour_per_gram"
        areal = f"areal_{direction}_capacity_milliampere_hour_per_square_centimeter"
        if mass is not None and (specific not in table or active_mass_gram is not None):
            table[specific] = milliampere_hour / mass
        if area is not None and (areal not in table or area_square_centimeter is not None):
            table[areal] = milliampere_hour / area
    table["cycle_count"] = table["cycle_count"].astype(int)
    return CycleSummary(table, capacity_source, energy_source, cycle_source, reference,
                        retention_threshold, below, mass, area, steps)


def _increases(values: np.ndarray) -> np.ndarray:
    """Per-sample increase of a vendor accumulator column.

    A rise counts as it is; a drop to less than half the previous value is a reset
    (new step or cycle), after which the new value itself is the increase since the
    reset; a smaller drop (rounding jitter) counts as 0.
    """
    values = np.nan_to_num(values)
    previous = np.concatenate([[0.0], values[:-1]])
    rise = values - previous
    reset = values < 0.5 * previous
    return np.where(rise >= 0, rise, np.where(reset, values, 0.0))


def _reference_cycle(table: pd.DataFrame, requested: int | None) -> int | None:
    with_discharge = table[table["discharge_capacity_ampere_hour"] > 0]
    if requested is not None:
        if requested not in set(with_discharge["cycle_count"]):
            raise AnalysisError(f"reference cycle {requested} has no discharge; cycles with one: "
                                f"{with_discharge['cycle_count'].tolist()[:20]}")
        return int(requested)
    return None if with_discharge.empty else int(with_discharge["cycle_count"].iloc[0])

