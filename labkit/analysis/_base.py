"""Pieces shared by the analyses: estimates with uncertainty, sample values, integration.

Private to :mod:`labkit.analysis`; the public names are re-exported by the
analysis modules that use them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from labkit.data import CyclingRecord
from labkit.errors import MetadataError, SchemaError
from labkit.uncertainty import Estimate, finite_or_none

SECONDS_PER_HOUR = 3600.0


def plain(value: Any) -> Any:
    """A JSON-friendly copy: estimates as dicts, numpy scalars as Python, NaN as ``None``."""
    if isinstance(value, Estimate):
        return value.to_dict()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return [plain(row) for row in value.to_dict(orient="records")]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return finite_or_none(value)
    if value is pd.NA:
        return None
    return value


def require_columns(record: CyclingRecord, columns: Iterable[str], purpose: str) -> None:
    """Raise :class:`SchemaError` naming the columns ``purpose`` needs but the record lacks."""
    missing = [c for c in columns if c not in record.data.columns]
    if missing:
        raise SchemaError(
            f"{purpose} needs the columns {missing}, which the record does not have "
            f"(it has {list(record.data.columns)})",
            file=record.meta.source_path,
        )


def sample_value(
    given: float | None,
    record: CyclingRecord | None,
    field_name: str,
    what: str,
    option: str,
) -> float:
    """A sample value given explicitly, else from ``record.meta.sample``, else an error.

    Parameters
    ----------
    given
        The value passed by the caller, or ``None``.
    record
        The record whose metadata may state the value.
    field_name
        The :class:`labkit.Sample` attribute (``"area_square_centimeter"``).
    what
        Words for the error message (``"cell area"``).
    option
        How to give it (``"area_square_centimeter=... or --area CM2"``).

    Raises
    ------
    MetadataError
        When neither gives a positive finite value.
    """
    value = given
    if value is None and record is not None:
        value = getattr(record.meta.sample, field_name)
    if value is None:
        raise MetadataError(
            f"{what} not given: the file does not state it; pass {option}",
            file=None if record is None else record.meta.source_path,
        )
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise MetadataError(f"{what} must be a positive number, got {value}")
    return value


def optional_sample_value(
    given: float | None, record: CyclingRecord, field_name: str
) -> float | None:
    """Like :func:`sample_value` but ``None`` when neither the caller nor the file states it."""
    value = given if given is not None else getattr(record.meta.sample, field_name)
    return None if value is None else float(value)


def evenly_spaced(values: np.ndarray, count: int) -> np.ndarray:
    """At most ``count`` of the sorted unique ``values``, evenly spaced by position from the
    first to the last (all of them when there are no more than ``count``)."""
    unique = np.unique(values)
    if unique.size <= count:
        return unique
    return unique[np.unique(np.round(np.linspace(0, unique.size - 1, count)).astype(int))]


def numeric(record: CyclingRecord, column: str) -> np.ndarray:
    """A column as a float64 numpy array (missing values as NaN)."""
    return pd.to_numeric(record.data[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def sample_intervals(time_second: np.ndarray) -> np.ndarray:
    """Duration of the interval ending at each sample (0 for the first), in seconds.

    Time that goes backwards gives 0 (a restart counts from there on). A single
    sample out of line (earlier than its predecessor while the next one carries
    on from the predecessor, a known export bug) is treated as if taken at its
    predecessor's time, so the following interval is not inflated.
    """
    time = np.asarray(time_second, dtype=float).copy()
    if time.size > 2:
        previous, following = time[:-2], time[2:]
        middle = time[1:-1]
        out_of_line = (middle < previous) & (following >= previous)
        time[1:-1] = np.where(out_of_line, previous, middle)
    dt = np.diff(time, prepend=time[:1])
    return np.where(np.isfinite(dt) & (dt > 0), dt, 0.0)


def interval_charge_ampere_hour(time_second: np.ndarray, current_ampere: np.ndarray) -> np.ndarray:
    """Charge passed in the interval ending at each sample, signed, in Ah.

    Each sample's current is applied to the interval since the previous sample
    (rectangle rule), which is how cyclers accumulate capacity: a step's charge is
    then the sum over its own samples. The first sample gets 0. Intervals come
    from :func:`sample_intervals`.
    """
    return sample_intervals(time_second) * np.nan_to_num(current_ampere) / SECONDS_PER_HOUR


def propagate(function, values: dict[str, Estimate]) -> Estimate:
    """First-order (Gaussian) propagation of independent uncertainties through ``function``.

    Parameters
    ----------
    function
        ``function(**{name: float}) -> float``.
    values
        The inputs with their standard errors (a NaN stderr counts as exactly known).

    Returns
    -------
    Estimate
        ``function`` at the values, and ``sqrt(sum((df/dx_i * s_i)^2))`` with the
        partial derivatives by central differences.
    """
    # numpy scalars: a division by zero at a degenerate input gives inf/NaN, not an exception
    centre = {name: np.float64(estimate.value) for name, estimate in values.items()}
    with np.errstate(all="ignore"):
        result = float(function(**centre))
        variance = 0.0
        for name, estimate in values.items():
            sigma = estimate.stderr
            if not math.isfinite(sigma) or sigma == 0:
                continue
            step = 1e-6 * max(abs(estimate.value), sigma)
            up = float(function(**{**centre, name: np.float64(estimate.value + step)}))
            down = float(function(**{**centre, name: np.float64(estimate.value - step)}))
            variance += ((up - down) / (2 * step) * sigma) ** 2
    return Estimate(result, math.sqrt(variance) if math.isfinite(result) else math.nan)
