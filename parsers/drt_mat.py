"""MATLAB ``.mat`` impedance inputs of DRTtools (variables ``freq``, ``Z_prime``,
``Z_double_prime``), read with :func:`scipy.io.loadmat`. ``Z_double_prime`` carries
the sign as measured.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from labkit.data import ImpedanceRecord, Metadata
from labkit.errors import FormatError
from labkit.parsers._impedance import impedance_frame, require_finite_frequency
from labkit.registry import register

_VARIABLES = ("freq", "Z_prime", "Z_double_prime")


def _sniff(head: bytes, path: Path) -> bool:
    return head.startswith(b"MATLAB 5.0 MAT-file")


@register("drttools-mat", vendor="DRTtools", description="DRTtools .mat input "
          "(freq, Z_prime, Z_double_prime)", extensions=(".mat",), kind="impedance",
          sniff=_sniff)
def read_drttools_mat(path: Path) -> ImpedanceRecord:
    """Read a DRTtools ``.mat`` file.

    Raises
    ------
    FormatError
        When the file is not a readable MAT file or lacks one of the three variables.
    """
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    path = Path(path)
    try:
        content = loadmat(path)
    except (MatReadError, ValueError, TypeError, OSError, EOFError, IndexError, KeyError,
            UnicodeError, zlib.error) as exc:
        raise FormatError(f"not a readable MATLAB file: {exc}", file=path,
                          position="byte 0") from exc
    missing = [name for name in _VARIABLES if name not in content]
    if missing:
        found = sorted(k for k in content if not k.startswith("__"))
        raise FormatError(f"expected variables {list(_VARIABLES)}, missing {missing} "
                          f"(found {found})", file=path)
    columns = [np.asarray(content[name], dtype=np.float64).ravel() for name in _VARIABLES]
    if len({c.size for c in columns}) != 1:
        raise FormatError(f"variables {list(_VARIABLES)} differ in length "
                          f"{[c.size for c in columns]}", file=path)
    data = impedance_frame(*columns)
    require_finite_frequency(data, path, None)
    return ImpedanceRecord(data, Metadata(technique=("EIS",)))
