"""What the ``labkit eis`` commands share: their command group and spectrum inputs."""

from __future__ import annotations

import argparse

from labkit.cli import command_group

EIS_HELP = "impedance analysis: Kramers-Kronig, DRT, circuit fitting, Arrhenius"


def eis_command(subcommands: argparse._SubParsersAction, name: str,
                **parser_options) -> argparse.ArgumentParser:
    """The parser of ``labkit eis NAME``."""
    return command_group(subcommands, "eis", EIS_HELP).add_parser(name, **parser_options)


def add_spectra_input(parser: argparse.ArgumentParser, *, spectrum: bool = True,
                      workers: bool = False) -> None:
    """``FILE...``, and optionally ``--spectrum N`` and ``--workers N``."""
    parser.add_argument("files", metavar="FILE", nargs="+", help="impedance files labkit reads")
    if spectrum:
        parser.add_argument("--spectrum", metavar="N", type=int,
                            help="only spectrum N (from 0) of each file")
    if workers:
        parser.add_argument("--workers", metavar="N", type=_positive_int, default=1,
                            help="worker processes for the batch (default: 1)")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value
