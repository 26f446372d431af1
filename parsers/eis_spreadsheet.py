"""Impedance spectra in spreadsheets (``.xlsx``, ``.ods``): one spectrum per sheet.

Each sheet has a header row naming frequency and Z'/Z'' (or |Z|/phase) columns, read
like the delimited tables of ``eis-csv`` (``f``, ``Zre``, ``-Zim``, ``|Z|``,
``-phase``...). Both kinds are read by the calamine engine.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from labkit.data import ImpedanceRecord, Metadata
from labkit.errors import FormatError
from labkit.parsers._impedance import (
    apply_plan,
    concat_spectra,
    impedance_frame,
    plan_columns,
    require_finite_frequency,
)
from labkit.parsers._spreadsheet import read_sheets
from labkit.parsers._text import parse_numbers
from labkit.registry import register


def _sniff(head: bytes, path: Path) -> bool:
    if not head.startswith(b"PK\x03\x04"):
        return False
    if b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet" in head[:200]:
        return True
    return path.suffix.lower() == ".xlsx" and b"xl/" in head


@register("eis-spreadsheet", vendor="generic", description="impedance spectra in .xlsx/.ods "
          "sheets (header row with frequency and Z columns)", extensions=(".xlsx", ".ods"),
          kind="impedance", sniff=_sniff, priority=-1)
def read_eis_spreadsheet(path: Path) -> ImpedanceRecord:
    """Read every sheet as one spectrum.

    Raises
    ------
    FormatError
        "ambiguous columns" naming a sheet's header when it cannot be read as impedance;
        a non-numeric cell by sheet and row.
    """
    path = Path(path)
    frames, notes, names = [], [], []
    for sheet, table in read_sheets(path, dtype=object).items():
        table = table.dropna(how="all")
        if table.empty:
            continue
        labels = [str(c) for c in table.columns]
        plan = plan_columns(labels, path, f"sheet {sheet!r} row 1")
        needed = {plan.frequency, plan.real, plan.imag, plan.modulus, plan.phase}
        where = _sheet_row(sheet, table.index)
        columns = [
            parse_numbers(table.iloc[:, index], labels[index], path, where, blanks=())
            if index in needed
            else pd.to_numeric(table.iloc[:, index], errors="coerce").to_numpy(dtype=np.float64)
            for index in range(table.shape[1])]
        result = apply_plan(plan, columns)
        extra = {k: v for k, v in result.items()
                 if k not in ("frequency_hertz", "z_real_ohm", "z_imag_ohm")}
        frames.append(impedance_frame(result["frequency_hertz"], result["z_real_ohm"],
                                      result["z_imag_ohm"], spectrum=len(frames), extra=extra))
        names.append(str(sheet))
        notes.extend(f"sheet {sheet!r}: {note}" for note in plan.notes)
    if not frames:
        raise FormatError("no sheet holds data", file=path)
    data = concat_spectra(frames)
    require_finite_frequency(data, path, None)
    return ImpedanceRecord(data, Metadata(technique=("EIS",), notes=tuple(notes),
                                          extra={"sheets": names}))


def _sheet_row(sheet: str, index: pd.Index) -> Callable[[int], str]:
    """Position of a data row of ``sheet`` (``index`` holds its 0-based body rows)."""
    return lambda row: f"sheet {sheet!r} row {int(index[row]) + 2}"
