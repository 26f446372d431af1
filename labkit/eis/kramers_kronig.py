"""Kramers-Kronig validity of impedance spectra: the linear KK test (Schönleber et al. 2014).

A spectrum that obeys causality, linearity and stability can be fitted by a
chain of Voigt elements (R_k || C_k with fixed time constants tau_k) plus a
series resistance, inductance and capacitance. The test fits that chain by
linear least squares weighted by 1/|Z| (Schönleber, Klotz, Ivers-Tiffée,
Electrochim. Acta 131 (2014) 20):

* the number M of elements grows from 2 until ``mu = 1 - sum|R_k<0| / sum|R_k>=0|``
  falls below ``mu_criterion`` (0.85), the point where over-fitting starts;
* the tau_k span 1/omega_max..1/omega_min extended by a number of decades on
  each side (tau-range extension); the extension giving the smallest
  pseudo chi-square is kept;
* residuals are reported in % of |Z|; the spectrum passes when every residual is
  within ``max_residual_percent`` (default 1 %: a valid spectrum's residuals are
  noise-sized; drift, non-linearity and a changing system give larger,
  systematic ones).

:func:`trim_invalid` removes points from the high- and low-frequency ends until
the rest passes, so that a fit uses only the valid range.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from labkit.data import ImpedanceRecord
from labkit.eis._spectra import Spectrum, as_spectrum, iter_spectra
from labkit.errors import AnalysisError

#: Fewer points than this cannot support a linear KK test with a meaningful M.
MINIMUM_POINTS = 8


@dataclass(frozen=True, eq=False)
class KramersKronigResult:
    """The linear KK test of one spectrum.

    Attributes
    ----------
    valid
        Whether the spectrum passes.
    reason
        Why it passes or fails, in words.
    number_of_rc
        Number of Voigt elements M chosen by the mu criterion.
    mu
        The mu value at that M.
    tau_extension_decades
        Decades by which the tau range was extended on each side.
    residual_max_percent_real, residual_max_percent_imag
        Largest absolute residual of each part, in % of |Z|.
    pseudo_chi_square
        Sum of squared relative residuals (Boukamp's pseudo chi-square).
    frequency_hertz
        The spectrum's frequencies (decreasing).
    residual_real_percent, residual_imag_percent
        Residuals per frequency, in % of |Z|.
    valid_frequency_range_hertz
        ``(low, high)`` of the longest run of consecutive frequencies whose
        residuals are within the limit; ``None`` when no point is.
    max_residual_percent
        The limit used.
    """

    valid: bool
    reason: str
    number_of_rc: int
    mu: float
    tau_extension_decades: float
    residual_max_percent_real: float
    residual_max_percent_imag: float
    pseudo_chi_square: float
    frequency_hertz: np.ndarray
    residual_real_percent: np.ndarray
    residual_imag_percent: np.ndarray
    valid_frequency_range_hertz: tuple[float, float] | None
    max_residual_percent: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary with the keys of ``labkit eis kk --json``."""
        low_high = self.valid_frequency_range_hertz
        return {
            "valid": self.valid,
            "reason": self.reason,
            "number_of_rc": self.number_of_rc,
            "mu": self.mu,
            "tau_extension_decades": self.tau_extension_decades,
            "residual_max_percent": {"real": self.residual_max_percent_real,
                                     "imag": self.residual_max_percent_imag},
            "pseudo_chi_square": self.pseudo_chi_square,
            "max_residual_percent": self.max_residual_percent,
            "valid_frequency_range_hertz": None if low_high is None else
            {"low": low_high[0], "high": low_high[1]},
            "frequency_hertz": self.frequency_hertz.tolist(),
            "residual_real_percent": self.residual_real_percent.tolist(),
            "residual_imag_percent": self.residual_imag_percent.tolist(),
        }


@dataclass(frozen=True, eq=False)
class _Fit:
    count: int
    mu: float
    extension: float
    relative: np.ndarray  # complex residual / |Z|


def _design(spec: Spectrum, count: int, extension: float) -> np.ndarray:
    """Columns: R_0, Voigt elements, i omega L, 1/(i omega C), each divided by |Z|."""
    omega = 2.0 * np.pi * spec.frequency_hertz
    low = -math.log10(omega.max()) - extension
    high = -math.log10(omega.min()) + extension
    tau = np.logspace(low, high, count)
    voigt = 1.0 / (1.0 + 1j * omega[:, None] * tau[None, :])
    columns = np.column_stack([np.ones_like(omega), voigt, 1j * omega, -1j / omega])
    return columns / np.abs(spec.impedance_ohm)[:, None]


def _fit(spec: Spectrum, count: int, extension: float) -> _Fit:
    design = _design(spec, count, extension)
    target = spec.impedance_ohm / np.abs(spec.impedance_ohm)
    stacked = np.vstack([design.real, design.imag])
    scale = np.linalg.norm(stacked, axis=0)
    scale[scale == 0] = 1.0
    solution, *_ = np.linalg.lstsq(stacked / scale, np.concatenate([target.real, target.imag]),
                                   rcond=None)
    solution /= scale
    resistance = solution[1:1 + count]
    positive = np.abs(resistance[resistance >= 0]).sum()
    negative = np.abs(resistance[resistance < 0]).sum()
    mu = 1.0 - negative / positive if positive > 0 else 0.0
    return _Fit(count, float(mu), extension, target - design @ solution)


def _select(spec: Spectrum, mu_criterion: float, extensions: Iterable[float]) -> _Fit:
    """Per extension, M by the mu criterion; the extension with least chi-square wins.

    With few elements mu can be low because the chain is too short (an element
    takes a negative R to bend the curve), not because it over-fits. The mu
    criterion is therefore applied from the first M whose pseudo chi-square is
    within twice the least one over all M: M is the first count from there on at
    which mu falls to the criterion (the largest tried when it never does).
    """
    n = len(spec.frequency_hertz)
    max_count = max(2, min(n - 4, 60))
    best: _Fit | None = None
    for extension in extensions:
        fits = [_fit(spec, count, extension) for count in range(1, max_count + 1)]
        chi = np.array([_chi_square(f) for f in fits])
        start = int(np.argmax(chi <= 2.0 * chi.min()))
        chosen = next((f for f in fits[start:] if f.mu <= mu_criterion), fits[-1])
        if best is None or _chi_square(chosen) < _chi_square(best):
            best = chosen
    assert best is not None
    return best


def _chi_square(fit: _Fit) -> float:
    return float(np.sum(fit.relative.real**2 + fit.relative.imag**2))


def _longest_passing_run(passing: np.ndarray) -> tuple[int, int] | None:
    """[start, stop) of the longest run of True."""
    best, start = None, None
    for index, ok in enumerate(np.append(passing, False)):
        if ok and start is None:
            start = index
        elif not ok and start is not None:
            if best is None or index - start > best[1] - best[0]:
                best = (start, index)
            start = None
    return best


def kramers_kronig(
    spectrum: Any,
    *,
    mu_criterion: float = 0.85,
    max_residual_percent: float = 1.0,
    tau_extensions_decades: Iterable[float] = (0.0, 0.5, 1.0),
) -> KramersKronigResult:
    """Linear Kramers-Kronig test of one spectrum.

    Parameters
    ----------
    spectrum
        ``(frequency_hertz, complex impedance)`` or the rows of one spectrum of an
        impedance record.
    mu_criterion
        Stop adding Voigt elements when mu falls to this value (Schönleber: 0.85).
    max_residual_percent
        Largest residual (% of |Z|, real or imaginary) a valid spectrum may have.
    tau_extensions_decades
        Extensions of the tau range tried; the one with least pseudo chi-square wins.

    A spectrum with fewer than :data:`MINIMUM_POINTS` usable points is reported
    invalid with that reason (M = 0, residuals NaN): a test on it would prove nothing.
    """
    spec = as_spectrum(spectrum, minimum_points=1)
    if len(spec.frequency_hertz) < MINIMUM_POINTS:
        nan = np.full(len(spec.frequency_hertz), np.nan)
        return KramersKronigResult(
            False, f"only {len(spec.frequency_hertz)} usable points; the linear KK test needs "
                   f"at least {MINIMUM_POINTS}", 0, math.nan, math.nan, math.nan, math.nan,
            math.nan, spec.frequency_hertz, nan, nan, None, max_residual_percent)
    fit = _select(spec, mu_criterion, tau_extensions_decades)
    real = 100.0 * fit.relative.real
    imag = 100.0 * fit.relative.imag
    passing = (np.abs(real) <= max_residual_percent) & (np.abs(imag) <= max_residual_percent)
    run = _longest_passing_run(passing)
    frequency = spec.frequency_hertz
    valid_range = None if run is None else (float(frequency[run[1] - 1]), float(frequency[run[0]]))
    max_real, max_imag = float(np.max(np.abs(real))), float(np.max(np.abs(imag)))
    if passing.all():
        reason = (f"all residuals within {max_residual_percent:g} % of |Z| "
                  f"(largest {max(max_real, max_imag):.3g} %, M = {fit.count})")
    else:
        failing = frequency[~passing]
        reason = (f"{int((~passing).sum())} of {len(frequency)} points have residuals above "
                  f"{max_residual_percent:g} % of |Z| (largest {max(max_real, max_imag):.3g} %), "
                  f"between {failing.min():.4g} and {failing.max():.4g} Hz")
    return KramersKronigResult(
        bool(passing.all()), reason, fit.count, fit.mu, fit.extension, max_real, max_imag,
        _chi_square(fit), frequency, real, imag, valid_range, max_residual_percent)


def file_states_aborted(record: ImpedanceRecord) -> bool:
    """Whether the record's file says the run was aborted (Gamry ``EXPERIMENTABORTED``)."""
    return bool(record.meta.extra.get("gamry_aborted", False))


def aborted_verdict(result: KramersKronigResult) -> KramersKronigResult:
    """The verdict on a spectrum from an aborted run: invalid, whatever its residuals.

    The points measured before the abort may be KK-consistent, but the spectrum
    is not the one that was planned; the reason keeps the KK finding.
    """
    return dataclasses.replace(
        result, valid=False,
        reason="the file states the run was aborted (EXPERIMENTABORTED); "
               f"KK test of the points measured: {result.reason}")


def kramers_kronig_batch(spectra: Any, **options: Any) -> list[KramersKronigResult]:
    """:func:`kramers_kronig` of every spectrum of a record or iterable.

    For a record whose file states the run was aborted every verdict is invalid
    (:func:`aborted_verdict`).
    """
    aborted = isinstance(spectra, ImpedanceRecord) and file_states_aborted(spectra)
    results = [kramers_kronig(spectrum, **options) for spectrum in iter_spectra(spectra)]
    return [aborted_verdict(r) for r in results] if aborted else results


def trim_invalid(spectrum: Any, **options: Any) -> tuple[Spectrum, KramersKronigResult]:
    """Drop high- and low-frequency end points until the linear KK test passes.

    First the ends outside the longest run of passing points (of the test on the
    whole spectrum) are cut; then, while the test on what is left fails, the end
    point (highest or lowest frequency) with the larger residual is removed and
    the test repeated (number of elements chosen anew, tau extension as chosen
    on the whole spectrum).

    Returns
    -------
    The trimmed spectrum and the KK result on it.

    Raises
    ------
    AnalysisError
        When fewer than :data:`MINIMUM_POINTS` points would remain.
    """
    spec = as_spectrum(spectrum, minimum_points=MINIMUM_POINTS)
    start, stop = 0, len(spec.frequency_hertz)
    result = kramers_kronig(spec, **options)
    options = {**options, "tau_extensions_decades": (result.tau_extension_decades,)}
    if not result.valid and result.valid_frequency_range_hertz is not None:
        low, high = result.valid_frequency_range_hertz
        inside = np.flatnonzero((spec.frequency_hertz >= low) & (spec.frequency_hertz <= high))
        if len(inside) >= MINIMUM_POINTS:
            start, stop = int(inside[0]), int(inside[-1]) + 1
            part = Spectrum(spec.frequency_hertz[start:stop], spec.impedance_ohm[start:stop])
            result = kramers_kronig(part, **options)
    while not result.valid:
        if stop - start - 1 < MINIMUM_POINTS or result.number_of_rc == 0:
            raise AnalysisError(
                f"no run of at least {MINIMUM_POINTS} consecutive points from either end of "
                f"the spectrum passes the linear KK test ({result.reason})")
        worst = np.maximum(np.abs(result.residual_real_percent),
                           np.abs(result.residual_imag_percent))
        if worst[0] >= worst[-1]:
            start += 1
        else:
            stop -= 1
        part = Spectrum(spec.frequency_hertz[start:stop], spec.impedance_ohm[start:stop])
        result = kramers_kronig(part, **options)
    return Spectrum(spec.frequency_hertz[start:stop], spec.impedance_ohm[start:stop]), result
