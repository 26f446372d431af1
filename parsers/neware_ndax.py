"""Neware BTS 8/9 ``.ndax`` files: a zip of ``.ndc`` record files and XML descriptions.

Layout (learned from fastnda, EmpaEConversion/fastnda, BSD-3-Clause, and NewareNDA,
d-cogswell/NewareNDA, BSD-3-Clause; the code is labkit's own):

* Members: ``data.ndc`` (records), ``data_runInfo.ndc`` (times, capacities),
  ``data_step.ndc`` (one row per executed step), auxiliary channels in
  ``data_AUX_<a>_<b>_<c>.ndc`` or ``data_<n>.ndc``, and ``TestInfo.xml``
  (GB2312: start time, channel, ranges, one ``AuxN`` element per aux file, in the
  order of the numbers in the aux file names), ``Step.xml`` (the schedule),
  ``VersionInfo.xml`` (server version). A resumed test adds ``TestInfo0.xml``,
  ``Step0.xml``...
* Every ``.ndc``: byte 0 = file type (1 data, 3/5 aux, 7 step, 18 runInfo),
  byte 2 = ndc version.
* Versions 1-4: 512-byte pages after a 512-byte header, records from byte 5 of each
  page, empty slots have record number 0; full records (cycle, step, times,
  capacities, wall-clock fields) in ``data.ndc``.
* Versions 5-17: 4096-byte pages after a 4096-byte header; bytes 4.. of a page hold
  a bitmask of the valid slots, slots start at byte 132. Version 5 holds full
  records in ``data.ndc``; version 6 full records with a step number into
  ``data_step.ndc``; version 7 the fields its header lists, and version 15 (BTS 9) a
  fixed prefix plus the quantities its header lists (:mod:`._ndc_described`).
  Versions 8-14, 16 and 17 keep only voltage and current (float32) in ``data.ndc``;
  ``data_runInfo.ndc`` holds step time, capacities, energies, unix time and a
  sampling interval for some records (labkit fills the records in between as BTSDA
  does: time advanced by the interval, capacity and energy integrated from current
  and voltage); ``data_step.ndc`` maps the step count to cycle, step index and step
  type. The slot number (from 1) is the record number.
* Versions 2, 5, 14, 16 and 17 are checked against public files' BTSDA exports; the
  others are read as fastnda 1.3 reads them, and their records say so.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from labkit.data import CyclingRecord, Metadata
from labkit.errors import FormatError, binary_position
from labkit.parsers import _ndc_described as described
from labkit.parsers import _neware as nw
from labkit.registry import file_bytes, register
from labkit.timezones import LOCAL, UTC
from labkit.ziparchive import open_zip, read_member

_PAGE = 4096
_WANTED = re.compile(r"[^/]*\.ndc|(TestInfo|Step|VersionInfo)\d*\.xml")
_THREADED_BYTES = 256 * 1024
_SLOTS_START = 132
_OLD_PAGE = 512
_OLD_SLOTS_START = 5

# Full records: ndc version 1-4 (512-byte pages) and 5 (4096-byte pages).
_CALENDAR = [("year", "<u2"), ("month", "u1"), ("day", "u1"), ("hour", "u1"), ("minute", "u1"),
             ("second", "u1"), ("range", "<i4")]
_FULL_RECORD = np.dtype([
    ("index", "<u4"), ("cycle", "<u4"), ("step_index", "u1"), ("step_type", "u1"),
    ("_pad", "V5"), ("step_time_ms", "<u8"), ("voltage", "<i4"), ("current", "<i4"),
    ("_pad2", "V4"), ("charge_capacity", "<i8"), ("discharge_capacity", "<i8"),
    ("charge_energy", "<i8"), ("discharge_energy", "<i8"), *_CALENDAR, ("_pad3", "V8"),
])
_V1_RECORD = np.dtype([
    ("_lead", "V8"), ("index", "<u4"), ("cycle", "<u4"), ("step_index", "u1"),
    ("step_type", "u1"), ("_pad", "V2"), ("step_time_ms", "<u8"), ("voltage", "<i4"),
    ("current", "<i4"), ("_pad2", "V4"), ("charge_capacity", "<i8"),
    ("discharge_capacity", "<i8"), ("charge_energy", "<i8"), ("discharge_energy", "<i8"),
    *_CALENDAR,
])
_V2_RECORD = np.dtype([("_lead", "V8"), *_FULL_RECORD.descr])
_V5_RECORD = np.dtype([("_lead", "V1"), *_FULL_RECORD.descr])

# Version 6: one record per sample with its step count (data_step.ndc gives the step).
_V6_RECORD = np.dtype([
    ("step_time_ms", "<u4"), ("_pad", "V1"), ("voltage", "<f4"), ("current", "<f4"),
    ("charge_capacity", "<f4"), ("discharge_capacity", "<f4"), ("charge_energy", "<f4"),
    ("discharge_energy", "<f4"), ("_pad2", "V1"), ("unix_time", "<u4"), ("step_number", "<u4"),
])

_VI_RECORD = np.dtype([("voltage", "<f4"), ("current", "<f4")])


def _runinfo(gap: int, *tail: tuple[str, str]) -> np.dtype:
    """A runInfo record: step time (ms), per-step capacities/energies, ``gap`` unknown bytes,
    the sampling interval (ms), unix time (s), step number and record number, then ``tail``."""
    return np.dtype([
        ("step_time_ms", "<u4"), ("_pad", "V1"), ("charge_capacity", "<f4"),
        ("discharge_capacity", "<f4"), ("charge_energy", "<f4"), ("discharge_energy", "<f4"),
        ("_pad2", f"V{gap}"), ("dt_ms", "<i4"), ("unix_time", "<u4"), ("step_number", "<u4"),
        ("index", "<u4"), *tail])


_RUNINFO_V8 = _runinfo(5)
_RUNINFO_V9 = _runinfo(8)
_RUNINFO_V11 = _runinfo(8, ("unix_ms", "<u2"))
_RUNINFO_V13 = _runinfo(8, ("unix_ms", "<u2"), ("_pad3", "V8"))
_RUNINFO_V14 = _runinfo(8, ("unix_ms", "<i2"), ("_pad3", "V8"))
_RUNINFO_V16 = _runinfo(8, ("unix_ms", "<u2"), ("_pad3", "V53"))

_STEP_V14 = np.dtype([("cycle", "<u4"), ("step_index", "<u4"), ("_pad", "V16"),
                      ("step_type", "u1"), ("_pad2", "V12")])
_STEP_V16 = np.dtype([("cycle", "<u4"), ("step_index", "<u4"), ("_pad", "V16"),
                      ("step_type", "u1"), ("_pad2", "V8"), ("index", "<u4"), ("_pad3", "V63")])

_AUX_FLOAT = np.dtype([("value", "<f4")])
_AUX_V16 = np.dtype([("tag", "u1"), ("voltage", "<f4"), ("temperature", "<i2")])
#: Version 9/11/13 aux files whose first slot does not open with 0x65: a record number, a
#: channel byte and a temperature (0.1 °C).
_AUX_INDEXED = np.dtype([("_lead", "V1"), ("index", "<u4"), ("_channel", "V1"), ("_pad", "V29"),
                         ("temperature", "<i2"), ("_pad2", "V51")])
_AUX_OLD = np.dtype([("index", "<u4"), ("_pad", "V19"), ("voltage", "<i4"), ("_pad2", "V6"),
                     ("temperature", "<i2"), ("setpoint", "<i2"), ("_pad3", "V49")])
_AUX_V2 = np.dtype([("_lead", "V8"), *_AUX_OLD.descr])
_AUX_V5 = np.dtype([("_lead", "V1"), *_AUX_OLD.descr])

_AH, _MAS = 1.0, 1 / 3.6e6  # capacity units of runInfo records, in Ah
# Per ndc version: (runInfo dtype, capacity unit in Ah per stored unit, data.ndc
# voltage/current factors to V/A, step dtype)
_SPLIT_VERSIONS: dict[int, tuple[np.dtype, float, float, float, np.dtype]] = {
    8: (_RUNINFO_V8, _AH, 1.0, 1.0, _STEP_V14),
    9: (_RUNINFO_V9, _MAS, 1e-4, 1e-3, _STEP_V14),
    11: (_RUNINFO_V11, _MAS, 1e-4, 1e-3, _STEP_V14),
    12: (_RUNINFO_V11, _AH, 1.0, 1.0, _STEP_V14),
    13: (_RUNINFO_V13, _MAS, 1e-4, 1e-3, _STEP_V14),
    14: (_RUNINFO_V14, _AH, 1.0, 1.0, _STEP_V14),
    16: (_RUNINFO_V16, _MAS, 1e-4, 1e-3, _STEP_V16),
    17: (_RUNINFO_V16, _AH, 1.0, 1.0, _STEP_V16),
}
_FULL_VERSIONS = {1: _V1_RECORD, 2: _V2_RECORD, 3: _V1_RECORD, 4: _V2_RECORD, 5: _V5_RECORD}
#: ndc versions in 512-byte pages (records with number 0 are empty slots); the others are
#: in 4096-byte pages with a bitmask of the valid slots.
_OLD_PAGE_VERSIONS = frozenset({1, 2, 3, 4})
#: ndc versions whose layout labkit has checked against a public file's BTSDA export.
_VERIFIED_VERSIONS = frozenset({2, 5, 14, 16, 17})
#: Per-step capacity/energy fields of the full records -> frame row they fill.
_CAPACITY_FIELDS = (
    ("charge_capacity", "charging_capacity_ampere_hour"),
    ("discharge_capacity", "discharging_capacity_ampere_hour"),
    ("charge_energy", "charging_energy_watt_hour"),
    ("discharge_energy", "discharging_energy_watt_hour"),
)

#: Aux ``ChlType`` codes of TestInfo.xml -> BTSDA's letter (V1, T1...). 1122 is the tester's
#: CPU temperature: BTSDA exports from the same BTS 8.5 setup label that channel "CPU".
_AUX_TYPES = {102: "V", 103: "T", 105: "V", 106: "T", 1122: "CPU"}


def _sniff(head: bytes, path: Path) -> bool:
    if not head.startswith(b"PK\x03\x04"):
        return False
    return b"data.ndc" in head or path.suffix.lower() == ".ndax"


@register("neware-ndax", vendor="Neware",
          description="Neware BTS 8/9 .ndax (ndc v1-9, 11-17)",
          extensions=(".ndax",), kind="cycling", sniff=_sniff, priority=1)
def read_neware_ndax(path: Path) -> CyclingRecord:
    """Read a Neware ``.ndax`` file into a cycling record."""
    with open_zip(file_bytes(path), path) as archive:
        wanted = [info for info in archive.infolist() if _WANTED.fullmatch(info.filename)
                  and info.filename not in ("data_log.ndc", "data_es.ndc")]

        def inflate(info: zipfile.ZipInfo) -> bytes:
            return read_member(archive, info, path)

        if sum(info.compress_size for info in wanted) < _THREADED_BYTES:
            contents = [inflate(info) for info in wanted]
        else:  # zlib releases the GIL: inflate the large members side by side
            with ThreadPoolExecutor(max_workers=2) as pool:
                contents = list(pool.map(inflate, wanted))
    return _parse({info.filename: content for info, content in zip(wanted, contents,
                                                                    strict=True)}, path)


class _Member:
    """One ``.ndc`` member: its bytes and what errors should call it."""

    def __init__(self, name: str, buffer: bytes, path: Path) -> None:
        self.name, self.buffer, self.path = name, buffer, path
        if len(buffer) < 3:
            raise self.error("file shorter than its 3-byte type/version header", 0)
        self.file_type, self.version = buffer[0], buffer[2]

    def error(self, message: str, offset: int) -> FormatError:
        return FormatError(f"{self.name}: {message}", file=self.path,
                           position=f"{self.name} {binary_position(offset)}")

    def slots(self, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
        """Valid records and their slot numbers (from 1), as the page bitmasks say."""
        if self.version in _OLD_PAGE_VERSIONS:
            page, start, header = _OLD_PAGE, _OLD_SLOTS_START, _OLD_PAGE
        else:
            page, start, header = _PAGE, _SLOTS_START, _PAGE
        if len(self.buffer) < header or (len(self.buffer) - header) % page:
            raise self.error(f"expected a {header}-byte header and whole {page}-byte pages, "
                             f"found {len(self.buffer)} bytes", min(len(self.buffer), header))
        pages = np.frombuffer(self.buffer, np.uint8, offset=header).reshape(-1, page)
        per_page = (page - start - 1) // dtype.itemsize
        body = np.ascontiguousarray(pages[:, start:start + per_page * dtype.itemsize])
        records = body.view(dtype).reshape(-1)
        if self.version in _OLD_PAGE_VERSIONS:
            valid = records["index"] != 0
        else:
            mask = np.unpackbits(pages[:, 4:4 + (per_page + 7) // 8], axis=1, bitorder="little")
            valid = mask[:, :per_page].reshape(-1).astype(bool)
        slot = np.flatnonzero(valid) + 1
        return nw.gather(records, valid), slot


def _parse(members: dict[str, bytes], path: Path) -> CyclingRecord:
    if "data.ndc" not in members:
        raise FormatError(f"no data.ndc inside the .ndax (members: {sorted(members)})",
                          file=path, position=binary_position(0))
    data = _Member("data.ndc", members["data.ndc"], path)
    if data.file_type != 1:
        raise data.error(f"expected file type 1 (records) at byte 0, found {data.file_type}", 0)
    notes: list[str] = [nw.CAPACITY_NOTE]
    info = _xml_info(members, notes)
    own: dict[str, np.ndarray] = {}  # columns of data.ndc beyond the frame's (ndc 7)
    if data.version in _FULL_VERSIONS:
        columns, step_type = _full_records(data)
        notes.insert(0, nw.RAW_CYCLE_NOTE)
    elif data.version in _SPLIT_VERSIONS:
        columns, step_type = _split_records(data, members, path)
        notes.insert(0, nw.RAW_CYCLE_NOTE.replace("the raw records", "data_step.ndc"))
    elif data.version == 6:
        columns, step_type = _stepped_records(data, members, path)
        notes.insert(0, nw.RAW_CYCLE_NOTE.replace("the raw records", "data_step.ndc"))
    elif data.version == 7:
        columns, step_type, own = _ndc7_records(data)
        notes.insert(0, nw.RAW_CYCLE_NOTE if "cycle" in columns else nw.DERIVED_CYCLE_NOTE)
    elif data.version == 15:
        columns, step_type = _ndc15_records(data)
        notes[:0] = [nw.DERIVED_CYCLE_NOTE, _NDC15_NOTE]
    else:
        raise data.error(f"ndc version {data.version} is not supported (labkit reads 1-9, "
                         "11-17)", 2)
    if data.version not in _VERIFIED_VERSIONS:
        notes.append(f"ndc version {data.version}: labkit has checked no file of this layout "
                     "against a BTSDA export (none is public); it reads it as fastnda 1.3 does")
    extra = _aux_columns(members, path, columns["record_index"], info["aux"], notes, own)
    frame = nw.cycling_frame(columns, step_type=step_type, extra=extra)
    # ndc 2/5 records carry wall-clock fields (local, no zone); 14/16/17 a unix time: the
    # header's local start is a whole zone offset (+1 h, +2 h in summer...) after it on the
    # corpus files, and their BTSDA twins show it shifted by the exporter's offset.
    wall_clock = data.version in _FULL_VERSIONS or data.version == 7
    if not wall_clock and info["start_time"]:
        notes.append(nw.UNIX_TIME_NOTE)
    meta = Metadata(vendor="Neware", technique=("cycling",), start_time=info["start_time"],
                    instrument=info["instrument"], channel=info["channel"], notes=tuple(notes),
                    extra={**info["extra"], "ndc_version": int(data.version)},
                    time_zone=LOCAL if wall_clock else UTC)
    return CyclingRecord(frame, meta)


def _no_records(member: _Member) -> FormatError:
    return member.error("holds no records (every slot is empty): the test recorded no data",
                        _OLD_PAGE if member.version in _OLD_PAGE_VERSIONS else _PAGE)


def _full_records(data: _Member) -> tuple[nw.FrameColumns, np.ndarray]:
    records, _ = data.slots(_FULL_VERSIONS[data.version])
    if not len(records):
        raise _no_records(data)
    out = nw.frame_columns(len(records))
    # the test-time and step-capacity rows are filled later: until then they hold the
    # count -> A and count -> Ah factors
    scale = np.multiply(nw.range_multiplier(records["range"]), 1e-3, out=out["test_time_second"])
    per_hour = np.divide(scale, 3600, out=out["step_capacity_ampere_hour"])
    unix = _calendar_seconds(records)
    np.multiply(records["step_time_ms"], 1e-3, out=out["step_time_second"])
    np.copyto(out["unix_time_second"], unix, casting="unsafe")
    np.multiply(records["voltage"], 1e-4, out=out["voltage_volt"])
    np.multiply(records["current"], scale, out=out["current_ampere"])
    np.add(records["cycle"], 1, out=out["cycle_count"], dtype=np.int64)
    np.copyto(out["step_index"], records["step_index"])
    nw.count_changes(records["step_index"], out=out["step_count"])
    np.copyto(out["record_index"], records["index"])
    for field, name in _CAPACITY_FIELDS:
        np.multiply(records[field], per_hour, out=out[name])
    return out, records["step_type"]


def _steps(members: dict[str, bytes], path: Path, version: int, dtype: np.dtype) -> tuple[
        _Member, np.ndarray]:
    """data_step.ndc and its step records (one per executed step)."""
    if "data_step.ndc" not in members:
        raise FormatError(f"ndc version {version} keeps its steps in data_step.ndc, which the "
                          ".ndax lacks", file=path, position=binary_position(0))
    member = _Member("data_step.ndc", members["data_step.ndc"], path)
    return member, member.slots(dtype)[0]


def _stepped_records(data: _Member, members: dict[str, bytes],
                     path: Path) -> tuple[nw.FrameColumns, np.ndarray]:
    """Version 6: every record holds its times, capacities (Ah, Wh) and step number;
    data_step.ndc gives each step's cycle, index and type."""
    records, slot = data.slots(_V6_RECORD)
    if not len(records):
        raise _no_records(data)
    steps_member, steps = _steps(members, path, data.version, _STEP_V14)
    step_number = records["step_number"].astype(np.int64)
    if step_number.min() < 1 or step_number.max() > len(steps):
        raise steps_member.error(f"expected step records 1-{int(step_number.max())}, found "
                                 f"{len(steps)}", _PAGE)
    out = nw.frame_columns(len(records))
    row = step_number - 1
    np.multiply(records["step_time_ms"], 1e-3, out=out["step_time_second"])
    np.copyto(out["voltage_volt"], records["voltage"])
    np.copyto(out["current_ampere"], records["current"])
    np.copyto(out["unix_time_second"], records["unix_time"])
    np.take(steps["cycle"].astype(np.int64) + 1, row, out=out["cycle_count"])
    np.take(steps["step_index"].astype(np.int64), row, out=out["step_index"])
    np.copyto(out["step_count"], step_number)
    np.copyto(out["record_index"], slot)
    for field, name in _CAPACITY_FIELDS:
        np.abs(records[field], out=out[name], dtype=np.float64)
    return out, np.take(steps["step_type"], row)


def _ndc7_records(data: _Member) -> tuple[nw.FrameColumns, np.ndarray, dict[str, np.ndarray]]:
    """Version 7: the fields data.ndc's header lists (see :mod:`._ndc_described`); current
    in mA, capacities in mAs as fastnda 1.3 reads them. Returns the temperature (when
    recorded) as an own column."""
    records, slot = data.slots(described.ndc7_record(data.buffer, data.error))
    names = records.dtype.names
    missing = [f for f in ("step_index", "step_type", "step_time_ms", "voltage", "current")
               if f not in names]
    if missing:
        raise data.error(f"ndc 7 header lists no {missing} field", 13)
    if not len(records):
        raise _no_records(data)
    out = nw.frame_columns(len(records))
    step_type = records["step_type"]
    np.multiply(records["step_time_ms"], 1e-3, out=out["step_time_second"])
    np.multiply(records["voltage"], 1e-4, out=out["voltage_volt"])
    np.multiply(records["current"], 1e-3, out=out["current_ampere"])
    if "cycle" in names:
        np.add(records["cycle"], 1, out=out["cycle_count"], dtype=np.int64)
    else:
        nw.derive_cycle_count(step_type, out=out["cycle_count"])
    np.copyto(out["step_index"], records["step_index"])
    nw.count_changes(records["step_index"], out=out["step_count"])
    np.copyto(out["record_index"], records["index"] if "index" in names else slot)
    if "year" in names:
        unix = _calendar_seconds(records)
        if "millisecond" in names:
            unix = unix + records["millisecond"] * 1e-3
        np.copyto(out["unix_time_second"], unix, casting="unsafe")
    else:
        del out["unix_time_second"]
    for unit, fields in (("capacity_ampere_hour", ("charge_capacity", "discharge_capacity")),
                         ("energy_watt_hour", ("charge_energy", "discharge_energy"))):
        if all(field in names for field in fields):
            for field, side in zip(fields, ("charging", "discharging"), strict=True):
                np.divide(records[field], 3.6e6, out=out[f"{side}_{unit}"])
        else:
            for side in ("charging", "discharging", "step"):
                del out[f"{side}_{unit}"]
    own = {"temperature_celsius": records["temperature"] * 0.1} if "temperature" in names else {}
    return out, step_type, own


_NDC15_NOTE = ("ndc 15 (BTS 9) records carry one signed capacity and energy per record and "
               "the test time; step_time_second is the record's step time where it lists one, "
               "else the test time since the last record of the previous step")


def _ndc15_records(data: _Member) -> tuple[nw.FrameColumns, np.ndarray]:
    """Version 15 (BTS 9): the fixed prefix and the quantities data.ndc's header lists."""
    records, _ = data.slots(described.ndc15_record(data.buffer, data.error))
    if not len(records):
        raise _no_records(data)
    names = records.dtype.names
    out = nw.frame_columns(len(records))
    codes = np.zeros(256, np.uint8)
    for raw, code in described.NDC15_STEP_TYPES.items():
        codes[raw] = code
    raw_type = records["step_type"]
    step_type = codes[raw_type]
    test_time = np.multiply(records["test_time_ns"], 1e-9, out=out["test_time_second"])
    test_time += records["test_time_s"]
    np.copyto(out["voltage_volt"], records["voltage"])
    np.multiply(records["current"], 1e-3, out=out["current_ampere"])
    nw.derive_cycle_count(step_type, out=out["cycle_count"])
    np.copyto(out["step_index"], records["step_index"])
    step_count = nw.count_changes(records["step_index"], out=out["step_count"])
    np.copyto(out["record_index"], records["index"])
    if "step_time_s" in names:
        np.multiply(records["step_time_ns"], 1e-9, out=out["step_time_second"])
        out["step_time_second"] += records["step_time_s"]
    else:
        starts, _ = nw.step_bounds(step_count)
        previous_end = np.r_[0.0, test_time[starts[1:] - 1]]
        np.subtract(test_time, np.repeat(previous_end, np.diff(np.r_[starts, len(records)])),
                    out=out["step_time_second"])
    if "unix_time_s" in names:
        np.multiply(records["unix_time_ns"], 1e-9, out=out["unix_time_second"])
        out["unix_time_second"] += records["unix_time_s"]
    else:
        del out["unix_time_second"]
    direction = np.zeros(256)
    for raw, sign in described.NDC15_DIRECTION.items():
        direction[raw] = sign
    sign = direction[raw_type]
    keep_sign = raw_type == described.NDC15_SIM
    for field, unit in (("capacity", "capacity_ampere_hour"), ("energy", "energy_watt_hour")):
        parts = (f"charge_{field}", f"discharge_{field}")
        stored = records[parts[0]] + records[parts[1]] if all(p in names for p in parts) else \
            records[field]
        value = np.where(keep_sign, stored, np.abs(stored)) * sign / 3.6e6  # mAs -> Ah
        np.maximum(value, 0.0, out=out[f"charging_{unit}"])
        np.negative(np.minimum(value, 0.0), out=out[f"discharging_{unit}"])
    return out, step_type


def _calendar_seconds(records: np.ndarray) -> np.ndarray:
    """Seconds since 1970 of the records' year/month/day/hour/minute/second fields."""
    months = (records["year"].astype(np.int64) - 1970) * 12 + records["month"] - 1
    days = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) + records["day"] - 1
    return (days * 86400 + records["hour"].astype(np.int64) * 3600
            + records["minute"].astype(np.int64) * 60 + records["second"])


def _split_records(data: _Member, members: dict[str, bytes],
                   path: Path) -> tuple[nw.FrameColumns, np.ndarray]:
    runinfo_dtype, capacity_unit, volt_unit, amp_unit, step_dtype = _SPLIT_VERSIONS[data.version]
    values, index = data.slots(_VI_RECORD)
    if not len(values):
        raise _no_records(data)
    if "data_runInfo.ndc" not in members:
        raise FormatError(f"ndc version {data.version} keeps its times in data_runInfo.ndc, "
                          "which the .ndax lacks", file=path, position=binary_position(0))
    run_member = _Member("data_runInfo.ndc", members["data_runInfo.ndc"], path)
    run, _ = run_member.slots(runinfo_dtype)
    run_index = run["index"]
    if len(run) > 1 and not (run_index[1:] > run_index[:-1]).all():
        run_index, first = np.unique(run_index, return_index=True)
        run = nw.gather(run, first)
    # Steps are counted over every runInfo record; one for a record number data.ndc
    # lacks has nothing to attach to.
    step_of_run = nw.count_changes(run["step_number"])
    starts_at = np.searchsorted(index, run_index, side="left")
    present = index[np.minimum(starts_at, len(index) - 1)] == run_index
    if not present.all():
        run, run_index = nw.gather(run, present), run_index[present]
        starts_at, step_of_run = starts_at[present], step_of_run[present]
    if not len(run) or run_index[0] > index[0]:
        raise run_member.error(f"expected a runInfo record for the first data record "
                               f"({int(index[0])}), found none", _PAGE)
    # Every n-row intermediate is computed in place or into its output row: each fresh
    # array costs page faults (on the 253k-row corpus file: 58 ms in place, 66 ms without).
    n = len(index)
    out = nw.frame_columns(n)
    voltage = np.multiply(values["voltage"], volt_unit, out=out["voltage_volt"])
    current = np.multiply(values["current"], amp_unit, out=out["current_ampere"])
    # Each data record takes the values of the last runInfo record at or before it
    # (both record numbers are sorted: count the runInfo records at or below each).
    at = np.bincount(starts_at, minlength=n + 1)[:n]
    np.cumsum(at, out=at)
    at -= 1
    exact = np.equal(np.take(run_index, at), index)
    dt = np.take(run["dt_ms"] * 1e-3, at)
    dt[exact] = 0.0
    last_anchor = np.arange(n)
    last_anchor *= exact
    np.maximum.accumulate(last_anchor, out=last_anchor)
    scratch = np.empty(n)
    step_number = np.take(step_of_run, at)
    steps_member, steps = _steps(members, path, data.version, step_dtype)
    if step_of_run[-1] > len(steps):
        raise steps_member.error(f"expected at least {int(step_of_run[-1])} step records, found "
                                 f"{len(steps)}", _PAGE)
    np.copyto(out["step_count"], step_number)
    row = np.subtract(step_number, 1, out=step_number)
    np.take(steps["cycle"].astype(np.int64) + 1, row, out=out["cycle_count"])
    np.take(steps["step_index"].astype(np.int64), row, out=out["step_index"])
    np.copyto(out["record_index"], index)
    elapsed = _since_anchor(dt, last_anchor, scratch, out=out["test_time_second"])
    np.add(np.take(run["step_time_ms"] * 1e-3, at), elapsed, out=out["step_time_second"])
    unix = run["unix_time"] + run["unix_ms"] * 1e-3 if "unix_ms" in run.dtype.names else \
        run["unix_time"].astype(np.float64)
    np.add(np.take(unix, at), elapsed,
           out=out["unix_time_second"])
    for kind, weights in (("capacity_ampere_hour", (current,)),
                          ("energy_watt_hour", (current, voltage))):
        increment = np.multiply(dt, weights[0], out=out[f"step_{kind}"])
        for weight in weights[1:]:
            increment *= weight
        increment /= 3600
        _since_anchor(increment, last_anchor, scratch, out=increment)
        field = kind.split("_", 1)[0]
        charging, discharging = out[f"charging_{kind}"], out[f"discharging_{kind}"]
        np.take(np.abs(run[f"charge_{field}"] * capacity_unit, dtype=np.float64), at, out=charging)
        np.take(np.abs(run[f"discharge_{field}"] * capacity_unit, dtype=np.float64), at,
                out=discharging)
        charging += np.maximum(increment, 0, out=scratch)
        discharging -= np.minimum(increment, 0, out=scratch)
    # the test-time and step-capacity rows served as scratch: cycling_frame fills them
    return out, np.take(steps["step_type"], row)


def _since_anchor(increment: np.ndarray, last_anchor: np.ndarray, scratch: np.ndarray, *,
                  out: np.ndarray) -> np.ndarray:
    """Running sum of ``increment`` since the row ``last_anchor`` (anchors add nothing),
    into ``out`` (may be ``increment``); ``scratch`` is a row of working space."""
    np.cumsum(increment, out=out)
    np.take(out, last_anchor, out=scratch)
    out -= scratch
    return out


def _aux_files(members: dict[str, bytes]) -> list[tuple[str, tuple[int, ...]]]:
    """Aux member names with the numbers in their names, sorted by those numbers.

    ``data_AUX_<a>_<b>_<c>.ndc`` names the channel: ``a`` is TestInfo.xml's
    ``RealChlID`` and ``b`` its ``ChlType`` minus 100 (seen in every corpus file);
    ``data_<n>.ndc`` carries only an order.
    """
    found: list[tuple[tuple[int, ...], str]] = []
    for name in members:
        match = re.fullmatch(r"data_AUX_(\d+)_(\d+)_(\d+)\.ndc", name)
        if match:
            found.append((tuple(int(g) for g in match.groups()), name))
        elif (match := re.fullmatch(r".*_(\d+)\.ndc", name)) and name != "data_runInfo.ndc":
            found.append(((int(match.group(1)),), name))
    return [(name, numbers) for numbers, name in sorted(found)]


def _pair_aux(files: list[tuple[str, tuple[int, ...]]],
              channels: list[dict[str, str]]) -> list[tuple[str, dict[str, str]]] | None:
    """Each aux file with its TestInfo.xml channel: by (RealChlID, ChlType - 100) where the
    file name gives them, else in order; None when they cannot be paired."""
    if len(files) != len(channels):
        return None
    keys = [(int(c.get("RealChlID", -1)), int(c.get("ChlType", -1)) - 100) for c in channels]
    if all(len(numbers) == 3 for _, numbers in files) and len(set(keys)) == len(keys):
        by_key = dict(zip(keys, channels, strict=True))
        pairs = [(name, by_key.get(numbers[:2])) for name, numbers in files]
        if all(channel is not None for _, channel in pairs):
            return pairs  # type: ignore[return-value]
    return [(name, channel) for (name, _), channel in zip(files, channels, strict=True)]


def _aux_columns(members: dict[str, bytes], path: Path, index: np.ndarray,
                 channels: list[dict[str, str]], notes: list[str],
                 own: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The aux channels' columns after ``own`` (data.ndc's own extra columns)."""
    files = _aux_files(members)
    if not files:
        return dict(own)
    pairs = _pair_aux(files, channels)
    if pairs is None:
        names = [name for name, _ in files]
        notes.append(f"auxiliary data {names} not read: TestInfo.xml describes {len(channels)} "
                     f"aux channel(s) for {len(files)} aux file(s), so the channels cannot be "
                     "identified (BTSDA exports no aux columns for such a file either)")
        return dict(own)
    out: dict[str, np.ndarray] = dict(own)
    for name, channel in pairs:
        member = _Member(name, members[name], path)
        kind = int(channel.get("ChlType", "0") or 0)
        number = channel.get("AuxID", "")
        for letter, values, slot in _aux_values(member, kind):
            if len(slot) == len(index) and np.array_equal(slot, index):
                column = values
            else:
                column = np.full(len(index), np.nan)
                position = np.searchsorted(slot, index)
                hit = position < len(slot)
                hit[hit] = slot[position[hit]] == index[hit]
                column[hit] = values[position[hit]]
            out[nw.aux_column_name(letter, number, out)] = column
    return out


def _aux_values(member: _Member, kind: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(BTSDA letter V/T/t or type code, values, record numbers) of one aux file."""
    if member.version in (2, 4, 5):
        records, _ = member.slots(_AUX_V5 if member.version == 5 else _AUX_V2)
        found = [("V", records["voltage"] * 1e-4), ("T", records["temperature"] * 0.1),
                 ("t", records["setpoint"] * 0.1)]
        return [(q, v, records["index"].astype(np.int64)) for q, v in found if v.any()]
    if member.version in (9, 11, 13) and not _opens_with_tag(member):
        records, _ = member.slots(_AUX_INDEXED)
        return [("T", records["temperature"] * 0.1, records["index"].astype(np.int64))]
    if member.version in (9, 11, 13, 16):
        records, slot = member.slots(_AUX_V16)
        found = [("V", records["voltage"] * 1e-4), ("T", records["temperature"] * 0.1)]
        return [(q, v, slot) for q, v in found if v.any()]
    if member.version == 7:
        records, slot = member.slots(described.ndc7_record(member.buffer, member.error))
        slot = records["index"].astype(np.int64) if "index" in records.dtype.names else slot
        found = [(letter, records[field] * scale) for field, letter, scale in
                 (("voltage", "V", 1e-4), ("temperature", "T", 0.1))
                 if field in records.dtype.names]
        return [(q, v, slot) for q, v in found if v.any()]
    if member.version in (6, 8, 12, 14, 17):
        records, slot = member.slots(_AUX_FLOAT)
        letter = _AUX_TYPES.get(kind, f"type{kind}_")
        return [(letter, records["value"].astype(np.float64), slot)]
    raise member.error(f"aux ndc version {member.version} is not supported", 2)


def _opens_with_tag(member: _Member) -> bool:
    """Whether the first slot of an aux file opens with 0x65 (voltage + temperature slots)."""
    return member.buffer[_PAGE + _SLOTS_START:_PAGE + _SLOTS_START + 1] == b"\x65"


def _xml(members: dict[str, bytes], name: str, notes: list[str]) -> ElementTree.Element | None:
    raw = members.get(name)
    if raw is None:
        return None
    encoding = "gb2312" if b'encoding="GB2312"' in raw[:100] else "utf-8"
    text = raw.decode(encoding, errors="replace")
    if "\ufffd" in text:
        notes.append(f"{name} holds bytes that are not valid {encoding.upper()}; they were "
                     "replaced")
    text = re.sub(r"^<\?xml[^>]*\?>", "", text.lstrip("\ufeff"))
    try:
        return ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        notes.append(f"{name} is not well-formed XML ({exc}); its metadata was not read")
        return None


def _xml_info(members: dict[str, bytes], notes: list[str]) -> dict:
    """Start time, channel, instrument, aux channel list and schedule from the XML members."""
    info: dict = {"start_time": None, "instrument": None, "channel": None, "aux": [], "extra": {}}
    extra = info["extra"]
    test = _xml(members, "TestInfo.xml", notes)
    node = test.find("config/TestInfo") if test is not None else None
    if node is not None:
        attrs = node.attrib
        start = attrs.get("StartTime")
        info["start_time"] = start.replace(" ", "T") if start else None
        info["channel"] = "-".join(attrs.get(k, "?") for k in ("DevID", "UnitID", "ChlID"))
        info["aux"] = [dict(child.attrib) for child in node if child.tag.lower().startswith("aux")]
        for key in ("DevType", "DevID", "UnitID", "ChlID", "TestID", "StepName", "StartTime",
                    "EndTime", "Barcode", "Remark", "CurrRange", "VoltRange", "AuxCount"):
            if key in attrs:
                extra[key] = attrs[key]
        ranges = node.find("MULTI_RANGE")
        if ranges is not None:
            extra["current_ranges"] = [v for k, v in ranges.attrib.items() if k != "Count"]
    version = _xml(members, "VersionInfo.xml", notes)
    server = version.find("config/ZwjVersion") if version is not None else None
    if server is not None and server.get("SvrVer"):
        info["instrument"] = server.get("SvrVer")
        extra["client_version"] = server.get("CurrClientVer")
    resumed = sorted(n for n in members if re.fullmatch(r"TestInfo\d+\.xml", n))
    if resumed:
        extra["segments"] = [_segment(members, n, notes) for n in resumed]
        notes.append(f"the test was resumed or modified {len(resumed)} time(s); "
                     "TestInfo.xml/Step.xml describe the last segment, extra['segments'] the "
                     "earlier ones")
    schedule = _schedule(members, "Step.xml", notes)
    if schedule:
        extra["schedule"] = schedule
    if not info["start_time"]:
        info["start_time"] = None
    return info


def _segment(members: dict[str, bytes], name: str, notes: list[str]) -> dict:
    root = _xml(members, name, notes)
    node = root.find("config/TestInfo") if root is not None else None
    attrs = dict(node.attrib) if node is not None else {}
    return {"file": name, "start_time": attrs.get("StartTime"), "step_name": attrs.get("StepName"),
            "schedule": _schedule(members, name.replace("TestInfo", "Step"), notes)}


def _schedule(members: dict[str, bytes], name: str, notes: list[str]) -> list[dict]:
    """The programmed steps of Step.xml: step number and step type name."""
    root = _xml(members, name, notes)
    steps = root.find("config/Step_Info") if root is not None else None
    if steps is None:
        return []
    out = []
    for step in steps:
        code = int(step.get("Step_Type", "0"))
        out.append({"step_index": int(step.get("Step_ID", "0")), "step_type_code": code,
                    "step_type": nw.STEP_TYPE_NAMES.get(code, f"Type {code}")})
    return out

