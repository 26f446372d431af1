"""A card's tests found from the files themselves, when there is no manifest.

Every file is read and classified (:mod:`labkit.analysis.classify`), and the evidence is
kept with the test it lands in:

* blocking pellet spectra → one ``eis_temperature_series`` test;
* transmission-line spectra (a composite electrode under blocking conditions) →
  ``tortuosity``;
* potential sweeps (LSV, CV) → ``stability_window``;
* stepped-current tests → ``ccd``;
* each chronoamperometry, with the spectra named ``<its prefix>…before…`` / ``…after…`` →
  ``transference``;
* galvanostatic cycling → ``rate`` when its discharge currents form a ladder of four or
  more rates, else ``fast_charge``.

Sample values come from the files, else from ``sample`` (``area_square_centimeter``,
``thickness_centimeter``, ``active_mass_gram``, ``nominal_capacity_ampere_hour``) for the
pellet, the sweeps, the CCD and the cells. A composite electrode's geometry is never taken
from ``sample`` (its thickness is not the pellet's): its file must state it, or a manifest.
Files that cannot be read, or that no test uses, are listed in the notes with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import Any

from labkit.analysis.classify import cycling_test, impedance_test, is_rate_ladder, paired_spectra
from labkit.data import CycleSummaryRecord, ImpedanceRecord
from labkit.errors import LabkitError, MetadataError
from labkit.material_card.manifest import KINDS, CardTest, Manifest, is_manifest, table_of

#: Sample values each kind takes from the files or from ``sample`` (tortuosity: files only).
_SAMPLE_KEYS = {
    "eis_temperature_series": ("area_square_centimeter", "thickness_centimeter"),
    "stability_window": ("area_square_centimeter",),
    "ccd": ("area_square_centimeter",),
    "rate": ("nominal_capacity_ampere_hour", "active_mass_gram"),
    "fast_charge": ("nominal_capacity_ampere_hour",),
    "tortuosity": ("area_square_centimeter", "thickness_centimeter"),
}


def _inputs(source: str | PathLike[str] | Sequence[str | PathLike[str]]) -> list[Path]:
    items = [source] if isinstance(source, (str, PathLike)) else list(source)
    files: list[Path] = []
    for item in map(Path, items):
        if item.is_dir():
            files.extend(p for p in sorted(item.iterdir())
                         if p.is_file() and not p.name.startswith("."))
        else:
            files.append(item)
    return [p for p in files if not is_manifest(p)]


def _kind_of(record: Any) -> tuple[str | None, str]:
    """(card kind or None, evidence) of one record (transference is paired separately)."""
    if isinstance(record, ImpedanceRecord):
        found = impedance_test(record)
        kind = {"blocking-pellet": "eis_temperature_series",
                "transmission-line": "tortuosity"}.get(found.kind)
        return kind, found.evidence
    if isinstance(record, CycleSummaryRecord):
        return None, "a per-cycle summary table: no card analysis reads one"
    found = cycling_test(record)
    if found.kind == "potential-sweep":
        return "stability_window", found.evidence
    if found.kind == "stepped-current":
        return "ccd", found.evidence
    if found.kind == "chronoamperometry":
        return "transference", found.evidence
    from labkit.analysis.cycling import summarize_cycles

    try:
        ladder = is_rate_ladder(summarize_cycles(record).table)
    except LabkitError as exc:
        return None, f"{found.evidence}; its cycles could not be summarised: {exc.message}"
    if ladder:
        return "rate", f"{found.evidence}; its discharge currents form a ladder of ≥ 4 rates"
    return "fast_charge", f"{found.evidence}; no rate ladder, so its charges are timed"


def _name_pattern(name: str) -> str:
    return re.sub(r"-?\d+(?:[.p]\d+)?", "#", Path(name).stem.lower())


def _with_cold_pellets(classified: list[tuple[str, Any, str | None, str]]
                       ) -> list[tuple[str, Any, str | None, str]]:
    """Spectra read as non-blocking but named like two or more pellet spectra of the series
    (``pellet_eis_-20C`` beside ``pellet_eis_25C``...): a cold pellet whose blocking spike
    starts below the lowest frequency belongs to the temperature series."""
    series = [_name_pattern(name) for name, _, kind, _ in classified
              if kind == "eis_temperature_series"]
    out = []
    for name, record, kind, evidence in classified:
        if (kind is None and isinstance(record, ImpedanceRecord)
                and series.count(_name_pattern(name)) >= 2):
            kind = "eis_temperature_series"
            evidence += (f"; named like {series.count(_name_pattern(name))} pellet spectra of "
                         "the series, so taken as a pellet whose spike lies below the range")
        out.append((name, record, kind, evidence))
    return out


def _options(kind: str, records: list[Any], sample: dict[str, float | None]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for key in _SAMPLE_KEYS.get(kind, ()):
        stated = [getattr(r.meta.sample, key) for r in records
                  if getattr(r.meta.sample, key, None) is not None]
        if stated:
            options[key] = float(stated[0])
        elif kind != "tortuosity" and sample.get(key) is not None:
            options[key] = float(sample[key])
    return options


def _problem(kind: str, options: dict[str, Any], label: str, where: str) -> MetadataError | None:
    missing = sorted(KINDS[kind].required - set(options) - {"ca"})
    if not missing:
        return None
    how = ("the composite electrode's file states none: write a manifest"
           if kind == "tortuosity" else "the files state none: give them (--area, --thickness) "
                                        "or write a manifest")
    return MetadataError(f"{label}: a {kind} test needs {missing}; {how}", file=where)


def detect_manifest(
    source: str | PathLike[str] | Sequence[str | PathLike[str]],
    *,
    material: str | None = None,
    material_class: str | None = None,
    table: int | None = None,
    strategy: str | None = None,
    temperature_celsius: float | None = None,
    sample: dict[str, float | None] | None = None,
) -> Manifest:
    """The tests the files of a folder (or a list of files) hold, with the evidence.

    Parameters
    ----------
    source
        A folder, or files.
    material, material_class, table, strategy, temperature_celsius
        As in a manifest; the material defaults to the folder's name.
    sample
        Sample values for files that state none (see the module notes).
    """
    import labkit

    sample = sample or {}
    where = str(source) if isinstance(source, (str, PathLike)) else None
    notes: list[str] = []
    records: list[tuple[str, Any]] = []
    for path in _inputs(source):
        try:
            records.append((str(path), labkit.read(path)))
        except LabkitError as exc:
            notes.append(f"not used: {path}: unreadable ({exc.message})")
    classified = _with_cold_pellets([(name, record, *_kind_of(record))
                                     for name, record in records])
    tests: list[CardTest] = []
    paired: set[str] = set()
    for name, _, kind, evidence in classified:
        if kind != "transference":
            continue
        pairs = paired_spectra(name, records)
        spectra = [str(pairs[when].meta.source_path) for when in ("before", "after")
                   if when in pairs]
        roles = ["ca", *(f"eis_{when}" for when in ("before", "after") if when in pairs)]
        paired.update(spectra)
        evidence += ("; spectra named before/after it: "
                     + (", ".join(Path(f).name for f in spectra) or "none"))
        tests.append(CardTest("transference", f"detected transference {Path(name).name}",
                              (name, *spectra), {"roles": roles}, evidence))
    for kind in KINDS:
        members = [(name, record, evidence) for name, record, found, evidence in classified
                   if found == kind and kind != "transference" and name not in paired]
        if not members:
            continue
        options = _options(kind, [record for _, record, _ in members], sample)
        label = f"detected {kind}"
        evidence = "; ".join(f"{Path(name).name}: {text}" for name, _, text in members)
        tests.append(CardTest(kind, label, tuple(name for name, _, _ in members), options,
                              evidence, _problem(kind, options, label, where or "")))
    notes.extend(f"not used: {name}: {evidence}" for name, _, kind, evidence in classified
                 if kind is None and name not in paired)
    chosen_table, note = table_of(material_class, table, where)
    notes.extend([note] if note else [])
    name = material or (Path(source).name if where else "unnamed material")
    return Manifest(name, chosen_table, material_class, strategy, temperature_celsius,
                    tuple(tests), where, tuple(notes))
