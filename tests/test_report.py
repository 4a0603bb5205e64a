"""The report: legends clear of the bars, intervals of counts never below zero, and a page
for a single run directory."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from conftest import without_timings
from matplotlib.collections import LineCollection, PolyCollection
from typer.testing import CliRunner

from iamd.analysis.metrics import clip_interval, physical_range
from iamd.analysis.page import fates_figure
from iamd.analysis.report import CONVERGENCE, convergence_figure, sweep_figures
from iamd.analysis.report_run import rerun
from iamd.analysis.store import Store
from iamd.cli import app
from iamd.viz.palette import FATE_COLOURS

runner = CliRunner()
PROVENANCE = {"iamd_version": "0.1.0", "model_sha256": "ab" * 32}
PNG = b"\x89PNG\r\n\x1a\n"


def fates_table() -> pa.Table:
    """Three classes, each filling the whole width: a legend inside would cover a bar."""
    cols: dict[str, list[float]] = {}
    for c, n in (("rocket_short", 60), ("rocket_medium", 60), ("owa_drone", 60)):
        cols[f"threats.by_class.{c}.launched"] = [n, n]
        for k, fate in enumerate(FATE_COLOURS):
            cols[f"threats.by_class.{c}.{fate}"] = [n / 2, n / 2] if k == 0 else [n / 8, n / 8]
    return pa.table(cols)


def test_the_fates_legend_covers_no_bar() -> None:
    fig = fates_figure(fates_table())
    fig.canvas.draw()
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent()
    bars = [p.get_window_extent() for p in ax.patches if p.get_width() > 0]
    assert len(bars) == 3 * len(FATE_COLOURS)
    assert not any(legend.overlaps(b) for b in bars)
    assert legend.y0 >= ax.get_window_extent().y1 - 1  # above the axes altogether
    title = ax.title.get_window_extent()
    assert not legend.overlaps(title)


def test_convergence_bands_of_counts_stay_at_or_above_zero() -> None:
    # mostly zero counts: the t interval of the mean runs well below zero
    counts = np.array([0, 0, 3, 0, 0, 0, 1, 0, 0, 0], dtype=float)
    table = pa.table({name: counts for name, _ in CONVERGENCE})
    fig = convergence_figure(table)
    bands = [c for ax in fig.axes for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == len(CONVERGENCE)
    for band in bands:
        y = np.concatenate([p.vertices[:, 1] for p in band.get_paths()])
        assert y.min() == 0.0 and y.max() > 0  # clipped at zero, not dropped


def test_sweep_intervals_of_counts_stay_at_or_above_zero() -> None:
    def point(x: int, mean: float) -> dict[str, Any]:
        m = {"mean": mean, "ci95_low": mean - 2.0, "ci95_high": mean + 2.0}
        return {"values": {"raid.0.count": x}, "metrics": {"threats.impacted_asset": m}}

    sweep = {"paths": ["raid.0.count"], "points": [point(10, 0.5), point(20, 1.0)]}
    label, fig = sweep_figures(sweep)[0]
    assert label == "leakers on assets"
    (bars,) = [c for c in fig.axes[0].collections if isinstance(c, LineCollection)]
    low = [min(seg[:, 1]) for seg in bars.get_segments()]
    assert low == pytest.approx([0.0, 0.0])


def test_physical_ranges() -> None:
    assert physical_range("threats.by_class.x.intercepted") == (0.0, np.inf)
    assert physical_range("tracking.by_owner.blue.completeness") == (0.0, 1.0)
    assert physical_range("something.else") == (-np.inf, np.inf)
    assert clip_interval("threats.impacted_asset", -0.4, 2.0) == (0.0, 2.0)
    assert clip_interval("tracking.completeness", 0.9, 1.1) == (0.9, 1.0)


def test_the_headline_table_clips_count_intervals(tmp_path: Path) -> None:
    rows = [
        {"run": i, "seed": 5, "threats.impacted_asset": v} for i, v in enumerate([0, 0, 0, 2, 0, 0])
    ]
    with Store(tmp_path / "mc").writing() as s:
        s.write_batch(rows, PROVENANCE)
        s.write_job({"scenario": "synthetic", "seed": 5})
    r = runner.invoke(app, ["report", str(tmp_path / "mc"), "--no-map"])
    assert r.exit_code == 0, r.output
    page = (tmp_path / "mc" / "report.html").read_text()
    row = re.search(r"<tr><td>leakers on assets</td>(.*?)</tr>", page)
    assert row is not None
    cells = re.findall(r"<td>([^<]*)</td>", row.group(1))
    assert cells[1] == "0"  # CI low: the t interval's -0.52 clipped
    assert not any(c.startswith("-") for c in cells)


# a single run directory -------------------------------------------------------------------
def images(page: str) -> dict[str, bytes]:
    found = re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,([^"]+)"', page)
    return {alt: base64.b64decode(b64) for alt, b64 in found}


def test_a_run_directory_gets_a_report(northern_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "run-report.html"
    r = runner.invoke(app, ["report", str(northern_run), "--no-map", "--out", str(out)])
    assert r.exit_code == 0, r.output
    page = out.read_text()
    summary = json.loads((northern_run / "summary.json").read_text())
    for section in ("Headline figures", "Threat fates", "Interceptors spent", "Asset damage"):
        assert section in page
    assert "one run, seed 5" in page
    launched = summary["threats"]["launched"]
    assert f"<tr><td>threats launched</td><td>{launched}</td></tr>" in page
    for name, rec in summary["interceptors"].items():
        assert f"<tr><td>{name}</td><td>{rec['fired']}</td><td>{rec['kills']}</td>" in page
    pictures = images(page)
    assert {"fates by class", "interceptors by type", "by partner"} <= set(pictures)
    assert all(p.startswith(PNG) for p in pictures.values())
    assert not (northern_run / "report.html").exists()  # --out: nothing else written


def test_a_run_report_embeds_the_runs_own_map(northern_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(northern_run, run)
    own = PNG + b"the run's own map"
    (run / "map.png").write_bytes(own)
    r = runner.invoke(app, ["report", str(run)])
    assert r.exit_code == 0, r.output
    assert images((run / "report.html").read_text())["theatre map"] == own


def test_a_run_directory_is_simulated_again_to_draw_its_map(northern_run: Path) -> None:
    summary = json.loads((northern_run / "summary.json").read_text())
    again = rerun(northern_run, summary["seed"]).summary
    assert without_timings(again) == without_timings(summary)


def test_a_directory_of_nothing_is_refused(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text("{}")
    r = runner.invoke(app, ["report", str(tmp_path)])
    assert r.exit_code == 2 and "iamd mc, iamd sweep or iamd run" in r.output
