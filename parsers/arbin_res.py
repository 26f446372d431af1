"""Arbin ``.res`` results files (MS Access JET4 databases written by MITS Pro / MITS 7).

Why mdbtools: a ``.res`` file is an Access database, and mdbtools (``mdb-export``) is
the reference open JET4 reader (the pure-Python ``access-parser`` builds its logic on
mdbtools' format notes). It is packaged by Debian/Ubuntu, Homebrew and conda-forge.
mdbtools is LGPL/GPL, so labkit (MIT) runs it as a separate program and links
nothing; its CSV output is streamed straight into pandas' C parser, so no row
passes through Python. ``access-parser`` was not chosen because it decodes every
row in Python into lists (too slow for cycler files with 10^5-10^6 rows) and says
of itself that it was tested on a limited subset of database files. When
``mdb-export`` is not on ``PATH`` the reader raises a
:class:`~labkit.errors.LabkitError` saying how to install it. A damaged database can make
mdbtools loop forever: its programs run under one time budget per read, 5 s + 0.5 s per MB
of the file (:mod:`labkit.parsers._external`), and are killed with their process group
when it runs out (a :class:`~labkit.errors.FormatError` says so).

Tables used:

* ``Channel_Normal_Table``: one row per data point, sorted by (Test_ID, Data_Point):
  Access returns rows in storage order, which need not be data-point order
  (navani_arbin_example.res stores points 1321-1800 after 1801-...). Arbin's sign and capacity
  conventions equal labkit's (current negative on discharge; separate charge and
  discharge capacity/energy, cumulative within the cycle). ``DateTime`` is an OLE
  date (days since 1899-12-30) in the tester PC's local time, without a zone:
  ``unix_time_second`` reads it as UTC.
* ``Auxiliary_Table`` (+ ``Aux_Global_Data_Table`` units): aux channels pivoted onto
  the data points. Data type 1 (or unit ``C``) is temperature: the lowest-index one
  becomes ``temperature_celsius``, the others ``arbin_aux_<index>_temperature_celsius``;
  voltages become ``arbin_aux_<index>_voltage_volt``; ``dX_dt`` columns follow.
* ``Global_Table``: test name, start time, schedule, channel, software -> metadata.
* ``Version_Table``: the results-file schema (``Results File 5.23``, ``20171213``
  for MITS 7 files with their 22 tables).

Several tests in one file (several ``Test_ID``): all rows are returned, test after
test in Data_Point order, with an ``arbin_test_id`` column; every test's Global_Table row goes to
``meta.extra["tests"]`` and a note says so; ``test_time_second`` restarts per test.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from labkit.data import CyclingRecord, Metadata, Sample
from labkit.errors import FormatError, LabkitError
from labkit.parsers._arbin_columns import labkit_column, ole_days_to_unix
from labkit.parsers._external import LimitedProcess, TimeLimit
from labkit.registry import register
from labkit.timezones import LOCAL

_JET_MAGIC = b"\x00\x01\x00\x00Standard Jet DB\x00"
_INSTALL_HINT = (
    "reading Arbin .res files needs mdbtools' `mdb-export` on PATH; install it with "
    "`apt-get install mdbtools` (Debian/Ubuntu), `brew install mdbtools` (macOS) or "
    "`conda install -c conda-forge mdbtools`"
)
# Arbin aux data types in the order of Global_Table's Mapped_Aux_*_Number fields.
_AUX_KINDS = {0: "voltage_volt", 1: "temperature_celsius", 2: "pressure", 3: "ph",
              4: "flow_rate", 5: "concentration", 6: "digital_input", 7: "digital_output"}
_AUX_RATE_NAMES = {"voltage_volt": "dv_dt_volt_per_second",
                   "temperature_celsius": "dtemperature_dt_celsius_per_second"}


def _sniff(head: bytes, path: Path) -> bool:
    return head.startswith(_JET_MAGIC)


def mdb_export_available() -> bool:
    """Whether the ``mdb-export`` program this reader needs is installed."""
    return shutil.which("mdb-export") is not None


@register(
    "arbin-res",
    vendor="Arbin",
    description="Arbin .res results database (MS Access JET4, MITS Pro and MITS 7), via mdbtools",
    extensions=(".res",),
    kind="cycling",
    sniff=_sniff,
    version="2",
)
def read_arbin_res(path: Path) -> CyclingRecord:
    """Read an Arbin ``.res`` file into a :class:`CyclingRecord` (see the module docstring).

    Raises
    ------
    LabkitError
        When ``mdb-export`` is not installed.
    FormatError
        When the database is damaged or is not an Arbin results file, or mdbtools has not
        finished within the time limit (5 s + 0.5 s per MB of the file).
    """
    limit = TimeLimit(path)  # shared by every mdbtools call of this read
    tables = _table_names(path, limit)
    if "Channel_Normal_Table" not in tables:
        raise FormatError(
            "an Access database but not an Arbin results file: expected a "
            f"Channel_Normal_Table, found tables {sorted(tables)}", file=path, position="byte 0")
    normal = _export(path, "Channel_Normal_Table", limit)
    notes: list[str] = [
        "DateTime is the tester's local time without a zone; unix_time_second reads it as UTC"]
    keys = [key for key in ("Test_ID", "Data_Point") if key in normal]
    order = normal.sort_values(keys, kind="stable").index if keys else normal.index
    if not order.equals(normal.index):
        normal = normal.loc[order].reset_index(drop=True)
        notes.append("the database stores rows out of Data_Point order; sorted by "
                     "(Test_ID, Data_Point)")
    data = _channel_columns(normal, notes)
    if "Auxiliary_Table" in tables:
        data = _join_aux(path, data, normal, tables, notes, limit)
    glob = (_export(path, "Global_Table", limit) if "Global_Table" in tables
            else pd.DataFrame())
    version = (_export(path, "Version_Table", limit) if "Version_Table" in tables
               else pd.DataFrame())
    if "arbin_test_id" in data and data["arbin_test_id"].nunique() > 1:
        notes.append(f"{data['arbin_test_id'].nunique()} tests (Test_ID) in one file: all rows "
                     "kept, test after test; arbin_test_id tells them apart and test time "
                     "restarts per test")
    elif "arbin_test_id" in data:
        data = data.drop(columns="arbin_test_id")
    return CyclingRecord(data, _metadata(glob, version, tables, notes))


def _tool() -> str:
    tool = shutil.which("mdb-export")
    if tool is None:
        raise LabkitError(_INSTALL_HINT)
    return tool


def _table_names(path: Path, limit: TimeLimit) -> set[str]:
    tool = shutil.which("mdb-tables") or _tool().replace("mdb-export", "mdb-tables")
    with LimitedProcess([tool, "-1", str(path)], limit, "the table catalog") as process:
        listing = process.stdout.read()
        returncode, stderr = process.finish()
    names = {line.strip() for line in listing.decode("latin-1").splitlines() if line.strip()}
    if returncode != 0 or not names:
        raise FormatError(_damage(stderr, path, "the table catalog (MSysObjects)"),
                          file=path, position=_damage_position(stderr, path))
    return names


def _export(path: Path, table: str, limit: TimeLimit) -> pd.DataFrame:
    """One table as a DataFrame, streamed from ``mdb-export`` into pandas' C parser."""
    command = [_tool(), "-T", "%Y-%m-%dT%H:%M:%S", "-b", "strip", str(path), table]
    with LimitedProcess(command, limit, f"table {table}") as process:
        try:
            frame = pd.read_csv(process.stdout, engine="c", low_memory=False)
        except pd.errors.EmptyDataError:
            frame = pd.DataFrame()
        except pd.errors.ParserError as exc:
            process.finish()  # output cut short by the time limit: say that instead
            line = re.search(r"line (\d+)", str(exc))
            row = f" row {int(line.group(1)) - 1}" if line else ""
            raise FormatError(f"table {table} is damaged: mdb-export wrote rows pandas cannot "
                              f"parse ({str(exc).strip()})", file=path,
                              position=f"table {table}{row}") from exc
        returncode, stderr = process.finish()
    if returncode != 0 or re.search(rb"beyond EOF|Unable to read|not a valid|failed", stderr):
        raise FormatError(_damage(stderr, path, f"table {table}"), file=path,
                          position=_damage_position(stderr, path))
    return frame


def _damage(stderr: bytes, path: Path, what: str) -> str:
    detail = " / ".join(line.strip() for line in stderr.decode("latin-1").splitlines()[:3])
    return (f"damaged or truncated Access database ({path.stat().st_size} bytes): mdbtools could "
            f"not read {what}: {detail or 'no detail'}")


def _damage_position(stderr: bytes, path: Path) -> str:
    beyond = re.search(rb"offset (\d+) is beyond EOF", stderr)
    if beyond:
        return f"byte {path.stat().st_size} (the database refers to byte {int(beyond.group(1))})"
    page = re.search(rb"[Pp]age (\d+)", stderr)
    if page:
        return f"byte {int(page.group(1)) * 4096} (JET4 page {int(page.group(1))})"
    return "byte 0"


def _channel_columns(normal: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Channel_Normal_Table in labkit columns (Arbin's units are already SI)."""
    columns: dict[str, np.ndarray] = {}
    for header in normal.columns:
        values = normal[header]
        if header == "DateTime":
            if pd.api.types.is_numeric_dtype(values.dtype):
                columns["unix_time_second"] = ole_days_to_unix(values.to_numpy())
            else:
                stamps = pd.to_datetime(values, format="%Y-%m-%dT%H:%M:%S", errors="coerce")
                columns["unix_time_second"] = (
                    (stamps - pd.Timestamp("1970-01-01")).dt.total_seconds().to_numpy())
            continue
        name, factor = labkit_column(header)
        array = values.to_numpy()
        if pd.api.types.is_numeric_dtype(values.dtype) and factor != 1.0:
            array = array * factor
        columns[name] = array
    frame = pd.DataFrame(columns)
    for integer in ("record_index", "step_index", "cycle_count"):
        if integer in frame and frame[integer].notna().all():
            frame[integer] = frame[integer].astype(np.int64)
    return frame


def _join_aux(path: Path, data: pd.DataFrame, normal: pd.DataFrame, tables: set[str],
              notes: list[str], limit: TimeLimit) -> pd.DataFrame:
    """Pivot Auxiliary_Table (one row per aux reading) onto the data points."""
    aux = _export(path, "Auxiliary_Table", limit)
    if aux.empty:
        return data
    units = _aux_units(path, tables, limit)
    value_columns = [c for c in ("X", "dX_dt") if c in aux]
    wide = aux.pivot_table(index=["Test_ID", "Data_Point"],
                           columns=["Data_Type", "Auxiliary_Index"],
                           values=value_columns, aggfunc="first")
    temperatures = sorted(index for (value, kind, index) in wide.columns
                          if value == "X" and _aux_kind(kind, index, units) == "temperature_celsius")
    names = {}
    for value, kind, index in wide.columns:
        quantity = _aux_kind(kind, index, units)
        if value == "X":
            primary = quantity == "temperature_celsius" and temperatures and index == temperatures[0]
            names[(value, kind, index)] = ("temperature_celsius" if primary
                                           else f"arbin_aux_{index}_{quantity}")
        else:
            rate = _AUX_RATE_NAMES.get(quantity, f"d{quantity}_dt")
            names[(value, kind, index)] = f"arbin_aux_{index}_{rate}"
    wide.columns = [names[column] for column in wide.columns]
    keys = pd.MultiIndex.from_arrays([normal["Test_ID"], normal["Data_Point"]])
    joined = wide.reindex(keys)
    for column in joined.columns:
        data[column] = joined[column].to_numpy()
    if temperatures:
        notes.append(f"temperature_celsius is aux temperature channel {temperatures[0]}"
                     + (f"; {len(temperatures) - 1} further temperature channel(s) as "
                        "arbin_aux_<index>_temperature_celsius" if len(temperatures) > 1 else ""))
    return data


def _aux_units(path: Path, tables: set[str], limit: TimeLimit) -> dict[tuple[int, int], str]:
    if "Aux_Global_Data_Table" not in tables:
        return {}
    table = _export(path, "Aux_Global_Data_Table", limit)
    if table.empty or "Unit" not in table:
        return {}
    return {(int(kind), int(index)): str(unit).strip()
            for kind, index, unit in zip(table["Data_Type"], table["Auxiliary_Index"],
                                         table["Unit"], strict=True)}


def _aux_kind(kind: int, index: int, units: dict[tuple[int, int], str]) -> str:
    unit = units.get((int(kind), int(index)), "")
    if unit.upper() == "C":
        return "temperature_celsius"
    if unit.upper() == "V":
        return "voltage_volt"
    return _AUX_KINDS.get(int(kind), f"type{int(kind)}")


def _metadata(glob: pd.DataFrame, version: pd.DataFrame, tables: set[str],
              notes: list[str]) -> Metadata:
    tests = [{key: _plain(value) for key, value in row.items()}
             for row in glob.to_dict(orient="records")]
    first = tests[0] if tests else {}
    start = None
    if isinstance(first.get("Start_DateTime"), float):
        start = pd.Timestamp(round(float(ole_days_to_unix(first["Start_DateTime"]))),
                             unit="s").isoformat()
    elif first.get("Start_DateTime"):
        start = str(first["Start_DateTime"])
    channels = sorted({str(test.get("Channel_Index")) for test in tests
                       if test.get("Channel_Index") is not None})
    software = first.get("Software_Version")
    extra = {
        "tests": tests,
        "tables": sorted(tables),
        "results_file_version": (str(version.iloc[0, 0]) if not version.empty else None),
    }
    return Metadata(
        technique=(),
        start_time=start,
        time_zone=LOCAL,
        instrument=f"Arbin {software}" if software else "Arbin",
        channel=",".join(channels) or None,
        sample=Sample(name=first.get("Test_Name")),
        notes=tuple(notes),
        extra=extra,
    )


def _plain(value: object) -> object:
    """A JSON-friendly scalar (NaN -> None, numpy -> Python)."""
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value
