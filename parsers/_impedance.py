"""Helpers shared by the impedance parsers: building the tidy table, checking its numbers."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from labkit.errors import FormatError

#: The columns every impedance table starts with, in this order.
CORE_COLUMNS = ("spectrum", "frequency_hertz", "z_real_ohm", "z_imag_ohm")


def impedance_frame(
    frequency: np.ndarray,
    z_real: np.ndarray,
    z_imag: np.ndarray,
    *,
    spectrum: np.ndarray | int = 0,
    extra: Mapping[str, np.ndarray | float | int] | None = None,
) -> pd.DataFrame:
    """The tidy impedance table: ``spectrum``, frequency, Z', Z'' then the extra columns.

    Parameters
    ----------
    frequency, z_real, z_imag
        One value per point; ``z_imag`` with the sign as measured (capacitive < 0).
    spectrum
        Spectrum index per point, or one index for all points.
    extra
        Further columns (already in labkit names and SI units); scalars are broadcast.
    """
    count = len(frequency)
    columns: dict[str, np.ndarray] = {
        "spectrum": np.broadcast_to(np.asarray(spectrum, dtype=np.int64), (count,)).copy(),
        "frequency_hertz": np.asarray(frequency, dtype=np.float64),
        "z_real_ohm": np.asarray(z_real, dtype=np.float64),
        "z_imag_ohm": np.asarray(z_imag, dtype=np.float64),
    }
    for name, values in (extra or {}).items():
        array = np.asarray(values)
        columns[name] = np.broadcast_to(array, (count,)).copy() if array.ndim == 0 else array
    return pd.DataFrame(columns)


def concat_spectra(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Stack per-spectrum tables (each already carrying its ``spectrum`` index)."""
    if not frames:
        return pd.DataFrame({name: pd.Series(dtype=float) for name in CORE_COLUMNS}).astype(
            {"spectrum": np.int64}
        )
    return pd.concat(frames, ignore_index=True)


def require_finite_frequency(frame: pd.DataFrame, path: Path, first_data_line: int | None) -> None:
    """Raise a FormatError naming the first point whose frequency is missing or not positive."""
    frequency = frame["frequency_hertz"].to_numpy(dtype=float)
    bad = ~(np.isfinite(frequency) & (frequency > 0))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        position = None if first_data_line is None else f"line {first_data_line + row}"
        raise FormatError(
            f"expected a positive frequency, found {frequency[row]!r} at data point {row + 1}",
            file=path,
            position=position,
        )


def snake(label: str) -> str:
    """A vendor label as a snake_case fragment (``"IERange"`` -> ``"ie_range"``)."""
    label = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", label.strip())
    label = re.sub(r"[^0-9A-Za-z]+", "_", label).strip("_").lower()
    if not label:
        return "value"
    return label if label[0].isalpha() else f"c{label}"


# Header recognition for tables that name their columns freely (CSV, spreadsheets...).
_UNIT_TAIL = re.compile(r"\s*(?:[\(\[][^\)\]]*[\)\]]|/\s*\S+)\s*$")
_FREQUENCY = {"f", "freq", "freq.", "frequency", "frequency_hertz", "fre"}
_REAL = {"z'", "zre", "zreal", "re(z)", "real", "z_real", "z_real_ohm", "zs'", "re", "z'(a)",
         "zr", "real(z)", "z_re", "re z", "rez"}
_IMAG = {"z''", 'z"', "zim", "zimag", "zimg", "im(z)", "imag", "imaginary", "z_imag",
         "z_imag_ohm", "zs''", "im", "z''(b)", "zi", "imag(z)", "z_im", "im z", "imz", "z'_'"}
_MODULUS = {"|z|", "z", "zmod", "mod(z)", "modulus", "z_modulus_ohm", "abs(z)", "|z|(ohm)",
            "impedance", "zabs"}
_PHASE = {"phase", "phase(z)", "zphz", "theta", "theta(z)", "phi", "z_phase_degree", "phz",
          "phase angle"}


def _normalise(label: str) -> tuple[str, str]:
    """Lower-case label without its unit, and the unit (``"Z' / Ohm"`` -> ``("z'", "ohm")``)."""
    text = label.strip().strip('"').strip()
    unit_match = _UNIT_TAIL.search(text)
    unit = ""
    if unit_match and unit_match.start() > 0:
        unit = unit_match.group(0).strip().strip("()[]/ ").lower()
        text = text[: unit_match.start()]
    text = re.sub(r"^data:\s*", "", text.strip().lower())
    return re.sub(r"\s+", " ", text).strip(), unit


@dataclass(frozen=True)
class ColumnPlan:
    """Which column holds what, as decided from a header row.

    ``imag_sign`` / ``real_sign`` multiply the stored values to give the sign as measured;
    with ``modulus``/``phase`` instead of real/imag the complex value is built from them.
    """

    frequency: int
    real: int | None = None
    imag: int | None = None
    modulus: int | None = None
    phase: int | None = None
    real_sign: float = 1.0
    imag_sign: float = 1.0
    phase_sign: float = 1.0
    phase_in_radian: bool = False
    frequency_scale: float = 1.0
    impedance_scale: float = 1.0
    notes: tuple[str, ...] = ()


def plan_columns(labels: list[str], path: Path, position: str | None) -> ColumnPlan:
    """Decide frequency, Z' and Z'' (or |Z| and phase) from column labels.

    A leading minus (``-Z''``, ``-Im(Z)``, ``-Phase``) means the column holds the negated
    quantity. Raises a FormatError "ambiguous columns" naming the labels when no unique
    reading exists.
    """
    found: dict[str, list[tuple[int, float, str]]] = {k: [] for k in
                                                       ("f", "re", "im", "mod", "ph")}
    for index, label in enumerate(labels):
        name, unit = _normalise(label)
        sign = 1.0
        if name.startswith("-"):
            sign, name = -1.0, name[1:].strip()
        name = name.replace("’", "'").replace("´", "'")
        for key, vocabulary in (("f", _FREQUENCY), ("re", _REAL), ("im", _IMAG),
                                ("mod", _MODULUS), ("ph", _PHASE)):
            if name in vocabulary:
                found[key].append((index, sign, unit))
    ambiguous = [key for key, hits in found.items() if len(hits) > 1]
    has_cartesian = len(found["re"]) == 1 and len(found["im"]) == 1
    has_polar = len(found["mod"]) == 1 and len(found["ph"]) == 1
    if len(found["f"]) != 1 or not (has_cartesian or has_polar) or (
            ambiguous and not (has_cartesian and not {"f", "re", "im"} & set(ambiguous))):
        raise FormatError(
            f"ambiguous columns {labels}: expected exactly one frequency column and one pair "
            "of Z'/Z'' (e.g. 'Z'', '-Z''', 'Zimag') or |Z|/phase columns",
            file=path, position=position,
        )
    f_index, _, f_unit = found["f"][0]
    frequency_scale = {"khz": 1e3, "mhz": 1e6}.get(f_unit, 1.0)
    notes = []
    if has_cartesian:
        (re_index, re_sign, re_unit), (im_index, im_sign, _) = found["re"][0], found["im"][0]
        scale = {"mohm": 1e-3, "mω": 1e-3, "kohm": 1e3, "kω": 1e3}.get(re_unit, 1.0)
        if im_sign < 0:
            notes.append(f"column {labels[im_index]!r} holds -Z''; negated to Z'' as measured")
        if re_sign < 0:
            notes.append(f"column {labels[re_index]!r} holds -Z'; negated")
        polar = {}
        if has_polar:
            (mod_index, _, _), (ph_index, ph_sign, ph_unit) = found["mod"][0], found["ph"][0]
            polar = {"modulus": mod_index, "phase": ph_index, "phase_sign": ph_sign,
                     "phase_in_radian": ph_unit in ("rad", "radian")}
        return ColumnPlan(f_index, real=re_index, imag=im_index, real_sign=re_sign,
                          imag_sign=im_sign, frequency_scale=frequency_scale,
                          impedance_scale=scale, notes=tuple(notes), **polar)
    (mod_index, _, mod_unit), (ph_index, ph_sign, ph_unit) = found["mod"][0], found["ph"][0]
    scale = {"mohm": 1e-3, "mω": 1e-3, "kohm": 1e3, "kω": 1e3}.get(mod_unit, 1.0)
    notes.append(f"Z' and Z'' computed from {labels[mod_index]!r} and {labels[ph_index]!r}")
    return ColumnPlan(f_index, modulus=mod_index, phase=ph_index, phase_sign=ph_sign,
                      phase_in_radian=ph_unit in ("rad", "radian"),
                      frequency_scale=frequency_scale, impedance_scale=scale, notes=tuple(notes))


def apply_plan(plan: ColumnPlan, columns: list[np.ndarray] | np.ndarray) -> dict[str, np.ndarray]:
    """Frequency, Z', Z'' (and |Z|, phase when given) from the planned columns.

    ``columns`` is a list of columns or a 2-D array of them (``values.T``).
    """
    out = {"frequency_hertz": columns[plan.frequency] * plan.frequency_scale}
    if plan.modulus is not None and plan.phase is not None:
        modulus = columns[plan.modulus] * plan.impedance_scale
        phase = plan.phase_sign * columns[plan.phase]
        radian = phase if plan.phase_in_radian else np.deg2rad(phase)
        out["z_real_ohm"] = modulus * np.cos(radian)
        out["z_imag_ohm"] = modulus * np.sin(radian)
        out["z_modulus_ohm"] = modulus
        out["z_phase_degree"] = np.rad2deg(radian)
    if plan.real is not None and plan.imag is not None:
        out["z_real_ohm"] = plan.real_sign * columns[plan.real] * plan.impedance_scale
        out["z_imag_ohm"] = plan.imag_sign * columns[plan.imag] * plan.impedance_scale
    return out


def split_sweeps(frequency: np.ndarray) -> np.ndarray:
    """Spectrum index per point for sweeps written one after the other.

    A new spectrum starts where the frequency steps against the direction of the
    first sweep (e.g. back up to 10 kHz after reaching 1 Hz).
    """
    steps = np.diff(frequency)
    moving = steps[steps != 0]
    if moving.size == 0:
        return np.zeros(len(frequency), dtype=np.int64)
    direction = np.sign(moving[0])
    restart = np.concatenate(([False], np.sign(steps) == -direction))
    return np.cumsum(restart).astype(np.int64)


def drop_zero_frequency(data: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Remove rows with frequency 0 (separators between sweeps, DC parts of mixed exports)."""
    zero = data["frequency_hertz"].to_numpy(dtype=float) == 0
    if not zero.any():
        return data
    notes.append(f"{int(zero.sum())} row(s) with frequency 0 (not impedance points) dropped")
    return data.loc[~zero].reset_index(drop=True)


def numeric_block(lines: list[str], first: int, path: Path, *, sep: str | None = None,
                  decimal: str = ".", columns: int | None = None) -> np.ndarray:
    """Rows of numbers as a 2-D float array, errors naming the file line.

    Parameters
    ----------
    lines
        The file's lines; the block is ``lines[first:]`` (blank lines skipped).
    first
        0-based index of the block's first line.
    sep
        Field separator; ``None`` for any white space.
    columns
        Expected number of fields per row (default: as many as the first row has).
    """
    body = "\n".join(lines[first:])
    try:
        frame = pd.read_csv(io.StringIO(body), sep=r"\s+" if sep is None else sep, header=None,
                            decimal=decimal, skipinitialspace=True, engine="c",
                            names=None if columns is None else list(range(columns)))
    except pd.errors.ParserError as exc:
        found = re.search(r"line (\d+)", str(exc))
        position = f"line {first + int(found.group(1))}" if found else None
        raise FormatError(f"rows of numbers expected, with a constant number of fields: {exc}",
                          file=path, position=position) from exc
    except pd.errors.EmptyDataError as exc:
        raise FormatError("expected rows of numbers, found none", file=path,
                          position=f"line {first + 1}") from exc
    if all(pd.api.types.is_numeric_dtype(dtype) for dtype in frame.dtypes):
        return frame.to_numpy(dtype=np.float64)
    raw = frame.astype(str).apply(lambda column: column.str.strip()).where(frame.notna())
    cleaned = raw.apply(lambda column: column.str.replace(",", ".", regex=False)) \
        if decimal == "," else raw
    values = cleaned.apply(pd.to_numeric, errors="coerce")
    bad = values.isna() & raw.notna() & (raw != "")
    if bad.to_numpy().any():
        row, column = (int(i[0]) for i in np.nonzero(bad.to_numpy()))
        line = first + 1 + _nonblank_offset(lines, first, row)
        raise FormatError(f"expected a number in field {column + 1}, found "
                          f"{raw.iat[row, column]!r}", file=path, position=f"line {line}")
    return values.to_numpy(dtype=np.float64)


def _nonblank_offset(lines: list[str], first: int, row: int) -> int:
    """Offset from ``first`` of the ``row``-th non-blank line (pandas skips blank lines)."""
    nonblank = np.flatnonzero([bool(line.strip()) for line in lines[first:]])
    return int(nonblank[row]) if row < len(nonblank) else row
