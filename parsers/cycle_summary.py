"""Per-cycle summary tables: recognised, and refused with the reason.

Archives and cycler software publish one-row-per-cycle tables next to the
time series (BatteryArchive.org ``*_cycle_data.csv``, batterydata.energy.gov
``*-summary.csv``, Novonix/beep ``*_metadata.csv`` with coulombic efficiency
and slippage per cycle). They hold derived numbers, not measurements over
time, so they do not fit a :class:`~labkit.data.CyclingRecord` (which needs a
test time and a voltage or current per row). Rather than "format unknown",
:func:`labkit.read` says what the file is and where the data are.
"""

from __future__ import annotations

from pathlib import Path

from labkit.data import CyclingRecord
from labkit.errors import FormatError
from labkit.parsers._text import decode_head, looks_binary
from labkit.registry import register

#: First header fields of the known summary layouts -> who writes them.
SUMMARY_HEADERS: dict[str, str] = {
    "Cycle_Index,Start_Time,End_Time,Test_Time (s),Min_Current (A)": "BatteryArchive.org",
    "Cycle_Index,Cycle_Label,Time_s,Time_d,Datenum_d": "batterydata.energy.gov",
    ",Cycle,AverageChargeVoltage,AverageDischargeVoltage,CE": "Novonix (beep)",
}


def _sniff(head: bytes, path: Path) -> bool:
    return not looks_binary(head) and any(
        decode_head(head).startswith(prefix) for prefix in SUMMARY_HEADERS
    )


@register(
    "cycle-summary-csv",
    vendor="various",
    description="per-cycle summary tables (recognised, refused: not time series)",
    extensions=(".csv",),
    kind="cycling",
    sniff=_sniff,
)
def refuse_cycle_summary(path: Path) -> CyclingRecord:
    """Raise a FormatError explaining that the file is a per-cycle summary.

    Raises
    ------
    FormatError
        Always: the file holds one row per cycle, not a time series.
    """
    with open(path, "rb") as handle:
        head = decode_head(handle.read(4096))
    source = next((who for prefix, who in SUMMARY_HEADERS.items() if head.startswith(prefix)),
                  "unknown")
    raise FormatError(
        f"a per-cycle summary table ({source}), not a time series: labkit records hold "
        "measurements over time; read the time-series file of the same test instead",
        file=path,
        position="line 1",
    )
