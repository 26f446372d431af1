"""One runner per kind of test: it calls labkit's analysis and turns the result into card values.

Each runner takes the :class:`~labkit.material_card.manifest.CardTest` and the
:class:`Context` (the card's table, its temperature, and the values found so far) and
returns the :class:`CardValue` entries with their conditions and provenance, and the
analysis results themselves (for the figure). What each value is:

* ``eis_temperature_series`` — σ at 25 °C of the total conductivity (bulk when no total),
  from the Arrhenius fit of :func:`labkit.eis.arrhenius.arrhenius_series`, and that fit's Ea;
* ``stability_window`` — the oxidative onset at the threshold (the tables' oxidative
  stability), the reductive onset, the window between them and the tangent onsets;
* ``ccd`` — the highest current density all of whose half cycles passed (no standard error:
  the failing density beside it bounds it);
* ``transference`` — the Bruce–Vincent t⁺;
* ``rate`` — the capacity per C-rate (mean of the rate's cycles ± its standard error of the
  mean), as Table 2-style cell rows, and the Tian fit's τ and n;
* ``fast_charge`` — the mean time to 80 % state of charge over the charges that reached it;
* ``tortuosity`` — R_ion, σ_eff, the MacMullin number and the tortuosity factor, with
  σ_SE as given or else this card's own σ at 25 °C.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labkit.errors import AnalysisError, MetadataError, SchemaError
from labkit.material_card.manifest import CardTest
from labkit.uncertainty import Estimate

ROOM_TEMPERATURE_CELSIUS = 25.0


@dataclass(frozen=True)
class CardValue:
    """One number of the card, with its uncertainty, conditions and provenance.

    Attributes
    ----------
    quantity
        Snake-case name with the unit (``conductivity_siemens_per_centimeter``).
    label
        What a reader calls it (``σ``).
    section
        ``"table"`` (a column of the review's Table 1 or 3), ``"cell"`` (a Table 2-style
        cell row) or ``"additional"``.
    estimate
        Value and standard error (NaN when it has none).
    conditions
        Temperature, threshold, C-rate... under which it holds.
    files
        The files it came from.
    analysis
        The labkit function that computed it.
    test
        The card test it came from.
    """

    quantity: str
    label: str
    section: str
    estimate: Estimate
    conditions: Mapping[str, Any]
    files: tuple[str, ...]
    analysis: str
    test: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        estimate = self.estimate.to_dict()
        return {"quantity": self.quantity, "label": self.label, "section": self.section,
                "estimate": {key: estimate[key] for key in ("value", "stderr")},
                "unit": self.estimate.unit, "conditions": dict(self.conditions),
                "files": list(self.files), "analysis": self.analysis, "test": self.test}


@dataclass
class Context:
    """What a runner needs beyond its test: the card's table and temperature, values so far."""

    table: int
    temperature_celsius: float | None
    values: list[CardValue] = field(default_factory=list)

    def temperature(self, test: CardTest) -> float | None:
        """The test's own temperature, else the card's."""
        stated = test.options.get("temperature_celsius")
        return float(stated) if stated is not None else self.temperature_celsius


Runner = Callable[[CardTest, Context], tuple[list[CardValue], list[Any]]]


def _estimate(payload: Mapping[str, Any], unit: str) -> Estimate:
    stderr = payload.get("stderr")
    return Estimate(float(payload["value"]), math.nan if stderr is None else float(stderr), unit)


def _read(path: str, kind: str, test: CardTest | None = None) -> Any:
    """The record of ``path``; for a test that is no sweep, refuse a file holding one."""
    import labkit
    from labkit.analysis.classify import cycling_test
    from labkit.data import CyclingRecord, ImpedanceRecord

    record = labkit.read(path)
    expected = CyclingRecord if kind == "cycling" else ImpedanceRecord
    if not isinstance(record, expected):
        raise SchemaError(f"expected a {kind} record, found a {record.kind} record", file=path)
    if test is not None and test.kind != "stability_window":
        found = cycling_test(record)
        if found.kind == "potential-sweep":
            raise AnalysisError(f"{test.label} names this file a {test.kind} test, but it holds "
                                f"a potential sweep ({found.evidence})", file=path)
    return record


def _value(test: CardTest, quantity: str, label: str, section: str, estimate: Estimate,
           conditions: Mapping[str, Any], files: tuple[str, ...], analysis: str) -> CardValue:
    return CardValue(quantity, label, section, estimate, dict(conditions), files, analysis,
                     test.label)


def _eis_temperature_series(test: CardTest, context: Context
                           ) -> tuple[list[CardValue], list[Any]]:
    """σ(25 °C) and Ea of the total (else bulk) conductivity of a pellet temperature series."""
    from labkit.eis.arrhenius import arrhenius_series
    from labkit.eis.models import get_model

    options = dict(test.options)
    extra = {}
    if "circuit" in options or "model" in options:
        extra["circuit"] = options.get("circuit") or get_model(options["model"]).circuit
    series = arrhenius_series(list(test.files), area_square_centimeter=float(
        options["area_square_centimeter"]), thickness_centimeter=float(
        options["thickness_centimeter"]), temperatures_celsius=options.get(
        "temperatures_celsius"), **extra)
    payload = series.to_dict()
    role = next((r for r in ("total", "bulk") if "error" not in payload[r]), None)
    if role is None:
        raise AnalysisError(f"no Arrhenius fit of the total or bulk conductivity: "
                            f"{payload['total']['error']['message']}")
    fit = payload[role]
    used = [p for p in payload["points"] if "error" not in p]
    temperatures = [p["temperature_celsius"] for p in used]
    conditions = {"temperature_celsius": ROOM_TEMPERATURE_CELSIUS, "conduction": role,
                  "arrhenius_convention": payload["convention"],
                  "fitted_range_celsius": [min(temperatures), max(temperatures)],
                  "spectra": len(used), "circuit": payload["circuit"],
                  "temperatures_from": payload["temperature_sources"]}
    analysis = "labkit.eis.arrhenius.arrhenius_series (circuit fits, σ = L/(R A), Arrhenius fit)"
    files = tuple(dict.fromkeys(p["file"] for p in used))
    values = [
        _value(test, "conductivity_siemens_per_centimeter", "σ", "table",
               _estimate(fit["sigma_25c_siemens_per_centimeter"], "S/cm"), conditions, files,
               analysis),
        _value(test, "activation_energy_electronvolt", f"Ea ({role.replace('_', ' ')})",
               "additional", _estimate(fit["activation_energy_electronvolt"], "eV"),
               {k: v for k, v in conditions.items() if k != "temperature_celsius"}, files,
               analysis),
    ]
    return values, [series]


def _stability_window(test: CardTest, context: Context) -> tuple[list[CardValue], list[Any]]:
    """Oxidative (and reductive) onsets of the test's sweeps."""
    from labkit.analysis.stability import (
        DEFAULT_THRESHOLDS_MILLIAMPERE_PER_SQUARE_CENTIMETER,
        stability_window,
    )

    options = test.options
    threshold = float(options.get("threshold_milliampere_per_square_centimeter",
                                  DEFAULT_THRESHOLDS_MILLIAMPERE_PER_SQUARE_CENTIMETER[0]))
    area = options.get("area_square_centimeter")
    values: list[CardValue] = []
    results, reasons = [], []
    found: dict[str, Any] = {}
    analysis = "labkit.analysis.stability_window"
    for path in test.files:
        result = stability_window(_read(path, "cycling"), area_square_centimeter=None
                                  if area is None else float(area),
                                  thresholds_milliampere_per_square_centimeter=(threshold,),
                                  reference_offset_volt=float(options.get(
                                      "reference_offset_volt", 0.0)))
        results.append(result)
        reasons += [reason for a in result.analyses for reason in a.not_found]
        for onset in result.onsets:
            conditions = {"method": onset.method, "sweep": onset.sweep,
                          "sweep_rate_volt_per_second": onset.sweep_rate_volt_per_second.value,
                          "reference_offset_volt": result.reference_offset_volt,
                          "temperature_celsius": context.temperature(test)}
            if onset.method == "threshold":
                conditions["threshold_milliampere_per_square_centimeter"] = threshold
                key = onset.direction
                quantity = f"{key}_stability_volt"
                section = "table" if key == "oxidative" else "additional"
                label = f"{key} stability"
            else:
                key, quantity, section = None, f"{onset.direction}_onset_tangent_volt", \
                    "additional"
                label = f"{onset.direction} onset (tangent)"
            value = _value(test, quantity, label, section, onset.potential_volt, conditions,
                           (path,), analysis)
            values.append(value)
            if key is not None and key not in found:
                found[key] = value
    if not found:
        raise AnalysisError("no onset at the threshold in any sweep: " + "; ".join(reasons))
    if len(found) == 2:
        ox, red = found["oxidative"].estimate, found["reductive"].estimate
        values.append(_value(
            test, "stability_window_volt", "stability window", "additional",
            Estimate(ox.value - red.value, math.hypot(ox.stderr, red.stderr), "V"),
            {"threshold_milliampere_per_square_centimeter": threshold,
             "from": "oxidative minus reductive onset"},
            tuple(dict.fromkeys(found["oxidative"].files + found["reductive"].files)), analysis))
    return values, results


def _ccd(test: CardTest, context: Context) -> tuple[list[CardValue], list[Any]]:
    """The critical current density of each stepped-current file."""
    from labkit.analysis.ccd import critical_current_density

    area = test.options.get("area_square_centimeter")
    values, results = [], []
    for path in test.files:
        result = critical_current_density(_read(path, "cycling", test), area_square_centimeter=None
                                          if area is None else float(area))
        if result.ccd_milliampere_per_square_centimeter is None:
            raise AnalysisError("the first current step already failed: no CCD", file=path)
        results.append(result)
        values.append(_value(
            test, "ccd_milliampere_per_square_centimeter", "CCD", "table",
            Estimate(float(result.ccd_milliampere_per_square_centimeter), math.nan,
                     "mA/cm²"),
            {"temperature_celsius": context.temperature(test),
             "failed_at_milliampere_per_square_centimeter":
                 result.failed_at_milliampere_per_square_centimeter,
             "failure_criterion": result.criterion, "protocol": result.protocol,
             "area_square_centimeter": result.area_square_centimeter},
            (path,), "labkit.analysis.critical_current_density"))
    return values, results


def _transference(test: CardTest, context: Context) -> tuple[list[CardValue], list[Any]]:
    """The Bruce–Vincent t⁺ from the chronoamperometry and the spectra before/after it."""
    from labkit.analysis.transference import transference_number

    roles = dict(zip(test.options.get("roles", ["ca", "eis_before", "eis_after"]), test.files,
                     strict=False))
    spectra = {role: _read(path, "impedance") for role, path in roles.items() if role != "ca"}
    result = transference_number(_read(roles["ca"], "cycling", test),
                                 eis_before=spectra.get("eis_before"),
                                 eis_after=spectra.get("eis_after"))
    value = _value(test, "transference_number", "t⁺", "table" if context.table == 3
                   else "additional", result.t_plus_bruce_vincent,
                   {"method": "Bruce–Vincent", "temperature_celsius": context.temperature(test),
                    "delta_v_volt": result.delta_v_volt.value,
                    "steady_state": result.steady_state},
                   tuple(test.files), "labkit.analysis.transference_number")
    return [value], [result]


def _cell(test: CardTest, context: Context) -> dict[str, Any]:
    cell = dict(test.options.get("cell", {}))
    cell.setdefault("temperature_celsius", context.temperature(test))
    return cell


def _rate(test: CardTest, context: Context) -> tuple[list[CardValue], list[Any]]:
    """Capacity per C-rate (cell rows) and the Tian fit of each rate test."""
    from labkit.analysis.rate import rate_capability

    options = test.options
    values, results = [], []
    for path in test.files:
        result = rate_capability(
            _read(path, "cycling", test),
            nominal_capacity_ampere_hour=options.get("nominal_capacity_ampere_hour"),
            active_mass_gram=options.get("active_mass_gram"))
        results.append(result)
        specific = "mean_specific_capacity_milliampere_hour_per_gram" in result.rates
        for row in result.rates.itertuples():
            if specific:
                mean = row.mean_specific_capacity_milliampere_hour_per_gram
                spread = row.std_specific_capacity_milliampere_hour_per_gram
                quantity, unit = "specific_capacity_milliampere_hour_per_gram", "mAh/g"
            else:
                mean, spread = 1000 * row.mean_capacity_ampere_hour, \
                    1000 * row.std_capacity_ampere_hour
                quantity, unit = "capacity_milliampere_hour", "mAh"
            stderr = spread / math.sqrt(row.count) if row.count > 1 else math.nan
            values.append(_value(
                test, quantity, f"capacity at {row.c_rate_per_hour:g}C", "cell",
                Estimate(float(mean), float(stderr), unit),
                {"c_rate_per_hour": float(row.c_rate_per_hour), "cycles": int(row.count),
                 "direction": result.direction, "cell": _cell(test, context)},
                (path,), "labkit.analysis.rate_capability"))
        fit = result.tian_fit
        if fit is not None and fit.success:
            for quantity, label, estimate in (("tian_tau_hour", "Tian τ", fit.tau_hour),
                                              ("tian_n", "Tian n", fit.n)):
                values.append(_value(test, quantity, label, "additional", estimate,
                                     {"model": "Tian et al. 2019", "cell": _cell(test, context)},
                                     (path,), "labkit.analysis.fit_tian"))
    return values, results


def _fast_charge(test: CardTest, context: Context) -> tuple[list[CardValue], list[Any]]:
    """Mean time to 80 % state of charge over the charges that reached it."""
    from labkit.analysis.fast_charge import fast_charge_metrics

    values, results = [], []
    for path in test.files:
        result = fast_charge_metrics(_read(path, "cycling", test), nominal_capacity_ampere_hour=
                                     test.options.get("nominal_capacity_ampere_hour"))
        results.append(result)
        times = result.charges["time_to_80_percent_second"].to_numpy(float)
        times = times[np.isfinite(times)]
        if times.size == 0:
            raise AnalysisError("no charge reached 80 % state of charge", file=path)
        stderr = float(times.std(ddof=1) / math.sqrt(times.size)) if times.size > 1 else math.nan
        values.append(_value(
            test, "time_to_80_percent_soc_second", "time to 80 % SOC", "additional",
            Estimate(float(times.mean()), stderr, "s"),
            {"charges": int(times.size), "soc_reference": result.soc_reference,
             "cell": _cell(test, context)},
            (path,), "labkit.analysis.fast_charge_metrics"))
    return values, results


def _tortuosity(test: CardTest, context: Context) -> tuple[list[CardValue], list[Any]]:
    """R_ion, σ_eff, MacMullin number and tortuosity factor of each composite spectrum."""
    from labkit.eis.tortuosity import TortuosityFailure, tortuosity_of

    options = test.options
    sigma: Estimate | None = None
    source = "given in the manifest"
    if options.get("sigma_electrolyte_siemens_per_centimeter") is not None:
        sigma = Estimate(float(options["sigma_electrolyte_siemens_per_centimeter"]), 0.0, "S/cm")
    else:
        own = next((v for v in context.values
                    if v.quantity == "conductivity_siemens_per_centimeter"), None)
        if own is not None:
            sigma, source = own.estimate, f"this card's σ at 25 °C ({own.test})"
    fraction = options.get("volume_fraction")
    outcomes = tortuosity_of(list(test.files), area_square_centimeter=float(
        options["area_square_centimeter"]), thickness_centimeter=float(
        options["thickness_centimeter"]), sigma_electrolyte_siemens_per_centimeter=sigma,
        volume_fraction=None if fraction is None else float(fraction),
        **({"circuit": options["circuit"]} if "circuit" in options else {}))
    results = [o for o in outcomes if not isinstance(o, TortuosityFailure)]
    if not results:
        raise AnalysisError("no spectrum gave a result: " + "; ".join(
            o.error["message"] for o in outcomes if isinstance(o, TortuosityFailure)))
    values = []
    for result in results:
        conditions = {"thickness_centimeter": float(options["thickness_centimeter"]),
                      "area_square_centimeter": float(options["area_square_centimeter"]),
                      "spectrum": result.spectrum,
                      "low_frequency_check_agrees": result.low_frequency_check.agrees}
        derived = {"volume_fraction": fraction,
                   "sigma_electrolyte_siemens_per_centimeter": None if sigma is None
                   else sigma.value, "sigma_electrolyte_source": source if sigma else None}
        for quantity, label, estimate, extra in (
                ("ionic_resistance_ohm", "R_ion", result.ionic_resistance_ohm, {}),
                ("effective_conductivity_siemens_per_centimeter", "σ_eff",
                 result.effective_conductivity_siemens_per_centimeter, {}),
                ("macmullin_number", "MacMullin number", result.macmullin_number, derived),
                ("tortuosity_factor", "tortuosity factor", result.tortuosity_factor, derived)):
            if estimate is not None:
                values.append(_value(test, quantity, label, "additional", estimate,
                                     {**conditions, **extra}, (str(result.file),),
                                     "labkit.eis.tortuosity.fit_tortuosity"))
    return values, results


RUNNERS: dict[str, Runner] = {
    "eis_temperature_series": _eis_temperature_series, "stability_window": _stability_window,
    "ccd": _ccd, "transference": _transference, "rate": _rate, "fast_charge": _fast_charge,
    "tortuosity": _tortuosity,
}
#: Order the kinds run in: the electrolyte's σ first (tortuosity may use it).
ORDER = ("eis_temperature_series", "stability_window", "ccd", "transference", "rate",
         "fast_charge", "tortuosity")


def run(test: CardTest, context: Context) -> tuple[list[CardValue], list[Any]]:
    """Run one test.

    Raises
    ------
    LabkitError
        Whatever the analysis raises on this test's data.
    """
    if test.problem is not None:
        raise test.problem
    if test.kind not in RUNNERS:
        raise MetadataError(f"{test.label}: unknown kind {test.kind!r}")
    return RUNNERS[test.kind](test, context)
