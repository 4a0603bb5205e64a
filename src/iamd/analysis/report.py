"""``DIR/report.html``: one self-contained page of plots (PNG embedded) for a Monte Carlo
store, a sweep directory, or a single run directory (:mod:`iamd.analysis.report_run`).

Sections: the theatre map (replication 0, drawn on the bundled Natural Earth borders),
headline statistics, threat fates per class, interceptors spent per type and per partner,
the cost-exchange ratio, asset damage, convergence of the main metrics, and, for a sweep,
the curves of the headline metrics against the varied field. Intervals of a metric are
clipped to the values it can take (a count is never below zero).

A report reads the directory and writes its page, nothing else: it works on a read-only
store (with ``out`` elsewhere) and never disturbs a job writing the store.
"""

from __future__ import annotations

import base64
import html
import json
import tempfile
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pyarrow as pa
from matplotlib.figure import Figure

from iamd.analysis.display import fmt_row
from iamd.analysis.metrics import clip_interval, physical_range
from iamd.analysis.montecarlo import KEY_METRICS
from iamd.analysis.page import (
    fates_plot,
    html_row,
    html_table,
    img_tag,
    names_like,
    page_of,
    png_of,
)
from iamd.analysis.stats import describe, halfwidth
from iamd.analysis.store import (
    SCENARIO_FILE,
    Store,
    StoreError,
    batch_files,
    column,
    write_atomic,
)
from iamd.analysis.sweep import HEADLINE, SWEEP_FILE
from iamd.sim.layout import is_run_dir

REPORT_FILE = "report.html"
LABELS = {k: dict(KEY_METRICS)[k] for k in HEADLINE}
"""The sweep's headline metrics and their labels."""
CONVERGENCE = tuple(LABELS.items())[:3]


def boxes(table: pa.Table, names: list[str], label: str, title: str) -> str:
    """Box plots (5-95th percentile whiskers) of several metrics across runs."""
    data = [column(table, n) for n in names]
    data = [d[np.isfinite(d)] for d in data]
    fig, ax = plt.subplots(figsize=(7, 0.6 + 0.45 * max(len(names), 1)))
    short = [n.split(".")[1] for n in names]
    ax.boxplot(data, orientation="horizontal", whis=(5, 95), showmeans=True, tick_labels=short)
    ax.set_xlabel(label)
    ax.set_title(title)
    return png_of(fig)


def histogram(values: np.ndarray, label: str, title: str) -> str:
    x = values[np.isfinite(values)]
    fig, ax = plt.subplots(figsize=(7, 3))
    if x.size:
        ax.hist(x, bins=min(30, max(5, int(np.sqrt(x.size)))), color="#1f77b4", alpha=0.8)
        ax.axvline(float(x.mean()), color="k", ls="--", lw=1, label=f"mean {x.mean():.3g}")
        ax.legend(fontsize=8)
    ax.set_xlabel(label)
    ax.set_ylabel("runs")
    ax.set_title(title)
    return png_of(fig)


def convergence_plot(table: pa.Table) -> str:
    """:func:`convergence_figure` as a base64 PNG."""
    return png_of(convergence_figure(table))


def convergence_figure(table: pa.Table) -> Figure:
    """Running mean of the main metrics with its 95 % interval (clipped to the metric's
    :func:`~iamd.analysis.metrics.physical_range`), against runs."""
    fig, axes = plt.subplots(1, len(CONVERGENCE), figsize=(12, 3))
    for ax, (name, label) in zip(np.atleast_1d(axes), CONVERGENCE, strict=True):
        x = column(table, name)
        x = x[np.isfinite(x)]
        n = np.arange(1, x.size + 1)
        if x.size:
            mean = np.cumsum(x) / n
            h = np.array([halfwidth(x[: k + 1]) for k in range(x.size)])  # runs: not a hot path
            ax.plot(n, mean, color="#1f77b4")
            ok = np.isfinite(h)
            lo, hi = np.clip([mean - h, mean + h], *physical_range(name))
            ax.fill_between(n[ok], lo[ok], hi[ok], alpha=0.25, color="#1f77b4")
        ax.set_xlabel("runs")
        ax.set_title(label, fontsize=10)
    fig.suptitle("convergence: running mean and 95 % interval", fontsize=11)
    fig.tight_layout()
    return fig


def sweep_plots(sweep: dict[str, Any]) -> list[tuple[str, str]]:
    """:func:`sweep_figures` as base64 PNGs."""
    return [(label, png_of(fig)) for label, fig in sweep_figures(sweep)]


def sweep_figures(sweep: dict[str, Any]) -> list[tuple[str, Figure]]:
    """Headline metrics against the first varied field (a line per other combination),
    with 95 % intervals clipped to each metric's physical range."""
    paths: list[str] = sweep["paths"]
    x_path = paths[0]
    groups: dict[str, list[dict[str, Any]]] = {}
    for p in sweep["points"]:
        key = ", ".join(f"{q}={p['values'][q]}" for q in paths[1:])
        groups.setdefault(key, []).append(p)
    plots = []
    for metric, label in LABELS.items():
        fig, ax = plt.subplots(figsize=(6.5, 3.5))
        for key, pts in groups.items():
            xs = np.array([float(p["values"][x_path]) for p in pts])
            ms = [p["metrics"].get(metric, {}) for p in pts]
            mean = np.array([np.nan if m.get("mean") is None else m["mean"] for m in ms], float)
            lo = np.array([np.nan if m.get("ci95_low") is None else m["ci95_low"] for m in ms])
            hi = np.array([np.nan if m.get("ci95_high") is None else m["ci95_high"] for m in ms])
            lo, hi = np.clip([lo, hi], *physical_range(metric))
            order = np.argsort(xs)
            err = np.vstack([mean - lo, hi - mean])[:, order]
            ax.errorbar(
                xs[order],
                mean[order],
                yerr=np.nan_to_num(err),
                marker="o",
                capsize=3,
                label=key or None,
            )
        ax.set_xlabel(x_path)
        ax.set_ylabel(label)
        ax.set_title(f"{label} against {x_path} (mean, 95 % CI)", fontsize=10)
        if len(groups) > 1:
            ax.legend(fontsize=8)
        plots.append((label, fig))
    return plots


def theatre_map(scenario_yaml: Path, seed: int) -> str:
    """The theatre map of replication 0 (simulated again: one run of work)."""
    from iamd.scenario.load import load_scenario_text
    from iamd.sim.run import simulate
    from iamd.viz.theatre_map import draw_map

    scenario = load_scenario_text(scenario_yaml.read_text(encoding="utf-8"), str(scenario_yaml))
    result = simulate(scenario, seed, replication=0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "map.png"
        draw_map(result, path)
        return base64.b64encode(path.read_bytes()).decode("ascii")


def decision_labels(names: list[str]) -> dict[str, str]:
    """Labels of the decision and picture metrics among a store's columns ``names``."""
    out = {
        "decisions.latency_s.mean": "first detection to first launch, s (all)",
        "decisions.shots_at_dead": "interceptors launched at threats already down",
        "decisions.shots_at_harmless": "interceptors launched at threats bound for open ground",
        "decisions.double_engagements": "double engagements",
        "decisions.dual_track_engagements": "engagements of a threat held under two tracks",
        "decisions.false_track_engagements": "engagements of false tracks",
        "decisions.shots_at_false_tracks": "interceptors launched at false tracks",
        "decisions.status_messages": "engagement status messages between owners",
        "decisions.orders": "central node's orders to other owners' units",
        "decisions.fallbacks": "nodes fallen back from the central node",
        "tracking.dual_tracks": "dual tracks per threat held",
    }
    for n in names:
        parts = n.split(".")
        if n.startswith("decisions.latency_s.by_class.") and n.endswith(".mean"):
            out[n] = f"first detection to first launch, s ({parts[3]})"
        elif n.startswith("tracking.pairs.") and n.endswith(".commonality"):
            out[n] = f"threats both hold ({parts[2].replace('~', ' / ')})"
    return {k: v for k, v in out.items() if k in names}


def _stats_table(summary: dict[str, Any], labels: dict[str, str] = LABELS) -> str:
    rows = []
    for name, label in labels.items():
        m = summary["metrics"].get(name)
        if not m or not m.get("n"):
            continue
        lo, hi = clip_interval(name, m["ci95_low"], m["ci95_high"])
        cells = fmt_row([m["mean"], lo, hi, m["p5"], m["p50"], m["p95"]])
        rows.append(html_row(label, cells))
    return html_table(("metric", "mean", "CI low", "CI high", "p5", "p50", "p95"), rows)


def _sweep_parts(directory: Path) -> tuple[list[str], Path]:
    """Sections of a sweep's page, and the store whose replication 0 is mapped."""
    sweep = json.loads((directory / SWEEP_FILE).read_text(encoding="utf-8"))
    title = f"Sweep of {', '.join(sweep['paths'])}"
    parts = [f"<h1>{html.escape(title)}</h1>", "<h2>Sweep curves</h2>"]
    parts += [img_tag(b64, label) for label, b64 in sweep_plots(sweep)]
    return parts, directory / sweep["points"][0]["dir"]


def _store_parts(directory: Path) -> list[str]:
    """Sections of a Monte Carlo store's page (statistics from the stored runs)."""
    store = Store(directory)
    table = store.table()
    job = store.job() or {}
    summary = {"metrics": {name: describe(column(table, name)) for name in LABELS}}
    changes = [f"--set {s}" for s in job.get("set", [])] + [
        f"--without {w}" for w in job.get("without", [])
    ]
    parts = [
        f"<h1>{html.escape(str(job.get('scenario')))}: {table.num_rows} replications</h1>"
        f"<p class=note>seed {job.get('seed')}; "
        f"{html.escape(' '.join(changes) or 'no changes')}"
        f"; iamd {html.escape(_versions(table, job))}</p>",
        "<h2>Headline metrics</h2>" + _stats_table(summary),
        "<h2>Threat fates</h2>" + img_tag(fates_plot(table), "fates by class"),
        "<h2>Interceptors spent</h2>",
    ]
    fired = names_like(table, "interceptors.", ".fired")
    owners = names_like(table, "by_owner.", ".fired")
    if fired:
        parts.append(img_tag(boxes(table, fired, "interceptors fired per run", "by type"), "type"))
    if owners:
        parts.append(
            img_tag(boxes(table, owners, "interceptors fired per run", "by partner"), "partner")
        )
    ratio = histogram(
        column(table, "cost_usd.exchange_ratio"),
        "interceptor cost / threat cost",
        "cost-exchange ratio per run",
    )
    parts.append("<h2>Cost exchange</h2>" + img_tag(ratio, "cost exchange"))
    lost = names_like(table, "assets.", ".value_lost")
    if lost:
        parts.append(
            "<h2>Asset damage</h2>"
            + img_tag(boxes(table, lost, "value lost per run", "asset damage"), "assets")
        )
    labels = decision_labels(table.column_names)
    if labels:
        stats = {"metrics": {name: describe(column(table, name)) for name in labels}}
        parts.append("<h2>Decisions and pictures</h2>" + _stats_table(stats, labels))
    parts.append("<h2>Convergence</h2>" + img_tag(convergence_plot(table), "convergence"))
    return parts


def _versions(table: pa.Table, job: dict[str, Any]) -> str:
    """The iamd version(s) that made the stored runs (several after a changed resume)."""
    if "iamd_version" in table.column_names:
        found = sorted({str(v) for v in table["iamd_version"].to_pylist() if v is not None})
        if found:
            return ", ".join(found)
    return str(job.get("iamd_version"))


def _map_part(store_dir: Path) -> str:
    seed = int((Store(store_dir).job() or {})["seed"])
    b64 = theatre_map(store_dir / SCENARIO_FILE, seed)
    return "<h2>Theatre (replication 0)</h2>" + img_tag(b64, "theatre map")


def write_report(directory: Path, with_map: bool = True, out: Path | None = None) -> Path:
    """Write the report of a Monte Carlo store, a sweep or a single run directory.

    Nothing but the page is written (to ``out``, default ``directory/report.html``).

    Raises
    ------
    StoreError
        When the directory holds none of them, a batch is damaged, or the page cannot be
        written.
    """
    directory = Path(directory)
    if (directory / SWEEP_FILE).is_file():
        parts, map_dir = _sweep_parts(directory)
    elif batch_files(directory):
        parts, map_dir = _store_parts(directory), directory
    elif is_run_dir(directory):
        from iamd.analysis.report_run import run_parts

        parts, map_dir = run_parts(directory, with_map), None
    else:
        raise StoreError(
            f"{directory} holds no Monte Carlo runs, sweep or run "
            "(made by iamd mc, iamd sweep or iamd run)"
        )
    if with_map and map_dir is not None and (map_dir / SCENARIO_FILE).is_file():
        parts.insert(1, _map_part(map_dir))
    path = Path(out) if out is not None else directory / REPORT_FILE
    page = page_of(parts)
    try:
        write_atomic(path, lambda p: p.write_text(page, encoding="utf-8"))
    except StoreError as exc:
        hint = "" if out is not None else "; write it elsewhere with --out FILE"
        raise StoreError(f"{exc}{hint}") from None
    return path
