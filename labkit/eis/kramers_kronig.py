"""Kramers-Kronig validity of impedance spectra: the linear KK test (Schönleber et al. 2014)
with a verdict that scales with the spectrum's own noise.

A spectrum that obeys causality, linearity and stability can be fitted by a
chain of Voigt elements (R_k || C_k with fixed time constants tau_k) plus a
series resistance, inductance and capacitance. The test fits that chain by
linear least squares weighted by 1/|Z| (Schönleber, Klotz, Ivers-Tiffée,
Electrochim. Acta 131 (2014) 20):

* the number M of elements grows from 2 until ``mu = 1 - sum|R_k<0| / sum|R_k>=0|``
  falls below ``mu_criterion`` (0.85), the point where over-fitting starts;
* the tau_k span 1/omega_max..1/omega_min extended on each side (tau-range extension);
  the extension giving the smallest pseudo chi-square is kept. The default tries
  (0, 0), (0.5, 0.5) and (1, 0.5) decades (above the highest frequency, below the
  lowest): above the range elements stand for processes faster than the data (a solid
  electrolyte's bulk arc, the leads); below it a chain extended by a whole decade
  absorbs a corrupt low-frequency tail (on :mod:`labkit.eis.kk_synthetic`'s corrupt
  tails 91.5 % were flagged with (1, 1), 97 % with (1, 0.5)).

The verdict (issue 16) compares the residuals (in % of |Z|) with the spectrum's own
noise instead of a fixed limit:

* noise: the point-to-point scatter of the residuals, ``1.4826 median|d| / sqrt 2``
  over the differences ``d`` of neighbouring residuals (real and imaginary pooled;
  differences remove smooth structure, the median ignores a few wild points), scaled
  by ``sqrt(2N / (2N - p))`` for the ``p = M + 3`` parameters the fit took, and at
  least :data:`NOISE_FLOOR`. The result also states the noise the pseudo chi-square
  implies, ``sqrt(chi2 / 2N)`` (Yrjänä & Bobacka, Electrochim. Acta 504 (2024)
  144951: pseudo chi-square ~ 2 N sigma^2 for noise sigma on Re and Im); it includes
  any structure, so it is reported, not used as the scale;
* a residual is too large above ``max(LARGEST_RESIDUAL_NOISE_MULTIPLE x noise,
  POINT_FLOOR)`` (4.5 x noise, at least 1 % of |Z|: the accuracy of impedance analysers
  near the ends of their range);
* structure: the rms of the residuals the point-to-point scatter does not explain,
  ``sqrt(max(mean r^2 - mean d^2 / 2, 0))``. When it exceeds :data:`STRUCTURE_FLOOR`
  (0.15 % of |Z|), the spectrum fails if the residuals are smooth (von Neumann ratio
  ``mean d^2 / (2 mean r^2)`` below :data:`SMOOTHNESS_LIMIT`; 1 for white noise, about
  1.2 for the residuals of this fit), if the real or the imaginary residuals run in too
  few runs of one sign (Wald-Wolfowitz runs test, z below :data:`RUNS_Z_LIMIT`), or if
  the first or last :data:`END_POINTS` residuals of a part drift to one side (their mean
  over its standard error, with the scatter there, above :data:`END_Z_LIMIT`).
  Residual structure below the floor is not a reason to reject: a drift that small
  does not bias a fit, and instruments' systematic errors are of that size.

The limits were set on :func:`labkit.eis.kk_synthetic.kk_spectra` (seed 1) and
checked on another seed and on the corpus (README). ``max_residual_percent`` adds
an absolute limit on every point when given.

:func:`trim_invalid` removes points from the high- and low-frequency ends until
the rest passes, so that a fit uses only the valid range.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from labkit._threads import on_one_blas_thread
from labkit.data import ImpedanceRecord
from labkit.eis._spectra import Spectrum, as_spectrum, iter_spectra
from labkit.errors import AnalysisError

#: Fewer points than this cannot support a linear KK test with a meaningful M.
MINIMUM_POINTS = 8
#: Tau-range extensions tried by default, decades (above the highest, below the lowest frequency).
TAU_EXTENSIONS_DECADES: tuple[tuple[float, float], ...] = ((0.0, 0.0), (0.5, 0.5), (1.0, 0.5))
#: Smallest noise estimate, relative to |Z| (0.01 %: below it the residuals are rounding).
NOISE_FLOOR = 1e-4
#: A residual is too large above this many times the noise ...
LARGEST_RESIDUAL_NOISE_MULTIPLE = 4.5
#: ... or above this, relative to |Z|, whichever is larger.
POINT_FLOOR = 0.01
#: Residual structure (rms not explained by the scatter) that can fail a spectrum, relative to |Z|.
STRUCTURE_FLOOR = 0.0015
#: Von Neumann ratio below which the residuals are smooth (structure, not noise).
SMOOTHNESS_LIMIT = 0.9
#: Runs-test z below which a part's residuals run in too few runs of one sign.
RUNS_Z_LIMIT = -2.6
#: On a spectrum that fails on structure, the points within this many times the noise (at
#: least twice STRUCTURE_FLOOR) are the ones valid_frequency_range_hertz keeps.
STRUCTURED_NOISE_MULTIPLE = 3.0
#: Points at each end tested for a drift to one side, and the z above which they have drifted.
END_POINTS = 5
END_Z_LIMIT = 3.5


@dataclass(frozen=True)
class KkStatistics:
    """The statistics the verdict is made of (module doc).

    Attributes
    ----------
    smoothness
        Von Neumann ratio of the residuals: mean squared difference of neighbours over
        twice the mean square (1 for white noise; near 0 for smooth structure).
    runs_z_real, runs_z_imag
        Wald-Wolfowitz runs-test z of the signs of the real and imaginary residuals
        (negative: fewer runs than chance).
    ends_z
        Largest drift of the first or last :data:`END_POINTS` residuals of a part to one
        side: their mean over its standard error.
    largest_over_noise
        Largest absolute residual over the noise estimate.
    """

    smoothness: float
    runs_z_real: float
    runs_z_imag: float
    ends_z: float
    largest_over_noise: float

    def to_dict(self) -> dict[str, float]:
        """The ``statistics`` entry of ``labkit eis kk --json``."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, eq=False)
class KramersKronigResult:
    """The linear KK test of one spectrum.

    Attributes
    ----------
    valid
        Whether the spectrum passes.
    reason
        Why it passes or fails, in words, with the numbers.
    number_of_rc
        Number of Voigt elements M chosen by the mu criterion.
    mu
        The mu value at that M.
    tau_extension_decades
        Decades by which the tau range was extended above the highest frequency.
    residual_max_percent_real, residual_max_percent_imag
        Largest absolute residual of each part, in % of |Z|.
    pseudo_chi_square
        Sum of squared relative residuals (Boukamp's pseudo chi-square).
    frequency_hertz
        The spectrum's frequencies (decreasing).
    residual_real_percent, residual_imag_percent
        Residuals per frequency, in % of |Z|.
    valid_frequency_range_hertz
        ``(low, high)`` of the longest run of consecutive frequencies whose residuals
        are within ``point_limit_percent`` (and ``max_residual_percent`` when given) and,
        when the spectrum fails on structure, within the noise band
        (:data:`STRUCTURED_NOISE_MULTIPLE` x the noise, at least 0.3 %); ``None`` when
        no point is.
    max_residual_percent
        The optional absolute limit on every residual (% of |Z|); ``None`` when not set.
    tau_extension_low_frequency_decades
        Decades by which the tau range was extended below the lowest frequency.
    noise_percent
        The noise estimate from the residuals' point-to-point scatter, % of |Z| on each
        of Re and Im (at least :data:`NOISE_FLOOR`).
    noise_pseudo_chi_square_percent
        The noise the pseudo chi-square implies (Yrjänä & Bobacka 2024),
        ``100 sqrt(chi2 / 2N)``: equal to ``noise_percent`` (less the fit's share) when
        the residuals are noise, larger when they hold structure.
    point_limit_percent
        The limit on a single residual: ``max(4.5 noise, 1 %)``.
    structure_percent
        Rms of the residuals the point-to-point scatter does not explain, % of |Z|.
    statistics
        The structure statistics (:class:`KkStatistics`).
    decided_by
        The criteria that failed, in the order ``largest_residual``, ``absolute_limit``,
        ``smoothness``, ``runs_real``, ``runs_imag``, ``ends`` (``too_few_points``,
        ``aborted`` for those verdicts); empty when the spectrum passes.
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
    max_residual_percent: float | None
    tau_extension_low_frequency_decades: float
    noise_percent: float
    noise_pseudo_chi_square_percent: float
    point_limit_percent: float
    structure_percent: float
    statistics: KkStatistics | None
    decided_by: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary with the keys of ``labkit eis kk --json``."""
        low_high = self.valid_frequency_range_hertz
        return {
            "valid": self.valid,
            "reason": self.reason,
            "decided_by": list(self.decided_by),
            "number_of_rc": self.number_of_rc,
            "mu": self.mu,
            "tau_extension_decades": self.tau_extension_decades,
            "tau_extension_low_frequency_decades": self.tau_extension_low_frequency_decades,
            "residual_max_percent": {"real": self.residual_max_percent_real,
                                     "imag": self.residual_max_percent_imag},
            "pseudo_chi_square": self.pseudo_chi_square,
            "noise_percent": self.noise_percent,
            "noise_pseudo_chi_square_percent": self.noise_pseudo_chi_square_percent,
            "point_limit_percent": self.point_limit_percent,
            "structure_percent": self.structure_percent,
            "statistics": None if self.statistics is None else self.statistics.to_dict(),
            "max_residual_percent": self.max_residual_percent,
            "valid_frequency_range_hertz": None if low_high is None else
            {"low": low_high[0], "high": low_high[1]},
            "frequency_hertz": self.frequency_hertz.tolist(),
            "residual_real_percent": self.residual_real_percent.tolist(),
            "residual_imag_percent": self.residual_imag_percent.tolist(),
        }


Extension = tuple[float, float]


@dataclass(frozen=True, eq=False)
class _Fit:
    count: int
    mu: float
    extension: Extension  # decades above the highest, below the lowest frequency
    relative: np.ndarray  # complex residual / |Z|


def _extension_pair(extension: float | Extension) -> Extension:
    """A symmetric extension (one number) or ``(above, below)`` as a pair of floats."""
    if isinstance(extension, tuple):
        above, below = extension
        return float(above), float(below)
    return float(extension), float(extension)


def _design(spec: Spectrum, count: int, extension: Extension) -> np.ndarray:
    """Columns: R_0, Voigt elements, i omega L, 1/(i omega C), each divided by |Z|."""
    omega = 2.0 * np.pi * spec.frequency_hertz
    low = -math.log10(omega.max()) - extension[0]
    high = -math.log10(omega.min()) + extension[1]
    tau = np.logspace(low, high, count)
    voigt = 1.0 / (1.0 + 1j * omega[:, None] * tau[None, :])
    columns = np.column_stack([np.ones_like(omega), voigt, 1j * omega, -1j / omega])
    return columns / np.abs(spec.impedance_ohm)[:, None]


def _fit(spec: Spectrum, count: int, extension: Extension) -> _Fit:
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


def _select(spec: Spectrum, mu_criterion: float, extensions: list[Extension]) -> _Fit:
    """Per extension, M by the mu criterion; the extension with least chi-square wins.

    With few elements mu can be low because the chain is too short (an element
    takes a negative R to bend the curve), not because it over-fits. The mu
    criterion is therefore applied from the first M whose pseudo chi-square is
    within twice the least one over all M: M is the first count from there on at
    which mu falls to the criterion (the largest tried when it never does).
    """
    n = len(spec.frequency_hertz)
    max_count = max(2, min(n - 4, 60))
    chosen = []
    for extension in extensions:
        fits = [_fit(spec, count, extension) for count in range(1, max_count + 1)]
        chi = np.array([_chi_square(f) for f in fits])
        start = int(np.argmax(chi <= 2.0 * chi.min()))
        chosen.append(next((f for f in fits[start:] if f.mu <= mu_criterion), fits[-1]))
    return min(chosen, key=_chi_square)


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


def _runs_z(values: np.ndarray) -> float:
    """Wald-Wolfowitz runs test of the signs: z of the number of runs (negative: too few).

    All of one sign, whose variance is zero, gets the z of its probability ``2 / 2^n``.
    """
    positive = values > 0
    n = len(values)
    n_pos = int(positive.sum())
    n_neg = n - n_pos
    if n_pos == 0 or n_neg == 0:
        return NormalDist().inv_cdf(max(2.0 * 0.5**n, 1e-300))
    runs = 1 + int(np.count_nonzero(positive[1:] != positive[:-1]))
    expected = 1.0 + 2.0 * n_pos * n_neg / n
    variance = 2.0 * n_pos * n_neg * (2.0 * n_pos * n_neg - n) / (n * n * (n - 1.0))
    return (runs - expected) / math.sqrt(variance)


def _ends_z(part: np.ndarray, noise: float) -> float:
    """Largest |mean| / standard error of the first and last END_POINTS residuals."""
    largest = 0.0
    for end in (part[:END_POINTS], part[-END_POINTS:]):
        scatter = math.sqrt(float(np.mean(np.diff(end) ** 2)) / 2.0)
        largest = max(largest, abs(float(end.mean())) * math.sqrt(len(end))
                      / max(scatter, noise))
    return largest


#: The criteria that look at the residuals' structure rather than at single points.
STRUCTURE_CRITERIA = ("smoothness", "runs_real", "runs_imag", "ends")


@dataclass(frozen=True)
class _Verdict:
    noise: float
    point_limit: float
    structure: float
    statistics: KkStatistics
    within_limits: np.ndarray  # per point: within the point limit (and the absolute one)
    passing: np.ndarray  # per point: counted in valid_frequency_range_hertz
    decided_by: tuple[str, ...]


def _verdict(fit: _Fit, max_residual_percent: float | None) -> _Verdict:
    """The noise-scaled verdict on a fit's residuals (module doc)."""
    real, imag = fit.relative.real, fit.relative.imag
    n = len(real)
    parameters = fit.count + 3
    differences = np.concatenate([np.diff(real), np.diff(imag)])
    scatter = 1.4826 * float(np.median(np.abs(differences))) / math.sqrt(2.0)
    noise = max(scatter * math.sqrt(2.0 * n / max(2.0 * n - parameters, 1.0)), NOISE_FLOOR)
    mean_square = float(np.mean(real**2) + np.mean(imag**2)) / 2.0
    difference_square = float(np.mean(differences**2))
    structure = math.sqrt(max(mean_square - difference_square / 2.0, 0.0))
    smoothness = difference_square / (2.0 * mean_square) if mean_square > 0 else 1.0
    largest = np.maximum(np.abs(real), np.abs(imag))
    statistics = KkStatistics(smoothness, _runs_z(real), _runs_z(imag),
                              max(_ends_z(real, noise), _ends_z(imag, noise)),
                              float(largest.max()) / noise)
    point_limit = max(LARGEST_RESIDUAL_NOISE_MULTIPLE * noise, POINT_FLOOR)
    within_limits = largest <= point_limit
    failed = ["largest_residual"] if not within_limits.all() else []
    if max_residual_percent is not None:
        within = 100.0 * largest <= max_residual_percent
        within_limits = within_limits & within
        failed += [] if within.all() else ["absolute_limit"]
    passing = within_limits
    if structure > STRUCTURE_FLOOR:
        structured = [name for name, fails in zip(STRUCTURE_CRITERIA, (
            smoothness < SMOOTHNESS_LIMIT, statistics.runs_z_real < RUNS_Z_LIMIT,
            statistics.runs_z_imag < RUNS_Z_LIMIT, statistics.ends_z > END_Z_LIMIT),
            strict=True) if fails]
        if structured:
            # The structure is where the residuals leave the noise band.
            passing = passing & (largest <= max(STRUCTURED_NOISE_MULTIPLE * noise,
                                                2.0 * STRUCTURE_FLOOR))
        failed += structured
    return _Verdict(noise, point_limit, structure, statistics, within_limits, passing,
                    tuple(failed))


def _reason(verdict: _Verdict, fit: _Fit, frequency: np.ndarray,
            max_residual_percent: float | None) -> str:
    """The verdict in words, with its numbers."""
    stats = verdict.statistics
    noise = f"noise {100 * verdict.noise:.3g} % of |Z| (point-to-point scatter)"
    measures = (f"smoothness {stats.smoothness:.2f}, runs z {stats.runs_z_real:.1f} (real) / "
                f"{stats.runs_z_imag:.1f} (imaginary), ends z {stats.ends_z:.1f}")
    if not verdict.decided_by:
        return (f"residuals are noise: {noise}; largest residual "
                f"{stats.largest_over_noise:.1f} x the noise (limit "
                f"{100 * verdict.point_limit:.3g} %); structure "
                f"{100 * verdict.structure:.2g} % rms ({measures}); M = {fit.count}")
    parts = []
    if {"largest_residual", "absolute_limit"} & set(verdict.decided_by):
        failing = frequency[~verdict.within_limits]
        limit = 100 * verdict.point_limit if max_residual_percent is None else min(
            100 * verdict.point_limit, max_residual_percent)
        parts.append(f"{len(failing)} of {len(frequency)} points have residuals above "
                     f"{limit:.3g} % of |Z| (largest {stats.largest_over_noise:.1f} x the "
                     f"noise), between {failing.min():.4g} and {failing.max():.4g} Hz")
    structured = [name for name in verdict.decided_by if name in STRUCTURE_CRITERIA]
    if structured:
        parts.append(f"residuals structured beyond the noise ({', '.join(structured)}): "
                     f"{100 * verdict.structure:.2g} % rms not explained by the scatter; "
                     f"{measures}")
    return f"{'; '.join(parts)}; {noise}; M = {fit.count}"


@on_one_blas_thread
def kramers_kronig(
    spectrum: Any,
    *,
    mu_criterion: float = 0.85,
    max_residual_percent: float | None = None,
    tau_extensions_decades: Iterable[float | Extension] = TAU_EXTENSIONS_DECADES,
) -> KramersKronigResult:
    """Linear Kramers-Kronig test of one spectrum, with the noise-scaled verdict.

    Parameters
    ----------
    spectrum
        ``(frequency_hertz, complex impedance)`` or the rows of one spectrum of an
        impedance record.
    mu_criterion
        Stop adding Voigt elements when mu falls to this value (Schönleber: 0.85).
    max_residual_percent
        An absolute limit (% of |Z|, real or imaginary) every residual must also meet;
        none by default (the verdict scales with the noise, module doc).
    tau_extensions_decades
        Extensions of the tau range tried, decades: one number (both sides) or
        ``(above the highest frequency, below the lowest)``; the one with least pseudo
        chi-square wins.

    A spectrum with fewer than :data:`MINIMUM_POINTS` usable points is reported
    invalid with that reason (M = 0, residuals NaN): a test on it would prove nothing.

    Raises
    ------
    ValueError
        When ``tau_extensions_decades`` is empty.
    """
    extensions = [_extension_pair(e) for e in tau_extensions_decades]
    if not extensions:
        raise ValueError("tau_extensions_decades is empty: give at least one extension")
    spec = as_spectrum(spectrum, minimum_points=1)
    frequency = spec.frequency_hertz
    if len(frequency) < MINIMUM_POINTS:
        nan = np.full(len(frequency), np.nan)
        return KramersKronigResult(
            False, f"only {len(frequency)} usable points; the linear KK test needs "
                   f"at least {MINIMUM_POINTS}", 0, math.nan, math.nan, math.nan, math.nan,
            math.nan, frequency, nan, nan, None, max_residual_percent, math.nan, math.nan,
            math.nan, math.nan, math.nan, None, ("too_few_points",))
    fit = _select(spec, mu_criterion, extensions)
    verdict = _verdict(fit, max_residual_percent)
    run = _longest_passing_run(verdict.passing)
    valid_range = None if run is None else (float(frequency[run[1] - 1]), float(frequency[run[0]]))
    chi_square = _chi_square(fit)
    return KramersKronigResult(
        not verdict.decided_by, _reason(verdict, fit, frequency, max_residual_percent),
        fit.count, fit.mu, fit.extension[0], 100.0 * float(np.max(np.abs(fit.relative.real))),
        100.0 * float(np.max(np.abs(fit.relative.imag))), chi_square, frequency,
        100.0 * fit.relative.real, 100.0 * fit.relative.imag, valid_range,
        max_residual_percent, fit.extension[1], 100.0 * verdict.noise,
        100.0 * math.sqrt(chi_square / (2.0 * len(frequency))), 100.0 * verdict.point_limit,
        100.0 * verdict.structure, verdict.statistics, verdict.decided_by)


def file_states_aborted(record: ImpedanceRecord) -> bool:
    """Whether the record's file says the run was aborted (Gamry ``EXPERIMENTABORTED``)."""
    return bool(record.meta.extra.get("gamry_aborted", False))


def aborted_verdict(result: KramersKronigResult) -> KramersKronigResult:
    """The verdict on a spectrum from an aborted run: invalid, whatever its residuals.

    The points measured before the abort may be KK-consistent, but the spectrum
    is not the one that was planned; the reason keeps the KK finding.
    """
    return dataclasses.replace(
        result, valid=False, decided_by=("aborted", *result.decided_by),
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


@on_one_blas_thread
def trim_invalid(spectrum: Any, **options: Any) -> tuple[Spectrum, KramersKronigResult]:
    """Drop high- and low-frequency end points until the linear KK test passes.

    When the whole spectrum fails on single points only, first the ends outside the
    longest run of passing points are cut (a spectrum that fails on structure is not
    cut so: its noise band, fitted with the bad points in, would cut good ones too);
    then, while the test on what is left fails, the end point (highest or lowest
    frequency) at the end whose :data:`END_POINTS` residuals are larger (rms) is removed
    and the test repeated (number of elements chosen anew, tau extension as chosen on
    the whole spectrum).

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
    options = {**options, "tau_extensions_decades": (
        (result.tau_extension_decades, result.tau_extension_low_frequency_decades),)}
    structured = set(STRUCTURE_CRITERIA) & set(result.decided_by)
    if not result.valid and result.valid_frequency_range_hertz is not None and not structured:
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
        size = result.residual_real_percent**2 + result.residual_imag_percent**2
        if size[:END_POINTS].mean() >= size[-END_POINTS:].mean():
            start += 1
        else:
            stop -= 1
        part = Spectrum(spec.frequency_hertz[start:stop], spec.impedance_ohm[start:stop])
        result = kramers_kronig(part, **options)
    return Spectrum(spec.frequency_hertz[start:stop], spec.impedance_ohm[start:stop]), result
