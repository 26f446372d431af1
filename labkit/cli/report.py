"""``labkit report``: one self-contained HTML page about files or a lab store."""

from __future__ import annotations

import argparse

from labkit.cli import EXIT_INPUT_ERROR, EXIT_OK, Outcome, add_json_flag
from labkit.cli._eis import add_electrolyte_options


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``report``."""
    parser = subcommands.add_parser(
        "report",
        help="write an HTML report (figures, analyses, metadata) of files or a store",
        description=(
            "Read every INPUT (a file labkit reads, a Parquet record, a folder of them, or a "
            "lab store folder), run the analyses that apply to each record (EIS: "
            "Kramers-Kronig, the solid-electrolyte model chosen by BIC ('auto'), "
            "conductivity, DRT; cycling: summary, dQ/dV, rate "
            "capability, fast charge; chronoamperometry: transference number; symmetric "
            "stepped current: CCD) and write one self-contained HTML page with the figures "
            "embedded. Sample values the files do not state can be given here."
        ),
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="files, folders or a store")
    parser.add_argument("-o", "--output", required=True, metavar="HTML",
                        help="the HTML file to write (replaced atomically)")
    parser.add_argument("--title", default="labkit report", help="page title")
    parser.add_argument("--area", type=float, metavar="CM2",
                        help="electrode / pellet area in cm² for records that do not state it")
    parser.add_argument("--thickness", type=float, metavar="CM",
                        help="electrolyte thickness in cm for records that do not state it")
    parser.add_argument("--mass", type=float, metavar="G",
                        help="active mass in g for records that do not state it")
    parser.add_argument("--capacity", type=float, metavar="AH",
                        help="nominal capacity in Ah for records that do not state it")
    add_electrolyte_options(parser)
    add_json_flag(parser)
    parser.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> Outcome:
    from labkit.cli._eis import assignment
    from labkit.report import write_report

    sample = {"area_square_centimeter": args.area, "thickness_centimeter": args.thickness,
              "active_mass_gram": args.mass, "nominal_capacity_ampere_hour": args.capacity}
    summary = write_report(args.inputs, args.output, title=args.title, sample=sample,
                           interpretation={"lead_resistance_ohm": args.lead_resistance,
                                           "assign": assignment(args.assign)})
    lines = [f"{section['kind']:<30} {section['figures']:>2} figures  {section['file']}"
             for section in summary.sections]
    lines.extend(f"unreadable: {failed['file']}: {failed['error']}"
                 for failed in summary.failed_inputs)
    lines.append(f"wrote {summary.output} ({summary.records} records)")
    return Outcome(summary.to_dict(), "\n".join(lines),
                   EXIT_INPUT_ERROR if summary.failed_inputs else EXIT_OK)
