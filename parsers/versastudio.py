"""AMETEK/PAR VersaStudio ``.par`` files (bracketed sections of ``key=value`` lines).

Each ``<SegmentN>`` section has a ``Definition=`` line naming the comma-separated
columns of its rows (``Frequency(Hz)``, ``Z Real``, ``Z Imag``, ``E(V)``, ``I(A)``,
``Elapsed Time(s)``, ``AC Amplitude``...); ``<ActionN>`` sections hold the settings
(``Name=Potentiostatic EIS``, ``Working Electrode Area (cm2)``). Z Imag carries the
sign as measured. Each segment with a frequency column is one spectrum.
"""

from __future__ import annotations

import re
from pathlib import Path

from labkit.data import ImpedanceRecord, Metadata, Sample
from labkit.errors import FormatError
from labkit.parsers._impedance import (
    concat_spectra,
    drop_zero_frequency,
    impedance_frame,
    numeric_block,
    snake,
)
from labkit.parsers._text import decode, decode_head
from labkit.registry import file_bytes, register

_SECTION = re.compile(r"^<(?P<name>[A-Za-z]+\d*)>\s*$\n(?P<body>.*?)^</(?P=name)>", re.M | re.S)
_NAMES = {"Frequency(Hz)": "frequency_hertz", "Z Real": "z_real_ohm", "Z Imag": "z_imag_ohm",
          "E(V)": "dc_voltage_volt", "I(A)": "dc_current_ampere",
          "Elapsed Time(s)": "test_time_second", "AC Amplitude": "versastudio_ac_amplitude",
          "Point #": "versastudio_point", "Segment #": "versastudio_segment"}


_LABELLED_UNIT = re.compile(r"(?P<name>.*?)\s*\((?P<unit>V|A|s|Hz)\)")
_UNIT_WORDS = {"V": "volt", "A": "ampere", "s": "second", "Hz": "hertz"}


def _vendor_name(label: str) -> str:
    """``versastudio_<label>``, ending in the unit's word when the label states it
    (``"E Applied(V)"`` -> ``versastudio_e_applied_volt``)."""
    labelled = _LABELLED_UNIT.fullmatch(label)
    if labelled is None:
        return f"versastudio_{snake(label)}"
    return f"versastudio_{snake(labelled['name'])}_{_UNIT_WORDS[labelled['unit']]}"


def _sniff(head: bytes, path: Path) -> bool:
    text = decode_head(head[:1024]).lstrip()
    return text.startswith("<Application>") and "VersaStudio" in text


@register("versastudio-par", vendor="AMETEK/PAR", description="VersaStudio .par",
          extensions=(".par",), kind="impedance", sniff=_sniff, version="2")
def read_versastudio_par(path: Path) -> ImpedanceRecord:
    """Read the impedance segments of a VersaStudio ``.par`` file.

    Raises
    ------
    FormatError
        When no segment has a Definition with frequency and Z columns.
    """
    path = Path(path)
    text = decode(file_bytes(path)).replace("\r\n", "\n")
    file_lines = text.split("\n")
    sections = {m.group("name"): (m.group("body"), text.count("\n", 0, m.start("body")))
                for m in _SECTION.finditer(text)}
    settings = {name: _keys(body) for name, (body, _) in sections.items()
                if not name.startswith("Segment")}
    frames, notes = [], []
    for name, (body, first_line) in sections.items():
        if not name.startswith("Segment"):
            continue
        lines = body.split("\n")
        definition = next((i for i, line in enumerate(lines) if line.startswith("Definition=")),
                          None)
        if definition is None:
            raise FormatError(f"section {name} has no 'Definition=' line", file=path,
                              position=f"line {first_line + 1}")
        labels = [label.strip() for label in lines[definition][len("Definition="):].split(",")]
        if not {"Frequency(Hz)", "Z Real", "Z Imag"} <= set(labels):
            notes.append(f"{name} holds no impedance columns; skipped")
            continue
        end = first_line + body.count("\n")
        values = numeric_block(file_lines[:end], first_line + definition + 1, path, sep=",",
                               columns=len(labels))
        columns = {_NAMES.get(label) or _vendor_name(label): values[:, i]
                   for i, label in enumerate(labels) if label and label != "0"}
        frequency = columns.pop("frequency_hertz")
        real, imag = columns.pop("z_real_ohm"), columns.pop("z_imag_ohm")
        frames.append(impedance_frame(frequency, real, imag, spectrum=len(frames),
                                      extra=columns))
    if not frames:
        raise FormatError("no <Segment> with Frequency(Hz), Z Real and Z Imag columns",
                          file=path)
    data = drop_zero_frequency(concat_spectra(frames), notes)
    actions = [s for s in settings.values() if "Name" in s and s.get("Name") != "Common"]
    technique = tuple(a["Name"] for a in actions) or ("EIS",)
    area = _number(settings.get("Action0", {}).get("Working Electrode Area (cm2)"))
    application = settings.get("Application", {})
    instrument = settings.get("Instrument", {})
    return ImpedanceRecord(data, Metadata(
        technique=technique,
        instrument=" ".join(filter(None, (instrument.get("Model"), application.get("Name"),
                                          application.get("Version")))) or None,
        sample=Sample(area_square_centimeter=area),
        notes=tuple(notes),
        extra={"versastudio_settings": {k: v for k, v in settings.items()
                                        if not k.startswith(("Graph", "DockingLayout"))}}))


def _keys(body: str) -> dict[str, str]:
    out = {}
    for line in body.split("\n"):
        key, sep, value = line.partition("=")
        if sep and key and not key.startswith("<"):
            out[key.strip()] = value.strip()
    return out


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value and value > 0 else None
