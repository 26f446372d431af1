"""Novonix HPC and UHPC CSV exports.

Layout: ``[Summary]`` ... ``[End Summary]`` (``Channel:``, ``Cell:``,
``Capacity (Ah):``, ``Started:``, ``Version:``...), ``[Protocol]`` ...
``[End Protocol]``, then ``[Data]``, a header row and comma-separated rows.
A resumed test appends another ``[Summary]``/``[Protocol]``/``[Data]`` group to
the same file; each group restarts ``Run Time`` and ``Cycle Number``. Groups
are read in order: test time is offset by the wall-clock start of the group
(its first ``Date and Time``), cycle numbers are offset to keep counting, and
``novonix_section`` (0, 1, ...) says which group a row came from.

Variants: HPC files name the step-type column ``Step Number`` (and
``" Step Time (h)"`` with a leading space); UHPC and later HPC files have
``Step Type`` plus ``Step Number`` (the programmed step) and ``Step position``.
Some exports wrap every data line in double quotes, write dates with
``AM/PM`` and swap the dVdt/dIdt units in the header (``dVdt (I/h)``): quotes
are stripped and the derivative is identified by its name, not its unit.

Direction: newer HPC firmware writes current signed (negative on discharge)
and ``Capacity (Ah)`` as a signed running value; older HPC and UHPC write both
unsigned, the direction being given only by the step type (0 open circuit,
1 CC charge, 2 CC discharge, 7/8 CC/CV part of CC-CV charge, 9/10 of CC-CV
discharge). A file with no negative current is treated as unsigned and its
current made negative on step types 2, 9 and 10 (noted in ``meta.notes``).
Where the file is signed, ``Capacity (Ah)`` is the running net charge
(charge positive) and becomes ``net_capacity_ampere_hour``, continued across
resumed sections; in unsigned files its meaning is the vendor's and it stays
``novonix_capacity_ampere_hour``, like ``Energy (Wh)`` (``novonix_energy_watt_hour``).

Times are hours in the file, seconds here. ``Date and Time`` is local time
without a zone, so no ``unix_time_second`` is made; ``Started:`` (or the first
row's date) is ``meta.start_time``. Mass and area of exactly 1.000 are the
Novonix placeholders and are not taken as sample values; ``****`` means
anonymised.
"""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from labkit.data import CyclingRecord, Metadata, Sample
from labkit.errors import FormatError
from labkit.parsers._text import decode, decode_head, looks_binary
from labkit.parsers._timecheck import time_order_notes
from labkit.parsers.delimited import tidy_columns
from labkit.registry import file_bytes, register

#: Step type codes on which an unsigned current is a discharge.
DISCHARGE_STEP_TYPES = (2, 9, 10)

_COLUMNS = {
    "Run Time (h)": "test_time_second",
    "Step Time (h)": "step_time_second",
    "Current (A)": "current_ampere",
    "Potential (V)": "voltage_volt",
    "Cycle Number": "cycle_count",
    "Temperature (°C)": "temperature_celsius",
    "Circuit Temperature (°C)": "novonix_circuit_temperature_celsius",
    "Capacity (Ah)": "novonix_capacity_ampere_hour",
    "Energy (Wh)": "novonix_energy_watt_hour",
    "Power(W)": "power_watt",
    "Step position": "novonix_step_position",
}
_DATE_FORMATS = ("%Y-%m-%d %I:%M:%S %p", "%Y-%m-%d %H:%M:%S", "%m/%d/%Y %I:%M:%S %p",
                 "%m/%d/%Y %H:%M:%S")


def _sniff(head: bytes, path: Path) -> bool:
    if looks_binary(head):
        return False
    text = decode_head(head)
    return text.lstrip().startswith("[Summary]") and "Novonix" in text[:400]


def _parse_date(value: str) -> pd.Timestamp | None:
    for fmt in _DATE_FORMATS:
        stamp = pd.to_datetime(value.strip(), format=fmt, errors="coerce")
        if not pd.isna(stamp):
            return stamp
    return None


@dataclasses.dataclass
class _Section:
    summary: dict[str, str]
    header_line: int  # 1-based line of the column header
    table: pd.DataFrame


_MARKER = re.compile(r'^[ \t]*"?\[(Data|Summary|End Summary)\]"?[ \t]*\r?$', re.MULTILINE)


def _line_of(text: str, offset: int) -> int:
    """1-based line number of a character offset."""
    return text.count("\n", 0, offset) + 1


def _summary_fields(block: str) -> dict[str, str]:
    fields = {}
    for line in block.splitlines():  # the summary: a dozen lines
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def _sections(text: str, path: Path) -> list[_Section]:
    """Each ``[Data]`` table with the ``[Summary]`` before it; the file is scanned by regex."""
    markers = [(m.group(1), m.start(), m.end()) for m in _MARKER.finditer(text)]
    data = [(start, end) for kind, start, end in markers if kind == "Data"]
    if not data:
        raise FormatError("expected a [Data] section", file=path, position="line 1")
    summaries = [(start, end) for kind, start, end in markers if kind == "Summary"]
    ends = [start for kind, start, _ in markers if kind == "End Summary"]
    sections = []
    for number, (start, end) in enumerate(data):
        stop = min((s for s, _ in summaries if s > start), default=len(text))
        summary_end = max((e for _, e in summaries if e < start), default=0)
        summary_stop = min((e for e in ends if e > summary_end), default=start)
        block = re.sub(r'^[ \t]*"|"[ \t]*\r?$', "", text[end:stop], flags=re.MULTILINE).strip()
        header_line = _line_of(text, end) + 1
        if not block:
            raise FormatError(f"[Data] section {number + 1} has no header row", file=path,
                              position=f"line {header_line}")
        try:
            table = pd.read_csv(io.StringIO(block), engine="c", low_memory=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise FormatError(f"[Data] table cannot be parsed: {exc}", file=path,
                              position=f"line {header_line}") from exc
        table.columns = [str(c).strip() for c in table.columns]
        summary = _summary_fields(text[summary_end:min(summary_stop, start)])
        sections.append(_Section(summary, header_line, table))
    return sections


def _tidy(section: _Section, path: Path) -> pd.DataFrame:
    table = section.table
    columns = {k: v for k, v in _COLUMNS.items() if k in table}
    if "Step Type" in table:
        columns["Step Type"] = "novonix_step_type"
        if "Step Number" in table:
            columns["Step Number"] = "step_index"
    elif "Step Number" in table:
        columns["Step Number"] = "novonix_step_type"
    units = {k: "h" for k in ("Run Time (h)", "Step Time (h)")}
    dv_dt = [c for c in table if c.startswith("dVdt")]
    if dv_dt:  # V/h whatever the header says (some exports swap the units); scaled below
        columns[dv_dt[0]] = "dv_dt_volt_per_second"
        units[dv_dt[0]] = ""
    data = tidy_columns(table, columns, path, first_data_line=section.header_line + 1, units=units)
    if dv_dt:
        data["dv_dt_volt_per_second"] = data["dv_dt_volt_per_second"] / 3600.0  # V/h
    return data


def _start(section: _Section) -> pd.Timestamp | None:
    if "Date and Time" in section.table and len(section.table):
        return _parse_date(str(section.table["Date and Time"].iloc[0]))
    return None


def _continue_net_capacity(data: pd.DataFrame) -> str:
    """Turn the signed running ``Capacity`` into ``net_capacity_ampere_hour``, in place.

    A resumed section restarts the count at 0; it continues from the previous
    section's last value (as preparenovonix does).
    """
    capacity = data.pop("novonix_capacity_ampere_hour")
    last = capacity.groupby(data["novonix_section"]).last()
    offsets = last.cumsum().shift(1, fill_value=0.0)
    data["net_capacity_ampere_hour"] = capacity + data["novonix_section"].map(offsets).to_numpy()
    return ("current and Capacity (Ah) are signed in this file: Capacity is the running net "
            "charge, stored as net_capacity_ampere_hour"
            + (", continued across resumed sections" if len(last) > 1 else ""))


def _placeholder_free(summary: dict[str, str], key: str, placeholder: float | None) -> float | None:
    try:
        value = float(summary.get(key, ""))
    except ValueError:
        return None
    return None if value == placeholder else value


@register(
    "novonix-csv",
    vendor="Novonix",
    description="Novonix HPC/UHPC CSV ([Summary]/[Protocol]/[Data] sections)",
    extensions=(".csv",),
    kind="cycling",
    sniff=_sniff,
)
def read_novonix_csv(path: Path) -> CyclingRecord:
    """Read a Novonix CSV export (see the module docstring for sign, units and sections)."""
    text = decode(file_bytes(Path(path)))
    sections = _sections(text, path)
    frames = []
    notes: list[str] = []
    first_start = _start(sections[0])
    cycle_offset = 0
    for number, section in enumerate(sections):
        data = _tidy(section, path)
        if number:
            start = _start(section)
            if start is None or first_start is None:
                raise FormatError("resumed test section without a readable 'Date and Time'",
                                  file=path, position=f"line {section.header_line + 1}")
            offset = (start - first_start).total_seconds()
            data["test_time_second"] += offset
            if "cycle_count" in data:
                data["cycle_count"] += cycle_offset
            notes.append(f"section {number} (header line {section.header_line}) restarts the "
                         f"test: time offset by {offset:.0f} s from its first date, cycle numbers "
                         f"by {cycle_offset}")
        if "cycle_count" in data and len(data):
            cycle_offset = int(data["cycle_count"].max())
        data["novonix_section"] = number
        frames.append(data)
    data = pd.concat(frames, ignore_index=True)
    signed = "current_ampere" in data and bool((data["current_ampere"] < 0).any())
    if signed and "novonix_capacity_ampere_hour" in data:
        notes.append(_continue_net_capacity(data))
    if "current_ampere" in data and not signed:
        if "novonix_step_type" in data:
            discharge = data["novonix_step_type"].isin(DISCHARGE_STEP_TYPES).to_numpy()
            data.loc[discharge, "current_ampere"] *= -1
            notes.append("no negative current in the file: taken as unsigned and made negative "
                         f"on discharge step types {DISCHARGE_STEP_TYPES} "
                         f"({int(discharge.sum())} rows)")
        else:
            notes.append("current is unsigned in the file and no step type says the direction")
    if "power_watt" in data and "current_ampere" in data:
        data["power_watt"] = np.copysign(data["power_watt"].to_numpy(),
                                         data["current_ampere"].to_numpy())
    first_line = sections[0].header_line + 1 if len(sections) == 1 else None  # else rows
    notes.extend(time_order_notes(data["test_time_second"].to_numpy(), first_line))
    summary = sections[0].summary
    started = _parse_date(summary.get("Started", ""))
    started = started if started is not None else first_start
    anonymised = {k: v for k, v in summary.items() if "****" not in v}
    meta = Metadata(
        vendor="Novonix",
        instrument=text.split("\n", 2)[1].strip() if text.count("\n") > 1 else None,
        start_time=None if started is None else started.isoformat(),
        channel=anonymised.get("Channel") or None,
        sample=Sample(
            name=anonymised.get("Cell") or None,
            nominal_capacity_ampere_hour=_placeholder_free(anonymised, "Capacity (Ah)", None),
            active_mass_gram=_placeholder_free(anonymised, "Mass (g)", 1.0),
            area_square_centimeter=_placeholder_free(
                anonymised, "Area (cm2)" if "Area (cm2)" in anonymised else "Area (cm^2)", 1.0),
        ),
        notes=tuple(notes),
        extra=summary,
    )
    return CyclingRecord(data, meta)
