"""Princeton Applied Research Parstat (VersaStudio/PowerSuite) tab-separated export.

Columns ``Potential (V)  Current (A)  Elapsed Time (s)  Frequency (Hz)  Zre (ohms)
Zim (ohms)  |Vac| (V)  |Iac| (A)``; rows of a DC technique carry frequency 0 and are
not impedance points. Zim carries the sign as measured.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from labkit.data import ImpedanceRecord, Metadata
from labkit.errors import FormatError
from labkit.parsers._impedance import (
    drop_zero_frequency,
    impedance_frame,
    numeric_block,
    snake,
    split_sweeps,
)
from labkit.parsers._text import decode, decode_head
from labkit.registry import file_bytes, register

_NAMES = {"Potential (V)": "dc_voltage_volt", "Current (A)": "dc_current_ampere",
          "Elapsed Time (s)": "test_time_second", "Frequency (Hz)": "frequency_hertz",
          "Zre (ohms)": "z_real_ohm", "Zim (ohms)": "z_imag_ohm",
          "|Vac| (V)": "parstat_vac_volt", "|Iac| (A)": "parstat_iac_ampere"}


def _sniff(head: bytes, path: Path) -> bool:
    first = decode_head(head[:512]).lstrip().split("\n", 1)[0]
    return "Frequency (Hz)" in first and "Zre (ohms)" in first and "Zim (ohms)" in first


@register("parstat-txt", vendor="Princeton Applied Research",
          description="Parstat text export (Potential, Current, Time, Frequency, Zre, Zim)",
          extensions=(".txt",), kind="impedance", sniff=_sniff)
def read_parstat(path: Path) -> ImpedanceRecord:
    """Read a Parstat text export, keeping the rows with a frequency (the EIS points).

    Raises
    ------
    FormatError
        When a needed column is missing or a row is not numeric.
    """
    path = Path(path)
    lines = decode(file_bytes(path)).splitlines()
    labels = [label.strip() for label in lines[0].split("\t")]
    while labels and not labels[-1]:
        labels.pop()
    for needed in ("Frequency (Hz)", "Zre (ohms)", "Zim (ohms)"):
        if needed not in labels:
            raise FormatError(f"expected a column {needed!r}, found {labels}", file=path,
                              position="line 1")
    values = numeric_block(lines, 1, path, sep="\t")[:, :len(labels)]
    columns = {_NAMES.get(label, f"parstat_{snake(label)}"): values[:, i] for i, label in enumerate(labels)}
    notes: list[str] = []
    frequency = columns.pop("frequency_hertz")
    real, imag = columns.pop("z_real_ohm"), columns.pop("z_imag_ohm")
    data = impedance_frame(frequency, real, imag, extra=columns)
    data = drop_zero_frequency(data, notes)
    data["spectrum"] = split_sweeps(data["frequency_hertz"].to_numpy(dtype=np.float64))
    return ImpedanceRecord(data, Metadata(technique=("EIS",), notes=tuple(notes),
                                          extra={"columns": labels}))
