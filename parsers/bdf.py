"""Battery Data Format (BDF) CSV and Parquet, and any CSV written with BDF names.

BDF (battery-data-alliance) names columns either in machine form with the
unit spelled out (``test_time_second``, ``voltage_volt``,
``charging_capacity_ah``), in human form ``Label / unit`` (``Test Time / s``,
``Cycle Count / 1``, ``Test Time / h``), or, in older Parquet files, with
legacy names (``test_time_millisecond``, ``cycle_dimensionless``,
``date_time_millisecond``). labkit's own column names are BDF machine names,
so the CSVs other labkit parts write are read here too.

Units: each column is scaled to labkit's unit from its name (``Test Time / h``
-> seconds, ``test_time_millisecond`` -> seconds). Names BDF defines but labkit
does not are kept (machine form as is, human form as ``bdf_<label>``).

Current sign: BDF means positive = charge, like labkit. Some producers write
the opposite (BattMo simulation output: positive on discharge); when a
``Step Type`` column labels rows ``charge``/``discharge`` and the current
disagrees with it on most rows, the sign is inverted and a note says so.

Test time: decreasing or repeated values (the BDF project's
``..._Time_Bug.bdf.csv``, whose time falls back to 0 at step changes) are kept
and reported in ``meta.notes``.

The CSV format registers with priority -1 so vendor formats win; it only
claims a header that holds a BDF cycling time column (``test_time_second``,
``Test Time / <unit>``...) plus voltage or current, and no impedance columns
(those belong to the impedance CSV reader).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from labkit.columns import CYCLING_COLUMNS, is_valid_name, unit_of
from labkit.data import CyclingRecord, Metadata
from labkit.errors import FormatError
from labkit.parsers._text import decode, decode_head, looks_binary
from labkit.parsers._timecheck import time_order_notes
from labkit.parsers.delimited import guess_separator, parse_table, tidy_columns
from labkit.registry import file_bytes, register

#: BDF machine names that differ from labkit's -> (labkit name, unit of the values).
MACHINE_ALIASES: dict[str, tuple[str, str]] = {
    "test_time_millisecond": ("test_time_second", "ms"),
    "date_time_millisecond": ("unix_time_second", "ms"),
    "unix_time_millisecond": ("unix_time_second", "ms"),
    "cycle_dimensionless": ("cycle_count", ""),
    "charging_capacity_ah": ("charging_capacity_ampere_hour", "Ah"),
    "discharging_capacity_ah": ("discharging_capacity_ampere_hour", "Ah"),
    "charging_energy_wh": ("charging_energy_watt_hour", "Wh"),
    "discharging_energy_wh": ("discharging_energy_watt_hour", "Wh"),
    "net_capacity_ah": ("net_capacity_ampere_hour", "Ah"),
    "net_energy_wh": ("net_energy_watt_hour", "Wh"),
    "temperature_t1_celsius": ("temperature_celsius", "°C"),
}

#: BDF human labels (lower case, before `` / unit``) -> labkit name.
HUMAN_LABELS: dict[str, str] = {
    "test time": "test_time_second",
    "step time": "step_time_second",
    "unix time": "unix_time_second",
    "date time": "unix_time_second",
    "voltage": "voltage_volt",
    "current": "current_ampere",
    "power": "power_watt",
    "cycle count": "cycle_count",
    "step index": "step_index",
    "step count": "step_count",
    "record index": "record_index",
    "charging capacity": "charging_capacity_ampere_hour",
    "charge capacity": "charging_capacity_ampere_hour",
    "discharging capacity": "discharging_capacity_ampere_hour",
    "discharge capacity": "discharging_capacity_ampere_hour",
    "charging energy": "charging_energy_watt_hour",
    "charge energy": "charging_energy_watt_hour",
    "discharging energy": "discharging_energy_watt_hour",
    "discharge energy": "discharging_energy_watt_hour",
    "net capacity": "net_capacity_ampere_hour",
    "net energy": "net_energy_watt_hour",
    "ambient temperature": "ambient_temperature_celsius",
    "temperature": "temperature_celsius",
    "temperature t1": "temperature_celsius",
    "internal resistance": "internal_resistance_ohm",
}

_HUMAN = re.compile(r"^(?P<label>[^/]*?)\s*/\s*(?P<unit>[^/]*)$")
_TIME_NAMES = {"test_time_second", "test_time_millisecond"}
_SIGNAL_NAMES = {"voltage_volt", "current_ampere"}
_IMPEDANCE_NAMES = {"frequency_hertz", "z_real_ohm", "z_imag_ohm"}


def _snake(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def bdf_column(name: str) -> tuple[str, str | None]:
    """The labkit name of a BDF column and the unit of its values.

    Returns
    -------
    (str, str or None)
        Target name and unit; the unit is ``None`` for columns kept as labels.

    >>> bdf_column("Test Time / h")
    ('test_time_second', 'h')
    >>> bdf_column("charging_capacity_ah")
    ('charging_capacity_ampere_hour', 'Ah')
    """
    name = name.strip()
    if name in MACHINE_ALIASES:
        return MACHINE_ALIASES[name]
    if name in CYCLING_COLUMNS:
        return name, unit_of(name)
    human = _HUMAN.match(name)
    if human:
        label, unit = human.group("label").strip().lower(), human.group("unit").strip()
        if label in HUMAN_LABELS:
            return HUMAN_LABELS[label], unit
        sensor = re.fullmatch(r"temperature t(\d+)", label)
        if sensor:
            return f"temperature_t{sensor.group(1)}_celsius", unit
        return "bdf_" + _snake(label), None
    if is_valid_name(name):
        return name, (unit_of(name) or None)
    return "bdf_" + _snake(name), None


def bdf_mapping(names: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Column mapping and units for :func:`labkit.parsers.delimited.tidy_columns`."""
    columns: dict[str, str] = {}
    units: dict[str, str] = {}
    for name in names:
        target, unit = bdf_column(str(name))
        columns[str(name)] = target
        if unit is not None:
            units[str(name)] = unit
    return columns, units


def is_bdf_cycling_header(names: list[str]) -> bool:
    """Whether header names are BDF cycling names (time plus voltage or current)."""
    targets = {bdf_column(n)[0] for n in names}
    raw = {n.strip() for n in names}
    has_time = bool(raw & _TIME_NAMES) or any(
        (m := _HUMAN.match(n)) is not None and m.group("label").strip().lower() == "test time"
        for n in raw
    )
    return has_time and bool(targets & _SIGNAL_NAMES) and not targets & _IMPEDANCE_NAMES


def _sniff_csv(head: bytes, path: Path) -> bool:
    if looks_binary(head):
        return False
    first = decode_head(head).lstrip("\ufeff").split("\n", 1)[0].rstrip("\r")
    names = [n.strip().strip('"') for n in first.split(guess_separator(first))]
    return is_bdf_cycling_header(names)


def _sniff_parquet(head: bytes, path: Path) -> bool:
    return head.startswith(b"PAR1") and path.name.lower().endswith(".bdf.parquet")


def _finish(data: pd.DataFrame, path: Path, first_data_line: int | None) -> CyclingRecord:
    notes: tuple[str, ...] = ()
    if "bdf_step_type" in data and "current_ampere" in data:
        notes += _fix_current_sign(data)
    if "test_time_second" in data:
        notes += time_order_notes(data["test_time_second"].to_numpy(), first_data_line)
    record = CyclingRecord(data, Metadata(vendor="BDF", notes=notes))
    record.validate()
    return record


def _fix_current_sign(data: pd.DataFrame) -> tuple[str, ...]:
    """Invert current in place when the step labels say it is positive on discharge."""
    label = data["bdf_step_type"].astype(str).str.strip().str.lower()
    current = data["current_ampere"].to_numpy()
    on_charge = np.sign(current[(label == "charge").to_numpy()])
    on_discharge = np.sign(current[(label == "discharge").to_numpy()])
    agree = np.count_nonzero(on_charge > 0) + np.count_nonzero(on_discharge < 0)
    disagree = np.count_nonzero(on_charge < 0) + np.count_nonzero(on_discharge > 0)
    if disagree > agree:
        data["current_ampere"] = -current
        return (
            f"current was positive on discharge in {disagree} of {agree + disagree} labelled "
            "rows; inverted to labkit's convention (positive = charge)",
        )
    return ()


@register(
    "bdf-csv",
    vendor="BDF",
    description="Battery Data Format CSV (machine or 'Name / unit' headers), incl. labkit CSVs",
    extensions=(".bdf.csv", ".csv"),
    kind="cycling",
    sniff=_sniff_csv,
    priority=-1,
)
def read_bdf_csv(path: Path) -> CyclingRecord:
    """Read a BDF CSV into a cycling record (see the module docstring for units and sign)."""
    text = decode(file_bytes(Path(path)))
    first = text.split("\n", 1)[0].rstrip("\r")
    raw = parse_table(text, path, first_line=1, sep=guess_separator(first))
    if not is_bdf_cycling_header(list(raw.columns)):
        raise FormatError(
            "expected a BDF header with a test time and voltage or current column, "
            f"found {list(raw.columns)}",
            file=path,
            position="line 1",
        )
    columns, units = bdf_mapping(list(raw.columns))
    data = tidy_columns(raw, columns, path, first_data_line=2, units=units)
    return _finish(data, path, first_data_line=2)


@register(
    "bdf-parquet",
    vendor="BDF",
    description="Battery Data Format Parquet (current and legacy column names)",
    extensions=(".bdf.parquet",),
    kind="cycling",
    sniff=_sniff_parquet,
)
def read_bdf_parquet(path: Path) -> CyclingRecord:
    """Read a BDF Parquet file into a cycling record."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        raw = pq.read_table(path).to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise FormatError(f"expected a readable Parquet file: {exc}", file=path) from exc
    raw.columns = [str(c) for c in raw.columns]
    if not is_bdf_cycling_header(list(raw.columns)):
        raise FormatError(
            f"expected BDF columns (test time and voltage or current), found {list(raw.columns)}",
            file=path,
        )
    columns, units = bdf_mapping(list(raw.columns))
    data = tidy_columns(raw, columns, path, first_data_line=1, units=units)
    return _finish(data, path, first_data_line=None)
