"""Novonix, PEC, BaSyTec, LANDt, Indigo, BDF, archive CSVs, VDF and the generic reader.

Expected values come from vendor twins and published reference parses in the
corpus (cellpy goldens, preparenovonix's cleaned file, the BDF project's
conversion of the LANDt run), from numbers read off the raw text, and from
files the tests write themselves.
"""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import labkit
from labkit import FormatError
from labkit.parsers._timecheck import time_order_notes
from labkit.parsers.bdf import bdf_column, is_bdf_cycling_header
from labkit.parsers.delimited import read_delimited
from tests.conftest import copy_with_line, corpus_path


def _cycler(*parts: str) -> Path:
    return corpus_path("cycler", *parts)


# --- PEC -------------------------------------------------------------------------------


def test_pec_matches_cellpy_golden() -> None:
    record = labkit.read(_cycler("pec", "cellpy_pec.csv"))
    golden = pd.read_parquet(_cycler("_reference", "cellpy_loader_pec_csv", "raw.parquet"))
    assert record.meta.file_format == "pec-csv"
    assert len(record.data) == len(golden) == 16255
    pairs = {
        "test_time_second": "test_time", "step_time_second": "step_time",
        "voltage_volt": "voltage", "current_ampere": "current",
        "charging_capacity_ampere_hour": "charge_capacity",
        "discharging_capacity_ampere_hour": "discharge_capacity",
        "charging_energy_watt_hour": "charge_energy",
        "discharging_energy_watt_hour": "discharge_energy",
        "cycle_count": "cycle_index", "step_index": "step_index",
        "temperature_celsius": "cell_surface_temperature_degc",
        "ambient_temperature_celsius": "ambient_temperature_degc",
    }
    for ours, theirs in pairs.items():
        np.testing.assert_allclose(record.data[ours].to_numpy(float),
                                   golden[theirs].to_numpy(float), rtol=1e-12, atol=1e-12,
                                   err_msg=ours)
    # discharge current is negative in PEC and stays so
    assert record.data["current_ampere"].min() == pytest.approx(-1.6406)
    assert record.meta.start_time == "2019-02-22T16:21:35"
    assert record.meta.channel == "SBT0550/001/1"


def test_pec_hhmmss_times_read_by_eye() -> None:
    data = labkit.read(_cycler("pec", "cellpy_Test25205.csv")).data
    # line 48: Total Time 00:00:01.000, Voltage (V) 3.6826108, Temp 19.26
    assert data["test_time_second"].iloc[1] == pytest.approx(1.0)
    assert data["voltage_volt"].iloc[1] == pytest.approx(3.6826108)
    assert data["temperature_celsius"].iloc[1] == pytest.approx(19.26)
    # a row reading 01:05:00.000, Step Time 2100 s, Discharge Energy 0.004 mWh
    row = data[data["step_time_second"] == 2100].iloc[0]
    assert row["test_time_second"] == pytest.approx(3900.0)
    assert row["discharging_energy_watt_hour"] == pytest.approx(4e-6)
    assert row["pec_instruction_name"] == "Idle"


def test_pec_bad_number_names_line(tmp_path: Path) -> None:
    source = _cycler("pec", "cellpy_Test25205.csv")
    line = source.read_text().splitlines()[49].replace("3.68", "3.x8", 1)
    broken = copy_with_line(source, tmp_path, 50, line)
    with pytest.raises(FormatError) as error:
        labkit.read(broken)
    assert error.value.position == "line 50"
    assert error.value.file == str(broken)
    assert "Voltage (V)" in error.value.message


# --- Novonix ---------------------------------------------------------------------------


def _prepared_novonix() -> pd.DataFrame:
    lines = _cycler("_reference", "preparenovonix_example_data_prep.csv").read_text(
        encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "[Data]")
    table = pd.read_csv(io.StringIO("\n".join(lines[start + 1:])))
    table.columns = [c.strip() for c in table.columns]
    return table


def test_novonix_matches_preparenovonix_on_shared_columns() -> None:
    record = labkit.read(_cycler("novonix", "preparenovonix_example_data.csv"))
    data = record.data
    # the file holds a run and its resumption; preparenovonix keeps only the resumption
    assert sorted(data["novonix_section"].unique()) == [0, 1]
    resumed = data[data["novonix_section"] == 1].copy()
    # 9:33:48 AM -> 7:41:32 PM on the first data rows of the two sections
    offset = 10 * 3600 + 7 * 60 + 44
    assert resumed["test_time_second"].iloc[0] == pytest.approx(offset)
    resumed["run_time_h"] = ((resumed["test_time_second"] - offset) / 3600).round(7)
    prepared = _prepared_novonix()
    prepared["run_time_h"] = prepared["Run Time (h)"].round(7)
    merged = resumed.drop_duplicates("run_time_h", keep=False).merge(
        prepared.drop_duplicates("run_time_h", keep=False), on="run_time_h")
    assert len(merged) > 5700
    np.testing.assert_allclose(merged["voltage_volt"], merged["Potential (V)"], rtol=0, atol=0)
    np.testing.assert_allclose(merged["current_ampere"], merged["Current (A)"], rtol=0, atol=0)
    np.testing.assert_allclose(merged["step_time_second"], merged["Step Time (h)"] * 3600,
                               rtol=1e-12)
    np.testing.assert_array_equal(merged["novonix_step_type"], merged["Step Number"])
    np.testing.assert_array_equal(merged["cycle_count"] - 2, merged["Cycle Number"])
    # preparenovonix also continues the running capacity across the restart
    np.testing.assert_allclose(merged["net_capacity_ampere_hour"], merged["Capacity (Ah)"],
                               rtol=0, atol=1e-9)
    assert record.meta.sample.name is None  # anonymised '****'
    assert any("restarts the test" in note for note in record.meta.notes)


def test_novonix_quoted_ampm_variant_read_by_eye() -> None:
    record = labkit.read(_cycler("novonix", "beep_test_Nova_Form-CH01-01_short.csv"))
    data = record.data
    # second data line: 0.0003111 h, 0.13736194 V, 38.92958832 degC
    assert data["test_time_second"].iloc[1] == pytest.approx(0.0003111 * 3600)
    assert data["voltage_volt"].iloc[1] == pytest.approx(0.13736194)
    assert data["temperature_celsius"].iloc[1] == pytest.approx(38.92958832)
    assert record.meta.start_time == "2022-04-11T10:58:07"
    assert record.meta.sample.nominal_capacity_ampere_hour == pytest.approx(0.24)
    assert record.meta.sample.active_mass_gram is None  # the 1.000 g placeholder
    assert record.meta.channel == "01"
    assert "step_index" in data and "dv_dt_volt_per_second" in data


def test_novonix_uhpc_power_and_step_type() -> None:
    data = labkit.read(_cycler("novonix", "pyprobe_sample_data_novonix.csv")).data
    # line 23: 0.49989602 A, 3.85240349 V, Power 1.92580115 W, step type 7 (CC-CV charge)
    assert data["current_ampere"].iloc[1] == pytest.approx(0.49989602)
    assert data["power_watt"].iloc[1] == pytest.approx(1.92580115)
    assert data["novonix_step_type"].iloc[1] == 7


def test_novonix_unsigned_current_made_negative_on_discharge(tmp_path: Path) -> None:
    source = _cycler("novonix", "pyprobe_sample_data_novonix.csv")
    lines = source.read_text(encoding="utf-8").splitlines()
    fields = lines[23].split(",")
    fields[2] = "2"  # step type 2 = CC discharge; current stays unsigned
    broken = copy_with_line(source, tmp_path, 24, ",".join(fields))
    record = labkit.read(broken)
    assert record.data["current_ampere"].iloc[2] == pytest.approx(-0.49999025)
    assert record.data["current_ampere"].iloc[1] > 0
    assert any("unsigned" in note for note in record.meta.notes)


def test_novonix_bad_cell_in_quoted_variant_names_line(tmp_path: Path) -> None:
    source = _cycler("novonix", "beep_test_Nova_Form-CH01-01_short.csv")
    line = source.read_text(encoding="utf-8").splitlines()[59].replace("0.13736194", "0.13x")
    with pytest.raises(FormatError) as error:
        labkit.read(copy_with_line(source, tmp_path, 60, line))
    assert error.value.position == "line 60" and "Potential (V)" in error.value.message


def test_novonix_without_data_section(tmp_path: Path) -> None:
    source = _cycler("novonix", "pyprobe_sample_data_novonix.csv")
    broken = copy_with_line(source, tmp_path, 20, "[Dada]")
    with pytest.raises(FormatError, match=r"\[Data\]") as error:
        labkit.read(broken)
    assert error.value.file == str(broken)


# --- BaSyTec ---------------------------------------------------------------------------


def test_basytec_read_by_eye() -> None:
    record = labkit.read(_cycler("basytec", "pyprobe_sample_data_basytec.txt"))
    last = record.data.iloc[-1]
    # last line: 70.235804 s, U 3.53284..., I 0.4496..., Ah-Cyc-Charge 1.2489e-3
    assert last["test_time_second"] == pytest.approx(70.235804)
    assert last["voltage_volt"] == pytest.approx(3.53285, abs=1e-5)
    assert last["current_ampere"] == pytest.approx(0.449602, abs=1e-6)
    assert last["charging_capacity_ampere_hour"] == pytest.approx(1.248917e-3, rel=1e-6)
    assert last["temperature_celsius"] == pytest.approx(25.47953)  # T1[U+FFFD C]
    assert last["step_index"] == 4 and last["basytec_command"] == "Charge"
    assert record.meta.start_time == "2023-06-19T17:56:53"
    assert record.meta.channel == "1814 CH14 XCTS_40"


def test_basytec_hours_and_bad_cell(tmp_path: Path) -> None:
    source = _cycler("basytec", "pyprobe_sample_data_basytec.txt")
    text = source.read_bytes().replace(b"~Time[s]", b"~Time[h]")
    hours = tmp_path / "hours.txt"
    hours.write_bytes(text)
    data = labkit.read(hours).data
    assert data["test_time_second"].iloc[-1] == pytest.approx(70.235804 * 3600)
    line = source.read_bytes().split(b"\n")[20].decode()
    broken = copy_with_line(source, tmp_path, 21, line.replace("\t3.5", "\tabc", 1))
    with pytest.raises(FormatError) as error:
        labkit.read(broken)
    assert error.value.position == "line 21"
    assert "U[V]" in error.value.message


# --- LANDt and BDF ---------------------------------------------------------------------


def test_landt_matches_its_bdf_twin() -> None:
    landt = labkit.read(_cycler("landt", "bdf_SINTEF__LiGrR2032__2024-04-30__25degC__Landt.csv"))
    twin = labkit.read(_cycler("landt", "bdf_SINTEF__LiGrR2032__2024-04-30__25degC__Landt.bdf.csv"))
    assert landt.meta.file_format == "landt-sintef-csv"
    assert twin.meta.file_format == "bdf-csv"
    assert len(landt.data) == len(twin.data) == 25162
    for column in ("test_time_second", "voltage_volt", "current_ampere", "step_index",
                   "charging_capacity_ampere_hour", "discharging_capacity_ampere_hour"):
        np.testing.assert_allclose(landt.data[column], twin.data[column], rtol=1e-12,
                                   err_msg=column)
    assert landt.data["current_ampere"].min() == pytest.approx(-0.0002)
    assert landt.meta.start_time == "2024-04-30T14:33:19"


def test_landt_and_vdf_malformed_copies(tmp_path: Path) -> None:
    landt = _cycler("landt", "bdf_SINTEF__LiGrR2032__2024-04-30__25degC__Landt.csv")
    line = landt.read_text().splitlines()[9].replace(",2.92", ",2.x2", 1)
    with pytest.raises(FormatError) as error:
        labkit.read(copy_with_line(landt, tmp_path, 10, line))
    assert error.value.position == "line 10" and "voltage_V" in error.value.message
    vdf = _cycler("other", "batteryabn_vdf_CELL002_RPT_1_P0C_R1_CH041.csv")
    units = vdf.read_text().splitlines()[6].replace("\tsecond", "\tfortnight", 1)
    with pytest.raises(FormatError, match="fortnight") as error:
        labkit.read(copy_with_line(vdf, tmp_path, 7, units))
    assert error.value.position == "line 7"


def test_bdf_batmo_matches_cellpy_golden() -> None:
    record = labkit.read(_cycler("bdf", "cellpy_batmo_bdf.csv"))
    golden = pd.read_parquet(_cycler("_reference", "cellpy_loader_batmo_bdf", "raw.parquet"))
    data = record.data
    assert len(data) == len(golden) == 21206
    # 'Test Time / h' -> seconds; first line 0.138888888888889 h = 500 s
    np.testing.assert_allclose(data["test_time_second"], golden["test_time"], rtol=1e-12)
    np.testing.assert_allclose(data["voltage_volt"], golden["voltage"], rtol=1e-12)
    np.testing.assert_allclose(data["current_ampere"], golden["current"], rtol=1e-12,
                               atol=1e-15)
    np.testing.assert_array_equal(data["cycle_count"], golden["cycle_index"])
    # BattMo writes positive current on discharge; the step labels reveal it
    assert (data.loc[data["bdf_step_type"] == "charge", "current_ampere"] < 0).sum() == 0
    assert any("inverted" in note for note in record.meta.notes)


def test_bdf_time_bug_is_reported() -> None:
    record = labkit.read(_cycler(
        "bdf", "bdf_SINTEF__SLPBA842124HV__2024-10-23__Rate_25degC__Neware__Time_Bug.bdf.csv"))
    time = record.data["test_time_second"].to_numpy()
    assert (np.diff(time) < 0).sum() == 19
    assert time[722] == 0.0  # line 724 reads 0.000 between 7200.000 and 7200.010
    assert any("decreases at 19 row(s), first at line 724" in n for n in record.meta.notes)
    assert any(n.startswith("19 of the decreases are single rows") for n in record.meta.notes)
    clean = labkit.read(_cycler("bdf", "bdf_sample.bdf.csv"))
    assert clean.meta.notes == ()
    np.testing.assert_array_equal(clean.data["voltage_volt"], [3.7, 3.6, 3.5])


def test_time_order_notes_on_generated_times() -> None:
    assert time_order_notes(np.arange(10.0), 2) == ()
    restart = np.r_[np.arange(5.0), np.arange(5.0)]  # a genuine restart: time keeps falling back
    notes = time_order_notes(restart, 2)
    assert notes == ("test_time_second decreases at 1 row(s), first at line 7 (4 s -> 0 s); "
                     "values kept as in the file",)
    glitch = np.array([0.0, 1.0, 2.0, 0.0, 3.0, 3.0])
    notes = time_order_notes(glitch, None)
    assert "first at row 3" in notes[0] and "repeats the previous value at 1 row(s)" in notes[1]
    assert notes[2].startswith("1 of the decreases are single rows")
    assert "years" in time_order_notes(np.array([0.0, 5.3e8]))[0]


def test_bdf_legacy_parquet() -> None:
    record = labkit.read(_cycler("bdf", "bdf_legacy.bdf.parquet"))
    raw = pd.read_parquet(_cycler("bdf", "bdf_legacy.bdf.parquet"))
    np.testing.assert_allclose(record.data["test_time_second"], raw["test_time_millisecond"] / 1e3)
    np.testing.assert_allclose(record.data["unix_time_second"], raw["date_time_millisecond"] / 1e3)
    np.testing.assert_array_equal(record.data["cycle_count"], raw["cycle_dimensionless"])


def test_bdf_names() -> None:
    assert bdf_column("Test Time / h") == ("test_time_second", "h")
    assert bdf_column("Discharge Capacity / Ah") == ("discharging_capacity_ampere_hour", "Ah")
    assert bdf_column("temperature_t2_celsius") == ("temperature_t2_celsius", "°C")
    assert is_bdf_cycling_header(["Test Time / s", "Voltage / V"])
    assert not is_bdf_cycling_header(["test_time_second", "frequency_hertz", "z_real_ohm",
                                      "z_imag_ohm", "voltage_volt"])


def test_labkit_written_csv_round_trips_and_impedance_csv_is_not_claimed(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({
        "test_time_second": np.arange(50) * 2.5,
        "voltage_volt": 3.0 + rng.random(50),
        "current_ampere": rng.normal(size=50),
        "cycle_count": np.repeat([1, 2], 25),
        "neware_step_type": ["CC Chg"] * 50,
    })
    path = tmp_path / "written.csv"
    frame.to_csv(path, index=False)
    record = labkit.read(path)
    assert record.meta.file_format == "bdf-csv"
    pd.testing.assert_frame_equal(record.data, frame, check_exact=False, rtol=1e-15)
    spectrum = pd.DataFrame({"frequency_hertz": [1e5, 1e3, 10.0], "z_real_ohm": [1.0, 2.0, 3.0],
                             "z_imag_ohm": [-0.1, -1.0, -0.5], "test_time_second": [0, 1, 2],
                             "voltage_volt": [3.7, 3.7, 3.7]})
    eis_path = tmp_path / "spectrum.csv"
    spectrum.to_csv(eis_path, index=False)
    with contextlib.suppress(FormatError):  # FormatError: no impedance CSV reader at all
        assert labkit.detect(eis_path).name != "bdf-csv"


def test_bdf_csv_bad_value(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("Test Time / s,Voltage / V\n0,3.7\n1,3.6\n2,three\n")
    with pytest.raises(FormatError) as error:
        labkit.read(path)
    assert error.value.position == "line 4"
    assert "Voltage / V" in error.value.message


# --- Indigo, archives, VDF ---------------------------------------------------------------


def test_indigo_first_row() -> None:
    record = labkit.read(_cycler("indigo", "beep_indigo_test_sample.h5"))
    first = record.data.iloc[0]
    # values of block*_values row 0 (float32 in the file)
    assert first["test_time_second"] == pytest.approx(31.532019, rel=1e-7)
    assert first["voltage_volt"] == pytest.approx(4.053948, rel=1e-6)
    assert first["current_ampere"] == pytest.approx(-4.996267, rel=1e-6)
    assert first["unix_time_second"] == pytest.approx(1570746395.467835, abs=1e-6)
    assert first["cycle_count"] == 1
    assert len(record.data) == 20000
    assert record.meta.sample.name == "452"


def test_indigo_truncated_file(tmp_path: Path) -> None:
    source = _cycler("indigo", "beep_indigo_test_sample.h5")
    broken = tmp_path / "cut.h5"
    broken.write_bytes(source.read_bytes()[:70000])
    with pytest.raises(FormatError) as error:
        labkit.read(broken)
    assert error.value.file == str(broken)


def test_battery_archive_and_batterydata() -> None:
    calce = labkit.read(_cycler(
        "other", "battdat_CALCE_CX2-33_prism_LCO_25C_0-100_0.5-0.5C_d_timeseries.csv")).data
    # line 6: 150.024 s, 0.674 A, 3.963 V, 0.002 Ah charged
    row = calce.iloc[4]
    assert (row["test_time_second"], row["current_ampere"], row["voltage_volt"]) == (
        pytest.approx(150.024), pytest.approx(0.674), pytest.approx(3.963))
    assert row["charging_capacity_ampere_hour"] == pytest.approx(0.002)
    raw = labkit.read(_cycler("other", "battdat_p492-13-raw.csv"))
    data = raw.data
    discharging = data["current_ampere"] < 0
    assert data.loc[discharging, "discharging_capacity_ampere_hour"].max() > 0.02
    assert data.loc[discharging, "charging_capacity_ampere_hour"].max() == 0
    assert (data.loc[discharging, "power_watt"] <= 0).all()
    assert data["batterydata_frequency_hertz"].notna().sum() == 78


def test_cycle_summaries_are_read_as_cycle_summary_records() -> None:
    """Per-cycle tables are read (tests/test_cycle_summary.py checks their values)."""
    for parts in (("other", "battdat_p492-13-summary.csv"),
                  ("novonix", "beep_test_Nova_Form-CH01-01_short_metadata.csv")):
        record = labkit.read(_cycler(*parts))
        assert record.kind == "cycle_summary"
        assert record.meta.file_format == "cycle-summary-csv"


def test_voltaiq_vdf() -> None:
    record = labkit.read(_cycler("other", "batteryabn_vdf_CELL002_RPT_1_P0C_R1_CH041.csv"))
    first = record.data.iloc[0]
    assert first["test_time_second"] == pytest.approx(0.494)
    assert first["unix_time_second"] == pytest.approx(1665692516.918)
    assert first["ambient_temperature_celsius"] == pytest.approx(26.37)
    assert record.meta.channel == "41"
    assert any("sensor log" in note for note in record.meta.notes)


# --- generic delimited reader --------------------------------------------------------------


def _synthetic_frame() -> pd.DataFrame:
    time_h = np.linspace(0, 2, 41)
    return pd.DataFrame({"Time (h)": time_h, "U": 3.4 + 0.3 * np.sin(time_h),
                         "I": np.where(time_h < 1, 500.0, -250.0), "Cyc": np.repeat([1, 2], [20, 21])})


def test_read_delimited_round_trip(tmp_path: Path) -> None:
    frame = _synthetic_frame()
    path = tmp_path / "export.txt"
    path.write_text("my logger v1\noperator: me\n" + frame.to_csv(sep=";", index=False,
                                                                    decimal=","))
    record = read_delimited(
        path,
        columns={"Time (h)": "test_time_second", "U": "voltage_volt", "I": "current_ampere",
                 "Cyc": "cycle_count"},
        units={"U": "V", "I": "mA"},
        header_line=3,
        decimal=",",
    )
    data = record.data
    np.testing.assert_allclose(data["test_time_second"], frame["Time (h)"] * 3600, rtol=1e-12)
    np.testing.assert_allclose(data["voltage_volt"], frame["U"], rtol=1e-12)
    np.testing.assert_allclose(data["current_ampere"], frame["I"] / 1000, rtol=1e-12)
    assert data["cycle_count"].dtype == np.int64
    inverted = read_delimited(path, {"Time (h)": "test_time_second", "I": "current_ampere"},
                              units={"I": "mA"}, header_line=3, decimal=",", invert_current=True)
    np.testing.assert_allclose(inverted.data["current_ampere"], -frame["I"] / 1000, rtol=1e-12)


def test_read_delimited_errors(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    text = _synthetic_frame().to_csv(index=False)
    path.write_text(text)
    with pytest.raises(FormatError, match="Volts") as error:
        read_delimited(path, {"Time (h)": "test_time_second", "Volts": "voltage_volt"})
    assert error.value.position == "line 1"
    with pytest.raises(FormatError, match="needs"):
        read_delimited(path, {"Time (h)": "test_time_second", "U": "voltage_volt"},
                       units={"U": "mA"})
    lines = text.splitlines()
    lines[5] = lines[5].replace(",", ",x", 1)
    path.write_text("\n".join(lines))
    with pytest.raises(FormatError) as error:
        read_delimited(path, {"Time (h)": "test_time_second", "U": "voltage_volt"})
    assert error.value.position == "line 6" and error.value.file == str(path)


def test_read_delimited_trailing_separator_keeps_columns(tmp_path: Path) -> None:
    path = tmp_path / "trailing.csv"
    path.write_text("t,v\n0,3.1,\n1,3.2,\n")
    data = read_delimited(path, {"t": "test_time_second", "v": "voltage_volt"}).data
    np.testing.assert_array_equal(data["voltage_volt"], [3.1, 3.2])


def test_corpus_files_are_not_modified(tmp_path: Path) -> None:
    source = _cycler("pec", "cellpy_Test25195.csv")
    copy = tmp_path / source.name
    shutil.copy(source, copy)
    before = copy.read_bytes()
    labkit.read(copy)
    assert copy.read_bytes() == before


@pytest.mark.parametrize("dtype", [object, "str"])
def test_parse_numbers_reads_text_cells_and_names_the_first_that_is_not_a_number(dtype):
    """The shared text-cell parser: plain numbers (after trimming), blanks as NaN, a decimal
    comma when asked; "nan", "4.1x" and the like are errors naming the row."""
    from labkit.parsers._text import parse_numbers

    def parse(cells, **options):
        return parse_numbers(pd.Series(cells, dtype=dtype), "U/V", Path("t.txt"),
                             lambda row: f"line {row + 2}", **options)

    values = parse([" 1.5", "2e-3 ", "", "-inf", "+7"])
    assert values[[0, 1, 3, 4]].tolist() == [1.5, 0.002, -np.inf, 7.0] and np.isnan(values[2])
    assert parse(["1,25", "-"], decimal=",", blanks=("-",))[0] == 1.25
    for cells, bad_line in ((["1", "nan"], "line 3"), (["4.1x", "2"], "line 2"),
                            (["1", ""], "line 3")):
        blanks = () if cells[1] == "" else ("",)
        with pytest.raises(FormatError) as caught:
            parse(cells, blanks=blanks)
        assert caught.value.position == bad_line and "U/V" in caught.value.message
