"""Equivalent-circuit fitting: circuits, automatic fits, constraints, interpretation, batch, CLI.

Expected values come from (a) impedance.py's own circuit evaluation, (b) a ground
truth the test generates (synthetic spectra with 1 % noise), (c) published fit
results accompanying corpus files (impedance.py examples, Zahner Analysis fit
results), each cited where it is used.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from labkit.eis.batch import FailedFit, fit_batch
from labkit.eis.circuit import Circuit
from labkit.eis.conductivity import effective_capacitance, interpret
from labkit.eis.elements import FrequencyGrid
from labkit.eis.fit import fit_circuit
from labkit.eis.models import MODELS, get_model
from labkit.eis.synthetic import PELLET_CIRCUIT, pellet_spectra
from labkit.errors import FitError
from tests.conftest import corpus_path

FREQUENCY = np.logspace(6, -1, 60)
CIRCUITS = [
    ("R0-p(R1,CPE1)-p(R2,CPE2)-CPE3", [10, 1000, 1e-9, 0.9, 5000, 1e-7, 0.8, 1e-6, 0.85]),
    ("R0-p(R1,C1)-p(R2-Wo1,C2)", [1.65e-2, 8.68e-3, 3.32, 5.39e-3, 6.31e-2, 233, 0.22]),
    ("R0-p(R1-W1,CPE1)-Ws1-G1-L1-La1", [1, 2, 3, 1e-3, 0.9, 4, 0.1, 5, 0.01, 1e-6, 1e-5, 0.8]),
    ("R0-TLMQ1-Zarc1-Gs1", [1, 10, 1e-3, 0.9, 5, 1e-3, 0.8, 3, 1e-2, 2]),
]


# --- circuits ------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "values"), CIRCUITS)
def test_circuit_impedance_equals_impedance_py(text, values):
    """Same element definitions as impedance.py: its CustomCircuit.predict is the reference."""
    from impedance.models.circuits import CustomCircuit

    expected = CustomCircuit(text, initial_guess=values).predict(FREQUENCY, use_initial=True)
    got = Circuit(text).impedance(values, FREQUENCY)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize(("text", "values"), CIRCUITS)
def test_analytic_derivatives_equal_finite_differences(text, values):
    circuit = Circuit(text)
    grid = FrequencyGrid(FREQUENCY)
    vector = np.array(values, dtype=float)
    z, jacobian = circuit.evaluate(vector, grid, jacobian=True)
    for i in range(vector.size):
        step = 1e-6 * vector[i]
        shifted = vector.copy()
        shifted[i] += step
        numeric = (circuit.evaluate(shifted, grid)[0] - z) / step
        scale = np.abs(numeric).max()
        assert np.abs(jacobian[i] - numeric).max() <= 1e-3 * scale, circuit.parameter_names[i]


def test_parameter_names_follow_impedance_py():
    circuit = Circuit("R0-p(R1,CPE1)-Wo1")
    assert circuit.parameter_names == ("R0", "R1", "CPE1_0", "CPE1_1", "Wo1_0", "Wo1_1")
    assert circuit.units[2:4] == ("F s^(alpha-1)", "")


@pytest.mark.parametrize(("text", "fragment"), [
    ("R0-p(R1,CPE1", "expected ',' or ')'"),
    ("R0-X1", "unknown element 'X1' at position 3"),
    ("R0-p(R1)", "needs at least two branches"),
    ("R0-R0", "repeated"),
    ("R0--R1", "expected an element"),
    ("", "empty"),
])
def test_malformed_circuits_are_fit_errors(text, fragment):
    with pytest.raises(FitError, match=None) as info:
        Circuit(text)
    assert fragment in str(info.value)


# --- automatic fits: synthetic ground truth ------------------------------------------------


def _recovered(result, truth, names=("R1", "R2"), tolerance=0.05):
    return all(abs(result.value(n) / truth[n] - 1) < tolerance for n in names)


def test_pellet_fits_recover_bulk_and_grain_boundary_without_start_values():
    """Issue 4's bar: R1 and R2 within 5 % in >= 99 % of >= 200 random pellets, no user start
    values. Ground truth: labkit.eis.synthetic.pellet_spectra (draws whose R1/R2 the data
    determine, by the Cramér-Rao bound)."""
    spectra = pellet_spectra(200, seed=2024)
    results = fit_batch([(s.frequency_hertz, s.impedance) for s in spectra], PELLET_CIRCUIT)
    recovered = sum(_recovered(r, s.truth) for r, s in zip(results, spectra, strict=True))
    assert recovered / len(spectra) >= 0.99, f"{recovered}/{len(spectra)}"


def test_on_unfiltered_draws_the_automatic_fit_misses_only_what_the_optimum_misses():
    """Every draw kept (identifiable=False): wherever the least-squares optimum reached from
    the true parameters recovers R1 and R2, the automatic fit does too; the draws both miss
    are those whose Cramér-Rao bound exceeds 1.94 % (noise, not the fitter)."""
    spectra = pellet_spectra(100, seed=99, identifiable=False)
    results = fit_batch([(s.frequency_hertz, s.impedance) for s in spectra], PELLET_CIRCUIT)
    automatic = np.array([_recovered(r, s.truth) for r, s in zip(results, spectra, strict=True)])
    from_truth = np.array([_recovered(fit_circuit(s.frequency_hertz, s.impedance, s.circuit,
                                                  initial=s.truth, starts=1, restarts=0),
                                      s.truth) for s in spectra])
    assert not np.any(from_truth & ~automatic)
    bound = np.array([max(s.cramer_rao_relative["R1"], s.cramer_rao_relative["R2"])
                      for s in spectra])
    assert np.all(bound[~from_truth] > 0.0194) and (~from_truth).sum() >= 5


def test_cramer_rao_bound_is_the_scatter_of_the_least_squares_optimum():
    """The bound the generator filters on is the spread of fitted R1/R2 over noise redraws."""
    base = pellet_spectra(1, seed=17)[0]
    circuit = Circuit(base.circuit)
    clean = circuit.impedance(base.truth, base.frequency_hertz)
    rng = np.random.default_rng(5)
    fitted = []
    for _ in range(40):
        noisy = clean + 0.01 * np.abs(clean) * (rng.standard_normal(60)
                                                + 1j * rng.standard_normal(60))
        result = fit_circuit(base.frequency_hertz, noisy, circuit, initial=base.truth,
                             starts=1, restarts=0)
        fitted.append([result.value("R1") / base.truth["R1"],
                       result.value("R2") / base.truth["R2"]])
    spread = np.std(fitted, axis=0, ddof=1)
    bound = np.array([base.cramer_rao_relative["R1"], base.cramer_rao_relative["R2"]])
    assert np.all((spread / bound > 0.7) & (spread / bound < 1.4)), spread / bound
    assert np.all(bound <= 0.05 / 2.5758)


def test_standard_errors_match_the_scatter_over_noise_realisations():
    """The reported stderr of R1/R2 is the spread one sees when the noise is redrawn."""
    base = pellet_spectra(1, seed=7, noise=0.0)[0]
    circuit = Circuit(base.circuit)
    clean = circuit.impedance(base.truth, base.frequency_hertz)
    rng = np.random.default_rng(1)
    values, errors = [], []
    for _ in range(25):
        noisy = clean + 0.01 * np.abs(clean) * (rng.standard_normal(60) + 1j * rng.standard_normal(60))
        result = fit_circuit(base.frequency_hertz, noisy, circuit, initial=base.truth)
        values.append([result.value("R1"), result.value("R2")])
        errors.append([result.stderr("R1"), result.stderr("R2")])
    ratio = np.std(values, axis=0, ddof=1) / np.mean(errors, axis=0)
    assert np.all((ratio > 0.6) & (ratio < 1.6)), ratio


def test_drt_peaks_can_seed_the_guess():
    """Peaks from labkit.eis.drt (another module) replace the guess's own arc detection."""
    drt = pytest.importorskip("labkit.eis.drt")
    s = pellet_spectra(1, seed=64)[0]
    peaks = drt.drt((s.frequency_hertz, s.impedance)).peaks
    assert len(peaks) >= 2
    result = fit_circuit(s.frequency_hertz, s.impedance, s.circuit, peaks=list(peaks))
    assert _recovered(result, s.truth)


def test_result_carries_statistics_and_serialises():
    s = pellet_spectra(1, seed=3)[0]
    result = fit_circuit(s.frequency_hertz, s.impedance, s.circuit)
    assert result.success
    n, k = 120, 9
    assert result.reduced_chi_square == pytest.approx(result.chi_square / (n - k))
    assert result.aic == pytest.approx(n * math.log(result.chi_square / n) + 2 * k)
    assert result.bic == pytest.approx(n * math.log(result.chi_square / n) + math.log(n) * k)
    assert np.sum(result.residuals**2) == pytest.approx(result.chi_square)
    # 1 % noise on each part, modulus weighting: reduced chi-square ~ 1e-4.
    assert 0.5e-4 < result.reduced_chi_square < 2e-4
    corr = result.correlation.to_numpy()
    np.testing.assert_allclose(np.diag(corr), 1.0)
    np.testing.assert_allclose(corr, corr.T)
    payload = json.loads(json.dumps(result.to_dict()))
    assert set(payload["parameters"]["R1"]) == {"value", "stderr", "determined"}
    assert payload["parameters"]["R1"]["determined"] is True
    frame = result.to_frame()
    assert list(frame.index) == list(Circuit(s.circuit).parameter_names)
    lm = result.to_lmfit()
    assert lm["R2"].value == result.value("R2") and lm["R2"].stderr == result.stderr("R2")


def test_fixed_shared_and_bounded_parameters():
    s = pellet_spectra(1, seed=11)[0]
    truth = s.truth
    result = fit_circuit(s.frequency_hertz, s.impedance, s.circuit,
                         fixed={"R0": truth["R0"]}, shared={"CPE3_1": "CPE2_1"},
                         bounds={"CPE1_1": (0.5, 0.85)})
    assert result.value("R0") == truth["R0"] and not result.parameters["R0"].vary
    assert result.value("CPE3_1") == result.value("CPE2_1")
    assert 0.5 <= result.value("CPE1_1") <= 0.85
    assert "R0" not in result.correlation.index and "CPE3_1" not in result.correlation.index
    with pytest.raises(FitError, match="has no parameters"):
        fit_circuit(s.frequency_hertz, s.impedance, s.circuit, fixed={"R9": 1.0})


@pytest.mark.parametrize("engine", ["lmfit", "vectorised"])
def test_a_fit_with_every_parameter_fixed_reports_the_statistics_of_those_values(engine):
    s = pellet_spectra(1, seed=3)[0]
    result = fit_circuit(s.frequency_hertz, s.impedance, s.circuit, fixed=s.truth,
                         engine=engine)
    model = Circuit(s.circuit).impedance(s.truth, s.frequency_hertz)
    chi_square = np.sum(np.abs((model - s.impedance) / np.abs(s.impedance)) ** 2)
    assert result.success and result.values == pytest.approx(s.truth)
    assert result.chi_square == pytest.approx(chi_square, rel=1e-12)
    assert all(p.stderr == 0 and not p.vary for p in result.parameters.values())


def test_lmfit_parameters_give_the_constraints():
    import lmfit

    s = pellet_spectra(1, seed=12)[0]
    params = lmfit.Parameters()
    params.add("R0", value=s.truth["R0"], vary=False)
    params.add("CPE1_1", value=0.9, min=0.6, max=1.0)
    params.add("CPE2_1", expr="CPE1_1")
    result = fit_circuit(s.frequency_hertz, s.impedance, s.circuit, parameters=params)
    assert result.value("R0") == s.truth["R0"]
    assert result.value("CPE2_1") == result.value("CPE1_1")
    assert 0.6 <= result.value("CPE1_1") <= 1.0


def test_lmfit_does_the_final_fit_with_textbook_standard_errors(monkeypatch):
    """engine="lmfit" (default): lmfit's least_squares makes the final fit, and its standard
    errors equal the textbook ones, sqrt(diag((JᵀJ)⁻¹)·χ²/(n-k)), with J from central
    differences of the circuit (independent of the analytic Jacobian handed to lmfit)."""
    import lmfit

    calls = []
    original = lmfit.Minimizer.least_squares

    def counting(self, *args, **kwargs):
        calls.append(kwargs)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(lmfit.Minimizer, "least_squares", counting)
    s = pellet_spectra(1, seed=8)[0]
    result = fit_circuit(s.frequency_hertz, s.impedance, s.circuit)
    assert len(calls) == 1 and callable(calls[0]["jac"])
    circuit = Circuit(s.circuit)
    names = list(circuit.parameter_names)
    best = np.array([result.value(n) for n in names])
    weight = np.tile(1 / np.abs(s.impedance), 2)

    def residual(values):
        z = circuit.impedance(dict(zip(names, values, strict=True)), s.frequency_hertz)
        return np.concatenate([(z - s.impedance).real, (z - s.impedance).imag]) * weight

    columns = []
    for k in range(len(names)):
        step = np.zeros_like(best)
        step[k] = 1e-6 * abs(best[k])
        columns.append((residual(best + step) - residual(best - step)) / (2 * step[k]))
    jac = np.column_stack(columns)
    chi_square = float(residual(best) @ residual(best))
    covariance = np.linalg.inv(jac.T @ jac) * chi_square / (jac.shape[0] - len(names))
    assert result.chi_square == pytest.approx(chi_square, rel=1e-9)
    for k, name in enumerate(names):
        assert result.stderr(name) == pytest.approx(math.sqrt(covariance[k, k]), rel=1e-3)


def test_engines_reach_the_same_optimum():
    """The vectorised engine (no lmfit call) and the lmfit engine agree; both report a
    finite standard error for a parameter the data cannot see (R0 of a pellet of tens of kΩ,
    where 1 % noise is hundreds of Ω: its Cramér-Rao bound exceeds its value), instead of a
    singular covariance."""
    spectra = pellet_spectra(8, seed=1)
    pairs = [(s.frequency_hertz, s.impedance) for s in spectra]
    with_lmfit = fit_batch(pairs, PELLET_CIRCUIT, engine="lmfit")
    alone = fit_batch(pairs, PELLET_CIRCUIT, engine="vectorised")
    for a, b in zip(with_lmfit, alone, strict=True):
        assert a.success and b.success
        assert a.chi_square == pytest.approx(b.chi_square, rel=1e-5)
        for name in ("R1", "R2", "CPE1_0", "CPE2_1"):
            assert a.value(name) == pytest.approx(b.value(name), rel=1e-3)
            assert a.stderr(name) == pytest.approx(b.stderr(name), rel=1e-2)
    hidden = [r for r, s in zip(with_lmfit, spectra, strict=True)
              if s.cramer_rao_relative["R0"] > 10]
    assert hidden and all(np.isfinite(r.stderr("R0")) and r.success for r in hidden)
    with pytest.raises(FitError, match="engine"):
        fit_batch(pairs[:1], PELLET_CIRCUIT, engine="scipy")


@pytest.mark.parametrize("weighting", ["modulus", "proportional", "unit"])
def test_weightings_recover_a_noise_free_spectrum(weighting):
    s = pellet_spectra(1, seed=5, noise=0.0)[0]
    result = fit_circuit(s.frequency_hertz, s.impedance, s.circuit, weighting=weighting)
    assert result.weighting == weighting
    assert _recovered(result, s.truth, names=("R1", "R2", "CPE1_1", "CPE2_1"), tolerance=1e-3)


def test_bad_input_is_a_fit_error():
    with pytest.raises(FitError, match="non-finite"):
        fit_circuit([1.0, 2.0, np.nan], [1 - 1j, 1 - 1j, 1 - 1j], "R0-C1")
    with pytest.raises(FitError, match="weighting"):
        fit_circuit(FREQUENCY, np.ones(60) - 1j, "R0-C1", weighting="sqrt")
    with pytest.raises(FitError, match="cannot determine"):
        fit_circuit([1.0, 2.0], [1 - 1j, 1 - 2j], "R0-p(R1,CPE1)-CPE2")


# --- real data: published fit results ---------------------------------------------------


def _spectrum(*parts):
    import labkit
    from labkit.errors import LabkitError

    path = corpus_path(*parts)
    try:
        return labkit.read(path).impedance(0)
    except LabkitError as exc:  # the parsers are written alongside this module
        pytest.skip(f"{path.name} is not readable yet: {exc}")


@pytest.mark.corpus
@pytest.mark.parametrize(("name", "expected"), [
    # eis/MANIFEST.md rows for ECSHackWeek/impedance.py data/Circuit*_EIS_1.z (the
    # impedance.py looping example fits R0-p(R1,C1) to these dummy-circuit measurements):
    ("impedancepy_Circuit1_EIS_1.z", {"R0": 29.1, "R1": 46.7, "C1": 1.04e-5}),
    ("impedancepy_Circuit2_EIS_1.z", {"R0": 150, "R1": 502, "C1": 3.12e-8}),
    ("impedancepy_Circuit3_EIS_1.z", {"R0": 1.51e3, "R1": 4.63e3, "C1": 2.02e-8}),
])
def test_impedance_py_example_fits_are_reproduced(name, expected):
    """Published to three significant figures: ours must agree to one unit in the third
    figure, and (same objective: impedance.py fits unweighted, curve_fit without sigma)
    reach a chi-square no worse than the published values give."""
    frequency, z = _spectrum("eis", "zplot_z", name)
    result = fit_circuit(frequency, z, "R0-p(R1,C1)", weighting="unit")
    assert result.success
    for parameter, value in expected.items():
        unit = 10 ** (math.floor(math.log10(value)) - 2)
        assert abs(result.value(parameter) - value) <= unit * (1 + 1e-9), parameter
    published = Circuit("R0-p(R1,C1)").impedance(expected, frequency)
    assert result.chi_square <= np.sum(np.abs(published - z) ** 2)


@pytest.mark.corpus
def test_impedance_py_readme_fit_is_reproduced_and_beaten():
    """impedance.py README / getting-started (eis/MANIFEST.md row of exampleData.csv):
    after preprocessing.ignoreBelowX, R0-p(R1,C1)-p(R2-Wo1,C2) from the initial guess
    [.01, .01, 100, .01, .05, 100, 1] gives R0 1.65e-2, R1 8.68e-3, C1 3.32, R2 5.39e-3,
    Wo1_0 6.31e-2, Wo1_1 233, C2 0.220 (unweighted). From the same start labkit lands on
    the same optimum within one standard error; its automatic fit finds another optimum
    (arc roles exchanged) with a lower chi-square."""
    frequency, z = _spectrum("eis", "csv", "impedancepy_exampleData.csv")
    keep = z.imag < 0  # preprocessing.ignoreBelowX
    frequency, z = frequency[keep], z[keep]
    circuit = "R0-p(R1,C1)-p(R2-Wo1,C2)"
    names = ["R0", "R1", "C1", "R2", "Wo1_0", "Wo1_1", "C2"]
    published = dict(zip(names, [1.65e-2, 8.68e-3, 3.32, 5.39e-3, 6.31e-2, 233, 0.220],
                         strict=True))
    start = dict(zip(names, [.01, .01, 100, .01, .05, 100, 1], strict=True))
    same_start = fit_circuit(frequency, z, circuit, weighting="unit", initial=start,
                             starts=1, restarts=0)
    for name, value in published.items():
        assert abs(same_start.value(name) - value) <= same_start.stderr(name), name
    automatic = fit_circuit(frequency, z, circuit, weighting="unit")
    published_model = Circuit(circuit).impedance(published, frequency)
    assert automatic.chi_square < np.sum(np.abs(published_model - z) ** 2)


@pytest.mark.corpus
@pytest.mark.parametrize(("name", "published"), [
    # PyEIS Tutorials/PyEIS_experimental-data_tutorial.ipynb cell 38/44 (kbknudsen/PyEIS
    # 14724e9): ex1+ex2, cycle=[2, 4] (the second sweep of each file), mask 1e4-0.1 Hz,
    # Randles 'R-(Q(RW))', weight_func='modulus'. (Rs, R, fs, n, sigma):
    ("pyeis_ex1.mpt", (2262.1064947630716, 10910.932658353557, 4.3514150262823872,
                       0.96680700642094897, 10554.037456363216)),
    ("pyeis_ex2.mpt", (2258.7573990970054, 8686.3966907050908, 5.6112260481005753,
                       0.94238762905271556, 9804.4418392844782)),
])
def test_pyeis_tutorial_fit_is_matched_and_improved(name, published):
    """PyEIS's error function hands lmfit the *squared* weighted errors as residuals, so
    its published values minimise sum(w² e⁴), not the modulus-weighted least squares
    they are reported as; they cannot be reproduced within their stated stderr by a
    least-squares fit. We check the same optimum basin (R0 within 3 %, R1 and W1 within
    10 %) and that our fit has a lower modulus-weighted chi-square than PyEIS's values."""
    import labkit
    from labkit.errors import LabkitError

    path = corpus_path("eis", "biologic_mpt", name)
    try:
        frequency, z = labkit.read(path).impedance(1)
    except LabkitError as exc:
        pytest.skip(f"{path.name} is not readable yet: {exc}")
    keep = (frequency >= 0.1) & (frequency <= 1e4)
    frequency, z = frequency[keep], z[keep]
    assert frequency.size == 40  # PyEIS reports 80 data points (re and im)
    circuit = get_model("randles").circuit
    result = fit_circuit(frequency, z, circuit)
    rs, r, fs, n, sigma = published
    theirs = {"R0": rs, "R1": r, "W1": sigma, "CPE1_0": 1 / (r * (2 * np.pi * fs) ** n),
              "CPE1_1": n}
    model = Circuit(circuit).impedance(theirs, frequency)
    assert result.chi_square < np.sum(np.abs((model - z) / np.abs(z)) ** 2)
    assert result.value("R0") == pytest.approx(rs, rel=0.03)
    assert result.value("R1") == pytest.approx(r, rel=0.10)
    assert result.value("W1") == pytest.approx(sigma, rel=0.10)


def _zahner_reference(name):
    path = corpus_path("eis", "_reference", name)
    model = json.loads(path.read_text())["model"]
    return {element: next(iter(fields.values())) for element, fields in model.items()}


@pytest.mark.corpus
@pytest.mark.parametrize(("ism", "reference", "circuit"), [
    # Zahner-Analysis-Python Examples/BasicIntroduction: R0 || C0 dummy.
    ("zahner_rc-data.ism", "zahner_rc-data_fit_result.json", "p(R0,C0)"),
    # Examples/ImpedanceVsVoltageSeriesFit, model diode-ac-model.isfx = (R0 || C0) - L0.
    ("zahner_diode_000_mvdc.ism", "zahner_diode_000_mvdc_fit_result.json", "p(R0,C0)-L0"),
    ("zahner_diode_150_mvdc.ism", "zahner_diode_150_mvdc_fit_result.json", "p(R0,C0)-L0"),
    ("zahner_diode_300_mvdc.ism", "zahner_diode_300_mvdc_fit_result.json", "p(R0,C0)-L0"),
])
def test_zahner_fit_results_are_reproduced_within_their_stated_error(ism, reference, circuit):
    """Zahner Analysis states each parameter's error in % (fit_result.json, "error");
    parameters it calls undetermined (error above 100 %) are not compared."""
    frequency, z = _spectrum("eis", "zahner_ism", ism)
    result = fit_circuit(frequency, z, circuit)
    compared = 0
    for name, published in _zahner_reference(reference).items():
        if published["error"] > 100:
            continue
        tolerance = published["error"] / 100 * published["value"]
        assert abs(result.value(name) - published["value"]) <= tolerance, name
        compared += 1
    assert compared >= 1


@pytest.mark.corpus
def test_zahner_li_ion_fit_is_reproduced_with_its_finite_diffusion_as_wo():
    """Zahner-Analysis-Python Examples/ComplexFitConfigurations: li-ion-model.isfx is
    (FI0 - R0) || C0 - R1 - R2 || CPE0 - L0, fitted to li-ion-battery.ism; its finite
    diffusion FI (W, k) is Wo with Z0 = W/√k, τ = 1/k (the reflective form: the transmissive
    one misses the data by up to 50 %). The automatic fit (no start values) lands within
    twice Zahner's stated error on every parameter and within it on most; Zahner's values
    are not the least-squares optimum of the file's data under modulus, unit or log-|Z|/phase
    weighting (all three give our values), and give a modulus χ² far above ours."""
    frequency, z = _spectrum("eis", "zahner_ism", "zahner_li-ion-battery.ism")
    circuit = "p(Wo0-R0,C0)-R1-p(R2,CPE0)-L0"
    result = fit_circuit(frequency, z, circuit)
    reference = json.loads(corpus_path("eis", "_reference",
                                       "zahner_li-ion-battery_fit_result.json").read_text())
    model = reference["model"]
    w, k = model["FI0"]["W"], model["FI0"]["k"]
    ours = {"W": result.value("Wo0_0") / math.sqrt(result.value("Wo0_1")),
            "k": 1 / result.value("Wo0_1")}
    theirs = {"W": w, "k": k}
    for name, symbol in (("R0", "R"), ("R1", "R"), ("R2", "R"), ("C0", "C"), ("L0", "L")):
        ours[name], theirs[name] = result.value(name), model[name][symbol]
    ours["CPE0_0"], theirs["CPE0_0"] = result.value("CPE0_0"), model["CPE0"]["Y_0"]
    ours["CPE0_1"], theirs["CPE0_1"] = result.value("CPE0_1"), model["CPE0"]["α"]
    within = 0
    for name, published in theirs.items():
        deviation = abs(ours[name] / published["value"] - 1) * 100
        assert deviation <= 2 * published["error"], name
        within += deviation <= published["error"]
    assert within >= 6
    zahner_values = {"Wo0_0": w["value"] / math.sqrt(k["value"]), "Wo0_1": 1 / k["value"],
                     **{n: theirs[n]["value"] for n in theirs if n not in ("W", "k")}}
    zahner_model = Circuit(circuit).impedance(zahner_values, frequency)
    assert result.chi_square < 0.01 * np.sum(np.abs((zahner_model - z) / np.abs(z)) ** 2)


# --- interpretation ------------------------------------------------------------------------


def test_effective_capacitance_formulas():
    # alpha = 1: both reduce to Q; Hsu-Mansfeld equals Q * omega_max^(alpha-1).
    assert effective_capacitance(1e-9, 1.0, 1e3) == pytest.approx(1e-9)
    q, alpha, r = 2e-9, 0.8, 5e3
    c = effective_capacitance(q, alpha, r)
    omega_max = (r * q) ** (-1 / alpha)
    assert c == pytest.approx(q * omega_max ** (alpha - 1))
    assert effective_capacitance(q, alpha, r, series_resistance=10.0, method="brug") == \
        pytest.approx(q ** (1 / alpha) * (1 / 10 + 1 / r) ** ((alpha - 1) / alpha))


def test_interpretation_assigns_arcs_and_gives_conductivity():
    """A noise-free pellet whose capacitances sit in the ISW ranges: bulk 2 pF·cm⁻¹,
    grain boundary 1 nF·cm⁻¹, electrode 2 µF (cell constant L/A = 0.1/0.5 cm⁻¹)."""
    area, thickness = 0.5, 0.1
    r_bulk, r_gb = 2.0e4, 5.0e4
    c_bulk, c_gb = 2e-12 * area / thickness, 1e-9 * area / thickness
    truth = {"R0": 5.0, "R1": r_bulk, "CPE1_0": c_bulk, "CPE1_1": 1.0 - 1e-9, "R2": r_gb,
             "CPE2_0": c_gb, "CPE2_1": 1.0 - 1e-9, "CPE3_0": 2e-6, "CPE3_1": 0.9}
    frequency = np.logspace(7, -1, 70)
    z = Circuit(PELLET_CIRCUIT).impedance(truth, frequency)
    result = fit_circuit(frequency, z, PELLET_CIRCUIT)
    meaning = interpret(result, area_square_centimeter=area, thickness_centimeter=thickness,
                        thickness_tolerance_centimeter=0.002)
    roles = {a.resistor: a.role for a in meaning.arcs}
    assert roles == {"R1": "bulk", "R2": "grain_boundary"}
    sigma = meaning.conductivity_siemens_per_centimeter
    assert sigma["bulk"].value == pytest.approx(thickness / (r_bulk * area), rel=1e-4)
    assert sigma["grain_boundary"].value == pytest.approx(thickness / (r_gb * area), rel=1e-4)
    assert sigma["total"].value == pytest.approx(thickness / ((r_bulk + r_gb) * area), rel=1e-4)
    # Noise-free: the uncertainty is the 2 % thickness tolerance.
    assert sigma["bulk"].stderr == pytest.approx(0.02 * sigma["bulk"].value, rel=1e-3)
    assert "bulk" in meaning.arcs[0].evidence and "F/cm" in meaning.arcs[0].evidence
    json.dumps(meaning.to_dict())


def test_symmetric_cell_area_specific_resistance():
    truth = {"R0": 2.0, "R1": 100.0, "CPE1_0": 1e-8, "CPE1_1": 0.95, "R2": 400.0,
             "CPE2_0": 2e-6, "CPE2_1": 0.9}
    circuit = get_model("symmetric-li").circuit
    z = Circuit(circuit).impedance(truth, FREQUENCY)
    result = fit_circuit(FREQUENCY, z, circuit)
    meaning = interpret(result, area_square_centimeter=0.8, symmetric_cell=True)
    asr = meaning.area_specific_resistance_ohm_square_centimeter
    assert asr["total"].value == pytest.approx(400.0 * 0.8, rel=1e-4)
    assert asr["per_interface"].value == pytest.approx(400.0 * 0.8 / 2, rel=1e-4)


def test_named_models_parse_and_explain_every_element():
    for model in MODELS.values():
        circuit = Circuit(model.circuit)
        labels = {leaf.label for leaf in circuit.leaves}
        assert labels == set(model.meaning), model.name
    with pytest.raises(FitError, match="known models"):
        get_model("garnet")


# --- batch ------------------------------------------------------------------------------


def test_batch_on_a_process_pool_equals_serial_and_reports_failures():
    spectra = [(s.frequency_hertz, s.impedance) for s in pellet_spectra(4, seed=21)]
    bad = (np.array([1.0, 2.0]), np.array([1 - 1j, np.nan]))
    serial = fit_batch(spectra, PELLET_CIRCUIT, warm_start=False)
    parallel = fit_batch(spectra[:2] + [bad] + spectra[2:], PELLET_CIRCUIT, workers=2,
                         warm_start=False)
    assert isinstance(parallel[2], FailedFit) and parallel[2].error["type"] == "FitError"
    for a, b in zip(serial, parallel[:2] + parallel[3:], strict=True):
        assert a.value("R1") == pytest.approx(b.value("R1"), rel=1e-9)


def test_vectorised_batch_reaches_the_same_optimum_as_single_fits():
    """The batch fast path (all spectra in one Levenberg-Marquardt) finds the optimum
    fit_circuit finds, spectrum by spectrum, also with constraints."""
    spectra = pellet_spectra(12, seed=51)
    pairs = [(s.frequency_hertz, s.impedance) for s in spectra]
    together = fit_batch(pairs, PELLET_CIRCUIT)
    for result, (frequency, z) in zip(together, pairs, strict=True):
        single = fit_circuit(frequency, z, PELLET_CIRCUIT)
        assert result.chi_square <= single.chi_square * (1 + 1e-6)
        assert result.value("R2") == pytest.approx(single.value("R2"), rel=1e-3)
    in_turn = fit_batch(pairs[:3], PELLET_CIRCUIT, fixed={"R0": 5.0})
    assert all(r.value("R0") == 5.0 and r.success for r in in_turn)


def test_batch_warm_start_on_a_dask_local_cluster():
    distributed = pytest.importorskip("distributed")
    spectra = pellet_spectra(6, seed=31)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        results = fit_batch([(s.frequency_hertz, s.impedance) for s in spectra],
                            PELLET_CIRCUIT, client=client, chunk_size=3)
    assert [_recovered(r, s.truth) for r, s in zip(results, spectra, strict=True)] == [True] * 6


# --- command line ------------------------------------------------------------------------


def test_cli_fits_every_file_and_reports_unreadable_ones(tmp_path, capsys):
    from labkit.cli import main

    spectra = pellet_spectra(2, seed=41)
    paths = []
    for i, s in enumerate(spectra):
        path = tmp_path / f"pellet_{i}.csv"
        rows = np.column_stack([s.frequency_hertz, s.impedance.real, s.impedance.imag])
        np.savetxt(path, rows, delimiter=",", header="frequency_hertz,z_real_ohm,z_imag_ohm",
                   comments="")
        paths.append(str(path))
    broken = tmp_path / "broken.csv"
    broken.write_text("this is not an impedance file\n")
    code = main(["eis", "fit", *paths, str(broken), "--model", "pellet", "--area", "0.5",
                 "--thickness", "0.1", "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 1
    entries = payload["results"]
    assert [e["file"] for e in entries] == [*paths, str(broken)]
    assert "error" in entries[2] and entries[2]["error"]["file"]
    for entry, s in zip(entries[:2], spectra, strict=True):
        assert entry["success"] and entry["spectrum"] == 0
        assert entry["circuit"] == PELLET_CIRCUIT
        assert abs(entry["parameters"]["R1"]["value"] / s.truth["R1"] - 1) < 0.05
        assert set(entry["parameters"]["R2"]) == {"value", "stderr", "determined"}
        assert "total" in entry["conductivity_siemens_per_centimeter"]
    code = main(["eis", "fit", paths[0], "--circuit", "R0-p(R1,CPE1)-p(R2,CPE2)-CPE3"])
    assert code == 0 and "R1" in capsys.readouterr().out
    code = main(["eis", "fit", *paths, "--engine", "vectorised", "--json"])
    fast = json.loads(capsys.readouterr().out)["results"]
    for entry, reference in zip(fast, entries[:2], strict=True):
        assert entry["parameters"]["R1"]["value"] == pytest.approx(
            reference["parameters"]["R1"]["value"], rel=1e-3)


def test_cli_fits_on_a_dask_cluster_given_by_address(tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    from labkit.cli import main

    s = pellet_spectra(1, seed=42)[0]
    path = tmp_path / "pellet.csv"
    np.savetxt(path, np.column_stack([s.frequency_hertz, s.impedance.real, s.impedance.imag]),
               delimiter=",", header="frequency_hertz,z_real_ohm,z_imag_ohm", comments="")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        code = main(["eis", "fit", str(path), "--dask", cluster.scheduler_address, "--json"])
    entry = json.loads(capsys.readouterr().out)["results"][0]
    assert code == 0 and _recovered_entry(entry, s.truth)


def _recovered_entry(entry, truth):
    return all(abs(entry["parameters"][n]["value"] / truth[n] - 1) < 0.05 for n in ("R1", "R2"))


def test_cli_reports_area_specific_resistance_of_a_symmetric_cell(tmp_path, capsys):
    """Li | SE | Li: 100 Ω electrolyte (apex ~100 kHz), 400 Ω interfaces (µF), 0.8 cm²."""
    from labkit.cli import main

    truth = {"R0": 2.0, "R1": 100.0, "CPE1_0": 1e-8, "CPE1_1": 0.95, "R2": 400.0,
             "CPE2_0": 2e-6, "CPE2_1": 0.9}
    z = Circuit(get_model("symmetric-li").circuit).impedance(truth, FREQUENCY)
    path = tmp_path / "symmetric.csv"
    np.savetxt(path, np.column_stack([FREQUENCY, z.real, z.imag]), delimiter=",",
               header="frequency_hertz,z_real_ohm,z_imag_ohm", comments="")
    assert main(["eis", "fit", str(path), "--model", "symmetric-li", "--area", "0.8",
                 "--json"]) == 0
    entry = json.loads(capsys.readouterr().out)["results"][0]
    asr = entry["area_specific_resistance_ohm_square_centimeter"]
    assert asr["total"]["value"] == pytest.approx(320.0, rel=1e-4)
    assert asr["per_interface"]["value"] == pytest.approx(160.0, rel=1e-4)
    assert "R A / 2" in asr["per_interface"]["formula"]


# --- real spectra: the automatic fit reaches the optimum of an exhaustive search -----------


def _random_starts(circuit: Circuit, frequency, z, count: int, seed: int) -> list[dict]:
    """Starts that ignore labkit's reading of the data: resistances log-uniform from 1/100 of
    the smallest to 10x the largest |Z|, time constants log-uniform over the measured range
    widened tenfold each side, α uniform in [0.4, 1]; Q = τ^0.8/R, Warburg σ = R/√τ."""
    rng = np.random.default_rng(seed)
    omega, modulus = 2 * np.pi * frequency, np.abs(z)
    size = (count, len(circuit.parameter_names))
    r = 10 ** rng.uniform(np.log10(modulus.min()) - 2, np.log10(modulus.max()) + 1, size)
    tau = 10 ** rng.uniform(np.log10(0.1 / omega.max()), np.log10(10 / omega.min()), size)
    by_unit = {"ohm": r, "s": tau, "": rng.uniform(0.4, 1.0, size),
               "F s^(alpha-1)": tau**0.8 / r, "ohm s^-1/2": r / np.sqrt(tau)}
    columns = np.column_stack([by_unit[unit][:, k] for k, unit in enumerate(circuit.units)])
    return [dict(zip(circuit.parameter_names, row, strict=True)) for row in columns]


def _exhaustive_chi_square(frequency, z, text: str, count: int = 40, seed: int = 0) -> float:
    """Lowest χ² (modulus weighting) over local fits from ``count`` random starts, the best
    of them finished by lmfit like an automatic fit."""
    circuit = Circuit(text)
    local = [fit_circuit(frequency, z, circuit, initial=start, starts=1, restarts=0,
                         engine="vectorised")
             for start in _random_starts(circuit, frequency, z, count, seed)]
    best = min(local, key=lambda r: r.chi_square)
    start = {name: p.value for name, p in best.parameters.items()}
    return fit_circuit(frequency, z, circuit, initial=start, starts=1, restarts=0).chi_square


@pytest.mark.corpus
def test_pellet_fit_of_a_blocking_lpscl_pellet_keeps_the_bulk_arc_whole():
    """hybriddrt_PEIS_LPSCl_IonBlocking_-25C.mpr (Li6PS5Cl between ion-blocking electrodes,
    -25 °C): a 1.3 kΩ bulk arc near 1 MHz, then the blocking spike rising to 8 MΩ at 0.1 Hz.
    The feature fit read part of the spike as a 0.5 MΩ relaxation and dropped every cluster
    under 1e-3 of the largest weight, the bulk arc among them; the pellet fit then split the
    bulk arc into R1 = 898 Ω and R2 = 431 Ω, 1.20x above the optimum (and
    R0-p(R1,CPE1)-W1 ended 3.6x above its optimum). Now the bulk arc is a feature, and the
    pellet fit reaches the optimum of a 40-start random search, where R1 is the whole bulk
    arc: the bulk resistance of the one-arc model (pellet-bulk) within 2 %."""
    from labkit.eis.guess import spectrum_features

    frequency, z = _spectrum("eis", "biologic_mpr", "hybriddrt_PEIS_LPSCl_IonBlocking_-25C.mpr")
    bulk = [a for a in spectrum_features(frequency, z).arcs if a.tau_second < 1e-6]
    assert len(bulk) == 1 and 1000 < bulk[0].resistance_ohm < 1600
    pellet = "R0-p(R1,CPE1)-p(R2,CPE2)-CPE3"
    result = fit_circuit(frequency, z, pellet)
    assert result.chi_square <= _exhaustive_chi_square(frequency, z, pellet) * (1 + 1e-3)
    one_arc = fit_circuit(frequency, z, "R0-p(R1,CPE1)-CPE2")
    assert result.value("R1") == pytest.approx(one_arc.value("R1"), rel=0.02)


@pytest.mark.corpus
def test_composite_cathode_fit_of_a_solid_state_cell_reaches_the_optimum():
    """hybriddrt_SSB_Sample1_PEIS_EndOfDischarge.mpr (all-solid-state cell, end of discharge)
    with the composite-cathode model R0-p(R1,CPE1)-p(R2,CPE2)-Wo1: the guesses end near
    Wo1 τ ≈ 2800 s (far below the lowest frequency, a semi-infinite Warburg), 5 % above the
    optimum at τ ≈ 3.7 s, and the random restarts (one jump of one e-fold around the best
    fit, stopped after three that did not help) never left that basin. Each restart round
    now tries jumps of several reaches at once; the default fit reaches the optimum of a
    40-start random search."""
    frequency, z = _spectrum("eis", "biologic_mpr",
                             "hybriddrt_SSB_Sample1_PEIS_EndOfDischarge.mpr")
    circuit = get_model("composite-cathode").circuit
    result = fit_circuit(frequency, z, circuit)
    assert result.chi_square <= _exhaustive_chi_square(frequency, z, circuit) * (1 + 1e-3)
    assert 0.3 < result.value("Wo1_1") < 30


def test_a_singular_system_in_one_row_does_not_stall_the_batch(monkeypatch):
    """The vectorised LM solves every row's damped normal equations at once; when LAPACK
    refuses the stack (a singular row), each row is solved by least squares instead of
    every row taking a zero step. Forced here on every iteration: both rows still reach
    the generating values."""
    from labkit.eis import vectorised
    from labkit.eis.fit import Constraints, _Mapping

    def refuse(*_args, **_kwargs):
        raise np.linalg.LinAlgError("Singular matrix")

    circuit = Circuit("R0-p(R1,CPE1)")
    truth = np.array([10.0, 100.0, 1e-5, 0.9])
    frequency = np.logspace(5, -1, 40)
    z = circuit.impedance(truth, frequency)
    mapping = _Mapping(circuit, Constraints())
    batch = vectorised._Batch(circuit, mapping, np.vstack([frequency, frequency]),
                              np.vstack([z, z]), "modulus")
    starts = mapping.to_x(np.array([[20.0, 50.0, 1e-4, 0.8], [5.0, 300.0, 3e-6, 0.95]]))
    monkeypatch.setattr(vectorised.np.linalg, "solve", refuse)
    x, _, converged = batch.levenberg_marquardt(starts, np.array([0, 1]))
    values, _ = mapping.free_values(x)
    assert converged.all()
    np.testing.assert_allclose(values, np.vstack([truth, truth]), rtol=1e-6)


def test_an_lmfit_polish_never_ends_above_its_start():
    """A ceramic pellet at 150 °C (bench/electrolyte.py's one-class series 7) started at the
    screening optimum, whose R0 sits at 1e-6 Ω by its bound: lmfit's least_squares walked
    to a fit without the bulk arc (χ² 1.13 against 0.0012). The start is kept, and with it
    the bulk resistance the generator used."""
    from labkit.eis.electrolyte_synthetic import temperature_series

    pellet = temperature_series("ceramic", 10, seed=2038, same_class=True).items[7][1]
    start = {"R0": 1.039e-06, "R1": 1.333e+06, "CPE1_0": 2.17e-11, "CPE1_1": 0.9958,
             "R2": 4.808e+08, "CPE2_0": 9.615e-11, "CPE2_1": 0.8409}
    result = fit_circuit(pellet.frequency_hertz, pellet.impedance, "R0-p(R1,CPE1)-p(R2,CPE2)",
                         initial=start, starts=1, restarts=0)
    assert result.chi_square < 0.0013
    truth = pellet.truth
    bulk_ohm = truth.thickness_centimeter / (truth.sigma_siemens_per_centimeter()["bulk"]
                                             * truth.area_square_centimeter)
    assert result.value("R1") == pytest.approx(bulk_ohm, rel=0.02)
