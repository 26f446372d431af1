"""Plain-text tables whose columns stay aligned whatever the width of their cells."""

from __future__ import annotations

from collections.abc import Sequence


def aligned(rows: Sequence[Sequence[str]], header: Sequence[str] | None = None,
            indent: str = "", gap: str = "  ") -> list[str]:
    """The lines of a table: every column as wide as its widest cell (header included),
    the last one unpadded.

    >>> aligned([["arbin-res", "Arbin"], ["batteryarchive-csv", "BatteryArchive.org"]],
    ...         header=["name", "vendor"])
    ['name                vendor', 'arbin-res           Arbin', 'batteryarchive-csv  BatteryArchive.org']
    """
    table = [list(header)] if header is not None else []
    table += [list(row) for row in rows]
    if not table:
        return []
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    return [indent + gap.join([*(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)),
                               row[-1]]).rstrip()
            for row in table]
