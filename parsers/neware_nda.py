"""Neware BTS ``.nda`` binary files (BTS 7.x, BTS 9.x), also inside a ``.zip``.

Layout (learned from fastnda, EmpaEConversion/fastnda, BSD-3-Clause, and NewareNDA,
d-cogswell/NewareNDA, BSD-3-Clause; the code is labkit's own):

* ``NEWARE`` at byte 0, the file version at byte 14.
* Versions 1-29: a little-endian header; u32 at byte 64/68 = start and length of
  the record block (length 0: up to the end of the file); u32 at byte 16 = start of
  a block whose i32 at +26 is the fixed current range; u32 at 24/28 = start and
  length of the test-info block (start time as text). Records are fixed-size
  structs tagged by an identifier byte (85 = data, 101 = auxiliary).
  Versions 1-13, 15, 18, 19, 25, 27: fixed-size records with one capacity (and energy)
  signed by the step direction, or charge/discharge pairs (19), described by a table
  (:class:`_FixedLayout`); versions 1-4 store no wall-clock time. Version 5-8: 59-byte
  records, integer step time (s) and unix time (s).
  Versions 14-24: 86-byte records, step time in ms and unix time (s).
  Versions 26-29: 86-byte records with the wall-clock time as Y/M/D h:m:s fields.
  Voltage is in 0.1 mV, current/capacity/energy in counts of a range-dependent unit.
* Versions 129/130 (BTS 9): u64 at byte 82/90 = start and length of the record block
  (start 0 and a second ``NEWARE`` header at byte 1024: a chain of blocks, each behind
  its own header), u16 at byte 16 = record version. Record version 2/3 is an 88-byte
  struct of float32 values (mA, V, mAs, mWs) with µs step and unix times, and no cycle
  field. Record version 19 (and 42) is a 52-, 56- or 60-byte struct (the file does not
  say which: the records do) with the test time, unix time (s + ns) and cycle, one
  signed capacity and energy (mAs, mWs) and, from 56 bytes, a temperature; it has no
  step time.
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

def _fields(*names_and_types: str) -> list[tuple[str, str]]:
    """``"name:type"`` strings as numpy field tuples."""
    return [tuple(item.split(":")) for item in names_and_types]  # type: ignore[misc]


_SINGLE_TAIL = _fields("voltage:<i4", "current:<i4", "_resistance_temperature:V8", "capacity:<i8")


@dataclasses.dataclass(frozen=True)
class _FixedLayout:
    """A BTS 7 record layout of fixed-size records with one capacity (and energy) per
    record, signed by the step direction, and one current range for the file (or per
    record, in a ``range`` field).

    Attributes
    ----------
    record
        The record dtype (fields ``index``, ``cycle``, ``step_index``, ``step_type``,
        ``step_time``, ``voltage``, ``current``, ``capacity``, optional
        ``identifier``, ``energy``, ``unix_time``, ``range``).
    identifiers
        Identifier values of data records; empty: records with a non-zero ``index``.
    step_time_second
        Seconds per stored step-time unit.
    cycle_offset
        Added to the stored cycle field; None: the cycle field is a loop counter whose
        changes are counted from 1 (as fastnda reads these versions).
    step_types
        Old step-type codes -> the codes of :data:`nw.STEP_TYPE_NAMES`.
    whole_file
        Records run to the end of the file whatever the header's block length says.
    """

    record: np.dtype
    identifiers: tuple[int, ...] = (85,)
    step_time_second: float = 1.0
    cycle_offset: int | None = 1
    step_types: tuple[tuple[int, int], ...] = ()
    whole_file: bool = False


_V1_LAYOUT = _FixedLayout(np.dtype(_fields(
    "index:<u4", "cycle:<u4", "step_index:u1", "step_type:u1", "step_time:<u4") + _SINGLE_TAIL),
    identifiers=(), cycle_offset=None, step_types=((2, 3), (4, 2), (5, 4)))
_V2_LAYOUT = _FixedLayout(np.dtype(_fields(
    "identifier:u1", "_unknown:V4", "cycle:<u4", "step_type:u1", "step_index:u1",
    "step_time:<u4") + _SINGLE_TAIL), identifiers=(0,), cycle_offset=0)
_V3_LAYOUT = _FixedLayout(np.dtype(_fields(
    "identifier:u1", "index:<u4", "cycle:<u4", "step_index:u1", "step_type:u1",
    "step_time:<u4") + _SINGLE_TAIL + _fields("_checksum:V4")),
    identifiers=(0, 85), cycle_offset=None)
_V9_HEAD = _fields("identifier:u1", "_aux_channel:V1", "index:<u4", "cycle:<u4",
                   "step_index:u1", "step_type:u1")
_UNIX_TAIL = _fields("energy:<i8", "unix_time:<u8")
_V9_LAYOUT = _FixedLayout(np.dtype(
    _V9_HEAD + _fields("step_time:<u4") + _SINGLE_TAIL + _UNIX_TAIL + _fields("_checksum:V4")))
_V10_LAYOUT = _FixedLayout(np.dtype(
    _V9_HEAD + _fields("step_time:<u8") + _SINGLE_TAIL + _UNIX_TAIL + _fields("_checksum:V4")),
    cycle_offset=None)
_V11_HEAD = _fields("identifier:u1", "_aux_channel:V1", "index:<u4", "cycle:<u4",
                    "step_index:<u2", "step_type:u1", "step_time:<u8")
_V11_LAYOUT = _FixedLayout(np.dtype(
    _V11_HEAD + _SINGLE_TAIL + _UNIX_TAIL + _fields("range:<i4", "_checksum:V4")),
    step_time_second=1e-3)
_V25_LAYOUT = _FixedLayout(np.dtype(
    _V11_HEAD + _SINGLE_TAIL + _UNIX_TAIL
    + _fields("range:<i4", "_step_changes:V1", "_checksum:V4")),
    step_time_second=1e-3, cycle_offset=None)
_V19_LAYOUT = _FixedLayout(np.dtype(_fields(
    "identifier:u1", "_channel:V3", "_test_id:V4", "index:<u4", "cycle:<u4", "step_index:<u2",
    "step_type:u1", "_work_type:V1", "_step_changes:V1", "_reserved:V3", "step_time:<u4",
    "voltage:<i4", "current:<i4", "_resistance_temperature:V8", "charge_capacity:<i4",
    "discharge_capacity:<i4", "charge_energy:<i4", "discharge_energy:<i4", "unix_time:<u4",
    "_checksum:V4")), whole_file=True)
_V8_LAYOUTS = {version: _FixedLayout(_V8_RECORD, identifiers=(0, 85),
                                     cycle_offset=1 if version in (5, 7) else 0)
               for version in (5, 6, 7, 8)}
#: nda version -> fixed-record layout (BTS 7; 14-24 and 26-29 have their own readers).
_FIXED_LAYOUTS: dict[int, _FixedLayout] = {
    1: _V1_LAYOUT, 2: _V2_LAYOUT, 3: _V3_LAYOUT, 4: _V3_LAYOUT, **_V8_LAYOUTS, 9: _V9_LAYOUT,
    10: _V10_LAYOUT, 11: _V11_LAYOUT, 12: _V11_LAYOUT, 13: _V11_LAYOUT, 15: _V11_LAYOUT,
    18: _V11_LAYOUT, 19: _V19_LAYOUT, 25: _V25_LAYOUT, 27: _V25_LAYOUT,
}
#: Version 11-18 auxiliary records (identifier 101) in their own block (header byte 72).
_V11_AUX_RECORD = np.dtype(_fields("identifier:u1", "channel:u1", "index:<u4", "_pad:V15",
                                   "voltage:<i4", "_pad2:V8", "temperature:<i2", "_pad3:V34"))


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

# Record version 19 on: 36 bytes the same at every record size, then a size-dependent tail.
# The file does not state the size; it is found from the records (see _bts9_records).
_BTS9_V19_HEAD = [
    ("identifier", "u1"), ("_aux_count", "u1"), ("step_index", "u1"), ("step_type", "u1"),
    ("_test_id", "V4"), ("index", "<u4"), ("test_time_s", "<u4"), ("test_time_ns", "<u4"),
    ("current", "<f4"), ("voltage", "<f4"), ("capacity", "<f4"), ("energy", "<f4"),
]
_BTS9_V19_TAIL = [("cycle", "<u4"), ("_unknown", "V4"), ("unix_time_s", "<u4"),
                  ("unix_time_ns", "<u4")]
_BTS9_V19_RECORDS = {
    52: np.dtype([*_BTS9_V19_HEAD, *_BTS9_V19_TAIL]),
    56: np.dtype([*_BTS9_V19_HEAD, *_BTS9_V19_TAIL, ("temperature", "<f4")]),
    60: np.dtype([*_BTS9_V19_HEAD, ("unix_time_s", "<u4"), ("unix_time_ns", "<u4"),
                  ("_drifting", "V4"), ("temperature", "<f4"), ("cycle", "<u4"),
                  ("_unknown", "V4")]),
}

_DATA_ID = 85
#: Per-step capacity/energy fields of the 86-byte and BTS 9 records -> frame row they fill.
_CAPACITY_FIELDS = (
    ("charge_capacity", "charging_capacity_ampere_hour"),
    ("discharge_capacity", "discharging_capacity_ampere_hour"),
    ("charge_energy", "charging_energy_watt_hour"),
    ("discharge_energy", "discharging_energy_watt_hour"),
)
_AUX_ID = 101
#: Versions whose layout labkit has checked against a public file's BTSDA export (v8, 22,
#: 23, 26, 29, 130) or that share that layout.
_VERIFIED_VERSIONS = frozenset({5, 6, 7, 8, 14, 16, 17, 20, 22, 23, 24, 26, 28, 29, 129, 130})
_V22_VERSIONS = frozenset({14, 16, 17, 20, 22, 23, 24})
_V29_VERSIONS = frozenset({26, 28, 29})
_BTS9_VERSIONS = frozenset({129, 130})
#: BTS 9 record version (u16 at byte 16) -> record layout.
_BTS9_LAYOUTS = {2: "88-byte", 3: "88-byte", 19: "record-version-19", 42: "record-version-19"}


def _sniff(head: bytes, path: Path) -> bool:
    if head.startswith(MAGIC) and len(head) > VERSION_OFFSET:
        return True
    return head.startswith(b"PK\x03\x04") and path.name.lower().endswith(".nda.zip")


@register("neware-nda", vendor="Neware",
          description="Neware BTS .nda binary (v1-20, 22-29, BTS 9 v129/130)",
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
    if version in _FIXED_LAYOUTS:
        return _read_fixed(buffer, path, version, _FIXED_LAYOUTS[version])
    if version in _V22_VERSIONS or version in _V29_VERSIONS:
        return _read_v22_v29(buffer, path, version)
    if version in _BTS9_VERSIONS:
        return _read_bts9(buffer, path, version)
    raise FormatError(f"nda version {version} is not supported (labkit reads 1-20, 22-29, 129, "
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


def _read_fixed(buffer: bytes, path: Path, version: int, layout: _FixedLayout) -> CyclingRecord:
    """Versions 1-13, 15, 18, 19, 25, 27: fixed-size records (see :class:`_FixedLayout`)."""
    begin, length = _u32(buffer, 64), _u32(buffer, 68)
    records = _records(buffer, path, begin, 0 if layout.whole_file else length, layout.record)
    names = layout.record.names
    if layout.identifiers:
        keep = np.isin(records["identifier"], layout.identifiers)
        if "index" in names:
            keep &= records["index"] != 0
    else:
        keep = records["index"] != 0
    data = nw.fields(nw.kept(records, keep))
    rows = int(np.count_nonzero(keep))
    if not rows:
        raise FormatError("the record block holds no data records", file=path,
                          position=binary_position(begin))
    out = nw.frame_columns(rows)
    step_type = data["step_type"]
    if layout.step_types:
        table = np.arange(256, dtype=np.uint8)
        for old, new in layout.step_types:
            table[old] = new
        step_type = table[step_type]
    current_range = data["range"].astype(np.int64) if "range" in names else \
        np.full(rows, _fixed_range(buffer), dtype=np.int64)
    current_range[current_range == 0] = _fixed_range(buffer)
    scale = nw.range_multiplier(current_range) * 1e-3  # count -> A
    current = np.multiply(data["current"], scale, out=out["current_ampere"])
    np.multiply(data["voltage"], 1e-4, out=out["voltage_volt"])
    np.multiply(data["step_time"], layout.step_time_second, out=out["step_time_second"])
    if "unix_time" in names:
        np.copyto(out["unix_time_second"], data["unix_time"], casting="unsafe")
    else:
        del out["unix_time_second"]
    if layout.cycle_offset is None:
        nw.count_changes(data["cycle"], out=out["cycle_count"])
    else:
        np.add(data["cycle"], layout.cycle_offset, out=out["cycle_count"], dtype=np.int64)
    np.copyto(out["step_index"], data["step_index"])
    nw.count_changes(data["step_index"], out=out["step_count"])
    if "index" in names:
        np.copyto(out["record_index"], data["index"])
    else:
        out["record_index"][:] = np.arange(1, rows + 1)
    per_hour = scale / 3600  # count * s -> Ah
    if "charge_capacity" in names:
        for field, name in _CAPACITY_FIELDS:
            np.multiply(data[field], per_hour, out=out[name])
    else:  # one capacity and energy per record; the step direction says which they are
        direction = nw.direction_of(step_type)
        sign = np.where(direction != 0, direction, np.sign(current))
        for field, unit in (("capacity", "capacity_ampere_hour"), ("energy", "energy_watt_hour")):
            if field not in names:
                for side in ("charging", "discharging", "step"):
                    del out[f"{side}_{unit}"]
                continue
            value = np.multiply(data[field], per_hour, out=out[f"step_{unit}"])
            for name, side in ((f"charging_{unit}", sign > 0), (f"discharging_{unit}", sign < 0)):
                out[name].fill(0.0)
                np.copyto(out[name], value, where=side)
    extra = {}
    aux_begin, aux_length = _u32(buffer, 72), _u32(buffer, 76)
    if layout is _V11_LAYOUT and aux_length and aux_begin < len(buffer):
        aux = _records(buffer, path, aux_begin, aux_length, _V11_AUX_RECORD)
        extra = _aux_values(aux[aux["identifier"] == _AUX_ID], out["record_index"])
    frame = nw.cycling_frame(out, step_type=step_type, extra=extra)
    notes = [nw.RAW_CYCLE_NOTE if layout.cycle_offset == 1 else _cycle_note(layout), nw.CAPACITY_NOTE]
    if "unix_time" not in names:
        notes.append(f"nda version {version} records carry no wall-clock time: the record has "
                     "no unix_time_second (the header's start time is in meta.start_time)")
    if version not in _VERIFIED_VERSIONS:
        notes.append(f"nda version {version}: labkit has checked no file of this layout "
                     "against a BTSDA export (none is public); it reads it as fastnda 1.3 does")
    return CyclingRecord(frame, _meta(buffer, version, notes,
                                      UTC if "unix_time" in names else LOCAL))


def _cycle_note(layout: _FixedLayout) -> str:
    if layout.cycle_offset is None:
        return ("cycle_count counts the changes of the records' cycle field from 1 (in this "
                "nda version the field is a loop counter, not a cycle number)")
    return "cycle_count is the records' cycle field as stored (this nda version counts from 1)"


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
    return _aux_values(aux, index)


def _aux_values(aux: np.ndarray, index: np.ndarray) -> dict[str, np.ndarray]:
    """Temperature/voltage columns per aux channel, aligned on the data records' ``index``
    (NaN where a channel has no record for a data record); all-zero quantities are left out."""
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
    blocks = _bts9_blocks(buffer, path)
    layout = _BTS9_LAYOUTS.get(record_version)
    notes = [nw.CAPACITY_NOTE]
    if layout is None:
        layout = _probe_bts9_layout(buffer, path, record_version, blocks[0][0])
        notes.append(f"BTS 9 record version {record_version} is one labkit has not seen; its "
                     f"records have the {layout} layout (identifier byte where that layout has "
                     "it) and were read as such: check the values against BTSDA")
    if layout == "88-byte":
        records = _bts9_records(buffer, path, blocks, (_BTS9_RECORD,))
        return _read_bts9_88(records, buffer, path, version, notes)
    records = _bts9_records(buffer, path, blocks, tuple(_BTS9_V19_RECORDS.values()))
    return _read_bts9_v19(records, buffer, version, notes)


def _bts9_blocks(buffer: bytes, path: Path) -> list[tuple[int, int]]:
    """(start, length) of every record block of a BTS 9 file.

    Most files hold one block, pointed to by the u64 pair at byte 82. When that pointer
    is 0 and a second ``NEWARE`` header follows at byte 1024, the blocks are chained:
    each header points to its block (byte 82 of the header) and, with the pointer at
    its byte 242, to the section whose end is the next header.
    """
    begin = int.from_bytes(buffer[82:90], "little")
    length = int.from_bytes(buffer[90:98], "little")
    if begin != 0 or buffer[1024:1030] != MAGIC:
        return [(begin, length)]
    blocks: list[tuple[int, int]] = []
    head, seen = 1024, set()
    while head not in seen and buffer[head:head + 6] == MAGIC:
        seen.add(head)
        block_begin = int.from_bytes(buffer[head + 82:head + 90], "little")
        block_length = int.from_bytes(buffer[head + 90:head + 98], "little")
        if block_length:
            blocks.append((block_begin, block_length))
        tail_begin = int.from_bytes(buffer[head + 242:head + 250], "little")
        head = tail_begin + int.from_bytes(buffer[head + 250:head + 258], "little")
    if not blocks:
        raise FormatError("the chained BTS 9 headers point to no record block", file=path,
                          position=binary_position(1024))
    if sum(length for _, length in blocks) != length:
        raise FormatError(f"the chained BTS 9 record blocks hold "
                          f"{sum(length for _, length in blocks)} bytes, the header says "
                          f"{length}", file=path, position=binary_position(90))
    return blocks


def _bts9_records(buffer: bytes, path: Path, blocks: list[tuple[int, int]],
                  candidates: tuple[np.dtype, ...]) -> np.ndarray:
    """The data records of every block, in one array of the candidate layout that fits.

    The file does not state its record size: a layout fits when it divides every block
    and every record of the first block opens with the data identifier (85).
    """
    for begin, length in blocks:
        if begin <= 0 or begin + length > len(buffer):
            raise FormatError(f"record block {begin}+{length} lies outside the file "
                              f"({len(buffer)} bytes)", file=path, position=binary_position(begin))
    for dtype in candidates:
        if any(length % dtype.itemsize for _, length in blocks):
            continue
        parts = [np.frombuffer(buffer, dtype, length // dtype.itemsize, begin)
                 for begin, length in blocks]
        if parts[0].size and (parts[0]["identifier"] == _DATA_ID).all():
            records = parts[0] if len(parts) == 1 else np.concatenate(parts)
            data = nw.kept(records, records["identifier"] == _DATA_ID)
            if not len(data):
                break
            return data
    sizes = "/".join(str(dtype.itemsize) for dtype in candidates)
    raise FormatError(f"expected BTS 9 records of {sizes} bytes opening with identifier "
                      f"{_DATA_ID}, found none that fit the record block of {blocks[0][1]} bytes",
                      file=path, position=binary_position(blocks[0][0]))


def _probe_bts9_layout(buffer: bytes, path: Path, record_version: int, begin: int) -> str:
    """The layout of an unseen record version, from where the identifier byte sits."""
    if 0 < begin < len(buffer) - 4 and buffer[begin + 4] == _DATA_ID:
        return "88-byte"
    if 0 < begin < len(buffer) and buffer[begin] == _DATA_ID:
        return "record-version-19"
    raise FormatError(f"BTS 9 record version {record_version} is not supported (labkit reads "
                      f"{', '.join(map(str, sorted(_BTS9_LAYOUTS)))}), and its first record "
                      f"matches no layout labkit knows", file=path, position=binary_position(16))


def _read_bts9_88(data: np.ndarray, buffer: bytes, path: Path, version: int,
                  notes: list[str]) -> CyclingRecord:
    """Record versions 2 and 3: 88-byte records with step and unix times, no cycle field."""
    out = nw.frame_columns(len(data))
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
        nw.DERIVED_CYCLE_NOTE, *notes,
        "BTS 9 (nda 130) records carry no cycle field; test_time_second is the step time "
        "plus the final step times of the earlier steps."], UTC)
    return CyclingRecord(frame, _with_bts9_start(meta, unix_time))


def _read_bts9_v19(data: np.ndarray, buffer: bytes, version: int,
                   notes: list[str]) -> CyclingRecord:
    """Record version 19 on: 52/56/60-byte records with the test time, unix time and raw
    cycle, one signed capacity and energy, no step time (BTSDA's step time is the test
    time since the end of the previous step, and so is labkit's)."""
    out = nw.frame_columns(len(data))
    step_type = data["step_type"]
    test_time = np.multiply(data["test_time_ns"], 1e-9, out=out["test_time_second"])
    test_time += data["test_time_s"]
    unix_time = np.multiply(data["unix_time_ns"], 1e-9, out=out["unix_time_second"])
    unix_time += data["unix_time_s"]
    np.copyto(out["voltage_volt"], data["voltage"])
    np.multiply(data["current"], 1e-3, out=out["current_ampere"])
    np.add(data["cycle"], 1, out=out["cycle_count"], dtype=np.int64)
    np.copyto(out["step_index"], data["step_index"])
    step_count = nw.count_changes(data["step_index"], out=out["step_count"])
    np.copyto(out["record_index"], data["index"])
    starts, _ = nw.step_bounds(step_count)
    previous_end = np.zeros(len(starts))
    previous_end[1:] = test_time[starts[1:] - 1]
    np.subtract(test_time, np.repeat(previous_end, np.diff(np.r_[starts, len(data)])),
                out=out["step_time_second"])
    for field, unit in (("capacity", "capacity_ampere_hour"), ("energy", "energy_watt_hour")):
        value = data[field].astype(np.float64) / 3.6e6  # mAs, mWs -> Ah, Wh
        np.maximum(value, 0.0, out=out[f"charging_{unit}"])
        np.negative(np.minimum(value, 0.0), out=out[f"discharging_{unit}"])
    extra = {}
    if "temperature" in data.dtype.names:
        extra["temperature_celsius"] = data["temperature"].astype(np.float64)
    frame = nw.cycling_frame(out, step_type=step_type, extra=extra)
    meta = _meta(buffer, version, [
        nw.RAW_CYCLE_NOTE, *notes,
        "BTS 9 record version 19 records carry the test time and no step time: "
        "step_time_second is the test time since the last record of the previous step, as "
        "BTSDA shows it."], UTC)
    return CyclingRecord(frame, _with_bts9_start(meta, unix_time))


def _with_bts9_start(record_meta: Metadata, unix_time: np.ndarray) -> Metadata:
    start = dt.datetime.fromtimestamp(float(unix_time[0]), tz=dt.timezone.utc).isoformat()
    return dataclasses.replace(record_meta, start_time=start)


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

