"""The material card: a new electrolyte's row in the review's tables, from its raw test files.

:func:`card` reads a manifest (or detects the tests of a folder), runs each test's analysis
(:mod:`labkit.material_card.runners`) and returns a :class:`MaterialCard`: one row in the
columns of the review's Table 1 (inorganic ceramics: σ, oxidative stability, CCD) or
Table 3 (polymer / composite / quasi-solid: σ, t⁺, oxidative stability, cathode and
capacity/C-rate), Table 2-style cell rows, and the other numbers the tests gave (Ea, the
reductive onset, tortuosity...). Every number carries its standard error, the conditions
it holds under, and the files and analysis it came from. A test that fails is listed with
its error; the others still make the card.

:meth:`MaterialCard.to_dict`, :meth:`~MaterialCard.to_frame` (the CSV) and
:meth:`~MaterialCard.to_markdown` carry the same numbers; :func:`write_card` writes one of
them by the file's suffix (``.json``, ``.csv``, ``.md``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import pandas as pd

from labkit.errors import FormatError, LabkitError
from labkit.material_card.detect import detect_manifest
from labkit.material_card.manifest import CardTest, Manifest, is_manifest, load_manifest
from labkit.material_card.runners import ORDER, CardValue, Context, run

CITATION = ("J. Yu et al., Fast-Charging Solid-State Li Batteries: Materials, Strategies, and "
            "Prospects, Adv. Mater. 2025, 2417796, doi:10.1002/adma.202417796")
TABLE_TITLES = {
    1: "Table 1: ionic conductivity, oxidative stability and CCD of inorganic ceramic "
       "electrolytes",
    3: "Table 3: polymer, inorganic-polymer composite and quasi-solid electrolytes",
}
#: The review's columns of each table: (header, how the card fills it).
_HEADERS = {
    1: ("ICE type", "ICE formula/component", "σ [mS cm⁻¹] @temperature", "Oxidative stability",
        "CCD [mA cm⁻²] @temperature", "Strategy", "Refs"),
    3: ("Electrolyte", "σ [mS cm⁻¹] @temperature", "t_Li+", "Oxidative stability [V]",
        "Cathode active material", "Capacity [mAh g⁻¹]/C-rate [C]", "Strategy",
        "Operation temperature [°C]", "Refs."),
}


@dataclass(frozen=True, eq=False)
class CardRun:
    """One test of the card: what it gave, or why it gave nothing."""

    test: CardTest
    values: tuple[CardValue, ...]
    error: dict[str, Any] | None
    results: tuple[Any, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the values are listed once, in the card's ``values``)."""
        return {**self.test.to_dict(), "status": "error" if self.error else "ok",
                "error": self.error, "values": len(self.values)}


@dataclass(frozen=True, eq=False)
class MaterialCard:
    """A material's numbers in the review's columns, with uncertainties and provenance.

    Attributes
    ----------
    material, material_class, strategy
        As the manifest names them.
    table
        1 or 3: which of the review's tables the row belongs to.
    source
        The manifest, or the folder whose tests were detected.
    runs
        Every test with its values or its error, in manifest order.
    notes
        Choices made (default table, files not used).
    """

    material: str
    material_class: str | None
    strategy: str | None
    table: int
    source: str | None
    runs: tuple[CardRun, ...]
    notes: tuple[str, ...]

    @property
    def values(self) -> tuple[CardValue, ...]:
        """Every number of the card, test by test."""
        return tuple(value for run_ in self.runs for value in run_.values)

    @property
    def row(self) -> dict[str, CardValue]:
        """The table columns filled: quantity -> its value (the first test that gave it)."""
        row: dict[str, CardValue] = {}
        for value in self.values:
            if value.section == "table":
                row.setdefault(value.quantity, value)
        return row

    def value(self, quantity: str) -> CardValue | None:
        """The first value of a quantity."""
        return next((v for v in self.values if v.quantity == quantity), None)

    @property
    def failed(self) -> bool:
        """Whether any test gave an error."""
        return any(run_.error for run_ in self.runs)

    def to_dict(self) -> dict[str, Any]:
        """``{"material", "review_table", "row", "values", "tests", ...}``."""
        return {
            "material": self.material, "class": self.material_class, "strategy": self.strategy,
            "review_table": self.table, "review_table_title": TABLE_TITLES[self.table],
            "row": {quantity: value.to_dict() for quantity, value in self.row.items()},
            "values": [value.to_dict() for value in self.values],
            "tests": [run_.to_dict() for run_ in self.runs],
            "notes": list(self.notes), "source": self.source, "citation": CITATION,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per number: section, quantity, value, stderr, unit, conditions, provenance."""
        chosen = {id(value) for value in self.row.values()}
        return pd.DataFrame([{
            "material": self.material, "section": v.section, "in_table_row": id(v) in chosen,
            "quantity": v.quantity, "label": v.label, "value": v.estimate.value,
            "stderr": v.estimate.stderr, "unit": v.estimate.unit,
            "conditions": _conditions_text(v.conditions), "files": "; ".join(v.files),
            "analysis": v.analysis, "test": v.test} for v in self.values],
            columns=["material", "section", "in_table_row", "quantity", "label", "value",
                     "stderr", "unit", "conditions", "files", "analysis", "test"])

    def to_markdown(self) -> str:
        """The row in the review's columns, the cell rows, the other numbers, and provenance."""
        lines = [f"# Material card: {self.material}", "",
                 f"Row of the review's {TABLE_TITLES[self.table]} ({CITATION}).", ""]
        headers = _HEADERS[self.table]
        lines += [_markdown_row(headers), _markdown_row(["---"] * len(headers)),
                  _markdown_row(self._row_cells()), ""]
        cells = [v for v in self.values if v.section == "cell"]
        if cells:
            lines += ["## Cells (Table 2-style)", "",
                      _markdown_row(("Anode", "Cathode", "Cathode composition",
                                     "Cathode loading", "Solid electrolyte",
                                     "Operation temperature", "Capacity/C-rate/cycles")),
                      _markdown_row(["---"] * 7)]
            lines += [_markdown_row(_cell_cells(v)) for v in cells]
            lines.append("")
        others = [v for v in self.values if v.section == "additional"]
        if others:
            lines += ["## Other numbers", "", _markdown_row(("quantity", "value", "conditions")),
                      _markdown_row(["---"] * 3)]
            lines += [_markdown_row((v.label, _text(v), _conditions_text(v.conditions)))
                      for v in others]
            lines.append("")
        lines += ["## Where each number comes from", "",
                  _markdown_row(("quantity", "value", "stderr", "unit", "section", "conditions",
                                 "files", "analysis")), _markdown_row(["---"] * 8)]
        lines += [_markdown_row((v.quantity, _full(v.estimate.value), _full(v.estimate.stderr),
                                 v.estimate.unit, v.section, _conditions_text(v.conditions),
                                 ", ".join(Path(f).name for f in v.files), v.analysis))
                  for v in self.values]
        lines += ["", "## Tests", ""]
        for run_ in self.runs:
            state = (f"**error** ({run_.error['type']}): {run_.error['message']}" if run_.error
                     else f"{len(run_.values)} number(s)")
            lines.append(f"- {run_.test.label} ({run_.test.kind}): {state}. Files: "
                         f"{', '.join(Path(f).name for f in run_.test.files) or '–'}. "
                         f"Evidence: {run_.test.evidence}.")
        lines += [f"- note: {note}" for note in self.notes]
        return "\n".join(lines) + "\n"

    def _row_cells(self) -> list[str]:
        row = self.row
        sigma = row.get("conductivity_siemens_per_centimeter")
        sigma_text = "–" if sigma is None else (
            _uncertain(1000 * sigma.estimate.value, 1000 * sigma.estimate.stderr)
            + _at(sigma.conditions.get("temperature_celsius")))
        ox = row.get("oxidative_stability_volt")
        ox_text = "–" if ox is None else (
            f"{_text(ox)} ({ox.conditions['threshold_milliampere_per_square_centimeter']:g} "
            f"mA cm⁻²)")
        strategy = self.strategy or "–"
        if self.table == 1:
            ccd = row.get("ccd_milliampere_per_square_centimeter")
            ccd_text = "–" if ccd is None else (
                f"{ccd.estimate.value:g}{_at(ccd.conditions.get('temperature_celsius'))}"
                + ("" if ccd.conditions.get("failed_at_milliampere_per_square_centimeter") is None
                   else f" (failed at "
                        f"{ccd.conditions['failed_at_milliampere_per_square_centimeter']:g})"))
            return [self.material_class or "–", self.material, sigma_text, ox_text, ccd_text,
                    strategy, "this work"]
        t_plus = row.get("transference_number")
        cells = [v for v in self.values if v.section == "cell"]
        cathodes = sorted({str(v.conditions["cell"].get("cathode", "–")) for v in cells})
        temperatures = sorted({f"{v.conditions['cell']['temperature_celsius']:g}" for v in cells
                               if v.conditions["cell"].get("temperature_celsius") is not None})
        capacity = "; ".join(f"{_text(v, unit=False)}/{v.conditions['c_rate_per_hour']:g}C"
                             for v in cells) or "–"
        return [self.material, sigma_text, "–" if t_plus is None else _text(t_plus), ox_text,
                ", ".join(cathodes) or "–", capacity, strategy, ", ".join(temperatures) or "–",
                "this work"]


def _full(number: float) -> str:
    return "–" if number is None or not math.isfinite(number) else f"{number:.6g}"


def _uncertain(value: float, stderr: float) -> str:
    from labkit.report import with_uncertainty

    return with_uncertainty(value, stderr if math.isfinite(stderr) else None)


def _text(value: CardValue, unit: bool = True) -> str:
    text = _uncertain(value.estimate.value, value.estimate.stderr)
    return f"{text} {value.estimate.unit}" if unit and value.estimate.unit else text


def _at(temperature: float | None) -> str:
    return "" if temperature is None else f"@{temperature:g} °C"


def _conditions_text(conditions: Any) -> str:
    parts = []
    for key, item in conditions.items():
        if item is None:
            continue
        if isinstance(item, dict):
            item = ", ".join(f"{k}={v}" for k, v in item.items() if v is not None)
            item = f"({item})"
        elif isinstance(item, float):
            item = f"{item:.6g}"
        parts.append(f"{key}={item}")
    return "; ".join(parts)


def _cell_cells(value: CardValue) -> list[str]:
    cell = value.conditions.get("cell", {})
    loading = cell.get("cathode_loading_milligram_per_square_centimeter")
    loading_text = "–" if loading is None else f"{loading:g} mg cm⁻²"
    if loading is None and cell.get("cathode_loading_milliampere_hour_per_square_centimeter"):
        areal = cell["cathode_loading_milliampere_hour_per_square_centimeter"]
        loading_text = f"{areal:g} mAh cm⁻²"
    temperature = cell.get("temperature_celsius")
    return [str(cell.get("anode", "–")), str(cell.get("cathode", "–")),
            str(cell.get("cathode_composition", "–")), loading_text,
            str(cell.get("electrolyte", "–")),
            "–" if temperature is None else f"{temperature:g} °C",
            f"{_text(value)}/{value.conditions['c_rate_per_hour']:g}C/"
            f"{value.conditions['cycles']}"]


def _markdown_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |"


def _manifest(source: Any, **options: Any) -> Manifest:
    if isinstance(source, (str, PathLike)):
        path = Path(source)
        if path.is_file() and path.suffix.lower() in (".yaml", ".yml"):
            return load_manifest(path)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if is_manifest(p))
            if len(found) > 1:
                raise FormatError(f"the folder holds {len(found)} card manifests "
                                  f"({', '.join(p.name for p in found)}); name one", file=path)
            if found:
                return load_manifest(found[0])
        elif not path.exists():
            raise FormatError("no such file or folder", file=path)
    return detect_manifest(source, **options)


def card(
    source: str | PathLike[str] | Sequence[str | PathLike[str]],
    *,
    material: str | None = None,
    material_class: str | None = None,
    table: int | None = None,
    strategy: str | None = None,
    temperature_celsius: float | None = None,
    sample: dict[str, float | None] | None = None,
) -> MaterialCard:
    """A material card from a manifest, a folder holding one, or the files of a folder.

    Parameters
    ----------
    source
        A manifest (``.yaml``), a folder holding one, or a folder (or files) whose tests are
        detected from the records (:mod:`labkit.material_card.detect`).
    material, material_class, table, strategy, temperature_celsius, sample
        For detected tests only (a manifest states its own): the material's name and class
        (or the review table), its strategy, the tests' temperature and the sample values
        the files do not state.

    Raises
    ------
    FormatError
        When the manifest is not a valid card manifest, or a folder holds several.
    """
    manifest = _manifest(source, material=material, material_class=material_class, table=table,
                         strategy=strategy, temperature_celsius=temperature_celsius,
                         sample=sample)
    context = Context(manifest.table, manifest.temperature_celsius)
    outcomes: dict[int, CardRun] = {}
    order = sorted(range(len(manifest.tests)), key=lambda i: ORDER.index(manifest.tests[i].kind)
                   if manifest.tests[i].kind in ORDER else len(ORDER))
    for index in order:
        test = manifest.tests[index]
        values, results, error = [], [], None
        try:
            values, results = run(test, context)
        except LabkitError as exc:
            error = exc.to_dict()
        except Exception as exc:  # noqa: BLE001 - one test's failure must not cost the card
            error = {"type": "InternalError", "message": f"{type(exc).__name__}: {exc}",
                     "file": None, "position": None}
        context.values.extend(values)
        outcomes[index] = CardRun(test, tuple(values), error, tuple(results))
    runs = tuple(outcomes[i] for i in range(len(manifest.tests)))
    return MaterialCard(manifest.material, manifest.material_class, manifest.strategy,
                        manifest.table, manifest.source, runs, manifest.notes)


def write_card(material_card: MaterialCard, path: str | PathLike[str]) -> Path:
    """Write the card as JSON, CSV or Markdown (by the suffix), atomically.

    Raises
    ------
    LabkitError
        When the suffix is none of ``.json``, ``.csv``, ``.md``.
    """
    from labkit.analysis._base import plain
    from labkit.fileio import atomic_write

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        text = json.dumps(plain(material_card.to_dict()), ensure_ascii=False, indent=1,
                          allow_nan=False)
    elif suffix == ".csv":
        text = material_card.to_frame().to_csv(index=False)
    elif suffix == ".md":
        text = material_card.to_markdown()
    else:
        raise LabkitError(f"the card is written as .json, .csv or .md, not "
                          f"{suffix or 'no suffix'!r}", file=str(path))
    with atomic_write(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
    return path
