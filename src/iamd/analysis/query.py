"""SQL over a store's replications, in a DuckDB that can read nothing else.

The stored runs (checked and de-duplicated as every reader sees them,
:meth:`iamd.analysis.store.Store.table`) are copied into an in-memory table ``runs``.
Then the connection is shut in: no file system or network access (``read_csv``,
``COPY ... TO``, ``ATTACH`` of a file, ``EXPORT``), no extensions installed or loaded, no
spilling to a temporary directory, and the configuration locked so a query cannot set
any of it back. A query may read ``runs`` and compute; whatever else it tries is refused.

It is bounded too: DuckDB may use :data:`MEMORY_LIMIT` and :data:`THREADS`, a result
holds at most :data:`MAX_ROWS` rows, and a query that runs past its time limit is
interrupted, so a query string from elsewhere cannot take the machine either.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

from iamd.analysis.store import BATCH_DIR, Store, StoreError

MEMORY_LIMIT = "2GB"
"""Memory DuckDB may use for a query (it fails with an out-of-memory error past it)."""
THREADS = 2
"""Threads DuckDB may use."""
MAX_ROWS = 1_000_000
"""Rows a result may have (a store has a row per replication; more is a runaway join)."""
TIMEOUT_S = 60.0
"""Default wall time of a query, s."""
SHUT_IN = (
    f"SET memory_limit = '{MEMORY_LIMIT}'",
    f"SET threads = {THREADS}",
    "SET temp_directory = ''",
    "SET enable_external_access = false",
    "SET lock_configuration = true",
)
"""Settings applied once ``runs`` exists, in this order (the last one locks the rest)."""
CONNECT: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
}
REFUSED = "a query may only read the table 'runs' (no files, network, extensions or settings)"


def _connect(store: Store) -> Any:
    import duckdb

    con = duckdb.connect(":memory:", config=CONNECT)
    runs = store.table()
    con.register("stored_runs", runs)
    con.execute("CREATE TABLE runs AS SELECT * FROM stored_runs")
    con.unregister("stored_runs")
    for statement in SHUT_IN:
        con.execute(statement)
    return con


def _refused(exc: Exception) -> bool:
    import duckdb

    text = str(exc)
    return isinstance(exc, duckdb.PermissionException) or "configuration has been locked" in text


def query(
    root: Path, sql: str, timeout_s: float = TIMEOUT_S
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run DuckDB SQL over a store; the replications are the table ``runs``.

    Parameters
    ----------
    root : the store's directory.
    sql : DuckDB SQL; only the last statement's result is returned.
    timeout_s : wall time after which the query is interrupted, s.

    Returns
    -------
    The column names and the rows of the last statement's result.

    Raises
    ------
    StoreError
        For a directory without runs, a damaged batch, SQL DuckDB rejects, a query that
        tries to reach anything but ``runs``, runs out of its memory or time, or returns
        more than ``MAX_ROWS`` rows.
    """
    import duckdb

    if not (timeout_s > 0 and math.isfinite(timeout_s)):
        raise StoreError(f"--timeout-s {timeout_s}: give a positive number of seconds")
    store = Store(root)
    if not store.files():
        raise StoreError(f"{root} has no stored runs (expected {BATCH_DIR}/runs-*.parquet)")
    con = _connect(store)
    timer = threading.Timer(timeout_s, con.interrupt)
    timer.start()
    try:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description or []]
        rows = cur.fetchmany(MAX_ROWS + 1)
    except duckdb.Error as exc:
        if _refused(exc):
            first = str(exc).strip().splitlines()[0]
            raise StoreError(f"query refused: {first}; {REFUSED}") from None
        if isinstance(exc, duckdb.InterruptException) or "INTERRUPT" in str(exc):
            raise StoreError(f"query stopped: ran longer than {timeout_s:g} s") from None
        if isinstance(exc, duckdb.OutOfMemoryException):
            raise StoreError(f"query stopped: needed more than {MEMORY_LIMIT} of memory") from None
        raise StoreError(f"query failed: {exc}") from None
    finally:
        timer.cancel()
        con.close()
    if len(rows) > MAX_ROWS:
        raise StoreError(
            f"query stopped: its result has more than {MAX_ROWS:,} rows (aggregate, or add LIMIT)"
        )
    return names, rows
