"""The Monte Carlo store: one writer at a time, readers that never write, damaged batches,
full disks, changed models on resume, seeds, and workers that die with their job."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import alive, spawned_children
from typer.testing import CliRunner

from iamd.analysis import job as job_mod
from iamd.analysis import montecarlo
from iamd.analysis.compare import compare
from iamd.analysis.job import Job
from iamd.analysis.montecarlo import run_mc
from iamd.analysis.query import query
from iamd.analysis.report import write_report
from iamd.analysis.store import Store, StoreError
from iamd.cli import app
from iamd.errors import IamdError
from iamd.scenario.load import load_scenario_changed
from iamd.scenario.schema import MAX_SEED

TINY = """
name: store-tiny
origin: {lat_deg: 32.0, lon_deg: 35.0}
duration_s: 120
seed: 11
owners:
  - {name: blue}
assets:
  - {name: Town, value: 50, point: {lat_deg: 32.0, lon_deg: 35.0}, radius_km: 3}
sensors:
  - {name: radar, type: fire_control_radar, owner: blue, lat_deg: 31.95, lon_deg: 35.0, alt_m: 100}
c2_nodes:
  - {name: bmc, owner: blue, lat_deg: 31.95, lon_deg: 35.0, cycle_s: 1}
fire_units:
  - {name: sr, interceptor: short_range, owner: blue, c2: bmc, lat_deg: 31.98, lon_deg: 35.0,
     rounds: 4}
raid:
  - threat: rocket_short
    count: 3
    launch_area: {lat_deg: 32.25, lon_deg: 35.0, radius_km: 2}
    start_s: 10
    interval_s: 8
    targets: [Town]
"""
SRC = Path(__file__).parents[1] / "src"
ENV = {**os.environ, "PYTHONPATH": str(SRC)}
runner = CliRunner()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "tiny.yaml"
    path.write_text(TINY)
    return path


def job_of(path: Path, seed: int = 5) -> Job:
    s, doc = load_scenario_changed(str(path), [], [])
    return Job(s, doc, seed=seed)


@pytest.fixture(scope="module")
def stored(tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of two runs of the tiny scenario (copy it before changing it)."""
    out = tmp_path_factory.mktemp("stored") / "mc"
    run_mc(Store(out), job_of(tiny), 2, workers=1, batch_size=1)
    return out


@pytest.fixture
def store_copy(stored: Path, tmp_path: Path) -> Path:
    out = tmp_path / "mc"
    shutil.copytree(stored, out)
    return out


def iamd(*args: str) -> list[str]:
    return [sys.executable, "-m", "iamd", *args]


def mc_cmd(scenario: Path, out: Path, runs: int, *extra: str) -> list[str]:
    return iamd(
        "mc", str(scenario), "--runs", str(runs), "--seed", "5", "--out", str(out), "-q", *extra
    )


def wait_for(predicate: Any, deadline_s: float, what: str) -> None:
    """Poll ``predicate`` until true; fail after a generous deadline."""
    end = time.monotonic() + deadline_s
    while not predicate():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def stored_rows(out: Path) -> int:
    """Rows in all batch files (duplicates counted, unlike Store.table)."""
    return sum(pq.read_metadata(f).num_rows for f in (out / "batches").glob("runs-*.parquet"))


# B: one writer at a time -------------------------------------------------------------------
def test_a_second_writer_in_this_process_is_refused(tmp_path: Path) -> None:
    with Store(tmp_path / "s").writing("iamd mc"):
        with pytest.raises(StoreError, match=rf"is in use by iamd mc \(pid {os.getpid()} on "):
            with Store(tmp_path / "s").writing("iamd sweep"):
                pass
    with Store(tmp_path / "s").writing():  # released on exit
        pass


@pytest.mark.slow
def test_two_mc_processes_on_one_store(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "mc"
    first = subprocess.Popen(
        mc_cmd(tiny, out, 200, "--workers", "1", "--batch-size", "1"),
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        lock = out / ".lock"
        wait_for(lambda: lock.is_file() and f'"pid": {first.pid}' in lock.read_text(), 120, "lock")
        second = subprocess.run(
            mc_cmd(tiny, out, 3, "--workers", "1"), env=ENV, capture_output=True, text=True
        )
        assert second.returncode == 2
        holder = f"is in use by iamd mc (pid {first.pid} on {socket.gethostname()}, since "
        assert holder in second.stderr and "Traceback" not in second.stderr
        wait_for(lambda: len(list((out / "batches").glob("runs-*"))) >= 1, 120, "a batch")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    # the kernel dropped the dead holder's lock: the next writer resumes without waiting
    have = len(list((out / "batches").glob("runs-*.parquet")))
    third = subprocess.run(
        mc_cmd(tiny, out, have + 1, "--workers", "1"), env=ENV, capture_output=True, text=True
    )
    assert third.returncode == 0, third.stderr
    assert stored_rows(out) == have + 1  # no run stored twice
    assert [r["run"] for r in Store(out).table().to_pylist()] == list(range(have + 1))


# C and E: readers never write ------------------------------------------------------------
def _writes_under(root: Path, event: str, args: tuple[Any, ...]) -> str | None:
    """The path a write-like audit event touches inside ``root``, if any."""
    paths: list[Any] = []
    if event == "open":
        path, mode, flags = args
        writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
        if (mode and any(c in str(mode) for c in "wax+")) or (flags or 0) & writing:
            paths = [path]
    elif event in ("os.remove", "os.rmdir", "os.mkdir", "os.chmod", "os.truncate", "os.utime"):
        paths = [args[0]]
    elif event in ("os.rename", "os.link", "os.symlink"):
        paths = [args[0], args[1]]
    elif event in ("tempfile.mkstemp", "tempfile.mkdtemp", "shutil.rmtree", "shutil.move"):
        paths = [args[0]]
    for p in paths:
        if isinstance(p, str | bytes | os.PathLike):
            full = os.path.abspath(os.fsdecode(p))  # no I/O inside an audit hook
            if full == str(root) or full.startswith(f"{root}{os.sep}"):
                return f"{event} {full}"
    return None


WATCHED: list[tuple[Path, list[str]]] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    for root, seen in WATCHED:
        hit = _writes_under(root, event, args)
        if hit:
            seen.append(hit)


sys.addaudithook(_audit)


@pytest.fixture
def no_writes_to(tmp_path: Path) -> Iterator[Any]:
    """Watch a directory: every write Python makes under it is recorded."""
    watches: list[tuple[Path, list[str]]] = []

    def watch(root: Path) -> list[str]:
        seen: list[str] = []
        watches.append((root, seen))
        WATCHED.append((root, seen))
        return seen

    yield watch
    for w in watches:
        WATCHED.remove(w)


def snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every file under ``root``: size, mtime and mode (what a write would change)."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns, p.stat().st_mode)
        for p in sorted(root.rglob("*"))
    }


def read_everything(store: Path, tmp_path: Path) -> None:
    """What the readers do: table, compare, query, report, the web view's document."""
    from iamd.web.mcview import mc_document
    from iamd.web.rundirs import RunsRoot

    assert Store(store).table().num_rows == 2 and Store(store).done() == {0, 1}
    assert compare(store, store)["paired_runs"] == 2
    assert query(store, "SELECT count(*) FROM runs")[1] == [(2,)]
    write_report(store, with_map=False, out=tmp_path / "report.html")
    assert mc_document(RunsRoot.open(store.parent), store, store.name)["runs"] == [0, 1]


def test_readers_write_nothing(store_copy: Path, tmp_path: Path, no_writes_to: Any) -> None:
    before = snapshot(store_copy)
    seen = no_writes_to(store_copy)
    read_everything(store_copy, tmp_path)
    r = runner.invoke(app, ["compare", str(store_copy), str(store_copy)])
    assert r.exit_code == 0, r.output
    assert seen == [] and snapshot(store_copy) == before
    assert (tmp_path / "report.html").is_file()


def test_readers_work_on_a_read_only_store(store_copy: Path, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root ignores file modes (test_readers_write_nothing covers this)")
    paths = [store_copy, *store_copy.rglob("*")]
    for p in paths:
        p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        read_everything(store_copy, tmp_path)
        r = runner.invoke(app, ["compare", str(store_copy), str(store_copy)])
        assert r.exit_code == 0, r.output
        r = runner.invoke(app, ["report", str(store_copy), "--no-map"])
        assert r.exit_code == 2 and "--out" in r.output  # the page itself cannot go there
    finally:
        for p in paths:
            p.chmod(0o755 if p.is_dir() else 0o644)


PARTIAL = ".tmp-runs-0000002-0000002-n1.parquet-x"
"""A temporary as a writer makes it while it writes a batch."""
HOLD = textwrap.dedent(
    f"""
    import sys
    from pathlib import Path
    from iamd.analysis.store import Store

    with Store(Path(sys.argv[1])).writing("iamd mc"):
        (Path(sys.argv[1]) / "batches" / "{PARTIAL}").write_bytes(b"half")
        print("holding", flush=True)
        sys.stdin.read()
    """
)


def test_readers_leave_a_running_writers_temporaries_alone(
    store_copy: Path, tiny: Path, tmp_path: Path
) -> None:
    writer = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(store_copy)],
        env=ENV,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    tmp = store_copy / "batches" / PARTIAL
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "holding"
        read_everything(store_copy, tmp_path)
        args = ["mc", str(tiny), "--runs", "3", "--seed", "5", "--out", str(store_copy)]
        r = runner.invoke(app, args)
        assert r.exit_code == 2 and "is in use by iamd mc" in r.output
        assert tmp.read_bytes() == b"half"  # neither the readers nor the refused writer touched it
    finally:
        assert writer.stdin is not None
        writer.stdin.close()
        writer.wait(timeout=60)
    # its holder gone, the temporary is stale: the next writer removes it, under the lock
    run_mc(Store(store_copy), job_of(tiny), 2, workers=1)
    assert not tmp.exists()


# E: damaged batches ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("run_column", "expected"),
    [
        (pa.array(["0", "1"]), "holds string, not integers"),
        (pa.array([None, None], pa.int64()), "missing value"),
        (None, "no 'run' column"),
    ],
)
def test_a_damaged_run_column_is_refused_before_running(
    store_copy: Path,
    tiny: Path,
    monkeypatch: pytest.MonkeyPatch,
    run_column: pa.Array | None,
    expected: str,
) -> None:
    victim = sorted((store_copy / "batches").glob("runs-*.parquet"))[0]
    t = pq.read_table(victim).drop_columns(["run"])
    t = t if run_column is None else t.append_column("run", run_column[: t.num_rows])
    pq.write_table(t, victim)

    def never(*args: object) -> None:
        raise AssertionError("a batch ran before the store was checked")

    monkeypatch.setattr(montecarlo, "run_batch", never)
    with pytest.raises(StoreError, match=expected) as info:
        run_mc(Store(store_copy), job_of(tiny), 4, workers=1)
    assert victim.name in str(info.value)
    for args in (
        ["mc", str(tiny), "--runs", "4", "--seed", "5", "--workers", "1", "--out", str(store_copy)],
        ["compare", str(store_copy), str(store_copy)],
        ["query", str(store_copy), "SELECT count(*) FROM runs"],
        ["report", str(store_copy), "--no-map"],
    ):
        r = runner.invoke(app, args)
        assert r.exit_code == 2, args
        assert victim.name in r.output and expected in r.output and "Traceback" not in r.output
    assert len(list((store_copy / "batches").glob("runs-*"))) == 2  # nothing was run


def test_a_metric_column_of_another_type_names_its_batch(store_copy: Path) -> None:
    victim = sorted((store_copy / "batches").glob("runs-*.parquet"))[1]
    t = pq.read_table(victim)
    k = t.column_names.index("threats.intercepted")
    pq.write_table(t.set_column(k, "threats.intercepted", pa.array(["lots"])), victim)
    with pytest.raises(StoreError, match=r"'threats\.intercepted' holds string") as info:
        Store(store_copy).table()
    assert victim.name in str(info.value)


# E: a full disk names the file that failed ------------------------------------------------
@pytest.mark.parametrize(
    ("failing", "named"), [(None, "runs-0000002"), ("summary.json", "summary")]
)
def test_no_space_names_the_file_that_failed(
    store_copy: Path,
    tiny: Path,
    monkeypatch: pytest.MonkeyPatch,
    failing: str | None,
    named: str,
) -> None:
    real = os.replace

    def full(src: Any, dst: Any, **kwargs: Any) -> None:
        if failing is None or Path(dst).name == failing:  # None: the whole disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        real(src, dst, **kwargs)

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(StoreError, match="no space left on the device holding") as info:
        run_mc(Store(store_copy), job_of(tiny), 3, workers=1)
    monkeypatch.undo()
    assert named in str(info.value)
    if named != "summary":
        assert "summary.json" not in str(info.value)
    assert not list(store_copy.rglob(".tmp-*"))


# D: a changed model is refused on resume -------------------------------------------------
def _edit_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bundled catalog as a newer iamd might ship it: one Pk changed."""
    from iamd.scenario import catalog, load

    data = json.loads(json.dumps(catalog.bundled_catalog_data()))
    pk = data["interceptors"]["short_range"]["pk"]
    pk["rocket_short"] = round(float(pk["rocket_short"]) * 0.5, 3)
    monkeypatch.setattr(load, "bundled_catalog_data", lambda: data)


def test_resume_refuses_a_changed_catalog_or_version(
    store_copy: Path, tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _edit_catalog(monkeypatch)
    monkeypatch.setattr(job_mod, "__version__", "9.9.9")
    job = job_of(tiny)
    with pytest.raises(StoreError) as info:
        run_mc(Store(store_copy), job, 3, workers=1)
    msg = str(info.value)
    assert "stored 0.1.0, now 9.9.9" in msg and "changed interceptors.short_range" in msg
    assert "--allow-model-change" in msg
    assert len(list((store_copy / "batches").glob("runs-*"))) == 2

    res = run_mc(Store(store_copy), job, 3, workers=1, allow_model_change=True)
    assert res.ran == 1 and len(res.model_changes) == 2
    rec = json.loads((store_copy / "job.json").read_text())
    assert rec["iamd_version"] == "9.9.9" and rec["history"][0]["before"]["iamd_version"] == "0.1.0"
    _, rows = query(store_copy, "SELECT iamd_version, count(*) FROM runs GROUP BY 1 ORDER BY 1")
    assert rows == [("0.1.0", 2), ("9.9.9", 1)]  # the mixed store tells its runs apart
    assert query(store_copy, "SELECT count(DISTINCT model_sha256) FROM runs")[1] == [(2,)]
    # the accepted model is now the store's: resuming it again needs no flag
    assert run_mc(Store(store_copy), job, 3, workers=1).model_changes == []


def test_a_job_file_without_fingerprints_needs_the_flag(store_copy: Path, tiny: Path) -> None:
    path = store_copy / "job.json"
    rec = json.loads(path.read_text())
    old = {k: rec[k] for k in ("scenario", "source", "scenario_sha256", "seed", "set", "without")}
    path.write_text(json.dumps({**old, "iamd_version": "0.1.0"}))
    args = ["mc", str(tiny), "--runs", "2", "--seed", "5", "--out", str(store_copy), "-q"]
    r = runner.invoke(app, args)
    assert r.exit_code == 2 and "predates catalog and version fingerprints" in r.output
    r = runner.invoke(app, [*args, "--allow-model-change"])
    assert r.exit_code == 0, r.output
    assert "resumed although the model changed" in r.output
    assert "catalog_sha256" in json.loads(path.read_text())


def test_another_seed_is_refused_even_with_the_flag(store_copy: Path, tiny: Path) -> None:
    with pytest.raises(StoreError, match="seed: stored 5, now 6"):
        run_mc(Store(store_copy), job_of(tiny, seed=6), 2, workers=1, allow_model_change=True)


# E: seeds --------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["mc", "sweep"])
def test_a_seed_beyond_int64_is_refused_up_front(tiny: Path, tmp_path: Path, command: str) -> None:
    extra = ["--vary", "raid.0.count=2,3"] if command == "sweep" else []
    for seed in (str(2**64 + 1), str(2**63), "-1"):
        r = runner.invoke(
            app, [command, str(tiny), "--runs", "1", "--seed", seed, "--out", str(tmp_path), *extra]
        )
        assert r.exit_code == 2, (seed, r.output)
        assert "--seed" in r.output and "Traceback" not in r.output
    assert not list(tmp_path.rglob("*.parquet"))


def test_the_largest_seed_is_stored(tiny: Path, tmp_path: Path) -> None:
    with pytest.raises(IamdError, match="2\\*\\*63-1"):
        run_mc(Store(tmp_path / "big"), job_of(tiny, seed=MAX_SEED + 1), 1, workers=1)
    run_mc(Store(tmp_path / "max"), job_of(tiny, seed=MAX_SEED), 1, workers=1)
    assert Store(tmp_path / "max").table()["seed"].to_pylist() == [MAX_SEED]


# E: workers end with their job -----------------------------------------------------------
def _cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="reads /proc")
def test_workers_exit_when_the_job_is_killed(tiny: Path, tmp_path: Path) -> None:
    # two batches of 300 runs: minutes of work each, far beyond the deadline below
    job = subprocess.Popen(
        mc_cmd(tiny, tmp_path / "mc", 600, "--workers", "2", "--batch-size", "300"),
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: len(spawned_children(job.pid)) == 2, 120, "two workers")
        workers = spawned_children(job.pid)
        # past their imports (about 2.5 s of CPU), into their batches
        wait_for(lambda: all(_cpu_s(w) > 5.0 for w in workers), 180, "workers computing")
    finally:
        job.send_signal(signal.SIGKILL)
        job.wait()
    wait_for(lambda: not any(alive(w) for w in workers), 30, "workers to exit")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="reads /proc")
def test_a_worker_killed_mid_job_is_a_clear_error(tiny: Path, tmp_path: Path) -> None:
    # what the kernel's out-of-memory killer does to one worker
    out = tmp_path / "mc"
    job = subprocess.Popen(
        mc_cmd(tiny, out, 600, "--workers", "2", "--batch-size", "300"),
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: len(spawned_children(job.pid)) == 2, 120, "two workers")
        os.kill(spawned_children(job.pid)[0], signal.SIGKILL)
        _, err = job.communicate(timeout=120)
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()
    assert job.returncode not in (0, None)
    assert "a worker process died" in err
    assert "Traceback" not in err
    assert Store(out).done() == set()  # nothing half-written was kept
