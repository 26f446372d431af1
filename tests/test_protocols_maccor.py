"""Maccor procedure writer and reader against the real procedures in the corpus."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import pytest

from labkit.errors import ProtocolError
from labkit.protocols import formats
from labkit.protocols.generators import GENERATORS
from labkit.protocols.maccor import parse_maccor, render_maccor
from labkit.protocols.schedule import Cell, Loop, Setpoint
from tests._schedule_shape import as_written, shape
from tests.conftest import CORPUS, corpus_path

CELL = Cell(nominal_capacity_ampere_hour=1.1, area_square_centimeter=1.0, min_voltage_volt=2.0,
            max_voltage_volt=3.6, max_current_ampere=20.0)
SYMMETRIC = Cell(area_square_centimeter=0.5, min_voltage_volt=-5.0, max_voltage_volt=5.0)
REAL = sorted((CORPUS / "protocols" / "maccor").glob("*.000"))
EXPRESSIBLE = [p for p in REAL if p.name not in {
    "beep_EXP.000", "battetl_BG_Maccor_ResetCap.000",  # Chg Func (current as a function)
    "battetl_BG_ProfileCycling_MP_CVP_MBC2.000", "beep_drivingV1.000",  # FastWave files
    "beep_EXP_missing.000"}]  # negative fixture with invalid step types


def _shape(items, order: list[str] | None = None) -> list:
    """Steps as comparable tuples: kind, set point, ends with each goto as the offset of
    its target in the flat step order (labels differ between files, offsets do not)."""
    if order is None:
        order = _flat_labels(items)
    out = []
    for item in items:
        if isinstance(item, Loop):
            out.append(("loop", item.count, _shape(item.steps, order)))
        else:
            here = order.index(item.label)
            ends = tuple((e.quantity, e.operator, round(e.value, 9), e.unit,
                          1 if e.goto is None else e.goto if e.goto == "end"
                          else order.index(e.goto) - here) for e in item.ends
                         if e.unit not in ("mA/cm2", "mAh/cm2"))
            current = item.current
            if current is not None and current.unit == "mA/cm2":
                current = Setpoint(current.ampere(SYMMETRIC), "A")
            if current is not None:
                current = Setpoint(float(f"{current.value:.10g}"), current.unit)
            out.append((item.kind, current, item.voltage_volt, item.power_watt, ends))
    return out


def _flat_labels(items) -> list[str]:
    labels = []
    for item in items:
        labels += _flat_labels(item.steps) if isinstance(item, Loop) else [item.label]
    return labels


def _element_paths(root: ET.Element, prefix: str = "") -> set[str]:
    paths = set()
    for child in root:
        path = f"{prefix}/{child.tag}"
        paths.add(path)
        paths |= _element_paths(child, path)
    return paths


@pytest.mark.skipif(not REAL, reason="shared corpus protocols/maccor not found (LABKIT_CORPUS)")
@pytest.mark.parametrize("name", sorted(set(GENERATORS) - {"eis_temperature_series"}))
def test_written_procedure_has_the_structure_of_real_maccor_files(name, tmp_path):
    schedule = GENERATORS[name](SYMMETRIC if name == "ccd_staircase" else CELL)
    path = formats.write(schedule, tmp_path / "out.000", "maccor")
    raw = path.read_bytes()
    assert raw.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<?maccor-application')
    assert b"\r\n" not in raw and raw.isascii()
    real_paths = set().union(*(_element_paths(ET.parse(p).getroot()) for p in REAL))
    written = ET.parse(path).getroot()
    assert _element_paths(written) <= real_paths
    real_order = [c.tag for c in ET.parse(REAL[0]).getroot().find("ProcSteps/TestStep")]
    real_codes = {s.findtext("StepType") for p in REAL for s in ET.parse(p).getroot().iter("TestStep")}
    for step in written.iter("TestStep"):
        assert [c.tag for c in step] == real_order
        assert step.findtext("StepType") in real_codes
    back = dataclasses.replace(parse_maccor(path), cell=schedule.cell)
    assert shape(back) == shape(as_written(schedule, "maccor"))  # a pulse is a Do/Loop


def test_chamber_temperatures_are_refused():
    with pytest.raises(ProtocolError, match="hold_-20C: no Maccor procedure in the corpus "
                                            "sets a chamber temperature"):
        formats.render(GENERATORS["eis_temperature_series"](CELL), "maccor")


def test_eis_settings_read_back_from_the_fra_name(tmp_path):
    schedule = GENERATORS["bruce_vincent"](CELL)
    back = parse_maccor(formats.write(schedule, tmp_path / "bv.000", "maccor"))
    written = [s.impedance for s, _ in schedule.flat_steps() if s.kind == "eis"]
    assert [s.impedance for s, _ in back.flat_steps() if s.kind == "eis"] == written
    assert written[0].start_frequency_hertz == 1e6 and written[0].points_per_decade == 10


def test_pulse_becomes_a_loop_of_on_and_off_steps(tmp_path):
    schedule = GENERATORS["pulse_charge"](CELL, rate=2.0, on_second=10, off_second=2, cycles=1)
    back = parse_maccor(formats.write(schedule, tmp_path / "p.000", "maccor"))
    pulse_loop = back.steps[0].steps[0]
    on, off = pulse_loop.steps
    assert (on.kind, on.current.value, on.end("time").value) == ("cc", 2.0, 10.0)
    assert (off.kind, off.end("time").value) == ("rest", 2.0)
    assert on.end("voltage").goto is not None, "the voltage limit must leave the pulse loop"


@pytest.mark.parametrize("path", EXPRESSIBLE, ids=lambda p: p.name)
def test_real_procedure_round_trips(path, tmp_path):
    schedule = parse_maccor(path)
    rewritten = tmp_path / "again.000"
    rewritten.write_bytes(render_maccor(schedule))
    assert _shape(parse_maccor(rewritten).steps) == _shape(schedule.steps)


def test_real_procedure_values_match_the_file():
    # beep_goto_end_example.000: a 3 h rest whose time end jumps to End (step 003),
    # skipping the 1 A charge of step 002 ("never runs").
    schedule = parse_maccor(corpus_path("protocols", "maccor", "beep_goto_end_example.000"))
    rest, charge = schedule.steps
    assert rest.kind == "rest" and rest.end("time").value == 3 * 3600
    assert rest.end("time").goto == "end"
    assert charge.kind == "cc" and charge.current.value == 1.0 and charge.note == "never runs"
    assert charge.record.every_second == pytest.approx(0.01)
    # beep_EXP.000 loop 1: 30 x (2C CC-CV to 4.2 V ending at 0.5C, 2C discharge)
    diag = parse_maccor(corpus_path("protocols", "maccor", "beep_diagnosticV1.000"))
    loops = [item for item in diag.steps if isinstance(item, Loop)]
    assert loops, "Do/Loop pairs must become loops"


# Steps labkit does not model, kept opaque: file -> {step: (vendor_step, voltage limit, ends)}
OPAQUE = {
    "beep_EXP.000": {"step_012": ("Maccor 'Chg Func', StepMode Current, StepValue "
                                  "0|4*CRATE*(STIME/3600)", None, [("voltage", ">=", 3.6)])},
    "battetl_BG_Maccor_ResetCap.000": {"step_010": (
        "Maccor 'Chg Func', StepMode Current, StepValue 0|VAR1", 4.43,
        # the 4.45 / 2.8 V ends to the Pause step are the procedure's safety limits
        [("voltage", ">=", 4.4295), ("current", ">=", 5.0), ("capacity", ">=", 1.2),
         ("time", ">=", 22 * 3600)])},
    "battetl_BG_ProfileCycling_MP_CVP_MBC2.000": {
        "step_018": ("Maccor 'FastWave', StepValue MP_CVP_MBC2", None, [])},
    "beep_drivingV1.000": {"step_033": ("Maccor 'FastWave', StepValue LA4_8rep_lim", None, [])},
    "beep_EXP_missing.000": {  # NEGATIVE fixture: two step types changed to invalid ones
        "step_005": ("Maccor 'Do Test' (a step type not seen in any real Maccor procedure)",
                     None, []),
        "step_009": ("Maccor 'Loop Test' (a step type not seen in any real Maccor procedure), "
                     "ends labkit cannot read: Loop Cnt = 30 -> 010", None, [])},
}


@pytest.mark.parametrize("name", sorted(OPAQUE))
def test_steps_labkit_does_not_model_are_kept_opaque_and_not_written(name):
    schedule = parse_maccor(corpus_path("protocols", "maccor", name))
    opaque = {s.label: s for s, _ in schedule.flat_steps() if s.kind == "opaque"}
    for label, (vendor_step, volt, ends) in OPAQUE[name].items():
        step = opaque[label]
        assert (step.vendor_step, step.voltage_volt) == (vendor_step, volt)
        assert [(e.quantity, e.operator, e.value) for e in step.ends] == ends
    first = sorted(opaque)[0]
    with pytest.raises(ProtocolError, match=f"cannot hold steps labkit does not model.*{first}"):
        formats.render(schedule, "maccor")


def test_broken_procedures_are_refused_with_the_position(tmp_path):
    broken = tmp_path / "broken.000"
    broken.write_text('<?xml version="1.0"?>\n<MaccorTestProcedure><ProcSteps>\n')
    with pytest.raises(ProtocolError, match="line"):
        parse_maccor(broken)
