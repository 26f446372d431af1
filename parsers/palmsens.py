"""PalmSens PSTrace ``.pssession`` files: UTF-16 JSON.

``Measurements[].DataSet.Values[]`` are arrays with a ``Description`` (``Frequency``,
``ZRe``, ``ZIm``, ``Z``, ``Phase``, ``Idc``...), a ``Unit`` whose ``Q`` says the
quantity (``"-Z''"``, ``"-Phase"``) and ``DataValues`` (``{"V": value}``). ``ZIm`` holds
-Z''. Each measurement with a frequency array is one spectrum.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from labkit.data import ImpedanceRecord, Metadata
from labkit.errors import FormatError
from labkit.parsers._impedance import concat_spectra, impedance_frame, require_finite_frequency
from labkit.registry import file_bytes, register

_DOTNET_EPOCH = datetime(1, 1, 1, tzinfo=timezone.utc)


def _sniff(head: bytes, path: Path) -> bool:
    text = head[:400].decode("utf-16", errors="ignore") if head[:2] == b"\xff\xfe" else ""
    return text.lstrip("\ufeff").startswith("{") and "PalmSens" in text


def _array(values: dict, path: Path) -> np.ndarray:
    try:
        return np.array([point["V"] for point in values["DataValues"]], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as exc:
        raise FormatError(f"array {values.get('Description')!r} has malformed DataValues",
                          file=path) from exc


@register("palmsens-pssession", vendor="PalmSens", description="PSTrace .pssession",
          extensions=(".pssession",), kind="impedance", sniff=_sniff)
def read_pssession(path: Path) -> ImpedanceRecord:
    """Read the impedance measurements of a ``.pssession`` file.

    Raises
    ------
    FormatError
        When the JSON is damaged (the message gives the character offset) or no
        measurement holds Frequency, ZRe and ZIm arrays.
    """
    path = Path(path)
    raw = file_bytes(path)
    try:
        text = raw.decode("utf-16").lstrip("\ufeff")
        session, _ = json.JSONDecoder().raw_decode(text)
    except UnicodeDecodeError as exc:
        raise FormatError("expected UTF-16 text", file=path, position=f"byte {exc.start}") from exc
    except json.JSONDecodeError as exc:
        raise FormatError(f"damaged JSON: {exc.msg}", file=path,
                          position=f"character {exc.pos}") from exc
    frames, titles, notes = [], [], []
    start_time = instrument = None
    for measurement in session.get("Measurements", []) if isinstance(session, dict) else []:
        arrays = {v.get("Description"): v for v in measurement.get("DataSet", {}).get("Values", [])}
        if not {"Frequency", "ZRe", "ZIm"} <= set(arrays):
            continue
        frequency = _array(arrays["Frequency"], path)
        real, stored_imag = _array(arrays["ZRe"], path), _array(arrays["ZIm"], path)
        negated = arrays["ZIm"].get("Unit", {}).get("Q", "-Z''").startswith("-")
        extra: dict[str, np.ndarray] = {}
        for name, column in (("Z", "z_modulus_ohm"), ("Phase", "z_phase_degree"),
                             ("Idc", "dc_current_ampere"), ("mEdc", "dc_voltage_volt")):
            if name in arrays and len(arrays[name]["DataValues"]) == len(frequency):
                values = _array(arrays[name], path)
                if name == "Phase" and arrays[name].get("Unit", {}).get("Q", "").startswith("-"):
                    values = -values
                extra[column] = values
        frames.append(impedance_frame(frequency, real, -stored_imag if negated else stored_imag,
                                      spectrum=len(frames), extra=extra))
        titles.append(measurement.get("Title", ""))
        instrument = instrument or measurement.get("DeviceSerial")
        ticks = measurement.get("UTCTimeStamp")
        if start_time is None and str(ticks).isdigit():
            start_time = (_DOTNET_EPOCH + timedelta(microseconds=int(ticks) // 10)).isoformat()
        if negated:
            notes.append(f"spectrum {len(frames) - 1}: ZIm holds -Z''; negated to Z'' as measured")
    if not frames:
        raise FormatError("no measurement with Frequency, ZRe and ZIm arrays", file=path)
    data = concat_spectra(frames)
    require_finite_frequency(data, path, None)
    return ImpedanceRecord(data, Metadata(technique=("EIS",), start_time=start_time,
                                          instrument=instrument, notes=tuple(dict.fromkeys(notes)),
                                          extra={"titles": titles,
                                                 "core_version": session.get("CoreVersion")}))
