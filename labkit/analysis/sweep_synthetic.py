"""Synthetic potential sweeps with known onsets: the stability window's ground truth.

The potential follows straight lines through ``vertices_volt`` at ``sweep_rate_volt_per_second``
(two vertices make a linear sweep, more a cyclic voltammogram), sampled every
``step_volt``. The current density (mA cm⁻², positive = oxidation) is the sum of

* the capacitive current ``± C ν`` of a double layer ``C`` (F cm⁻²), which follows the
  sweep direction with the cell's time constant ``τ`` (``dj/dt = (±Cν − j)/τ``, from 0
  at the start);
* an electronic leakage ``g (E − E_start)`` (mA cm⁻² V⁻¹);
* an irreversible oxidation from a known onset E_ox, Tafel-like::

      j_ox(E) = j₀ (exp((E − E_ox)/b) − 1)   for E ≥ E_ox, 0 below,

  and likewise a reduction below E_red with the opposite sign (``b`` = Tafel slope /
  ln 10);
* Gaussian noise: an absolute part plus a part proportional to the current.

The faradaic current alone crosses a threshold ``j_th`` at the analytic potential
``E_ox + b ln(1 + j_th/j₀)`` (``E_red − b ln(1 + j_th/j₀)`` for the reduction):
:meth:`TafelOnset.crossing_volt`. :func:`random_sweeps` draws the sweeps issue 19
asks the threshold onsets to be recovered on (sweep rates 0.1–10 mV/s).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from labkit.data import CyclingRecord, Metadata, Sample

LN10 = math.log(10.0)


@dataclass(frozen=True)
class TafelOnset:
    """A faradaic current that starts at ``onset_volt`` and grows exponentially beyond it.

    Attributes
    ----------
    onset_volt
        Potential where the current starts (above it for an oxidation, below for a reduction).
    tafel_slope_volt_per_decade
        Potential per tenfold increase of the current far beyond the onset.
    prefactor_milliampere_per_square_centimeter
        ``j₀`` of ``j₀ (exp(|E − E_on|/b) − 1)``.
    oxidation
        ``True`` for an oxidation (positive current above the onset), ``False`` for a
        reduction (negative current below it).
    """

    onset_volt: float
    tafel_slope_volt_per_decade: float
    prefactor_milliampere_per_square_centimeter: float
    oxidation: bool = True

    @property
    def _e_fold_volt(self) -> float:
        return self.tafel_slope_volt_per_decade / LN10

    def current_density(self, potential_volt: np.ndarray) -> np.ndarray:
        """Faradaic current density (mA cm⁻², signed) at each potential."""
        sign = 1.0 if self.oxidation else -1.0
        beyond = np.maximum(sign * (np.asarray(potential_volt, float) - self.onset_volt), 0.0)
        return sign * self.prefactor_milliampere_per_square_centimeter * np.expm1(
            beyond / self._e_fold_volt)

    def crossing_volt(self, threshold_milliampere_per_square_centimeter: float) -> float:
        """The potential at which the faradaic current density reaches the threshold."""
        shift = self._e_fold_volt * math.log1p(
            threshold_milliampere_per_square_centimeter
            / self.prefactor_milliampere_per_square_centimeter)
        return self.onset_volt + (shift if self.oxidation else -shift)


@dataclass(frozen=True, eq=False)
class SyntheticSweep:
    """A generated sweep record and what it was made from.

    Attributes
    ----------
    record
        The cycling record (``test_time_second``, ``voltage_volt``, ``current_ampere``).
    oxidation, reduction
        The faradaic onsets it holds (``None`` when absent).
    sweep_rate_volt_per_second, capacitance_farad_per_square_centimeter,
    leak_milliampere_per_square_centimeter_per_volt, noise_milliampere_per_square_centimeter,
    relative_noise, area_square_centimeter
        The other parameters.
    """

    record: CyclingRecord
    oxidation: TafelOnset | None
    reduction: TafelOnset | None
    sweep_rate_volt_per_second: float
    capacitance_farad_per_square_centimeter: float
    leak_milliampere_per_square_centimeter_per_volt: float
    noise_milliampere_per_square_centimeter: float
    relative_noise: float
    area_square_centimeter: float


def _program(vertices_volt: Sequence[float], rate: float, step: float
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Potential, time and sweep direction (+1/−1) of each sample through the vertices."""
    potentials, directions = [], []
    for start, end in zip(vertices_volt[:-1], vertices_volt[1:], strict=True):
        count = max(int(round(abs(end - start) / step)), 1)
        leg = np.linspace(start, end, count + 1)
        if potentials:
            leg = leg[1:]  # the vertex belongs to the leg before it
        potentials.append(leg)
        directions.append(np.full(leg.size, 1.0 if end > start else -1.0))
    potential = np.concatenate(potentials)
    time = np.concatenate([[0.0], np.cumsum(np.abs(np.diff(potential)))]) / rate
    return potential, time, np.concatenate(directions)


def _capacitive(time: np.ndarray, direction: np.ndarray, plateau: float, tau: float) -> np.ndarray:
    """Current of a double layer charged at ``±plateau``, relaxing with time constant ``tau``."""
    current = np.empty(time.size)
    legs = np.flatnonzero(np.diff(direction, prepend=0.0) != 0)  # first sample of each leg
    level = 0.0
    for first, last in zip(legs, [*legs[1:], time.size], strict=True):
        target = direction[first] * plateau
        since = time[first:last] - (time[first - 1] if first else time[0])
        current[first:last] = target + (level - target) * np.exp(-since / tau)
        level = current[last - 1]
    return current


def sweep_record(
    vertices_volt: Sequence[float],
    sweep_rate_volt_per_second: float,
    *,
    oxidation: TafelOnset | None = None,
    reduction: TafelOnset | None = None,
    capacitance_farad_per_square_centimeter: float = 1e-4,
    leak_milliampere_per_square_centimeter_per_volt: float = 1e-3,
    noise_milliampere_per_square_centimeter: float = 5e-5,
    relative_noise: float = 0.01,
    time_constant_second: float = 2.0,
    step_volt: float = 0.001,
    area_square_centimeter: float = 1.0,
    seed: int = 0,
) -> SyntheticSweep:
    """A linear sweep (two vertices) or cyclic voltammogram (more) with known onsets.

    Parameters
    ----------
    vertices_volt
        Start, turning and end potentials (``(3.0, 5.0)``: an LSV from 3 to 5 V).
    sweep_rate_volt_per_second
        Sweep rate ν.
    oxidation, reduction
        Faradaic onsets (either may be absent).
    capacitance_farad_per_square_centimeter
        Double-layer capacitance C; the capacitive current is C ν.
    leak_milliampere_per_square_centimeter_per_volt
        Electronic leakage conductance per area.
    noise_milliampere_per_square_centimeter, relative_noise
        Standard deviation of the absolute and of the proportional Gaussian noise.
    time_constant_second
        How fast the capacitive current follows a change of sweep direction.
    step_volt
        Potential between samples.
    area_square_centimeter
        Electrode area (stated in the record's sample).
    seed
        Seed of the noise.
    """
    potential, time, direction = _program(vertices_volt, sweep_rate_volt_per_second, step_volt)
    plateau = capacitance_farad_per_square_centimeter * sweep_rate_volt_per_second * 1000.0
    density = (_capacitive(time, direction, plateau, time_constant_second)
               + leak_milliampere_per_square_centimeter_per_volt * (potential - vertices_volt[0]))
    for onset in (oxidation, reduction):
        if onset is not None:
            density = density + onset.current_density(potential)
    rng = np.random.default_rng(seed)
    density = density + rng.normal(0.0, 1.0, density.size) * np.hypot(
        noise_milliampere_per_square_centimeter, relative_noise * density)
    data = pd.DataFrame({"test_time_second": time, "voltage_volt": potential,
                         "current_ampere": density * area_square_centimeter / 1000.0})
    technique = "LSV" if len(vertices_volt) == 2 else "CV"
    meta = Metadata(vendor="labkit", technique=(technique,), instrument="labkit.analysis."
                    "sweep_synthetic", sample=Sample(name="synthetic stability-window cell",
                                                     area_square_centimeter=area_square_centimeter),
                    notes=(f"synthetic {technique} at {sweep_rate_volt_per_second * 1000:g} mV/s",))
    return SyntheticSweep(CyclingRecord(data, meta), oxidation, reduction,
                          sweep_rate_volt_per_second, capacitance_farad_per_square_centimeter,
                          leak_milliampere_per_square_centimeter_per_volt,
                          noise_milliampere_per_square_centimeter, relative_noise,
                          area_square_centimeter)


def random_sweeps(count: int, seed: int = 0, *, end_current_milliampere_per_square_centimeter:
                  float = 2.0) -> list[SyntheticSweep]:
    """Linear sweeps with random, realistic parameters; half oxidative, half reductive.

    Drawn (log-uniform unless said): sweep rate 0.1–10 mV/s; double-layer capacitance
    10 µF–1 mF cm⁻² (a carbon-rich composite working electrode at the top); leakage
    0–2 µA cm⁻² V⁻¹ (uniform); Tafel slope 60–180 mV/decade (uniform); prefactor
    j₀ 0.1–1 µA cm⁻²; absolute noise 10–100 nA cm⁻² plus 1 % of the current. Oxidative
    sweeps start at 2.5–3.0 V with the onset at 3.8–4.6 V; reductive ones start at
    2.5–3.0 V with the onset at 0.6–1.4 V. Each sweep ends where the faradaic current
    reaches ``end_current_milliampere_per_square_centimeter``. 1 mV per sample.
    """
    rng = np.random.default_rng(seed)
    sweeps = []
    for index in range(count):
        oxidative = index % 2 == 0
        onset = TafelOnset(
            onset_volt=float(rng.uniform(3.8, 4.6) if oxidative else rng.uniform(0.6, 1.4)),
            tafel_slope_volt_per_decade=float(rng.uniform(0.06, 0.18)),
            prefactor_milliampere_per_square_centimeter=float(10 ** rng.uniform(-4, -3)),
            oxidation=oxidative)
        start = float(rng.uniform(2.5, 3.0))
        end = onset.crossing_volt(end_current_milliampere_per_square_centimeter)
        sweeps.append(sweep_record(
            (start, end), float(10 ** rng.uniform(-4, -2)),
            oxidation=onset if oxidative else None, reduction=None if oxidative else onset,
            capacitance_farad_per_square_centimeter=float(10 ** rng.uniform(-5, -3)),
            leak_milliampere_per_square_centimeter_per_volt=float(rng.uniform(0.0, 2e-3)),
            noise_milliampere_per_square_centimeter=float(10 ** rng.uniform(-5, -4)),
            relative_noise=0.01, seed=int(rng.integers(2**31))))
    return sweeps
