"""The one exception hierarchy of labkit.

Every error labkit raises on bad input is a :class:`LabkitError`. Errors about
a file name the file and, where it is known, the position (a 1-based line
number for text, a byte offset for binary files) and what was expected, so a
lab pipeline can report the problem without a traceback.
"""

from __future__ import annotations

from os import PathLike
from typing import Any


class LabkitError(Exception):
    """Base class of every error labkit raises on purpose.

    Parameters
    ----------
    message
        What went wrong and what was expected, in words a user can act on.
    file
        The file concerned, if any.
    position
        Where in the file: ``"line 12"``, ``"byte 1024"``, ``"sheet 'record' row 3"``.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | PathLike[str] | None = None,
        position: str | None = None,
    ) -> None:
        self.message = message
        self.file = None if file is None else str(file)
        self.position = position
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.file is not None:
            where = self.file + (f" ({self.position})" if self.position else "") + ": "
        elif self.position:
            where = f"{self.position}: "
        return where + self.message

    def to_dict(self) -> dict[str, Any]:
        """The error as the JSON object the CLI prints (DESIGN.md, "Command line")."""
        return {
            "type": type(self).__name__,
            "message": self.message,
            "file": self.file,
            "position": self.position,
        }


class FormatError(LabkitError):
    """A file is not in the format expected, or is damaged."""


class SchemaError(LabkitError):
    """A table lacks a column or a value an operation needs, or has the wrong type."""


class MetadataError(LabkitError):
    """A sample value an analysis needs (area, thickness, mass...) was not given."""


class AnalysisError(LabkitError):
    """The data cannot support the requested analysis (e.g. no constant-voltage step)."""


class FitError(AnalysisError):
    """A model fit could not be carried out or did not converge."""


class ProtocolError(LabkitError):
    """A test schedule is incomplete, unsafe or cannot be written in a format."""


class StoreError(LabkitError):
    """The lab store or its catalog is unusable."""


def binary_position(offset: int) -> str:
    """Format a byte offset for :class:`LabkitError`'s ``position``."""
    return f"byte {offset}"


def line_position(line: int) -> str:
    """Format a 1-based line number for :class:`LabkitError`'s ``position``."""
    return f"line {line}"


def error_dict(exc: BaseException, *, file: str | PathLike[str] | None = None,
               position: str | None = None) -> dict[str, Any]:
    """Any exception as the CLI's error object, so that one bad item of a batch becomes that
    item's error entry instead of ending the batch.

    A :class:`LabkitError` gives its own fields (``file`` and ``position`` fill in what it
    leaves empty); any other exception is a defect of labkit, reported with its type and
    message and ``"internal": true``.
    """
    if isinstance(exc, LabkitError):
        out = exc.to_dict()
    else:
        out = {"type": type(exc).__name__, "message": str(exc) or repr(exc), "file": None,
               "position": None, "internal": True}
    out["file"] = out["file"] or (None if file is None else str(file))
    out["position"] = out["position"] or position
    return out
