"""Published context: Tables 1–3 of a 2025 review of fast-charging solid-state batteries.

J. Yu et al., "Fast-Charging Solid-State Li Batteries: Materials, Strategies, and
Prospects", Adv. Mater. 2025, 2417796, doi:10.1002/adma.202417796.

:func:`load` gives the tables as tidy DataFrames shipped with labkit
(``labkit/data/literature_*.csv``, transcribed from the review's text):

* ``"ceramics"`` (Table 1): one row per inorganic ceramic electrolyte: σ in S cm⁻¹,
  oxidative stability in V, CCD in mA cm⁻², each with the temperature it was
  measured at (``*_temperature_celsius`` when the review gives one,
  ``*_temperature_as_stated`` always, e.g. ``"RT"``).
* ``"polymers"`` (Table 3): one row per polymer / composite / quasi-solid
  electrolyte: σ, Li⁺ transference number, oxidative stability, test cathode.
* ``"cells"`` (Table 2 and the capacity column of Table 3): one row per reported
  capacity at a C-rate, ``table`` saying which table it comes from.

A value the review does not report (a dash) is empty (NaN), never filled in.
Every row carries the review's citation and its reference number (``reference``,
text because the review has references such as ``16b``).

The figures place a lab's own result among the published ones; the result
objects of labkit's analyses can be passed straight in.
"""

from __future__ import annotations

import math
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from labkit.errors import AnalysisError, MetadataError
from labkit.plot import (
    BOLTZMANN_EV_PER_KELVIN,
    OKABE_ITO,
    new_axes,
    plain_log_ticks,
    styled,
)

CITATION = ("J. Yu et al., Fast-Charging Solid-State Li Batteries: Materials, Strategies, and "
            "Prospects, Adv. Mater. 2025, 2417796, doi:10.1002/adma.202417796")

TABLES = {"ceramics": "literature_ceramics.csv", "polymers": "literature_polymers.csv",
          "cells": "literature_cells.csv"}
_TABLE_NUMBERS = {1: "ceramics", 2: "cells", 3: "polymers"}

#: USABC fast-charge goal: 80 % state of charge in 15 min, i.e. an average of 3.2C.
USABC_SOC = 0.8
USABC_MINUTES = 15.0
USABC_C_RATE = USABC_SOC / (USABC_MINUTES / 60.0)

_CLASS_COLOURS = {"sulfide": OKABE_ITO[0], "halide": OKABE_ITO[1], "oxide": OKABE_ITO[2]}


def load(table: str | int) -> pd.DataFrame:
    """One of the review's tables as a tidy DataFrame.

    Parameters
    ----------
    table
        ``"ceramics"`` (or 1), ``"cells"`` (or 2: all capacity/C-rate points, with
        those of Table 3), ``"polymers"`` (or 3).

    Raises
    ------
    KeyError
        For any other name.
    """
    name = _TABLE_NUMBERS.get(table, table) if isinstance(table, int) else table
    if name not in TABLES:
        raise KeyError(f"no literature table {table!r}; choose one of {sorted(TABLES)}")
    with resources.files("labkit").joinpath("data", TABLES[name]).open("rb") as handle:
        frame = pd.read_csv(handle, dtype={"reference": str, "notes": str},
                            keep_default_na=False, na_values=[""])
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].fillna("")
    return frame


def _number(value: Any, attribute: str | None = None) -> tuple[float, float]:
    """(value, stderr) from a number, an estimate-like object, or a result's attribute."""
    if attribute is not None and hasattr(value, attribute):
        value = getattr(value, attribute)
    if hasattr(value, "value"):
        stderr = getattr(value, "stderr", math.nan)
        return float(value.value), float(math.nan if stderr is None else stderr)
    return float(value), math.nan


def _conductivity(value: Any, temperature_celsius: float) -> tuple[float, float]:
    """σ in S/cm at a temperature from a number, an estimate or an Arrhenius result.

    An ``ArrheniusSeries`` gives its total conductivity (bulk when there is no total);
    an ``ArrheniusFit`` its σ(25 °C) with standard error, or at another temperature the
    fitted line's value (without an error).
    """
    if hasattr(value, "fits"):
        fits = value.fits
        if not fits:
            raise AnalysisError("the Arrhenius series holds no fit")
        value = fits.get("total") or fits.get("bulk") or next(iter(fits.values()))
    if hasattr(value, "activation_energy_electronvolt"):
        if temperature_celsius == 25.0:
            return _number(value.sigma_25c_siemens_per_centimeter)
        kelvin = temperature_celsius + 273.15
        sigma = value.prefactor.value * math.exp(
            -value.activation_energy_electronvolt.value / (BOLTZMANN_EV_PER_KELVIN * kelvin))
        return (sigma / kelvin if value.convention == "sigma_T" else sigma), math.nan
    return _number(value)


def _ccd(value: Any) -> float:
    ccd = getattr(value, "ccd_milliampere_per_square_centimeter", value)
    if ccd is None:
        raise AnalysisError("the CCD result has no CCD (the first step already failed)")
    return float(ccd)


def _reference_labels(ax: Axes, x: np.ndarray, y: np.ndarray, labels: list[str]) -> None:
    for xi, yi, text in zip(x, y, labels, strict=True):
        ax.annotate(text, (xi, yi), xytext=(3, 3), textcoords="offset points", fontsize=6.5,
                    color="0.3")


def _own_point(ax: Axes, x: float, y: float, x_error: float, y_error: float,
               label: str) -> None:
    ax.errorbar([x], [y], xerr=None if math.isnan(x_error) else [x_error],
                yerr=None if math.isnan(y_error) else [y_error], fmt="*", markersize=13,
                color="black", markerfacecolor=OKABE_ITO[6], markeredgewidth=0.8, capsize=2,
                zorder=5, label=label)


@styled
def ceramics_figure(
    conductivity: Any = None,
    ccd: Any = None,
    *,
    temperature_celsius: float = 25.0,
    label: str = "this work",
    ax: Axes | None = None,
) -> Axes:
    """σ against CCD of the review's ceramic electrolytes, with a lab's own electrolyte.

    Filled markers: both values at 25 °C; open: at room temperature or another
    temperature (the reference label gives it). Entries lacking either value are
    left out and counted in the title.

    Parameters
    ----------
    conductivity
        The lab's σ in S cm⁻¹ at ``temperature_celsius``: a number, an estimate with
        ``value``/``stderr``, or an Arrhenius fit or series of :mod:`labkit.eis.arrhenius`.
    ccd
        The lab's CCD: a :class:`~labkit.analysis.ccd.CcdResult` or mA cm⁻².
    temperature_celsius
        Temperature the lab's σ refers to.
    label
        Legend label of the lab's point.
    ax
        Axes to draw on.
    """
    ax = new_axes(ax, (4.6, 3.6))
    table = load("ceramics")
    both = table.dropna(subset=["conductivity_siemens_per_centimeter",
                                "ccd_milliampere_per_square_centimeter"])
    for name, rows in both.groupby("electrolyte_class", sort=False):
        at_25 = ((rows["conductivity_temperature_celsius"] == 25)
                 & (rows["ccd_temperature_celsius"] == 25)).to_numpy()
        x = rows["conductivity_siemens_per_centimeter"].to_numpy(float)
        y = rows["ccd_milliampere_per_square_centimeter"].to_numpy(float)
        colour = _CLASS_COLOURS.get(name, OKABE_ITO[4])
        ax.scatter(x[at_25], y[at_25], color=colour, s=28, label=f"{name} (review)")
        ax.scatter(x[~at_25], y[~at_25], facecolor="none", edgecolor=colour, s=28)
        labels = [f"[{r.reference}]" + ("" if ok else
                                        f" σ@{r.conductivity_temperature_as_stated}, "
                                        f"CCD@{r.ccd_temperature_as_stated}")
                  for r, ok in zip(rows.itertuples(), at_25, strict=True)]
        _reference_labels(ax, x, y, labels)
    if conductivity is not None and ccd is not None:
        sigma, sigma_error = _conductivity(conductivity, temperature_celsius)
        _own_point(ax, sigma, _ccd(ccd), sigma_error, math.nan,
                   f"{label} ({temperature_celsius:g} °C)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    plain_log_ticks(ax.xaxis)
    plain_log_ticks(ax.yaxis)
    ax.set_xlabel("ionic conductivity σ / S cm⁻¹")
    ax.set_ylabel("critical current density / mA cm⁻²")
    ax.set_title(f"ceramic electrolytes (review Table 1; {len(table) - len(both)} entries "
                 "lack σ or CCD)", fontsize=8.5)
    ax.legend(loc="best")
    return ax


@styled
def polymers_figure(
    conductivity: Any = None,
    transference: Any = None,
    *,
    temperature_celsius: float = 25.0,
    label: str = "this work",
    ax: Axes | None = None,
) -> Axes:
    """σ against Li⁺ transference number of the review's polymer electrolytes, with a lab's own.

    Filled markers: σ at room temperature or 25–30 °C as the review states;
    open: σ at another temperature (labelled).

    Parameters
    ----------
    conductivity
        The lab's σ (as for :func:`ceramics_figure`).
    transference
        A :class:`~labkit.analysis.transference.TransferenceResult` (its Bruce–Vincent
        t⁺), an estimate or a number.
    temperature_celsius
        Temperature the lab's σ refers to.
    label
        Legend label of the lab's point.
    ax
        Axes to draw on.
    """
    ax = new_axes(ax, (4.6, 3.6))
    table = load("polymers").dropna(subset=["conductivity_siemens_per_centimeter",
                                            "transference_number"])
    temperature = table["conductivity_temperature_celsius"]
    near_room = (temperature.isna() | temperature.between(20, 30)).to_numpy()
    x = table["conductivity_siemens_per_centimeter"].to_numpy(float)
    y = table["transference_number"].to_numpy(float)
    ax.scatter(x[near_room], y[near_room], color=OKABE_ITO[0], s=28,
               label="polymer / composite (review)")
    ax.scatter(x[~near_room], y[~near_room], facecolor="none", edgecolor=OKABE_ITO[0], s=28)
    labels = [f"[{r.reference}]" + ("" if ok else f" @{r.conductivity_temperature_as_stated}")
              for r, ok in zip(table.itertuples(), near_room, strict=True)]
    _reference_labels(ax, x, y, labels)
    if conductivity is not None and transference is not None:
        sigma, sigma_error = _conductivity(conductivity, temperature_celsius)
        t_plus, t_error = _number(transference, "t_plus_bruce_vincent")
        _own_point(ax, sigma, t_plus, sigma_error, t_error,
                   f"{label} ({temperature_celsius:g} °C)")
    ax.axhspan(0.2, 0.5, color="0.5", alpha=0.08, linewidth=0,
               label="typical SPE t⁺ 0.2–0.5 (review)")
    ax.set_xscale("log")
    plain_log_ticks(ax.xaxis)
    ax.set_ylim(0, 1)
    ax.set_xlabel("ionic conductivity σ / S cm⁻¹")
    ax.set_ylabel("Li⁺ transference number t⁺")
    ax.set_title("polymer electrolytes (review Table 3)", fontsize=8.5)
    ax.legend(loc="lower left")
    return ax


@styled
def stability_figure(
    conductivity: Any = None,
    oxidative_stability: Any = None,
    *,
    temperature_celsius: float = 25.0,
    label: str = "this work",
    ax: Axes | None = None,
) -> Axes:
    """Oxidative stability against σ of the review's electrolytes (Tables 1, 3), and a lab's own.

    Ceramics are coloured by class, polymer / composite / quasi-solid electrolytes are
    squares. Values the review gives as approximate (``≈``) or from DFT are drawn open.

    Parameters
    ----------
    conductivity
        The lab's σ (as for :func:`ceramics_figure`).
    oxidative_stability
        The lab's oxidative stability limit in V: a number or an estimate, e.g. the
        threshold onset of :func:`labkit.analysis.stability_window`.
    temperature_celsius
        Temperature the lab's σ refers to.
    label
        Legend label of the lab's point.
    ax
        Axes to draw on.
    """
    ax = new_axes(ax, (4.6, 3.6))
    ceramics = load("ceramics").dropna(subset=["conductivity_siemens_per_centimeter",
                                               "oxidative_stability_volt"])
    for name, rows in ceramics.groupby("electrolyte_class", sort=False):
        exact = ~rows["oxidative_stability_as_stated"].str.contains("≈|DFT|pprox", regex=True)
        colour = _CLASS_COLOURS.get(name, OKABE_ITO[4])
        x = rows["conductivity_siemens_per_centimeter"].to_numpy(float)
        y = rows["oxidative_stability_volt"].to_numpy(float)
        ax.scatter(x[exact.to_numpy()], y[exact.to_numpy()], color=colour, s=28,
                   label=f"{name} (Table 1)")
        ax.scatter(x[~exact.to_numpy()], y[~exact.to_numpy()], facecolor="none",
                   edgecolor=colour, s=28)
        _reference_labels(ax, x, y, [f"[{r}]" for r in rows["reference"]])
    polymers = load("polymers").dropna(subset=["conductivity_siemens_per_centimeter",
                                               "oxidative_stability_volt"])
    x = polymers["conductivity_siemens_per_centimeter"].to_numpy(float)
    y = polymers["oxidative_stability_volt"].to_numpy(float)
    ax.scatter(x, y, marker="s", s=24, color=OKABE_ITO[4], label="polymer / composite (Table 3)")
    _reference_labels(ax, x, y, [f"[{r}]" for r in polymers["reference"]])
    if conductivity is not None and oxidative_stability is not None:
        sigma, sigma_error = _conductivity(conductivity, temperature_celsius)
        limit, limit_error = _number(oxidative_stability)
        _own_point(ax, sigma, limit, sigma_error, limit_error,
                   f"{label} ({temperature_celsius:g} °C)")
    ax.set_xscale("log")
    plain_log_ticks(ax.xaxis)
    ax.set_xlabel("ionic conductivity σ / S cm⁻¹")
    ax.set_ylabel("oxidative stability / V")
    ax.set_title("oxidative stability (review Tables 1 and 3; open: approximate)", fontsize=8.5)
    ax.legend(loc="best", fontsize=7)
    return ax


@styled
def cells_figure(
    rate: Any = None,
    *,
    label: str = "this work",
    ax: Axes | None = None,
) -> Axes:
    """Specific capacity against C-rate of the review's high-rate cells, with a lab's own.

    The USABC fast-charge goal (80 % SOC in 15 min) needs an average charge rate
    of 3.2C; the region at and above it is shaded. The review's rates are the
    rates the cells were cycled at (charge and discharge as each paper reports).

    Parameters
    ----------
    rate
        A :class:`~labkit.analysis.rate.RateResult` with specific capacities (an
        active mass was known), or a DataFrame with ``c_rate_per_hour`` and
        ``specific_capacity_milliampere_hour_per_gram``.
    label
        Legend label of the lab's points.
    ax
        Axes to draw on.

    Raises
    ------
    MetadataError
        When the rate result has no specific capacity (no active mass).
    """
    ax = new_axes(ax, (4.8, 3.6))
    table = load("cells").dropna(subset=["c_rate_per_hour",
                                         "specific_capacity_milliampere_hour_per_gram"])
    for number, marker, name in ((2, "o", "high-rate SSBs (Table 2)"),
                                 (3, "s", "polymer-electrolyte cells (Table 3)")):
        rows = table[table["table"] == number]
        ax.scatter(rows["c_rate_per_hour"], rows["specific_capacity_milliampere_hour_per_gram"],
                   marker=marker, s=26, color=OKABE_ITO[0 if number == 2 else 2], label=name,
                   alpha=0.85)
        if number == 2:  # Table 3's many points would bury the labels
            _reference_labels(ax, rows["c_rate_per_hour"].to_numpy(float),
                              rows["specific_capacity_milliampere_hour_per_gram"].to_numpy(
                                  float), [f"[{r}]" for r in rows["reference"]])
    ax.axvspan(USABC_C_RATE, 200, color=OKABE_ITO[3], alpha=0.10, linewidth=0)
    ax.axvline(USABC_C_RATE, color=OKABE_ITO[3], linestyle="--", linewidth=1.0,
               label=f"USABC: {USABC_SOC:.0%} SOC in {USABC_MINUTES:g} min "
                     f"(≥ {USABC_C_RATE:g}C charge)")
    if rate is not None:
        own = _own_rates(rate)
        ax.plot(own["c_rate_per_hour"], own["specific_capacity_milliampere_hour_per_gram"],
                "*-", markersize=11, color="black", markerfacecolor=OKABE_ITO[6],
                markeredgewidth=0.8, linewidth=0.8, zorder=5, label=label)
    ax.set_xscale("log")
    ax.set_xlim(right=100)
    ax.xaxis.set_major_formatter("{x:g}")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("C-rate / h⁻¹")
    ax.set_ylabel("specific capacity / mAh g⁻¹")
    ax.set_title("capacity at rate (review Tables 2 and 3)", fontsize=8.5)
    ax.legend(loc="lower left", fontsize=7)
    return ax


def _own_rates(rate: Any) -> pd.DataFrame:
    if isinstance(rate, pd.DataFrame):
        return rate
    column = "mean_specific_capacity_milliampere_hour_per_gram"
    if column not in rate.rates:
        raise MetadataError("the rate result has no specific capacity: give the active mass "
                            "(active_mass_gram) to rate_capability to compare with the review")
    return pd.DataFrame({"c_rate_per_hour": rate.rates["c_rate_per_hour"],
                         "specific_capacity_milliampere_hour_per_gram": rate.rates[column]})
