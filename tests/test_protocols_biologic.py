"""BioLogic .mps writer and .mps/.mpl reader against the real settings files in the corpus."""

from __future__ import annotations

import re

import pytest

from labkit.errors import ProtocolError
from labkit.protocols import formats
from labkit.protocols.biologic import parse_biologic, render_biologic
from labkit.protocols.generators import GENERATORS
from labkit.protocols.schedule import Cell, End, Loop, Schedule, Step
from tests._mutations import mutations
from tests._schedule_shape import as_written, shape
from tests.conftest import CORPUS, copy_with_line, corpus_path

CELL = Cell(nominal_capacity_ampere_hour=1.1, area_square_centimeter=1.0, min_voltage_volt=2.0,
            max_voltage_volt=3.6, max_current_ampere=20.0)
SYMMETRIC = Cell(area_square_centimeter=0.5, min_voltage_volt=-5.0, max_voltage_volt=5.0)
FOLDER = CORPUS / "protocols" / "biologic"
# Modulo Bat files saved by each program: the row sets the writer must reproduce.
REAL_MB = {"EC-Lab": FOLDER / "biologiccom_MB-GPCL.mps", "BT-Lab": FOLDER / "beep_formationV1.mps"}
FORMAT = {"EC-Lab": "biologic", "BT-Lab": "biologic-bt"}
REFUSED_GENERATORS = {("EC-Lab", "eis_temperature_series"): "hold_-20C",
                      ("BT-Lab", "eis_temperature_series"): "hold_-20C",
                      ("BT-Lab", "bruce_vincent"): "eis_before"}
# Real files (not SYNTHETIC/EXCERPT) that read, write and read back to the same steps.
ROUND_TRIP = ["afmo_Cycle_Life_Standard_Protocol-Template-C-N_commadecimal.mps",
              "afmo_Formation-Cap-Check-Protocol-Template-C-N_commadecimal.mps",
              "aurora_250116_kigr_gen6_01_02_GCPL_CD8.mpl", "aurora_commercial_cell_009_C13_MB.mpl",
              "beep_Ta19_ourprotocol_gdocSEP2019_CC7.mps", "beep_formationV1.mps",
              "beep_test_loopsnewoutput_MB_CE1.mpl", "biologiccom_CP_limit.mps",
              "eightinks_Biologic_01.mpl", "eightinks_Biologic_01.mps",
              "eightinks_S0013_E0001_1.mps"]
# Read, but a rest ending on dE/dt (GCPL/OCV dER/dt) has no Modulo Bat limit to write.
READ_ONLY = {"biologiccom_GCPL.mps": "t1_ns1_rest", "biologiccom_GCPL7.mps": "t1_ns1_rest",
             "biologiccom_OCV-EIS_loop.mps": "t1_ns0"}
# Sequences labkit does not model, kept opaque: file -> {label: what vendor_step says}.
OPAQUE = {
    "biologiccom_MB-GPCL.mps": {
        "t1_ns0": "Modulo Bat 'CC', ctrl1_val 100.000 mA vs. <None>, limits labkit cannot "
                  "read: |Q| > 0.000 mA.h C / N Next sequence",
        "t1_ns1": "Modulo Bat 'UP'", "t1_ns2": "Modulo Bat 'GEIS', ctrl1_val 10.000 mV"},
    "biologiccom_MBSeq.mps": {"t1_ns1": "Modulo Bat 'UP'",
                              "t1_ns2": "Modulo Bat 'GEIS', ctrl1_val 14.142 mV"},
    "biologiccom_MB_UP.mps": {"t2_ns0": "Modulo Bat 'UP'"},
    "beep_mb_test_sample_mb_text.mps": {  # SYNTHETIC
        "t1_ns3": "Modulo Bat 'CR', ctrl1_val 1.500 Ohm vs. <None>"},
}


def _technique_rows(raw: bytes) -> list[str]:
    lines = raw.decode("cp1252").splitlines()
    start = lines.index("Modulo Bat") + 1
    rows = []
    for line in lines[start:]:
        if not line.strip():
            break
        rows.append(line[:20].strip())
    return rows


def _numbered(rows: list[str]) -> list[str]:
    """Row keys with the limit/record number folded (lim2_type -> limK_type)."""
    out = []
    for row in rows:
        key = re.sub(r"^(lim|rec)[0-9]+_", r"\1K_", row)
        if key not in out:
            out.append(key)
    return out


def _header_keys(raw: bytes) -> set[str]:
    text = raw.decode("cp1252").split("\r\nTechnique : 1" if b"\r\n" in raw else "\nTechnique : 1")[0]
    return {line.split(" : ")[0] for line in text.splitlines() if " : " in line}


@pytest.mark.skipif(not REAL_MB["EC-Lab"].exists(), reason="shared corpus protocols/biologic "
                    "not found (LABKIT_CORPUS)")
@pytest.mark.parametrize("software", ["EC-Lab", "BT-Lab"])
@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_written_settings_have_the_structure_of_real_modulo_bat_files(software, name, tmp_path):
    schedule = GENERATORS[name](SYMMETRIC if name == "ccd_staircase" else CELL)
    if (software, name) in REFUSED_GENERATORS:
        with pytest.raises(ProtocolError, match=re.escape(REFUSED_GENERATORS[software, name])):
            formats.render(schedule, FORMAT[software])
        return
    path = formats.write(schedule, tmp_path / "out.mps", FORMAT[software])
    raw = path.read_bytes()
    real = REAL_MB[software].read_bytes()
    assert raw.split(b"\r\n")[0] == real.split(b"\r\n")[0].split(b"\n")[0]
    assert b"\n" not in raw.replace(b"\r\n", b"") and raw.endswith(b"\r\n")
    raw.decode("cp1252")  # cp1252 throughout (µ is 0xB5)
    assert _header_keys(raw) <= _header_keys(real) | {"Filename"}
    rows = _technique_rows(raw)
    if software == "BT-Lab":
        assert rows == _technique_rows(real)  # BT-Lab writes every row, 3 limits, 3 records
    else:
        assert _numbered(rows) == _numbered(_technique_rows(real))
    table = raw.decode("cp1252").split("Modulo Bat\r\n")[1].split("\r\n")
    count = len(table[0][20:].split())
    assert all(len(line) == 20 * (count + 1) for line in table if line)
    expected = as_written(schedule, FORMAT[software])
    assert shape(parse_biologic(path)) == shape(expected)


@pytest.mark.parametrize("name", ROUND_TRIP)
@pytest.mark.parametrize("software", ["EC-Lab", "BT-Lab"])
def test_real_settings_round_trip(name, software, tmp_path):
    path = corpus_path("protocols", "biologic", name)
    schedule = parse_biologic(path)
    rewritten = tmp_path / "again.mps"
    rewritten.write_bytes(render_biologic(schedule, software))
    assert shape(parse_biologic(rewritten)) == shape(schedule)
    assert formats.read(path)[1] == "biologic"


@pytest.mark.parametrize("name", sorted(READ_ONLY))
def test_rests_ending_on_de_dt_are_read_but_not_written(name):
    schedule = parse_biologic(corpus_path("protocols", "biologic", name))
    with pytest.raises(ProtocolError, match=f"{READ_ONLY[name]}: Modulo Bat has no dV/dt"):
        render_biologic(schedule)


@pytest.mark.parametrize("name", sorted(OPAQUE))
def test_sequences_labkit_does_not_model_are_kept_opaque_and_not_written(name):
    schedule = parse_biologic(corpus_path("protocols", "biologic", name))
    opaque = {s.label: s for s, _ in schedule.flat_steps() if s.kind == "opaque"}
    assert sorted(opaque) == sorted(OPAQUE[name])
    for label, text in OPAQUE[name].items():
        assert opaque[label].vendor_step.startswith(f"BioLogic {text}")
    first = sorted(OPAQUE[name])[0]
    with pytest.raises(ProtocolError, match=f"cannot hold steps labkit does not model.*{first}"):
        formats.render(schedule, "biologic")


def test_ends_of_opaque_sequences_are_read_and_unknown_types_said_so(tmp_path):
    # MBSeq Ns 1, an urban profile (UP): stops the run at Ewe > 3.7 V
    loop = parse_biologic(corpus_path("protocols", "biologic", "biologiccom_MBSeq.mps")).steps[0]
    up = loop.steps[1]
    assert (up.label, loop.count) == ("t1_ns1", 8)
    assert up.ends == (End("voltage", ">=", 3.7, "V", goto="end"),)
    real = corpus_path("protocols", "biologic", "biologiccom_MB_UP.mps")
    unknown = copy_with_line(real, tmp_path, 62, "ctrl_type           ZZ                  ")
    step = parse_biologic(unknown).steps[-1]
    assert step.kind == "opaque"
    assert step.vendor_step == "BioLogic Modulo Bat 'ZZ' (a sequence type not seen in any " \
                               "BioLogic file)"


def test_settings_without_a_step_are_refused():
    with pytest.raises(ProtocolError, match="the settings hold no step"):
        parse_biologic(corpus_path("protocols", "biologic", "biologiccom_GCPL_SingleStep.mps"))


def test_gcpl_values_match_the_file():
    # biologiccom_GCPL.mps Ns 1: +130 mA for at most 10 h to EM 4.5 V, hold 4.5 V for
    # tM 1 h, rest tR 15 min or until dER/dt < 0.1 mV/h; Ns 0: a 10 s rest.
    steps = parse_biologic(corpus_path("protocols", "biologic", "biologiccom_GCPL.mps")).steps
    assert [s.kind for s in steps] == ["rest", "cc", "cv", "rest", "cc", "cv", "rest"]
    assert steps[0].end("time").value == 10
    charge, hold, rest = steps[1:4]
    assert charge.current.value == pytest.approx(0.130) and charge.current.unit == "A"
    assert charge.end("voltage").value == 4.5 and charge.end("voltage").operator == ">="
    assert charge.end("time").value == 10 * 3600
    assert hold.voltage_volt == 4.5 and hold.end("time").value == 3600
    assert rest.end("time").value == 15 * 60
    assert rest.end("dv_dt").value == pytest.approx(0.1e-3 / 3600)
    assert steps[4].current.value == pytest.approx(-0.130) and steps[4].end("voltage").value == 3


def test_decimal_comma_linked_techniques_and_c_rates():
    # afmo Cycle Life (BT-LAB, decimal comma): OCV 3 h; GCPL C/2 charge (Is 1,500 mA) to
    # 4,3 V + CV 2 h to Im 150 µA; 1C discharge (-3,000 mA) to 3,0 V; Loop goto Ne 2 x49.
    schedule = parse_biologic(corpus_path(
        "protocols", "biologic", "afmo_Cycle_Life_Standard_Protocol-Template-C-N_commadecimal.mps"))
    ocv, loop = schedule.steps
    assert ocv.kind == "rest" and ocv.end("time").value == 3 * 3600
    assert ocv.end("dv_dt") is None  # dER/dt 0,0 = no limit
    assert isinstance(loop, Loop) and loop.count == 50
    charge, hold, rest, discharge, rest2 = loop.steps
    assert (charge.current.value, charge.current.unit) == (0.5, "C")
    assert charge.end("voltage").value == 4.3
    assert hold.voltage_volt == 4.3 and hold.end("current").value == pytest.approx(150e-6)
    assert hold.end("time").value == 7200
    assert (discharge.current.value, discharge.current.unit) == (-1.0, "C")
    assert discharge.end("voltage").value == 3.0 and rest.end("time").value == 300
    assert schedule.cell.nominal_capacity_ampere_hour == pytest.approx(3e-3)  # 1,5 mA x 2
    assert (schedule.safety.min_voltage_volt, schedule.safety.max_voltage_volt) == (2.5, 4.5)


def test_modulo_bat_values_match_the_file():
    # beep formationV1 (BT-LAB, CRLF): 1 h rest; 0.1 A CC to 3.7 V; CV 3.7 V 60 mn; ...
    steps = list(parse_biologic(corpus_path("protocols", "biologic", "beep_formationV1.mps"))
                 .flat_steps())
    rest, charge, hold = (step for step, _ in steps[:3])
    assert rest.kind == "rest" and rest.end("time").value == 3600
    assert charge.kind == "cc" and charge.current.value == pytest.approx(0.1)
    assert charge.end("voltage").value == 3.7 and hold.voltage_volt == 3.7
    assert hold.end("time").value == 3600 and charge.record.every_second == pytest.approx(0.002)
    # Ta19: Apply I/C 'C / N' with N = 15 and a CV end at I < 22.820 µA
    ta19 = parse_biologic(corpus_path("protocols", "biologic",
                                      "beep_Ta19_ourprotocol_gdocSEP2019_CC7.mps"))
    first = [step for step, _ in ta19.flat_steps()][1:3]
    assert first[0].current.value == pytest.approx(1 / 15) and first[0].current.unit == "C"
    assert first[1].end("current").value == pytest.approx(22.82e-6)
    assert ta19.cell.nominal_capacity_ampere_hour == pytest.approx(2.28e-3)
    # OCV - PEIS - Loop (goto Ne 1, nt times 2): 3 passes of OCV 30 s + 200 kHz..100 mHz
    (loop,) = parse_biologic(corpus_path("protocols", "biologic",
                                         "biologiccom_OCV-EIS_loop.mps")).steps
    assert loop.count == 3 and loop.steps[0].end("time").value == 30
    eis = loop.steps[1].impedance
    assert (eis.start_frequency_hertz, eis.end_frequency_hertz) == (200e3, pytest.approx(0.1))
    assert (eis.points_per_decade, eis.amplitude) == (6, pytest.approx(0.010))


def test_log_file_states_modified_settings():
    schedule = parse_biologic(corpus_path("protocols", "biologic", "eightinks_Biologic_01.mpl"))
    assert "Modify on" in schedule.description
    assert [s.kind for s, _ in schedule.flat_steps()][:2] == ["rest", "cc"]


def test_broken_settings_are_refused_with_the_position(tmp_path):
    real = corpus_path("protocols", "biologic", "eightinks_S0013_E0001_1.mps").read_bytes()
    bad = tmp_path / "bad.mps"
    bad.write_bytes(real.replace(b"-0.231", b"-0.2x1", 1))
    # line 35 is the Is row
    with pytest.raises(ProtocolError, match=r"line 35.*Ns 1, row 'Is': expected a number, "
                                            r"found '-0.2x1'"):
        parse_biologic(bad)
    bad.write_bytes(real.replace(b"30:00:0.0000", b"30:00", 1))
    with pytest.raises(ProtocolError, match=r"Ns 1, row 't1 \(h:m:s\)': expected a duration"):
        parse_biologic(bad)
    bad.write_bytes(b"EC-LAB SETTINGS\r\n")
    with pytest.raises(ProtocolError, match=r"line 1.*expected 'EC-LAB SETTING FILE'"):
        parse_biologic(bad)


def test_unexpressible_steps_are_refused_naming_the_step():
    power = Step("cp", label="constant_power", power_watt=1.0, ends=(End("time", ">=", 60, "s"),))
    with pytest.raises(ProtocolError, match="constant_power"):
        formats.render(Schedule("cp", CELL, (power,)), "biologic")


def test_ascii_export_header_reads_like_the_log(tmp_path):
    # An .mpt export starts "EC-Lab ASCII FILE" / "Nb header lines : N" and then holds the
    # log-file header and settings table.
    log = corpus_path("protocols", "biologic", "eightinks_Biologic_01.mpl")
    raw = log.read_bytes()
    export = tmp_path / "run.mpt"
    export.write_bytes(raw.replace(b"EC-Lab LOG FILE\r\n", b"EC-Lab ASCII FILE\r\n"
                                   b"Nb header lines : 99                          \r\n", 1))
    schedule, name = formats.read(export)
    assert name == "biologic"
    assert shape(schedule) == shape(parse_biologic(log))


@pytest.mark.parametrize("path", sorted(FOLDER.glob("*.mp[sl]")), ids=lambda p: p.name)
def test_damaged_files_give_a_protocol_error_or_a_schedule(path, tmp_path):
    damaged = tmp_path / path.name
    for raw in mutations(path.read_bytes()):
        damaged.write_bytes(raw)
        try:
            parse_biologic(damaged)
        except ProtocolError as exc:
            assert exc.file == str(damaged)
