"""The card's figure: the material's row placed among the review's published ones.

Panels (each drawn by :mod:`labkit.literature`): σ against CCD of the Table 1 ceramics (or σ
against t⁺ of the Table 3 polymers), oxidative stability against σ of both tables, and,
when the card has specific capacities, capacity against C-rate of the Table 2/3 cells with
the USABC fast-charge line. The review's points are always drawn; the material's own
point appears where the card has both of a panel's numbers.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

import pandas as pd

from labkit.material_card.card import MaterialCard


def card_figure(material_card: MaterialCard) -> list[Any]:
    """Draw the card's panels on one figure and return their axes."""
    import matplotlib.pyplot as plt

    from labkit import literature

    row = material_card.row
    sigma = row.get("conductivity_siemens_per_centimeter")
    sigma_estimate = None if sigma is None else sigma.estimate
    temperature = 25.0 if sigma is None else float(sigma.conditions.get("temperature_celsius",
                                                                         25.0))
    cells = [v for v in material_card.values
             if v.quantity == "specific_capacity_milliampere_hour_per_gram"]
    count = 3 if cells else 2
    figure = plt.figure(figsize=(4.9 * count, 4.0), layout="constrained")
    axes = list(figure.subplots(1, count))
    label = material_card.material
    if material_card.table == 1:
        ccd = row.get("ccd_milliampere_per_square_centimeter")
        literature.ceramics_figure(sigma_estimate, None if ccd is None else ccd.estimate.value,
                                   temperature_celsius=temperature, label=label, ax=axes[0])
    else:
        t_plus = row.get("transference_number")
        literature.polymers_figure(sigma_estimate, None if t_plus is None else t_plus.estimate,
                                   temperature_celsius=temperature, label=label, ax=axes[0])
    oxidative = row.get("oxidative_stability_volt")
    literature.stability_figure(sigma_estimate, None if oxidative is None else oxidative.estimate,
                                temperature_celsius=temperature, label=label, ax=axes[1])
    if cells:
        literature.cells_figure(pd.DataFrame({
            "c_rate_per_hour": [v.conditions["c_rate_per_hour"] for v in cells],
            "specific_capacity_milliampere_hour_per_gram": [v.estimate.value for v in cells]}),
            label=label, ax=axes[2])
    figure.suptitle(f"{material_card.material} (★) among the electrolytes of the review "
                    f"(J. Yu et al., Adv. Mater. 2025)", fontsize=10)
    return axes


def save_card_figure(material_card: MaterialCard, path: str | PathLike[str]) -> Path:
    """Draw the card's figure and write it (format from the suffix) atomically."""
    import matplotlib.pyplot as plt

    from labkit import plot

    axes = card_figure(material_card)
    try:
        plot.save(axes, str(path))
    finally:
        plt.close(axes[0].figure)
    return Path(path)
