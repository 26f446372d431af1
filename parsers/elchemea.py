"""Elchemea Analytical ``.i2b`` text files.

Free-text lines, a blank line, the number of points, then rows ``frequency Z' Z''``
separated by white space (Z'' with the sign as measured).
"""

from __future__ import annotations

from pathlib import Path

from labkit.data import ImpedanceRecord, Metadata
from labkit.errors import FormatError
from labkit.parsers._impedance import impedance_frame, numeric_block, require_finite_frequency
from labkit.parsers._text import decode, decode_head, looks_binary
from labkit.registry import file_bytes, register


def _count_line(lines: list[str]) -> int | None:
    """Index of the point-count line: an integer alone, followed by rows of three numbers."""
    for index, line in enumerate(lines[:-1]):
        if line.strip().isdigit() and len(lines[index + 1].split()) == 3 and (
                index == 0 or not lines[index - 1].strip()):
            return index
    return None


def _sniff(head: bytes, path: Path) -> bool:
    if looks_binary(head) or path.suffix.lower() != ".i2b":
        return False
    return _count_line(decode_head(head).splitlines()[:64]) is not None


@register("elchemea-i2b", vendor="Elchemea Analytical", description="Elchemea .i2b",
          extensions=(".i2b",), kind="impedance", sniff=_sniff)
def read_elchemea_i2b(path: Path) -> ImpedanceRecord:
    """Read an ``.i2b`` file.

    Raises
    ------
    FormatError
        When the point count is missing or does not match the rows.
    """
    path = Path(path)
    lines = decode(file_bytes(path)).splitlines()
    count_line = _count_line(lines)
    if count_line is None:
        raise FormatError("expected a line with the number of points, then rows of "
                          "frequency, Z' and Z''", file=path)
    values = numeric_block(lines, count_line + 1, path, columns=3)
    declared = int(lines[count_line])
    if declared != len(values):
        raise FormatError(f"the file declares {declared} points and holds {len(values)}",
                          file=path, position=f"line {count_line + 1}")
    data = impedance_frame(values[:, 0], values[:, 1], values[:, 2])
    require_finite_frequency(data, path, count_line + 2)
    comments = [line.strip() for line in lines[:count_line] if line.strip()]
    return ImpedanceRecord(data, Metadata(technique=("EIS",), extra={"comments": comments}))
