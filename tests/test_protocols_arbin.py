"""Arbin schedule writer and reader against the real schedules in the corpus."""

from __future__ import annotations

import math
import re

import pytest

from labkit.errors import ProtocolError
from labkit.protocols import formats
from labkit.protocols.arbin import parse_arbin, read_battery_object, render_arbin
from labkit.protocols.generators import GENERATORS
from labkit.protocols.schedule import Cell, Loop
from tests._mutations import mutations
from tests._schedule_shape import shape
from tests.conftest import CORPUS, corpus_path

CELL = Cell(nominal_capacity_ampere_hour=1.1, area_square_centimeter=1.0, min_voltage_volt=2.0,
            max_voltage_volt=3.6, max_current_ampere=20.0)
SYMMETRIC = Cell(area_square_centimeter=0.5, min_voltage_volt=-5.0, max_voltage_volt=5.0)
FOLDER = CORPUS / "protocols" / "arbin"
# Saved by MITS Pro 7.00.13 (the version the writer emits); not the GENERATED beep file.
REAL_V7 = [FOLDER / n for n in ("attia_template_4step.sdu", "beep_20170630-3_6C_9per_5C.sdu")]
EXPRESSIBLE = ["attia_OED_20180828-3pt6_6_5pt6_4pt755.sdu",
               "attia_OED_20180828-4pt8_5pt2_5pt2_4pt16.sdu", "attia_template_4step.sdu"]
REFUSED = {  # file -> what the error must name
    "attia_old_template_3step.sdu": r"step 3 \('first IR', Internal Resistance\)",
    "beep_20170630-3_6C_9per_5C.sdu": r"step 3 \('first IR', Internal Resistance\)",
    "attia_validation_20190124-5pt2_5pt2_4pt8_4pt16.sdu":
        r"step 12 \('Loop'.*PV_CHAN_Discharge_Capacity <= 0.825 is a conditional loop",
    "attia_validation_20190124-8_7_5pt2_2pt68.sdu": r"step 12 \('Loop'.*conditional loop",
    "battetl_BG_Arbin_Cell_TestData_CCCV.sdx": r"step 1 \('IR Test', Internal Resistance\)",
    "battetl_BG_Arbin_TestData_ICT.sdx": r"step 1 \('IR Test', Internal Resistance\)",
    "battetl_BG_MBC_Cycling_ZN_TEST_model_control_channel_29.sdx":
        r"step 0 \('Step_T', Write CAN Messages\)",
    "battetl_BG_ProfileCycling_25R.sdx": r"step 1 \('Step_B', Internal Resistance\)",
}
UNEXPRESSIBLE = {"bruce_vincent": "eis_before", "eis_temperature_series": "hold_-20C"}


def _layout(raw: bytes) -> tuple[list[str], dict[str, list[str]]]:
    """Section kinds in order (numbers replaced by N) and the key order of each kind."""
    text = raw.decode("latin-1")
    kinds, keys = [], {}
    for header, body in re.findall(r"^\[(.+?)\]\r?\n(.*?)(?=^\[|\Z)", text, re.M | re.S):
        kind = re.sub(r"[0-9]+", "N", header)
        kinds.append(kind)
        keys.setdefault(kind, [line.split("=", 1)[0] for line in body.splitlines() if "=" in line])
    return kinds, keys


@pytest.mark.skipif(not REAL_V7[0].exists(), reason="shared corpus protocols/arbin not found")
@pytest.mark.parametrize("name", sorted(set(GENERATORS) - set(UNEXPRESSIBLE)))
def test_written_schedule_has_the_structure_of_real_mits7_files(name, tmp_path):
    schedule = GENERATORS[name](SYMMETRIC if name == "ccd_staircase" else CELL)
    path = formats.write(schedule, tmp_path / "out.sdu", "arbin")
    raw = path.read_bytes()
    assert raw.startswith(b"[Version Section]\r\nCurrent_Version=Schedule Version 7.00.13\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"") and raw.endswith(b"\r\n")
    kinds, keys = _layout(raw)
    for real in REAL_V7:
        real_kinds, real_keys = _layout(real.read_bytes())
        assert kinds[:3] == real_kinds[:3] and kinds[-16:] == real_kinds[-16:]
        for kind, order in keys.items():
            assert order == real_keys[kind], kind  # same keys in the same order
    back = parse_arbin(path)
    if name == "pulse_charge":  # a TC-counter loop of the on and off steps
        pulse = schedule.steps[0].steps[0]
        pulse_loop, following = back.steps[0].steps[:2]
        on, off = pulse_loop.steps
        assert (on.kind, off.kind) == ("cc", "rest")
        assert on.current.value == pulse.current.ampere(CELL)
        assert (on.end("time").value, off.end("time").value) == (10, 2)
        assert on.end("voltage").goto == following.label  # the voltage limit leaves the loop
        assert pulse_loop.count == math.ceil(pulse.end("time").value / 12)
    else:
        assert shape(back) == shape(schedule)


@pytest.mark.parametrize("name", sorted(UNEXPRESSIBLE))
def test_unexpressible_generator_schedules_are_refused_naming_the_step(name):
    with pytest.raises(ProtocolError, match=re.escape(UNEXPRESSIBLE[name])):
        formats.render(GENERATORS[name](CELL), "arbin")


@pytest.mark.parametrize("name", EXPRESSIBLE)
def test_real_schedule_round_trips(name, tmp_path):
    schedule = parse_arbin(corpus_path("protocols", "arbin", name))
    rewritten = tmp_path / "again.sdu"
    rewritten.write_bytes(render_arbin(schedule))
    again = parse_arbin(rewritten)
    assert again.steps == schedule.steps and again.safety == schedule.safety
    assert formats.read(corpus_path("protocols", "arbin", name))[1] == "arbin"


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_unexpressible_real_schedules_are_refused_naming_the_step(name):
    with pytest.raises(ProtocolError, match=REFUSED[name]):
        parse_arbin(corpus_path("protocols", "arbin", name))


def test_attia_policy_values_match_the_file():
    # 4.8C-5.2C-5.2C-4.16C on 1.1 Ah: 5.28/5.72/5.72/4.576 A, each 20 % SOC (0.22 Ah,
    # cumulative limits 0.22/0.44/0.66/0.88 Ah), CV 3.6 V, loop to CC1 while cycle <= 122.
    schedule = parse_arbin(corpus_path("protocols", "arbin",
                                       "attia_OED_20180828-4pt8_5pt2_5pt2_4pt16.sdu"))
    rest, discharge, _, loop = schedule.steps
    assert rest.end("time").value == 10800 and rest.record.every_second == 60
    assert discharge.kind == "cccv" and discharge.current.value == -1.1
    assert discharge.voltage_volt == 2.0 and discharge.end("current").value == 0.022
    assert isinstance(loop, Loop) and loop.count == 122
    stages = loop.steps[:4]
    assert [s.label for s in stages] == ["CC1", "CC2", "CC3", "CC4"]
    assert [s.current.value for s in stages] == [5.28, 5.72, 5.72, 4.576]
    assert [s.end("capacity").value for s in stages] == pytest.approx([0.22] * 4)
    assert {s.voltage_volt for s in stages} == {3.6}
    assert (schedule.safety.min_voltage_volt, schedule.safety.max_voltage_volt) == (1.8, 4.0)
    assert schedule.safety.max_current_ampere == 10.0


def test_generated_tc_counter_loops_nest_as_in_the_maccor_original():
    # beep's maccor_to_arbin output: TC_Counter2 < 20 -> '43-None' (HPPC, inside) and
    # TC_Counter1 < 1000 -> '38-reset cycle' (main loop) with TC_Counter2 < 100 inside.
    schedule = parse_arbin(corpus_path("protocols", "arbin", "beep_Iris_000100_generated.sdu"))
    loops = {item.label: item for item in schedule.steps if isinstance(item, Loop)}
    main = loops["loop_69-None"]
    assert main.count == 1000 and main.steps[0].label == "38-reset cycle"
    inner = [item for item in main.steps if isinstance(item, Loop)]
    assert [loop.count for loop in inner] == [20, 100]
    assert inner[0].steps[0].label == "43-None"
    # a goto to the Set Variable(s) step '70-...' lands on the next real step
    assert main.steps[0].end("voltage").goto == "71-None"


def test_broken_schedules_are_refused_with_the_position(tmp_path):
    real = corpus_path("protocols", "arbin", "attia_template_4step.sdu").read_bytes()
    missing = tmp_path / "missing.sdu"
    missing.write_bytes(real.replace(b"[Schedule_Step5_Limit2]", b"[Schedule_StepX]"))
    with pytest.raises(ProtocolError, match=r"step 5 \('CC3'.*Limit2\] is missing"):
        parse_arbin(missing)
    no_schedule = tmp_path / "none.sdu"
    no_schedule.write_bytes(b"[Version Section]\nCurrent_Version=Schedule Version 7.00.13\n")
    with pytest.raises(ProtocolError, match=r"line 1.*\[Schedule\]"):
        parse_arbin(no_schedule)
    lost = tmp_path / "lost.sdu"
    lost.write_bytes(real.replace(b"m_szGotoStep=CC1", b"m_szGotoStep=CC9"))
    with pytest.raises(ProtocolError, match=r"line \d+\): step 12 \('Loop'\): loop target "
                                            r"'CC9' is not an earlier step"):
        parse_arbin(lost)
    formula = tmp_path / "formula.sdu"
    formula.write_bytes(real.replace(b"m_szCtrlValue=5.83", b"m_szCtrlValue=F_Imax", 1))
    with pytest.raises(ProtocolError, match=r"step 3 \('CC1'.*'F_Imax' is a formula"):
        parse_arbin(formula)


def test_battery_object_gives_the_cell_and_resolves_nominal_capacity_rates(tmp_path):
    # BG_25R.to: m_fNorminalCapacity=2.5 Ah, 2.5-4.2 V, 10 A
    battery = corpus_path("protocols", "arbin", "battetl_BG_25R.to")
    cell = read_battery_object(battery)
    assert (cell.nominal_capacity_ampere_hour, cell.min_voltage_volt, cell.max_voltage_volt,
            cell.max_current_ampere) == (2.5, 2.5, 4.2, 10.0)
    real = corpus_path("protocols", "arbin", "attia_template_4step.sdu").read_bytes()
    rated = tmp_path / "rated.sdu"
    rated.write_bytes(real.replace(b"m_szCtrlValue=5.83", b"m_szCtrlValue=2 * MV_NominalCapacity",
                                   1).replace(b"Equation0_szRight=0.055",
                                              b"Equation0_szRight=0.05 * MV_NominalCapacity", 1))
    schedule = parse_arbin(rated, battery=battery)
    cc1 = schedule.steps[-1].steps[0]
    assert (cc1.current.value, cc1.current.unit) == (2.0, "C")
    assert cc1.current.ampere(schedule.cell) == 5.0
    assert cc1.end("current").si_value(schedule.cell) == pytest.approx(0.125)
    with pytest.raises(ProtocolError, match=r"line 1.*\[Content\]"):
        read_battery_object(corpus_path("protocols", "arbin", "attia_template_4step.sdu"))


@pytest.mark.parametrize("path", sorted(FOLDER.glob("*.sd[ux]")), ids=lambda p: p.name)
def test_damaged_files_give_a_protocol_error_or_a_schedule(path, tmp_path):
    damaged = tmp_path / path.name
    for raw in mutations(path.read_bytes()):
        damaged.write_bytes(raw)
        try:
            parse_arbin(damaged)
        except ProtocolError as exc:
            assert exc.file == str(damaged)
