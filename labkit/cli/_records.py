"""The input of an analysis command: its FILE arguments and a record of the right kind."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from labkit.errors import SchemaError

if TYPE_CHECKING:  # the record types pull in pandas: only when a command runs
    from labkit.data import CycleSummaryRecord, CyclingRecord, ImpedanceRecord, Record

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


#: What a file of each record kind holds, for "expected X, found Y" messages.
_HOLDS = {"cycling": "a cycling (time-series) file", "impedance": "impedance spectra",
          "cycle_summary": "a per-cycle summary table (one row per cycle, no time series)"}


def _read_as(path: str, kind: type[Record] | tuple[type[Record], ...], expected: str) -> Record:
    import labkit

    record = labkit.read(path)
    if not isinstance(record, kind):
        raise SchemaError(f"expected {expected}, found {_HOLDS[record.kind]}", file=path)
    return record


def cycling_record(path: str) -> CyclingRecord:
    """Read ``path`` as a cycling record."""
    from labkit.data import CyclingRecord

    return _read_as(path, CyclingRecord, _HOLDS["cycling"])


def cycles_record(path: str) -> CyclingRecord | CycleSummaryRecord:
    """Read ``path`` as a cycling record or a per-cycle summary table."""
    from labkit.data import CycleSummaryRecord, CyclingRecord

    return _read_as(path, (CyclingRecord, CycleSummaryRecord),
                    f"{_HOLDS['cycling']} or {_HOLDS['cycle_summary']}")


def impedance_record(path: str) -> ImpedanceRecord:
    """Read ``path`` as an impedance record."""
    from labkit.data import ImpedanceRecord

    return _read_as(path, ImpedanceRecord, _HOLDS["impedance"])


def number(value: float | None, digits: int = 4) -> str:
    """A number for the text output (``-`` when missing)."""
    return "-" if value is None or value != value else f"{value:.{digits}g}"
