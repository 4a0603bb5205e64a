"""SQL over a store's replications, in a DuckDB that can read nothing else.

The stored runs (checked and de-duplicated as every reader sees them,
:meth:`iamd.analysis.store.Store.table`) are copied into an in-memory table ``runs``.
Then the connection is shut in: no file system or network access (``read_csv``,
``COPY ... TO``, ``ATTACH`` of a file, ``EXPORT``), no extensions installed or loaded, no
spilling to a temporary directory, and the configuration locked so a query cannot set
any of it back. A query may read ``runs`` and compute; whatever else it tries is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from iamd.analysis.store import BATCH_DIR, Store, StoreError

SHUT_IN = (
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


def query(root: Path, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run DuckDB SQL over a store; the replications are the table ``runs``.

    Returns
    -------
    The column names and the rows of the last statement's result.

    Raises
    ------
    StoreError
        For a directory without runs, a damaged batch, SQL DuckDB rejects, or a query
        that tries to reach anything but ``runs``.
    """
    import duckdb

    store = Store(root)
    if not store.files():
        raise StoreError(f"{root} has no stored runs (expected {BATCH_DIR}/runs-*.parquet)")
    con = _connect(store)
    try:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description or []]
        return names, cur.fetchall()
    except duckdb.Error as exc:
        if _refused(exc):
            first = str(exc).strip().splitlines()[0]
            raise StoreError(f"query refused: {first}; {REFUSED}") from None
        raise StoreError(f"query failed: {exc}") from None
    finally:
        con.close()
