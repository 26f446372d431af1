"""Indigo cycler data: pandas HDF5 (PyTables "fixed" format), read with h5py.

The file holds one pandas frame under the key ``time_series_data``, stored
in PyTables' fixed layout: ``axis0`` (column names), ``axis1`` (row index) and
per-dtype blocks ``block<i>_items`` (names) / ``block<i>_values`` (a rows x
items array). h5py reads these directly, so PyTables is not needed.

Columns: ``cell_id``, ``experiment_count``, ``cycle_count``,
``half_cycle_count``, ``experiment_type``, ``system_time_us`` (unix time in
µs), ``time_s``, ``cell_coulomb_count_c`` (signed, restarts every half
cycle), ``cell_current_a``, ``cell_temperature_c``, ``cell_power_w``,
``cell_energy_j`` (signed, restarts like the coulomb count), ``cell_voltage_v``.

Direction: Indigo current, power, charge and energy are signed, negative on
discharge, as in labkit. The per-half-cycle coulomb and energy counts keep
their own meaning as ``indigo_coulomb_count_coulomb`` and
``indigo_energy_joule``. ``cell_id`` (one value per file) is the sample name.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from labkit.data import CyclingRecord, Metadata, Sample
from labkit.errors import FormatError
from labkit.parsers._timecheck import time_order_notes
from labkit.registry import register

_KEY = "time_series_data"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
#: What h5py raises on a damaged file ("bad heap free list", "bad object header"...): the
#: HDF5 library's errors arrive as OSError, RuntimeError, KeyError, ValueError or TypeError.
_HDF5_DAMAGE = (OSError, RuntimeError, KeyError, ValueError, TypeError)

#: Indigo column -> (labkit column, factor).
_COLUMNS: dict[str, tuple[str, float]] = {
    "time_s": ("test_time_second", 1.0),
    "cell_voltage_v": ("voltage_volt", 1.0),
    "cell_current_a": ("current_ampere", 1.0),
    "cell_power_w": ("power_watt", 1.0),
    "cell_temperature_c": ("temperature_celsius", 1.0),
    "system_time_us": ("unix_time_second", 1e-6),
    "cycle_count": ("cycle_count", 1),
    "half_cycle_count": ("indigo_half_cycle_count", 1),
    "experiment_count": ("indigo_experiment_count", 1),
    "experiment_type": ("indigo_experiment_type", 1),
    "cell_coulomb_count_c": ("indigo_coulomb_count_coulomb", 1.0),
    "cell_energy_j": ("indigo_energy_joule", 1.0),
}


def _sniff(head: bytes, path: Path) -> bool:
    return head.startswith(_HDF5_MAGIC) and _KEY.encode() in head and b"cell_voltage_v" in head


def _frame_columns(group, path: Path) -> dict[str, np.ndarray]:
    """Name -> column of a pandas fixed-format frame group."""
    try:
        blocks = int(group.attrs["nblocks"])
    except KeyError:
        raise FormatError(f"group {_KEY!r} is not a pandas fixed-format frame (no 'nblocks')",
                          file=path) from None
    columns: dict[str, np.ndarray] = {}
    for block in range(blocks):
        try:
            names = [n.decode() if isinstance(n, bytes) else str(n)
                     for n in group[f"block{block}_items"][()]]
            values = group[f"block{block}_values"][()]
        except KeyError as exc:
            raise FormatError(f"pandas frame block {block} missing: {exc}", file=path) from None
        if values.ndim != 2 or values.shape[1] != len(names):
            raise FormatError(f"block {block} holds {values.shape} values for {len(names)} names",
                              file=path)
        for position, name in enumerate(names):
            columns[name] = values[:, position]
    return columns


@register(
    "indigo-h5",
    vendor="Indigo",
    description="Indigo HDF5 (pandas fixed format, key time_series_data), read without PyTables",
    extensions=(".h5", ".hdf5"),
    kind="cycling",
    sniff=_sniff,
)
def read_indigo(path: Path) -> CyclingRecord:
    """Read an Indigo HDF5 file (see the module docstring for units and sign)."""
    import h5py

    try:
        handle = h5py.File(path, "r")
    except _HDF5_DAMAGE as exc:
        raise FormatError(f"expected an HDF5 file: {exc}", file=path, position="byte 0") from exc
    try:
        with handle:
            if _KEY not in handle:
                raise FormatError(f"expected an HDF5 group {_KEY!r}, found {list(handle)}",
                                  file=path)
            raw = _frame_columns(handle[_KEY], path)
    except _HDF5_DAMAGE as exc:
        raise FormatError(f"expected an intact HDF5 file holding a pandas frame under {_KEY!r}; "
                          f"the HDF5 library cannot read it: {type(exc).__name__}: {exc}",
                          file=path, position=f"HDF5 group {_KEY!r}") from exc
    missing = [name for name in ("time_s", "cell_voltage_v", "cell_current_a") if name not in raw]
    if missing:
        raise FormatError(f"Indigo frame lacks column(s) {missing}; found {list(raw)}", file=path)
    data = {}
    for source, (target, factor) in _COLUMNS.items():
        if source in raw:
            values = raw[source]
            data[target] = values.astype(np.int64) if isinstance(factor, int) else (
                values.astype(np.float64) * factor)
    cells = np.unique(raw["cell_id"]) if "cell_id" in raw else np.array([])
    start = None
    if "unix_time_second" in data and len(data["unix_time_second"]):
        start = pd.Timestamp(data["unix_time_second"][0], unit="s", tz="UTC").isoformat()
    meta = Metadata(
        vendor="Indigo",
        start_time=start,
        sample=Sample(name=str(cells[0]) if len(cells) == 1 else None),
        notes=time_order_notes(data["test_time_second"]),
        extra={"cell_ids": [int(c) for c in cells]},
    )
    return CyclingRecord(pd.DataFrame(data), meta)
