"""Check that a test-time column runs forward, and describe where it does not.

Cycler exports are supposed to carry a non-decreasing test time. Some do not
(the BDF project ships a Neware conversion named ``..._Time_Bug`` whose time
falls back to 0 for one row at each step change). Readers keep the values as
the file states them and put the description returned here into
``meta.notes`` so a user sees the problem before an analysis trips on it.
"""

from __future__ import annotations

import numpy as np

_YEAR_SECOND = 365.25 * 86400


def time_order_notes(seconds: np.ndarray, first_data_line: int | None = None) -> tuple[str, ...]:
    """Notes on decreasing or repeated test times; empty when time only increases.

    Parameters
    ----------
    seconds
        The test time of each row, in file order.
    first_data_line
        1-based line number of the first data row, to name the first bad line;
        ``None`` for binary sources (rows are then counted from 0).

    Returns
    -------
    tuple of str
        At most four notes: decreases (and how many are single rows out of line),
        repeated values, and a span longer than a year (usually a time column in
        another unit than its header says).
    """
    values = np.asarray(seconds, dtype=float)
    steps = np.diff(values)
    notes = []
    for mask, what in ((steps < 0, "decreases"), (steps == 0, "repeats the previous value")):
        count = int(np.count_nonzero(mask))
        if count:
            row = int(np.flatnonzero(mask)[0]) + 1
            where = f"line {first_data_line + row}" if first_data_line is not None else f"row {row}"
            notes.append(
                f"test_time_second {what} at {count} row(s), first at {where} "
                f"({values[row - 1]:.6g} s -> {values[row]:.6g} s); values kept as in the file"
            )
    drops = np.flatnonzero(steps < 0) + 1
    drops = drops[drops + 1 < values.size]
    isolated = int(np.count_nonzero(values[drops + 1] >= values[drops - 1]))
    if isolated:
        notes.append(f"{isolated} of the decreases are single rows out of line (the next row "
                     "resumes the earlier time): likely a per-row export bug, not a restart")
    finite = values[np.isfinite(values)]
    if finite.size and finite.max() - finite.min() > _YEAR_SECOND:
        years = (finite.max() - finite.min()) / _YEAR_SECOND
        notes.append(f"test_time_second spans {years:.3g} years; check the file's time unit")
    return tuple(notes)
