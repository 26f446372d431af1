"""Novocontrol (WinDETA / NEISYS) ASCII impedance exports.

A title line (sample name, often with the temperature: ``s04147-140deg``), optionally a
geometry line (``Diameter[mm]: ...  Thickness[mm]: ...``), ``Fixed value(s) :  AC Volt
[Vrms]=...``, then tab-separated ``Freq.[Hz]  Zs'[ohm]  Zs''[ohm]`` columns (Z'' with
the sign as measured). Some exports start with ``# key: value`` comment lines instead.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from labkit.data import ImpedanceRecord, Metadata, Sample
from labkit.errors import FormatError
from labkit.parsers._impedance import (
    apply_plan,
    impedance_frame,
    numeric_block,
    plan_columns,
    require_finite_frequency,
)
from labkit.parsers._text import decode, decode_head, looks_binary
from labkit.registry import file_bytes, register

_TEMPERATURE = re.compile(r"(?<![\d.])(-?\d+(?:\.\d+)?)\s*(?:deg|°C|degC)\b", re.IGNORECASE)
_GEOMETRY = re.compile(r"(?<!Electrode )(Diameter|Thickness)\[mm\]:\s*([-+0-9.eE]+)")
_AC_VOLT = re.compile(r"AC Volt\s*\[Vrms\]\s*=\s*([-+0-9.eE]+)")


def _column_line(lines: list[str]) -> int | None:
    for index, line in enumerate(lines[:40]):
        if re.match(r"^\s*Freq\.\s*\[Hz\]", line) and "Zs'" in line:
            return index
    return None


def _sniff(head: bytes, path: Path) -> bool:
    return not looks_binary(head) and _column_line(decode_head(head).splitlines()) is not None


@register("novocontrol-txt", vendor="Novocontrol", description="Novocontrol/NEISYS ASCII "
          "(Freq.[Hz], Zs'[ohm], Zs''[ohm])", extensions=(".txt",), kind="impedance",
          sniff=_sniff)
def read_novocontrol(path: Path) -> ImpedanceRecord:
    """Read a Novocontrol ASCII export; the temperature comes from the title when stated.

    Raises
    ------
    FormatError
        When the ``Freq.[Hz]`` column line is missing or a row is not numeric.
    """
    path = Path(path)
    lines = decode(file_bytes(path)).splitlines()
    title_line = _column_line(lines)
    if title_line is None:
        raise FormatError("expected a column line 'Freq.[Hz]  Zs'[ohm]  Zs''[ohm]'",
                          file=path, position="line 1")
    labels = [label.strip() for label in lines[title_line].split("\t") if label.strip()]
    plan = plan_columns(labels, path, f"line {title_line + 1}")
    values = numeric_block(lines, title_line + 1, path, columns=len(labels))
    columns = apply_plan(plan, values.T)
    header = "\n".join(lines[:title_line])
    notes: list[str] = []
    extra: dict[str, float] = {}
    title = lines[0].strip() if title_line > 0 and not lines[0].startswith("#") else ""
    temperature = _TEMPERATURE.search(title)
    if temperature:
        extra["temperature_celsius"] = float(temperature.group(1))
        notes.append(f"temperature_celsius read from the title {title!r}")
    ac_volt = _AC_VOLT.search(header)
    if ac_volt:
        extra["ac_amplitude_volt"] = float(ac_volt.group(1))
    geometry = {name: float(value) for name, value in _GEOMETRY.findall(header)}
    diameter_cm = geometry.get("Diameter", 0) / 10
    data = impedance_frame(columns["frequency_hertz"], columns["z_real_ohm"],
                           columns["z_imag_ohm"], extra=extra)
    require_finite_frequency(data, path, title_line + 2)
    comments = {key.strip("# ").strip(): value.strip() for key, _, value in
                (line.partition(":") for line in lines[:title_line] if line.startswith("#"))}
    return ImpedanceRecord(data, Metadata(
        technique=("EIS",),
        sample=Sample(
            name=title.split(",")[0].strip() or None,
            area_square_centimeter=math.pi * diameter_cm ** 2 / 4 if diameter_cm > 0 else None,
            thickness_centimeter=geometry["Thickness"] / 10 if geometry.get("Thickness") else None,
            temperature_celsius=extra.get("temperature_celsius")),
        notes=tuple(notes + (["sample area from the stated electrode diameter"]
                             if diameter_cm > 0 else [])),
        extra={"title": title, "header_comments": comments,
               "geometry_mm": geometry, "points": int(np.size(values, 0))}))
