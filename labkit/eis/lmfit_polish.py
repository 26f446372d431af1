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

import lmfit
import numpy as np

from labkit.eis.fit import UNDETERMINED, FitResult, _Problem, _result


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
        residual = problem.weighted(z - problem.z)
        return np.where(np.isfinite(residual), residual, 1e10)

    def jacobian(self, params: lmfit.Parameters) -> np.ndarray:
        problem = self.problem
        full = problem.mapping.full(self.free_values(params))
        _, derivative = problem.circuit.evaluate(full, problem.grid, jacobian=True)
        jac = problem.weighted((self.free_matrix @ derivative).T)  # points × free
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
    if not mapping.free:  # nothing for lmfit to vary
        residuals = objective.residual(params)
        return _result(problem, x, float(residuals @ residuals), True,
                       "every parameter is fixed", weighting, starts)
    start = objective.residual(params)
    start_cost = float(start @ start)
    outcome = lmfit.Minimizer(objective.residual, params).least_squares(
        jac=objective.jacobian, x_scale="jac")
    if not outcome.chisqr <= start_cost * (1 + 1e-9):
        # A polish must not lose the optimum it started from (seen: a start with R0 at
        # 1e-6 Ω, near its bound, sent a good two-arc fit to one with 1000x the χ²).
        return _result(problem, x, start_cost, True, f"lmfit's polish ended above its start "
                       f"(χ² {outcome.chisqr:.4g} > {start_cost:.4g}): the start is kept",
                       weighting, starts)
    params = outcome.params
    full = mapping.full(objective.free_values(params))
    names = list(params)
    stderr_free = np.array([np.nan if params[n].stderr is None else params[n].stderr
                            for n in names], dtype=float)
    correlation = np.full((len(names), len(names)), np.nan)
    if outcome.errorbars:
        correlation = np.array([[1.0 if a == b else (params[a].correl or {}).get(b, np.nan)
                                 for b in names] for a in names])
    determined = bool(outcome.errorbars) and bool(np.isfinite(stderr_free).all())
    message = outcome.message
    if outcome.success and not determined:
        message = UNDETERMINED
    model, _ = circuit.evaluate(full, problem.grid, jacobian=False)
    return FitResult(
        circuit=circuit.text, parameters=problem.estimates(full, stderr_free),
        correlation_matrix=correlation, varied=tuple(mapping.free),
        chi_square=float(outcome.chisqr), reduced_chi_square=float(outcome.redchi),
        aic=float(outcome.aic), bic=float(outcome.bic),
        residuals=objective.residual(params), frequency_hertz=problem.grid.frequency_hertz,
        impedance=problem.z, model=model, weighting=weighting,
        success=bool(outcome.success and determined and np.isfinite(full).all()),
        message=message, starts=starts)
