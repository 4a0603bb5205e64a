"""Share of kills that no interceptor of the firing unit could have made.

Runs each scenario with several seeds, writes each run directory and audits it with
``iamd.analysis.audit`` (the checks of ``iamd audit``): the threat inside the unit's
documented bands where it died, the end game within the kill vehicle's divert, the time of
flight, speed and reach of the interceptor class. Prints, per scenario, the kills and the
share failing each check, and the outcome of each run (intercepted, leakers, interceptors
fired per partner). Run directories written by an older iamd can be audited too
(``--dirs``), which is how a before/after comparison is made.

    python benchmarks/kill_audit.py [--scenario regional-raid ...] [--seeds 0 1 2]
    python benchmarks/kill_audit.py --dirs runs/old-1 runs/old-2
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from iamd.analysis.audit import AuditReport, audit_dir
from iamd.export.rundir import load_run


def describe(label: str, report: AuditReport, summary: dict) -> str:
    t = summary["threats"]
    fired = {o: v["fired"] for o, v in summary.get("by_owner", {}).items()}
    share = ", ".join(
        f"{c} {report.share_failing(c):.1%}" for c in ("envelope", "end_game", "flyout")
    )
    return (
        f"{label}: {report.n_kills} kills, {report.share_outside:.1%} failing any check "
        f"({share}); intercepted {t['intercepted']} of {t['launched'] - t['failed']} not "
        f"failed, {t['impacted_asset']} on assets; fired by partner {fired}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", nargs="*", default=["northern-front", "southern-front",
                                                            "regional-raid"])  # fmt: skip
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--dirs", nargs="*", type=Path, default=[])
    args = parser.parse_args()
    if args.dirs:
        for d in args.dirs:
            print(describe(str(d), audit_dir(d), load_run(d).summary))
        return
    from iamd.scenario.load import load_scenario
    from iamd.sim.run import simulate, write_run_dir

    with tempfile.TemporaryDirectory() as tmp:
        for name in args.scenario:
            scenario = load_scenario(name)
            kills = bad = 0
            t0 = time.perf_counter()
            for seed in args.seeds:
                result = simulate(scenario, seed=seed)
                where = Path(tmp) / f"{name}-{seed}"
                write_run_dir(result, where, with_map=False)
                report = audit_dir(where)
                kills += report.n_kills
                bad += round(report.share_outside * report.n_kills)
                print(describe(f"{name} seed {seed}", report, result.summary))
            print(
                f"{name}: {kills} kills over {len(args.seeds)} seeds, {bad} failing "
                f"({bad / max(kills, 1):.1%}); {time.perf_counter() - t0:.0f} s"
            )


if __name__ == "__main__":
    main()
