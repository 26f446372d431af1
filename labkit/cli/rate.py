"""``labkit rate``: capacity per C-rate, retention, recovery and the Tian fit."""

from __future__ import annotations

import argparse

from labkit.cli import Outcome, add_json_flag
from labkit.cli._records import add_cycling_input


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``rate``."""
    parser = subcommands.add_parser(
        "rate",
        help="rate capability: capacity per C-rate and the Tian et al. 2019 fit",
        description=(
            "Detect the C-rate of every cycle of FILE from its current and the capacity "
            "that defines 1C (--capacity, or --mass with --specific-capacity, or the file's "
            "nominal capacity), group repeated cycles per rate, and report mean capacity ± "
            "spread, retention vs the lowest rate, recovery, and the fit of "
            "Q(R) = Q_M[1 - (R tau)^n (1 - exp(-(R tau)^-n))] with tau and n uncertainties. "
            "FILE must hold constant-current half cycles at two or more C-rates."
        ),
    )
    add_cycling_input(parser, "--capacity", "--mass")
    parser.add_argument("--specific-capacity", type=float, metavar="MAH_G",
                        help="specific capacity in mAh/g (with --mass)")
    parser.add_argument("--direction", choices=("discharge", "charge"), default="discharge",
                        help="which half cycles' rate varies (default discharge)")
    add_json_flag(parser)
    parser.set_defaults(handler=_rate)


def _rate(args: argparse.Namespace) -> Outcome:
    from labkit.analysis.rate import rate_capability
    from labkit.cli._records import cycling_record, number

    if args.capacity is not None and args.specific_capacity is not None:
        raise SystemExit("labkit rate: give --capacity or --mass with --specific-capacity, "
                         "not both")
    record = cycling_record(args.file)
    result = rate_capability(record, nominal_capacity_ampere_hour=args.capacity,
                             active_mass_gram=args.mass,
                             specific_capacity_milliampere_hour_per_gram=args.specific_capacity,
                             direction=args.direction)
    payload = {"file": args.file, **result.to_dict()}
    lines = [f"1C = {number(result.reference_capacity_ampere_hour, 6)} Ah "
             f"({result.reference_source})",
             f"{'C-rate':>8} {'cycles':>9} {'Q/Ah':>11} {'±':>10} {'retention':>9}"]
    for row in result.rates.itertuples():
        lines.append(f"{number(row.c_rate_per_hour, 3):>8} "
                     f"{row.first_cycle:>4}-{row.last_cycle:<4} "
                     f"{number(row.mean_capacity_ampere_hour, 6):>11} "
                     f"{number(row.std_capacity_ampere_hour, 2):>10} {number(row.retention):>9}")
    for row in result.recovery.itertuples():
        lines.append(f"back at {number(row.c_rate_per_hour, 3)}C (cycles {row.first_cycle}-"
                     f"{row.last_cycle}): recovery {number(row.recovery)}")
    fit = result.tian_fit
    if fit is None:
        lines.append(f"Tian fit: not done ({result.tian_message})")
    else:
        lines.append(f"Tian fit: tau = {number(fit.tau_hour.value)} ± "
                     f"{number(fit.tau_hour.stderr, 2)} h, n = {number(fit.n.value)} ± "
                     f"{number(fit.n.stderr, 2)}, Q_M = {number(fit.q_max_ampere_hour.value, 6)}"
                     f" Ah{'' if fit.success else ' (' + fit.message + ')'}")
    return Outcome(payload, "\n".join(lines))
