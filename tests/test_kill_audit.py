"""Every kill of the bundled scenarios holds against physics (5 seeds each), and the audit
that says so finds kills that do not."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from iamd.analysis.audit import audit_dir
from iamd.cli import app
from iamd.scenario.load import load_scenario
from iamd.sim.run import simulate, write_run_dir

SEEDS = range(5)


def audited(name: str, seed: int, where: Path):
    result = simulate(load_scenario(name), seed=seed)
    write_run_dir(result, where, with_map=False)
    return result, audit_dir(where)


def assert_every_kill_holds(name: str, seed: int, where: Path) -> None:
    result, report = audited(name, seed, where)
    assert report.n_kills == result.summary["threats"]["intercepted"] > 0
    assert report.violations == [], report.violations[:5]
    # every kinetic kill ended an end game within its divert, with the interceptor there
    ev = result.outcome.events.table().to_pylist()
    kills = [e for e in ev if e["kind"] == "intercept"]
    divert = {u.name: u.ic.divert_m for u in result.world.units if u.ic.kind == "kinetic"}
    for e in kills:
        if e["unit"] in divert:
            assert e["detail"] == "end_game" and 0 <= e["value"] <= divert[e["unit"]]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", ["northern-front", "southern-front"])
def test_every_kill_of_the_fronts_holds(name, seed, tmp_path):
    assert_every_kill_holds(name, seed, tmp_path / "run")


def test_the_audit_finds_kills_no_interceptor_could_have_made(tmp_path):
    run = tmp_path / "run"
    _, report = audited("northern-front", 1, run)
    assert report.violations == []
    # move the kills' interceptor positions 30 km up, and one unit 200 km away
    ev = pq.read_table(run / "events.parquet")
    kinds = ev.column("kind").cast(pa.string()).to_pylist()
    alt = ev.column("alt_m").to_numpy().copy()
    alt[[k == "intercept" for k in kinds]] += 30e3
    i = ev.column_names.index("alt_m")
    pq.write_table(ev.set_column(i, "alt_m", pa.array(alt)), run / "events.parquet")
    moved = audit_dir(run)
    assert moved.share_failing("end_game") > 0.8
    # launches of one unit moved 200 km north: its kills are out of its reach
    ev = pq.read_table(run / "events.parquet")
    unit = ev.column("unit").cast(pa.string()).to_pylist()
    kinds = ev.column("kind").cast(pa.string()).to_pylist()
    first = next(u for u, k in zip(unit, kinds, strict=True) if k == "intercept")
    lat = ev.column("lat_deg").to_numpy().copy()
    lat[[u == first and k == "launch_interceptor" for u, k in zip(unit, kinds, strict=True)]] += 2.0
    i = ev.column_names.index("lat_deg")
    pq.write_table(ev.set_column(i, "lat_deg", pa.array(lat)), run / "events.parquet")
    far = audit_dir(run)
    assert any(v.unit == first and "envelope" in v.checks for v in far.violations)
    assert any(v.unit == first and "flyout" in v.checks for v in far.violations)
    # the command says so and exits 1
    res = CliRunner().invoke(app, ["audit", str(run), "--show", "2"])
    assert res.exit_code == 1, res.output
    assert "kills audited" in res.output and "failing: envelope" in res.output


def test_a_clean_run_audits_with_exit_0(tmp_path):
    run = tmp_path / "run"
    audited("southern-front", 0, run)
    res = CliRunner().invoke(app, ["audit", str(run)])
    assert res.exit_code == 0, res.output
    assert json.loads((run / "summary.json").read_text())["threats"]["intercepted"] > 0
    flown = pq.read_table(run / "interceptors.parquet").to_pydict()
    assert len(flown["t_s"]) > 0 and np.isfinite(flown["speed_m_s"]).all()
