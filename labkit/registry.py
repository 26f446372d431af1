"""The registry of file formats and :func:`read`, which detects the format by content.

Every parser module in ``labkit.parsers`` registers its formats with
:func:`register`: a pure ``sniff(head, path) -> bool`` that looks only at the
first bytes of a file (and, as a hint, its name), and a pure
``read(path) -> record``. :func:`read` runs every sniffer on the file's head,
picks the most specific match, parses, validates the record and fills in the
provenance (path, SHA-256, size, format, parser version).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import os
import pkgutil
import stat
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

from labkit import __version__
from labkit.data import Record
from labkit.errors import FormatError, LabkitError
from labkit.fileio import start_sha256

#: How many bytes of a file the sniffers see.
HEAD_BYTES = 64 * 1024

#: Files up to this size are read into memory once: sniffed, hashed and parsed from the
#: same bytes (parsers get them from :func:`file_bytes`). Larger ones are read in parts.
WHOLE_FILE_BYTE = 64 * 1024 * 1024

Sniffer = Callable[[bytes, Path], bool]
Reader = Callable[[Path], Record]

# Exceptions that, raised from inside a parser, can only mean the file's
# content is not what the parser expected. They become a FormatError that
# names the parser, so a damaged file never surfaces as a bare traceback.
_CONTENT_ERRORS = (
    ValueError,
    IndexError,
    KeyError,
    struct.error,
    UnicodeError,
    zipfile.BadZipFile,
    EOFError,
    OverflowError,
    zlib.error,
)


@dataclass(frozen=True)
class Format:
    """A file format labkit reads.

    Attributes
    ----------
    name
        Short stable name used by ``--format`` (``"biologic-mpr"``).
    vendor
        Instrument maker.
    description
        One line for ``labkit formats``.
    extensions
        Usual file name endings, lower case, with the dot.
    kind
        ``"cycling"``, ``"impedance"``, ``"cycling/impedance"`` (decided per file) or
        ``"cycle_summary"`` (one row per cycle).
    sniff
        ``sniff(head, path) -> bool``; must not open the file.
    read
        ``read(path) -> record``.
    priority
        Among several sniffers that match, the highest wins; generic readers use < 0.
    version
        Revision of this parser, bumped when its output changes.
    """

    name: str
    vendor: str
    description: str
    extensions: tuple[str, ...]
    kind: str
    sniff: Sniffer
    read: Reader
    priority: int = 0
    version: str = "1"


_FORMATS: dict[str, Format] = {}
_BROKEN: dict[str, str] = {}
_loaded = False


def register(
    name: str,
    *,
    vendor: str,
    description: str,
    extensions: tuple[str, ...],
    kind: str,
    sniff: Sniffer,
    priority: int = 0,
    version: str = "1",
) -> Callable[[Reader], Reader]:
    """Register the decorated ``read(path)`` function as the reader of a format."""

    def decorate(reader: Reader) -> Reader:
        if name in _FORMATS and _FORMATS[name].read is not reader:
            raise RuntimeError(f"format {name!r} registered twice")
        _FORMATS[name] = Format(name, vendor, description, tuple(extensions), kind, sniff,
                                reader, priority, version)
        _ranked.cache_clear()
        return reader

    return decorate


def _load_parsers() -> None:
    global _loaded
    if _loaded:
        return
    import labkit.parsers as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.name.startswith("_"):
            continue
        try:
            importlib.import_module(f"labkit.parsers.{module.name}")
        except Exception as exc:  # one broken parser must not stop the others
            _BROKEN[module.name] = f"{type(exc).__name__}: {exc}"
            warnings.warn(f"labkit parser module {module.name!r} failed to import: {exc}",
                          RuntimeWarning, stacklevel=2)
    _loaded = True


def broken_parsers() -> dict[str, str]:
    """Parser modules that failed to import: module name -> error. Empty when all is well."""
    _load_parsers()
    return dict(_BROKEN)


def formats() -> list[Format]:
    """Every registered format, sorted by vendor then name."""
    _load_parsers()
    return sorted(_FORMATS.values(), key=lambda f: (f.vendor.lower(), f.name))


def get_format(name: str) -> Format:
    """The format called ``name``.

    Raises
    ------
    LabkitError
        When no format has that name (the message lists the names).
    """
    _load_parsers()
    try:
        return _FORMATS[name]
    except KeyError:
        raise LabkitError(
            f"unknown format {name!r}; known formats: {', '.join(sorted(_FORMATS))}"
        ) from None


def read_head(path: Path) -> bytes:
    """The first :data:`HEAD_BYTES` bytes of a file."""
    return _head_and_size(path, whole_up_to=0)[0]


def _head_and_size(path: Path, whole_up_to: int | None = None) -> tuple[bytes, int]:
    """The first bytes of a regular file and its size, from one open: the whole file up to
    ``whole_up_to`` bytes (default :data:`WHOLE_FILE_BYTE`), else :data:`HEAD_BYTES`.

    Raises
    ------
    LabkitError
        When there is no such file or it is not a regular file (opened without
        blocking, so a FIFO is refused instead of waited on).
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise LabkitError("no such file", file=path) from None
    except (IsADirectoryError, PermissionError):
        if not path.is_dir():  # Windows refuses to open a folder with PermissionError
            raise
        raise LabkitError("not a regular file (a folder?); give a file", file=path) from None
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise LabkitError("not a regular file (a folder?); give a file", file=path)
        chunks: list[bytes] = []
        limit = WHOLE_FILE_BYTE if whole_up_to is None else whole_up_to
        wanted = status.st_size if status.st_size <= limit else HEAD_BYTES
        while wanted and (chunk := os.read(fd, wanted)):
            chunks.append(chunk)
            wanted -= len(chunk)
        return b"".join(chunks), status.st_size
    finally:
        os.close(fd)


# The file labkit.read is parsing, when it already holds all of its bytes.
_whole_file: ContextVar[tuple[Path, bytes] | None] = ContextVar("labkit_whole_file", default=None)


def file_bytes(path: Path) -> bytes:
    """All bytes of ``path``, for a parser: a file that :func:`read` already read whole
    (to sniff and hash it; up to :data:`WHOLE_FILE_BYTE`) is not read again, so the
    recorded SHA-256 is that of the very bytes parsed."""
    held = _whole_file.get()
    if held is not None and held[0] == path:
        return held[1]
    return Path(path).read_bytes()


def detect(path: str | PathLike[str]) -> Format:
    """The format of a file, decided by its content (the name only breaks ties).

    Raises
    ------
    FormatError
        When the file is empty or no format recognises it.
    """
    path = Path(path)
    return _detect(path, read_head(path))


def _detect(path: Path, head: bytes) -> Format:
    if not head:
        raise FormatError("file is empty (0 bytes); expected instrument data", file=path,
                          position="byte 0")
    for fmt in _ranked("".join(path.suffixes[-2:]).lower()):
        if _sniffs(fmt, head, path):
            return fmt
    raise FormatError(
        f"not a format labkit recognises (first bytes {head[:16]!r}); "
        "see `labkit formats`, or pass format= / --format to force one",
        file=path,
        position="byte 0",
    )


@functools.lru_cache(maxsize=256)
def _ranked(suffix: str) -> tuple[Format, ...]:
    """Formats most specific first for a file name ending in ``suffix``: higher priority,
    then a matching extension, then the listing order. The first sniffer that recognises
    a head decides, so a typical file runs a handful of sniffers instead of all of them."""
    return tuple(sorted(formats(), key=lambda f: (
        -f.priority, not any(suffix.endswith(ext) for ext in f.extensions))))


def _sniffs(fmt: Format, head: bytes, path: Path) -> bool:
    try:
        return bool(fmt.sniff(head, path))
    except _CONTENT_ERRORS:
        return False


def read(path: str | PathLike[str], format: str | None = None,
         timezone: str | None = None) -> Record:
    """Read an instrument file into a labkit record.

    Parameters
    ----------
    path
        The file. It is only opened for reading.
    format
        A format name from ``labkit formats`` to skip detection.
    timezone
        IANA zone of the instrument computer's clock (``"Europe/Berlin"``): local
        wall-clock times the file states without a zone (``meta.time_zone == "local"``,
        read as if UTC otherwise) are converted to UTC (:mod:`labkit.timezones`).

    Returns
    -------
    CyclingRecord, ImpedanceRecord or CycleSummaryRecord
        With ``meta`` carrying the file's path, SHA-256, size, format and parser version.

    Raises
    ------
    FormatError
        When the file is not in a format labkit reads or is damaged; the message names
        the file, the position and what was expected.
    """
    path = Path(path)
    head, size = _head_and_size(path)
    fmt = get_format(format) if format else _detect(path, head[:HEAD_BYTES])
    sha256 = start_sha256(path, head, size)  # deferred, or overlapping a large file's parse
    held = _whole_file.set((path, head) if len(head) == size else None)
    try:
        record = fmt.read(path)
    except LabkitError as exc:
        if exc.file is None:
            exc.file = str(path)
            exc.args = (exc._render(),)
        raise
    except _CONTENT_ERRORS as exc:
        raise FormatError(
            f"{fmt.name} parser could not make sense of the content: {type(exc).__name__}: {exc}",
            file=path,
        ) from exc
    finally:
        _whole_file.reset(held)
    meta = dataclasses.replace(
        record.meta,
        source_path=str(path),
        source_sha256=sha256,  # computed when first asked for
        source_size_byte=size,
        file_format=fmt.name,
        parser_version=f"{__version__}+{fmt.name}.{fmt.version}",
        vendor=record.meta.vendor or fmt.vendor,
    )
    record = type(record)(data=record.data, meta=meta)
    record.validate()
    if timezone is not None:
        from labkit.timezones import localize

        record = localize(record, timezone)
    return record
