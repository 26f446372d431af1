"""External programs (mdbtools for Arbin ``.res``) run under a time limit set by the file's size.

A damaged input can make a reader program loop forever; an unattended ingester must not
wait for it. Every external program a parser starts runs in a process group of its own
and shares one time budget per file read: :data:`BASE_SECOND` plus
:data:`SECOND_PER_MEGABYTE` for each MB (10^6 bytes) of the file. When the budget is
spent the whole process group is killed and the read ends in a
:class:`~labkit.errors.FormatError` that says so and gives the limit.

Where the system allows it (Linux), the program also gets the budget as a CPU-time limit
from the kernel, so one left spinning by a labkit process that was itself killed
(``kill -9`` of an ingester) ends too.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from labkit.errors import FormatError

#: Seconds every read may spend in external programs, whatever the file's size.
BASE_SECOND = 5.0
#: Further seconds per MB of file. Exporting every table of each corpus .res (0.5-3.7 MB)
#: takes mdbtools 0.35-1.0 s on the busy 2-core development machine, 5-15 times less than
#: the budget; one table of the largest goes at 13-70 MB/s.
SECOND_PER_MEGABYTE = 0.5
#: How much of a program's error output is kept for the message.
STDERR_KEPT_BYTE = 64 * 1024


class TimeLimit:
    """The time budget of the external programs of one read of ``path``.

    Parameters
    ----------
    path
        The file being read; its size sets the budget
        (``BASE_SECOND + SECOND_PER_MEGABYTE * size / 1e6``), which starts now.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size_byte = path.stat().st_size
        self.second = BASE_SECOND + SECOND_PER_MEGABYTE * self.size_byte / 1e6
        self._end = time.monotonic() + self.second

    def remaining(self) -> float:
        """Seconds left, never below zero."""
        return max(0.0, self._end - time.monotonic())

    def describe(self) -> str:
        """The limit and how it was set, for messages."""
        return (f"{self.second:.1f} s ({BASE_SECOND:g} s + {SECOND_PER_MEGABYTE:g} s per MB of "
                f"this {self.size_byte / 1e6:.2f} MB file, for all the programs of one read)")


def _limit_cpu_time(pid: int, second: float) -> None:
    """Have the kernel stop ``pid`` after ``second`` of CPU time (Linux's prlimit)."""
    try:
        import resource

        soft = math.ceil(second)
        resource.prlimit(pid, resource.RLIMIT_CPU, (soft, soft + 1))
    except (ImportError, AttributeError, OSError, ValueError):
        pass  # no prlimit here (macOS, Windows) or the program has already exited


class LimitedProcess:
    """A program whose output is read as a stream, killed with its process group when the
    read's time budget runs out.

    Use as a context manager; read :attr:`stdout`, then call :meth:`finish`. Leaving the
    block always ends the program (a parser error half-way through the output included).

    Parameters
    ----------
    command
        The program and its arguments.
    limit
        The read's :class:`TimeLimit`.
    what
        What the program is producing (``"table Channel_Normal_Table"``), for messages;
        also the error's position.
    """

    def __init__(self, command: Sequence[str], limit: TimeLimit, what: str) -> None:
        self.command, self.limit, self.what = list(command), limit, what
        self.timed_out = False
        self._process = subprocess.Popen(self.command, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, start_new_session=True)
        _limit_cpu_time(self._process.pid, limit.second)
        self._stderr = bytearray()
        # The error output is drained while the caller reads stdout: a program that fills
        # the stderr pipe would otherwise block, and wait for a reader forever.
        self._drain = threading.Thread(target=self._keep_stderr, daemon=True)
        self._drain.start()
        self._watchdog = threading.Timer(limit.remaining(), self._time_out)
        self._watchdog.daemon = True
        self._watchdog.start()

    @property
    def stdout(self) -> IO[bytes]:
        """The program's standard output."""
        assert self._process.stdout is not None
        return self._process.stdout

    def finish(self) -> tuple[int, bytes]:
        """Wait for the program; its exit status and (the start of) its error output.

        Raises
        ------
        FormatError
            When the program was killed at the time limit.
        """
        returncode = self._process.wait()
        self._drain.join()
        if self.timed_out:
            program = Path(self.command[0]).name
            raise FormatError(
                f"{program} did not finish {self.what} within the time limit of "
                f"{self.limit.describe()} and was killed; expected a readable database "
                "(a damaged one can make mdbtools loop forever)",
                file=self.limit.path, position=self.what)
        return returncode, bytes(self._stderr)

    def _keep_stderr(self) -> None:
        assert self._process.stderr is not None
        while chunk := self._process.stderr.read(8192):
            room = STDERR_KEPT_BYTE - len(self._stderr)
            if room > 0:
                self._stderr += chunk[:room]

    def _time_out(self) -> None:
        if self._process.poll() is None:
            self.timed_out = True
            self._kill()

    def _kill(self) -> None:
        try:
            if hasattr(os, "killpg"):
                os.killpg(self._process.pid, signal.SIGKILL)
            else:  # Windows: no process groups
                self._process.kill()
        except (ProcessLookupError, PermissionError):
            pass  # already gone

    def __enter__(self) -> LimitedProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._watchdog.cancel()
        if self._process.poll() is None:
            self._kill()
        self._process.wait()
        self._drain.join()
        for stream in (self._process.stdout, self._process.stderr):
            if stream is not None:
                stream.close()
