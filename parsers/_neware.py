"""Helpers shared by the Neware parsers (.nda, .ndax, BTSDA exports).

Neware's step-type codes, the current-range multiplier of BTS 7/8 files, step and
cycle counting, and the assembly of a labkit cycling frame from per-step Neware
quantities. The code tables follow the layouts documented by fastnda
(g-kimbell/fastnda, BSD-3-Clause) and NewareNDA (d-cogswell/NewareNDA,
BSD-3-Clause); the code here is labkit's own.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np
import pandas as pd

#: Neware step-type code (as stored in .nda/.ndc records) -> name as BTSDA spells it.
STEP_TYPE_NAMES: dict[int, str] = {
    0: "Undefined", 1: "CC Chg", 2: "CC DChg", 3: "CV Chg", 4: "Rest", 5: "Cycle",
    6: "End", 7: "CCCV Chg", 8: "CP DChg", 9: "CP Chg", 10: "CR DChg", 11: "CR Chg",
    12: "IR", 13: "Pause", 16: "Pulse Step", 17: "SIM", 18: "PCCCV Chg", 19: "CV DChg",
    20: "CCCV DChg", 21: "Control", 22: "OCV", 23: "SubStep", 24: "Follow", 25: "Ramp",
    26: "CPCV DChg", 27: "CPCV Chg", 28: "CRCV DChg", 29: "CRCV Chg", 30: "CV Scan",
}

#: Step-type codes that charge (+1) or discharge (-1) the cell.
STEP_DIRECTION: dict[int, int] = {
    1: 1, 3: 1, 7: 1, 9: 1, 11: 1, 18: 1, 27: 1, 29: 1,
    2: -1, 8: -1, 10: -1, 19: -1, 20: -1, 26: -1, 28: -1,
}

#: How labkit numbers cycles where the file carries no cycle field (stated in meta.notes).
DERIVED_CYCLE_NOTE = (
    "cycle_count is derived from the step sequence: it starts at 1 and increases by one "
    "at the first charging step (CC/CV/CCCV/CP/CR Chg...) that follows a discharging "
    "step; rest, pulse, SIM and other steps do not change it. BTSDA instead numbers "
    "cycles from the schedule's Cycle (loop) steps, so the two can differ for "
    "schedules that do not alternate charge and discharge."
)

RAW_CYCLE_NOTE = (
    "cycle_count is the cycle field of the raw records plus one (Neware stores it from 0). "
    "BTSDA's 'Cycle Index' equals it for single-loop schedules; for schedules with several or "
    "nested Cycle steps BTSDA numbers cycles its own way (e.g. it also counts Cycle steps "
    "run once), so the two can differ there."
)

#: Why a Neware record with unix times has ``time_zone == "UTC"`` while its start is local.
UNIX_TIME_NOTE = (
    "unix_time_second is the records' unix time (UTC: BTSDA shows it shifted by the exporting "
    "computer's UTC offset); start_time is the test header's text, the server's local clock "
    "(no zone stated; labkit.read(..., timezone=) converts it)")

CAPACITY_NOTE = (
    "Neware records charge and discharge capacity and energy per step; "
    "step_capacity_ampere_hour / step_energy_watt_hour are |charge - discharge| within the "
    "step (as BTSDA's Capacity; it differs from charge + discharge only in SIM/pulse steps), and "
    "charging_/discharging_capacity_ampere_hour (and energies) are accumulated over the "
    "steps of each cycle_count as labkit defines them."
)


def step_type_categorical(codes: np.ndarray) -> pd.Categorical:
    """Neware step-type codes as a categorical of BTSDA names (unknown codes keep their number)."""
    codes = np.asarray(codes, dtype=np.uint8)
    present = np.flatnonzero(np.bincount(codes, minlength=256))
    lookup = np.zeros(256, dtype=np.int8 if len(present) < 128 else np.int16)
    lookup[present] = np.arange(len(present))
    return pd.Categorical.from_codes(lookup[codes], dtype=_step_type_dtype(tuple(present.tolist())),
                                     validate=False)


@functools.lru_cache(maxsize=64)
def _step_type_dtype(present: tuple[int, ...]) -> pd.CategoricalDtype:
    """The categorical dtype of these step-type codes (made once: pandas takes milliseconds
    to build the string categories, as long as parsing a small file)."""
    return pd.CategoricalDtype([STEP_TYPE_NAMES.get(code, f"Type {code}") for code in present])


def range_multiplier(current_range: np.ndarray) -> np.ndarray:
    """The factor converting raw current/capacity integers to mA / mAs from the range code.

    Negative range codes are µA-class ranges, positive ones mA-class; 0 means the
    file's fixed range is unknown (treated as 0.1 mA per count, as BTS does). The
    range changes rarely, so the factor is worked out once per run of equal codes.
    """
    r = np.asarray(current_range, dtype=np.int64)
    if not len(r):
        return np.zeros(0)
    starts = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
    code = r[starts]
    a = np.abs(code)
    negative = np.select([a < 10, a < 100, a < 1000, a < 1_000_000, a < 10_000_000, a < 100_000_000],
                         [1e-5, 1e-4, 1e-3, 1e-2, 1e-8, 1e-7], 1e-6)
    positive = np.select([a < 10, a < 100, a < 1000], [1e-4, 1e-3, 1e-2], 1e-1)
    factor = np.where((code == 0) | (code < -2_000_000_000), 1e-1,
                      np.where(code < 0, negative, positive))
    return np.repeat(factor, np.diff(np.r_[starts, len(r)]))


def gather(records: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``records[keep]`` as a plain block copy (numpy copies structured items field by
    field, many times slower than copying them as opaque bytes)."""
    opaque = records.view(np.dtype((np.void, records.dtype.itemsize)))
    return opaque[keep].view(records.dtype)


def fields(records: np.ndarray) -> dict[str, np.ndarray]:
    """The named fields (not starting with ``_``) of a record array, as views."""
    return {name: records[name] for name in records.dtype.names if not name.startswith("_")}


def kept(records: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The kept records: a view when they are one contiguous run (all, or all but some
    leading/trailing header records), else one block gather."""
    count = int(np.count_nonzero(keep))
    first = int(np.argmax(keep)) if count else 0
    if keep[first:first + count].all():
        return records[first:first + count]
    return gather(records, keep)


#: Records converted per chunk by :func:`fill_rows` (~350 KiB of 86-byte records: fits
#: in the L2 cache, so each field after the first is read from cache, not memory).
CHUNK_ROWS = 4096


def fill_rows(records: np.ndarray,
              plan: list[tuple[np.ufunc | None, object, object, np.ndarray]]) -> None:
    """Run every ``ufunc(a, b, out=row)`` of ``plan`` over the records, chunk by chunk.

    ``a`` and ``b`` are a field name of ``records``, a per-record array or a scalar;
    ``ufunc`` None copies ``a`` into ``row``. Taken field by field over the whole
    array, every field read would stream all records from memory again (a record
    holds ~15 fields in 86 bytes); chunk by chunk, the records are read from memory
    once and every step's result is the same as on whole columns.
    """
    rows = len(records)
    for start in range(0, rows, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, rows)
        chunk = records[start:stop]

        def part(operand: object, start: int = start, stop: int = stop,
                 chunk: np.ndarray = chunk) -> object:
            if isinstance(operand, str):
                return chunk[operand]
            return operand[start:stop] if isinstance(operand, np.ndarray) else operand

        for ufunc, a, b, row in plan:
            if ufunc is None:
                np.copyto(row[start:stop], part(a), casting="unsafe")
            else:
                ufunc(part(a), part(b), out=row[start:stop])


def count_changes(*columns: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Running count (from 1) of rows where any of the columns changes value (into ``out``
    when given)."""
    n = len(columns[0])
    changed = np.zeros(n, dtype=bool)
    if n:
        changed[0] = True
    for column in columns:
        changed[1:] |= column[1:] != column[:-1]
    return np.cumsum(changed, dtype=np.int64, out=out)


_DIRECTION_TABLE = np.zeros(256, dtype=np.int8)
for _code, _sign in STEP_DIRECTION.items():
    _DIRECTION_TABLE[_code] = _sign


def direction_of(step_type: np.ndarray) -> np.ndarray:
    """+1 for charging, -1 for discharging, 0 for other step-type codes."""
    return _DIRECTION_TABLE[np.asarray(step_type, dtype=np.uint8)]


def derive_cycle_count(step_type: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Cycle numbers from step types (see :data:`DERIVED_CYCLE_NOTE`), into ``out`` when given."""
    direction = direction_of(step_type)
    # Forward-fill the last charge/discharge direction over rest and other steps.
    known = direction != 0
    last = np.maximum.accumulate(np.where(known, np.arange(len(direction)), -1))
    filled = np.where(last >= 0, direction[np.maximum(last, 0)], 0)
    starts = np.zeros(len(filled), dtype=bool)
    starts[1:] = (filled[1:] == 1) & (filled[:-1] == -1)
    count = np.cumsum(starts, dtype=np.int64, out=out)
    return np.add(count, 1, out=count)


def step_bounds(step_count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First-row and one-past-last-row index of each run of equal ``step_count``."""
    n = len(step_count)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    starts = np.flatnonzero(np.r_[True, step_count[1:] != step_count[:-1]])
    ends = np.r_[starts[1:], n]
    return starts, ends


def test_time_from_step_time(step_time: np.ndarray, starts: np.ndarray,
                             ends: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Test time as the step time plus the final step times of all earlier steps (BTSDA's way).

    ``starts``/``ends`` are the step bounds from :func:`step_bounds`; ``out`` receives
    the result when given.
    """
    if not len(starts):
        return np.add(step_time, 0.0, out=out)
    final = step_time[ends - 1].astype(np.float64)
    before = np.r_[0.0, np.cumsum(final)[:-1]]
    return np.add(step_time, np.repeat(before, ends - starts), out=out)


def accumulate_over_cycle(per_step: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                          cycle_count: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Turn a quantity that restarts at every step into one that restarts at every cycle.

    ``out`` (which may be ``per_step`` itself) receives the result when given.
    """
    if not len(starts):
        return np.add(per_step, 0.0, out=out)
    final = per_step[ends - 1].astype(np.float64)
    before = np.r_[0.0, np.cumsum(final)[:-1]]
    cycle_of_step = cycle_count[starts]
    new_cycle = np.r_[True, cycle_of_step[1:] != cycle_of_step[:-1]]
    first_step_of_cycle = np.maximum.accumulate(np.where(new_cycle, np.arange(len(starts)), 0))
    offset = before - before[first_step_of_cycle]
    return np.add(per_step, np.repeat(offset, ends - starts), out=out)


#: The float64 and int64 columns of every Neware frame.
FLOAT_COLUMNS = (
    "test_time_second", "step_time_second", "unix_time_second", "voltage_volt", "current_ampere",
    "charging_capacity_ampere_hour", "discharging_capacity_ampere_hour",
    "step_capacity_ampere_hour", "charging_energy_watt_hour", "discharging_energy_watt_hour",
    "step_energy_watt_hour",
)
INT_COLUMNS = ("cycle_count", "step_index", "step_count", "record_index")
_FRAME_ORDER = (*FLOAT_COLUMNS[:5], *INT_COLUMNS, *FLOAT_COLUMNS[5:])
#: (per-step charge input, per-step discharge input, unit suffix of the frame columns)
_QUANTITIES = (("charge_ah", "discharge_ah", "capacity_ampere_hour"),
               ("charge_wh", "discharge_wh", "energy_watt_hour"))


class FrameColumns(dict):
    """Output columns by labkit name, rows of one float64 and one int64 block (see
    :func:`frame_columns`)."""


def frame_columns(rows: int) -> FrameColumns:
    """Uninitialised output columns, as rows of one float64 and one int64 block.

    A reader computes its columns straight into these (``out=``), per-step charge and
    discharge capacity/energy into the ``charging_``/``discharging_`` rows, deletes
    the rows it has no data for, and hands them to :func:`cycling_frame`, which fills
    test time and the step and per-cycle quantities in place. Two allocations instead
    of one per column and intermediate: numpy maps large blocks in huge pages, where
    fresh per-column arrays cost a page fault every 4 KiB, and on large files those
    faults took more time than the parsing.
    """
    floats = np.empty((len(FLOAT_COLUMNS), rows))
    ints = np.empty((len(INT_COLUMNS), rows), dtype=np.int64)
    return FrameColumns({**dict(zip(FLOAT_COLUMNS, floats, strict=True)),
                         **dict(zip(INT_COLUMNS, ints, strict=True))})


def _from_mapping(columns: Mapping[str, np.ndarray]) -> FrameColumns:
    """Copy the documented inputs of :func:`cycling_frame` into :func:`frame_columns` rows."""
    out = frame_columns(len(columns["step_count"]))
    for name in (*FLOAT_COLUMNS[:5], *INT_COLUMNS):
        if name in columns:
            np.copyto(out[name], columns[name], casting="unsafe")
        elif name in ("unix_time_second", "record_index"):
            del out[name]
    for charge, discharge, unit in _QUANTITIES:
        if charge in columns:
            np.copyto(out[f"charging_{unit}"], columns[charge], casting="unsafe")
            np.copyto(out[f"discharging_{unit}"], columns[discharge], casting="unsafe")
        else:
            for name in (f"charging_{unit}", f"discharging_{unit}", f"step_{unit}"):
                del out[name]
    return out


def cycling_frame(columns: Mapping[str, np.ndarray], *, step_type: np.ndarray,
                  extra: Mapping[str, np.ndarray] | None = None) -> pd.DataFrame:
    """Assemble the labkit frame from Neware quantities already in SI units.

    Parameters
    ----------
    columns
        Either :func:`frame_columns` rows filled by the reader (used in place), or a
        mapping that must hold ``step_time_second``, ``voltage_volt``,
        ``current_ampere``, ``cycle_count``, ``step_index``, ``step_count``; may hold
        ``record_index``, the per-step ``charge_ah``/``discharge_ah`` and
        ``charge_wh``/``discharge_wh``, ``test_time_second``, ``unix_time_second``.
    step_type
        Neware step-type codes, one per row.
    extra
        Further finished columns (temperature, aux channels), appended as given.
    """
    out = columns if isinstance(columns, FrameColumns) else _from_mapping(columns)
    step_count, cycle_count = out["step_count"], out["cycle_count"]
    starts, ends = step_bounds(step_count)
    if "test_time_second" not in columns or out is columns:
        test_time_from_step_time(out["step_time_second"], starts, ends, out=out["test_time_second"])
    for _, _, unit in _QUANTITIES:
        if f"step_{unit}" not in out:
            continue
        charging, discharging, step = out[f"charging_{unit}"], out[f"discharging_{unit}"], \
            out[f"step_{unit}"]
        np.abs(charging, out=charging)
        np.abs(discharging, out=discharging)
        np.abs(np.subtract(charging, discharging, out=step), out=step)
        accumulate_over_cycle(charging, starts, ends, cycle_count, out=charging)
        accumulate_over_cycle(discharging, starts, ends, cycle_count, out=discharging)
    frame = {name: out[name] for name in _FRAME_ORDER if name in out}
    if extra:
        frame.update(extra)
    frame["neware_step_type"] = step_type_categorical(np.asarray(step_type))
    return pd.DataFrame(frame, copy=False)


_AUX_PATTERNS = {"V": "neware_aux_v{n}_volt", "T": "neware_aux_t{n}_celsius",
                 "t": "neware_aux_setpoint_t{n}_celsius", "H": "neware_aux_h{n}_percent",
                 "CPU": "neware_aux_cpu{n}_celsius"}


def aux_column_name(kind: str, number: int | str, taken: Mapping[str, object]) -> str:
    """labkit name of an auxiliary channel, following BTSDA's labels (V1, T1, t1, H2...).

    The first temperature channel (``T``) becomes ``temperature_celsius``; a kind
    BTSDA has no letter for is kept as ``neware_aux_<kind><number>`` without a unit.
    """
    if kind == "T" and "temperature_celsius" not in taken:
        return "temperature_celsius"
    name = _AUX_PATTERNS.get(kind, "neware_aux_" + kind.lower() + "{n}").format(n=number)
    base, duplicate = name, 2
    while name in taken:
        head, _, unit = base.rpartition("_")
        name = f"{head}_{duplicate}_{unit}" if kind in _AUX_PATTERNS else f"{base}_{duplicate}"
        duplicate += 1
    return name
