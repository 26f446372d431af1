"""Per-cycle summary tables read as CycleSummaryRecord, and checked against their twins.

Three layouts (BatteryArchive.org ``*_cycle_data.csv``, batterydata.energy.gov
``*-summary.csv``, Novonix ``*_metadata.csv``). Expected values are cells of the
files themselves (the row is cited); conformance compares them with
``summarize_cycles`` of the twin time series, cycle by cycle, where the twin
covers the cycles and the vendor defines the numbers as labkit does.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

import labkit
from labkit.analysis.cycling import summarize_cycles
from labkit.cli import main
from labkit.data import CycleSummaryRecord, Metadata
from labkit.errors import FormatError, SchemaError
from labkit.ingest import ingest
from labkit.store import Store
from tests.conftest import corpus_path

CALCE = ("other", "battdat_CALCE_CX2-33_prism_LCO_25C_0-100_0.5-0.5C_d_cycle_data.csv")
CALCE_TWIN = ("other", "battdat_CALCE_CX2-33_prism_LCO_25C_0-100_0.5-0.5C_d_timeseries.csv")
P492 = ("other", "battdat_p492-13-summary.csv")
P492_TWIN = ("other", "battdat_p492-13-raw.csv")
NOVONIX = ("novonix", "beep_test_Nova_Form-CH01-01_short_metadata.csv")
NOVONIX_TWIN = ("novonix", "beep_test_Nova_Form-CH01-01_short.csv")
SUMMARIES = (CALCE, P492, NOVONIX)


def _cycler(parts: tuple[str, str]):
    return corpus_path("cycler", *parts)


def _read(parts: tuple[str, str]) -> CycleSummaryRecord:
    record = labkit.read(_cycler(parts))
    assert isinstance(record, CycleSummaryRecord)
    return record


# --- reading: values are cells of the files ------------------------------------------------


@pytest.mark.corpus
def test_batteryarchive_cycle_data():
    record = _read(CALCE)
    data = record.data
    assert record.meta.vendor == "BatteryArchive.org"
    assert data["cycle_count"].tolist() == list(range(1, 10))  # 9 rows, 1.0 ... 9.0
    # line 2: 1.0,,,12923.434,-0.674,1.124,2.699,4.2,0.604,1.292,2.5,4.758
    first = data.iloc[0]
    assert first["batteryarchive_test_time_second"] == 12923.434
    assert (first["min_current_ampere"], first["max_current_ampere"]) == (-0.674, 1.124)
    assert (first["min_voltage_volt"], first["max_voltage_volt"]) == (2.699, 4.2)
    assert (first["charge_capacity_ampere_hour"], first["discharge_capacity_ampere_hour"]) == (
        0.604, 1.292)
    assert (first["charge_energy_watt_hour"], first["discharge_energy_watt_hour"]) == (
        2.5, 4.758)
    # line 10: 9.0,,,145061.227,...,1.292,1.291,5.18,4.773
    assert data.iloc[-1]["discharge_energy_watt_hour"] == 4.773
    # Start_Time and End_Time are empty in every row: left out, and said so
    assert not any("start_time" in c or "end_time" in c for c in data)
    assert any("Start_Time" in note for note in record.meta.notes)


@pytest.mark.corpus
def test_batterydata_summary():
    record = _read(P492)
    data = record.data.set_index("cycle_count")
    assert len(data) == 267 and data.index.min() == 1 and data.index.max() == 267
    assert record.meta.start_time == "2020-01-02T10:37:01"  # Datenum_d 737792.442372685
    assert record.meta.time_zone == "local"
    # line 3 (cycle 2, "Capacity check"): tsecs 6359.94 .. 175214.568, Q_chg 0.02187029,
    # Q_dis 0.02173834, CE 0.993966700944523, E_chg 0.08079519, E_dis 0.07969905
    two = data.loc[2]
    assert two["batterydata_cycle_label"] == "Capacity check"
    assert (two["start_time_second"], two["end_time_second"]) == (6359.94, 175214.568)
    assert (two["charge_capacity_ampere_hour"], two["discharge_capacity_ampere_hour"]) == (
        0.02187029, 0.02173834)
    assert (two["charge_energy_watt_hour"], two["discharge_energy_watt_hour"]) == (
        0.08079519, 0.07969905)
    assert two["coulombic_efficiency"] == 0.993966700944523
    # efficiencies are fractions: CE = Q_dis / Q_chg of the same row
    assert two["coulombic_efficiency"] == pytest.approx(0.02173834 / 0.02187029, rel=1e-12)
    # line 2 (cycle 1): no charge -> Q_chg NaN (not 0); I_min -0.00095033 (discharge < 0)
    one = data.loc[1]
    assert np.isnan(one["charge_capacity_ampere_hour"])
    assert one["min_current_ampere"] == -0.00095033
    assert pd.isna(one["batterydata_cycle_label"])
    # line 268 (cycle 267, "EIS"): T_avg NaN, tsecs_cycle 34185
    assert data.loc[267, "batterydata_cycle_label"] == "EIS"
    assert data.loc[267, "batterydata_cycle_duration_second"] == 34185
    assert np.isnan(data.loc[267, "mean_temperature_celsius"])


@pytest.mark.corpus
def test_novonix_cycle_table():
    record = _read(NOVONIX)
    data = record.data
    assert record.meta.vendor == "Novonix"
    assert len(data) == 1 and data["cycle_count"].tolist() == [1]
    assert not any(c.startswith("unnamed") for c in data)  # the pandas row number
    row = data.iloc[0]
    # line 2: 0,1,5.12566938665875,2.91075272275909,1.15266785212746,0.0664822211,...
    assert row["mean_charge_voltage_volt"] == 5.12566938665875
    assert row["mean_discharge_voltage_volt"] == 2.91075272275909
    assert row["coulombic_efficiency"] == 1.15266785212746
    assert row["charge_capacity_ampere_hour"] == 0.0664822211  # Qc
    assert row["discharge_capacity_ampere_hour"] == 0.076631919  # Qd
    assert row["charge_energy_watt_hour"] == 0.3407790273  # Ec
    assert row["discharge_energy_watt_hour"] == 0.2230391271  # Ed
    assert row["novonix_discharge_endpoint_ampere_hour"] == -0.0101496979  # DEndPt
    # units are consistent: no column was scaled (CE = Qd/Qc, EE = Ed/Ec, V = E/Q)
    assert row["coulombic_efficiency"] == pytest.approx(0.076631919 / 0.0664822211, rel=1e-9)
    assert row["energy_efficiency"] == pytest.approx(0.2230391271 / 0.3407790273, rel=1e-9)
    # the software's average voltages are not exactly energy / capacity (4e-5 apart)
    assert row["mean_charge_voltage_volt"] == pytest.approx(0.3407790273 / 0.0664822211,
                                                            rel=1e-4)
    assert row["mean_discharge_voltage_volt"] == pytest.approx(0.2230391271 / 0.076631919,
                                                               rel=1e-4)


@pytest.mark.corpus
@pytest.mark.parametrize("parts", SUMMARIES, ids=lambda p: p[1][:30])
def test_columns_line_up_with_labkits_own_summary(parts):
    """Every canonical column of a vendor summary is one summarize_cycles also produces
    (or a declared per-cycle statistic), with the same unit."""
    from labkit.columns import CYCLE_SUMMARY_COLUMNS, unit_of

    record = _read(parts)
    canonical = [c for c in record.data if not c.startswith(
        ("batteryarchive_", "batterydata_", "novonix_"))]
    assert set(canonical) <= set(CYCLE_SUMMARY_COLUMNS)
    assert {"cycle_count", "charge_capacity_ampere_hour",
            "discharge_capacity_ampere_hour"} <= set(canonical)
    assert record.units()["charge_capacity_ampere_hour"] == "Ah"
    assert unit_of("specific_discharge_capacity_milliampere_hour_per_gram") == "mAh/g"


# --- conformance with the twin time series -------------------------------------------------


@pytest.mark.corpus
def test_batterydata_summary_agrees_with_summarize_cycles_of_the_raw_file():
    """The raw twin holds cycles 1-9 whole (it ends at tsecs_end of cycle 9).

    batterydata's per-cycle capacity/energy is the largest value the raw file's
    per-direction accumulator reaches in the cycle, printed to 8 decimals. It equals
    labkit's (the sum of every charge or discharge phase) in cycles with one phase per
    direction; in cycles 4 (two charges) and 5 (HPPC pulses) labkit's is larger and
    the vendor's is the accumulator's maximum. A direction without current is NaN
    in the summary and 0 in labkit's.
    """
    raw = labkit.read(_cycler(P492_TWIN))
    ours = summarize_cycles(raw).table.set_index("cycle_count")
    theirs = _read(P492).data.set_index("cycle_count").loc[ours.index]
    assert ours.index.tolist() == list(range(1, 10))
    assert raw.data["test_time_second"].max() == theirs.loc[9, "end_time_second"]
    for column in ("start_time_second", "end_time_second"):
        assert ours[column].to_numpy() == pytest.approx(theirs[column].to_numpy(), abs=1e-3)
    accumulator_max = raw.data.groupby("cycle_count")[[
        "charging_capacity_ampere_hour", "discharging_capacity_ampere_hour",
        "charging_energy_watt_hour", "discharging_energy_watt_hour"]].max()
    several_phases = [4, 5]
    single = [c for c in ours.index if c not in several_phases]
    for column, accumulator in (
            ("charge_capacity_ampere_hour", "charging_capacity_ampere_hour"),
            ("discharge_capacity_ampere_hour", "discharging_capacity_ampere_hour"),
            ("charge_energy_watt_hour", "charging_energy_watt_hour"),
            ("discharge_energy_watt_hour", "discharging_energy_watt_hour")):
        vendor = theirs[column].to_numpy(float)
        labkit_value = ours[column].to_numpy(float)
        missing = np.isnan(vendor)
        assert (labkit_value[missing] == 0).all()
        assert accumulator_max[accumulator].to_numpy()[~missing] == pytest.approx(
            vendor[~missing], abs=5e-8)
        one_phase = ~missing & ours.index.isin(single)
        assert labkit_value[one_phase] == pytest.approx(vendor[one_phase], abs=5e-8)
        assert (labkit_value[~missing] >= vendor[~missing] - 5e-8).all()
    assert ours.loc[4, "charge_capacity_ampere_hour"] == pytest.approx(0.030762, abs=1e-6)
    assert theirs.loc[4, "charge_capacity_ampere_hour"] == 0.0196421
    efficiency = ours.loc[single, "coulombic_efficiency"].dropna()
    assert len(efficiency) == 3  # cycles 2, 6 and 9 have both directions
    assert efficiency.to_numpy() == pytest.approx(
        theirs.loc[efficiency.index, "coulombic_efficiency"].to_numpy(), rel=1e-6)


@pytest.mark.corpus
def test_batteryarchive_twin_is_an_excerpt_of_cycle_1():
    """The CALCE time-series twin holds the first 15 records (450 s) of cycle 1 only, so
    no cycle can be compared whole: the excerpt lies within cycle 1's summary bounds."""
    twin = labkit.read(_cycler(CALCE_TWIN))
    ours = summarize_cycles(twin).table
    theirs = _read(CALCE).data.set_index("cycle_count").loc[1]
    assert ours["cycle_count"].tolist() == [1]
    assert twin.data["test_time_second"].max() < theirs["batteryarchive_test_time_second"]
    assert 0 < ours["charge_capacity_ampere_hour"].iloc[0] < theirs[
        "charge_capacity_ampere_hour"]
    # the vendor's accumulator at the excerpt's end (line 16: 0.059 Ah) is what labkit sums
    assert ours["charge_capacity_ampere_hour"].iloc[0] == pytest.approx(0.059, abs=1e-9)
    current = twin.data["current_ampere"]
    assert theirs["min_current_ampere"] <= current.min() <= current.max() <= theirs[
        "max_current_ampere"]
    assert theirs["min_voltage_volt"] <= ours["min_voltage_volt"].iloc[0]
    assert ours["max_voltage_volt"].iloc[0] <= theirs["max_voltage_volt"]


@pytest.mark.corpus
def test_novonix_twin_is_truncated_in_the_first_charge():
    """The Novonix time-series twin ends 17.4 h into cycle 1, in its first CC charge (no
    discharge yet); the summary covers the whole cycle. The excerpt's charge is a part
    of the summary's."""
    twin = labkit.read(_cycler(NOVONIX_TWIN))
    ours = summarize_cycles(twin).table
    theirs = _read(NOVONIX).data.iloc[0]
    assert ours["cycle_count"].tolist() == [1]
    assert ours["discharge_capacity_ampere_hour"].iloc[0] == 0
    assert theirs["discharge_capacity_ampere_hour"] > 0
    assert 0 < ours["charge_capacity_ampere_hour"].iloc[0] < theirs[
        "charge_capacity_ampere_hour"]
    assert 0 < ours["charge_energy_watt_hour"].iloc[0] < theirs["charge_energy_watt_hour"]


# --- storage, CLI, ingest --------------------------------------------------------------------


@pytest.mark.corpus
@pytest.mark.parametrize("parts", SUMMARIES, ids=lambda p: p[1][:30])
def test_parquet_round_trip(parts, tmp_path):
    record = _read(parts)
    path = tmp_path / "summary.parquet"
    record.to_parquet(path)
    back = labkit.read_parquet(path)
    assert isinstance(back, CycleSummaryRecord)
    pd.testing.assert_frame_equal(back.data, record.data, check_exact=True)
    assert back.data.dtypes.to_dict() == record.data.dtypes.to_dict()
    assert back.meta == record.meta


@pytest.mark.corpus
def test_cli_read_json(capsys):
    path = _cycler(P492)
    assert main(["read", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "cycle_summary"
    assert out["file_format"] == "cycle-summary-csv"
    assert out["vendor"] == "batterydata.energy.gov"
    assert out["rows"] == out["cycles"] == 267
    assert out["cycle_range"] == [1, 267]
    units = {c["name"]: c["unit"] for c in out["columns"]}
    assert units["charge_capacity_ampere_hour"] == "Ah"
    assert units["end_time_second"] == "s"
    assert units["coulombic_efficiency"] == ""
    assert main(["read", str(path)]) == 0
    assert "cycles     267 (cycle 1 to 267)" in capsys.readouterr().out


@pytest.mark.corpus
def test_analysis_commands_say_a_summary_is_not_a_time_series(capsys):
    assert main(["dqdv", str(_cycler(NOVONIX)), "--json"]) == 1
    error = json.loads(capsys.readouterr().out)["error"]
    assert "per-cycle summary table" in error["message"]


@pytest.mark.corpus
def test_summarize_cycles_of_a_summary_table_completes_it_from_the_files_numbers():
    """Expected values from the CSV read with pandas alone (BatteryArchive names)."""
    raw = pd.read_csv(_cycler(CALCE))
    charge, discharge = raw["Charge_Capacity (Ah)"], raw["Discharge_Capacity (Ah)"]
    summary = summarize_cycles(_read(CALCE), retention_threshold=0.9995, active_mass_gram=2.0)
    table = summary.table
    assert summary.steps is None and summary.reference_cycle == 1
    assert table["cycle_count"].tolist() == raw["Cycle_Index"].astype(int).tolist()
    assert table["discharge_capacity_ampere_hour"].tolist() == discharge.tolist()
    assert table["coulombic_efficiency"].to_numpy() == pytest.approx(discharge / charge, rel=1e-12)
    assert table["energy_efficiency"].to_numpy() == pytest.approx(
        raw["Discharge_Energy (Wh)"] / raw["Charge_Energy (Wh)"], rel=1e-12)
    retention = discharge / discharge.iloc[0]  # 1.292 Ah in cycle 1
    assert table["capacity_retention"].to_numpy() == pytest.approx(retention, rel=1e-12)
    below = raw["Cycle_Index"][(retention < 0.9995) & (raw["Cycle_Index"] > 1)]
    assert summary.cycle_below_threshold == int(below.iloc[0])
    assert table["specific_discharge_capacity_milliampere_hour_per_gram"].to_numpy() == \
        pytest.approx(discharge * 1000 / 2.0, rel=1e-12)
    assert "per-cycle table" in summary.capacity_source


@pytest.mark.corpus
def test_a_summary_tables_own_efficiencies_are_kept():
    """batterydata states CE itself (row of cycle 2: 0.993966700944523): it is not recomputed."""
    record = _read(P492)
    table = summarize_cycles(record).table.set_index("cycle_count")
    assert table.loc[2, "coulombic_efficiency"] == 0.993966700944523
    assert table["coulombic_efficiency"].equals(
        record.data.set_index("cycle_count")["coulombic_efficiency"])


@pytest.mark.corpus
def test_cli_cycles_of_a_summary_table(capsys):
    assert main(["cycles", str(_cycler(CALCE)), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert [c["cycle_count"] for c in payload["cycles"]] == list(range(1, 10))
    assert payload["cycles"][0]["coulombic_efficiency"] == pytest.approx(1.292 / 0.604)
    assert main(["cycles", str(_cycler(NOVONIX))]) == 0
    assert "per-cycle table" in capsys.readouterr().out


@pytest.mark.corpus
def test_ingest_a_folder_with_a_summary_and_its_twin(tmp_path):
    source = tmp_path / "exports"
    source.mkdir()
    for parts in (P492, P492_TWIN):
        shutil.copy(_cycler(parts), source / parts[1])
    store = Store(tmp_path / "store")
    report = ingest([source], store, hooks=("summary", "cycles"))
    assert (report.ingested, report.quarantined) == (2, 0)
    catalog = store.query(status="ok").set_index("format")
    assert catalog.loc["cycle-summary-csv", "kind"] == "cycle_summary"
    assert catalog.loc["cycle-summary-csv", "rows"] == 267
    assert catalog.loc["batterydata-csv", "kind"] == "cycling"
    loaded = store.load(source / P492[1])
    assert isinstance(loaded, CycleSummaryRecord)
    pd.testing.assert_frame_equal(loaded.data, _read(P492).data)
    results = store.analyses().set_index(["path", "name"])["result"].map(json.loads)
    summary_path, twin_path = (str((source / parts[1]).resolve()) for parts in (P492, P492_TWIN))
    vendor_cycles = results[(summary_path, "cycles")]["cycles"]
    assert len(vendor_cycles) == 267 and vendor_cycles[1]["coulombic_efficiency"] == \
        0.993966700944523  # the file's own CE of cycle 2
    assert results[(summary_path, "summary")]["cycles"] == 267
    assert len(results[(twin_path, "cycles")]["cycles"]) == 9


# --- the record type itself ------------------------------------------------------------------


def test_validate_wants_one_whole_cycle_number_per_row():
    good = CycleSummaryRecord(pd.DataFrame({"cycle_count": [1, 2],
                                            "charge_capacity_ampere_hour": [1.0, 0.9]}))
    good.validate()
    assert good.summary()["cycle_range"] == [1, 2]
    with pytest.raises(SchemaError, match="repeats cycle 2"):
        CycleSummaryRecord(pd.DataFrame({"cycle_count": [1, 2, 2]})).validate()
    with pytest.raises(SchemaError, match="integer column"):
        CycleSummaryRecord(pd.DataFrame({"cycle_count": [1.0, 1.5]})).validate()
    with pytest.raises(SchemaError, match="lacks required columns"):
        CycleSummaryRecord(pd.DataFrame({"charge_capacity_ampere_hour": [1.0]}),
                           Metadata()).validate()


def test_damaged_summary_names_the_line(tmp_path):
    path = tmp_path / "summary.csv"
    path.write_text(",Cycle,AverageChargeVoltage,AverageDischargeVoltage,CE,Qc,Qd\n"
                    "0,1,3.9,3.7,0.99,0.1,0.099\n"
                    "1,2,3.9,oops,0.99,0.1,0.099\n")
    with pytest.raises(FormatError) as error:
        labkit.read(path)
    assert error.value.position == "line 3"
    path.write_text(",Cycle,AverageChargeVoltage,AverageDischargeVoltage,CE,Qc,Qd\n"
                    "0,1.5,3.9,3.7,0.99,0.1,0.099\n")
    with pytest.raises(FormatError, match="whole cycle number") as error:
        labkit.read(path)
    assert error.value.position == "line 2"


def test_a_column_the_layout_does_not_list_is_kept_with_the_vendor_prefix(tmp_path):
    path = tmp_path / "summary.csv"
    path.write_text(",Cycle,AverageChargeVoltage,AverageDischargeVoltage,CE,Qc,Qd,RestMin,Op\n"
                    "0,1,3.9,3.7,0.99,0.1,0.099,30,ab\n"
                    "1,2,3.9,3.7,0.98,0.1,0.098,45,cd\n")
    data = labkit.read(path).data
    assert data["novonix_rest_min"].tolist() == [30, 45]
    assert data["novonix_op"].tolist() == ["ab", "cd"]
    assert data["coulombic_efficiency"].tolist() == [0.99, 0.98]
