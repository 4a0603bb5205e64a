"""The files of a run directory, and how to tell one from a Monte Carlo store.

A run directory (``iamd run --out DIR``) holds ``summary.json``, ``scenario.yaml``,
``events.parquet`` and ``truth.parquet``, usually ``tracks.parquet`` and ``map.png``; a
Monte Carlo store holds ``job.json`` and ``batches/``, a sweep ``sweep.json``. Every reader
(exports, the report, the web server) asks this module, so they agree.
"""

from __future__ import annotations

from pathlib import Path

RUN_FILES = ("summary.json", "scenario.yaml", "events.parquet", "truth.parquet")
"""Files every run directory has (``tracks.parquet`` and ``map.png`` may be missing)."""


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` is the run directory of one replication: its :data:`RUN_FILES`,
    and not a Monte Carlo store or sweep (``job.json``, ``sweep.json``, ``batches/``)."""
    return all((path / f).is_file() for f in RUN_FILES) and not any(
        (path / f).exists() for f in ("job.json", "sweep.json", "batches")
    )
