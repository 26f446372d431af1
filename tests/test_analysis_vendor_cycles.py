"""Per-cycle summary of real files against the cycler software's own per-cycle values."""

from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

import labkit
from labkit.analysis.cycling import summarize_cycles
from labkit.errors import LabkitError
from tests.conftest import corpus_path

pytestmark = pytest.mark.corpus


def _read_or_skip(path):
    try:
        return labkit.read(path)
    except LabkitError as exc:
        pytest.skip(f"labkit cannot read {path.name} yet: {exc}")


def _access_table(path, table):
    if shutil.which("mdb-export") is None:
        pytest.skip("mdbtools (mdb-export) is not installed")
    text = subprocess.run(["mdb-export", str(path), table], capture_output=True, text=True,
                          check=True).stdout
    return pd.read_csv(io.StringIO(text))


@pytest.mark.parametrize("name", ["navani_arbin_example.res", "cellpy_20210210_FC_01_cc_01.res"])
def test_arbin_cycles_match_the_channel_statistic_table(name):
    """Arbin's statistic table gives each cycle's last data point and its charge/discharge time.

    The cycle's capacities and energies are the cumulative columns at that data point.
    """
    path = corpus_path("cycler", "arbin", name)
    record = _read_or_skip(path)
    statistic = _access_table(path, "Channel_Statistic_Table")
    normal = _access_table(path, "Channel_Normal_Table").set_index("Data_Point")
    at_end = normal.loc[statistic["Data_Point"]]
    summary = summarize_cycles(record).table.set_index("cycle_count")
    cycles = at_end["Cycle_Index"].to_numpy()
    assert len(cycles) >= 2
    ours = summary.loc[cycles]
    for column, theirs in (("charge_capacity_ampere_hour", "Charge_Capacity"),
                           ("discharge_capacity_ampere_hour", "Discharge_Capacity"),
                           ("charge_energy_watt_hour", "Charge_Energy"),
                           ("discharge_energy_watt_hour", "Discharge_Energy")):
        assert ours[column].to_numpy() == pytest.approx(at_end[theirs].to_numpy(), rel=1e-6)
    assert ours["charge_time_second"].to_numpy() == pytest.approx(
        statistic["Charge_Time"].to_numpy(), abs=0.1)
    assert ours["discharge_time_second"].to_numpy() == pytest.approx(
        statistic["Discharge_Time"].to_numpy(), abs=0.1)
    assert ours["max_voltage_volt"].to_numpy() == pytest.approx(
        statistic["Vmax_On_Cycle"].to_numpy(), abs=1e-6)


def _hms(text: pd.Series) -> np.ndarray:
    return pd.to_timedelta(text).dt.total_seconds().to_numpy()


def test_neware_three_level_export_cycle_rows():
    """BTSDA's 3-level CSV carries one row per cycle (capacity, efficiency, energy, times)."""
    path = corpus_path("cycler", "neware", "cellpy_nw_regular_export_ife_example.csv")
    record = _read_or_skip(path)
    lines = [line for line in path.read_text(encoding="latin-1").splitlines()
             if line[:1].isdigit()]
    first_eight = "\n".join(",".join(line.split(",")[:8]) for line in lines)
    reference = pd.read_csv(io.StringIO(first_eight),
                            header=None, names=["cycle", "q_chg", "q_dis", "ce_percent", "e_chg",
                                                "e_dis", "t_chg", "t_dis"])
    summary = summarize_cycles(record).table.set_index("cycle_count").loc[reference["cycle"]]
    assert len(reference) == 20
    assert summary["charge_capacity_ampere_hour"].to_numpy() == pytest.approx(
        reference["q_chg"].to_numpy(), abs=6e-6)
    assert summary["discharge_capacity_ampere_hour"].to_numpy() == pytest.approx(
        reference["q_dis"].to_numpy(), abs=6e-6)
    assert summary["charge_energy_watt_hour"].to_numpy() == pytest.approx(
        reference["e_chg"].to_numpy(), abs=6e-6)
    assert 100 * summary["coulombic_efficiency"].to_numpy() == pytest.approx(
        reference["ce_percent"].to_numpy(), abs=0.01)
    # BTSDA prints whole seconds
    assert summary["charge_time_second"].to_numpy() == pytest.approx(_hms(reference["t_chg"]),
                                                                    abs=2)
    assert summary["discharge_time_second"].to_numpy() == pytest.approx(_hms(reference["t_dis"]),
                                                                       abs=2)


@pytest.mark.filterwarnings("ignore:Workbook contains no default style")
def test_neware_xlsx_cycle_sheet():
    path = corpus_path("cycler", "neware", "batteryabn_CELL002_RPT_3_P0C_CH041.xlsx")
    record = _read_or_skip(path)
    reference = pd.read_excel(path, sheet_name="cycle")
    summary = summarize_cycles(record).table.set_index("cycle_count")
    for _, cycle in reference.iterrows():
        ours = summary.loc[int(cycle["Cycle Index"])]
        assert ours["charge_capacity_ampere_hour"] == pytest.approx(cycle["Chg. Cap.(Ah)"],
                                                                    abs=5e-5)
        assert ours["discharge_capacity_ampere_hour"] == pytest.approx(cycle["DChg. Cap.(Ah)"],
                                                                       abs=5e-5)
        assert ours["charge_energy_watt_hour"] == pytest.approx(cycle["Chg. Energy(Wh)"],
                                                                abs=5e-5)
    steps = pd.read_excel(path, sheet_name="step")
    charge = steps[steps["Step Type"].str.contains("Chg")].iloc[0]
    assert summary["charge_time_second"].iloc[0] == pytest.approx(
        _hms(pd.Series([charge["Step Time"]]))[0], abs=1)


def _boundaries(positions: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.diff(positions) != 0) + 1


@pytest.mark.parametrize("folder, name", [
    ("neware", "cellpy_nw_regular_export_ife_example.csv"),
    ("arbin", "cellpy_20210210_FC_01_cc_01.res"),
    ("maccor", "beep_xTESLADIAG_000019_CH70.070"),
])
def test_steps_found_in_the_data_alone_agree_with_the_vendor_steps(folder, name):
    """Ignoring the vendor's step column, every step change that changes the current is found.

    Extra boundaries are allowed only where a vendor step holds a CC and a CV phase
    (Maccor's CCCV step) and are then a CC -> CV split.
    """
    from labkit.analysis.steps import StepParameters, detect_steps

    record = _read_or_skip(corpus_path("cycler", folder, name))
    column = "step_count" if "step_count" in record.data else "step_index"
    vendor = _boundaries(record.data[column].to_numpy(float))
    steps = detect_steps(record, StepParameters(use_vendor_steps=False))
    ours = _boundaries(steps.row_step)
    current = record.data["current_ampere"].to_numpy(float)
    changes_current = np.abs(current[vendor] - current[vendor - 1]) > 0.01 * np.abs(current).max()
    distance = np.abs(vendor[:, None] - ours[None, :]).min(axis=1)
    assert np.all(distance[changes_current] <= 1)
    extra = ours[np.abs(ours[:, None] - vendor[None, :]).min(axis=1) > 1]
    kinds = steps.table.set_index("first_row")["kind"]
    assert set(kinds.reindex(extra)) <= {"cv_charge", "cv_discharge"}


@pytest.mark.filterwarnings("ignore:Workbook contains no default style")
def test_neware_constant_current_charge_ratio():
    """BTSDA's cycle sheet states the constant-current share of the charge."""
    from labkit.analysis.fast_charge import fast_charge_metrics

    path = corpus_path("cycler", "neware", "batteryabn_CELL002_RPT_3_P0C_CH041.xlsx")
    record = _read_or_skip(path)
    reference = pd.read_excel(path, sheet_name="cycle").iloc[0]
    charge = fast_charge_metrics(record).charges.iloc[0]
    assert 100 * charge["cc_fraction"] == pytest.approx(
        reference["Constant Curr. Chg. Ratio(%)"], abs=0.1)
    assert charge["capacity_ampere_hour"] * charge["cc_fraction"] == pytest.approx(
        reference["Constant Curr. Chg. Cap.(Ah)"], abs=5e-4)
