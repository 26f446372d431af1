"""The record types of labkit and their metadata.

A record is a frozen pair of a pandas DataFrame (``data``) and a
:class:`Metadata` (``meta``). :class:`CyclingRecord` holds time series from a
cycler or potentiostat, :class:`ImpedanceRecord` holds impedance spectra,
:class:`CycleSummaryRecord` holds a per-cycle summary table (one row per cycle)
as archives and cycler software publish it. Column names and units are defined
in :mod:`labkit.columns`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from labkit.columns import (
    CYCLE_SUMMARY_COLUMNS,
    CYCLING_COLUMNS,
    IMPEDANCE_COLUMNS,
    is_valid_name,
    no_unit_meaning,
    unit_of,
)
from labkit.errors import SchemaError


@dataclass(frozen=True)
class Sample:
    """What is known about the sample; ``None`` means the file does not say.

    Attributes
    ----------
    name
        Sample or cell name.
    area_square_centimeter
        Electrode (or pellet) area in cm².
    thickness_centimeter
        Electrolyte (pellet) thickness in cm.
    active_mass_gram
        Active material mass in g.
    nominal_capacity_ampere_hour
        Nominal cell capacity in Ah.
    temperature_celsius
        Test temperature in °C.
    """

    name: str | None = None
    area_square_centimeter: float | None = None
    thickness_centimeter: float | None = None
    active_mass_gram: float | None = None
    nominal_capacity_ampere_hour: float | None = None
    temperature_celsius: float | None = None


class _Deferred:
    """A frozen-dataclass field that may be given a function computing its value: the
    function is called on the first access and its result kept.

    ``labkit.read`` gives ``source_sha256`` this way: the SHA-256 of the bytes it parsed
    (still held) is computed when first asked for, not on every read.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self._slot = f"_{name}_value"

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            return None  # the field's default
        value = instance.__dict__[self._slot]
        if callable(value):
            value = value()
            instance.__dict__[self._slot] = value
        return value

    def __set__(self, instance: object, value: Any) -> None:
        instance.__dict__[self._slot] = value


@dataclass(frozen=True)
class Metadata:
    """Where a record came from and what it describes.

    Attributes
    ----------
    source_path
        The file it was read from.
    source_sha256
        SHA-256 of that file's bytes, hex. From ``labkit.read`` it is computed on first
        access, from the very bytes that were parsed (the record holds them until then).
    source_size_byte
        Size of that file.
    vendor
        Instrument maker (``"BioLogic"``, ``"Neware"``...).
    file_format
        labkit's name of the format (see ``labkit formats``).
    parser_version
        Version of the parser that read it (labkit version + parser revision).
    technique
        Techniques in the file (``("GCPL",)``, ``("PEIS",)``, ``("CA", "PEIS")``).
    start_time
        Start of the test, ISO 8601 (with offset when the file states one).
    time_zone
        How the record's wall-clock times (``unix_time_second``, ``start_time``) relate
        to UTC: ``"UTC"`` when they are absolute, ``"local"`` when the file gives local
        times without a zone (read as if UTC; :func:`labkit.timezones.localize`
        converts them), the zone's name once converted, ``None`` when unknown.
    instrument
        Instrument model / software as stated by the file.
    channel
        Channel identifier as stated by the file.
    sample
        Sample values the file states.
    notes
        Facts the parser wants a user to know (e.g. how ``cycle_count`` was derived).
    extra
        Vendor header fields, JSON-serialisable, as the file spells them.
    """

    source_path: str | None = None
    source_sha256: str | None = _Deferred()  # type: ignore[assignment]
    source_size_byte: int | None = None
    vendor: str | None = None
    file_format: str | None = None
    parser_version: str | None = None
    technique: tuple[str, ...] = ()
    start_time: str | None = None
    time_zone: str | None = None
    instrument: str | None = None
    channel: str | None = None
    sample: Sample = field(default_factory=Sample)
    notes: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __getstate__(self) -> dict[str, Any]:
        # a deferred digest is computed before pickling (its function holds the file's bytes)
        _ = self.source_sha256
        return self.__dict__

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dictionary (tuples become lists)."""
        out = dataclasses.asdict(self)
        out["technique"] = list(self.technique)
        out["notes"] = list(self.notes)
        out["extra"] = dict(self.extra)
        return out

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Metadata:
        """Inverse of :meth:`to_dict`; unknown keys are an error, missing ones default."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise SchemaError(f"unknown metadata fields {sorted(unknown)}")
        values = dict(values)
        values["technique"] = tuple(values.get("technique", ()))
        values["notes"] = tuple(values.get("notes", ()))
        values["sample"] = Sample(**values.get("sample", {}))
        values["extra"] = dict(values.get("extra", {}))
        return cls(**values)

    def with_sample(self, **values: Any) -> Metadata:
        """A copy with sample fields replaced (``meta.with_sample(area_square_centimeter=1.0)``)."""
        return dataclasses.replace(self, sample=dataclasses.replace(self.sample, **values))


class _Record:
    """Behaviour shared by the record types."""

    kind: ClassVar[str]
    known_columns: ClassVar[Mapping[str, str]]
    required_columns: ClassVar[tuple[str, ...]]
    data: pd.DataFrame
    meta: Metadata

    def __post_init__(self) -> None:
        if not isinstance(self.data, pd.DataFrame):
            raise SchemaError(f"{self.kind} record data must be a pandas DataFrame")
        if not isinstance(self.meta, Metadata):
            raise SchemaError(f"{self.kind} record meta must be a labkit Metadata")

    def validate(self) -> None:
        """Check the column names, required columns and numeric types.

        Raises
        ------
        SchemaError
            Naming the offending column.
        """
        problem = _schema_problem(type(self), tuple(self.data.columns.to_numpy(object).tolist()),
                                  tuple(_column_dtypes(self.data)))
        if problem:
            raise SchemaError(problem, file=self.meta.source_path)

    def units(self) -> dict[str, str]:
        """Column name -> unit (``""`` for counts and labels)."""
        return {c: unit_of(c) for c in self.data.columns}

    def to_parquet(self, path: str | PathLike[str]) -> None:
        """Write data and metadata to one Parquet file, atomically."""
        from labkit.parquet import write_record

        write_record(self, path)

    def summary(self) -> dict[str, Any]:
        """What ``labkit read`` prints: format, size, columns, time span, cycles."""
        data = self.data
        out: dict[str, Any] = {
            "kind": self.kind,
            "vendor": self.meta.vendor,
            "file_format": self.meta.file_format,
            "technique": list(self.meta.technique),
            "file": self.meta.source_path,
            "sha256": self.meta.source_sha256,
            "start_time": self.meta.start_time,
            "time_zone": self.meta.time_zone,
            "rows": len(data),
            "columns": [{"name": c, "unit": unit_of(c), "no_unit": no_unit_meaning(c),
                         "dtype": str(data[c].dtype)} for c in data],
            "notes": list(self.meta.notes),
        }
        if "test_time_second" in data and len(data):
            time = data["test_time_second"].to_numpy(dtype=float)
            out["time_span_second"] = _finite_span(time)
        if "cycle_count" in data and len(data):
            out["cycles"] = int(data["cycle_count"].nunique())
        return out


@functools.lru_cache(maxsize=1024)
def _schema_problem(record_type: type[_Record], names: tuple[Any, ...],
                    dtypes: tuple[Any, ...]) -> str | None:
    """What is wrong with these columns for ``record_type``, or None. A pure function of
    the layout, which the files of one instrument share: worked out once per layout."""
    for column, dtype in zip(names, dtypes, strict=True):
        if not isinstance(column, str) or not is_valid_name(column):
            return f"column name {column!r} is not snake_case"
        numeric = getattr(dtype, "kind", "") in "biufc" or pd.api.types.is_numeric_dtype(dtype)
        if not numeric and (column in record_type.known_columns or unit_of(column)):
            return f"column {column!r} must be numeric, is {dtype}"
    missing = [c for c in record_type.required_columns if c not in names]
    if missing:
        return f"{record_type.kind} record lacks required columns {missing}"
    return None


def _column_dtypes(frame: pd.DataFrame) -> Sequence[Any]:
    """The dtype of every column of ``frame``, in order.

    ``DataFrame.dtypes`` builds a Series indexed by the columns, which on a freshly parsed
    small file took longer than parsing it; the frame's block manager lists them directly.
    """
    listed = getattr(getattr(frame, "_mgr", None), "get_dtypes", None)
    return listed() if callable(listed) else frame.dtypes.tolist()


def _finite_span(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    return float(finite.max() - finite.min()) if finite.size else None


@dataclass(frozen=True)
class CyclingRecord(_Record):
    """Time series from a cycler or potentiostat (see :mod:`labkit.columns`)."""

    data: pd.DataFrame
    meta: Metadata = field(default_factory=Metadata)

    kind: ClassVar[str] = "cycling"
    known_columns: ClassVar[Mapping[str, str]] = CYCLING_COLUMNS
    required_columns: ClassVar[tuple[str, ...]] = ("test_time_second",)

    def validate(self) -> None:  # noqa: D102 - documented on the base class
        super().validate()
        if "voltage_volt" not in self.data and "current_ampere" not in self.data:
            raise SchemaError(
                "cycling record has neither voltage_volt nor current_ampere",
                file=self.meta.source_path,
            )


@dataclass(frozen=True)
class ImpedanceRecord(_Record):
    """Impedance spectra: one row per frequency point, ``spectrum`` says which spectrum.

    Per-spectrum conditions (temperature, DC bias...) are columns holding the
    same value on every row of a spectrum; :meth:`conditions` gives one row
    per spectrum.
    """

    data: pd.DataFrame
    meta: Metadata = field(default_factory=Metadata)

    kind: ClassVar[str] = "impedance"
    known_columns: ClassVar[Mapping[str, str]] = IMPEDANCE_COLUMNS
    required_columns: ClassVar[tuple[str, ...]] = (
        "spectrum",
        "frequency_hertz",
        "z_real_ohm",
        "z_imag_ohm",
    )

    @property
    def n_spectra(self) -> int:
        """Number of spectra in the record."""
        return int(self.data["spectrum"].nunique()) if len(self.data) else 0

    def spectra(self) -> Iterator[tuple[int, pd.DataFrame]]:
        """Yield ``(spectrum, rows)`` for each spectrum, in order."""
        for index, rows in self.data.groupby("spectrum", sort=True):
            yield int(index), rows

    def spectrum(self, index: int) -> pd.DataFrame:
        """The rows of one spectrum.

        Raises
        ------
        SchemaError
            When the record holds no spectrum with that index.
        """
        rows = self.data[self.data["spectrum"] == index]
        if rows.empty:
            available = sorted(self.data["spectrum"].unique().tolist())
            raise SchemaError(
                f"no spectrum {index}; the record holds spectra {available}",
                file=self.meta.source_path,
            )
        return rows

    def impedance(self, index: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """``(frequency_hertz, complex impedance)`` of one spectrum, as numpy arrays."""
        rows = self.spectrum(index)
        z = rows["z_real_ohm"].to_numpy(float) + 1j * rows["z_imag_ohm"].to_numpy(float)
        return rows["frequency_hertz"].to_numpy(float), z

    def conditions(self) -> pd.DataFrame:
        """One row per spectrum with the columns constant within each spectrum."""
        per_point = {"frequency_hertz", "z_real_ohm", "z_imag_ohm", "z_modulus_ohm",
                     "z_phase_degree", "test_time_second", "unix_time_second"}
        grouped = self.data.groupby("spectrum", sort=True)
        columns = [c for c in self.data.columns if c not in per_point and c != "spectrum"]
        constant = [c for c in columns if (grouped[c].nunique(dropna=False) <= 1).all()]
        table = grouped[constant].first()
        table["points"] = grouped.size()
        if "frequency_hertz" in self.data:
            table["max_frequency_hertz"] = grouped["frequency_hertz"].max()
            table["min_frequency_hertz"] = grouped["frequency_hertz"].min()
        return table.reset_index()

    def summary(self) -> dict[str, Any]:  # noqa: D102 - documented on the base class
        out = super().summary()
        out["spectra"] = self.n_spectra
        if len(self.data):
            f = self.data["frequency_hertz"].to_numpy(float)
            out["frequency_range_hertz"] = [float(np.nanmin(f)), float(np.nanmax(f))]
        return out


@dataclass(frozen=True)
class CycleSummaryRecord(_Record):
    """A per-cycle summary table: one row per cycle, ``cycle_count`` says which.

    The columns are those of :data:`labkit.columns.CYCLE_SUMMARY_COLUMNS` (the
    names :func:`labkit.analysis.cycling.summarize_cycles` gives its table) plus
    vendor-prefixed ones; a value the source does not give is absent or NaN, never
    computed by the reader. ``meta.notes`` says how the source numbers cycles and
    what its numbers mean where they differ from labkit's own summary.
    """

    data: pd.DataFrame
    meta: Metadata = field(default_factory=Metadata)

    kind: ClassVar[str] = "cycle_summary"
    known_columns: ClassVar[Mapping[str, str]] = CYCLE_SUMMARY_COLUMNS
    required_columns: ClassVar[tuple[str, ...]] = ("cycle_count",)

    def validate(self) -> None:  # noqa: D102 - documented on the base class
        super().validate()
        cycles = self.data["cycle_count"]
        where = self.meta.source_path
        if not pd.api.types.is_integer_dtype(cycles.dtype):
            raise SchemaError(f"cycle_count must be an integer column (whole numbers, none "
                              f"missing), is {cycles.dtype}", file=where)
        repeated = cycles[cycles.duplicated()]
        if len(repeated):
            raise SchemaError(f"cycle_count repeats cycle {int(repeated.iloc[0])}: a summary "
                              "has one row per cycle", file=where)

    def summary(self) -> dict[str, Any]:  # noqa: D102 - documented on the base class
        out = super().summary()
        out["cycles"] = len(self.data)
        if len(self.data):
            cycles = self.data["cycle_count"]
            out["cycle_range"] = [int(cycles.min()), int(cycles.max())]
        return out


Record = CyclingRecord | ImpedanceRecord | CycleSummaryRecord

RECORD_TYPES: dict[str, type[CyclingRecord] | type[ImpedanceRecord] | type[CycleSummaryRecord]] = {
    CyclingRecord.kind: CyclingRecord,
    ImpedanceRecord.kind: ImpedanceRecord,
    CycleSummaryRecord.kind: CycleSummaryRecord,
}
