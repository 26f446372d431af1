"""``labkit protocol``: list generators, make schedules, check schedule files."""

from __future__ import annotations

import argparse
import ast

from labkit.cli import EXIT_INPUT_ERROR, EXIT_OK, Outcome, add_json_flag, command_group
from labkit.cli._table import aligned
from labkit.errors import ProtocolError


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``protocol list|make|check|formats``."""
    group = command_group(subcommands, "protocol",
                          "generate, convert and check cycler test schedules")
    listing = group.add_parser("list", help="the schedule generators and their parameters")
    add_json_flag(listing)
    listing.set_defaults(handler=_list)

    formats = group.add_parser("formats", help="schedule file formats labkit writes and reads")
    add_json_flag(formats)
    formats.set_defaults(handler=_formats)

    make = group.add_parser(
        "make",
        help="generate a schedule and write it for a cycler",
        description=(
            "Generate schedule NAME (see `labkit protocol list`) for a cell and write it. "
            "Generator parameters are given as --NAME VALUE (e.g. --rate 2 --cycles 50, "
            "--rates 0.1,1,5). The schedule is validated first; an unsafe one is refused."
        ),
    )
    make.add_argument("name", metavar="NAME")
    _add_cell_arguments(make)
    make.add_argument("--format", required=True, metavar="FORMAT",
                      help="a writable format of `labkit protocol formats`: maccor, biologic, "
                           "biologic-bt, neware, arbin, pybamm, yaml, json or table")
    make.add_argument("-o", "--output", required=True, metavar="FILE")
    add_json_flag(make)
    make.set_defaults(handler=_make, accepts_extra=True)

    check = group.add_parser(
        "check", help="read a schedule file (any supported format or YAML) and validate it",
        description=(
            "Read FILE and check it against the cell it states, or against the cell given "
            "(--cell and the flags replace what the file states). C-rates in a file whose "
            "cycler is given the capacity at test start (Maccor, BioLogic, Arbin, PyBaMM) "
            "are valid with a note; given a capacity, they are resolved and checked. Vendor "
            "steps labkit does not model are kept opaque and reported."),
    )
    check.add_argument("file", metavar="FILE")
    check.add_argument("--format", metavar="FORMAT", help="skip detection")
    _add_cell_arguments(check)
    add_json_flag(check)
    check.set_defaults(handler=_check)


def _add_cell_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cell", metavar="cell.yaml",
                        help="YAML/JSON with the Cell fields (nominal_capacity_ampere_hour, ...)")
    parser.add_argument("--capacity", type=float, metavar="AH", help="nominal capacity in Ah")
    parser.add_argument("--area", type=float, metavar="CM2", help="electrode area in cm²")
    parser.add_argument("--vmin", type=float, metavar="V", help="lower voltage limit")
    parser.add_argument("--vmax", type=float, metavar="V", help="upper voltage limit")
    parser.add_argument("--imax", type=float, metavar="A", help="largest current in A")


def _list(args: argparse.Namespace) -> Outcome:
    from labkit.protocols.generators import GENERATORS, describe

    entries = [describe(name) for name in GENERATORS]
    text = "\n".join(
        f"{e['name']:<24} {e['summary']}\n{'':<24} "
        + ", ".join(f"{k}={v!r}" for k, v in e["parameters"].items())
        for e in entries)
    return Outcome({"generators": entries}, text)


def _formats(args: argparse.Namespace) -> Outcome:
    from labkit.protocols.formats import schedule_formats

    entries = [{"name": f.name, "extension": f.extension, "description": f.description,
                "write": f.render is not None, "read": f.parse is not None,
                "capacity_at_start": f.capacity_at_start}
               for f in schedule_formats()]
    text = "\n".join(aligned(
        [[e["name"], e["extension"],
          " ".join(verb for verb in ("write", "read") if e[verb]), e["description"]]
         for e in entries],
        header=["format", "extension", "labkit", "description"]))
    return Outcome({"formats": entries}, text)


def _parse_value(text: str):
    if "," in text:
        return tuple(_parse_value(part) for part in text.split(",") if part)
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def generator_parameters(extra: list[str]) -> dict:
    """``["--rate", "2", "--rates", "0.1,1"]`` -> ``{"rate": 2, "rates": (0.1, 1)}``."""
    params, index = {}, 0
    while index < len(extra):
        flag = extra[index]
        if not flag.startswith("--"):
            raise ProtocolError(f"expected --NAME VALUE, found {flag!r}")
        name, _, inline = flag[2:].partition("=")
        if inline:
            value, index = inline, index + 1
        elif index + 1 < len(extra):
            value, index = extra[index + 1], index + 2
        else:
            raise ProtocolError(f"parameter {flag} has no value")
        params[name.replace("-", "_")] = _parse_value(value)
    return params


def _cell_values(args: argparse.Namespace) -> dict:
    """The Cell fields given by ``--cell FILE`` and the flags (the flags win)."""
    import dataclasses

    import yaml

    from labkit.protocols.schedule import Cell

    values = {}
    if args.cell:
        try:
            with open(args.cell, encoding="utf-8") as handle:
                values = yaml.safe_load(handle) or {}
        except OSError as exc:
            raise ProtocolError(f"cannot read the cell file: {exc.strerror}",
                                file=args.cell) from None
        except yaml.YAMLError as exc:
            raise ProtocolError(f"the cell file is not YAML/JSON: {exc}", file=args.cell) from None
        if not isinstance(values, dict):
            raise ProtocolError("the cell file must hold a mapping of Cell fields",
                                file=args.cell)
    for flag, name in (("capacity", "nominal_capacity_ampere_hour"),
                       ("area", "area_square_centimeter"), ("vmin", "min_voltage_volt"),
                       ("vmax", "max_voltage_volt"), ("imax", "max_current_ampere")):
        if getattr(args, flag) is not None:
            values[name] = getattr(args, flag)
    known = {f.name for f in dataclasses.fields(Cell)}
    unknown = set(values) - known
    if unknown:
        raise ProtocolError(f"unknown cell fields {sorted(unknown)}; known: {sorted(known)}",
                            file=args.cell)
    return values


def _make(args: argparse.Namespace) -> Outcome:
    import inspect

    from labkit.protocols import formats
    from labkit.protocols.generators import GENERATORS

    if args.name not in GENERATORS:
        raise ProtocolError(f"unknown generator {args.name!r}; see `labkit protocol list`")
    generator = GENERATORS[args.name]
    params = generator_parameters(args.extra)
    accepted = set(inspect.signature(generator).parameters) - {"cell"}
    unknown = set(params) - accepted
    if unknown:
        raise ProtocolError(f"{args.name} has no parameters {sorted(unknown)}; "
                            f"it takes {sorted(accepted)}")
    from labkit.protocols.schedule import Cell

    schedule = generator(Cell(**_cell_values(args)), **params)
    path = formats.write(schedule, args.output, args.format)
    steps = sum(1 for _ in schedule.flat_steps())
    payload = {"name": schedule.name, "format": args.format, "output": str(path),
               "steps": steps}
    return Outcome(payload, f"wrote {schedule.name!r} ({steps} steps) as {args.format} to {path}")


def _check(args: argparse.Namespace) -> Outcome:
    from labkit.protocols.check import check_file
    from labkit.protocols.table import describe_end, describe_step

    report = check_file(args.file, args.format, _cell_values(args))
    steps = [{"label": step.label, "kind": step.kind, "set_point": describe_step(step),
              "ends": [describe_end(e) for e in step.ends],
              "loops": [loop.label for loop in loops],
              **({"vendor_step": step.vendor_step} if step.kind == "opaque" else {})}
             for step, loops in report.schedule.flat_steps()]
    payload = {**report.to_dict(), "steps": steps}
    problems, notes = report.problems, report.notes
    lines = [f"{args.file}: {report.format} schedule {report.schedule.name!r}, {len(steps)} "
             "steps, " + ("valid" if report.valid else f"{len(problems)} problems")
             + (f", {len(notes)} notes" if notes else "")]
    lines += [f"  {p.step}: {p.rule}: {p.message}" for p in problems]
    lines += [f"  note {n.step}: {n.rule}: {n.message}" for n in notes]
    return Outcome(payload, "\n".join(lines), EXIT_OK if report.valid else EXIT_INPUT_ERROR)
