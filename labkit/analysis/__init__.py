"""Electrochemical test analyses: cycling, rate, fast charge, CCD, transference, stability window.

Each analysis is a pure function of a record returning a frozen result with
``to_dict()`` and ``to_frame()``:

>>> from labkit.analysis import summarize_cycles, critical_current_density
>>> summary = summarize_cycles(labkit.read("cell.mpr"))            # doctest: +SKIP
>>> ccd = critical_current_density(labkit.read("li_llzo_li.mpr"), area_square_centimeter=0.8)
...                                                                  # doctest: +SKIP
"""

import importlib
from typing import Any

# name -> module; imported on first use so ``import labkit.analysis.x`` (the CLI) stays light
_EXPORTS = {
    "Estimate": "_base",
    "CcdCriteria": "ccd", "CcdResult": "ccd", "critical_current_density": "ccd",
    "CycleSummary": "cycling", "summarize_cycles": "cycling",
    "DifferentialCapacity": "dqdv", "differential_capacity": "dqdv",
    "FastChargeResult": "fast_charge", "fast_charge_metrics": "fast_charge",
    "ElectrolyteLimits": "limits", "electrolyte_limits": "limits",
    "RateResult": "rate", "TianFit": "rate", "fit_tian": "rate", "rate_capability": "rate",
    "Onset": "stability", "StabilityWindow": "stability", "Sweep": "stability",
    "find_sweeps": "stability", "stability_window": "stability",
    "StepParameters": "steps", "Steps": "steps", "detect_steps": "steps",
    "SymmetricCellFit": "transference", "TransferenceResult": "transference",
    "fit_symmetric_cell": "transference", "transference_number": "transference",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'labkit.analysis' has no attribute {name!r}")
    return getattr(importlib.import_module(f"labkit.analysis.{_EXPORTS[name]}"), name)


__all__ = [
    "CcdCriteria",
    "CcdResult",
    "CycleSummary",
    "DifferentialCapacity",
    "ElectrolyteLimits",
    "Estimate",
    "FastChargeResult",
    "Onset",
    "RateResult",
    "StabilityWindow",
    "StepParameters",
    "Steps",
    "Sweep",
    "SymmetricCellFit",
    "TianFit",
    "TransferenceResult",
    "critical_current_density",
    "detect_steps",
    "differential_capacity",
    "electrolyte_limits",
    "fast_charge_metrics",
    "fit_symmetric_cell",
    "find_sweeps",
    "fit_tian",
    "rate_capability",
    "stability_window",
    "summarize_cycles",
    "transference_number",
]
