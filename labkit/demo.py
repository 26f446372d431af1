"""The demonstration ``labkit demo`` runs: labkit's main jobs on example data it generates.

Every example has a known answer (:mod:`labkit.examples`), so the demo prints
what labkit finds next to the truth: per-cycle capacity retention, the rate
capability with the Tian fit, the critical current density, the Li⁺
transference number, the pellet's conductivities from circuit fits, then an
ingest of all files into a lab store and a fast-charge protocol written for a
Maccor cycler.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import labkit
from labkit.examples import write_examples

#: Ground truth of the generated examples (see :mod:`labkit.examples` defaults).
TRUTH = {
    "cycles": 30,
    "retention_cycle_30": 1 - 0.004 * 29,
    "tian_tau_hour": 0.05,
    "tian_n": 0.8,
    "ccd_milliampere_per_square_centimeter": 0.5,
    "ccd_failed_at_milliampere_per_square_centimeter": 0.6,
    "t_plus": 0.4,
    "sigma_bulk_25c_siemens_per_centimeter": 1e-5,
    "sigma_gb_25c_siemens_per_centimeter": 5e-6,
    "ea_bulk_electronvolt": 0.35,
    "ea_gb_electronvolt": 0.50,
}


@dataclass
class DemoReport:
    """What the demo found: rows of (quantity, labkit's value, truth) and files written."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)

    def add(self, quantity: str, value: float, stderr: float | None, truth: float | None) -> None:
        self.rows.append({"quantity": quantity, "value": value, "stderr": stderr, "truth": truth})

    def to_dict(self) -> dict[str, Any]:
        """The ``labkit demo --json`` payload."""
        return {"results": self.rows, "files": self.files}

    def text(self) -> str:
        """A table for people."""
        lines = [f"{'quantity':<50}{'labkit':>14}{'± stderr':>12}{'truth':>12}"]
        for row in self.rows:
            stderr = "" if row["stderr"] is None else f"{row['stderr']:.3g}"
            truth = "" if row["truth"] is None else f"{row['truth']:.4g}"
            lines.append(f"{row['quantity']:<50}{row['value']:>14.4g}{stderr:>12}{truth:>12}")
        lines.append("")
        lines += [f"{name:<20} {path}" for name, path in self.files.items()]
        return "\n".join(lines)


def run_demo(folder: str | Path) -> DemoReport:
    """Generate the examples in ``folder`` and run labkit's analyses on them."""
    from labkit.analysis.ccd import critical_current_density
    from labkit.analysis.cycling import summarize_cycles
    from labkit.analysis.rate import rate_capability
    from labkit.analysis.transference import transference_number
    from labkit.eis.arrhenius import arrhenius_series
    from labkit.eis.conductivity import interpret
    from labkit.eis.fit import fit_circuit
    from labkit.eis.models import get_model
    from labkit.ingest import ingest
    from labkit.protocols import formats
    from labkit.protocols.generators import multistep
    from labkit.protocols.schedule import Cell

    folder = Path(folder)
    data = folder / "data"
    write_examples(data)
    report = DemoReport(files={"example data": str(data)})

    cycling = summarize_cycles(labkit.read(data / "cycling_cell.bdf.csv"))
    report.add("cycles found", len(cycling.table), None, TRUTH["cycles"])
    retention = cycling.table["capacity_retention"].iloc[-1] if "capacity_retention" in \
        cycling.table else float("nan")
    report.add("capacity retention at cycle 30", float(retention), None,
               TRUTH["retention_cycle_30"])

    rate = rate_capability(labkit.read(data / "rate_capability.bdf.csv"),
                           nominal_capacity_ampere_hour=0.003)
    if rate.tian_fit is not None:
        report.add("Tian τ (h)", rate.tian_fit.tau_hour.value, rate.tian_fit.tau_hour.stderr,
                   TRUTH["tian_tau_hour"])
        report.add("Tian n", rate.tian_fit.n.value, rate.tian_fit.n.stderr, TRUTH["tian_n"])

    ccd = critical_current_density(labkit.read(data / "ccd_li_llzo_li.bdf.csv"),
                                   area_square_centimeter=1.0)
    report.add("CCD, last passed (mA/cm²)", ccd.ccd_milliampere_per_square_centimeter, None,
               TRUTH["ccd_milliampere_per_square_centimeter"])
    report.add("CCD, failed at (mA/cm²)", ccd.failed_at_milliampere_per_square_centimeter, None,
               TRUTH["ccd_failed_at_milliampere_per_square_centimeter"])

    t_plus = transference_number(labkit.read(data / "transference_ca.bdf.csv"),
                                 eis_before=labkit.read(data / "transference_eis_before.csv"),
                                 eis_after=labkit.read(data / "transference_eis_after.csv"))
    report.add("t⁺ (Bruce–Vincent)", t_plus.t_plus_bruce_vincent.value,
               t_plus.t_plus_bruce_vincent.stderr, TRUTH["t_plus"])

    pellet = get_model("pellet")
    spectrum = labkit.read(data / "pellet_eis_25C.csv")
    frequency, impedance = spectrum.impedance(0)
    arcs = interpret(fit_circuit(frequency, impedance, pellet.circuit),
                     area_square_centimeter=0.785, thickness_centimeter=0.1)
    sigma = arcs.conductivity_siemens_per_centimeter
    for role, key in (("bulk", "sigma_bulk_25c_siemens_per_centimeter"),
                      ("grain_boundary", "sigma_gb_25c_siemens_per_centimeter")):
        if role in sigma:
            report.add(f"σ {role.replace('_', ' ')} at 25 °C (S/cm)", sigma[role].value,
                       sigma[role].stderr, TRUTH[key])

    series = arrhenius_series(sorted(data.glob("pellet_eis_*C.csv")), area_square_centimeter=0.785,
                              thickness_centimeter=0.1, circuit=pellet.circuit)
    for role, key in (("bulk", "ea_bulk_electronvolt"), ("grain_boundary", "ea_gb_electronvolt")):
        if role in series.fits:
            ea = series.fits[role].activation_energy_electronvolt
            report.add(f"Ea {role.replace('_', ' ')}, σT Arrhenius, -20–40 °C (eV)", ea.value,
                       ea.stderr, TRUTH[key])

    store = folder / "store"
    ingested = ingest([data], store, hooks=["cycles"])
    report.add("files ingested into the store", ingested.ingested, None, None)
    report.files["lab store"] = str(store)

    cell = Cell(name="example 18650", nominal_capacity_ampere_hour=1.1, min_voltage_volt=2.0,
                max_voltage_volt=3.6, max_current_ampere=10.0)
    protocol = formats.write(multistep(cell, policy="4.8-5.2-5.2-4.16", cycles=100),
                             folder / "fast_charge_multistep.000", "maccor")
    report.files["Maccor procedure"] = str(protocol)
    return report
