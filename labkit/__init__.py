"""labkit: battery cycler and impedance data for solid-state and fast-charging labs.

>>> import labkit
>>> record = labkit.read("cell_01.mpr")          # doctest: +SKIP
>>> record.data[["test_time_second", "voltage_volt", "current_ampere"]]  # doctest: +SKIP

The names below are imported on first use, so ``import labkit`` (and the command
line's ``--help``) does not pay for pandas until a record is needed.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "CycleSummaryRecord": "labkit.data",
    "CyclingRecord": "labkit.data",
    "ImpedanceRecord": "labkit.data",
    "Metadata": "labkit.data",
    "Sample": "labkit.data",
    "AnalysisError": "labkit.errors",
    "FitError": "labkit.errors",
    "FormatError": "labkit.errors",
    "LabkitError": "labkit.errors",
    "MetadataError": "labkit.errors",
    "ProtocolError": "labkit.errors",
    "SchemaError": "labkit.errors",
    "StoreError": "labkit.errors",
    "MaterialCard": "labkit.material_card",
    "card": "labkit.material_card",
    "read_parquet": "labkit.parquet",
    "detect": "labkit.registry",
    "formats": "labkit.registry",
    "read": "labkit.registry",
    "Store": "labkit.store",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'labkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
