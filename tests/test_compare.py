"""iamd compare: paired differences printed in one scale per row."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from iamd.analysis.display import fmt, fmt_interval, fmt_row, scale_of
from iamd.analysis.store import Store
from iamd.cli import app

runner = CliRunner()
PROVENANCE = {"iamd_version": "0.1.0", "model_sha256": "ab" * 32}
COST = "cost_usd.interceptors"


def write_store(root: Path, costs_usd: np.ndarray) -> None:
    rows = [
        {"run": i, "seed": 5, COST: float(c), "threats.launched": 10}
        for i, c in enumerate(costs_usd)
    ]
    with Store(root).writing() as s:
        s.write_batch(rows, PROVENANCE)
        s.write_job({"scenario": "synthetic", "seed": 5})


def test_a_row_of_the_comparison_has_one_scale(tmp_path: Path) -> None:
    # B - A: mean about -1.5 M, its interval from a few million below zero to a few
    # hundred thousand above (the case that printed "-3.5 M .. 381,519.2")
    diff = np.array([-6e6, 0.2e6, 0.3e6, -4e6, 0.1e6, 0.4e6, -0.5e6, 0.0])
    a = np.full(diff.size, 8e6)
    write_store(tmp_path / "a", a)
    write_store(tmp_path / "b", a + diff)
    r = runner.invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "b")])
    assert r.exit_code == 0, r.output
    (line,) = [ln for ln in r.output.splitlines() if "interceptor cost" in ln]
    numbers = re.findall(r"-?[\d,]+\.\d+( M)?", line)
    assert len(numbers) == 5 and all(unit == " M" for unit in numbers), line
    lo_hi = re.search(r"(-?[\d.]+) M \.\. (-?[\d.]+) M", line)
    assert lo_hi is not None and float(lo_hi.group(1)) < 0 < float(lo_hi.group(2))
    (launched,) = [ln for ln in r.output.splitlines() if "threats launched" in ln]
    assert " M" not in launched  # another row, its own scale


def test_display_scales() -> None:
    assert scale_of([-3.5e6, 381_519.2]) == (1e6, " M")
    assert fmt_row([-3.5e6, 381_519.2]) == ["-3.50 M", "0.38 M"]
    assert fmt_row([12.345, 381_519.2]) == ["12.3", "381,519.2"]
    assert fmt_row([110.0, None, float("nan")]) == ["110", "-", "-"]
    assert fmt_interval(-3.5e6, 381_519.2, scale_of([-3.5e6, 381_519.2])) == "-3.50 M .. 0.38 M"
    assert fmt_interval(None, 1.0, scale_of([1.0])) == "-"
    assert fmt(0.000123) == "0.000123"


def test_stores_of_different_seeds_are_not_paired(tmp_path: Path) -> None:
    write_store(tmp_path / "a", np.zeros(3))
    with Store(tmp_path / "b").writing() as s:
        s.write_batch([{"run": 0, "seed": 6, COST: 1.0}], PROVENANCE)
        s.write_job({"scenario": "synthetic", "seed": 6})
    r = runner.invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "b")])
    assert r.exit_code == 2 and "seeds differ" in r.output
