"""Neware ``.ndc`` files whose header describes their record layout (ndc versions 7 and 15).

Learned from fastnda 1.3 (EmpaEConversion/fastnda, BSD-3-Clause); the code is labkit's own.

* ndc 7 (BTS 8): up to 40 little-endian i32 field codes from byte 13, ended by 0; the
  record is those fields in that order (:data:`NDC7_FIELDS`).
* ndc 15 (BTS 9): a fixed 36-byte prefix (:data:`NDC15_PREFIX`), the record size as a
  u32 at byte 516, and from byte 520 up to 300 items of (i32 quantity, u8 value type,
  i32 byte position) naming further quantities, ended by an all-zero item
  (:data:`NDC15_ITEMS`). Its step-type codes differ from BTS 8's above 20.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from labkit.errors import FormatError

#: ndc 7 field code -> (labkit field name, numpy type). Fields starting with ``_`` are not read.
NDC7_FIELDS: dict[int, list[tuple[str, str]]] = {
    1: [("_data_flag", "V1")], 6: [("index", "<u4")], 7: [("cycle", "<u4")],
    8: [("step_index", "u1")], 9: [("step_type", "u1")], 10: [("_step_changes", "V1")],
    11: [("_work_type", "V4")], 12: [("step_time_ms", "<u8")], 13: [("voltage", "<i4")],
    14: [("current", "<i4")], 15: [("_resistance", "V2")], 16: [("temperature", "<i2")],
    17: [("charge_capacity", "<i8")], 18: [("discharge_capacity", "<i8")],
    19: [("charge_energy", "<i8")], 20: [("discharge_energy", "<i8")],
    21: [("year", "<u2"), ("month", "u1"), ("day", "u1"), ("hour", "u1"), ("minute", "u1"),
         ("second", "u1")],
    28: [("_step_range", "V4")], 29: [("_total_time_ms", "V8")], 51: [("_total_capacity", "V8")],
    52: [("_total_energy", "V8")], 53: [("millisecond", "<u2")],
}
_NDC7_CODES_AT, _NDC7_CODES = 13, 40


def ndc7_record(buffer: bytes, error: Callable[[str, int], FormatError]) -> np.dtype:
    """The record dtype an ndc 7 file describes; ``error(message, offset)`` builds the
    FormatError for an unknown field code."""
    codes = np.frombuffer(buffer, "<i4", _NDC7_CODES, _NDC7_CODES_AT).tolist()
    fields: list[tuple[str, str]] = []
    for position, code in enumerate(codes):
        if code == 0:
            break
        if code not in NDC7_FIELDS:
            raise error(f"ndc 7 field code {code} is not one labkit knows (known: "
                        f"{sorted(NDC7_FIELDS)}); the fields after it cannot be placed",
                        _NDC7_CODES_AT + 4 * position)
        fields += NDC7_FIELDS[code]
    if not fields:
        raise error("ndc 7 header lists no record fields", _NDC7_CODES_AT)
    return np.dtype(fields)


#: The fixed first 36 bytes of an ndc 15 record: (name, type, byte offset).
NDC15_PREFIX = [
    ("step_index", "u1", 2), ("step_type", "u1", 3), ("index", "<u4", 8),
    ("test_time_s", "<u4", 12), ("test_time_ns", "<u4", 16), ("current", "<f4", 20),
    ("voltage", "<f4", 24), ("capacity", "<f4", 28), ("energy", "<f4", 32),
]
#: ndc 15 quantity code -> the fields it adds at its byte position (others, such as power
#: (11), are skipped).
NDC15_ITEMS: dict[int, list[tuple[str, str]]] = {
    15: [("unix_time_s", "<u4"), ("unix_time_ns", "<u4")],
    65: [("step_time_s", "<u4"), ("step_time_ns", "<u4")],
    5: [("charge_capacity", "<f4")], 6: [("discharge_capacity", "<f4")],
    8: [("charge_energy", "<f4")], 9: [("discharge_energy", "<f4")],
}
_NDC15_ITEM = np.dtype([("quantity", "<i4"), ("value_type", "u1"), ("position", "<i4")])
_NDC15_SIZE_AT, _NDC15_ITEMS_AT, _NDC15_MAX_ITEMS = 516, 520, 300

#: ndc 15 step-type codes -> BTS 8 codes (:data:`labkit.parsers._neware.STEP_TYPE_NAMES`);
#: codes not listed become 0 (Undefined).
NDC15_STEP_TYPES = {**{code: code for code in (*range(14), *range(16, 21))}, 21: 27, 22: 26}
#: ndc 15 step types whose capacity is charge (+1) or discharge (-1); SIM (17) keeps the
#: sign stored with its capacity.
NDC15_DIRECTION = {**dict.fromkeys((1, 3, 7, 9, 11, 16, 17, 18, 21), 1),
                   **dict.fromkeys((2, 8, 10, 19, 20, 22), -1)}
NDC15_SIM = 17


def ndc15_record(buffer: bytes, error: Callable[[str, int], FormatError]) -> np.dtype:
    """The record dtype an ndc 15 file describes (fixed prefix + the items it lists)."""
    if len(buffer) < _NDC15_ITEMS_AT + _NDC15_MAX_ITEMS * _NDC15_ITEM.itemsize:
        raise error("ndc 15 header shorter than its item table", len(buffer))
    size = int.from_bytes(buffer[_NDC15_SIZE_AT:_NDC15_SIZE_AT + 4], "little")
    items = np.frombuffer(buffer, _NDC15_ITEM, _NDC15_MAX_ITEMS, _NDC15_ITEMS_AT)
    ends = np.flatnonzero((items["quantity"] == 0) & (items["value_type"] == 0))
    items = items[:ends[0] if len(ends) else len(items)]
    fields = list(NDC15_PREFIX)
    for quantity, position in zip(items["quantity"].tolist(), items["position"].tolist(),
                                  strict=True):
        for name, kind in NDC15_ITEMS.get(quantity, []):
            fields.append((name, kind, position))
            position += np.dtype(kind).itemsize
    end = max(offset + np.dtype(kind).itemsize for _, kind, offset in fields)
    if size < end:
        raise error(f"ndc 15 record size {size} is smaller than its fields ({end} bytes)",
                    _NDC15_SIZE_AT)
    names, kinds, offsets = zip(*fields, strict=True)
    return np.dtype({"names": list(names), "formats": list(kinds), "offsets": list(offsets),
                     "itemsize": size})
