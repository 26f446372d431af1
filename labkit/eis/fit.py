"""Complex non-linear least-squares fitting of an equivalent circuit, without start values.

:func:`fit_circuit` fits real and imaginary parts together with modulus
(default), proportional or unit weighting. Positive parameters are fitted in
log space, parameters with two bounds through a sine map (the MINUIT/lmfit
transformation), so the Levenberg-Marquardt steps never leave the physical
range. Parameters can be fixed, bounded and shared (one value for several
elements), either through keyword arguments or an ``lmfit.Parameters`` object
(``vary``, ``min``, ``max``, ``expr`` naming another parameter).

Starting values come from :mod:`labkit.eis.guess`; a few alternative starts
are polished and the best kept (multi-start), and random restarts follow only
when the best fit is still clearly above the noise floor the data show. This
global search runs in :mod:`labkit.eis.vectorised` (a Levenberg-Marquardt with
MINPACK's parameter scaling and the circuit's analytic derivatives, one
spectrum here, many at once in a batch). The final local fit from the best
start is lmfit's (:mod:`labkit.eis.lmfit_polish`): values, standard errors,
correlations, χ², AIC and BIC are what ``lmfit.Minimizer.leastsq`` reports.
``engine="vectorised"`` skips the lmfit call and reports the same quantities
from the Jacobian at labkit's own optimum. :meth:`FitResult.to_lmfit` hands a
result over as ``lmfit.Parameters``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from labkit.eis.circuit import Circuit
from labkit.eis.elements import FrequencyGrid
from labkit.eis.guess import Features, initial_guesses
from labkit.errors import FitError
from labkit.uncertainty import Estimate, finite_or_none

WEIGHTINGS = ("modulus", "proportional", "unit")
#: Who runs the final local fit from the best global start: lmfit (``Minimizer.leastsq``
#: with the analytic Jacobian; the default) or labkit's vectorised Levenberg-Marquardt alone
#: (no per-spectrum lmfit call: the fastest for very large batches).
ENGINES = ("lmfit", "vectorised")

#: A fit is accepted without random restarts when its modulus-weighted RMS residual
#: is within this factor of the data's noise floor.
_GOOD_ENOUGH = 1.25
_RANDOM_RESTARTS = 8
_STALE_RESTARTS = 3
#: The message of a fit that converged to a point where the covariance is singular.
UNDETERMINED = "converged, but the parameters are not all determined (singular covariance)"


@dataclass(frozen=True)
class ParameterEstimate(Estimate):
    """A fitted parameter: an :class:`~labkit.uncertainty.Estimate` that knows whether it
    was fitted (``vary``) or held fixed."""

    vary: bool = True

    @property
    def determined(self) -> bool:
        """Whether the data determine the value: a fixed parameter, or a finite standard
        error no larger than the value. An undetermined value is never a result."""
        return not self.vary or (math.isfinite(self.value) and math.isfinite(self.stderr)
                                 and self.stderr <= abs(self.value))

    def to_dict(self) -> dict[str, float | bool | None]:
        """``{"value": .., "stderr": .., "determined": ..}`` as the CLI prints parameters."""
        return {"value": finite_or_none(self.value), "stderr": finite_or_none(self.stderr),
                "determined": self.determined}


@dataclass(frozen=True)
class FitResult:
    """The outcome of one circuit fit.

    Attributes
    ----------
    circuit
        The circuit string.
    parameters
        Name -> :class:`ParameterEstimate` in circuit order.
    correlation_matrix, varied
        Correlation matrix of the varied parameters and their names (also as the
        DataFrame :attr:`correlation`).
    chi_square, reduced_chi_square, aic, bic
        Weighted sum of squared residuals, divided by the degrees of freedom, and the
        information criteria as lmfit defines them (``n ln(χ²/n) + 2k`` / ``+ ln(n) k``).
    residuals
        Weighted residuals, real parts then imaginary parts.
    frequency_hertz, impedance, model
        Data and fitted impedance.
    weighting
        ``"modulus"``, ``"proportional"`` or ``"unit"``.
    success
        The optimiser converged to finite values with finite standard errors.
    message
        The optimiser's message, or why the fit is not a success.
    starts
        How many starting points were polished.
    """

    circuit: str
    parameters: Mapping[str, ParameterEstimate]
    correlation_matrix: np.ndarray = field(repr=False)
    varied: tuple[str, ...]
    chi_square: float
    reduced_chi_square: float
    aic: float
    bic: float
    residuals: np.ndarray = field(repr=False)
    frequency_hertz: np.ndarray = field(repr=False)
    impedance: np.ndarray = field(repr=False)
    model: np.ndarray = field(repr=False)
    weighting: str = "modulus"
    success: bool = True
    message: str = ""
    starts: int = 1

    def value(self, name: str) -> float:
        """Fitted value of one parameter."""
        return self.parameters[name].value

    def stderr(self, name: str) -> float:
        """Standard error of one parameter."""
        return self.parameters[name].stderr

    @property
    def values(self) -> dict[str, float]:
        """Name -> fitted value."""
        return {name: p.value for name, p in self.parameters.items()}

    @property
    def correlation(self) -> pd.DataFrame:
        """Correlation matrix of the varied parameters, names as index and columns."""
        return pd.DataFrame(self.correlation_matrix, index=list(self.varied),
                            columns=list(self.varied))

    def covariance(self) -> pd.DataFrame:
        """Covariance matrix of the varied parameters (from correlation and standard errors)."""
        names = list(self.correlation.index)
        stderr = np.array([self.parameters[n].stderr for n in names])
        return self.correlation * np.outer(stderr, stderr)

    def covariance_of(self, names: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """The varied ones among ``names`` and their covariance block (numpy, no pandas:
        derived quantities of many fits call this often)."""
        position = {name: i for i, name in enumerate(self.varied)}
        varied = [name for name in names if name in position]
        index = np.array([position[name] for name in varied], dtype=int)
        stderr = np.array([self.parameters[name].stderr for name in varied])
        block = self.correlation_matrix[np.ix_(index, index)] * np.outer(stderr, stderr)
        return varied, block

    def predict(self, frequency_hertz: np.ndarray) -> np.ndarray:
        """The fitted circuit's impedance at other frequencies."""
        return Circuit(self.circuit).impedance(self.values, frequency_hertz)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the keys of DESIGN.md, "Command line")."""
        return {
            "circuit": self.circuit,
            "parameters": {n: p.to_dict() for n, p in self.parameters.items()},
            "chi_square": self.chi_square,
            "reduced_chi_square": self.reduced_chi_square,
            "aic": self.aic,
            "bic": self.bic,
            "weighting": self.weighting,
            "points": int(self.frequency_hertz.size),
            "success": self.success,
            "message": self.message,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per parameter: value, stderr, relative error, unit, vary."""
        rows = [{"parameter": n, "value": p.value, "stderr": p.stderr,
                 "relative_stderr": p.stderr / abs(p.value) if p.value else math.nan,
                 "unit": p.unit, "vary": p.vary} for n, p in self.parameters.items()]
        return pd.DataFrame(rows).set_index("parameter")

    def to_lmfit(self):
        """The result as ``lmfit.Parameters`` (values, stderr, bounds of fixed parameters)."""
        import lmfit

        params = lmfit.Parameters()
        for name, p in self.parameters.items():
            params.add(name, value=p.value, vary=p.vary)
            params[name].stderr = p.stderr
        for name in self.correlation.index:
            params[name].correl = {o: float(self.correlation.loc[name, o])
                                   for o in self.correlation.columns if o != name}
        return params


# --- parameter handling -------------------------------------------------------------


@dataclass(frozen=True)
class Constraints:
    """Which parameters are fixed, bounded, shared, and any user start values."""

    fixed: Mapping[str, float] = field(default_factory=dict)
    bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    shared: Mapping[str, str] = field(default_factory=dict)
    initial: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_lmfit(cls, params) -> Constraints:
        """Read ``vary``/``min``/``max``/``expr`` (a plain parameter name) and values."""
        fixed, bounds, shared, initial = {}, {}, {}, {}
        for name, p in params.items():
            if p.expr:
                if not p.expr.strip().isidentifier():
                    raise FitError(f"parameter {name}: only expressions naming another "
                                   f"parameter (sharing) are supported, got {p.expr!r}")
                shared[name] = p.expr.strip()
            elif not p.vary:
                fixed[name] = float(p.value)
            else:
                if np.isfinite(p.min) or np.isfinite(p.max):
                    bounds[name] = (float(p.min), float(p.max))
                if p.value is not None and np.isfinite(p.value):
                    initial[name] = float(p.value)
        return cls(fixed, bounds, shared, initial)


class _Mapping:
    """Maps the optimiser's unbounded vector x to the circuit's parameter vector p."""

    def __init__(self, circuit: Circuit, constraints: Constraints) -> None:
        names = circuit.parameter_names
        known = set(names)
        for group in (constraints.fixed, constraints.bounds, constraints.shared,
                      constraints.initial):
            unknown = set(group) - known
            if unknown:
                raise FitError(f"circuit {circuit.text!r} has no parameters {sorted(unknown)}; "
                               f"it has {list(names)}")
        for name, source in constraints.shared.items():
            if source not in known or source in constraints.shared:
                raise FitError(f"parameter {name} is shared with {source!r}, which is not a "
                               "fitted parameter of the circuit")
        self.names = names
        self.locked = (set(constraints.fixed) | set(constraints.bounds) | set(constraints.shared)
                       | set(constraints.shared.values()))
        self.free = [n for n in names if n not in constraints.fixed
                     and n not in constraints.shared]
        index = {n: i for i, n in enumerate(names)}
        free_index = {n: k for k, n in enumerate(self.free)}
        self.base = np.zeros(len(names))
        for name, value in constraints.fixed.items():
            self.base[index[name]] = value
        self.matrix = np.zeros((len(names), len(self.free)))
        for name in names:
            source = constraints.shared.get(name, name)
            if source in free_index:
                self.matrix[index[name], free_index[source]] = 1.0
        self.free_full_index = np.array([index[n] for n in self.free], dtype=int)
        low = np.array([circuit.bounds[index[n]][0] for n in self.free])
        high = np.array([circuit.bounds[index[n]][1] for n in self.free])
        self.positive = (low == 0) & np.isinf(high)
        for k, name in enumerate(self.free):
            if name in constraints.bounds:
                user_low, user_high = constraints.bounds[name]
                low[k], high[k] = max(low[k], user_low), min(high[k], user_high)
                if low[k] >= high[k]:
                    raise FitError(f"parameter {name}: empty range [{low[k]}, {high[k]}]")
        self.low, self.high = low, high
        self.log = self.positive & np.isinf(high) & (low == 0)
        # Positive parameters with a user upper bound: sine map in log space.
        self.log_sine = self.positive & ~self.log & np.isfinite(high)
        self.log_low = np.where(self.log_sine, np.log(np.maximum(low, high * 1e-12)), 0.0)
        self.log_high = np.where(self.log_sine, np.log(np.where(np.isfinite(high), high, 1.0)),
                                 0.0)
        self.sine = ~self.log & ~self.log_sine & np.isfinite(low) & np.isfinite(high)
        self.lower_only = ~self.log & ~self.log_sine & ~self.sine & np.isfinite(low)
        # Which maps occur (free_values runs in the fits' inner loop: skip the empty ones).
        self._maps_used = (bool(self.log_sine.any()), bool(self.sine.any()),
                           bool(self.lower_only.any()))

    def to_x(self, p_free: np.ndarray) -> np.ndarray:
        """Optimiser coordinates of free parameter values (last axis = parameters)."""
        p = np.clip(p_free, self.low, self.high)
        x = p.copy()
        span = self.high - self.low
        with np.errstate(all="ignore"):
            x[..., self.log] = np.log(np.maximum(p[..., self.log], 1e-300))
            u = (np.log(np.maximum(p, 1e-300)) - self.log_low) / (self.log_high - self.log_low)
            x[..., self.log_sine] = np.arcsin(np.clip(2 * u[..., self.log_sine] - 1,
                                                      -0.999, 0.999))
            v = (p - self.low) / span
            x[..., self.sine] = np.arcsin(np.clip(2 * v[..., self.sine] - 1, -0.999, 0.999))
            x[..., self.lower_only] = np.log(np.maximum(
                p[..., self.lower_only] - self.low[self.lower_only], 1e-300))
        return x

    def free_values(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Free parameter values and their derivatives dp/dx (last axis = parameters)."""
        p = x.copy()
        d = np.ones_like(x)
        e = np.exp(x[..., self.log])
        p[..., self.log], d[..., self.log] = e, e
        log_sine, sine, lower_only = self._maps_used
        if log_sine:
            s = x[..., self.log_sine]
            width = (self.log_high - self.log_low)[self.log_sine]
            value = np.exp(self.log_low[self.log_sine] + width * (np.sin(s) + 1) / 2)
            p[..., self.log_sine], d[..., self.log_sine] = value, value * width * np.cos(s) / 2
        if sine:
            s = x[..., self.sine]
            span = (self.high - self.low)[self.sine]
            p[..., self.sine] = self.low[self.sine] + span * (np.sin(s) + 1) / 2
            d[..., self.sine] = span * np.cos(s) / 2
        if lower_only:
            e = np.exp(x[..., self.lower_only])
            p[..., self.lower_only] = self.low[self.lower_only] + e
            d[..., self.lower_only] = e
        return p, d

    def full(self, p_free: np.ndarray) -> np.ndarray:
        """All circuit parameters (fixed and shared filled in) from the free ones."""
        return self.base + p_free @ self.matrix.T


class _Problem:
    """One spectrum with its circuit, parameter mapping and residual weights."""

    def __init__(self, circuit: Circuit, mapping: _Mapping, frequency: np.ndarray,
                 z: np.ndarray, weighting: str) -> None:
        self.circuit, self.mapping = circuit, mapping
        self.grid = FrequencyGrid(frequency)
        self.z = z
        if weighting == "modulus":
            w_real = w_imag = 1.0 / np.abs(z)
        elif weighting == "proportional":
            floor = 1e-12 * np.abs(z).max()
            w_real = 1.0 / np.maximum(np.abs(z.real), floor)
            w_imag = 1.0 / np.maximum(np.abs(z.imag), floor)
        elif weighting == "unit":
            w_real = w_imag = np.ones(z.size)
        else:
            raise FitError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
        self.w_real, self.w_imag = w_real, w_imag

    def weighted(self, values: np.ndarray) -> np.ndarray:
        """Real parts then imaginary parts of ``values`` (points first: the model's
        difference from the data, or dZ/dp as points × parameters), times the weights."""
        shape = (-1,) + (1,) * (values.ndim - 1)
        return np.concatenate([values.real * self.w_real.reshape(shape),
                               values.imag * self.w_imag.reshape(shape)])

    def estimates(self, full: np.ndarray, stderr_free: np.ndarray
                  ) -> dict[str, ParameterEstimate]:
        """Every circuit parameter with its standard error (a shared one takes its
        source's, a fixed one 0), from the values and the free parameters' errors."""
        estimates = {}
        for i, name in enumerate(self.circuit.parameter_names):
            column = np.nonzero(self.mapping.matrix[i])[0]
            estimates[name] = ParameterEstimate(
                value=float(full[i]),
                stderr=float(stderr_free[column[0]]) if column.size else 0.0,
                unit=self.circuit.units[i], vary=name in self.mapping.free)
        return estimates


def check_choice(option: str, value: str, choices: tuple[str, ...]) -> None:
    """Raise a :class:`FitError` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise FitError(f"{option} must be one of {choices}, got {value!r}")


def fit_circuit(
    frequency_hertz: Sequence[float] | np.ndarray,
    impedance: Sequence[complex] | np.ndarray,
    circuit: str | Circuit,
    *,
    weighting: str = "modulus",
    fixed: Mapping[str, float] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    shared: Mapping[str, str] | None = None,
    initial: Mapping[str, float] | None = None,
    parameters=None,
    peaks: Sequence | None = None,
    starts: int = 5,
    restarts: int = _RANDOM_RESTARTS,
    seed: int = 0,
    engine: str = "lmfit",
) -> FitResult:
    """Fit ``circuit`` to one spectrum; no starting values needed.

    Parameters
    ----------
    frequency_hertz, impedance
        The spectrum (imaginary part as measured: capacitive arcs negative).
    circuit
        impedance.py-style string (``"R0-p(R1,CPE1)-p(R2,CPE2)-CPE3"``) or a :class:`Circuit`.
    weighting
        ``"modulus"`` (default, 1/|Z|), ``"proportional"`` (1/|Z'| and 1/|Z''|) or ``"unit"``.
    fixed
        Parameters held at a value, ``{"R0": 10.0}``.
    bounds
        ``{"CPE1_1": (0.7, 1.0)}``; positive parameters stay positive anyway.
    shared
        ``{"CPE2_1": "CPE1_1"}``: CPE2_1 takes CPE1_1's value.
    initial
        Optional start values; they are tried first, automatic starts after them.
    parameters
        An ``lmfit.Parameters`` giving all of the above at once (overrides them).
    peaks
        Arcs from a DRT analysis to seed the guess: ``labkit.eis.drt``'s
        ``DrtResult.peaks`` or :class:`labkit.eis.guess.Arc` objects.
    starts
        Most starting points (user values, then automatic guesses) polished.
    restarts
        Most random restarts around the best fit when it stays above the noise floor
        (0 = none, e.g. to polish only the user's start values).
    seed
        Seed of the random restarts (results are reproducible).
    engine
        ``"lmfit"`` (default): lmfit's ``leastsq`` polishes the best start and its values,
        standard errors, correlations and statistics are reported; ``"vectorised"``:
        labkit's own Levenberg-Marquardt result is final (same optimum, no lmfit call).

    Raises
    ------
    FitError
        On an unknown parameter, an empty bound, too few points or non-finite data.
    """
    from labkit.eis.vectorised import fit_spectra_together

    circuit = circuit if isinstance(circuit, Circuit) else Circuit(circuit)
    spectrum = checked_spectrum(frequency_hertz, impedance)
    constraints = constraints_from(fixed, bounds, shared, initial, parameters)
    return fit_spectra_together([spectrum], circuit, constraints=constraints,
                                weighting=weighting, peaks=peaks, starts=starts,
                                restarts=restarts, seed=seed, engine=engine)[0]


def constraints_from(fixed: Mapping[str, float] | None = None,
                     bounds: Mapping[str, tuple[float, float]] | None = None,
                     shared: Mapping[str, str] | None = None,
                     initial: Mapping[str, float] | None = None,
                     parameters=None) -> Constraints:
    """The :class:`Constraints` of :func:`fit_circuit`'s keyword arguments."""
    if parameters is not None:
        return Constraints.from_lmfit(parameters)
    return Constraints(fixed or {}, bounds or {}, shared or {}, initial or {})


def checked_spectrum(frequency_hertz, impedance) -> tuple[np.ndarray, np.ndarray]:
    """The spectrum as float/complex arrays.

    Raises
    ------
    FitError
        When the shapes differ or a point is non-finite or zero.
    """
    frequency = np.asarray(frequency_hertz, dtype=float)
    z = np.asarray(impedance, dtype=complex)
    if frequency.shape != z.shape or frequency.ndim != 1:
        raise FitError("frequency and impedance must be 1-D arrays of the same length")
    good = np.isfinite(frequency) & np.isfinite(z) & (frequency > 0) & (np.abs(z) > 0)
    if not good.all():
        raise FitError(f"{int((~good).sum())} points have non-finite or zero frequency or "
                       "impedance; drop them before fitting")
    return frequency, z


def _starting_vectors(circuit: Circuit, features: Features, constraints: Constraints,
                      limit: int | None = None) -> list[np.ndarray]:
    guesses = initial_guesses(circuit, features, limit)
    index = {n: i for i, n in enumerate(circuit.parameter_names)}
    if constraints.initial:
        user = guesses[0].copy()
        for name, value in constraints.initial.items():
            user[index[name]] = value
        guesses.insert(0, user)
    for g in guesses:
        for name, value in constraints.fixed.items():
            g[index[name]] = value
    return guesses


def _result(problem: _Problem, x: np.ndarray, chi_square: float, converged: bool,
            message: str, weighting: str, starts: int) -> FitResult:
    mapping, circuit = problem.mapping, problem.circuit
    p_free, _ = mapping.free_values(x)
    full = mapping.full(p_free)
    n_points = 2 * problem.z.size
    n_free = len(mapping.free)
    dof = max(n_points - n_free, 1)
    reduced = chi_square / dof
    stderr_free = np.full(n_free, np.nan)
    correlation = np.full((n_free, n_free), np.nan)
    model, derivative = circuit.evaluate(full, problem.grid, jacobian=True)
    residuals = problem.weighted(model - problem.z)
    if n_free:
        jac = problem.weighted((mapping.matrix.T @ derivative).T)
        try:
            covariance = np.linalg.inv(jac.T @ jac) * reduced
            variances = np.diag(covariance)
            if np.all(variances > 0):
                stderr_free = np.sqrt(variances)
                correlation = covariance / np.outer(stderr_free, stderr_free)
        except np.linalg.LinAlgError:
            pass
    parameters = problem.estimates(full, stderr_free)
    finite = np.isfinite(full).all() and np.isfinite(chi_square)
    success = bool(converged and finite and np.isfinite(stderr_free).all())
    if not success and converged:
        message = UNDETERMINED
    with np.errstate(divide="ignore"):
        log_term = n_points * math.log(chi_square / n_points) if chi_square > 0 else -math.inf
    return FitResult(
        circuit=circuit.text, parameters=parameters,
        correlation_matrix=correlation, varied=tuple(mapping.free),
        chi_square=float(chi_square), reduced_chi_square=float(reduced),
        aic=float(log_term + 2 * n_free), bic=float(log_term + math.log(n_points) * n_free),
        residuals=residuals, frequency_hertz=problem.grid.frequency_hertz,
        impedance=problem.z, model=model, weighting=weighting, success=success,
        message=message, starts=starts)
