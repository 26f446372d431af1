"""The machine a benchmark ran on, printed at the top of every ``bench/`` script's output.

Speed ratios depend on the machine (a CPU with SHA extensions hashes several times
faster; a shared machine's load changes every timing), so each run says where it ran:
CPU model, cores (and how many this process may use), the load average when it started,
SHA-256 throughput measured here, and the Python / numpy / pandas versions.
"""

from __future__ import annotations

import hashlib
import os
import platform
import time


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else what the platform says)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def sha256_megabytes_per_second(size: int = 16 * 1024 * 1024, repeat: int = 5) -> float:
    """SHA-256 throughput of this machine (hashlib, one thread, best of ``repeat``)."""
    data = os.urandom(size)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        hashlib.sha256(data).digest()
        best = min(best, time.perf_counter() - start)
    return size / best / 1e6


def describe() -> str:
    """One paragraph naming the machine, for the head of a benchmark's output."""
    import numpy
    import pandas

    cores = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    load = "n/a"
    if hasattr(os, "getloadavg"):
        load = " / ".join(f"{value:.2f}" for value in os.getloadavg())
    return (f"machine: {cpu_model()}, {cores} cores ({usable} usable), load average "
            f"(1/5/15 min) {load}; SHA-256 {sha256_megabytes_per_second():.0f} MB/s; "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
            f"numpy {numpy.__version__}, pandas {pandas.__version__}")


if __name__ == "__main__":
    print(describe())
