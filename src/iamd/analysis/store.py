"""The results store of a Monte Carlo job: one Parquet file per completed batch.

Layout of a store directory::

    DIR/job.json              what was run (scenario, catalog and iamd fingerprints, seed)
    DIR/batches/*.parquet     one file per completed batch: a row per replication
    DIR/summary.json          statistics of every metric over all stored runs
    DIR/.lock                 the writer's lock (see :mod:`iamd.analysis.lock`)

Reading and writing are separate. A :class:`Store` reads without touching the disk (no
directory made, no probe, nothing deleted), so a report, a comparison, a query or the web
view works on a read-only copy and never disturbs a job running in the directory. Only
inside :meth:`Store.writing`, which holds the directory's lock, may a store be written.

Every file is written to a temporary name in the same directory, flushed to disk and
renamed over its final name (``os.replace`` is atomic on POSIX), so a job killed at any
instant leaves complete batch files or none. Its temporaries are removed by the next
writer, under the lock, so never while their writer lives. Runs are identified by their
replication index, so a resumed job runs only the indices no batch holds, and a duplicate
can never be stored.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from iamd.analysis.lock import LOCK_FILE, DirLock
from iamd.errors import IamdError
from iamd.sim.layout import holds_other, is_store

JOB_FILE = "job.json"
BATCH_DIR = "batches"
SUMMARY_FILE = "summary.json"
SCENARIO_FILE = "scenario.yaml"
ID_COLUMNS = ("run", "seed")
"""Columns that identify a replication rather than measure it."""
PROVENANCE_COLUMNS = ("iamd_version", "model_sha256")
"""Text columns of every batch saying which iamd and which model made it."""
WRITER_FILES = (JOB_FILE, SUMMARY_FILE, SCENARIO_FILE)
"""Files of the directory itself that only the store's writer writes."""
TMP_PREFIX = ".tmp-"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()
"""Mode of written files (``mkstemp`` makes them private; results are meant to be shared)."""


class StoreError(IamdError):
    """A store directory cannot be used (wrong job, in use, unwritable, disk full, corrupt)."""


def _os_message(exc: OSError, path: Path) -> str:
    if exc.errno == errno.ENOSPC:
        return f"no space left on the device holding {path}"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write to {path}: permission denied"
    return f"cannot write to {path}: {exc.strerror or exc}"


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Write ``path`` through a temporary file in its directory and rename it into place.

    The temporary is ``.tmp-NAME-XXXX`` next to ``path``, so a writer can tell its own
    leftovers from anyone else's.

    Raises
    ------
    StoreError
        When the directory is unwritable or the disk is full (the message names
        ``path``); nothing is left behind.
    """
    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{path.name}-", dir=path.parent)
        os.close(fd)
        os.chmod(tmp, FILE_MODE)
        write(Path(tmp))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise StoreError(_os_message(exc, path)) from None


def _unreadable(path: Path, why: object) -> StoreError:
    return StoreError(f"batch {path} is unreadable ({why}); delete it to rerun its runs")


def check_runs(path: Path, table: pa.Table) -> None:
    """Refuse a batch whose ``run`` column is missing, not integers, null, negative or repeated.

    Raises
    ------
    StoreError
        Naming the batch file and what is wrong with it.
    """
    if "run" not in table.column_names:
        raise _unreadable(path, "it has no 'run' column")
    run = table["run"]
    if not pa.types.is_integer(run.type):
        raise _unreadable(path, f"its 'run' column holds {run.type}, not integers")
    if run.null_count:
        raise _unreadable(path, f"its 'run' column has {run.null_count} missing value(s)")
    values = np.asarray(run.to_numpy(zero_copy_only=False), dtype=np.int64)
    if values.size and values.min() < 0:
        raise _unreadable(path, "its 'run' column holds a negative index")
    if np.unique(values).size != values.size:
        raise _unreadable(path, "its 'run' column repeats an index")


def read_batch(path: Path, columns: list[str] | None = None) -> pa.Table:
    """One batch file, its ``run`` column checked (see :func:`check_runs`).

    Raises
    ------
    StoreError
        When the file is unreadable or its ``run`` column is damaged.
    """
    try:
        pf = pq.ParquetFile(path)
        if columns is not None and "run" not in pf.schema_arrow.names:
            raise _unreadable(path, "it has no 'run' column")
        table = pf.read(columns=columns)
    except (OSError, pa.ArrowException) as exc:
        raise _unreadable(path, exc) from None
    check_runs(path, table)
    return table


def _concat(tables: list[pa.Table], files: list[Path]) -> pa.Table:
    """Batches as one table (a column missing from a batch is null there).

    Raises
    ------
    StoreError
        Naming the batch whose column type no other batch's can be reconciled with.
    """
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except pa.ArrowException:
        pass
    names = dict.fromkeys(n for t in tables for n in t.column_names)
    for name in names:
        typed = [
            (t.schema.field(name), f)
            for t, f in zip(tables, files, strict=True)
            if name in t.column_names
        ]
        for fld, f in typed[1:]:
            try:
                pa.unify_schemas(
                    [pa.schema([typed[0][0]]), pa.schema([fld])], promote_options="permissive"
                )
            except pa.ArrowException:
                raise StoreError(
                    f"batch {f} is unreadable: its column {name!r} holds {fld.type}, but "
                    f"{typed[0][1].name} holds {typed[0][0].type}; delete the wrong one to "
                    "rerun its runs"
                ) from None
    raise StoreError(f"the batches in {files[0].parent} cannot be read together")


class Store:
    """A Monte Carlo results directory.

    Creating one reads nothing and writes nothing; the directory need not exist. Writing
    needs :meth:`writing`, which holds the directory's lock.

    Parameters
    ----------
    root : the directory.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.batches = self.root / BATCH_DIR
        self._lock: DirLock | None = None

    # writing ------------------------------------------------------------------------------
    def check_out(self) -> None:
        """Refuse to write where something else lives (a run directory, a file, a folder
        of one's own): only a new or empty directory or a store is written.

        Raises
        ------
        StoreError
            Naming the directory, before anything is written.
        """
        if holds_other(self.root, is_store, own=(LOCK_FILE,)):
            raise StoreError(
                f"{self.root} exists and is not a Monte Carlo store; choose another --out "
                "(a store is resumed, anything else is left alone)"
            )

    @contextlib.contextmanager
    def writing(self, command: str = "iamd mc") -> Iterator[Store]:
        """Hold the directory for writing: create it, lock it, remove stale temporaries.

        Parameters
        ----------
        command : how a second writer is told who holds the directory.

        Raises
        ------
        StoreError
            When another process is writing the directory (naming it), or the directory
            cannot be created or written.
        """
        self.check_out()
        lock = DirLock(self.root, command)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            lock.acquire()
        except OSError as exc:
            raise StoreError(_os_message(exc, self.root)) from None
        except IamdError as exc:
            raise StoreError(str(exc)) from None
        self._lock = lock
        try:
            try:
                self.batches.mkdir(exist_ok=True)
            except OSError as exc:
                raise StoreError(_os_message(exc, self.batches)) from None
            self._remove_stale()
            yield self
        finally:
            self._lock = None
            lock.release()

    def _remove_stale(self) -> None:
        """Delete temporaries of a killed writer (only ever called under the lock)."""
        stale = list(self.batches.glob(f"{TMP_PREFIX}*"))
        for name in WRITER_FILES:
            stale += self.root.glob(f"{TMP_PREFIX}{name}-*")
        for leftover in stale:
            with contextlib.suppress(OSError):
                leftover.unlink()

    def _writable(self) -> None:
        if self._lock is None:
            raise RuntimeError("a Store is written only inside 'with store.writing():'")

    def write_job(self, job: dict[str, Any], document: Any = None) -> None:
        """Record ``job.json`` (and, for a new store, the scenario ``document`` it runs)."""
        self._writable()
        if document is not None:
            text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
            write_atomic(self.root / SCENARIO_FILE, lambda p: p.write_text(text, encoding="utf-8"))
        body = json.dumps(job, indent=2) + "\n"
        write_atomic(self.root / JOB_FILE, lambda p: p.write_text(body, encoding="utf-8"))

    def write_batch(self, rows: list[dict[str, Any]], provenance: dict[str, str]) -> Path:
        """Store one completed batch (a row per replication) atomically.

        ``provenance`` (:data:`PROVENANCE_COLUMNS`) is stored as a column of every row,
        so the runs of a store resumed under another iamd or catalog can be told apart.
        """
        self._writable()
        runs = sorted(int(r["run"]) for r in rows)
        table = pa.Table.from_pylist(sorted(rows, key=lambda r: int(r["run"])))
        for name in PROVENANCE_COLUMNS:
            table = table.append_column(name, pa.array([provenance[name]] * len(rows), pa.string()))
        path = self.batches / f"runs-{runs[0]:07d}-{runs[-1]:07d}-n{len(runs)}.parquet"
        write_atomic(path, lambda p: pq.write_table(table, p))
        return path

    def write_summary(self, summary: dict[str, Any]) -> None:
        self._writable()
        text = json.dumps(summary, indent=2) + "\n"
        write_atomic(self.root / SUMMARY_FILE, lambda p: p.write_text(text, encoding="utf-8"))

    # reading ------------------------------------------------------------------------------
    def job(self) -> dict[str, Any] | None:
        """``job.json`` of the directory, or None for a new store."""
        path = self.root / JOB_FILE
        if not path.exists():
            return None
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(f"{path} is unreadable ({exc}); use a new --out") from None
        return data

    def files(self) -> list[Path]:
        return batch_files(self.root)

    def table(self) -> pa.Table:
        """Every stored replication, one row each, ordered by run index.

        Batches may differ in their columns (a metric that only some runs have); missing
        values are null.

        Raises
        ------
        StoreError
            When a batch file is unreadable or its ``run`` column damaged.
        """
        files = self.files()
        tables = [read_batch(f) for f in files]
        if not tables:
            return pa.table({"run": pa.array([], pa.int64())})
        t = _concat(tables, files)
        order = np.argsort(np.asarray(t["run"]), kind="stable")
        t = t.take(pa.array(order))
        run = np.asarray(t["run"])
        first = np.ones(run.size, dtype=bool)
        first[1:] = run[1:] != run[:-1]
        return t.filter(pa.array(first))

    def done(self) -> set[int]:
        """Run indices already stored (every batch's ``run`` column checked).

        Raises
        ------
        StoreError
            When a batch file is unreadable or its ``run`` column damaged.
        """
        done: set[int] = set()
        for f in self.files():
            done.update(read_batch(f, columns=["run"])["run"].to_pylist())
        return done


def batch_files(root: Path) -> list[Path]:
    """The batch files of a store directory, in name order (reads the listing only)."""
    return sorted((Path(root) / BATCH_DIR).glob("runs-*.parquet"))


def metric_columns(table: pa.Table) -> list[str]:
    """Numeric columns of a store table other than the identifiers."""
    return [
        f.name
        for f in table.schema
        if f.name not in ID_COLUMNS
        and (
            pa.types.is_integer(f.type) or pa.types.is_floating(f.type) or pa.types.is_null(f.type)
        )
    ]


def column(table: pa.Table, name: str) -> np.ndarray:
    """A column as float64 (n,), nulls as NaN."""
    if name not in table.column_names:
        return np.full(table.num_rows, np.nan)
    return np.asarray(table[name].cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
