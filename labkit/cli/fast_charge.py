"""``labkit fast-charge``: time to 80 % SOC, capacity in 10/15 min, CC fraction per charge."""

from __future__ import annotations

import argparse

from labkit.cli import Outcome, add_json_flag
from labkit.cli._records import add_cycling_input


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``fast-charge``."""
    parser = subcommands.add_parser(
        "fast-charge",
        help="per charge: time to 80 %% SOC, capacity in 10 and 15 min, CC fraction, USABC goal",
        description=(
            "For every charge of FILE: time to 80 %% SOC, capacity charged in 10 and 15 "
            "minutes, the constant-current fraction of a CC-CV charge, and whether the US ABC "
            "goal (80 %% SOC in 15 min) is met. SOC is relative to --capacity (or the file's "
            "nominal capacity); without one, to each charge's own final capacity. A "
            "symmetric-cell test or a potentiostatic hold is refused."
        ),
    )
    add_cycling_input(parser, "--capacity")
    add_json_flag(parser)
    parser.set_defaults(handler=_fast_charge)


def _fast_charge(args: argparse.Namespace) -> Outcome:
    from labkit.analysis.fast_charge import fast_charge_metrics
    from labkit.cli._records import cycling_record, number

    record = cycling_record(args.file)
    result = fast_charge_metrics(record, nominal_capacity_ampere_hour=args.capacity)
    payload = {"file": args.file, **result.to_dict()}
    lines = [f"SOC relative to {result.soc_reference}",
             f"{'charge':>6} {'cycle':>5} {'Q/Ah':>10} {'t80/min':>8} {'Q10/Ah':>10} "
             f"{'Q15/Ah':>10} {'CC frac':>8} USABC"]
    for row in result.charges.itertuples():
        meets = {True: "met", False: "not met"}.get(row.meets_usabc_fast_charge, "-")
        lines.append(f"{row.charge:>6} {row.cycle_count:>5} {number(row.capacity_ampere_hour):>10} "
                     f"{number(row.time_to_80_percent_second / 60):>8} "
                     f"{number(row.capacity_in_10_min_ampere_hour):>10} "
                     f"{number(row.capacity_in_15_min_ampere_hour):>10} "
                     f"{number(row.cc_fraction):>8} {meets}")
    return Outcome(payload, "\n".join(lines))
