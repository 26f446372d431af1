"""``labkit transference``: Li⁺ transference number (Bruce–Vincent, Evans, Watanabe)."""

from __future__ import annotations

import argparse

from labkit.cli import Outcome, add_json_flag


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``transference``."""
    parser = subcommands.add_parser(
        "transference",
        help="Li+ transference number from chronoamperometry and EIS before/after",
        description=(
            "Bruce-Vincent t+ = I_ss(dV - I0 R0) / [I0 (dV - I_ss R_ss)] from the "
            "chronoamperometry --ca and the interfacial resistances fitted (circuit "
            "R0-p(R1,CPE1): R0 bulk, R1 interface) to --eis-before and --eis-after, or given "
            "with --r0/--rss/--rb. Also with I0 from Ohm's law, the uncorrected Evans ratio "
            "and the Watanabe variant, each with its propagated standard error. --ca must be a "
            "potentiostatic hold: over its longest run of current of one sign the voltage is "
            "held, varies less than the current and is a small step (at most 0.5 V unless --dv "
            "is given); anything else is refused with what was found."
        ),
    )
    parser.add_argument("--ca", required=True, metavar="FILE", help="chronoamperometry record")
    parser.add_argument("--eis-before", metavar="FILE", help="spectrum before polarisation")
    parser.add_argument("--eis-after", metavar="FILE", help="spectrum after polarisation")
    parser.add_argument("--dv", type=float, metavar="V",
                        help="applied potential step (default: median |V| of the CA)")
    parser.add_argument("--r0", type=float, metavar="OHM", help="interfacial resistance before")
    parser.add_argument("--rss", type=float, metavar="OHM", help="interfacial resistance after")
    parser.add_argument("--rb", type=float, metavar="OHM", help="bulk resistance")
    parser.add_argument("--circuit", default="R0-p(R1,CPE1)",
                        help="symmetric-cell circuit (default R0-p(R1,CPE1))")
    parser.add_argument("--bulk", default="R0", help="bulk resistance parameter (default R0)")
    parser.add_argument("--interface", default="R1",
                        help="interfacial resistance parameter (default R1)")
    add_json_flag(parser)
    parser.set_defaults(handler=_transference)


def _transference(args: argparse.Namespace) -> Outcome:
    from labkit.analysis.transference import transference_number
    from labkit.cli._records import cycling_record, impedance_record, number

    ca = cycling_record(args.ca)
    before = impedance_record(args.eis_before) if args.eis_before and args.r0 is None else None
    after = impedance_record(args.eis_after) if args.eis_after and args.rss is None else None
    result = transference_number(ca, eis_before=before, eis_after=after, r0_ohm=args.r0,
                                 rss_ohm=args.rss, rb_ohm=args.rb, delta_v_volt=args.dv,
                                 circuit=args.circuit, bulk=args.bulk, interface=args.interface)
    payload = {"ca": args.ca, "eis_before": args.eis_before, "eis_after": args.eis_after,
               **result.to_dict()}

    def line(label, estimate):
        if estimate is None:
            return f"{label:<28} - (needs the bulk resistance)"
        return f"{label:<28} {number(estimate.value)} ± {number(estimate.stderr, 2)}"

    lines = [
        line("t+ Bruce-Vincent", result.t_plus_bruce_vincent),
        line("t+ Bruce-Vincent (Ohm I0)", result.t_plus_bruce_vincent_ohm),
        line("t+ Watanabe", result.t_plus_watanabe),
        line("t+ Evans (uncorrected)", result.t_plus_evans),
        f"dV {number(result.delta_v_volt.value)} V ({result.delta_v_source}); "
        f"I0 {number(result.i0_ampere.value)} A; I_ss {number(result.iss_ampere.value)} A; "
        f"R0 {number(result.r0_ohm.value)} ohm; R_ss {number(result.rss_ohm.value)} ohm",
        f"steady state: {'yes' if result.steady_state else 'NO'} (drift "
        f"{result.steady_drift_fraction:+.2%} over the last {result.steady_window_second:.0f} s)",
    ]
    return Outcome(payload, "\n".join(lines))
