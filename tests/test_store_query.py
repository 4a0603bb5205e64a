"""iamd query: SQL reads the table 'runs' and nothing else (real DuckDB, real files)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from iamd.analysis.query import query
from iamd.analysis.store import Store, StoreError
from iamd.cli import app

runner = CliRunner()
PROVENANCE = {"iamd_version": "0.1.0", "model_sha256": "ab" * 32}


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A store of five runs written directly (no simulation)."""
    root = tmp_path / "mc"
    rows = [
        {"run": i, "seed": 5, "threats.impacted_asset": i % 3, "cost_usd.interceptors": 1e5 * i}
        for i in range(5)
    ]
    with Store(root).writing() as s:
        s.write_batch(rows[:3], PROVENANCE)
        s.write_batch(rows[3:], PROVENANCE)
    return root


def test_a_normal_query_reads_the_runs(store: Path) -> None:
    names, rows = query(
        store,
        'SELECT count(*), avg("threats.impacted_asset"), max(run), min(iamd_version) FROM runs',
    )
    assert len(names) == 4
    assert rows == [(5, pytest.approx((0 + 1 + 2 + 0 + 1) / 5), 4, "0.1.0")]
    r = runner.invoke(app, ["query", str(store), "SELECT run FROM runs ORDER BY run", "--csv"])
    assert r.exit_code == 0 and r.output.split() == ["run", "0", "1", "2", "3", "4"]


def test_sql_errors_are_reported_without_a_traceback(store: Path) -> None:
    r = runner.invoke(app, ["query", str(store), "SELECT nosuch FROM runs"])
    assert r.exit_code == 2 and "query failed" in r.output and "Traceback" not in r.output


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM glob('/etc/*')",
        "SELECT * FROM '{tmp}/mc/batches/*.parquet'",
        "SELECT * FROM read_parquet('{tmp}/mc/batches/*.parquet')",
        "COPY runs TO '{tmp}/stolen.csv'",
        "COPY (SELECT 1) TO '{tmp}/stolen.parquet' (FORMAT parquet)",
        "EXPORT DATABASE '{tmp}/stolen'",
        "ATTACH '{tmp}/stolen.db' AS other",
        "INSTALL httpfs",
        "LOAD httpfs",
        "LOAD '{tmp}/evil.duckdb_extension'",
        "SELECT * FROM read_csv('https://example.com/data.csv')",
        "SET enable_external_access = true",
        "RESET enable_external_access",
        "SET lock_configuration = false",
        "SET temp_directory = '{tmp}/spill'",
        "SET enable_external_access = true; SELECT * FROM read_csv('/etc/passwd')",
    ],
)
def test_anything_but_reading_runs_is_refused(store: Path, tmp_path: Path, sql: str) -> None:
    before = sorted(p.name for p in tmp_path.iterdir())
    r = runner.invoke(app, ["query", str(store), sql.format(tmp=tmp_path)])
    assert r.exit_code == 2, r.output
    assert "query refused" in r.output and "may only read the table 'runs'" in r.output
    assert "root:" not in r.output and "Traceback" not in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing was written


def test_a_query_cannot_unlock_a_later_query(store: Path) -> None:
    with pytest.raises(StoreError, match="refused"):
        query(store, "SET lock_configuration = false")
    with pytest.raises(StoreError, match="refused"):
        query(store, "SELECT * FROM read_csv('/etc/passwd')")  # a fresh connection, still shut


def test_a_directory_without_runs(tmp_path: Path) -> None:
    r = runner.invoke(app, ["query", str(tmp_path), "SELECT 1"])
    assert r.exit_code == 2 and "has no stored runs" in r.output


@pytest.mark.parametrize(
    ("sql", "timeout_s", "expected"),
    [
        # a runaway join: far more than any laptop could finish in the time given
        ("SELECT count(*) FROM range(1000000000) a, range(1000000000) b", 0.5,
         "ran longer than 0.5 s"),
        ("SELECT length(list(range)) FROM range(400000000)", 120,
         "needed more than 2GB of memory"),
        ("SELECT * FROM range(2000000)", 120, "more than 1,000,000 rows"),
    ],
)  # fmt: skip
def test_a_query_is_bounded_in_time_memory_and_rows(
    store: Path, sql: str, timeout_s: float, expected: str
) -> None:
    r = runner.invoke(app, ["query", str(store), sql, "--timeout-s", str(timeout_s)])
    assert r.exit_code == 2, r.output
    assert expected in r.output and "Traceback" not in r.output


def test_the_limits_cannot_be_lifted_by_the_query(store: Path) -> None:
    for sql in ("SET memory_limit = '100GB'", "SET threads = 64", "RESET memory_limit"):
        with pytest.raises(StoreError, match="refused"):
            query(store, sql)
    _, rows = query(store, "SELECT current_setting('threads'), current_setting('memory_limit')")
    assert rows == [(2, "1.8 GiB")]  # DuckDB shows 2 GB (10**9 bytes) in GiB
