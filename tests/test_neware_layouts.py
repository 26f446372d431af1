"""Neware ``.nda`` layouts no public file shows, written from a known table
(``tests/_neware_files.py``): labkit must give the table back, and the same values as
fastnda 1.3 on the same file (where fastnda is installed: the ``bench`` extra)."""

from __future__ import annotations

import io
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from _neware_files import (
    BTS9_V19_RECORDS,
    bts7_file,
    bts9_file,
    bts9_test_time_ms,
    bts9_v19_records,
    ndax7_file,
    ndax15_file,
    ndax_file,
    step_numbers,
    truth,
)

import labkit
from labkit.errors import FormatError


def _fastnda(path: Path, cycle_mode: str = "raw"):
    """fastnda's table of the file (it warns that an unverified layout may be wrong: that
    is what these tests check)."""
    fastnda = pytest.importorskip("fastnda")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fastnda.read(path, cycle_mode=cycle_mode).to_pandas()


def _assert_same_as_fastnda(data, theirs, *, cycle: bool = True,
                            current_rows: np.ndarray | None = None) -> None:
    """``current_rows``: the rows whose current is compared (default all)."""
    assert len(data) == len(theirs)
    np.testing.assert_allclose(data["voltage_volt"], theirs["voltage_V"], rtol=1e-6)
    rows = slice(None) if current_rows is None else current_rows
    np.testing.assert_allclose(data["current_ampere"][rows] * 1e3, theirs["current_mA"][rows],
                               rtol=1e-6)
    np.testing.assert_array_equal(data["step_index"], theirs["step_index"])
    np.testing.assert_array_equal(data["step_count"], theirs["step_count"])
    if "step_time_s" in theirs:
        np.testing.assert_allclose(data["step_time_second"], theirs["step_time_s"], atol=1e-6)
    np.testing.assert_allclose(data["test_time_second"], theirs["total_time_s"], atol=1e-6)
    if "unix_time_s" in theirs:
        np.testing.assert_allclose(data["unix_time_second"], theirs["unix_time_s"], atol=1e-6)
    if cycle:
        np.testing.assert_array_equal(data["cycle_count"], theirs["cycle_count"])
    signed = np.where(data["neware_step_type"].astype(str).str.contains("DChg"), -1, 1)
    np.testing.assert_allclose(data["step_capacity_ampere_hour"] * signed * 1e3,
                               theirs["capacity_mAh"], rtol=1e-6, atol=1e-9)
    if "energy_mWh" in theirs:
        np.testing.assert_allclose(data["step_energy_watt_hour"] * signed * 1e3,
                                   theirs["energy_mWh"], rtol=1e-6, atol=1e-9)


# --- BTS 9, record version 19 ------------------------------------------------------


@pytest.mark.parametrize("size", sorted(BTS9_V19_RECORDS))
def test_bts9_record_version_19_gives_the_table_back(tmp_path: Path, size: int) -> None:
    table = truth()
    path = tmp_path / f"v19_{size}.nda"
    path.write_bytes(bts9_file(bts9_v19_records(size, table), 19))
    record = labkit.read(path)
    data = record.data
    assert record.meta.extra["nda_version"] == 130
    np.testing.assert_allclose(data["voltage_volt"], table.voltage_tenth_mv * 1e-4, rtol=1e-6)
    np.testing.assert_allclose(data["current_ampere"], table.current_count * 1e-4, rtol=1e-6)
    np.testing.assert_array_equal(data["cycle_count"], table.raw_cycle + 1)
    np.testing.assert_array_equal(data["step_index"], table.step_index)
    np.testing.assert_allclose(data["test_time_second"], bts9_test_time_ms(table) / 1e3, atol=1e-6)
    np.testing.assert_allclose(data["step_time_second"], table.step_time_ms / 1e3, atol=1e-6)
    np.testing.assert_allclose(data["unix_time_second"], table.unix_time_s + 0.25, atol=1e-6)
    np.testing.assert_allclose(data["step_capacity_ampere_hour"],
                               table.capacity_count * 1e-4 / 3600, rtol=1e-6)
    np.testing.assert_allclose(data["step_energy_watt_hour"],
                               table.energy_count * 1e-4 / 3600, rtol=1e-6)
    assert ("temperature_celsius" in data) == (size != 52)
    if size != 52:
        np.testing.assert_allclose(data["temperature_celsius"], 25 + np.arange(len(data)) / 100,
                                   rtol=1e-6)
    _assert_same_as_fastnda(data, _fastnda(path))


def test_bts9_chained_blocks_read_as_one(tmp_path: Path) -> None:
    records = bts9_v19_records(52, truth())
    single, chained = tmp_path / "single.nda", tmp_path / "chained.nda"
    single.write_bytes(bts9_file(records, 19))
    chained.write_bytes(bts9_file(records, 19, blocks=3))
    ours = labkit.read(chained).data
    assert ours.equals(labkit.read(single).data)
    _assert_same_as_fastnda(ours, _fastnda(chained))


def test_bts9_unseen_record_version_is_read_by_its_layout_with_a_note(tmp_path: Path) -> None:
    records = bts9_v19_records(56, truth())
    known, unseen = tmp_path / "v19.nda", tmp_path / "v77.nda"
    known.write_bytes(bts9_file(records, 19))
    unseen.write_bytes(bts9_file(records, 77))
    record = labkit.read(unseen)
    assert record.data.equals(labkit.read(known).data)
    assert any("record version 77" in note for note in record.meta.notes)


def test_bts9_unknown_record_layout_names_the_version(tmp_path: Path) -> None:
    records = bts9_v19_records(52, truth())
    records["identifier"] = 7
    path = tmp_path / "v77.nda"
    path.write_bytes(bts9_file(records, 77))
    with pytest.raises(FormatError) as caught:
        labkit.read(path)
    assert caught.value.position == "byte 16" and "record version 77" in caught.value.message


def test_bts9_record_size_that_fits_no_layout_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "odd.nda"
    raw = bts9_file(bts9_v19_records(52, truth()), 19)
    path.write_bytes(raw[:90] + (len(raw) - 1024 - 1).to_bytes(8, "little") + raw[98:])
    with pytest.raises(FormatError) as caught:
        labkit.read(path)
    assert caught.value.position == "byte 1024" and "52/56/60 bytes" in caught.value.message


# --- BTS 7 fixed-size records ----------------------------------------------------------

#: nda version -> the record layout fastnda 1.3 reads it with (keys of BTS7_RECORDS)
BTS7_VERSIONS = {1: 1, 2: 2, 3: 3, 4: 3, 9: 9, 10: 10, 11: 11, 12: 11, 13: 11, 15: 11, 18: 11,
                 19: 19, 25: 25, 27: 25}


@pytest.mark.parametrize("version", sorted(BTS7_VERSIONS))
def test_bts7_layout_gives_the_table_back(tmp_path: Path, version: int) -> None:
    table = truth()
    layout = BTS7_VERSIONS[version]
    path = tmp_path / f"v{version}.nda"
    path.write_bytes(bts7_file(version, table, layout, aux=layout == 11))
    record = labkit.read(path)
    data = record.data
    assert record.meta.extra["nda_version"] == version
    assert any("checked no file of this layout" in n for n in record.meta.notes)
    np.testing.assert_allclose(data["voltage_volt"], table.voltage_tenth_mv * 1e-4, rtol=1e-12)
    np.testing.assert_allclose(data["current_ampere"], table.current_count * 1e-4, rtol=1e-12)
    np.testing.assert_allclose(data["step_time_second"], table.step_time_ms / 1e3, rtol=1e-12)
    np.testing.assert_array_equal(data["step_index"], table.step_index)
    np.testing.assert_array_equal(data["cycle_count"], table.raw_cycle + 1)
    np.testing.assert_array_equal(data["record_index"], np.arange(1, table.rows + 1))
    np.testing.assert_allclose(data["step_capacity_ampere_hour"],
                               table.capacity_count * 1e-4 / 3600, rtol=1e-12)
    names = ("Rest", "CC Chg", "CC DChg")
    assert set(data["neware_step_type"].astype(str)) == set(names)
    has_energy = layout not in (1, 2, 3)
    assert ("step_energy_watt_hour" in data) == has_energy
    assert ("unix_time_second" in data) == has_energy
    if has_energy:
        np.testing.assert_allclose(data["step_energy_watt_hour"],
                                   table.energy_count * 1e-4 / 3600, rtol=1e-12)
        np.testing.assert_array_equal(data["unix_time_second"], table.unix_time_s)
    theirs = _fastnda(path)
    _assert_same_as_fastnda(data, theirs)
    if layout == 11:
        np.testing.assert_allclose(data["temperature_celsius"], 25 + np.arange(len(data)) / 10)
        np.testing.assert_allclose(data["temperature_celsius"], theirs["aux1_temperature_degC"],
                                   rtol=1e-6)


def test_unknown_nda_version_is_refused_with_the_version(tmp_path: Path) -> None:
    path = tmp_path / "v21.nda"
    path.write_bytes(bts7_file(21, truth(), 11))
    with pytest.raises(FormatError) as caught:
        labkit.read(path)
    assert caught.value.position == "byte 14" and "nda version 21" in caught.value.message


# --- BTS 8 .ndax ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2, 3, 4, 6, 8, 9, 11, 12, 13])
def test_ndax_layout_gives_the_table_back(tmp_path: Path, version: int) -> None:
    table = truth()
    aux = version >= 6
    path = tmp_path / f"ndc{version}.ndax"
    path.write_bytes(ndax_file(version, table, aux=aux))
    record = labkit.read(path)
    data = record.data
    assert record.meta.extra["ndc_version"] == version
    assert (version == 2) != any("checked no file of this layout" in n
                                 for n in record.meta.notes)
    np.testing.assert_allclose(data["voltage_volt"], table.voltage_tenth_mv * 1e-4, rtol=1e-6)
    np.testing.assert_allclose(data["current_ampere"], table.current_count * 1e-4, rtol=1e-6)
    np.testing.assert_allclose(data["step_time_second"], table.step_time_ms / 1e3, rtol=1e-9)
    np.testing.assert_array_equal(data["step_index"], table.step_index)
    np.testing.assert_array_equal(data["step_count"], step_numbers(table))
    np.testing.assert_array_equal(data["cycle_count"], table.raw_cycle + 1)
    np.testing.assert_array_equal(data["record_index"], np.arange(1, table.rows + 1))
    np.testing.assert_allclose(data["unix_time_second"], table.unix_time_s, rtol=1e-12)
    np.testing.assert_allclose(data["step_capacity_ampere_hour"],
                               table.capacity_count * 1e-4 / 3600, rtol=1e-6)
    np.testing.assert_allclose(data["step_energy_watt_hour"],
                               table.energy_count * 1e-4 / 3600, rtol=1e-6)
    if aux:
        np.testing.assert_allclose(data["temperature_celsius"], 25 + np.arange(len(data)) / 10,
                                   rtol=1e-6)
    if version == 6:
        return  # fastnda 1.3 reads ndc 6 records but joins data_step.ndc only beside a runInfo
    theirs = _fastnda(path)
    # fastnda 1.3 reads the voltage and current of ndc 1/3 records as unsigned: a negative
    # current comes out as 2**32 counts less; those rows are compared with the table only
    negative_current = version in (1, 3)
    _assert_same_as_fastnda(data, theirs, current_rows=(data["current_ampere"] >= 0).to_numpy()
                            if negative_current else None)
    if aux:
        np.testing.assert_allclose(data["temperature_celsius"], theirs["aux1_temperature_degC"],
                                   rtol=1e-6)


def test_ndax_of_an_unknown_ndc_version_names_it(tmp_path: Path) -> None:
    path = tmp_path / "ndc10.ndax"
    raw = bytearray(ndax_file(12, truth()))
    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as original, zipfile.ZipFile(path, "w") as copy:
        for name in original.namelist():
            content = bytearray(original.read(name))
            content[2] = 10
            copy.writestr(name, bytes(content))
    with pytest.raises(FormatError) as caught:
        labkit.read(path)
    assert caught.value.position == "data.ndc byte 2" and "ndc version 10" in caught.value.message


def test_ndc7_fields_listed_in_the_header_give_the_table_back(tmp_path: Path) -> None:
    table = truth()
    path = tmp_path / "ndc7.ndax"
    path.write_bytes(ndax7_file(table))
    data = labkit.read(path).data
    np.testing.assert_allclose(data["voltage_volt"], table.voltage_tenth_mv * 1e-4, rtol=1e-12)
    np.testing.assert_allclose(data["current_ampere"], table.current_count * 1e-4, rtol=1e-12)
    np.testing.assert_allclose(data["step_time_second"], table.step_time_ms / 1e3, rtol=1e-12)
    np.testing.assert_array_equal(data["cycle_count"], table.raw_cycle + 1)
    np.testing.assert_array_equal(data["step_index"], table.step_index)
    np.testing.assert_array_equal(data["unix_time_second"], table.unix_time_s)
    np.testing.assert_allclose(data["step_capacity_ampere_hour"],
                               table.capacity_count * 1e-4 / 3600, rtol=1e-12)
    np.testing.assert_allclose(data["step_energy_watt_hour"],
                               table.energy_count * 1e-4 / 3600, rtol=1e-12)
    np.testing.assert_allclose(data["temperature_celsius"], 25 + np.arange(len(data)) / 10)
    np.testing.assert_allclose(data["neware_aux_t1_celsius"], 30 + np.arange(len(data)) / 10)
    theirs = _fastnda(path)
    _assert_same_as_fastnda(data, theirs)
    np.testing.assert_allclose(data["neware_aux_t1_celsius"], theirs["aux1_temperature_degC"],
                               rtol=1e-6)


def test_ndc7_with_an_unknown_field_code_names_it(tmp_path: Path) -> None:
    raw = ndax7_file(truth())
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        content = bytearray(archive.read("data.ndc"))
    content[13 + 4 * 3:13 + 4 * 4] = (99).to_bytes(4, "little")
    path = tmp_path / "ndc7.ndax"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data.ndc", bytes(content))
    with pytest.raises(FormatError) as caught:
        labkit.read(path)
    assert caught.value.position == "data.ndc byte 25" and "code 99" in caught.value.message


@pytest.mark.parametrize("items", [True, False], ids=["listed quantities", "prefix only"])
def test_ndc15_gives_the_table_back(tmp_path: Path, items: bool) -> None:
    table = truth()
    path = tmp_path / "ndc15.ndax"
    path.write_bytes(ndax15_file(table, items=items))
    record = labkit.read(path)
    data = record.data
    np.testing.assert_allclose(data["voltage_volt"], table.voltage_tenth_mv * 1e-4, rtol=1e-6)
    np.testing.assert_allclose(data["current_ampere"], table.current_count * 1e-4, rtol=1e-6)
    np.testing.assert_allclose(data["step_time_second"], table.step_time_ms / 1e3, atol=1e-6)
    np.testing.assert_allclose(data["test_time_second"], bts9_test_time_ms(table) / 1e3,
                               atol=1e-6)
    np.testing.assert_array_equal(data["step_index"], table.step_index)
    np.testing.assert_array_equal(data["cycle_count"], table.raw_cycle + 1)  # derived
    assert ("unix_time_second" in data) == items
    if items:
        np.testing.assert_allclose(data["unix_time_second"], table.unix_time_s + 0.5, atol=1e-6)
    np.testing.assert_allclose(data["step_capacity_ampere_hour"],
                               table.capacity_count * 1e-4 / 3600, rtol=1e-6)
    np.testing.assert_allclose(data["step_energy_watt_hour"],
                               table.energy_count * 1e-4 / 3600, rtol=1e-6)
    _assert_same_as_fastnda(data, _fastnda(path))
