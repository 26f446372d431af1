"""``labkit cycles|rate|ccd|transference --json`` on BDF CSV and impedance CSV files."""

from __future__ import annotations

import json

import pytest

import labkit
from labkit import examples
from labkit.cli import main
from labkit.errors import LabkitError


def _write(frame, path):
    frame.to_csv(path, index=False, float_format="%.10g")
    try:
        labkit.read(path)
    except LabkitError as exc:
        pytest.skip(f"labkit cannot read {path.name} yet: {exc}")
    return str(path)


def _run(capsys, *argv):
    code = main([*argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_cycles_prints_one_entry_per_cycle(tmp_path, capsys):
    path = _write(examples.cycling_cell(cycles=12).data, tmp_path / "cell.bdf.csv")
    code, payload = _run(capsys, "cycles", path, "--mass", "0.02")
    assert code == 0
    assert [c["cycle_count"] for c in payload["cycles"]] == list(range(1, 13))
    retention = [c["capacity_retention"] for c in payload["cycles"]]
    assert retention[10] == pytest.approx(1 - 0.004 * 10, abs=0.01)
    assert "specific_discharge_capacity_milliampere_hour_per_gram" in payload["cycles"][0]


def test_rate_prints_rates_and_tian_fit(tmp_path, capsys):
    path = _write(examples.rate_capability().data, tmp_path / "rate.bdf.csv")
    code, payload = _run(capsys, "rate", path, "--capacity", "0.003")
    assert code == 0
    assert [r["c_rate_per_hour"] for r in payload["rates"]] == [0.1, 0.2, 0.5, 1, 2, 5, 10]
    assert payload["tian_fit"]["tau_hour"]["value"] == pytest.approx(0.05, rel=0.05)
    assert payload["tian_fit"]["n"]["stderr"] > 0
    code, payload = _run(capsys, "rate", path, "--mass", "0.015", "--specific-capacity", "200")
    assert code == 0 and payload["reference_capacity_ampere_hour"] == pytest.approx(0.003)


def test_ccd_prints_the_stable_keys(tmp_path, capsys):
    record = examples.ccd_staircase(short_at_ma_cm2=0.4)
    path = _write(record.data, tmp_path / "ccd.bdf.csv")
    code, payload = _run(capsys, "ccd", path, "--area", "1.0")
    assert code == 0
    assert payload["ccd_milliampere_per_square_centimeter"] == pytest.approx(0.3)
    assert payload["failed_at_milliampere_per_square_centimeter"] == pytest.approx(0.4)
    assert payload["criterion"] in ("voltage_drop", "ohmic_collapse")
    # the example shorts a third (600 s) into the 0.4 mA/cm² plating half cycle
    time = record.data["test_time_second"]
    plating = time[record.data["current_ampere"].round(7) == 4e-4]
    first_shorted = plating[plating - plating.iloc[0] > 600].iloc[0]
    assert payload["failure_time_second"] == pytest.approx(first_shorted)


def test_ccd_without_area_is_a_metadata_error(tmp_path, capsys):
    path = _write(examples.ccd_staircase().data, tmp_path / "ccd.bdf.csv")
    code, payload = _run(capsys, "ccd", path)
    assert code == 1
    assert payload["error"]["type"] == "MetadataError"
    assert "cell area not given" in payload["error"]["message"]


def test_transference_prints_every_method(tmp_path, capsys):
    ca, before, after = examples.transference_experiment(t_plus=0.3)
    columns = ["frequency_hertz", "z_real_ohm", "z_imag_ohm"]
    ca_path = _write(ca.data, tmp_path / "ca.bdf.csv")
    before_path = _write(before.data[columns], tmp_path / "before.csv")
    after_path = _write(after.data[columns], tmp_path / "after.csv")
    code, payload = _run(capsys, "transference", "--ca", ca_path, "--eis-before", before_path,
                         "--eis-after", after_path)
    assert code == 0
    for key in ("t_plus_bruce_vincent", "t_plus_evans", "t_plus_watanabe"):
        assert set(payload[key]) == {"value", "stderr"}
    assert payload["t_plus_bruce_vincent"]["value"] == pytest.approx(0.3, abs=0.01)
    assert payload["t_plus_watanabe"]["value"] == pytest.approx(0.3, abs=0.01)
    code, given = _run(capsys, "transference", "--ca", ca_path, "--r0", "500", "--rss", "550",
                       "--dv", "0.01")
    assert code == 0 and given["t_plus_bruce_vincent"]["value"] == pytest.approx(0.3, abs=0.01)
    assert given["t_plus_watanabe"] is None


def test_fast_charge_and_limits_commands(tmp_path, capsys):
    path = _write(examples.cycling_cell(cycles=3).data, tmp_path / "cell.bdf.csv")
    code, payload = _run(capsys, "fast-charge", path, "--capacity", "0.003")
    assert code == 0 and len(payload["charges"]) == 3
    # C/2 charging cannot reach 80 % of the nominal capacity in 15 minutes
    assert payload["charges"][0]["meets_usabc_fast_charge"] is False
    assert payload["charges"][0]["time_to_80_percent_second"] > 80 * 60
    code, payload = _run(capsys, "limits", "--sigma", "1e-3", "--t-plus", "1",
                         "--thickness", "30e-4", "--areal-capacity", "4")
    assert code == 0
    assert payload["max_c_rate_per_hour"] == pytest.approx(1e-3 * 0.1 / 30e-4 * 1000 / 4)
    assert payload["limiting_current_note"].startswith("salt diffusivity")
    code, payload = _run(capsys, "limits", "--sigma", "1e-3", "--t-plus", "1.5",
                         "--thickness", "30e-4")
    assert code == 1 and "transference number" in payload["error"]["message"]


def test_dqdv_prints_peaks_and_writes_curves(tmp_path, capsys):
    import numpy as np
    import pandas as pd

    t = 2.0 * np.arange(1, 1799)
    q = t / 3600
    voltage = 3.7 + 0.02 * np.log(q / (1.0 - q))
    frame = pd.DataFrame({"test_time_second": t, "current_ampere": 1.0, "voltage_volt": voltage})
    path = _write(frame, tmp_path / "plateau.bdf.csv")
    out = tmp_path / "curves.csv"
    code, payload = _run(capsys, "dqdv", path, "-o", str(out))
    assert code == 0
    assert payload["peaks"][0]["voltage_volt"] == pytest.approx(3.7, abs=0.005)
    assert payload["peaks"][0]["dq_dv_ampere_hour_per_volt"] == pytest.approx(12.5, rel=0.05)
    curves = pd.read_csv(out)
    assert set(curves["direction"]) == {"charge"}
