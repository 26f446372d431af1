"""``.P00`` impedance text files (``Procedure :`` header, ``f/Hz  Z'/Ohm  -Z''/Ohm ...``).

Line 1 ``Procedure : title``, then date/current lines and a description, a tab-separated
row of column names (``f/Hz``, ``Z'/Ohm``, ``-Z''/Ohm``, ``time/s``, ``Edc/V``,
``Idc/A``), the number of points, and the rows.
"""

from __future__ import annotations

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

_CONDITIONS = {"time/s": "test_time_second", "edc/v": "dc_voltage_volt",
               "idc/a": "dc_current_ampere"}


def _sniff(head: bytes, path: Path) -> bool:
    text = decode_head(head[:2048])
    return text.lstrip().startswith("Procedure :") and "f/Hz" in text


@register("p00-txt", vendor="unknown (.P00)", description=".P00 impedance text",
          extensions=(".p00",), kind="impedance", sniff=_sniff)
def read_p00(path: Path) -> ImpedanceRecord:
    """Read a ``.P00`` file.

    Raises
    ------
    FormatError
        When the column line or the point count is missing, or rows do not match it.
    """
    path = Path(path)
    lines = decode(file_bytes(path)).splitlines()
    title = next((i for i, line in enumerate(lines) if line.strip().startswith("f/Hz")), None)
    if title is None or title + 1 >= len(lines) or not lines[title + 1].strip().isdigit():
        raise FormatError("expected the column line 'f/Hz ...' followed by the number of "
                          "points", file=path, position="line 5")
    labels = [label.strip() for label in lines[title].split("\t") if label.strip()]
    plan = plan_columns(labels, path, f"line {title + 1}")
    values = numeric_block(lines, title + 2, path, sep="\t")[:, :len(labels)]
    declared = int(lines[title + 1])
    if declared != len(values):
        raise FormatError(f"the file declares {declared} points and holds {len(values)}",
                          file=path, position=f"line {title + 2}")
    columns = apply_plan(plan, values.T)
    extra = {_CONDITIONS[label.lower()]: values[:, i] for i, label in enumerate(labels)
             if label.lower() in _CONDITIONS}
    data = impedance_frame(columns["frequency_hertz"], columns["z_real_ohm"],
                           columns["z_imag_ohm"], extra=extra)
    require_finite_frequency(data, path, title + 3)
    return ImpedanceRecord(data, Metadata(
        technique=(lines[0].partition(":")[2].strip() or "EIS",),
        notes=plan.notes, extra={"header": [line.strip() for line in lines[:title]]}))
