"""labkit.plot: every figure draws what its inputs say, on the axes given, and saves."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from labkit import examples, plot  # noqa: E402
from labkit.analysis.ccd import critical_current_density  # noqa: E402
from labkit.analysis.cycling import summarize_cycles  # noqa: E402
from labkit.analysis.dqdv import differential_capacity  # noqa: E402
from labkit.analysis.rate import rate_capability, tian_capacity  # noqa: E402
from labkit.analysis.transference import transference_number  # noqa: E402
from labkit.eis.drt import drt  # noqa: E402
from labkit.eis.fit import fit_circuit  # noqa: E402
from labkit.eis.kramers_kronig import kramers_kronig  # noqa: E402

PELLET = "R0-p(R1,CPE1)-p(R2,CPE2)-CPE3"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def pellet():
    record = examples.pellet_impedance(25, seed=125)
    frequency, z = record.impedance(0)
    return record, fit_circuit(frequency, z, PELLET)


@pytest.fixture(scope="module")
def cycling():
    record = examples.cycling_cell(cycles=6)
    return record, summarize_cycles(record)


def test_nyquist_plots_minus_imaginary_on_equal_axes_with_fit_and_decades(pellet):
    record, fit = pellet
    ax = plot.nyquist(record, fit=fit)
    data, model, decades = ax.lines[:3]
    z = record.data["z_real_ohm"].to_numpy() + 1j * record.data["z_imag_ohm"].to_numpy()
    assert "kΩ" in ax.get_xlabel() and "−Z″" in ax.get_ylabel()
    np.testing.assert_allclose(data.get_xdata(), z.real / 1e3)
    np.testing.assert_allclose(data.get_ydata(), -z.imag / 1e3)
    assert ax.get_aspect() == 1.0
    # the fit curve is the circuit evaluated at the fitted values
    measured = record.data["frequency_hertz"]
    frequency = np.logspace(np.log10(measured.max()), np.log10(measured.min()),
                            len(model.get_xdata()))
    expected = fit.predict(frequency)
    np.testing.assert_allclose(model.get_ydata(), -expected.imag / 1e3, rtol=1e-9)
    # one marker per whole decade inside the measured range (0.1 Hz .. 7 MHz: 10^-1 .. 10^6)
    decades_inside = np.floor(np.log10(measured.max())) - np.ceil(np.log10(measured.min())) + 1
    assert len(decades.get_xdata()) == decades_inside == 8
    # labels on uncrowded decades only (the high-frequency ones sit on top of each other)
    labels = {text.get_text() for text in ax.texts}
    assert "0.1 Hz" in labels
    assert labels <= {"0.1 Hz", "1 Hz", "10 Hz", "100 Hz", "1 kHz", "10 kHz", "100 kHz", "1 MHz"}


def test_nyquist_frequency_range_keeps_only_that_part(pellet):
    record, _ = pellet
    ax = plot.nyquist(record, frequency_range_hertz=(100, 1e6), decades=False)
    inside = record.data["frequency_hertz"].between(100, 1e6)
    assert len(ax.lines[0].get_xdata()) == int(inside.sum())


def test_bode_modulus_and_phase(pellet):
    record, fit = pellet
    modulus_ax, phase_ax = plot.bode(record, fit=fit)
    frequency, z = record.impedance(0)
    np.testing.assert_allclose(modulus_ax.lines[0].get_ydata(), np.abs(z))
    np.testing.assert_allclose(phase_ax.lines[0].get_ydata(), -np.degrees(np.angle(z)))
    assert modulus_ax.get_yscale() == "log" and phase_ax.get_xscale() == "log"


def test_fit_and_kk_residuals_are_percent_of_modulus(pellet):
    record, fit = pellet
    ax = plot.fit_residuals(fit)
    expected = 100 * (fit.impedance - fit.model).real / np.abs(fit.impedance)
    np.testing.assert_allclose(ax.lines[1].get_ydata(), expected)
    kk = kramers_kronig(record.impedance(0))
    ax = plot.kk_residuals(kk)
    np.testing.assert_allclose(ax.lines[-2].get_ydata(), kk.residual_real_percent)
    assert ("passes" if kk.valid else "fails") in ax.get_title()


def test_drt_labels_each_peak_inside_the_tau_range():
    frequency = np.logspace(6, -2, 81)
    z = 10 + 100 / (1 + 1j * 2 * np.pi * frequency * 1e-5) + 300 / (
        1 + 1j * 2 * np.pi * frequency * 1e-2)
    result = drt((frequency, z))
    ax = plot.drt(result)
    inside = [p for p in result.peaks
              if result.tau_second.min() <= p.tau_second <= result.tau_second.max()]
    assert len(inside) == 2
    assert len(ax.texts) == len(inside)
    assert all("τ = " in text.get_text() for text in ax.texts)


def test_arrhenius_draws_the_fit_and_puts_ea_in_the_legend():
    temperature = np.array([-20.0, 0.0, 25.0, 60.0])
    kelvin = temperature + 273.15
    prefactor, ea = 1e3, 0.4
    sigma = prefactor / kelvin * np.exp(-ea / (plot.BOLTZMANN_EV_PER_KELVIN * kelvin))
    ax = plot.arrhenius(temperature, sigma, activation_energy_ev=ea,
                        prefactor_siemens_kelvin_per_centimeter=prefactor, label="bulk")
    points = ax.lines[0]
    np.testing.assert_allclose(points.get_xdata(), 1000 / kelvin)
    np.testing.assert_allclose(points.get_ydata(), sigma * kelvin)
    line = ax.lines[1]  # the fit passes through the exact points
    np.testing.assert_allclose(np.interp(1000 / kelvin[::-1], line.get_xdata(),
                                         line.get_ydata()), (sigma * kelvin)[::-1], rtol=2e-2)
    assert "Ea = 0.400 eV" in ax.get_legend().get_texts()[0].get_text()


def test_voltage_capacity_curves_end_at_the_cycle_capacities(cycling):
    record, summary = cycling
    table = plot.half_cycle_capacity(record)
    last = table.groupby(["cycle_count", "direction"])["capacity_ampere_hour"].max().unstack()
    np.testing.assert_allclose(last["charge"], summary.table["charge_capacity_ampere_hour"],
                               rtol=1e-6)
    np.testing.assert_allclose(last["discharge"],
                               summary.table["discharge_capacity_ampere_hour"], rtol=1e-6)
    ax = plot.voltage_capacity(record)
    assert len(ax.lines) == 2 * 6 + 2  # two half cycles per cycle, two legend keys
    assert "mAh g⁻¹" in ax.get_xlabel()  # the record states an active mass


def test_capacity_and_efficiency(cycling):
    _, summary = cycling
    ax = plot.capacity_and_efficiency(summary)
    np.testing.assert_allclose(
        ax.lines[0].get_ydata(),
        summary.table["specific_discharge_capacity_milliampere_hour_per_gram"])
    twin = next(other for other in ax.figure.axes if other is not ax and other.lines)
    np.testing.assert_allclose(twin.lines[0].get_ydata(),
                               100 * summary.table["coulombic_efficiency"])


def test_dqdv_mirrors_discharge(cycling):
    record, _ = cycling
    result = differential_capacity(record, cycles=[1])
    ax = plot.dqdv(result)
    discharge = result.curves[result.curves["direction"] == "discharge"]
    ys = [line.get_ydata() for line in ax.lines if len(line.get_ydata()) == len(discharge)]
    assert any(np.allclose(y, -1000 * discharge["dq_dv_ampere_hour_per_volt"]) for y in ys)


def test_rate_capability_draws_the_tian_model():
    result = rate_capability(examples.rate_capability(rates=(0.2, 1, 2, 5, 10), repeats=1))
    ax = plot.rate_capability(result)
    curve = ax.lines[-1]
    fit = result.tian_fit
    expected = 1000 * tian_capacity(curve.get_xdata(), fit.q_max_ampere_hour.value,
                                    fit.tau_hour.value, fit.n.value)
    np.testing.assert_allclose(curve.get_ydata(), expected)
    assert "Tian fit" in ax.get_legend().get_texts()[-1].get_text() or any(
        "Tian fit" in t.get_text() for t in ax.get_legend().get_texts())


def test_ccd_marks_the_failure_time():
    record = examples.ccd_staircase(densities_ma_cm2=(0.1, 0.2, 0.4), short_at_ma_cm2=0.4,
                                    half_cycle_second=600)
    result = critical_current_density(record)
    ax = plot.ccd(record, result)
    failure = [line for line in ax.lines if len(set(line.get_xdata())) == 1]
    assert failure and failure[0].get_xdata()[0] == pytest.approx(
        result.failure_time_second / 3600)
    assert "CCD = 0.2" in ax.texts[0].get_text()


def test_transference_marks_i0_and_iss():
    ca, before, after = examples.transference_experiment()
    result = transference_number(ca, eis_before=before, eis_after=after)
    ax = plot.transference(ca, result)
    levels = sorted(line.get_ydata()[0] for line in ax.lines[1:])
    assert levels == pytest.approx(sorted([result.iss_ampere.value * 1e6,
                                           result.i0_ampere.value * 1e6]))
    assert f"{result.t_plus_bruce_vincent.value:.3f}" in ax.get_title()


def test_functions_compose_on_given_axes_and_save(pellet, tmp_path):
    record, fit = pellet
    figure, (left, right) = plt.subplots(1, 2)
    assert plot.nyquist(record, ax=left) is left
    assert plot.fit_residuals(fit, ax=right) is right
    path = tmp_path / "panel.png"
    plot.save(left, str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_arrhenius_result_takes_an_arrhenius_fit():
    arrhenius_module = pytest.importorskip("labkit.eis.arrhenius")
    temperature = np.array([-20.0, 0.0, 25.0, 60.0])
    kelvin = temperature + 273.15
    sigma = 1e3 / kelvin * np.exp(-0.4 / (plot.BOLTZMANN_EV_PER_KELVIN * kelvin))
    fit = arrhenius_module.fit_arrhenius(temperature, sigma)
    ax = plot.arrhenius_result(fit)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), sigma * kelvin)
    assert "Ea = 0.400" in ax.get_legend().get_texts()[0].get_text()


def test_a_record_without_current_is_an_analysis_error():
    from labkit.data import CyclingRecord
    from labkit.errors import AnalysisError

    still = CyclingRecord(examples.cycling_cell(cycles=1).data.assign(current_ampere=0.0))
    with pytest.raises(AnalysisError, match="no current"):
        plot.voltage_capacity(still)


def test_time_series_draws_a_short_record_whole_in_hours(cycling):
    record, _ = cycling
    voltage_ax = plot.time_series(record)
    current_ax = voltage_ax.figure.axes[1]
    np.testing.assert_array_equal(voltage_ax.lines[0].get_ydata(), record.data["voltage_volt"])
    # the example's currents are mA: scaled to the unit of the axis
    np.testing.assert_allclose(current_ax.lines[0].get_ydata(),
                               1000 * record.data["current_ampere"])
    assert current_ax.get_ylabel() == "current / mA"
    assert current_ax.get_xlabel() == "time / h"
    np.testing.assert_allclose(voltage_ax.lines[0].get_xdata(),
                               record.data["test_time_second"] / 3600)


def test_time_series_of_a_long_record_keeps_every_spike():
    from labkit.data import CyclingRecord

    rows = 300_000
    rng = np.random.default_rng(7)
    frame = {"test_time_second": np.arange(rows, dtype=float),
             "voltage_volt": 3.7 + 1e-3 * rng.standard_normal(rows),
             "current_ampere": np.where(np.arange(rows) % 2000 < 1000, 0.5, -0.5)}
    frame["voltage_volt"][123_457] = 4.9  # one sample spikes
    frame["current_ampere"][222_222] = 2.0
    record = CyclingRecord(pd.DataFrame(frame))
    ax = plot.time_series(record, points=4000)
    voltage = ax.lines[0].get_ydata()
    assert voltage.size <= 4000 + 2
    assert voltage.max() == 4.9 and voltage.min() == record.data["voltage_volt"].min()
    assert ax.figure.axes[1].lines[0].get_ydata().max() == pytest.approx(2.0)
    assert ax.get_title() == f"300,000 samples; {voltage.size:,} drawn (the extremes of each bin)"
    # and the time axis is in hours for 83 h
    assert ax.figure.axes[1].get_xlabel() == "time / h"
