"""What ``labkit formats`` and ``labkit read`` list: an aligned table with a header, and
for every column its unit or, when it has none, what it holds (count, index, code...)."""

from __future__ import annotations

import json

import pytest

from labkit.cli import main
from labkit.columns import UNIT_NOT_STATED, no_unit_meaning, unit_of
from labkit.parsers._biologic_columns import generic_target

HEADER = ["format", "vendor", "kind", "extensions", "description"]


def test_formats_table_has_a_header_and_stays_aligned_after_long_vendor_names(capsys):
    assert main(["formats"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == HEADER
    starts = [lines[0].index(word) for word in HEADER]
    assert main(["formats", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)["formats"]
    assert len(lines) == len(entries) + 1
    assert max(len(e["vendor"]) for e in entries) > 12  # longer than the old fixed width
    for line, entry in zip(lines[1:], entries, strict=True):
        cells = [line[start:end].strip() for start, end in zip(starts, [*starts[1:], None],
                                                               strict=True)]
        assert cells == [entry["name"], entry["vendor"], entry["kind"],
                         " ".join(entry["extensions"]), entry["description"]], line


def test_read_lists_each_columns_unit_or_what_it_holds(tmp_path, capsys):
    path = tmp_path / "cell.bdf.csv"
    path.write_text("test_time_second,voltage_volt,current_ampere,cycle_count,step_index\n"
                    "0,3.5,0.1,1,1\n10,3.6,0.1,1,1\n20,3.7,-0.1,1,2\n", encoding="utf-8")
    assert main(["read", str(path), "--json"]) == 0
    columns = {c["name"]: c for c in json.loads(capsys.readouterr().out)["columns"]}
    assert (columns["voltage_volt"]["unit"], columns["voltage_volt"]["no_unit"]) == ("V", None)
    assert (columns["cycle_count"]["unit"], columns["cycle_count"]["no_unit"]) == ("", "count")
    assert columns["step_index"]["no_unit"] == "index"
    assert main(["read", str(path)]) == 0
    listing = capsys.readouterr().out.split("columns\n", 1)[1].splitlines()
    rows = {line.split()[0]: line.split()[1] for line in listing if line.startswith("  ")}
    assert rows == {"test_time_second": "[s]", "voltage_volt": "[V]", "current_ampere": "[A]",
                    "cycle_count": "(count)", "step_index": "(index)"}


@pytest.mark.parametrize(("column", "meaning"), [
    ("biologic_control", "V or mA, by biologic_mode (potentiostatic or galvanostatic)"),
    ("biologic_mode", "code"),
    ("biologic_ox_red", "flag (0 or 1)"),
    ("biologic_counter_inc", "count"),
    ("biologic_half_cycle", "index"),
    ("biologic_tan_delta", "dimensionless"),
    ("neware_step_type", "code"),
    ("maccor_loop2", "count"),
    ("pec_reason_code", "code"),
    ("landt_step_name", "text"),
    ("arbin_is_fc_data", "flag (0 or 1)"),
    ("coulombic_efficiency", "fraction"),
    ("batterydata_relative_discharge_capacity", "fraction"),
    ("spectrum", "index"),
    ("maccor_var3", UNIT_NOT_STATED),  # a user variable: its unit is whatever the user set
    ("zplot_ampl", UNIT_NOT_STATED),  # V or A with the control mode, not in the file
])
def test_a_column_without_a_unit_says_what_it_holds(column, meaning):
    assert unit_of(column) == ""
    assert no_unit_meaning(column) == meaning


@pytest.mark.parametrize(("column", "unit"), [
    ("arbin_aux_0_dtemperature_dt_celsius_per_second", "°C/s"),
    ("arbin_dq_dv_ampere_hour_per_volt", "Ah/V"),
    ("arbin_dv_dq_volt_per_ampere_hour", "V/Ah"),
    ("arbin_specific_capacity_milliampere_hour_per_gram", "mAh/g"),
    ("maccor_angular_frequency_radian_per_second", "rad/s"),
    ("versastudio_e_applied_volt", "V"),
    ("batterydata_datenum_day", "d"),
    ("biologic_abs_y_siemens", "S"),
    ("biologic_re_resistivity_ohm_centimeter", "Ω·cm"),
])
def test_vendor_columns_with_a_unit_spell_it(column, unit):
    assert unit_of(column) == unit
    assert no_unit_meaning(column) is None


@pytest.mark.parametrize(("label", "name", "scale"), [
    ("dI/dt/mA/s", "biologic_di_dt_ampere_per_second", 1e-3),
    ("d(Q-Qo)/dE/mA.h/V", "biologic_dq_qo_de_ampere_hour_per_volt", 1e-3),
    ("Cp-2/µF-2", "biologic_cp_2_per_square_farad", 1e12),  # 1/(1 µF)² = 1e12 F⁻²
    ("|Y|/Ohm-1", "biologic_abs_y_siemens", 1.0),
    ("Re(Resistivity)/Ohm.cm", "biologic_re_resistivity_ohm_centimeter", 1.0),
])
def test_biologic_compound_units_are_converted_to_si_words(label, name, scale):
    target = generic_target(label)
    assert (target.name, target.scale) == (name, pytest.approx(scale))
