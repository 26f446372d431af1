"""Every analysis command on every corpus file: a result or a labkit error, never a traceback.

Usage: python bench/analysis_sweep.py [--corpus PATH] [--only SUBSTRING] [--command NAME]
       [--limit SECONDS] [--slowest N] [--eis]

Each call runs ``labkit <command> ... --json`` in this process (through
``labkit.cli.main`` with stdout captured, as the test suite does) and is classified:

* ``ok`` (exit 0) or ``refused`` (exit 1), each with exactly one JSON object on stdout;
* ``traceback``: an exception escaped the command;
* ``bad output``: an exit code other than 0/1, or not exactly one JSON object;
* ``too slow``: it ran past ``--limit`` seconds (interrupted there).

Commands (with the sample values they need, so that the analysis itself runs rather
than stopping at "area not given"): ``cycles``, ``dqdv``, ``fast-charge``,
``rate --capacity 1``, ``ccd --area 1``, ``transference --ca FILE --r0 100 --rss 110
--rb 50``, ``report -o OUT.html``; with ``--eis`` also ``eis kk`` and ``eis drt``
(the impedance commands are pinned by their own benchmarks). ``limits`` takes no file.
Files: every file under ``cycler/`` and ``eis/`` of the corpus except the reference
outputs and sidecars (``_reference``, ``_sidecar``); the cycling commands are run on the
impedance files too (they must refuse them). The run ends with the counts per command
and outcome, the slowest calls and those over ``--target`` seconds (per corpus part),
anything that is not ``ok``/``refused``, and the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = Path(os.environ.get("LABKIT_CORPUS", ROOT.parent / "shared" / "corpus"))
SKIP_DIRS = {"_reference", "_sidecar"}

#: command name -> argv for a file (``out`` is a scratch folder for files a command writes)
COMMANDS: dict[str, Callable[[str, Path], list[str]]] = {
    "cycles": lambda file, out: ["cycles", file],
    "dqdv": lambda file, out: ["dqdv", file],
    "fast-charge": lambda file, out: ["fast-charge", file],
    "rate": lambda file, out: ["rate", file, "--capacity", "1"],
    "ccd": lambda file, out: ["ccd", file, "--area", "1"],
    "transference": lambda file, out: ["transference", "--ca", file, "--r0", "100",
                                       "--rss", "110", "--rb", "50"],
    "report": lambda file, out: ["report", file, "-o", str(out / "report.html")],
}
EIS_COMMANDS: dict[str, Callable[[str, Path], list[str]]] = {
    "eis kk": lambda file, out: ["eis", "kk", file],
    "eis drt": lambda file, out: ["eis", "drt", file],
}


@dataclass(frozen=True)
class Call:
    """The outcome of one command on one file."""

    command: str
    file: str
    outcome: str  # ok, refused, traceback, bad output, too slow
    exit_code: int | None
    seconds: float
    detail: str  # the error type, or what went wrong


def corpus_files(corpus: Path) -> list[Path]:
    """Every instrument file under ``cycler/`` and ``eis/`` (no reference outputs, sidecars)."""
    files = []
    for folder in ("cycler", "eis"):
        root = corpus / folder
        if root.is_dir():
            files.extend(path for path in sorted(root.rglob("*"))
                         if path.is_file() and path.name != "MANIFEST.md"
                         and not SKIP_DIRS.intersection(path.relative_to(root).parts))
    return files


class _TooSlow(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Interrupt the block after ``seconds`` with :class:`_TooSlow` (POSIX main thread only)."""
    if not seconds or not hasattr(signal, "setitimer"):
        yield
        return

    def interrupt(_signum, _frame):
        raise _TooSlow

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_command(argv: list[str], limit_second: float | None = None) -> tuple[str, int | None, str]:
    """Run ``labkit ARGV --json`` in this process: (outcome, exit code, detail)."""
    from labkit.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        with _time_limit(limit_second), contextlib.redirect_stdout(stdout), \
                contextlib.redirect_stderr(stderr):
            code = main([*argv, "--json"])
    except _TooSlow:
        return "too slow", None, f"interrupted after {limit_second} s"
    except SystemExit as exc:  # argparse: bad usage
        return "bad output", exc.code if isinstance(exc.code, int) else None, stderr.getvalue()
    except Exception:  # noqa: BLE001 - what the sweep is looking for
        return "traceback", None, traceback.format_exc()
    text = stdout.getvalue()
    try:
        payload = json.loads(text)
    except json.JSONDecodeError:
        return "bad output", code, f"stdout is not one JSON object: {text[:200]!r}"
    if not isinstance(payload, dict) or code not in (0, 1):
        return "bad output", code, f"exit {code}, stdout {text[:200]!r}"
    if code == 0:
        return "ok", code, ""
    error = payload.get("error", {})
    return "refused", code, f"{error.get('type')}: {error.get('message')}"


def sweep(files: list[Path], commands: dict[str, Callable[[str, Path], list[str]]],
          limit_second: float | None = None, progress: bool = False) -> list[Call]:
    """Run every command on every file; one :class:`Call` each."""
    calls = []
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        for number, path in enumerate(files, 1):
            for name, make in commands.items():
                start = time.perf_counter()
                outcome, code, detail = run_command(make(str(path), out), limit_second)
                calls.append(Call(name, str(path), outcome, code, time.perf_counter() - start,
                                  detail))
            if progress:
                print(f"[{number}/{len(files)}] {path.name}", file=sys.stderr, flush=True)
    return calls


def machine() -> str:
    """One line about the machine the numbers come from."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = " ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return (f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores, "
            f"load average {load}, Python {platform.python_version()}")


def _report(calls: list[Call], slowest: int, target_second: float) -> str:
    lines = []
    counts = Counter((c.command, c.outcome) for c in calls)
    outcomes = ("ok", "refused", "traceback", "bad output", "too slow")
    lines.append(f"{'command':<14}" + "".join(f"{o:>12}" for o in outcomes) + f"{'max s':>9}")
    for command in dict.fromkeys(c.command for c in calls):
        worst = max(c.seconds for c in calls if c.command == command)
        lines.append(f"{command:<14}" + "".join(f"{counts[command, o]:>12}" for o in outcomes)
                     + f"{worst:>9.2f}")
    total = Counter(c.outcome for c in calls)
    lines.append(f"{'all':<14}" + "".join(f"{total[o]:>12}" for o in outcomes)
                 + f"{max(c.seconds for c in calls):>9.2f}")
    lines.append(f"\n{len(calls)} calls on {len({c.file for c in calls})} files, "
                 f"{sum(c.seconds for c in calls):.0f} s in all")
    for part in ("cycler", "eis"):
        mine = [c for c in calls if f"/{part}/" in c.file]
        if mine:
            over = Counter(c.command for c in mine if c.seconds > target_second)
            lines.append(f"{part} files: {len(mine)} calls, slowest {max(c.seconds for c in mine):.2f}"
                         f" s, over {target_second:g} s: {sum(over.values())} "
                         f"{dict(over) if over else ''}")
    lines.append(f"slowest {slowest}:")
    for call in sorted(calls, key=lambda c: -c.seconds)[:slowest]:
        lines.append(f"{call.seconds:8.2f} s  {call.command:<13} {call.outcome:<9} "
                     f"{Path(call.file).parent.name}/{Path(call.file).name}")
    failures = [c for c in calls if c.outcome not in ("ok", "refused")]
    if failures:
        lines.append(f"\n{len(failures)} calls ended badly:")
        for call in failures:
            lines.append(f"--- {call.command} {call.file}: {call.outcome}\n{call.detail}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the sweep and print its summary; exit 1 when any call ended badly."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--only", help="only files whose path contains this")
    parser.add_argument("--command", action="append", help="only this command (repeatable)")
    parser.add_argument("--limit", type=float, default=60.0,
                        help="seconds after which a call is interrupted (default 60)")
    parser.add_argument("--slowest", type=int, default=15)
    parser.add_argument("--target", type=float, default=10.0,
                        help="seconds a call should stay under; the calls over it are counted")
    parser.add_argument("--eis", action="store_true", help="also eis kk and eis drt")
    parser.add_argument("--progress", action="store_true", help="a line per file on stderr")
    args = parser.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    files = [p for p in corpus_files(args.corpus) if not args.only or args.only in str(p)]
    commands = {**COMMANDS, **(EIS_COMMANDS if args.eis else {})}
    if args.command:
        commands = {name: make for name, make in commands.items() if name in args.command}
    if not files or not commands:
        parser.error(f"nothing to run (files under {args.corpus}: {len(files)})")
    calls = sweep(files, commands, args.limit, args.progress)
    print(_report(calls, args.slowest, args.target))
    print(f"\nmachine: {machine()}")
    return int(any(c.outcome not in ("ok", "refused") for c in calls))


if __name__ == "__main__":
    sys.exit(main())
