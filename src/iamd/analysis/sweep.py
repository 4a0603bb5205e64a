"""Parameter sweeps: a grid of scenario variants, each a Monte Carlo store, one table.

The classic outputs are a saturation curve (leakers against raid size) and an inventory
curve (leakers against magazine depth). Every point uses the same root seed, so
neighbouring points differ by the design change, not by the draw of the raid.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iamd.analysis.store import write_atomic
from iamd.errors import IamdError, ScenarioError
from iamd.scenario.overrides import parse_set

SWEEP_FILE = "sweep.json"
CSV_FILE = "sweep.csv"
HEADLINE = (
    "threats.impacted_asset",
    "totals.interceptors_fired",
    "cost_usd.exchange_ratio",
    "threats.intercepted",
    "totals.asset_value_lost",
)


@dataclass(frozen=True, slots=True)
class Axis:
    """One ``--vary PATH=v1,v2,...``: the path, each value as typed and as read."""

    path: str
    texts: list[str]
    values: list[Any]


def parse_vary(text: str) -> Axis:
    """``PATH=v1,v2,...`` into its path and values, each read as ``--set`` reads it.

    Raises
    ------
    IamdError
        Without ``=`` or values, or for a value that is not valid YAML.
    """
    path, sep, raw = text.partition("=")
    texts = [v.strip() for v in raw.split(",") if v.strip()]
    if not sep or not path.strip() or not texts:
        raise IamdError(f"--vary {text!r}: expected PATH=v1,v2,..., e.g. raid.0.count=50,100,200")
    try:
        values = [parse_set(f"{path.strip()}={v}").value for v in texts]
    except ScenarioError as exc:
        why = exc.problems[0].message if exc.problems else "unreadable"
        raise IamdError(f"--vary {text!r}: {why}") from None
    return Axis(path.strip(), texts, values)


def write_sweep(
    out_dir: Path, paths: list[str], points: list[tuple[dict[str, Any], Path, Any]]
) -> list[list[str]]:
    """Write ``sweep.json`` and ``sweep.csv`` (a row per point); return display rows.

    ``points`` holds, per grid point, its values by path, its store directory and the
    :class:`iamd.analysis.montecarlo.JobResult` of its run.
    """
    records = []
    for values, point_dir, res in points:
        metrics = res.summary["metrics"]
        records.append(
            {
                "values": values,
                "dir": str(point_dir.relative_to(out_dir)),
                "runs": res.summary["runs"],
                "metrics": {k: metrics[k] for k in HEADLINE if k in metrics},
            }
        )
    doc = {"paths": paths, "points": records}
    write_atomic(out_dir / SWEEP_FILE, lambda p: p.write_text(json.dumps(doc, indent=2) + "\n"))

    def write_csv(p: Path) -> None:
        with p.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            stats = ("mean", "ci95_low", "ci95_high", "p5", "p50", "p95")
            w.writerow([*paths, "runs", *(f"{k}.{s}" for k in HEADLINE for s in stats)])
            for r in records:
                cells = [r["values"][p] for p in paths] + [r["runs"]]
                for k in HEADLINE:
                    m = r["metrics"].get(k, {})
                    cells += [m.get(s) for s in stats]
                w.writerow(cells)

    write_atomic(out_dir / CSV_FILE, write_csv)
    rows = []
    for r in records:
        m = r["metrics"]

        def mean(k: str, m: dict[str, Any] = m) -> str:
            v = m.get(k, {}).get("mean")
            return "-" if v is None else f"{v:.3g}"

        rows.append(
            [str(r["values"][p]) for p in paths]
            + [
                str(r["runs"]),
                mean("threats.impacted_asset"),
                mean("totals.interceptors_fired"),
                mean("cost_usd.exchange_ratio"),
            ]
        )
    return rows
