"""RelaxIS "Spectrum export" text files (rhd instruments).

``RelaxIS 3.0 Spectrum export``, ``Date: ...``, a row of ``Data: Frequency  Data: Z'
Data: Z''  Data: |Z|  Data: Theta (Z)`` column names, then per spectrum one parameter
line (``DC=..., TM=..., J=..., FV2=...<TAB>Model: ...<TAB>(WE/RE Spectrum) name``)
followed by tab-separated rows, low to high frequency. Z'' carries the sign as measured.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from labkit.data import ImpedanceRecord, Metadata
from labkit.errors import FormatError
from labkit.parsers._impedance import (
    apply_plan,
    concat_spectra,
    impedance_frame,
    numeric_block,
    plan_columns,
    require_finite_frequency,
    snake,
)
from labkit.parsers._text import decode, decode_head
from labkit.registry import file_bytes, register

_PARAMETERS = re.compile(r"^([A-Za-z][A-Za-z0-9]*)=([^,\t]*)")


def _sniff(head: bytes, path: Path) -> bool:
    return decode_head(head[:256]).lstrip().startswith("RelaxIS") and b"Spectrum export" in head


@register("relaxis-txt", vendor="rhd instruments", description="RelaxIS spectrum export",
          extensions=(".txt",), kind="impedance", sniff=_sniff)
def read_relaxis(path: Path) -> ImpedanceRecord:
    """Read a RelaxIS spectrum export; each parameter line starts a spectrum.

    Raises
    ------
    FormatError
        When the ``Data:`` column line is missing or a row is not numeric.
    """
    path = Path(path)
    lines = decode(file_bytes(path)).splitlines()
    title = next((i for i, line in enumerate(lines) if line.startswith("Data:")), None)
    if title is None:
        raise FormatError("expected a column line starting 'Data: Frequency'", file=path,
                          position="line 3")
    labels = [label.strip() for label in lines[title].split("\t") if label.strip()]
    plan = plan_columns(labels, path, f"line {title + 1}")
    starts = [i for i in range(title + 1, len(lines)) if "=" in lines[i].split("\t", 1)[0]]
    if not starts:
        raise FormatError("expected a spectrum parameter line (DC=..., TM=...)", file=path,
                          position=f"line {title + 2}")
    frames, names = [], []
    for number, start in enumerate(starts):
        end = starts[number + 1] if number + 1 < len(starts) else len(lines)
        values = numeric_block(lines[:end], start + 1, path, sep="\t", columns=len(labels))
        columns = apply_plan(plan, values.T)
        extra: dict[str, np.ndarray | float] = {}
        for i, label in enumerate(labels):
            if label.endswith("|Z|"):
                extra["z_modulus_ohm"] = values[:, i]
            elif "Theta" in label:
                extra["z_phase_degree"] = values[:, i]
        fields = lines[start].split("\t")
        for item in fields[0].split(","):
            match = _PARAMETERS.match(item.strip())
            if match:
                try:
                    extra[f"relaxis_{snake(match.group(1))}"] = float(match.group(2))
                except ValueError:
                    continue
        names.append(next((f.strip() for f in reversed(fields[1:]) if f.strip()), ""))
        frames.append(impedance_frame(columns["frequency_hertz"], columns["z_real_ohm"],
                                      columns["z_imag_ohm"], spectrum=number, extra=extra))
    data = concat_spectra(frames)
    require_finite_frequency(data, path, None)
    date = lines[1].partition(":")[2].strip() if len(lines) > 1 else ""
    return ImpedanceRecord(data, Metadata(
        technique=("EIS",),
        notes=("RelaxIS spectrum parameters (DC, TM, J, FV2...) kept as relaxis_* columns, "
               "units as RelaxIS stores them",),
        extra={"relaxis_export_date": date, "spectrum_names": names,
               "relaxis_version": lines[0].strip()}))
