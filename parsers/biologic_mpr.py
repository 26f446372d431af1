"""BioLogic EC-Lab / BT-Lab binary ``.mpr`` files.

Layout (learnt from the files; written for labkit):

* 52-byte file header ``BIO-LOGIC MODULAR FILE\\x1a`` + spaces + 4 zero bytes, then modules.
* Each module: ``MODULE``, then a header in one of two layouts:

  - v1 (EC-Lab < 11.50): short name (10 bytes), long name (25), payload length u32,
    version u32, date (8);
  - v2 (EC-Lab >= 11.50): short name, long name, ``ff ff ff ff``, payload length u32,
    version u32, an unknown u32, date (8).

* ``VMP Set``: settings; byte 0 is the technique id. ``VMP data``: number of points
  u32 at 0, number of columns u8 at 4, then the column ids and fixed-size
  little-endian records. ``VMP LOG``: acquisition start (OLE date at 0x249) and the
  software version. ``VMP loop``: first row of each loop. ``VMP ExtDev``: names of the
  external-device channels.
* Column ids: 1 byte each from offset 5 (data v0 written by EC-Lab < 11.50, records at
  100); 2 bytes each from offset 6 (data v0 written by >= 11.50, records at 1007) or
  from offset 5 (data v2 / v3, records at 405 / 406).
* Ids 1, 2, 3, 21, 31, 65 are bits of one ``flags`` byte (mode, ox/red, error,
  control changes, Ns changes, counter inc.), stored at the first of them.

The records are read with one ``numpy.frombuffer`` call on a structured dtype. An
unknown column id makes the record size unknown: it is a FormatError naming the id
and its byte offset, never a guess.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from labkit.data import CyclingRecord, ImpedanceRecord, Metadata, Sample
from labkit.errors import FormatError, binary_position
from labkit.parsers._biologic_columns import build_record, placeholder_free
from labkit.registry import file_bytes, register

MAGIC = b"BIO-LOGIC MODULAR FILE\x1a"
FILE_HEADER_BYTES = 52
MODULE_TAG = b"MODULE"

# column id -> (numpy dtype, EC-Lab label as the .mpt export writes it)
COLUMN_IDS: dict[int, tuple[str, str]] = {
    4: ("<f8", "time/s"),
    5: ("<f4", "control/V/mA"),
    6: ("<f4", "Ewe/V"),
    7: ("<f8", "dq/mA.h"),
    8: ("<f4", "I/mA"),
    9: ("<f4", "Ece/V"),
    11: ("<f8", "<I>/mA"),
    13: ("<f8", "(Q-Qo)/mA.h"),
    16: ("<f4", "Analog IN 1/V"),
    17: ("<f4", "Analog IN 2/V"),
    19: ("<f4", "control/V"),
    20: ("<f4", "control/mA"),
    23: ("<f8", "dQ/mA.h"),
    24: ("<f8", "cycle number"),
    27: ("<f4", "Ewe-Ece/V"),
    32: ("<f4", "freq/Hz"),
    33: ("<f4", "|Ewe|/V"),
    34: ("<f4", "|I|/A"),
    35: ("<f4", "Phase(Z)/deg"),
    36: ("<f4", "|Z|/Ohm"),
    37: ("<f4", "Re(Z)/Ohm"),
    38: ("<f4", "-Im(Z)/Ohm"),
    39: ("<u2", "I Range"),
    70: ("<f4", "P/W"),
    74: ("<f8", "|Energy|/W.h"),
    76: ("<f4", "<I>/mA"),
    77: ("<f4", "<Ewe>/V"),
    96: ("<f4", "|Ece|/V"),
    98: ("<f4", "Phase(Zce)/deg"),
    99: ("<f4", "|Zce|/Ohm"),
    100: ("<f4", "Re(Zce)/Ohm"),
    101: ("<f4", "-Im(Zce)/Ohm"),
    123: ("<f8", "Energy charge/W.h"),
    124: ("<f8", "Energy discharge/W.h"),
    125: ("<f8", "Capacitance charge/µF"),
    126: ("<f8", "Capacitance discharge/µF"),
    131: ("<u2", "Ns"),
    168: ("<f4", "Rcmp/Ohm"),
    169: ("<f4", "Cs/µF"),
    172: ("<f4", "Cp/µF"),
    174: ("<f4", "<Ewe>/V"),
    430: ("<f4", "Phase(Zwe-ce)/deg"),
    431: ("<f4", "|Zwe-ce|/Ohm"),
    432: ("<f4", "Re(Zwe-ce)/Ohm"),
    433: ("<f4", "-Im(Zwe-ce)/Ohm"),
    434: ("<f4", "(Q-Qo)/C"),
    435: ("<f4", "dQ/C"),
    438: ("<f8", "step time/s"),
    441: ("<f4", "<Ece>/V"),
    462: ("<f4", "Temperature/°C"),
    467: ("<f8", "Q charge/discharge/mA.h"),
    468: ("<u4", "half cycle"),
    469: ("<u4", "z cycle"),
    471: ("<f4", "<Ece>/V"),
    473: ("<f4", "THD Ewe/%"),
    474: ("<f4", "THD I/%"),
    476: ("<f4", "NSD Ewe/%"),
    477: ("<f4", "NSD I/%"),
    479: ("<f4", "NSR Ewe/%"),
    480: ("<f4", "NSR I/%"),
    **{486 + k: ("<f4", f"|Ewe h{k + 2}|/V") for k in range(6)},
    **{492 + k: ("<f4", f"|I h{k + 2}|/A") for k in range(6)},
    880: ("<f8", "Energy we/W.h"),
    883: ("<f8", "Energy ce charge/W.h"),
    884: ("<f8", "Energy ce discharge/W.h"),
}

# flag column id -> (bit mask, EC-Lab label); all share one byte
FLAG_IDS: dict[int, tuple[int, str]] = {
    1: (0b0000_0011, "mode"),
    2: (0b0000_0100, "ox/red"),
    3: (0b0000_1000, "error"),
    21: (0b0001_0000, "control changes"),
    31: (0b0010_0000, "Ns changes"),
    65: (0b1000_0000, "counter inc."),
}

# technique id (first byte of the settings module) -> short name
TECHNIQUE_IDS: dict[int, str] = {
    0x04: "GCPL", 0x06: "CV", 0x0B: "OCV", 0x16: "MP", 0x18: "CA", 0x19: "CP",
    0x1C: "Wait", 0x1D: "PEIS", 0x1E: "GEIS", 0x32: "ZIR", 0x33: "CVA", 0x6C: "LSV",
    0x75: "CoV", 0x76: "CoC", 0x77: "GCPL", 0x7F: "MB", 0x88: "BCD",
}

_OLE_EPOCH = datetime(1899, 12, 30)
_AREA_UNITS = {2: 1.0, 3: 0.01}  # settings byte 0x250: 2 = cm², 3 = mm² (-> cm²)
_MASS_UNITS = {1: 1.0, 2: 1e-3}  # settings byte 0x251: 1 = g, 2 = mg (-> g)


@dataclass(frozen=True)
class Module:
    """One module of an .mpr: short name, version, payload and where it starts."""

    name: str
    version: int
    payload: memoryview
    offset: int


def _sniff(head: bytes, path: Path) -> bool:
    return head.startswith(MAGIC)


def read_modules(buffer: bytes, path: Path) -> list[Module]:
    """Split an .mpr into its modules.

    Raises
    ------
    FormatError
        When the magic, a ``MODULE`` tag or a module length does not fit the file.
    """
    if not buffer.startswith(MAGIC):
        raise FormatError(f"expected {MAGIC!r} at the start of a BioLogic .mpr",
                          file=path, position=binary_position(0))
    view = memoryview(buffer)
    modules: list[Module] = []
    position = FILE_HEADER_BYTES
    while position < len(buffer):
        if buffer[position:position + 6] != MODULE_TAG:
            raise FormatError(f"expected {MODULE_TAG!r} (a module header), found "
                              f"{bytes(buffer[position:position + 6])!r}",
                              file=path, position=binary_position(position))
        header = position + 6
        name_end = header + 35
        if name_end + 24 > len(buffer):
            raise FormatError("module header truncated: the file ends inside it",
                              file=path, position=binary_position(position))
        name = bytes(buffer[header:header + 10]).decode("latin-1").strip()
        if buffer[name_end:name_end + 4] == b"\xff\xff\xff\xff":
            length, version = struct.unpack_from("<II", buffer, name_end + 4)
            payload_start = name_end + 4 + 12 + 8
        else:
            length, version = struct.unpack_from("<II", buffer, name_end)
            payload_start = name_end + 8 + 8
        payload_end = payload_start + length
        if payload_end > len(buffer):
            raise FormatError(
                f"module {name!r} announces {length} bytes but the file ends after "
                f"{len(buffer) - payload_start} (truncated file?)",
                file=path, position=binary_position(payload_start))
        modules.append(Module(name, version, view[payload_start:payload_end], payload_start))
        position = payload_end
    return modules


def _record_layout(module: Module, path: Path) -> tuple[int, list[int], int, int, int]:
    """(points, column ids, offset of the first id, bytes per id, offset of the records)."""
    payload = module.payload
    if len(payload) < 6:
        raise FormatError("data module too short for its header", file=path,
                          position=binary_position(module.offset))
    n_points = struct.unpack_from("<I", payload, 0)[0]
    n_columns = payload[4]
    if module.version in (2, 3):
        ids_at, width, records_at = 5, 2, 405 if module.version == 2 else 406
    elif module.version == 0 and payload[5] != 0:
        ids_at, width, records_at = 5, 1, 100
    elif module.version == 0:
        ids_at, width, records_at = 6, 2, 1007
    else:
        raise FormatError(f"data module version {module.version} is not one labkit knows "
                          "(0, 2, 3)", file=path, position=binary_position(module.offset))
    if ids_at + width * n_columns > min(records_at, len(payload)):
        raise FormatError(f"{n_columns} column ids do not fit in the data module header",
                          file=path, position=binary_position(module.offset + ids_at))
    ids = list(struct.unpack_from(f"<{n_columns}{'B' if width == 1 else 'H'}", payload, ids_at))
    return n_points, ids, ids_at, width, records_at


def record_dtype(ids: list[int], ids_offset: int, width: int, path: Path) -> np.dtype:
    """The structured dtype of one record; unknown ids are a FormatError with their offset."""
    for index, column_id in enumerate(ids):
        if column_id not in COLUMN_IDS and column_id not in FLAG_IDS:
            raise FormatError(
                f"unknown column id {column_id} (column {index + 1} of {len(ids)}); its size "
                "is unknown so the records cannot be read",
                file=path, position=binary_position(ids_offset + width * index))
    return _known_record_dtype(tuple(ids))


@functools.lru_cache(maxsize=256)
def _known_record_dtype(ids: tuple[int, ...]) -> np.dtype:
    # one of a few dozen EC-Lab layouts: made once (a structured dtype is slow to build)
    fields: list[tuple[str, str]] = []
    for column_id in ids:
        if column_id in FLAG_IDS:
            if ("flags", "u1") not in fields:
                fields.append(("flags", "u1"))
            continue
        dtype, label = COLUMN_IDS[column_id]
        if any(name == label for name, _ in fields):
            label = f"{label} (id {column_id})"
        fields.append((label, dtype))
    return np.dtype(fields)


def read_records(module: Module, path: Path) -> dict[str, np.ndarray]:
    """The data module as EC-Lab label -> values (flags expanded), views of the file."""
    n_points, ids, ids_at, width, records_at = _record_layout(module, path)
    dtype = record_dtype(ids, module.offset + ids_at, width, path)
    available = len(module.payload) - records_at
    needed = n_points * dtype.itemsize
    if available != needed:
        raise FormatError(
            f"data module holds {available} bytes of records, expected {n_points} records x "
            f"{dtype.itemsize} bytes = {needed} (truncated file or wrong column layout)",
            file=path, position=binary_position(module.offset + records_at))
    records = np.frombuffer(module.payload, dtype=dtype, count=n_points, offset=records_at)
    columns: dict[str, np.ndarray] = {}
    flag_ids = [column_id for column_id in ids if column_id in FLAG_IDS]
    if flag_ids:  # one contiguous copy: masking the strided field 6 times cost 3x as much
        flags = np.ascontiguousarray(records["flags"])
        for column_id in flag_ids:
            mask, label = FLAG_IDS[column_id]
            shift = (mask & -mask).bit_length() - 1
            columns[label] = (flags & np.uint8(mask)) >> np.uint8(shift)
    for name in dtype.names or ():
        if name != "flags":
            columns[name] = records[name]
    return columns


def _pascal(payload: memoryview, offset: int) -> str | None:
    if offset >= len(payload):
        return None
    length = payload[offset]
    text = bytes(payload[offset + 1:offset + 1 + length]).decode("latin-1").strip()
    return text or None


def _float_at(payload: memoryview, offset: int) -> float | None:
    if offset + 4 > len(payload):
        return None
    return float(struct.unpack_from("<f", payload, offset)[0])


def _settings(module: Module) -> tuple[str, Sample, dict[str, object]]:
    """Technique name, sample values and extra fields from the ``VMP Set`` module."""
    payload = module.payload
    technique_id = payload[0] if len(payload) else -1
    technique = TECHNIQUE_IDS.get(technique_id, f"0x{technique_id:02x}")
    extra: dict[str, object] = {"technique_id": technique_id}
    mass_mg = placeholder_free(_float_at(payload, 0x107))
    area = placeholder_free(_float_at(payload, 0x211))
    characteristic = placeholder_free(_float_at(payload, 0x24C))
    capacity_mah = placeholder_free(_float_at(payload, 0x25C))
    area_unit = payload[0x250] if len(payload) > 0x251 else None
    mass_unit = payload[0x251] if len(payload) > 0x251 else None
    area_cm2 = area * _AREA_UNITS[area_unit] if area and area_unit in _AREA_UNITS else None
    if characteristic and mass_unit in _MASS_UNITS:
        extra["characteristic_mass_gram"] = characteristic * _MASS_UNITS[mass_unit]
    comments = _pascal(payload, 0x7)
    if comments:
        extra["comments"] = comments
    sample = Sample(
        area_square_centimeter=area_cm2,
        active_mass_gram=mass_mg * 1e-3 if mass_mg else None,
        nominal_capacity_ampere_hour=capacity_mah * 1e-3 if capacity_mah else None,
    )
    return technique, sample, extra


def _log(module: Module) -> tuple[str | None, str | None, dict[str, object]]:
    """(start time ISO 8601, software, extra) from the ``VMP LOG`` module."""
    payload = module.payload
    start = None
    if len(payload) >= 0x251:
        days = struct.unpack_from("<d", payload, 0x249)[0]
        if np.isfinite(days) and 0 < days < 200_000:
            start = (_OLE_EPOCH + timedelta(days=days)).isoformat(timespec="milliseconds")
    version = _pascal(payload, 0x3B7)
    extra: dict[str, object] = {}
    if len(payload) > 9:
        extra["channel_index"] = int(payload[9])
    software = None
    if version:
        family = "BT-Lab" if version.startswith("1.") else "EC-Lab"
        software = f"{family} {version}"
        extra["software_version"] = version
    return start, software, extra


def _ext_dev(module: Module) -> dict[str, object]:
    names = {f"analog_in_{k}": _pascal(module.payload, offset)
             for k, offset in ((1, 0x36), (2, 0x63))}
    return {key: value for key, value in names.items() if value}


@register("biologic-mpr", vendor="BioLogic",
          description="EC-Lab / BT-Lab binary data file (.mpr), module layouts v1 and v2",
          extensions=(".mpr",), kind="cycling/impedance", sniff=_sniff, priority=10, version="2")
def read_mpr(path: Path) -> CyclingRecord | ImpedanceRecord:
    """Read a BioLogic ``.mpr`` into a labkit record.

    Time-domain techniques give a :class:`CyclingRecord`; PEIS/GEIS/ZIR give an
    :class:`ImpedanceRecord` (see :mod:`labkit.parsers._biologic_columns`).

    Raises
    ------
    FormatError
        Naming the byte offset, for a damaged file or an unknown column id.
    """
    path = Path(path)
    modules = read_modules(file_bytes(path), path)
    by_name = {module.name: module for module in modules}
    if "VMP data" not in by_name:
        raise FormatError("no 'VMP data' module in the file", file=path,
                          position=binary_position(FILE_HEADER_BYTES))
    raw = read_records(by_name["VMP data"], path)
    technique, sample, extra = ("", Sample(), {})
    if "VMP Set" in by_name:
        technique, sample, extra = _settings(by_name["VMP Set"])
    start, software = None, None
    if "VMP LOG" in by_name:
        start, software, log_extra = _log(by_name["VMP LOG"])
        extra.update(log_extra)
    if "VMP ExtDev" in by_name:
        extra.update(_ext_dev(by_name["VMP ExtDev"]))
    if software and software.startswith("BT-Lab") and "Ewe/V" in raw:
        raw = {("Ecell/V" if label == "Ewe/V" else label): v for label, v in raw.items()}
    loop_starts = None
    if "VMP loop" in by_name:
        loop_starts = _loop_starts(by_name["VMP loop"], path)
    channel = str(extra["channel_index"] + 1) if software and software.startswith("EC-Lab") \
        and "channel_index" in extra else None
    meta = Metadata(
        technique=(technique,) if technique else (),
        start_time=start,
        instrument=software,
        channel=channel,
        sample=sample,
        notes=("start_time is the acquisition start from the LOG module, local time "
               "(the file states no UTC offset)",) if start else (),
        extra={"modules": [m.name for m in modules], **extra},
    )
    return build_record(raw, meta, loop_starts=loop_starts)


def _loop_starts(module: Module, path: Path) -> np.ndarray:
    payload = module.payload
    if len(payload) < 4:
        raise FormatError("loop module too short", file=path,
                          position=binary_position(module.offset))
    count = struct.unpack_from("<I", payload, 0)[0]
    if 4 + 4 * count > len(payload):
        raise FormatError(f"loop module announces {count} loops but holds fewer",
                          file=path, position=binary_position(module.offset))
    return np.frombuffer(payload, dtype="<u4", count=count, offset=4).astype(np.int64)
