"""Li⁺ transference number of a symmetric Li|electrolyte|Li cell (Bruce–Vincent and variants).

A small potential step ΔV is held across the cell (chronoamperometry, CA) and
impedance spectra are taken before and after it. With the initial current
I₀, the steady-state current I_ss, the interfacial resistances R₀ (before) and
R_ss (after), and the bulk resistance R_b:

* Bruce–Vincent (Evans–Vincent–Bruce, Polymer 28, 2324 (1987)):
  ``t⁺ = I_ss (ΔV − I₀ R₀) / [I₀ (ΔV − I_ss R_ss)]``, with I₀ as measured
  (first sample of the CA) and, separately, from Ohm's law
  ``I₀ = ΔV / (R_b + R₀)`` (immune to a sampling too slow to catch the
  initial current);
* Evans, uncorrected: ``t⁺ = I_ss / I₀``;
* Watanabe (Watanabe et al., Solid State Ionics 28–30, 911 (1988)):
  ``t⁺ = R_b / (ΔV / I_ss − R_ss)``. Algebraically this is Bruce–Vincent with
  the Ohm's-law I₀; the two differ only through R_b, taken from the spectrum
  before the CA for I₀ and from the one after it for Watanabe.

The resistances come from a fit of the symmetric-cell circuit (default
``R0-p(R1,CPE1)``: R0 = bulk, R1 = interface) to each spectrum with
:func:`labkit.eis.fit.fit_circuit`, or are given directly. I_ss is the mean
current over the last ``steady_fraction`` of the CA; it counts as steady when
a straight line through that window changes by less than
``steady_tolerance`` (relative) across it. Uncertainties (standard errors of
I₀, I_ss, the fitted resistances, and ΔV when measured) are propagated to
first order, assuming them independent.

The CA must be a potentiostatic hold, else it is refused with an
:class:`~labkit.errors.AnalysisError` saying what was found: the polarisation is the
longest run of current of one sign, and over it the voltage is held and varies less
than the current (a galvanostatic step or a cycling file does not) at a small step (|ΔV| ≤ 0.5 V; a full cell held at its
own voltage is not a Bruce–Vincent polarisation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from labkit.analysis._base import Estimate, numeric, plain, propagate, require_columns
from labkit.analysis.recognise import MAX_POLARISATION_VOLT, held_voltage
from labkit.data import CyclingRecord, ImpedanceRecord
from labkit.errors import AnalysisError, MetadataError

SYMMETRIC_CELL_CIRCUIT = "R0-p(R1,CPE1)"


@dataclass(frozen=True)
class SymmetricCellFit:
    """Bulk and interfacial resistance of one symmetric-cell spectrum.

    Attributes
    ----------
    bulk_ohm, interface_ohm
        Fitted resistances with standard errors.
    circuit
        The circuit fitted.
    fit
        The full :class:`labkit.eis.fit.FitResult`.
    """

    bulk_ohm: Estimate
    interface_ohm: Estimate
    circuit: str
    fit: Any

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: resistances and the fit as ``labkit eis fit`` prints it."""
        return {"bulk_ohm": self.bulk_ohm.to_dict(), "interface_ohm": self.interface_ohm.to_dict(),
                "circuit": self.circuit, "fit": self.fit.to_dict()}


def fit_symmetric_cell(
    spectrum: ImpedanceRecord,
    circuit: str = SYMMETRIC_CELL_CIRCUIT,
    bulk: str = "R0",
    interface: str = "R1",
    spectrum_index: int | None = None,
) -> SymmetricCellFit:
    """Fit ``circuit`` to a symmetric-cell spectrum and return its bulk and interface resistances.

    Parameters
    ----------
    spectrum
        Impedance record; its first spectrum is used unless ``spectrum_index`` says otherwise.
    circuit
        impedance.py-style circuit string.
    bulk, interface
        Names of the bulk and interfacial resistances in ``circuit``.
    spectrum_index
        Which spectrum of the record.

    Raises
    ------
    FitError
        When the fit fails or does not converge.
    """
    from labkit.eis.fit import fit_circuit
    from labkit.errors import FitError

    index = spectrum_index if spectrum_index is not None else int(spectrum.data["spectrum"].min())
    frequency, z = spectrum.impedance(index)
    keep = np.isfinite(frequency) & np.isfinite(z) & (frequency > 0)
    result = fit_circuit(frequency[keep], z[keep], circuit)
    if not result.success:
        raise FitError(f"symmetric-cell fit of {circuit} did not succeed: {result.message}",
                       file=spectrum.meta.source_path)
    for name in (bulk, interface):
        if name not in result.parameters:
            raise FitError(f"circuit {circuit} has no parameter {name}; its parameters are "
                           f"{list(result.parameters)}")
    return SymmetricCellFit(Estimate(result.value(bulk), result.stderr(bulk)),
                            Estimate(result.value(interface), result.stderr(interface)),
                            circuit, result)


@dataclass(frozen=True)
class TransferenceResult:
    """Transference numbers with their inputs.

    Attributes
    ----------
    t_plus_bruce_vincent
        Bruce–Vincent with I₀ as measured.
    t_plus_bruce_vincent_ohm
        Bruce–Vincent with I₀ = ΔV/(R_b + R₀) (``None`` without R_b).
    t_plus_evans
        I_ss / I₀ (no interfacial correction).
    t_plus_watanabe
        R_b / (ΔV/I_ss − R_ss) (``None`` without R_b).
    delta_v_volt, i0_ampere, i0_ohm_ampere, iss_ampere, r0_ohm, rss_ohm, rb_ohm
        The inputs used (magnitudes), with standard errors.
    steady_state
        Whether I_ss passed the steady-state check.
    steady_drift_fraction
        Relative change of the fitted line across the steady-state window.
    steady_window_second
        Duration of that window.
    delta_v_source, resistance_source
        Where ΔV and the resistances came from.
    fits
        ``{"before": SymmetricCellFit, "after": ...}`` when fitted here.
    """

    t_plus_bruce_vincent: Estimate
    t_plus_bruce_vincent_ohm: Estimate | None
    t_plus_evans: Estimate
    t_plus_watanabe: Estimate | None
    delta_v_volt: Estimate
    i0_ampere: Estimate
    i0_ohm_ampere: Estimate | None
    iss_ampere: Estimate
    r0_ohm: Estimate
    rss_ohm: Estimate
    rb_ohm: Estimate | None
    steady_state: bool
    steady_drift_fraction: float
    steady_window_second: float
    steady_tolerance: float
    delta_v_source: str
    resistance_source: str
    fits: dict[str, SymmetricCellFit]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly result with the key names of ``labkit transference --json``."""
        def optional(value: Estimate | None) -> dict[str, float | None] | None:
            return None if value is None else value.to_dict()

        return {
            "t_plus_bruce_vincent": self.t_plus_bruce_vincent.to_dict(),
            "t_plus_bruce_vincent_ohm": optional(self.t_plus_bruce_vincent_ohm),
            "t_plus_evans": self.t_plus_evans.to_dict(),
            "t_plus_watanabe": optional(self.t_plus_watanabe),
            "delta_v_volt": self.delta_v_volt.to_dict(),
            "i0_ampere": self.i0_ampere.to_dict(),
            "i0_ohm_ampere": optional(self.i0_ohm_ampere),
            "iss_ampere": self.iss_ampere.to_dict(),
            "r0_ohm": self.r0_ohm.to_dict(),
            "rss_ohm": self.rss_ohm.to_dict(),
            "rb_ohm": optional(self.rb_ohm),
            "steady_state": self.steady_state,
            "steady_drift_fraction": plain(self.steady_drift_fraction),
            "steady_window_second": self.steady_window_second,
            "steady_tolerance": self.steady_tolerance,
            "delta_v_source": self.delta_v_source,
            "resistance_source": self.resistance_source,
            "fits": {name: fit.to_dict() for name, fit in self.fits.items()},
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per quantity: name, value, stderr."""
        rows = [(name, value.value, value.stderr) for name, value in (
            ("t_plus_bruce_vincent", self.t_plus_bruce_vincent),
            ("t_plus_bruce_vincent_ohm", self.t_plus_bruce_vincent_ohm),
            ("t_plus_evans", self.t_plus_evans),
            ("t_plus_watanabe", self.t_plus_watanabe),
            ("delta_v_volt", self.delta_v_volt),
            ("i0_ampere", self.i0_ampere),
            ("i0_ohm_ampere", self.i0_ohm_ampere),
            ("iss_ampere", self.iss_ampere),
            ("r0_ohm", self.r0_ohm),
            ("rss_ohm", self.rss_ohm),
            ("rb_ohm", self.rb_ohm),
        ) if value is not None]
        return pd.DataFrame(rows, columns=["quantity", "value", "stderr"])


def _estimate(value: float | Estimate | None) -> Estimate | None:
    if value is None or isinstance(value, Estimate):
        return value
    return Estimate(float(value), math.nan)


def transference_number(
    ca: CyclingRecord,
    *,
    eis_before: ImpedanceRecord | None = None,
    eis_after: ImpedanceRecord | None = None,
    r0_ohm: float | Estimate | None = None,
    rss_ohm: float | Estimate | None = None,
    rb_ohm: float | Estimate | None = None,
    delta_v_volt: float | None = None,
    circuit: str = SYMMETRIC_CELL_CIRCUIT,
    bulk: str = "R0",
    interface: str = "R1",
    steady_fraction: float = 0.1,
    steady_tolerance: float = 0.01,
) -> TransferenceResult:
    """Transference number from a CA record and the interfacial resistances before/after.

    Parameters
    ----------
    ca
        Chronoamperometry: ``test_time_second``, ``current_ampere`` (and ``voltage_volt``).
    eis_before, eis_after
        Symmetric-cell spectra before and after the CA, fitted with ``circuit``; of a
        file holding several spectra, the last one before and the first one after.
    r0_ohm, rss_ohm, rb_ohm
        Interfacial resistance before/after and bulk resistance given directly
        (take precedence over the fits); a float or an :class:`Estimate`.
    delta_v_volt
        Applied potential step; default the median ``|voltage_volt|`` of the CA.
    circuit, bulk, interface
        Symmetric-cell circuit and the names of its bulk and interface resistances.
    steady_fraction
        Fraction of the CA duration (from its end) averaged for I_ss.
    steady_tolerance
        Largest relative change across that window still counted as steady.

    Raises
    ------
    MetadataError
        When ΔV or a resistance is neither given nor obtainable.
    AnalysisError
        When the CA has too few samples or no current, or is not a potentiostatic hold:
        over its polarisation (the longest run of current of one sign) the voltage
        must be held (5th–95th percentile within 2 % of its level, or 1 mV), vary less
        than the current (relative to their levels), and be no more than
        :data:`labkit.analysis.recognise.MAX_POLARISATION_VOLT` (unless ΔV is given). A
        record without ``voltage_volt`` cannot be checked (ΔV is then given).
    """
    require_columns(ca, ["test_time_second", "current_ampere"], "a transference number")
    time = numeric(ca, "test_time_second")
    signed = numeric(ca, "current_ampere")
    finite = np.isfinite(time) & np.isfinite(signed)
    time, signed = time[finite], signed[finite]
    # the polarisation is the longest run of samples with current of one sign (rests
    # before/after dropped)
    direction = np.sign(signed)
    change = np.flatnonzero(np.diff(direction) != 0) + 1
    starts, ends = np.concatenate([[0], change]), np.concatenate([change, [direction.size]])
    flowing = direction[starts] != 0 if direction.size else np.zeros(0, bool)
    starts, ends = starts[flowing], ends[flowing]
    if starts.size == 0 or (ends - starts).max() < 10:
        raise AnalysisError("the chronoamperometry record has no run of 10 samples with current "
                            "of one sign", file=ca.meta.source_path)
    longest = int(np.argmax(ends - starts))
    start, end = int(starts[longest]), int(ends[longest])
    time, current = time[start:end], np.abs(signed[start:end])
    _require_potentiostatic_hold(ca, finite, start, end, time, level_given=delta_v_volt is not None)

    window = time >= time[-1] - steady_fraction * (time[-1] - time[0])
    if window.sum() < 3:
        raise AnalysisError("too few samples in the steady-state window; "
                            "increase steady_fraction", file=ca.meta.source_path)
    slope, intercept = np.polyfit(time[window], current[window], 1)
    residual = current[window] - (slope * time[window] + intercept)
    iss_value = float(current[window].mean())
    noise = float(residual.std(ddof=2))  # at least 3 samples (checked above)
    iss = Estimate(iss_value, noise / math.sqrt(window.sum()))
    window_second = float(time[window][-1] - time[window][0])
    drift = float(slope * window_second / iss_value)
    i0 = Estimate(float(current[0]), noise)

    delta_v, delta_v_source = _delta_v(ca, delta_v_volt, finite, start, end)
    fits: dict[str, SymmetricCellFit] = {}
    r0, rss, rb = _estimate(r0_ohm), _estimate(rss_ohm), _estimate(rb_ohm)
    sources = []
    # with several spectra per file, the ones closest in time to the CA
    if r0 is None and eis_before is not None:
        last = int(eis_before.data["spectrum"].max())
        fits["before"] = fit_symmetric_cell(eis_before, circuit, bulk, interface, last)
        r0 = fits["before"].interface_ohm
    if rss is None and eis_after is not None:
        first = int(eis_after.data["spectrum"].min())
        fits["after"] = fit_symmetric_cell(eis_after, circuit, bulk, interface, first)
        rss = fits["after"].interface_ohm
    if rb is None and fits:
        bulks = [fit.bulk_ohm for fit in fits.values()]
        rb = bulks[0] if len(bulks) == 1 else Estimate(
            float(np.mean([b.value for b in bulks])),
            0.5 * math.sqrt(sum(b.stderr ** 2 for b in bulks)))
    if r0 is None or rss is None:
        raise MetadataError("interfacial resistances not given: pass the EIS before and after "
                            "(CLI: --eis-before/--eis-after) or r0_ohm and rss_ohm",
                            file=ca.meta.source_path)
    sources.append(f"fitted {circuit} ({', '.join(fits)})" if fits else "given")
    if rb_ohm is not None or r0_ohm is not None or rss_ohm is not None:
        sources.append("values given directly take precedence")

    def bruce_vincent(iss, i0, delta_v, r0, rss):
        return iss * (delta_v - i0 * r0) / (i0 * (delta_v - iss * rss))

    inputs = {"iss": iss, "i0": i0, "delta_v": delta_v, "r0": r0, "rss": rss}
    t_bv = propagate(bruce_vincent, inputs)
    t_evans = propagate(lambda iss, i0: iss / i0, {"iss": iss, "i0": i0})
    t_bv_ohm = t_watanabe = i0_ohm = None
    if rb is not None:
        # bulk resistance before the CA sets I0, after it the steady state (when both fitted)
        rb_before = fits["before"].bulk_ohm if rb_ohm is None and "before" in fits else rb
        rb_after = fits["after"].bulk_ohm if rb_ohm is None and "after" in fits else rb
        i0_ohm = propagate(lambda delta_v, rb, r0: delta_v / (rb + r0),
                           {"delta_v": delta_v, "rb": rb_before, "r0": r0})
        t_bv_ohm = propagate(
            lambda iss, delta_v, r0, rss, rb: bruce_vincent(iss, delta_v / (rb + r0), delta_v,
                                                            r0, rss),
            {"iss": iss, "delta_v": delta_v, "r0": r0, "rss": rss, "rb": rb_before})
        t_watanabe = propagate(lambda rb, delta_v, iss, rss: rb / (delta_v / iss - rss),
                               {"rb": rb_after, "delta_v": delta_v, "iss": iss, "rss": rss})
    return TransferenceResult(
        t_bv, t_bv_ohm, t_evans, t_watanabe, delta_v, i0, i0_ohm, iss, r0, rss, rb,
        bool(abs(drift) <= steady_tolerance), drift, window_second, steady_tolerance,
        delta_v_source, "; ".join(sources), fits)


def _require_potentiostatic_hold(ca: CyclingRecord, finite: np.ndarray, start: int, end: int,
                                 time: np.ndarray, level_given: bool) -> None:
    """Refuse a polarisation whose voltage is not held, or (unless ΔV is given) is held at
    0 V or far from a small step."""
    if "voltage_volt" not in ca.data:
        return  # nothing to check: ΔV must then be given
    hold = held_voltage(numeric(ca, "voltage_volt")[finite][start:end],
                        numeric(ca, "current_ampere")[finite][start:end])
    if hold is None:
        return  # no voltage recorded there: ΔV must then be given (checked by _delta_v)
    where = (f"over the longest run of current of one sign (t = {time[0]:.6g}–{time[-1]:.6g} s,"
             f" {end - start} samples)")
    if not hold.held:
        raise AnalysisError(
            "a transference number needs a potentiostatic hold (the voltage held while the "
            f"current flows one way); found {hold.describe()} {where}: the voltage is not held",
            file=ca.meta.source_path)
    if hold.current_controlled:
        raise AnalysisError(
            "a transference number needs a potentiostatic hold (the voltage held while the "
            f"current flows one way); found the current held instead: it varies by "
            f"{hold.current_spread:.2%} and {hold.describe()} by {hold.voltage_spread:.2%} "
            f"{where}: a galvanostatic step", file=ca.meta.source_path)
    if level_given:
        return
    if not hold.polarised:
        raise AnalysisError(
            "a transference number needs a potentiostatic step (ΔV of 5–50 mV); found the "
            f"voltage at {hold.level_volt:.2g} V {where} while current flows: no step "
            "(if voltage_volt is not the cell's voltage, pass ΔV: CLI --dv V)",
            file=ca.meta.source_path)
    if abs(hold.level_volt) > MAX_POLARISATION_VOLT:
        raise AnalysisError(
            "a transference number needs a small potentiostatic step across a symmetric cell "
            f"(Bruce–Vincent: 5–50 mV; at most {MAX_POLARISATION_VOLT} V here); found the "
            f"voltage held at {hold.level_volt:.4g} V {where}: a cell held at its own voltage",
            file=ca.meta.source_path)


def _delta_v(ca: CyclingRecord, given: float | None, finite: np.ndarray, start: int,
             end: int) -> tuple[Estimate, str]:
    if given is not None:
        if not (math.isfinite(given) and given != 0):
            raise MetadataError(f"the potential step ΔV must be a non-zero number, got {given}",
                                file=ca.meta.source_path)
        return Estimate(abs(float(given)), math.nan), "given"
    if "voltage_volt" not in ca.data:
        raise MetadataError("applied potential step ΔV not given and the CA record has no "
                            "voltage_volt column; pass delta_v_volt (CLI: --dv V)",
                            file=ca.meta.source_path)
    voltage = np.abs(numeric(ca, "voltage_volt"))[finite][start:end]
    voltage = voltage[np.isfinite(voltage)]
    if voltage.size == 0:
        raise MetadataError("the CA record's voltage_volt is empty; pass delta_v_volt",
                            file=ca.meta.source_path)
    return (Estimate(float(np.median(voltage)), float(voltage.std()) / math.sqrt(voltage.size)),
            "median |voltage_volt| of the CA")
