"""Distribution of relaxation times (DRT) by Tikhonov regularisation on Gaussian RBFs.

The impedance is written as

    Z(f) = R_inf + i 2 pi f L [+ 1 / (i 2 pi f C)] + integral gamma(ln tau) / (1 + i 2 pi f tau) d ln tau

(the series capacitor C, for ion-blocking electrodes, on request) with gamma expanded on Gaussian radial basis functions centred on a log-spaced
grid of tau (the discretisation of DRTtools / pyDRTtools: Wan et al.,
Electrochim. Acta 184 (2015) 483; shape factor from the "FWHM coefficient").
The coefficients minimise ``||W (A x - Z)||^2 + lambda x^T M x`` where M is the
integral of the squared first or second derivative of gamma (Saccoccio et al.,
Electrochim. Acta 147 (2014) 470), optionally with gamma >= 0. Lambda is chosen
by generalised cross-validation (GCV) or at the corner of the L-curve
(Hansen & O'Leary 1993), both evaluated on the unconstrained problem.

Implementation notes (what makes it fast): the RBF integrals depend only on
``ln(omega tau)`` and are tabulated once per spectrum by Gauss-Hermite
quadrature and interpolated; the penalty matrix has a closed form; GCV and the
L-curve come from one SVD of the standard-form problem for every lambda at once;
the non-negative problem is one NNLS solve of the stacked system.

Peaks: maxima of gamma, each owning the area between the neighbouring minima.
Because overlapping arcs share area at the minimum between them, the peaks'
resistances, time constants and dispersions are refined by a complex
non-linear least-squares fit of ``R_inf + i omega L + sum of ZARC`` elements
started at the peaks and shoulders (issue 11), with 1, 2, ... elements while
the Bayesian information criterion improves. The refinement is kept only when
it fits the data about as well as the DRT itself; each peak states which one it
reports (``zarc_fit`` or ``drt_area``).

Peaks outside the data (issue 16): a peak whose tau lies more than half a decade beyond
the measured range ``1/(2 pi f_max)..1/(2 pi f_min)`` is not a resolved process but the
flank of one the spectrum does not reach (a solid electrolyte's bulk arc at tens of MHz,
a blocking electrode's spike). Such peaks are listed apart (``outside_measured_range``);
above the range their resistance is part of ``r_inf``, below it their DRT area stays in
``r_pol``. When the fastest refined element could sit beyond the range with a fit as good
(chi-square within 4), it is moved there: the data do not place it inside.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.linalg import cholesky
from scipy.optimize import least_squares, nnls
from scipy.signal import find_peaks

from labkit._threads import on_one_blas_thread
from labkit.eis._spectra import Spectrum, as_spectrum, iter_spectra

DataUsed = Literal["combined", "real", "imaginary"]
LambdaMethod = Literal["gcv", "lcurve"]

#: Full width at half maximum of a Gaussian RBF exp(-(eps x)^2), times eps.
_GAUSSIAN_FWHM = 2.0 * math.sqrt(math.log(2.0))
_HERMITE_NODES, _HERMITE_WEIGHTS = np.polynomial.hermite.hermgauss(32)
#: Decades by which the measured tau range is widened before a peak counts as outside it.
RESOLVED_MARGIN_DECADES = 0.5
#: Increase of chi-square up to which a fit with the fastest process above the measured
#: range is as good as one with it inside (about two standard deviations of one parameter).
UNRESOLVED_CHI_SQUARE = 4.0
#: The lambda range searched by GCV and the L-curve, in log10 of the largest
#: squared singular value of the standard-form problem (so it follows the data's scale).
_LOG10_LAMBDA_RANGE = (-15.0, 1.0)


@dataclass(frozen=True)
class DrtPeak:
    """One relaxation process found in the DRT.

    Attributes
    ----------
    tau_second
        Characteristic time constant.
    resistance_ohm
        Resistance of the process (its own arc, after refinement when ``method``
        is ``"zarc_fit"``; the DRT area between the neighbouring minima otherwise).
    capacitance_farad
        Effective capacitance ``tau / R``.
    frequency_hertz
        Characteristic frequency ``1 / (2 pi tau)``.
    dispersion
        ZARC exponent n (1 = ideal RC) from the refinement; ``None`` without it.
    drt_area_ohm
        Area of gamma between the minima on either side of the peak.
    method
        ``"zarc_fit"`` or ``"drt_area"``: where the resistance and tau come from.
    """

    tau_second: float
    resistance_ohm: float
    capacitance_farad: float
    frequency_hertz: float
    dispersion: float | None
    drt_area_ohm: float
    method: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (keys as in the ``labkit eis drt`` output)."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, eq=False)
class DrtResult:
    """The DRT of one spectrum.

    Attributes
    ----------
    tau_second, gamma_ohm
        gamma(ln tau) on a fine log-spaced grid (Ohm per unit of ln tau).
    r_inf_ohm
        Resistance above the measured range: what Re Z tends to at frequencies above
        the highest one measured. It is the series resistance plus the resistance of
        every process relaxing faster than the measured range (the peaks of
        ``outside_measured_range`` with tau below ``resolved_tau_range_second[0]``): for
        a solid electrolyte whose bulk arc relaxes above f_max it includes the bulk
        resistance. Without such a peak it is the DRT's series resistance; with one, the
        series resistance of the model the peaks come from (the ZARC refinement's, or the
        DRT's) plus those peaks' resistances.
    inductance_henry
        Series inductance (0 when not fitted).
    r_pol_ohm
        Polarisation resistance: the DRT's total resistance (its series resistance plus
        the integral of gamma over ln tau) minus ``r_inf_ohm``. It holds the processes
        resolved in the measured range and the DRT's area of those relaxing slower than
        it (peaks of ``outside_measured_range`` with tau above
        ``resolved_tau_range_second[1]``): the part of them the spectrum reaches. A slow
        peak's refined ``resistance_ohm`` extrapolates beyond the data (for a blocking
        electrode, towards infinity) and is not added.
    lambda_value, lambda_method
        Regularisation strength and how it was chosen (``gcv``, ``lcurve``, ``given``).
    data_used
        ``combined``, ``real`` or ``imaginary``.
    non_negative
        Whether gamma was constrained to be >= 0.
    peaks
        The relaxation processes resolved in the measured range, by increasing tau: tau
        within ``resolved_tau_range_second``.
    outside_measured_range
        Peaks whose tau lies outside ``resolved_tau_range_second``, by increasing tau:
        not resolved processes but the flank of one beyond the data (their resistance is
        counted in ``r_inf_ohm`` above the range; below it, their DRT area is in
        ``r_pol_ohm``).
    resolved_tau_range_second
        ``(low, high)``: the measured range ``1/(2 pi f_max)..1/(2 pi f_min)`` widened by
        half a decade on each side (:func:`resolved_tau_range`).
    frequency_hertz, z_fit_ohm
        The spectrum's frequencies and the impedance the DRT reproduces there.
    residual_rms_percent
        RMS of the residuals in % of |Z| (real and imaginary parts pooled).
    series_capacitance_farad
        Series capacitance (blocking electrodes) when fitted, else ``None``.
    """

    tau_second: np.ndarray
    gamma_ohm: np.ndarray
    r_inf_ohm: float
    inductance_henry: float
    r_pol_ohm: float
    lambda_value: float
    lambda_method: str
    data_used: str
    non_negative: bool
    peaks: tuple[DrtPeak, ...]
    outside_measured_range: tuple[DrtPeak, ...]
    resolved_tau_range_second: tuple[float, float]
    frequency_hertz: np.ndarray
    z_fit_ohm: np.ndarray
    residual_rms_percent: float
    series_capacitance_farad: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary with the keys of ``labkit eis drt --json``.

        Each entry of ``outside_measured_range`` is a peak's dictionary with ``side``:
        ``"above"`` (faster than the highest frequency measured; in ``r_inf_ohm``) or
        ``"below"`` (slower than the lowest; its DRT area in ``r_pol_ohm``).
        """
        low, high = self.resolved_tau_range_second
        return {
            "peaks": [peak.to_dict() for peak in self.peaks],
            "outside_measured_range": [
                {**peak.to_dict(), "side": "above" if peak.tau_second < low else "below"}
                for peak in self.outside_measured_range],
            "resolved_tau_range_second": {"low": low, "high": high},
            "r_inf_ohm": self.r_inf_ohm,
            "inductance_henry": self.inductance_henry,
            "series_capacitance_farad": self.series_capacitance_farad,
            "r_pol_ohm": self.r_pol_ohm,
            "lambda": self.lambda_value,
            "lambda_method": self.lambda_method,
            "data_used": self.data_used,
            "non_negative": self.non_negative,
            "residual_rms_percent": self.residual_rms_percent,
            "tau_second": self.tau_second.tolist(),
            "gamma_ohm": self.gamma_ohm.tolist(),
        }


# --------------------------------------------------------------------------- basis


def rbf_shape_factor(log_tau: np.ndarray, fwhm_coefficient: float = 0.5) -> float:
    """Gaussian shape factor eps so that the RBF's FWHM is the grid spacing / coefficient.

    As DRTtools' "FWHM coefficient" option: ``eps = coefficient * FWHM(eps=1) / mean spacing``
    with the spacing in ln tau.
    """
    spacing = float(np.mean(np.abs(np.diff(log_tau))))
    return fwhm_coefficient * _GAUSSIAN_FWHM / spacing


def rbf_impedance_matrices(
    frequency_hertz: np.ndarray, log_tau: np.ndarray, epsilon: float
) -> tuple[np.ndarray, np.ndarray]:
    """Real and imaginary impedance of each unit Gaussian RBF at each frequency.

    ``A_re[p, q] = integral exp(-(eps x)^2) / (1 + exp(2 (y + x))) dx`` and
    ``A_im[p, q] = -integral exp(-(eps x)^2) / (2 cosh(y + x)) dx`` with
    ``y = ln(omega_p tau_q)``. Both depend on y only: they are computed by 32-node
    Gauss-Hermite quadrature on a table of y (step 0.01; linear interpolation
    error about 1e-5 relative) and interpolated.
    """
    y = np.log(2.0 * np.pi * frequency_hertz)[:, None] + log_tau[None, :]
    table = np.arange(y.min() - 0.02, y.max() + 0.02, 0.01)
    # With t = exp(y + x): 1 / (1 + t^2) and t / (1 + t^2) = 1 / (2 cosh(y + x)).
    t = np.exp(np.clip(table[:, None] + _HERMITE_NODES / epsilon, -300.0, 300.0))
    inverse = 1.0 / (1.0 + t * t)
    k_re = inverse @ _HERMITE_WEIGHTS / epsilon
    k_im = -(t * inverse) @ _HERMITE_WEIGHTS / epsilon
    return np.interp(y, table, k_re), np.interp(y, table, k_im)


def rbf_penalty_matrix(log_tau: np.ndarray, epsilon: float, order: int) -> np.ndarray:
    """Integral of the product of the RBFs' ``order``-th derivatives (closed form)."""
    a = epsilon * (log_tau[:, None] - log_tau[None, :])
    gauss = np.exp(-(a**2) / 2.0) * math.sqrt(math.pi / 2.0)
    if order == 1:
        return epsilon * (1.0 - a**2) * gauss
    if order == 2:
        return epsilon**3 * (3.0 - 6.0 * a**2 + a**4) * gauss
    raise ValueError(f"derivative order must be 1 or 2, not {order}")


def rbf_evaluate(
    coefficients: np.ndarray, log_tau_centres: np.ndarray, log_tau: np.ndarray, epsilon: float
) -> np.ndarray:
    """gamma at ``log_tau`` from the RBF coefficients."""
    basis = np.exp(-((epsilon * (log_tau[:, None] - log_tau_centres[None, :])) ** 2))
    return basis @ coefficients


def default_log_tau(frequency_hertz: np.ndarray) -> np.ndarray:
    """Collocation grid: ln tau from 1/(2 pi f_max) to 1/f_min, as dense as the data (>= 10/decade)."""
    decades = math.log10(frequency_hertz.max() / frequency_hertz.min())
    per_decade = max(10.0, (len(frequency_hertz) - 1) / max(decades, 1e-9))
    low = -math.log10(2.0 * math.pi * frequency_hertz.max())
    high = -math.log10(frequency_hertz.min())
    count = int(round((high - low) * per_decade)) + 1
    return np.log(10.0) * np.linspace(low, high, max(count, 5))


# --------------------------------------------------------------------------- solver


@dataclass(frozen=True, eq=False)
class _Problem:
    """The weighted linear system: rows = data, columns = [R_inf, L, RBF coefficients]."""

    matrix: np.ndarray
    target: np.ndarray
    penalty: np.ndarray  # on all columns (zeros for R_inf and L)
    n_extra: int  # number of leading unpenalised columns


def _build_problem(
    spectrum: Spectrum,
    log_tau: np.ndarray,
    epsilon: float,
    data_used: DataUsed,
    fit_inductance: bool,
    weighting: str,
    derivative_order: int,
    fit_capacitance: bool = False,
) -> tuple[_Problem, np.ndarray, np.ndarray, list[str]]:
    frequency, z = spectrum.frequency_hertz, spectrum.impedance_ohm
    a_re, a_im = rbf_impedance_matrices(frequency, log_tau, epsilon)
    omega = 2.0 * np.pi * frequency
    n = len(frequency)
    extra_names = ["r_inf"] if data_used != "imaginary" else []
    if fit_inductance and data_used != "real":
        extra_names.append("inductance")
    if fit_capacitance and data_used != "real":
        extra_names.append("elastance")  # 1 / C of a series capacitor
    real_columns = {"r_inf": np.ones(n), "inductance": np.zeros(n), "elastance": np.zeros(n)}
    imag_columns = {"r_inf": np.zeros(n), "inductance": omega, "elastance": -1.0 / omega}
    extra_re = np.column_stack([real_columns[e] for e in extra_names]) if extra_names else \
        np.zeros((n, 0))
    extra_im = np.column_stack([imag_columns[e] for e in extra_names]) if extra_names else \
        np.zeros((n, 0))
    if weighting == "modulus":
        weight = 1.0 / np.abs(z)
    elif weighting == "none":
        weight = np.ones(n)
    else:
        raise ValueError(f"weighting must be 'modulus' or 'none', not {weighting!r}")
    blocks, targets = [], []
    if data_used in ("combined", "real"):
        blocks.append(weight[:, None] * np.hstack([extra_re, a_re]))
        targets.append(weight * z.real)
    if data_used in ("combined", "imaginary"):
        blocks.append(weight[:, None] * np.hstack([extra_im, a_im]))
        targets.append(weight * z.imag)
    k = len(extra_names)
    penalty = np.zeros((k + len(log_tau),) * 2)
    penalty[k:, k:] = rbf_penalty_matrix(log_tau, epsilon, derivative_order)
    problem = _Problem(np.vstack(blocks), np.concatenate(targets), penalty, k)
    return problem, a_re, a_im, extra_names


@dataclass(frozen=True, eq=False)
class _StandardForm:
    """The ridge problem reduced to singular values, for every lambda at once.

    The unpenalised columns (R_inf, L) are projected out; with ``M = R^T R`` and
    ``y = R x`` the rest is ``min ||B y - c||^2 + lambda ||y||^2`` with
    ``B = U S V^T``, whose solution, residual and influence-matrix trace are
    closed-form in the filter factors ``s^2 / (s^2 + lambda)``.
    """

    singular: np.ndarray
    beta: np.ndarray  # U^T c
    outside: float  # ||c||^2 - ||beta||^2, the part no lambda can fit
    right: np.ndarray  # R^{-1} V
    n_rows: int
    n_extra: int

    @classmethod
    def of(cls, problem: _Problem) -> _StandardForm:
        k = problem.n_extra
        matrix, target = problem.matrix, problem.target
        if k:
            basis, _ = np.linalg.qr(matrix[:, :k])
            matrix = matrix[:, k:] - basis @ (basis.T @ matrix[:, k:])
            target = target - basis @ (basis.T @ target)
        else:
            matrix = matrix[:, k:]
        penalty = problem.penalty[k:, k:]
        root = cholesky(penalty + 1e-10 * np.trace(penalty) / len(penalty) * np.eye(len(penalty)))
        transformed = np.linalg.solve(root.T, matrix.T).T  # B = A R^{-1}
        u, singular, vt = np.linalg.svd(transformed, full_matrices=False)
        beta = u.T @ target
        return cls(singular, beta, float(target @ target - beta @ beta),
                   np.linalg.solve(root, vt.T), len(problem.target), k)

    def filters(self, lam: np.ndarray) -> np.ndarray:
        return self.singular**2 / (self.singular**2 + np.asarray(lam)[..., None])

    def gcv(self, lam: np.ndarray) -> np.ndarray:
        f = self.filters(lam)
        rss = ((1.0 - f) ** 2 * self.beta**2).sum(-1) + self.outside
        dof = self.n_rows - self.n_extra - f.sum(-1)
        return self.n_rows * rss / np.maximum(dof, 1e-12) ** 2

    def lcurve_terms(self, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        f = self.filters(lam)
        rss = ((1.0 - f) ** 2 * self.beta**2).sum(-1) + self.outside
        seminorm = ((f * self.beta / self.singular) ** 2).sum(-1)
        return rss, seminorm


def _lambda_grid(form: _StandardForm) -> np.ndarray:
    """log10 lambda candidates, relative to the largest squared singular value."""
    top = 2.0 * math.log10(float(form.singular.max()))
    return top + np.linspace(*_LOG10_LAMBDA_RANGE, 320)


def _lambda_by_gcv(form: _StandardForm) -> float:
    grid = _lambda_grid(form)
    return 10.0 ** float(grid[int(np.argmin(form.gcv(10.0**grid)))])


def _lambda_by_lcurve(form: _StandardForm) -> float:
    grid = _lambda_grid(form)
    rss, seminorm = form.lcurve_terms(10.0**grid)
    rho, eta = np.log(np.maximum(rss, 1e-300)), np.log(np.maximum(seminorm, 1e-300))
    d_rho, d_eta = np.gradient(rho, grid), np.gradient(eta, grid)
    dd_rho, dd_eta = np.gradient(d_rho, grid), np.gradient(d_eta, grid)
    curvature = (d_rho * dd_eta - dd_rho * d_eta) / np.maximum(
        (d_rho**2 + d_eta**2) ** 1.5, 1e-300)
    interior = slice(3, len(grid) - 3)
    return 10.0 ** float(grid[interior][int(np.argmax(curvature[interior]))])


def _ridge(problem: _Problem, form: _StandardForm, lam: float) -> np.ndarray:
    """Unconstrained solution [extras, coefficients] at one lambda."""
    k = problem.n_extra
    coefficients = form.right @ (form.filters(lam) * form.beta / form.singular)
    if not k:
        return coefficients
    rest = problem.target - problem.matrix[:, k:] @ coefficients
    extras, *_ = np.linalg.lstsq(problem.matrix[:, :k], rest, rcond=None)
    return np.concatenate([extras, coefficients])


def _solve(problem: _Problem, form: _StandardForm, lam: float, non_negative: bool
           ) -> np.ndarray:
    if not non_negative:
        return _ridge(problem, form, lam)
    k = problem.n_extra
    penalty = problem.penalty[k:, k:]
    root = cholesky(penalty + 1e-10 * np.trace(penalty) / len(penalty) * np.eye(len(penalty)))
    # Unpenalised R_inf / L columns may take either sign: split each into +/- parts.
    matrix = np.hstack([problem.matrix[:, :k], -problem.matrix[:, :k], problem.matrix[:, k:]])
    regular = np.hstack([np.zeros((len(root), 2 * k)), math.sqrt(lam) * root])
    stacked = np.vstack([matrix, regular])
    scale = np.linalg.norm(stacked, axis=0)
    scale[scale == 0] = 1.0
    solution, _ = nnls(stacked / scale, np.concatenate([problem.target, np.zeros(len(root))]),
                       maxiter=50 * stacked.shape[1])
    solution /= scale
    return np.concatenate([solution[:k] - solution[k:2 * k], solution[2 * k:]])


# --------------------------------------------------------------------------- peaks


def _zarc(omega: np.ndarray, resistance: np.ndarray, tau: np.ndarray, n: np.ndarray) -> np.ndarray:
    return (resistance[:, None] / (1.0 + (1j * omega[None, :] * tau[:, None]) ** n[:, None])).sum(0)


class _ZarcFit:
    """Complex least squares (Levenberg-Marquardt) of R_inf + i omega L + sum of ZARCs.

    Parameters are scaled: ``R_inf / s``, ``L omega_max / s``, ``ln(R / s)``, ``ln tau``
    and ``n`` in [0.3, 1], ``s = max |Z|``; trust-region reflective with bounds.
    """

    def __init__(self, spectrum: Spectrum, weight: np.ndarray,
                 tau_bounds: tuple[float, float]) -> None:
        self.omega = 2.0 * np.pi * spectrum.frequency_hertz
        self.log_omega = np.log(self.omega)
        self.z = spectrum.impedance_ohm
        self.weight = weight
        self.scale = float(np.max(np.abs(self.z)))
        self.log_tau_bounds = (math.log(tau_bounds[0]), math.log(tau_bounds[1]))

    def _unpack(self, p: np.ndarray, count: int):
        return (p[0] * self.scale, p[1] * self.scale / self.omega.max(),
                np.exp(p[2:2 + count]) * self.scale, np.exp(p[2 + count:2 + 2 * count]),
                p[2 + 2 * count:])

    def model(self, r_inf: float, inductance: float, resistance: np.ndarray, tau: np.ndarray,
              n: np.ndarray) -> np.ndarray:
        return r_inf + 1j * self.omega * inductance + _zarc(self.omega, resistance, tau, n)

    def fit(self, r_inf: float, inductance: float, resistance: np.ndarray, tau: np.ndarray,
            n: np.ndarray, bounded_fallback: bool = True, tau_upper: np.ndarray | None = None
            ) -> tuple[tuple[float, float, np.ndarray, np.ndarray, np.ndarray], float] | None:
        """Fitted (r_inf, L, R, tau, n) and the weighted residual sum of squares.

        ``tau_upper`` (per element, seconds) tightens the upper bound of tau; the fit is
        then the bounded trust-region one from the start.
        """
        count = len(tau)
        cache: dict[bytes, tuple] = {}

        def parts(p: np.ndarray) -> tuple:
            """Shared by residual and Jacobian, which the solver calls at the same point."""
            key = p.tobytes()
            if key not in cache:
                cache.clear()
                r0, ind, resistance, tau, n = self._unpack(p, count)
                phase = self.log_omega[None, :] + np.log(tau)[:, None] + 0.5j * np.pi
                u = np.exp(n[:, None] * phase)
                cache[key] = (r0, ind, n, phase, u, resistance[:, None] / (1.0 + u))
            return cache[key]

        def residual(p: np.ndarray) -> np.ndarray:
            r0, ind, _, _, _, element = parts(p)
            model = r0 + 1j * self.omega * ind + element.sum(axis=0)
            difference = self.weight * (model - self.z)
            return np.concatenate([difference.real, difference.imag])

        def jacobian(p: np.ndarray) -> np.ndarray:
            _, _, n, phase, u, element = parts(p)
            shared = -element * u / (1.0 + u)
            columns = np.vstack([
                np.full(len(self.omega), self.scale, dtype=complex),
                1j * self.omega * self.scale / self.omega.max(),
                element,
                shared * n[:, None],
                shared * phase,
            ]).T * self.weight[:, None]
            return np.vstack([columns.real, columns.imag])

        start = np.concatenate([
            [r_inf / self.scale, inductance * self.omega.max() / self.scale],
            np.log(np.maximum(resistance, 1e-6 * self.scale) / self.scale), np.log(tau), n])
        lower = np.concatenate([[-np.inf, -np.inf], np.full(count, -30.0),
                                np.full(count, self.log_tau_bounds[0]), np.full(count, 0.3)])
        log_tau_upper = np.full(count, self.log_tau_bounds[1])
        if tau_upper is not None:
            log_tau_upper = np.minimum(log_tau_upper, np.log(tau_upper))
        upper = np.concatenate([[np.inf, np.inf], np.full(count, 10.0), log_tau_upper,
                                np.full(count, 1.0)])
        start = np.clip(start, lower + 1e-6, upper - 1e-6)
        # Levenberg-Marquardt (MINPACK) first: fast. When it leaves the bounds (n up to
        # 1.05 is accepted as noise around an ideal RC) the bounded trust-region method
        # runs, unless ``bounded_fallback`` is off: a trial element that wants to leave
        # the bounds is not a real arc anyway; such trial fits also get fewer iterations
        # (an element the data need improves the fit quickly from its seed).
        tolerance = np.zeros_like(upper)
        tolerance[2 + 2 * count:] = 0.05
        methods = ("trf",) if tau_upper is not None else (
            ("lm", "trf") if bounded_fallback else ("lm",))
        for method in methods:
            try:
                with np.errstate(all="ignore"):  # trial steps may overflow; they are rejected
                    fit = least_squares(residual, start, jac=jacobian, x_scale="jac",
                                        method=method,
                                        max_nfev=(15 if bounded_fallback else 6) * len(start),
                                        bounds=(lower, upper) if method == "trf"
                                        else (-np.inf, np.inf))
            except (ValueError, np.linalg.LinAlgError):
                continue
            if (fit.status >= 0 and np.all(np.isfinite(fit.x))
                    and np.all(fit.x >= lower) and np.all(fit.x <= upper + tolerance)):
                break
        else:
            return None
        return self._unpack(fit.x, count), float(fit.fun @ fit.fun)


@dataclass(frozen=True, eq=False)
class _Refined:
    """A ZARC refinement: ``r_inf + i omega L + sum of ZARC(R, tau, n)`` and its weighted RSS."""

    r_inf: float
    inductance: float
    resistance: np.ndarray
    tau: np.ndarray
    n: np.ndarray
    rss: float


def _refine_peaks(fitter: _ZarcFit, r_inf: float, inductance: float, areas: np.ndarray,
                  taus: np.ndarray, dispersions: np.ndarray, maximum: int = 4
                  ) -> _Refined | None:
    """Fits with the 1, 2, ... largest candidates while the Bayesian information criterion
    ``BIC = N ln(RSS / N) + p ln N`` improves. A fit whose elements come within a factor 2 in
    tau of each other (one arc split in two) is not eligible. ``None`` when no fit
    succeeds.
    """
    order = np.argsort(-areas)[:maximum]
    points = 2 * len(fitter.z)
    best, best_score = None, math.inf
    for count in range(1, len(order) + 1):
        chosen = order[:count]
        trial = fitter.fit(r_inf, inductance, areas[chosen], taus[chosen], dispersions[chosen],
                           bounded_fallback=count == 1)
        if trial is None:
            continue
        (r0, ind, resistance, tau, n), rss = trial
        sorted_tau = np.sort(tau)
        if count > 1 and np.min(np.diff(np.log(sorted_tau))) < math.log(2.0):
            continue
        score = points * math.log(max(rss, 1e-300) / points) + (2 + 3 * count) * math.log(points)
        if score >= best_score:
            break
        best, best_score = _Refined(float(r0), float(ind), resistance, tau, n, rss), score
    return best


def _dispersion_from_peak(height: np.ndarray, area: np.ndarray) -> np.ndarray:
    """ZARC n with this peak height and area: gamma_max = R / (2 pi) cot((1 - n) pi / 2)."""
    ratio = np.maximum(area, 1e-300) / np.maximum(2.0 * np.pi * height, 1e-300)
    return np.clip(1.0 - 2.0 / np.pi * np.arctan(ratio), 0.5, 0.98)


def _shoulders(log_tau: np.ndarray, gamma: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    """Indices of shoulders: maxima of -gamma'' above 10 % of the top, > 0.4 decade from peaks."""
    curvature = -np.gradient(np.gradient(gamma, log_tau), log_tau)
    candidates, _ = find_peaks(curvature)
    keep = [c for c in candidates
            if gamma[c] > 0.1 * gamma.max() and curvature[c] > 0
            and np.all(np.abs(log_tau[c] - log_tau[peaks]) > 0.4 * math.log(10.0))]
    return np.array(keep, dtype=int)


def _find_peaks(
    log_tau: np.ndarray, gamma: np.ndarray, minimum_fraction: float, isolated: bool
) -> list[tuple[int, int, int, float, bool]]:
    """(start, peak, stop, sign, major) of the peaks of gamma and of its negative lobes.

    A peak counts when its prominence is at least ``minimum_fraction`` of the
    highest |gamma|, or (with ``isolated``, for gamma >= 0, whose zero stretches
    separate real features) when it stands on its own (prominence at least half
    its height) above 1e-4 of the highest: a small arc far from a large one, as a
    bulk arc next to a blocking-electrode feature, is still a peak (``major`` is
    False for those). Each sign is
    treated apart (gamma clipped at zero); a peak's region runs to the minima
    between it and its neighbours of the same sign.
    """
    top = float(np.max(np.abs(gamma)))
    regions = []
    if top <= 0:
        return regions
    for sign in (1.0, -1.0):
        part = np.maximum(sign * gamma, 0.0)
        indices, properties = find_peaks(np.concatenate([[0.0], part, [0.0]]), prominence=0.0)
        prominence = properties["prominences"]
        height = part[indices - 1]
        major = prominence >= minimum_fraction * top
        keep = major | (isolated & (prominence >= 0.5 * height) & (height >= 1e-4 * top))
        indices, major = indices[keep] - 1, major[keep]
        for i, peak in enumerate(indices):
            start = 0 if i == 0 else indices[i - 1] + int(np.argmin(part[indices[i - 1]:peak]))
            stop = (len(part) - 1 if i == len(indices) - 1
                    else peak + int(np.argmin(part[peak:indices[i + 1] + 1])))
            regions.append((start, int(peak), stop, sign, bool(major[i])))
    return sorted(regions, key=lambda r: r[1])


# --------------------------------------------------------------------------- API


@on_one_blas_thread
def drt(
    spectrum: Any,
    *,
    lambda_method: LambdaMethod = "gcv",
    lambda_value: float | None = None,
    data_used: DataUsed = "combined",
    non_negative: bool = True,
    fit_inductance: bool = True,
    fit_capacitance: bool = False,
    weighting: Literal["modulus", "none"] = "modulus",
    derivative_order: int = 2,
    fwhm_coefficient: float = 0.5,
    log_tau: np.ndarray | None = None,
    refine_peaks: bool = True,
    peak_prominence: float = 0.03,
) -> DrtResult:
    """The DRT of one spectrum, with its peaks.

    Parameters
    ----------
    spectrum
        ``(frequency_hertz, complex impedance)`` or the rows of one spectrum of an
        impedance record.
    lambda_method
        ``"gcv"`` (generalised cross-validation) or ``"lcurve"`` (L-curve corner);
        ignored when ``lambda_value`` is given.
    lambda_value
        A fixed regularisation strength.
    data_used
        Fit the real part, the imaginary part, or both (``"combined"``).
    non_negative
        Constrain gamma >= 0 (turn off for inductive loops, which give gamma < 0).
    fit_inductance
        Include a series inductance (not identifiable from the real part alone).
    fit_capacitance
        Include a series capacitance: the low-frequency spike of ion-blocking
        electrodes, which no DRT can represent (it is an infinite resistance).
        The peaks are then refined on the data minus that capacitor.
    weighting
        ``"modulus"`` (residuals relative to |Z|, right for noise proportional to
        |Z|) or ``"none"`` (absolute residuals, as pyDRTtools).
    derivative_order
        Order of the derivative of gamma penalised (1 or 2).
    fwhm_coefficient
        RBF width control (DRTtools' "FWHM coefficient").
    log_tau
        ln tau of the RBF centres; default :func:`default_log_tau`.
    refine_peaks
        Refine peak resistances and time constants by a ZARC fit seeded at the peaks.
    peak_prominence
        Minimum peak prominence as a fraction of the highest gamma.

    Raises
    ------
    AnalysisError
        When the spectrum has too few points for the requested fit.
    """
    if data_used not in ("combined", "real", "imaginary"):
        raise ValueError(f"data_used must be 'combined', 'real' or 'imaginary', not {data_used!r}")
    spec = as_spectrum(spectrum, minimum_points=4)
    centres = default_log_tau(spec.frequency_hertz) if log_tau is None else np.asarray(log_tau)
    epsilon = rbf_shape_factor(centres, fwhm_coefficient)
    problem, a_re, a_im, extra = _build_problem(spec, centres, epsilon, data_used,
                                                fit_inductance, weighting, derivative_order,
                                                fit_capacitance)
    form = _StandardForm.of(problem)
    if lambda_value is not None:
        lam, method = float(lambda_value), "given"
    elif lambda_method == "gcv":
        lam, method = _lambda_by_gcv(form), "gcv"
    elif lambda_method == "lcurve":
        lam, method = _lambda_by_lcurve(form), "lcurve"
    else:
        raise ValueError(f"lambda_method must be 'gcv' or 'lcurve', not {lambda_method!r}")
    solution = _solve(problem, form, lam, non_negative)
    values = dict(zip(extra, solution[:len(extra)], strict=True))
    coefficients = solution[len(extra):]
    z = spec.impedance_ohm
    omega = 2.0 * np.pi * spec.frequency_hertz
    z_drt = a_re @ coefficients + 1j * (a_im @ coefficients)
    inductance = float(values.get("inductance", 0.0))
    elastance = float(values.get("elastance", 0.0))
    z_drt = z_drt + 1j * omega * inductance - 1j * elastance / omega
    # Imaginary part only: R_inf is the mean real-part offset.
    r_inf = float(values.get("r_inf", np.mean(z.real - z_drt.real)))
    z_fit = z_drt + r_inf
    rms_percent = _rms_percent(z_fit, z)

    fine = np.linspace(centres.min(), centres.max(), 4 * len(centres) - 3)
    gamma = rbf_evaluate(coefficients, centres, fine, epsilon)
    area = float(coefficients.sum() * math.sqrt(math.pi) / epsilon)
    capacitor = -1j * elastance / omega
    found, series = _peaks(spec, capacitor, fine, gamma, r_inf, inductance, rms_percent,
                           weighting, refine_peaks, peak_prominence, non_negative)
    low, high = resolved_tau_range(spec.frequency_hertz)
    above = [p for p in found if p.tau_second < low]
    outside = tuple(p for p in found if not low <= p.tau_second <= high)
    peaks = tuple(p for p in found if low <= p.tau_second <= high)
    # The total resistance r_inf + r_pol stays the DRT's; the processes faster than the
    # measured range move from r_pol to r_inf, counted with the model that found them.
    high_frequency = series + sum(p.resistance_ohm for p in above) if above else r_inf
    capacitance = 1.0 / elastance if fit_capacitance and elastance > 0 else None
    return DrtResult(np.exp(fine), gamma, high_frequency, inductance,
                     r_inf + area - high_frequency, lam, method, data_used, non_negative, peaks,
                     outside, (low, high), spec.frequency_hertz, z_fit, rms_percent,
                     capacitance)


def resolved_tau_range(frequency_hertz: np.ndarray) -> tuple[float, float]:
    """``(low, high)`` time constants a DRT peak must lie between to count as resolved.

    The measured range ``1/(2 pi f_max)..1/(2 pi f_min)`` widened by
    :data:`RESOLVED_MARGIN_DECADES` on each side: a peak beyond it was placed by the
    regularisation or the ZARC refinement from the flank of a process the data do not
    cover (its tau and R are not determined, only their effect on the end of the spectrum).
    """
    margin = 10.0 ** RESOLVED_MARGIN_DECADES
    frequency = np.asarray(frequency_hertz, float)
    return (1.0 / (2.0 * math.pi * float(frequency.max())) / margin,
            margin / (2.0 * math.pi * float(frequency.min())))


def _peaks(
    spec: Spectrum,
    capacitor: np.ndarray,
    log_tau: np.ndarray,
    gamma: np.ndarray,
    r_inf: float,
    inductance: float,
    drt_rms_percent: float,
    weighting: str,
    refine: bool,
    prominence: float,
    non_negative: bool,
) -> tuple[tuple[DrtPeak, ...], float]:
    """The peaks by increasing tau, and the series resistance of the model they come from
    (the ZARC refinement's when it is kept, else the DRT's ``r_inf``)."""
    regions = _find_peaks(log_tau, gamma, prominence, isolated=non_negative)
    areas = np.array([sign * np.trapezoid(np.maximum(sign * gamma[a:b + 1], 0.0),
                                          log_tau[a:b + 1]) for a, _, b, sign, _ in regions])
    # A small isolated peak must carry a quarter of R_inf: smaller ones are noise blips.
    keep = [major or area >= 0.25 * max(r_inf, 0.0)
            for (_, _, _, _, major), area in zip(regions, areas, strict=True)]
    regions = [r for r, k in zip(regions, keep, strict=True) if k]
    areas = areas[np.array(keep, dtype=bool)] if len(areas) else areas
    if not regions:
        return (), r_inf
    series = r_inf
    taus = np.exp(log_tau[[p for _, p, _, _, _ in regions]])
    peaks = [
        DrtPeak(float(t), float(r), float(t / r) if r > 0 else float("nan"),
                float(1.0 / (2.0 * math.pi * t)), None, float(r), "drt_area")
        for t, r in zip(taus, areas, strict=True)
    ]
    if refine and np.all(areas > 0):  # ZARCs cannot represent negative (inductive) lobes
        modulus = np.abs(spec.impedance_ohm)
        weight = 1.0 / modulus if weighting == "modulus" else np.full(len(modulus),
                                                                      1.0 / modulus.max())
        bounds = (math.exp(log_tau.min()) / 10.0, math.exp(log_tau.max()) * 10.0)
        peak_index = np.array([p for _, p, _, _, _ in regions])
        shoulder = _shoulders(log_tau, gamma, peak_index)
        seeds_tau = np.concatenate([taus, np.exp(log_tau[shoulder])])
        seeds_r = np.concatenate([areas, gamma[shoulder] * 1.5])
        heights = np.concatenate([gamma[peak_index], gamma[shoulder]])
        # The ZARCs are fitted to the data minus the series capacitor (if any), with the
        # weights of the whole impedance; the check compares like with like.
        arcs_only = Spectrum(spec.frequency_hertz, spec.impedance_ohm - capacitor)
        fitter = _ZarcFit(arcs_only, weight, bounds)
        refined = _refine_peaks(fitter, r_inf, inductance, seeds_r, seeds_tau,
                                _dispersion_from_peak(heights, seeds_r))
        if refined is not None:
            refined = _fastest_unresolved(fitter, refined,
                                          resolved_tau_range(spec.frequency_hertz)[0])
            z_model = fitter.model(refined.r_inf, refined.inductance, refined.resistance,
                                   refined.tau, refined.n)
            if _rms_percent(z_model + capacitor, spec.impedance_ohm) <= (
                    1.5 * drt_rms_percent + 0.05):
                series = refined.r_inf
                peaks = [
                    DrtPeak(float(t), float(r), float(t / r), float(1.0 / (2.0 * math.pi * t)),
                            float(d), _area_near(t, taus, areas), "zarc_fit")
                    for t, r, d in zip(refined.tau, refined.resistance, refined.n, strict=True)
                ]
    return tuple(sorted(peaks, key=lambda p: p.tau_second)), series


def _fastest_unresolved(fitter: _ZarcFit, refined: _Refined, tau_low: float) -> _Refined:
    """The refinement with its fastest element moved above the measured range when the data
    cannot tell it is inside.

    The flank of a process faster than the highest frequency fixes little more than
    ``r_inf + R`` (the real part) and ``R tau`` (the imaginary part): a fit may park such a
    process just inside the resolved range (``tau_low``, :func:`resolved_tau_range`) as
    well as beyond it. When the fastest element lies within a decade above ``tau_low``, the
    fit is repeated with that element's tau bounded to at most ``tau_low / 2``
    (started with ``r_inf + R`` and ``R tau`` kept); if its chi-square is within
    :data:`UNRESOLVED_CHI_SQUARE` of the free fit's (chi-square = RSS / noise variance,
    the variance estimated from the free fit's RSS), the element is not resolved and
    the bounded fit is kept.
    """
    k = int(np.argmin(refined.tau))
    if not tau_low <= refined.tau[k] <= 10.0 * tau_low:
        return refined
    tau, resistance, n = refined.tau.copy(), refined.resistance.copy(), refined.n.copy()
    tau[k] = tau_low / 4.0
    resistance[k] = refined.resistance[k] * refined.tau[k] / tau[k]
    upper = np.full(len(tau), np.inf)
    upper[k] = tau_low / 2.0
    trial = fitter.fit(refined.r_inf + refined.resistance[k] - resistance[k],
                       refined.inductance, resistance, tau, n, tau_upper=upper)
    if trial is None:
        return refined
    (r0, inductance, resistance, tau, n), rss = trial
    dof = 2 * len(fitter.z) - 2 - 3 * len(tau)
    if (rss - refined.rss) / max(refined.rss / dof, 1e-300) > UNRESOLVED_CHI_SQUARE:
        return refined
    return _Refined(float(r0), float(inductance), resistance, tau, n, rss)


def _area_near(tau: float, peak_taus: np.ndarray, areas: np.ndarray) -> float:
    """The DRT area of the peak nearest in log tau."""
    return float(areas[int(np.argmin(np.abs(np.log(peak_taus / tau))))])


def drt_batch(spectra: Any | Iterable[Any], **options: Any) -> list[DrtResult]:
    """:func:`drt` of every spectrum of a record or iterable, with the same options."""
    return [drt(spectrum, **options) for spectrum in iter_spectra(spectra)]


def _rms_percent(model: np.ndarray, z: np.ndarray) -> float:
    """RMS of the real and imaginary residuals in % of |Z|."""
    relative = (model - z) / np.abs(z)
    return 100.0 * float(np.sqrt(np.mean(relative.real**2 + relative.imag**2) / 2.0))
