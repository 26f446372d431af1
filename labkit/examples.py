"""Example data that labkit generates itself, from physical models with known answers.

Used by ``labkit demo``, the notebooks and tests: every generator returns a record
whose ground truth (capacities, activation energies, CCD, t⁺, the oxidation onset of a
linear sweep, a composite electrode's tortuosity) is known, so an
analysis run on it can be checked. :func:`write_examples` writes a folder of them
in formats :func:`labkit.read` opens (Battery Data Format CSV for cycling, a
``frequency_hertz,z_real_ohm,z_imag_ohm`` CSV for impedance).
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from labkit.analysis.rate import tian_capacity
from labkit.analysis.sweep_synthetic import SyntheticSweep, TafelOnset, sweep_record
from labkit.data import CyclingRecord, ImpedanceRecord, Metadata, Sample
from labkit.eis.circuit import Circuit
from labkit.eis.tlm_synthetic import TLM_CIRCUIT, transmission_line_q
from labkit.fileio import atomic_write

BOLTZMANN_EV = 8.617333262e-5  # eV/K
#: Total (bulk + grain boundary) conductivity at 25 °C of :func:`pellet_impedance`'s defaults.
PELLET_TOTAL_SIGMA_25C = 1.0 / (1.0 / 1e-5 + 1.0 / 5e-6)
#: The oxidation of :func:`stability_sweep`: onset 4.2 V, 120 mV/decade, j₀ 0.5 µA/cm².
OXIDATION = TafelOnset(onset_volt=4.2, tafel_slope_volt_per_decade=0.12,
                       prefactor_milliampere_per_square_centimeter=5e-4)


def open_circuit_voltage(soc: np.ndarray) -> np.ndarray:
    """A smooth NMC/graphite-like open-circuit voltage, 3.3 V at empty to 4.25 V at full."""
    soc = np.clip(soc, 1e-4, 1 - 1e-4)
    return 3.45 + 0.65 * soc + 0.03 * np.log(soc / (1 - soc))


@dataclass(frozen=True)
class _Cell:
    capacity_ah: float
    resistance_ohm: float
    upper_volt: float = 4.2
    lower_volt: float = 3.0


class _Recorder:
    """Accumulates segments of a simulated test into one table."""

    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []
        self.time = 0.0
        self.step = 0

    def add(self, t: np.ndarray, v: np.ndarray, i: np.ndarray, cycle: int, step_index: int) -> None:
        self.step += 1
        self.parts.append(pd.DataFrame({
            "test_time_second": self.time + t,
            "voltage_volt": v,
            "current_ampere": i,
            "cycle_count": cycle,
            "step_index": step_index,
            "step_count": self.step,
        }))
        self.time += float(t[-1]) + 1.0

    def frame(self) -> pd.DataFrame:
        data = pd.concat(self.parts, ignore_index=True)
        for column in ("cycle_count", "step_index", "step_count"):
            data[column] = data[column].astype(np.int32)
        return data


def _cc(cell: _Cell, soc0: float, current: float, dt: float, available_ah: float | None = None):
    """Constant current until the voltage limit (charge) or lower cut-off (discharge)."""
    capacity = cell.capacity_ah
    reach = available_ah if available_ah is not None else capacity
    duration = 1.2 * 3600 * capacity / abs(current)
    t = np.arange(0.0, duration, dt)
    passed = current * t / 3600
    soc = soc0 + passed / capacity
    v = open_circuit_voltage(soc) + current * cell.resistance_ohm
    if current < 0:  # diffusion limit: the usable charge shrinks at high rate
        used = np.minimum(-passed / reach, 0.999999)
        v = v + 0.05 * np.log1p(-used)
        end = np.flatnonzero(v <= cell.lower_volt)
    else:
        end = np.flatnonzero(v >= cell.upper_volt)
    stop = int(end[0]) if end.size else len(t) - 1
    stop = max(stop, 1)
    return t[: stop + 1], v[: stop + 1], np.full(stop + 1, current), float(soc[stop])


def _cv(cell: _Cell, soc0: float, cutoff_ampere: float, dt: float):
    """Constant voltage at the upper limit until the current falls below the cut-off."""
    times, currents, soc = [0.0], [], soc0
    current = (cell.upper_volt - open_circuit_voltage(np.array(soc))) / cell.resistance_ohm
    while current > cutoff_ampere and times[-1] < 6 * 3600:
        currents.append(float(current))
        soc += current * dt / 3600 / cell.capacity_ah
        times.append(times[-1] + dt)
        current = (cell.upper_volt - open_circuit_voltage(np.array(soc))) / cell.resistance_ohm
    currents.append(float(max(current, 0.0)))
    t = np.array(times)
    return t, np.full(t.size, cell.upper_volt), np.array(currents), soc


def _rest(soc: float, seconds: float, dt: float):
    t = np.arange(0.0, seconds + dt / 2, dt)
    return t, np.full(t.size, float(open_circuit_voltage(np.array(soc)))), np.zeros(t.size)


def cycling_cell(
    cycles: int = 30,
    capacity_ah: float = 0.003,
    fade_per_cycle: float = 0.004,
    c_rate: float = 0.5,
    seed: int = 0,
) -> CyclingRecord:
    """CC-CV charge / CC discharge cycling of a cell whose capacity fades linearly.

    Parameters
    ----------
    cycles
        Number of cycles.
    capacity_ah
        Capacity of the first cycle.
    fade_per_cycle
        Fractional capacity lost per cycle (0.004 = 0.4 %/cycle, so 80 % near cycle 50).
    c_rate
        Charge and discharge rate.
    seed
        Seed of the 0.5 mV voltage noise.
    """
    rng = np.random.default_rng(seed)
    recorder = _Recorder()
    soc = 0.0
    for cycle in range(1, cycles + 1):
        cell = _Cell(capacity_ah * (1 - fade_per_cycle * (cycle - 1)),
                     resistance_ohm=8.0 * (1 + 0.01 * (cycle - 1)))
        current = c_rate * capacity_ah
        t, v, i, soc = _cc(cell, soc, current, dt=30.0)
        recorder.add(t, v, i, cycle, 1)
        t, v, i, soc = _cv(cell, soc, current / 10, dt=30.0)
        recorder.add(t, v, i, cycle, 2)
        recorder.add(*_rest(soc, 600, 60.0), cycle, 3)
        t, v, i, soc = _cc(cell, soc, -current, dt=30.0)
        recorder.add(t, v, i, cycle, 4)
        recorder.add(*_rest(soc, 600, 60.0), cycle, 5)
    data = recorder.frame()
    data["voltage_volt"] += rng.normal(0, 5e-4, len(data))
    meta = Metadata(vendor="labkit", technique=("GCPL",), instrument="labkit.examples",
                    sample=Sample(name="example NMC|graphite cell",
                                  nominal_capacity_ampere_hour=capacity_ah, active_mass_gram=0.02),
                    notes=(f"synthetic: capacity fades {fade_per_cycle:.2%} per cycle",))
    return CyclingRecord(data, meta)


def rate_capability(
    rates: tuple[float, ...] = (0.1, 0.2, 0.5, 1, 2, 5, 10, 0.1),
    repeats: int = 3,
    capacity_ah: float = 0.003,
    tau_hour: float = 0.05,
    n: float = 0.8,
) -> CyclingRecord:
    """Discharge-rate ladder: CC-CV charge at C/5, CC discharge at each rate ``repeats`` times.

    The charge available at rate R follows :func:`tian_capacity` with ``tau_hour`` and ``n``.
    """
    recorder = _Recorder()
    soc, cycle = 0.0, 0
    for rate in rates:
        for _ in range(repeats):
            cycle += 1
            cell = _Cell(capacity_ah, resistance_ohm=2.0)
            t, v, i, soc = _cc(cell, soc, 0.2 * capacity_ah, dt=60.0)
            recorder.add(t, v, i, cycle, 1)
            t, v, i, soc = _cv(cell, soc, 0.02 * capacity_ah, dt=60.0)
            recorder.add(t, v, i, cycle, 2)
            available = float(tian_capacity(np.array([rate]), capacity_ah, tau_hour, n)[0])
            dt = min(60.0, 3600 / rate / 400)
            t, v, i, soc = _cc(cell, soc, -rate * capacity_ah, dt=dt, available_ah=available)
            recorder.add(t, v, i, cycle, 3)
            recorder.add(*_rest(soc, 300, 60.0), cycle, 4)
    meta = Metadata(vendor="labkit", technique=("rate capability",), instrument="labkit.examples",
                    sample=Sample(name="example rate-capability cell",
                                  nominal_capacity_ampere_hour=capacity_ah),
                    notes=(f"synthetic: Tian model tau={tau_hour} h, n={n}",))
    return CyclingRecord(recorder.frame(), meta)


def pellet_impedance(
    temperature_celsius: float,
    *,
    sigma_bulk_25c: float = 1e-5,
    sigma_gb_25c: float = 5e-6,
    ea_bulk_ev: float = 0.35,
    ea_gb_ev: float = 0.50,
    thickness_cm: float = 0.1,
    area_cm2: float = 0.785,
    noise: float = 0.01,
    seed: int = 0,
) -> ImpedanceRecord:
    """Blocking-electrode pellet spectrum ``R0-p(R1,CPE1)-p(R2,CPE2)-CPE3``, 7 MHz–0.1 Hz.

    Bulk and grain-boundary conductivities follow σT = A·exp(−Ea/kT) with the given
    values at 25 °C; ``noise`` is the relative Gaussian noise on real and imaginary parts.
    """
    t_kelvin, t_ref = temperature_celsius + 273.15, 298.15

    def sigma(sigma_25c: float, ea: float) -> float:
        return sigma_25c * t_ref / t_kelvin * np.exp(-ea / BOLTZMANN_EV * (1 / t_kelvin - 1 / t_ref))

    r_bulk = thickness_cm / (sigma(sigma_bulk_25c, ea_bulk_ev) * area_cm2)
    r_gb = thickness_cm / (sigma(sigma_gb_25c, ea_gb_ev) * area_cm2)
    frequency = np.logspace(np.log10(7e6), -1, 80)
    jw = 2j * np.pi * frequency
    z = (5.0 + r_bulk / (1 + r_bulk * 2e-11 * jw ** 0.95) + r_gb / (1 + r_gb * 1e-9 * jw ** 0.85)
         + 1 / (2e-6 * jw ** 0.9))
    rng = np.random.default_rng(seed)
    z = z.real * (1 + noise * rng.standard_normal(z.size)) + 1j * z.imag * (
        1 + noise * rng.standard_normal(z.size))
    data = pd.DataFrame({"spectrum": np.zeros(z.size, np.int64), "frequency_hertz": frequency,
                         "z_real_ohm": z.real, "z_imag_ohm": z.imag,
                         "temperature_celsius": float(temperature_celsius)})
    meta = Metadata(vendor="labkit", technique=("PEIS",), instrument="labkit.examples",
                    sample=Sample(name="example oxide pellet", area_square_centimeter=area_cm2,
                                  thickness_centimeter=thickness_cm,
                                  temperature_celsius=float(temperature_celsius)),
                    extra={"r_bulk_ohm": float(r_bulk), "r_gb_ohm": float(r_gb)})
    return ImpedanceRecord(data, meta)


def ccd_staircase(
    densities_ma_cm2: tuple[float, ...] = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0),
    short_at_ma_cm2: float = 0.6,
    area_cm2: float = 1.0,
    asr_ohm_cm2: float = 150.0,
    half_cycle_second: float = 1800.0,
    seed: int = 0,
) -> CyclingRecord:
    """Li|SE|Li stepped-current test: ± each density for one half cycle, shorting at one step.

    Polarisation is ohmic (``asr_ohm_cm2``) with a small nucleation overshoot; at
    ``short_at_ma_cm2`` the voltage collapses to 2 % of its ohmic value a third of
    the way into the first half cycle (a dendrite short).
    """
    rng = np.random.default_rng(seed)
    recorder = _Recorder()
    dt = 10.0
    shorted = False
    for cycle, density in enumerate(densities_ma_cm2, start=1):
        current = density * 1e-3 * area_cm2
        for step, sign in ((1, 1.0), (2, -1.0)):
            t = np.arange(0.0, half_cycle_second + dt / 2, dt)
            v = sign * density * 1e-3 * asr_ohm_cm2 * (1 + 0.3 * np.exp(-t / 120))
            if density >= short_at_ma_cm2 and not shorted:
                collapse = t > half_cycle_second / 3
                v = np.where(collapse, 0.02 * v, v)
                shorted = True
            elif shorted:
                v = 0.02 * v
            v = v + rng.normal(0, 2e-4, t.size)
            recorder.add(t, v, np.full(t.size, sign * current), cycle, step)
    meta = Metadata(vendor="labkit", technique=("CCD",), instrument="labkit.examples",
                    sample=Sample(name="example Li|LLZO|Li", area_square_centimeter=area_cm2),
                    notes=(f"synthetic: short at {short_at_ma_cm2} mA/cm²",))
    return CyclingRecord(recorder.frame(), meta)


def transference_experiment(
    t_plus: float = 0.4,
    delta_v: float = 0.010,
    r_bulk_ohm: float = 100.0,
    r_interface_before_ohm: float = 500.0,
    r_interface_after_ohm: float = 550.0,
    seed: int = 0,
) -> tuple[CyclingRecord, ImpedanceRecord, ImpedanceRecord]:
    """Bruce–Vincent experiment on a Li|polymer|Li cell with a known t⁺.

    Returns the chronoamperometry record and the symmetric-cell spectra before and
    after polarisation (``R0-p(R1,CPE1)`` with R0 = bulk, R1 = interface). The initial
    current is Ohm's law ΔV/(R_b + R_i,0); the steady-state current solves the
    Bruce–Vincent equation for ``t_plus``.
    """
    rng = np.random.default_rng(seed)
    i0 = delta_v / (r_bulk_ohm + r_interface_before_ohm)
    iss = t_plus * i0 * delta_v / (delta_v - i0 * r_interface_before_ohm
                                   + t_plus * i0 * r_interface_after_ohm)
    t = np.arange(0.0, 4 * 3600 + 1, 5.0)
    current = iss + (i0 - iss) * np.exp(-t / 1500.0) + rng.normal(0, 2e-4 * i0, t.size)
    data = pd.DataFrame({"test_time_second": t, "voltage_volt": np.full(t.size, delta_v),
                         "current_ampere": current})
    ca = CyclingRecord(data, Metadata(vendor="labkit", technique=("CA",),
                                      instrument="labkit.examples",
                                      notes=(f"synthetic: t+ = {t_plus}",)))

    def spectrum(r_interface: float, offset: int) -> ImpedanceRecord:
        frequency = np.logspace(6, -1, 71)
        jw = 2j * np.pi * frequency
        z = r_bulk_ohm + r_interface / (1 + r_interface * 1e-6 * jw ** 0.9)
        noise = np.random.default_rng(seed + offset).standard_normal((2, z.size)) * 0.003
        z = z.real * (1 + noise[0]) + 1j * z.imag * (1 + noise[1])
        frame = pd.DataFrame({"spectrum": np.zeros(z.size, np.int64), "frequency_hertz": frequency,
                              "z_real_ohm": z.real, "z_imag_ohm": z.imag})
        return ImpedanceRecord(frame, Metadata(vendor="labkit", technique=("PEIS",),
                                               instrument="labkit.examples"))

    return ca, spectrum(r_interface_before_ohm, 1), spectrum(r_interface_after_ohm, 2)


def stability_sweep(sweep_rate_volt_per_second: float = 0.001, area_cm2: float = 0.785,
                    seed: int = 0) -> SyntheticSweep:
    """Linear sweep from 3.0 V of an electrolyte that oxidises from 4.2 V (:data:`OXIDATION`).

    A 100 µF/cm² double layer and a 1 µA cm⁻² V⁻¹ leakage make the background; the sweep
    stops where the oxidation current reaches 1 mA/cm². The result's ``oxidation`` gives the
    analytic threshold crossings (0.01 mA/cm² at 4.359 V).
    """
    return sweep_record((3.0, OXIDATION.crossing_volt(1.0)), sweep_rate_volt_per_second,
                        oxidation=OXIDATION, capacitance_farad_per_square_centimeter=1e-4,
                        leak_milliampere_per_square_centimeter_per_volt=1e-3,
                        area_square_centimeter=area_cm2, seed=seed)


def composite_electrode_impedance(
    *,
    sigma_electrolyte_s_cm: float = PELLET_TOTAL_SIGMA_25C,
    volume_fraction: float = 0.35,
    tortuosity_factor: float = 2.5,
    thickness_cm: float = 0.005,
    area_cm2: float = 0.785,
    series_resistance_ohm: float = 2000.0,
    alpha: float = 0.9,
    characteristic_hertz: float = 5.0,
    noise: float = 0.005,
    seed: int = 0,
) -> ImpedanceRecord:
    """Blocking spectrum of a composite cathode whose electrolyte network has a known tortuosity.

    σ_eff = ε σ_SE / τ and R_ion = L / (σ_eff A) (the defaults: the example pellet's total
    conductivity, ε = 0.35, τ = 2.5, a 50 µm electrode: R_ion ≈ 13.6 kΩ), in series with
    the separator and contacts, as ``R0-TLMQ1`` from 1 MHz to 10 mHz (81 points) with
    ``noise``·|Z| Gaussian noise on the real and imaginary parts. ``meta.extra`` holds R_ion.
    """
    sigma_eff = volume_fraction * sigma_electrolyte_s_cm / tortuosity_factor
    r_ion = thickness_cm / (sigma_eff * area_cm2)
    frequency = np.logspace(6, -2, 81)
    z = Circuit(TLM_CIRCUIT).impedance(
        {"R0": series_resistance_ohm, "TLMQ1_0": r_ion,
         "TLMQ1_1": transmission_line_q(r_ion, characteristic_hertz, alpha), "TLMQ1_2": alpha},
        frequency)
    rng = np.random.default_rng(seed)
    z = z + noise * np.abs(z) * (rng.standard_normal(z.size) + 1j * rng.standard_normal(z.size))
    data = pd.DataFrame({"spectrum": np.zeros(z.size, np.int64), "frequency_hertz": frequency,
                         "z_real_ohm": z.real, "z_imag_ohm": z.imag})
    meta = Metadata(vendor="labkit", technique=("PEIS",), instrument="labkit.examples",
                    sample=Sample(name="example composite cathode (blocking)",
                                  area_square_centimeter=area_cm2,
                                  thickness_centimeter=thickness_cm),
                    extra={"r_ion_ohm": float(r_ion), "sigma_eff_s_cm": float(sigma_eff)})
    return ImpedanceRecord(data, meta)


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    with atomic_write(path, "w", encoding="utf-8", newline="\n") as handle:
        frame.to_csv(handle, index=False, float_format="%.9g")


def write_examples(folder: str | PathLike[str]) -> list[Path]:
    """Write the example files into ``folder`` (created if needed) and return their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def put(name: str, frame: pd.DataFrame) -> None:
        path = folder / name
        _write_csv(frame, path)
        written.append(path)

    put("cycling_cell.bdf.csv", cycling_cell().data)
    put("rate_capability.bdf.csv", rate_capability().data)
    put("ccd_li_llzo_li.bdf.csv", ccd_staircase().data)
    ca, before, after = transference_experiment()
    put("transference_ca.bdf.csv", ca.data)
    impedance_columns = ["frequency_hertz", "z_real_ohm", "z_imag_ohm"]
    put("transference_eis_before.csv", before.data[impedance_columns])
    put("transference_eis_after.csv", after.data[impedance_columns])
    for temperature in (-20, -10, 0, 10, 25, 40):
        spectrum = pellet_impedance(temperature, seed=temperature + 100)
        put(f"pellet_eis_{temperature}C.csv", spectrum.data[impedance_columns])
    put("lsv_oxidation.bdf.csv", stability_sweep().record.data)
    put("composite_cathode_blocking_eis.csv", composite_electrode_impedance().data[
        impedance_columns])
    return written
