"""Kramers-Kronig verdict benchmark: pass / flag rates per class, and the corpus verdicts.

Spectra: :func:`labkit.eis.kk_synthetic.kk_spectra`, ``--count`` per class (valid,
drift of the arc resistances by +-50 % over the sweep, corrupt low-frequency tail),
four circuit families in turn (blocking pellet, sulfide pellet with its bulk arc above
the range, cell with non-blocking electrodes, milliohm battery with lead inductance
and Warburg), 7 MHz or 1 MHz to 0.1 Hz at 10 points per decade, 0.1-0.5 % noise.

For each class it prints the share of spectra labkit's verdict flags (valid: the share
that passes) with the same spectra judged by the old fixed rule (every residual within
1 % of |Z|, the symmetric tau extensions 0, 0.5, 1 decade) beside it, per family and in
all, the criteria that decided, and the CPU time per spectrum. With ``--corpus DIR``
it also prints the verdict on every spectrum of every impedance file under DIR
(e.g. ``../shared/corpus/eis``), old and new, with the new reason.

Run: ``python bench/kk_verdict.py [--count 200] [--seed 2026] [--corpus DIR]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from labkit.eis.kk_synthetic import FAMILIES, FAULTS, kk_spectra
from labkit.eis.kramers_kronig import KramersKronigResult, kramers_kronig

#: The rule before issue 16: every residual within 1 % of |Z|, tau extended 0, 0.5, 1 decade.
OLD_RULE = {"max_residual_percent": 1.0, "tau_extensions_decades": (0.0, 0.5, 1.0)}


def _old_verdict(spectrum: Any) -> bool:
    result = kramers_kronig(spectrum, **OLD_RULE)
    return bool(max(result.residual_max_percent_real, result.residual_max_percent_imag) <= 1.0)


def _machine() -> str:
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}, numpy {np.__version__}")


def _synthetic(count: int, seed: int) -> None:
    print(f"{count} spectra per class (seed {seed}); machine: {_machine()}")
    print(f"{'class':<14} {'family':<9} {'new':>7} {'old 1 %':>8}   criteria that decided (new)")
    cpu = 0.0
    for fault in FAULTS:
        spectra = kk_spectra(count, fault, seed=seed)
        start = time.process_time()
        results = [kramers_kronig((s.frequency_hertz, s.impedance_ohm)) for s in spectra]
        cpu += time.process_time() - start
        old = [_old_verdict((s.frequency_hertz, s.impedance_ohm)) for s in spectra]
        for family in (*FAMILIES, "all"):
            chosen = [i for i, s in enumerate(spectra) if family in ("all", s.family)]
            new_rate = _rate(fault, [results[i].valid for i in chosen])
            old_rate = _rate(fault, [old[i] for i in chosen])
            decided = Counter(name for i in chosen for name in results[i].decided_by)
            print(f"{fault:<14} {family:<9} {100 * new_rate:>6.1f}% {100 * old_rate:>7.1f}%   "
                  + ", ".join(f"{name} {n}" for name, n in decided.most_common()))
    print(f"labkit kramers_kronig: {1e3 * cpu / (3 * count):.0f} ms CPU per spectrum "
          "(verdict included)")
    print("(valid: share that passes; drift and corrupt_tail: share flagged)")


def _rate(fault: str, valid: list[bool]) -> float:
    passed = float(np.mean(valid))
    return passed if fault == "valid" else 1.0 - passed


def _corpus(folder: Path) -> None:
    import labkit
    from labkit.eis._spectra import iter_spectra
    from labkit.eis.kramers_kronig import aborted_verdict, file_states_aborted
    from labkit.errors import LabkitError

    print(f"\ncorpus {folder}: old (1 %) -> new verdict")
    changed = 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file()
                       and not {"_reference", "_sidecar"} & set(p.parts)):
        try:
            record = labkit.read(path)
        except LabkitError:
            continue
        if type(record).__name__ != "ImpedanceRecord":
            continue
        for index, spectrum in enumerate(iter_spectra(record)):
            result: KramersKronigResult = kramers_kronig(spectrum)
            old = _old_verdict(spectrum)
            if file_states_aborted(record):
                result, old = aborted_verdict(result), False
            mark = "  " if old == result.valid else "**"
            changed += old != result.valid
            print(f"{mark} {'V' if old else 'X'}->{'V' if result.valid else 'X'} "
                  f"{path.relative_to(folder)} [{index}]: {result.reason}")
    print(f"{changed} spectra changed verdict")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--corpus", type=Path, help="folder of impedance files to judge too")
    args = parser.parse_args()
    _synthetic(args.count, args.seed)
    if args.corpus:
        _corpus(args.corpus)


if __name__ == "__main__":
    main()
