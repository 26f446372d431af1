"""Solid-electrolyte pellet spectra with a known truth: sulfide-like, ceramic-like, series.

These are the sets issue 16 measures labkit's default analysis on; every draw is
reproducible from its seed.

**Sulfide-like** (a cold-pressed argyrodite between blocking steel stamps, room
temperature): bulk resistance 15-400 Ω (log-uniform) in parallel with its geometric
capacitance ``C = ε0 εr A / L`` (εr 20-100; an ideal capacitor), drawn so that the
bulk arc relaxes above 20 MHz; a grain-boundary ZARC with R 0.2-2× the bulk (log-
uniform), n 0.8-0.95 and effective capacitance ``c A / L`` with c 2e-11-1e-9 F/cm
(log-uniform); no lead resistance; a blocking CPE with Q 1-10 µF s^(α-1) per cm² of
electrode and α 0.8-0.95. 7 MHz-0.1 Hz, 10 points per decade.

**Ceramic-like** (a sintered oxide, both arcs visible): bulk ZARC with R 10 kΩ-10 MΩ,
n 0.9-1, effective capacitance ``ε0 εr A / L`` (εr 15-60), drawn so that it relaxes at
least a decade below 1 MHz; a grain-boundary ZARC 20-1000× slower with R 0.2-5× the
bulk and n 0.75-0.95; a lead resistance of 0.5-3 Ω; the same blocking CPE.
1 MHz-0.1 Hz, 10 points per decade. With ``same_class=True`` the grain boundary's
capacitance is only 1-3× the bulk's (both in the bulk class of Irvine, Sinclair and
West), and its resistance 20-1000× the bulk's divided by that ratio, as in the
Novocontrol series of the corpus (sample s04147).

Geometry: area 0.5-1.3 cm², thickness 0.05-0.15 cm (uniform). Noise: Gaussian on the
real and imaginary parts, standard deviation ``noise·|Z|`` (0.3 % by default).

**Temperature series**: the parameters above are drawn at a reference temperature
(25 °C for sulfides, 170 °C for ceramics) and each resistance follows
``σT = A exp(-Ea/kT)``, i.e. ``R(T) = R_ref (T/T_ref) exp(Ea/k (1/T - 1/T_ref))``,
with bulk Ea 0.25-0.45 eV and grain-boundary Ea 0.05-0.2 eV above it; capacitances and
the electrode CPE do not change with temperature. Sulfides: -20 to 60 °C, ceramics
140 to 200 °C, in steps of 10 °C.

**Identifiability.** Some draws hold no information on the bulk/grain-boundary split:
a grain-boundary arc relaxing at hundreds of MHz next to a bulk arc that does too
leaves only their sum in the data. As in :mod:`labkit.eis.synthetic`, a draw is kept
only when the Cramér-Rao bound of the true circuit (the smallest standard deviation
any unbiased estimator can reach on this noise) lets the bulk resistance be within
5 % and the total within 3 % of the truth with 99 % probability, at every
temperature of a series. How many draws were dropped is reported
(:attr:`SyntheticSet.drawn`), so a benchmark can state it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Literal

import numpy as np

from labkit.eis.circuit import Circuit

#: Vacuum permittivity, F/cm.
VACUUM_PERMITTIVITY_FARAD_PER_CENTIMETER = 8.8541878128e-14
BOLTZMANN_EV_PER_KELVIN = 8.617333262e-5
KELVIN_OFFSET = 273.15

Kind = Literal["sulfide", "ceramic"]

#: The true circuits: an ideal bulk capacitor for sulfides, ZARC arcs for ceramics.
TRUE_CIRCUITS: dict[str, str] = {
    "sulfide": "R0-p(R1,C1)-Zarc2-CPE3",
    "ceramic": "R0-Zarc1-Zarc2-CPE3",
}
FREQUENCY_RANGE_HERTZ: dict[str, tuple[float, float]] = {
    "sulfide": (7e6, 0.1),
    "ceramic": (1e6, 0.1),
}
REFERENCE_CELSIUS = {"sulfide": 25.0, "ceramic": 170.0}
SERIES_CELSIUS = {"sulfide": tuple(range(-20, 61, 10)), "ceramic": tuple(range(140, 201, 10))}


@dataclass(frozen=True)
class PelletTruth:
    """The parameters of one pellet at its reference temperature."""

    kind: str
    area_square_centimeter: float
    thickness_centimeter: float
    lead_ohm: float
    bulk_ohm: float
    bulk_capacitance_farad: float
    bulk_dispersion: float
    grain_boundary_ohm: float
    grain_boundary_capacitance_farad: float
    grain_boundary_dispersion: float
    electrode_q: float
    electrode_alpha: float
    bulk_activation_electronvolt: float = math.nan
    grain_boundary_activation_electronvolt: float = math.nan

    @property
    def cell_constant_per_centimeter(self) -> float:
        """L / A."""
        return self.thickness_centimeter / self.area_square_centimeter

    def at(self, celsius: float, reference_celsius: float) -> PelletTruth:
        """The pellet at another temperature (σT Arrhenius for both resistances)."""
        t, t_ref = celsius + KELVIN_OFFSET, reference_celsius + KELVIN_OFFSET

        def scale(energy: float) -> float:
            return (t / t_ref) * math.exp(energy / BOLTZMANN_EV_PER_KELVIN * (1 / t - 1 / t_ref))

        return PelletTruth(
            self.kind, self.area_square_centimeter, self.thickness_centimeter, self.lead_ohm,
            self.bulk_ohm * scale(self.bulk_activation_electronvolt),
            self.bulk_capacitance_farad, self.bulk_dispersion,
            self.grain_boundary_ohm * scale(self.grain_boundary_activation_electronvolt),
            self.grain_boundary_capacitance_farad, self.grain_boundary_dispersion,
            self.electrode_q, self.electrode_alpha,
            self.bulk_activation_electronvolt, self.grain_boundary_activation_electronvolt)

    def parameters(self) -> dict[str, float]:
        """The values of :data:`TRUE_CIRCUITS` ``[kind]``."""
        gb = {"Zarc2_0": self.grain_boundary_ohm,
              "Zarc2_1": self.grain_boundary_ohm * self.grain_boundary_capacitance_farad,
              "Zarc2_2": self.grain_boundary_dispersion,
              "CPE3_0": self.electrode_q, "CPE3_1": self.electrode_alpha, "R0": self.lead_ohm}
        if self.kind == "sulfide":
            return {"R1": self.bulk_ohm, "C1": self.bulk_capacitance_farad, **gb}
        return {"Zarc1_0": self.bulk_ohm,
                "Zarc1_1": self.bulk_ohm * self.bulk_capacitance_farad,
                "Zarc1_2": self.bulk_dispersion, **gb}

    def sigma_siemens_per_centimeter(self) -> dict[str, float]:
        """True bulk, grain-boundary and total conductivity, L / (R A)."""
        k = self.cell_constant_per_centimeter
        return {"bulk": k / self.bulk_ohm, "grain_boundary": k / self.grain_boundary_ohm,
                "total": k / (self.bulk_ohm + self.grain_boundary_ohm)}

    def relaxation_hertz(self) -> tuple[float, float]:
        """Peak frequencies of the bulk and grain-boundary arcs, 1 / (2π R C)."""
        return (1 / (2 * math.pi * self.bulk_ohm * self.bulk_capacitance_farad),
                1 / (2 * math.pi * self.grain_boundary_ohm
                     * self.grain_boundary_capacitance_farad))


@dataclass(frozen=True)
class SyntheticPellet:
    """One noisy spectrum and its truth."""

    truth: PelletTruth
    temperature_celsius: float
    frequency_hertz: np.ndarray = field(repr=False)
    impedance: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class SyntheticSet:
    """Spectra (or series of spectra) and how many draws it took to get them."""

    items: tuple
    drawn: int


def frequencies(kind: Kind, points_per_decade: int = 10) -> np.ndarray:
    """The measured frequencies of a kind, high to low."""
    high, low = FREQUENCY_RANGE_HERTZ[kind]
    count = int(round(math.log10(high / low) * points_per_decade)) + 1
    return np.logspace(math.log10(high), math.log10(low), count)


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(10 ** rng.uniform(math.log10(low), math.log10(high)))


def _geometry(rng: np.random.Generator) -> tuple[float, float]:
    return float(rng.uniform(0.5, 1.3)), float(rng.uniform(0.05, 0.15))


def _electrode(rng: np.random.Generator, area: float) -> tuple[float, float]:
    return float(rng.uniform(1e-6, 1e-5) * area), float(rng.uniform(0.8, 0.95))


def _energies(rng: np.random.Generator) -> tuple[float, float]:
    bulk = float(rng.uniform(0.25, 0.45))
    return bulk, bulk + float(rng.uniform(0.05, 0.2))


def draw_sulfide(rng: np.random.Generator) -> PelletTruth:
    """One sulfide-like pellet at 25 °C (module doc)."""
    while True:
        area, thickness = _geometry(rng)
        capacitance = VACUUM_PERMITTIVITY_FARAD_PER_CENTIMETER * rng.uniform(20, 100) \
            * area / thickness
        bulk = _log_uniform(rng, 15, 400)
        if 1 / (2 * math.pi * bulk * capacitance) >= 20e6:
            break
    gb = bulk * _log_uniform(rng, 0.2, 2.0)
    gb_capacitance = _log_uniform(rng, 2e-11, 1e-9) * area / thickness
    return PelletTruth("sulfide", area, thickness, 0.0, bulk, float(capacitance), 1.0, gb,
                       gb_capacitance, float(rng.uniform(0.8, 0.95)), *_electrode(rng, area),
                       *_energies(rng))


def draw_ceramic(rng: np.random.Generator, same_class: bool = False) -> PelletTruth:
    """One ceramic-like pellet at 170 °C (module doc)."""
    f_max = FREQUENCY_RANGE_HERTZ["ceramic"][0]
    while True:
        area, thickness = _geometry(rng)
        capacitance = VACUUM_PERMITTIVITY_FARAD_PER_CENTIMETER * rng.uniform(15, 60) \
            * area / thickness
        bulk = _log_uniform(rng, 1e4, 1e7)
        if 1 / (2 * math.pi * bulk * capacitance) <= f_max / 10:
            break
    slower = _log_uniform(rng, 20, 1000)
    if same_class:
        ratio = float(rng.uniform(1, 3))
        gb, gb_capacitance = bulk * slower / ratio, capacitance * ratio
    else:
        gb = bulk * _log_uniform(rng, 0.2, 5.0)
        gb_capacitance = capacitance * slower * bulk / gb
    return PelletTruth("ceramic", area, thickness, float(rng.uniform(0.5, 3.0)), bulk,
                       float(capacitance), float(rng.uniform(0.9, 1.0)), gb, gb_capacitance,
                       float(rng.uniform(0.75, 0.95)), *_electrode(rng, area), *_energies(rng))


def _identifiable(truth: PelletTruth, frequency: np.ndarray, noise: float) -> bool:
    """The Cramér-Rao bound allows bulk within 5 % and total within 3 % (99 % two-sided).

    The lead resistance R0 is a free parameter of the bound, as it is of any fit. A
    sulfide's bulk arc relaxes above the measured range, where R0 and the bulk
    resistance are not separable; what the data determine (and what an analysis
    reports, after subtracting a lead resistance measured on its own) is their sum,
    the high-frequency intercept: that is the bulk quantity bounded for sulfides.
    """
    if noise <= 0:
        return True
    z = NormalDist().inv_cdf(0.995)
    circuit = Circuit(TRUE_CIRCUITS[truth.kind])
    values = truth.parameters()
    names = list(circuit.parameter_names)
    point = np.array([values[n] for n in names])
    model, derivative = circuit.evaluate(point, _grid(frequency), jacobian=True)
    sigma = noise * np.abs(model)
    jac = np.vstack([(derivative.real / sigma).T, (derivative.imag / sigma).T])
    try:
        covariance = np.linalg.inv(jac.T @ jac)
    except np.linalg.LinAlgError:
        return False
    bulk_names = ["R0", "R1"] if truth.kind == "sulfide" else ["Zarc1_0"]
    checks = ((bulk_names, truth.lead_ohm * (truth.kind == "sulfide") + truth.bulk_ohm, 0.05),
              (bulk_names + ["Zarc2_0"], truth.bulk_ohm + truth.grain_boundary_ohm
               + truth.lead_ohm * (truth.kind == "sulfide"), 0.03))
    for members, value, tolerance in checks:
        pick = np.array([1.0 if n in members else 0.0 for n in names])
        variance = float(pick @ covariance @ pick)
        if not (variance >= 0 and math.sqrt(variance) / value * z <= tolerance):
            return False
    return True


def _grid(frequency: np.ndarray):
    from labkit.eis.elements import FrequencyGrid

    return FrequencyGrid(np.asarray(frequency))


def spectrum_of(truth: PelletTruth, frequency: np.ndarray, noise: float,
                rng: np.random.Generator) -> np.ndarray:
    """The truth's impedance at ``frequency`` with relative Gaussian noise."""
    z = Circuit(TRUE_CIRCUITS[truth.kind]).impedance(truth.parameters(), frequency)
    if noise <= 0:
        return z
    return z + noise * np.abs(z) * (rng.standard_normal(z.size)
                                    + 1j * rng.standard_normal(z.size))


def pellets(kind: Kind, count: int, seed: int = 0, *, noise: float = 0.003,
            same_class: bool = False, identifiable: bool = True) -> SyntheticSet:
    """``count`` single spectra of one kind at its reference temperature."""
    rng = np.random.default_rng(seed)
    frequency = frequencies(kind)
    out, drawn = [], 0
    while len(out) < count:
        drawn += 1
        truth = draw_sulfide(rng) if kind == "sulfide" else draw_ceramic(rng, same_class)
        if identifiable and not _identifiable(truth, frequency, noise):
            continue
        out.append(SyntheticPellet(truth, REFERENCE_CELSIUS[kind], frequency,
                                   spectrum_of(truth, frequency, noise, rng)))
    return SyntheticSet(tuple(out), drawn)


def temperature_series(kind: Kind, count: int, seed: int = 0, *, noise: float = 0.003,
                       same_class: bool = False, identifiable: bool = True) -> SyntheticSet:
    """``count`` temperature series of one kind; each item is a tuple of spectra."""
    rng = np.random.default_rng(seed)
    frequency = frequencies(kind)
    reference = REFERENCE_CELSIUS[kind]
    out, drawn = [], 0
    while len(out) < count:
        drawn += 1
        truth = draw_sulfide(rng) if kind == "sulfide" else draw_ceramic(rng, same_class)
        states = [(celsius, truth.at(celsius, reference)) for celsius in SERIES_CELSIUS[kind]]
        if identifiable and not all(_identifiable(state, frequency, noise)
                                    for _, state in states):
            continue
        out.append(tuple(SyntheticPellet(state, float(celsius), frequency,
                                         spectrum_of(state, frequency, noise, rng))
                         for celsius, state in states))
    return SyntheticSet(tuple(out), drawn)


def series_records(series: tuple[SyntheticPellet, ...]) -> list:
    """Each spectrum of a temperature series as an impedance record stating its temperature
    (what :func:`labkit.eis.arrhenius.arrhenius_series` reads)."""
    import pandas as pd

    from labkit.data import ImpedanceRecord, Metadata

    return [ImpedanceRecord(pd.DataFrame({
        "spectrum": 0, "frequency_hertz": item.frequency_hertz,
        "z_real_ohm": item.impedance.real, "z_imag_ohm": item.impedance.imag,
        "temperature_celsius": item.temperature_celsius}),
        Metadata(source_path=f"{item.truth.kind}_{item.temperature_celsius:g}C"))
        for item in series]
