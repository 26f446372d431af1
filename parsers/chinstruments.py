"""CH Instruments "A.C. Impedance" text export.

A header (date line, ``A.C. Impedance``, ``Instrument Model:``, ``Init E (V) = ...``,
``Amplitude (V) = ...``), then ``Freq/Hz, Z'/ohm, Z"/ohm, Z/ohm, Phase/deg`` and
comma-separated rows. Z" carries the sign as measured.
"""

from __future__ import annotations

import contextlib
import re
from datetime import datetime
from pathlib import Path

from labkit.data import ImpedanceRecord, Metadata
from labkit.errors import FormatError
from labkit.parsers._impedance import (
    apply_plan,
    impedance_frame,
    numeric_block,
    plan_columns,
    require_finite_frequency,
)
from labkit.parsers._text import decode, decode_head
from labkit.registry import file_bytes, register


def _sniff(head: bytes, path: Path) -> bool:
    text = decode_head(head[:2048])
    return "A.C. Impedance" in text[:200] and "Freq/Hz" in text


@register("chi-impedance-txt", vendor="CH Instruments",
          description="CH Instruments A.C. Impedance text export", extensions=(".txt",),
          kind="impedance", sniff=_sniff)
def read_chi_impedance(path: Path) -> ImpedanceRecord:
    """Read a CH Instruments A.C. Impedance export.

    Raises
    ------
    FormatError
        When the ``Freq/Hz`` column line is missing or a row is not numeric.
    """
    path = Path(path)
    lines = decode(file_bytes(path)).splitlines()
    title = next((i for i, line in enumerate(lines) if line.startswith("Freq/Hz")), None)
    if title is None:
        raise FormatError("expected a column line starting 'Freq/Hz'", file=path,
                          position=f"line {len(lines)}")
    labels = [label.strip() for label in lines[title].split(",")]
    plan = plan_columns(labels, path, f"line {title + 1}")
    values = numeric_block(lines, title + 1, path, sep=",", columns=len(labels))
    columns = apply_plan(plan, values.T)
    header = {}
    for line in lines[:title]:
        key, sep, value = line.partition("=") if "=" in line else line.partition(":")
        if sep and key.strip():
            header[key.strip()] = value.strip()
    extra: dict = {}
    for i, label in enumerate(labels):
        if label == "Z/ohm":
            extra["z_modulus_ohm"] = values[:, i]
        elif label == "Phase/deg":
            extra["z_phase_degree"] = values[:, i]
    for key, name, scale in (("Init E (V)", "dc_voltage_volt", 1.0),
                             ("Amplitude (V)", "ac_amplitude_volt", 1.0)):
        with contextlib.suppress(KeyError, ValueError):
            extra[name] = float(header[key]) * scale
    data = impedance_frame(columns["frequency_hertz"], columns["z_real_ohm"],
                           columns["z_imag_ohm"], extra=extra)
    require_finite_frequency(data, path, title + 2)
    notes = ["dc_voltage_volt and ac_amplitude_volt are the set values Init E and Amplitude "
             "from the header"] if "dc_voltage_volt" in extra else []
    return ImpedanceRecord(data, Metadata(technique=("A.C. Impedance",),
                                          start_time=_start(lines[0]),
                                          instrument=header.get("Instrument Model"),
                                          notes=tuple(notes), extra={"chi_header": header}))


def _start(first_line: str) -> str | None:
    text = re.sub(r"\s+", " ", first_line.strip())
    for pattern in ("%b. %d, %Y %H:%M:%S", "%b %d, %Y %H:%M:%S"):
        try:
            return datetime.strptime(text, pattern).isoformat()
        except ValueError:
            continue
    return None
