"""External programs (mdbtools) run under a size-dependent time limit and are killed with
their whole process group when they pass it.

Stand-in ``mdb-tables`` / ``mdb-export`` shell scripts on ``PATH`` play a database that
makes mdbtools hang (each starts a ``sleep`` child, so killing only the script would
leave it behind) or flood its error output; the input is a small synthetic file with
the JET4 signature, so no real mdbtools and no corpus file are needed.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from labkit.errors import FormatError
from labkit.parsers import _external
from labkit.registry import read

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX shell stand-ins")

JET4_HEADER = b"\x00\x01\x00\x00Standard Jet DB\x00"
TABLE_LIST = "Channel_Normal_Table\nGlobal_Table\n"
CSV = "Data_Point,Test_Time,Current,Voltage\n1,0.0,0.5,3.6\n2,10.0,0.5,3.7\n"


def _stand_in(folder: Path, name: str, body: str) -> None:
    script = folder / name
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)


def _hang(pid_file: Path) -> str:
    # a child that outlives its parent unless the whole process group is killed
    return f"sleep 300 &\necho $! > {pid_file}\nwait\n"


def _running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, killed but not yet reaped, does not count)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "stand_in.res"
    path.write_bytes(JET4_HEADER + bytes(2_000_000 - len(JET4_HEADER)))  # 2 MB
    return path


@pytest.fixture
def tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    # 0.5 s + 0.25 s per MB: 1 s for the 2 MB stand-in database
    monkeypatch.setattr(_external, "BASE_SECOND", 0.5)
    monkeypatch.setattr(_external, "SECOND_PER_MEGABYTE", 0.25)
    return folder


def test_time_limit_grows_with_the_file_size(tmp_path: Path):
    small, large = tmp_path / "small.res", tmp_path / "large.res"
    small.write_bytes(b"")
    large.write_bytes(bytes(3_000_000))
    assert _external.TimeLimit(small).second == pytest.approx(5.0)
    assert _external.TimeLimit(large).second == pytest.approx(6.5)  # 5 s + 3 MB x 0.5 s/MB


@pytest.mark.parametrize("hung", ["mdb-tables", "mdb-export"])
def test_hung_mdbtools_is_killed_with_its_process_group(hung: str, database: Path,
                                                        tools: Path, tmp_path: Path):
    pid_file = tmp_path / "sleep.pid"
    answers = {"mdb-tables": f"printf '{TABLE_LIST}'\n", "mdb-export": f"printf '{CSV}'\n"}
    for name, body in answers.items():
        _stand_in(tools, name, _hang(pid_file) if name == hung else body)
    start = time.monotonic()
    with pytest.raises(FormatError) as caught:
        read(database)
    elapsed = time.monotonic() - start
    assert 1.0 <= elapsed < 5.0  # stopped at the 1 s limit, not by the 300 s sleep ending
    error = caught.value
    assert error.file == str(database)
    assert f"{hung} did not finish" in error.message
    assert "time limit of 1.0 s (0.5 s + 0.25 s per MB of this 2.00 MB file" in error.message
    expected_position = "the table catalog" if hung == "mdb-tables" else "table Channel_Normal_Table"
    assert error.position == expected_position
    sleeper = int(pid_file.read_text())
    deadline = time.monotonic() + 2.0
    while _running(sleeper) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(sleeper), "the hung program's child survived: group not killed"


def test_mdb_export_filling_its_error_pipe_does_not_block(database: Path, tools: Path):
    _stand_in(tools, "mdb-tables", f"printf '{TABLE_LIST}'\n")
    # 1 MB of warnings before the rows: more than a pipe buffer holds
    _stand_in(tools, "mdb-export", "head -c 1000000 /dev/zero | tr '\\0' w >&2\n"
                                   f"printf '{CSV}'\n")
    record = read(database)
    assert list(record.data["voltage_volt"]) == [3.6, 3.7]
    assert list(record.data["test_time_second"]) == [0.0, 10.0]


@pytest.mark.skipif(not Path("/proc/self/limits").exists(), reason="Linux prlimit")
def test_the_kernel_also_limits_the_programs_cpu_time(database: Path, tools: Path):
    """So a program left spinning by a labkit process that was itself killed ends too."""
    limit = _external.TimeLimit(database)  # 1 s under the tools fixture's settings
    with _external.LimitedProcess(["sleep", "30"], limit, "a test") as process:
        limits = Path(f"/proc/{process._process.pid}/limits").read_text()
    cpu = next(line for line in limits.splitlines() if line.startswith("Max cpu time"))
    assert cpu.split()[3:5] == ["1", "2"]  # soft 1 s, hard 2 s
