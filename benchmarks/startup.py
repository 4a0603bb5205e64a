"""Compilation and start-up: the first run's compile, and a Monte Carlo worker's warm start.

Copies ``src/`` to a temporary directory (so no compiled kernel is cached there), then in
fresh processes times from that copy: ``compile_everything()`` cold (every kernel compiled
and cached on up to two cores, what ``make demo`` or ``make test`` does first after an
install); in a second copy, on one core, ``warm_kernels(everything=True)`` cold, then warm
(every kernel loaded from the cache). Then times, five times, a fresh process from its
start until it has imported the Monte Carlo worker's module and loaded the kernels a
replication of a ``gnn`` scenario runs (``warm_kernels(tracking="gnn")``): what a pool
worker of regional-raid does before its first replication.

    python benchmarks/startup.py

Targets (issue 16): cold compilation at most 90 s once per install; a warm worker ready
in at most 1 s.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKER = (
    "import iamd.analysis.montecarlo, iamd.warmup, time; "
    "iamd.warmup.warm_kernels(tracking='gnn'); print(time.time(), flush=True)"
)
"""What a Monte Carlo worker of a ``gnn`` scenario (regional-raid) does before its first
replication."""
EVERY_KERNEL = WORKER.replace("tracking='gnn'", "everything=True")
"""The same with every kernel, those no replication runs too."""
COMPILE_EVERYTHING = (
    "import iamd.warmup, time; iamd.warmup.compile_everything(); print(time.time(), flush=True)"
)
"""The first run after an install (``make demo`` or ``make test``): every kernel, on up to
two cores."""


def timed(src: Path, child: str = WORKER, one_core: bool = True) -> float:
    """Seconds from the start of a fresh interpreter on ``src`` until its kernels are warm
    (the child's clock when it is ready: its exit, which unloads them, is not counted), on
    one core or on all this process may use."""
    cmd = [sys.executable, "-c", child]
    if one_core and hasattr(os, "sched_getaffinity"):
        cmd = ["taskset", "-c", str(min(os.sched_getaffinity(0))), *cmd]
    t0 = time.time()
    out = subprocess.run(
        cmd, env={**os.environ, "PYTHONPATH": str(src)}, check=True, capture_output=True, text=True
    ).stdout
    return float(out.strip().splitlines()[-1]) - t0


def main() -> None:
    here = Path(__file__).resolve().parents[1] / "src"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    cold = {}
    for one_core in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "src"
            shutil.copytree(here, copy, ignore=shutil.ignore_patterns("__pycache__"))
            child = EVERY_KERNEL if one_core else COMPILE_EVERYTHING
            cold[one_core] = timed(copy, child, one_core)
            if one_core:
                warm = timed(copy, EVERY_KERNEL)
    print(
        f"cold: {cold[False]:.1f} s to compile and cache every kernel on {min(cores, 2)} cores "
        f"(compile_everything, the first run after an install; target 90 s), "
        f"{cold[True]:.1f} s on one"
    )
    print(f"warm: {warm:.2f} s for a fresh process to load them all (first load of the copy)")
    ready = [timed(here) for _ in range(5)]
    print(
        f"warm worker ready: median {statistics.median(ready):.2f} s "
        f"({min(ready):.2f}-{max(ready):.2f} s over 5 starts; target 1 s)"
    )


if __name__ == "__main__":
    main()
