"""Time and memory of every cycling analysis on generated records of 10⁶ rows and 10⁴ cycles.

Usage: python bench/analysis_scaling.py [--rows N] [--cycles N] [--only NAME]

Three records are generated (vectorised, known structure), written as Parquet to a
temporary folder, and each analysis runs in a fresh process that reads its record,
resets the kernel's peak-RSS mark (``/proc/self/clear_refs``) and then runs the
analysis once, so the memory reported is what the analysis itself added at its
peak, beside the record's own size in memory:

* ``cycling``: a cell cycled ``--cycles`` times, each cycle a 1C CC charge, a CV
  hold, a rest, a CC discharge at 0.5C, 1C, 2C or 5C (blocks of cycles) and a rest,
  with the vendor's cumulative capacity columns;
* ``symmetric``: a Li|SE|Li stepped-current (CCD) test, ``2 × --cycles`` half cycles,
  the current density rising every 200 half cycles;
* ``hold``: one potentiostatic hold of ``--rows`` samples (a Bruce–Vincent CA).

Every analysis runs on the record it analyses, and the refusals (an analysis given
another test) are timed too: they must be fast as well. The table ends with the
machine it ran on.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.analysis_sweep import machine  # noqa: E402

SAMPLES_PER_CYCLE = 100
DISCHARGE_RATES = (0.5, 1.0, 2.0, 5.0)


def cycling_frame(rows: int, cycles: int) -> pd.DataFrame:
    """``cycles`` CC-CV charge / CC discharge cycles of a 1 Ah cell, ``rows`` samples in all."""
    per_cycle = max(rows // cycles, 20)
    charge, hold, rest = int(0.4 * per_cycle), int(0.1 * per_cycle), int(0.05 * per_cycle)
    discharge = per_cycle - charge - hold - 2 * rest
    cycle = np.arange(cycles)
    rate = np.repeat(DISCHARGE_RATES, -(-cycles // len(DISCHARGE_RATES)))[:cycles]
    fade = 1.0 - 0.2 * cycle / cycles
    discharged = 0.9 * fade / (1.0 + 0.05 * rate)  # Ah, less at high rate
    # one row per sample: (phase, position within phase) laid out by broadcasting
    phase_lengths = np.array([charge, hold, rest, discharge, rest])
    phase = np.repeat(np.arange(5), phase_lengths)
    position = np.concatenate([np.arange(n) for n in phase_lengths])
    fraction = (position + 1) / phase_lengths[phase]
    dt_charge, dt_hold, dt_rest = 0.8 * 3600 / charge, 60.0, 60.0
    dt_discharge = discharged[:, None] / rate[:, None] * 3600 / discharge
    step_dt = np.where(phase == 0, dt_charge, np.where(phase == 1, dt_hold, dt_rest))[None, :]
    dt = np.where(phase[None, :] == 3, dt_discharge, step_dt)
    current = np.select([phase == 0, phase == 1, phase == 3],
                        [1.0, np.exp(-3 * fraction), -1.0], 0.0)[None, :] * np.where(
        phase == 3, rate[:, None], 1.0)
    soc = np.select([phase[None, :] == 0, phase[None, :] == 1, phase[None, :] == 2,
                     phase[None, :] == 3],
                    [0.05 + 0.8 * fraction, np.broadcast_to(0.85 + 0.05 * fraction, dt.shape),
                     np.full(dt.shape, 0.9), 0.9 - discharged[:, None] * fraction],
                    0.9 - discharged[:, None])
    voltage = 3.45 + 0.65 * soc + 0.03 * np.log(soc / (1 - soc)) + 0.05 * current
    voltage = np.where(phase[None, :] == 1, 4.2, voltage)
    charge_ah = np.cumsum(np.where(current > 0, current * dt, 0.0), axis=1) / 3600
    discharge_ah = np.cumsum(np.where(current < 0, -current * dt, 0.0), axis=1) / 3600
    time_second = np.cumsum(dt.ravel())
    return pd.DataFrame({
        "test_time_second": time_second,
        "voltage_volt": voltage.ravel(),
        "current_ampere": current.ravel(),
        "cycle_count": np.repeat(cycle + 1, per_cycle).astype(np.int32),
        "step_index": np.tile(phase + 1, cycles).astype(np.int32),
        "charging_capacity_ampere_hour": charge_ah.ravel(),
        "discharging_capacity_ampere_hour": discharge_ah.ravel(),
    })


def symmetric_frame(rows: int, half_cycles: int) -> pd.DataFrame:
    """A Li|SE|Li staircase: ± j for ``half_cycles`` half cycles of 10 s samples, j rising."""
    per_half = max(rows // half_cycles, 10)
    half = np.arange(half_cycles)
    density = 0.05 * (1 + half // 200)  # mA/cm², 1 cm²
    sign = np.where(half % 2 == 0, 1.0, -1.0)
    current = np.repeat(sign * density / 1000, per_half)
    noise = np.random.default_rng(0).normal(0, 2e-4, current.size)
    voltage = current * 100.0 + noise  # ASR 100 Ω cm²
    return pd.DataFrame({"test_time_second": 10.0 * np.arange(1, current.size + 1),
                         "voltage_volt": voltage, "current_ampere": current})


def hold_frame(rows: int) -> pd.DataFrame:
    """A 10 mV potentiostatic hold: the current decays from I₀ to I_ss."""
    t = np.arange(rows, dtype=float)
    current = 1e-5 * (0.4 + 0.6 * np.exp(-t / (rows / 10)))
    return pd.DataFrame({"test_time_second": t, "voltage_volt": np.full(rows, 0.010),
                         "current_ampere": current})


def _summary(record):
    from labkit.analysis.cycling import summarize_cycles

    return summarize_cycles(record)


def _dqdv(record):
    from labkit.analysis.dqdv import differential_capacity

    return differential_capacity(record)


def _fast_charge(record):
    from labkit.analysis.fast_charge import fast_charge_metrics

    return fast_charge_metrics(record, nominal_capacity_ampere_hour=1.0)


def _rate(record):
    from labkit.analysis.rate import rate_capability

    return rate_capability(record, nominal_capacity_ampere_hour=1.0)


def _ccd(record):
    from labkit.analysis.ccd import critical_current_density

    return critical_current_density(record, area_square_centimeter=1.0)


def _transference(record):
    from labkit.analysis.transference import transference_number

    return transference_number(record, r0_ohm=500.0, rss_ohm=550.0, rb_ohm=100.0)


def _report(record):
    import matplotlib

    matplotlib.use("Agg")
    from labkit.report import build_sections

    return build_sections([record])


ANALYSES: dict[str, Callable] = {
    "cycles": _summary, "dqdv": _dqdv, "fast-charge": _fast_charge, "rate": _rate,
    "ccd": _ccd, "transference": _transference, "report": _report,
}
RECORDS = ("cycling", "symmetric", "hold")


def _memory_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _child(analysis: str, path: Path) -> dict:
    """Run one analysis on one record in this (fresh) process: time, outcome, memory."""
    import gc
    import importlib

    import labkit
    from labkit.errors import LabkitError

    record = labkit.read_parquet(path)
    record_mib = record.data.memory_usage(deep=True).sum() / 2**20
    for module in ("cycling", "dqdv", "fast_charge", "rate", "ccd", "transference"):
        importlib.import_module(f"labkit.analysis.{module}")  # imports are not the analysis
    importlib.import_module("labkit.report")
    gc.collect()
    # the peak-RSS mark restarts here (Linux); elsewhere the peak includes the read
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    before = _memory_kib("VmRSS")
    start = time.perf_counter()
    try:
        ANALYSES[analysis](record)
        outcome = "ok"
    except LabkitError as exc:
        outcome = f"refused: {type(exc).__name__}: {str(exc)[:90]}"
    seconds = time.perf_counter() - start
    peak = _memory_kib("VmHWM")
    return {"seconds": seconds, "outcome": outcome, "record_mib": record_mib,
            "extra_mib": max(peak - before, 0) / 1024, "rows": len(record.data)}


def main(argv: list[str] | None = None) -> int:
    """Generate the records, run every analysis on each in its own process, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cycles", type=int, default=10_000)
    parser.add_argument("--only", help="only this analysis")
    parser.add_argument("--child", nargs=2, metavar=("ANALYSIS", "PARQUET"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child[0], Path(args.child[1]))))
        return 0

    from labkit.data import CyclingRecord, Metadata

    frames = {"cycling": lambda: cycling_frame(args.rows, args.cycles),
              "symmetric": lambda: symmetric_frame(args.rows, 2 * args.cycles),
              "hold": lambda: hold_frame(args.rows)}
    print(f"{'analysis':<13} {'record':<10} {'rows':>9} {'seconds':>8} {'record MiB':>10} "
          f"{'added MiB':>9} {'x record':>8}  outcome")
    with tempfile.TemporaryDirectory() as folder:
        paths = {}
        for name, make in frames.items():
            paths[name] = Path(folder) / f"{name}.parquet"
            CyclingRecord(make(), Metadata(notes=(f"generated {name} record",))).to_parquet(
                paths[name])
        for analysis in ANALYSES:
            if args.only and analysis != args.only:
                continue
            for name in RECORDS:
                run = subprocess.run([sys.executable, __file__, "--child", analysis,
                                      str(paths[name])], capture_output=True, text=True,
                                     check=False)
                if run.returncode:
                    print(f"{analysis:<13} {name:<10} crashed:\n{run.stderr}")
                    continue
                row = json.loads(run.stdout.splitlines()[-1])
                print(f"{analysis:<13} {name:<10} {row['rows']:>9} {row['seconds']:>8.2f} "
                      f"{row['record_mib']:>10.0f} {row['extra_mib']:>9.0f} "
                      f"{row['extra_mib'] / row['record_mib']:>8.1f}  {row['outcome']}",
                      flush=True)
    print(f"\nmachine: {machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
