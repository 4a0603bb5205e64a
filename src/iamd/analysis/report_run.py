"""The report of a single run directory (``iamd run``): one replication, no statistics.

Sections: the headline figures of its ``summary.json``, the theatre map (the run's own
``map.png``, or the run simulated again from its ``scenario.yaml`` and seed when it was
written with ``--no-map``), threat fates per class, interceptors per type and per partner,
and asset damage.
"""

from __future__ import annotations

import base64
import html
import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import pyarrow as pa

from iamd.analysis.display import fmt, scale_of
from iamd.analysis.metrics import summary_row
from iamd.analysis.montecarlo import KEY_METRICS
from iamd.analysis.page import fates_plot, html_row, html_table, img_tag, png_of
from iamd.analysis.store import SCENARIO_FILE, StoreError
from iamd.errors import IamdError

if TYPE_CHECKING:
    from iamd.sim.run import RunResult

MAP_FILE = "map.png"


def _summary(directory: Path) -> dict[str, Any]:
    path = directory / "summary.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        summary_row(data)  # the blocks the report reads are there
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StoreError(f"{path} is not the summary of a run ({exc!r})") from None
    return data


def bars(labels: list[str], series: dict[str, list[float]], xlabel: str, title: str) -> str:
    """Grouped horizontal bars: one group per label, one bar per series."""
    fig, ax = plt.subplots(figsize=(7, 1.0 + 0.5 * max(len(labels), 1) * len(series) / 2))
    y = np.arange(len(labels))
    height = 0.8 / max(len(series), 1)
    for k, (name, values) in enumerate(series.items()):
        ax.barh(y + (k - (len(series) - 1) / 2) * height, values, height, label=name)
    ax.set_yticks(y, labels)
    ax.set_xlabel(xlabel)
    ax.legend(
        fontsize=8, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=len(series), frameon=False
    )
    ax.set_title(title, pad=22)
    return png_of(fig)


def _one(x: float | None) -> str:
    """A figure alone in its cell, in its own scale (millions from 10^6 on)."""
    return fmt(x, scale_of([x]))


def _headline(row: dict[str, Any]) -> str:
    rows = [html_row(label, [_one(row[key])]) for key, label in KEY_METRICS if key in row]
    return html_table(("metric", "value"), rows)


def _interceptors(summary: dict[str, Any]) -> list[str]:
    types = summary["interceptors"]
    owners = summary["by_owner"]
    parts = ["<h2>Interceptors spent</h2>"]
    if types:
        names = list(types)
        series = {k: [float(types[n][k]) for n in names] for k in ("fired", "kills")}
        parts.append(
            img_tag(bars(names, series, "interceptors", "by type"), "interceptors by type")
        )
        rows = [
            html_row(
                n, [fmt(types[n]["fired"]), fmt(types[n]["kills"]), _one(types[n]["cost_usd"])]
            )
            for n in names
        ]
        parts.append(html_table(("type", "fired", "kills", "cost, US$"), rows))
    if owners:
        names = list(owners)
        series = {k: [float(owners[n][k]) for n in names] for k in ("fired", "kills")}
        parts.append(img_tag(bars(names, series, "interceptors", "by partner"), "by partner"))
    return parts


def _decisions(summary: dict[str, Any]) -> list[str]:
    """Decision latency per class, shots at threats already down, and the pictures."""
    dec, tk = summary.get("decisions"), summary.get("tracking", {})
    if not dec:
        return []  # a run of an iamd before these figures
    lat = dec["latency_s"]
    rows = [
        html_row(name, [fmt(q["engaged"]), _one(q["mean"]), _one(q["median"])])
        for name, q in [*lat["by_class"].items(), ("all", lat)]
    ]
    parts = [
        "<h2>Decisions and pictures</h2>"
        + html_table(("first detection to first launch", "engaged", "mean, s", "median, s"), rows)
        + f"<p class=note>interceptors launched at threats already down: "
        f"{fmt(dec['shots_at_dead'])}, at threats bound for open ground: "
        f"{fmt(dec.get('shots_at_harmless'))}; double engagements: "
        f"{fmt(dec.get('double_engagements'))}; engagements of a threat held under two "
        f"tracks: {fmt(dec.get('dual_track_engagements'))}, of false tracks: "
        f"{fmt(dec.get('false_track_engagements'))} "
        f"({fmt(dec.get('shots_at_false_tracks'))} interceptors); "
        f"engagement status messages between owners: "
        f"{fmt(dec.get('status_messages'))} ({fmt(dec.get('status_lost'))} lost); "
        f"central node's orders to other owners' units: {fmt(dec.get('orders'))} (mean "
        f"{_one(dec.get('order_delay_s'))} s on the link), nodes fallen back: "
        f"{fmt(dec.get('fallbacks'))}</p>"
    ]
    owners = tk.get("by_owner", {})
    if owners:
        rows = [html_row(o, [_one(q["dual_tracks"])]) for o, q in owners.items()]
        parts.append(html_table(("owner", "dual tracks per threat held"), rows))
    pairs = tk.get("pairs", {})
    if pairs:
        rows = [html_row(k.replace("~", " / "), [_one(v["commonality"])]) for k, v in pairs.items()]
        parts.append(html_table(("owners", "share of threats both hold"), rows))
    if tk.get("classification") == "kinematic":
        rows = [
            html_row(k.replace(">", " taken for "), [f"{v:.1%}"])
            for k, v in tk.get("confused", {}).items()
        ]
        parts.append(
            f"<p class=note>tracks classified wrong: {tk.get('misclassified', 0.0):.1%} of "
            f"the threats held; engagements on a wrong class: "
            f"{fmt(dec.get('misclassified_engagements'))}</p>"
            + (html_table(("class", "share of threats held"), rows) if rows else "")
        )
    return parts


def _assets(summary: dict[str, Any]) -> list[str]:
    assets = summary["assets"]
    if not assets:
        return []
    rows = [html_row(n, [fmt(a["hits"]), fmt(a["value_lost"])]) for n, a in assets.items()]
    return ["<h2>Asset damage</h2>" + html_table(("asset", "hits", "value lost"), rows)]


def rerun(directory: Path, seed: int) -> RunResult:
    """The run of ``directory`` simulated again from its ``scenario.yaml`` and ``seed``.

    ``iamd run`` simulates the scenario itself (no replication index), so this gives the
    same run, event for event.
    """
    from iamd.export.rundir import read_run_scenario
    from iamd.sim.run import simulate

    path = directory / SCENARIO_FILE
    try:
        scenario, _, _ = read_run_scenario(path)
    except IamdError as exc:
        first = str(exc).splitlines()[0]
        raise StoreError(
            f"cannot draw the theatre: {path} does not load ({first}); use --no-map"
        ) from None
    return simulate(scenario, seed)


def _theatre(directory: Path, seed: int) -> str:
    """The run's map: its own ``map.png``, else the run simulated again (one run of work)."""
    own = directory / MAP_FILE
    if own.is_file():
        return base64.b64encode(own.read_bytes()).decode("ascii")
    from iamd.viz.theatre_map import draw_map

    result = rerun(directory, seed)
    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / MAP_FILE
        draw_map(result, png)
        return base64.b64encode(png.read_bytes()).decode("ascii")


def run_parts(directory: Path, with_map: bool = True) -> list[str]:
    """Sections of the page of a run directory (the title first).

    Raises
    ------
    StoreError
        When ``summary.json`` is not a run's summary.
    """
    summary = _summary(directory)
    row = summary_row(summary)
    title = f"{summary.get('scenario')}: one run, seed {summary.get('seed')}"
    parts = [
        f"<h1>{html.escape(title)}</h1>"
        f"<p class=note>a single replication (iamd run); "
        f"iamd {html.escape(str(summary.get('iamd_version')))}</p>",
        "<h2>Headline figures</h2>" + _headline(row),
    ]
    if with_map:
        b64 = _theatre(directory, int(summary["seed"]))
        parts.append("<h2>Theatre</h2>" + img_tag(b64, "theatre map"))
    fates = fates_plot(pa.Table.from_pylist([row]), xlabel="threats")
    parts.append("<h2>Threat fates</h2>" + img_tag(fates, "fates by class"))
    return parts + _interceptors(summary) + _assets(summary) + _decisions(summary)
