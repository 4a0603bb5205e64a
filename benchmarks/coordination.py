"""What engagement coordination buys: regional-raid under each C2 architecture, share-link
latency and remote-engagement rule, as paired Monte Carlo runs (the same raids) compared
with `iamd compare`.

Runs ``iamd mc`` for each design into ``OUT/<design>`` (skipping a store that already holds
the runs), then prints one markdown table: each design's mean of the headline figures and
of the coordination figures, and its paired difference from coordinated C2 over links of
no latency, marked * where the 95 % interval of the difference excludes zero.

    python benchmarks/coordination.py [--runs 10] [--workers 2] [--out runs/coordination]

The share links carry the partners' tracks as well as the engagement status (and a central
node's orders), so a latency delays all of them. The bundled regional-raid's links have 2 s,
and its units fight on their own owner's fire control (no ``engage_on_remote``). The last
two designs give each node one row per threat (``tracking.picture: by_threat``: dual tracks
merged by their truth label), the engine before system tracks.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from iamd.analysis.compare import compare
from iamd.analysis.store import Store, batch_files


def latency(seconds: float) -> list[str]:
    """``--set`` options giving every owner's share link ``seconds`` of latency."""
    return ["--set", f"owners.*.share_link.latency_s={seconds:g}"]


CENTRALISED = ["--set", "c2.architecture=centralised", "--set", "c2.node=national-bmc"]
BY_THREAT = ["--set", "tracking.picture=by_threat"]
REMOTE = [
    "--set", "fire_units.*.engage_on_remote=true", "--set", "air_patrols.*.engage_on_remote=true"
]  # fmt: skip
DESIGNS: list[tuple[str, str, list[str]]] = [
    ("coordinated, 0 s", "coordinated-0s", latency(0.0)),
    ("coordinated, 0.5 s", "coordinated-0.5s", latency(0.5)),
    ("coordinated, 2 s (as bundled)", "coordinated-2s", []),
    ("coordinated, 6 s", "coordinated-6s", latency(6.0)),
    ("coordinated, 12 s", "coordinated-12s", latency(12.0)),
    ("autonomous, 2 s", "autonomous-2s", ["--set", "c2.architecture=autonomous"]),
    ("centralised, 2 s", "centralised-2s", CENTRALISED),
    ("centralised, 12 s", "centralised-12s", CENTRALISED + latency(12.0)),
    ("coordinated, 2 s, engage on remote", "remote-coordinated-2s", REMOTE),
    ("centralised, 2 s, engage on remote", "remote-centralised-2s", CENTRALISED + REMOTE),
    ("coordinated, 0 s, picture by threat", "by-threat-0s", BY_THREAT + latency(0.0)),
    ("coordinated, 2 s, picture by threat", "by-threat-2s", BY_THREAT),
]
"""Each design: its label, its store's directory, its changes to the bundled scenario (the
first is the baseline). The central node is the national BMC, which every partner's units
then take their orders from."""

FIGURES = (
    ("threats.intercepted", "intercepted"),
    ("threats.impacted_asset", "leakers on assets"),
    ("totals.interceptors_fired", "interceptors fired"),
    ("decisions.double_engagements", "double engagements"),
    ("decisions.dual_track_engagements", "dual-track engagements"),
    ("decisions.latency_s.mean", "detection to launch, s"),
)


def run(out: Path, runs: int, workers: int) -> None:
    iamd = str(Path(sys.executable).parent / "iamd")
    for _, name, changes in DESIGNS:
        target = out / name
        if target.is_dir() and batch_files(target) and Store(target).table().num_rows >= runs:
            continue
        cmd = [iamd, "mc", "regional-raid", "--runs", str(runs), "--workers", str(workers)]
        cmd += ["--out", str(target), *changes]
        print("$", " ".join(cmd[1:]), file=sys.stderr)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def cell(figures: dict[str, Any], baseline: bool) -> str:
    """A design's mean, and unless it is the baseline its paired difference from it."""
    if baseline:
        return f"{figures['mean_a']:,.1f}"
    star = "*" if figures["significant"] else ""
    return f"{figures['mean_b']:,.1f} ({figures['diff']:+,.1f}{star})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("runs/coordination"))
    args = parser.parse_args()
    t0 = time.perf_counter()
    run(args.out, args.runs, args.workers)
    base_dir = args.out / DESIGNS[0][1]
    print("| design | " + " | ".join(label for _, label in FIGURES) + " |")
    print("|" + "---|" * (len(FIGURES) + 1))
    for k, (label, name, _) in enumerate(DESIGNS):
        result = compare(base_dir, args.out / name)
        cells = [cell(result["metrics"][metric], k == 0) for metric, _ in FIGURES]
        print(f"| {label} | " + " | ".join(cells) + " |")
    print(
        f"\n{result['paired_runs']} paired runs per design (seed {result['seed']}); "
        f"in brackets the paired difference from '{DESIGNS[0][0]}', * beyond noise (95 %); "
        f"{time.perf_counter() - t0:.0f} s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
