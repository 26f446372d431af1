"""The data model, Parquet round trip, registry and CLI plumbing."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import labkit
from labkit.cli import main
from labkit.columns import unit_of
from labkit.data import CyclingRecord, ImpedanceRecord, Metadata, Sample


def _cycling() -> CyclingRecord:
    data = pd.DataFrame(
        {
            "test_time_second": np.arange(5, dtype=float),
            "voltage_volt": np.linspace(3.0, 4.2, 5, dtype=np.float32),
            "current_ampere": [0.1, 0.1, -0.1, -0.1, 0.0],
            "cycle_count": pd.array([1, 1, 2, 2, 2], dtype="Int32"),
            "neware_step_type": pd.Categorical(["CC Chg", "CC Chg", "CC DChg", "CC DChg", "Rest"]),
        }
    )
    meta = Metadata(vendor="Test", technique=("GCPL",), sample=Sample(area_square_centimeter=1.13),
                    extra={"Operator": "ada"}, notes=("made in a test",))
    return CyclingRecord(data, meta)


def test_units_follow_the_names():
    assert unit_of("charging_capacity_ampere_hour") == "Ah"
    assert unit_of("step_time_second") == "s"
    assert unit_of("z_imag_ohm") == "Ω"
    assert unit_of("cycle_count") == ""


def test_parquet_round_trip_keeps_data_dtypes_and_metadata(tmp_path):
    record = _cycling()
    path = tmp_path / "r.parquet"
    record.to_parquet(path)
    back = labkit.read_parquet(path)
    assert isinstance(back, CyclingRecord)
    pd.testing.assert_frame_equal(back.data, record.data)
    assert back.meta == record.meta
    assert not list(tmp_path.glob(".*.tmp")), "temporary file left behind"


def test_impedance_conditions_one_row_per_spectrum():
    data = pd.DataFrame({
        "spectrum": [0, 0, 1, 1],
        "frequency_hertz": [1e5, 1.0, 1e5, 1.0],
        "z_real_ohm": [10.0, 20.0, 11.0, 22.0],
        "z_imag_ohm": [-1.0, -5.0, -1.0, -6.0],
        "temperature_celsius": [25.0, 25.0, 60.0, 60.0],
    })
    record = ImpedanceRecord(data)
    record.validate()
    conditions = record.conditions()
    assert conditions["temperature_celsius"].tolist() == [25.0, 60.0]
    assert conditions["points"].tolist() == [2, 2]
    f, z = record.impedance(1)
    assert z[1] == 22.0 - 6.0j


def test_validation_rejects_bad_column_names():
    with pytest.raises(labkit.SchemaError, match="snake_case"):
        CyclingRecord(pd.DataFrame({"test_time_second": [0.0], "Voltage (V)": [1.0]})).validate()


def test_read_refuses_empty_and_unknown_files(tmp_path):
    empty = tmp_path / "empty.mpr"
    empty.write_bytes(b"")
    with pytest.raises(labkit.FormatError, match="empty") as info:
        labkit.read(empty)
    assert info.value.file == str(empty) and info.value.position == "byte 0"
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(labkit.FormatError, match="not a format labkit recognises"):
        labkit.read(junk)


def test_cli_json_error_and_exit_code(tmp_path, capsys):
    missing = tmp_path / "missing.csv"
    assert main(["read", str(missing), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["error"]["type"] == "LabkitError"
    assert out["error"]["file"] == str(missing)


def test_cli_bad_usage_exits_2():
    with pytest.raises(SystemExit) as info:
        main(["read"])
    assert info.value.code == 2


def test_every_parser_module_imports():
    from labkit.registry import broken_parsers

    assert broken_parsers() == {}


def test_parsers_never_import_the_top_level_folder_name():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    offenders = [p.name for p in (root / "parsers").glob("*.py")
                 if "from parsers" in p.read_text() or "import parsers" in p.read_text()]
    assert offenders == [], "parsers must import as labkit.parsers"


def test_command_line_help_does_not_import_pandas():
    import subprocess
    import sys

    code = ("import sys, labkit.cli; labkit.cli.build_parser(); "
            "print('pandas' in sys.modules, 'numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"], "CLI start-up pulls in heavy modules"
