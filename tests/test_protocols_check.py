"""``protocol check``: every schedule labkit writes passes it; real procedures get notes."""

from __future__ import annotations

import dataclasses
import json

import pytest
import yaml

from labkit.cli import main
from labkit.errors import ProtocolError
from labkit.protocols import formats
from labkit.protocols.check import check_file
from labkit.protocols.generators import GENERATORS
from labkit.protocols.schedule import Cell
from tests._schedule_shape import as_written, shape
from tests.conftest import corpus_path

# The issue's cell: 2 Ah, 2.5-4.3 V (a window PyBaMM's default 4.2 V would refuse).
CELL = Cell(name="2 Ah pouch", nominal_capacity_ampere_hour=2.0, min_voltage_volt=2.5,
            max_voltage_volt=4.3, max_current_ampere=20.0)
SYMMETRIC = Cell(name="Li|LLZO|Li", area_square_centimeter=0.5, min_voltage_volt=-5.0,
                 max_voltage_volt=5.0, max_current_ampere=0.01)
VENDOR_FORMATS = ("maccor", "biologic", "biologic-bt", "neware", "arbin", "pybamm")
# What each format cannot express, and the reason its writer gives (naming the step).
REFUSED = {
    ("bruce_vincent", "biologic-bt"): "eis_before: the BT-Lab Modulo Bat row set of the corpus "
                                      "has no EIS sequence",
    ("bruce_vincent", "neware"): "eis_before: Neware step files hold no eis step",
    ("bruce_vincent", "arbin"): "eis_before: the Arbin writer has no eis step",
    ("bruce_vincent", "pybamm"): "eis_before: PyBaMM does not simulate EIS",
    ("eis_temperature_series", "maccor"): "hold_-20C: no Maccor procedure in the corpus sets a "
                                          "chamber temperature",
    ("eis_temperature_series", "biologic"): "hold_-20C: BioLogic settings hold no chamber",
    ("eis_temperature_series", "biologic-bt"): "hold_-20C: BioLogic settings hold no chamber",
    ("eis_temperature_series", "neware"): "eis_-20C: Neware step files hold no eis step",
    ("eis_temperature_series", "arbin"): "hold_-20C: Arbin schedules hold no chamber set point",
    ("eis_temperature_series", "pybamm"): "hold_-20C: PyBaMM step strings carry no temperature",
    ("pulse_charge", "neware"): "pulse_charge: Neware step files hold no pulse step",
    ("pulse_charge", "pybamm"): "pulse_charge: PyBaMM strings cannot repeat an on/off pulse",
    ("ccd_staircase", "pybamm"): "strip_0.05: a PyBaMM step always continues with the next "
                                 "one; its voltage end going to 'end' cannot be written",
}
C_RATE_PROCEDURES = ("battetl_BG_EIS.000", "battetl_BG_Maccor_Schedule.000",
                     "beep_xTESLADIAG_000004_CH69.000")


def _cell_of(name: str) -> Cell:
    return SYMMETRIC if name == "ccd_staircase" else CELL


@pytest.mark.parametrize("fmt", VENDOR_FORMATS)
@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_every_schedule_written_is_valid_and_holds_the_same_steps(name, fmt, tmp_path):
    schedule = GENERATORS[name](_cell_of(name))
    path = tmp_path / f"out{formats.get(fmt).extension}"
    if (name, fmt) in REFUSED:
        with pytest.raises(ProtocolError, match=REFUSED[name, fmt].replace("(", r"\(")):
            formats.write(schedule, path, fmt)
        assert not path.exists(), "a refused schedule was written"
        return
    formats.write(schedule, path, fmt)
    alone = check_file(path, fmt)
    assert alone.valid, alone.problems
    given = check_file(path, fmt, dataclasses.asdict(schedule.cell))
    assert given.valid, given.problems
    assert given.schedule.cell == schedule.cell
    back = dataclasses.replace(formats.read(path, fmt)[0], cell=schedule.cell)
    kinds = {"ocv": "rest"}
    assert shape(back, kinds=kinds) == shape(as_written(schedule, fmt), kinds=kinds)


def test_the_issue_maccor_procedure_is_valid_and_checked_against_a_given_cell(tmp_path, capsys):
    cell = tmp_path / "cell.yaml"
    cell.write_text("nominal_capacity_ampere_hour: 2.0\nmin_voltage_volt: 2.5\n"
                    "max_voltage_volt: 4.3\n")
    procedure = tmp_path / "p.000"
    assert main(["protocol", "make", "cccv", "--rate", "0.7", "--cell", str(cell), "--format",
                 "maccor", "-o", str(procedure)]) == 0
    assert b"<StepValue>0.7C</StepValue>" in procedure.read_bytes()
    capsys.readouterr()
    assert main(["protocol", "check", str(procedure), "--json"]) == 0
    alone = json.loads(capsys.readouterr().out)
    assert alone["valid"] and alone["problems"] == [] and alone["cell_given"] == []
    assert alone["cell"]["nominal_capacity_ampere_hour"] is None
    [note] = [n for n in alone["notes"] if n["rule"] == "capacity-at-start"]
    assert "give it the cell's nominal capacity" in note["message"]
    assert "step_002, step_004" in note["message"]  # the 0.7C charge and the C/2 discharge
    assert main(["protocol", "check", str(procedure), "--cell", str(cell), "--json"]) == 0
    given = json.loads(capsys.readouterr().out)
    assert given["valid"] and given["cell"]["nominal_capacity_ampere_hour"] == 2.0
    assert sorted(given["cell_given"]) == ["max_voltage_volt", "min_voltage_volt",
                                           "nominal_capacity_ampere_hour"]
    assert main(["protocol", "check", str(procedure), "--cell", str(cell), "--imax", "1.0",
                 "--json"]) == 1
    limited = json.loads(capsys.readouterr().out)
    assert limited["problems"] == [{"step": "step_002", "rule": "current-range",
                                    "message": "current 1.4 A exceeds the permitted 1 A"}]


def test_a_pybamm_experiment_gets_no_invented_window(tmp_path, capsys):
    experiment = formats.write(GENERATORS["cccv"](CELL, rate=0.7, cycles=1),
                               tmp_path / "e.py", "pybamm")
    assert "'Charge at 0.7C until 4.3 V'" in experiment.read_text()
    assert main(["protocol", "check", str(experiment), "--json"]) == 0
    alone = json.loads(capsys.readouterr().out)
    assert alone["valid"]
    assert (alone["cell"]["min_voltage_volt"], alone["cell"]["max_voltage_volt"]) == (None, None)
    assert {n["rule"] for n in alone["notes"]} == {"capacity-at-start", "voltage-window"}
    assert main(["protocol", "check", str(experiment), "--capacity", "2", "--vmin", "2.5",
                 "--vmax", "4.2", "--json"]) == 1
    narrow = json.loads(capsys.readouterr().out)
    assert narrow["problems"] == [{  # "Charge at 0.7C until 4.3 V" + "Hold at 4.3 V ..."
        "step": "step_1", "rule": "voltage-window",
        "message": "hold voltage 4.3 V is outside the cell window 2.5-4.2 V"}]


@pytest.mark.parametrize("name", C_RATE_PROCEDURES)
def test_real_maccor_procedures_with_c_rates_are_valid_with_a_note(name):
    report = check_file(corpus_path("protocols", "maccor", name))
    assert report.valid, report.problems
    [note] = [n for n in report.notes if n.rule == "capacity-at-start"]
    assert "are resolved by the cycler when the test starts" in note.message


def test_a_given_cell_makes_real_procedure_steps_exceed_current_and_window():
    # BG_Maccor_Schedule: C/10 ... 3C rate steps, CC-CV charges held at 4.2 V.
    path = corpus_path("protocols", "maccor", "battetl_BG_Maccor_Schedule.000")
    small = check_file(path, cell={"nominal_capacity_ampere_hour": 3.0,
                                   "max_current_ampere": 5.0})
    assert not small.valid
    over = {(p.step, p.message) for p in small.problems if p.rule == "current-range"}
    assert over == {("step_030", "current -6 A exceeds the permitted 5 A"),  # 2C discharge
                    ("step_032", "current 6 A exceeds the permitted 5 A"),  # 2C charge
                    ("step_035", "current -9 A exceeds the permitted 5 A"),  # 3C
                    ("step_037", "current 9 A exceeds the permitted 5 A")}
    assert {p.rule for p in small.problems} == {"current-range"}
    low = check_file(path, cell={"nominal_capacity_ampere_hour": 3.0, "min_voltage_volt": 2.5,
                                 "max_voltage_volt": 4.1})
    assert {p.rule for p in low.problems} == {"voltage-window"}
    assert len(low.problems) == 8  # the C/10 CC-CV charge, then one per rate C/20 ... 3C
    assert all("hold voltage 4.2 V" in p.message for p in low.problems)
    # BG_EIS: 0.5C CC-CV to 4.4 V; its 2.9 / 4.45 V ends to the Pause step are safety limits
    eis = check_file(corpus_path("protocols", "maccor", "battetl_BG_EIS.000"),
                     cell={"nominal_capacity_ampere_hour": 2.0, "min_voltage_volt": 2.5,
                           "max_voltage_volt": 4.3})
    assert [(p.step, p.rule) for p in eis.problems] == [("step_003", "voltage-window")]
    assert (eis.schedule.safety.min_voltage_volt, eis.schedule.safety.max_voltage_volt) == (
        2.9, 4.45)


def test_opaque_steps_are_reported_and_what_can_be_read_is_checked():
    path = corpus_path("protocols", "maccor", "battetl_BG_Maccor_ResetCap.000")
    report = check_file(path)
    assert report.valid
    assert [(s.label, s.vendor_step) for s in report.opaque_steps()] == [
        ("step_010", "Maccor 'Chg Func', StepMode Current, StepValue 0|VAR1"),
        ("step_017", "Maccor 'Chg Func', StepMode Current, StepValue 0|VAR1")]
    notes = [n for n in report.notes if n.rule == "opaque-step"]
    assert [n.step for n in notes] == ["step_010", "step_017"]
    assert "its voltage limit 4.43 V" in notes[0].message
    # its voltage limit 4.43 V is checked against a cell window
    narrow = check_file(path, cell={"max_voltage_volt": 4.4})
    assert ("step_010", "voltage-window") in {(p.step, p.rule) for p in narrow.problems}
    assert report.to_dict()["opaque_steps"][0] == {
        "label": "step_010", "vendor_step": "Maccor 'Chg Func', StepMode Current, "
                                            "StepValue 0|VAR1"}


def test_vendor_steps_without_a_time_limit_are_noted_labkit_schedules_refused(tmp_path):
    path = corpus_path("protocols", "maccor", "battetl_BG_Maccor_Schedule.000")
    report = check_file(path)
    untimed = {n.step: n.message for n in report.notes if n.rule == "time-limit"}
    assert untimed["step_002"] == ("no time limit: the step ends only when I ≤ 0.1 A "
                                   "(or on a safety limit)")
    own = tmp_path / "same.yaml"  # the same steps as a labkit schedule: labkit's rules apply
    own.write_text(dataclasses.replace(report.schedule, cell=CELL).to_yaml(), encoding="utf-8")
    strict = check_file(own)
    assert ("step_002", "time-limit") in {(p.step, p.rule) for p in strict.problems}


def test_bad_cell_input_is_refused_naming_the_file(tmp_path, capsys):
    path = corpus_path("protocols", "maccor", "beep_goto_end_example.000")
    with pytest.raises(ProtocolError, match="unknown cell fields"):
        check_file(path, cell={"capacity_ah": 2.0})
    listed = tmp_path / "cell.yaml"
    listed.write_text(yaml.safe_dump([2.0, 2.5]))
    assert main(["protocol", "check", str(path), "--cell", str(listed), "--json"]) == 1
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["type"] == "ProtocolError" and error["file"] == str(listed)
    assert "mapping of Cell fields" in error["message"]
