"""Neware BTS ``.nda`` binary files (BTS 7.x, BTS 9.x), also inside a ``.zip``.

Layout (learned from fastnda, g-kimbell/fastnda, BSD-3-Clause, and NewareNDA,
d-cogswell/NewareNDA, BSD-3-Clause; the code is labkit's own):

* ``NEWARE`` at byte 0, the file version at byte 14.
* Versions 5-29: a little-endian header; u32 at byte 64/68 = start and length of
  the record block (length 0: up to the end of the file); u32 at byte 16 = start of
  a block whose i32 at +26 is the fixed current range; u32 at 24/28 = start and
  length of the test-info block (start time as text). Records are fixed-size
  structs tagged by an identifier byte (85 = data, 101 = auxiliary).
  Version 5-8: 59-byte records, integer step time (s) and unix time (s).
  Versions 14-24: 86-byte records, step time in ms and unix time (s).
  Versions 26-29: 86-byte records with the wall-clock time as Y/M/D h:m:s fields.
  Voltage is in 0.1 mV, current/capacity/energy in counts of a range-dependent unit.
* Version 130 (BTS 9): u64 at byte 82/90 = start and length of the record block,
  u16 at byte 16 = record version; record version 2/3 is an 88-byte struct of
  float32 values (mA, V, mAs, mWs) with µs step and unix times, and no cycle field.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np

from labkit.data import CyclingRecord, Metadata
from labkit.errors import FormatError, binary_position
from labkit.parsers import _neware as nw
from labkit.registry import file_bytes, register
from labkit.timezones import LOCAL, UTC
from labkit.ziparchive import open_zip, read_member

MAGIC = b"NEWARE"
VERSION_OFFSET = 14

# Version 5-8: 59-byte records.
_V8_RECORD = np.dtype([
    ("identifier", "u1"), ("index", "<u4"), ("cycle", "<u4"), ("step_index", "u1"),
    ("step_type", "u1"), ("step_time", "<u4"), ("voltage", "<i4"), ("current", "<i4"),
    ("_resistance_temperature", "V8"), ("capacity", "<i8"), ("energy", "<i8"),
    ("unix_time", "<u8"), ("_checksum", "V4"),
])

# Version 14-24: 86-byte records.
_V22_RECORD = np.dtype([
    ("identifier", "u1"), ("_pad", "V1"), ("index", "<u4"), ("cycle", "<u4"),
    ("step_index", "<u2"), ("step_type", "u1"), ("jump", "u1"), ("step_time", "<u8"),
    ("voltage", "<i4"), ("current", "<i4"), ("_pad2", "V8"), ("charge_capacity", "<i8"),
    ("discharge_capacity", "<i8"), ("charge_energy", "<i8"), ("discharge_energy", "<i8"),
    ("unix_time", "<u8"), ("range", "<i4"), ("_pad3", "V4"),
])

# Version 26-29: as 14-24 but the time is stored as calendar fields.
_V29_RECORD = np.dtype([
    ("identifier", "u1"), ("_pad", "V1"), ("index", "<u4"), ("cycle", "<u4"),
    ("step_index", "<u2"), ("step_type", "u1"), ("jump", "u1"), ("step_time", "<u8"),
    ("voltage", "<i4"), ("current", "<i4"), ("_pad2", "V8"), ("charge_capacity", "<i8"),
    ("discharge_capacity", "<i8"), ("charge_energy", "<i8"), ("discharge_energy", "<i8"),
    ("year", "<u2"), ("month", "u1"), ("day", "u1"), ("hour", "u1"), ("minute", "u1"),
    ("second", "u1"), ("_pad3", "V1"), ("range", "<i4"), ("_pad4", "V4"),
])

# Auxiliary records (identifier 101) in the 86-byte layouts.
_AUX_RECORD = np.dtype([
    ("identifier", "u1"), ("channel", "u1"), ("index", "<u4"), ("_pad", "V16"),
    ("voltage", "<i4"), ("_pad2", "V8"), ("temperature", "<i2"), ("_pad3", "V50"),
])

# Version 130, record version 2/3: 88-byte records.
_BTS9_RECORD = np.dtype([
    ("_device", "V4"), ("identifier", "u1"), ("_pad", "V4"), ("step_index", "u1"),
    ("step_type", "u1"), ("_pad2", "V5"), ("index", "<u4"), ("_pad3", "V8"),
    ("step_time_us", "<u8"), ("voltage", "<f4"), ("current", "<f4"), ("_pad4", "V8"),
    ("charge_capacity", "<f4"), ("charge_energy", "<f4"), ("discharge_capacity", "<f4"),
    ("discharge_energy", "<f4"), ("unix_time_us", "<u8"), ("_tail", "V12"),
])

_DATA_ID = 85
#: Per-step capacity/energy fields of the 86-byte and BTS 9 records -> frame row they fill.
_CAPACITY_FIELDS = (
    ("charge_capacity", "charging_capacity_ampere_hour"),
    ("discharge_capacity", "discharging_capacity_ampere_hour"),
    ("charge_energy", "charging_energy_watt_hour"),
    ("discharge_energy", "discharging_energy_watt_hour"),
)
_AUX_ID = 101
_V8_VERSIONS = frozenset({5, 6, 7, 8})
_V22_VERSIONS = frozenset({14, 16, 17, 20, 22, 23, 24})
_V29_VERSIONS = frozenset({26, 28, 29})
_BTS9_VERSIONS = frozenset({129, 130})
_BTS9_RECORD_VERSIONS = frozenset({2, 3})


def _sniff(head: bytes, path: Path) -> bool:
    if head.startswith(MAGIC) and len(head) > VERSION_OFFSET:
        return True
    return head.startswith(b"PK\x03\x04") and path.name.lower().endswith(".nda.zip")


@register("neware-nda", vendor="Neware", description="Neware BTS .nda binary (v5-29, BTS 9 v130)",
          extensions=(".nda", ".nda.zip"), kind="cycling", sniff=_sniff)
def read_neware_nda(path: Path) -> CyclingRecord:
    """Read a Neware ``.nda`` file (or a zip holding exactly one) into a cycling record."""
    buffer = _load(path)
    return parse_nda(buffer, path)


def _load(path: Path) -> bytes:
    raw = file_bytes(path)
    if not raw.startswith(b"PK\x03\x04"):
        return raw
    with open_zip(raw, path) as archive:
        members = [m for m in archive.infolist() if m.filename.lower().endswith(".nda")]
        if len(members) != 1:
            raise FormatError("expected one .nda file inside the zip, found "
                              f"{[m.filename for m in members]}", file=path,
                              position=binary_position(0))
        return read_member(archive, members[0], path)


def parse_nda(buffer: bytes, path: Path) -> CyclingRecord:
    """Parse the bytes of a ``.nda`` file; ``path`` names it in errors."""
    if not buffer.startswith(MAGIC) or len(buffer) < 1024:
        raise FormatError(f"expected the NEWARE magic and a 1024-byte header, found "
                          f"{buffer[:8]!r} in {len(buffer)} bytes", file=path,
                          position=binary_position(0))
    version = buffer[VERSION_OFFSET]
    if version in _V8_VERSIONS:
        return _read_v8(buffer, path, version)
    if version in _V22_VERSIONS or version in _V29_VERSIONS:
        return _read_v22_v29(buffer, path, version)
    if version in _BTS9_VERSIONS:
        return _read_bts9(buffer, path, version)
    raise FormatError(f"nda version {version} is not supported (labkit reads 5-8, 14-24, 26-29, "
                      "130)", file=path, position=binary_position(VERSION_OFFSET))


def _u32(buffer: bytes, offset: int) -> int:
    return int.from_bytes(buffer[offset:offset + 4], "little")


def _records(buffer: bytes, path: Path, begin: int, length: int, dtype: np.dtype) -> np.ndarray:
    """The records of a block as a structured array (a trailing partial record is dropped)."""
    if begin <= 0 or begin >= len(buffer):
        raise FormatError(f"record block pointer {begin} lies outside the file "
                          f"({len(buffer)} bytes)", file=path, position=binary_position(64))
    available = len(buffer) - begin if not length else min(length, len(buffer) - begin)
    count = available // dtype.itemsize
    return np.frombuffer(buffer, dtype=dtype, count=count, offset=begin)


def _fixed_range(buffer: bytes) -> int:
    block = _u32(buffer, 16)
    return int.from_bytes(buffer[block + 26:block + 30], "little", signed=True)


def _test_info(buffer: bytes, version: int) -> dict[str, str]:
    """Start time and names from the last test-info record of a version 5-29 file."""
    size, start_at = (503, 37) if version >= 29 else (383, 37) if version >= 17 else \
        (343, 37) if version >= 16 else (327, 37) if version >= 11 else (211, 36)
    begin, length = _u32(buffer, 24), _u32(buffer, 28)
    if not begin or length < size:
        return {}
    last = begin + (length // size - 1) * size
    record = buffer[last:last + size]
    text = record[start_at:start_at + 20].split(b"\x00", 1)[0].decode("gb2312", "replace").strip()
    return {"start_time": text} if text else {}


def _iso(text: str) -> str | None:
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y.%m.%d %H:%M:%S", "%Y/%m/%d %H:%M:%S"):
        try:
            return dt.datetime.strptime(text, pattern).isoformat()
        except ValueError:
            continue
    return None


def _server_version(buffer: bytes) -> str | None:
    at = buffer.find(b"BTSServer", 0, 65536)
    if at < 0:
        return None
    return buffer[at:at + 50].split(b"\x00", 1)[0].decode("ascii", "replace").strip()


def _require_rows(data: dict[str, np.ndarray], path: Path, begin: int) -> None:
    if not len(data["index"]):
        raise FormatError("the record block holds no data records (identifier 85)",
                          file=path, position=binary_position(begin))


def _read_v8(buffer: bytes, path: Path, version: int) -> CyclingRecord:
    begin, length = _u32(buffer, 64), _u32(buffer, 68)
    records = _records(buffer, path, begin, length, _V8_RECORD)
    data = nw.fields(nw.kept(records, ((records["identifier"] == 0)
                                       | (records["identifier"] == _DATA_ID))
                             & (records["index"] != 0)))
    _require_rows(data, path, begin)
    scale = nw.range_multiplier(np.array([_fixed_range(buffer)]))[0] * 1e-3  # count -> A
    out = nw.frame_columns(len(data["index"]))
    step_type = data["step_type"]
    direction = nw.direction_of(step_type)
    current = np.multiply(data["current"], scale, out=out["current_ampere"])
    sign = np.where(direction != 0, direction, np.sign(current))
    np.multiply(data["voltage"], 1e-4, out=out["voltage_volt"])
    np.copyto(out["step_time_second"], data["step_time"], casting="unsafe")
    np.copyto(out["unix_time_second"], data["unix_time"], casting="unsafe")
    # versions 5 and 7 count cycles from 0, 6 and 8 from 1
    np.add(data["cycle"], 1 if version in (5, 7) else 0, out=out["cycle_count"], dtype=np.int64)
    np.copyto(out["step_index"], data["step_index"])
    nw.count_changes(data["step_index"], out=out["step_count"])
    np.copyto(out["record_index"], data["index"])
    # the record holds one capacity and energy; the step direction says which they are
    for field, unit in (("capacity", "capacity_ampere_hour"), ("energy", "energy_watt_hour")):
        value = np.multiply(data[field], scale / 3600, out=out[f"step_{unit}"])
        for name, side in ((f"charging_{unit}", sign > 0), (f"discharging_{unit}", sign < 0)):
            out[name].fill(0.0)
            np.copyto(out[name], value, where=side)
    frame = nw.cycling_frame(out, step_type=step_type)
    return CyclingRecord(frame, _meta(buffer, version, [nw.RAW_CYCLE_NOTE, nw.CAPACITY_NOTE],
                                      UTC))


def _read_v22_v29(buffer: bytes, path: Path, version: int) -> CyclingRecord:
    begin, length = _u32(buffer, 64), _u32(buffer, 68)
    layout = _V29_RECORD if version in _V29_VERSIONS else _V22_RECORD
    records = _records(buffer, path, begin, length, layout)
    data_records = nw.kept(records, records["identifier"] == _DATA_ID)
    data = nw.fields(data_records)
    _require_rows(data, path, begin)
    out = nw.frame_columns(len(data_records))
    current_range = data["range"].astype(np.int64)
    current_range[current_range == 0] = _fixed_range(buffer)
    # the test-time and step-capacity rows are filled later: until then they hold the
    # count -> A and count -> Ah factors
    scale = np.multiply(nw.range_multiplier(current_range), 1e-3, out=out["test_time_second"])
    per_hour = np.divide(scale, 3600, out=out["step_capacity_ampere_hour"])
    unix = out["unix_time_second"]
    plan = [(np.multiply, "step_time", 1e-3, out["step_time_second"]),
            (np.multiply, "voltage", 1e-4, out["voltage_volt"]),
            (np.multiply, "current", scale, out["current_ampere"]),
            (np.add, "cycle", np.int64(1), out["cycle_count"]),
            (None, "step_index", None, out["step_index"]),
            (None, "index", None, out["record_index"]),
            *((np.multiply, field, per_hour, out[name]) for field, name in _CAPACITY_FIELDS)]
    if layout is _V29_RECORD:  # the clock part of the wall-clock time, summed in float64
        plan += [(np.multiply, "hour", 60.0, unix), (np.add, unix, "minute", unix),
                 (np.multiply, unix, 60.0, unix), (np.add, unix, "second", unix)]
        nw.fill_rows(data_records, plan)
        _add_calendar_days(data_records, unix)
        nw.count_changes(data["jump"], out=out["step_count"])
    else:
        nw.fill_rows(data_records, [*plan, (None, "unix_time", None, unix)])
        nw.count_changes(data["step_index"], data["jump"], out=out["step_count"])
    extra = _aux_columns(buffer, path, records, data["index"], version)
    frame = nw.cycling_frame(out, step_type=data["step_type"], extra=extra)
    notes = [nw.RAW_CYCLE_NOTE, nw.CAPACITY_NOTE]
    if layout is _V29_RECORD:
        notes.append("unix_time_second comes from the record's wall-clock fields (whole "
                     "seconds), read as UTC: the file does not state its time zone.")
    return CyclingRecord(frame, _meta(buffer, version, notes,
                                      LOCAL if layout is _V29_RECORD else UTC))


def _add_calendar_days(records: np.ndarray, clock: np.ndarray) -> np.ndarray:
    """Add the seconds from 1970 to each record's date (Y/M/D fields; no time zone in the
    file: read as UTC) to ``clock``, the seconds since that day's midnight.

    The four bytes year(2) month day are read as one little-endian integer; the date
    changes rarely, so its day number is worked out once per run of equal dates.
    """
    offset = records.dtype.fields["year"][1]
    date = np.ndarray(len(records), "<u4", records, offset, (records.dtype.itemsize,))
    starts = np.flatnonzero(np.r_[True, date[1:] != date[:-1]])
    year = (date[starts] & 0xFFFF).astype(np.int64)
    month = ((date[starts] >> 16) & 0xFF).astype(np.int64)
    day = ((date[starts] >> 24) & 0xFF).astype(np.int64)
    days = ((year - 1970) * 12 + month - 1).astype("datetime64[M]").astype("datetime64[D]")
    day_seconds = (days.astype(np.int64) + day - 1) * 86400
    return np.add(clock, np.repeat(day_seconds, np.diff(np.r_[starts, len(date)])), out=clock)


def _aux_columns(buffer: bytes, path: Path, records: np.ndarray, index: np.ndarray,
                 version: int) -> dict[str, np.ndarray]:
    """Auxiliary temperature/voltage per data record (identifier 101 records)."""
    aux = records.view(_AUX_RECORD)
    aux = aux[aux["identifier"] == _AUX_ID]
    aux_begin, aux_length = _u32(buffer, 72), _u32(buffer, 76)
    if version in _V22_VERSIONS and aux_length and aux_begin < len(buffer):
        block = _records(buffer, path, aux_begin, aux_length, _AUX_RECORD)
        aux = np.concatenate([aux, block[block["identifier"] == _AUX_ID]])
    out: dict[str, np.ndarray] = {}
    for channel in np.unique(aux["channel"]):
        rows = aux[aux["channel"] == channel]
        _, first = np.unique(rows["index"], return_index=True)
        rows = rows[first]
        position = np.searchsorted(rows["index"], index)
        found = (position < len(rows)) & (rows["index"][np.minimum(position, len(rows) - 1)] == index)
        for field, letter, scale in (("temperature", "T", 0.1), ("voltage", "V", 1e-4)):
            values = rows[field]
            if not values.any():
                continue
            column = np.full(len(index), np.nan)
            column[found] = values[position[found]] * scale
            out[nw.aux_column_name(letter, int(channel), out)] = column
    return out


def _read_bts9(buffer: bytes, path: Path, version: int) -> CyclingRecord:
    record_version = int.from_bytes(buffer[16:18], "little")
    if record_version not in _BTS9_RECORD_VERSIONS:
        raise FormatError(f"BTS 9 record version {record_version} is not supported (labkit reads "
                          "2 and 3)", file=path, position=binary_position(16))
    begin = int.from_bytes(buffer[82:90], "little")
    length = int.from_bytes(buffer[90:98], "little")
    if begin == 0 and buffer[1024:1030] == MAGIC:
        raise FormatError("multi-block BTS 9 files are not supported", file=path,
                          position=binary_position(1024))
    if length % _BTS9_RECORD.itemsize:
        raise FormatError(f"record block of {length} bytes is not a whole number of "
                          f"{_BTS9_RECORD.itemsize}-byte records", file=path,
                          position=binary_position(90))
    records = _records(buffer, path, begin, length, _BTS9_RECORD)
    data = nw.fields(nw.kept(records, records["identifier"] == _DATA_ID))
    _require_rows(data, path, begin)
    out = nw.frame_columns(len(data["index"]))
    step_type = data["step_type"]
    unix_time = np.multiply(data["unix_time_us"], 1e-6, out=out["unix_time_second"])
    np.multiply(data["step_time_us"], 1e-6, out=out["step_time_second"])
    np.copyto(out["voltage_volt"], data["voltage"])
    np.multiply(data["current"], 1e-3, out=out["current_ampere"])
    nw.derive_cycle_count(step_type, out=out["cycle_count"])
    np.copyto(out["step_index"], data["step_index"])
    nw.count_changes(data["step_index"], out=out["step_count"])
    np.copyto(out["record_index"], data["index"])
    for field, name in _CAPACITY_FIELDS:
        np.divide(np.abs(data[field]), 3.6e6, out=out[name])
    frame = nw.cycling_frame(out, step_type=step_type)
    meta = _meta(buffer, version, [
        nw.DERIVED_CYCLE_NOTE, nw.CAPACITY_NOTE,
        "BTS 9 (nda 130) records carry no cycle field; test_time_second is the step time "
        "plus the final step times of the earlier steps."], UTC)
    start = dt.datetime.fromtimestamp(float(unix_time[0]), tz=dt.timezone.utc).isoformat()
    return CyclingRecord(frame, dataclasses.replace(meta, start_time=start))


def _meta(buffer: bytes, version: int, notes: list[str], time_zone: str) -> Metadata:
    """Metadata of the header; ``time_zone`` says whether the records' times are unix
    seconds (UTC: the twins' BTSDA exports show them shifted by the lab's offset) or
    wall-clock fields (local)."""
    info = _test_info(buffer, version) if version < 129 else {}
    start = _iso(info["start_time"]) if "start_time" in info else None
    extra: dict[str, object] = {"nda_version": int(version)}
    if info:
        extra.update(info)
    server = _server_version(buffer)
    if time_zone == UTC and start:
        notes = [*notes, nw.UNIX_TIME_NOTE]
    return Metadata(
        vendor="Neware",
        technique=("cycling",),
        start_time=start,
        time_zone=time_zone,
        instrument=server or f"Neware BTS (nda version {version})",
        notes=tuple(notes),
        extra=extra,
    )

