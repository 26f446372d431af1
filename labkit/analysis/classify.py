"""What test a record holds, with the evidence: how the report and the material card choose.

Cycling records (:func:`cycling_test`), in this order:

* ``potential-sweep``: the file states LSV / CV / CVA, or (no technique saying otherwise)
  the sweeps :func:`labkit.analysis.stability.find_sweeps` finds cover half of its points;
* ``chronoamperometry``: the file states a potentiostatic technique, or the voltage is held
  within 1 % while a one-signed current changes by more than 5 % (unless the file states
  a galvanostatic technique);
* ``stepped-current``: the voltage changes sign and stays within ± 2 V (a symmetric
  Li | SE | Li cell plated and stripped: a CCD test);
* ``galvanostatic``: anything else; :func:`is_rate_ladder` tells a rate test from it.

Impedance records (:func:`impedance_test`), from the first spectrum:

* ``non-blocking``: the phase at the lowest frequency is below 45° (Li | SE | Li and other
  cells with reversible electrodes; also a cold pellet whose spike starts below the range,
  which :mod:`labkit.material_card.detect` puts back into its temperature series);
* ``blocking-pellet``: blocking, with an arc (−Z'' falls below 70 % of its running
  maximum before the low-frequency spike), or without one but with the spike's constant
  angle (the arcs lie above the highest frequency): a pellet between blocking electrodes;
* ``transmission-line``: blocking, no arc, and the angle of Z beyond its high-frequency
  intercept rising by 20° or more towards low frequency (from ~45° to ~90°): a composite
  electrode under blocking conditions;
* ``unusable``: no spectrum with eight usable points.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from labkit.data import CyclingRecord, ImpedanceRecord
from labkit.errors import LabkitError

SWEEP_TECHNIQUES = frozenset({"LSV", "CV", "CVA"})
POTENTIOSTATIC = frozenset({"CA", "CHRONOAMPEROMETRY", "PSTAT", "POTENTIOSTATIC", "CHRONOA"})
GALVANOSTATIC = frozenset({"GCPL", "CC", "CCCV", "GALVANOSTATIC", "CP", "CHRONOPOTENTIOMETRY",
                           "CHRONOP"})
_ARC_DIP = 0.7
_LINE_RISE_DEGREE = 20.0


@dataclass(frozen=True)
class Classification:
    """The kind of test a record holds and why labkit thinks so."""

    kind: str
    evidence: str

    def to_dict(self) -> dict[str, str]:
        """``{"kind", "evidence"}``."""
        return {"kind": self.kind, "evidence": self.evidence}


def _sweep_coverage(record: CyclingRecord) -> tuple[float, str]:
    from labkit.analysis.stability import find_sweeps

    try:
        sweeps = find_sweeps(record)
    except LabkitError:
        return 0.0, ""
    covered = sum(s.rows.size for s in sweeps) / max(len(record.data), 1)
    rates = sorted({round(1000 * s.sweep_rate_volt_per_second.value, 3) for s in sweeps})
    return covered, (f"{len(sweeps)} potential sweep(s) at {', '.join(f'{r:g}' for r in rates)} "
                     f"mV/s cover {covered:.0%} of the points")


def cycling_test(record: CyclingRecord) -> Classification:
    """``potential-sweep``, ``chronoamperometry``, ``stepped-current`` or ``galvanostatic``."""
    techniques = {t.upper() for t in record.meta.technique}
    stated = ", ".join(record.meta.technique)
    if techniques & SWEEP_TECHNIQUES:
        return Classification("potential-sweep", f"the file states the technique {stated}")
    if techniques & POTENTIOSTATIC:
        return Classification("chronoamperometry", f"the file states the technique {stated}")
    data = record.data
    if "voltage_volt" not in data or "current_ampere" not in data:
        return Classification("galvanostatic", "no voltage or current column to tell otherwise")
    voltage = data["voltage_volt"].to_numpy(float)
    current = data["current_ampere"].to_numpy(float)
    voltage, current = voltage[np.isfinite(voltage)], current[np.isfinite(current)]
    if voltage.size == 0 or current.size == 0:
        return Classification("galvanostatic", "no finite voltage or current to tell otherwise")
    if not techniques & GALVANOSTATIC:
        covered, evidence = _sweep_coverage(record)
        if covered >= 0.5:
            return Classification("potential-sweep", evidence)
    # The recognisers the analyses check their input with (labkit.analysis.recognise).
    from labkit.analysis.recognise import polarity, single_hold
    from labkit.analysis.steps import detect_steps

    try:
        steps = detect_steps(record)
    except LabkitError:  # no current or no time: the analyses will say why
        return Classification("galvanostatic", "no steps to tell otherwise")
    found = polarity(steps)
    if found.symmetric:
        return Classification("stepped-current", (
            "constant-current half cycles whose voltage changes sign with the current "
            f"({found.describe()}): a symmetric cell plated and stripped"))
    hold = single_hold(record, steps)
    if hold is not None and not techniques & GALVANOSTATIC:
        return Classification("chronoamperometry", (
            f"the voltage is held at {hold.level_volt:.4g} V (one potentiostatic hold), the "
            "current varying more than the voltage"))
    return Classification("galvanostatic", "current-controlled cycling" + (
        f" (the file states {stated})" if stated else " (no sweep, hold or sign change)"))


def is_rate_ladder(table: pd.DataFrame) -> bool:
    """Whether the mean discharge currents of a cycle summary take four or more distinct
    values (±10 %)."""
    current = (table["discharge_capacity_ampere_hour"] * 3600
               / table["discharge_time_second"]).to_numpy(float)
    current = np.sort(current[np.isfinite(current) & (current > 0)])
    if current.size < 4:
        return False
    return int((np.diff(np.log(current)) > np.log(1.1)).sum()) + 1 >= 4


def paired_spectra(name: str, records: list[tuple[str, Any]]) -> dict[str, Any]:
    """Spectra named ``<prefix>…before…`` / ``…after…`` for a CA file ``<prefix>_…``."""
    prefix = Path(name).name.split("_")[0].lower()
    pairs: dict[str, Any] = {}
    for other, record in records:
        stem = Path(other).name.lower()
        if isinstance(record, ImpedanceRecord) and stem.startswith(prefix):
            for when in ("before", "after"):
                if re.search(rf"(^|[_\-.]){when}([_\-.]|$)", stem):
                    pairs[when] = record
    return pairs


def impedance_test(record: ImpedanceRecord) -> Classification:
    """``non-blocking``, ``blocking-pellet`` or ``transmission-line`` (from the first spectrum)."""
    spectra = record.data["spectrum"].dropna()
    if spectra.empty:
        return Classification("unusable", "the record holds no spectrum")
    frequency, z = record.impedance(int(spectra.min()))
    keep = np.isfinite(frequency) & np.isfinite(z) & (frequency > 0)
    frequency, z = frequency[keep], z[keep]
    if frequency.size < 8:
        return Classification("unusable", f"only {frequency.size} usable points")
    order = np.argsort(-frequency)
    frequency, z = frequency[order], z[order]
    phase = float(-np.degrees(np.angle(z[-1])))
    where = f"phase {phase:.0f}° at {frequency[-1]:.3g} Hz"
    if phase <= 45:
        return Classification("non-blocking", (
            f"{where}, the lowest frequency: the electrodes pass current, or a blocking "
            "spike starts below the range"))
    height = np.maximum(-z.imag, 0.0)
    running = np.maximum.accumulate(height)
    counted = running > 0.1 * np.abs(z)  # past the series resistance's ~0 start
    ratio = np.where(counted, height / np.where(running > 0, running, 1.0), 1.0)
    dip = int(np.argmin(ratio))
    if ratio[dip] < _ARC_DIP:
        apex = int(np.argmax(height[:dip + 1]))
        return Classification("blocking-pellet", (
            f"blocking ({where}) with an arc: −Z'' peaks at {frequency[apex]:.3g} Hz and "
            f"falls to {ratio[dip]:.0%} of it at {frequency[dip]:.3g} Hz before the "
            "low-frequency spike"))
    # no arc: a line whose phase (beyond the high-frequency intercept) rises from ~45° to
    # ~90° is a transmission line; one at a constant angle is a pellet's spike alone
    angle = -np.degrees(np.angle(z - z.real[0]))
    count = frequency.size
    high = float(np.median(angle[count // 20: count // 4 + 1]))
    low = float(np.median(angle[-max(3, count // 7):]))
    if low - high >= _LINE_RISE_DEGREE:
        return Classification("transmission-line", (
            f"blocking ({where}), no arc, and the angle beyond the high-frequency intercept "
            f"rises from {high:.0f}° to {low:.0f}° towards low frequency: the transmission "
            "line of a composite electrode"))
    return Classification("blocking-pellet", (
        f"blocking ({where}) with only the electrode spike in range (angle beyond the "
        f"high-frequency intercept {high:.0f}° to {low:.0f}°): a pellet whose arcs lie above "
        "the highest frequency"))
