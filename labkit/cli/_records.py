"""Reading the input of an analysis command: a record of the right kind, sample values applied."""

from __future__ import annotations

import dataclasses
from typing import Any

from labkit.data import CyclingRecord, ImpedanceRecord
from labkit.errors import SchemaError


def cycling_record(path: str, **sample: Any) -> CyclingRecord:
    """Read ``path`` as a cycling record; sample values not ``None`` override the file's."""
    import labkit

    record = labkit.read(path)
    if not isinstance(record, CyclingRecord):
        raise SchemaError("expected a cycling (time-series) file, found impedance spectra",
                          file=path)
    given = {name: value for name, value in sample.items() if value is not None}
    if given:
        record = dataclasses.replace(record, meta=record.meta.with_sample(**given))
    return record


def impedance_record(path: str) -> ImpedanceRecord:
    """Read ``path`` as an impedance record."""
    import labkit

    record = labkit.read(path)
    if not isinstance(record, ImpedanceRecord):
        raise SchemaError("expected impedance spectra, found a cycling (time-series) file",
                          file=path)
    return record


def number(value: float | None, digits: int = 4) -> str:
    """A number for the text output (``-`` when missing)."""
    return "-" if value is None or value != value else f"{value:.{digits}g}"
