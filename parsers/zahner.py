"""Zahner Thales/Zennium ``.ism`` impedance spectra (big-endian binary).

Layout: a 6-byte version, a 6-byte ``n - 1``, then ``n`` float64 frequencies (Hz),
``n`` float64 |Z| (ohm), ``n`` float64 phases (radian), ``n`` float64 time stamps
(seconds since 1980-01-01, local time), ``n`` int16 significances, then a
length-prefixed case-swapped ASCII date ``DDMMYY`` and further settings. A Thales sweep
starts at a middle frequency, runs to one end, returns and runs to the other; the
record keeps the monotonic sweep from the turning point to the end (as Zahner Analysis
does) and says how many overlapping points it left out.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from labkit.data import ImpedanceRecord, Metadata
from labkit.errors import FormatError, binary_position
from labkit.parsers._impedance import impedance_frame
from labkit.registry import file_bytes, register

_HEADER = 12
_EPOCH = datetime(1980, 1, 1)


def _sniff(head: bytes, path: Path) -> bool:
    if len(head) < _HEADER + 8 or path.suffix.lower() != ".ism":
        return False
    count = int.from_bytes(head[6:12], "big", signed=True) + 1
    if not 1 < count < 100_000:
        return False
    first = np.frombuffer(head[_HEADER:_HEADER + 8], dtype=">f8")[0]
    return bool(np.isfinite(first) and 0 < first < 1e9)


@register("zahner-ism", vendor="Zahner", description="Zahner Thales .ism spectrum",
          extensions=(".ism",), kind="impedance", sniff=_sniff)
def read_zahner_ism(path: Path) -> ImpedanceRecord:
    """Read a Zahner ``.ism`` file.

    Raises
    ------
    FormatError
        When the file is shorter than its point count requires or holds impossible values.
    """
    path = Path(path)
    raw = file_bytes(path)
    if len(raw) < _HEADER:
        raise FormatError("file shorter than the 12-byte .ism header", file=path,
                          position=binary_position(len(raw)))
    count = int.from_bytes(raw[6:12], "big", signed=True) + 1
    arrays_end = _HEADER + count * (4 * 8 + 2)
    if count < 1 or len(raw) < arrays_end:
        raise FormatError(f"the header declares {count} points ({arrays_end} bytes of "
                          f"arrays) but the file has {len(raw)} bytes", file=path,
                          position=binary_position(6))
    layout = np.dtype([("f", ">f8", count), ("modulus", ">f8", count), ("phase", ">f8", count),
                       ("time", ">f8", count), ("significance", ">i2", count)])
    block = np.frombuffer(raw, dtype=layout, count=1, offset=_HEADER)[0]
    frequency = block["f"].astype(np.float64)
    if not (np.isfinite(frequency).all() and (frequency > 0).all()):
        bad = int(np.flatnonzero(~(np.isfinite(frequency) & (frequency > 0)))[0])
        raise FormatError(f"frequency {frequency[bad]!r} of point {bad + 1} is not positive",
                          file=path, position=binary_position(_HEADER + 8 * bad))
    modulus_all, phase_all = block["modulus"].astype(np.float64), block["phase"].astype(np.float64)
    impossible = ~(np.isfinite(modulus_all) & (modulus_all >= 0) & np.isfinite(phase_all)
                   & (np.abs(phase_all) <= 2 * np.pi))
    if impossible.any():
        bad = int(np.flatnonzero(impossible)[0])
        raise FormatError(f"point {bad + 1} has |Z| {modulus_all[bad]!r} and phase "
                          f"{phase_all[bad]!r} rad; expected |Z| >= 0 and |phase| <= 2 pi",
                          file=path, position=binary_position(_HEADER + 8 * (count + bad)))
    low, high = int(np.argmin(frequency)), int(np.argmax(frequency))
    keep = slice(min(low, high), max(low, high) + 1)
    skipped = count - (keep.stop - keep.start)
    modulus, phase = modulus_all[keep], phase_all[keep]
    seconds = block["time"].astype(np.float64)
    first = float(np.min(np.abs(seconds)))
    data = impedance_frame(
        frequency[keep], modulus * np.cos(phase), modulus * np.sin(phase),
        extra={"z_modulus_ohm": modulus, "z_phase_degree": np.rad2deg(phase),
               "test_time_second": np.abs(seconds[keep]) - first,
               "zahner_significance": block["significance"].astype(np.int64)[keep]})
    notes = []
    if skipped:
        notes.append(f"{skipped} point(s) measured before the sweep's turning point "
                     "(overlapping the sweep) left out")
    notes.append("test_time_second counts from the first point measured")
    start = _EPOCH + timedelta(seconds=first) if first < 4e9 else None
    return ImpedanceRecord(data, Metadata(
        technique=("EIS",), start_time=None if start is None else start.isoformat(),
        notes=tuple(notes), extra={"ism_version": int.from_bytes(raw[:6], "big", signed=True),
                                   "points_in_file": count}))
