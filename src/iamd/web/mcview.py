"""The Monte Carlo view's data: a store's per-run metrics, summary and sweep table as JSON.

The browser draws the report's plots from it (distribution of a chosen metric, running
mean with its 95 % interval, fates per class, sweep curves) and lets the user pick the
metric; the statistics are the store's own ``summary.json``, not recomputed in JavaScript.
Every file is read through :class:`~iamd.web.rundirs.RunsRoot`, so a batch or summary
that is a symlink out of ``--runs`` is not read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from fastapi import HTTPException

from iamd.analysis.montecarlo import KEY_METRICS
from iamd.analysis.store import BATCH_DIR, column, metric_columns
from iamd.web.rundirs import RunsRoot

METRIC_PREFIXES = ("threats.", "totals.", "cost_usd.", "interceptors.", "by_owner.")
"""Stored columns offered as metrics."""
FIRST_METRICS = (
    "threats.impacted_asset",
    "totals.asset_value_lost",
    "threats.intercepted",
    "totals.interceptors_fired",
    "cost_usd.interceptors",
)
"""The metric shown first is the first of these that varies between runs."""


def _batches(runs: RunsRoot, root: Path) -> list[pa.Table]:
    try:
        candidates = sorted((root / BATCH_DIR).glob("runs-*.parquet"))
    except OSError:
        return []
    tables = []
    for f in candidates:
        real = runs.file(root, BATCH_DIR, f.name)
        if real is not None:  # a symlink out of --runs, or not a file: not read
            tables.append(runs.read_parquet(real, ("run",)))
    return tables


def _mapping_or_none(runs: RunsRoot, root: Path, name: str) -> dict[str, Any] | None:
    real = runs.file(root, name)
    if real is None:
        return None
    data = runs.read_json(real)
    return data if isinstance(data, dict) else None


def _varies(values: list[float | None]) -> bool:
    finite = np.asarray([v for v in values if v is not None], dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    return finite.size > 1 and bool(np.ptp(finite) > 0)


def first_metric(
    metrics: dict[str, list[float | None]], sweep: dict[str, Any] | None
) -> str | None:
    """The metric to show first: one that varies (leakers on assets when it does).

    For a Monte Carlo store, varying means between runs; for a sweep, between points.
    """
    if metrics:
        columns = dict(metrics)
    elif sweep is not None:
        columns = {n: [_mean(p, n) for p in sweep["points"]] for n in sweep_metrics(sweep)}
    else:
        return None
    order = [*FIRST_METRICS, *(k for k, _ in KEY_METRICS), *columns]
    for name in order:
        if name in columns and _varies(columns[name]):
            return name
    return next((n for n in order if n in columns), None)


def _mean(point: dict[str, Any], name: str) -> float | None:
    stats = point["metrics"].get(name)
    mean = stats.get("mean") if isinstance(stats, dict) else None
    return float(mean) if isinstance(mean, int | float) and not isinstance(mean, bool) else None


def sweep_metrics(sweep: dict[str, Any]) -> list[str]:
    """Metric names of a sweep (those of its points, in first-seen order)."""
    names: dict[str, None] = {}
    for p in sweep.get("points", []):
        if isinstance(p, dict) and isinstance(p.get("metrics"), dict):
            names.update(dict.fromkeys(str(k) for k in p["metrics"]))
    return list(names)


def _checked_sweep(sweep: dict[str, Any] | None) -> dict[str, Any] | None:
    """``sweep.json`` when it has the shape the view draws (points with values and metrics)."""
    if sweep is None:
        return None
    points = sweep.get("points")
    paths = sweep.get("paths")
    if not isinstance(points, list) or not isinstance(paths, list):
        return None
    ok = [
        p
        for p in points
        if isinstance(p, dict)
        and isinstance(p.get("values"), dict)
        and isinstance(p.get("metrics"), dict)
    ]
    return {**sweep, "points": ok, "paths": [str(x) for x in paths]}


def mc_document(runs: RunsRoot, root: Path, name: str) -> dict[str, Any]:
    """Per-run metric columns, labels, ``summary.json`` and ``sweep.json`` of store ``name``.

    Raises
    ------
    HTTPException
        422 when a batch is not a readable Parquet table with a ``run`` column.
    """
    tables = _batches(runs, root)
    metrics: dict[str, list[float | None]] = {}
    run_ids: list[int] = []
    if tables:
        try:
            t = pa.concat_tables(tables, promote_options="default").sort_by("run")
        except pa.ArrowException:
            raise HTTPException(422, f"{name}: the batches do not fit together") from None
        run_ids = t["run"].to_pylist()
        metrics = {
            n: column(t, n).tolist() for n in metric_columns(t) if n.startswith(METRIC_PREFIXES)
        }
    sweep = _checked_sweep(_mapping_or_none(runs, root, "sweep.json"))
    return {
        "name": name,
        "runs": run_ids,
        "labels": dict(KEY_METRICS),
        "metrics": metrics,
        "first_metric": first_metric(metrics, sweep),
        "summary": _mapping_or_none(runs, root, "summary.json"),
        "sweep": sweep,
        "sweep_metrics": sweep_metrics(sweep) if sweep else [],
        "has_report": runs.file(root, "report.html") is not None,
    }
