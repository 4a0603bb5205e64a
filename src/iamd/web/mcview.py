"""The Monte Carlo view's data: a store's per-run metrics, summary and sweep table as JSON.

The browser draws the report's plots from it (distribution of a chosen metric, running
mean with its 95 % interval, fates per class, sweep curves) and lets the user pick the
metric; the statistics are the store's own ``summary.json``, not recomputed in JavaScript.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from iamd.analysis.montecarlo import KEY_METRICS
from iamd.analysis.store import batch_files, column, metric_columns
from iamd.errors import IamdError


def _read_json(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise IamdError(f"{path} is unreadable: {exc}") from None


def mc_document(root: Path) -> dict[str, Any]:
    """Per-run metric columns, labels, ``summary.json`` and ``sweep.json`` of a store."""
    tables = []
    for f in batch_files(root):
        try:
            tables.append(pq.read_table(f))
        except (OSError, pa.ArrowInvalid) as exc:
            raise IamdError(f"batch {f} is unreadable ({exc})") from None
    metrics: dict[str, list[float]] = {}
    runs: list[int] = []
    if tables:
        t = pa.concat_tables(tables, promote_options="default").sort_by("run")
        runs = t["run"].to_pylist()
        names = metric_columns(t)
        metrics = {
            n: column(t, n).tolist()
            for n in names
            if n.startswith(("threats.", "totals.", "cost_usd.", "interceptors.", "by_owner."))
        }
    return {
        "name": root.name,
        "runs": runs,
        "labels": dict(KEY_METRICS),
        "metrics": metrics,
        "summary": _read_json(root / "summary.json"),
        "sweep": _read_json(root / "sweep.json"),
        "has_report": (root / "report.html").is_file(),
    }
