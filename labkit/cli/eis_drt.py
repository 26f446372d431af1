"""``labkit eis drt``: distribution of relaxation times of every spectrum of one or more files."""

from __future__ import annotations

import argparse
from typing import Any

from labkit.cli import EXIT_INPUT_ERROR, EXIT_OK, Outcome, add_json_flag
from labkit.cli._eis import add_spectra_input, batch_text, eis_command
from labkit.cli._records import number


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``eis drt``."""
    drt = eis_command(
        subcommands,
        "drt",
        help="distribution of relaxation times (Tikhonov, RBF) with peaks",
        description=(
            "Compute the DRT of every spectrum in FILE... (or only --spectrum N) as one "
            "batch: Tikhonov regularisation on Gaussian RBFs (as DRTtools), lambda by GCV "
            "or L-curve, gamma >= 0 unless --allow-negative; peaks with tau, resistance "
            "(refined by a ZARC fit seeded at the peaks) and effective capacitance. Peaks "
            "whose tau lies more than half a decade outside the measured range are not "
            "resolved processes: they are listed apart (outside_measured_range) and counted "
            "in R_inf (faster than the highest frequency) or R_pol (slower than the lowest). "
            "Exit code 1 when any file or spectrum failed."
        ),
    )
    add_spectra_input(drt, spectrum=True, workers=True)
    drt.add_argument("--lambda-method", choices=("gcv", "lcurve"), default="gcv",
                     help="how lambda is chosen (default: gcv)")
    drt.add_argument("--lambda", dest="lambda_value", metavar="X", type=float,
                     help="a fixed regularisation strength instead")
    drt.add_argument("--data", choices=("combined", "real", "imaginary"), default="combined",
                     help="which part of Z is fitted (default: combined)")
    drt.add_argument("--allow-negative", action="store_true",
                     help="do not constrain gamma >= 0 (inductive loops)")
    drt.add_argument("--series-capacitance", action="store_true",
                     help="fit a series capacitor too (ion-blocking electrodes' spike)")
    drt.add_argument("--weighting", choices=("modulus", "none"), default="modulus",
                     help="residuals relative to |Z| (default) or absolute")
    drt.add_argument("--no-refine", action="store_true",
                     help="report DRT peak areas without the ZARC refinement")
    add_json_flag(drt)
    drt.set_defaults(handler=_drt)


def _drt(args: argparse.Namespace) -> Outcome:
    from labkit.eis.drt import drt
    from labkit.eis.spectra_batch import SpectrumJob, entry_of, read_jobs, run_jobs

    items, _ = read_jobs(args.files, args.spectrum)
    jobs = [item for item in items if isinstance(item, SpectrumJob)]
    outcomes = iter(run_jobs(
        drt, jobs, workers=args.workers, lambda_method=args.lambda_method,
        lambda_value=args.lambda_value, data_used=args.data,
        non_negative=not args.allow_negative, weighting=args.weighting,
        fit_capacitance=args.series_capacitance,
        refine_peaks=not args.no_refine))
    entries = [entry_of(item, next(outcomes)) if isinstance(item, SpectrumJob) else item
               for item in items]
    failed = any(not entry["success"] for entry in entries)
    return Outcome({"results": entries}, _text(entries), EXIT_INPUT_ERROR if failed else EXIT_OK)


def _text(entries: list[dict[str, Any]]) -> str:
    return batch_text(entries, _describe)


def _describe(head: str, entry: dict[str, Any]) -> list[str]:
    lines = [f"{head}  R_inf {number(entry['r_inf_ohm'])} Ω  R_pol "
             f"{number(entry['r_pol_ohm'])} Ω  λ {number(entry['lambda'], 3)} "
             f"({entry['lambda_method']})  fit rms {number(entry['residual_rms_percent'], 3)} %",
             f"  {'tau [s]':>11} {'f [Hz]':>11} {'R [Ω]':>11} {'C [F]':>11} {'n':>6}  from"]
    lines.extend(_peak_line(peak, peak["method"]) for peak in entry["peaks"])
    for peak in entry["outside_measured_range"]:
        counted = "R_inf" if peak["side"] == "above" else "R_pol"
        lines.append(_peak_line(peak, f"outside the measured range ({peak['side']}; "
                                      f"in {counted})"))
    return lines


def _peak_line(peak: dict[str, Any], note: str) -> str:
    return (f"  {number(peak['tau_second']):>11} {number(peak['frequency_hertz']):>11} "
            f"{number(peak['resistance_ohm']):>11} {number(peak['capacitance_farad']):>11} "
            f"{number(peak['dispersion'], 3):>6}  {note}")
