"""Scribner ZPlot/ZView ``.z`` files (``ZPLOT2 ASCII``) and the quoted ZPlotW/Z60W variant.

``ZPLOT2 ASCII``: ``Key: value`` header lines, the column names on the line before
``End Comments``, then tab-separated rows. ``"ZPlotW Data File"`` / ``"Z60W Data File"``:
quoted lines, a configuration line, the declared point count, the quoted column names,
then comma-separated rows. Columns: ``Freq(Hz) Ampl Bias Time(Sec) Z'(a) Z''(b) GD Err
Range``; Z'' is written with the sign as measured.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from labkit.data import ImpedanceRecord, Metadata
from labkit.errors import FormatError
from labkit.parsers._impedance import impedance_frame, numeric_block, require_finite_frequency
from labkit.parsers._text import decode, decode_head
from labkit.registry import file_bytes, register

_QUOTED_TITLE = re.compile(r'^"(ZPlotW|Z60W|ZPlot)[^"]*Data File', re.IGNORECASE)
_KNOWN = {"Freq(Hz)": "frequency_hertz", "Z'(a)": "z_real_ohm", "Z''(b)": "z_imag_ohm",
          "Time(Sec)": "test_time_second", "Ampl": "zplot_ampl", "Bias": "zplot_bias",
          "GD": "zplot_gd", "Err": "zplot_err", "Range": "zplot_range"}


def _sniff(head: bytes, path: Path) -> bool:
    text = decode_head(head[:512]).lstrip()
    return text.startswith("ZPLOT2 ASCII") or bool(_QUOTED_TITLE.match(text))


@register("zplot-z", vendor="Scribner", description="ZPlot/ZView .z (ZPLOT2 ASCII, ZPlotW/Z60W)",
          extensions=(".z", ".txt"), kind="impedance", sniff=_sniff)
def read_zplot(path: Path) -> ImpedanceRecord:
    """Read a ZPlot ``.z`` file (either variant).

    Raises
    ------
    FormatError
        When the column-name line or the data rows are missing or not numeric.
    """
    path = Path(path)
    lines = decode(file_bytes(path)).splitlines()
    header: dict[str, str] = {}
    notes: list[str] = []
    if lines and lines[0].strip().startswith("ZPLOT2 ASCII"):
        end = next((i for i, line in enumerate(lines) if line.strip() == "End Comments"), None)
        if end is None or end == 0:
            raise FormatError("expected an 'End Comments' line ending the header", file=path,
                              position=f"line {len(lines)}")
        labels = [label.strip() for label in lines[end - 1].split("\t") if label.strip()]
        for line in lines[1:end - 1]:
            key, sep, value = line.partition(":")
            if sep:
                header[key.strip()] = value.strip()
        values = numeric_block(lines, end + 1, path, sep="\t", columns=len(labels))
        declared = header.get("Data Points")
    else:
        title = next((i for i, line in enumerate(lines) if "Freq" in line and "Z'" in line), None)
        if title is None or title < 1:
            raise FormatError("expected a quoted column-name line (\"Freq(Hz) ... Z'(a)\")",
                              file=path, position="line 1")
        labels = re.sub(r"\s+\(", "(", lines[title].strip().strip('"')).split()
        declared = lines[title - 1].strip()
        for line in lines[1:title - 2]:
            if line.strip().strip('"'):
                header.setdefault("comments", "")
                header["comments"] = (header["comments"] + "\n" + line.strip().strip('"')).strip()
        values = numeric_block(lines, title + 1, path, sep=",", columns=len(labels))
    for needed in ("Freq(Hz)", "Z'(a)", "Z''(b)"):
        if needed not in labels:
            raise FormatError(f"expected a column {needed!r}, found {labels}", file=path)
    if declared and declared.isdigit() and int(declared) != len(values):
        notes.append(f"the file declares {declared} points and holds {len(values)} (the sweep "
                     "was stopped early or the file cut)")
    technique = header.get("Experiment Type") or next(
        (line.strip().strip('"') for line in lines[:12] if "Control " in line), "EIS")
    names = dict(_KNOWN)
    if "Control Voltage" in technique:
        names.update({"Ampl": "ac_amplitude_volt", "Bias": "dc_voltage_volt"})
    elif "Control Current" in technique:
        names.update({"Ampl": "ac_amplitude_ampere", "Bias": "dc_current_ampere"})
    columns = {names.get(label, "zplot_" + re.sub(r"\W+", "_", label).strip("_").lower()):
               values[:, i] for i, label in enumerate(labels)}
    frequency = columns.pop("frequency_hertz")
    real, imag = columns.pop("z_real_ohm"), columns.pop("z_imag_ohm")
    data = impedance_frame(frequency, real, imag, extra=columns)
    require_finite_frequency(data, path, None)
    return ImpedanceRecord(data, Metadata(technique=(technique,), start_time=_start(lines[:12]),
                                          notes=tuple(notes),
                                          extra={"zplot_header": header, "columns": labels}))


def _start(lines: list[str]) -> str | None:
    """ISO start time from ZPlot's ``Date: MM-DD-YYYY`` and ``Time: HH:MM:SS`` (local time)."""
    text = " ".join(lines)
    date = re.search(r"Date:\s*(\d{1,2})-(\d{1,2})-(\d{4})", text)
    clock = re.search(r"Time:\s*(\d{1,2}):(\d{2}):(\d{2})", text)
    if not date or not clock:
        return None
    month, day, year = (int(g) for g in date.groups())
    try:
        return datetime(year, month, day, *(int(g) for g in clock.groups())).isoformat()
    except ValueError:
        return None
