"""Share of a replication spent inside iamd's compiled kernels, and what that bounds.

Runs one scenario on one core with every Numba kernel that Python calls wrapped in a
timer, and prints the wall time of the replication beside the time spent inside those
kernels (their arithmetic and their calls' argument passing), kernel by kernel. The rest
is the Python around them: the event loop, the handlers' glue, the event log.

The ratio wall / kernels bounds what compiling the rest can give: an event loop compiled
whole, with zero cost of its own, would still run every kernel, so a replication cannot get
more than that many times faster without the kernels' own arithmetic getting cheaper.

    python benchmarks/kernel_share.py [--scenario regional-raid] [--seed 2024]
                                      [--tracking gnn|ideal] [--top 12]

The timer adds about 0.3 us per kernel call (about 0.03 s of a regional-raid replication's
114,000 calls); kernels called from inside other kernels are counted in their caller.
"""

from __future__ import annotations

import argparse
import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

from numba.core.registry import CPUDispatcher  # noqa: E402

from iamd import load_scenario, simulate  # noqa: E402
from iamd.warmup import warm_kernels  # noqa: E402


def _timed(
    kernel: CPUDispatcher, spent: defaultdict[str, float], calls: Counter[str]
) -> Callable[..., Any]:
    name = f"{kernel.py_func.__module__}.{kernel.py_func.__name__}"
    clock = time.perf_counter

    def call(*args: Any, **kwargs: Any) -> Any:
        t0 = clock()
        try:
            return kernel(*args, **kwargs)
        finally:
            spent[name] += clock() - t0
            calls[name] += 1

    return call


def wrap_kernels(spent: defaultdict[str, float], calls: Counter[str]) -> int:
    """Replace every kernel in iamd's loaded modules by a timed call of it (each module's
    name for it, so Python callers anywhere go through the timer); returns how many."""
    done: dict[int, Callable[..., Any]] = {}
    for name, module in list(sys.modules.items()):
        if name != "iamd" and not name.startswith("iamd."):
            continue
        for attr, value in list(vars(module).items()):
            if isinstance(value, CPUDispatcher):
                if id(value) not in done:
                    done[id(value)] = _timed(value, spent, calls)
                setattr(module, attr, done[id(value)])
    return len(done)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="regional-raid")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--tracking", choices=["gnn", "ideal"], default="gnn")
    parser.add_argument("--top", type=int, default=12, help="kernels listed")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    scenario = load_scenario(args.scenario)
    spec = scenario.spec
    spec = spec.model_copy(
        update={"tracking": spec.tracking.model_copy(update={"mode": args.tracking})}
    )
    scenario = type(scenario)(spec, scenario.catalog, scenario.source)
    warm_kernels(tracking=args.tracking)
    simulate(scenario, seed=args.seed + 1)  # every kernel the run calls loaded and typed
    t0 = time.perf_counter()
    simulate(scenario, seed=args.seed)
    plain_s = time.perf_counter() - t0
    spent: defaultdict[str, float] = defaultdict(float)
    calls: Counter[str] = Counter()
    n_kernels = wrap_kernels(spent, calls)
    t0 = time.perf_counter()
    simulate(scenario, seed=args.seed)
    wall_s = time.perf_counter() - t0
    inside_s = sum(spent.values())
    print(
        f"{args.scenario} seed {args.seed} ({args.tracking}): {plain_s:.2f} s per replication "
        f"({wall_s:.2f} s with {n_kernels} kernels timed)"
    )
    print(f"{'kernel':<52} {'calls':>8} {'s':>7} {'us/call':>9} {'share':>6}")
    top = sorted(spent.items(), key=lambda kv: -kv[1])[: args.top]
    for name, s in top:
        n = calls[name]
        print(f"{name:<52} {n:>8,} {s:>7.3f} {1e6 * s / n:>9.1f} {100 * s / wall_s:>5.1f}%")
    rest = inside_s - sum(s for _, s in top)
    print(f"{'(the other kernels)':<52} {'':>8} {rest:>7.3f} {'':>9} {100 * rest / wall_s:>5.1f}%")
    print(
        f"inside kernels: {inside_s:.2f} s of {wall_s:.2f} s ({100 * inside_s / wall_s:.0f} %, "
        f"{calls.total():,} calls); the Python around them: {wall_s - inside_s:.2f} s"
    )
    print(
        f"bound: with the rest compiled at no cost, a replication would be at most "
        f"{wall_s / inside_s:.1f}x faster than now, unless the kernels' own work shrinks"
    )


if __name__ == "__main__":
    main()
