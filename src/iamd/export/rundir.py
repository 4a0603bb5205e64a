"""Read a run directory (``iamd run --out DIR``) back: layout, truth, flyouts, events.

Exports (CZML, KML, DIS) and the browser replay read run directories only, never the
engine: a run directory is self-contained (its ``scenario.yaml`` carries the resolved
catalog). A flyout (:class:`Flyouts`) joins an engagement's launch and end events; the
path its interceptor flew is :meth:`RunData.flown_paths`, from ``interceptors.parquet``
(the straight line between the two events where the run directory has no flight: a laser,
an older run).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from numpy.typing import NDArray

from iamd.errors import IamdError, ScenarioError
from iamd.export.paths import AircraftPaths, FlownPaths, aircraft_paths, flown_paths
from iamd.scenario.schema import AirPatrol
from iamd.sim.layout import RUN_FILES

if TYPE_CHECKING:
    from iamd.scenario.load import Scenario

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

REQUIRED = RUN_FILES
"""Files every run directory has (``tracks.parquet`` is optional: older runs lack it)."""
COLUMNS = {
    "truth.parquet": ("threat", "class", "fate", "t_s", "lat_deg", "lon_deg", "alt_m"),
    "events.parquet": (
        "t_s",
        "kind",
        "threat",
        "unit",
        "owner",
        "interceptor",
        "engagement",
        "value",
        "lat_deg",
        "lon_deg",
        "alt_m",
    ),
    "tracks.parquet": ("t_s",),
    "interceptors.parquet": (
        "engagement",
        "threat",
        "unit",
        "owner",
        "interceptor",
        "t_s",
        "lat_deg",
        "lon_deg",
        "alt_m",
        "speed_m_s",
    ),
}
"""Columns each table of a run directory must have (tracks may be empty)."""
END_KINDS = ("intercept", "miss", "miss_target_gone")
"""Event kinds that end an interceptor's flight."""


@dataclass(frozen=True, slots=True)
class Flyouts:
    """Interceptor flights, one row per engagement (arrays of shape (k,) or (k, 3)).

    ``start``/``end`` are ``(lat_deg, lon_deg, alt_m)``; ``result`` is the ending event
    kind (one of :data:`END_KINDS`, or ``"in_flight"`` when the run ended first).
    ``rounds`` is the number of interceptors the engagement fired (its salvo), the
    ``value`` of its ``launch_interceptor`` event; 1 where a run directory has no such
    value (older runs). Everything that counts interceptors fired (the replay's counters
    and cost, DIS Fire PDUs' quantity) reads it here.
    """

    engagement: I64
    threat: I64
    unit: list[str]
    owner: list[str]
    interceptor: list[str]
    t_launch_s: F64
    t_end_s: F64
    start: F64
    end: F64
    result: list[str]
    rounds: I64


def _rounds(launch: pa.Table) -> I64:
    """Rounds fired per ``launch_interceptor`` row: its ``value``, 1 when missing or bad."""
    if "value" not in launch.column_names:
        return np.ones(launch.num_rows, dtype=np.int64)
    value = launch.column("value").to_numpy(zero_copy_only=False).astype(np.float64)
    ok = np.isfinite(value) & (value >= 1.0)
    return np.where(ok, np.round(np.where(ok, value, 1.0)), 1.0).astype(np.int64)


@dataclass(frozen=True, slots=True)
class RunData:
    """One run directory, read.

    Attributes
    ----------
    path : Path
        The directory.
    summary : dict
        ``summary.json``.
    scenario : dict
        ``scenario.yaml`` (the validated scenario with its resolved catalog).
    truth : pyarrow.Table
        ``truth.parquet`` sorted by (threat, t_s).
    events : pyarrow.Table
        ``events.parquet`` in time order.
    tracks : pyarrow.Table or None
        ``tracks.parquet`` when present.
    interceptors : pyarrow.Table or None
        ``interceptors.parquet`` (the flown interceptor paths) when present (older runs
        lack it), sorted by (engagement, t_s).
    """

    path: Path
    summary: dict[str, Any]
    scenario: dict[str, Any]
    truth: pa.Table
    events: pa.Table
    tracks: pa.Table | None
    interceptors: pa.Table | None = None

    @property
    def duration_s(self) -> float:
        return float(self.scenario.get("duration_s", 0.0))

    @property
    def catalog(self) -> dict[str, Any]:
        """The catalog classes the run used: ``{section: {class: figures}}``.

        ``scenario.yaml`` holds them under ``catalog`` (older runs: ``resolved_catalog``).
        """
        cat = self.scenario.get("catalog") or self.scenario.get("resolved_catalog") or {}
        return cat if isinstance(cat, dict) else {}

    def flyouts(self) -> Flyouts:
        """Interceptor flights joined from launch and end events by engagement number."""
        ev = self.events
        kind = ev.column("kind").cast(pa.string())
        launch = ev.filter(pc.equal(kind, "launch_interceptor"))
        ends = ev.filter(pc.is_in(kind, value_set=pa.array(END_KINDS)))
        eng = launch.column("engagement").to_numpy().astype(np.int64)
        end_eng = ends.column("engagement").to_numpy().astype(np.int64)
        # last ending event of each engagement
        order = np.argsort(end_eng, kind="stable")
        end_eng_sorted = end_eng[order]
        pos = np.searchsorted(end_eng_sorted, eng, side="right") - 1
        found = (pos >= 0) & (end_eng_sorted[np.clip(pos, 0, None)] == eng)
        idx = order[np.clip(pos, 0, None)]

        def xyz(t: pa.Table) -> F64:
            return np.column_stack(
                [
                    t.column(c).to_numpy(zero_copy_only=False)
                    for c in ("lat_deg", "lon_deg", "alt_m")
                ]
            ).astype(np.float64)

        start = xyz(launch)
        end = np.where(found[:, None], xyz(ends)[idx] if ends.num_rows else start, start)
        t0 = launch.column("t_s").to_numpy()
        t_end_all = ends.column("t_s").to_numpy() if ends.num_rows else np.zeros(0)
        t1 = np.where(found, t_end_all[idx] if ends.num_rows else t0, self.duration_s)
        end_kinds = ends.column("kind").cast(pa.string()).to_pylist()
        result = [end_kinds[i] if f else "in_flight" for i, f in zip(idx, found, strict=True)]
        # an unfinished flight has no end point: it stays at its launch point
        return Flyouts(
            engagement=eng,
            threat=launch.column("threat").to_numpy().astype(np.int64),
            unit=launch.column("unit").cast(pa.string()).to_pylist(),
            owner=launch.column("owner").cast(pa.string()).to_pylist(),
            interceptor=launch.column("interceptor").cast(pa.string()).to_pylist(),
            t_launch_s=t0.astype(np.float64),
            t_end_s=np.maximum(t1, t0).astype(np.float64),
            start=start,
            end=end,
            result=result,
            rounds=_rounds(launch),
        )

    def flown_paths(self, fly: Flyouts | None = None) -> FlownPaths:
        """The path of each engagement of ``fly`` (default :meth:`flyouts`), in its order.

        The samples of ``interceptors.parquet`` where the engagement has them, else the
        straight line from its launch point at its launch time to its end point at its end
        time (a laser; a run directory written before interceptors were flown).

        Raises
        ------
        IamdError
            When ``interceptors.parquet`` holds something other than numbers.
        """
        fly = self.flyouts() if fly is None else fly
        try:
            return flown_paths(fly, self.interceptors)
        except (TypeError, ValueError, pa.ArrowException) as exc:
            raise IamdError(
                f"{self.path / 'interceptors.parquet'}: not the flights of an iamd run ({exc})"
            ) from None

    def aircraft(self) -> list[Aircraft]:
        """The patrol aircraft as the engine numbers them (:func:`patrol_aircraft`)."""
        return patrol_aircraft(self.scenario)

    def aircraft_paths(self) -> AircraftPaths:
        """Where each patrol aircraft was (:meth:`aircraft` order): the straight legs
        between its ``aircraft_*`` and ``launch_interceptor`` events, from its airfield.

        Raises
        ------
        IamdError
            When ``scenario.yaml``'s ``air_patrols`` lack a name, owner or base.
        """
        try:
            craft = self.aircraft()
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise IamdError(
                f"{self.path / 'scenario.yaml'}: air_patrols without a name, owner or base ({exc})"
            ) from None
        ev = self.events
        kind = ev.column("kind").cast(pa.string())
        leg = pc.or_(
            pc.starts_with(kind, "aircraft_"), pc.equal(kind, "launch_interceptor")
        ).to_numpy(zero_copy_only=False)
        lla = np.column_stack(
            [ev.column(c).to_numpy(zero_copy_only=False) for c in ("lat_deg", "lon_deg", "alt_m")]
        ).astype(np.float64)
        return aircraft_paths(
            [c[0] for c in craft],
            [c[1] for c in craft],
            np.array([c[3] for c in craft], dtype=np.float64).reshape(-1, 3),
            ev.column("unit").cast(pa.string()).to_pylist(),
            ev.column("t_s").to_numpy(zero_copy_only=False).astype(np.float64),
            lla,
            np.asarray(leg, dtype=bool),
        )

    def threat_paths(self) -> tuple[I64, I64, F64, F64]:
        """Truth samples grouped by threat.

        Returns
        -------
        ids : ndarray of int64, shape (m,)
            Threat numbers that have samples, ascending.
        offset : ndarray of int64, shape (m + 1,)
            Samples of ``ids[k]`` are rows ``offset[k]:offset[k + 1]``.
        t_s : ndarray, shape (n,)
            Sample times, s.
        lla : ndarray, shape (n, 3)
            ``(lat_deg, lon_deg, alt_m)``.
        """
        tr = self.truth
        threat = tr.column("threat").to_numpy().astype(np.int64)
        ids, first = np.unique(threat, return_index=True)
        offset = np.append(first, threat.size).astype(np.int64)
        t_s = tr.column("t_s").to_numpy().astype(np.float64)
        lla = np.column_stack(
            [tr.column(c).to_numpy() for c in ("lat_deg", "lon_deg", "alt_m")]
        ).astype(np.float64)
        return ids, offset, t_s, lla

    def threat_attrs(self) -> dict[int, tuple[str, str]]:
        """Class and fate of each threat with samples: ``{threat: (class, fate)}``."""
        tr = self.truth
        threat = tr.column("threat").to_numpy()
        ids, first = np.unique(threat, return_index=True)
        cls = tr.column("class").cast(pa.string()).to_numpy(zero_copy_only=False)
        fate = tr.column("fate").cast(pa.string()).to_numpy(zero_copy_only=False)
        return {int(i): (str(cls[f]), str(fate[f])) for i, f in zip(ids, first, strict=True)}


Aircraft = tuple[str, str, str, tuple[float, float, float]]
"""A patrol aircraft: name, owner, missile class, airfield ``(lat_deg, lon_deg, alt_m)``."""


def _patrol_default(field: str) -> Any:
    return AirPatrol.model_fields[field].default


def patrol_aircraft(scenario: dict[str, Any]) -> list[Aircraft]:
    """The aircraft of a scenario's ``air_patrols``, as the engine numbers them.

    Each patrol has ``on_station`` plus ``ground_alert`` aircraft, named ``PATROL-1``,
    ``PATROL-2`` ... in patrol order (the schema's defaults where a figure is missing).
    """
    out: list[Aircraft] = []
    for p in scenario.get("air_patrols", []) or []:
        base = p["base"]
        lla = (float(base["lat_deg"]), float(base["lon_deg"]), float(base.get("alt_m", 0.0)))
        n = int(p.get("on_station", _patrol_default("on_station"))) + int(
            p.get("ground_alert", _patrol_default("ground_alert"))
        )
        missile = str(p.get("missile", _patrol_default("missile")))
        out += [(f"{p['name']}-{j + 1}", str(p["owner"]), missile, lla) for j in range(n)]
    return out


def asset_point(asset: dict[str, Any]) -> tuple[float, float]:
    """``(lat_deg, lon_deg)`` of an asset: its point, or the mean of its polygon's vertices."""
    p = asset.get("point")
    if p:
        return float(p["lat_deg"]), float(p["lon_deg"])
    poly = np.asarray(asset["polygon"], dtype=np.float64)  # (lat, lon) vertices
    return float(poly[:, 0].mean()), float(poly[:, 1].mean())


def _check_dir(path: Path) -> None:
    if not path.is_dir():
        raise IamdError(f"{path}: not a run directory (no such directory)")
    missing = [f for f in REQUIRED if not (path / f).is_file()]
    if missing:
        raise IamdError(
            f"{path}: not a run directory (missing {', '.join(missing)}); "
            "make one with 'iamd run SCENARIO --out DIR'"
        )


OLD_CATALOG_KEY = "resolved_catalog"
"""Where run directories of iamd 0.1 before issue 14 kept their catalog classes."""


def read_run_scenario(path: Path) -> tuple[Scenario, dict[str, Any], Any]:
    """A run directory's ``scenario.yaml``: the validated :class:`Scenario`, the file's
    data, and the ``resolved_catalog`` of an older run (None for a current one).

    Read with the scenario loader's limits (no alias bombs, no tags) and checked by the
    schema, so the run can be simulated again and every field a reader uses is there.

    Raises
    ------
    IamdError
        When the file is unreadable or is not a valid scenario (the first problems named).
    """
    from iamd.scenario.load import scenario_from_located
    from iamd.scenario.yamlpos import Located, load_file

    try:
        located = load_file(path, str(path))
        data = located.data
        if not isinstance(data, dict):
            raise IamdError(f"{path}: not a scenario (a mapping of keys to values)")
        old = data.get(OLD_CATALOG_KEY)
        rest = {k: v for k, v in data.items() if k != OLD_CATALOG_KEY}
        scenario = scenario_from_located(Located(rest, located.file, located.positions), str(path))
    except ScenarioError as exc:
        errors = [p for p in exc.problems if not p.warning]
        shown = "; ".join(str(p) for p in errors[:3]) + (" ..." if len(errors) > 3 else "")
        raise IamdError(f"{path} is not a valid scenario: {shown}") from None
    return scenario, rest, old


def run_scenario(path: Path) -> dict[str, Any]:
    """A run directory's ``scenario.yaml`` as data, validated (:func:`read_run_scenario`).

    An older run's ``resolved_catalog`` is kept for :attr:`RunData.catalog`.
    """
    _, data, old = read_run_scenario(path)
    return data if old is None else {**data, OLD_CATALOG_KEY: old}


def load_run(path: Path | str) -> RunData:
    """Read a run directory; a missing or damaged file is an :class:`IamdError`."""
    path = Path(path)
    _check_dir(path)
    scenario = run_scenario(path / "scenario.yaml")
    try:
        summary = json.loads((path / "summary.json").read_text("utf-8"))
        truth = pq.read_table(path / "truth.parquet")
        events = pq.read_table(path / "events.parquet")
        tracks = (
            pq.read_table(path / "tracks.parquet") if (path / "tracks.parquet").is_file() else None
        )
        flown = path / "interceptors.parquet"
        interceptors = pq.read_table(flown) if flown.is_file() else None
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise IamdError(f"{path}: cannot read the run directory: {exc}") from None
    if not isinstance(summary, dict):
        raise IamdError(f"{path}: summary.json is not a mapping")
    for name, table in (
        ("truth.parquet", truth),
        ("events.parquet", events),
        ("tracks.parquet", tracks),
        ("interceptors.parquet", interceptors),
    ):
        missing = [c for c in COLUMNS[name] if table is not None and c not in table.column_names]
        if missing:
            raise IamdError(
                f"{path / name}: not a table of an iamd run (no column {', '.join(missing)})"
            )
    try:
        truth = truth.sort_by([("threat", "ascending"), ("t_s", "ascending")])
    except pa.ArrowException as exc:
        raise IamdError(
            f"{path / 'truth.parquet'}: cannot sort by threat and time: {exc}"
        ) from None
    if interceptors is not None and interceptors.num_rows:
        try:
            interceptors = interceptors.sort_by([("engagement", "ascending"), ("t_s", "ascending")])
        except pa.ArrowException as exc:
            raise IamdError(f"{flown}: cannot sort by engagement and time: {exc}") from None
    return RunData(path, summary, scenario, truth, events, tracks, interceptors)
