"""Registry of schedule file formats: writers (schedule -> file) and readers (file -> schedule).

Each format module in ``labkit.protocols`` registers itself with :func:`register`.
:func:`write` validates the schedule first (an unsafe schedule is never written),
refuses steps labkit keeps opaque (vendor steps it does not model) unless the format
stores them, and writes atomically.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, fields
from os import PathLike
from pathlib import Path

from labkit.errors import ProtocolError
from labkit.fileio import atomic_write
from labkit.protocols.schedule import Schedule


@dataclass(frozen=True)
class ScheduleFormat:
    """A schedule file format.

    Attributes
    ----------
    name
        ``--format`` name (``maccor``, ``biologic``, ``neware``, ``arbin``, ``pybamm``...).
    extension
        Default file extension, with the dot.
    render
        ``render(schedule) -> bytes`` (None for read-only formats).
    parse
        ``parse(path) -> Schedule`` (None for write-only formats).
    sniff
        ``sniff(head: bytes, path) -> bool`` for readers.
    description
        One line for ``labkit protocol formats``.
    capacity_at_start
        The cycler software is given the cell's nominal capacity when the test starts
        (Maccor, BioLogic, Arbin's battery object, PyBaMM's parameter set), so C-rates
        and capacity fractions in the file resolve then: a file whose cell states no
        capacity is still valid (``labkit protocol check`` says what to give the cycler).
    native
        labkit's own schedule file: checked by the rules labkit writes by (a time limit
        on every step). Vendor files are checked for what makes a test unsafe: a step
        that ends on voltage or current alone is noted, not refused.
    writes_opaque
        The writer keeps steps labkit does not model (``opaque``); every other writer
        refuses a schedule holding one.
    """

    name: str
    extension: str
    description: str
    render: Callable[[Schedule], bytes] | None = None
    parse: Callable[[Path], Schedule] | None = None
    sniff: Callable[[bytes, Path], bool] | None = None
    capacity_at_start: bool = False
    native: bool = False
    writes_opaque: bool = False


_FORMATS: dict[str, ScheduleFormat] = {}
_loaded = False


def register(fmt: ScheduleFormat) -> ScheduleFormat:
    """Add or extend a format (a module may register the writer and reader separately)."""
    existing = _FORMATS.get(fmt.name)
    if existing is not None:
        fmt = ScheduleFormat(**{f.name: getattr(fmt, f.name) or getattr(existing, f.name)
                                for f in fields(ScheduleFormat)})
    _FORMATS[fmt.name] = fmt
    return fmt


def _load() -> None:
    global _loaded
    if _loaded:
        return
    import labkit.protocols as package

    for module in pkgutil.iter_modules(package.__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"labkit.protocols.{module.name}")
    _loaded = True


def schedule_formats() -> list[ScheduleFormat]:
    """Every registered schedule format, sorted by name."""
    _load()
    return sorted(_FORMATS.values(), key=lambda f: f.name)


def get(name: str) -> ScheduleFormat:
    """The format called ``name``."""
    _load()
    if name not in _FORMATS:
        raise ProtocolError(f"unknown schedule format {name!r}; known: {sorted(_FORMATS)}")
    return _FORMATS[name]


def render(schedule: Schedule, format: str) -> bytes:
    """The file content of ``schedule`` in ``format``, after validation."""
    fmt = get(format)
    if fmt.render is None:
        raise ProtocolError(f"labkit reads {format} schedules but does not write them")
    if not fmt.writes_opaque:
        opaque = [step for step, _ in schedule.labelled().flat_steps() if step.kind == "opaque"]
        if opaque:
            listing = "; ".join(f"{step.label} ({step.vendor_step or 'opaque'})"
                                for step in opaque)
            raise ProtocolError(f"a {format} file cannot hold steps labkit does not model, "
                                f"read from a vendor file and kept opaque: {listing}")
    return fmt.render(schedule.validate())


def write(schedule: Schedule, path: str | PathLike[str], format: str) -> Path:
    """Validate ``schedule`` and write it to ``path`` in ``format`` (temp file + rename)."""
    content = render(schedule, format)
    path = Path(path)
    with atomic_write(path, "wb") as handle:
        handle.write(content)
    return path


def read(path: str | PathLike[str], format: str | None = None) -> tuple[Schedule, str]:
    """Read a schedule file; returns the schedule and the format name it was read as."""
    path = Path(path)
    if not path.is_file():
        raise ProtocolError("no such schedule file", file=path)
    with open(path, "rb") as handle:  # the head only: a 20 MB cycler file is no schedule
        head = handle.read(65536)
    candidates = [get(format)] if format else [
        f for f in schedule_formats() if f.parse and f.sniff and _sniffs(f, head, path)]
    if not candidates:
        raise ProtocolError("not a schedule format labkit reads (see `labkit protocol formats`)",
                            file=path, position="byte 0")
    fmt = candidates[0]
    if fmt.parse is None:
        raise ProtocolError(f"labkit writes {fmt.name} schedules but does not read them")
    try:
        return fmt.parse(path), fmt.name
    except ProtocolError as exc:
        if exc.file is None:
            exc.file = str(path)
            exc.args = (exc._render(),)
        raise
    except (ValueError, KeyError, IndexError, UnicodeError) as exc:
        raise ProtocolError(f"{fmt.name} schedule could not be read: {exc}", file=path) from exc


def _sniffs(fmt: ScheduleFormat, head: bytes, path: Path) -> bool:
    try:
        return bool(fmt.sniff(head, path))
    except (ValueError, UnicodeError):
        return False
