"""Conductivity vs temperature: Arrhenius and VTF fits, and the whole series from spectra.

Arrhenius, in either convention (the result states which):

* ``sigma_T``: ``sigma T = A exp(-Ea / k T)`` (hopping conduction; the usual one for
  solid electrolytes), fitted as ``ln(sigma T)`` vs ``1 / k T``;
* ``sigma``: ``sigma = sigma0 exp(-Ea / k T)``, fitted as ``ln sigma`` vs ``1 / k T``.

The fit is weighted least squares on the logarithm (weights ``(sigma / stderr)^2``
when every point has a standard error, else equal), with the covariance scaled
by the residual variance; Ea's standard error comes from it, and sigma at
25 °C is extrapolated with its standard error by the delta method.

VTF (polymer electrolytes): ``sigma = A T^-1/2 exp(-B / (T - T0))``, fitted as
``ln(sigma sqrt(T))`` with T0 below the lowest temperature; ``k B`` is reported
as the pseudo-activation energy.

:func:`arrhenius_series` takes impedance files or records, fits an equivalent
circuit to each spectrum (:func:`labkit.eis.batch.fit_batch`), converts the arcs
to sigma_bulk, sigma_grain_boundary and sigma_total
(:func:`labkit.eis.conductivity.interpret`) and fits each against temperature.
Temperatures come from the record (a ``temperature_celsius`` column or the
sample's temperature), else from the file name (``-140deg``, ``_25C``), else from
a list given by the caller; the result says which for every point.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any, Literal

import numpy as np
from scipy.optimize import least_squares

from labkit.data import ImpedanceRecord
from labkit.errors import AnalysisError, MetadataError, error_dict
from labkit.uncertainty import Estimate

#: Boltzmann constant in eV/K.
BOLTZMANN_EV_PER_KELVIN = 8.617333262e-5
KELVIN_OFFSET = 273.15
ROOM_TEMPERATURE_KELVIN = 298.15
Convention = Literal["sigma_T", "sigma"]

# "-140deg", "_25C", "_-25C", " 2p5degC": a separator, the number, a degree unit. A bare
# "C" must end the name or be followed by "_" / "." / space, so "-1C-rate" is no temperature.
_FILENAME_TEMPERATURE = re.compile(
    r"(?:^|[_\-\s])(-?\d+(?:[.p]\d+)?)\s*"
    r"(?:(?:deg(?:ree)?s?C?|°C)(?=$|[_\-\s.])|C(?=$|[_\s.]))",
    re.IGNORECASE)


@dataclass(frozen=True, eq=False)
class ArrheniusFit:
    """An Arrhenius fit of conductivity vs temperature.

    Attributes
    ----------
    convention
        ``"sigma_T"`` (sigma T = A exp(-Ea/kT)) or ``"sigma"`` (sigma = sigma0 exp(-Ea/kT)).
    activation_energy_electronvolt
        Ea with its standard error.
    prefactor
        A (S K/cm) or sigma0 (S/cm), with standard error.
    sigma_25c_siemens_per_centimeter
        The fit extrapolated (or interpolated) to 25 °C.
    temperature_kelvin, sigma_siemens_per_centimeter, sigma_stderr_siemens_per_centimeter
        The points fitted.
    r_squared
        Coefficient of determination of the (weighted) linear fit.
    """

    convention: str
    activation_energy_electronvolt: Estimate
    prefactor: Estimate
    sigma_25c_siemens_per_centimeter: Estimate
    temperature_kelvin: np.ndarray
    sigma_siemens_per_centimeter: np.ndarray
    sigma_stderr_siemens_per_centimeter: np.ndarray | None
    r_squared: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (keys as in ``labkit eis arrhenius --json``)."""
        stderr = self.sigma_stderr_siemens_per_centimeter
        return {
            "convention": self.convention,
            "equation": ("sigma*T = A*exp(-Ea/(k*T))" if self.convention == "sigma_T"
                         else "sigma = sigma0*exp(-Ea/(k*T))"),
            "activation_energy_electronvolt": self.activation_energy_electronvolt.to_dict(),
            "prefactor": self.prefactor.to_dict(),
            "sigma_25c_siemens_per_centimeter": self.sigma_25c_siemens_per_centimeter.to_dict(),
            "r_squared": self.r_squared,
            "points": [
                {"temperature_kelvin": float(t), "sigma_siemens_per_centimeter": float(s),
                 "sigma_stderr_siemens_per_centimeter": None if stderr is None else float(e)}
                for t, s, e in zip(self.temperature_kelvin, self.sigma_siemens_per_centimeter,
                                   stderr if stderr is not None else [None] * len(
                                       self.temperature_kelvin), strict=True)],
        }


@dataclass(frozen=True, eq=False)
class VtfFit:
    """A Vogel-Tammann-Fulcher fit ``sigma = A T^-1/2 exp(-B / (T - T0))``."""

    prefactor: Estimate  # A, S K^1/2 / cm
    pseudo_activation_kelvin: Estimate  # B
    vogel_temperature_kelvin: Estimate  # T0
    pseudo_activation_energy_electronvolt: Estimate  # k B
    sigma_25c_siemens_per_centimeter: Estimate
    temperature_kelvin: np.ndarray
    sigma_siemens_per_centimeter: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "equation": "sigma = A*T^-0.5*exp(-B/(T-T0))",
            "prefactor": self.prefactor.to_dict(),
            "pseudo_activation_kelvin": self.pseudo_activation_kelvin.to_dict(),
            "vogel_temperature_kelvin": self.vogel_temperature_kelvin.to_dict(),
            "pseudo_activation_energy_electronvolt":
                self.pseudo_activation_energy_electronvolt.to_dict(),
            "sigma_25c_siemens_per_centimeter": self.sigma_25c_siemens_per_centimeter.to_dict(),
        }


def _checked(temperature_celsius: Sequence[float], sigma: Sequence[float], minimum: int
             ) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(temperature_celsius, float) + KELVIN_OFFSET
    s = np.asarray(sigma, float)
    if t.shape != s.shape or t.ndim != 1:
        raise AnalysisError("temperatures and conductivities must be 1-D and of equal length")
    if len(t) < minimum:
        raise AnalysisError(f"{len(t)} temperatures; this fit needs at least {minimum}")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(s)) and np.all(s > 0)
            and np.all(t > 0)):
        raise AnalysisError("conductivities must be positive and finite, temperatures above "
                            "0 K")
    if len(np.unique(t)) < 2:
        raise AnalysisError("all points are at the same temperature")
    return t, s


def fit_arrhenius(
    temperature_celsius: Sequence[float],
    sigma_siemens_per_centimeter: Sequence[float],
    sigma_stderr_siemens_per_centimeter: Sequence[float] | None = None,
    *,
    convention: Convention = "sigma_T",
) -> ArrheniusFit:
    """Fit Arrhenius to conductivities at several temperatures.

    Raises
    ------
    AnalysisError
        On fewer than 2 points (3 for a standard error), non-positive sigma or one temperature.
    """
    if convention not in ("sigma_T", "sigma"):
        raise AnalysisError(f"convention must be 'sigma_T' or 'sigma', not {convention!r}")
    t, s = _checked(temperature_celsius, sigma_siemens_per_centimeter, 3)
    stderr = None if sigma_stderr_siemens_per_centimeter is None else np.asarray(
        sigma_stderr_siemens_per_centimeter, float)
    x = 1.0 / (BOLTZMANN_EV_PER_KELVIN * t)
    y = np.log(s * t) if convention == "sigma_T" else np.log(s)
    usable = stderr is not None and np.all(np.isfinite(stderr)) and np.all(stderr > 0)
    weight = (s / stderr) ** 2 if usable else np.ones_like(s)
    design = np.column_stack([np.ones_like(x), -x])
    normal = design.T @ (weight[:, None] * design)
    coefficients = np.linalg.solve(normal, design.T @ (weight * y))
    residual = y - design @ coefficients
    dof = len(y) - 2
    scale = float(weight @ residual**2) / dof
    covariance = scale * np.linalg.inv(normal)
    log_prefactor, energy = coefficients
    mean = np.average(y, weights=weight)
    total = float(weight @ (y - mean) ** 2)
    r_squared = 1.0 - float(weight @ residual**2) / total if total > 0 else 1.0
    x25 = 1.0 / (BOLTZMANN_EV_PER_KELVIN * ROOM_TEMPERATURE_KELVIN)
    gradient = np.array([1.0, -x25])
    y25 = float(log_prefactor - energy * x25)
    y25_err = math.sqrt(max(float(gradient @ covariance @ gradient), 0.0))
    sigma25 = math.exp(y25) / (ROOM_TEMPERATURE_KELVIN if convention == "sigma_T" else 1.0)
    prefactor = math.exp(log_prefactor)
    return ArrheniusFit(
        convention,
        Estimate(float(energy), math.sqrt(max(covariance[1, 1], 0.0)), "eV"),
        Estimate(prefactor, prefactor * math.sqrt(max(covariance[0, 0], 0.0)),
                 "S K/cm" if convention == "sigma_T" else "S/cm"),
        Estimate(sigma25, sigma25 * y25_err, "S/cm"),
        t, s, stderr, r_squared)


def fit_vtf(temperature_celsius: Sequence[float], sigma_siemens_per_centimeter: Sequence[float]
            ) -> VtfFit:
    """Fit VTF ``sigma = A T^-1/2 exp(-B / (T - T0))`` (needs at least 4 temperatures).

    Raises
    ------
    AnalysisError
        On too few points or when the fit does not converge to ``0 < T0 < min T``.
    """
    t, s = _checked(temperature_celsius, sigma_siemens_per_centimeter, 4)
    y = np.log(s * np.sqrt(t))

    def model(p: np.ndarray, temperature: np.ndarray) -> np.ndarray:
        return p[0] - p[1] / (temperature - p[2])

    t_min = float(t.min())
    start = np.array([float(y.max()) + 5.0, 1000.0, max(t_min - 80.0, 1.0)])
    fit = least_squares(lambda p: model(p, t) - y, start,
                        bounds=([-np.inf, 1e-3, 0.0], [np.inf, np.inf, t_min - 1.0]))
    if not fit.success or len(t) <= 3:
        raise AnalysisError(f"VTF fit did not converge ({fit.message})")
    dof = len(t) - 3
    scale = float(fit.fun @ fit.fun) / dof
    jac = fit.jac
    try:
        covariance = scale * np.linalg.inv(jac.T @ jac)
    except np.linalg.LinAlgError as exc:
        raise AnalysisError("VTF parameters are not determined by these points "
                            "(singular covariance)") from exc
    log_a, b, t0 = fit.x
    errors = np.sqrt(np.maximum(np.diag(covariance), 0.0))
    gradient = np.array([1.0, -1.0 / (ROOM_TEMPERATURE_KELVIN - t0),
                         -b / (ROOM_TEMPERATURE_KELVIN - t0) ** 2])
    y25 = float(model(fit.x, np.array([ROOM_TEMPERATURE_KELVIN]))[0])
    sigma25 = math.exp(y25) / math.sqrt(ROOM_TEMPERATURE_KELVIN)
    y25_err = math.sqrt(max(float(gradient @ covariance @ gradient), 0.0))
    prefactor = math.exp(log_a)
    return VtfFit(
        Estimate(prefactor, prefactor * errors[0], "S K^0.5/cm"),
        Estimate(float(b), float(errors[1]), "K"),
        Estimate(float(t0), float(errors[2]), "K"),
        Estimate(float(b) * BOLTZMANN_EV_PER_KELVIN, float(errors[1]) * BOLTZMANN_EV_PER_KELVIN,
                 "eV"),
        Estimate(sigma25, sigma25 * y25_err, "S/cm"),
        t, s)


# --------------------------------------------------------------------------- temperatures


def temperature_from_filename(path: str | PathLike[str]) -> float | None:
    """Temperature in °C stated in a file name (``s04147-140deg`` -> 140, ``x_-25C`` -> -25)."""
    found = _FILENAME_TEMPERATURE.findall(Path(path).stem)
    return float(found[-1].replace("p", ".")) if found else None


def temperature_from_record(record: ImpedanceRecord, spectrum: int) -> float | None:
    """Temperature in °C of one spectrum as the file states it (column, then sample)."""
    if "temperature_celsius" in record.data:
        rows = record.spectrum(spectrum)["temperature_celsius"].dropna()
        if len(rows):
            return float(rows.mean())
    return record.meta.sample.temperature_celsius


# --------------------------------------------------------------------------- series


@dataclass(frozen=True)
class SeriesPoint:
    """One spectrum of a temperature series: where it came from and what it gave.

    ``roles`` maps each resistor of the fit to its role in this spectrum
    (:func:`labkit.eis.conductivity.interpret`); ``arc_sigma_siemens_per_centimeter``
    gives σ = L/(R A) of every determined arc resistor on its own.
    """

    file: str
    spectrum: int | None
    temperature_celsius: float | None
    temperature_source: str | None  # "file", "filename" or "given"
    sigma_siemens_per_centimeter: dict[str, Estimate]
    error: dict[str, Any] | None = None
    bulk_from: str | None = None
    roles: dict[str, str] | None = None
    arc_sigma_siemens_per_centimeter: dict[str, Estimate] | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        out: dict[str, Any] = {
            "file": self.file, "spectrum": self.spectrum,
            "temperature_celsius": self.temperature_celsius,
            "temperature_source": self.temperature_source,
            "sigma_siemens_per_centimeter": {k: v.to_dict() for k, v in
                                             self.sigma_siemens_per_centimeter.items()},
        }
        if self.roles is not None:
            out["bulk_from"] = self.bulk_from
            out["roles"] = dict(self.roles)
        if self.notes:
            out["notes"] = list(self.notes)
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclass(frozen=True, eq=False)
class ArcSeries:
    """The Arrhenius fit of one resistor of the series' circuit, taken on its own."""

    resistor: str
    role: str
    roles: dict[str, int]
    fit: ArrheniusFit | None
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        """``{"resistor", "role", "activation_energy_electronvolt", ...}``."""
        out: dict[str, Any] = {"resistor": self.resistor, "role": self.role,
                               "roles_by_spectrum": dict(self.roles)}
        if self.fit is None:
            out["error"] = {"type": "AnalysisError", "message": self.reason, "file": None,
                            "position": None}
            return out
        fitted = self.fit.to_dict()
        out.update({"activation_energy_electronvolt": fitted["activation_energy_electronvolt"],
                    "sigma_25c_siemens_per_centimeter":
                        fitted["sigma_25c_siemens_per_centimeter"],
                    "r_squared": fitted["r_squared"], "points": fitted["points"]})
        return out


@dataclass(frozen=True, eq=False)
class ArrheniusSeries:
    """A temperature series analysed: per-spectrum conductivities and fits per process.

    ``fits`` maps ``bulk`` / ``grain_boundary`` / ``total`` to an :class:`ArrheniusFit`
    (absent when fewer than 3 spectra gave that conductivity, with the reason in
    ``missing``); ``vtf`` likewise when requested; ``arcs`` fits every resistor of the
    circuit on its own; ``model_selection`` says how the circuit was chosen (``auto``).
    """

    convention: str
    circuit: str
    points: tuple[SeriesPoint, ...]
    fits: dict[str, ArrheniusFit]
    vtf: dict[str, VtfFit]
    missing: dict[str, str]
    arcs: tuple[ArcSeries, ...] = ()
    model_selection: dict[str, Any] | None = None
    lead_resistance_ohm: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """``{"convention", "bulk", "grain_boundary", "total", "arcs", "points", ...}``."""
        out: dict[str, Any] = {"convention": self.convention, "circuit": self.circuit,
                               "lead_resistance_ohm": self.lead_resistance_ohm}
        if self.model_selection is not None:
            out["model_selection"] = self.model_selection
        for role in ("bulk", "grain_boundary", "total"):
            if role in self.fits:
                entry = self.fits[role].to_dict()
                if role in self.vtf:
                    entry["vtf"] = self.vtf[role].to_dict()
                out[role] = entry
            else:
                out[role] = {"error": {"type": "AnalysisError",
                                       "message": self.missing.get(role, "not computed"),
                                       "file": None, "position": None}}
        out["arcs"] = [arc.to_dict() for arc in self.arcs]
        out["points"] = [p.to_dict() for p in self.points]
        out["temperature_sources"] = sorted({p.temperature_source for p in self.points
                                             if p.temperature_source is not None})
        return out


def _spectra_of(sources: Sequence[str | PathLike[str] | ImpedanceRecord]
                ) -> tuple[list[tuple[str, int, ImpedanceRecord]], list[SeriesPoint]]:
    """Every spectrum of the sources; a file that cannot be read is an error point."""
    import labkit

    where, failed = [], []
    for source in sources:
        name = str(source.meta.source_path) if isinstance(source, ImpedanceRecord) \
            else str(source)
        try:
            record = source if isinstance(source, ImpedanceRecord) else labkit.read(source)
            if not isinstance(record, ImpedanceRecord):
                raise AnalysisError(f"holds a {record.kind} record, not impedance spectra",
                                    file=name)
            indices = [index for index, _ in record.spectra()]
            if not indices:
                raise AnalysisError("the file holds no impedance points", file=name)
        except Exception as exc:  # noqa: BLE001 - one bad file must not end the series
            failed.append(SeriesPoint(name, None, None, None, {}, error_dict(exc, file=name)))
            continue
        where.extend((name, index, record) for index in indices)
    return where, failed


def _temperatures(where: list[tuple[str, int, ImpedanceRecord]],
                  given: Sequence[float] | None) -> list[tuple[float, str] | MetadataError]:
    """Each spectrum's temperature and where it came from, or why there is none."""
    if given is not None and len(given) != len(where):
        raise MetadataError(f"{len(given)} temperatures given for {len(where)} spectra")
    out: list[tuple[float, str] | MetadataError] = []
    for position, (name, index, record) in enumerate(where):
        stated = temperature_from_record(record, index)
        if stated is not None:
            out.append((stated, "file"))
        elif (from_name := temperature_from_filename(name)) is not None:
            out.append((from_name, "filename"))
        elif given is not None:
            out.append((float(given[position]), "given"))
        else:
            out.append(MetadataError(
                "no temperature: the file does not state one, its name has no '-140deg' / "
                "'_25C' pattern and none was given (--temperatures)", file=name,
                position=f"spectrum {index}"))
    return out


def _arc_series(points: list[SeriesPoint], convention: Convention) -> tuple[ArcSeries, ...]:
    from collections import Counter

    names: list[str] = []
    for point in points:
        for name in (point.arc_sigma_siemens_per_centimeter or {}):
            if name not in names:
                names.append(name)
    out = []
    for name in names:
        have = [p for p in points if name in (p.arc_sigma_siemens_per_centimeter or {})]
        roles = Counter((p.roles or {}).get(name, "none") for p in have)
        role = roles.most_common(1)[0][0]
        if len(have) < 3:
            out.append(ArcSeries(name, role, dict(roles), None,
                                 f"{len(have)} spectra determine {name}; an Arrhenius fit "
                                 "needs at least 3"))
            continue
        estimates = [p.arc_sigma_siemens_per_centimeter[name] for p in have]
        try:
            fit = fit_arrhenius([p.temperature_celsius for p in have],
                                [e.value for e in estimates], [e.stderr for e in estimates],
                                convention=convention)
        except AnalysisError as exc:
            out.append(ArcSeries(name, role, dict(roles), None, exc.message))
            continue
        out.append(ArcSeries(name, role, dict(roles), fit, None))
    return tuple(out)


def _series_fits(spectra: list, circuit: str, area: float, thickness: float, lead: float,
                 assign: dict[str, str] | None, workers: int, engine: str
                 ) -> tuple[str, list, dict[str, Any] | None]:
    """The circuit, every spectrum's fit and, for ``"auto"``, how the circuit was chosen."""
    from labkit.eis.batch import fit_batch
    from labkit.eis.conductivity import interpret
    from labkit.eis.model_selection import select_series_model

    if not spectra:
        return circuit, [], None
    if circuit != "auto":
        return circuit, fit_batch(spectra, circuit, workers=workers, engine=engine), None

    def roles(result):
        meaning = interpret(result, area_square_centimeter=area, thickness_centimeter=thickness,
                            lead_resistance_ohm=lead, assign=assign)
        return {arc.resistor: arc.role for arc in meaning.arcs}

    choice = select_series_model(spectra, roles=roles, workers=workers, engine=engine)
    return choice.circuit, list(choice.fits), choice.to_dict()


def arrhenius_series(
    sources: Sequence[str | PathLike[str] | ImpedanceRecord],
    *,
    area_square_centimeter: float,
    thickness_centimeter: float,
    circuit: str = "auto",
    temperatures_celsius: Sequence[float] | None = None,
    convention: Convention = "sigma_T",
    vtf: bool = False,
    workers: int = 1,
    lead_resistance_ohm: float = 0.0,
    assign: dict[str, str] | None = None,
    engine: str = "lmfit",
) -> ArrheniusSeries:
    """Fit every spectrum of ``sources`` and Arrhenius-fit σ vs T, per process and per arc.

    Parameters
    ----------
    sources
        Impedance files or records; every spectrum of each is one point. A file that
        cannot be read, or a spectrum that cannot be fitted, is a point with an
        ``error``; the others are still used.
    area_square_centimeter, thickness_centimeter
        Pellet geometry for σ = L / (R A).
    circuit
        ``"auto"`` (default): one member of the solid-electrolyte family for the whole
        series (:func:`labkit.eis.model_selection.select_series_model`), so that a
        resistor names the same arc at every temperature; or a circuit string.
    temperatures_celsius
        One temperature per spectrum, in order; used for spectra whose file and
        file name state none.
    convention
        ``"sigma_T"`` or ``"sigma"``.
    vtf
        Also fit VTF (needs 4 temperatures).
    workers
        Worker processes for the circuit fits.
    lead_resistance_ohm, assign
        As for :func:`labkit.eis.conductivity.interpret` (the same for every spectrum).
    engine
        Final local fit, as for :func:`labkit.eis.fit.fit_circuit`.

    A spectrum whose temperature is stated nowhere is a point with a ``MetadataError``.

    Raises
    ------
    MetadataError
        When ``temperatures_celsius`` does not give one temperature per spectrum.
    """
    from labkit.eis.batch import FailedFit
    from labkit.eis.conductivity import interpret

    where, points = _spectra_of(sources)
    temperatures = _temperatures(where, temperatures_celsius)
    for (name, index, _), temperature in zip(where, temperatures, strict=True):
        if isinstance(temperature, MetadataError):
            points.append(SeriesPoint(name, index, None, None, {}, temperature.to_dict()))
    where = [w for w, t in zip(where, temperatures, strict=True) if not isinstance(t, Exception)]
    temperatures = [t for t in temperatures if not isinstance(t, Exception)]
    spectra = [record.impedance(index) for _, index, record in where]
    selection = None
    try:
        circuit, results, selection = _series_fits(
            spectra, circuit, area_square_centimeter, thickness_centimeter, lead_resistance_ohm,
            assign, workers, engine)
    except Exception as exc:  # noqa: BLE001 - reported on every point, not raised
        results = [FailedFit(error_dict(exc))] * len(spectra)
    for (name, index, _), (temperature, origin), result in zip(where, temperatures, results,
                                                               strict=True):
        if isinstance(result, FailedFit):
            points.append(SeriesPoint(name, index, temperature, origin, {}, dict(result.error)))
            continue
        try:
            meaning = interpret(result, area_square_centimeter=area_square_centimeter,
                                thickness_centimeter=thickness_centimeter,
                                lead_resistance_ohm=lead_resistance_ohm, assign=assign)
        except Exception as exc:  # noqa: BLE001 - this point's error, not the series'
            points.append(SeriesPoint(name, index, temperature, origin, {},
                                      error_dict(exc, file=name, position=f"spectrum {index}")))
            continue
        sigma, notes = {}, list(meaning.notes)
        for role, q in meaning.conductivity_siemens_per_centimeter.items():
            if q.value > 0 and q.determined:
                sigma[role] = Estimate(q.value, q.stderr, "S/cm")
            else:
                # An undetermined σ is no point of the fit (weighted, it would weigh
                # nothing at best; without a finite stderr it would unweight the rest).
                notes.append(f"σ {role} is not determined by this spectrum ({q.value:.3g} ± "
                             f"{q.stderr:.2g} S/cm): left out of the {role} Arrhenius fit")
        cell_constant = thickness_centimeter / area_square_centimeter
        roles = {arc.resistor: arc.role for arc in meaning.arcs}
        roles.update({r: meaning.series_role for r in meaning.series_resistors})
        roles["+".join(meaning.series_resistors)] = meaning.series_role
        # Each determined arc on its own; an arc above the measured range is part of the
        # high-frequency intercept, which stands under the series resistor's name.
        own = {arc.resistor: arc.resistance_ohm for arc in meaning.arcs
               if arc.relaxation_frequency_hertz <= result.frequency_hertz.max()}
        if meaning.series_role == "bulk" and "bulk" in meaning.resistance_ohm:
            own["+".join(meaning.series_resistors)] = meaning.resistance_ohm["bulk"]
        arcs = {name: Estimate(cell_constant / r.value, cell_constant * r.stderr / r.value**2,
                               "S/cm")
                for name, r in own.items()
                if r.value > 0 and r.determined}
        points.append(SeriesPoint(name, index, temperature, origin, sigma, None,
                                  meaning.bulk_from, roles, arcs, tuple(notes)))
    fits, vtf_fits, missing = {}, {}, {}
    for role in ("bulk", "grain_boundary", "total"):
        have = [p for p in points if role in p.sigma_siemens_per_centimeter]
        if len(have) < 3:
            missing[role] = (f"{len(have)} spectra gave a {role} conductivity; an Arrhenius "
                             "fit needs at least 3")
            continue
        t = [p.temperature_celsius for p in have]
        s = [p.sigma_siemens_per_centimeter[role].value for p in have]
        e = [p.sigma_siemens_per_centimeter[role].stderr for p in have]
        try:
            fits[role] = fit_arrhenius(t, s, e, convention=convention)
        except AnalysisError as exc:
            missing[role] = exc.message
            continue
        if vtf:
            try:
                vtf_fits[role] = fit_vtf(t, s)
            except AnalysisError as exc:
                missing[f"{role}_vtf"] = exc.message
    return ArrheniusSeries(convention, circuit, tuple(points), fits, vtf_fits, missing,
                           _arc_series(points, convention), selection,
                           float(lead_resistance_ohm))
