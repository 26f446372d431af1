"""Effective ionic conductivity and tortuosity of a composite electrode (blocking transmission line).

Under blocking conditions (no charge transfer: a composite electrode held where its active
material does not react, or built with an ion-blocking one) the ions move through the
electrode's electrolyte network and charge the interface capacitance along the way: the
electrode is a transmission line with the ionic resistance R_ion across its thickness and
the interface as a constant phase element (Q, α) (Ogihara et al., J. Electrochem. Soc. 159,
A1034 (2012); Landesfeind et al., J. Electrochem. Soc. 163, A1373 (2016))::

    Z(ω) = R_s + sqrt(R_ion Z_Q) coth(sqrt(R_ion / Z_Q)),   Z_Q = 1 / (Q (jω)^α)

fitted as ``R0-TLMQ1`` (R0 = R_s, the separator and contacts in series; no start values
needed, those read from the data below are tried first). From R_ion, the electrode's
thickness L and area A, the electrolyte's own conductivity σ_SE and its volume fraction
ε in the electrode::

    σ_eff = L / (R_ion A)           effective ionic conductivity
    N_M   = σ_SE / σ_eff            MacMullin number
    τ     = ε σ_SE / σ_eff = ε N_M  tortuosity factor

Every formula is a product of powers, so the relative standard errors (R_ion's from the
fit; σ_SE's, ε's and the geometry's as stated) add in quadrature.

**Low-frequency signature.** As ω → 0 the line tends to ``R_s + R_ion/3 + Z_Q``: a
straight line in the Nyquist plane (at the angle απ/2) whose real-axis intercept is
``R_s + R_ion/3`` (within R_ion/225 once ``|Z_Q| ≥ 5 R_ion``). :class:`LowFrequencyCheck`
fits a straight line (Z' against −Z'') to the points just inside that regime (5-50 R_ion by
the fit's Q and α, at least five; there |Z|, and so the noise, is smallest), compares its
intercept with the fit's ``R_s + R_ion/3``, and with the high-frequency intercept (Z' at
the highest frequency, ≈ R_s) gives ``R_ion = 3 (intercept − R_s)`` from the two
intercepts alone. When fewer than five points reach the regime, the check says so (the
spectrum must go to lower frequencies) and its line uses the lowest-frequency points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from typing import Any

import numpy as np

from labkit.data import ImpedanceRecord
from labkit.eis._spectra import as_spectrum
from labkit.eis.circuit import Circuit, Leaf, Series
from labkit.eis.fit import FitResult, fit_circuit
from labkit.errors import FitError, LabkitError, MetadataError, SchemaError
from labkit.uncertainty import Estimate

TLM_CIRCUIT = "R0-TLMQ1"
FORMULAS = {
    "effective_conductivity": "sigma_eff = L / (R_ion A)",
    "macmullin_number": "N_M = sigma_SE / sigma_eff",
    "tortuosity_factor": "tau = epsilon sigma_SE / sigma_eff",
    "low_frequency_intercept": "Z'(omega -> 0) = R_s + R_ion / 3 (+ Z_Q)",
}
#: Points (fraction of the spectrum, at least 5) that make the low-frequency line.
_LOW_FREQUENCY_FRACTION = 0.12
#: |Z_Q| / R_ion from which the line's intercept is R_s + R_ion/3 within R_ion/225.
_CAPACITIVE_REGIME = 5.0
#: The check's line uses the points up to this many times that ratio (at least _LINE_POINTS).
_BAND_TOP = 10.0
_LINE_POINTS = 5


@dataclass(frozen=True)
class LowFrequencyCheck:
    """The ``R_s + R_ion/3`` intercept of the low-frequency line, from the data and the fit.

    Attributes
    ----------
    intercept_ohm
        Real-axis intercept of a straight line through the lowest-frequency points.
    expected_ohm
        ``R_s + R_ion/3`` of the fit.
    ionic_resistance_ohm
        ``3 (intercept − Z'(f_max))``: R_ion from the two intercepts alone.
    relative_difference
        ``(intercept − expected) / expected``.
    points
        How many points make the line.
    in_regime
        Whether those points are capacitive enough (``|Z_Q| ≥ 5 R_ion`` by the fit).
    agrees
        In the regime, and the two intercepts within three combined standard errors or 2 %.
    """

    intercept_ohm: Estimate
    expected_ohm: Estimate
    ionic_resistance_ohm: Estimate
    relative_difference: float
    points: int
    in_regime: bool
    agrees: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"intercept_ohm": self.intercept_ohm.to_dict(),
                "expected_ohm": self.expected_ohm.to_dict(),
                "ionic_resistance_ohm": self.ionic_resistance_ohm.to_dict(),
                "relative_difference": self.relative_difference, "points": self.points,
                "in_regime": self.in_regime, "agrees": self.agrees,
                "formula": FORMULAS["low_frequency_intercept"]}


@dataclass(frozen=True, eq=False)
class TortuosityResult:
    """Ionic resistance, effective conductivity, MacMullin number and tortuosity of one spectrum.

    Attributes
    ----------
    file, spectrum
        Where the spectrum came from (``None`` for arrays).
    ionic_resistance_ohm, series_resistance_ohm
        R_ion and R_s with their standard errors from the fit.
    interface_q, interface_alpha
        The line's CPE.
    effective_conductivity_siemens_per_centimeter
        σ_eff = L / (R_ion A).
    macmullin_number, tortuosity_factor
        ``None`` without σ_SE (and, for τ, ε).
    low_frequency_check
        The R_ion/3 signature against the fit.
    inputs
        Geometry, σ_SE and ε used.
    notes
        What could not be computed and why.
    fit
        The circuit fit.
    """

    file: str | None
    spectrum: int | None
    ionic_resistance_ohm: Estimate
    series_resistance_ohm: Estimate
    interface_q: Estimate
    interface_alpha: Estimate
    effective_conductivity_siemens_per_centimeter: Estimate
    macmullin_number: Estimate | None
    tortuosity_factor: Estimate | None
    low_frequency_check: LowFrequencyCheck
    inputs: dict[str, Any]
    notes: tuple[str, ...]
    fit: FitResult

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the keys of ``labkit eis tortuosity --json``)."""
        def optional(value: Estimate | None) -> dict[str, Any] | None:
            return None if value is None else value.to_dict()

        return {
            "file": self.file, "spectrum": self.spectrum, "circuit": self.fit.circuit,
            "ionic_resistance_ohm": self.ionic_resistance_ohm.to_dict(),
            "series_resistance_ohm": self.series_resistance_ohm.to_dict(),
            "interface_cpe": {"q": self.interface_q.to_dict(),
                              "alpha": self.interface_alpha.to_dict()},
            "effective_conductivity_siemens_per_centimeter":
                self.effective_conductivity_siemens_per_centimeter.to_dict(),
            "macmullin_number": optional(self.macmullin_number),
            "tortuosity_factor": optional(self.tortuosity_factor),
            "low_frequency_check": self.low_frequency_check.to_dict(),
            "inputs": self.inputs, "formulas": dict(FORMULAS), "notes": list(self.notes),
            "fit": self.fit.to_dict(),
        }


@dataclass(frozen=True)
class TortuosityFailure:
    """A spectrum (or file) that gave no result, with the error as the CLI prints it."""

    file: str | None
    spectrum: int | None
    error: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """``{"file", "spectrum", "error": {...}}``."""
        return {"file": self.file, "spectrum": self.spectrum, "error": self.error}


def _as_estimate(value: float | Estimate | None) -> Estimate | None:
    if value is None or isinstance(value, Estimate):
        return value
    return Estimate(float(value), 0.0)


def _product(value: float, *factors: tuple[Estimate, float]) -> Estimate:
    """``value`` = Π x_i^p_i with the relative errors of the x_i added in quadrature."""
    relative = math.sqrt(sum((p * e.stderr / e.value) ** 2 for e, p in factors
                             if math.isfinite(e.stderr) and e.value))
    return Estimate(value, abs(value) * relative)


def _roles(circuit: Circuit) -> tuple[Leaf, list[str]]:
    """The transmission line of the circuit and its top-level series resistors."""
    top = circuit.root.children if isinstance(circuit.root, Series) else (circuit.root,)
    lines = [n for n in top if isinstance(n, Leaf) and n.element.symbol == "TLMQ"]
    if not lines:
        raise FitError(f"circuit {circuit.text!r} has no transmission line (TLMQ) in series; "
                       f"use {TLM_CIRCUIT!r}")
    series = [n.label for n in top if isinstance(n, Leaf) and n.element.symbol == "R"]
    return lines[0], series


def _line_through(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Intercept, its standard error and slope of the least-squares line y = a + b x."""
    design = np.column_stack([np.ones_like(x), x])
    coefficients, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ coefficients
    dof = max(x.size - 2, 1)
    covariance = float(residual @ residual) / dof * np.linalg.inv(design.T @ design)
    return float(coefficients[0]), math.sqrt(max(covariance[0, 0], 0.0)), float(coefficients[1])


def _low_frequency_points(frequency: np.ndarray) -> np.ndarray:
    count = max(5, int(round(_LOW_FREQUENCY_FRACTION * frequency.size)))
    return np.argsort(frequency)[:count]


def _starting_values(frequency: np.ndarray, z: np.ndarray, line: Leaf, series: list[str]
                     ) -> dict[str, float]:
    """R_s, R_ion, Q and α read from the spectrum's two intercepts and its low-frequency tail."""
    low = _low_frequency_points(frequency)
    intercept, _, _ = _line_through(-z.imag[low], z.real[low])
    r_s = max(float(z.real[np.argmax(frequency)]), 1e-12)
    r_ion = 3.0 * (intercept - r_s)
    if not r_ion > 0:
        return {}
    lowest = low[:2]
    slope = np.diff(np.log(np.abs(z.imag[lowest]))) / np.diff(np.log(frequency[lowest]))
    alpha = float(np.clip(-slope[0], 0.5, 1.0)) if np.isfinite(slope[0]) else 0.9
    omega = 2 * np.pi * frequency[low[0]]
    q = math.sin(alpha * math.pi / 2) / (abs(z.imag[low[0]]) * omega ** alpha)
    names = line.parameter_names
    start = {names[0]: r_ion, names[1]: q, names[2]: alpha}
    if series:
        start[series[0]] = r_s
    return start


def _check(frequency: np.ndarray, z: np.ndarray, fit: FitResult, line: Leaf,
           series: list[str], r_s: Estimate, r_ion: Estimate) -> LowFrequencyCheck:
    q, alpha = fit.value(line.parameter_names[1]), fit.value(line.parameter_names[2])
    ratio = 1.0 / (q * (2 * np.pi * frequency) ** alpha) / r_ion.value  # |Z_Q| / R_ion
    # the points just inside the capacitive regime: the approximation holds there and |Z|,
    # hence the noise, is smallest; too few such points: the five least capacitive ones
    inside = np.flatnonzero(ratio >= _CAPACITIVE_REGIME)
    band = inside[ratio[inside] <= _BAND_TOP * _CAPACITIVE_REGIME]
    if band.size < _LINE_POINTS:
        band = inside[np.argsort(ratio[inside])[:_LINE_POINTS]]
    in_regime = band.size >= _LINE_POINTS
    if not in_regime:
        band = _low_frequency_points(frequency)
    intercept, intercept_error, _ = _line_through(-z.imag[band], z.real[band])
    covariance = fit.covariance()
    names = [*series, line.parameter_names[0]]
    weights = np.array([1.0] * len(series) + [1.0 / 3.0])
    varied = [n for n in names if n in covariance.index]
    variance = 0.0
    if varied:
        w = np.array([weights[names.index(n)] for n in varied])
        variance = float(w @ covariance.loc[varied, varied].to_numpy() @ w)
    expected = Estimate(r_s.value + r_ion.value / 3.0, math.sqrt(max(variance, 0.0)), "ohm")
    difference = intercept - expected.value
    combined = math.hypot(intercept_error, expected.stderr)
    agrees = in_regime and (abs(difference) <= 3 * combined
                            or abs(difference) <= 0.02 * expected.value)
    high = float(z.real[np.argmax(frequency)])
    return LowFrequencyCheck(
        Estimate(intercept, intercept_error, "ohm"), expected,
        Estimate(3.0 * (intercept - high), 3.0 * intercept_error, "ohm"),
        float(difference / expected.value), int(band.size), bool(in_regime), bool(agrees))


def fit_tortuosity(
    spectrum: Any,
    *,
    area_square_centimeter: float,
    thickness_centimeter: float,
    sigma_electrolyte_siemens_per_centimeter: float | Estimate | None = None,
    volume_fraction: float | Estimate | None = None,
    area_tolerance_square_centimeter: float = 0.0,
    thickness_tolerance_centimeter: float = 0.0,
    circuit: str = TLM_CIRCUIT,
    file: str | None = None,
    spectrum_index: int | None = None,
) -> TortuosityResult:
    """Fit the blocking transmission line to one spectrum and derive σ_eff, N_M and τ.

    Parameters
    ----------
    spectrum
        ``(frequency_hertz, impedance)`` or the rows of one spectrum of an impedance record.
    area_square_centimeter, thickness_centimeter
        The composite electrode's area and thickness L.
    sigma_electrolyte_siemens_per_centimeter
        Conductivity of the electrolyte itself (a number or an :class:`Estimate`), for N_M
        and τ.
    volume_fraction
        The electrolyte's volume fraction ε in the electrode, for τ.
    area_tolerance_square_centimeter, thickness_tolerance_centimeter
        Standard uncertainty of the geometry.
    circuit
        A circuit with a ``TLMQ`` element in series (default ``R0-TLMQ1``).
    file, spectrum_index
        Where the spectrum came from, for the result.

    Raises
    ------
    MetadataError
        On a non-positive geometry, σ_SE or ε outside (0, 1].
    FitError
        When the fit fails or does not converge.
    """
    for name, value in (("area", area_square_centimeter), ("thickness", thickness_centimeter)):
        if not (value is not None and math.isfinite(value) and value > 0):
            raise MetadataError(f"the electrode {name} must be a positive number, got {value}",
                                file=file)
    sigma = _as_estimate(sigma_electrolyte_siemens_per_centimeter)
    fraction = _as_estimate(volume_fraction)
    if sigma is not None and not sigma.value > 0:
        raise MetadataError(f"the electrolyte conductivity must be positive, got {sigma.value}",
                            file=file)
    if fraction is not None and not 0 < fraction.value <= 1:
        raise MetadataError(f"the volume fraction must lie in (0, 1], got {fraction.value}",
                            file=file)
    data = as_spectrum(spectrum, minimum_points=8)
    frequency, z = data.frequency_hertz, data.impedance_ohm
    parsed = Circuit(circuit)
    line, series = _roles(parsed)
    fit = fit_circuit(frequency, z, parsed, initial=_starting_values(frequency, z, line, series))
    if not fit.success:
        raise FitError(f"the fit of {circuit} did not succeed: {fit.message}", file=file,
                       position=None if spectrum_index is None else f"spectrum {spectrum_index}")
    r_ion_name, q_name, alpha_name = line.parameter_names
    r_ion = Estimate(fit.value(r_ion_name), fit.stderr(r_ion_name), "ohm")
    r_s = Estimate(sum(fit.value(n) for n in series),
                   math.sqrt(sum(fit.stderr(n) ** 2 for n in series)), "ohm")
    area = Estimate(area_square_centimeter, area_tolerance_square_centimeter)
    thickness = Estimate(thickness_centimeter, thickness_tolerance_centimeter)
    sigma_eff = _product(thickness.value / (r_ion.value * area.value),
                         (thickness, 1), (r_ion, -1), (area, -1))
    sigma_eff = Estimate(sigma_eff.value, sigma_eff.stderr, "S/cm",
                         {"formula": FORMULAS["effective_conductivity"]})
    notes = []
    macmullin = tortuosity = None
    if sigma is None:
        notes.append("MacMullin number and tortuosity factor need the electrolyte's own "
                     "conductivity (sigma_electrolyte_siemens_per_centimeter, --sigma-electrolyte)")
    else:
        macmullin = _product(sigma.value / sigma_eff.value, (sigma, 1), (sigma_eff, -1))
        if fraction is None:
            notes.append("the tortuosity factor needs the electrolyte's volume fraction in the "
                         "electrode (volume_fraction, --volume-fraction)")
        else:
            tortuosity = _product(fraction.value * macmullin.value, (fraction, 1),
                                  (macmullin, 1))
    check = _check(frequency, z, fit, line, series, r_s, r_ion)
    if not check.in_regime:
        notes.append("the lowest frequencies do not reach the capacitive regime of the line "
                     "(|Z_Q| < 5 R_ion there): measure to lower frequencies to check R_ion/3")
    elif not check.agrees:
        notes.append(f"the low-frequency intercept differs from the fit's R_s + R_ion/3 by "
                     f"{check.relative_difference:+.1%}: the line model may not describe the "
                     "electrode (a reacting, not blocking, electrode; a second arc)")
    inputs = {"area_square_centimeter": area_square_centimeter,
              "thickness_centimeter": thickness_centimeter,
              "area_tolerance_square_centimeter": area_tolerance_square_centimeter,
              "thickness_tolerance_centimeter": thickness_tolerance_centimeter,
              "sigma_electrolyte_siemens_per_centimeter": None if sigma is None
              else sigma.to_dict(),
              "volume_fraction": None if fraction is None else fraction.to_dict()}
    return TortuosityResult(
        file, spectrum_index, r_ion, r_s,
        Estimate(fit.value(q_name), fit.stderr(q_name)),
        Estimate(fit.value(alpha_name), fit.stderr(alpha_name)), sigma_eff, macmullin,
        tortuosity, check, inputs, tuple(notes), fit)


def tortuosity_of(
    sources: Sequence[str | PathLike[str] | ImpedanceRecord],
    *,
    spectrum: int | None = None,
    **options: Any,
) -> list[TortuosityResult | TortuosityFailure]:
    """:func:`fit_tortuosity` on every spectrum (or spectrum ``spectrum``) of files or records.

    A file that cannot be read, or a spectrum that cannot be fitted, gives a
    :class:`TortuosityFailure` in its place; the others still run. ``options`` are
    :func:`fit_tortuosity`'s keyword arguments.
    """
    import labkit

    out: list[TortuosityResult | TortuosityFailure] = []
    for source in sources:
        name = source.meta.source_path if isinstance(source, ImpedanceRecord) else str(source)
        try:
            record = source if isinstance(source, ImpedanceRecord) else labkit.read(source)
            if not isinstance(record, ImpedanceRecord):
                raise SchemaError(f"expected impedance spectra, found a {record.kind} record",
                                    file=name)
            indices = [spectrum] if spectrum is not None else \
                sorted(int(i) for i in record.data["spectrum"].unique())
        except LabkitError as exc:
            out.append(TortuosityFailure(name, spectrum, exc.to_dict()))
            continue
        for index in indices:
            try:
                out.append(fit_tortuosity(record.spectrum(index), file=name,
                                          spectrum_index=index, **options))
            except LabkitError as exc:
                out.append(TortuosityFailure(name, index, exc.to_dict()))
    return out
