"""``labkit eis fit``: fit an equivalent circuit to every spectrum of one or more files."""

from __future__ import annotations

import argparse
from typing import Any

from labkit.cli import EXIT_INPUT_ERROR, EXIT_OK, Outcome, add_json_flag
from labkit.cli._eis import add_electrolyte_options, add_spectra_input, batch_text, eis_command


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``eis fit``."""
    fit = eis_command(
        subcommands,
        "fit",
        help="fit an equivalent circuit to impedance spectra (no start values needed)",
        description=(
            "Fit an equivalent circuit to every spectrum in FILE... (or only --spectrum N) as "
            "one batch; starting values are read from the data. With --area and --thickness "
            "the default model is 'auto': every member of the solid-electrolyte family is "
            "fitted and the one with the lowest BIC among those whose parameters are all "
            "determined is kept (the runners-up are listed); the arcs are assigned (bulk from "
            "a resolved arc or from the high-frequency intercept, grain boundary, electrode) "
            "and bulk, grain-boundary and total conductivity reported, with the data's "
            "model-free intercepts as a cross-check. With a symmetric-li model and --area, "
            "the interface arcs' area-specific resistance (total R·A and per interface "
            "R·A/2). A spectrum that fails is its own error entry; exit code 1 when any did."
        ),
    )
    add_spectra_input(fit, spectrum=True, workers=True)
    which = fit.add_mutually_exclusive_group()
    which.add_argument("--circuit", metavar="C",
                       help="circuit in impedance.py syntax, e.g. 'R0-p(R1,CPE1)-p(R2,CPE2)-CPE3'")
    which.add_argument("--model", metavar="NAME",
                       help="'auto' (the default with a geometry) or a named model: pellet (the "
                            "default without one), pellet-bulk, symmetric-li, symmetric-li-gb, "
                            "composite-cathode, randles")
    fit.add_argument("--area", metavar="CM2", type=float, help="electrode area, cm²")
    fit.add_argument("--thickness", metavar="CM", type=float, help="electrolyte thickness, cm")
    add_electrolyte_options(fit)
    fit.add_argument("--weighting", choices=("modulus", "proportional", "unit"),
                     default="modulus", help="residual weighting (default: modulus)")
    fit.add_argument("--engine", choices=("lmfit", "vectorised"), default="lmfit",
                     help="final local fit: lmfit's least_squares from the best global start "
                          "(default), or labkit's vectorised Levenberg-Marquardt alone "
                          "(same optimum, about 3x faster for large batches)")
    fit.add_argument("--dask", metavar="ADDRESS",
                     help="fit on a Dask cluster (scheduler address, e.g. tcp://host:8786; "
                          "needs the 'dask' extra); --workers is then ignored")
    add_json_flag(fit)
    fit.set_defaults(handler=_fit)


def _fit(args: argparse.Namespace) -> Outcome:
    from labkit.cli._eis import assignment
    from labkit.eis.circuit import Circuit
    from labkit.eis.spectra_batch import SpectrumJob, read_jobs

    assign = assignment(args.assign)
    items, _ = read_jobs(args.files, args.spectrum)
    jobs = [item for item in items if isinstance(item, SpectrumJob)]
    geometry = {id(job): _geometry(args, job) for job in jobs}
    if args.circuit:
        Circuit(args.circuit)  # a malformed circuit is a usage problem for every file alike
    circuits = {id(job): _circuit_of(args, *geometry[id(job)]) for job in jobs}
    # Li | SE | Li models: report the interface arcs as area-specific resistance.
    symmetric = bool(args.model and args.model.startswith("symmetric"))
    options = {"workers": args.workers, "client": args.dask, "weighting": args.weighting,
               "engine": args.engine}
    outcomes: dict[int, Any] = {}
    for circuit in set(circuits.values()):
        group = [job for job in jobs if circuits[id(job)] == circuit]
        results = _fits([(job.frequency_hertz, job.impedance_ohm) for job in group], circuit,
                        options)
        outcomes.update((id(job), result) for job, result in zip(group, results, strict=True))
    entries: list[dict[str, Any]] = []
    for item in items:
        if not isinstance(item, SpectrumJob):
            entries.append(item)
            continue
        entries.append(_entry(item, outcomes[id(item)], *geometry[id(item)],
                              symmetric=symmetric, lead=args.lead_resistance, assign=assign))
    failed = sum(1 for e in entries if not e.get("success"))
    return Outcome({"results": entries}, _text(entries),
                   EXIT_INPUT_ERROR if failed else EXIT_OK)


def _circuit_of(args: argparse.Namespace, area: float | None,
                thickness: float | None) -> str | None:
    """The circuit fitted to one spectrum, ``None`` for 'auto': without --circuit/--model,
    'auto' where the geometry is known (given or stated by the file), else the pellet."""
    from labkit.eis.models import get_model

    if args.circuit:
        return args.circuit
    model = args.model or ("auto" if area is not None and thickness is not None else "pellet")
    return None if model == "auto" else get_model(model).circuit


def _geometry(args: argparse.Namespace, job: Any) -> tuple[float | None, float | None]:
    sample = job.record.meta.sample
    area = args.area if args.area is not None else sample.area_square_centimeter
    thickness = args.thickness if args.thickness is not None else sample.thickness_centimeter
    return area, thickness


def _fits(spectra: list, circuit: str | None, options: dict[str, Any]) -> list[Any]:
    """One fit (or model choice) per spectrum; an exception becomes every entry's error
    only if even the one-by-one retry raises it."""
    from labkit.eis.batch import FailedFit, fit_batch
    from labkit.eis.model_selection import select_models
    from labkit.errors import error_dict

    def run(batch: list) -> list[Any]:
        if circuit is None:
            return select_models(batch, **options)
        return fit_batch(batch, circuit, **options)

    try:
        return run(spectra)
    except Exception:  # noqa: BLE001 - one bad spectrum must not end the batch
        out = []
        for spectrum in spectra:
            try:
                out.extend(run([spectrum]))
            except Exception as exc:  # noqa: BLE001
                out.append(FailedFit(error_dict(exc)))
        return out


def _entry(job: Any, outcome: Any, area: float | None, thickness: float | None, *,
           symmetric: bool, lead: float, assign: dict[str, str] | None) -> dict[str, Any]:
    from labkit.eis.batch import FailedFit
    from labkit.eis.model_selection import ModelChoice
    from labkit.errors import error_dict

    head: dict[str, Any] = {"file": job.file, "spectrum": job.spectrum}
    if isinstance(outcome, FailedFit):
        error = dict(outcome.error)
        error["file"] = error.get("file") or job.file
        error["position"] = error.get("position") or f"spectrum {job.spectrum}"
        return {**head, "success": False, "error": error}
    try:
        result = outcome.fit if isinstance(outcome, ModelChoice) else outcome
        entry = {**head, **result.to_dict()}
        if isinstance(outcome, ModelChoice):
            entry.update(outcome.to_dict())
        if area is not None and (thickness is not None or symmetric):
            entry.update(_interpretation(result, area, thickness, symmetric, lead, assign))
        return entry
    except Exception as exc:  # noqa: BLE001 - this spectrum's error, not the batch's
        return {**head, "success": False,
                "error": error_dict(exc, file=job.file, position=f"spectrum {job.spectrum}")}


def _interpretation(result: Any, area: float, thickness: float | None, symmetric: bool,
                    lead: float, assign: dict[str, str] | None) -> dict[str, Any]:
    from labkit.eis.conductivity import interpret
    from labkit.errors import AnalysisError

    try:
        meaning = interpret(result, area_square_centimeter=area, thickness_centimeter=thickness,
                            symmetric_cell=symmetric, lead_resistance_ohm=lead, assign=assign)
    except AnalysisError as exc:
        return {"interpretation_error": exc.to_dict()}
    described = meaning.to_dict()
    out: dict[str, Any] = {
        "bulk_from": described["bulk_from"],
        "series_resistance": described["series"],
        "arcs": described["arcs"],
        "resistance_ohm": described["resistance_ohm"],
        "intercepts_ohm": described["intercepts_ohm"],
        "intercept_check": described["intercept_check"],
        "lead_resistance_ohm": described["lead_resistance_ohm"],
        "interpretation_notes": described["notes"],
    }
    if thickness is not None:
        out["conductivity_siemens_per_centimeter"] = described[
            "conductivity_siemens_per_centimeter"]
    if symmetric:
        out["area_specific_resistance_ohm_square_centimeter"] = described[
            "area_specific_resistance_ohm_square_centimeter"]
    return out


def _number(quantity: dict[str, Any], unit: str = "") -> str:
    value, stderr = quantity.get("value"), quantity.get("stderr")
    if value is None:
        return "not computed"
    text = f"{value:.4g}" + (f" ± {stderr:.2g}" if stderr is not None else "")
    return text + (f" {unit}" if unit else "")


def _text(entries: list[dict[str, Any]]) -> str:
    return batch_text(entries, _describe)


def _describe(head: str, entry: dict[str, Any]) -> list[str]:
    state = "ok" if entry["success"] else f"NOT CONVERGED ({entry['message']})"
    lines = [f"{head}  {entry['circuit']}  χ²={entry['chi_square']:.4g}  {state}"]
    if "model" in entry:
        lines.append(f"  model {entry['model']}: {entry['reason']}")
    for name, p in entry["parameters"].items():
        shown = _number(p) if p.get("determined", True) else f"undetermined ({_number(p)})"
        lines.append(f"  {name:<10} {shown}")
    if "bulk_from" in entry:
        lines.append(f"  bulk from {entry['bulk_from']}; series "
                     f"{'+'.join(entry['series_resistance']['resistors'])}: "
                     f"{entry['series_resistance']['role']}")
    for role, q in entry.get("conductivity_siemens_per_centimeter", {}).items():
        lines.append(f"  σ {role:<15} {_number(q, 'S/cm')}")
    for kind, q in entry.get("area_specific_resistance_ohm_square_centimeter", {}).items():
        lines.append(f"  ASR {kind:<13} {_number(q, 'Ω cm²')} ({q.get('formula')})")
    lines.extend(f"  note: {note}" for note in entry.get("interpretation_notes", []))
    if "interpretation_error" in entry:
        lines.append(f"  arcs not interpreted: {entry['interpretation_error']['message']}")
    return lines
