"""``labkit window``: oxidative and reductive onsets of linear sweeps and cyclic voltammograms."""

from __future__ import annotations

import argparse
from typing import Any

from labkit.cli import EXIT_INPUT_ERROR, EXIT_OK, Outcome, add_json_flag


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``window``."""
    parser = subcommands.add_parser(
        "window",
        help="electrochemical stability window (onset potentials) from LSV / CV files",
        description=(
            "For each FILE (a linear sweep or cyclic voltammogram), the oxidative onset on the "
            "first anodic sweep and the reductive onset on the first cathodic sweep: by current "
            "density thresholds above the capacitive/background current (a line fitted on the "
            "flat part of the sweep) and by the tangent method, each with its standard error, "
            "its sweep and sweep rate, and the evidence. Exit code 1 when a file could not be "
            "analysed (it is listed with its error; the others are still analysed)."
        ),
    )
    parser.add_argument("files", metavar="FILE", nargs="+", help="LSV or CV files labkit reads")
    parser.add_argument("--area", type=float, metavar="CM2",
                        help="working-electrode area in cm² (default: as the file states it)")
    parser.add_argument("--threshold", type=_thresholds, metavar="MA_CM2,...",
                        default=None, help="current density thresholds in mA/cm² above the "
                                           "background (default 0.01,0.1)")
    parser.add_argument("--reference-offset", type=float, default=0.0, metavar="V",
                        help="added to every potential, e.g. 0.62 to quote In-Li potentials "
                             "vs Li+/Li (default 0)")
    parser.add_argument("--sweeps", type=_indices, metavar="N,...",
                        help="analyse these sweeps (from 0, in time order) instead of the first "
                             "anodic and the first cathodic one")
    parser.add_argument("--figures", metavar="DIR",
                        help="write one figure per file (current density against potential, "
                             "onsets marked) into DIR as <file name>.window.png")
    add_json_flag(parser)
    parser.set_defaults(handler=_window)


def _numbers(text: str, kind: type) -> list:
    try:
        return [kind(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}"
                                         ) from None


def _thresholds(text: str) -> list[float]:
    values = _numbers(text, float)
    if not values or any(not value > 0 for value in values):
        raise argparse.ArgumentTypeError(f"thresholds must be positive, got {text!r}")
    return values


def _indices(text: str) -> list[int]:
    return _numbers(text, int)


def _window(args: argparse.Namespace) -> Outcome:
    from pathlib import Path

    from labkit.analysis.stability import (
        DEFAULT_THRESHOLDS_MILLIAMPERE_PER_SQUARE_CENTIMETER,
        stability_window,
    )
    from labkit.cli._records import cycling_record
    from labkit.errors import LabkitError

    thresholds = args.threshold or DEFAULT_THRESHOLDS_MILLIAMPERE_PER_SQUARE_CENTIMETER
    entries: list[dict[str, Any]] = []
    for path in args.files:
        try:
            result = stability_window(cycling_record(path), area_square_centimeter=args.area,
                                      thresholds_milliampere_per_square_centimeter=thresholds,
                                      reference_offset_volt=args.reference_offset,
                                      sweeps=args.sweeps)
        except LabkitError as exc:
            entries.append({"file": path, "error": exc.to_dict()})
            continue
        entry = {**result.to_dict(), "file": path}
        if args.figures:
            entry["figure"] = _figure(result, Path(args.figures) / f"{Path(path).name}.window.png")
        entries.append(entry)
    failed = any("error" in entry for entry in entries)
    return Outcome({"results": entries}, _text(entries), EXIT_INPUT_ERROR if failed else EXIT_OK)


def _figure(result: Any, path: Any) -> str:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from labkit import plot

    path.parent.mkdir(parents=True, exist_ok=True)
    axes = plot.stability_window(result)
    plot.save(axes, str(path))
    plt.close(axes.figure)
    return str(path)


def _text(entries: list[dict[str, Any]]) -> str:
    lines = []
    for entry in entries:
        if "error" in entry:
            lines.append(f"{entry['file']}: {entry['error']['type']}: {entry['error']['message']}")
            continue
        rate = entry["sweep_rate_volt_per_second"]["value"]
        lines.append(f"{entry['file']}  {len(entry['sweeps'])} sweeps, "
                     f"{1000 * rate:.3g} mV/s, area {entry['area_square_centimeter']:g} cm²")
        for onset in entry["onsets"]:
            how = (f"{onset['threshold_milliampere_per_square_centimeter']:g} mA/cm²"
                   if onset["method"] == "threshold" else "tangent")
            value = onset["potential_volt"]
            lines.append(f"  {onset['direction']:<10} {how:<14} {value['value']:.4f} ± "
                         f"{value['stderr']:.2g} V   (sweep {onset['sweep']})")
        for analysis in entry["analysed_sweeps"]:
            lines.extend(f"  not found: {reason}" for reason in analysis["not_found"])
        if "figure" in entry:
            lines.append(f"  figure: {entry['figure']}")
    return "\n".join(lines)
