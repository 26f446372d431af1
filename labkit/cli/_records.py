"""The input of an analysis command: its FILE arguments and a record of the right kind."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from labkit.errors import SchemaError

if TYPE_CHECKING:  # the record types pull in pandas: only when a command runs
    from labkit.data import CyclingRecord, ImpedanceRecord, Record

#: Sample options several analysis commands take (all floats).
_SAMPLE_OPTIONS = {
    "--mass": {"metavar": "G", "help": "active material mass in g"},
    "--area": {"metavar": "CM2", "help": "electrode area in cm²"},
    "--capacity": {"metavar": "AH", "help": "nominal capacity in Ah"},
}


def add_cycling_input(parser: argparse.ArgumentParser, *sample_options: str) -> None:
    """The ``FILE`` argument of a cycling analysis, then the given ``--mass``/``--area``/``--capacity``."""
    parser.add_argument("file", metavar="FILE", help="cycling file in any format labkit reads")
    for flag in sample_options:
        parser.add_argument(flag, type=float, **_SAMPLE_OPTIONS[flag])


def _read_as(path: str, kind: type[Record], expected: str, found: str) -> Record:
    import labkit

    record = labkit.read(path)
    if not isinstance(record, kind):
        raise SchemaError(f"expected {expected}, found {found}", file=path)
    return record


def cycling_record(path: str) -> CyclingRecord:
    """Read ``path`` as a cycling record."""
    from labkit.data import CyclingRecord

    return _read_as(path, CyclingRecord, "a cycling (time-series) file", "impedance spectra")


def impedance_record(path: str) -> ImpedanceRecord:
    """Read ``path`` as an impedance record."""
    from labkit.data import ImpedanceRecord

    return _read_as(path, ImpedanceRecord, "impedance spectra", "a cycling (time-series) file")


def number(value: float | None, digits: int = 4) -> str:
    """A number for the text output (``-`` when missing)."""
    return "-" if value is None or value != value else f"{value:.{digits}g}"
