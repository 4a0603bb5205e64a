"""The results store of a Monte Carlo job: one Parquet file per completed batch.

Layout of a store directory::

    DIR/job.json              what was run (scenario fingerprint, seed, changes)
    DIR/batches/*.parquet     one file per completed batch: a row per replication
    DIR/summary.json          statistics of every metric over all stored runs

Every file is written to a temporary name in the same directory, flushed to disk and
renamed over its final name (``os.replace`` is atomic on POSIX), so a job killed at any
instant leaves complete batch files or none; temporary leftovers are removed when the
store is opened again. Runs are identified by their replication index, so a resumed job
runs only the indices no batch holds, and a duplicate can never be stored.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from iamd.errors import IamdError

JOB_FILE = "job.json"
BATCH_DIR = "batches"
SUMMARY_FILE = "summary.json"
SCENARIO_FILE = "scenario.yaml"
ID_COLUMNS = ("run", "seed")
"""Columns that identify a replication rather than measure it."""
JOB_KEYS = ("scenario", "scenario_sha256", "seed")
"""Fields of ``job.json`` that must match for a directory to be resumed."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()
"""Mode of written files (``mkstemp`` makes them private; results are meant to be shared)."""


class StoreError(IamdError):
    """A store directory cannot be used (wrong job, unwritable, disk full, corrupt)."""


def _os_message(exc: OSError, path: Path) -> str:
    if exc.errno == errno.ENOSPC:
        return f"no space left on the device holding {path}"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write to {path}: permission denied"
    return f"cannot write to {path}: {exc.strerror or exc}"


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Write ``path`` through a temporary file in its directory and rename it into place.

    Raises
    ------
    StoreError
        When the directory is unwritable or the disk is full; nothing is left behind.
    """
    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
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


class Store:
    """A Monte Carlo results directory.

    Parameters
    ----------
    root : the directory (created if missing).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.batches = self.root / BATCH_DIR
        try:
            self.batches.mkdir(parents=True, exist_ok=True)
            probe = self.batches / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise StoreError(_os_message(exc, self.root)) from None
        for leftover in self.batches.glob(".tmp-*"):  # a killed job's partial write
            with contextlib.suppress(OSError):
                leftover.unlink()

    # job identity -------------------------------------------------------------------------
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

    def claim(self, job: dict[str, Any], document: Any = None) -> None:
        """Record ``job`` for a new store, or check that an existing store holds that job.

        A new store also keeps the scenario ``document`` it runs as ``scenario.yaml``.

        Raises
        ------
        StoreError
            When the directory holds results of a different scenario, changes or seed.
        """
        old = self.job()
        if old is None:
            if any(self.batches.glob("*.parquet")):
                raise StoreError(f"{self.root} holds batches but no {JOB_FILE}; use a new --out")
            if document is not None:
                text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
                write_atomic(
                    self.root / SCENARIO_FILE, lambda p: p.write_text(text, encoding="utf-8")
                )
            write_atomic(
                self.root / JOB_FILE,
                lambda p: p.write_text(json.dumps(job, indent=2) + "\n", encoding="utf-8"),
            )
            return
        diff = [k for k in JOB_KEYS if old.get(k) != job.get(k)]
        if diff:
            what = ", ".join(
                f"{k}: stored {old.get(k)!r}, now {job.get(k)!r}"
                if k != "scenario_sha256"
                else "the scenario (with its --set/--without changes) differs"
                for k in diff
            )
            raise StoreError(
                f"{self.root} holds a different job ({what}); "
                "resume with the same scenario, changes and seed, or use a new --out"
            )

    # batches ------------------------------------------------------------------------------
    def write_batch(self, rows: list[dict[str, Any]]) -> Path:
        """Store one completed batch (a row per replication) atomically."""
        runs = sorted(int(r["run"]) for r in rows)
        table = pa.Table.from_pylist(sorted(rows, key=lambda r: int(r["run"])))
        path = self.batches / f"runs-{runs[0]:07d}-{runs[-1]:07d}-n{len(runs)}.parquet"
        write_atomic(path, lambda p: pq.write_table(table, p))
        return path

    def files(self) -> list[Path]:
        return batch_files(self.root)

    def table(self) -> pa.Table:
        """Every stored replication, one row each, ordered by run index.

        Batches may differ in their columns (a metric that only some runs have); missing
        values are null.

        Raises
        ------
        StoreError
            When a batch file is unreadable.
        """
        tables = []
        for f in self.files():
            try:
                tables.append(pq.read_table(f))
            except (OSError, pa.ArrowInvalid) as exc:
                raise StoreError(f"batch {f} is unreadable ({exc}); delete it to rerun") from None
        if not tables:
            return pa.table({"run": pa.array([], pa.int64())})
        t = pa.concat_tables(tables, promote_options="default")
        order = np.argsort(np.asarray(t["run"]), kind="stable")
        t = t.take(pa.array(order))
        run = np.asarray(t["run"])
        first = np.ones(run.size, dtype=bool)
        first[1:] = run[1:] != run[:-1]
        return t.filter(pa.array(first))

    def done(self) -> set[int]:
        """Run indices already stored."""
        done: set[int] = set()
        for f in self.files():
            try:
                done.update(pq.read_table(f, columns=["run"])["run"].to_pylist())
            except (OSError, pa.ArrowInvalid, KeyError) as exc:
                raise StoreError(f"batch {f} is unreadable ({exc}); delete it to rerun") from None
        return done

    def write_summary(self, summary: dict[str, Any]) -> None:
        text = json.dumps(summary, indent=2) + "\n"
        write_atomic(self.root / SUMMARY_FILE, lambda p: p.write_text(text, encoding="utf-8"))


def batch_files(root: Path) -> list[Path]:
    """The batch files of a store directory, in name order."""
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
