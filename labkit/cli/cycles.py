"""``labkit cycles``: per-cycle capacities, efficiencies, retention."""

from __future__ import annotations

import argparse

from labkit.cli import Outcome, add_json_flag
from labkit.cli._records import add_cycling_input


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``cycles``."""
    parser = subcommands.add_parser(
        "cycles",
        help="per-cycle capacity, energy, efficiency and retention of a cycling file",
        description=(
            "Summarise every cycle of FILE: charge/discharge capacity and energy, coulombic "
            "and energy efficiency, mean voltages, capacity retention and the first cycle "
            "below the retention threshold. Capacities come from the cycler's own counters "
            "when the file has them, else are integrated from the current (the output says "
            "which). With --mass/--area, specific (mAh/g) and areal (mAh/cm²) values too. "
            "FILE may also be a per-cycle summary table (BatteryArchive, batterydata, "
            "Novonix): its own numbers are shown, completed with what it lacks. A "
            "symmetric-cell test (labkit ccd) or a potentiostatic hold (labkit transference) "
            "is refused."
        ),
    )
    add_cycling_input(parser, "--mass", "--area")
    parser.add_argument("--threshold", type=float, default=0.8, metavar="FRACTION",
                        help="retention threshold (default 0.8)")
    parser.add_argument("--integrate", action="store_true",
                        help="integrate the current even when the file has capacity columns")
    add_json_flag(parser)
    parser.set_defaults(handler=_cycles)


def _cycles(args: argparse.Namespace) -> Outcome:
    from labkit.analysis.cycling import summarize_cycles
    from labkit.cli._records import cycles_record, number

    record = cycles_record(args.file)
    summary = summarize_cycles(record, active_mass_gram=args.mass,
                               area_square_centimeter=args.area,
                               retention_threshold=args.threshold,
                               use_vendor_capacity=not args.integrate)
    payload = {"file": args.file, **summary.to_dict()}
    lines = [f"capacity from {summary.capacity_source}; cycles: {summary.cycle_source}",
             f"{'cycle':>6} {'Q_chg/Ah':>11} {'Q_dis/Ah':>11} {'CE':>8} {'EE':>8} "
             f"{'V_chg/V':>8} {'V_dis/V':>8} {'retention':>9}"]
    for row in summary.table.itertuples():
        lines.append(
            f"{row.cycle_count:>6} {number(row.charge_capacity_ampere_hour, 6):>11} "
            f"{number(row.discharge_capacity_ampere_hour, 6):>11} "
            f"{number(row.coulombic_efficiency):>8} {number(row.energy_efficiency):>8} "
            f"{number(row.mean_charge_voltage_volt):>8} "
            f"{number(row.mean_discharge_voltage_volt):>8} {number(row.capacity_retention):>9}")
    below = summary.cycle_below_threshold
    lines.append(f"retention below {args.threshold:.0%} from cycle {below}" if below is not None
                 else f"retention never below {args.threshold:.0%}")
    return Outcome(payload, "\n".join(lines))
