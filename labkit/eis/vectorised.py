"""Levenberg-Marquardt over many spectra at once: the fast path of batch fitting.

Fitting spectra one by one spends most of its time in Python and numpy call
overhead on arrays of a few dozen points. Here every spectrum of a batch with
the same number of points is one row of 2-D arrays: the circuit is evaluated
for all of them in one pass (the element functions broadcast), the normal
equations are built with one batched matrix product and solved with one
batched ``numpy.linalg.solve``, and each spectrum keeps its own damping and stops on
its own. The strategy is the one of :func:`labkit.eis.fit.fit_circuit`, in
rounds over the spectra that still need it: the automatic guess, then the
neighbours' solutions (warm start across a series), then the alternative
guesses, then random restarts, until the fit reaches the data's noise floor.
Results are ordinary :class:`~labkit.eis.fit.FitResult` objects.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from labkit._threads import on_one_blas_thread
from labkit.eis.circuit import Circuit
from labkit.eis.elements import FrequencyGrid
from labkit.eis.fit import (
    _GOOD_ENOUGH,
    _RANDOM_RESTARTS,
    _STALE_RESTARTS,
    ENGINES,
    Constraints,
    FitResult,
    _Mapping,
    _Problem,
    _result,
    _starting_vectors,
    check_choice,
)
from labkit.eis.guess import Arc, canonical_arc_order, spectrum_features
from labkit.eis.lmfit_polish import polish_with_lmfit
from labkit.errors import FitError

_MAX_ITERATIONS = 200
_MAX_STEP = 2.0
_FTOL = 1e-6
#: Converged also when this many accepted steps together gained less than this (relative).
_STAGNATION_STEPS = 10
_STAGNATION_GAIN = 1e-3
#: Spread (in the log coordinates of the fit) of the random jumps tried together in each
#: restart round around the best fit so far.
_RESTART_SCALES = np.array([0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 10.0])


class _Batch:
    """Residuals and Jacobians of many same-length spectra as 2-D arrays."""

    def __init__(self, circuit: Circuit, mapping: _Mapping, frequency: np.ndarray,
                 z: np.ndarray, weighting: str) -> None:
        self.circuit, self.mapping = circuit, mapping
        self.frequency, self.z = frequency, z
        matrix = mapping.matrix
        self.all_free = matrix.shape[0] == matrix.shape[1] and \
            np.array_equal(matrix, np.eye(matrix.shape[0]))
        if weighting == "modulus":
            self.w_real = self.w_imag = 1.0 / np.abs(z)
        elif weighting == "proportional":
            floor = 1e-12 * np.abs(z).max(axis=1, keepdims=True)
            self.w_real = 1.0 / np.maximum(np.abs(z.real), floor)
            self.w_imag = 1.0 / np.maximum(np.abs(z.imag), floor)
        elif weighting == "unit":
            self.w_real = self.w_imag = np.ones(z.shape)
        else:
            raise FitError(f"weighting must be 'modulus', 'proportional' or 'unit', "
                           f"got {weighting!r}")

    def _impedance(self, x: np.ndarray, rows: np.ndarray, jacobian: bool):
        """Model impedance (spectra × points), dZ/dx (spectra × points × free parameters)."""
        p_free, dp_dx = self.mapping.free_values(x)
        full = self.mapping.full(p_free)
        grid = FrequencyGrid(self.frequency[rows])
        z, derivative = self.circuit.evaluate(full.T[:, :, None], grid, jacobian)
        if not jacobian:
            return z, None
        # Shared parameters add up; the chain rule through the transform.
        free = derivative.transpose(1, 2, 0)
        if not self.all_free:
            free = free @ self.mapping.matrix.astype(complex)
        return z, free * dp_dx[:, None, :]

    def evaluate(self, x: np.ndarray, rows: np.ndarray, jacobian: bool):
        """Weighted residuals (spectra × 2 points) and, when asked, their Jacobian."""
        z, derivative = self._impedance(x, rows, jacobian)
        difference = z - self.z[rows]
        w_real, w_imag = self.w_real[rows], self.w_imag[rows]
        residual = np.concatenate([difference.real * w_real, difference.imag * w_imag], axis=1)
        residual = np.where(np.isfinite(residual), residual, 1e10)
        if not jacobian:
            return residual, None
        jac = np.concatenate([derivative.real * w_real[:, :, None],
                              derivative.imag * w_imag[:, :, None]], axis=1)
        return residual, np.where(np.isfinite(jac), jac, 0.0)

    def modulus_rms(self, x: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """RMS modulus-weighted residual per real value (comparable to the noise floor)."""
        z, _ = self._impedance(x, rows, False)
        r = (z - self.z[rows]) / np.abs(self.z[rows])
        rms = np.sqrt(np.mean(r.real**2 + r.imag**2, axis=1) / 2)
        return np.where(np.isfinite(rms), rms, np.inf)

    def levenberg_marquardt(self, x0: np.ndarray, rows: np.ndarray
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Polish every row's start; returns x, chi-square and whether each converged."""
        x = x0.copy()
        residual, jac = self.evaluate(x, rows, True)
        cost = np.sum(residual**2, axis=1)
        if x.shape[1] == 0:  # everything fixed: nothing to polish
            return x, cost, np.ones(len(rows), dtype=bool)
        damping = np.full(len(rows), 1e-3)
        active = np.ones(len(rows), dtype=bool)
        converged = np.zeros(len(rows), dtype=bool)
        n = x.shape[1]
        eye = np.eye(n)
        # MINPACK's scaling: the damping of each parameter follows the largest curvature it
        # has shown, so a parameter whose effect fades is not let loose.
        scale = np.zeros_like(x)
        slow = np.zeros(len(rows), dtype=int)
        # Stagnation along a flat valley (two parameters trading off, e.g. R0 and an arc
        # above the measured range): every step gains a little more than ftol, forever.
        anchor_cost, anchor_steps = cost.copy(), np.zeros(len(rows), dtype=int)
        for _ in range(_MAX_ITERATIONS):
            a = np.nonzero(active)[0]
            if a.size == 0:
                break
            j = jac[a]
            j_transposed = j.transpose(0, 2, 1)
            normal = j_transposed @ j
            gradient = (j_transposed @ residual[a][:, :, None])[:, :, 0]
            scale[a] = np.maximum(scale[a], np.einsum("sff->sf", normal))
            diagonal = np.maximum(scale[a], 1e-12 * scale[a].max(axis=1, keepdims=True)
                                  + 1e-300)
            system = normal + (damping[a, None] * diagonal)[:, :, None] * eye
            try:
                step = np.linalg.solve(system, -gradient[:, :, None])[:, :, 0]
            except np.linalg.LinAlgError:
                # One row's singular system must not stall the others: least squares
                # row by row (the singular one gets its minimum-norm step).
                step = np.stack([np.linalg.lstsq(m, -g, rcond=None)[0]
                                 for m, g in zip(system, gradient, strict=True)])
            step = np.where(np.isfinite(step), step, 0.0)
            # A trust limit: at most a factor e^2 per step in log space (a parameter whose
            # effect vanishes must not jump to 1e-300, where its derivative dies).
            largest = np.max(np.abs(step), axis=1, keepdims=True)
            step = step * np.minimum(1.0, _MAX_STEP / np.maximum(largest, 1e-300))
            trial = x[a] + step
            trial_residual, trial_jac = self.evaluate(trial, rows[a], True)
            trial_cost = np.sum(trial_residual**2, axis=1)
            better = trial_cost < cost[a]
            improved = a[better]
            gain = (cost[improved] - trial_cost[better]) / np.maximum(cost[improved], 1e-300)
            x[improved] = trial[better]
            residual[improved] = trial_residual[better]
            jac[improved] = trial_jac[better]
            cost[improved] = trial_cost[better]
            damping[improved] = np.maximum(damping[improved] * 0.3, 1e-12)
            damping[a[~better]] *= 5.0
            small_step = np.max(np.abs(step[better]), axis=1, initial=0.0) < 1e-9 \
                if better.any() else np.zeros(0, bool)
            # Converged: three accepted steps in a row that gain (relatively) almost
            # nothing, as MINPACK's ftol, or a vanishing step.
            slow[improved] = np.where(gain < _FTOL, slow[improved] + 1, 0)
            anchor_steps[improved] += 1
            due = improved[anchor_steps[improved] >= _STAGNATION_STEPS]
            stagnant = due[(anchor_cost[due] - cost[due])
                           < _STAGNATION_GAIN * np.maximum(cost[due], 1e-300)]
            anchor_cost[due], anchor_steps[due] = cost[due], 0
            done = np.union1d(improved[(slow[improved] >= 3) | small_step], stagnant)
            stuck = a[~better][damping[a[~better]] > 1e10]
            converged[done] = True
            converged[stuck] = True
            active[done] = False
            active[stuck] = False
        return x, cost, converged


@on_one_blas_thread
def fit_spectra_together(
    spectra: Sequence[tuple[np.ndarray, np.ndarray]],
    circuit: str | Circuit,
    *,
    constraints: Constraints | None = None,
    weighting: str = "modulus",
    peaks: list[Arc] | None = None,
    starts: int = 5,
    restarts: int = _RANDOM_RESTARTS,
    seed: int = 0,
    warm_start: bool = True,
    engine: str = "lmfit",
    good_enough: float = _GOOD_ENOUGH,
) -> list[FitResult]:
    """Fit one circuit to many checked spectra at once (see the module doc).

    Parameters
    ----------
    spectra
        ``(frequency_hertz, impedance)`` pairs, already checked
        (:func:`labkit.eis.fit.checked_spectrum`), in series order.
    circuit
        Circuit string or :class:`Circuit`.
    constraints
        Fixed, bounded and shared parameters and start values, the same for every spectrum.
    weighting, peaks, starts, restarts, seed, engine
        As for :func:`labkit.eis.fit.fit_circuit`.
    warm_start
        Let a spectrum the first guess did not settle start from a settled neighbour.
    good_enough
        A fit within this factor of the data's noise floor (RMS modulus-weighted residual)
        is settled: no further starts. 0 polishes every automatic start (what a comparison
        of models needs: a local optimum at the noise level can still be the wrong one).
        Random restarts and warm starts always go by the usual bar (1.25).

    Raises
    ------
    FitError
        On an unknown parameter, an empty bound, a bad weighting or engine, or too few
        points.
    """
    check_choice("engine", engine, ENGINES)
    circuit = circuit if isinstance(circuit, Circuit) else Circuit(circuit)
    constraints = constraints or Constraints()
    mapping = _Mapping(circuit, constraints)
    results: list[FitResult | None] = [None] * len(spectra)
    by_length: dict[int, list[int]] = {}
    for index, (frequency, _) in enumerate(spectra):
        by_length.setdefault(frequency.size, []).append(index)
    for length, members in by_length.items():
        if 2 * length < len(mapping.free):
            raise FitError(f"{length} points cannot determine {len(mapping.free)} parameters")
        group = [spectra[i] for i in members]
        with np.errstate(all="ignore"):
            fitted = _fit_group(circuit, mapping, constraints, group, weighting, peaks,
                                starts, restarts, seed, warm_start, engine, good_enough)
        for index, result in zip(members, fitted, strict=True):
            results[index] = result
    return results


def _fit_group(circuit: Circuit, mapping: _Mapping, constraints: Constraints, group,
               weighting: str, peaks: list[Arc] | None, starts: int, restarts: int,
               seed: int, warm_start: bool, engine: str,
               good_enough: float) -> list[FitResult]:
    frequency = np.vstack([f for f, _ in group])
    z = np.vstack([impedance for _, impedance in group])
    batch = _Batch(circuit, mapping, frequency, z, weighting)
    count = len(group)
    features = [spectrum_features(f, impedance, peaks) for f, impedance in group]
    guesses = [_starting_vectors(circuit, feature, constraints, limit=1)
               for feature in features]
    # Noise-free data: a relative residual of 1e-8 is as good as it gets in practice.
    floor = np.array([f.noise_floor for f in features])
    target = np.maximum(good_enough * floor, 1e-8)
    # A neighbour is a warm start once it reaches the usual bar, whatever ``good_enough``.
    settled_bar = np.maximum(_GOOD_ENOUGH * floor, 1e-8)
    free = mapping.free_full_index
    best_x = np.zeros((count, len(mapping.free)))
    best_cost = np.full(count, np.inf)
    best_ok = np.zeros(count, dtype=bool)
    rms = np.full(count, np.inf)
    tried = np.zeros(count, dtype=int)

    def polish(rows: np.ndarray, x0: np.ndarray) -> None:
        """Polish ``x0`` (one start per row, or rows × starts × parameters); keep the best."""
        per_row = 1 if x0.ndim == 2 else x0.shape[1]
        n_free = x0.shape[-1]  # may be 0: every parameter fixed
        x, cost, ok = batch.levenberg_marquardt(x0.reshape(rows.size * per_row, n_free),
                                                np.repeat(rows, per_row))
        x = x.reshape(rows.size, per_row, n_free)
        cost, ok = cost.reshape(rows.size, per_row), ok.reshape(rows.size, per_row)
        lowest = np.argmin(cost, axis=1)
        pick = np.arange(rows.size)
        x, cost, ok = x[pick, lowest], cost[pick, lowest], ok[pick, lowest]
        tried[rows] += per_row
        better = cost < best_cost[rows] * (1 - 1e-6)
        chosen = rows[better]
        best_x[chosen], best_cost[chosen], best_ok[chosen] = x[better], cost[better], ok[better]
        rms[rows] = batch.modulus_rms(best_x[rows], rows)

    def pending(candidates: np.ndarray) -> np.ndarray:
        return candidates[rms[candidates] > target[candidates]]

    everyone = np.arange(count)
    polish(everyone, np.array([mapping.to_x(g[0][free]) for g in guesses]))
    # Warm start: a spectrum the guess did not settle starts from a settled neighbour.
    for offset in (-1, 1) if warm_start else ():
        rows = pending(everyone)
        neighbour = rows + offset
        usable = (neighbour >= 0) & (neighbour < count)
        rows, neighbour = rows[usable], neighbour[usable]
        settled = rms[neighbour] <= settled_bar[neighbour]
        if settled.any():
            polish(rows[settled], best_x[neighbour[settled]])
    for i in pending(everyone):
        guesses[i] = _starting_vectors(circuit, features[i], constraints)
    if good_enough <= 0:
        # Every start is polished anyway: all of a spectrum's starts in one LM run (rows
        # grouped by their number of starts), not one run per start.
        by_count: dict[int, list[int]] = {}
        for i in pending(everyone):
            by_count.setdefault(min(len(guesses[i]), max(starts, 1)), []).append(i)
        for n_starts, members in by_count.items():
            if n_starts > 1:
                polish(np.array(members), np.array([[mapping.to_x(g[free])
                                                     for g in guesses[i][1:n_starts]]
                                                    for i in members]))
    else:
        for k in range(1, max(starts, 1)):
            rows = np.array([i for i in pending(everyone) if k < len(guesses[i])], dtype=int)
            if rows.size:
                polish(rows, np.array([mapping.to_x(guesses[i][k][free]) for i in rows]))
    rng = np.random.default_rng(seed)
    stale = np.zeros(count, dtype=int)
    for _ in range(restarts):
        # Random restarts only where the best fit is still above the noise floor.
        rows = everyone[rms > settled_bar]
        rows = rows[stale[rows] < _STALE_RESTARTS]
        if rows.size == 0:
            break
        before = best_cost[rows].copy()
        # Several jumps of different reach at once: one LM run for all of them.
        jumps = rng.normal(0.0, 1.0, size=(rows.size, _RESTART_SCALES.size, best_x.shape[1]))
        polish(rows, best_x[rows][:, None, :] + jumps * _RESTART_SCALES[:, None])
        stale[rows] = np.where(best_cost[rows] < before, 0, stale[rows] + 1)
    results = []
    for i, (f, impedance) in enumerate(group):
        problem = _Problem(circuit, mapping, f, impedance, weighting)
        p_free, _ = mapping.free_values(best_x[i])
        ordered = canonical_arc_order(circuit, mapping.full(p_free), mapping.locked)
        x = mapping.to_x(ordered[free])
        if engine == "lmfit":
            results.append(polish_with_lmfit(problem, x, weighting, int(tried[i])))
            continue
        message = "converged" if best_ok[i] else "iteration limit reached"
        results.append(_result(problem, x, float(best_cost[i]), bool(best_ok[i]), message,
                               weighting, int(tried[i])))
    return results
