"""``labkit ccd``: critical current density of a stepped-current symmetric-cell test."""

from __future__ import annotations

import argparse

from labkit.cli import Outcome, add_json_flag
from labkit.cli._records import add_cycling_input


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``ccd``."""
    from labkit.analysis._ccd_criteria import CcdCriteria

    defaults = CcdCriteria()
    parser = subcommands.add_parser(
        "ccd",
        help="critical current density of a Li|SE|Li stepped-current test",
        description=(
            "Find the half cycles of FILE, their current density (--area), polarisation and "
            "the first failure: a sudden voltage drop, a collapse to near-zero voltage, "
            "erratic noise (soft short) or the overpotential limit. Prints the last density "
            "passed (the CCD), the failing one, the criterion and when it fired. FILE must be "
            "such a test: constant-current half cycles whose voltage changes sign with the "
            "current, at a current density that steps up; anything else is refused with "
            "what was found."
        ),
    )
    add_cycling_input(parser)
    parser.add_argument("--area", type=float, metavar="CM2",
                        help="electrode area in cm² (required unless the file states it)")
    for flag, field, metavar, meaning in (
        ("--drop-fraction", "drop_fraction", "F", "sudden |V| drop counted as a short"),
        ("--collapse-fraction", "collapse_fraction", "F",
         "|V| below this fraction of the first polarisation is a collapse"),
        ("--noise-fraction", "noise_fraction", "F",
         "voltage noise relative to polarisation counted as a soft short"),
        ("--limit", "overpotential_limit_volt", "V", "overpotential limit in V, 0 to disable"),
    ):
        default = getattr(defaults, field)
        parser.add_argument(flag, type=float, default=default, metavar=metavar,
                            help=f"{meaning} (default {default})")
    add_json_flag(parser)
    parser.set_defaults(handler=_ccd)


def _ccd(args: argparse.Namespace) -> Outcome:
    from labkit.analysis.ccd import CcdCriteria, critical_current_density
    from labkit.cli._records import cycling_record, number

    record = cycling_record(args.file)
    criteria = CcdCriteria(drop_fraction=args.drop_fraction,
                           collapse_fraction=args.collapse_fraction,
                           noise_fraction=args.noise_fraction,
                           overpotential_limit_volt=args.limit if args.limit else None)
    result = critical_current_density(record, args.area, criteria)
    payload = {"file": args.file, **result.to_dict()}
    lines = [f"{'half':>5} {'mA/cm2':>8} {'dir':>9} {'mean |V|':>9} {'max |V|':>9} status"]
    for row in result.half_cycles.itertuples():
        lines.append(f"{row.half_cycle:>5} "
                     f"{number(row.current_density_milliampere_per_square_centimeter):>8} "
                     f"{row.direction:>9} {number(row.mean_polarisation_volt):>9} "
                     f"{number(row.max_polarisation_volt):>9} {row.status}")
    if result.failed:
        lines.append(
            f"CCD {number(result.ccd_milliampere_per_square_centimeter)} mA/cm² (last passed); "
            f"failed at {number(result.failed_at_milliampere_per_square_centimeter)} mA/cm² by "
            f"{result.criterion} at t = {number(result.failure_time_second, 7)} s; critical "
            f"areal capacity "
            f"{number(result.critical_areal_capacity_milliampere_hour_per_square_centimeter)}"
            f" mAh/cm²; protocol {result.protocol}")
    else:
        lines.append(f"no failure: every step passed up to "
                     f"{number(result.ccd_milliampere_per_square_centimeter)} mA/cm² "
                     f"(CCD is higher); protocol {result.protocol}")
    return Outcome(payload, "\n".join(lines))
