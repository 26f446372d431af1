"""``labkit dqdv``: differential capacity curves of a cycling file."""

from __future__ import annotations

import argparse

from labkit.cli import Outcome, add_json_flag
from labkit.cli._records import add_cycling_input


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``dqdv``."""
    parser = subcommands.add_parser(
        "dqdv",
        help="differential capacity dQ/dV of the charges and discharges",
        description=(
            "dQ/dV of each charge and discharge of FILE: voltage made monotonic, Q "
            "interpolated onto a uniform voltage grid (--step), then differentiated by a "
            "Savitzky-Golay filter (--window points, order 2). Prints the main peak of each "
            "curve; -o writes the curves as CSV. Default cycles: every cycle with a curve "
            "(a half cycle of at least --window samples and grid points) when there are at "
            "most 50, else 50 of them evenly spaced from the first to the last. FILE must hold "
            "constant-current charges or discharges of a cell (a symmetric-cell test or a "
            "potentiostatic hold is refused)."
        ),
    )
    add_cycling_input(parser)
    cycles = parser.add_mutually_exclusive_group()
    cycles.add_argument("--cycle", type=int, action="append", metavar="N",
                        help="cycle to analyse (repeatable; default: at most 50, see above)")
    cycles.add_argument("--all-cycles", action="store_true",
                        help="every cycle with a curve, however many")
    parser.add_argument("--step", type=float, default=0.002, metavar="V",
                        help="voltage grid spacing (default 0.002 V)")
    parser.add_argument("--window", type=int, default=11, metavar="N",
                        help="Savitzky-Golay window in grid points, odd (default 11)")
    parser.add_argument("-o", "--output", metavar="OUT.csv", help="write the curves as CSV")
    add_json_flag(parser)
    parser.set_defaults(handler=_dqdv)


def _dqdv(args: argparse.Namespace) -> Outcome:
    from labkit.analysis.dqdv import differential_capacity
    from labkit.cli._records import cycling_record, number
    from labkit.errors import LabkitError
    from labkit.fileio import atomic_write

    record = cycling_record(args.file)
    try:
        result = differential_capacity(record, cycles="all" if args.all_cycles else args.cycle,
                                       voltage_step_volt=args.step, window_points=args.window)
    except ValueError as exc:  # --window or --step out of range
        raise LabkitError(str(exc)) from exc
    peaks = [{"cycle_count": int(row.cycle_count), "direction": row.direction,
              "voltage_volt": float(row.voltage_volt),
              "dq_dv_ampere_hour_per_volt": float(row.dq_dv_ampere_hour_per_volt)}
             for row in result.main_peaks().itertuples()]
    payload = {"file": args.file, "method": result.method, "selection": result.selection,
               "voltage_step_volt": args.step, "window_points": args.window, "peaks": peaks}
    if args.output:
        with atomic_write(args.output, "w", encoding="utf-8", newline="\n") as handle:
            result.curves.to_csv(handle, index=False, float_format="%.9g")
        payload["output"] = args.output
    else:
        payload["curves"] = result.to_dict()["curves"]
    lines = [f"cycles: {result.selection}",
             f"{'cycle':>5} {'direction':>9} {'peak V':>8} {'dQ/dV Ah/V':>11}"]
    lines += [f"{p['cycle_count']:>5} {p['direction']:>9} {number(p['voltage_volt']):>8} "
              f"{number(p['dq_dv_ampere_hour_per_volt']):>11}" for p in peaks]
    if args.output:
        lines.append(f"curves written to {args.output}")
    return Outcome(payload, "\n".join(lines))
