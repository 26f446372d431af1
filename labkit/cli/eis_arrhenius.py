"""``labkit eis arrhenius``: conductivity vs temperature from a series of impedance files."""

from __future__ import annotations

import argparse
from typing import Any

from labkit.cli import EXIT_INPUT_ERROR, EXIT_OK, Outcome, add_json_flag
from labkit.cli._eis import add_electrolyte_options, add_spectra_input, eis_command
from labkit.cli._records import number


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``eis arrhenius``."""
    arrhenius = eis_command(
        subcommands,
        "arrhenius",
        help="Arrhenius (and VTF) fit of bulk, grain-boundary and total conductivity vs T",
        description=(
            "Fit an equivalent circuit to every spectrum of FILES..., turn the arcs into "
            "bulk / grain-boundary / total conductivity (sigma = L / (R A)) and fit each "
            "against temperature, and every arc on its own: Arrhenius with Ea and its "
            "standard error, sigma at 25 °C with its uncertainty. The default model 'auto' "
            "chooses one member of the solid-electrolyte family for the whole series (lowest "
            "summed BIC among those whose parameters are determined and whose arcs keep their "
            "roles). Temperatures come from the file when it states them, else from the file "
            "name (-140deg, _25C), else from --temperatures; the output says which for every "
            "point. Exit code 1 when a spectrum could not be used (it is listed with its "
            "error; the others are used)."
        ),
    )
    add_spectra_input(arrhenius, spectrum=False, workers=True)
    arrhenius.add_argument("--area", metavar="CM2", type=float, required=True,
                           help="electrode area, cm²")
    arrhenius.add_argument("--thickness", metavar="CM", type=float, required=True,
                           help="electrolyte thickness, cm")
    arrhenius.add_argument("--temperatures", metavar="C1,C2,...",
                           help="temperature (°C) of each spectrum in order, for spectra "
                                "whose file and name state none")
    which = arrhenius.add_mutually_exclusive_group()
    which.add_argument("--circuit", metavar="C", help="circuit in impedance.py syntax")
    which.add_argument("--model", metavar="NAME",
                       help="'auto' (default) or a named model: pellet, pellet-bulk, "
                            "symmetric-li, symmetric-li-gb, composite-cathode, randles")
    add_electrolyte_options(arrhenius)
    arrhenius.add_argument("--engine", choices=("lmfit", "vectorised"), default="lmfit",
                           help="final local fit (default lmfit)")
    arrhenius.add_argument("--convention", choices=("sigma_T", "sigma"), default="sigma_T",
                           help="sigma*T = A exp(-Ea/kT) (default) or sigma = sigma0 exp(-Ea/kT)")
    arrhenius.add_argument("--vtf", action="store_true",
                           help="also fit VTF sigma = A T^-1/2 exp(-B/(T-T0)) (>= 4 temperatures)")
    add_json_flag(arrhenius)
    arrhenius.set_defaults(handler=_arrhenius)


def _temperatures(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise SystemExit(f"labkit eis arrhenius: error: --temperatures must be numbers "
                         f"separated by commas, got {text!r}") from None


def _arrhenius(args: argparse.Namespace) -> Outcome:
    from labkit.cli._eis import assignment
    from labkit.eis.arrhenius import arrhenius_series
    from labkit.eis.models import get_model

    model = args.model or "auto"
    circuit = args.circuit or (model if model == "auto" else get_model(model).circuit)
    series = arrhenius_series(
        args.files, area_square_centimeter=args.area, thickness_centimeter=args.thickness,
        circuit=circuit, temperatures_celsius=_temperatures(args.temperatures),
        convention=args.convention, vtf=args.vtf, workers=args.workers,
        lead_resistance_ohm=args.lead_resistance, assign=assignment(args.assign),
        engine=args.engine)
    payload = series.to_dict()
    failed = any("error" in point for point in payload["points"])
    return Outcome(payload, _text(payload), EXIT_INPUT_ERROR if failed else EXIT_OK)


def _text(payload: dict[str, Any]) -> str:
    lines = [f"convention {payload['convention']}   circuit {payload['circuit']}   "
             f"temperatures from {', '.join(payload['temperature_sources']) or '-'}"]
    if "model_selection" in payload:
        lines.append(f"model {payload['model_selection']['model']}: "
                     f"{payload['model_selection']['reason']}")
    for role in ("bulk", "grain_boundary", "total"):
        fit = payload[role]
        if "error" in fit:
            lines.append(f"{role:<15} {fit['error']['message']}")
            continue
        ea, s25 = fit["activation_energy_electronvolt"], fit["sigma_25c_siemens_per_centimeter"]
        lines.append(f"{role:<15} Ea {ea['value']:.4f} ± {ea['stderr']:.4f} eV   "
                     f"σ(25 °C) {number(s25['value'])} ± {number(s25['stderr'], 2)} S/cm   "
                     f"R² {fit['r_squared']:.5f}")
        if "vtf" in fit:
            vtf = fit["vtf"]
            b, t0 = vtf["pseudo_activation_kelvin"], vtf["vogel_temperature_kelvin"]
            lines.append(f"{'':<15} VTF B {b['value']:.4g} ± {b['stderr']:.2g} K   "
                         f"T0 {t0['value']:.4g} ± {t0['stderr']:.2g} K   k·B "
                         f"{vtf['pseudo_activation_energy_electronvolt']['value']:.4f} eV")
    for arc in payload["arcs"]:
        if "error" in arc:
            lines.append(f"arc {arc['resistor']:<11} ({arc['role']}) {arc['error']['message']}")
            continue
        ea = arc["activation_energy_electronvolt"]
        lines.append(f"arc {arc['resistor']:<11} ({arc['role']}) Ea {ea['value']:.4f} ± "
                     f"{ea['stderr']:.4f} eV   σ(25 °C) "
                     f"{number(arc['sigma_25c_siemens_per_centimeter']['value'])} S/cm")
    lines.append(f"{'T [°C]':>8} {'from':<9} {'σ bulk':>11} {'σ gb':>11} {'σ total':>11}  "
                 "bulk from  file")
    for point in payload["points"]:
        sigma = point["sigma_siemens_per_centimeter"]
        cells = [number(sigma[r]["value"]) if r in sigma else "-"
                 for r in ("bulk", "grain_boundary", "total")]
        note = f"  ({point['error']['message']})" if "error" in point else ""
        temperature = point["temperature_celsius"]
        lines.append(f"{'-' if temperature is None else f'{temperature:.4g}':>8} "
                     f"{point['temperature_source'] or '-':<9} {cells[0]:>11} {cells[1]:>11} "
                     f"{cells[2]:>11}  {point.get('bulk_from') or '-'}  {point['file']}{note}")
    return "\n".join(lines)
