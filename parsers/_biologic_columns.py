"""BioLogic (EC-Lab / BT-Lab) column labels, their labkit names, and record assembly.

Both BioLogic readers (binary ``.mpr`` in :mod:`labkit.parsers.biologic_mpr`, text
``.mpt`` in :mod:`labkit.parsers.biologic_mpt`) first produce a table whose columns
carry EC-Lab's own labels (``"Ewe/V"``, ``"I/mA"``, ``"(Q-Qo)/mA.h"``...).
:func:`build_record` turns that table into a labkit record: canonical names in SI
units (:mod:`labkit.columns`), vendor-only columns as ``biologic_<name>_<unit>``,
and an :class:`~labkit.data.ImpedanceRecord` for impedance techniques.

Conventions (also written into ``meta.notes`` of every record):

* ``voltage_volt`` is ``Ecell/V`` when the file has it (BT-Lab), else ``Ewe/V``
  (working electrode vs reference), else ``<Ewe>/V``; ``Ece/V`` becomes
  ``counter_electrode_voltage_volt``; ``Ewe-Ece/V`` stays ``biologic_ewe_ece_volt``.
* ``current_ampere`` is ``I/mA`` (or ``<I>/mA`` when the file has no ``I/mA``) in A.
  BioLogic's ``I > 0`` is oxidation at the working electrode, i.e. charge: labkit's
  convention already, no sign change.
* ``cycle_count`` is EC-Lab's ``cycle number`` plus one when the file counts cycles
  from 0 (battery techniques), as written when it counts from 1 (CV, PEIS). A file
  without ``cycle number`` gets ``half cycle // 2 + 1``, the rule EC-Lab's export uses.
* A file that records no current but ``dq`` gets ``current_ampere = dq/dt`` per
  interval (first row 0), which is how EC-Lab's export computes ``<I>/mA``.
* ``z_imag_ohm`` is minus EC-Lab's ``-Im(Z)/Ohm``: negative for capacitive arcs. Rows
  with ``freq/Hz = 0`` in EIS files are not impedance points and are dropped.
* EC-Lab's ``dq`` (small q) is ``biologic_dq_ampere_hour``, its ``dQ`` (capital) is
  ``biologic_delta_q_ampere_hour``; both are kept as the file gives them.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from labkit.data import CyclingRecord, ImpedanceRecord, Metadata
from labkit.errors import FormatError

try:  # pandas >= 3: a DataFrame straight from 2-D blocks, no per-column checks or copies
    from pandas.api.internals import create_dataframe_from_blocks
except ImportError:  # pandas 2 (Python 3.10) makes the frame from a dict of the columns
    create_dataframe_from_blocks = None

#: Techniques whose rows are impedance spectra (names as EC-Lab writes them).
IMPEDANCE_TECHNIQUES = frozenset({"PEIS", "GEIS", "SPEIS", "SGEIS", "ZIR"})

#: EC-Lab's technique titles (line 4 of an .mpt) -> short name.
TECHNIQUE_TITLES: dict[str, str] = {
    "Galvanostatic Cycling with Potential Limitation": "GCPL",
    "Potentio Electrochemical Impedance Spectroscopy": "PEIS",
    "Galvano Electrochemical Impedance Spectroscopy": "GEIS",
    "Potentiostatic Electrochemical Impedance Spectroscopy": "PEIS",
    "Galvanostatic Electrochemical Impedance Spectroscopy": "GEIS",
    "Staircase Potentio Electrochemical Impedance Spectroscopy": "SPEIS",
    "Staircase Galvano Electrochemical Impedance Spectroscopy": "SGEIS",
    "IR compensation (PEIS)": "ZIR",
    "Open Circuit Voltage": "OCV",
    "Cyclic Voltammetry": "CV",
    "Cyclic Voltammetry Advanced": "CVA",
    "Linear Sweep Voltammetry": "LSV",
    "Chronoamperometry / Chronocoulometry": "CA",
    "Chronopotentiometry": "CP",
    "Constant Current": "CoC",
    "Constant Voltage": "CoV",
    "Modulo Bat": "MB",
    "Battery Capacity Determination": "BCD",
    "Modular Potentio": "MP",
    "Modular Galvano": "MG",
    "Wait": "Wait",
}
_KNOWN_TECHNIQUES = frozenset(TECHNIQUE_TITLES.values()) | IMPEDANCE_TECHNIQUES


@dataclass(frozen=True)
class Target:
    """Where a BioLogic column goes: labkit name, factor to SI, integer or not."""

    name: str
    scale: float = 1.0
    integer: bool = False


# EC-Lab label -> target. Labels are compared after :func:`label_key` (non-ASCII
# characters dropped, so "Temperature/°C" and a mis-encoded "Temperature/�C" match).
_KNOWN: dict[str, Target] = {
    "time/s": Target("test_time_second"),
    "step time/s": Target("step_time_second"),
    "I/mA": Target("current_ampere", 1e-3),
    "Ece/V": Target("counter_electrode_voltage_volt"),
    "Ewe-Ece/V": Target("biologic_ewe_ece_volt"),
    "control/V/mA": Target("biologic_control"),
    "control/V": Target("biologic_control_volt"),
    "control/mA": Target("biologic_control_ampere", 1e-3),
    "(Q-Qo)/mA.h": Target("net_capacity_ampere_hour", 1e-3),
    "(Q-Qo)/C": Target("net_capacity_ampere_hour", 1 / 3600),
    "dq/mA.h": Target("biologic_dq_ampere_hour", 1e-3),
    "dQ/mA.h": Target("biologic_delta_q_ampere_hour", 1e-3),
    "dQ/C": Target("biologic_delta_q_ampere_hour", 1 / 3600),
    "Q charge/mA.h": Target("charging_capacity_ampere_hour", 1e-3),
    "Q discharge/mA.h": Target("discharging_capacity_ampere_hour", 1e-3),
    "Energy charge/W.h": Target("charging_energy_watt_hour"),
    "Energy discharge/W.h": Target("discharging_energy_watt_hour"),
    "Energy we charge/W.h": Target("charging_energy_watt_hour"),
    "Energy we discharge/W.h": Target("discharging_energy_watt_hour"),
    "P/W": Target("power_watt"),
    "Pwe/W": Target("power_watt"),
    "Ns": Target("step_index", integer=True),
    "half cycle": Target("biologic_half_cycle", integer=True),
    "z cycle": Target("biologic_z_cycle", integer=True),
    "I Range": Target("biologic_i_range", integer=True),
    "I range": Target("biologic_i_range", integer=True),
    "mode": Target("biologic_mode", integer=True),
    "ox/red": Target("biologic_ox_red", integer=True),
    "error": Target("biologic_error", integer=True),
    "control changes": Target("biologic_control_changes", integer=True),
    "Ns changes": Target("biologic_ns_changes", integer=True),
    "counter inc.": Target("biologic_counter_inc", integer=True),
    "freq/Hz": Target("frequency_hertz"),
    "Re(Z)/Ohm": Target("z_real_ohm"),
    "-Im(Z)/Ohm": Target("z_imag_ohm", -1.0),
    "|Z|/Ohm": Target("z_modulus_ohm"),
    "Phase(Z)/deg": Target("z_phase_degree"),
    "Temperature/C": Target("temperature_celsius"),
    "T/C": Target("temperature_celsius"),
    "x": Target("biologic_x"),
}

# Voltage and current labels whose target depends on what else the file holds.
_CELL_VOLTAGE = ("Ecell/V", "Ewe/V", "<Ewe>/V")
_CURRENT = ("I/mA", "<I>/mA")

# unit as EC-Lab spells it -> (labkit unit word, factor to it). Only units whose word
# labkit.columns.unit_of knows are converted (the longest spelling that ends a label wins,
# so "mA/s" is never read as "s"); any other unit is kept as written, its spelling
# slugged into the name, and unit_of leaves it unitless.
_UNITS: dict[str, tuple[str, float]] = {
    "V": ("volt", 1.0), "mV": ("volt", 1e-3), "A": ("ampere", 1.0), "mA": ("ampere", 1e-3),
    "µA": ("ampere", 1e-6), "A.h": ("ampere_hour", 1.0), "mA.h": ("ampere_hour", 1e-3),
    "µA.h": ("ampere_hour", 1e-6), "W.h": ("watt_hour", 1.0), "mW.h": ("watt_hour", 1e-3),
    "W": ("watt", 1.0), "mW": ("watt", 1e-3), "Ohm": ("ohm", 1.0), "Hz": ("hertz", 1.0),
    "deg": ("degree", 1.0), "s": ("second", 1.0), "C": ("coulomb", 1.0),
    "mC": ("coulomb", 1e-3), "F": ("farad", 1.0), "µF": ("farad", 1e-6),
    "nF": ("farad", 1e-9), "%": ("percent", 1.0), "°C": ("celsius", 1.0),
    "°c": ("celsius", 1.0), "g": ("gram", 1.0), "mg": ("gram", 1e-3),
    "S.cm-1": ("siemens_per_centimeter", 1.0), "mS/cm": ("siemens_per_centimeter", 1e-3),
    "mA/s": ("ampere_per_second", 1e-3), "mA.h/V": ("ampere_hour_per_volt", 1e-3),
    "Ohm.cm": ("ohm_centimeter", 1.0), "Ohm-1": ("siemens", 1.0),
    "µF-2": ("per_square_farad", 1e12), "rad": ("radian", 1.0),
    "rpm": ("revolution_per_minute", 1.0),
}
_UNITS_LONGEST_FIRST = sorted(_UNITS, key=len, reverse=True)

# Label normalisation and targets are pure functions of a label: cached, as the same few
# dozen labels recur in every file (their regexes dominated a small file's parse time).
_LABEL_CACHE_SIZE = 4096


@functools.lru_cache(maxsize=_LABEL_CACHE_SIZE)
def label_key(label: str) -> str:
    """An EC-Lab label reduced to ASCII with single spaces, for matching.

    EC-Lab writes ``<Ewe/V>`` in some exports for ``<Ewe>/V``; both give ``<Ewe>/V``.
    """
    ascii_only = label.encode("ascii", "ignore").decode().strip()
    ascii_only = re.sub(r"\s+", " ", ascii_only)
    return re.sub(r"^<(\w+)/(\w+)>$", r"<\1>/\2", ascii_only)


def _slug(text: str) -> str:
    text = re.sub(r"\|([^|]*)\|", r"abs \1", text)
    text = text.replace("(Q-Qo)", "q_qo").replace("-Im", "minus_im").replace("|", "")
    text = re.sub(r"<([^>]*)>", r"mean \1", text)
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


@functools.lru_cache(maxsize=_LABEL_CACHE_SIZE)
def generic_target(label: str) -> Target:
    """``biologic_<name>_<unit>`` (SI when labkit knows the unit) for a non-canonical label.

    >>> generic_target("Capacitance charge/µF")
    Target(name='biologic_capacitance_charge_farad', scale=1e-06, integer=False)
    >>> generic_target("Re(Y)/Ohm-1").name
    'biologic_re_y_siemens'
    """
    spelled = re.sub(r"\s+", " ", label.strip()).replace("μ", "µ")
    spelled = spelled.replace("\ufffdC", "°C").replace("\ufffdF", "µF")
    unit = next((u for u in _UNITS_LONGEST_FIRST if spelled.endswith("/" + u)), None)
    if unit is not None:
        name = spelled[: -len(unit) - 1]
        unit_word, scale = _UNITS[unit]
    else:
        name, _, raw_unit = spelled.rpartition("/") if "/" in spelled else (spelled, "", "")
        unit_word, scale = _slug(raw_unit.replace("µ", "u").replace("°", "deg")), 1.0
    parts = [p for p in ("biologic", _slug(label_key(name)), unit_word) if p]
    return Target("_".join(parts), scale)


def column_targets(
    labels: list[str], impedance: bool
) -> tuple[dict[str, Target], list[str]]:
    """The labkit target of every EC-Lab label (voltage/current roles resolved), and notes."""
    keys = {label: label_key(label) for label in labels}
    present = set(keys.values())
    notes: list[str] = []
    targets: dict[str, Target] = {}
    voltage = next((v for v in _CELL_VOLTAGE if v in present), None)
    current = next((c for c in _CURRENT if c in present), None)
    for label, key in keys.items():
        if impedance and key == "<Ewe>/V":
            target = Target("dc_voltage_volt")
        elif impedance and key == "<I>/mA":
            target = Target("dc_current_ampere", 1e-3)
        elif key in _CELL_VOLTAGE:
            if key == voltage and not impedance:
                target = Target("voltage_volt")
            elif key == "Ewe/V":
                target = Target("working_electrode_voltage_volt")
            else:
                target = generic_target(label)
        elif key in _CURRENT and not impedance:
            target = Target("current_ampere", 1e-3) if key == current else generic_target(label)
        elif key == "cycle number":
            target = Target("cycle_count", integer=True)
        else:
            target = _KNOWN.get(key) or generic_target(label)
        targets[label] = target
    if voltage and not impedance:
        notes.append(f"voltage_volt is BioLogic {voltage}")
    if current and not impedance:
        notes.append(f"current_ampere is BioLogic {current} in A; I > 0 is oxidation = charge")
    return targets, notes


def is_impedance(technique: tuple[str, ...], raw: Mapping[str, np.ndarray]) -> bool:
    """Whether a file is impedance data.

    A known technique decides (PEIS, GEIS, ZIR... are impedance; GCPL, MB, CV... are
    not). Without one (headerless exports), the data decides: frequency, Re(Z) and
    -Im(Z) columns with measured frequencies, and no time-series voltage/current column.
    """
    if technique and all(t in _KNOWN_TECHNIQUES for t in technique):
        return all(t in IMPEDANCE_TECHNIQUES for t in technique)
    keys = {label_key(str(label)): label for label in raw}
    if not {"freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm"} <= set(keys):
        return False
    if {"Ewe/V", "Ecell/V", "I/mA"} & set(keys):
        return False
    frequency = pd.to_numeric(pd.Series(raw[keys["freq/Hz"]]), errors="coerce").to_numpy(float)
    return bool(np.any(np.isfinite(frequency) & (frequency > 0)))


def build_record(
    raw: Mapping[str, np.ndarray],
    meta: Metadata,
    *,
    loop_starts: np.ndarray | None = None,
    position: str | None = None,
) -> CyclingRecord | ImpedanceRecord:
    """Turn a table with EC-Lab labels into a labkit record.

    Parameters
    ----------
    raw
        EC-Lab label -> values (in EC-Lab units), in file order, all of one length.
    meta
        Metadata so far; ``technique`` decides impedance vs cycling.
    loop_starts
        First row of each loop and one past the last (``.mpr`` loop module, ``.mpt``
        header lines), or None.
    position
        Where the column labels are in the file, for error messages.

    Raises
    ------
    FormatError
        When impedance data lacks frequency or impedance columns.
    """
    labels = [str(c) for c in raw]
    n_rows = len(next(iter(raw.values()))) if raw else 0
    impedance = is_impedance(meta.technique, raw)
    if impedance:
        present = {label_key(label) for label in labels}
        missing = [c for c in ("freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm") if c not in present]
        if missing:
            raise FormatError(f"impedance data ({', '.join(meta.technique) or 'EIS'}) without "
                              f"column(s) {missing}; found {labels}", position=position)
    plan = _plan(tuple(labels), tuple(np.asarray(raw[label]).dtype for label in labels),
                 impedance)
    notes = list(plan.notes)
    columns = _converted(raw, plan, n_rows)
    if "cycle_count" in columns:
        notes.append(_count_cycles_from_one(columns["cycle_count"]))
    elif "biologic_half_cycle" in columns:
        columns.add("cycle_count", columns["biologic_half_cycle"] // 2 + 1)
        notes.append("cycle_count = half cycle // 2 + 1 (the file has no cycle number; this is "
                     "EC-Lab's own rule, checked against its .mpt exports)")
    if not impedance and "current_ampere" not in columns and {
            "biologic_dq_ampere_hour", "test_time_second"} <= columns.names():
        columns.add("current_ampere", _mean_current(columns["biologic_dq_ampere_hour"],
                                                    columns["test_time_second"]))
        notes.append("current_ampere is not recorded in this file; it is dq/dt over each "
                     "interval (first row 0), as EC-Lab computes <I>/mA when exporting .mpt")
    if loop_starts is not None and len(loop_starts) > 1:
        rows = np.arange(n_rows)
        columns.add("biologic_loop", np.searchsorted(loop_starts, rows, side="right") - 1)
        notes.append("biologic_loop is EC-Lab's loop index (.mpr loop module / .mpt 'Loop k from "
                     "point number' lines), from 0")
    if impedance:
        return _impedance_record(columns, meta, notes)
    return CyclingRecord(columns.frame(), _with_notes(meta, notes))


class _Columns:
    """A record's columns in order, held in 2-D blocks (rows = columns) that become the
    DataFrame's own blocks: no per-column copy or check when the frame is made.

    Parameters
    ----------
    names
        Every column the blocks will hold, in record order (:meth:`add` appends more).
    n_rows
        Rows of the record.
    """

    def __init__(self, names: list[str], n_rows: int) -> None:
        self.n_rows = n_rows
        self._position = {name: index for index, name in enumerate(names)}
        self._values: dict[str, np.ndarray] = {}
        self._blocks: list[tuple[np.ndarray, np.ndarray]] = []

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def __getitem__(self, name: str) -> np.ndarray:
        return self._values[name]

    def names(self) -> set[str]:
        """The columns filled so far."""
        return set(self._values)

    def allocate(self, groups: Mapping[np.dtype, list[str]]) -> list[np.ndarray]:
        """Empty blocks to fill, one per dtype, whose rows are the columns named.

        They share one allocation: fresh memory is mapped in on first touch, and one
        large (huge-page) allocation is faulted in several times faster than one per
        block (on a 3.6 MB file that was 6 of the 8 ms the conversion took).
        """
        sizes = [len(names) * self.n_rows * dtype.itemsize for dtype, names in groups.items()]
        starts = list(itertools.accumulate((-(-size // _ALIGN) * _ALIGN for size in sizes),
                                           initial=0))
        arena = np.empty(starts[-1], dtype=np.uint8)
        blocks = []
        for (dtype, names), start, size in zip(groups.items(), starts[:-1], sizes, strict=True):
            block = arena[start:start + size].view(dtype).reshape(len(names), self.n_rows)
            self._blocks.append((block, np.array([self._position[n] for n in names], np.intp)))
            self._values.update(zip(names, block, strict=True))
            blocks.append(block)
        return blocks

    def add(self, name: str, values: np.ndarray) -> None:
        """Hold ``values`` (an array this record owns) as column ``name``: at its place in
        ``names``, or after every other column when it is a new one."""
        self._position.setdefault(name, len(self._position))
        self._blocks.append((values.reshape(1, -1), np.array([self._position[name]], np.intp)))
        self._values[name] = values

    def keep_rows(self, keep: np.ndarray) -> None:
        """Keep only the rows where ``keep`` (a boolean mask) is true."""
        names = list(self._position)
        self._blocks = [(block[:, keep], positions) for block, positions in self._blocks]
        self._values = {names[p]: row for block, positions in self._blocks
                        for row, p in zip(block, positions, strict=True)}
        self.n_rows = int(np.count_nonzero(keep))

    def insert_first(self, name: str, values: np.ndarray) -> None:
        """Hold ``values`` (an array this record owns) as a new first column ``name``."""
        self._position = {name: 0, **{n: p + 1 for n, p in self._position.items()}}
        self._blocks = [(block, positions + 1) for block, positions in self._blocks]
        self.add(name, values)

    def frame(self) -> pd.DataFrame:
        """The DataFrame of the columns, built on the blocks without copying them."""
        names = tuple(self._position)
        if create_dataframe_from_blocks is None:
            return pd.DataFrame({name: self._values[name] for name in names}, copy=False)
        return create_dataframe_from_blocks(self._blocks, index=pd.RangeIndex(self.n_rows),
                                            columns=_column_index(names).view())


_ALIGN = 64  # bytes: every block starts on a cache line


@functools.lru_cache(maxsize=256)
def _column_index(names: tuple[str, ...]) -> pd.Index:
    """The columns Index for these names, made once (str Indexes are slow to build)."""
    return pd.Index(names)


@dataclass(frozen=True)
class _Plan:
    """How a table with given labels and raw dtypes becomes labkit columns.

    Attributes
    ----------
    names
        Every output column, in record order.
    own
        (label, name, integer) of the columns that get arrays of their own: counts
        stored as floats (int64 only when every value is whole) and non-numbers.
    blocks
        Per output dtype, the (label, name, scale) of the columns sharing its block.
    notes
        What the column roles are (voltage/current sources).
    """

    names: tuple[str, ...]
    own: tuple[tuple[str, str, bool], ...]
    blocks: tuple[tuple[np.dtype, tuple[tuple[str, str, float], ...]], ...]
    notes: tuple[str, ...]


@functools.lru_cache(maxsize=256)
def _plan(labels: tuple[str, ...], dtypes: tuple[np.dtype, ...], impedance: bool) -> _Plan:
    """The conversion of one table layout, worked out once: files of one EC-Lab setup
    share it, and working it out took as long as converting a small file.

    Columns of one output dtype share a block. A float column of counts becomes int64
    (or stays float when not every value is whole) in an array of its own.
    """
    targets, notes = column_targets(list(labels), impedance)
    names: list[str] = []
    own: list[tuple[str, str, bool]] = []
    blocks: dict[np.dtype, list[tuple[str, str, float]]] = {}
    for label, dtype in zip(labels, dtypes, strict=True):
        target = targets[label]
        if target.name in names:
            if _KNOWN.get(label_key(label)) == target:
                continue  # the same quantity under an older/newer EC-Lab label
            target = Target(_alternative_name(target.name, names), target.scale,
                            target.integer)
        names.append(target.name)
        if target.integer and dtype.kind not in "iub":
            own.append((label, target.name, True))
        elif target.integer:
            blocks.setdefault(np.dtype(np.int64), []).append((label, target.name, 1.0))
        elif target.scale != 1.0:
            blocks.setdefault(np.dtype(np.float64), []).append((label, target.name,
                                                                target.scale))
        elif dtype.kind in "biufc":
            blocks.setdefault(dtype, []).append((label, target.name, 1.0))
        else:
            own.append((label, target.name, False))
    return _Plan(tuple(names), tuple(own),
                 tuple((dtype, tuple(members)) for dtype, members in blocks.items()),
                 tuple(notes))


def _converted(raw: Mapping[str, np.ndarray], plan: _Plan, n_rows: int) -> _Columns:
    """Each label's values under its planned name, in SI units: one pass per column."""
    columns = _Columns(list(plan.names), n_rows)
    for label, name, integer in plan.own:  # never views of the file's raw memory
        values = np.asarray(raw[label])
        columns.add(name, _as_integer(values) if integer else np.array(values))
    groups = {dtype: [name for _, name, _ in members] for dtype, members in plan.blocks}
    for block, (_, members) in zip(columns.allocate(groups), plan.blocks, strict=True):
        for row, (label, _, scale) in zip(block, members, strict=True):
            if scale != 1.0:
                np.multiply(raw[label], scale, out=row, dtype=np.float64, casting="unsafe")
            else:
                np.copyto(row, raw[label], casting="unsafe")
    return columns


def _mean_current(dq_ampere_hour: np.ndarray, time_second: np.ndarray) -> np.ndarray:
    """EC-Lab's <I>: charge increment over time increment, in A; NaN where time stands still."""
    current = np.zeros(len(time_second))
    if len(time_second) > 1:
        interval = np.diff(np.asarray(time_second, dtype=np.float64))
        charge = np.asarray(dq_ampere_hour[1:], dtype=np.float64) * 3600.0
        with np.errstate(divide="ignore", invalid="ignore"):
            current[1:] = np.where(interval > 0, charge / interval, np.nan)
    return current


def _alternative_name(name: str, used: Collection[str]) -> str:
    """``name`` with ``_alt<k>`` before its unit word, unused in ``used``."""
    unit_words = sorted({word for word, _ in _UNITS.values()} | {"celsius"}, key=len,
                        reverse=True)
    unit = next((w for w in unit_words if name.endswith("_" + w)), "")
    base = name[: len(name) - len(unit) - 1] if unit else name
    k = 2
    while (candidate := f"{base}_alt{k}" + (f"_{unit}" if unit else "")) in used:
        k += 1
    return candidate


def _as_integer(values: np.ndarray) -> np.ndarray:
    """Float counts as int64 when every value is whole (below 2**53); else float64 as written.

    The cast itself is the test: NaN, infinities and fractions do not survive it.
    """
    floats = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):  # NaN/inf cast to garbage, caught by the comparison
        integers = floats.astype(np.int64)
    if not len(integers) or (np.array_equal(integers, floats)
                             and integers.min() > -(2**53) and integers.max() < 2**53):
        return integers
    return np.array(floats)  # own copy: ``values`` may be a view of the file


def _count_cycles_from_one(cycle_number: np.ndarray) -> str:
    """Make EC-Lab's cycle number count from 1 (in place); the note that says what was done."""
    if len(cycle_number) and np.fmin.reduce(cycle_number) == 0:  # nanmin, without its overhead
        cycle_number += 1
        return "cycle_count is EC-Lab's cycle number + 1 (EC-Lab counts from 0)"
    return "cycle_count is EC-Lab's cycle number (EC-Lab counts from 1 here)"


def _impedance_record(
    columns: _Columns, meta: Metadata, notes: list[str]
) -> ImpedanceRecord:
    frequency = np.asarray(columns["frequency_hertz"], dtype=np.float64)
    not_impedance = frequency == 0
    if not_impedance.any():
        notes.append(f"{int(not_impedance.sum())} rows with freq/Hz = 0 (not impedance points) "
                     "were dropped")
        columns.keep_rows(~not_impedance)
        frequency = frequency[~not_impedance]
    columns.insert_first("spectrum", _spectrum_index(columns, frequency))
    notes.append("spectrum starts a new value where the cycle number or loop changes or the "
                 "frequency sweep restarts; z_imag_ohm = -(-Im(Z)/Ohm)")
    return ImpedanceRecord(columns.frame(), _with_notes(meta, notes))


def _spectrum_index(columns: _Columns, frequency: np.ndarray) -> np.ndarray:
    """0-based spectrum number: a new spectrum where cycle/loop changes or f restarts."""
    n = len(frequency)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    boundary = np.zeros(n, dtype=bool)
    for column in ("cycle_count", "biologic_loop"):
        if column in columns:
            values = columns[column]
            boundary[1:] |= values[1:] != values[:-1]
    step = np.diff(np.log(np.abs(frequency) + np.finfo(float).tiny))
    if step.size:
        direction = np.sign(_median(step)) or -1.0
        boundary[1:] |= np.sign(step) == -direction
    return np.cumsum(boundary).astype(np.int64)


def _median(values: np.ndarray) -> float:
    """``np.median`` of a 1-D array, by partition where it holds no NaN (np.median's checks
    cost ten times as much on the few dozen points of a spectrum)."""
    if np.isnan(values).any():
        return float(np.median(values))
    half = len(values) // 2
    if len(values) % 2:
        return float(np.partition(values, half)[half])
    part = np.partition(values, (half - 1, half))
    return float((part[half - 1] + part[half]) / 2)


def _with_notes(meta: Metadata, notes: list[str]) -> Metadata:
    return dataclasses.replace(meta, notes=tuple(meta.notes) + tuple(notes))


def placeholder_free(value: float | None) -> float | None:
    """EC-Lab's defaults (0 and 0.001) mean 'not entered'; they become None."""
    if value is None or not np.isfinite(value) or value <= 0 or abs(value - 0.001) < 1e-9:
        return None
    return float(value)
