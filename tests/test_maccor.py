"""Maccor text exports and the EDA impedance export, against reference parses and the raw text.

References: cellpy's golden parse of cellpy_maccor_001.txt and beep's parse of
beep_PredictionDiagnostics_000151_paused.052 (both in the corpus' _reference/).
Other expected numbers were read by eye from the raw files (line numbers given).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labkit.errors import FormatError
from labkit.registry import detect, read
from tests.conftest import copy_with_line, corpus_path

pytestmark = pytest.mark.corpus


def _maccor(name: str):
    return read(corpus_path("cycler", "maccor", name))


def test_cellpy_001_matches_cellpy_golden_on_shared_columns():
    golden = pd.read_parquet(corpus_path("cycler", "_reference", "cellpy_loader_maccor_txt",
                                         "raw.parquet"))
    data = _maccor("cellpy_maccor_001.txt").data
    assert len(data) == len(golden) == 6704
    np.testing.assert_array_equal(data["record_index"], golden["data_point"])
    np.testing.assert_allclose(data["test_time_second"], golden["test_time"], atol=1e-6)
    np.testing.assert_allclose(data["step_time_second"], golden["step_time"], atol=1e-6)
    np.testing.assert_array_equal(data["voltage_volt"], golden["voltage"])
    # Amps are unsigned in this export; cellpy and labkit both sign them from State.
    np.testing.assert_array_equal(data["current_ampere"], golden["current"])
    np.testing.assert_array_equal(data["step_index"], golden["step_index"])
    # cellpy also numbers cycles from 1 (Cyc# + 1).
    np.testing.assert_array_equal(data["cycle_count"], golden["cycle_index"])
    golden_unix = (pd.to_datetime(golden["date_time"]) - pd.Timestamp("1970-01-01")).dt.total_seconds()
    np.testing.assert_array_equal(data["unix_time_second"], golden_unix)
    charge = data["maccor_state"].to_numpy() == "C"
    discharge = data["maccor_state"].to_numpy() == "D"
    # cellpy's charge/discharge capacity on C/D rows is the file's per-step Amp-hr.
    np.testing.assert_allclose(data["step_capacity_ampere_hour"][charge],
                               golden["charge_capacity"][charge], atol=1e-12)
    np.testing.assert_allclose(data["step_capacity_ampere_hour"][discharge],
                               golden["discharge_capacity"][discharge], atol=1e-12)
    np.testing.assert_allclose(data["step_energy_watt_hour"][charge],
                               golden["charge_energy"][charge], atol=1e-12)


def test_cellpy_001_counter_resets_at_every_step_and_accumulates_per_cycle():
    record = _maccor("cellpy_maccor_001.txt")
    data = record.data
    # Raw lines 780/781 (rows 777/778): CC step 4 ends at 3.36871 Ah, CV step 5 restarts
    # at 0.00001; step 5 ends at 1.15388 Ah on line 1109 (row 1106).
    assert data["step_capacity_ampere_hour"].iloc[776] == pytest.approx(3.36871)
    assert data["step_capacity_ampere_hour"].iloc[777] == pytest.approx(0.00001)
    assert data["charging_capacity_ampere_hour"].iloc[1105] == pytest.approx(3.36871 + 1.15388)
    assert data["discharging_capacity_ampere_hour"].iloc[1105] == pytest.approx(0.63781)
    assert all(data["cycle_count"] == 1)  # Cyc# is 0 on every line
    assert any("Cyc# + 1" in note for note in record.meta.notes)
    assert record.meta.channel == "1"
    assert record.meta.start_time == "2020-12-11T12:22:12"


def test_beep_paused_matches_beep_parse():
    reference = pd.read_csv(corpus_path("cycler", "_reference",
                                        "beep_BEEPDatapath_maccor_paused_memloaded.csv"))
    data = _maccor("beep_PredictionDiagnostics_000151_paused.052").data
    assert len(data) == len(reference) == 332
    np.testing.assert_array_equal(data["record_index"], reference["data_point"])
    np.testing.assert_array_equal(data["step_index"], reference["step_index"])
    np.testing.assert_array_equal(data["cycle_count"], reference["cycle_index"] + 1)
    # beep stores test time as float32 (0.0625 s resolution at 7.7e5 s).
    np.testing.assert_allclose(data["test_time_second"], reference["test_time"], atol=0.07)
    np.testing.assert_allclose(data["step_time_second"], reference["step_time"], atol=1e-9)
    np.testing.assert_allclose(data["voltage_volt"], reference["voltage"], rtol=1e-6)
    np.testing.assert_allclose(data["current_ampere"], reference["current"], rtol=1e-6)
    np.testing.assert_allclose(data["discharging_capacity_ampere_hour"],
                               reference["discharge_capacity"], atol=1e-12)
    np.testing.assert_allclose(data["discharging_energy_watt_hour"],
                               reference["discharge_energy"], atol=1e-12)
    np.testing.assert_array_equal(data["charging_capacity_ampere_hour"], 0.0)
    # beep reads DPt Time as US/Pacific (PDT, UTC-7) where labkit reads it as UTC.
    beep_unix = (pd.to_datetime(reference["date_time_iso"])
                 - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds()
    np.testing.assert_array_equal(beep_unix - data["unix_time_second"], 7 * 3600)


def test_three_is_millivolts_and_its_counter_carries_over_cc_to_cv():
    record = _maccor("cellpy_maccor_three.txt")
    data = record.data
    assert len(data) == 4009
    # line 6: Volts 1853.8186 (mV), line 367: mAmps 181.5824
    assert data["voltage_volt"].iloc[0] == pytest.approx(1.8538186)
    assert data["current_ampere"].iloc[361] == pytest.approx(0.1815824)
    assert data["current_ampere"].iloc[521] == pytest.approx(-0.8965438)
    # CC step 4 ends at 901.4389 mAh, CV step 5 continues to 906.1120 mAh (lines 523-526).
    assert data["charging_capacity_ampere_hour"].iloc[517] == pytest.approx(0.9014389)
    assert data["charging_capacity_ampere_hour"].iloc[520] == pytest.approx(0.906112)
    assert data["step_capacity_ampere_hour"].iloc[518] == pytest.approx(0.0000009, abs=1e-9)
    assert data["test_time_second"].iloc[-1] == pytest.approx(3 * 86400 + 18 * 3600 + 47 * 60 + 23.42)
    assert any("millivolts" in note for note in record.meta.notes)


def test_two_minutes_comma_decimals_and_cut_last_line():
    record = _maccor("cellpy_maccor_two.txt")
    data = record.data
    assert len(data) == 213  # 214 records, the last cut mid-line
    assert data["voltage_volt"].iloc[0] == pytest.approx(0.1377)
    assert data["voltage_volt"].iloc[-1] == pytest.approx(0.1490)
    # TestTime 212,000000 with DPT Time 14:55:46 vs 11:23:46: minutes
    assert data["test_time_second"].iloc[-1] == pytest.approx(212 * 60)
    assert data["unix_time_second"].iloc[-1] - data["unix_time_second"].iloc[0] == 212 * 60
    assert record.meta.channel == "81"
    assert any("minutes" in note for note in record.meta.notes)
    assert any("incomplete" in note for note in record.meta.notes)
    # 06/05/2021 could be 6 May or June 5: read month-first, and said so
    assert any("ambiguous" in note for note in record.meta.notes)


def test_002_name_channel_block_with_invalid_bytes():
    record = _maccor("cellpy_maccor_002.txt")
    data = record.data
    assert len(data) == 7446
    assert record.meta.sample.name == "CW-SIMBA-FC-CT-NAPF6-015.053"
    assert data["test_time_second"].iloc[-1] == pytest.approx(3809.841833 * 60)
    assert list(np.unique(data["cycle_count"])) == [1, 2]
    # Md = D rows carry negative current; Amps are unsigned in the file.
    discharge = data["maccor_state"] == "D"
    assert (data.loc[discharge, "current_ampere"] < 0).all()
    assert data["discharging_capacity_ampere_hour"].iloc[3995] == pytest.approx(0.002251, abs=1e-6)


def test_minutes_template_and_time_of_day_continuation():
    first = _maccor("battdat_maccor_example.001").data
    second = _maccor("battdat_maccor_example.002").data
    assert len(first) == len(second) == 8
    assert first["test_time_second"].iloc[-1] == pytest.approx(1.1667 * 60)
    assert first["unix_time_second"].iloc[0] == pd.Timestamp("2016-03-31 16:05:31").timestamp()
    # .002 writes only the time of day; the date comes from "Date of Test: 04/01/2016".
    assert second["unix_time_second"].iloc[0] == pd.Timestamp("2016-04-01 16:05:31").timestamp()


def test_comma_separated_export_without_state():
    record = _maccor("pyprobe_sample_data_maccor.csv")
    data = record.data
    assert len(data) == 15
    assert data["current_ampere"].iloc[11] == pytest.approx(28.844)
    assert data["step_capacity_ampere_hour"].iloc[12] == pytest.approx(0.008)
    assert data["temperature_celsius"].iloc[0] == pytest.approx(22.2591)
    assert data["unix_time_second"].iloc[0] == pd.Timestamp("2023-11-23 15:56:11").timestamp()


def test_signed_and_midnight_date_only_timestamps():
    data = _maccor("beep_PredictionDiagnostics_000151_test.052").data
    # line 47 writes DPt Time "10/22/2019" (exact midnight) between full date-times
    assert data["unix_time_second"].iloc[44] == pd.Timestamp("2019-10-22 00:00:00").timestamp()
    tesla = _maccor("beep_xTESLADIAG_000019_CH70.070").data
    assert len(tesla) == 11669
    assert tesla["current_ampere"].iloc[2] == pytest.approx(-9.0750743877)


def test_eda_is_an_impedance_spectrum():
    path = corpus_path("cycler", "maccor", "beep_maccor_test_file_4267-66-6519.EDA0001.041")
    assert detect(path).name == "maccor-eda"
    record = read(path)
    assert record.kind == "impedance"
    data = record.data
    assert len(data) == 60 and record.n_spectra == 1
    assert data["frequency_hertz"].iloc[0] == pytest.approx(999999.0)
    assert data["z_real_ohm"].iloc[0] == pytest.approx(0.773446)
    assert data["z_imag_ohm"].iloc[0] == pytest.approx(-0.849201)
    phase = np.degrees(np.arctan2(data["z_imag_ohm"], data["z_real_ohm"]))
    np.testing.assert_allclose(phase, data["z_phase_degree"], atol=1e-3)
    np.testing.assert_allclose(data["maccor_angular_frequency_radian_per_second"],
                               2 * np.pi * data["frequency_hertz"], rtol=1e-5)
    assert record.meta.start_time == "2016-11-02T15:58:00"


def test_detection_is_by_content_not_extension(tmp_path):
    source = corpus_path("cycler", "maccor", "beep_maccor_test_file_4267-66-6519.041")
    copy = tmp_path / "renamed.xyz"
    copy.write_bytes(source.read_bytes())
    assert detect(copy).name == "maccor-text"
    assert len(read(copy).data) == 74


def test_garbage_cell_names_file_and_line(tmp_path):
    source = corpus_path("cycler", "maccor", "cellpy_maccor_two.txt")
    # line 20 (1-based) is data row 5; blank line 15 sits between header and data
    fields = source.read_bytes().split(b"\n")[19].split(b"\t")
    fields[9] = b"0,1x4z"
    bad = copy_with_line(source, tmp_path, 20, b"\t".join(fields), "two_garbage.txt")
    with pytest.raises(FormatError) as caught:
        read(bad)
    assert caught.value.file == str(bad)
    assert caught.value.position == "line 20"
    assert "Voltage [V]" in caught.value.message


def test_file_cut_inside_the_preamble_is_a_format_error(tmp_path):
    source = corpus_path("cycler", "maccor", "cellpy_maccor_001.txt").read_bytes()
    cut = tmp_path / "cut.txt"
    cut.write_bytes(source[:150])  # inside the three preamble lines
    with pytest.raises(FormatError) as caught:
        read(cut, format="maccor-text")
    assert caught.value.position == "line 1"
    assert "table header" in caught.value.message


def test_bad_date_names_its_line(tmp_path):
    source = corpus_path("cycler", "maccor", "battdat_maccor_example.001")
    line = source.read_bytes().split(b"\n")[5]
    bad = copy_with_line(source, tmp_path, 6,
                         line.replace(b"03/31/2016 16:06:01", b"31/31/2016 99:06:01"), "bad_date.001")
    with pytest.raises(FormatError) as caught:
        read(bad)
    assert caught.value.position == "line 6"
    assert "DPt Time" in caught.value.message


def test_binary_garbage_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    junk = tmp_path / "junk.052"
    junk.write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(FormatError) as caught:
        read(junk)
    assert caught.value.position == "byte 0"


def test_clock_jumps_against_test_time_are_reported():
    # line 354: DPt Time falls from 01:59:57 to 01:00:04 (US daylight saving ends 2019-11-03)
    notes = _maccor("beep_PredictionDiagnostics_000109_tztest.010").meta.notes
    assert any("-3600 s" in note and "line 354" in note for note in notes)
    # beep inserted a 2 h pause before line 47 of the paused copy
    notes = _maccor("beep_PredictionDiagnostics_000151_paused.052").meta.notes
    assert any("+7201 s" in note and "line 47" in note for note in notes)
    assert not any("jumps" in note for note in _maccor("cellpy_maccor_001.txt").meta.notes)
