"""Metrohm Autolab (Eco Chemie) FRA ``.dfr`` files and NOVA ASCII impedance exports.

``.dfr`` layout (one value per line): ``VERSION8.0``, the number of points, one more
integer, then nine values per point: frequency (Hz), Z' (ohm), -Z'' (ohm), DC potential,
DC current, time, and three further values. (The "Z60W Data File" sometimes labelled
Autolab is ZPlot's format, read by ``zplot-z``.)

NOVA's ASCII export (``Index;Frequency (Hz);Z' (Ω);-Z'' (Ω);Z (Ω);-Phase (°);Time (s)``,
separator ``;``, ``,`` or TAB) is a delimited table: it is read by the ``eis-csv`` column
logic and labelled as Autolab, the Index column kept as ``autolab_index``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from labkit.data import ImpedanceRecord, Metadata
from labkit.errors import FormatError
from labkit.parsers._impedance import impedance_frame, require_finite_frequency
from labkit.parsers._text import decode, decode_head
from labkit.parsers.eis_csv import read_eis_csv
from labkit.registry import file_bytes, register

_VALUES_PER_POINT = 9


def _sniff(head: bytes, path: Path) -> bool:
    return decode_head(head[:64]).lstrip().upper().startswith("VERSION8.0")


@register("autolab-dfr", vendor="Metrohm Autolab", description="Autolab FRA .dfr",
          extensions=(".dfr",), kind="impedance", sniff=_sniff)
def read_autolab_dfr(path: Path) -> ImpedanceRecord:
    """Read an Autolab ``.dfr`` file.

    Raises
    ------
    FormatError
        When the point count is missing or the file holds fewer values than it declares.
    """
    path = Path(path)
    tokens = decode(file_bytes(path)).split()
    if len(tokens) < 3 or not tokens[1].isdigit():
        raise FormatError("expected 'VERSION8.0' then the number of points", file=path,
                          position="line 2")
    count = int(tokens[1])
    needed = 3 + count * _VALUES_PER_POINT
    if len(tokens) < needed:
        raise FormatError(f"the file declares {count} points ({needed} values) but holds "
                          f"{len(tokens)} values; it was cut short", file=path,
                          position=f"line {len(tokens)}")
    try:
        values = np.array(tokens[3:needed], dtype=np.float64).reshape(count, _VALUES_PER_POINT)
    except ValueError as exc:
        raise FormatError(f"expected only numbers after the header: {exc}", file=path) from exc
    data = impedance_frame(values[:, 0], values[:, 1], -values[:, 2],
                           extra={"dc_voltage_volt": values[:, 3],
                                  "dc_current_ampere": values[:, 4],
                                  "test_time_second": values[:, 5]})
    require_finite_frequency(data, path, None)
    return ImpedanceRecord(data, Metadata(
        technique=("FRA",),
        notes=("the file stores -Z''; negated to Z'' as measured",),
        extra={"dfr_version": tokens[0], "dfr_flag": tokens[2]}))


def _sniff_nova(head: bytes, path: Path) -> bool:
    lines = decode_head(head[:1024]).lstrip().splitlines()
    return bool(lines) and lines[0].startswith("Index") and "Frequency (Hz)" in lines[0] \
        and "Z'" in lines[0]


@register("autolab-nova-txt", vendor="Metrohm Autolab", description="NOVA ASCII impedance "
          "export (Index, Frequency (Hz), Z' (Ω), -Z'' (Ω)...)", extensions=(".txt", ".csv"),
          kind="impedance", sniff=_sniff_nova, priority=1)
def read_autolab_nova(path: Path) -> ImpedanceRecord:
    """Read a NOVA ASCII impedance export (see :func:`labkit.parsers.eis_csv.read_eis_csv`)."""
    record = read_eis_csv(Path(path))
    data = record.data.rename(columns={"csv_index": "autolab_index"})
    return ImpedanceRecord(data, dataclasses.replace(record.meta, technique=("FRA",)))
