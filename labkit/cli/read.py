"""``labkit read`` and ``labkit formats``."""

from __future__ import annotations

import argparse

from labkit.cli import Outcome, add_json_flag, add_timezone_option
from labkit.cli._table import aligned


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``read`` and ``formats``."""
    read = subcommands.add_parser(
        "read",
        help="parse one instrument file and summarise it",
        description=(
            "Parse FILE (format detected from its content) and print what it holds: "
            "vendor, format, technique, rows, columns with units, time span and cycles. "
            "With -o, also save the tidy table and its metadata as Parquet."
        ),
    )
    read.add_argument("file", metavar="FILE", help="cycler or impedance file")
    read.add_argument("--format", metavar="NAME", help="skip detection (see `labkit formats`)")
    read.add_argument("-o", "--output", metavar="OUT.parquet", help="write the record as Parquet")
    add_timezone_option(read)
    add_json_flag(read)
    read.set_defaults(handler=_read)

    formats = subcommands.add_parser("formats", help="list the file formats labkit reads",
                                     description="List the file formats labkit reads.")
    add_json_flag(formats)
    formats.set_defaults(handler=_formats)


def _read(args: argparse.Namespace) -> Outcome:
    import labkit

    record = labkit.read(args.file, format=args.format, timezone=args.timezone)
    summary = record.summary()
    if args.output:
        record.to_parquet(args.output)
        summary["output"] = args.output
    return Outcome(summary, _summary_text(summary))


def _summary_text(summary: dict) -> str:
    lines = [
        f"file       {summary['file']}",
        f"format     {summary['file_format']} ({summary['vendor']}), {summary['kind']} record",
        f"technique  {', '.join(summary['technique']) or 'not stated'}",
        f"started    {summary['start_time'] or 'not stated'}",
        f"rows       {summary['rows']}",
    ]
    if summary.get("time_span_second") is not None:
        lines.append(f"time span  {summary['time_span_second']:.6g} s")
    if "cycles" in summary:
        first_last = summary.get("cycle_range")
        lines.append(f"cycles     {summary['cycles']}"
                     + (f" (cycle {first_last[0]} to {first_last[1]})" if first_last else ""))
    if "spectra" in summary:
        lines.append(f"spectra    {summary['spectra']}")
    lines.append("columns")
    lines += aligned([[column["name"],
                       f"[{column['unit']}]" if column["unit"] else f"({column['no_unit']})",
                       column["dtype"]] for column in summary["columns"]], indent="  ")
    lines += [f"note       {note}" for note in summary["notes"]]
    if "output" in summary:
        lines.append(f"written    {summary['output']}")
    return "\n".join(lines)


def _formats(args: argparse.Namespace) -> Outcome:
    from labkit.registry import formats

    entries = [
        {"name": f.name, "vendor": f.vendor, "kind": f.kind, "extensions": list(f.extensions),
         "description": f.description}
        for f in formats()
    ]
    text = "\n".join(aligned(
        [[e["name"], e["vendor"], e["kind"], " ".join(e["extensions"]), e["description"]]
         for e in entries],
        header=["format", "vendor", "kind", "extensions", "description"]))
    return Outcome({"formats": entries}, text)
