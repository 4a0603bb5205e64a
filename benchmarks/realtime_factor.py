"""Real-time factor of regional-raid on one core: simulated seconds per wall second.

The reference is the wall clock itself: a factor of 2,000 means nine simulated hours in
about 16 seconds. Runs the scenario several times with different seeds (pinned to one
core, BLAS threads to one) and prints the median against wall time and against the
process's CPU time (less sensitive to other load on the machine), with the time spent
flying the truth.

    python benchmarks/realtime_factor.py [--runs 5] [--scenario regional-raid]
                                         [--tracking gnn|ideal] [--against SRC]

Targets: 1,000x with the multi-target tracker and track fusion (``gnn``, the
default), 2,000x with ideal tracking.

``--against SRC`` compares with another commit's source tree (e.g. a ``git worktree``'s
``src``): each seed runs in a fresh process with that tree, then with this one, one
after the other on the same core, and the table gives both times and their ratio
(process start and compilation are not counted; both trees' kernels are warmed first).
With ``--repeat N`` each seed runs N times on each tree, in alternating order (A B B A
...), and the least time of each tree counts: on a machine whose speed drifts, the least
of a few runs is the steadier estimate of a tree's own cost.
"""

from __future__ import annotations

import argparse
import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import json  # noqa: E402
import math  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from iamd import load_scenario, simulate  # noqa: E402
from iamd.physics.truth import fly  # noqa: E402

TARGET = {"gnn": 1000.0, "ideal": 2000.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scenario", default="regional-raid")
    parser.add_argument("--tracking", choices=["gnn", "ideal"], default="gnn")
    parser.add_argument("--against", type=Path, help="another commit's src directory")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per seed and tree with --against (least counts)"
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child: one seed
    args = parser.parse_args()
    if args.against is not None:
        compare(args)
        return
    scenario = load_scenario(args.scenario)
    spec = scenario.spec
    spec = spec.model_copy(
        update={"tracking": spec.tracking.model_copy(update={"mode": args.tracking})}
    )
    scenario = type(scenario)(spec, scenario.catalog, scenario.source)
    target = TARGET[args.tracking]
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    rtf, rtf_cpu, truth_s, peak_ms = [], [], [], []
    sim_s = scenario.spec.duration_s
    if args.one is not None:  # a child of compare(): one seed, one JSON line
        from iamd.warmup import warm_kernels

        warm_kernels()  # compile, or load from the cache, before the clock starts
        c0 = time.process_time()
        result = simulate(scenario, seed=args.one)
        cpu = time.process_time() - c0
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
        print(
            json.dumps({"wall_s": result.summary["wall_time_s"], "cpu_s": cpu, "peak_mb": peak_mb})
        )
        return
    for k in range(args.runs):
        t0 = time.perf_counter()
        fly(scenario, np.random.default_rng(k))
        truth_s.append(time.perf_counter() - t0)
        c0 = time.process_time()
        result = simulate(scenario, seed=k)
        cpu = time.process_time() - c0
        wall = result.summary["wall_time_s"]
        c2 = result.summary["c2"]
        peak_ms.append(c2["max_solve_ms"])
        rtf.append(sim_s / wall)
        rtf_cpu.append(sim_s / cpu)
        print(
            f"run {k}: {sim_s:,.0f} simulated s in {wall:.2f} s wall, {cpu:.2f} s CPU "
            f"-> {rtf[-1]:,.0f}x real time ({rtf_cpu[-1]:,.0f}x per CPU second); "
            f"C2 assignment ({c2['solver']}) mean {c2['mean_solve_ms']:.2f} ms, "
            f"peak {c2['max_solve_ms']:.2f} ms over {c2['assignments']} assignments"
        )
    median = statistics.median(rtf)
    print(
        f"{args.scenario} ({args.tracking} tracking): median real-time factor {median:,.0f} "
        f"on one core ({statistics.median(rtf_cpu):,.0f} per CPU second; target "
        f"{target:,.0f}: {'met' if median >= target else 'NOT met'}); "
        f"truth precomputation {statistics.median(truth_s):.2f} s per run; "
        f"C2 assignment peak {max(peak_ms):.2f} ms (target 50 ms: "
        f"{'met' if max(peak_ms) <= 50 else 'NOT met'})"
    )


def compare(args: argparse.Namespace) -> None:
    """Each seed with the other tree, then with this one, in fresh processes on one core."""
    here = Path(__file__).resolve().parents[1] / "src"
    core = str(min(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else None

    def one(src: Path, seed: int) -> dict[str, float]:
        cmd = [sys.executable, __file__, "--one", str(seed), "--scenario", args.scenario]
        cmd += ["--tracking", args.tracking]
        if core is not None:
            cmd = ["taskset", "-c", core, *cmd]
        env = {**os.environ, "PYTHONPATH": str(src)}
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
        return dict(json.loads(out.strip().splitlines()[-1]))

    ratios, factors, peaks = [], [], []
    sim_s = load_scenario(args.scenario).spec.duration_s
    least = f" (least of {args.repeat} runs each, alternating)" if args.repeat > 1 else ""
    print(f"{args.scenario}, seconds of wall time per replication{least}: {args.against} / {here}")
    for k in range(args.runs):
        runs: dict[Path, list[dict[str, float]]] = {args.against: [], here: []}
        for r in range(max(args.repeat, 1)):  # A B, then B A, ...
            for src in (args.against, here) if r % 2 == 0 else (here, args.against):
                runs[src].append(one(src, k))
        base = min(runs[args.against], key=lambda x: x["wall_s"])
        new = min(runs[here], key=lambda x: x["wall_s"])
        ratios.append(base["wall_s"] / new["wall_s"])
        factors.append(sim_s / new["wall_s"])
        peaks.append(new.get("peak_mb", math.nan))
        print(
            f"seed {k}: {base['wall_s']:.2f} s / {new['wall_s']:.2f} s "
            f"(CPU {base['cpu_s']:.2f} / {new['cpu_s']:.2f}): {ratios[-1]:.2f}x; "
            f"{factors[-1]:,.0f}x real time, peak memory {peaks[-1]:,.0f} MB"
        )
    print(
        f"median speed-up {statistics.median(ratios):.2f}x over {args.runs} paired seeds "
        f"({min(ratios):.2f}-{max(ratios):.2f}x); this tree {statistics.median(factors):,.0f}x "
        f"real time; peak memory at most {max(peaks):,.0f} MB (target 1,024 MB)"
    )


if __name__ == "__main__":
    main()
