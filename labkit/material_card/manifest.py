"""The material card's manifest: the material, and per test its kind, files and geometry (YAML).

.. code-block:: yaml

    material: Li6.4La3Zr1.4Ta0.6O12 (batch 7)
    class: oxide              # sulfide | halide | oxide -> review Table 1;
                              # polymer | composite | quasi-solid -> Table 3
    strategy: Ta doping       # optional: the tables' strategy column
    temperature_celsius: 25   # the tests' temperature, unless a test states its own
    tests:
      - kind: eis_temperature_series
        files: [eis/pellet_*C.csv]       # paths or glob patterns, relative to the manifest
        area_square_centimeter: 0.785
        thickness_centimeter: 0.1
      - kind: stability_window
        files: [lsv.mpr]
        area_square_centimeter: 0.785
        threshold_milliampere_per_square_centimeter: 0.01
      - kind: ccd
        files: [li_llzo_li.mpr]
        area_square_centimeter: 1.0
      - kind: transference
        ca: ca.mpr
        eis_before: eis_before.mpr
        eis_after: eis_after.mpr
      - kind: rate
        files: [cell_rate.mpr]
        nominal_capacity_ampere_hour: 0.003
        active_mass_gram: 0.02
        cell: {anode: Li, cathode: NMC811, cathode_loading_milligram_per_square_centimeter: 10}
      - kind: tortuosity
        files: [composite_blocking.mpr]
        area_square_centimeter: 0.785
        thickness_centimeter: 0.005
        volume_fraction: 0.35  # sigma_electrolyte_siemens_per_centimeter: this card's σ if absent

The keys of each kind are listed in :data:`KINDS`; an unknown key, a missing required one
or a pattern matching no file is that test's error (the other tests still run). A
manifest that is not a YAML mapping with ``material`` and ``tests`` is a
:class:`~labkit.errors.FormatError` naming the file and line.
"""

from __future__ import annotations

import glob
from collections.abc import Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from labkit.errors import FormatError, LabkitError, MetadataError

#: Material classes and the review table each belongs to.
CLASS_TABLES = {"sulfide": 1, "halide": 1, "oxide": 1, "inorganic": 1, "ceramic": 1,
                "polymer": 3, "composite": 3, "quasi-solid": 3}
#: Keys describing the cell of a rate or fast-charge test (the columns of the review's Table 2).
CELL_KEYS = frozenset({"anode", "cathode", "cathode_composition",
                       "cathode_loading_milligram_per_square_centimeter",
                       "cathode_loading_milliampere_hour_per_square_centimeter", "electrolyte",
                       "temperature_celsius"})
_COMMON = frozenset({"kind", "name", "files", "temperature_celsius"})


@dataclass(frozen=True)
class KindSpec:
    """The keys a test of one kind takes besides kind, name, files and temperature_celsius."""

    required: frozenset[str]
    optional: frozenset[str]
    description: str


KINDS: dict[str, KindSpec] = {
    "eis_temperature_series": KindSpec(
        frozenset({"area_square_centimeter", "thickness_centimeter"}),
        frozenset({"circuit", "model", "temperatures_celsius"}),
        "impedance spectra of a pellet at several temperatures: σ at 25 °C and Ea"),
    "stability_window": KindSpec(
        frozenset(), frozenset({"area_square_centimeter",
                                "threshold_milliampere_per_square_centimeter",
                                "reference_offset_volt"}),
        "linear sweeps or CVs: oxidative (and reductive) onset potential"),
    "ccd": KindSpec(frozenset(), frozenset({"area_square_centimeter"}),
                    "stepped-current test of a Li | electrolyte | Li cell: the CCD"),
    "transference": KindSpec(frozenset({"ca"}), frozenset({"eis_before", "eis_after"}),
                             "chronoamperometry with EIS before/after: Bruce–Vincent t⁺"),
    "rate": KindSpec(frozenset(), frozenset({"nominal_capacity_ampere_hour", "active_mass_gram",
                                             "cell"}),
                     "a cell's rate test: capacity per C-rate (Table 2-style rows)"),
    "fast_charge": KindSpec(frozenset(), frozenset({"nominal_capacity_ampere_hour", "cell"}),
                            "a cell's charges: time to 80 % state of charge"),
    "tortuosity": KindSpec(
        frozenset({"area_square_centimeter", "thickness_centimeter"}),
        frozenset({"volume_fraction", "sigma_electrolyte_siemens_per_centimeter", "circuit"}),
        "blocking spectrum of a composite electrode: R_ion, σ_eff, MacMullin number, τ"),
}
#: Kinds whose files the manifest names under ``files`` (transference names its own).
_FILE_KINDS = frozenset(KINDS) - {"transference"}


@dataclass(frozen=True)
class CardTest:
    """One test of the card: its kind, files and options, and how it was chosen.

    Attributes
    ----------
    kind
        One of :data:`KINDS`.
    label
        ``"tests[2] ccd"`` or the manifest's ``name``.
    files
        The files it reads (for a transference test: CA, EIS before, EIS after).
    options
        Its other keys (geometry, thresholds, cell...).
    evidence
        Why it is this kind: "named in the manifest", or what detection saw.
    problem
        An error found before running it (unknown key, no file matched).
    """

    kind: str
    label: str
    files: tuple[str, ...]
    options: Mapping[str, Any] = field(default_factory=dict)
    evidence: str = "named in the manifest"
    problem: LabkitError | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"kind": self.kind, "label": self.label, "files": list(self.files),
                "options": dict(self.options), "evidence": self.evidence}


@dataclass(frozen=True)
class Manifest:
    """A material and its tests.

    Attributes
    ----------
    material
        The electrolyte's name.
    table
        1 (inorganic ceramics) or 3 (polymer / composite / quasi-solid).
    material_class
        ``sulfide``, ``polymer``... as given (``None`` when not).
    strategy
        The tables' strategy column, as given.
    temperature_celsius
        The tests' temperature unless a test states its own.
    tests
        The tests in manifest (or detection) order.
    source
        The manifest file or the folder detected.
    notes
        Choices made for the user (a default table, skipped files).
    """

    material: str
    table: int
    material_class: str | None
    strategy: str | None
    temperature_celsius: float | None
    tests: tuple[CardTest, ...]
    source: str | None
    notes: tuple[str, ...] = ()


def table_of(material_class: str | None, table: Any, where: str | None) -> tuple[int, str | None]:
    """The review table of a material class (or an explicit ``table``), and the note it makes."""
    if table is not None:
        if table not in (1, 3):
            raise FormatError(f"table must be 1 (inorganic) or 3 (polymer/composite), got "
                              f"{table!r}", file=where)
        return int(table), None
    if material_class is None:
        return 1, ("no material class given: the card uses the review's Table 1 (inorganic "
                   "ceramic electrolytes); give class (polymer, composite...) for Table 3")
    key = str(material_class).lower()
    if key not in CLASS_TABLES:
        raise FormatError(f"class must be one of {sorted(CLASS_TABLES)}, got "
                          f"{material_class!r}", file=where)
    return CLASS_TABLES[key], None


def is_manifest(path: str | PathLike[str]) -> bool:
    """Whether ``path`` is a YAML file whose top level has ``tests`` (a card manifest)."""
    path = Path(path)
    if path.suffix.lower() not in (".yaml", ".yml") or not path.is_file():
        return False
    try:
        import yaml

        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(content, dict) and "tests" in content


def _files(patterns: Any, folder: Path, label: str, manifest: str) -> tuple[str, ...]:
    items = [patterns] if isinstance(patterns, (str, PathLike)) else patterns
    if not isinstance(items, list) or not items:
        raise MetadataError(f"{label}: files must be a path or a list of paths or patterns",
                            file=manifest)
    found: list[str] = []
    for item in items:
        pattern = str(folder / str(item))
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else (
            [pattern] if Path(pattern).exists() else [])
        if not matches:
            raise MetadataError(f"{label}: no file matches {item!r} (relative to "
                                f"{folder})", file=manifest)
        found.extend(matches)
    return tuple(found)


def _test(index: int, entry: Any, folder: Path, manifest: str) -> CardTest:
    label = f"tests[{index}]"
    if not isinstance(entry, dict) or "kind" not in entry:
        return CardTest("unknown", label, (), {}, problem=MetadataError(
            f"{label}: each test is a mapping with a 'kind' (one of {sorted(KINDS)})",
            file=manifest))
    kind = str(entry["kind"])
    label = str(entry.get("name") or f"{label} {kind}")
    spec = KINDS.get(kind)
    if spec is None:
        return CardTest(kind, label, (), {}, problem=MetadataError(
            f"{label}: unknown kind {kind!r}; the kinds are {sorted(KINDS)}", file=manifest))
    options = {k: v for k, v in entry.items() if k not in ("kind", "name", "files")}
    allowed = spec.required | spec.optional | _COMMON
    unknown = sorted(set(entry) - allowed)
    missing = sorted(spec.required - set(entry))
    cell = entry.get("cell", {})
    problem: LabkitError | None = None
    if unknown:
        problem = MetadataError(f"{label}: unknown key(s) {unknown} for a {kind} test; it takes "
                                f"{sorted(allowed - {'kind'})}", file=manifest)
    elif missing:
        problem = MetadataError(f"{label}: a {kind} test needs {missing}", file=manifest)
    elif not isinstance(cell, dict) or set(cell) - CELL_KEYS:
        problem = MetadataError(f"{label}: cell must be a mapping of {sorted(CELL_KEYS)}",
                                file=manifest)
    files: tuple[str, ...] = ()
    try:
        if kind in _FILE_KINDS:
            files = _files(entry.get("files"), folder, label, manifest)
        else:
            files = tuple(_files(entry[key], folder, label, manifest)[0]
                          for key in ("ca", "eis_before", "eis_after") if key in entry)
            options = {k: v for k, v in options.items() if k not in ("ca", "eis_before",
                                                                     "eis_after")}
            options["roles"] = [key for key in ("ca", "eis_before", "eis_after") if key in entry]
    except MetadataError as exc:
        problem = problem or exc
    except KeyError:
        problem = problem or MetadataError(f"{label}: a {kind} test needs 'ca'", file=manifest)
    return CardTest(kind, label, files, options, problem=problem)


def load_manifest(path: str | PathLike[str]) -> Manifest:
    """Read a card manifest; file patterns are resolved relative to its folder.

    Raises
    ------
    FormatError
        When the file is not YAML, or not a mapping with ``material`` and a list ``tests``.
    """
    import yaml

    path = Path(path)
    where = str(path)
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FormatError(f"cannot read the manifest: {exc.strerror}", file=where) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise FormatError(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=where,
                          position=None if mark is None else f"line {mark.line + 1}") from exc
    if not isinstance(content, dict) or "material" not in content or not isinstance(
            content.get("tests"), list):
        raise FormatError("expected a YAML mapping with 'material' (the electrolyte's name) and "
                          "'tests' (a list of tests, each with a 'kind')", file=where)
    unknown = sorted(set(content) - {"material", "class", "table", "strategy",
                                     "temperature_celsius", "tests"})
    if unknown:
        raise FormatError(f"unknown top-level key(s) {unknown}; expected material, class, "
                          "table, strategy, temperature_celsius, tests", file=where)
    table, note = table_of(content.get("class"), content.get("table"), where)
    temperature = content.get("temperature_celsius")
    tests = tuple(_test(i, entry, path.parent, where) for i, entry in enumerate(content["tests"]))
    return Manifest(str(content["material"]), table, content.get("class"),
                    content.get("strategy"), None if temperature is None else float(temperature),
                    tests, where, () if note is None else (note,))
