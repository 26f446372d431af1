"""Neware ``.nda`` files written from a known table, for layouts no public file shows.

Each writer lays the records out as fastnda 1.3 documents the layout (field order,
widths, units); the table they are written from is the ground truth a reader must
give back. ``TRUTH`` is a two-cycle schedule: rest, CC charge, rest, CC discharge,
then charge, rest, discharge again, with per-step capacity and energy.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

import numpy as np

#: (step index, step-type code, rows) of the schedule; the second loop repeats steps 2-4.
SCHEDULE = ((1, 4, 4), (2, 1, 7), (3, 4, 3), (4, 2, 6), (2, 1, 5), (3, 4, 3), (4, 2, 5))
#: Raw cycle field of each schedule step (from 0, as Neware stores it).
RAW_CYCLE = (0, 0, 0, 0, 1, 1, 1)
CHARGE_CODES, DISCHARGE_CODES = {1}, {2}


@dataclass(frozen=True)
class Truth:
    """Per-record values in the units the records store (integers where they are)."""

    step_index: np.ndarray
    step_type: np.ndarray
    raw_cycle: np.ndarray
    step_time_ms: np.ndarray  # whole seconds * 1000 where a layout stores seconds
    voltage_tenth_mv: np.ndarray
    current_count: np.ndarray  # signed, in counts of the range unit
    capacity_count: np.ndarray  # |capacity| within the step, counts * s
    energy_count: np.ndarray
    unix_time_s: np.ndarray

    @property
    def rows(self) -> int:
        return len(self.step_index)

    @property
    def direction(self) -> np.ndarray:
        return np.where(np.isin(self.step_type, list(CHARGE_CODES)), 1,
                        np.where(np.isin(self.step_type, list(DISCHARGE_CODES)), -1, 0))


def truth() -> Truth:
    step_index, step_type, raw_cycle, step_time = [], [], [], []
    for (index, code, rows), cycle in zip(SCHEDULE, RAW_CYCLE, strict=True):
        step_index += [index] * rows
        step_type += [code] * rows
        raw_cycle += [cycle] * rows
        step_time += list(range(10_000, 10_000 * (rows + 1), 10_000))  # every 10 s
    n = len(step_index)
    rng = np.random.default_rng(18)
    step_type_array = np.array(step_type, np.uint8)
    direction = np.where(step_type_array == 1, 1, np.where(step_type_array == 2, -1, 0))
    # 0.1 mA counts: 0.4-0.6 A in whole mA, and energies in whole mWs (also exact in layouts
    # that store mA and mWs)
    current = direction * rng.integers(400, 600, n) * 10
    step_time_array = np.array(step_time, np.int64)
    capacity = np.abs(current) * (step_time_array // 1000)
    voltage = 36000 + direction * rng.integers(0, 5000, n)
    energy = capacity * voltage // 100_000 * 10
    unix = 1_700_000_000 + np.cumsum(np.full(n, 10))
    return Truth(np.array(step_index, np.uint16), step_type_array, np.array(raw_cycle, np.uint32),
                 step_time_array, voltage.astype(np.int32), current.astype(np.int32),
                 capacity.astype(np.int64), energy.astype(np.int64), unix.astype(np.uint64))


def _header(version: int) -> bytearray:
    header = bytearray(1024)
    header[:6] = b"NEWARE"
    header[14] = version
    return header


# --- BTS 9 (nda 130), record version 19 on -------------------------------------------

_BTS9_V19_HEAD = [("identifier", "u1"), ("aux_count", "u1"), ("step_index", "u1"),
                  ("step_type", "u1"), ("test_id", "<u4"), ("index", "<u4"),
                  ("test_time_s", "<u4"), ("test_time_ns", "<u4"), ("current_ma", "<f4"),
                  ("voltage_v", "<f4"), ("capacity_mas", "<f4"), ("energy_mws", "<f4")]
BTS9_V19_RECORDS = {
    52: np.dtype([*_BTS9_V19_HEAD, ("cycle", "<u4"), ("unknown", "<f4"),
                  ("unix_time_s", "<u4"), ("unix_time_ns", "<u4")]),
    56: np.dtype([*_BTS9_V19_HEAD, ("cycle", "<u4"), ("unknown", "<f4"),
                  ("unix_time_s", "<u4"), ("unix_time_ns", "<u4"), ("temperature", "<f4")]),
    60: np.dtype([*_BTS9_V19_HEAD, ("unix_time_s", "<u4"), ("unix_time_ns", "<u4"),
                  ("drifting", "<f4"), ("temperature", "<f4"), ("cycle", "<u4"),
                  ("unknown", "<f4")]),
}


def bts9_v19_records(size: int, table: Truth) -> np.ndarray:
    """The table as BTS 9 record-version-19 records of ``size`` bytes (test time = the
    running sum of the step times; temperature 25 + row / 100 °C)."""
    records = np.zeros(table.rows, BTS9_V19_RECORDS[size])
    records["identifier"] = 85
    records["step_index"] = table.step_index
    records["step_type"] = table.step_type
    records["index"] = np.arange(1, table.rows + 1)
    test_time_ms = bts9_test_time_ms(table)
    records["test_time_s"] = test_time_ms // 1000
    records["test_time_ns"] = (test_time_ms % 1000) * 1_000_000
    records["current_ma"] = table.current_count * 0.1
    records["voltage_v"] = table.voltage_tenth_mv * 1e-4
    records["capacity_mas"] = table.direction * table.capacity_count * 0.1
    records["energy_mws"] = table.direction * table.energy_count * 0.1
    records["cycle"] = table.raw_cycle
    records["unix_time_s"] = table.unix_time_s
    records["unix_time_ns"] = 250_000_000
    if "temperature" in records.dtype.names:
        records["temperature"] = 25 + np.arange(table.rows) / 100
    return records


def bts9_test_time_ms(table: Truth) -> np.ndarray:
    """Test time of each record: step time plus the final step times of earlier steps."""
    change = np.r_[True, table.step_index[1:] != table.step_index[:-1]]
    step = np.cumsum(change) - 1
    ends = np.r_[np.flatnonzero(change)[1:] - 1, table.rows - 1]
    before = np.r_[0, np.cumsum(table.step_time_ms[ends])[:-1]]
    return table.step_time_ms + before[step]


def bts9_file(records: np.ndarray, record_version: int, blocks: int = 1) -> bytes:
    """A BTS 9 ``.nda`` holding ``records`` in one block, or in ``blocks`` chained blocks
    (a zero block pointer and one ``NEWARE`` header per block, each pointing to its
    block and, at byte 242, to the section that ends where the next header starts)."""
    header = _header(130)
    header[16:18] = record_version.to_bytes(2, "little")
    raw = records.tobytes()
    header[90:98] = len(raw).to_bytes(8, "little")
    if blocks == 1:
        header[82:90] = (1024).to_bytes(8, "little")
        return bytes(header) + raw
    parts = np.array_split(records, blocks)
    out = bytearray(header)
    for part in parts:
        sub = _header(130)
        head_at = len(out)
        sub[82:90] = (head_at + 1024).to_bytes(8, "little")
        sub[90:98] = part.nbytes.to_bytes(8, "little")
        sub[242:250] = (head_at + 1024).to_bytes(8, "little")
        sub[250:258] = part.nbytes.to_bytes(8, "little")
        out += sub + part.tobytes()
    return bytes(out)


# --- BTS 7 (nda 1-27): fixed-size records after a 1024-byte header ---------------------

_TAIL = [("voltage", "<i4"), ("current", "<i4"), ("nir_temperature", "V8"), ("capacity", "<i8")]
_HEAD9 = [("identifier", "u1"), ("aux_channel", "u1"), ("index", "<u4"), ("cycle", "<u4"),
          ("step_index", "u1"), ("step_type", "u1")]
_HEAD11 = [("identifier", "u1"), ("aux_channel", "u1"), ("index", "<u4"), ("cycle", "<u4"),
           ("step_index", "<u2"), ("step_type", "u1"), ("step_time_ms", "<u8")]
_ENERGY_UNIX = [("energy", "<i8"), ("unix_time", "<u8")]
#: nda version -> (record dtype, data identifier, cycle stored as raw + this)
BTS7_RECORDS: dict[int, tuple[np.dtype, int | None, int]] = {
    1: (np.dtype([("index", "<u4"), ("cycle", "<u4"), ("step_index", "u1"), ("step_type", "u1"),
                  ("step_time_s", "<u4"), *_TAIL]), None, 0),
    2: (np.dtype([("identifier", "u1"), ("unknown", "V4"), ("cycle", "<u4"), ("step_type", "u1"),
                  ("step_index", "u1"), ("step_time_s", "<u4"), *_TAIL]), 0, 1),
    3: (np.dtype([("identifier", "u1"), ("index", "<u4"), ("cycle", "<u4"), ("step_index", "u1"),
                  ("step_type", "u1"), ("step_time_s", "<u4"), *_TAIL, ("crc", "V4")]), 85, 0),
    9: (np.dtype([*_HEAD9, ("step_time_s", "<u4"), *_TAIL, *_ENERGY_UNIX, ("crc", "V4")]), 85, 0),
    10: (np.dtype([*_HEAD9, ("step_time_s", "<u8"), *_TAIL, *_ENERGY_UNIX, ("crc", "V4")]), 85, 0),
    11: (np.dtype([*_HEAD11, *_TAIL, *_ENERGY_UNIX, ("range", "<i4"), ("crc", "V4")]), 85, 0),
    19: (np.dtype([("identifier", "u1"), ("ids", "V7"), ("index", "<u4"), ("cycle", "<u4"),
                   ("step_index", "<u2"), ("step_type", "u1"), ("flags", "V5"),
                   ("step_time_s", "<u4"), ("voltage", "<i4"), ("current", "<i4"),
                   ("nir_temperature", "V8"), ("charge_capacity", "<i4"),
                   ("discharge_capacity", "<i4"), ("charge_energy", "<i4"),
                   ("discharge_energy", "<i4"), ("unix_time", "<u4"), ("crc", "V4")]), 85, 0),
    25: (np.dtype([*_HEAD11, *_TAIL, *_ENERGY_UNIX, ("range", "<i4"), ("step_changes", "u1"),
                   ("crc", "V4")]), 85, 0),
}
#: Step-type codes of version 1 (rest 5, discharge 4) for today's codes.
V1_STEP_TYPES = {1: 1, 2: 4, 4: 5}
#: The file's fixed current range (header block at byte 100, code at +26): 0.1 mA per count.
FIXED_RANGE = 2000
V11_AUX_RECORD = np.dtype([("identifier", "u1"), ("channel", "u1"), ("index", "<u4"),
                           ("pad", "V15"), ("voltage", "<i4"), ("pad2", "V8"),
                           ("temperature", "<i2"), ("pad3", "V34")])


def bts7_file(version: int, table: Truth, layout: int, *, aux: bool = False) -> bytes:
    """An nda ``version`` file of ``table`` in the record layout named by ``layout`` (a key
    of :data:`BTS7_RECORDS`), after one record that is not data (identifier 255, or
    record number 0 where there is no identifier).
    Per-record ranges alternate 0 (the file's range) and the same range. ``aux``: a
    version 11 auxiliary block with channel 1 at 25.0 + row/10 °C."""
    dtype, identifier, cycle_offset = BTS7_RECORDS[layout]
    records = np.zeros(table.rows + 1, dtype)
    data = records[1:]
    names = dtype.names
    if identifier is not None:
        records["identifier"] = 255
        data["identifier"] = identifier
    if "index" in names:
        data["index"] = np.arange(1, table.rows + 1)
    data["cycle"] = table.raw_cycle + cycle_offset
    data["step_index"] = table.step_index
    codes = table.step_type
    data["step_type"] = [V1_STEP_TYPES[c] for c in codes] if layout == 1 else codes
    if "step_time_s" in names:
        data["step_time_s"] = table.step_time_ms // 1000
    else:
        data["step_time_ms"] = table.step_time_ms
    data["voltage"] = table.voltage_tenth_mv
    data["current"] = table.current_count
    if "capacity" in names:
        data["capacity"] = table.capacity_count
    else:
        charging, discharging = table.direction > 0, table.direction < 0
        data["charge_capacity"] = np.where(charging, table.capacity_count, 0)
        data["discharge_capacity"] = np.where(discharging, table.capacity_count, 0)
        data["charge_energy"] = np.where(charging, table.energy_count, 0)
        data["discharge_energy"] = np.where(discharging, table.energy_count, 0)
    if "energy" in names:
        data["energy"] = table.energy_count
    if "unix_time" in names:
        data["unix_time"] = table.unix_time_s
    if "range" in names:
        data["range"] = np.where(np.arange(table.rows) % 2, FIXED_RANGE, 0)
    header = _header(version)
    header[16:20] = (100).to_bytes(4, "little")
    header[126:130] = FIXED_RANGE.to_bytes(4, "little", signed=True)
    header[64:68] = (1024).to_bytes(4, "little")
    header[68:72] = records.nbytes.to_bytes(4, "little")
    out = bytes(header) + records.tobytes()
    if aux:
        block = np.zeros(table.rows, V11_AUX_RECORD)
        block["identifier"], block["channel"] = 101, 1
        block["index"] = np.arange(1, table.rows + 1)
        block["temperature"] = 250 + np.arange(table.rows)
        header[72:76] = len(out).to_bytes(4, "little")
        header[76:80] = block.nbytes.to_bytes(4, "little")
        out = bytes(header) + records.tobytes() + block.tobytes()
    return out


# --- BTS 8 .ndax: a zip of .ndc files ------------------------------------------------------


def ndc_file(file_type: int, version: int, records: np.ndarray) -> bytes:
    """An ``.ndc`` file: a header page (byte 0 file type, byte 2 version), then the records
    in pages. Versions 1-4: 512-byte pages, slots from byte 5, empty slots number 0;
    later versions: 4096-byte pages, a bitmask of the valid slots at byte 4, slots from
    byte 132. The last page is left part empty."""
    old = version <= 4
    page, start = (512, 5) if old else (4096, 132)
    per_page = (page - start - 1) // records.dtype.itemsize
    pages = -(-len(records) // per_page)
    out = np.zeros((pages + 1) * page, np.uint8)
    out[0], out[2] = file_type, version
    for k in range(pages):
        chunk = records[k * per_page:(k + 1) * per_page]
        at = (k + 1) * page
        raw = np.frombuffer(chunk.tobytes(), np.uint8)
        out[at + start:at + start + len(raw)] = raw
        if not old:
            bits = np.packbits(np.ones(len(chunk), np.uint8), bitorder="little")
            out[at + 4:at + 4 + len(bits)] = bits
    return out.tobytes()


_NDC_CALENDAR = [("year", "<u2"), ("month", "u1"), ("day", "u1"), ("hour", "u1"),
                 ("minute", "u1"), ("second", "u1"), ("range", "<i4")]
_NDC_CAPACITIES = [("charge_capacity", "<i8"), ("discharge_capacity", "<i8"),
                   ("charge_energy", "<i8"), ("discharge_energy", "<i8")]
#: Full records of ndc versions 1/3 and 2/4 (512-byte pages).
NDC_FULL_RECORDS = {
    1: np.dtype([("lead", "V8"), ("index", "<u4"), ("cycle", "<u4"), ("step_index", "u1"),
                 ("step_type", "u1"), ("pad", "V2"), ("step_time_ms", "<u8"), ("voltage", "<i4"),
                 ("current", "<i4"), ("pad2", "V4"), *_NDC_CAPACITIES, *_NDC_CALENDAR]),
    2: np.dtype([("lead", "V8"), ("index", "<u4"), ("cycle", "<u4"), ("step_index", "u1"),
                 ("step_type", "u1"), ("pad", "V5"), ("step_time_ms", "<u8"), ("voltage", "<i4"),
                 ("current", "<i4"), ("pad2", "V4"), *_NDC_CAPACITIES, *_NDC_CALENDAR,
                 ("pad3", "V8")]),
}
NDC_V6_RECORD = np.dtype([
    ("step_time_ms", "<u4"), ("pad", "V1"), ("voltage", "<f4"), ("current", "<f4"),
    ("charge_capacity", "<f4"), ("discharge_capacity", "<f4"), ("charge_energy", "<f4"),
    ("discharge_energy", "<f4"), ("pad2", "V1"), ("unix_time", "<u4"), ("step_number", "<u4")])
NDC_STEP_RECORD = np.dtype([("cycle", "<u4"), ("step_index", "<u4"), ("pad", "V16"),
                            ("step_type", "u1"), ("pad2", "V12")])
NDC_VI_RECORD = np.dtype([("voltage", "<f4"), ("current", "<f4")])


def _ndc_runinfo(gap: int, unix_ms: bool, tail: int) -> np.dtype:
    return np.dtype([
        ("step_time_ms", "<u4"), ("pad", "V1"), ("charge_capacity", "<f4"),
        ("discharge_capacity", "<f4"), ("charge_energy", "<f4"), ("discharge_energy", "<f4"),
        ("pad2", f"V{gap}"), ("dt_ms", "<i4"), ("unix_time", "<u4"), ("step_number", "<u4"),
        ("index", "<u4"), *([("unix_ms", "<u2")] if unix_ms else []),
        *([("pad3", f"V{tail}")] if tail else [])])


#: Split versions: ndc version -> (runInfo dtype, capacity unit in Ah, voltage unit in V,
#: current unit in A, of the stored values).
NDC_SPLIT = {
    8: (_ndc_runinfo(5, False, 0), 1.0, 1.0, 1.0),
    9: (_ndc_runinfo(8, False, 0), 1 / 3.6e6, 1e-4, 1e-3),
    11: (_ndc_runinfo(8, True, 0), 1 / 3.6e6, 1e-4, 1e-3),
    12: (_ndc_runinfo(8, True, 0), 1.0, 1.0, 1.0),
    13: (_ndc_runinfo(8, True, 8), 1 / 3.6e6, 1e-4, 1e-3),
}
#: TestInfo.xml naming one aux channel: number 1, temperature (type 103).
_TEST_INFO_T1 = (
    '<?xml version="1.0" encoding="GB2312"?><root><config><TestInfo DevID="1" UnitID="1" '
    'ChlID="1" StartTime="2023-11-14 22:13:30" AuxCount="1"><Aux1 AuxID="1" ChlType="103" '
    'RealChlID="1"/></TestInfo></config></root>').encode("gb2312")
NDC_AUX_TAGGED = np.dtype([("tag", "u1"), ("voltage", "<f4"), ("temperature", "<i2")])


def _si(table: Truth) -> dict[str, np.ndarray]:
    charging, discharging = table.direction > 0, table.direction < 0
    capacity = table.capacity_count * 1e-4 / 3600
    energy = table.energy_count * 1e-4 / 3600
    return {"voltage": table.voltage_tenth_mv * 1e-4, "current": table.current_count * 1e-4,
            "charge_capacity": np.where(charging, capacity, 0.0),
            "discharge_capacity": np.where(discharging, capacity, 0.0),
            "charge_energy": np.where(charging, energy, 0.0),
            "discharge_energy": np.where(discharging, energy, 0.0)}


def step_numbers(table: Truth) -> np.ndarray:
    """The executed-step number (from 1) of every record."""
    return np.cumsum(np.r_[True, table.step_index[1:] != table.step_index[:-1]])


def ndax_file(version: int, table: Truth, *, aux: bool = False) -> bytes:
    """An ``.ndax`` of ``table`` with ndc ``version`` members (data, and runInfo/step where
    the version keeps them apart). ``aux``: one temperature channel (T1, 25 + row/10 °C) as
    TestInfo.xml channel 1 of type 103, in that version's aux layout."""
    members: dict[str, bytes] = {}
    si = _si(table)
    steps = step_numbers(table)
    if version in (1, 2, 3, 4):
        records = np.zeros(table.rows, NDC_FULL_RECORDS[1 if version in (1, 3) else 2])
        records["index"] = np.arange(1, table.rows + 1)
        records["cycle"] = table.raw_cycle
        records["step_index"] = table.step_index
        records["step_type"] = table.step_type
        records["step_time_ms"] = table.step_time_ms
        records["voltage"] = table.voltage_tenth_mv
        records["current"] = table.current_count  # range 2000: 0.1 mA per count
        for field in ("charge_capacity", "discharge_capacity"):
            records[field] = np.rint(si[field] * 3.6e7)  # 0.1 mAs counts
        for field in ("charge_energy", "discharge_energy"):
            records[field] = np.rint(si[field] * 3.6e7)
        _calendar(records, table.unix_time_s)
        records["range"] = 2000
        members["data.ndc"] = ndc_file(1, version, records)
    else:
        step_records = np.zeros(steps[-1], NDC_STEP_RECORD)
        first = np.r_[0, np.flatnonzero(np.diff(steps)) + 1]
        step_records["cycle"] = table.raw_cycle[first]
        step_records["step_index"] = table.step_index[first]
        step_records["step_type"] = table.step_type[first]
        members["data_step.ndc"] = ndc_file(7, version, step_records)
    if version == 6:
        records = np.zeros(table.rows, NDC_V6_RECORD)
        for field, values in si.items():
            records[field] = values
        records["step_time_ms"] = table.step_time_ms
        records["unix_time"] = table.unix_time_s
        records["step_number"] = steps
        members["data.ndc"] = ndc_file(1, version, records)
    if version in NDC_SPLIT:
        runinfo, capacity_unit, volt_unit, amp_unit = NDC_SPLIT[version]
        values = np.zeros(table.rows, NDC_VI_RECORD)
        values["voltage"] = si["voltage"] / volt_unit
        values["current"] = si["current"] / amp_unit
        members["data.ndc"] = ndc_file(1, version, values)
        run = np.zeros(table.rows, runinfo)
        for field in ("charge_capacity", "discharge_capacity", "charge_energy",
                      "discharge_energy"):
            run[field] = si[field] / capacity_unit
        run["step_time_ms"] = table.step_time_ms
        run["dt_ms"] = 10_000
        run["unix_time"] = table.unix_time_s
        run["step_number"] = steps
        run["index"] = np.arange(1, table.rows + 1)
        members["data_runInfo.ndc"] = ndc_file(18, version, run)
    if aux:
        temperature = 25 + np.arange(table.rows) / 10
        if version in (9, 11, 13):
            block = np.zeros(table.rows, NDC_AUX_TAGGED)
            block["tag"] = 0x65
            block["temperature"] = np.rint(temperature * 10)
        else:
            block = np.zeros(table.rows, [("value", "<f4")])
            block["value"] = temperature
        members["data_AUX_1_3_1.ndc"] = ndc_file(5, version, block)
        members["TestInfo.xml"] = _TEST_INFO_T1
    return _zip(members)


#: ndc 7 field codes of the generated files (index, cycle, step, times, V, I, T, Q, E, date).
NDC7_CODES = (1, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 28, 29, 53)
_NDC7_TYPES = {1: [("flag", "V1")], 6: [("index", "<u4")], 7: [("cycle", "<u4")],
               8: [("step_index", "u1")], 9: [("step_type", "u1")], 10: [("changes", "V1")],
               11: [("work", "V4")], 12: [("step_time_ms", "<u8")], 13: [("voltage", "<i4")],
               14: [("current_ma", "<i4")], 15: [("resistance", "V2")],
               16: [("temperature", "<i2")], 17: [("charge_capacity", "<i8")],
               18: [("discharge_capacity", "<i8")], 19: [("charge_energy", "<i8")],
               20: [("discharge_energy", "<i8")],
               21: [("year", "<u2"), ("month", "u1"), ("day", "u1"), ("hour", "u1"),
                    ("minute", "u1"), ("second", "u1")],
               28: [("range", "V4")], 29: [("total_time_ms", "<u8")], 53: [("millisecond", "<u2")]}


def _calendar(records: np.ndarray, unix: np.ndarray) -> None:
    stamp = unix.astype("datetime64[s]")
    days, months = stamp.astype("datetime64[D]"), stamp.astype("datetime64[M]")
    records["year"] = stamp.astype("datetime64[Y]").astype(int) + 1970
    records["month"] = months.astype(int) % 12 + 1
    records["day"] = (days - months.astype("datetime64[D]")).astype(int) + 1
    seconds = (stamp - days.astype("datetime64[s]")).astype(int)
    records["hour"], records["minute"], records["second"] = (
        seconds // 3600, seconds // 60 % 60, seconds % 60)


def ndax7_file(table: Truth) -> bytes:
    """An ndc 7 ``.ndax``: data.ndc's header lists :data:`NDC7_CODES`; current in mA,
    capacities/energies in mAs/mWs, temperature 25.0 + row/10 °C; an aux file (record
    number and temperature, 30.0 + row/10 °C) for TestInfo.xml's channel 1 of type 103."""
    records = np.zeros(table.rows, [f for code in NDC7_CODES for f in _NDC7_TYPES[code]])
    records["index"] = np.arange(1, table.rows + 1)
    records["cycle"] = table.raw_cycle
    records["step_index"] = table.step_index
    records["step_type"] = table.step_type
    records["step_time_ms"] = table.step_time_ms
    records["total_time_ms"] = bts9_test_time_ms(table)
    records["voltage"] = table.voltage_tenth_mv
    records["current_ma"] = table.current_count // 10
    records["temperature"] = 250 + np.arange(table.rows)
    charging, discharging = table.direction > 0, table.direction < 0
    for field, values in (("capacity", table.capacity_count), ("energy", table.energy_count)):
        records[f"charge_{field}"] = np.where(charging, values // 10, 0)
        records[f"discharge_{field}"] = np.where(discharging, values // 10, 0)
    _calendar(records, table.unix_time_s)
    data = bytearray(ndc_file(1, 7, records))
    data[13:13 + 4 * len(NDC7_CODES)] = np.array(NDC7_CODES, "<i4").tobytes()
    aux = np.zeros(table.rows, [("index", "<u4"), ("temperature", "<i2")])
    aux["index"] = np.arange(1, table.rows + 1)
    aux["temperature"] = 300 + np.arange(table.rows)
    aux_file = bytearray(ndc_file(5, 7, aux))
    aux_file[13:21] = np.array([6, 16], "<i4").tobytes()
    return _zip({"data.ndc": bytes(data), "data_AUX_1_3_1.ndc": bytes(aux_file),
                 "TestInfo.xml": _TEST_INFO_T1})


def ndax15_file(table: Truth, *, items: bool = True) -> bytes:
    """An ndc 15 (BTS 9) ``.ndax``. ``items``: the header also lists unix time, step time
    and charge/discharge capacity/energy (discharge stored negative) after the 36-byte
    prefix; else the records are the prefix alone (capacity/energy signed by direction)."""
    fields = [("flags", "V2"), ("step_index", "u1"), ("step_type", "u1"), ("test_id", "V4"),
              ("index", "<u4"), ("test_time_s", "<u4"), ("test_time_ns", "<u4"),
              ("current_ma", "<f4"), ("voltage_v", "<f4"), ("capacity_mas", "<f4"),
              ("energy_mws", "<f4")]
    listed = [(15, [("unix_s", "<u4"), ("unix_ns", "<u4")]),
              (65, [("step_s", "<u4"), ("step_ns", "<u4")]), (5, [("ccap", "<f4")]),
              (6, [("dcap", "<f4")]), (8, [("ceng", "<f4")]), (9, [("deng", "<f4")])]
    if items:
        fields += [f for _, group in listed for f in group]
    records = np.zeros(table.rows, fields)
    records["step_index"] = table.step_index
    records["step_type"] = table.step_type
    records["index"] = np.arange(1, table.rows + 1)
    test_time_ms = bts9_test_time_ms(table)
    records["test_time_s"], records["test_time_ns"] = test_time_ms // 1000, 0
    records["current_ma"] = table.current_count * 0.1
    records["voltage_v"] = table.voltage_tenth_mv * 1e-4
    capacity, energy = table.capacity_count * 0.1, table.energy_count * 0.1
    records["capacity_mas"] = table.direction * capacity
    records["energy_mws"] = table.direction * energy
    header = np.zeros(4096, np.uint8)
    if items:
        records["unix_s"], records["unix_ns"] = table.unix_time_s, 500_000_000
        records["step_s"] = table.step_time_ms // 1000
        charging, discharging = table.direction > 0, table.direction < 0
        records["ccap"] = np.where(charging, capacity, 0)
        records["dcap"] = -np.where(discharging, capacity, 0)
        records["ceng"] = np.where(charging, energy, 0)
        records["deng"] = -np.where(discharging, energy, 0)
        item = np.dtype([("quantity", "<i4"), ("value_type", "u1"), ("position", "<i4")])
        table_of_items = np.zeros(len(listed), item)
        table_of_items["quantity"] = [code for code, _ in listed]
        table_of_items["value_type"] = 1
        table_of_items["position"] = [records.dtype.fields[group[0][0]][1] for _, group in listed]
        raw = np.frombuffer(table_of_items.tobytes(), np.uint8)
        header[520:520 + len(raw)] = raw
    header[516:520] = np.frombuffer(np.uint32(records.dtype.itemsize).tobytes(), np.uint8)
    data = bytearray(ndc_file(1, 15, records))
    data[3:4096] = header[3:].tobytes()
    return _zip({"data.ndc": bytes(data)})


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()
