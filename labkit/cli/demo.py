"""``labkit demo``: labkit's main jobs on example data it generates (no network needed)."""

from __future__ import annotations

import argparse

from labkit.cli import Outcome, add_json_flag


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``demo``."""
    demo = subcommands.add_parser(
        "demo",
        help="run labkit on example data it generates, and compare with the known answers",
        description=(
            "Generate example cycler and impedance files with known answers, read them, "
            "run the analyses (cycling, rate capability, CCD, transference number, EIS "
            "conductivity), ingest them into a lab store and write a fast-charge protocol. "
            "Prints labkit's numbers next to the truth."
        ),
    )
    demo.add_argument("--out", default="labkit-demo", metavar="DIR",
                      help="folder for the example data, store and outputs (default labkit-demo)")
    add_json_flag(demo)
    demo.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> Outcome:
    from labkit.demo import run_demo

    report = run_demo(args.out)
    return Outcome(report.to_dict(), report.text())
