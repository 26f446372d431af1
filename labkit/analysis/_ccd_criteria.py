"""The failure criteria of a CCD test, apart from :mod:`labkit.analysis.ccd` so that the
``labkit ccd`` command can show their defaults without importing the analysis."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CcdCriteria:
    """Failure criteria of a CCD test (see :mod:`labkit.analysis.ccd` for their meaning)."""

    drop_fraction: float = 0.5
    drop_window_samples: int = 3
    drop_floor_volt: float = 0.002
    collapse_fraction: float = 0.1
    collapse_voltage_volt: float = 0.001
    collapse_window_samples: int = 5
    noise_fraction: float = 0.1
    noise_factor: float = 5.0
    noise_window_samples: int = 10
    overpotential_limit_volt: float | None = 5.0
    same_duration_tolerance: float = 0.1
