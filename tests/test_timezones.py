"""Local wall-clock times converted to UTC: zone rules checked against zoneinfo, DST edges,
real files whose twins show the offset."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

import labkit
from labkit.data import CyclingRecord, Metadata
from labkit.errors import LabkitError
from labkit.timezones import LOCAL, UTC, localize
from tests.conftest import corpus_path


def _wall_seconds(text: str) -> float:
    """Unix seconds of a wall-clock reading taken as if it were UTC (what parsers do)."""
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


def _record(wall_times: list[str], time_zone: str | None = LOCAL,
            start: str | None = None) -> CyclingRecord:
    unix = np.array([_wall_seconds(t) for t in wall_times])
    data = pd.DataFrame({"test_time_second": np.arange(len(unix)) * 1800.0,
                         "voltage_volt": np.full(len(unix), 3.7),
                         "unix_time_second": unix})
    return CyclingRecord(data, Metadata(start_time=start or wall_times[0], time_zone=time_zone))


def test_winter_and_summer_offsets_follow_the_zone_rules():
    """Berlin is UTC+1 in January and UTC+2 in July (zoneinfo gives the expected offsets)."""
    times = ["2024-01-15T10:00:00", "2024-07-15T10:00:00"]
    converted = localize(_record(times), "Europe/Berlin")
    for wall, unix in zip(times, converted.data["unix_time_second"], strict=True):
        expected = datetime.fromisoformat(wall).replace(tzinfo=ZoneInfo("Europe/Berlin"))
        assert unix == expected.timestamp()
    assert converted.data["unix_time_second"].iloc[0] == _wall_seconds(times[0]) - 3600
    assert converted.meta.start_time == "2024-01-15T09:00:00+00:00"
    assert converted.meta.time_zone == "Europe/Berlin"
    assert any("converted from local time in Europe/Berlin" in n for n in converted.meta.notes)


def test_the_repeated_autumn_hour_is_resolved_from_the_row_order():
    """2024-10-27 in Berlin: 02:00-03:00 happens twice. A logger writing every 30 min of
    wall clock gives 01:30 02:00 02:30 02:00 02:30 03:00; in UTC they are 30 min apart."""
    wall = ["2024-10-27T01:30:00", "2024-10-27T02:00:00", "2024-10-27T02:30:00",
            "2024-10-27T02:00:00", "2024-10-27T02:30:00", "2024-10-27T03:00:00"]
    unix = localize(_record(wall), "Europe/Berlin").data["unix_time_second"].to_numpy()
    np.testing.assert_array_equal(np.diff(unix), 1800.0)
    assert unix[0] == datetime(2024, 10, 26, 23, 30, tzinfo=timezone.utc).timestamp()


def test_a_time_in_the_spring_gap_is_an_error_that_suggests_a_fixed_offset():
    record = _record(["2024-03-31T01:30:00", "2024-03-31T02:30:00"])
    with pytest.raises(LabkitError, match="Etc/GMT"):
        localize(record, "Europe/Berlin")
    fixed = localize(record, "Etc/GMT-1")  # UTC+1 all year (POSIX sign)
    assert fixed.data["unix_time_second"].iloc[1] == _wall_seconds("2024-03-31T01:30:00")


def test_absolute_times_are_left_alone_and_bad_zones_refused():
    record = _record(["2024-01-15T10:00:00"], time_zone=UTC, start="2024-01-15T10:00:00+00:00")
    same = localize(record, "Europe/Berlin")
    pd.testing.assert_frame_equal(same.data, record.data)
    assert same.meta.start_time == record.meta.start_time
    assert "not applied" in same.meta.notes[-1]
    with pytest.raises(LabkitError, match="unknown time zone"):
        localize(record, "Mars/Olympus_Mons")


def test_a_start_time_without_offset_is_local_even_when_the_columns_are_absolute():
    """ISO 8601 without an offset is local time; unix seconds stay as they are."""
    record = _record(["2024-01-15T10:00:00"], time_zone=UTC, start="2024-01-15T18:00:00")
    converted = localize(record, "Asia/Shanghai")
    assert converted.meta.start_time == "2024-01-15T10:00:00+00:00"
    pd.testing.assert_frame_equal(converted.data, record.data)


@pytest.mark.corpus
def test_neware_nda_unix_time_is_utc_and_its_header_start_is_the_servers_clock():
    """fastnda_nda_v22.nda: its records hold unix seconds, which the BTSDA twin (exported
    in UK summer time, UTC+1) shows one hour later; the test-info header's start is the
    server's clock, 8 h ahead (UTC+8). With the server's zone the start agrees with the
    first record to the second, and the UTC columns are untouched."""
    path = corpus_path("cycler", "neware", "fastnda_nda_v22.nda")
    twin = labkit.read(corpus_path("cycler", "neware", "fastnda_nda_v22.btsda.parquet"))
    record = labkit.read(path)
    assert record.meta.time_zone == UTC and twin.meta.time_zone == LOCAL
    shift = twin.data["unix_time_second"].iloc[0] - record.data["unix_time_second"].iloc[0]
    assert shift == pytest.approx(3600, abs=1)
    twin_utc = labkit.read(twin.meta.source_path, timezone="Europe/London")
    assert twin_utc.data["unix_time_second"].iloc[0] == pytest.approx(
        record.data["unix_time_second"].iloc[0], abs=1)
    converted = labkit.read(path, timezone="Asia/Shanghai")
    first = record.data["unix_time_second"].iloc[0] - record.data["test_time_second"].iloc[0]
    start = datetime.fromisoformat(converted.meta.start_time).timestamp()
    assert start == pytest.approx(first, abs=2)
    pd.testing.assert_series_equal(converted.data["unix_time_second"],
                                   record.data["unix_time_second"])


@pytest.mark.corpus
@pytest.mark.parametrize(("name", "zone", "gap_second"), [
    ("fastnda_interp-test.ndax", "Europe/Berlin", 69),    # June (CEST, +2 h); ndc 14
    ("fastnda_test_2.ndax", "Europe/Berlin", 3),          # March (CET, +1 h); ndc 17
    ("fastnda_TESTCELL0001-Test_Data_Collection_Ndc17.ndax", "Europe/London", 0),  # BST
])
def test_neware_ndax_unix_time_is_utc_and_its_header_start_is_the_servers_clock(
        name, zone, gap_second):
    """ndc 14/16/17 records hold unix seconds: the TestInfo.xml start (the server's wall
    clock) read in the lab's zone, with its summer or winter offset, falls on the first
    record (same second up to the gap the file itself shows between the test's start and its
    first record); the BTSDA twins show the records shifted by the exporter's offset."""
    path = corpus_path("cycler", "neware", name)
    record = labkit.read(path)
    assert record.meta.time_zone == UTC
    converted = labkit.read(path, timezone=zone)
    first = record.data["unix_time_second"].iloc[0] - record.data["test_time_second"].iloc[0]
    start = datetime.fromisoformat(converted.meta.start_time).timestamp()
    assert first - start == pytest.approx(gap_second, abs=1.5)
    pd.testing.assert_series_equal(converted.data["unix_time_second"],
                                   record.data["unix_time_second"])


@pytest.mark.corpus
def test_cli_read_converts_and_the_parquet_round_trip_keeps_the_zone(tmp_path, capsys):
    from labkit.cli import main

    path = corpus_path("cycler", "maccor", "cellpy_maccor_001.txt")
    out = tmp_path / "maccor.parquet"
    assert main(["read", str(path), "--timezone", "America/Chicago", "-o", str(out),
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    plain = labkit.read(path)
    assert plain.meta.time_zone == LOCAL and summary["time_zone"] == "America/Chicago"
    wall = datetime.fromisoformat(plain.meta.start_time)
    expected = wall.replace(tzinfo=ZoneInfo("America/Chicago")).astimezone(timezone.utc)
    assert summary["start_time"] == expected.isoformat()
    stored = labkit.read_parquet(out)
    assert stored.meta.time_zone == "America/Chicago"
    assert stored.meta.start_time == summary["start_time"]


@pytest.mark.corpus
def test_ingest_stores_records_converted_with_the_labs_zone(tmp_path, capsys):
    from labkit.cli import main
    from labkit.store import Store

    source = tmp_path / "in"
    source.mkdir()
    original = corpus_path("cycler", "maccor", "cellpy_maccor_001.txt")
    (source / original.name).write_bytes(original.read_bytes())
    assert main(["ingest", str(source), "--store", str(tmp_path / "store"),
                 "--timezone", "Europe/Oslo", "--json"]) == 0
    capsys.readouterr()
    stored = Store(tmp_path / "store").load(source / original.name)
    direct = labkit.read(original, timezone="Europe/Oslo")
    assert stored.meta.time_zone == "Europe/Oslo"
    np.testing.assert_array_equal(stored.data["unix_time_second"],
                                  direct.data["unix_time_second"])


def test_nanosecond_start_times_as_btsda_parquet_writes_them():
    record = _record(["2024-06-01T12:00:00"], start="2024-06-01T12:00:00.483000040")
    converted = localize(record, "Europe/Paris")
    assert converted.meta.start_time == "2024-06-01T10:00:00.483000040+00:00"
