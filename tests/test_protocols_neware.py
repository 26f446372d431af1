"""Neware step-file writer and reader against the real step files in the corpus."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from labkit.errors import ProtocolError
from labkit.protocols import formats
from labkit.protocols.generators import GENERATORS
from labkit.protocols.neware import parse_neware, render_neware
from labkit.protocols.schedule import Cell, Loop
from tests._mutations import mutations
from tests._schedule_shape import shape
from tests.conftest import CORPUS, corpus_path

CELL = Cell(nominal_capacity_ampere_hour=1.1, area_square_centimeter=1.0, min_voltage_volt=2.0,
            max_voltage_volt=3.6, max_current_ampere=20.0)
SYMMETRIC = Cell(area_square_centimeter=0.5, min_voltage_volt=-5.0, max_voltage_volt=5.0)
REAL = sorted((CORPUS / "protocols" / "neware").glob("*.xml"))
UNEXPRESSIBLE = {"bruce_vincent": "eis_before", "eis_temperature_series": "eis_-20C",
                 "pulse_charge": "pulse_charge"}
MERGED = {"ocv": "rest"}


def _xml(path) -> ET.Element:
    text = path.read_bytes().decode("gb18030")
    return ET.fromstring(re.sub(r"^<\?xml[^>]*\?>", "", text))


def _element_paths(root: ET.Element, prefix: str = "") -> set[str]:
    paths = set()
    for child in root:
        path = f"{prefix}/{re.sub(r'^Step[0-9]+$', 'StepN', child.tag)}"
        paths.add((path, tuple(sorted(child.attrib))))
        paths |= _element_paths(child, path)
    return paths


@pytest.mark.skipif(not REAL, reason="shared corpus protocols/neware not found (LABKIT_CORPUS)")
@pytest.mark.parametrize("name", sorted(set(GENERATORS) - set(UNEXPRESSIBLE)))
def test_written_step_file_has_the_structure_of_real_neware_files(name, tmp_path):
    schedule = GENERATORS[name](SYMMETRIC if name == "ccd_staircase" else CELL)
    path = formats.write(schedule, tmp_path / "Step.xml", "neware")
    raw = path.read_bytes()
    assert raw.startswith(b'<?xml version="1.0" encoding="GB2312"?>\r\n<root>\r\n')
    assert raw.endswith(b"</root>") and b"\n" not in raw.replace(b"\r\n", b"")
    real_paths = set().union(*(_element_paths(_xml(p)) for p in REAL))
    written = _xml(path)
    assert _element_paths(written) <= real_paths
    steps = list(written.find("config/Step_Info"))
    assert written.find("config/Step_Info").get("Num") == str(len(steps))
    assert [s.get("Step_ID") for s in steps] == [str(n) for n in range(1, len(steps) + 1)]
    assert steps[-1].get("Step_Type") == "6"
    assert shape(parse_neware(path), kinds=MERGED) == shape(schedule, kinds=MERGED)


@pytest.mark.parametrize("name", sorted(UNEXPRESSIBLE))
def test_unexpressible_generator_schedules_are_refused_naming_the_step(name):
    schedule = GENERATORS[name](CELL)
    with pytest.raises(ProtocolError, match=re.escape(UNEXPRESSIBLE[name])):
        formats.render(schedule, "neware")


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.name)
def test_real_step_file_round_trips(path, tmp_path):
    schedule = parse_neware(path)
    rewritten = tmp_path / "again.xml"
    rewritten.write_bytes(render_neware(schedule))
    again = parse_neware(rewritten)
    assert again.steps == schedule.steps
    assert again.safety == schedule.safety
    assert formats.read(path)[1] == "neware"


def test_real_step_file_values_match_the_file():
    # navani: Rest 5 min; CCCV_Chg 0.12 mA to 4.4 V, stop 0.004 mA, 6 h, Cap 7200000 mA s
    rest, charge, discharge, _ = parse_neware(
        corpus_path("protocols", "neware", "navani_test_v17_cccv.xml")).steps
    assert rest.kind == "rest" and rest.end("time").value == 300
    assert rest.record.every_second == 30
    assert charge.kind == "cccv" and charge.voltage_volt == 4.4
    assert (charge.current.value, charge.current.unit) == (0.12, "mA")
    assert charge.end("current").value == 0.004 and charge.end("time").value == 6 * 3600
    assert charge.end("capacity").value == pytest.approx(2.0)  # 7200000 mA s = 2 Ah
    assert discharge.kind == "cccv" and discharge.current.value == -0.12
    assert discharge.voltage_volt == 1.5
    # aurora: C-rate mode, MultCap 162000 mA s = 45 mAh; CC 0.5C to 4.2 V ... Cycle x5
    formation = parse_neware(corpus_path("protocols", "neware",
                                         "aurora_nw4-120-6-1-36_v17_formation.xml"))
    assert formation.cell.nominal_capacity_ampere_hour == pytest.approx(0.045)
    (loop,) = formation.steps
    assert loop.count == 5 and [s.kind for s in loop.steps] == ["cc", "cv", "cc"]
    charge = loop.steps[0]
    assert (charge.current.value, charge.current.unit) == (0.5, "C")
    assert charge.current.ampere(formation.cell) == pytest.approx(0.0225)  # file: 22.5 mA
    assert charge.end("voltage").value == 4.2
    assert loop.steps[1].end("current").value == 0.05  # Stop_Rate C/20
    assert (formation.safety.min_voltage_volt, formation.safety.max_voltage_volt) == (2.5, 4.3)
    # NewareNDA rate test: steps 26-27 x20 inside 24-29 x50
    rate = parse_neware(corpus_path("protocols", "neware",
                                    "newarenda_BTS85-36-6-5-110_v17_ratetest.xml"))
    outer = rate.steps[-1]
    assert isinstance(outer, Loop) and outer.count == 50
    assert [type(x).__name__ for x in outer.steps] == ["Step", "Step", "Loop"]
    assert outer.steps[2].count == 20
    assert outer.steps[2].steps[0].current.value == pytest.approx(0.26579)
    # cellpy: Control step setting the chamber to 25.0 degC, waiting 3600000 ms
    control = parse_neware(corpus_path("protocols", "neware",
                                       "cellpy_IFE_BTS85_v18_tempcontrol.xml")).steps[0]
    assert control.kind == "rest" and control.chamber_celsius == 25.0
    assert control.end("time").value == 3600


def test_broken_files_are_refused_with_the_position(tmp_path):
    broken = tmp_path / "broken.xml"
    broken.write_bytes(b'<?xml version="1.0" encoding="GB2312"?>\r\n<root>\r\n  <config>\r\n')
    with pytest.raises(ProtocolError, match="line"):
        parse_neware(broken)
    real = corpus_path("protocols", "neware", "newarenda_TESTCELL0001-Ndc17_v18_cc.xml")
    bad_loop = tmp_path / "bad_loop.xml"
    bad_loop.write_bytes(real.read_bytes().replace(
        b'<Step6 Step_ID="6" Step_Type="6">',
        b'<Step6 Step_ID="6" Step_Type="5"><Limit><Other><Start_Step Value="9" />'
        b'<Cycle_Count Value="2" /></Other></Limit>'))
    with pytest.raises(ProtocolError, match=r"line 143\): Step_ID 6.*Start_Step 9"):
        parse_neware(bad_loop)
    bad_number = tmp_path / "bad_number.xml"
    bad_number.write_bytes(real.read_bytes().replace(b'<Curr Value="1000" />',
                                                     b'<Curr Value="1 A" />', 1))
    with pytest.raises(ProtocolError, match=r"line 61\): Step_ID 2 \(CC_Chg\): <Curr> "
                                            r"Value should be a number, is '1 A'"):
        parse_neware(bad_number)


def test_step_types_labkit_does_not_model_are_kept_opaque(tmp_path):
    real = corpus_path("protocols", "neware", "newarenda_TESTCELL0001-Ndc17_v18_cc.xml")
    raw = real.read_bytes()
    # step 2 is a 1 A CC_Chg for 15 s; as a SIM step (17) or a type no file shows (99)
    for code, vendor_step in ((b"17", "Neware SIM (Step_Type 17)"),
                              (b"99", "Neware Step_Type 99 (a step type not seen in any "
                                      "Neware file)")):
        changed = tmp_path / "changed.xml"
        changed.write_bytes(raw.replace(b'Step_ID="2" Step_Type="1"',
                                        b'Step_ID="2" Step_Type="' + code + b'"'))
        step = parse_neware(changed).steps[1]
        assert step.kind == "opaque" and step.vendor_step.startswith(vendor_step)
        assert "limits Curr 1000" in step.vendor_step
        assert step.current.ampere(Cell()) == 1.0 and step.end("time").value == 15
        with pytest.raises(ProtocolError, match="cannot hold steps labkit does not model"):
            formats.render(parse_neware(changed), "neware")


def test_step_protection_is_an_end_only_where_tighter_than_the_whole_test_one(tmp_path):
    # aurora formation: whole-test protection 2.5-4.3 V; each step repeats 2.5 V and
    # loosens the upper bound to 4.5 V, which never trips before the whole-test 4.3 V.
    schedule = parse_neware(corpus_path("protocols", "neware",
                                        "aurora_nw4-120-6-1-36_v17_formation.xml"))
    assert (schedule.cell.min_voltage_volt, schedule.cell.max_voltage_volt) == (2.5, 4.3)
    assert all(e.goto is None for s, _ in schedule.flat_steps() for e in s.ends)
    # the writer's per-step stop (a CCD staircase's +-5 V inside the +-5.05 V safety) is kept
    ccd = GENERATORS["ccd_staircase"](SYMMETRIC, densities=(0.1,))
    back = parse_neware(formats.write(ccd, tmp_path / "ccd.xml", "neware"))
    assert [e.value for e in back.steps[0].steps[0].ends if e.goto == "end"] == [5.0]


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.name)
def test_damaged_files_give_a_protocol_error_or_a_schedule(path, tmp_path):
    damaged = tmp_path / path.name
    for raw in mutations(path.read_bytes()):
        damaged.write_bytes(raw)
        try:
            parse_neware(damaged)
        except ProtocolError as exc:
            assert exc.file == str(damaged)


def test_step_file_inside_an_ndax_archive_is_read():
    # The corpus step file was extracted byte-for-byte from this archive's Step.xml.
    archive = corpus_path("cycler", "neware",
                          "fastnda_TESTCELL0001-B2-2025-M50T_NewareNDA_Investigation.ndax")
    extracted = parse_neware(corpus_path("protocols", "neware",
                                         "newarenda_TESTCELL0001-B2-M50T_v18_cccv.xml"))
    schedule, name = formats.read(archive)
    assert name == "neware" and schedule.steps == extracted.steps
    assert schedule.safety == extracted.safety and schedule.description == ""
    changed = parse_neware(corpus_path("cycler", "neware", "fastnda_interp-test.ndax"))
    assert "Step0.xml, Step1.xml" in changed.description
