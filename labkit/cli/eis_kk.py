"""``labkit eis kk``: linear Kramers-Kronig test of every spectrum of one or more files."""

from __future__ import annotations

import argparse
from typing import Any

from labkit.cli import EXIT_INPUT_ERROR, EXIT_OK, Outcome, add_json_flag
from labkit.cli._eis import add_spectra_input, batch_text, eis_command
from labkit.cli._records import number


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``eis kk``."""
    kk = eis_command(
        subcommands,
        "kk",
        help="linear Kramers-Kronig validity test (Schönleber 2014)",
        description=(
            "Test every spectrum in FILE... (or only --spectrum N) for Kramers-Kronig "
            "consistency with a chain of Voigt elements (number chosen by the mu criterion, "
            "tau range extended); residuals in %% of |Z|. The verdict scales with the "
            "spectrum's own noise (the residuals' point-to-point scatter): a residual fails "
            "above 4.5 x the noise (at least 1 %%), and residuals structured beyond the noise "
            "(smooth, in runs of one sign, drifting at an end; more than 0.15 %% rms) fail "
            "the spectrum; the result states the noise, each statistic and the criteria "
            "that decided, and the frequency range that passes. Exit code 1 when any file "
            "could not be read or tested (an invalid spectrum is a result, not a failure)."
        ),
    )
    add_spectra_input(kk, spectrum=True, workers=False)
    kk.add_argument("--max-residual", metavar="PERCENT", type=float, default=None,
                    help="also an absolute limit on every residual, %% of |Z| (default: "
                         "none, the limit scales with the noise)")
    kk.add_argument("--mu", metavar="C", type=float, default=0.85,
                    help="mu criterion for the number of elements (default: 0.85)")
    add_json_flag(kk)
    kk.set_defaults(handler=_kk)


def _kk(args: argparse.Namespace) -> Outcome:
    from labkit.eis.kramers_kronig import aborted_verdict, file_states_aborted, kramers_kronig
    from labkit.eis.spectra_batch import SpectrumJob, entry_of, read_jobs, run_jobs

    items, _ = read_jobs(args.files, args.spectrum)
    jobs = [item for item in items if isinstance(item, SpectrumJob)]
    outcomes = run_jobs(kramers_kronig, jobs, max_residual_percent=args.max_residual,
                        mu_criterion=args.mu)
    by_job = iter(outcomes)
    entries = []
    for item in items:
        if not isinstance(item, SpectrumJob):
            entries.append(item)
            continue
        outcome = next(by_job)
        if not isinstance(outcome, Exception) and file_states_aborted(item.record):
            outcome = aborted_verdict(outcome)
        entries.append(entry_of(item, outcome))
    failed = any(not entry["success"] for entry in entries)
    return Outcome({"results": entries}, _text(entries), EXIT_INPUT_ERROR if failed else EXIT_OK)


def _text(entries: list[dict[str, Any]]) -> str:
    return batch_text(entries, _describe)


def _describe(head: str, entry: dict[str, Any]) -> list[str]:
    verdict = "valid" if entry["valid"] else "INVALID"
    band = entry["valid_frequency_range_hertz"]
    passing = "none" if band is None else f"{number(band['low'])}-{number(band['high'])} Hz"
    residual = entry["residual_max_percent"]
    decided = ", ".join(entry["decided_by"]) or "no criterion failed"
    return [f"{head}  {verdict} ({decided})  M={entry['number_of_rc']}  noise "
            f"{number(entry['noise_percent'], 3)} %  max residual "
            f"re {number(residual['real'], 3)} % im {number(residual['imag'], 3)} %  "
            f"passing {passing}", f"  {entry['reason']}"]
