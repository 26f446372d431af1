"""Princeton Applied Research PowerSuite three-column export (``Frequency  Zre  Zimg``).

Tab-separated with a header row; some exports end lines with a doubled carriage return.
Zimg carries the sign as measured.
"""

from __future__ import annotations

from pathlib import Path

from labkit.data import ImpedanceRecord, Metadata
from labkit.errors import FormatError
from labkit.parsers._impedance import impedance_frame, numeric_block, require_finite_frequency
from labkit.parsers._text import decode, decode_head
from labkit.registry import file_bytes, register


def _labels(line: str) -> list[str]:
    return [label.strip() for label in line.split("\t") if label.strip()]


def _sniff(head: bytes, path: Path) -> bool:
    first = decode_head(head[:256]).lstrip().splitlines()
    return bool(first) and _labels(first[0]) == ["Frequency", "Zre", "Zimg"]


@register("powersuite-txt", vendor="Princeton Applied Research",
          description="PowerSuite export (Frequency, Zre, Zimg)", extensions=(".txt",),
          kind="impedance", sniff=_sniff)
def read_powersuite(path: Path) -> ImpedanceRecord:
    """Read a PowerSuite ``Frequency / Zre / Zimg`` export.

    Raises
    ------
    FormatError
        When the header is not ``Frequency Zre Zimg`` or a row is not numeric.
    """
    path = Path(path)
    lines = [line for line in decode(file_bytes(path)).replace("\r", "\n").split("\n")
             if line.strip()]
    if not lines or _labels(lines[0]) != ["Frequency", "Zre", "Zimg"]:
        raise FormatError("expected the header 'Frequency<TAB>Zre<TAB>Zimg'", file=path,
                          position="line 1")
    values = numeric_block(lines, 1, path, sep="\t", columns=3)
    data = impedance_frame(values[:, 0], values[:, 1], values[:, 2])
    require_finite_frequency(data, path, None)
    return ImpedanceRecord(data, Metadata(technique=("EIS",)))
