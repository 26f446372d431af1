"""Wall-clock times without a zone, converted to UTC once the lab says the zone.

Most cyclers log the test computer's local time and write it without a zone
(Arbin ``DateTime``, Maccor ``DPt Time``, Neware record dates, BioLogic's
acquisition start...). A parser cannot know that zone, so it reads such times
as if they were UTC and says so: ``meta.time_zone == "local"``. A start time
written as ISO 8601 without an offset is local time by ISO's own definition.

:func:`localize` (``labkit.read(path, timezone="Europe/Berlin")``, ``labkit read
--timezone``) converts ``unix_time_second`` and ``start_time`` of such a record to
true UTC, with the zone's daylight-saving rules applied per row: the repeated
hour of an autumn change is resolved from the order of the rows, and a local
time that does not exist (the spring gap) is an error, since it means the
instrument's clock did not follow daylight saving time (give a fixed-offset
zone such as ``"Etc/GMT-1"`` then). Records whose times are already absolute are
returned unchanged, with a note.
"""

from __future__ import annotations

import dataclasses
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from labkit.data import Record
from labkit.errors import LabkitError

#: ``Metadata.time_zone`` of a record whose wall-clock times carry no zone (read as UTC).
LOCAL = "local"
#: ``Metadata.time_zone`` of a record whose times are absolute (epoch or stated offset).
UTC = "UTC"
_FIXED_OFFSET_HINT = ("A time inside the spring daylight-saving gap means the instrument clock "
                      "kept standard time all year: give a fixed-offset zone (e.g. 'Etc/GMT-1' "
                      "for UTC+1)")


def _check_zone(zone: str) -> None:
    """Check that ``zone`` is an IANA time zone this system knows (``"Europe/Berlin"``).

    Raises
    ------
    LabkitError
        When the name is not a time zone this system knows.
    """
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise LabkitError(f"unknown time zone {zone!r}: give an IANA name such as "
                          "'Europe/Berlin', 'America/New_York' or 'Etc/GMT-1'") from exc


def localize(record: Record, zone: str) -> Record:
    """``record`` with its zone-less wall-clock times read in ``zone`` and given in UTC.

    Parameters
    ----------
    record
        A record from :func:`labkit.read`.
    zone
        IANA time zone of the instrument computer's clock.

    Raises
    ------
    LabkitError
        On an unknown zone, a local time that does not exist in it, or an autumn hour
        whose repetition the row order cannot resolve.
    """
    _check_zone(zone)
    meta = record.meta
    local_times = meta.time_zone == LOCAL
    start = _start_time(meta.start_time, zone, local_times, meta.source_path)
    data = record.data
    if local_times and "unix_time_second" in data:
        data = data.copy()
        data["unix_time_second"] = _unix_seconds(data["unix_time_second"].to_numpy(float),
                                                 zone, meta.source_path)
    if not local_times and start == meta.start_time:
        note = f"time zone {zone} not applied: the file's times are absolute (UTC)" \
            if meta.time_zone == UTC else \
            f"time zone {zone} not applied: the file states no local wall-clock time"
        return type(record)(data=data, meta=dataclasses.replace(meta, notes=(*meta.notes, note)))
    note = (f"wall-clock times converted from local time in {zone} to UTC "
            "(daylight saving applied per row)")
    converted = dataclasses.replace(meta, start_time=start, time_zone=zone,
                                    notes=(*meta.notes, note))
    return type(record)(data=data, meta=converted)


def _start_time(start: str | None, zone: str, local_times: bool,
                source: str | None) -> str | None:
    """The start time in UTC when it was local (no offset, or read as UTC by the parser)."""
    if not start:
        return start
    moment = pd.Timestamp(start)
    if moment.tzinfo is not None and not local_times:
        return start  # a stated offset: already absolute
    wall = moment.tz_localize(None) if moment.tzinfo is not None else moment
    try:  # a start inside the repeated autumn hour is taken as its first pass
        local = wall.tz_localize(zone, ambiguous=True, nonexistent="raise")
    except Exception as exc:  # pandas raises pytz/ValueError subclasses here
        raise LabkitError(f"the start time {start} does not exist in {zone}: {exc}. "
                          f"{_FIXED_OFFSET_HINT}", file=source) from exc
    return local.tz_convert(UTC).isoformat()


def _unix_seconds(as_if_utc: np.ndarray, zone: str, source: str | None) -> np.ndarray:
    """Unix seconds of wall-clock readings that were taken as UTC, read in ``zone``."""
    finite = np.isfinite(as_if_utc)
    wall = pd.DatetimeIndex(pd.to_datetime(as_if_utc[finite], unit="s"))
    try:
        local = wall.tz_localize(zone, ambiguous="infer", nonexistent="raise")
    except Exception as exc:  # pandas raises pytz/ValueError subclasses here
        raise LabkitError(
            f"cannot read the wall-clock times in {zone}: {exc}. {_FIXED_OFFSET_HINT}",
            file=source) from exc
    offset = (local.tz_localize(None) - local.tz_convert(UTC).tz_localize(None)) \
        / pd.Timedelta(seconds=1)
    out = as_if_utc.copy()
    out[finite] = as_if_utc[finite] - offset.to_numpy(float)
    return out
