"""The final local fit of a circuit, done by lmfit.

The global part of a fit (automatic guesses, warm starts, multi-start and
random restarts, many spectra at once) runs in :mod:`labkit.eis.vectorised`,
with positive parameters in log space so that its steps span decades. The best
start it finds is handed to ``lmfit.Minimizer.least_squares`` (scipy's
trust-region reflective solver, bounds handled natively) with the circuit's
analytic Jacobian, and the reported values, standard errors, correlations, χ²,
reduced χ², AIC and BIC are lmfit's.

lmfit sees one parameter per *free* circuit parameter (fixed ones are held out,
a shared one follows its source), in physical units with the element's bounds
and the user's. This last step starts at an optimum, so the parametrisation no
longer matters for convergence, but it decides the covariance: in physical
units a parameter the data cannot see (R0 of a pellet of tens of kΩ, driven to
0) keeps a finite standard error (``0 ± 600 Ω``), where in log space its
covariance would be singular and every standard error lost.
"""

from __future__ import annotations

import math

import lmfit
import numpy as np

from labkit.eis.fit import FitResult, ParameterEstimate, _Problem


def _lmfit_parameters(problem: _Problem, x: np.ndarray) -> lmfit.Parameters:
    """lmfit parameters of the free circuit parameters, started at optimiser coordinates x."""
    mapping = problem.mapping
    p_free, _ = mapping.free_values(x)
    params = lmfit.Parameters()
    for k, name in enumerate(mapping.free):
        value = float(np.clip(p_free[k], mapping.low[k], mapping.high[k]))
        params.add(name, value=value, min=mapping.low[k], max=mapping.high[k])
    return params


class _Objective:
    """Weighted residuals and their Jacobian as functions of lmfit parameters."""

    def __init__(self, problem: _Problem) -> None:
        self.problem = problem
        self.free_matrix = problem.mapping.matrix.T.astype(complex)

    @staticmethod
    def free_values(params: lmfit.Parameters) -> np.ndarray:
        return np.array([p.value for p in params.values()])

    def residual(self, params: lmfit.Parameters) -> np.ndarray:
        problem = self.problem
        full = problem.mapping.full(self.free_values(params))
        z, _ = problem.circuit.evaluate(full, problem.grid, jacobian=False)
        difference = z - problem.z
        residual = np.concatenate([difference.real * problem.w_real,
                                   difference.imag * problem.w_imag])
        return np.where(np.isfinite(residual), residual, 1e10)

    def jacobian(self, params: lmfit.Parameters) -> np.ndarray:
        problem = self.problem
        full = problem.mapping.full(self.free_values(params))
        _, derivative = problem.circuit.evaluate(full, problem.grid, jacobian=True)
        free = (self.free_matrix @ derivative).T  # points × free parameters
        jac = np.vstack([free.real * problem.w_real[:, None],
                         free.imag * problem.w_imag[:, None]])
        return np.where(np.isfinite(jac), jac, 0.0)


def polish_with_lmfit(problem: _Problem, x: np.ndarray, weighting: str,
                      starts: int) -> FitResult:
    """Fit ``problem`` with lmfit from optimiser coordinates ``x`` (the best global start).

    Parameters
    ----------
    problem
        The spectrum, circuit, parameter mapping and weights.
    x
        Start in the mapping's optimiser coordinates.
    weighting
        Recorded in the result.
    starts
        How many starting points the global search polished (recorded in the result).
    """
    mapping, circuit = problem.mapping, problem.circuit
    objective = _Objective(problem)
    params = _lmfit_parameters(problem, x)
    if mapping.free:
        minimizer = lmfit.Minimizer(objective.residual, params)
        outcome = minimizer.least_squares(jac=objective.jacobian, x_scale="jac")
        params, success, message = outcome.params, bool(outcome.success), outcome.message
        errorbars = bool(outcome.errorbars)
        statistics = (outcome.chisqr, outcome.redchi, outcome.aic, outcome.bic)
    else:
        success, message, errorbars = True, "every parameter is fixed", True
        statistics = None
    p_free = objective.free_values(params)
    full = mapping.full(p_free)
    lmfit_names = list(params)
    stderr_free = np.array([params[n].stderr if params[n].stderr is not None else np.nan
                            for n in lmfit_names], dtype=float)
    correlation = np.eye(len(lmfit_names))
    for i, a in enumerate(lmfit_names):
        for j, b in enumerate(lmfit_names):
            if i != j:
                correlation[i, j] = (params[a].correl or {}).get(b, np.nan)
    if not errorbars:
        correlation[:] = np.nan
    residuals = objective.residual(params)
    model, _ = circuit.evaluate(full, problem.grid, jacobian=False)
    if statistics is None:  # nothing varied: lmfit's statistics of a fit without variables
        chi_square = float(residuals @ residuals)
        with np.errstate(divide="ignore"):
            log_term = residuals.size * math.log(chi_square / residuals.size) \
                if chi_square > 0 else -math.inf
        statistics = (chi_square, chi_square / residuals.size, log_term, log_term)
    parameters = {}
    for i, name in enumerate(circuit.parameter_names):
        column = np.nonzero(mapping.matrix[i])[0]
        stderr = float(stderr_free[column[0]]) if column.size else 0.0
        parameters[name] = ParameterEstimate(value=float(full[i]), stderr=stderr,
                                             unit=circuit.units[i], vary=name in mapping.free)
    determined = errorbars and bool(np.isfinite(stderr_free).all())
    if success and not determined:
        message = "converged, but the parameters are not all determined (singular covariance)"
    chi_square, reduced, aic, bic = (float(v) for v in statistics)
    return FitResult(
        circuit=circuit.text, parameters=parameters, correlation_matrix=correlation,
        varied=tuple(mapping.free), chi_square=chi_square, reduced_chi_square=reduced,
        aic=aic, bic=bic,
        residuals=residuals, frequency_hertz=problem.grid.frequency_hertz,
        impedance=problem.z, model=model, weighting=weighting,
        success=bool(success and determined and np.isfinite(full).all()),
        message=message, starts=starts)
