"""labkit: battery cycler and impedance data for solid-state and fast-charging labs.

>>> import labkit
>>> record = labkit.read("cell_01.mpr")          # doctest: +SKIP
>>> record.data[["test_time_second", "voltage_volt", "current_ampere"]]  # doctest: +SKIP
"""

__version__ = "0.1.0"

from labkit.data import CyclingRecord, ImpedanceRecord, Metadata, Sample  # noqa: E402
from labkit.errors import (  # noqa: E402
    AnalysisError,
    FitError,
    FormatError,
    LabkitError,
    MetadataError,
    ProtocolError,
    SchemaError,
    StoreError,
)
from labkit.parquet import read_parquet  # noqa: E402
from labkit.registry import detect, formats, read  # noqa: E402
from labkit.store import Store  # noqa: E402

__all__ = [
    "AnalysisError",
    "CyclingRecord",
    "FitError",
    "FormatError",
    "ImpedanceRecord",
    "LabkitError",
    "Metadata",
    "MetadataError",
    "ProtocolError",
    "Sample",
    "SchemaError",
    "Store",
    "StoreError",
    "__version__",
    "detect",
    "formats",
    "read",
    "read_parquet",
]
