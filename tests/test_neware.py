"""Neware .nda / .ndax / BTSDA readers against vendor exports and reference parses.

Twins: every raw file with a ``*.btsda.parquet`` (BTSDA's own export of the same
test, converted to parquet by fastnda) must give the same rows. Tolerances are the
export's precision: BTSDA writes voltage in 0.1 mV steps (|Δ| <= 0.05 mV), current
in µA (<= 5 µA), capacity/energy in whole mAs/mWs (<= 0.51), all as float32 (plus
a relative 3e-7); times to 1 ms (whole seconds for long tests, then <= 0.5 s).
"""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import corpus_path, fastnda_test_data

from labkit.errors import FormatError
from labkit.parsers import _neware as nw
from labkit.parsers.neware_btsda import read_btsda_csv, read_btsda_xlsx
from labkit.parsers.neware_nda import read_neware_nda
from labkit.parsers.neware_ndax import read_neware_ndax

pytestmark = pytest.mark.corpus

TWINS = [
    "fastnda_nda_v8.nda", "fastnda_nda8.nda", "fastnda_nda_v22.nda", "fastnda_new_nda_file.nda",
    "fastnda_2-1-6_61_07005012.nda", "fastnda_SIM.nda.zip", "fastnda_nda_v26.nda.zip",
    "fastnda_scrubbed_ndc2.ndax", "fastnda_46_1_5_60_bts16.ndax",
    "fastnda_TESTCELL0001-B2-2025-M50T_NewareNDA_Investigation.ndax",
    "fastnda_TESTCELL0001-Test_Data_Collection_Ndc17.ndax", "fastnda_Unit27_Example_Data_File.ndax",
    "fastnda_Unit27_Example_Corrupt.ndax", "fastnda_interp-test.ndax",
    "fastnda_nw4-120-1-6-53.ndax", "fastnda_test_2.ndax",
]

# BTSDA numbers cycles of this multi-loop schedule from its Cycle steps, labkit keeps the
# raw loop counter (see RAW_CYCLE_NOTE); the cycle column is compared on every other twin.
CYCLE_NUMBERED_DIFFERENTLY = {"fastnda_test_2.ndax"}

# BTS 9 stores charge and discharge capacity/energy as separate float32 values; BTSDA's
# signed Pulse-step capacity differs from |charge - discharge| by up to 5e-6 relative there.
CAPACITY_RTOL = {"fastnda_2-1-6_61_07005012.nda": 1e-5}

# BTSDA aux column -> (labkit column, factor from labkit unit to the export's)
AUX_TWINS = {
    "V1(mV)": ("neware_aux_v1_volt", 1e3),
    "T1(?)": ("temperature_celsius", 1.0),
    "T2(?)": ("neware_aux_t2_celsius", 1.0),
    "t1(?)": ("neware_aux_setpoint_t1_celsius", 1.0),
    "T1": ("temperature_celsius", 1.0),
}


def _read_raw(path: Path):
    return (read_neware_ndax if path.suffix == ".ndax" else read_neware_nda)(path)


def _twin(name: str) -> Path:
    stem = name.removesuffix(".zip").removesuffix(".nda").removesuffix(".ndax")
    return corpus_path("cycler", "neware", f"{stem}.btsda.parquet")


def _close(ours: np.ndarray, theirs: np.ndarray, atol: float, rtol: float) -> None:
    ours, theirs = np.asarray(ours, float), np.asarray(theirs, float)
    excess = np.abs(ours - theirs) - (atol + rtol * np.abs(theirs))
    worst = int(np.argmax(excess))
    assert excess[worst] <= 0, f"row {worst}: {ours[worst]} vs {theirs[worst]}"


@pytest.mark.parametrize("name", TWINS)
def test_raw_file_matches_btsda_export(name: str) -> None:
    record = _read_raw(corpus_path("cycler", "neware", name))
    _assert_matches_btsda(record, pd.read_parquet(_twin(name)), name)


#: fastnda's test files beyond the corpus, as (raw file, BTSDA export converted to parquet).
FASTNDA_TWINS = [("SINTEF__G20M7_BTS91.nda.zip", "SINTEF__G20M7_BTS91.parquet"),
                 ("TestFile.nda.zip", "TestFile.parquet"),
                 ("nda_v23.nda.zip", "nda_v23.parquet")]


@pytest.mark.parametrize(("name", "twin"), FASTNDA_TWINS)
def test_fastnda_test_file_matches_btsda_export(name: str, twin: str) -> None:
    """BTS 9 record version 19 (52- and 56-byte records) and nda 23, from fastnda's tests."""
    record = read_neware_nda(fastnda_test_data(name))
    _assert_matches_btsda(record, pd.read_parquet(fastnda_test_data(twin)), name)


def _assert_matches_btsda(record, export: pd.DataFrame, name: str) -> None:
    record.validate()
    data = record.data
    assert len(data) == len(export)
    _close(data["voltage_volt"] * 1e3, export["Voltage(mV)"], 0.05, 2e-7)
    _close(data["current_ampere"] * 1e6, export["Current(uA)"], 5.0, 1e-7)
    for ours, theirs in (("step_index", "Step Index"), ("step_count", "Step Count")):
        np.testing.assert_array_equal(data[ours], export[theirs])
    if name not in CYCLE_NUMBERED_DIFFERENTLY:
        np.testing.assert_array_equal(data["cycle_count"], export["Cycle Index"])
    # BTSDA drops the milliseconds of long tests: a whole-second export value may be 0.5 s off
    for ours, theirs in (("test_time_second", "Total Time"), ("step_time_second", "Time")):
        whole = export[theirs].to_numpy() % 1 == 0
        _close(data[ours], export[theirs], np.where(whole, 0.5 + 1e-6, 1e-3 + 1e-6), 0)
    rtol = CAPACITY_RTOL.get(name, 3e-7)
    _close(data["step_capacity_ampere_hour"] * 3.6e6, export["Capacity(mAs)"].abs(), 0.51, rtol)
    _close(data["step_energy_watt_hour"] * 3.6e6, export["Energy(mWs)"].abs(), 0.51, rtol)
    # the newer twins spell the step types with underscores (CC_Chg)
    assert (data["neware_step_type"].astype(str).str.lower().to_numpy()
            == export["Step Type"].astype(str).str.lower().str.replace("_", " ").to_numpy()).all()
    # BTSDA's Date is the tester's local time: equal up to a whole time-zone offset
    offset = data["unix_time_second"] - export["Date"].astype("int64") / 1e3
    zone = np.round(np.median(offset) / 900) * 900
    whole = export["Date"].dt.microsecond.to_numpy() == 0
    _close(offset - zone, np.zeros(len(offset)), np.where(whole, 1.0, 1e-3), 0)
    for column in export.columns[11:]:
        if column in AUX_TWINS:
            ours, factor = AUX_TWINS[column]
            _close(data[ours] * factor, export[column], 0.05, 2e-7)


def test_capacity_accumulates_over_the_cycle() -> None:
    """charging/discharging capacity restart per cycle and sum the steps' final values."""
    data = _read_raw(corpus_path("cycler", "neware", "fastnda_nw4-120-1-6-53.ndax")).data
    cycle_two = data[data["cycle_count"] == 2]
    steps = cycle_two.groupby("step_count")
    final = steps["step_capacity_ampere_hour"].last()
    charging = steps["charging_capacity_ampere_hour"].last()
    kinds = steps["neware_step_type"].first().astype(str)
    assert charging.iloc[-1] == pytest.approx(final[kinds.str.contains(" Chg")].sum(), rel=1e-9)
    assert cycle_two["charging_capacity_ampere_hour"].iloc[0] < 1e-3
    assert (np.diff(cycle_two["charging_capacity_ampere_hour"]) >= -1e-12).all()


def test_corrupt_ndax_is_a_documented_partial_read() -> None:
    """The damaged copy lost its aux channel list: records are read, aux is left out (as BTSDA)."""
    record = read_neware_ndax(corpus_path("cycler", "neware", "fastnda_Unit27_Example_Corrupt.ndax"))
    assert len(record.data) == 301
    assert "temperature_celsius" not in record.data
    assert any("aux" in note and "cannot be identified" in note for note in record.meta.notes)
    assert any("not valid GB2312" in note for note in record.meta.notes)


def test_empty_ndax_is_refused_with_member_and_offset() -> None:
    path = corpus_path("cycler", "neware", "fastnda_empty.ndax")
    with pytest.raises(FormatError) as caught:
        read_neware_ndax(path)
    assert caught.value.file == str(path)
    assert caught.value.position == "data.ndc byte 4096"
    assert "no records" in caught.value.message


def test_ndax_matches_newarenda_reference() -> None:
    record = read_neware_ndax(corpus_path("cycler", "neware", "newarenda_ZZZZZZZZTEST.ndax"))
    data = record.data
    reference = pd.read_feather(corpus_path("cycler", "_reference", "newarenda_ZZZZZZZZTEST.ftr"))
    pairs = [("record_index", "Index", 1), ("cycle_count", "Cycle", 1), ("step_count", "Step", 1),
             ("step_index", "Step_Index", 1), ("step_time_second", "Time", 1),
             ("voltage_volt", "Voltage", 1), ("current_ampere", "Current(mA)", 1e3),
             ("charging_capacity_ampere_hour", "Charge_Capacity(mAh)", 1e3),
             ("discharging_capacity_ampere_hour", "Discharge_Capacity(mAh)", 1e3),
             ("neware_aux_v1_volt", "V1", 1), ("temperature_celsius", "T1", 1)]
    assert len(data) == len(reference)
    for ours, theirs, factor in pairs:
        _close(data[ours] * factor, reference[theirs], 1e-6, 1e-6)
    _close(data["unix_time_second"], reference["Timestamp"].astype("int64") / 1e9, 1e-3, 0)
    assert record.meta.start_time == "2025-09-11T14:51:27"
    assert record.meta.channel == "46-1-1"
    assert record.meta.instrument == "BTSServer(R3)-8.0.1.437 (2025.01.23)"


def test_uio_csv_matches_cellpy_golden() -> None:
    record = read_btsda_csv(corpus_path("cycler", "neware", "cellpy_neware_uio.csv"))
    data = record.data
    golden = pd.read_parquet(corpus_path("cycler", "_reference", "cellpy_loader_neware_txt",
                                         "raw.parquet"))
    assert len(data) == len(golden) == 9065
    for ours, theirs in (("test_time_second", "test_time"), ("step_time_second", "step_time"),
                         ("current_ampere", "current"), ("voltage_volt", "voltage"),
                         ("cycle_count", "cycle_index"), ("step_index", "step_index"),
                         ("record_index", "data_point"), ("power_watt", "power"),
                         ("charging_capacity_ampere_hour", "charge_capacity"),
                         ("discharging_capacity_ampere_hour", "discharge_capacity")):
        _close(data[ours], golden[theirs], 1e-12, 1e-12)
    # cellpy keeps BTSDA's per-step energies
    _close(data["step_energy_watt_hour"], golden["charge_energy"] + golden["discharge_energy"],
           1e-12, 1e-12)
    assert record.meta.start_time == "2022-05-18T16:27:52"


def test_btsda_csv_in_smallest_units_matches_its_parquet_and_the_raw_file() -> None:
    csv = read_btsda_csv(corpus_path("cycler", "neware", "fastnda_interp-test.btsda.csv")).data
    export = pd.read_parquet(corpus_path("cycler", "neware", "fastnda_interp-test.btsda.parquet"))
    raw = read_neware_ndax(corpus_path("cycler", "neware", "fastnda_interp-test.ndax")).data
    assert len(csv) == len(export) == len(raw) == 333
    _close(csv["voltage_volt"] * 1e3, export["Voltage(mV)"], 1e-4, 1e-7)
    _close(csv["current_ampere"] * 1e6, export["Current(uA)"], 1e-3, 1e-7)
    _close(csv["test_time_second"], export["Total Time"], 1e-6, 0)
    _close(csv["voltage_volt"], raw["voltage_volt"], 0.05e-3, 2e-7)
    _close(csv["step_time_second"], raw["step_time_second"], 1e-3, 0)


def test_three_level_csv_agrees_with_its_step_rows() -> None:
    """The step rows state each step's capacity and end voltage: the records must end on them."""
    path = corpus_path("cycler", "neware", "cellpy_nw_regular_export_ife_example.csv")
    data = read_btsda_csv(path).data
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    step_header = lines[1].split(",")
    cycle_width = len(lines[0].split(","))
    step_rows = []
    for line in lines[3:]:
        fields = line.split(",")
        if fields[0]:
            if len(fields) > cycle_width:  # a cycle row carrying its first step
                step_rows.append(fields[cycle_width - 1:])
        elif fields[1]:
            step_rows.append(fields)
    steps = pd.DataFrame([row[:len(step_header)] for row in step_rows], columns=step_header)
    ends = data.groupby("step_count").last()
    assert len(ends) == len(steps)
    np.testing.assert_array_equal(ends.index, steps["Step Number"].astype(int))
    _close(ends["step_capacity_ampere_hour"], steps["Capacity(Ah)"].astype(float).abs(), 1e-5, 0)
    _close(ends["voltage_volt"], steps["End Voltage(V)"].astype(float), 1e-4, 0)
    assert data["cycle_count"].iloc[-1] == 20
    assert "temperature_celsius" in data and "neware_aux_cpu_celsius" in data


def test_xlsx_record_sheet_and_metadata() -> None:
    import openpyxl

    path = corpus_path("cycler", "neware", "batteryabn_CELL002_RPT_3_P0C_CH041.xlsx")
    record = read_btsda_xlsx(path)
    data = record.data
    with pytest.warns(UserWarning):  # BTSDA workbooks carry no default style
        workbook = openpyxl.load_workbook(path, read_only=True)
    step_sheet = workbook["step"]
    step_sheet.reset_dimensions()
    step_rows = [r for r in step_sheet.iter_rows(values_only=True) if r[0] is not None]
    workbook.close()
    steps = pd.DataFrame(step_rows[1:], columns=step_rows[0])
    ends = data.groupby("step_count").last()
    _close(ends["step_capacity_ampere_hour"], steps["Capacity(Ah)"].abs(), 1e-9, 0)
    assert len(data) == 2833
    assert record.meta.channel == "37-2-1"
    assert record.meta.start_time == "2023-01-10T14:33:33"
    assert record.meta.sample.active_mass_gram == pytest.approx(1e-3)
    assert data["temperature_celsius"].iloc[0] == pytest.approx(26.7)


def test_derived_cycle_count_starts_a_cycle_at_charge_after_discharge() -> None:
    rest, charge, discharge, pulse = 4, 1, 2, 16
    sequence = np.array([rest, charge, rest, discharge, rest, charge, pulse, discharge, charge])
    np.testing.assert_array_equal(nw.derive_cycle_count(sequence), [1, 1, 1, 1, 1, 2, 2, 2, 3])


def test_nda_v130_has_documented_derived_cycles() -> None:
    record = read_neware_nda(corpus_path("cycler", "neware", "fastnda_2-1-6_61_07005012.nda"))
    assert nw.DERIVED_CYCLE_NOTE in record.meta.notes
    assert record.meta.start_time.startswith("2016-04-19T12:21:01")


def test_nda_metadata() -> None:
    record = read_neware_nda(corpus_path("cycler", "neware", "fastnda_new_nda_file.nda"))
    assert record.meta.instrument.startswith("BTSServer(R3)-7.6.0.301")
    assert record.meta.extra["nda_version"] == 29
    assert record.meta.start_time is not None


# --- damaged input ---------------------------------------------------------


def test_truncated_nda_names_offset(tmp_path: Path) -> None:
    source = corpus_path("cycler", "neware", "fastnda_nda_v22.nda").read_bytes()
    broken = tmp_path / "short.nda"
    broken.write_bytes(source[:600])
    with pytest.raises(FormatError) as caught:
        read_neware_nda(broken)
    assert caught.value.position == "byte 0" and "1024-byte header" in caught.value.message


def test_unknown_nda_version_names_version_byte(tmp_path: Path) -> None:
    source = bytearray(corpus_path("cycler", "neware", "fastnda_nda_v22.nda").read_bytes())
    source[14] = 99
    broken = tmp_path / "v99.nda"
    broken.write_bytes(bytes(source))
    with pytest.raises(FormatError) as caught:
        read_neware_nda(broken)
    assert caught.value.position == "byte 14" and "99" in caught.value.message


def test_nda_block_pointer_outside_file(tmp_path: Path) -> None:
    source = bytearray(corpus_path("cycler", "neware", "fastnda_nda_v22.nda").read_bytes())
    source[64:68] = (len(source) + 10).to_bytes(4, "little")
    broken = tmp_path / "pointer.nda"
    broken.write_bytes(bytes(source))
    with pytest.raises(FormatError) as caught:
        read_neware_nda(broken)
    assert caught.value.position == "byte 64"


def test_ndax_with_cut_data_member(tmp_path: Path) -> None:
    source = corpus_path("cycler", "neware", "fastnda_nw4-120-1-6-53.ndax")
    broken = tmp_path / "cut.ndax"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(broken, "w") as copy:
        for name in original.namelist():
            content = original.read(name)
            copy.writestr(name, content[:5000] if name == "data.ndc" else content)
    with pytest.raises(FormatError) as caught:
        read_neware_ndax(broken)
    assert caught.value.position == "data.ndc byte 4096"
    assert "whole 4096-byte pages" in caught.value.message


def test_btsda_csv_with_text_in_a_number_names_the_line(tmp_path: Path) -> None:
    source = corpus_path("cycler", "neware", "cellpy_neware_uio.csv")
    lines = source.read_text(encoding="utf-8").splitlines()
    fields = lines[10].split(",")
    fields[7] = "4.1x"
    lines[10] = ",".join(fields)
    broken = tmp_path / "bad.csv"
    broken.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(FormatError) as caught:
        read_btsda_csv(broken)
    assert caught.value.position == "line 11" and "Voltage(V)" in caught.value.message


@pytest.mark.parametrize(("duration", "problem"), [("00:0x:12", "a letter"),
                                                   ("1:00:00:12", "four fields"),
                                                   ("00:12", "two fields among three")])
def test_btsda_csv_with_a_bad_duration_names_the_line(tmp_path: Path, duration: str,
                                                      problem: str) -> None:
    header = "DataPoint,Cycle Index,Step Index,Step Type,Time,Total Time,Current(A),Voltage(V)"
    rows = [f"{k},1,1,CC Chg,00:00:0{k},00:00:0{k},1.0,3.5" for k in range(1, 5)]
    rows[2] = rows[2].replace("00:00:03,00:00:03", f"00:00:03,{duration}")
    path = tmp_path / "bad_duration.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    with pytest.raises(FormatError) as caught:
        read_btsda_csv(path)
    assert caught.value.position == "line 4", problem
    assert "Total Time" in caught.value.message and duration in caught.value.message


def test_btsda_durations_beyond_a_day_and_with_fractions() -> None:
    from labkit.parsers.neware_btsda import _seconds

    values = pd.Series([" 150:20:11.5", "00:00:00", "1:02:03.25"])
    seconds = _seconds(values, "Total Time", Path("x.csv"), 2)
    assert seconds.tolist() == [150 * 3600 + 20 * 60 + 11.5, 0.0, 3723.25]


def test_zip_with_two_nda_files_is_refused(tmp_path: Path) -> None:
    source = corpus_path("cycler", "neware", "fastnda_nda_v8.nda").read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.nda", source)
        archive.writestr("b.nda", source)
    broken = tmp_path / "two.nda.zip"
    broken.write_bytes(buffer.getvalue())
    with pytest.raises(FormatError, match="one .nda file"):
        read_neware_nda(broken)


def test_registry_detects_every_neware_file(tmp_path: Path) -> None:
    from labkit.registry import detect

    folder = corpus_path("cycler", "neware")
    expected = {".nda": "neware-nda", ".zip": "neware-nda", ".ndax": "neware-ndax",
                ".csv": "neware-btsda-csv", ".xlsx": "neware-btsda-xlsx",
                ".parquet": "neware-btsda-parquet"}
    for path in sorted(folder.iterdir()):
        if path.suffix in expected:
            assert detect(path).name == expected[path.suffix], path.name
    renamed = tmp_path / "no_extension"
    shutil.copy(folder / "fastnda_nda_v22.nda", renamed)
    assert detect(renamed).name == "neware-nda"


def test_btsda_parquet_reads_like_the_raw_file() -> None:
    from labkit.parsers.neware_btsda import read_btsda_parquet

    name = "fastnda_46_1_5_60_bts16"
    export = read_btsda_parquet(corpus_path("cycler", "neware", f"{name}.btsda.parquet")).data
    raw = read_neware_ndax(corpus_path("cycler", "neware", f"{name}.ndax")).data
    shared = ["test_time_second", "step_time_second", "voltage_volt", "current_ampere",
              "cycle_count", "step_index", "step_count", "neware_aux_v1_volt",
              "temperature_celsius", "charging_capacity_ampere_hour",
              "discharging_capacity_ampere_hour"]
    assert set(shared) <= set(export.columns) and len(export) == len(raw)
    for column in shared:
        _close(export[column], raw[column], 1e-3 if "capacity" not in column else 1e-6, 1e-6)


def test_empty_btsda_parquet_is_refused() -> None:
    from labkit.parsers.neware_btsda import read_btsda_parquet

    with pytest.raises(FormatError, match="no records"):
        read_btsda_parquet(corpus_path("cycler", "neware", "fastnda_empty.btsda.parquet"))


def test_damaged_xlsx_is_a_format_error(tmp_path: Path) -> None:
    source = corpus_path("cycler", "neware", "batteryabn_CELL002_RPT_3_P0C_CH041.xlsx")
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(broken, "w") as copy:
        for name in original.namelist():
            content = original.read(name)
            copy.writestr(name, content[:-40] if name == "xl/worksheets/sheet5.xml" else content)
    with pytest.raises(FormatError, match="workbook is damaged"):
        read_btsda_xlsx(broken)


def test_aux_files_pair_with_testinfo_channels_by_name() -> None:
    """data_AUX_<RealChlID>_<ChlType-100>_<n>.ndc: file order (1_1022, 144_2, 144_3) differs
    from TestInfo.xml's (V 144/102, T 144/103, CPU 1/1122); pairing follows the names."""
    data = read_neware_ndax(corpus_path("cycler", "neware",
                                        "cellpy_20260302_IFE_BTS85_2_9_8_1.ndax")).data
    assert (data["neware_aux_v1_volt"] == 0).all()  # no aux voltage probe connected
    assert 20 < data["temperature_celsius"].median() < 30
    assert 20 < data["neware_aux_cpu1_celsius"].median() < 30
    assert not np.allclose(data["temperature_celsius"], data["neware_aux_cpu1_celsius"])


def test_generated_btsda_csv_units_sign_and_cycle_accumulation(tmp_path: Path) -> None:
    """A record-layer export written here (cp1252, µA/mV/mAs/mWs): every value is known."""
    header = ("DataPoint,Cycle Index,Step Index,Step Type,Time,Total Time,Current(µA),"
              "Voltage(mV),Capacity(mAs),Chg. Cap.(mAs),DChg. Cap.(mAs),Energy(mWs),"
              "Chg. Energy(mWs),DChg. Energy(mWs),Date,Power(mW),T1(°C)")
    rows = [  # cycle 1: charge 2 records, discharge 2 records; cycle 2: charge 1 record
        "1,1,1,CC Chg,00:00:01.000,00:00:01.000,1000000,3500.0,1000,1000,0,3500,3500,0,"
        "2024-01-01 00:00:01.000,3500,25.0",
        "2,1,1,CC Chg,00:00:02.000,00:00:02.000,1000000,3600.0,2000,2000,0,7100,7100,0,"
        "2024-01-01 00:00:02.000,3600,25.5",
        "3,1,2,CC Dchg,00:00:01.000,00:00:03.000,-500000,3400.0,500,0,500,1700,0,1700,"
        "2024-01-01 00:00:03.000,-1700,26.0",
        "4,1,2,CC Dchg,00:00:02.500,00:00:04.500,-500000,3300.0,1250,0,1250,4175,0,4175,"
        "2024-01-01 00:00:04.500,-1650,26.5",
        "5,2,3,CC Chg,00:00:01.000,00:00:05.500,2000000,3500.0,2000,2000,0,7000,7000,0,"
        "2024-01-01 00:00:05.500,7000,27.0",
    ]
    path = tmp_path / "generated.csv"
    path.write_bytes(("\r\n".join([header, *rows]) + "\r\n").encode("cp1252"))
    record = read_btsda_csv(path)
    data = record.data
    np.testing.assert_allclose(data["current_ampere"], [1, 1, -0.5, -0.5, 2])
    np.testing.assert_allclose(data["voltage_volt"], [3.5, 3.6, 3.4, 3.3, 3.5])
    np.testing.assert_allclose(data["test_time_second"], [1, 2, 3, 4.5, 5.5])
    np.testing.assert_allclose(data["charging_capacity_ampere_hour"] * 3.6e6,
                               [1000, 2000, 2000, 2000, 2000])
    np.testing.assert_allclose(data["discharging_capacity_ampere_hour"] * 3.6e6,
                               [0, 0, 500, 1250, 0])
    np.testing.assert_allclose(data["step_capacity_ampere_hour"] * 3.6e6,
                               [1000, 2000, 500, 1250, 2000])
    np.testing.assert_allclose(data["power_watt"], [3.5, 3.6, -1.7, -1.65, 7.0])
    np.testing.assert_allclose(data["temperature_celsius"], [25, 25.5, 26, 26.5, 27])
    np.testing.assert_array_equal(data["step_count"], [1, 1, 2, 2, 3])
    assert list(data["neware_step_type"].astype(str)) == ["CC Chg"] * 2 + ["CC DChg"] * 2 + [
        "CC Chg"]
    assert data["unix_time_second"].iloc[0] == pytest.approx(1704067201.0)


def _per_step_frame_inputs(rows: int) -> dict[str, np.ndarray]:
    """Random Neware quantities: steps of 1-9 rows, cycles of 1-3 steps, per-step capacities."""
    rng = np.random.default_rng(7)
    step_count = np.cumsum(rng.random(rows) < 0.2) + 1
    steps = int(step_count[-1])
    cycle_of_step = np.cumsum(rng.random(steps) < 0.4) + 1
    columns = {
        "step_time_second": rng.random(rows) * 10,
        "unix_time_second": 1.7e9 + np.arange(rows, dtype=np.float64),
        "voltage_volt": rng.random(rows) + 3,
        "current_ampere": rng.standard_normal(rows),
        "cycle_count": cycle_of_step[step_count - 1].astype(np.int64),
        "step_index": (step_count % 5).astype(np.uint16),
        "step_count": step_count.astype(np.int64),
        "record_index": np.arange(1, rows + 1, dtype=np.uint32),
    }
    for name in ("charge_ah", "discharge_ah", "charge_wh", "discharge_wh"):
        columns[name] = rng.standard_normal(rows)
    return columns


def test_frame_columns_filled_in_place_give_the_plain_mapping_frame() -> None:
    columns = _per_step_frame_inputs(500)
    step_type = np.where(columns["current_ampere"] > 0, 1, 2).astype(np.uint8)
    plain = nw.cycling_frame(columns, step_type=step_type)
    rows = nw.frame_columns(500)
    for name, values in columns.items():
        target = {"charge_ah": "charging_capacity_ampere_hour",
                  "discharge_ah": "discharging_capacity_ampere_hour",
                  "charge_wh": "charging_energy_watt_hour",
                  "discharge_wh": "discharging_energy_watt_hour"}.get(name, name)
        np.copyto(rows[target], values, casting="unsafe")
    in_place = nw.cycling_frame(rows, step_type=step_type)
    pd.testing.assert_frame_equal(in_place, plain, check_exact=True)
    # the frame's columns are the blocks' rows, not copies
    assert np.shares_memory(in_place["voltage_volt"].to_numpy(), rows["voltage_volt"])
    # independent check of the per-cycle accumulation: a loop over the steps
    charge = np.abs(columns["charge_ah"])
    expected = np.empty(500)
    carried, cycle = 0.0, None
    step_count, cycle_count = columns["step_count"], columns["cycle_count"]
    for step in np.unique(step_count):
        where = np.flatnonzero(step_count == step)
        if cycle_count[where[0]] != cycle:
            carried, cycle = 0.0, cycle_count[where[0]]
        expected[where] = charge[where] + carried
        carried += charge[where[-1]]
    np.testing.assert_allclose(in_place["charging_capacity_ampere_hour"], expected, rtol=1e-12)
    np.testing.assert_array_equal(in_place["step_capacity_ampere_hour"],
                                  np.abs(charge - np.abs(columns["discharge_ah"])))


def test_fill_rows_chunked_equals_whole_column_arithmetic() -> None:
    rows = 2 * nw.CHUNK_ROWS + 17
    dtype = np.dtype([("a", "<i4"), ("b", "u1"), ("c", "<f4"), ("d", "<u8")])
    rng = np.random.default_rng(3)
    records = np.zeros(rows, dtype)
    records["a"] = rng.integers(-2**31, 2**31 - 1, rows)
    records["b"] = rng.integers(0, 255, rows)
    records["c"] = rng.standard_normal(rows).astype(np.float32)
    records["d"] = rng.integers(0, 2**53, rows)
    scale = rng.random(rows)
    out = np.empty((4, rows))
    count = np.empty(rows, dtype=np.int64)
    nw.fill_rows(records, [(np.multiply, "a", scale, out[0]), (np.multiply, "b", 60.0, out[1]),
                           (np.add, out[1], "b", out[1]), (None, "c", None, out[2]),
                           (np.multiply, "d", 1e-3, out[3]), (np.add, "a", np.int64(1), count)])
    expected = [records["a"] * scale, records["b"] * 60.0 + records["b"],
                records["c"].astype(np.float64), records["d"] * 1e-3]
    for got, want in zip(out, expected, strict=True):
        np.testing.assert_array_equal(got.view(np.uint64), want.view(np.uint64))
    np.testing.assert_array_equal(count, records["a"].astype(np.int64) + 1)


def test_kept_records_view_one_run_and_gather_scattered_ones() -> None:
    records = np.zeros(10, np.dtype([("identifier", "u1"), ("value", "<f8")]))
    records["value"] = np.arange(10)
    records["identifier"] = 85
    records["identifier"][[0, 1, 9]] = 170
    keep = records["identifier"] == 85
    one_run = nw.kept(records, keep)
    assert np.shares_memory(one_run, records)
    np.testing.assert_array_equal(one_run["value"], np.arange(2, 9))
    keep[5] = False
    scattered = nw.kept(records, keep)
    np.testing.assert_array_equal(scattered["value"], [2, 3, 4, 6, 7, 8])
    assert not nw.kept(records, np.zeros(10, bool)).size
