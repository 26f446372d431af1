"""Publication-quality figures of labkit records and analysis results (matplotlib).

Every function draws on the axes it is given (``ax=``), or on a new figure
when none is, and returns the axes, so figures compose into panels::

    fig, (left, right) = plt.subplots(1, 2, figsize=(7, 3))
    plot.nyquist(record, fit=result, ax=left)
    plot.capacity_and_efficiency(summary, ax=right)

Conventions: axis labels carry units; impedance in Ω (scaled to kΩ/MΩ when
large), −Z″ upwards; time in h for cycling tests; colours from the Okabe–Ito
palette (distinguishable with the common colour-vision deficiencies) and
viridis for ordered series such as cycle number. Nothing here computes an
analysis: pass the result objects of :mod:`labkit.eis` and :mod:`labkit.analysis`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from labkit.analysis._base import interval_charge_ampere_hour, numeric
from labkit.data import CycleSummaryRecord, CyclingRecord, ImpedanceRecord
from labkit.eis._spectra import as_spectrum
from labkit.errors import AnalysisError

#: Okabe & Ito (2008) colour-blind-safe palette, most distinct first.
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442",
             "#000000")

#: Matplotlib settings of every labkit figure.
STYLE: dict[str, Any] = {
    "axes.prop_cycle": mpl.cycler(color=OKABE_ITO),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "grid.linewidth": 0.6,
    "font.size": 9,
    "axes.labelsize": 9,
    "axes.titlesize": 9.5,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "lines.linewidth": 1.4,
    "lines.markersize": 4,
    "figure.dpi": 110,
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
}

BOLTZMANN_EV_PER_KELVIN = 8.617333262e-5
_F = TypeVar("_F", bound=Callable[..., Any])


def styled(function: _F) -> _F:
    """Run a plotting function under :data:`STYLE` (settings apply when artists are made)."""
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with mpl.rc_context(STYLE):
            return function(*args, **kwargs)
    return wrapper  # type: ignore[return-value]


def new_axes(ax: Axes | None, size: tuple[float, float] = (4.2, 3.2)) -> Axes:
    """``ax`` itself, or the axes of a new figure of ``size`` inches."""
    if ax is not None:
        return ax
    figure = plt.figure(figsize=size, layout="constrained")
    return figure.add_subplot()


def plain_log_ticks(axis: Any) -> None:
    """Tick a log axis at 1, 2 and 5 times each decade, nothing in between; all labelled while
    the axis spans at most three decades, only the powers of ten beyond (labels would collide)."""
    axis.set_minor_locator(mpl.ticker.LogLocator(subs=(2.0, 5.0)))
    axis.set_major_formatter(mpl.ticker.FuncFormatter(_power_of_ten_label))
    axis.set_minor_formatter(_MinorLogLabels())


class _MinorLogLabels(mpl.ticker.Formatter):
    """The 2× and 5× labels of :func:`plain_log_ticks`, left out on axes wider than 3 decades."""

    def __call__(self, value: float, position: int | None = None) -> str:
        low, high = sorted(self.axis.get_view_interval())
        if low > 0 and high / low > 1e3:
            return ""
        return _power_of_ten_label(value, position)


def _power_of_ten_label(value: float, _position: int | None = None) -> str:
    """``2×10⁻⁴`` style tick label; plain for 0.01–1000."""
    if value <= 0:
        return ""
    if 0.01 <= value < 1000:
        return f"{value:g}"
    exponent = math.floor(math.log10(value) + 1e-9)
    mantissa = value / 10 ** exponent
    head = "" if abs(mantissa - 1) < 1e-6 else f"{mantissa:.0f}×"
    return f"${head}10^{{{exponent}}}$"


def _ohm_scale(magnitude: float) -> tuple[float, str]:
    """Divisor and unit for impedances of this size (Ω, kΩ, MΩ, GΩ)."""
    for divisor, unit in ((1e9, "GΩ"), (1e6, "MΩ"), (1e3, "kΩ")):
        if magnitude >= 2 * divisor:
            return divisor, unit
    return 1.0, "Ω"


def _spectrum_arrays(data: Any, spectrum: int) -> tuple[np.ndarray, np.ndarray]:
    """Frequency (decreasing) and complex impedance of a record, table, pair or fit result."""
    if isinstance(data, ImpedanceRecord):
        data = data.spectrum(spectrum)
    elif hasattr(data, "frequency_hertz") and hasattr(data, "impedance") and hasattr(
            data, "model"):  # an EIS fit result: plot the data it was fitted to
        data = (data.frequency_hertz, data.impedance)
    spec = as_spectrum(data, minimum_points=1)
    return spec.frequency_hertz, spec.impedance_ohm


def _dense_frequency(frequency: np.ndarray, points_per_decade: int = 40) -> np.ndarray:
    low, high = np.log10(frequency.min()), np.log10(frequency.max())
    count = max(int((high - low) * points_per_decade), 2)
    return np.logspace(high, low, count)


# --------------------------------------------------------------------------- impedance


@styled
def nyquist(
    data: Any,
    *,
    fit: Any = None,
    spectrum: int = 0,
    label: str | None = None,
    decades: bool = True,
    frequency_range_hertz: tuple[float, float] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Nyquist plot (−Z″ vs Z′) on equal axes, with the fitted circuit and frequency decades.

    Parameters
    ----------
    data
        An :class:`~labkit.data.ImpedanceRecord` (``spectrum`` picks which), one
        spectrum's rows, a ``(frequency_hertz, impedance)`` pair, or a circuit fit
        result (its data are plotted).
    fit
        A :class:`labkit.eis.fit.FitResult`: its circuit is drawn over the data's
        frequency range.
    spectrum
        Spectrum index when ``data`` is a record.
    label
        Legend label of the data.
    decades
        Mark every whole decade of frequency (1 Hz, 10 Hz, ...), labelling those
        that do not crowd each other.
    frequency_range_hertz
        ``(low, high)``: draw only this part of the spectrum, e.g. the high-frequency
        arcs of a pellet whose blocking-electrode spike dwarfs them.
    ax
        Axes to draw on.
    """
    ax = new_axes(ax, (4.2, 3.6))
    frequency, z = _spectrum_arrays(data, spectrum)
    if frequency_range_hertz is not None:
        inside = (frequency >= min(frequency_range_hertz)) & (
            frequency <= max(frequency_range_hertz))
        frequency, z = frequency[inside], z[inside]
    if fit is None and hasattr(data, "predict") and hasattr(data, "circuit"):
        fit = data
    divisor, unit = _ohm_scale(float(np.nanmax(np.abs(z))))
    ax.plot(z.real / divisor, -z.imag / divisor, "o", markersize=3.5, markerfacecolor="none",
            color=OKABE_ITO[0], label=label or "data")
    if fit is not None:
        dense = _dense_frequency(frequency)
        model = fit.predict(dense)
        ax.plot(model.real / divisor, -model.imag / divisor, "-", color=OKABE_ITO[1],
                label=f"fit {fit.circuit}")
    if decades:
        _mark_decades(ax, frequency, z / divisor)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel(f"Z′ / {unit}")
    ax.set_ylabel(f"−Z″ / {unit}")
    ax.legend(loc="best")
    return ax


def _mark_decades(ax: Axes, frequency: np.ndarray, z: np.ndarray) -> None:
    """Mark the points of the spectrum at whole decades of frequency (interpolated in log f)."""
    log_f = np.log10(frequency)
    order = np.argsort(log_f)
    exponents = np.arange(math.ceil(log_f.min()), math.floor(log_f.max()) + 1)
    if exponents.size == 0:
        return
    real = np.interp(exponents, log_f[order], z.real[order])
    imag = np.interp(exponents, log_f[order], z.imag[order])
    ax.plot(real, -imag, "D", markersize=3.5, color="black", zorder=3)
    span = float(np.ptp(np.concatenate([z.real, -z.imag]))) or 1.0
    labelled: list[complex] = []
    for exponent, x, y in zip(exponents, real, imag, strict=True):
        if any(abs(complex(x, y) - other) < 0.06 * span for other in labelled):
            continue  # too close to a label already written: leave the marker unlabelled
        labelled.append(complex(x, y))
        ax.annotate(_hertz_label(exponent), (x, -y), xytext=(4, -2), textcoords="offset points",
                    fontsize=7, ha="left", va="top", color="0.25")


def _hertz_label(exponent: int) -> str:
    if exponent >= 6:
        return f"{10 ** (exponent - 6):g} MHz"
    if exponent >= 3:
        return f"{10 ** (exponent - 3):g} kHz"
    if exponent >= 0:
        return f"{10 ** exponent:g} Hz"
    return f"{10.0 ** exponent:g} Hz"


@styled
def bode(
    data: Any,
    *,
    fit: Any = None,
    spectrum: int = 0,
    label: str | None = None,
    axes: Sequence[Axes] | None = None,
) -> tuple[Axes, Axes]:
    """Bode plot: |Z| (log) and phase against frequency on two stacked axes sharing x.

    Parameters
    ----------
    data, fit, spectrum, label
        As for :func:`nyquist`.
    axes
        Two axes (modulus, phase) to draw on; a new two-panel figure when ``None``.

    Returns
    -------
    (Axes, Axes)
        Modulus and phase axes.
    """
    if axes is None:
        figure, (modulus_ax, phase_ax) = plt.subplots(2, 1, figsize=(4.2, 4.2), sharex=True,
                                                      layout="constrained")
    else:
        modulus_ax, phase_ax = axes
    frequency, z = _spectrum_arrays(data, spectrum)
    if fit is None and hasattr(data, "predict") and hasattr(data, "circuit"):
        fit = data
    modulus_ax.loglog(frequency, np.abs(z), "o", markersize=3, markerfacecolor="none",
                      color=OKABE_ITO[0], label=label or "data")
    phase_ax.semilogx(frequency, -np.degrees(np.angle(z)), "o", markersize=3,
                      markerfacecolor="none", color=OKABE_ITO[0])
    if fit is not None:
        dense = _dense_frequency(frequency)
        model = fit.predict(dense)
        modulus_ax.loglog(dense, np.abs(model), "-", color=OKABE_ITO[1],
                          label=f"fit {fit.circuit}")
        phase_ax.semilogx(dense, -np.degrees(np.angle(model)), "-", color=OKABE_ITO[1])
    for axis in (modulus_ax.xaxis, modulus_ax.yaxis, phase_ax.xaxis):
        plain_log_ticks(axis)
    modulus_ax.set_ylabel("|Z| / Ω")
    phase_ax.set_ylabel("−phase / °")
    phase_ax.set_xlabel("frequency / Hz")
    modulus_ax.legend(loc="best")
    return modulus_ax, phase_ax


@styled
def fit_residuals(fit: Any, *, ax: Axes | None = None) -> Axes:
    """Residuals of a circuit fit, real and imaginary, in % of |Z| against frequency.

    Parameters
    ----------
    fit
        A :class:`labkit.eis.fit.FitResult`.
    ax
        Axes to draw on.
    """
    ax = new_axes(ax, (4.2, 2.6))
    modulus = np.abs(fit.impedance)
    difference = fit.impedance - fit.model
    _residual_axes(ax, fit.frequency_hertz, 100 * difference.real / modulus,
                   100 * difference.imag / modulus)
    ax.set_title(f"fit residuals, {fit.circuit}")
    return ax


def _residual_axes(ax: Axes, frequency: np.ndarray, real: np.ndarray, imag: np.ndarray) -> None:
    ax.axhline(0, color="0.4", linewidth=0.8)
    ax.semilogx(frequency, real, "o-", markersize=3, linewidth=0.8, label="Δ real")
    ax.semilogx(frequency, imag, "s-", markersize=3, linewidth=0.8, label="Δ imaginary")
    plain_log_ticks(ax.xaxis)
    ax.set_xlabel("frequency / Hz")
    ax.set_ylabel("residual / % of |Z|")
    ax.legend(loc="best", ncols=2)


@styled
def kk_residuals(result: Any, *, ax: Axes | None = None) -> Axes:
    """Linear Kramers–Kronig test residuals with the point limit, the noise band (±1 noise)
    and the valid range shaded.

    Parameters
    ----------
    result
        A :class:`labkit.eis.kramers_kronig.KramersKronigResult`.
    ax
        Axes to draw on.
    """
    ax = new_axes(ax, (4.2, 2.6))
    limit = result.point_limit_percent
    if result.max_residual_percent is not None:
        limit = min(limit, result.max_residual_percent)
    if result.valid_frequency_range_hertz is not None:
        low, high = result.valid_frequency_range_hertz
        ax.axvspan(low, high, color=OKABE_ITO[2], alpha=0.08, linewidth=0,
                   label="valid range")
    ax.axhspan(-result.noise_percent, result.noise_percent, color="0.5", alpha=0.12,
               linewidth=0)
    for bound in (-limit, limit):
        ax.axhline(bound, color="0.5", linestyle="--", linewidth=0.8)
    _residual_axes(ax, result.frequency_hertz, result.residual_real_percent,
                   result.residual_imag_percent)
    verdict = "passes" if result.valid else "fails: " + ", ".join(result.decided_by)
    ax.set_title(f"Kramers–Kronig test {verdict}\n(M = {result.number_of_rc}, noise "
                 f"{result.noise_percent:.2g} %, point limit ±{limit:.2g} %)")
    return ax


@styled
def drt(result: Any, *, ax: Axes | None = None, label_peaks: bool = True) -> Axes:
    """Distribution of relaxation times γ(τ) with its peaks labelled (τ, R, f).

    Parameters
    ----------
    result
        A :class:`labkit.eis.drt.DrtResult`.
    ax
        Axes to draw on.
    label_peaks
        Write each peak's time constant, resistance and characteristic frequency.
    """
    ax = new_axes(ax, (4.2, 2.8))
    ax.semilogx(result.tau_second, result.gamma_ohm, color=OKABE_ITO[0])
    plain_log_ticks(ax.xaxis)
    ax.fill_between(result.tau_second, result.gamma_ohm, color=OKABE_ITO[0], alpha=0.12,
                    linewidth=0)
    low, high = float(result.tau_second.min()), float(result.tau_second.max())
    shown = [p for p in result.peaks if low <= p.tau_second <= high]
    if label_peaks and shown:
        heights = np.interp(np.log([p.tau_second for p in shown]),
                            np.log(result.tau_second), result.gamma_ohm)
        ax.plot([p.tau_second for p in shown], heights, "v", color=OKABE_ITO[1])
        for number, (peak, height) in enumerate(zip(shown, heights, strict=True), 1):
            divisor, unit = _ohm_scale(abs(peak.resistance_ohm))
            ax.annotate(f"P{number}: τ = {peak.tau_second:.3g} s\n"
                        f"R = {peak.resistance_ohm / divisor:.3g} {unit}\n"
                        f"f = {peak.frequency_hertz:.3g} Hz",
                        (peak.tau_second, height), xytext=(0, 8), textcoords="offset points",
                        ha="center", va="bottom", fontsize=7)
        ax.set_ylim(top=1.45 * max(float(np.max(result.gamma_ohm)), float(np.max(heights))))
    ax.set_ylim(bottom=min(0.0, float(np.min(result.gamma_ohm))))
    ax.set_xlabel("τ / s")
    ax.set_ylabel("γ / Ω")
    hidden = len(result.peaks) - len(shown)
    outside = len(result.outside_measured_range)
    notes = ([f"{hidden} peak(s) beyond the τ range not drawn"] if hidden else []) + (
        [f"{outside} peak(s) outside the measured range, in R∞ / R_pol"] if outside else [])
    ax.set_title(f"DRT (λ = {result.lambda_value:.2g}, {result.lambda_method}; "
                 f"R∞ = {result.r_inf_ohm:.3g} Ω)" + "".join(f"\n{note}" for note in notes))
    return ax


@styled
def arrhenius(
    temperature_celsius: Sequence[float] | np.ndarray,
    conductivity_siemens_per_centimeter: Sequence[float] | np.ndarray,
    *,
    stderr_siemens_per_centimeter: Sequence[float] | np.ndarray | None = None,
    activation_energy_ev: Any = None,
    prefactor_siemens_kelvin_per_centimeter: float | None = None,
    sigma_t: bool = True,
    label: str = "σ",
    color: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Arrhenius plot: log σT (or log σ) against 1000/T with the fitted line, Ea in the legend.

    Call once per series (bulk, grain boundary, total) on the same ``ax``.

    Parameters
    ----------
    temperature_celsius, conductivity_siemens_per_centimeter
        The measured points.
    stderr_siemens_per_centimeter
        One-sigma error bars of σ.
    activation_energy_ev
        Ea of the fit: a number, or anything with ``value``/``stderr`` (an
        :class:`~labkit.analysis._base.Estimate` or :class:`~labkit.eis.conductivity.Quantity`).
    prefactor_siemens_kelvin_per_centimeter
        A of the fit σT = A·exp(−Ea/kT) (σ = A·exp(−Ea/kT) when ``sigma_t`` is false).
        With Ea, the line is drawn over the measured range.
    sigma_t
        Plot σT (the form for ionic hopping) rather than σ.
    label, color
        Legend label of the series and its colour.
    ax
        Axes to draw on.
    """
    ax = new_axes(ax, (4.2, 3.2))
    temperature = np.asarray(temperature_celsius, float) + 273.15
    sigma = np.asarray(conductivity_siemens_per_centimeter, float)
    factor = temperature if sigma_t else np.ones_like(temperature)
    error = None if stderr_siemens_per_centimeter is None else (
        np.asarray(stderr_siemens_per_centimeter, float) * factor)
    color = color or OKABE_ITO[len(ax.lines) // 2 % len(OKABE_ITO)]
    ax.errorbar(1000 / temperature, sigma * factor, yerr=error, fmt="o", color=color,
                markerfacecolor="none", capsize=2)
    legend = label
    if activation_energy_ev is not None and prefactor_siemens_kelvin_per_centimeter is not None:
        value = float(getattr(activation_energy_ev, "value", activation_energy_ev))
        stderr = getattr(activation_energy_ev, "stderr", None)
        inverse = np.linspace((1000 / temperature).min(), (1000 / temperature).max(), 50)
        line = prefactor_siemens_kelvin_per_centimeter * np.exp(
            -value / (BOLTZMANN_EV_PER_KELVIN * 1000 / inverse))
        uncertainty = f" ± {stderr:.2g}" if stderr is not None and math.isfinite(stderr) else ""
        legend = f"{label}: Ea = {value:.3f}{uncertainty} eV"
        ax.plot(inverse, line, "-", color=color)
    ax.plot([], [], "o-", color=color, markerfacecolor="none", label=legend)
    ax.set_yscale("log")
    plain_log_ticks(ax.yaxis)
    ax.set_xlabel("1000 / T / K⁻¹")
    ax.set_ylabel("σT / S K cm⁻¹" if sigma_t else "σ / S cm⁻¹")
    _celsius_axis(ax)
    ax.legend(loc="best")
    return ax


@styled
def arrhenius_result(result: Any, *, ax: Axes | None = None) -> Axes:
    """Arrhenius plot of a :mod:`labkit.eis.arrhenius` result, Ea of each fit in the legend.

    Parameters
    ----------
    result
        An ``ArrheniusFit`` (one series), an ``ArrheniusSeries`` (every fitted
        series: bulk, grain boundary, total) or a mapping of names to fits.
    ax
        Axes to draw on.
    """
    ax = new_axes(ax, (4.4, 3.4))
    if hasattr(result, "fits"):
        fits = result.fits
    elif isinstance(result, Mapping):
        fits = result
    else:
        fits = {"σ": result}
    for number, (name, fit) in enumerate(fits.items()):
        stderr = fit.sigma_stderr_siemens_per_centimeter
        arrhenius(fit.temperature_kelvin - 273.15, fit.sigma_siemens_per_centimeter,
                  stderr_siemens_per_centimeter=stderr,
                  activation_energy_ev=fit.activation_energy_electronvolt,
                  prefactor_siemens_kelvin_per_centimeter=fit.prefactor.value,
                  sigma_t=fit.convention == "sigma_T", label=name.replace("_", " "),
                  color=OKABE_ITO[number % len(OKABE_ITO)], ax=ax)
    return ax


def _celsius_axis(ax: Axes) -> None:
    """A top axis in °C for a 1000/T axis (added once)."""
    if getattr(ax, "_labkit_celsius", False):
        return
    top = ax.secondary_xaxis("top", functions=(lambda x: 1000 / np.maximum(x, 1e-9) - 273.15,
                                               lambda c: 1000 / (np.asarray(c) + 273.15)))
    top.set_xlabel("T / °C")
    ax._labkit_celsius = True  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- cycling


#: Most points :func:`time_series` draws per line; longer records are reduced to the
#: extremes of equal bins (each bin's lowest and highest voltage and current), so the
#: figure keeps every spike and step of the record at a screen's resolution.
TIME_SERIES_POINTS = 4000


def envelope_rows(columns: Sequence[np.ndarray], points: int = TIME_SERIES_POINTS) -> np.ndarray:
    """Rows to draw of a long time series: all when there are at most ``points``, else the
    first and last row and, in each of ``points // (2 × len(columns))`` equal bins, the rows
    of each column's lowest and highest value (missing values never chosen over numbers)."""
    size = len(columns[0]) if columns else 0
    if size <= points or not columns:
        return np.arange(size)
    bins = max(points // (2 * len(columns)), 1)
    width = -(-size // bins)
    chosen = [np.array([0, size - 1])]
    offsets = np.arange(bins)[:, None] * width
    for values in columns:
        padded = np.full(bins * width, np.nan)
        padded[:size] = values
        for fill, pick in ((np.inf, np.argmin), (-np.inf, np.argmax)):
            table = np.where(np.isnan(padded), fill, padded).reshape(bins, width)
            chosen.append((offsets + pick(table, axis=1)[:, None]).ravel())
    rows = np.unique(np.concatenate(chosen))
    return rows[rows < size]


def _time_unit(span_second: float) -> tuple[float, str]:
    """Divisor and unit for a time axis spanning ``span_second``: s, min or h."""
    if span_second < 120:
        return 1.0, "s"
    if span_second < 2 * 3600:
        return 60.0, "min"
    return 3600.0, "h"


@styled
def time_series(record: CyclingRecord, *, points: int = TIME_SERIES_POINTS,
                ax: Axes | Sequence[Axes] | None = None) -> Axes:
    """Voltage and current against time, for any cycling record.

    Parameters
    ----------
    record
        A cycling record with ``test_time_second`` and ``voltage_volt`` and/or
        ``current_ampere``.
    points
        Most points per line; a longer record is drawn through :func:`envelope_rows`.
    ax
        Two axes (voltage, current), or one axes (the current then goes on its twin);
        by default a new figure with the voltage above the current.

    Returns
    -------
    Axes
        The voltage axes, or the current's when the record has no voltage.
    """
    have = [c for c in ("voltage_volt", "current_ampere") if c in record.data]
    if not have:
        raise AnalysisError("the record has neither voltage_volt nor current_ampere: no "
                            "time series to draw", file=record.meta.source_path)
    series = {column: numeric(record, column) for column in have}
    rows = envelope_rows(list(series.values()), points)
    time = numeric(record, "test_time_second")[rows]
    finite = time[np.isfinite(time)]
    divisor, unit = _time_unit(float(np.ptp(finite)) if finite.size else 0.0)
    if ax is None and len(have) == 2:
        figure = plt.figure(figsize=(5.6, 3.8), layout="constrained")
        panels = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    elif ax is None or isinstance(ax, Axes):
        panels = [new_axes(ax, (5.6, 3.0))]
        if len(have) == 2:
            panels.append(panels[0].twinx())
            panels[1].grid(False)
            panels[1].spines["right"].set_visible(True)
    else:
        panels = list(ax)
    for panel, column, colour in zip(panels, have, OKABE_ITO, strict=False):
        values = series[column][rows]
        if column == "voltage_volt":
            scale, label = 1.0, "voltage / V"
        else:
            largest = np.nanmax(np.abs(values)) if np.isfinite(values).any() else 0.0
            scale, current_unit = _current_scale(float(largest) if largest > 0 else 1.0)
            label = f"current / {current_unit}"
        panel.plot(time / divisor, values / scale, color=colour, linewidth=0.8)
        panel.set_ylabel(label, color=colour)
        panel.tick_params(axis="y", colors=colour)
    panels[-1].set_xlabel(f"time / {unit}")
    if rows.size < len(record.data):
        panels[0].set_title(f"{len(record.data):,} samples; {rows.size:,} drawn (the extremes "
                            "of each bin)", fontsize=7.5)
    return panels[0]


def half_cycle_capacity(record: CyclingRecord) -> pd.DataFrame:
    """Charge passed since the start of each half cycle, per sample, for plotting V(Q).

    A half cycle is the samples of one ``cycle_count`` with the same sign of
    current (charge ``I > 0``, discharge ``I < 0``); rests are left out.

    Returns
    -------
    DataFrame
        ``cycle_count``, ``direction`` ("charge"/"discharge"), ``voltage_volt``,
        ``capacity_ampere_hour`` (magnitude, from integrating the current).
    """
    current = numeric(record, "current_ampere")
    charge = np.abs(interval_charge_ampere_hour(numeric(record, "test_time_second"), current))
    cycle = (record.data["cycle_count"].to_numpy() if "cycle_count" in record.data
             else np.ones(len(current), dtype=int))
    table = pd.DataFrame({"cycle_count": cycle, "direction": np.where(current > 0, "charge",
                                                                       "discharge"),
                          "voltage_volt": numeric(record, "voltage_volt"),
                          "charge": charge})[current != 0]
    table["capacity_ampere_hour"] = table.groupby(["cycle_count", "direction"])["charge"].cumsum()
    return table.drop(columns="charge").reset_index(drop=True)


def _cycle_colours(cycles: np.ndarray, ax: Axes) -> Callable[[int], Any]:
    """A viridis colour per cycle, with a colour bar labelled "cycle" when there are many."""
    cmap = mpl.colormaps["viridis"]
    low, high = int(cycles.min()), int(cycles.max())
    norm = mpl.colors.Normalize(low, max(high, low + 1))
    if cycles.size > 6:
        bar = ax.figure.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, pad=0.02)
        bar.set_label("cycle")
    return lambda cycle: cmap(norm(cycle) * 0.9)


@styled
def voltage_capacity(
    record: CyclingRecord,
    *,
    cycles: Sequence[int] | None = None,
    active_mass_gram: float | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Voltage against capacity of each half cycle, coloured by cycle (viridis).

    Parameters
    ----------
    record
        A cycling record with ``test_time_second``, ``voltage_volt``, ``current_ampere``
        (and ``cycle_count``; without it the whole record is one cycle).
    cycles
        Which cycles to draw (default: all).
    active_mass_gram
        Plot specific capacity (mAh g⁻¹); default from the record's sample, else mAh.
    ax
        Axes to draw on.
    """
    table = half_cycle_capacity(record)
    if cycles is not None:
        table = table[table["cycle_count"].isin(list(cycles))]
    if table.empty:
        raise AnalysisError("no current flows in the chosen cycles: no voltage-capacity curve",
                            file=record.meta.source_path)
    ax = new_axes(ax, (4.6, 3.2))
    mass = active_mass_gram or record.meta.sample.active_mass_gram
    scale = 1000 / mass if mass else 1000.0
    colour = _cycle_colours(np.unique(table["cycle_count"]), ax)
    for (cycle, direction), rows in table.groupby(["cycle_count", "direction"], sort=True):
        ax.plot(rows["capacity_ampere_hour"] * scale, rows["voltage_volt"], color=colour(cycle),
                linewidth=1.0, linestyle="-" if direction == "charge" else "--")
    ax.plot([], [], "-", color="0.3", label="charge")
    ax.plot([], [], "--", color="0.3", label="discharge")
    ax.set_xlabel("specific capacity / mAh g⁻¹" if mass else "capacity / mAh")
    ax.set_ylabel("voltage / V")
    ax.legend(loc="lower center")
    return ax


@styled
def dqdv(
    result: Any,
    *,
    cycles: Sequence[int] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Differential capacity against voltage, charge above and discharge mirrored below zero.

    Parameters
    ----------
    result
        A :class:`labkit.analysis.dqdv.DifferentialCapacity` (magnitudes; discharge
        is drawn negative so both directions read apart).
    cycles
        Which cycles (default: all in the result).
    ax
        Axes to draw on.
    """
    curves = result.curves
    if cycles is not None:
        curves = curves[curves["cycle_count"].isin(list(cycles))]
    if curves.empty:
        raise AnalysisError("no dQ/dV curve for the chosen cycles")
    ax = new_axes(ax, (4.6, 3.2))
    colour = _cycle_colours(np.unique(curves["cycle_count"]), ax)
    for (cycle, direction), rows in curves.groupby(["cycle_count", "direction"], sort=True):
        sign = 1.0 if direction == "charge" else -1.0
        ax.plot(rows["voltage_volt"], sign * 1000 * rows["dq_dv_ampere_hour_per_volt"],
                color=colour(cycle), linewidth=1.0,
                label=f"cycle {cycle}" if direction == "charge" and curves[
                    "cycle_count"].nunique() <= 6 else None)
    ax.axhline(0, color="0.4", linewidth=0.6)
    ax.set_xlabel("voltage / V")
    ax.set_ylabel("dQ/dV / mAh V⁻¹ (discharge < 0)")
    if curves["cycle_count"].nunique() <= 6:
        ax.legend(loc="best")
    return ax


@styled
def capacity_and_efficiency(
    summary: Any,
    *,
    specific: bool | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Discharge (and charge) capacity and coulombic efficiency against cycle number.

    Capacity on the left axis, coulombic efficiency (%) on a right axis; the
    retention threshold of the summary is drawn when it is reached.

    Parameters
    ----------
    summary
        A :class:`labkit.analysis.cycling.CycleSummary`, or a
        :class:`labkit.data.CycleSummaryRecord` read from a vendor's per-cycle table
        (the columns it lacks are not drawn).
    specific
        Specific capacity (mAh g⁻¹) instead of mAh; default when the summary has it.
    ax
        Axes to draw on (the efficiency axis is a twin of it).
    """
    ax = new_axes(ax, (4.6, 3.0))
    table = summary.data if isinstance(summary, CycleSummaryRecord) else summary.table
    specific_column = "specific_discharge_capacity_milliampere_hour_per_gram"
    specific = specific_column in table if specific is None else specific
    if specific:
        discharge = table[specific_column]
        charge = table["specific_charge_capacity_milliampere_hour_per_gram"]
        ax.set_ylabel("specific capacity / mAh g⁻¹")
    else:
        discharge = 1000 * table.get("discharge_capacity_ampere_hour", np.nan)
        charge = 1000 * table.get("charge_capacity_ampere_hour", np.nan)
        ax.set_ylabel("capacity / mAh")
    cycle = table["cycle_count"]
    ax.plot(cycle, discharge, "o", color=OKABE_ITO[0], label="discharge")
    ax.plot(cycle, charge, "^", color=OKABE_ITO[0], markerfacecolor="none", label="charge")
    below = getattr(summary, "cycle_below_threshold", None)
    if below is not None and summary.reference_cycle is not None:
        reference = discharge[cycle == summary.reference_cycle]
        if len(reference):
            level = float(reference.iloc[0]) * summary.retention_threshold
            ax.axhline(level, color="0.5", linestyle=":", linewidth=0.9,
                       label=f"{summary.retention_threshold:.0%} retention (cycle {below})")
    ax.set_xlabel("cycle")
    efficiency_ax = ax.twinx()
    efficiency_ax.spines["right"].set_visible(True)
    efficiency_ax.grid(False)
    ce = 100 * table.get("coulombic_efficiency", pd.Series(np.nan, index=table.index))
    efficiency_ax.plot(cycle, ce, "s", markersize=3, color=OKABE_ITO[1],
                       label="coulombic efficiency")
    efficiency_ax.set_ylabel("coulombic efficiency / %", color=OKABE_ITO[1])
    efficiency_ax.tick_params(axis="y", colors=OKABE_ITO[1])
    finite = ce.to_numpy(float)[np.isfinite(ce.to_numpy(float))]
    if finite.size:
        efficiency_ax.set_ylim(min(finite.min() - 1, 98.0), max(finite.max() + 0.5, 100.5))
    handles = ax.get_legend_handles_labels()
    twin_handles = efficiency_ax.get_legend_handles_labels()
    ax.legend(handles[0] + twin_handles[0], handles[1] + twin_handles[1], loc="lower left")
    return ax


@styled
def rate_capability(result: Any, *, specific: bool | None = None,
                    ax: Axes | None = None) -> Axes:
    """Capacity against C-rate (log axis) with spread, recovery points and the Tian fit.

    Parameters
    ----------
    result
        A :class:`labkit.analysis.rate.RateResult`.
    specific
        Specific capacity (mAh g⁻¹); default when the result has it.
    ax
        Axes to draw on.
    """
    from labkit.analysis.rate import tian_capacity

    ax = new_axes(ax, (4.4, 3.0))
    rates = result.rates
    specific_column = "mean_specific_capacity_milliampere_hour_per_gram"
    specific = specific_column in rates if specific is None else specific
    if specific:
        per_ah = float((rates[specific_column] / rates["mean_capacity_ampere_hour"]).median())
        ax.set_ylabel(f"{result.direction} specific capacity / mAh g⁻¹")
    else:
        per_ah = 1000.0
        ax.set_ylabel(f"{result.direction} capacity / mAh")
    ax.errorbar(rates["c_rate_per_hour"], rates["mean_capacity_ampere_hour"] * per_ah,
                yerr=rates["std_capacity_ampere_hour"] * per_ah, fmt="o", capsize=2,
                color=OKABE_ITO[0], label="mean ± s.d. per rate")
    if len(result.recovery):
        capacity_column = next(c for c in result.recovery.columns if "capacity" in c)
        ax.plot(result.recovery["c_rate_per_hour"], result.recovery[capacity_column] * per_ah,
                "D", markerfacecolor="none", color=OKABE_ITO[2], label="return visit")
    fit = result.tian_fit
    if fit is not None and fit.success:
        grid = np.logspace(np.log10(rates["c_rate_per_hour"].min()) - 0.2,
                           np.log10(rates["c_rate_per_hour"].max()) + 0.2, 120)
        curve = tian_capacity(grid, fit.q_max_ampere_hour.value, fit.tau_hour.value,
                              fit.n.value)
        ax.plot(grid, curve * per_ah, "-", color=OKABE_ITO[1],
                label=f"Tian fit: τ = {fit.tau_hour.value * 3600:.3g} ± "
                      f"{fit.tau_hour.stderr * 3600:.2g} s, n = {fit.n.value:.3f} ± "
                      f"{fit.n.stderr:.2g}")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(mpl.ticker.FuncFormatter(lambda x, _: f"{x:g}"))
    ax.set_xlabel("C-rate / h⁻¹")
    ax.set_ylim(bottom=0)
    ax.legend(loc="lower left")
    return ax


@styled
def ccd(record: CyclingRecord, result: Any, *, ax: Axes | None = None) -> Axes:
    """Voltage of a stepped-current (CCD) test, the current density staircase, the failure marked.

    Parameters
    ----------
    record
        The Li|SE|Li cycling record.
    result
        Its :class:`labkit.analysis.ccd.CcdResult`.
    ax
        Axes to draw on (the current density is on a twin axis).
    """
    ax = new_axes(ax, (5.6, 3.0))
    hours = numeric(record, "test_time_second") / 3600
    ax.plot(hours, 1000 * numeric(record, "voltage_volt"), color=OKABE_ITO[0], linewidth=0.8,
            label="voltage")
    ax.set_xlabel("time / h")
    ax.set_ylabel("voltage / mV")
    density_ax = ax.twinx()
    density_ax.grid(False)
    density_ax.spines["right"].set_visible(True)
    half = result.half_cycles
    edges = np.concatenate([half["start_time_second"].to_numpy(float),
                            half["end_time_second"].to_numpy(float)[-1:]]) / 3600
    density = half["current_density_milliampere_per_square_centimeter"].to_numpy(float)
    density_ax.stairs(density, edges, color=OKABE_ITO[3], linewidth=1.2, label="|j|")
    density_ax.set_ylabel("current density |j| / mA cm⁻²", color=OKABE_ITO[3])
    density_ax.tick_params(axis="y", colors=OKABE_ITO[3])
    density_ax.set_ylim(0, 1.15 * float(np.nanmax(density)))
    if result.failed and result.failure_time_second is not None:
        when = result.failure_time_second / 3600
        ax.axvline(when, color=OKABE_ITO[1], linestyle="--", linewidth=1.0)
        ax.annotate(f"failure ({result.criterion})\nat {result.failed_at_milliampere_per_square_centimeter:g}"
                    f" mA cm⁻²; CCD = {result.ccd_milliampere_per_square_centimeter:g} mA cm⁻²",
                    (when, 0.92), xycoords=("data", "axes fraction"), xytext=(-6, 0),
                    textcoords="offset points", ha="right", va="top", fontsize=7.5,
                    color=OKABE_ITO[1], bbox={"facecolor": "white", "edgecolor": "none",
                                              "alpha": 0.85, "pad": 1.5})
    else:
        ax.set_title(f"no failure up to {result.ccd_milliampere_per_square_centimeter:g} mA cm⁻²")
    return ax


@styled
def transference(record: CyclingRecord, result: Any, *, ax: Axes | None = None) -> Axes:
    """Chronoamperogram of a Bruce–Vincent test with I₀, I_ss and t⁺ marked.

    Parameters
    ----------
    record
        The potentiostatic polarisation record (``current_ampere`` against time).
    result
        Its :class:`labkit.analysis.transference.TransferenceResult`.
    ax
        Axes to draw on.
    """
    ax = new_axes(ax, (4.6, 3.0))
    current = np.abs(numeric(record, "current_ampere"))
    scale, unit = _current_scale(float(np.nanmax(current)))
    ax.plot(numeric(record, "test_time_second") / 3600, current / scale, color=OKABE_ITO[0],
            linewidth=0.9, label="|I|")
    for estimate, name, colour, style in ((result.i0_ampere, "I₀", OKABE_ITO[1], "--"),
                                          (result.iss_ampere, "I_ss", OKABE_ITO[2], ":")):
        ax.axhline(estimate.value / scale, color=colour, linestyle=style, linewidth=1.1,
                   label=f"{name} = {estimate.value / scale:.4g} ± {estimate.stderr / scale:.2g} "
                         f"{unit}")
    t_plus = result.t_plus_bruce_vincent
    ax.set_title(f"t⁺ (Bruce–Vincent) = {t_plus.value:.3f} ± {t_plus.stderr:.3f}"
                 + ("" if result.steady_state else "  (steady state not reached)"))
    ax.set_xlabel("time / h")
    ax.set_ylabel(f"current / {unit}")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper right")
    return ax


@styled
def stability_window(result: Any, *, symlog: bool = True, ax: Axes | None = None) -> Axes:
    """Current density against potential of the analysed sweeps, with the onsets marked.

    Each sweep is drawn with its background line (dashed) and the stretch that line was
    fitted on (shaded); threshold onsets are circles at the threshold above the
    background, tangent onsets crosses on the background line.

    Parameters
    ----------
    result
        A :class:`labkit.analysis.stability.StabilityWindow`.
    symlog
        Current axis linear within ± the smallest threshold and logarithmic beyond, so
        the onsets and the large currents past them are both visible.
    ax
        Axes to draw on.
    """
    ax = new_axes(ax, (5.6, 3.8))
    for number, analysis in enumerate(result.analyses):
        colour = OKABE_ITO[number % len(OKABE_ITO)]
        sweep = analysis.sweep
        potential = analysis.potential_volt
        background = analysis.background_milliampere_per_square_centimeter
        ax.plot(potential, analysis.current_density_milliampere_per_square_centimeter,
                color=colour, linewidth=1.0,
                label=f"sweep {sweep.index}: {sweep.direction}, "
                      f"{1000 * sweep.sweep_rate_volt_per_second.value:.3g} mV s⁻¹")
        ax.plot(potential, background, "--", color=colour, linewidth=0.8, alpha=0.8)
        ax.axvspan(*analysis.background_window_volt, color=colour, alpha=0.07, linewidth=0)
        order = np.argsort(potential)
        sign = 1.0 if sweep.direction == "anodic" else -1.0
        for onset in analysis.onsets:
            where = onset.potential_volt.value
            base = float(np.interp(where, potential[order], background[order]))
            threshold = onset.threshold_milliampere_per_square_centimeter
            if threshold is None:
                ax.plot([where], [base], "x", color="black", markersize=7, zorder=5)
                text = f"tangent {where:.3f} V"
            else:
                ax.plot([where], [base + sign * threshold], "o", color="black",
                        markerfacecolor=colour, markersize=5, zorder=5)
                text = f"{threshold:g} mA cm⁻²: {where:.3f} V"
            ax.annotate(text, (where, base + sign * (threshold or 0.0)),
                        xytext=(-5 * sign, 5 * sign), textcoords="offset points",
                        ha="right" if sign > 0 else "left", fontsize=7, color="0.2")
    if symlog:
        ax.set_yscale("symlog", linthresh=min(result.thresholds_milliampere_per_square_centimeter))
    ax.axhline(0.0, color="0.6", linewidth=0.6)
    ax.set_xlabel("potential / V" + (f" (measured + {result.reference_offset_volt:g} V)"
                                     if result.reference_offset_volt else ""))
    ax.set_ylabel("current density / mA cm⁻²")
    ax.set_title("onsets: ○ threshold, × tangent; background dashed, fitted on the shaded span",
                 fontsize=7.5)
    ax.legend(loc="upper left", fontsize=7)
    return ax


def _current_scale(magnitude: float) -> tuple[float, str]:
    for divisor, unit in ((1.0, "A"), (1e-3, "mA"), (1e-6, "µA")):
        if magnitude >= divisor:
            return divisor, unit
    return 1e-9, "nA"


def save(axes: Axes | Sequence[Axes], path: str, **options: Any) -> None:
    """Save the figure holding ``axes`` atomically (format from the extension)."""
    from labkit.fileio import atomic_write

    first = axes[0] if isinstance(axes, Sequence) else axes
    suffix = str(path).rsplit(".", 1)[-1]
    with atomic_write(path, "wb") as handle:
        first.figure.savefig(handle, format=suffix, **options)
