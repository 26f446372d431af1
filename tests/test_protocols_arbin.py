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
# Steps labkit does not model, kept opaque: file -> {label: start of vendor_step}.
OPAQUE = {
    "attia_old_template_3step.sdu": {"first IR": "Arbin 'Internal Resistance', values '3.96'"},
    "beep_20170630-3_6C_9per_5C.sdu": {"first IR": "Arbin 'Internal Resistance', values '3.96'"},
    "attia_validation_20190124-5pt2_5pt2_4pt8_4pt16.sdu": {
        "Loop": "Arbin 'Set Variable(s)' jumping back on a condition, not a count (a loop "
                "labkit cannot express): PV_CHAN_Discharge_Capacity <= 0.825 -> CC1"},
    "battetl_BG_Arbin_Cell_TestData_CCCV.sdx": {
        "IR Test": "Arbin 'Internal Resistance', values '0.5'",
        "C/20 CC": "Arbin 'Current(A)', values '0.05 * MV_NominalCapacity' / '', limits labkit "
                   "cannot read: PV_CHAN_Voltage >= F_Vmax -> Next Step"},
    "battetl_BG_MBC_Cycling_ZN_TEST_model_control_channel_29.sdx": {
        "Step_T": "Arbin 'Write CAN Messages', values '1000' / '0x1D1'"},
    "battetl_BG_ProfileCycling_25R.sdx": {
        "Step_C": "Arbin 'Current Ramp(A)', values '5.8487' / '-0.00126'",
        "Step_L": "Arbin 'Rest', limits labkit cannot read: AV_T[2] <= 30 -> Next Step"},
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


@pytest.mark.parametrize("name", sorted(OPAQUE))
def test_steps_labkit_does_not_model_are_kept_opaque_and_not_written(name):
    schedule = parse_arbin(corpus_path("protocols", "arbin", name))
    opaque = {s.label: s for s, _ in schedule.flat_steps() if s.kind == "opaque"}
    for label, vendor_step in OPAQUE[name].items():
        assert opaque[label].vendor_step.startswith(vendor_step)
    with pytest.raises(ProtocolError, match="cannot hold steps labkit does not model"):
        formats.render(schedule, "arbin")


def test_what_an_opaque_arbin_step_states_is_kept_for_the_rules():
    schedule = parse_arbin(corpus_path("protocols", "arbin", "battetl_BG_ProfileCycling_25R.sdx"))
    steps = {s.label: s for s, _ in schedule.flat_steps()}
    ramp = steps["Step_C"]  # 5.8487 A falling at 0.00126 A/s, 350 s or until 4.2 V
    assert ramp.current.value == 5.8487 and ramp.end("time").value == 350
    assert ramp.end("voltage").value == 4.2 and ramp.end("voltage").goto == "Step_V"
    old = parse_arbin(corpus_path("protocols", "arbin", "attia_old_template_3step.sdu"))
    cc1 = next(s for s, _ in old.flat_steps() if s.label == "CC1")  # CCCV with an AND-ed end
    assert (cc1.kind, cc1.current.value, cc1.voltage_volt) == ("opaque", 3.96, 3.6)
    assert "PV_CHAN_Current < 0.022 and PV_CHAN_CV_StageTime > 1" in cc1.vendor_step


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
    formula = tmp_path / "formula.sdu"  # a current set by a formula: kept, opaque
    formula.write_bytes(real.replace(b"m_szCtrlValue=5.83", b"m_szCtrlValue=F_Imax", 1))
    cc1 = parse_arbin(formula).steps[-1].steps[0]
    assert (cc1.label, cc1.kind, cc1.current) == ("CC1", "opaque", None)
    assert cc1.vendor_step.startswith("Arbin 'CCCV', values 'F_Imax' / '3.6'")


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
