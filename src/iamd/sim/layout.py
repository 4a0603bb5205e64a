"""The files of a run directory, and how to tell one from a Monte Carlo store.

A run directory (``iamd run --out DIR``) holds ``summary.json``, ``scenario.yaml``,
``events.parquet`` and ``truth.parquet``, usually ``tracks.parquet``,
``interceptors.parquet`` (older runs lack it) and ``map.png``; a
Monte Carlo store holds ``job.json`` and ``batches/``, a sweep ``sweep.json``. Every reader
(exports, the report, the web server) asks this module, so they agree.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

RUN_FILES = ("summary.json", "scenario.yaml", "events.parquet", "truth.parquet")
"""Files every run directory has (``tracks.parquet`` and ``map.png`` may be missing)."""


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` is the run directory of one replication: its :data:`RUN_FILES`,
    and not a Monte Carlo store or sweep (``job.json``, ``sweep.json``, ``batches/``)."""
    return all((path / f).is_file() for f in RUN_FILES) and not any(
        (path / f).exists() for f in ("job.json", "sweep.json", "batches")
    )


def is_store(path: Path) -> bool:
    """Whether ``path`` is a Monte Carlo store (``job.json`` or ``batches/``)."""
    return (path / "job.json").is_file() or (path / "batches").is_dir()


def is_sweep(path: Path) -> bool:
    """Whether ``path`` is a sweep's directory (``sweep.json`` or ``points/``)."""
    return (path / "sweep.json").is_file() or (path / "points").is_dir()


def holds_other(path: Path, belongs: Callable[[Path], bool], own: tuple[str, ...] = ()) -> bool:
    """Whether writing to ``path`` could damage something else: it exists and is a file,
    or a directory that is neither empty (bar the names ``own``) nor ``belongs``."""
    if not path.exists():
        return False
    if not path.is_dir():
        return True
    return not belongs(path) and any(p.name not in own for p in path.iterdir())
