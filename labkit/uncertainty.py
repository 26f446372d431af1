"""One type for a number with its uncertainty and provenance, used by every analysis.

Every derived number labkit reports (a fitted parameter, σ, Ea, t⁺, CCD inputs...)
is an :class:`Estimate`: the value, its one-sigma standard uncertainty, its unit when
the field name does not already say it, and the inputs it came from. Its
:meth:`~Estimate.to_dict` is the ``{"value": x, "stderr": s}`` object of
DESIGN.md's command-line conventions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Estimate:
    """A number with its standard error (``nan`` when it cannot be estimated).

    Attributes
    ----------
    value
        Best estimate.
    stderr
        One-sigma standard uncertainty, same unit as ``value``.
    unit
        The unit, when the name holding the estimate does not spell it.
    inputs
        What the number was computed from (values, formula), for provenance.
    """

    value: float
    stderr: float = math.nan
    unit: str = ""
    inputs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def determined(self) -> bool:
        """Whether the data determine the value: finite, with a finite standard error no
        larger than the value. An undetermined value is never a result."""
        return math.isfinite(self.value) and math.isfinite(self.stderr) and \
            self.stderr <= abs(self.value)

    def to_dict(self) -> dict[str, Any]:
        """``{"value": x, "stderr": s}`` (non-finite as ``None``), plus unit and inputs if set."""
        out: dict[str, Any] = {"value": finite_or_none(self.value),
                               "stderr": finite_or_none(self.stderr)}
        if self.unit:
            out["unit"] = self.unit
        if self.inputs:
            out["inputs"] = dict(self.inputs)
        return out


def finite_or_none(value: float | None) -> float | None:
    """``value`` as a float, or ``None`` when it is missing, NaN or infinite."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
