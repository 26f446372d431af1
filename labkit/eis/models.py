"""Named equivalent circuits of solid-electrolyte cells, with what each element means.

Use a model by name wherever a circuit string is accepted
(``labkit eis fit --model pellet``, ``fit_model(f, z, "pellet")``). Arcs are
written from high to low frequency, which is also the order the automatic
guess and the fit keep.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from labkit.errors import FitError


@dataclass(frozen=True)
class NamedModel:
    """An equivalent circuit with the physical meaning of each element.

    Attributes
    ----------
    name
        Short name (``"pellet"``).
    circuit
        impedance.py-style circuit string.
    description
        The cell the model describes.
    meaning
        Element label -> what it stands for.
    roles
        Resistor label -> process (``"bulk"``, ``"grain_boundary"``, ``"interface"``,
        ``"electrode"``, ``"series"``) used by :mod:`labkit.eis.conductivity`.
    """

    name: str
    circuit: str
    description: str
    meaning: Mapping[str, str]
    roles: Mapping[str, str]

    def to_dict(self) -> dict:
        """JSON-ready description."""
        return {"name": self.name, "circuit": self.circuit, "description": self.description,
                "meaning": dict(self.meaning), "roles": dict(self.roles)}


MODELS: dict[str, NamedModel] = {m.name: m for m in (
    NamedModel(
        "pellet",
        "R0-p(R1,CPE1)-p(R2,CPE2)-CPE3",
        "Solid-electrolyte pellet between ion-blocking electrodes (Au, Pt, stainless steel)",
        {"R0": "leads, contacts and current collectors",
         "R1": "bulk (grain interior) ionic resistance",
         "CPE1": "bulk dielectric capacitance (pF range for a cell constant of 1 cm⁻¹)",
         "R2": "grain-boundary ionic resistance",
         "CPE2": "grain-boundary capacitance (10 pF-10 nF)",
         "CPE3": "double layer at the ion-blocking electrodes (0.1-10 µF): the low-frequency spike"},
        {"R0": "series", "R1": "bulk", "R2": "grain_boundary"},
    ),
    NamedModel(
        "pellet-bulk",
        "R0-p(R1,CPE1)-CPE2",
        "Solid-electrolyte pellet between blocking electrodes where only one arc is resolved "
        "(bulk and grain boundary merged, as in many sulfide and halide electrolytes)",
        {"R0": "leads and contacts (absorbs any arc above the highest frequency)",
         "R1": "total (bulk + grain-boundary) ionic resistance",
         "CPE1": "dielectric / grain-boundary capacitance",
         "CPE2": "double layer at the ion-blocking electrodes"},
        {"R0": "series", "R1": "total"},
    ),
    NamedModel(
        "symmetric-li",
        "R0-p(R1,CPE1)-p(R2,CPE2)",
        "Li | solid electrolyte | Li symmetric cell (non-blocking electrodes)",
        {"R0": "leads and contacts",
         "R1": "solid-electrolyte ionic resistance (bulk, with grain boundary when not resolved)",
         "CPE1": "solid-electrolyte capacitance",
         "R2": "both Li | SE interfaces together (charge transfer, interphase, contact loss)",
         "CPE2": "interface capacitance (0.1-10 µF)"},
        {"R0": "series", "R1": "bulk", "R2": "interface"},
    ),
    NamedModel(
        "symmetric-li-gb",
        "R0-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)",
        "Li | solid electrolyte | Li symmetric cell with bulk and grain-boundary arcs resolved",
        {"R0": "leads and contacts", "R1": "bulk ionic resistance", "CPE1": "bulk capacitance",
         "R2": "grain-boundary resistance", "CPE2": "grain-boundary capacitance",
         "R3": "both Li | SE interfaces together", "CPE3": "interface capacitance"},
        {"R0": "series", "R1": "bulk", "R2": "grain_boundary", "R3": "interface"},
    ),
    NamedModel(
        "composite-cathode",
        "R0-p(R1,CPE1)-p(R2,CPE2)-Wo1",
        "All-solid-state half cell: composite cathode | SE separator | In-Li (or Li) anode",
        {"R0": "separator ionic resistance plus contacts (its arc lies above the frequency range)",
         "R1": "anode | SE interface",
         "CPE1": "anode interface capacitance",
         "R2": "cathode active material | SE charge transfer",
         "CPE2": "cathode | SE double layer",
         "Wo1": "solid-state Li diffusion in the active particles (finite space, reflective "
                "boundary): Z0 diffusion resistance, tau = r²/D"},
        {"R0": "series", "R1": "interface", "R2": "charge_transfer"},
    ),
    NamedModel(
        "randles",
        "R0-p(R1-W1,CPE1)",
        "Randles cell: electrolyte resistance, charge transfer with semi-infinite diffusion "
        "parallel to a double layer",
        {"R0": "electrolyte and contact resistance", "R1": "charge-transfer resistance",
         "W1": "semi-infinite Warburg diffusion coefficient", "CPE1": "double layer"},
        {"R0": "series", "R1": "charge_transfer"},
    ),
)}


def get_model(name: str) -> NamedModel:
    """A named model.

    Raises
    ------
    FitError
        When no model has that name (the message lists the names).
    """
    try:
        return MODELS[name]
    except KeyError:
        raise FitError(f"no circuit model named {name!r}; known models: "
                       f"{sorted(MODELS)}") from None
