"""Every analysis checks that its input is the test it analyses, and refuses any other.

The examples (tests with known answers) are accepted by their own analysis and refused,
with a message saying what was found, by the others; real corpus files are refused by
the analyses they do not suit (the Neware full cell given to ``ccd``, a cell held at
3.44 V given to ``transference``) and accepted by those they suit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import labkit
from labkit import examples
from labkit.analysis.ccd import critical_current_density
from labkit.analysis.cycling import summarize_cycles
from labkit.analysis.dqdv import DEFAULT_CYCLE_COUNT, differential_capacity
from labkit.analysis.fast_charge import fast_charge_metrics
from labkit.analysis.rate import rate_capability
from labkit.analysis.transference import transference_number
from labkit.data import CyclingRecord, Metadata
from labkit.errors import AnalysisError
from tests.conftest import corpus_path

ANALYSES = {
    "cycles": summarize_cycles,
    "dqdv": differential_capacity,
    "fast-charge": lambda record: fast_charge_metrics(record, nominal_capacity_ampere_hour=0.003),
    "rate": lambda record: rate_capability(record, nominal_capacity_ampere_hour=0.003),
    "ccd": lambda record: critical_current_density(record, area_square_centimeter=1.0),
    "transference": lambda record: transference_number(record, r0_ohm=500.0, rss_ohm=550.0,
                                                       rb_ohm=100.0),
}


@pytest.fixture(scope="module")
def example_records() -> dict[str, CyclingRecord]:
    return {"cycling": examples.cycling_cell(), "rate ladder": examples.rate_capability(),
            "ccd staircase": examples.ccd_staircase(),
            "bruce-vincent": examples.transference_experiment()[0]}


# (example, analysis) -> None when accepted, else words the refusal must contain
EXPECTED = {
    ("cycling", "cycles"): None, ("cycling", "dqdv"): None, ("cycling", "fast-charge"): None,
    ("cycling", "rate"): "found all 30 cycles with a constant-current discharge at 0.5C",
    ("cycling", "ccd"): "the voltage keeps its sign when the current reverses",
    ("cycling", "transference"): "the voltage is not held",
    ("rate ladder", "cycles"): None, ("rate ladder", "dqdv"): None,
    ("rate ladder", "fast-charge"): None, ("rate ladder", "rate"): None,
    ("rate ladder", "ccd"): "the voltage keeps its sign when the current reverses",
    ("rate ladder", "transference"): "the voltage is not held",
    ("ccd staircase", "cycles"): "this record is a symmetric-cell test",
    ("ccd staircase", "dqdv"): "this record is a symmetric-cell test",
    ("ccd staircase", "fast-charge"): "this record is a symmetric-cell test",
    ("ccd staircase", "rate"): "this record is a symmetric-cell test",
    ("ccd staircase", "ccd"): None,
    ("ccd staircase", "transference"): "the voltage is not held",
    ("bruce-vincent", "cycles"): "this record is one potentiostatic hold",
    ("bruce-vincent", "dqdv"): "this record is one potentiostatic hold",
    ("bruce-vincent", "fast-charge"): "this record is one potentiostatic hold",
    ("bruce-vincent", "rate"): "this record is one potentiostatic hold",
    ("bruce-vincent", "ccd"): "current in one direction only",
    ("bruce-vincent", "transference"): None,
}


@pytest.mark.parametrize(("example", "analysis"), sorted(EXPECTED))
def test_each_example_is_accepted_by_its_analysis_and_refused_by_the_others(
        example_records, example, analysis):
    record = example_records[example]
    refusal = EXPECTED[example, analysis]
    if refusal is None:
        assert ANALYSES[analysis](record) is not None
    else:
        with pytest.raises(AnalysisError, match=refusal):
            ANALYSES[analysis](record)


def test_accepted_examples_still_give_their_known_answers(example_records):
    ccd = critical_current_density(example_records["ccd staircase"])
    assert ccd.ccd_milliampere_per_square_centimeter == pytest.approx(0.5)
    assert ccd.failed_at_milliampere_per_square_centimeter == pytest.approx(0.6)
    t_plus = ANALYSES["transference"](example_records["bruce-vincent"])
    assert t_plus.t_plus_bruce_vincent.value == pytest.approx(0.4, abs=0.01)


def _symmetric(densities_ma: list[float], sign: float = 1.0, samples: int = 30) -> CyclingRecord:
    """± each density for one half cycle of ``samples`` 10 s samples; V = ±j·100 Ω cm² × sign."""
    current = np.repeat([d / 1000 * s for d in densities_ma for s in (1, -1)], samples)
    noise = np.random.default_rng(0).normal(0, 1e-4, current.size)
    frame = pd.DataFrame({"test_time_second": 10.0 * np.arange(1, current.size + 1),
                          "current_ampere": current, "voltage_volt": sign * 100 * current + noise})
    return CyclingRecord(frame, Metadata())


def test_ccd_accepts_a_staircase_wired_either_way():
    for sign in (1.0, -1.0):
        result = critical_current_density(_symmetric([0.1, 0.2, 0.4, 0.8], sign), 1.0)
        assert not result.failed
        assert result.ccd_milliampere_per_square_centimeter == pytest.approx(0.8)


def test_a_cell_charged_in_more_steps_than_it_is_discharged_is_no_symmetric_cell():
    """CC-CV charges are two steps each: 4 of these 5 half cycles have V and I of one sign,
    yet the voltage keeps its sign when the current reverses (corpus bdf_legacy is such)."""
    def phase(current, voltage):
        return pd.DataFrame({"current_ampere": current, "voltage_volt": voltage})

    ramp, decay = np.linspace(3.6, 4.2, 20), np.exp(-np.arange(20) / 5)
    parts = [phase(1.0, ramp), phase(decay, 4.2), phase(0.0, np.full(5, 4.1)),
             phase(1.0, ramp + 0.01), phase(decay, 4.2), phase(-1.0, np.linspace(4.1, 3.0, 20))]
    frame = pd.concat(parts, ignore_index=True)
    frame.insert(0, "test_time_second", 60.0 * np.arange(1, len(frame) + 1))
    record = CyclingRecord(frame, Metadata())
    with pytest.raises(AnalysisError, match="the voltage keeps its sign when the current "):
        critical_current_density(record, area_square_centimeter=1.0)
    assert summarize_cycles(record).table["discharge_capacity_ampere_hour"].iloc[-1] == \
        pytest.approx(20 * 60 / 3600)


def test_ccd_refuses_a_symmetric_cell_whose_current_never_steps_up():
    with pytest.raises(AnalysisError, match="8 half cycles all at 0.2 mA/cm²"):
        critical_current_density(_symmetric([0.2] * 4), 1.0)


def test_ccd_refuses_densities_that_go_up_and_down():
    # after the first step to 1 mA/cm², 3 returns to 0.1 of 2 half cycles each: 6 of 16
    with pytest.raises(AnalysisError, match="38% of the half cycles below 50%"):
        critical_current_density(_symmetric([0.1, 1.0, 0.1, 1.0, 0.1, 1.0, 0.1, 1.0]), 1.0)


def test_transference_refuses_a_hold_far_from_a_small_step():
    t = np.arange(200.0)
    frame = pd.DataFrame({"test_time_second": t, "voltage_volt": 4.2,
                          "current_ampere": 0.1 * np.exp(-t / 50) + 0.001})
    with pytest.raises(AnalysisError, match="found the voltage held at 4.2 V"):
        ANALYSES["transference"](CyclingRecord(frame, Metadata()))
    # the same hold with ΔV given: the user states the step, the hold itself is checked
    result = transference_number(CyclingRecord(frame, Metadata()), r0_ohm=500.0, rss_ohm=550.0,
                                 delta_v_volt=0.01)
    assert result.delta_v_volt.value == 0.01


def test_transference_refuses_a_constant_current_step_whose_voltage_is_nearly_flat():
    """3.7 mV ± 0.2 mV at exactly 2.8 µA: within the hold tolerance, but the instrument
    held the current (it varies less than the voltage): a galvanostatic step."""
    t = np.arange(0.0, 3600.0, 30.0)
    frame = pd.DataFrame({"test_time_second": t, "current_ampere": 2.8e-6,
                          "voltage_volt": 3.7e-3 + 2e-4 * np.sin(t / 300)})
    with pytest.raises(AnalysisError, match="found the current held instead: it varies by "
                                            "0.00% .* a galvanostatic step"):
        ANALYSES["transference"](CyclingRecord(frame, Metadata()))


def test_dqdv_refuses_a_voltage_sweep_and_skips_short_pulses():
    # cyclic voltammetry: the current follows the sweep, no constant-current step
    t = np.arange(0.0, 4000.0, 2.0)
    voltage = 3.0 + np.abs((t / 1000.0) % 2 - 1)
    sweep = pd.DataFrame({"test_time_second": t, "voltage_volt": voltage,
                          "current_ampere": 1e-3 * np.sign(np.gradient(voltage)) * (1 + voltage)})
    with pytest.raises(AnalysisError, match="found no constant-current step"):
        differential_capacity(CyclingRecord(sweep, Metadata()))
    # 60 s pulses of 7 samples each way: fewer samples than the 11-point window
    pulses = np.tile(np.repeat([1.0, -1.0], 7), 20)
    frame = pd.DataFrame({"test_time_second": 10.0 * np.arange(1, pulses.size + 1),
                          "current_ampere": pulses,
                          "voltage_volt": 3.7 + 0.3 * np.cumsum(pulses) / 7})
    with pytest.raises(AnalysisError, match="half cycles of at most 7 samples"):
        differential_capacity(CyclingRecord(frame, Metadata()))


def test_dqdv_default_draws_evenly_spaced_cycles_of_a_long_test():
    record = examples.cycling_cell(cycles=DEFAULT_CYCLE_COUNT + 10)
    chosen = differential_capacity(record)
    cycles = np.unique(chosen.curves["cycle_count"])
    expected = np.unique(np.round(np.linspace(1, DEFAULT_CYCLE_COUNT + 10, DEFAULT_CYCLE_COUNT)))
    assert cycles.tolist() == expected.astype(int).tolist()
    assert chosen.selection.startswith(f"{DEFAULT_CYCLE_COUNT} of the "
                                       f"{DEFAULT_CYCLE_COUNT + 10} cycles with a curve")
    every = differential_capacity(record, cycles="all")
    assert np.unique(every.curves["cycle_count"]).size == DEFAULT_CYCLE_COUNT + 10
    # a cycle's curve does not depend on which others are computed with it
    pd.testing.assert_frame_equal(
        every.curves[every.curves["cycle_count"] == 31].reset_index(drop=True),
        chosen.curves[chosen.curves["cycle_count"] == 31].reset_index(drop=True))


def _read(*parts: str):
    path = corpus_path(*parts)
    return labkit.read(path)


def test_ccd_refuses_the_neware_full_cell_of_issue_17():
    record = _read("cycler", "neware", "fastnda_nda_v26.nda.zip")
    with pytest.raises(AnalysisError, match=r"V ≈ \+2.31 V while the current is positive and "
                                            r"\+1.95 V while the current is negative"):
        critical_current_density(record, area_square_centimeter=1.0)


def test_dqdv_of_the_neware_full_cell_draws_its_slow_cycles_only():
    # 8 992 cycles, of which only cycles 1, 2 and the slow reference cycles (every 99th
    # from 100) have half cycles of 11 samples or more: the 60 s pulses have 7. The
    # default takes 50 of those 93, at positions round(k × 92 / 49): 0, 2, 4, 6, ...
    result = differential_capacity(_read("cycler", "neware", "fastnda_nda_v26.nda.zip"))
    cycles = np.unique(result.curves["cycle_count"])
    assert result.selection.startswith("50 of the 93 cycles with a curve")
    assert cycles[:4].tolist() == [1, 100, 298, 496]
    assert cycles.size == 50 and cycles[-1] == 8992


def test_a_cell_held_at_its_own_voltage_is_no_bruce_vincent_test():
    record = _read("cycler", "biologic", "yadg_ca.issue_149.mpr")
    with pytest.raises(AnalysisError, match="found the voltage held at 3.436 V"):
        ANALYSES["transference"](record)
    for analysis in ("cycles", "dqdv", "fast-charge"):
        with pytest.raises(AnalysisError, match="this record is one potentiostatic hold"):
            ANALYSES[analysis](record)


def test_a_biologic_constant_current_step_is_no_bruce_vincent_test():
    with pytest.raises(AnalysisError, match="found the current held instead"):
        ANALYSES["transference"](_read("cycler", "biologic", "yadg_mb.mpr"))


def test_a_real_potentiostatic_hold_is_accepted_with_its_own_step():
    record = _read("cycler", "biologic", "yadg_ca.mpr")
    result = ANALYSES["transference"](record)
    voltage = record.data["voltage_volt"].to_numpy(float)
    current = record.data["current_ampere"].to_numpy(float)
    assert (current > 0).all()
    assert result.delta_v_volt.value == pytest.approx(np.median(np.abs(voltage)))
    assert result.i0_ampere.value == pytest.approx(current[0])
