"""Safe file writing and hashing.

Outputs are written to a temporary file in the destination folder, flushed to
disk, then renamed over the destination (and the folder flushed where the
filesystem allows): a crash at any point leaves either the old file or the new
one, never half of one. A new file gets the permissions an ordinary
``open(path, "w")`` gives under the process's umask (0644 at umask 022, 0600 at
077); a file that is replaced keeps its mode. Inputs are only ever opened for
reading.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import os
import re
import secrets
import stat
import threading
import time
from collections.abc import Callable, Iterator
from os import PathLike
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def atomic_write(path: str | PathLike[str], mode: str = "wb", **open_args) -> Iterator[IO]:
    """Open a temporary file that replaces ``path`` only when the block succeeds.

    Parameters
    ----------
    path
        Destination. Its folder must exist.
    mode
        ``"wb"`` or ``"w"`` (text; pass ``encoding=`` and ``newline=`` as needed).

    Examples
    --------
    >>> with atomic_write("out.txt", "w", encoding="utf-8") as handle:  # doctest: +SKIP
    ...     handle.write("hello")
    """
    target = Path(path)
    fd, temp_name = _create_temporary(target)
    try:
        with os.fdopen(fd, mode, **open_args) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        _keep_mode(temp_name, target)
        os.replace(temp_name, target)
        _fsync_folder(target.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise


def atomic_temp_path(path: str | PathLike[str]) -> Path:
    """A fresh, empty temporary file beside ``path`` for writers that need a file name.

    The caller writes to it, then calls :func:`commit_temp_path`, which gives it its
    final mode (see the module docstring).
    """
    fd, temp_name = _create_temporary(Path(path))
    os.close(fd)
    return temp_name


def commit_temp_path(temp: Path, path: str | PathLike[str]) -> None:
    """Make a fully written temporary file durable, give it the mode of the file it
    replaces (if any) and rename it over ``path``."""
    with open(temp, "rb+") as handle:
        os.fsync(handle.fileno())
    _keep_mode(temp, Path(path))
    os.replace(temp, path)
    _fsync_folder(Path(path).parent)


_TEMP_NAME = re.compile(r"^\..+\.pid(?P<pid>\d+)\.[^.]+\.tmp$")
_CREATE_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
                 | getattr(os, "O_CLOEXEC", 0))


def _create_temporary(target: Path) -> tuple[int, Path]:
    """Create a new temporary file beside ``target``: its descriptor (open for writing)
    and path.

    A new ``target`` is created as ``open(target, "w")`` would create it: mode 0o666
    less the umask, which the kernel applies (reading the umask would mean changing it,
    process-wide). When ``target`` exists, the temporary file is its owner's alone until
    :func:`_keep_mode` gives it the mode of the file it replaces.
    """
    mode = 0o600 if target.exists() else 0o666
    for _ in range(100):
        name = target.parent / f"{_temp_prefix(target)}{secrets.token_hex(6)}.tmp"
        try:
            return os.open(name, _CREATE_FLAGS, mode), name
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary file name beside {target}")


def _keep_mode(temp: Path, target: Path) -> None:
    """Give ``temp`` the mode of the file ``target`` it is about to replace, if any."""
    if os.name != "posix":  # Windows files have no mode bits to keep
        return
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        return
    os.chmod(temp, mode)


def _temp_prefix(target: Path) -> str:
    # The writer's pid in the name lets a later run tell a dead writer's leftovers
    # from a live writer's work in progress.
    return f".{target.name}.pid{os.getpid()}."


#: A temp file older than this is a leftover even if its writer's pid is in use again.
STALE_TEMPORARY_SECOND = 3600.0


def remove_dead_temporaries(folder: Path) -> int:
    """Delete temp files under ``folder`` whose writing process no longer runs.

    A writer counts as gone when its pid does not exist, is a zombie (killed but not
    yet reaped, common for orphans in containers), or the file is older than
    :data:`STALE_TEMPORARY_SECOND` (the pid may have been reused). Returns the number
    removed. Only files named by :func:`atomic_write` / :func:`atomic_temp_path` are
    considered.
    """
    removed = 0
    now = time.time()
    for temp in folder.rglob(".*.tmp"):
        match = _TEMP_NAME.match(temp.name)
        if match is None:
            continue
        try:
            stale = now - temp.stat().st_mtime > STALE_TEMPORARY_SECOND
        except FileNotFoundError:
            continue
        if not stale and _alive(int(match.group("pid"))):
            continue
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
            removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # Linux: a zombie has exited; only its process-table entry remains
        with open(f"/proc/{pid}/stat", "rb") as handle:
            state = handle.read().rsplit(b")", 1)[1].split()[0]
        return state != b"Z"
    except (OSError, IndexError):
        return True


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a folder be fsynced
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def sha256_of(path: str | PathLike[str], chunk_byte: int = 1 << 18, head: bytes = b"") -> str:
    """SHA-256 of a file's bytes, hex, read ``chunk_byte`` at a time after ``head`` (its
    first bytes, already read)."""
    digest = hashlib.sha256(head)
    buffer = bytearray(chunk_byte)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        handle.seek(len(head))
        while size := handle.readinto(buffer):
            digest.update(view[:size])
    return digest.hexdigest()


#: A file too large to be read whole is hashed from disk this much at a time: between two
#: reads the worker needs the GIL, which a busy parsing thread hands over only every
#: ``sys.getswitchinterval()`` (5 ms), so few large reads keep it from waiting.
BACKGROUND_CHUNK_BYTE = 16 * 1024 * 1024

_hash_pool: concurrent.futures.ThreadPoolExecutor | None = None
_hash_pool_lock = threading.Lock()


def start_sha256(path: Path, head: bytes, size: int) -> Callable[[], str]:
    """The SHA-256 of a file (hex), as a function giving it.

    Parameters
    ----------
    path
        The file.
    head
        Its first bytes, already read. When they are the whole file (``len(head) ==
        size``) the digest is theirs, computed on the first call (the function holds
        ``head`` until then): a record whose hash nobody asks for costs no hashing, and
        the digest is that of the bytes parsed even if the file changes later.
        Otherwise the rest is read from disk and hashed at once, in a worker thread
        (call the result after the work it should overlap).
    size
        Its size in bytes.
    """
    if len(head) == size:
        return _Once(head)
    return _worker().submit(sha256_of, path, BACKGROUND_CHUNK_BYTE, head).result


class _Once:
    """The SHA-256 of some bytes, computed on the first call; the bytes are then let go."""

    def __init__(self, data: bytes) -> None:
        self._data: bytes | None = data
        self._digest = ""

    def __call__(self) -> str:
        if self._data is not None:
            self._digest = hashlib.sha256(self._data).hexdigest()
            self._data = None
        return self._digest


def _worker() -> concurrent.futures.ThreadPoolExecutor:
    """The hashing thread, started on first use (once, also when threads race to it)."""
    global _hash_pool
    with _hash_pool_lock:
        if _hash_pool is None:
            _hash_pool = concurrent.futures.ThreadPoolExecutor(
                1, thread_name_prefix="labkit-sha256")
        return _hash_pool


def _forget_hash_pool() -> None:
    # A forked child (a process-pool worker) has none of its parent's threads: a pool
    # inherited from the parent would queue work that no thread ever runs (and the lock
    # may have been held by one of them at the fork).
    global _hash_pool, _hash_pool_lock
    _hash_pool, _hash_pool_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):  # POSIX; Windows has no fork
    os.register_at_fork(after_in_child=_forget_hash_pool)
