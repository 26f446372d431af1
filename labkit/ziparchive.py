"""Zip containers (Neware ``.ndax`` and zipped ``.nda``, schedule archives) whose damage is
a labkit error.

:mod:`zipfile` reports a damaged archive in many ways: ``BadZipFile`` (bad magic, CRC,
truncated directory), ``NotImplementedError`` (a version-needed field of 21.0, an
unknown compression method, strong encryption), ``RuntimeError`` (an encrypted member),
``zlib.error`` / ``lzma.LZMAError`` / ``OSError`` / ``EOFError`` (a damaged compressed
stream), ``ValueError``, ``struct.error`` (truncated extra fields), ``UnicodeDecodeError``
(a member name flagged UTF-8 that is not). :func:`open_zip` and :func:`read_member`
turn each into the caller's :class:`~labkit.errors.LabkitError` naming the file, the
member's byte offset and what was expected.
"""

from __future__ import annotations

import io
import lzma
import struct
import zipfile
import zlib
from pathlib import Path

from labkit.errors import FormatError, LabkitError

#: Everything :mod:`zipfile` raises on a damaged archive (see the module docstring).
ZIP_DAMAGE = (zipfile.BadZipFile, NotImplementedError, RuntimeError, zlib.error,
              lzma.LZMAError, OSError, EOFError, ValueError, struct.error)

_EXPECTED = "expected an intact zip archive whose members are stored or deflated"


def open_zip(raw: bytes, path: Path, error: type[LabkitError] = FormatError) -> zipfile.ZipFile:
    """The zip archive held in ``raw`` (the bytes of ``path``).

    Raises
    ------
    LabkitError
        ``error`` (default :class:`FormatError`) when the archive's directory is damaged.
    """
    try:
        return zipfile.ZipFile(io.BytesIO(raw))
    except ZIP_DAMAGE as exc:
        raise error(f"{_EXPECTED}; the zip directory is damaged: {_cause(exc)}", file=path,
                    position=_directory_position(raw)) from exc


def read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo | str, path: Path,
                error: type[LabkitError] = FormatError) -> bytes:
    """The uncompressed bytes of one member of ``archive`` (opened from ``path``).

    Raises
    ------
    LabkitError
        ``error`` (default :class:`FormatError`) naming the member and the byte offset of
        its local header when it cannot be read.
    """
    try:
        info = member if isinstance(member, zipfile.ZipInfo) else archive.getinfo(member)
    except KeyError:
        raise error(f"expected a member {member!r} in the zip archive, found "
                    f"{archive.namelist()}", file=path) from None
    try:
        return archive.read(info)
    except ZIP_DAMAGE as exc:
        raise error(f"{_EXPECTED}; member {info.filename!r} cannot be read: {_cause(exc)}",
                    file=path, position=f"byte {info.header_offset} (zip member "
                                        f"{info.filename!r})") from exc


def _cause(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _directory_position(raw: bytes) -> str:
    """Where the end-of-directory record is, or that it is missing."""
    end = raw.rfind(b"PK\x05\x06")
    if end < 0:
        return f"byte {len(raw)} (no end-of-directory record)"
    return f"byte {end} (end-of-directory record)"
