"""What the KK and DRT functions accept as "a spectrum", turned into plain arrays.

A spectrum is a ``(frequency_hertz, impedance)`` pair (impedance complex, sign as
measured), or the rows of one spectrum of an :class:`~labkit.data.ImpedanceRecord`
(a DataFrame with ``frequency_hertz``, ``z_real_ohm``, ``z_imag_ohm``). An
:class:`~labkit.data.ImpedanceRecord` or any other iterable of those is a batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from labkit.data import ImpedanceRecord
from labkit.errors import AnalysisError, SchemaError


@dataclass(frozen=True, eq=False)
class Spectrum:
    """One impedance spectrum sorted by decreasing frequency, without non-finite points.

    Attributes
    ----------
    frequency_hertz
        Frequencies, strictly positive, decreasing.
    impedance_ohm
        Complex impedance, capacitive arcs with negative imaginary part.
    """

    frequency_hertz: np.ndarray
    impedance_ohm: np.ndarray


def as_spectrum(spectrum: Any, *, minimum_points: int = 3) -> Spectrum:
    """Coerce one spectrum (pair of arrays or one spectrum's rows) to :class:`Spectrum`.

    Raises
    ------
    SchemaError
        When the input is neither form.
    AnalysisError
        When fewer than ``minimum_points`` usable points remain.
    """
    if isinstance(spectrum, Spectrum):
        frequency, impedance = spectrum.frequency_hertz, spectrum.impedance_ohm
    elif isinstance(spectrum, pd.DataFrame):
        missing = {"frequency_hertz", "z_real_ohm", "z_imag_ohm"} - set(spectrum.columns)
        if missing:
            raise SchemaError(f"spectrum table lacks columns {sorted(missing)}")
        if "spectrum" in spectrum and spectrum["spectrum"].nunique() > 1:
            raise SchemaError("table holds several spectra; pass one, or use the batch function")
        frequency = spectrum["frequency_hertz"].to_numpy(float)
        impedance = spectrum["z_real_ohm"].to_numpy(float) + 1j * spectrum[
            "z_imag_ohm"
        ].to_numpy(float)
    elif isinstance(spectrum, tuple) and len(spectrum) == 2:
        frequency = np.asarray(spectrum[0], dtype=float)
        impedance = np.asarray(spectrum[1], dtype=complex)
    else:
        raise SchemaError(
            "a spectrum is a (frequency_hertz, complex impedance) pair or the rows of one "
            f"spectrum of an impedance record, not {type(spectrum).__name__}"
        )
    if frequency.shape != impedance.shape or frequency.ndim != 1:
        raise SchemaError("frequency and impedance must be 1-D arrays of the same length")
    usable = np.isfinite(frequency) & (frequency > 0) & np.isfinite(impedance)
    if usable.sum() < minimum_points:
        raise AnalysisError(
            f"spectrum has {int(usable.sum())} usable points (positive finite frequency and "
            f"finite impedance); at least {minimum_points} are needed"
        )
    order = np.argsort(-frequency[usable], kind="stable")
    return Spectrum(frequency[usable][order], impedance[usable][order])


def iter_spectra(spectra: Any) -> Iterator[Any]:
    """The spectra of a batch: every spectrum of a record, or the items of an iterable."""
    if isinstance(spectra, ImpedanceRecord):
        for _, rows in spectra.spectra():
            yield rows
    elif isinstance(spectra, (pd.DataFrame, tuple, Spectrum)):
        yield spectra
    elif isinstance(spectra, Iterable):
        yield from spectra
    else:
        raise SchemaError(f"expected an impedance record or an iterable of spectra, not "
                          f"{type(spectra).__name__}")
