"""Arbin .res (via mdbtools), CSV dumps with sidecars, MITS Pro 8 CSV and DataPro .xlsx.

The corpus holds no .res file together with a vendor CSV/xlsx export of the same
test, so .res values are checked against numbers read by eye from the raw tables
(``mdb-export file Channel_Normal_Table``, line numbers given) and against physics:
the integral of the current must reproduce the cycler's own capacity counter,
which checks sign, units and time axis independently of the parser.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labkit.errors import FormatError, LabkitError
from labkit.parsers import arbin_res
from labkit.registry import detect, read
from tests.conftest import copy_with_line, corpus_path

pytestmark = pytest.mark.corpus

requires_mdbtools = pytest.mark.skipif(
    not arbin_res.mdb_export_available(), reason=arbin_res._INSTALL_HINT)


def _arbin(name: str):
    return read(corpus_path("cycler", "arbin", name))


def _integrated_charge_ampere_hour(data: pd.DataFrame) -> tuple[float, float]:
    """Charge and discharge passed, by trapezoidal integration of current over test time."""
    time = data["test_time_second"].to_numpy()
    current = data["current_ampere"].to_numpy()
    passed = np.diff(time) * (current[1:] + current[:-1]) / 2 / 3600
    return float(passed.clip(min=0).sum()), float(-passed.clip(max=0).sum())


@requires_mdbtools
def test_res_values_match_the_raw_table():
    record = _arbin("navani_arbin_example.res")
    data = record.data
    assert len(data) == 2150
    # mdb-export row 1: Test_Time 0.07259541979508601, Voltage 3.8591957,
    # DateTime 45131.78472222222 (OLE days) = 2023-07-24 18:50:00
    assert data["test_time_second"].iloc[0] == pytest.approx(0.07259541979508601, rel=1e-12)
    assert data["voltage_volt"].iloc[0] == pytest.approx(3.8591957)
    assert data["unix_time_second"].iloc[0] == pytest.approx(
        pd.Timestamp("2023-07-24 18:50:00").timestamp(), abs=1e-3)
    assert data["record_index"].iloc[-1] == 2150
    # the database stores points 1321-1800 after 1801-...: the reader restores point order
    np.testing.assert_array_equal(data["record_index"], np.arange(1, 2151))
    assert (np.diff(data["test_time_second"]) > 0).all()
    assert any("out of Data_Point order" in note for note in record.meta.notes)
    assert record.meta.sample.name == "ajm314_LCO_ajm5-SSB1-F_Wait48hr-Repeat-01-012"
    assert record.meta.channel == "12"
    assert record.meta.start_time == "2023-07-24T18:50:00"
    assert record.meta.extra["tests"][0]["Schedule_File_Name"] == "AliceM\\LCO-ajm5-SSA8-N_5xCo10.sdu"
    assert record.meta.extra["results_file_version"] == "Results File 5.23"


@requires_mdbtools
def test_res_current_integral_reproduces_charge_capacity():
    data = _arbin("cellpy_aux_one_x_dx.res").data
    charge, discharge = _integrated_charge_ampere_hour(data)
    assert charge == pytest.approx(data["charging_capacity_ampere_hour"].iloc[-1], rel=1e-3)
    assert data["charging_capacity_ampere_hour"].iloc[-1] == pytest.approx(1.595609, rel=1e-6)
    assert discharge == 0.0


@requires_mdbtools
def test_res_discharge_current_is_negative():
    data = _arbin("navani_arbin_example.res").data
    growing = np.diff(data["discharging_capacity_ampere_hour"].to_numpy()) > 0
    current = data["current_ampere"].to_numpy()
    assert growing.sum() > 100
    # discharge capacity grows only between points where the current is negative
    # (at a step end the first rest point may already read 0 A)
    assert ((current[:-1] < 0) | (current[1:] < 0))[growing].all()
    first_cycle = data[data["cycle_count"] == 1]
    charge, discharge = _integrated_charge_ampere_hour(first_cycle)
    assert discharge == pytest.approx(first_cycle["discharging_capacity_ampere_hour"].max(), rel=0.01)


@requires_mdbtools
def test_res_aux_channels_are_pivoted_onto_data_points():
    record = _arbin("cellpy_aux_multi_x.res")
    data = record.data
    assert len(data) == 3552
    voltages = [c for c in data if c.startswith("arbin_aux_") and c.endswith("_voltage_volt")]
    temperatures = [c for c in data if c.endswith("temperature_celsius")]
    assert len(voltages) == 12 and len(temperatures) == 8
    # Auxiliary_Table rows (Data_Point 1): index 0 type 0 X=2.9547594, index 0 type 1 X=26.968594
    assert data["arbin_aux_0_voltage_volt"].iloc[0] == pytest.approx(2.9547594)
    assert data["temperature_celsius"].iloc[0] == pytest.approx(26.968594)
    one = _arbin("cellpy_aux_one_x_dx.res").data
    # Auxiliary_Table rows 1-2: X 24.406582 / 24.372744, dX_dt 0.1116178 / -0.064454377
    assert list(one["temperature_celsius"].iloc[:2]) == pytest.approx([24.406582, 24.372744])
    assert list(one["arbin_aux_0_dtemperature_dt_celsius_per_second"].iloc[:2]) == pytest.approx(
        [0.1116178, -0.064454377])


@requires_mdbtools
def test_res_mits7_file_with_22_tables():
    record = _arbin("bdf_mits7-0.res")
    assert len(record.data) == 8
    assert len(record.meta.extra["tables"]) == 22
    assert record.meta.extra["results_file_version"] == "Results File 20171213"
    assert record.meta.instrument == "Arbin PV7.0 Build: 180508USB"
    assert record.data["voltage_volt"].iloc[0] == pytest.approx(0.13026524)


@requires_mdbtools
def test_truncated_res_names_the_byte(tmp_path):
    source = corpus_path("cycler", "arbin", "navani_arbin_example.res").read_bytes()
    cut = tmp_path / "cut.res"
    cut.write_bytes(source[:200_000])
    with pytest.raises(FormatError) as caught:
        read(cut)
    assert caught.value.file == str(cut)
    assert caught.value.position.startswith("byte 200000")
    assert "truncated" in caught.value.message


@requires_mdbtools
def test_garbage_inside_res_is_a_format_error(tmp_path):
    source = bytearray(corpus_path("cycler", "arbin", "navani_arbin_example.res").read_bytes())
    source[100_000:150_000] = np.random.default_rng(1).integers(0, 256, 50_000,
                                                                 dtype=np.uint8).tobytes()
    bad = tmp_path / "garbage.res"
    bad.write_bytes(bytes(source))
    with pytest.raises(FormatError) as caught:
        read(bad)
    # mdbtools names no byte for damage inside a data page: the table and row then
    assert caught.value.position.startswith(("byte ", "table Channel_Normal_Table"))


def test_res_without_mdbtools_says_how_to_install(monkeypatch):
    path = corpus_path("cycler", "arbin", "bdf_mits7-0.res")
    monkeypatch.setattr(arbin_res.shutil, "which", lambda name: None)
    with pytest.raises(LabkitError) as caught:
        read(path)
    assert "mdbtools" in caught.value.message and "apt-get install" in caught.value.message


def test_csv_dump_values_and_signs():
    data = _arbin("battdat_arbin_example.csv").data
    assert len(data) == 2142
    first = data.iloc[0]
    # line 2: 1,0,1499006353,0.723,10,1,-9.63E-05,3.2796359,0.8800053,...,29.18314
    assert first["unix_time_second"] == 1499006353
    assert first["current_ampere"] == pytest.approx(-9.63e-05)
    assert first["voltage_volt"] == pytest.approx(3.2796359)
    assert first["temperature_celsius"] == pytest.approx(29.18314)
    assert (first["step_index"], first["cycle_count"]) == (10, 1)
    second_cycle = data[data["cycle_count"] == 2]
    charge, discharge = _integrated_charge_ampere_hour(second_cycle)
    assert discharge == pytest.approx(second_cycle["discharging_capacity_ampere_hour"].max(), rel=0.01)


def test_csv_dump_reads_its_sidecar():
    record = _arbin("beep_2017-05-09_test-TC-contact_CH33.csv")
    assert len(record.data) == 287
    assert record.meta.channel == "32"
    assert record.meta.extra["schedule_file_name"] == "20170509-6C_1C_36CV.sdu"
    assert record.meta.start_time == "2017-05-10T00:47:33+00:00"
    # Step_Time/Step_Index/Cycle_Index are empty on every line of this dump
    assert "cycle_count" not in record.data and "step_index" not in record.data
    assert record.data["current_ampere"].iloc[0] == pytest.approx(6.600444793701172)


def test_sidecar_alone_is_refused_naming_the_data_file():
    path = corpus_path("cycler", "arbin", "beep_FastCharge_000025_CH8_Metadata.csv")
    with pytest.raises(LabkitError) as caught:
        read(path)
    assert "beep_FastCharge_000025_CH8.csv" in caught.value.message


def test_mits_pro_csv():
    path = corpus_path("cycler", "arbin", "pyprobe_sample_data_arbin.csv")
    assert detect(path).name == "arbin-mits-csv"
    data = read(path).data
    assert len(data) == 13
    # line 13: "12,\t09/20/2024 08:37:05.256,300.6979,...,2.647604,3.594547,..."
    row = data.iloc[11]
    assert row["unix_time_second"] == pytest.approx(
        pd.Timestamp("2024-09-20 08:37:05.256").timestamp(), abs=1e-6)
    assert row["test_time_second"] == pytest.approx(300.6979)
    assert row["current_ampere"] == pytest.approx(2.647604)
    assert row["charging_capacity_ampere_hour"] == pytest.approx(2.01404e-05)
    assert data["temperature_celsius"].iloc[0] == pytest.approx(24.66422)


def test_datapro_xlsx():
    record = _arbin("navani_bs542_004_gr_li_Channel_11.xlsx")
    data = record.data
    assert len(data) == 4526
    assert data["test_time_second"].iloc[0] == pytest.approx(1.001)
    assert data["voltage_volt"].iloc[0] == pytest.approx(2.637298583984375)
    assert data["unix_time_second"].iloc[0] == pytest.approx(
        pd.Timestamp("2020-10-19 11:31:46.582").timestamp(), abs=1e-3)
    assert record.meta.channel == "11"
    assert record.meta.sample.name == "bs542_004_gr_li_50ua_50mv_1v_191020"
    charge, discharge = _integrated_charge_ampere_hour(data)
    assert charge == pytest.approx(data["charging_capacity_ampere_hour"].max(), rel=1e-3)
    assert discharge == pytest.approx(data["discharging_capacity_ampere_hour"].max(), rel=1e-3)


def test_garbage_in_csv_dump_names_the_line(tmp_path):
    source = corpus_path("cycler", "arbin", "battdat_arbin_example.csv")
    line = source.read_bytes().split(b"\n")[9]
    bad = copy_with_line(source, tmp_path, 10, line.replace(b"3.3", b"3.x", 1), "dump.csv")
    with pytest.raises(FormatError) as caught:
        read(bad)
    assert caught.value.position == "line 10"
    assert "Voltage" in caught.value.message


def test_mits_csv_bad_date_names_the_line_and_cut_line_is_dropped(tmp_path):
    text = corpus_path("cycler", "arbin", "pyprobe_sample_data_arbin.csv").read_bytes()
    bad = tmp_path / "bad.csv"
    bad.write_bytes(text.replace(b"09/20/2024 08:37:05.256", b"09/20/2024 08:37:0x.256"))
    with pytest.raises(FormatError) as caught:
        read(bad)
    assert caught.value.position == "line 13"
    cut = tmp_path / "cut.csv"
    cut.write_bytes(text[: text.index(b"09/20/2024 08:37:05.256") + 8])
    record = read(cut)
    assert len(record.data) == 11
    assert any("line 13" in note and "cut short" in note for note in record.meta.notes)


def test_several_tests_in_one_res_are_kept_apart(monkeypatch, tmp_path):
    """Ground truth generated here: two tests' rows, stored interleaved as Access may."""
    normal = pd.DataFrame({
        "Test_ID": [2, 1, 2, 1], "Data_Point": [2, 2, 1, 1],
        "Test_Time": [20.0, 10.0, 10.0, 0.0], "DateTime": [45000.5, 45000.1, 45000.4, 45000.0],
        "Current": [-1.0, 0.5, -1.0, 0.5], "Voltage": [3.5, 3.7, 3.6, 3.6],
    })
    glob = pd.DataFrame({"Test_ID": [1, 2], "Test_Name": ["first", "second"],
                         "Channel_Index": [3, 4], "Start_DateTime": [45000.0, 45000.4]})
    tables = {"Channel_Normal_Table": normal, "Global_Table": glob}
    monkeypatch.setattr(arbin_res, "_table_names", lambda path, limit: set(tables))
    monkeypatch.setattr(arbin_res, "_export", lambda path, table, limit: tables[table])
    stand_in = tmp_path / "two_tests.res"
    stand_in.write_bytes(b"")  # its size sets the mdbtools time limit
    record = arbin_res.read_arbin_res(stand_in)
    data = record.data
    assert list(data["arbin_test_id"]) == [1, 1, 2, 2]
    assert list(data["test_time_second"]) == [0.0, 10.0, 10.0, 20.0]
    assert list(data["current_ampere"]) == [0.5, 0.5, -1.0, -1.0]
    assert data["unix_time_second"].iloc[0] == pytest.approx(
        pd.Timestamp("2023-03-15").timestamp())  # OLE day 45000
    assert record.meta.channel == "3,4"
    assert [test["Test_Name"] for test in record.meta.extra["tests"]] == ["first", "second"]
    assert any("2 tests" in note for note in record.meta.notes)


def test_csv_dump_cut_mid_line_drops_the_last_row_and_says_so(tmp_path):
    lines = corpus_path("cycler", "arbin", "battdat_arbin_example.csv").read_bytes().split(b"\n")
    cut = tmp_path / "cut.csv"
    # keep lines 1-10, then line 11 cut after its 8th field (Voltage)
    cut.write_bytes(b"\n".join(lines[:10]) + b"\n" + b",".join(lines[10].split(b",")[:8]))
    record = read(cut)
    assert len(record.data) == 9
    assert any("line 11" in note and "8 of 15 fields" in note for note in record.meta.notes)
