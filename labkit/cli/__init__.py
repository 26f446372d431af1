"""The ``labkit`` command line.

Each module in this package adds its subcommands through a ``register(subcommands)``
function; a subcommand's handler takes the parsed arguments and returns a
:class:`Outcome` (the JSON payload, the text for people, the exit code). This
module only parses arguments and prints: no analysis happens here.

Exit codes: 0 done, 1 a labkit error on the input, 2 bad usage. With ``--json``
exactly one JSON object is printed on stdout; logs go to stderr.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import pkgutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from labkit import __version__
from labkit.errors import LabkitError

EXIT_OK, EXIT_INPUT_ERROR, EXIT_USAGE = 0, 1, 2


@dataclass
class Outcome:
    """What a subcommand hands back for printing.

    Attributes
    ----------
    payload
        The JSON object ``--json`` prints.
    text
        What a person sees without ``--json``.
    exit_code
        0 when everything succeeded, 1 when some input failed.
    """

    payload: dict[str, Any]
    text: str = ""
    exit_code: int = EXIT_OK
    extra: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[argparse.Namespace], Outcome]

_GROUPS: dict[str, argparse._SubParsersAction] = {}


def command_group(subcommands: argparse._SubParsersAction, name: str, help: str):
    """The sub-subcommand set of a group such as ``eis`` or ``protocol``, created once."""
    if name not in _GROUPS:
        group = subcommands.add_parser(name, help=help, description=help)
        _GROUPS[name] = group.add_subparsers(dest=f"{name}_command", metavar="COMMAND",
                                             required=True)
    return _GROUPS[name]


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    """The ``--json`` flag every subcommand has."""
    parser.add_argument("--json", action="store_true",
                        help="print exactly one JSON object on stdout (for pipelines)")


def add_timezone_option(parser: argparse.ArgumentParser) -> None:
    """``--timezone ZONE`` of the commands that read instrument files."""
    parser.add_argument("--timezone", metavar="ZONE",
                        help="time zone of the instrument computer's clock (e.g. Europe/Berlin):"
                             " local times a file writes without a zone are converted to UTC")


def to_json(payload: Any) -> str:
    """JSON text with numpy numbers converted and NaN/inf written as null."""
    return json.dumps(_plain(payload), ensure_ascii=False)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return _plain(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="labkit",
        description=(
            "labkit reads battery cycler and impedance files, analyses them and writes "
            "cycler protocols. Start with `labkit read FILE` to see what a file holds, "
            "or `labkit formats` for the formats it knows. Every command takes --json."
        ),
    )
    parser.add_argument("--version", action="version", version=f"labkit {__version__}")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _GROUPS.clear()
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}").register(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``labkit`` command."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "accepts_extra", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    as_json = getattr(args, "json", False)
    try:
        outcome: Outcome = args.handler(args)
    except LabkitError as exc:
        if as_json:
            print(to_json({"error": exc.to_dict()}))
        else:
            print(f"labkit: error: {exc}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    try:
        if as_json:
            print(to_json(outcome.payload))
        elif outcome.text:
            print(outcome.text)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader (e.g. `| head`) went away: not an error of ours
        sys.stdout = None
    return outcome.exit_code


if __name__ == "__main__":
    sys.exit(main())
