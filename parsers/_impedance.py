"""Helpers shared by the impedance parsers: building the tidy table, checking its numbers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from labkit.errors import FormatError

#: The columns every impedance table starts with, in this order.
CORE_COLUMNS = ("spectrum", "frequency_hertz", "z_real_ohm", "z_imag_ohm")


def impedance_frame(
    frequency: np.ndarray,
    z_real: np.ndarray,
    z_imag: np.ndarray,
    *,
    spectrum: np.ndarray | int = 0,
    extra: Mapping[str, np.ndarray | float | int] | None = None,
) -> pd.DataFrame:
    """The tidy impedance table: ``spectrum``, frequency, Z', Z'' then the extra columns.

    Parameters
    ----------
    frequency, z_real, z_imag
        One value per point; ``z_imag`` with the sign as measured (capacitive < 0).
    spectrum
        Spectrum index per point, or one index for all points.
    extra
        Further columns (already in labkit names and SI units); scalars are broadcast.
    """
    count = len(frequency)
    columns: dict[str, np.ndarray] = {
        "spectrum": np.broadcast_to(np.asarray(spectrum, dtype=np.int64), (count,)).copy(),
        "frequency_hertz": np.asarray(frequency, dtype=np.float64),
        "z_real_ohm": np.asarray(z_real, dtype=np.float64),
        "z_imag_ohm": np.asarray(z_imag, dtype=np.float64),
    }
    for name, values in (extra or {}).items():
        array = np.asarray(values)
        columns[name] = np.broadcast_to(array, (count,)).copy() if array.ndim == 0 else array
    return pd.DataFrame(columns)


def concat_spectra(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Stack per-spectrum tables (each already carrying its ``spectrum`` index)."""
    if not frames:
        return pd.DataFrame({name: pd.Series(dtype=float) for name in CORE_COLUMNS}).astype(
            {"spectrum": np.int64}
        )
    return pd.concat(frames, ignore_index=True)


def require_finite_frequency(frame: pd.DataFrame, path: Path, first_data_line: int | None) -> None:
    """Raise a FormatError naming the first point whose frequency is missing or not positive."""
    frequency = frame["frequency_hertz"].to_numpy(dtype=float)
    bad = ~(np.isfinite(frequency) & (frequency > 0))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        position = None if first_data_line is None else f"line {first_data_line + row}"
        raise FormatError(
            f"expected a positive frequency, found {frequency[row]!r} at data point {row + 1}",
            file=path,
            position=position,
        )


def snake(label: str) -> str:
    """A vendor label as a snake_case fragment (``"IERange"`` -> ``"ie_range"``)."""
    label = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", label.strip())
    label = re.sub(r"[^0-9A-Za-z]+", "_", label).strip("_").lower()
    if not label:
        return "value"
    return label if label[0].isalpha() else f"c{label}"
