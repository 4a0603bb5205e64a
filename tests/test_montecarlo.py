"""Monte Carlo: executor independence, resume after a kill, statistics, CLI errors."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from iamd.analysis import montecarlo
from iamd.analysis import store as store_mod
from iamd.analysis.job import Job
from iamd.analysis.metrics import flatten, summary_metrics, summary_row
from iamd.analysis.montecarlo import MIN_RUNS_FOR_STOP, NONDETERMINISTIC, run_batch, run_mc
from iamd.analysis.query import query
from iamd.analysis.stats import describe, paired
from iamd.analysis.store import ID_COLUMNS, Store, StoreError
from iamd.cli import app
from iamd.errors import IamdError
from iamd.scenario.load import bundled_scenarios, load_scenario, load_scenario_changed
from iamd.sim.run import replication_seed, simulate

SMALL = """
name: mc-small
origin: {lat_deg: 32.0, lon_deg: 35.0}
duration_s: 300
seed: 11
owners:
  - {name: blue, shares_with: [green]}
  - {name: green, shares_with: [blue]}
assets:
  - {name: Town, value: 50, point: {lat_deg: 32.0, lon_deg: 35.0}, radius_km: 3}
sensors:
  - {name: radar, type: fire_control_radar, owner: blue, lat_deg: 31.95, lon_deg: 35.0, alt_m: 100}
c2_nodes:
  - {name: bmc, owner: blue, lat_deg: 31.95, lon_deg: 35.0, cycle_s: 1}
  - {name: gc2, owner: green, lat_deg: 31.90, lon_deg: 35.0, cycle_s: 1}
fire_units:
  - {name: sr, interceptor: short_range, owner: blue, c2: bmc, lat_deg: 31.98, lon_deg: 35.0,
     rounds: 4}
  - {name: sr-green, interceptor: short_range, owner: green, c2: gc2, lat_deg: 32.02,
     lon_deg: 35.02, rounds: 3}
raid:
  - threat: rocket_short
    count: 9
    launch_area: {lat_deg: 32.25, lon_deg: 35.0, radius_km: 2}
    start_s: 10
    interval_s: 8
    targets: [Town]
"""

runner = CliRunner()


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


def job_of(path: Path, sets: list[str] | None = None, without: list[str] | None = None) -> Job:
    s, doc = load_scenario_changed(str(path), sets or [], without or [])
    return Job(s, doc, seed=5, sets=tuple(sets or []), without=tuple(without or []))


def rows_of(directory: Path) -> list[dict]:
    rows = Store(directory).table().to_pylist()
    return [{k: v for k, v in r.items() if k not in NONDETERMINISTIC} for r in rows]


def test_replication_seed_is_the_spawned_child() -> None:
    children = np.random.SeedSequence(42).spawn(5)
    for i, child in enumerate(children):
        mine = replication_seed(42, i)
        assert np.array_equal(mine.generate_state(8), child.generate_state(8))
    assert np.array_equal(
        replication_seed(42, None).generate_state(4),
        np.random.SeedSequence(42).generate_state(4),
    )


def test_rows_are_the_flattened_summaries(small: Path) -> None:
    job = job_of(small)
    rows = run_batch(job.scenario, job.seed, [3])
    direct = simulate(job.scenario, job.seed, replication=3).summary
    flat = flatten(direct)
    assert rows[0]["run"] == 3
    for key, value in flat.items():
        if key not in NONDETERMINISTIC:
            assert rows[0][key] == value, key
    assert rows[0]["totals.interceptors_fired"] == sum(
        v["fired"] for v in direct["interceptors"].values()
    )
    # fates are conserved in every row
    t = rows[0]
    fates = ("failed", "intercepted", "impacted_asset", "impacted_open", "airborne_at_end")
    assert sum(t[f"threats.{f}"] for f in fates) == t["threats.launched"] == 9


@pytest.mark.slow
def test_serial_pool_and_dask_give_identical_runs(small: Path, tmp_path: Path) -> None:
    from distributed import LocalCluster

    job = job_of(small)
    run_mc(Store(tmp_path / "serial"), job, 6, workers=1, batch_size=4)
    run_mc(Store(tmp_path / "pool"), job, 6, workers=2, batch_size=1)
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        run_mc(Store(tmp_path / "dask"), job, 6, scheduler=cluster.scheduler_address, batch_size=2)
    serial = rows_of(tmp_path / "serial")
    assert [r["run"] for r in serial] == list(range(6))
    assert (
        len(
            {r["threats.intercepted"] for r in serial}
            | {r["threats.impacted_asset"] for r in serial}
        )
        > 1
    )
    assert rows_of(tmp_path / "pool") == serial
    assert rows_of(tmp_path / "dask") == serial


def test_resume_runs_only_missing_and_refuses_other_jobs(small: Path, tmp_path: Path) -> None:
    job = job_of(small)
    out = tmp_path / "mc"
    first = run_mc(Store(out), job, 3, workers=1, batch_size=2)
    assert (first.ran, first.stored) == (3, 3)
    again = run_mc(Store(out), job, 5, workers=1, batch_size=2)
    assert (again.skipped, again.ran, again.stored) == (3, 2, 5)
    fresh = tmp_path / "fresh"
    run_mc(Store(fresh), job, 5, workers=1)
    assert rows_of(out) == rows_of(fresh)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["runs"] == 5
    with pytest.raises(StoreError, match="seed"):
        run_mc(Store(out), Job(job.scenario, job.document, seed=6), 5, workers=1)
    other = job_of(small, sets=["fire_units.sr.rounds=2"])
    with pytest.raises(StoreError, match="scenario"):
        run_mc(Store(out), other, 5, workers=1)


@pytest.mark.slow
def test_sigkill_mid_job_loses_nothing_stored(small: Path, tmp_path: Path) -> None:
    out = tmp_path / "killed"
    cmd = [
        sys.executable,
        "-m",
        "iamd",
        "mc",
        str(small),
        "--runs",
        "12",
        "--seed",
        "5",
        "--workers",
        "1",
        "--batch-size",
        "1",
        "--out",
        str(out),
        "-q",
    ]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((out / "batches").glob("runs-*"))) < 3:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stored = sorted((out / "batches").glob("runs-*.parquet"))
    assert 3 <= len(stored) < 12
    for f in stored:  # every file left is complete
        assert pq.read_table(f).num_rows == 1
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert not list((out / "batches").glob(".tmp-*"))
    runs = [r["run"] for r in Store(out).table().to_pylist()]
    assert runs == list(range(12))  # no run lost, none duplicated
    reference = tmp_path / "reference"
    run_mc(Store(reference), job_of(small), 12, workers=1)
    assert rows_of(out) == rows_of(reference)


def test_full_disk_gives_clear_error_and_no_corrupt_store(
    small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = job_of(small)
    out = tmp_path / "mc"
    run_mc(Store(out), job, 2, workers=1, batch_size=1)

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_mod.pq, "write_table", full)
    with pytest.raises(StoreError, match="no space left"):
        run_mc(Store(out), job, 4, workers=1, batch_size=1)
    monkeypatch.undo()
    assert not list((out / "batches").glob(".tmp-*"))
    assert [r["run"] for r in Store(out).table().to_pylist()] == [0, 1]
    result = runner.invoke(app, ["mc", str(small), "--runs", "1", "--out", str(small / "x")])
    assert result.exit_code == 2
    assert "cannot write" in result.output and "Traceback" not in result.output


def test_ci_covers_known_mean_about_95_percent() -> None:
    rng = np.random.default_rng(7)
    trials, n, hits = 4000, 12, 0
    for _ in range(trials):  # synthetic trials (a statistical check, not a hot path)
        d = describe(rng.normal(3.0, 2.0, n))
        hits += d["ci95_low"] <= 3.0 <= d["ci95_high"]  # type: ignore[operator]
    assert 0.94 <= hits / trials <= 0.96
    # the interval of a mean is the t interval: compare with scipy's
    from scipy import stats

    x = rng.normal(size=30)
    lo, hi = stats.t.interval(0.95, 29, loc=x.mean(), scale=stats.sem(x))
    d = describe(x)
    assert d["ci95_low"] == pytest.approx(lo) and d["ci95_high"] == pytest.approx(hi)
    assert d["p50"] == pytest.approx(np.median(x))


def test_paired_difference_removes_common_noise() -> None:
    rng = np.random.default_rng(3)
    common = rng.normal(0, 10, 50)
    a, b = common + rng.normal(0, 0.1, 50), common + 0.5 + rng.normal(0, 0.1, 50)
    p = paired(a, b)
    assert p["significant"] and p["ci95_low"] < 0.5 < p["ci95_high"]  # type: ignore[operator]
    assert p["diff"] == pytest.approx(float(np.mean(b - a)))


def test_until_ci_stops_when_interval_is_narrow(small: Path, tmp_path: Path) -> None:
    job = job_of(small)
    res = run_mc(
        Store(tmp_path / "u"), job, 40, workers=1, batch_size=2, until=("threats.launched", 0.01)
    )  # launched is constant: narrow at once
    assert res.stopped_by_ci and res.stored == MIN_RUNS_FOR_STOP
    wide = run_mc(
        Store(tmp_path / "w"),
        job,
        6,
        workers=1,
        batch_size=2,
        until=("threats.impacted_asset", 1e-9),
    )
    assert not wide.stopped_by_ci and wide.stored == 6  # too few runs to judge


def test_until_ci_refuses_an_unknown_metric_before_running(
    small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(*args: object) -> None:
        raise AssertionError("a batch ran before the metric was checked")

    monkeypatch.setattr(montecarlo, "run_batch", never)
    job = job_of(small)
    with pytest.raises(IamdError, match=r"did you mean threats\.impacted_asset"):
        run_mc(Store(tmp_path / "x"), job, 4, workers=1, until=("threats.impacted_aset", 1.0))
    # per-scenario names: this scenario's owners and classes, not another's
    with pytest.raises(IamdError, match=r"did you mean by_owner\.green\.fired"):
        run_mc(Store(tmp_path / "x"), job, 4, workers=1, until=("by_owner.gren.fired", 1.0))
    assert not (tmp_path / "x").exists()  # nothing run, nothing written
    args = ["mc", str(small), "--runs", "4", "--out", str(tmp_path / "y")]
    r = runner.invoke(app, [*args, "--until-ci", "interceptors.short_rang.fired=0.5"])
    assert r.exit_code == 2 and "did you mean interceptors.short_range.fired" in r.output
    assert "Traceback" not in r.output and not (tmp_path / "y").exists()


def _metric_names(summary: dict) -> set[str]:
    return set(summary_row(summary)) - set(ID_COLUMNS)


def test_metric_names_of_a_scenario_are_those_its_runs_store(
    small: Path, northern_run: Path
) -> None:
    job = job_of(small)
    row = run_batch(job.scenario, job.seed, [0])[0]
    assert set(summary_metrics(job.scenario)) == set(row) - set(ID_COLUMNS)
    summary = json.loads((northern_run / "summary.json").read_text())
    assert set(summary_metrics(load_scenario("northern-front"))) == _metric_names(summary)


@pytest.mark.parametrize("name", sorted(set(bundled_scenarios()) - {"northern-front"}))
def test_metric_names_of_the_other_bundled_scenarios(name: str) -> None:
    # the names follow the scenario's structure (classes, types, owners, assets), not its
    # length: ten minutes from the first launch hold a picture sample of every owner
    spec = load_scenario(name).spec
    short_s = min(spec.duration_s, min(s.start_s for s in spec.raid) + 600.0)
    scenario, _ = load_scenario_changed(name, [f"duration_s={short_s}"])
    summary = simulate(scenario, replication=0).summary
    assert set(summary_metrics(scenario)) == _metric_names(summary)


def test_cli_mc_query_compare_sweep_report(small: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    r = runner.invoke(
        app,
        ["mc", str(small), "--runs", "4", "--workers", "1", "--seed", "5", "--out", str(a), "-q"],
    )
    assert r.exit_code == 0, r.output
    assert "leakers on assets" in r.output
    r = runner.invoke(
        app,
        [
            "mc",
            str(small),
            "--runs",
            "4",
            "--workers",
            "1",
            "--seed",
            "5",
            "--without",
            "green",
            "--out",
            str(b),
            "-q",
        ],
    )
    assert r.exit_code == 0, r.output
    no_green = Store(b).table().column_names
    assert not any(c.startswith("by_owner.green") for c in no_green)

    _, rows = query(a, 'SELECT count(*), avg("threats.impacted_asset") FROM runs')
    leak = np.array([x["threats.impacted_asset"] for x in Store(a).table().to_pylist()])
    assert rows[0][0] == 4 and rows[0][1] == pytest.approx(leak.mean())

    r = runner.invoke(app, ["compare", str(a), str(b), "--json"])
    assert r.exit_code == 0, r.output
    cmp = json.loads(r.output)
    leak_b = np.array([x["threats.impacted_asset"] for x in Store(b).table().to_pylist()])
    assert cmp["paired_runs"] == 4
    assert cmp["metrics"]["threats.impacted_asset"]["diff"] == pytest.approx(
        float(np.mean(leak_b - leak))
    )
    assert cmp["metrics"]["threats.launched"]["diff"] == 0  # same raids: common random numbers

    sw = tmp_path / "sweep"
    r = runner.invoke(
        app,
        [
            "sweep",
            str(small),
            "--vary",
            "raid.0.count=3,6",
            "--runs",
            "2",
            "--workers",
            "1",
            "--out",
            str(sw),
            "-q",
        ],
    )
    assert r.exit_code == 0, r.output
    lines = (sw / "sweep.csv").read_text().splitlines()
    assert len(lines) == 3
    sweep = json.loads((sw / "sweep.json").read_text())
    launched = [p["metrics"].get("threats.intercepted", {}).get("mean") for p in sweep["points"]]
    assert all(v is not None for v in launched)

    r = runner.invoke(app, ["report", str(a)])
    assert r.exit_code == 0, r.output
    page = (a / "report.html").read_text()
    for section in (
        "Theatre",
        "Threat fates",
        "Interceptors spent",
        "Cost exchange",
        "Asset damage",
        "Convergence",
    ):
        assert section in page
    assert (
        page.count("data:image/png;base64,") >= 6
        and "http" not in page.replace("https://", "").split("<body>")[0]
    )
    r = runner.invoke(app, ["report", str(sw), "--no-map"])
    assert r.exit_code == 0, r.output
    assert "Sweep curves" in (sw / "report.html").read_text()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("doctrine.cost_weight=abc", "--set doctrine.cost_weight=abc"),
        ("fire_units.nope.rounds=3", "has no item 'nope'"),
        ("fire_units.sr.roundz=3", "did you mean 'rounds'"),
        ("doctrine", "expected PATH=VALUE"),
    ],
)
def test_set_errors_are_clear(small: Path, tmp_path: Path, change: str, expected: str) -> None:
    r = runner.invoke(
        app, ["mc", str(small), "--runs", "1", "--set", change, "--out", str(tmp_path / "x")]
    )
    assert r.exit_code == 2
    assert expected in r.output and "Traceback" not in r.output
    assert not (tmp_path / "x" / "batches").exists() or not any((tmp_path / "x").rglob("*.parquet"))


def test_set_and_without_change_the_scenario(small: Path) -> None:
    s, _ = load_scenario_changed(str(small), ["fire_units.sr.rounds=2", "doctrine.reserve=1"])
    assert s.spec.fire_units[0].rounds == 2 and s.spec.doctrine.reserve == 1
    s, _ = load_scenario_changed(str(small), [], ["green"])
    assert [u.name for u in s.spec.fire_units] == ["sr"]
    assert [o.name for o in s.spec.owners] == ["blue"] and s.spec.owners[0].shares_with == []


def test_set_values_are_read_like_the_scenario_file() -> None:
    """A --set value goes through the scenario loader: dates stay text, tags are refused."""
    from iamd.errors import ScenarioError
    from iamd.scenario.overrides import parse_set

    assert parse_set("description=2024-04-13").value == "2024-04-13"
    assert parse_set("raid.0.targets=[Town, Port]").value == ["Town", "Port"]
    with pytest.raises(ScenarioError, match="not valid YAML"):
        parse_set("name=!!python/object/apply:os.system [ls]")


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_mc_and_sweep_never_write_over_something_else(small: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "a-run"
    assert runner.invoke(app, ["run", str(small), "--out", str(run_dir), "-q"]).exit_code == 0
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "summary.json").write_text("my own notes\n")
    before = {d: _tree(d) for d in (run_dir, mine)}
    for target in (run_dir, mine):
        for cmd in (["mc", str(small), "--runs", "1"],
                    ["sweep", str(small), "--vary", "raid.0.count=3", "--runs", "1"]):  # fmt: skip
            r = runner.invoke(app, [*cmd, "--out", str(target), "-q"])
            assert r.exit_code != 0
            assert "choose another --out" in r.output and "Traceback" not in r.output
            assert _tree(target) == before[target]  # nothing written, nothing lost
    # a file in the way of a sweep's point is refused before any point runs
    sw = tmp_path / "sw"
    (sw / "points" / "001").mkdir(parents=True)
    (sw / "points" / "001" / "x.txt").write_text("x")
    r = runner.invoke(app, ["sweep", str(small), "--vary", "raid.0.count=3,6", "--runs", "1",
                            "--out", str(sw), "-q"])  # fmt: skip
    assert r.exit_code != 0 and "choose another --out" in r.output
    assert not (sw / "points" / "000").exists()


def test_sweep_validates_every_point_before_running_any(small: Path, tmp_path: Path) -> None:
    sw = tmp_path / "sw"
    r = runner.invoke(app, ["sweep", str(small), "--vary", "raid.0.count=3,6,-1", "--runs", "1",
                            "--out", str(sw), "-q"])  # fmt: skip
    assert r.exit_code == 2, r.output
    assert "--set raid.0.count=-1" in r.output and "Traceback" not in r.output
    assert not sw.exists()  # the valid points were not run first


def test_sweep_values_are_read_like_set_values() -> None:
    from iamd.analysis.sweep import parse_vary
    from iamd.scenario.overrides import parse_set

    texts = ["0.5", "2024-04-13", "yes", "{lat_deg: 31}"]
    axis = parse_vary("doctrine.x=" + ",".join(texts[:3]))
    assert axis.texts == texts[:3]
    assert axis.values == [parse_set(f"doctrine.x={t}").value for t in texts[:3]]
    assert axis.values[1] == "2024-04-13"  # a date stays text, as in a scenario file
    with pytest.raises(IamdError, match="not valid YAML"):
        parse_vary("doctrine.x=[a")
