"""Rate capability: C-rate of every cycle, capacity per rate, retention, recovery, Tian fit.

The C-rate of a cycle is the current of its longest constant-current step in
the analysed direction (discharge by default) divided by a reference
capacity: the nominal capacity, or active mass × specific capacity. Rates
within ``rate_tolerance`` of a usual value (C/20 ... 100C) are snapped to it,
others are rounded to two significant digits. Consecutive cycles at one rate
form a block; ``rates`` reports the first block of each rate (mean capacity ±
sample standard deviation over its cycles), retention relative to the lowest
rate, and ``recovery`` every later return to a rate already visited.

The rate model of Tian et al. (Nat. Commun. 10, 1933 (2019)),
``Q(R) = Q_M [1 − (Rτ)^n (1 − exp(−(Rτ)^−n))]``, is fitted to the mean
capacity per rate (weighted by the spread when every rate has one), R in
1/h (C-rate) and τ in hours; standard errors come from the covariance of the
least-squares fit scaled by the reduced χ².

Input: a rate test, i.e. cycles whose constant-current steps in the analysed direction
ran at two or more C-rates (after snapping); a constant-rate cycling test is refused, as
are the tests :func:`labkit.analysis.cycling.summarize_cycles` refuses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import curve_fit

from labkit.analysis._base import Estimate, optional_sample_value, plain
from labkit.analysis.cycling import CycleSummary, summarize_cycles
from labkit.data import CyclingRecord
from labkit.errors import AnalysisError, MetadataError

#: Usual C-rates a measured rate is snapped to (1/h).
USUAL_RATES = (1 / 20, 1 / 10, 1 / 5, 1 / 4, 1 / 3, 1 / 2, 2 / 3, 1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9,
               10, 12, 15, 20, 30, 40, 50, 60, 100)
TIAN_MODEL = "Q(R) = Q_M [1 - (R tau)^n (1 - exp(-(R tau)^-n))]"


def tian_capacity(rate_per_hour: np.ndarray, q_max: float, tau_hour: float, n: float) -> np.ndarray:
    """The Tian et al. (2019) capacity at C-rate ``rate_per_hour``."""
    x = (np.asarray(rate_per_hour, float) * tau_hour) ** n
    return q_max * (1.0 - x * (1.0 - np.exp(-1.0 / x)))


@dataclass(frozen=True)
class TianFit:
    """Fit of the Tian rate model.

    Attributes
    ----------
    q_max_ampere_hour, tau_hour, n
        Fitted parameters with standard errors (NaN when not estimable).
    reduced_chi_square
        Weighted residual sum of squares over degrees of freedom.
    success
        Whether the fit converged with finite errors.
    message
        Why not, when it did not.
    """

    q_max_ampere_hour: Estimate
    tau_hour: Estimate
    n: Estimate
    reduced_chi_square: float
    success: bool
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        """``{"model", "q_max_ampere_hour": {value, stderr}, "tau_hour", "n", ...}``."""
        return {"model": TIAN_MODEL, "q_max_ampere_hour": self.q_max_ampere_hour.to_dict(),
                "tau_hour": self.tau_hour.to_dict(), "n": self.n.to_dict(),
                "tau_second": Estimate(self.tau_hour.value * 3600,
                                       self.tau_hour.stderr * 3600).to_dict(),
                "reduced_chi_square": plain(self.reduced_chi_square), "success": self.success,
                "message": self.message}


@dataclass(frozen=True)
class RateResult:
    """Rate capability of a cell.

    Attributes
    ----------
    rates
        One row per C-rate (first visit): ``c_rate_per_hour``, ``cycles``, ``count``,
        ``mean_capacity_ampere_hour``, ``std_capacity_ampere_hour``, ``retention``
        (vs the lowest rate) and, with a mass, ``mean_specific_capacity_milliampere_hour_per_gram``.
    recovery
        One row per return to a rate visited before: its capacity and
        ``recovery`` = capacity / capacity of the first visit.
    cycles
        Per cycle: measured and snapped C-rate, current, capacity, block.
    tian_fit
        The Tian model fit (``None`` with fewer than four rates).
    reference_capacity_ampere_hour
        The capacity that defines 1C, and ``reference_source`` how it was obtained.
    direction
        ``"discharge"`` or ``"charge"``.
    """

    rates: pd.DataFrame
    recovery: pd.DataFrame
    cycles: pd.DataFrame
    tian_fit: TianFit | None
    tian_message: str
    reference_capacity_ampere_hour: float
    reference_source: str
    direction: str

    def to_frame(self) -> pd.DataFrame:
        """The per-rate table."""
        return self.rates.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly result with ``rates`` (one entry per C-rate) and ``tian_fit``."""
        return {
            "rates": plain(self.rates),
            "recovery": plain(self.recovery),
            "tian_fit": None if self.tian_fit is None else self.tian_fit.to_dict(),
            "tian_message": self.tian_message,
            "reference_capacity_ampere_hour": self.reference_capacity_ampere_hour,
            "reference_source": self.reference_source,
            "direction": self.direction,
            "cycles": plain(self.cycles),
        }


def reference_capacity(
    record: CyclingRecord,
    nominal_capacity_ampere_hour: float | None = None,
    active_mass_gram: float | None = None,
    specific_capacity_milliampere_hour_per_gram: float | None = None,
) -> tuple[float, str]:
    """The capacity that defines 1C and where it came from.

    Order: ``nominal_capacity_ampere_hour``; mass × specific capacity (mass from the
    argument or the record's sample); the record's nominal capacity.

    Raises
    ------
    MetadataError
        When none of these is available.
    """
    if nominal_capacity_ampere_hour is not None:
        return float(nominal_capacity_ampere_hour), "nominal capacity given"
    if specific_capacity_milliampere_hour_per_gram is not None:
        mass = optional_sample_value(active_mass_gram, record, "active_mass_gram")
        if mass is None:
            raise MetadataError("active mass not given (needed with a specific capacity); "
                                "pass active_mass_gram (CLI: --mass G)",
                                file=record.meta.source_path)
        return (mass * float(specific_capacity_milliampere_hour_per_gram) / 1000.0,
                "active mass x specific capacity")
    if record.meta.sample.nominal_capacity_ampere_hour is not None:
        return float(record.meta.sample.nominal_capacity_ampere_hour), "nominal capacity in file"
    raise MetadataError("nominal capacity not given and the file does not state it; pass "
                        "nominal_capacity_ampere_hour (CLI: --capacity AH) or mass and specific "
                        "capacity (--mass G --specific-capacity MAH_G)",
                        file=record.meta.source_path)


def snap_rate(rate: np.ndarray, tolerance: float) -> np.ndarray:
    """Snap each rate to the nearest usual C-rate within ``tolerance`` (relative), else 2 digits."""
    rate = np.asarray(rate, float)
    usual = np.asarray(USUAL_RATES)
    nearest = usual[np.argmin(np.abs(np.log(rate[:, None] / usual[None, :])), axis=1)]
    close = np.abs(rate / nearest - 1.0) <= tolerance
    magnitude = np.floor(np.log10(np.where(rate > 0, rate, 1.0)))
    rounded = np.round(rate / 10.0 ** (magnitude - 1)) * 10.0 ** (magnitude - 1)
    return np.where(close, nearest, rounded)


def rate_capability(
    record: CyclingRecord,
    *,
    nominal_capacity_ampere_hour: float | None = None,
    active_mass_gram: float | None = None,
    specific_capacity_milliampere_hour_per_gram: float | None = None,
    direction: str = "discharge",
    rate_tolerance: float = 0.05,
    summary: CycleSummary | None = None,
) -> RateResult:
    """Capacity per C-rate, retention, recovery and the Tian fit of a rate test.

    Parameters
    ----------
    record
        The rate test.
    nominal_capacity_ampere_hour, active_mass_gram, specific_capacity_milliampere_hour_per_gram
        Define 1C (see :func:`reference_capacity`).
    direction
        ``"discharge"`` (rate of the discharges, the usual rate test) or ``"charge"``.
    rate_tolerance
        Relative distance within which a rate is snapped to a usual C-rate.
    summary
        A cycle summary of ``record`` already computed.

    Raises
    ------
    MetadataError
        When 1C cannot be defined.
    AnalysisError
        When no cycle has a constant-current step in ``direction``, all of them ran at
        one C-rate, or the record is another test (a symmetric cell, a potentiostatic
        hold: see :func:`labkit.analysis.cycling.summarize_cycles`).
    """
    if direction not in ("discharge", "charge"):
        raise ValueError("direction must be 'discharge' or 'charge'")
    capacity_ref, source = reference_capacity(record, nominal_capacity_ampere_hour,
                                              active_mass_gram,
                                              specific_capacity_milliampere_hour_per_gram)
    summary = summary or summarize_cycles(record, active_mass_gram=active_mass_gram)
    steps = summary.steps.of_kind(f"cc_{direction}")
    if steps.empty:
        raise AnalysisError(f"no constant-current {direction} step found; cannot tell the "
                            "C-rate of any cycle", file=record.meta.source_path)
    longest = steps.loc[steps.groupby("cycle_count")["capacity_ampere_hour"].idxmax()]
    cycles = pd.DataFrame({
        "cycle_count": longest["cycle_count"].to_numpy(int),
        "current_ampere": np.abs(longest["mean_current_ampere"].to_numpy()),
    })
    cycles["measured_c_rate_per_hour"] = cycles["current_ampere"] / capacity_ref
    cycles["c_rate_per_hour"] = snap_rate(cycles["measured_c_rate_per_hour"].to_numpy(),
                                          rate_tolerance)
    _require_several_rates(record, cycles, direction, capacity_ref)
    capacity = summary.table.set_index("cycle_count")[f"{direction}_capacity_ampere_hour"]
    cycles["capacity_ampere_hour"] = capacity.reindex(cycles["cycle_count"]).to_numpy()
    mass = summary.active_mass_gram
    if mass is not None:
        cycles["specific_capacity_milliampere_hour_per_gram"] = (
            1000.0 * cycles["capacity_ampere_hour"] / mass)
    cycles["block"] = np.cumsum(np.diff(cycles["c_rate_per_hour"].to_numpy(), prepend=np.nan) != 0)

    blocks = _blocks(cycles)
    first_visit = ~blocks["c_rate_per_hour"].duplicated()
    rates = blocks[first_visit].reset_index(drop=True)
    lowest = rates.loc[rates["c_rate_per_hour"].idxmin(), "mean_capacity_ampere_hour"]
    rates["retention"] = rates["mean_capacity_ampere_hour"] / lowest
    recovery = blocks[~first_visit].reset_index(drop=True)
    first_capacity = rates.set_index("c_rate_per_hour")["mean_capacity_ampere_hour"]
    recovery["recovery"] = (recovery["mean_capacity_ampere_hour"]
                            / first_capacity.reindex(recovery["c_rate_per_hour"]).to_numpy())

    tian, message = None, ""
    if len(rates) >= 4:
        tian = fit_tian(rates["c_rate_per_hour"].to_numpy(),
                        rates["mean_capacity_ampere_hour"].to_numpy(),
                        rates["std_capacity_ampere_hour"].to_numpy())
    else:
        message = f"the Tian model has 3 parameters; {len(rates)} rates cannot determine them"
    return RateResult(rates, recovery, cycles, tian, message, capacity_ref, source, direction)


def _require_several_rates(record: CyclingRecord, cycles: pd.DataFrame, direction: str,
                           capacity_ref: float) -> None:
    """Refuse a test whose cycles all ran at one C-rate."""
    rates = cycles["c_rate_per_hour"].unique()
    if rates.size < 2:
        measured = cycles["measured_c_rate_per_hour"]
        raise AnalysisError(
            f"a rate capability needs {direction}s at two or more C-rates; found all "
            f"{len(cycles)} cycles with a constant-current {direction} at {rates[0]:.3g}C "
            f"(measured {measured.min():.3g}–{measured.max():.3g}C with 1C = "
            f"{capacity_ref:.4g} Ah): a constant-rate cycling test",
            file=record.meta.source_path)


def _blocks(cycles: pd.DataFrame) -> pd.DataFrame:
    grouped = cycles.groupby("block", sort=True)
    blocks = pd.DataFrame({
        "c_rate_per_hour": grouped["c_rate_per_hour"].first(),
        "measured_c_rate_per_hour": grouped["measured_c_rate_per_hour"].mean(),
        "first_cycle": grouped["cycle_count"].first(),
        "last_cycle": grouped["cycle_count"].last(),
        "count": grouped.size(),
        "mean_capacity_ampere_hour": grouped["capacity_ampere_hour"].mean(),
        "std_capacity_ampere_hour": grouped["capacity_ampere_hour"].std(ddof=1),
    })
    if "specific_capacity_milliampere_hour_per_gram" in cycles:
        blocks["mean_specific_capacity_milliampere_hour_per_gram"] = grouped[
            "specific_capacity_milliampere_hour_per_gram"].mean()
        blocks["std_specific_capacity_milliampere_hour_per_gram"] = grouped[
            "specific_capacity_milliampere_hour_per_gram"].std(ddof=1)
    return blocks.reset_index(drop=True)


def fit_tian(rate_per_hour: np.ndarray, capacity: np.ndarray,
             spread: np.ndarray | None = None) -> TianFit:
    """Fit the Tian et al. (2019) model to capacities at several C-rates.

    Parameters
    ----------
    rate_per_hour
        C-rates (1/h), at least four distinct ones.
    capacity
        Capacity at each rate (any unit; Q_M comes out in it).
    spread
        Standard deviation per rate; used as weights when all are finite and positive.
    """
    rate = np.asarray(rate_per_hour, float)
    capacity = np.asarray(capacity, float)
    sigma = None
    if spread is not None:
        spread = np.asarray(spread, float)
        if np.all(np.isfinite(spread) & (spread > 0)):
            sigma = spread

    def model(r, q_max, log_tau, n):
        return tian_capacity(r, q_max, math.exp(log_tau), n)

    # tau near the inverse of the rate at which the capacity has fallen to about half
    half = rate[np.argmin(np.abs(capacity / capacity.max() - 0.5))]
    starts = [(capacity.max() * 1.02, math.log(1.0 / half), n0) for n0 in (0.6, 1.0, 1.5)]
    best = None
    for start in starts:
        try:
            values, covariance = curve_fit(model, rate, capacity, p0=start, sigma=sigma,
                                           absolute_sigma=False, maxfev=20000,
                                           bounds=([0, -20, 0.05], [np.inf, 20, 10]))
        except (RuntimeError, ValueError):
            continue
        residual = (capacity - model(rate, *values)) / (sigma if sigma is not None else 1.0)
        cost = float(np.sum(residual ** 2))
        if best is None or cost < best[2]:
            best = (values, covariance, cost)
    if best is None:
        nan = Estimate(math.nan, math.nan)
        return TianFit(nan, nan, nan, math.nan, False, "least squares did not converge")
    values, covariance, cost = best
    errors = np.sqrt(np.diag(covariance)) if np.all(np.isfinite(covariance)) else np.full(3, np.nan)
    tau = math.exp(values[1])
    dof = max(rate.size - 3, 1)
    message = ""
    if not np.all(np.isfinite(errors)):
        message = "standard errors not estimable"
    elif errors[1] > 1.0 or errors[2] > abs(values[2]):
        # a relative error above 100 %: the capacities barely depend on the rate
        message = ("tau and n are not determined by these data (relative error above 100 %); "
                   "the capacity hardly falls over the rates tested")
    return TianFit(Estimate(float(values[0]), float(errors[0])),
                   Estimate(tau, tau * float(errors[1])),
                   Estimate(float(values[2]), float(errors[2])),
                   cost / dof, not message, message)
