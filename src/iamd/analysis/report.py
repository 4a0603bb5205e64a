"""``DIR/report.html``: one self-contained page of plots (PNG embedded) for a Monte Carlo or
sweep directory.

Sections: the theatre map (replication 0, drawn on the bundled Natural Earth borders),
headline statistics, threat fates per class, interceptors spent per type and per partner,
the cost-exchange ratio, asset damage, convergence of the main metrics, and, for a sweep,
the curves of the headline metrics against the varied field.
"""

from __future__ import annotations

import base64
import html
import io
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

from iamd.analysis.montecarlo import KEY_METRICS
from iamd.analysis.stats import halfwidth
from iamd.analysis.store import (
    SCENARIO_FILE,
    Store,
    StoreError,
    batch_files,
    column,
    metric_columns,
    write_atomic,
)
from iamd.analysis.sweep import HEADLINE, SWEEP_FILE
from iamd.viz.palette import FATE_COLOURS

REPORT_FILE = "report.html"
LABELS = {k: dict(KEY_METRICS)[k] for k in HEADLINE}
"""The sweep's headline metrics and their labels."""
CONVERGENCE = tuple(LABELS.items())[:3]


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _img(b64: str, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{b64}">'


def _names(table: pa.Table, prefix: str, suffix: str) -> list[str]:
    return [n for n in metric_columns(table) if n.startswith(prefix) and n.endswith(suffix)]


def fates_plot(table: pa.Table) -> str:
    """Mean fate shares of each threat class, stacked, with the class's mean launched."""
    classes = sorted({n.split(".")[2] for n in _names(table, "threats.by_class.", ".launched")})
    fig, ax = plt.subplots(figsize=(7, 0.6 + 0.5 * max(len(classes), 1)))
    left = np.zeros(len(classes))
    for fate, colour in FATE_COLOURS.items():
        means = np.array(
            [np.nanmean(column(table, f"threats.by_class.{c}.{fate}")) for c in classes]
        )
        ax.barh(classes, means, left=left, color=colour, label=fate.replace("_", " "))
        left += np.nan_to_num(means)
    ax.set_xlabel("threats per run (mean)")
    ax.legend(fontsize=8, ncol=3, loc="lower right")
    ax.set_title("fate of the threats, by class")
    return _png(fig)


def boxes(table: pa.Table, names: list[str], label: str, title: str) -> str:
    """Box plots (5-95th percentile whiskers) of several metrics across runs."""
    data = [column(table, n) for n in names]
    data = [d[np.isfinite(d)] for d in data]
    fig, ax = plt.subplots(figsize=(7, 0.6 + 0.45 * max(len(names), 1)))
    short = [n.split(".")[1] for n in names]
    ax.boxplot(data, orientation="horizontal", whis=(5, 95), showmeans=True, tick_labels=short)
    ax.set_xlabel(label)
    ax.set_title(title)
    return _png(fig)


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
    return _png(fig)


def convergence_plot(table: pa.Table) -> str:
    """Running mean of the main metrics with its 95 % interval, against runs."""
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
            ax.fill_between(n[ok], (mean - h)[ok], (mean + h)[ok], alpha=0.25, color="#1f77b4")
        ax.set_xlabel("runs")
        ax.set_title(label, fontsize=10)
    fig.suptitle("convergence: running mean and 95 % interval", fontsize=11)
    fig.tight_layout()
    return _png(fig)


def sweep_plots(sweep: dict[str, Any]) -> list[tuple[str, str]]:
    """Headline metrics against the first varied field (a line per other combination)."""
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
        plots.append((label, _png(fig)))
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


def _stats_table(summary: dict[str, Any]) -> str:
    rows = []
    for name, label in LABELS.items():
        m = summary["metrics"].get(name)
        if not m or not m.get("n"):
            continue
        cells = [m["mean"], m["ci95_low"], m["ci95_high"], m["p5"], m["p50"], m["p95"]]
        rows.append(
            f"<tr><td>{html.escape(label)}</td>"
            + "".join(f"<td>{'-' if c is None else f'{c:,.3g}'}</td>" for c in cells)
            + "</tr>"
        )
    head = "".join(
        f"<th>{h}</th>" for h in ("metric", "mean", "CI low", "CI high", "p5", "p50", "p95")
    )
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


CSS = """body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#222}
img{max-width:100%;margin:.5em 0}table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}td:first-child{text-align:left}
h2{border-bottom:1px solid #ddd;margin-top:1.6em}.note{color:#555;font-size:.9em}"""


def write_report(directory: Path, with_map: bool = True, out: Path | None = None) -> Path:
    """Write the report of a Monte Carlo store or a sweep directory.

    Nothing but the page is written (to ``out``, default ``directory/report.html``), so a
    report works on a read-only store and never disturbs a job writing it.

    Raises
    ------
    StoreError
        When the directory holds neither, a batch is damaged, or the page cannot be
        written.
    """
    directory = Path(directory)
    sweep_path = directory / SWEEP_FILE
    parts: list[str] = []
    if sweep_path.is_file():
        sweep = json.loads(sweep_path.read_text(encoding="utf-8"))
        first = directory / sweep["points"][0]["dir"]
        title = f"Sweep of {', '.join(sweep['paths'])}"
        parts.append(f"<h1>{html.escape(title)}</h1>")
        parts.append("<h2>Sweep curves</h2>")
        parts += [_img(b64, label) for label, b64 in sweep_plots(sweep)]
        map_dir = first
    elif batch_files(directory):
        store = Store(directory)
        table = store.table()
        job = store.job() or {}
        summary = json.loads((directory / "summary.json").read_text(encoding="utf-8"))
        changes = [f"--set {s}" for s in job.get("set", [])] + [
            f"--without {w}" for w in job.get("without", [])
        ]
        parts.append(
            f"<h1>{html.escape(str(job.get('scenario')))}: {table.num_rows} replications</h1>"
            f"<p class=note>seed {job.get('seed')}; "
            f"{html.escape(' '.join(changes) or 'no changes')}"
            f"; iamd {html.escape(str(job.get('iamd_version')))}</p>"
        )
        parts.append("<h2>Headline metrics</h2>" + _stats_table(summary))
        parts.append("<h2>Threat fates</h2>" + _img(fates_plot(table), "fates by class"))
        fired = _names(table, "interceptors.", ".fired")
        owners = _names(table, "by_owner.", ".fired")
        parts.append("<h2>Interceptors spent</h2>")
        if fired:
            parts.append(_img(boxes(table, fired, "interceptors fired per run", "by type"), "type"))
        if owners:
            parts.append(
                _img(boxes(table, owners, "interceptors fired per run", "by partner"), "partner")
            )
        parts.append(
            "<h2>Cost exchange</h2>"
            + _img(
                histogram(
                    column(table, "cost_usd.exchange_ratio"),
                    "interceptor cost / threat cost",
                    "cost-exchange ratio per run",
                ),
                "cost exchange",
            )
        )
        lost = _names(table, "assets.", ".value_lost")
        if lost:
            parts.append(
                "<h2>Asset damage</h2>"
                + _img(boxes(table, lost, "value lost per run", "asset damage"), "assets")
            )
        parts.append("<h2>Convergence</h2>" + _img(convergence_plot(table), "convergence"))
        map_dir = directory
    else:
        raise StoreError(f"{directory} holds no Monte Carlo runs or sweep (iamd mc / iamd sweep)")
    if with_map and (map_dir / SCENARIO_FILE).is_file():
        job = Store(map_dir).job() or {}
        b64 = theatre_map(map_dir / SCENARIO_FILE, int(job["seed"]))
        parts.insert(1, "<h2>Theatre (replication 0)</h2>" + _img(b64, "theatre map"))
    page = (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>iamd report</title><style>{CSS}</style></head><body>"
        + "\n".join(parts)
        + "<p class=note>Made by iamd. Intervals are 95 % Student t intervals of the mean; "
        "whiskers span the 5th to 95th percentiles. Borders: Natural Earth via world-atlas.</p>"
        "</body></html>\n"
    )
    path = Path(out) if out is not None else directory / REPORT_FILE
    try:
        write_atomic(path, lambda p: p.write_text(page, encoding="utf-8"))
    except StoreError as exc:
        hint = "" if out is not None else "; write it elsewhere with --out FILE"
        raise StoreError(f"{exc}{hint}") from None
    return path
