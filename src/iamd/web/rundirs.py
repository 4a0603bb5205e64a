"""Reading ``--runs`` safely: every file the server reads is checked to stay inside it.

A run directory may come from anywhere (copied, unpacked, edited by hand), so nothing in
it is trusted: a name is one plain segment, every file's real path (symlinks resolved)
must lie under the real ``--runs`` directory and be a regular file of bounded size, JSON
and YAML must be mappings, Parquet must parse and have the columns the replay reads. A
bad entry is left out of the listing; a bad run answers 422 with a message that names
the run and the file, never a server path.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from fastapi import HTTPException

from iamd.errors import IamdError
from iamd.export.rundir import REQUIRED, RunData

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
"""A run directory or file name: one plain segment, not hidden."""
MAX_TEXT_BYTES = 16 * 1024 * 1024
"""Largest JSON or YAML file read from a run directory."""
MAX_PARQUET_BYTES = 4 * 1024 * 1024 * 1024
"""Largest Parquet file read from a run directory."""
COLUMNS = {
    "truth.parquet": ("threat", "t_s", "lat_deg", "lon_deg", "alt_m", "class", "fate"),
    "events.parquet": (
        "t_s", "kind", "threat", "unit", "owner", "interceptor", "engagement",
        "lat_deg", "lon_deg", "alt_m",
    ),
    "tracks.parquet": ("t_s", "track", "lat_deg", "lon_deg", "owner"),
    "interceptors.parquet": ("engagement", "t_s", "lat_deg", "lon_deg", "alt_m"),
}  # fmt: skip
"""Columns the replay reads from each table."""
OPTIONAL = ("tracks.parquet", "interceptors.parquet")
"""Files a run directory may lack (older runs): read when present."""
NO_SUCH_RUN = "no such run"


@dataclass(frozen=True, slots=True)
class RunsRoot:
    """The ``--runs`` directory, as given (for messages) and resolved (for checks)."""

    path: Path
    real: Path

    @classmethod
    def open(cls, path: Path) -> RunsRoot:
        """The root at ``path``, which must be an existing directory.

        Raises
        ------
        IamdError
            When ``path`` is missing or not a directory (it is not created: a typo in
            ``--runs`` should not silently serve an empty directory).
        """
        if not path.is_dir():
            what = "is not a directory" if path.exists() else "does not exist"
            raise IamdError(
                f"--runs {path} {what}; create it (mkdir {path}) or write a run into it "
                f"(iamd run SCENARIO --out {path}/NAME, or make demo)"
            )
        return cls(path, path.resolve())

    def entry(self, name: str) -> Path:
        """The real path of the run or Monte Carlo directory ``name`` directly under the root.

        Raises
        ------
        HTTPException
            404 for a name that is not one plain segment, that is missing, not a
            directory, or whose real path is not directly under the root (a symlink out).
        """
        if not NAME_RE.match(name) or ".." in name:
            raise HTTPException(404, NO_SUCH_RUN)
        try:
            real = (self.real / name).resolve(strict=True)
        except (OSError, RuntimeError):
            raise HTTPException(404, NO_SUCH_RUN) from None
        if real.parent != self.real or not real.is_dir():
            raise HTTPException(404, NO_SUCH_RUN)
        return real

    def file(self, directory: Path, *parts: str) -> Path | None:
        """The real path of ``directory/parts`` when it is a regular file inside the root."""
        try:
            real = directory.joinpath(*parts).resolve(strict=True)
        except (OSError, RuntimeError):  # missing, dangling symlink, symlink loop
            return None
        if not real.is_relative_to(self.real) or not real.is_file():
            return None
        return real

    def label(self, real: Path) -> str:
        """``real`` relative to the root, for messages (never the server's path)."""
        try:
            return real.relative_to(self.real).as_posix()
        except ValueError:
            return real.name

    @contextmanager
    def opened(self, real: Path, limit_bytes: int) -> Iterator[IO[bytes]]:
        """``real`` (from :meth:`file`) opened for reading, its last part not a symlink.

        Raises
        ------
        HTTPException
            422 when it is no longer a regular file or is larger than ``limit_bytes``.
        """
        name = self.label(real)
        try:
            fd = os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            raise HTTPException(422, f"{name} cannot be opened") from None
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise HTTPException(422, f"{name} is not a regular file")
            if st.st_size > limit_bytes:
                raise HTTPException(422, f"{name} is larger than {limit_bytes // 2**20} MiB")
            yield f

    def read_text(self, real: Path) -> str:
        """A JSON or YAML file's text (UTF-8)."""
        with self.opened(real, MAX_TEXT_BYTES) as f:
            data = f.read(MAX_TEXT_BYTES + 1)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise HTTPException(422, f"{self.label(real)} is not UTF-8 text") from None

    def read_json(self, real: Path) -> Any:
        """A JSON file, parsed."""
        try:
            return json.loads(self.read_text(real))
        except (ValueError, RecursionError):
            raise HTTPException(422, f"{self.label(real)} is not valid JSON") from None

    def read_mapping(self, real: Path) -> dict[str, Any]:
        """A JSON or YAML file that must hold a mapping (YAML's safe loader: no tags)."""
        text = self.read_text(real)
        try:
            data = json.loads(text) if real.suffix == ".json" else yaml.safe_load(text)
        except (ValueError, RecursionError, yaml.YAMLError):
            raise HTTPException(422, f"{self.label(real)} is not valid {_fmt(real)}") from None
        if not isinstance(data, dict):
            raise HTTPException(422, f"{self.label(real)} does not hold a mapping")
        return data

    def read_parquet(self, real: Path, columns: tuple[str, ...] = ()) -> pa.Table:
        """A Parquet table that has ``columns``."""
        with self.opened(real, MAX_PARQUET_BYTES) as f:
            try:
                table = pq.read_table(f)
            except (pa.ArrowException, OSError, ValueError):
                raise HTTPException(
                    422, f"{self.label(real)} is not a readable Parquet file"
                ) from None
        missing = [c for c in columns if c not in table.column_names]
        if missing:
            raise HTTPException(422, f"{self.label(real)} lacks column(s) {', '.join(missing)}")
        return table


def _fmt(real: Path) -> str:
    return "JSON" if real.suffix == ".json" else "YAML"


def kind_of(root: RunsRoot, path: Path) -> str | None:
    """``"run"``, ``"mc"`` (a Monte Carlo store or sweep) or None, from checked files."""
    if root.file(path, "events.parquet") and root.file(path, "summary.json"):
        return "run"
    if root.file(path, "job.json") or root.file(path, "sweep.json"):
        return "mc"
    return None


def _row(root: RunsRoot, name: str) -> tuple[float, dict[str, Any]] | None:
    """``(mtime, listing row)`` of entry ``name``, or None when it is not one to list."""
    try:
        path = root.entry(name)
        kind = kind_of(root, path)
        if kind is None:
            return None
        row: dict[str, Any] = {"name": name, "kind": kind}
        if kind == "run":
            real = root.file(path, "summary.json")
            summary = root.read_json(real) if real is not None else None
            if not isinstance(summary, dict):
                return None
            scenario, seed = summary.get("scenario"), summary.get("seed")
            row["scenario"] = scenario if isinstance(scenario, str) else None
            row["seed"] = seed if isinstance(seed, int) and not isinstance(seed, bool) else None
        return path.stat().st_mtime, row
    except (HTTPException, OSError, ValueError):
        return None


def list_runs(root: RunsRoot) -> list[dict[str, Any]]:
    """Run and Monte Carlo directories under the root, newest first; bad entries left out."""
    try:
        names = [e.name for e in os.scandir(root.real)]
    except OSError:
        return []
    rows = [r for r in (_row(root, n) for n in names) if r is not None]
    rows.sort(key=lambda r: (-r[0], r[1]["name"]))
    return [row for _, row in rows]


@dataclass(frozen=True, slots=True)
class RunFiles:
    """The checked files of one run directory and a key that changes when any does."""

    name: str
    path: Path
    files: dict[str, Path]
    key: tuple[Any, ...]


def run_files(root: RunsRoot, name: str) -> RunFiles:
    """The files of run ``name``, each checked.

    Raises
    ------
    HTTPException
        404 when ``name`` is not a run directory, 422 when a required file is missing
        or is a symlink out of the root.
    """
    path = root.entry(name)
    if kind_of(root, path) != "run":
        raise HTTPException(404, NO_SUCH_RUN)
    files: dict[str, Path] = {}
    for f in (*REQUIRED, *OPTIONAL):
        real = root.file(path, f)
        if real is not None:
            files[f] = real
    missing = [f for f in REQUIRED if f not in files]
    if missing:
        raise HTTPException(422, f"run {name!r} lacks {', '.join(missing)} (or it leaves --runs)")
    try:
        key = tuple((f, p.stat().st_mtime_ns, p.stat().st_size) for f, p in sorted(files.items()))
    except OSError:
        raise HTTPException(422, f"run {name!r} changed while being read") from None
    return RunFiles(name, path, files, key)


def load_run(root: RunsRoot, rf: RunFiles) -> RunData:
    """The run of ``rf``, every file read through the checks of :class:`RunsRoot`."""
    summary = root.read_mapping(rf.files["summary.json"])
    scenario = root.read_mapping(rf.files["scenario.yaml"])
    truth = root.read_parquet(rf.files["truth.parquet"], COLUMNS["truth.parquet"])
    events = root.read_parquet(rf.files["events.parquet"], COLUMNS["events.parquet"])
    tracks, flown = (
        root.read_parquet(rf.files[f], COLUMNS[f]) if f in rf.files else None for f in OPTIONAL
    )
    try:
        truth = truth.sort_by([("threat", "ascending"), ("t_s", "ascending")])
    except pa.ArrowException:
        raise HTTPException(422, f"{rf.name}/truth.parquet cannot be sorted by threat") from None
    try:
        if flown is not None:
            flown = flown.sort_by([("engagement", "ascending"), ("t_s", "ascending")])
    except pa.ArrowException:
        raise HTTPException(
            422, f"{rf.name}/interceptors.parquet cannot be sorted by engagement"
        ) from None
    return RunData(rf.path, summary, scenario, truth, events, tracks, flown)
