"""BioLogic .mpr / .mpt readers: vendor twins, golden outputs, synthetic and damaged files.

Tolerances of the .mpr vs .mpt comparison: the .mpr stores float32 or float64; the
.mpt prints float32 values with 8 significant digits (rounding <= 5e-8 relative) and
float64 values with 16 (<= 5e-16). A column that is float32 in the .mpr is compared at
rtol 1e-6, a float64 one at rtol 1e-12 (margin for the unit conversion to SI), integer
columns exactly.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labkit.data import CyclingRecord, ImpedanceRecord, Metadata
from labkit.errors import FormatError
from labkit.parsers import _biologic_columns as biologic_columns
from labkit.parsers._biologic_columns import build_record, column_targets
from labkit.parsers.biologic_mpr import read_modules, read_mpr, read_records
from labkit.parsers.biologic_mpt import read_mpt
from labkit.registry import read
from tests.conftest import corpus_path

TWINS = [  # (folder, stem): the .mpr and the .mpt export of the same run
    *[("cycler/biologic", f"yadg_{stem}") for stem in (
        "bcd.issue_241", "ca.issue_149", "ca", "coc.issue_185", "cov.issue_185",
        "cp.issue_149", "cp", "cv.issue_149", "cv.issue_217", "cv", "cva.issue_202",
        "gcpl.issue_149", "gcpl.issue_226.CxN", "gcpl.issue_226.I", "gcpl.pr_182.1",
        "lsv.issue_195", "lsv", "mb.issue_149", "mb.issue_218", "mb.issue_223",
        "mb.issue_95", "mb", "ocv.issue_149", "ocv", "vsp_ocv_with", "vsp_ocv_wo", "wait",
        "zir")],
    *[("eis", f"yadg_{stem}") for stem in (
        "geis.issue_149", "geis", "peis.issue_149", "peis.issue_225.ewe_ece",
        "peis.issue_225.no_ece", "peis.issue_225.with_ece", "peis", "vsp_peis_with")],
    ("eis", "hybriddrt_PEIS_LPSCl_IonBlocking_-25C"),  # its export is named .mpt.txt
]

# (stem, column): rtol where EC-Lab's exporter recomputed a float64 column from float32
# inputs instead of printing the stored value (the .mpr agrees with the later export2).
_RECOMPUTED = {("yadg_cp", "biologic_q_charge_discharge_ampere_hour"): 1e-6}

# EC-Lab's export writes -1 (THD/NSD/NSR) and 0 (harmonics) for the EIS quality
# indicators of points where the .mpr holds values; compared only where the .mpt has them.
_QUALITY_PREFIXES = ("biologic_thd_", "biologic_nsd_", "biologic_nsr_", "biologic_abs_ewe_h",
                     "biologic_abs_i_h")


def _twin_paths(folder: str, stem: str) -> tuple[Path, Path]:
    if folder == "eis":
        suffix = ".mpt.txt" if stem.startswith("hybriddrt") else ".mpt"
        return (corpus_path("eis", "biologic_mpr", f"{stem}.mpr"),
                corpus_path("eis", "biologic_mpt", f"{stem}{suffix}"))
    return corpus_path(folder, f"{stem}.mpr"), corpus_path(folder, f"{stem}.mpt")


def _mpr_precision(path: Path, impedance: bool) -> dict[str, np.dtype]:
    """labkit column -> numpy dtype it has in the .mpr records."""
    modules = {m.name: m for m in read_modules(path.read_bytes(), path)}
    raw = read_records(modules["VMP data"], path)
    targets, _ = column_targets(list(raw), impedance)
    return {targets[label].name: values.dtype for label, values in raw.items()}


def _compare(name: str, ours: np.ndarray, theirs: np.ndarray, dtype: np.dtype | None,
             rtol: float | None = None) -> None:
    if dtype is not None and dtype.kind in "iub":
        np.testing.assert_array_equal(ours, theirs, err_msg=name)
        return
    if rtol is None:
        rtol = 1e-6 if dtype is None or dtype == np.float32 else 1e-12
    np.testing.assert_allclose(ours.astype(float), theirs.astype(float), rtol=rtol, atol=0,
                               err_msg=name)


@pytest.mark.corpus
@pytest.mark.parametrize(("folder", "stem"), TWINS, ids=[s for _, s in TWINS])
def test_mpr_agrees_with_its_mpt_export(folder: str, stem: str) -> None:
    mpr_path, mpt_path = _twin_paths(folder, stem)
    mpr, mpt = read(mpr_path), read(mpt_path)
    assert mpr.kind == mpt.kind
    assert len(mpr.data) == len(mpt.data)
    precision = _mpr_precision(mpr_path, isinstance(mpr, ImpedanceRecord))
    shared = [c for c in mpr.data.columns if c in mpt.data.columns]
    # the columns every twin must share: time, and voltage/current or impedance
    expected = {"test_time_second"} | ({"frequency_hertz", "z_real_ohm", "z_imag_ohm", "spectrum"}
                                       if mpr.kind == "impedance" else set())
    assert expected <= set(shared)
    keep = np.ones(len(mpt.data), dtype=bool)
    if "biologic_thd_ewe_percent" in mpt.data:
        keep = mpt.data["biologic_thd_ewe_percent"].to_numpy() != -1
    for column in shared:
        rows = keep if column.startswith(_QUALITY_PREFIXES) else slice(None)
        _compare(column, mpr.data[column].to_numpy()[rows], mpt.data[column].to_numpy()[rows],
                 precision.get(column), _RECOMPUTED.get((stem, column)))
    if mpt.meta.start_time and mpr.meta.start_time:
        assert mpr.meta.start_time == mpt.meta.start_time
    if mpt.meta.technique and mpr.meta.technique:
        assert mpr.meta.technique == mpt.meta.technique


@pytest.mark.corpus
@pytest.mark.parametrize(("parts", "column_id", "column", "rows"), [
    # galvani 0.4 reports these ids by their low byte only (112, 115, 182, 185, 215)
    (("cycler", "biologic", "yadg_mb.issue_223.mpr"), 880, "biologic_energy_we_watt_hour", 108),
    (("cycler", "biologic", "yadg_gcpl.issue_230.mpr"), 883,
     "biologic_energy_ce_charge_watt_hour", 19025),
    (("cycler", "biologic", "yadg_cv.issue_149.mpr"), 438, "step_time_second", 5930),
    (("cycler", "biologic", "yadg_lsv.issue_195.mpr"), 441, "biologic_mean_ece_volt", 999),
    (("eis", "biologic_mpr", "yadg_peis.issue_225.with_ece.mpr"), 471,
     "biologic_mean_ece_volt", 32),
    (("cycler", "biologic", "galvani_col_27_issue_74.mpr"), 27, "biologic_ewe_ece_volt", 20),
])
def test_two_byte_column_ids(parts: tuple[str, ...], column_id: int, column: str,
                             rows: int) -> None:
    path = corpus_path(*parts)
    modules = {m.name: m for m in read_modules(path.read_bytes(), path)}
    payload = modules["VMP data"].payload
    assert column_id.to_bytes(2, "little") in bytes(payload[5:1007])
    record = read(path)
    assert len(record.data) == rows
    assert column in record.data and np.isfinite(record.data[column]).all()


@pytest.mark.corpus
def test_column_27_is_ewe_minus_ece() -> None:
    data = read(corpus_path("cycler", "biologic", "galvani_col_27_issue_74.mpr")).data
    difference = data["voltage_volt"] - data["counter_electrode_voltage_volt"]
    np.testing.assert_allclose(data["biologic_ewe_ece_volt"], difference, rtol=1e-6, atol=0)


@pytest.mark.corpus
@pytest.mark.parametrize(("first", "second", "differs"), [
    ("yadg_mb.mpt", "yadg_mb.old.mpt", {"biologic_efficiency_percent"}),
    ("yadg_ocv.mpt", "yadg_ocv.old.mpt", set()),
    ("yadg_wait.mpt", "yadg_wait.old.mpt", set()),
    ("yadg_mb.issue_95.mpt", "yadg_mb.issue_95.de.mpt", set()),
    # export2 writes <Ewe>/V as 0 and recomputes Q charge/discharge (1e-8 relative)
    ("yadg_cp.mpt", "yadg_cp.export2.mpt",
     {"voltage_volt", "biologic_q_charge_discharge_ampere_hour",
      "discharging_capacity_ampere_hour", "charging_capacity_ampere_hour",
      "biologic_capacity_ampere_hour"}),
])
def test_exports_of_one_run_agree(first: str, second: str, differs: set[str]) -> None:
    a = read(corpus_path("cycler", "biologic", first))
    b = read(corpus_path("cycler", "biologic", second))
    assert len(a.data) == len(b.data)
    assert a.meta.start_time == b.meta.start_time
    assert a.meta.sample == b.meta.sample
    shared = [c for c in a.data.columns if c in b.data.columns and c not in differs]
    assert "test_time_second" in shared
    for column in shared:
        np.testing.assert_allclose(a.data[column].to_numpy(float), b.data[column].to_numpy(float),
                                   rtol=1e-12, atol=0, err_msg=column)


@pytest.mark.corpus
def test_cellpy_golden_output_of_biol_mpr() -> None:
    golden = pd.read_parquet(corpus_path("cycler", "_reference", "cellpy_loader_biologics_mpr",
                                         "raw.parquet"))
    ours = read(corpus_path("cycler", "biologic", "cellpy_biol.mpr")).data
    assert len(ours) == len(golden) == 23561
    pairs = {  # cellpy column (cellpy units) -> (labkit column, factor to cellpy units)
        "test_time": ("test_time_second", 1.0), "voltage": ("voltage_volt", 1.0),
        "current": ("current_ampere", 1e3), "control": ("biologic_control_ampere", 1e3),
        "dQ": ("biologic_dq_ampere_hour", 1e3), "QminusQnull": ("net_capacity_ampere_hour", 1e3),
        "QChargeDischarge": ("biologic_q_charge_discharge_ampere_hour", 1e3),
        "charge_energy": ("charging_energy_watt_hour", 1.0),
        "discharge_energy": ("discharging_energy_watt_hour", 1.0),
        "frequency": ("frequency_hertz", 1.0), "amplitude": ("z_modulus_ohm", 1.0),
        "aci_phase_angle": ("z_phase_degree", 1.0),
        "reference_voltage": ("counter_electrode_voltage_volt", 1.0),
        "avEce": ("biologic_mean_ece_volt", 1.0), "absEce": ("biologic_abs_ece_volt", 1.0),
        "ReZce": ("biologic_re_zce_ohm", 1.0), "neg_ImZce": ("biologic_minus_im_zce_ohm", 1.0),
        "Ns": ("step_index", 1.0), "Irange": ("biologic_i_range", 1.0),
        "half_cycle": ("biologic_half_cycle", 1.0), "z_cycle": ("biologic_z_cycle", 1.0),
        "mode": ("biologic_mode", 1.0), "ox_red": ("biologic_ox_red", 1.0),
        "error": ("biologic_error", 1.0), "control_changes": ("biologic_control_changes", 1.0),
        "Ns_changes": ("biologic_ns_changes", 1.0), "counter_inc": ("biologic_counter_inc", 1.0),
        "cycle_index": ("cycle_count", 1.0),
    }
    for theirs, (mine, factor) in pairs.items():
        np.testing.assert_allclose(ours[mine].to_numpy(float) * factor,
                                   golden[theirs].to_numpy(float), rtol=1e-6, atol=0,
                                   err_msg=f"{theirs} vs {mine}")


@pytest.mark.corpus
def test_header_metadata_from_mpr_and_mpt_agree() -> None:
    mpr = read(corpus_path("cycler", "biologic", "yadg_gcpl.issue_226.I.mpr"))
    mpt = read(corpus_path("cycler", "biologic", "yadg_gcpl.issue_226.I.mpt"))
    for record in (mpr, mpt):
        assert record.meta.technique == ("GCPL",)
        assert record.meta.start_time == "2025-08-04T09:35:26.748"
        assert record.meta.channel == "2"
        assert record.meta.instrument == "EC-Lab 11.61"
        # header: 113.100 mm², 1.390 mg, 120.000 µA.h
        assert record.meta.sample.area_square_centimeter == pytest.approx(1.131, rel=1e-6)
        assert record.meta.sample.active_mass_gram == pytest.approx(1.39e-3, rel=1e-6)
        assert record.meta.sample.nominal_capacity_ampere_hour == pytest.approx(1.2e-4, rel=1e-6)
    bt_lab = read(corpus_path("cycler", "biologic", "yadg_bcd.issue_241.mpt"))
    assert bt_lab.meta.instrument == "BT-Lab 1.79"
    assert bt_lab.meta.channel == "B1"
    assert any("Ecell/V" in note for note in bt_lab.meta.notes)


@pytest.mark.corpus
@pytest.mark.parametrize(("parts", "spectra", "points"), [
    (("eis", "biologic_mpr", "yadg_geis.mpr"), 61, 2499),
    (("eis", "biologic_mpt", "yadg_geis.mpt"), 61, 2499),
    (("eis", "biologic_mpr", "yadg_peis.issue_149.mpr"), 4, 84),
    (("eis", "biologic_mpr", "yadg_vsp_peis_with.mpr"), 32, 2240),
    (("eis", "biologic_mpt", "yadg_vsp_peis_with.mpt"), 32, 2240),
    (("eis", "biologic_mpt", "pyimpspec_case-multiple-spectra.mpt"), 3, 87),
    (("eis", "biologic_mpt", "pyeis_ex1.mpt"), 2, 118),
    (("eis", "biologic_mpr", "hybriddrt_PEIS_LPSCl_IonBlocking_-25C.mpr"), 1, 79),
    (("eis", "biologic_mpt", "hybriddrt_PEIS_LPSCl_IonBlocking_-25C.mpt.txt"), 1, 79),
    (("cycler", "biologic", "yadg_zir.mpr"), 1, 1),
])
def test_impedance_spectra_are_split(parts: tuple[str, ...], spectra: int, points: int) -> None:
    record = read(corpus_path(*parts))
    assert isinstance(record, ImpedanceRecord)
    assert record.n_spectra == spectra
    assert len(record.data) == points
    assert "dc_voltage_volt" in record.data or "dc_current_ampere" in record.data


@pytest.mark.corpus
def test_impedance_sign_and_units_against_the_text() -> None:
    path = corpus_path("eis", "biologic_mpt", "impedancepy_exampleDataBioLogic.mpt")
    text = pd.read_csv(path, sep="\t", skiprows=60, encoding="latin-1")
    record = read(path)
    np.testing.assert_array_equal(record.data["z_imag_ohm"], -text["-Im(Z)/Ohm"])
    np.testing.assert_array_equal(record.data["frequency_hertz"], text["freq/Hz"])
    np.testing.assert_allclose(record.data["dc_current_ampere"], text["<I>/mA"] * 1e-3, rtol=1e-15)
    assert (record.data["z_imag_ohm"] < 0).mean() > 0.5  # capacitive spectrum


@pytest.mark.corpus
def test_mpt_variants_read() -> None:
    headerless = read(corpus_path("cycler", "biologic", "pyprobe_Sample_data_biologic_no_header.mpt"))
    assert isinstance(headerless, CyclingRecord) and len(headerless.data) == 13
    assert {"voltage_volt", "current_ampere", "cycle_count"} <= set(headerless.data.columns)
    csv = read(corpus_path("cycler", "biologic", "beep_test_loopsnewoutput_MB_CE1_short10k.csv"))
    assert isinstance(csv, CyclingRecord) and len(csv.data) == 9999
    assert csv.meta.start_time == "2021-05-05T15:36:22.757"
    assert csv.data["test_time_second"].iloc[1] == pytest.approx(22.756, abs=1e-9)
    stamped = read(corpus_path("cycler", "biologic", "pyprobe_Sample_data_biologic_timestamped.txt"))
    assert stamped.data["test_time_second"].iloc[0] == 0
    assert np.all(np.diff(stamped.data["test_time_second"]) > 0)
    bt_utf8 = read(corpus_path("cycler", "biologic", "pyprobe_Sample_data_biologic_01_MB_CA1.txt"))
    assert "temperature_celsius" in bt_utf8.data
    wait = read(corpus_path("cycler", "biologic", "yadg_wait.mpr"))
    assert len(wait.data) == 0 and "voltage_volt" in wait.data


@pytest.mark.corpus
def test_impedance_file_without_frequency_is_refused() -> None:
    path = corpus_path("eis", "biologic_mpt", "impedancepy_exampleDataBioLogic_MissingFreq.mpt")
    with pytest.raises(FormatError, match="freq/Hz") as info:
        read(path)
    assert info.value.position == "line 61"


# -- synthetic files: run without the corpus ------------------------------------------


def _module(name: str, payload: bytes, version: int = 0) -> bytes:
    short = name.encode().ljust(10)
    long = name.encode().ljust(25)
    return b"MODULE" + short + long + struct.pack("<II", len(payload), version) + b"01/01/25" \
        + payload


def _synthetic_mpr(ids: list[int], records: bytes, n_points: int, version: int = 3) -> bytes:
    header = b"BIO-LOGIC MODULAR FILE\x1a".ljust(48, b" ") + b"\x00" * 4
    payload = struct.pack("<IB", n_points, len(ids)) + struct.pack(f"<{len(ids)}H", *ids)
    payload = payload.ljust(406 if version == 3 else 405, b"\x00") + records
    settings = bytes([0x04]) + b"\x00" * 0x300  # GCPL
    return header + _module("VMP Set", settings) + _module("VMP data", payload, version)


def _gcpl_records() -> tuple[list[int], bytes, int]:
    ids = [1, 2, 21, 131, 4, 6, 8, 13, 468]
    dtype = np.dtype([("flags", "u1"), ("Ns", "<u2"), ("t", "<f8"), ("Ewe", "<f4"),
                      ("I", "<f4"), ("Q", "<f8"), ("half", "<u4")])
    rows = np.zeros(3, dtype)
    rows["flags"] = [0b0000_0001, 0b0001_0101, 0b0000_0110]  # mode 1, ox/red, control changes
    rows["Ns"] = [0, 1, 1]
    rows["t"] = [0.0, 1.5, 3.0]
    rows["Ewe"] = [3.5, 3.6, 3.7]
    rows["I"] = [0.0, 2.0, -2.0]
    rows["Q"] = [0.0, 1e-3, 2e-3]
    rows["half"] = [0, 1, 2]
    return ids, rows.tobytes(), len(rows)


def test_synthetic_mpr_reads_back(tmp_path: Path) -> None:
    ids, records, n = _gcpl_records()
    path = tmp_path / "synthetic.mpr"
    path.write_bytes(_synthetic_mpr(ids, records, n))
    record = read_mpr(path)
    data = record.data
    assert record.meta.technique == ("GCPL",)
    np.testing.assert_array_equal(data["biologic_mode"], [1, 1, 2])
    np.testing.assert_array_equal(data["biologic_ox_red"], [0, 1, 1])
    np.testing.assert_array_equal(data["biologic_control_changes"], [0, 1, 0])
    np.testing.assert_array_equal(data["step_index"], [0, 1, 1])
    np.testing.assert_array_equal(data["test_time_second"], [0.0, 1.5, 3.0])
    np.testing.assert_allclose(data["voltage_volt"], [3.5, 3.6, 3.7], rtol=1e-7)
    np.testing.assert_allclose(data["current_ampere"], [0.0, 2e-3, -2e-3], rtol=1e-7)
    np.testing.assert_allclose(data["net_capacity_ampere_hour"], [0.0, 1e-6, 2e-6], rtol=1e-15)
    np.testing.assert_array_equal(data["cycle_count"], [1, 1, 2])


@pytest.mark.parametrize(("layout", "version", "id_width"),
                         [(1, 0, 1), (2, 0, 2), (1, 2, 2), (1, 3, 2), (2, 3, 2)])
def test_every_module_and_data_layout(tmp_path: Path, layout: int, version: int,
                                      id_width: int) -> None:
    ids = [1, 3, 4, 6, 8]  # mode+error flags, time, Ewe, I: all < 256
    dtype = np.dtype([("flags", "u1"), ("t", "<f8"), ("Ewe", "<f4"), ("I", "<f4")])
    rows = np.array([(0b1001, 0.25, 1.5, -0.5), (0b0010, 0.5, 1.25, 0.75)], dtype)
    if id_width == 1:
        head = struct.pack("<IB", len(rows), len(ids)) + bytes(ids)
        records_at = 100
    elif version == 0:
        head = struct.pack("<IBB", len(rows), len(ids), 0) + struct.pack(f"<{len(ids)}H", *ids)
        records_at = 1007
    else:
        head = struct.pack("<IB", len(rows), len(ids)) + struct.pack(f"<{len(ids)}H", *ids)
        records_at = 405 if version == 2 else 406
    payload = head.ljust(records_at, b"\x00") + rows.tobytes()

    def module(name: str, body: bytes, module_version: int) -> bytes:
        names = name.encode().ljust(10) + name.encode().ljust(25)
        if layout == 1:
            sizes = struct.pack("<II", len(body), module_version)
        else:
            sizes = b"\xff" * 4 + struct.pack("<III", len(body), module_version, 0)
        return b"MODULE" + names + sizes + b"01/01/25" + body

    path = tmp_path / "layout.mpr"
    path.write_bytes(b"BIO-LOGIC MODULAR FILE\x1a".ljust(48, b" ") + b"\x00" * 4
                     + module("VMP Set", bytes([0x0B]) + bytes(0x300), 0)
                     + module("VMP data", payload, version))
    record = read_mpr(path)
    assert record.meta.technique == ("OCV",)
    np.testing.assert_array_equal(record.data["biologic_mode"], [1, 2])
    np.testing.assert_array_equal(record.data["biologic_error"], [1, 0])
    np.testing.assert_array_equal(record.data["test_time_second"], [0.25, 0.5])
    np.testing.assert_array_equal(record.data["voltage_volt"], [1.5, 1.25])
    np.testing.assert_array_equal(record.data["current_ampere"], [-0.5e-3, 0.75e-3])


def test_truncated_mpr_names_file_and_byte(tmp_path: Path) -> None:
    ids, records, n = _gcpl_records()
    whole = _synthetic_mpr(ids, records, n)
    path = tmp_path / "truncated.mpr"
    path.write_bytes(whole[:-10])
    with pytest.raises(FormatError) as info:
        read_mpr(path)
    assert info.value.file == str(path)
    data_at = whole.index(b"MODULEVMP data") + 6 + 35 + 16
    assert info.value.position == f"byte {data_at}"
    assert "truncated" in info.value.message


def test_unknown_column_id_names_id_and_byte(tmp_path: Path) -> None:
    ids, records, n = _gcpl_records()
    whole = bytearray(_synthetic_mpr(ids, records, n))
    data_at = whole.index(b"MODULEVMP data") + 6 + 35 + 16
    id_at = data_at + 5 + 2 * 5  # the sixth column id (Ewe/V)
    whole[id_at:id_at + 2] = struct.pack("<H", 999)
    path = tmp_path / "unknown.mpr"
    path.write_bytes(bytes(whole))
    with pytest.raises(FormatError, match="unknown column id 999") as info:
        read_mpr(path)
    assert info.value.position == f"byte {id_at}"


@pytest.mark.corpus
def test_damaged_copies_of_a_real_mpr(tmp_path: Path) -> None:
    original = corpus_path("cycler", "biologic", "yadg_gcpl.issue_149.mpr").read_bytes()
    cut = tmp_path / "cut.mpr"
    cut.write_bytes(original[: len(original) // 2])
    with pytest.raises(FormatError, match="truncated") as info:
        read(cut)
    assert info.value.file == str(cut) and info.value.position.startswith("byte ")
    patched = bytearray(original)
    data_at = original.index(b"MODULEVMP data") + 6 + 35 + 4 + 12 + 8  # v2 module header
    id_at = data_at + 6 + 2 * 7  # eighth column id: time/s
    assert struct.unpack_from("<H", patched, id_at)[0] == 4
    patched[id_at:id_at + 2] = struct.pack("<H", 4321)
    bad = tmp_path / "patched.mpr"
    bad.write_bytes(bytes(patched))
    with pytest.raises(FormatError, match="unknown column id 4321") as info:
        read(bad)
    assert info.value.position == f"byte {id_at}"


def test_mpt_with_a_non_number_names_the_line(tmp_path: Path) -> None:
    text = ("EC-Lab ASCII FILE\nNb header lines : 4\n\nmode\ttime/s\tEwe/V\tI/mA\t\n"
            "1\t0.0\t3.5\t1.0\t\n1\t1.0\tbad\t1.0\t\n")
    path = tmp_path / "bad.mpt"
    path.write_text(text, encoding="latin-1")
    with pytest.raises(FormatError, match="Ewe/V") as info:
        read_mpt(path)
    assert info.value.position == "line 6"


def test_mpt_header_count_beyond_the_file(tmp_path: Path) -> None:
    path = tmp_path / "short.mpt"
    path.write_text("EC-Lab ASCII FILE\nNb header lines : 40\n\nmode\ttime/s\n", encoding="latin-1")
    with pytest.raises(FormatError, match="line 40") as info:
        read_mpt(path)
    assert info.value.file == str(path) and info.value.position == "line 4"


@pytest.mark.corpus
def test_log_sidecar_is_refused_with_a_pointer() -> None:
    with pytest.raises(FormatError, match=r"\.mpr or \.mpt"):
        read(corpus_path("cycler", "biologic", "beep_test_loopsnewoutput_MB_CE1_short10k.mpl"))


def test_mpt_comma_decimals_and_crlf(tmp_path: Path) -> None:
    text = ("EC-Lab ASCII FILE\r\nNb header lines : 5\r\n\r\nCyclic Voltammetry\r\n"
            "mode\ttime/s\tEwe/V\t<I>/mA\tcycle number\t\r\n"
            "2\t0,5\t3,25\t-1,5E-001\t1,000000000000000E+000\t\r\n")
    path = tmp_path / "de.mpt"
    path.write_bytes(text.encode("latin-1"))
    record = read_mpt(path)
    assert record.meta.technique == ("CV",)
    assert record.data["test_time_second"].tolist() == [0.5]
    assert record.data["voltage_volt"].tolist() == [3.25]
    assert record.data["current_ampere"].tolist() == pytest.approx([-1.5e-4])
    assert record.data["cycle_count"].tolist() == [1]


def test_record_frame_is_the_same_without_the_pandas_block_api(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # pandas 2 (Python 3.10) has no pandas.api.internals: the frame then comes from a dict
    ids, records, n = _gcpl_records()
    path = tmp_path / "synthetic.mpr"
    path.write_bytes(_synthetic_mpr(ids, records, n))
    from_blocks = read_mpr(path)
    monkeypatch.setattr(biologic_columns, "create_dataframe_from_blocks", None)
    from_dict = read_mpr(path)
    pd.testing.assert_frame_equal(from_blocks.data, from_dict.data, check_exact=True)
    assert from_blocks.meta == from_dict.meta


def test_records_own_their_columns(tmp_path: Path) -> None:
    ids, records, n = _gcpl_records()
    path = tmp_path / "synthetic.mpr"
    path.write_bytes(_synthetic_mpr(ids, records, n))
    first, second = read_mpr(path), read_mpr(path)
    first.data.loc[0, "voltage_volt"] = -1.0
    first.data.columns.name = "changed"
    assert second.data["voltage_volt"].iloc[0] == pytest.approx(3.5)
    assert second.data.columns.name is None
    assert read_mpr(path).data["voltage_volt"].iloc[0] == pytest.approx(3.5)


@pytest.mark.parametrize(("cycle_number", "expected", "dtype"), [
    ([0.0, 0.0, 1.0], [1, 1, 2], np.int64),  # whole, counted from 0: + 1
    ([1.0, 2.0, 2.0], [1, 2, 2], np.int64),  # counted from 1: as written
    ([0.0, 1.0, np.nan], [1.0, 2.0, np.nan], np.float64),  # a gap keeps floats
    ([1.0, 1.5, 2.0], [1.0, 1.5, 2.0], np.float64),  # not counts: as written
    ([1.0, 2.0**53, 2.0], [1.0, 2.0**53, 2.0], np.float64),  # beyond exact integers
])
def test_cycle_number_becomes_integer_only_when_every_value_is_whole(
        cycle_number: list[float], expected: list[float], dtype: type) -> None:
    raw = {"time/s": np.array([0.0, 1.0, 2.0]), "Ewe/V": np.array([3.5, 3.6, 3.7], np.float32),
           "cycle number": np.array(cycle_number)}
    data = build_record(raw, Metadata(technique=("GCPL",))).data
    assert data["cycle_count"].dtype == dtype
    np.testing.assert_array_equal(data["cycle_count"], expected)


def test_spectrum_sweep_median_equals_numpys() -> None:
    from labkit.parsers._biologic_columns import _median

    rng = np.random.default_rng(18)
    for size in range(1, 61):
        values = rng.normal(size=size)
        assert _median(values) == np.median(values)
    assert np.isnan(_median(np.array([1.0, np.nan, 2.0])))
