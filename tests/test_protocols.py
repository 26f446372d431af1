"""Schedule model, validation, generators, YAML/JSON, PyBaMM strings and the protocol CLI."""

from __future__ import annotations

import json

import pytest
import yaml

from labkit.cli import main
from labkit.errors import ProtocolError
from labkit.protocols import formats
from labkit.protocols.generators import GENERATORS, parse_policy
from labkit.protocols.pybamm import experiment_steps, parse_step
from labkit.protocols.schedule import (
    Cell,
    Loop,
    Schedule,
    Setpoint,
    Step,
    until_current,
    until_time,
    until_voltage,
)
from tests.conftest import corpus_path

CELL = Cell(name="A123 18650", nominal_capacity_ampere_hour=1.1, area_square_centimeter=1.0,
            min_voltage_volt=2.0, max_voltage_volt=3.6, max_current_ampere=20.0)
SYMMETRIC = Cell(name="Li|LLZO|Li", area_square_centimeter=0.5, min_voltage_volt=-5.0,
                 max_voltage_volt=5.0, max_current_ampere=0.01)


def _generated(name: str) -> Schedule:
    return GENERATORS[name](SYMMETRIC if name == "ccd_staircase" else CELL)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_every_generator_makes_a_valid_schedule_that_round_trips(name):
    schedule = _generated(name)
    assert schedule.problems() == []
    assert Schedule.from_dict(yaml.safe_load(schedule.to_yaml())) == schedule
    assert Schedule.from_dict(json.loads(schedule.to_json())) == schedule


@pytest.mark.parametrize("step, rule", [
    (Step("cc", current=Setpoint(1, "C"), ends=(until_voltage(3.6, True),)), "time-limit"),
    (Step("cc", current=Setpoint(30, "A"), ends=(until_time(60),)), "current-range"),
    (Step("cv", voltage_volt=4.2, ends=(until_time(60),)), "voltage-window"),
    (Step("cc", current=Setpoint(1, "C"), ends=(until_voltage(4.5, True), until_time(60))),
     "voltage-window"),
    (Step("cc", current=Setpoint(1, "C"), ends=(until_time(60, goto="nowhere"),)), "goto-target"),
    (Step("cccv", current=Setpoint(1, "C"), ends=(until_time(60),)), "setpoint"),
])
def test_unsafe_or_incomplete_steps_are_refused_naming_step_and_rule(step, rule, tmp_path):
    schedule = Schedule("bad", CELL, (Step("rest", label="first", ends=(until_time(60),)), step))
    problems = schedule.problems()
    assert [p.rule for p in problems] == [rule]
    assert problems[0].step == "step_2"
    with pytest.raises(ProtocolError, match=rule):
        formats.write(schedule, tmp_path / "bad.yaml", "yaml")
    assert not (tmp_path / "bad.yaml").exists(), "a refused schedule was written"


def test_c_rate_without_capacity_and_endless_loop_are_refused():
    no_capacity = Cell(min_voltage_volt=2.0, max_voltage_volt=3.6)
    step = Step("cc", current=Setpoint(1, "C"), ends=(until_time(60),))
    assert [p.rule for p in Schedule("x", no_capacity, (step,)).problems()] == ["resolvable"]
    endless = Schedule("x", CELL, (Loop((step,), 10**9, label="forever"),))
    assert [(p.step, p.rule) for p in endless.problems()] == [("forever", "loop-count")]


def test_attia_and_severson_policies():
    assert parse_policy("3.6C(9%)-5C") == [(3.6, 0.09), (5.0, 0.8)]
    assert parse_policy("8-7-5.2-2.68") == [(8.0, 0.2), (7.0, 0.4), (5.2, 0.6), (2.68, 0.8)]
    with pytest.raises(ProtocolError):
        parse_policy("5C(50%)-4C(30%)")
    schedule = GENERATORS["multistep"](CELL, policy="4.8-5.2-5.2-4.16")
    cc = [s for s, _ in schedule.flat_steps() if s.label.startswith("CC")]
    # Attia et al. 2020: each CC step charges 20 % of the nominal capacity (0.22 Ah of 1.1 Ah)
    assert [round(s.current.ampere(CELL), 4) for s in cc] == [5.28, 5.72, 5.72, 4.576]
    assert [s.end("capacity").si_value(CELL) for s in cc] == pytest.approx([0.22] * 4)


def test_fast_charge_check_is_80_percent_in_15_minutes():
    step = next(s for s, _ in GENERATORS["fast_charge_check"](CELL).flat_steps()
                if s.label == "fast_charge")
    assert step.current.value == pytest.approx(3.2)
    assert step.end("time").value == 900
    assert step.end("capacity").si_value(CELL) == pytest.approx(0.88)


def test_ccd_staircase_uses_current_density_and_stops_on_voltage_limit():
    schedule = GENERATORS["ccd_staircase"](SYMMETRIC, densities=(0.1, 0.2), half_cycle_minutes=30)
    halves = [s for s, _ in schedule.flat_steps() if s.kind == "cc"]
    assert [s.current.ampere(SYMMETRIC) for s in halves] == pytest.approx(
        [0.5e-4, -0.5e-4, 1e-4, -1e-4])
    assert all(s.end("voltage").goto == "end" for s in halves)
    capacity_mode = GENERATORS["ccd_staircase"](SYMMETRIC, half_cycle_minutes=None,
                                                areal_capacity=0.5, densities=(0.25,))
    first = next(s for s, _ in capacity_mode.flat_steps() if s.kind == "cc")
    assert first.end("capacity").si_value(SYMMETRIC) == pytest.approx(0.25e-3)


def test_pybamm_strings_round_trip_through_the_parser():
    schedule = GENERATORS["cccv"](CELL, rate=2.0, cycles=2)
    strings = experiment_steps(schedule)
    assert strings[:2] == ["Charge at 2C until 3.6 V", "Hold at 3.6 V for 165 minutes or until C/20"]
    assert len(strings) == 2 * 5
    parsed = parse_step("Discharge at C/3 for 2 hours or until 2.5 V")
    assert parsed.current == Setpoint(-1 / 3, "C")
    assert parsed.end("voltage").value == 2.5 and parsed.end("time").value == 7200


def test_pybamm_file_written_then_read_keeps_loops_and_steps(tmp_path):
    schedule = GENERATORS["rate_ladder"](CELL, rates=(0.5, 1.0), repeats=2)
    path = formats.write(schedule, tmp_path / "ladder.py", "pybamm")
    back, fmt = formats.read(path)
    assert fmt == "pybamm"
    assert [loop.count for loop in back.steps] == [2, 2, 2]
    assert experiment_steps(back) == experiment_steps(schedule)


def test_pyprobe_readme_from_the_corpus():
    path = corpus_path("protocols", "neutral", "pyprobe_LGM50_README.yaml")
    schedule, fmt = formats.read(path)
    assert fmt == "pyprobe"
    first = schedule.steps[0]
    assert first.label == "Initial Charge"
    kinds = [s.kind for s in first.steps]
    # "Rest for 2 minutes", "Charge at 1.5 A until 4.2 V" + "Hold at 4.2 V until 0.05 A", "Rest for 2 hours"
    assert kinds == ["rest", "cccv", "rest"]
    cccv = first.steps[1]
    assert cccv.current == Setpoint(1.5, "A") and cccv.voltage_volt == 4.2
    assert cccv.end("current") == until_current(0.05, "A")


def test_cli_make_and_check(tmp_path, capsys):
    out = tmp_path / "rate.yaml"
    code = main(["protocol", "make", "rate_ladder", "--rates", "0.2,1,2", "--repeats", "2",
                 "--capacity", "1.1", "--vmin", "2.0", "--vmax", "3.6", "--format", "yaml",
                 "-o", str(out), "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["output"] == str(out)
    assert main(["protocol", "check", str(out), "--json"]) == 0
    checked = json.loads(capsys.readouterr().out)
    assert checked["valid"] and checked["format"] == "yaml" and checked["problems"] == []
    unsafe = yaml.safe_load(out.read_text())
    unsafe["cell"]["max_current_ampere"] = 0.5
    out.write_text(yaml.safe_dump(unsafe))
    assert main(["protocol", "check", str(out), "--json"]) == 1
    checked = json.loads(capsys.readouterr().out)
    assert not checked["valid"]
    assert {p["rule"] for p in checked["problems"]} == {"current-range"}


def test_pybamm_terminations_read_signs_and_operators():
    # PyBaMM reads "-5 V" (a symmetric cell) and an explicit "<" / ">" before the value
    plating = parse_step("Discharge at 0.1 mA for 30 minutes or until -5 V")
    assert plating.end("voltage") == until_voltage(-5.0, rising=False)
    assert plating.current == Setpoint(-0.1, "mA")
    held = parse_step("Charge at 1 A until > 4.1 V")
    assert held.end("voltage") == until_voltage(4.1, rising=True)
    relaxing = parse_step("Rest for 10 minutes or until < 3.9 V")
    assert relaxing.end("voltage") == until_voltage(3.9, rising=False)


def test_pybamm_c_rates_are_written_exactly(tmp_path):
    schedule = GENERATORS["fast_charge_check"](CELL)  # C/3 discharges, a 3.2C charge
    text = formats.write(schedule, tmp_path / "f.py", "pybamm").read_text()
    assert "'Discharge at C/3 for 270 minutes or until 2 V'" in text
    back, _ = formats.read(tmp_path / "f.py")
    assert back.steps[0].current == Setpoint(-1 / 3, "C")
