"""Impedance-file parsers and the Gamry .DTA time-domain techniques.

Expected values are read by eye from the raw files, come from the same measurement in
another format (pyimpspec's format templates all hold one 29-point spectrum; the LPSCl
spectrum exists as .mpr, .mpt and RelaxIS export), from a published fit (Zahner's R||C
reference), or from spectra this file computes itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import labkit
from labkit.errors import FormatError
from tests.conftest import copy_with_line, corpus_path

EIS = ("eis",)


def _eis(*parts: str) -> Path:
    return corpus_path(*EIS, *parts)


def _gamry(name: str) -> Path:
    return corpus_path("cycler", "gamry", name)


# --- the pyimpspec format templates: one spectrum in every format --------------------

# (folder, file, relative tolerance = the file's printed precision)
TEMPLATES = [
    ("gamry_dta", "pyimpspec_data.dta", 5e-6),
    ("autolab_dfr", "pyimpspec_data.dfr", 1e-12),
    ("ivium_idf", "pyimpspec_data.idf", 5e-6),
    ("elchemea_i2b", "pyimpspec_data.i2b", 1e-12),
    ("zplot_z", "pyimpspec_data.z", 5e-7),
    ("p00_txt", "pyimpspec_data.P00", 1e-3),
    ("palmsens_pssession", "pyimpspec_data.pssession", 1e-12),
    ("csv", "pyimpspec_data-semicolon.csv", 1e-12),
    ("csv", "pyimpspec_data-comma-decimal-separator.csv", 1e-12),
    ("csv", "pyimpspec_case-negative-real-imaginary.csv", 1e-12),
    ("biologic_mpt", "pyimpspec_data.mpt", 5e-7),  # BioLogic parser (other engineer)
]


@pytest.fixture(scope="module")
def template_reference() -> tuple[np.ndarray, np.ndarray]:
    record = labkit.read(_eis("csv", "pyimpspec_data-comma.csv"))
    assert record.meta.file_format == "eis-csv"
    frequency, z = record.impedance(0)
    assert len(frequency) == 29
    assert frequency[0] == 10000.0 and frequency[-1] == 1.0
    assert z[0] == pytest.approx(109.00918219439028 - 26.55567987651522j)
    return frequency, z


def _assert_same_spectrum(frequency, z, reference, rtol):
    ref_f, ref_z = reference
    np.testing.assert_allclose(frequency, ref_f, rtol=rtol)
    np.testing.assert_allclose(z.real, ref_z.real, rtol=rtol)
    np.testing.assert_allclose(z.imag, ref_z.imag, rtol=rtol)


@pytest.mark.parametrize(("folder", "name", "rtol"), TEMPLATES, ids=[t[1] for t in TEMPLATES])
def test_format_templates_hold_the_same_spectrum(folder, name, rtol, template_reference):
    record = labkit.read(_eis(folder, name))
    assert record.n_spectra == 1
    _assert_same_spectrum(*record.impedance(0), template_reference, rtol)


@pytest.mark.parametrize(("folder", "name", "spectra", "rtol"), [
    ("ivium_idf", "pyimpspec_data.ids", 2, 5e-6),
    ("csv", "pyimpspec_case-multiple-spectra.csv", 4, 1e-12),
    ("spreadsheet", "pyimpspec_data.xlsx", 4, 1e-9),  # |Z|/phase sheet: trigonometry rounding
    ("spreadsheet", "pyimpspec_data.ods", 4, 1e-9),
    ("biologic_mpt", "pyimpspec_case-multiple-spectra.mpt", 3, 5e-7),  # BioLogic parser
])
def test_multi_spectrum_templates(folder, name, spectra, rtol, template_reference):
    record = labkit.read(_eis(folder, name))
    assert record.n_spectra == spectra
    for index in range(spectra):
        _assert_same_spectrum(*record.impedance(index), template_reference, rtol)


# --- LPSCl blocking-electrode spectrum: .mpr / .mpt / RelaxIS ---------------------------

def test_relaxis_equals_biologic_twins():
    relaxis = labkit.read(_eis("relaxis_txt", "hybriddrt_PEIS_LPSCl_IonBlocking_-25C_RelaxIS.txt"))
    assert relaxis.meta.file_format == "relaxis-txt"
    rows = relaxis.data
    assert len(rows) == 79
    # first data row of the file (low -> high frequency order)
    assert rows["frequency_hertz"].iloc[0] == pytest.approx(0.10002180933952332)
    assert rows["z_real_ohm"].iloc[0] == pytest.approx(1799427.625)
    assert rows["z_imag_ohm"].iloc[0] == pytest.approx(-8093785.5)
    assert rows["relaxis_dc"].iloc[0] == pytest.approx(-0.080042)
    for twin in (("biologic_mpt", "hybriddrt_PEIS_LPSCl_IonBlocking_-25C.mpt.txt"),
                 ("biologic_mpr", "hybriddrt_PEIS_LPSCl_IonBlocking_-25C.mpr")):
        other = labkit.read(_eis(*twin)).data.sort_values("frequency_hertz")
        mine = rows.sort_values("frequency_hertz")
        for column in ("frequency_hertz", "z_real_ohm", "z_imag_ohm"):
            np.testing.assert_allclose(mine[column].to_numpy(), other[column].to_numpy(),
                                       rtol=1e-6, err_msg=f"{twin[1]} {column}")


# --- Gamry EIS -------------------------------------------------------------------------

def test_gamry_eispot_values_from_the_file():
    record = labkit.read(_eis("gamry_dta", "impedancepy_exampleDataGamry.DTA"))
    data = record.data
    assert record.meta.technique == ("EISPOT",)
    assert record.meta.instrument == "REF3000-34128"
    assert record.meta.start_time == "2018-04-23T16:43:15"
    assert len(data) == 72 and record.n_spectra == 1
    first, last = data.iloc[0], data.iloc[-1]
    assert (first.frequency_hertz, first.z_real_ohm, first.z_imag_ohm) == (200015.6, 825.8584,
                                                                          -1367.239)
    assert (last.frequency_hertz, last.z_real_ohm, last.z_imag_ohm) == (0.0158898, 17007.49,
                                                                       -6635.557)
    assert first.dc_voltage_volt == -0.3413299
    assert first.ac_amplitude_volt == pytest.approx(0.010)
    assert record.meta.sample.area_square_centimeter == 1.0
    assert any("OCVCURVE" in note for note in record.meta.notes)


def test_gamry_galvanostatic_eis():
    record = labkit.read(_eis("gamry_dta", "hybriddrt_EISGALV_EISTest3.DTA"))
    data = record.data
    assert record.meta.technique == ("GALVEIS",)
    assert len(data) == 71
    assert data.frequency_hertz.iloc[0] == 1000078
    assert data.z_imag_ohm.iloc[0] == 0.1695821  # inductive branch stays positive
    assert data.frequency_hertz.iloc[-1] == 0.1001603
    assert data.dc_current_ampere.iloc[0] == 0.5291879
    assert record.meta.start_time == "2024-10-25T21:09:58.727375"


def test_gamry_drift_corrected_file_exposes_both_spectra():
    record = labkit.read(_eis("gamry_dta", "pyimpspec_drift-corrected-data.dta"))
    assert record.n_spectra == 2
    raw, corrected = record.spectrum(0), record.spectrum(1)
    assert len(raw) == len(corrected) == 55
    assert set(raw.gamry_drift_corrected) == {0} and set(corrected.gamry_drift_corrected) == {1}
    # last row: Zreal 163443,2 / Zimag -207897,9; ZrealDrCor 163521,3 / ZimagDrCor -207613,7
    assert raw.frequency_hertz.iloc[-1] == pytest.approx(0.1001603)
    assert (raw.z_real_ohm.iloc[-1], raw.z_imag_ohm.iloc[-1]) == (163443.2, -207897.9)
    assert (corrected.z_real_ohm.iloc[-1], corrected.z_imag_ohm.iloc[-1]) == (163521.3, -207613.7)
    assert record.meta.sample.area_square_centimeter == pytest.approx(0.02)


@pytest.mark.parametrize(("name", "points"), [
    ("gamryparser_eispot_data_curveaborted.dta", 5),
    ("impedancepy_exampleDataGamryABORT.DTA", 72),
])
def test_gamry_aborted_runs_keep_the_valid_points(name, points):
    record = labkit.read(_eis("gamry_dta", name))
    assert len(record.data) == points
    assert np.isfinite(record.data[["frequency_hertz", "z_real_ohm", "z_imag_ohm"]]).all().all()
    assert any("aborted" in note for note in record.meta.notes)
    assert record.meta.extra["gamry_aborted"] is True


def test_gamry_rows_with_spaces_instead_of_tabs():
    data = labkit.read(_eis("gamry_dta", "gamryparser_eispot_data.dta")).data
    assert len(data) == 10
    np.testing.assert_array_equal(data.frequency_hertz.iloc[5:],
                                  [50, 10, 5, 1, 0.5])


def test_gamry_bogus_temperature_kept_as_written():
    data = labkit.read(_eis("gamry_dta", "chemotion_DHM-Cudmp_EISPOT.DTA")).data
    assert len(data) == 58
    assert data.temperature_celsius.iloc[0] == pytest.approx(1395.24)


# --- Gamry time-domain techniques ---------------------------------------------------------

def test_gamry_chronoamperometry_comma_decimals_match_point_decimals():
    english = labkit.read(_gamry("gamryparser_chronoa_data.dta"))
    german = labkit.read(_gamry("gamryparser_chronoa_de_data.dta"))
    assert type(english).__name__ == "CyclingRecord" and english.meta.technique == ("CHRONOA",)
    assert german.meta.extra["decimal_separator"] == ","
    assert len(english.data) == len(german.data) == 10
    # the two files differ only in the first row (-5.4E-4 V vs -5.0E-4 V)
    for column in ("test_time_second", "voltage_volt", "current_ampere"):
        np.testing.assert_array_equal(english.data[column].iloc[1:], german.data[column].iloc[1:])
    assert german.data.voltage_volt.iloc[0] == -5.0e-4
    assert german.data.test_time_second.iloc[3] == 90.0001
    assert english.data.current_ampere.iloc[1] == 1.40441e-8


def test_gamry_cv_cycles_and_ocp():
    cv = labkit.read(_gamry("gamryparser_cv_data.dta")).data
    assert len(cv) == 50
    assert cv.groupby("cycle_count").size().to_dict() == {1: 10, 2: 10, 3: 10, 4: 10, 5: 10}
    assert cv.test_time_second.iloc[10] == 120.2
    assert cv.voltage_volt.iloc[0] == 0.49
    ocv_cv = labkit.read(_gamry("gamryparser_ocvcurve_data.dta"))
    assert set(ocv_cv.data.gamry_curve) == {"CURVE1"}
    assert any("OCVCURVE" in note for note in ocv_cv.meta.notes)
    ocp = labkit.read(_gamry("gamryparser_ocp_data.dta"))
    assert ocp.meta.technique == ("CORPOT",) and len(ocp.data) == 21
    assert ocp.data.voltage_volt.iloc[0] == 2.05436e-2
    assert ocp.data.temperature_celsius.isna().all()  # -327.62 is below absolute zero


def test_gamry_square_wave_and_vfp600():
    square = labkit.read(_gamry("gamryparser_squarewave_data.dta"))
    data = square.data
    assert square.meta.technique == ("SQUARE_WAVE",) and len(data) == 10
    assert data.voltage_volt.iloc[0] == 6.02416e-3  # Vstep
    # CONVENTION 0 (cathodic positive): Idif 1.92826E-006 becomes anodic-positive
    assert data.current_ampere.iloc[0] == -1.92826e-6
    assert any("aborted" in note for note in square.meta.notes)
    vfp = labkit.read(_gamry("gamryparser_vfp600_data.dta")).data
    assert len(vfp) == 20
    np.testing.assert_allclose(np.diff(vfp.test_time_second), 1 / 15)
    assert vfp.current_ampere.iloc[-1] == 5.125e-10


def test_gamry_truncated_header_is_a_format_error():
    path = _gamry("gamryparser_cv_data_incompleteheader.dta")
    with pytest.raises(FormatError) as info:
        labkit.read(path)
    assert info.value.position == "line 19" and info.value.file == str(path)


def test_gamry_malformed_copy(tmp_path):
    source = _eis("gamry_dta", "gamryparser_eispot_data.dta").read_text(encoding="utf-8")
    broken = tmp_path / "broken.dta"
    broken.write_text(source.replace("226.2954", "22x.2954"), encoding="utf-8")
    with pytest.raises(FormatError) as info:
        labkit.read(broken)
    assert info.value.position == "line 26" and "22x.2954" in info.value.message
    cut = tmp_path / "cut.dta"
    cut.write_text(source.split("ZCURVE")[0] + "ZCURVE\tTABLE\n", encoding="utf-8")
    with pytest.raises(FormatError, match="cut short") as info:
        labkit.read(cut)
    assert info.value.position == "line 19"


# --- other vendors: values read from the raw files ------------------------------------------

@pytest.mark.parametrize(("folder", "name", "fmt", "points", "first"), [
    ("autolab_txt", "impedancepy_exampleDataAutolab.txt", "zplot-z", 41,
     (10000, 0.013785863964281, 0.007191946305823)),
    ("zplot_z", "impedancepy_Circuit1_EIS_1.z", "zplot-z", 48, (5.0e4, 29.036, 0.63662)),
    ("zplot_z", "impedancepy_exampleDataZPlot_noComments.z", "zplot-z", 31,
     (3.0e5, 642.62, -85.821)),
    ("chinstruments_txt", "impedancepy_exampleDataCHInstruments.txt", "chi-impedance-txt", 73,
     (9.961e4, 98.91, -2.748)),
    ("parstat_txt", "impedancepy_exampleDataParstat.txt", "parstat-txt", 31,
     (10000, -0.00049816280376104, 0.0175143479976367)),
    ("powersuite_txt", "impedancepy_exampleDataPowersuite.txt", "powersuite-txt", 30,
     (0.1, 423929.46, -49014.063)),
    ("versastudio_par", "impedancepy_exampleDataVersaStudio.par", "versastudio-par", 61,
     (100000, 55.31571, 4.575431)),
    ("csv", "impedancepy_exampleData.csv", "eis-csv", 66,
     (3.162299999999999833e-03, 4.949989776405060160e-02, -2.043869854441892481e-02)),
    ("drt_txt", "pydrttools_LIB_data.txt", "eis-csv", 107, (999.040405, 0.112362966,
                                                             0.00318273902)),
    ("drt_txt", "drttools_data_1.mat", "drttools-mat", 107, (999.040405, 0.112362966,
                                                            0.00318273902)),
])
def test_vendor_files(folder, name, fmt, points, first):
    record = labkit.read(_eis(folder, name))
    assert record.meta.file_format == fmt
    assert len(record.data) == points
    row = record.data.iloc[0]
    assert (row.frequency_hertz, row.z_real_ohm, row.z_imag_ohm) == pytest.approx(first,
                                                                                   rel=1e-9)


def test_zplot_declared_point_count_is_reported():
    record = labkit.read(_eis("zplot_z", "impedancepy_exampleDataZPlot_noComments.z"))
    assert any("declares 79 points and holds 31" in note for note in record.meta.notes)


def test_modulus_phase_csv_with_loop_index():
    record = labkit.read(_eis("csv", "hybriddrt_SSB_Sample2_PEIS_AtRest.csv"))
    assert record.n_spectra == 10
    assert record.data.groupby("spectrum").size().eq(89).all()
    first = record.data.iloc[0]
    expected = 50.752583 * np.exp(1j * np.deg2rad(-20.75998))
    assert first.z_real_ohm == pytest.approx(expected.real)
    assert first.z_imag_ohm == pytest.approx(expected.imag)
    assert first.test_time_second == pytest.approx(126.23869597606244)


def test_novocontrol_temperature_series():
    temperatures = []
    for celsius in range(140, 201, 10):
        record = labkit.read(_eis("novocontrol_txt", f"eisfitpython_s04147-{celsius}deg.txt"))
        assert record.meta.file_format == "novocontrol-txt"
        assert set(record.data.temperature_celsius) == {float(celsius)}
        assert set(record.data.ac_amplitude_volt) == {0.035}
        temperatures.append(record.conditions().temperature_celsius.iloc[0])
    assert temperatures == [140, 150, 160, 170, 180, 190, 200]
    geometry = labkit.read(_eis("novocontrol_txt", "eisfitpython_Example2a_s05751_25deg.txt"))
    assert geometry.meta.sample.area_square_centimeter == pytest.approx(np.pi * 1.3 ** 2 / 4)
    assert geometry.meta.sample.thickness_centimeter == pytest.approx(0.075)


def test_novocontrol_and_headerless_copy_agree():
    novo = labkit.read(_eis("novocontrol_txt", "eisfitpython_Example2c.txt")).data
    plain = labkit.read(_eis("csv", "eisfitpython_Example_noheader.txt")).data
    for column in ("frequency_hertz", "z_real_ohm", "z_imag_ohm"):
        np.testing.assert_array_equal(novo[column], plain[column])


def test_zahner_rc_dummy_matches_the_published_fit():
    record = labkit.read(_eis("zahner_ism", "zahner_rc-data.ism"))
    frequency, z = record.impedance(0)
    resistance, capacitance = 9.887e7, 1.478e-10  # _reference/zahner_rc-data_fit_result.json
    model = resistance / (1 + 2j * np.pi * frequency * resistance * capacitance)
    assert np.max(np.abs(z - model) / np.abs(model)) < 0.03
    assert frequency.max() == pytest.approx(1e5) and frequency.min() == pytest.approx(0.2)


def test_zahner_truncated_copy(tmp_path):
    source = _eis("zahner_ism", "zahner_rc-data.ism").read_bytes()
    cut = tmp_path / "cut.ism"
    cut.write_bytes(source[:500])
    with pytest.raises(FormatError, match="declares") as info:
        labkit.read(cut)
    assert info.value.position == "byte 6"


def test_pssession_damaged_json(tmp_path):
    text = _eis("palmsens_pssession", "pyimpspec_data.pssession").read_bytes().decode("utf-16")
    broken = tmp_path / "broken.pssession"
    broken.write_bytes(text[:5000].encode("utf-16"))
    with pytest.raises(FormatError) as info:
        labkit.read(broken)
    assert info.value.position.startswith("character")


def test_dfr_cut_short(tmp_path):
    lines = _eis("autolab_dfr", "pyimpspec_data.dfr").read_text().splitlines()
    cut = tmp_path / "cut.dfr"
    cut.write_text("\n".join(lines[:100]))
    with pytest.raises(FormatError, match="declares 29 points"):
        labkit.read(cut)


# --- generic delimited tables, with synthesised ground truth -----------------------------------

def _randles(frequency: np.ndarray) -> np.ndarray:
    omega = 2 * np.pi * frequency
    return 20.0 + 300.0 / (1 + 1j * omega * 300.0 * 2e-6)


FREQUENCY = np.logspace(5, -1, 25)
Z = _randles(FREQUENCY)


@pytest.mark.parametrize(("header", "columns", "sep", "decimal"), [
    ("frequency_hertz,z_real_ohm,z_imag_ohm", lambda f, z: (f, z.real, z.imag), ",", "."),
    ("Freq/Hz;Re(Z)/Ohm;-Im(Z)/Ohm", lambda f, z: (f, z.real, -z.imag), ";", ","),
    ("-Z''\tZ'\tf", lambda f, z: (-z.imag, z.real, f), "\t", ","),
    ("Zimag (ohm),Frequency (Hz),Zreal (ohm)", lambda f, z: (z.imag, f, z.real), ",", "."),
    ("freq;|Z|;Phase(Z)/deg", lambda f, z: (f, np.abs(z), np.angle(z, deg=True)), ";", "."),
    ("f,|Z|,-phase", lambda f, z: (f, np.abs(z), -np.angle(z, deg=True)), ",", "."),
])
def test_eis_csv_reads_any_layout(tmp_path, header, columns, sep, decimal):
    rows = np.column_stack(columns(FREQUENCY, Z))
    text = "\n".join(sep.join(f"{v:.10g}".replace(".", decimal) for v in row) for row in rows)
    path = tmp_path / "spectrum.csv"
    path.write_text(header + "\n" + text + "\n", encoding="utf-8")
    record = labkit.read(path)
    assert record.meta.file_format == "eis-csv"
    frequency, z = record.impedance(0)
    np.testing.assert_allclose(frequency, FREQUENCY, rtol=1e-9)
    np.testing.assert_allclose(z, Z, rtol=1e-8)
    assert (z.imag < 0).all()


def test_eis_csv_headerless_and_two_sweeps(tmp_path):
    rows = np.column_stack((FREQUENCY, Z.real, Z.imag))
    text = "\n".join(",".join(f"{v:.12g}" for v in row) for row in np.vstack((rows, rows)))
    path = tmp_path / "two.csv"
    path.write_text(text + "\n")
    record = labkit.read(path)
    assert record.n_spectra == 2
    np.testing.assert_allclose(record.impedance(1)[1], Z, rtol=1e-10)


def test_eis_csv_ambiguous_and_bad_cells(tmp_path):
    ambiguous = tmp_path / "ambiguous.csv"
    ambiguous.write_text("f,Z',Zimag,Z''\n1,2,3,4\n2,3,4,5\n3,4,5,6\n")
    with pytest.raises(FormatError, match="ambiguous columns") as info:
        labkit.read(ambiguous, format="eis-csv")
    assert "Zimag" in info.value.message and info.value.position == "line 1"
    unnamed = tmp_path / "unnamed.csv"
    unnamed.write_text("a,b,c\n1,2,3\n2,3,4\n")
    with pytest.raises(FormatError, match=r"ambiguous columns \['a', 'b', 'c'\]"):
        labkit.read(unnamed, format="eis-csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("f,Z',Z''\n100,1,-1\n10,2,-2\n1,oops,-3\n")
    with pytest.raises(FormatError, match="oops") as info:
        labkit.read(bad)
    assert info.value.position == "line 4"


def test_gamry_several_zcurves_are_several_spectra(tmp_path):
    source = _eis("gamry_dta", "gamryparser_eispot_data.dta").read_text(encoding="utf-8")
    table = "ZCURVE" + source.split("ZCURVE", 1)[1]
    doubled = tmp_path / "two_spectra.dta"
    doubled.write_text(source + table.replace("224.6075", "324.6075"), encoding="utf-8")
    record = labkit.read(doubled)
    assert record.n_spectra == 2
    assert record.spectrum(0).z_real_ohm.iloc[0] == 224.6075
    assert record.spectrum(1).z_real_ohm.iloc[0] == 324.6075
    assert len(record.spectrum(1)) == 10


def test_gamry_chronopotentiometry(tmp_path):
    rows = "\n".join(f"\t{i}\t{i * 0.5}\t{3.0 + 0.01 * i}\t1.00000E-003\t0\t0\t0\t9\t..........."
                     for i in range(5))
    path = tmp_path / "chronop.dta"
    path.write_text("EXPLAIN\nTAG\tCHRONOP\nTITLE\tLABEL\tChronopotentiometry\tTest &Identifier\n"
                    "DATE\tLABEL\t3/10/2019\tDate\nTIME\tLABEL\t12:00:00\tTime\n"
                    "CONVENTION\tIQUANT\t1\tCurrent Convention\nCURVE\tTABLE\t5\n"
                    "\tPt\tT\tVf\tIm\tVu\tSig\tAch\tIERange\tOver\n"
                    "\t#\ts\tV vs. Ref.\tA\tV\tV\tV\t#\tbits\n" + rows + "\n", encoding="utf-8")
    record = labkit.read(path)
    assert record.meta.technique == ("CHRONOP",)
    np.testing.assert_array_equal(record.data.test_time_second, [0, 0.5, 1.0, 1.5, 2.0])
    np.testing.assert_allclose(record.data.voltage_volt, [3.0, 3.01, 3.02, 3.03, 3.04])
    assert set(record.data.current_ampere) == {1e-3}
    assert record.meta.start_time == "2019-03-10T12:00:00"


def test_zahner_diode_low_frequency_resistance_matches_fit():
    frequency, z = labkit.read(_eis("zahner_ism", "zahner_diode_150_mvdc.ism")).impedance(0)
    # _reference/zahner_diode_150_mvdc_fit_result.json: R0 = 51.559 ohm (error 3.7 %)
    assert abs(z[np.argmin(frequency)]) == pytest.approx(51.559, rel=0.01)


def test_zplot_conditions_and_start_time():
    record = labkit.read(_eis("zplot_z", "impedancepy_exampleDataZPlot_noComments.z"))
    assert record.meta.start_time == "2019-12-17T16:24:35"  # "Date: 12-17-2019" is MM-DD-YYYY
    assert set(record.data.ac_amplitude_volt) == {0.01}
    assert record.data.test_time_second.iloc[0] == 2.58


@pytest.mark.parametrize("parts", [
    ("cycler", "gamry", "gamryparser_cv_data.dta"),
    ("eis", "gamry_dta", "pyimpspec_drift-corrected-data.dta"),
    ("eis", "novocontrol_txt", "eisfitpython_s04147-140deg.txt"),
    ("eis", "zahner_ism", "zahner_li-ion-battery.ism"),
])
def test_records_round_trip_through_parquet(tmp_path, parts):
    from labkit.parquet import read_parquet

    record = labkit.read(corpus_path(*parts))
    record.to_parquet(tmp_path / "record.parquet")
    back = read_parquet(tmp_path / "record.parquet")
    assert back.data.equals(record.data) and back.meta == record.meta


def test_eis_csv_nova_style_export(tmp_path):
    """Autolab NOVA's ASCII export: Z' and -Z'' plus |Z| and -Phase, semicolons."""
    rows = np.column_stack((FREQUENCY, Z.real, -Z.imag, np.abs(Z), -np.angle(Z, deg=True),
                            np.arange(len(Z)) * 2.0))
    text = "\n".join(";".join(f"{v:.10g}" for v in row) for row in rows)
    path = tmp_path / "nova.txt"
    path.write_text("Frequency (Hz);Z' (Ω);-Z'' (Ω);Z (Ω);-Phase (°);Time (s)\n" + text + "\n",
                    encoding="utf-8")
    data = labkit.read(path).data
    np.testing.assert_allclose(data.z_imag_ohm, Z.imag, rtol=1e-8)
    np.testing.assert_allclose(data.z_phase_degree, np.angle(Z, deg=True), rtol=1e-8)
    np.testing.assert_allclose(data.z_modulus_ohm, np.abs(Z), rtol=1e-8)
    np.testing.assert_array_equal(data.test_time_second, np.arange(len(Z)) * 2.0)


def test_autolab_nova_export(tmp_path):
    rows = np.column_stack((np.arange(1, len(Z) + 1), FREQUENCY, Z.real, -Z.imag, np.abs(Z),
                            -np.angle(Z, deg=True), np.arange(len(Z)) * 1.5))
    text = "\n".join(";".join(f"{v:.10g}".replace(".", ",") for v in row) for row in rows)
    path = tmp_path / "nova.txt"
    path.write_text("Index;Frequency (Hz);Z' (Ω);-Z'' (Ω);Z (Ω);-Phase (°);Time (s)\n" + text,
                    encoding="utf-8")
    record = labkit.read(path)
    assert record.meta.file_format == "autolab-nova-txt" and record.meta.vendor == "Metrohm Autolab"
    np.testing.assert_allclose(record.data.z_imag_ohm, Z.imag, rtol=1e-8)
    np.testing.assert_array_equal(record.data.autolab_index, np.arange(1, len(Z) + 1))


@pytest.mark.parametrize(("folder", "name", "line"), [
    ("gamry_dta", "impedancepy_exampleDataGamry.DTA", 460),
    ("zplot_z", "impedancepy_Circuit1_EIS_1.z", 130),
    ("autolab_txt", "impedancepy_exampleDataAutolab.txt", 20),
    ("chinstruments_txt", "impedancepy_exampleDataCHInstruments.txt", 25),
    ("parstat_txt", "impedancepy_exampleDataParstat.txt", 800),
    ("versastudio_par", "impedancepy_exampleDataVersaStudio.par", 130),
    ("relaxis_txt", "hybriddrt_PEIS_LPSCl_IonBlocking_-25C_RelaxIS.txt", 20),
    ("elchemea_i2b", "pyimpspec_data.i2b", 15),
    ("p00_txt", "pyimpspec_data.P00", 12),
    ("novocontrol_txt", "eisfitpython_s04147-140deg.txt", 10),
    ("ivium_idf", "pyimpspec_data.idf", 175),
    ("csv", "pyimpspec_data-semicolon.csv", 10),
    ("drt_txt", "pydrttools_LIB_data.txt", 10),
])
def test_a_damaged_number_is_reported_with_its_line(tmp_path, folder, name, line):
    import re

    source = _eis(folder, name)
    target = source.read_bytes().split(b"\n")[line - 1]
    number = re.search(rb"-?\d+[.,]?\d*(?:[eE][+-]?\d+)?", target)
    damaged = copy_with_line(source, tmp_path, line,
                             target[:number.start()] + b"1.2.3x" + target[number.end():])
    with pytest.raises(FormatError) as info:
        labkit.read(damaged)
    assert info.value.position == f"line {line}", info.value
    assert "1.2.3x" in info.value.message


def test_zahner_li_ion_inductive_tail_matches_fitted_inductance():
    frequency, z = labkit.read(_eis("zahner_ism", "zahner_li-ion-battery.ism")).impedance(0)
    inductance = 7.9e-7  # L0 of _reference/zahner_li-ion-battery_fit_result.json (henry)
    top = np.argmax(frequency)
    # at 5 kHz the series inductance dominates Z'': positive (inductive), about omega * L0
    assert z[top].imag == pytest.approx(2 * np.pi * frequency[top] * inductance, rel=0.1)


def test_eis_csv_with_a_units_row(tmp_path):
    rows = np.column_stack((FREQUENCY / 1e3, Z.real / 1e3, Z.imag / 1e3))
    text = "\n".join(",".join(f"{v:.12g}" for v in row) for row in rows)
    path = tmp_path / "units.csv"
    path.write_text("Frequency,Z',Z''\nkHz,kOhm,kOhm\n" + text + "\n", encoding="utf-8")
    frequency, z = labkit.read(path).impedance(0)
    np.testing.assert_allclose(frequency, FREQUENCY, rtol=1e-10)
    np.testing.assert_allclose(z, Z, rtol=1e-10)
