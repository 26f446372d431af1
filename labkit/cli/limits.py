"""``labkit limits``: electrolyte-limited current density and the C-rate it supports."""

from __future__ import annotations

import argparse

from labkit.cli import Outcome, add_json_flag


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``limits``."""
    parser = subcommands.add_parser(
        "limits",
        help="electrolyte-limited current density, Sand's time and highest C-rate",
        description=(
            "From conductivity, transference number and thickness (and, when known, salt "
            "diffusivity and concentration): the concentration-limited current "
            "2FDc/((1-t+)L), the ohmic limit sigma*eta/L, Sand's time, and the highest C-rate "
            "for a cathode areal capacity. Formulas and assumptions are printed with --json."
        ),
    )
    parser.add_argument("--sigma", type=float, required=True, metavar="S_CM",
                        help="ionic conductivity in S/cm")
    parser.add_argument("--t-plus", type=float, required=True, metavar="T",
                        help="Li+ transference number (1 for a single-ion conductor)")
    parser.add_argument("--thickness", type=float, required=True, metavar="CM",
                        help="electrolyte/separator thickness in cm")
    parser.add_argument("--overpotential", type=float, default=0.1, metavar="V",
                        help="ohmic overpotential allowed (default 0.1 V)")
    parser.add_argument("--diffusivity", type=float, metavar="CM2_S",
                        help="salt diffusion coefficient in cm²/s")
    parser.add_argument("--concentration", type=float, metavar="MOL_L",
                        help="salt concentration in mol/L")
    parser.add_argument("--areal-capacity", type=float, metavar="MAH_CM2",
                        help="cathode areal capacity in mAh/cm²")
    parser.add_argument("--current-density", type=float, metavar="MA_CM2",
                        help="current density for Sand's time, mA/cm²")
    add_json_flag(parser)
    parser.set_defaults(handler=_limits)


def _limits(args: argparse.Namespace) -> Outcome:
    from labkit.analysis.limits import electrolyte_limits
    from labkit.cli._records import number
    from labkit.errors import LabkitError

    try:
        result = electrolyte_limits(
            conductivity_siemens_per_centimeter=args.sigma, transference_number=args.t_plus,
            thickness_centimeter=args.thickness, overpotential_volt=args.overpotential,
            diffusivity_square_centimeter_per_second=args.diffusivity,
            concentration_mole_per_liter=args.concentration,
            areal_capacity_milliampere_hour_per_square_centimeter=args.areal_capacity,
            current_density_milliampere_per_square_centimeter=args.current_density)
    except ValueError as exc:
        raise LabkitError(str(exc)) from exc
    lines = [
        f"concentration limit  {number(result.limiting_current_milliampere_per_square_centimeter)}"
        " mA/cm²",
        f"ohmic limit          {number(result.ohmic_limit_milliampere_per_square_centimeter)}"
        f" mA/cm² at {args.overpotential} V",
        f"electrolyte limit    "
        f"{number(result.electrolyte_limited_current_milliampere_per_square_centimeter)} mA/cm²"
        f" ({result.limiting_mechanism})",
        f"Sand's time          {number(result.sand_time_second)} s",
        f"highest C-rate       {number(result.max_c_rate_per_hour)} /h",
    ]
    return Outcome(result.to_dict(), "\n".join(lines))
