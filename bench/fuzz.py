"""Fuzzing labkit's readers with damaged copies of the corpus's instrument files.

Usage: python bench/fuzz.py --count N --seed S [--timeout SEC] [--only SUBSTR]
       [--jobs J] [--corpus PATH] [--slowest K] [--save DIR] [--replay INDEX]

Every file of the corpus (``cycler/``, ``eis/`` and ``protocols/``, without the
``_reference``/``_sidecar``/``_schedules`` folders) is mutated ``N`` times: truncated,
bits flipped, bytes overwritten, inserted or deleted, blocks duplicated or zeroed,
text lines deleted, duplicated or swapped, numbers replaced by extreme ones, renamed
to another extension; a zip archive (``.ndax``, ``.nda.zip``, ``.xlsx``, ``.ods``)
also gets a damaged header field (version needed, compression method, flags, CRC,
sizes, offsets) or a damaged member re-packed with a valid CRC. Mutation ``i`` of a
file is drawn from a generator seeded with ``"S:<corpus path>:i"``, so one input is
replayed with ``--seed S --only <corpus path> --replay i`` (``--save DIR`` writes the
inputs that failed).

Each mutated copy is read by ``labkit.read`` and by the schedule reader
(``labkit.protocols.formats.read``) in a worker process of its own session; a worker
that has not answered within ``--timeout`` seconds is killed with its process group and
every process it started (labkit runs ``mdb-export`` in a session of its own), and the
input counts as a hang. Any exception that is not a ``LabkitError``, or a
``LabkitError`` that names no file, is a crash (a worker is limited to ``--memory`` MB
of address space, so a mutant that makes labkit ask for too much memory is a
``MemoryError`` crash). The report gives the machine, the outcome counts, every crash
and hang with its mutation and the slowest inputs; the exit status is 1 when there was
a crash or a hang. POSIX only (process groups); Linux to find a worker's children.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import math
import os
import platform
import queue
import random
import select
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = Path(os.environ.get("LABKIT_CORPUS", ROOT.parent / "shared" / "corpus"))
CORPUS_FOLDERS = ("cycler", "eis", "protocols")
SKIP_DIRS = {"_reference", "_sidecar", "_schedules"}
SKIP_NAMES = {"MANIFEST.md", "README.md", "LICENSE"}
#: A mutation at a random position lands in the first bytes this often: headers,
#: directories and version fields live there, and a flip in the data rows of a large
#: file rarely reaches new code.
HEAD_SHARE = 0.5
HEAD_BYTE = 4096
#: Labels of ``Outcome.kind`` that are defects.
DEFECTS = ("crash", "hang")


# -- mutations ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Mutant:
    """A damaged copy of a file: its bytes, the name to give it, what was done."""

    content: bytes
    name: str
    description: str


def mutation_rng(seed: int, relative: str, index: int) -> random.Random:
    """The generator of mutation ``index`` of the corpus file ``relative`` under ``seed``
    (string seeds are hashed with SHA-512 by :mod:`random`: the same on every machine)."""
    return random.Random(f"{seed}:{relative}:{index}")


def mutate(data: bytes, name: str, rng: random.Random) -> Mutant:
    """One damaged copy of ``data`` (a file called ``name``), drawn with ``rng``; a draw that
    changes nothing (a swap of a line with itself...) is drawn again."""
    for _ in range(10):
        mutant = _draw(data, name, rng)
        if (mutant.content, mutant.name) != (data, name):
            break
    return mutant


def _draw(data: bytes, name: str, rng: random.Random) -> Mutant:
    if data.startswith(b"PK\x03\x04") and rng.random() < 0.4:
        mutant = _mutate_zip(data, name, rng)
        if mutant is not None:
            return mutant
    if rng.random() < RENAME_SHARE:
        suffix = rng.choice(_RENAME_SUFFIXES)
        return Mutant(data, f"renamed{suffix}", f"same bytes, named 'renamed{suffix}'")
    function = rng.choices(list(_BYTE_MUTATORS.values()), weights=_BYTE_WEIGHTS)[0]
    content, description = function(data, rng)
    return Mutant(content, name, description)


def _position(rng: random.Random, size: int) -> int:
    if size == 0:
        return 0
    if rng.random() < HEAD_SHARE:
        return rng.randrange(min(size, HEAD_BYTE))
    return rng.randrange(size)


def _span(rng: random.Random, longest: int) -> int:
    """A length from 1 to ``longest``, short ones more likely (log-uniform)."""
    return min(longest, int(2 ** rng.uniform(0, math.log2(longest + 1))))


_INTERESTING = (b"\x00", b"\xff", b"\x7f", b"\x80", b"\x00\x00\x00\x00", b"\xff\xff\xff\xff",
                b"\xff\xff\xff\x7f", b"\x00\x00\x00\x80", b"\x00\x00\xf0\x7f" * 2)


def _truncate(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    at = _position(rng, len(data)) if rng.random() < 0.5 else rng.randrange(len(data) + 1)
    return data[:at], f"truncate to {at} bytes (of {len(data)})"


def _flip_bits(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    mutable = bytearray(data)
    flips = []
    for _ in range(rng.randint(1, 16) if data else 0):
        at, bit = _position(rng, len(data)), rng.randrange(8)
        mutable[at] ^= 1 << bit
        flips.append(f"{at}.{bit}")
    return bytes(mutable), f"flip bits (byte.bit) {', '.join(flips) or 'none (empty file)'}"


def _overwrite(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    at = _position(rng, len(data))
    value = rng.choice(_INTERESTING) if rng.random() < 0.5 else rng.randbytes(_span(rng, 8))
    return data[:at] + value + data[at + len(value):], f"overwrite byte {at} with {value.hex()}"


def _insert(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    at, length = _position(rng, len(data)), _span(rng, 1024)
    return data[:at] + rng.randbytes(length) + data[at:], f"insert {length} random bytes at {at}"


def _delete(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    at, length = _position(rng, len(data)), _span(rng, 1024)
    return data[:at] + data[at + length:], f"delete {length} bytes at {at}"


def _duplicate_block(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    start, length, at = _position(rng, len(data)), _span(rng, 4096), _position(rng, len(data))
    block = data[start:start + length]
    return (data[:at] + block + data[at:],
            f"copy the {len(block)} bytes at {start} to {at} (inserted)")


def _zero_block(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    at, length = _position(rng, len(data)), _span(rng, 4096)
    length = min(length, len(data) - at)
    return data[:at] + bytes(length) + data[at + length:], f"zero {length} bytes at {at}"


def _append_garbage(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    length = _span(rng, 4096)
    return data + rng.randbytes(length), f"append {length} random bytes"


def _invalid_text(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    at = _position(rng, len(data))
    return (data[:at] + b"\xff\xfe\x80\x81\xc3" * 50 + data[at:],
            f"insert 250 bytes invalid in UTF-8/UTF-16 at {at}")


def _line_edit(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    lines = data.split(b"\n")
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    edit = rng.choice(("delete", "duplicate", "swap"))
    if edit == "delete":
        del lines[i]
    elif edit == "duplicate":
        lines.insert(j, lines[i])
    else:
        lines[i], lines[j] = lines[j], lines[i]
    where = f"line {i + 1}" + ("" if edit == "delete" else f" and line {j + 1}")
    return b"\n".join(lines), f"{edit} {where} (of {len(lines)})"


_EXTREME_NUMBERS = (b"", b"-", b"0", b"-0", b"1e309", b"-1e309", b"nan", b"inf",
                    b"99999999999999999999999", b"-2147483649", b"1,5", b"0x1F", b"1e-400")


def _replace_number(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    at = _position(rng, len(data))
    start = next((k for k in range(at, min(len(data), at + 4096)) if 48 <= data[k] <= 57), None)
    if start is None:
        return _flip_bits(data, rng)
    end = start
    while end < len(data) and (48 <= data[end] <= 57 or data[end] in b".eE+-"):
        end += 1
    value = rng.choice(_EXTREME_NUMBERS)
    return (data[:start] + value + data[end:],
            f"replace the number {data[start:end][:40]!r} at byte {start} with {value!r}")


#: name -> function, and the relative weights of the byte mutators, in that order
_BYTE_MUTATORS: dict[str, Callable[[bytes, random.Random], tuple[bytes, str]]] = {
    "truncate": _truncate, "flip_bits": _flip_bits, "overwrite": _overwrite, "insert": _insert,
    "delete": _delete, "duplicate_block": _duplicate_block, "zero_block": _zero_block,
    "append_garbage": _append_garbage, "invalid_text": _invalid_text, "line_edit": _line_edit,
    "replace_number": _replace_number,
}
_BYTE_WEIGHTS = (2.0, 3.0, 2.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 1.5, 1.5)
#: How often a mutant is the unchanged file under another name (extension hints).
RENAME_SHARE = 0.02
_RENAME_SUFFIXES = (".csv", ".txt", ".mpr", ".mpt", ".res", ".nda", ".ndax", ".xlsx", ".z",
                    ".dta", ".h5", ".mat", ".000", "")

# Zip structures: (signature, {field: (offset, size)}).
_ZIP_LOCAL = (b"PK\x03\x04", {"version needed": (4, 2), "flags": (6, 2), "method": (8, 2),
                               "crc": (14, 4), "compressed size": (18, 4),
                               "uncompressed size": (22, 4), "name length": (26, 2),
                               "extra length": (28, 2)})
_ZIP_CENTRAL = (b"PK\x01\x02", {"version made by": (4, 2), "version needed": (6, 2),
                                 "flags": (8, 2), "method": (10, 2), "crc": (16, 4),
                                 "compressed size": (20, 4), "uncompressed size": (24, 4),
                                 "name length": (28, 2), "extra length": (30, 2),
                                 "comment length": (32, 2), "disk": (34, 2),
                                 "local header offset": (42, 4)})
_ZIP_END = (b"PK\x05\x06", {"disk": (4, 2), "entries on disk": (8, 2), "entries": (10, 2),
                             "directory size": (12, 4), "directory offset": (16, 4),
                             "comment length": (20, 2)})


def _mutate_zip(data: bytes, name: str, rng: random.Random) -> Mutant | None:
    """A zip with one damaged header field, or one member damaged and re-packed."""
    if rng.random() < 0.5:
        return _zip_field(data, name, rng)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [(info, archive.read(info)) for info in archive.infolist()]
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError, OSError):
        return None
    if not members:
        return None
    chosen = rng.randrange(len(members))
    damaged, how = rng.choices(list(_BYTE_MUTATORS.values()), weights=_BYTE_WEIGHTS)[0](
        members[chosen][1], rng)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for k, (info, content) in enumerate(members):
            archive.writestr(info, damaged if k == chosen else content)
    return Mutant(buffer.getvalue(), name, f"zip member {members[chosen][0].filename!r}: {how} "
                                          "(re-packed, valid CRC)")


def _zip_field(data: bytes, name: str, rng: random.Random) -> Mutant | None:
    signature, fields = rng.choice((_ZIP_LOCAL, _ZIP_CENTRAL, _ZIP_CENTRAL, _ZIP_END))
    starts = []
    at = data.find(signature)
    while at >= 0:
        starts.append(at)
        at = data.find(signature, at + 4)
    if not starts:
        return None
    start = rng.choice(starts)
    field = rng.choice(list(fields))
    offset, size = fields[field]
    if start + offset + size > len(data):
        return None
    old = int.from_bytes(data[start + offset:start + offset + size], "little")
    top = (1 << (8 * size)) - 1
    new = rng.choice((0, 1, top, top >> 1, old + 1, old - 1, old * 2, rng.randrange(top + 1),
                      21, 99, 12, 14, 63)) & top
    if new == old:
        new = old ^ 1
    value = new.to_bytes(size, "little")
    structure = {b"PK\x03\x04": "local header", b"PK\x01\x02": "central directory entry",
                 b"PK\x05\x06": "end of central directory"}[signature]
    return Mutant(data[:start + offset] + value + data[start + offset + size:], name,
                  f"zip {structure} at byte {start}: {field} {old} -> {new}")


# -- running the readers in a worker process -----------------------------------------------


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What reading one mutated input gave."""

    relative: str
    index: int
    description: str
    kind: str  # "ok", "refused", "crash" or "hang"
    detail: str
    second: float

    def replay(self, seed: int) -> str:
        """The command that reads this input again."""
        return (f"python bench/fuzz.py --seed {seed} --only {shlex.quote(self.relative)} "
                f"--replay {self.index}")


def _worker_main(memory_megabyte: int) -> None:
    """Read the paths sent on stdin, one JSON object per line; answer one per line."""
    if memory_megabyte:  # a mutant that asks for too much memory is a MemoryError here
        import resource

        limit = memory_megabyte * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import labkit
    from labkit.protocols import formats as schedule_formats

    labkit.formats(), schedule_formats.schedule_formats()  # import every parser before timing
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything a library prints goes to stderr, not into the answers
    answers.write("ready\n")
    readers = (("labkit.read", lambda path: labkit.read(path).validate()),
               ("protocols.read", schedule_formats.read))
    for line in sys.stdin:
        start = time.perf_counter()
        kind, detail = outcome_of(Path(json.loads(line)["path"]), readers)
        answers.write(json.dumps({"kind": kind, "detail": detail,
                                  "second": time.perf_counter() - start}) + "\n")


def outcome_of(path: Path, readers: Iterable[tuple[str, Callable[[Path], object]]]
               ) -> tuple[str, str]:
    """``("ok" | "refused" | "crash", detail)`` of reading ``path`` with each reader: ok when
    one reads it, refused when every one raises a labkit error naming the file, crash at
    the first other exception (or labkit error that names no file)."""
    from labkit.errors import LabkitError

    kind = "refused"
    for reader_name, reader in readers:
        try:
            reader(path)
            kind = "ok"
        except LabkitError as exc:
            if not exc.file:
                return "crash", f"{reader_name}: {type(exc).__name__} names no file: {exc}"
        except Exception as exc:  # the finding this harness is for
            frames = traceback.extract_tb(exc.__traceback__)[-3:]
            where = " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames))
            return "crash", f"{reader_name}: {type(exc).__name__}: {str(exc)[:300]} at {where}"
    return kind, ""


#: Seconds a new worker may take to import labkit before the run gives up.
WORKER_START_SECOND = 120.0


class _Worker:
    """A worker process in a session of its own, started again after a hang or a death."""

    def __init__(self, memory_megabyte: int) -> None:
        self.memory_megabyte = memory_megabyte
        self.process: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker",
             "--memory", str(self.memory_megabyte)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, start_new_session=True, cwd=ROOT)
        self.process = process
        if self._answer(WORKER_START_SECOND) != "ready\n":
            self.stop()
            raise RuntimeError(f"the fuzz worker did not start within {WORKER_START_SECOND} s "
                               f"(run `{sys.executable} {__file__} --worker` to see why)")
        return process

    def _answer(self, timeout: float) -> str:
        assert self.process is not None and self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        return self.process.stdout.readline() if ready else ""

    def read(self, path: Path, timeout: float) -> tuple[str, str, float]:
        """Outcome kind, detail and seconds of reading ``path`` (at most ``timeout``)."""
        process = self.process if self.process is not None else self._start()
        assert process.stdin is not None
        start = time.perf_counter()
        process.stdin.write(json.dumps({"path": str(path)}) + "\n")
        process.stdin.flush()
        line = self._answer(timeout)
        if not line:
            elapsed = time.perf_counter() - start
            died = process.poll()
            self.stop()
            if died is not None:
                return "crash", f"worker process died (exit status {died})", elapsed
            return "hang", f"no answer within {timeout:g} s (process group killed)", elapsed
        answer = json.loads(line)
        return answer["kind"], answer["detail"], answer["second"]

    def stop(self) -> None:
        """Kill the worker, its process group and every process it started: labkit runs
        mdbtools in a session of its own, which the worker's group does not hold."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGSTOP)  # no new children while we look
        for pid in [self.process.pid, *_descendants(self.process.pid)]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        self.process = None


def _descendants(pid: int) -> list[int]:
    """The processes started by ``pid``, by their children first (Linux ``/proc``; none
    found elsewhere)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = entry.read_bytes().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry.parent.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


# -- the run -----------------------------------------------------------------------------


def corpus_files(corpus: Path, only: str | None = None) -> list[Path]:
    """The instrument and schedule files of the corpus whose corpus path contains ``only``."""
    files = []
    for folder in CORPUS_FOLDERS:
        root = corpus / folder
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(corpus).as_posix()
            if (path.is_file() and path.name not in SKIP_NAMES
                    and not SKIP_DIRS.intersection(path.relative_to(root).parts)
                    and (only is None or only in relative)):
                files.append(path)
    return files


def run(corpus: Path, files: Iterable[Path], count: int, seed: int, timeout: float,
        jobs: int = 1, indices: Iterable[int] | None = None, save: Path | None = None,
        memory_megabyte: int = 4096,
        progress: Callable[[int], None] | None = None) -> list[Outcome]:
    """Read ``count`` mutants of each file (or mutants ``indices``); one outcome each.

    The corpus files are only read; mutants are written to a temporary folder (and,
    for crashes and hangs, to ``save`` when given).
    """
    tasks: queue.Queue[tuple[Path, int]] = queue.Queue()
    for path in files:
        for index in (indices if indices is not None else range(count)):
            tasks.put((path, index))
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def work(folder: Path) -> None:
        worker = _Worker(memory_megabyte)
        try:
            while True:
                try:
                    path, index = tasks.get_nowait()
                except queue.Empty:
                    return
                relative = path.relative_to(corpus).as_posix()
                mutant = mutate(path.read_bytes(), path.name, mutation_rng(seed, relative, index))
                target = folder / mutant.name
                target.write_bytes(mutant.content)
                kind, detail, second = worker.read(target, timeout)
                target.unlink()
                outcome = Outcome(relative, index, mutant.description, kind, detail, second)
                if save is not None and kind in DEFECTS:
                    _save(save, outcome, mutant)
                with lock:
                    outcomes.append(outcome)
                    if progress is not None:
                        progress(len(outcomes))
        finally:
            worker.stop()

    with tempfile.TemporaryDirectory(prefix="labkit-fuzz-") as scratch:
        threads = []
        for job in range(max(1, jobs)):
            folder = Path(scratch) / str(job)
            folder.mkdir()
            threads.append(threading.Thread(target=work, args=(folder,), daemon=True))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return sorted(outcomes, key=lambda o: (o.relative, o.index))


def _save(folder: Path, outcome: Outcome, mutant: Mutant) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    stem = outcome.relative.replace("/", "__")
    (folder / f"{stem}.{outcome.index}.{mutant.name}").write_bytes(mutant.content)


def machine() -> str:
    """The machine a run was made on, in one line."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle
                        if line.startswith("model name")), cpu)
    except OSError:
        pass
    return (f"{platform.node()}: {platform.system()} {platform.release()}, {cpu}, "
            f"{os.cpu_count()} CPUs, Python {platform.python_version()}, load average {load}")


def report(outcomes: list[Outcome], seed: int, slowest: int) -> str:
    """The run's outcome counts, every crash and hang with its replay, the slowest inputs."""
    counts = {kind: sum(o.kind == kind for o in outcomes)
              for kind in ("ok", "refused", "crash", "hang")}
    lines = [f"{len(outcomes)} mutated inputs: " + ", ".join(f"{k} {v}" for k, v in counts.items())]
    for outcome in outcomes:
        if outcome.kind in DEFECTS:
            lines += [f"{outcome.kind.upper()} {outcome.relative} #{outcome.index} "
                      f"({outcome.description}): {outcome.detail}",
                      f"    replay: {outcome.replay(seed)}"]
    if slowest:
        lines.append(f"slowest {min(slowest, len(outcomes))}:")
        for outcome in sorted(outcomes, key=lambda o: -o.second)[:slowest]:
            lines.append(f"  {outcome.second:7.2f} s  {outcome.kind:8s} {outcome.relative} "
                         f"#{outcome.index} ({outcome.description})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10, help="mutants per corpus file")
    parser.add_argument("--seed", type=int, default=None, help="default: drawn and printed")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds one input may take (default 10)")
    parser.add_argument("--only", help="only corpus files whose path contains this")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--slowest", type=int, default=10, help="how many slowest inputs to list")
    parser.add_argument("--save", type=Path, help="write the inputs that crash or hang here")
    parser.add_argument("--replay", type=int, action="append",
                        help="read only mutant INDEX (repeatable) of the selected files")
    parser.add_argument("--memory", type=int, default=4096,
                        help="address-space limit of a worker in MB, 0 for none (default 4096)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker_main(args.memory)
        return 0
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**9)
    files = corpus_files(args.corpus, args.only)
    if not files:
        print(f"no corpus files under {args.corpus} match {args.only!r}", file=sys.stderr)
        return 2
    total = len(files) * (len(args.replay) if args.replay else args.count)
    print(f"machine: {machine()}")
    print(f"command: python bench/fuzz.py --count {args.count} --seed {seed} "
          f"--timeout {args.timeout:g} --jobs {args.jobs}"
          + (f" --only {shlex.quote(args.only)}" if args.only else "")
          + "".join(f" --replay {index}" for index in args.replay or ()))
    print(f"{len(files)} corpus files x {total // len(files)} = {total} inputs", flush=True)

    def progress(done: int) -> None:
        if done % 500 == 0:
            print(f"  {done}/{total} ({time.perf_counter() - start:.0f} s)", file=sys.stderr,
                  flush=True)

    start = time.perf_counter()
    outcomes = run(args.corpus, files, args.count, seed, args.timeout, args.jobs,
                   indices=args.replay, save=args.save, memory_megabyte=args.memory,
                   progress=progress)
    print(report(outcomes, seed, args.slowest))
    print(f"wall time {time.perf_counter() - start:.0f} s; machine at the end: {machine()}")
    return 1 if any(o.kind in DEFECTS for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
