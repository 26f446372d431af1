"""What the ``labkit eis`` commands share: their command group and spectrum inputs."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

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


def add_electrolyte_options(parser: argparse.ArgumentParser) -> None:
    """``--lead-resistance OHM`` and ``--assign R1=bulk,R2=grain_boundary``."""
    parser.add_argument("--lead-resistance", metavar="OHM", type=float, default=0.0,
                        help="resistance of cell and cables measured with the electrodes "
                             "shorted, subtracted from a bulk taken from the high-frequency "
                             "intercept (default 0, stated in the notes)")
    parser.add_argument("--assign", metavar="R1=ROLE,...",
                        help="override the automatic arc assignment, e.g. "
                             "R1=bulk,R2=grain_boundary (roles: bulk, grain_boundary, "
                             "surface_layer, interface, electrochemical_reaction, series)")


def assignment(text: str | None) -> dict[str, str] | None:
    """``--assign``'s ``R1=bulk,R2=grain_boundary`` as a mapping (exit 2 when malformed)."""
    if text is None:
        return None
    from labkit.eis.conductivity import ROLES

    pairs = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, _, role = part.partition("=")
        if not name.strip() or role.strip() not in ROLES:
            raise SystemExit(f"labkit: error: --assign takes RESISTOR=ROLE pairs separated by "
                             f"commas, roles {', '.join(ROLES)}; got {part!r}")
        pairs[name.strip()] = role.strip()
    return pairs


def batch_text(entries: list[dict[str, Any]],
               describe: Callable[[str, dict[str, Any]], list[str]]) -> str:
    """The text output of a batch command: per entry its head (``FILE  spectrum N``) with the
    error when it failed, else the lines ``describe(head, entry)`` gives."""
    lines = []
    for entry in entries:
        head = f"{entry['file']}  spectrum {entry['spectrum']}"
        if "error" in entry:
            lines.append(f"{head}: {entry['error']['type']}: {entry['error']['message']}")
            continue
        lines.extend(describe(head, entry))
    return "\n".join(lines)
