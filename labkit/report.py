"""One self-contained HTML page about a set of records: metadata, analyses, figures, tables.

:func:`write_report` reads files (any format labkit reads, or Parquet records) or
every record of a lab store folder, runs the analyses that apply to each record
and writes one HTML file with the figures embedded as PNG (no network needed to
view it, nothing fetched). The page reads well at laptop width and prints cleanly.

Which analyses apply is decided from the record:

* impedance: per spectrum, the Kramers–Kronig test, the member of the solid-electrolyte
  family chosen by BIC (:mod:`labkit.eis.model_selection`, with the runners-up), the
  arcs' assignment, σ and ASR when the sample geometry is known, and the DRT;
* every cycling record: voltage and current against time (a long record drawn through
  the extremes of 4 000 bins), whatever else applies;
* cycling, one potentiostatic hold: a chronoamperometry (Bruce–Vincent transference
  number when spectra "before" and "after" with the same file-name prefix are among
  the inputs);
* cycling, a potential sweep (LSV, CV): the stability window's onsets;
* cycling, constant-current half cycles whose voltage changes sign with the current:
  a symmetric-cell stepped-current (CCD) test;
* other cycling: cycle summary, V–Q curves (at most 10 cycles, evenly spaced),
  capacity and coulombic efficiency, dQ/dV of the first, middle and last cycle,
  fast-charge metrics, and rate capability when the discharge currents form a
  ladder of four or more rates.

The kinds are told apart by :func:`labkit.analysis.classify.cycling_test`, with the
recognisers every analysis checks its input with (:mod:`labkit.analysis.recognise`).

A material card manifest among the inputs (or in an input folder) opens the page with
the material card it makes (:mod:`labkit.material_card`): the row in the review's
columns, the figure among the published electrolytes and every number with its source.

An analysis that cannot run (a sample value missing, too few cycles) is listed
with the reason instead of its result.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import io
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from labkit import __version__
from labkit.analysis.classify import cycling_test, is_rate_ladder, paired_spectra
from labkit.data import CycleSummaryRecord, CyclingRecord, ImpedanceRecord
from labkit.errors import LabkitError
from labkit.fileio import atomic_write

if TYPE_CHECKING:  # analyses are imported when a section needs them
    from labkit.analysis.cycling import CycleSummary

#: Spectra of one impedance record analysed in full; the rest are listed only.
MAX_SPECTRA = 4
#: Most cycles drawn in a voltage-capacity figure (evenly spaced from the first to the last).
VOLTAGE_CAPACITY_CYCLES = 10


@dataclass
class Section:
    """The part of the report about one record (or one input that could not be read)."""

    title: str
    source: str
    kind: str
    metadata: list[tuple[str, str]] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)  # (caption, PNG base64)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    findings: list[tuple[str, str]] = field(default_factory=list)  # (quantity, value ± error)
    skipped: list[str] = field(default_factory=list)
    error: str | None = None
    #: (temperature °C, role, σ S/cm, stderr) of each analysed spectrum with a known temperature
    conductivities: list[tuple[float, str, float, float]] = field(default_factory=list)

    def figure(self, caption: str, draw: Callable[[], Any]) -> None:
        """Add the figure ``draw()`` makes (it returns the axes); a failure is recorded."""
        import matplotlib.pyplot as plt

        def drawn_png() -> bytes:
            axes = draw()
            first = axes[0] if isinstance(axes, (tuple, list)) else axes
            buffer = io.BytesIO()
            # laid out already (constrained); rendering can fail too (bad data limits)
            first.figure.savefig(buffer, format="png", dpi=120)
            plt.close(first.figure)
            return buffer.getvalue()

        png = self.attempt(f"figure '{caption}'", drawn_png)
        if png is not None:
            self.figures.append((caption, base64.b64encode(png).decode("ascii")))

    def attempt(self, what: str, action: Callable[[], Any]) -> Any:
        """Run one analysis or figure; if it fails, record why and return ``None``.

        A labkit error is a reason (a missing sample value, too little data); any
        other exception is reported as an internal error, so that one record's
        problem never costs the rest of the report.
        """
        import matplotlib.pyplot as plt

        try:
            return action()
        except LabkitError as exc:
            self.skipped.append(f"{what}: {exc}")
        except Exception as exc:  # noqa: BLE001 - the report must survive any one analysis
            self.skipped.append(f"{what}: internal error {type(exc).__name__}: {exc}")
        plt.close("all")  # a figure the failed step left half drawn
        return None


@dataclass(frozen=True)
class ReportSummary:
    """What :func:`write_report` did."""

    output: str
    records: int
    failed_inputs: list[dict[str, str]]
    sections: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly."""
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------- numbers


def with_uncertainty(value: float | None, stderr: float | None = None, unit: str = "") -> str:
    """``"(1.022 ± 0.012) × 10⁻⁵ S cm⁻¹"``: the value rounded to the two leading digits of its error.

    Without a usable error (missing, zero, or below 10⁻⁶ of the value) the value is
    given to four significant digits; an error larger than the value gives both to two.
    """
    if value is None or not math.isfinite(value):
        return "–"
    suffix = f" {unit}" if unit else ""
    exponent = math.floor(math.log10(abs(value))) if value else 0
    scientific = exponent < -3 or exponent > 4
    scale = 10.0 ** exponent if scientific else 1.0
    power = f" × 10{str(exponent).translate(_SUPERSCRIPT)}" if scientific else ""
    if stderr is None or not math.isfinite(stderr) or stderr <= 1e-6 * abs(value):
        return f"{value / scale:.4g}{power}{suffix}"
    if stderr >= abs(value):
        return f"{value:.2g} ± {stderr:.2g}{suffix}"
    digits = max(0, 1 - math.floor(math.log10(stderr / scale)))
    text = f"{value / scale:.{digits}f} ± {stderr / scale:.{digits}f}"
    return (f"({text}){power}" if scientific else text) + suffix


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _estimate_text(estimate: Any, unit: str = "") -> str:
    return with_uncertainty(getattr(estimate, "value", None), getattr(estimate, "stderr", None),
                            unit)


# --------------------------------------------------------------------------- inputs


def _records(inputs: Iterable[Any]) -> list[tuple[str, Any]]:
    """``(name, record or LabkitError)`` for every record, file, or record of a store folder
    (material card manifests are not records: :func:`_card_sections` reads them)."""
    import labkit
    from labkit.material_card import is_manifest
    from labkit.store import Store

    found: list[tuple[str, Any]] = []
    for item in inputs:
        if isinstance(item, (CyclingRecord, ImpedanceRecord, CycleSummaryRecord)):
            found.append((item.meta.source_path or f"record {len(found) + 1}", item))
            continue
        path = Path(item)
        if path.is_dir() and (path / "catalog.sqlite").exists():
            store = Store(path)
            for row in store.query(status="ok").itertuples():
                found.append((str(row.path), _read(labkit.read_parquet, store.path / row.output)))
        elif path.is_dir():
            for child in sorted(p for p in path.iterdir() if p.is_file() and not is_manifest(p)):
                found.append((str(child), _read(_read_file, child)))
        elif not is_manifest(path):
            found.append((str(path), _read(_read_file, path)))
    return found


def _manifests(inputs: Sequence[Any]) -> list[Path]:
    """The material card manifests among the inputs and in the input folders."""
    from labkit.material_card import is_manifest

    found: list[Path] = []
    for item in inputs:
        if isinstance(item, (CyclingRecord, ImpedanceRecord, CycleSummaryRecord)):
            continue
        path = Path(item)
        candidates = sorted(path.iterdir()) if path.is_dir() else [path]
        found.extend(p for p in candidates if is_manifest(p))
    return found


def _card_section(manifest: Path) -> Section:
    """The material card a manifest makes: its row, figure, every number and its source."""
    from labkit.material_card import card
    from labkit.material_card.card import TABLE_TITLES
    from labkit.material_card.figure import card_figure

    section = Section("material card", str(manifest), "material card")
    result = section.attempt("material card", lambda: card(manifest))
    if result is None:
        section.kind, section.error = "unreadable", section.skipped.pop()
        return section
    section.title = f"material card: {result.material}"
    section.metadata = [("manifest", str(manifest)),
                        ("review table", TABLE_TITLES[result.table]),
                        *(("note", note) for note in result.notes)]
    for value in result.values:
        if value.section == "table":
            section.findings.append((value.label, _estimate_text(value.estimate,
                                                                 value.estimate.unit)))
    section.figure("the material among the review's electrolytes", lambda: card_figure(result))
    table = result.to_frame()
    table.insert(5, "value ± stderr", [with_uncertainty(v, None if e != e else e, u) for v, e, u
                                       in zip(table["value"], table["stderr"], table["unit"],
                                              strict=True)])
    section.tables.append(("every number of the card, with its conditions and source",
                           table[["section", "label", "value ± stderr", "conditions", "files",
                                  "analysis", "test"]]))
    section.skipped.extend(f"{run.test.label}: {run.error['message']}" for run in result.runs
                           if run.error)
    return section


def _read_file(path: Path) -> Any:
    import labkit

    if path.suffix == ".parquet":
        return labkit.read_parquet(path)
    return labkit.read(path)


def _read(reader: Callable[[Path], Any], path: Path) -> Any:
    try:
        return reader(path)
    except LabkitError as exc:
        return exc


def _with_sample(record: Any, sample: dict[str, float | None]) -> Any:
    """The record with sample values filled in where its file states none."""
    missing = {k: v for k, v in sample.items()
               if v is not None and getattr(record.meta.sample, k) is None}
    if not missing:
        return record
    return dataclasses.replace(record, meta=record.meta.with_sample(**missing))


# --------------------------------------------------------------------------- analyses


def _metadata(record: Any) -> list[tuple[str, str]]:
    meta = record.meta
    rows = [("file", meta.source_path or "–"), ("SHA-256", (meta.source_sha256 or "–")[:16] + "…"),
            ("format", f"{meta.file_format or '–'} ({meta.vendor or 'unknown vendor'})"),
            ("technique", ", ".join(meta.technique) or "–"), ("start", meta.start_time or "–"),
            ("instrument", meta.instrument or "–"), ("channel", meta.channel or "–"),
            ("rows", f"{len(record.data):,}")]
    for name, value in dataclasses.asdict(meta.sample).items():
        if value is not None:
            rows.append((name.replace("_", " "), str(value)))
    rows.extend(("note", note) for note in meta.notes)
    return rows


def _impedance_section(record: ImpedanceRecord, section: Section,
                       interpretation: Mapping[str, Any]) -> None:
    spectra = sorted(record.data["spectrum"].unique())
    if len(spectra) > MAX_SPECTRA:
        section.skipped.append(f"{len(spectra)} spectra: the first {MAX_SPECTRA} are analysed "
                               "here; the conditions of all are tabulated")
        section.tables.append(("conditions of every spectrum", record.conditions()))
    analysed = [int(index) for index in spectra[:MAX_SPECTRA]]
    # The model choice of all analysed spectra in one vectorised batch.
    choices = section.attempt("circuit fit", lambda: _best_fits(
        [record.impedance(index) for index in analysed])) or [None] * len(analysed)
    if len(analysed) > 1:
        section.skipped.append(f"figures beyond the Nyquist plot (Bode, residuals, "
                               f"Kramers–Kronig, DRT) are drawn for spectrum {analysed[0]} "
                               "only; the numbers of every analysed spectrum are tabulated")
    for position, (index, choice) in enumerate(zip(analysed, choices, strict=True)):
        _spectrum(record, index, section, f" (spectrum {index})" if len(spectra) > 1 else "",
                  interpretation, choice, every_figure=position == 0)


def _spectrum(record: ImpedanceRecord, index: int, section: Section, tag: str,
              interpretation: Mapping[str, Any], choice: Any, every_figure: bool) -> None:
    """Findings and tables of one spectrum; its Nyquist plot, and with ``every_figure``
    the Bode, residual, Kramers–Kronig and DRT figures too (each costs ~0.3-0.8 s)."""
    from labkit import plot
    from labkit.eis.drt import drt
    from labkit.eis.kramers_kronig import kramers_kronig

    frequency, z = record.impedance(index)
    kk = section.attempt("Kramers–Kronig test", lambda: kramers_kronig((frequency, z)))
    if kk is not None:
        section.findings.append((f"Kramers–Kronig{tag}",
                                 ("valid: " if kk.valid else "not valid: ") + kk.reason))
    blocking = -np.degrees(np.angle(z[np.argmin(frequency)])) > 45
    if isinstance(choice, LabkitError):
        section.skipped.append(f"circuit fit{tag}: {choice}")
        choice = None
    fit = None if choice is None else choice.fit
    if choice is not None:
        section.findings.append((f"model{tag}", f"{choice.name} ({fit.circuit}): "
                                 f"{choice.reason}"))
    section.figure(f"Nyquist plot{tag}" + (f" with the {fit.circuit} fit" if fit else ""),
                   lambda: plot.nyquist((frequency, z), fit=fit))
    knee = _blocking_knee(frequency, z) if blocking else frequency.min()
    arcs = frequency >= knee
    if knee > frequency.min() and every_figure:
        section.figure(f"Nyquist plot{tag}, electrolyte arcs only (f ≥ {knee:.3g} Hz)",
                       lambda: plot.nyquist((frequency, z), fit=fit,
                                    frequency_range_hertz=(knee, frequency.max())))
    if every_figure:
        section.figure(f"Bode plot{tag}", lambda: plot.bode((frequency, z), fit=fit))
    if fit is not None:
        if every_figure:
            section.figure(f"fit residuals{tag}", lambda: plot.fit_residuals(fit))
        table = fit.to_frame().reset_index()
        table.insert(1, "value ± stderr", [
            with_uncertainty(p.value, p.stderr) if p.determined else
            f"undetermined ({with_uncertainty(p.value, p.stderr)})"
            for p in fit.parameters.values()])
        section.tables.append((f"fit of {fit.circuit}{tag}: reduced χ² = "
                               f"{fit.reduced_chi_square:.3g}, BIC = {fit.bic:.1f}",
                               table[["parameter", "value ± stderr", "unit", "vary"]]))
        section.tables.append((f"models tried{tag} (chosen first)", pd.DataFrame(
            [score.to_dict() for score in choice.scores])[
                ["name", "circuit", "bic", "chi_square", "eligible", "undetermined",
                 "residual_runs_z"]]))
        _conductivity(record, fit, index, section, tag, interpretation)
    if kk is not None and every_figure:
        section.figure(f"Kramers–Kronig residuals{tag}", lambda: plot.kk_residuals(kk))
    result = section.attempt("DRT", lambda: drt((frequency[arcs], z[arcs])))
    if result is not None:
        where = "" if arcs.all() else f" of the electrolyte arcs (f ≥ {knee:.3g} Hz)"
        if every_figure:
            section.figure(f"distribution of relaxation times{where}{tag}",
                           lambda: plot.drt(result))
        if result.peaks:
            section.tables.append((f"DRT peaks{tag}", pd.DataFrame(
                [peak.to_dict() for peak in result.peaks])))
        outside = result.to_dict()["outside_measured_range"]
        if outside:
            section.tables.append((
                f"DRT peaks outside the measured range{tag}: not resolved processes (τ more "
                "than half a decade beyond 1/(2π f)); R counted in R∞ (side above) or R_pol "
                f"(its DRT area, side below); R∞ = {result.r_inf_ohm:.4g} Ω, "
                f"R_pol = {result.r_pol_ohm:.4g} Ω",
                pd.DataFrame(outside)))


def _blocking_knee(frequency: np.ndarray, z: np.ndarray) -> float:
    """Frequency of least −phase below the arcs: where the blocking-electrode spike begins."""
    order = np.argsort(frequency)
    if order.size < 8:
        return float(frequency.min())
    phase = -np.angle(z[order])
    start = order.size // 4  # the spike itself is the lowest quarter or more
    return float(frequency[order][start + int(np.argmin(phase[start:]))])


def _best_fits(spectra: list[tuple[np.ndarray, np.ndarray]]) -> list[Any]:
    """The solid-electrolyte family's choice for each spectrum (``--model auto``); a
    spectrum no member could be fitted to gives its :class:`~labkit.errors.FitError`."""
    from labkit.eis.batch import FailedFit
    from labkit.eis.model_selection import select_models
    from labkit.errors import FitError

    return [FitError(str(choice.error.get("message"))) if isinstance(choice, FailedFit)
            else choice for choice in select_models(spectra)]


def _temperature(record: ImpedanceRecord, index: int) -> float | None:
    """Temperature of a spectrum as its file states it, else as its file name does."""
    from labkit.eis.arrhenius import temperature_from_filename, temperature_from_record

    stated = temperature_from_record(record, index)
    if stated is None and record.meta.source_path:
        stated = temperature_from_filename(record.meta.source_path)
    return stated


def _conductivity(record: ImpedanceRecord, fit: Any, index: int, section: Section,
                  tag: str, interpretation: Mapping[str, Any]) -> None:
    from labkit.eis.conductivity import interpret

    sample = record.meta.sample
    if sample.area_square_centimeter is None:
        section.skipped.append("conductivity and ASR: the electrode area is not known "
                               "(give it with --area, and --thickness for σ)")
        return
    meaning = section.attempt("arc interpretation", lambda: interpret(
        fit, area_square_centimeter=sample.area_square_centimeter,
        thickness_centimeter=sample.thickness_centimeter, **interpretation))
    if meaning is None:
        return
    section.findings.append((f"bulk from{tag}", f"{meaning.bulk_from}: {meaning.series_evidence}"))
    section.findings.extend((f"note{tag}", note) for note in meaning.notes)
    temperature = _temperature(record, index)
    for role, quantity in meaning.conductivity_siemens_per_centimeter.items():
        section.findings.append((f"σ {role.replace('_', ' ')}{tag}",
                                 with_uncertainty(quantity.value, quantity.stderr, "S cm⁻¹")))
        if temperature is not None:
            section.conductivities.append((temperature, role, quantity.value, quantity.stderr))
    for role, quantity in meaning.area_specific_resistance_ohm_square_centimeter.items():
        section.findings.append((f"ASR {role.replace('_', ' ')}{tag}",
                                 with_uncertainty(quantity.value, quantity.stderr, "Ω cm²")))
    section.tables.append((f"arc assignment{tag}", meaning.to_frame()))


def _chronoamperometry(record: CyclingRecord, section: Section, spectra: dict[str, Any]) -> None:
    from labkit import plot
    from labkit.analysis.transference import transference_number

    result = section.attempt("transference number", lambda: transference_number(
        record, eis_before=spectra.get("before"), eis_after=spectra.get("after")))
    if result is None:
        return
    section.figure("chronoamperogram with I₀ and I_ss", lambda: plot.transference(record, result))
    for name, label in (("t_plus_bruce_vincent", "t⁺ Bruce–Vincent"),
                        ("t_plus_bruce_vincent_ohm", "t⁺ Bruce–Vincent, I₀ from Ohm's law"),
                        ("t_plus_watanabe", "t⁺ Watanabe"), ("t_plus_evans", "t⁺ Evans (I_ss/I₀)")):
        estimate = getattr(result, name)
        if estimate is not None:
            section.findings.append((label, _estimate_text(estimate)))
    table = result.to_frame()
    table["value ± stderr"] = [with_uncertainty(v, s) for v, s in
                               zip(table["value"], table["stderr"], strict=True)]
    section.tables.append(("transference inputs and results", table[["quantity",
                                                                      "value ± stderr"]]))


def _potential_sweep(record: CyclingRecord, section: Section) -> None:
    from labkit import plot
    from labkit.analysis.stability import stability_window

    result = section.attempt("stability window", lambda: stability_window(record))
    if result is None:
        return
    section.figure("current density against potential, onsets marked",
                   lambda: plot.stability_window(result))
    for onset in result.onsets:
        how = ("tangent" if onset.threshold_milliampere_per_square_centimeter is None else
               f"at {onset.threshold_milliampere_per_square_centimeter:g} mA cm⁻²")
        section.findings.append((f"{onset.direction} onset, {how}",
                                 _estimate_text(onset.potential_volt, "V")))
    section.skipped.extend(reason for analysis in result.analyses
                           for reason in analysis.not_found)
    table = result.to_frame()
    table.insert(3, "potential ± stderr", [with_uncertainty(v, e, "V") for v, e in zip(
        table["potential_volt"], table["potential_stderr_volt"], strict=True)])
    section.tables.append(("onsets (background-subtracted current density thresholds and "
                           "tangent)", table.drop(columns=["potential_volt",
                                                           "potential_stderr_volt"])))


def _stepped_current(record: CyclingRecord, section: Section) -> None:
    from labkit import plot
    from labkit.analysis.ccd import critical_current_density

    result = section.attempt("critical current density",
                             lambda: critical_current_density(record))
    if result is None:
        return
    section.figure("stepped-current test with the failure marked", lambda: plot.ccd(record, result))
    section.findings.append(("critical current density",
                             with_uncertainty(result.ccd_milliampere_per_square_centimeter,
                                              None, "mA cm⁻²")))
    if result.failed:
        section.findings.append(("failure", f"{result.criterion} at "
                                 f"{result.failed_at_milliampere_per_square_centimeter:g} mA cm⁻², "
                                 f"t = {result.failure_time_second:.0f} s"))
    section.tables.append(("half cycles", result.half_cycles))


def _cycling(record: CyclingRecord, section: Section) -> None:
    from labkit import plot
    from labkit.analysis._base import evenly_spaced
    from labkit.analysis.cycling import summarize_cycles
    from labkit.analysis.dqdv import differential_capacity
    from labkit.analysis.fast_charge import fast_charge_metrics
    from labkit.analysis.rate import rate_capability

    summary = section.attempt("cycle summary", lambda: summarize_cycles(record))
    if summary is None:
        return
    table = summary.table
    cycles = table["cycle_count"].to_numpy()
    if "voltage_volt" in record.data:
        drawn = evenly_spaced(cycles, VOLTAGE_CAPACITY_CYCLES)
        which = ("" if drawn.size == cycles.size
                 else f" (cycles {', '.join(map(str, drawn))} of {cycles.size})")
        section.figure(f"voltage against capacity, coloured by cycle{which}",
                       lambda: plot.voltage_capacity(record, cycles=drawn))
    section.figure("capacity and coulombic efficiency by cycle",
                   lambda: plot.capacity_and_efficiency(summary))
    chosen = evenly_spaced(cycles, 3)
    dqdv = section.attempt("dQ/dV", lambda: differential_capacity(record, cycles=chosen))
    if dqdv is not None and len(dqdv.curves):
        section.figure(f"dQ/dV of cycles {', '.join(map(str, chosen))}", lambda: plot.dqdv(dqdv))
    _cycle_findings(table, summary, section, "per-cycle summary")
    if is_rate_ladder(table):
        result = section.attempt("rate capability", lambda: rate_capability(record,
                                                                            summary=summary))
        if result is not None:
            section.figure("rate capability with the Tian fit", lambda: plot.rate_capability(result))
            section.tables.append(("capacity by C-rate", result.rates))
            if result.tian_fit is not None and result.tian_fit.success:
                section.findings.append(("Tian τ", _estimate_text(dataclasses.replace(
                    result.tian_fit.tau_hour, value=result.tian_fit.tau_hour.value * 3600,
                    stderr=result.tian_fit.tau_hour.stderr * 3600), "s")))
                section.findings.append(("Tian n", _estimate_text(result.tian_fit.n)))
    fast = section.attempt("fast-charge metrics", lambda: fast_charge_metrics(record))
    if fast is not None and len(fast.charges):
        section.tables.append((f"fast-charge metrics ({fast.soc_reference})",
                               fast.charges.head(10)))


def _summary_table(record: CycleSummaryRecord, section: Section) -> None:
    """A vendor's per-cycle table: its numbers, completed as labkit's cycle summary
    (efficiencies, retention) where it lacks them, and their figure."""
    from labkit import plot
    from labkit.analysis.cycling import summarize_cycles

    summary = section.attempt("cycle summary", lambda: summarize_cycles(record))
    table = record.data if summary is None else summary.table
    if "discharge_capacity_ampere_hour" in table or "charge_capacity_ampere_hour" in table:
        section.figure("capacity and coulombic efficiency by cycle (from the file's table)",
                       lambda: plot.capacity_and_efficiency(summary or record))
    _cycle_findings(table, summary, section, "per-cycle summary (from the file)")


def _cycle_findings(table: pd.DataFrame, summary: CycleSummary | None, section: Section,
                    title: str) -> None:
    """Cycle count, first discharge capacity, retention crossing and the per-cycle table."""
    section.findings.append(("cycles", str(len(table))))
    if "discharge_capacity_ampere_hour" in table and len(table):
        first = table["discharge_capacity_ampere_hour"].iloc[0]
        section.findings.append(("first discharge capacity",
                                 with_uncertainty(1000 * first, None, "mAh")))
    if summary is not None and summary.cycle_below_threshold is not None:
        section.findings.append((f"first cycle below {summary.retention_threshold:.0%} "
                                 "retention", str(summary.cycle_below_threshold)))
    columns = [c for c in ("cycle_count", "charge_capacity_ampere_hour",
                           "discharge_capacity_ampere_hour", "coulombic_efficiency",
                           "energy_efficiency", "capacity_retention") if c in table]
    section.tables.append((title, table[columns]))


def _temperature_series(sections: Sequence[Section]) -> Section | None:
    """Arrhenius fits of the conductivities of every spectrum with a known temperature."""
    from labkit import plot
    from labkit.eis.arrhenius import fit_arrhenius

    points = pd.DataFrame([point for s in sections for point in s.conductivities],
                          columns=["temperature_celsius", "role", "sigma", "stderr"])
    if points["temperature_celsius"].nunique() < 3:
        return None
    section = Section("temperature series (Arrhenius)", "", "conductivity vs temperature")
    fits = {}
    for role, rows in points.groupby("role", sort=False):
        rows = rows.sort_values("temperature_celsius")
        fit = section.attempt(f"Arrhenius fit of σ {role}", lambda rows=rows: fit_arrhenius(
            rows["temperature_celsius"], rows["sigma"], rows["stderr"]))
        if fit is None:
            continue
        fits[role] = fit
        label = role.replace("_", " ")
        section.findings.append((f"Ea {label}", _estimate_text(
            fit.activation_energy_electronvolt, "eV")))
        section.findings.append((f"σ(25 °C) {label}", _estimate_text(
            fit.sigma_25c_siemens_per_centimeter, "S cm⁻¹")))
    if not fits:
        return None
    section.figure("Arrhenius plot, σT against 1000/T", lambda: plot.arrhenius_result(fits))
    table = points.pivot_table(index="temperature_celsius", columns="role", values="sigma")
    section.tables.append(("σ / S cm⁻¹ by temperature (temperatures from the files or "
                           "their names)", table.reset_index()))
    return section


def build_sections(inputs: Iterable[Any], *,
                   sample: dict[str, float | None] | None = None,
                   interpretation: Mapping[str, Any] | None = None) -> list[Section]:
    """One :class:`Section` per record found in ``inputs`` (files, folders, store folders).

    Parameters
    ----------
    inputs
        Records, files labkit reads, Parquet records, folders of them, or store folders.
    sample
        Sample values (``area_square_centimeter``...) used for records whose file does
        not state them.
    interpretation
        Options of :func:`labkit.eis.conductivity.interpret` for every spectrum
        (``lead_resistance_ohm``, ``assign``).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from labkit import plot

    inputs = list(inputs)
    cards = [_card_section(manifest) for manifest in _manifests(inputs)]
    records = _records(inputs)
    records = [(name, r if isinstance(r, LabkitError) else _with_sample(r, sample or {}))
               for name, r in records]
    sections = []
    for name, record in records:
        title = Path(name).name
        if isinstance(record, LabkitError):
            sections.append(Section(title, name, "unreadable", error=str(record)))
            continue
        section = Section(title, name, record.kind, metadata=_metadata(record))
        if isinstance(record, ImpedanceRecord):
            _impedance_section(record, section, interpretation or {})
        elif isinstance(record, CycleSummaryRecord):
            section.kind = "per-cycle summary table"
            _summary_table(record, section)
        else:
            kind = cycling_test(record).kind
            section.kind = f"cycling ({kind})"
            section.figure("voltage and current against time", partial(plot.time_series, record))
            if kind == "chronoamperometry":
                _chronoamperometry(record, section, paired_spectra(name, records))
            elif kind == "potential-sweep":
                _potential_sweep(record, section)
            elif kind == "stepped-current":
                _stepped_current(record, section)
            else:
                _cycling(record, section)
        sections.append(section)
    series = _temperature_series(sections)
    return [*cards, *sections] if series is None else [*cards, *sections, series]


# --------------------------------------------------------------------------- HTML

_CSS = """
:root { --ink: #1d2430; --muted: #5b6573; --line: #d9dee5; --accent: #0072B2;
        --bad: #D55E00; --card: #ffffff; --page: #f5f7fa; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--page); color: var(--ink);
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
       sans-serif; }
header.top { background: var(--ink); color: #fff; padding: 1.4rem 2rem; }
header.top h1 { margin: 0 0 .3rem; font-size: 1.5rem; font-weight: 600; }
header.top p { margin: 0; color: #c9d1dc; font-size: .9rem; }
main { max-width: 1180px; margin: 0 auto; padding: 1.2rem 1.5rem 3rem; }
nav.toc { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
          padding: .8rem 1.2rem; margin-bottom: 1.5rem; }
nav.toc ol { margin: .3rem 0 0; padding-left: 1.3rem; columns: 2; column-gap: 2rem; }
nav.toc a { color: var(--accent); text-decoration: none; }
section.record { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
                 padding: 1.2rem 1.5rem; margin-bottom: 1.6rem; }
section.record h2 { margin: 0 0 .2rem; font-size: 1.2rem; word-break: break-all; }
.kind { display: inline-block; font-size: .78rem; padding: .1rem .55rem; border-radius: 99px;
        background: #e6f0f8; color: var(--accent); margin-bottom: .8rem; }
.kind.unreadable { background: #fbe9e1; color: var(--bad); }
h3 { font-size: 1rem; margin: 1.2rem 0 .5rem; color: var(--muted); font-weight: 600; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: 0;
          font-size: .86rem; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; word-break: break-all; }
.findings { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr));
            gap: .6rem; }
.finding { border: 1px solid var(--line); border-left: 4px solid var(--accent);
           border-radius: 6px; padding: .45rem .7rem; font-size: .88rem; }
.finding b { display: block; color: var(--muted); font-weight: 500; font-size: .8rem; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr));
           gap: 1rem; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: .5rem;
         background: #fff; break-inside: avoid; page-break-inside: avoid; }
figure img { display: block; width: 100%; height: auto; }
figcaption { font-size: .82rem; color: var(--muted); margin-top: .3rem; }
.table-wrap { overflow-x: auto; margin-bottom: 1rem; }
table { border-collapse: collapse; font-size: .8rem; min-width: 50%;
        font-variant-numeric: tabular-nums; }
caption { text-align: left; font-size: .82rem; color: var(--muted); padding-bottom: .3rem; }
th, td { border-bottom: 1px solid var(--line); padding: .25rem .6rem; text-align: right;
         white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #eef2f6; font-weight: 600; white-space: normal; max-width: 9rem;
           vertical-align: bottom; }
tbody tr:nth-child(even) { background: #fafbfc; }
.skipped { font-size: .84rem; color: var(--muted); margin: .3rem 0 0; padding-left: 1.2rem; }
.error { color: var(--bad); font-weight: 500; }
footer { text-align: center; color: var(--muted); font-size: .8rem; padding: 1rem; }
@media (max-width: 700px) { nav.toc ol { columns: 1; } .figures { grid-template-columns: 1fr; }
                            main { padding: .8rem; } }
@media print {
  @page { size: A4; margin: 14mm 12mm; }
  body { background: #fff; font-size: 10pt; }
  header.top { background: none; color: #000; padding: 0 0 .5rem;
               border-bottom: 2px solid #000; }
  header.top p { color: #333; }
  nav.toc { display: none; }
  main { max-width: none; padding: 0; }
  section.record { border: none; padding: 0; margin: 0 0 1rem; break-before: page; }
  section.record:first-of-type { break-before: auto; }
  .figures { grid-template-columns: 1fr 1fr; gap: .5rem; }
  figure { border: none; padding: 0; }
  table { font-size: 7.5pt; }
  th, td { white-space: normal; padding: .12rem .3rem; }
  .table-wrap { overflow: visible; }
  h2, h3, caption { break-after: avoid; }
  tr { break-inside: avoid; }
}
"""


#: Column-name unit suffixes and their symbols, longest first (``_ampere_hour`` before ``_hour``).
_UNIT_SUFFIXES = (
    ("_milliampere_hour_per_square_centimeter", "mAh cm⁻²"),
    ("_milliampere_per_square_centimeter", "mA cm⁻²"),
    ("_milliampere_hour_per_gram", "mAh g⁻¹"), ("_ohm_square_centimeter", "Ω cm²"),
    ("_siemens_per_centimeter", "S cm⁻¹"), ("_farad_per_centimeter", "F cm⁻¹"),
    ("_ampere_hour_per_volt", "Ah V⁻¹"), ("_ampere_hour", "Ah"), ("_watt_hour", "Wh"),
    ("_per_hour", "h⁻¹"), ("_second", "s"), ("_volt", "V"), ("_ampere", "A"),
    ("_ohm", "Ω"), ("_farad", "F"), ("_hertz", "Hz"), ("_celsius", "°C"), ("_gram", "g"),
)


def column_label(name: str) -> str:
    """``current_density_milliampere_per_square_centimeter`` -> ``current density / mA cm⁻²``."""
    for suffix, symbol in _UNIT_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return f"{name[: -len(suffix)].replace('_', ' ')} / {symbol}"
    return name.replace("_", " ")


def _table_html(caption: str, table: pd.DataFrame, max_rows: int = 60) -> str:
    shown = table.head(max_rows)
    formatted = shown.map(_cell) if hasattr(shown, "map") else shown.applymap(_cell)
    formatted.columns = [column_label(str(c)) for c in formatted.columns]
    body = formatted.to_html(index=False, escape=True, border=0, na_rep="–")
    body = body.replace('<table class="dataframe">', "<table>")
    more = (f" (first {max_rows} of {len(table)} rows)" if len(table) > max_rows else "")
    return body.replace("<table>", f"<table><caption>{html.escape(caption + more)}</caption>", 1)


def _cell(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            return "–"
        return f"{value:.5g}"
    return value


def render(sections: Sequence[Section], title: str) -> str:
    """The HTML page of the sections."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    escape = html.escape
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
        f'<header class="top"><h1>{escape(title)}</h1><p>{len(sections)} record(s) · '
        f"generated {stamp} by labkit {__version__}</p></header>", "<main>",
        '<nav class="toc"><strong>Contents</strong><ol>',
    ]
    for number, section in enumerate(sections, 1):
        parts.append(f'<li><a href="#record-{number}">{escape(section.title)}</a> '
                     f"<small>({escape(section.kind)})</small></li>")
    parts.append("</ol></nav>")
    for number, section in enumerate(sections, 1):
        unreadable = " unreadable" if section.error else ""
        parts.append(f'<section class="record" id="record-{number}">'
                     f"<h2>{escape(section.title)}</h2>"
                     f'<span class="kind{unreadable}">{escape(section.kind)}</span>')
        if section.error:
            parts.append(f'<p class="error">{escape(section.error)}</p></section>')
            continue
        if section.findings:
            parts.append('<h3>Results</h3><div class="findings">')
            parts.extend(f'<div class="finding"><b>{escape(name)}</b>{escape(value)}</div>'
                         for name, value in section.findings)
            parts.append("</div>")
        if section.figures:
            parts.append('<h3>Figures</h3><div class="figures">')
            parts.extend(f'<figure><img alt="{escape(caption)}" src="data:image/png;base64,'
                         f'{data}"><figcaption>{escape(caption)}</figcaption></figure>'
                         for caption, data in section.figures)
            parts.append("</div>")
        if section.tables:
            parts.append("<h3>Tables</h3>")
            parts.extend(f'<div class="table-wrap">{_table_html(caption, table)}</div>'
                         for caption, table in section.tables)
        if section.skipped:
            parts.append('<h3>Not analysed</h3><ul class="skipped">')
            parts.extend(f"<li>{escape(text)}</li>" for text in section.skipped)
            parts.append("</ul>")
        parts.append('<h3>Record</h3><dl class="meta">')
        parts.extend(f"<dt>{escape(key)}</dt><dd>{escape(value)}</dd>"
                     for key, value in section.metadata)
        parts.append("</dl></section>")
    parts.append(f"</main><footer>labkit {__version__} · figures embedded; this page needs no "
                 "network</footer></body></html>")
    return "\n".join(parts)


def write_report(
    inputs: Iterable[Any],
    output: str | PathLike[str],
    *,
    title: str = "labkit report",
    sample: dict[str, float | None] | None = None,
    interpretation: Mapping[str, Any] | None = None,
) -> ReportSummary:
    """Analyse ``inputs`` and write the HTML report to ``output`` atomically.

    Parameters
    ----------
    inputs
        Records, files, folders, or lab store folders.
    output
        The HTML file to write (replaced only when the whole page is ready).
    title
        Page title.
    sample
        Sample values for records whose files do not state them
        (``{"area_square_centimeter": 1.0}``).
    interpretation
        ``lead_resistance_ohm`` and ``assign`` for every spectrum's arc interpretation.
    """
    sections = build_sections(inputs, sample=sample, interpretation=interpretation)
    page = render(sections, title)
    with atomic_write(output, "w", encoding="utf-8") as handle:
        handle.write(page)
    failed = [{"file": s.source, "error": s.error} for s in sections if s.error]
    return ReportSummary(str(output), sum(1 for s in sections if not s.error), failed,
                         [{"file": s.source, "kind": s.kind, "figures": len(s.figures),
                           "tables": len(s.tables), "skipped": s.skipped,
                           "results": dict(s.findings)} for s in sections])
