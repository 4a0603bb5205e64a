"""One replication end to end, its summary, and its run directory."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from iamd import __version__
from iamd.errors import IamdError
from iamd.geo import ecef2geodetic
from iamd.jsonsafe import finite
from iamd.physics.truth import TruthTable, fly
from iamd.scenario.load import Scenario
from iamd.sim.aircraft import GROUND, TURNAROUND
from iamd.sim.decisions import decision_figures
from iamd.sim.engine import FATE_NAMES, Engine, Outcome
from iamd.sim.events import EventLog
from iamd.sim.layout import is_run_dir
from iamd.sim.metrics_sampler import track_quality
from iamd.sim.world import World, build_world

TRUTH_ROUTE_STRIDE = 3
"""Keep every third route-threat sample (30 s) in truth.parquet; ballistic ones all."""


@dataclass(frozen=True, slots=True)
class RunResult:
    """Everything one replication produced."""

    scenario: Scenario
    seed: int
    world: World
    outcome: Outcome
    summary: dict[str, Any]


def replication_seed(seed: int, replication: int | None) -> np.random.SeedSequence:
    """Seed sequence of one run: ``SeedSequence(seed)`` itself, or its child ``replication``.

    ``SeedSequence(seed, spawn_key=(i,))`` is the i-th child of ``SeedSequence(seed).spawn``,
    so replication i of a Monte Carlo job has the same streams whichever process, machine
    or order runs it.
    """
    if replication is None:
        return np.random.SeedSequence(seed)
    return np.random.SeedSequence(seed, spawn_key=(replication,))


def simulate(
    scenario: Scenario,
    seed: int | None = None,
    progress: Callable[[float], None] | None = None,
    replication: int | None = None,
    watch: Callable[[float, EventLog], None] | None = None,
) -> RunResult:
    """Fly the raid, run the engine, summarise.

    Streams: ``replication_seed(seed, replication).spawn(2)`` gives the raid (launch
    times, points, dispersion, failures) and the engine (detection, noise, intercept
    outcomes). The same seed and replication give the same raid whatever the defence, so
    two designs see common random numbers.

    ``progress(t_s)`` and ``watch(t_s, log)`` are called every few hundred events; ``watch``
    sees the event log as it grows (the live view streams its new rows).
    """
    seed = scenario.spec.seed if seed is None else seed
    t0 = time.perf_counter()
    raid_seq, engine_seq = replication_seed(seed, replication).spawn(2)
    truth = fly(scenario, np.random.default_rng(raid_seq))
    world = build_world(scenario, truth)
    engine = Engine(world, engine_seq)
    tick = progress
    if watch is not None:

        def tick(t_s: float) -> None:
            if progress is not None:
                progress(t_s)
            watch(t_s, engine.log)

    outcome = engine.run(tick)
    summary = summarise(world, outcome, seed, time.perf_counter() - t0)
    return RunResult(scenario=scenario, seed=seed, world=world, outcome=outcome, summary=summary)


def _fates(mask: np.ndarray, out: Outcome) -> dict[str, int]:
    launched = mask & out.launched
    d = {"launched": int(launched.sum())}
    for code, name in enumerate(FATE_NAMES):
        d[name] = int((launched & (out.fate == code)).sum())
    d["engaged"] = int((launched & out.engaged).sum())
    d["not_engaged_open_area"] = int((launched & ~out.engaged & (out.fate == 4)).sum())
    order = [
        "launched",
        "failed",
        "intercepted",
        "impacted_asset",
        "impacted_open",
        "airborne_at_end",
        "engaged",
        "not_engaged_open_area",
    ]
    return {k: d[k] for k in order}


def summarise(world: World, out: Outcome, seed: int, wall_time_s: float) -> dict[str, Any]:
    """The ``summary.json`` contract of a run."""
    tr, spec = world.truth, world.scenario.spec
    threats: dict[str, Any] = _fates(np.ones(tr.n, dtype=bool), out)
    threats["by_class"] = {
        name: _fates(tr.class_idx == k, out)
        for k, name in enumerate(tr.class_names)
        if (tr.class_idx == k).any()
    }
    interceptors: dict[str, dict[str, Any]] = {}
    by_owner: dict[str, dict[str, int]] = {o: {"fired": 0, "kills": 0} for o in world.owners}
    for u, unit in enumerate(world.units):  # loop over fire units (tens)
        rec = interceptors.setdefault(unit.interceptor, {"fired": 0, "kills": 0, "cost_usd": 0.0})
        rec["fired"] += int(out.fired[u])
        rec["kills"] += int(out.kills[u])
        rec["cost_usd"] += float(out.fired[u] * unit.ic.cost_usd)
        by_owner[unit.owner]["fired"] += int(out.fired[u])
        by_owner[unit.owner]["kills"] += int(out.kills[u])
    assets = {
        a.name: {"hits": int(out.asset_hits[k]), "value_lost": float(out.asset_value_lost[k])}
        for k, a in enumerate(spec.assets)
    }
    summary: dict[str, Any] = finite(
        {
            "iamd_version": __version__,
            "scenario": spec.name,
            "seed": int(seed),
            "sim_duration_s": float(spec.duration_s),
            "wall_time_s": float(wall_time_s),
            "threats": threats,
            "interceptors": dict(sorted(interceptors.items())),
            "by_owner": by_owner,
            "air_patrols": air_patrols(world, out),
            "assets": assets,
            "cost_usd": costs(world, out, interceptors),
            "tracking": {
                **track_quality(
                    out.samples, world.owners, spec.tracking.mode, world.truth.class_names
                ),
                "classification": spec.tracking.classification,
            },
            "decisions": decision_figures(world, out),
            "c2": {
                "cycles": int(out.c2_cycles),
                "assignments": int(out.c2_solve_ms.size),
                "mean_solve_ms": float(out.c2_solve_ms.mean()) if out.c2_solve_ms.size else 0.0,
                "max_solve_ms": float(out.c2_solve_ms.max()) if out.c2_solve_ms.size else 0.0,
                "solver": spec.doctrine.solver,
            },
        }
    )
    return summary


def costs(world: World, out: Outcome, interceptors: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Interceptors spent, threats launched (catalog unit costs), and their ratio.

    The cost-exchange ratio is interceptor cost over the cost of the threats launched:
    above 1, the defence spends more than the attacker.
    """
    spent = float(sum(v["cost_usd"] for v in interceptors.values()))
    tr = world.truth
    class_cost = np.array(
        [world.scenario.catalog.threats[name].cost_usd for name in tr.class_names]
    )
    launched = float(class_cost[tr.class_idx[out.launched]].sum())
    return {
        "interceptors": spent,
        "threats": launched,
        "exchange_ratio": spent / launched if launched > 0 else None,
    }


def air_patrols(world: World, out: Outcome) -> dict[str, dict[str, Any]]:
    """Per air patrol: sorties flown, flight hours (to the end of the run), missiles fired
    and kills."""
    fleet = out.fleet
    result: dict[str, dict[str, Any]] = {}
    if fleet is None:
        return result
    end = float(world.scenario.spec.duration_s)
    airborne = fleet.airborne_s.copy()
    flying = ~np.isin(fleet.state, (GROUND, TURNAROUND))
    airborne[flying] += end - fleet.airborne_since_s[flying]
    for k, p in enumerate(world.patrols):  # patrols (a few)
        mine = fleet.patrol == k
        units = list(p.units)
        result[p.name] = {
            "sorties": int(fleet.sorties[mine].sum()),
            "flight_hours": float(airborne[mine].sum() / 3600.0),
            "missiles_fired": int(out.fired[units].sum()),
            "kills": int(out.kills[units].sum()),
        }
    return result


def truth_table(tr: TruthTable, out: Outcome) -> pa.Table:
    """Sampled truth, cut at each threat's end (kill, failure, impact), as lat/lon/alt; a
    threat that ended between samples (killed, failed) has its state at that instant as
    its last row."""
    seg = np.repeat(np.arange(tr.n), np.diff(tr.offset))
    end = np.where(np.isnan(out.t_fate_s), tr.t_end_s, out.t_fate_s)
    local = np.arange(seg.size) - tr.offset[seg]
    keep = (tr.t_s <= end[seg]) & (tr.ballistic[seg] | (local % TRUTH_ROUTE_STRIDE == 0))
    keep &= out.launched[seg]
    threat, t_s, state = seg[keep], tr.t_s[keep], tr.state[keep]
    last = np.full(tr.n, -np.inf)
    np.maximum.at(last, threat, t_s)
    cut = np.flatnonzero(out.launched & np.isfinite(out.t_fate_s) & (out.t_fate_s > last))
    if cut.size:
        threat = np.concatenate([threat, cut])
        t_s = np.concatenate([t_s, out.t_fate_s[cut]])
        state = np.concatenate([state, tr.state_at(cut, out.t_fate_s[cut])])
        order = np.lexsort((t_s, threat))
        threat, t_s, state = threat[order], t_s[order], state[order]
    lat, lon, alt = ecef2geodetic(state[:, :3])
    return pa.table(
        {
            "threat": threat.astype(np.int32),
            "class": pa.array(np.asarray(tr.class_names)[tr.class_idx[threat]]).dictionary_encode(),
            "fate": pa.array(np.asarray(FATE_NAMES)[out.fate[threat]]).dictionary_encode(),
            "t_s": t_s,
            "lat_deg": np.degrees(lat),
            "lon_deg": np.degrees(lon),
            "alt_m": alt,
            "speed_m_s": np.linalg.norm(state[:, 3:], axis=1),
        }
    )


def interceptors_table(result: RunResult) -> pa.Table:
    """Every kinetic interceptor's flown path: its launch, its state at each midcourse
    update, and where its flight ended (the closest approach, or where it fell, slowed or
    self-destructed), as lat/lon/alt and speed. Lasers fly nothing."""
    fl = result.outcome.flights
    if fl is None or not fl.path_t_s:
        text = pa.array([], pa.string()).dictionary_encode()
        ints, floats = pa.array([], pa.int32()), pa.array([], pa.float64())
        return pa.table(
            {
                "engagement": ints,
                "threat": ints,
                **{name: text for name in ("unit", "owner", "interceptor")},
                **{name: floats for name in ("t_s", "lat_deg", "lon_deg", "alt_m", "speed_m_s")},
            }
        )
    f = np.asarray(fl.path_flight, dtype=np.int64)
    t = np.asarray(fl.path_t_s, dtype=np.float64)
    x = np.asarray(fl.path_x, dtype=np.float64)
    order = np.lexsort((t, fl.engagement[f]))
    f, t, x = f[order], t[order], x[order]
    lat, lon, alt = ecef2geodetic(x[:, :3])
    units = result.world.units
    unit = fl.unit[f]

    def names(values: list[str]) -> pa.Array:
        return pa.array(np.asarray(values, dtype=object)[unit].tolist()).dictionary_encode()

    return pa.table(
        {
            "engagement": fl.engagement[f].astype(np.int32),
            "threat": fl.threat[f].astype(np.int32),
            "unit": names([u.name for u in units]),
            "owner": names([u.owner for u in units]),
            "interceptor": names([u.interceptor for u in units]),
            "t_s": t,
            "lat_deg": np.degrees(lat),
            "lon_deg": np.degrees(lon),
            "alt_m": alt,
            "speed_m_s": np.linalg.norm(x[:, 3:6], axis=1),
        }
    )


def tracks_table(result: RunResult) -> pa.Table:
    """Every track update of every picture.

    ``track`` is the track's identity (owner index times 10^9 plus the owner's own
    number in ``gnn`` mode; the threat in ``ideal`` mode) and ``truth_threat`` the
    threat whose detection it last absorbed (-1: a false alarm), for scoring.
    """
    log = result.outcome.pictures.log
    if not log.t_s:
        return pa.table({"t_s": pa.array([], pa.float64())})
    threat = np.concatenate(log.threat).astype(np.int32)
    track = np.concatenate(log.track).astype(np.int64)
    x = np.concatenate(log.state)
    lat, lon, alt = ecef2geodetic(x[:, :3])
    owners = np.asarray(result.world.owners)[np.concatenate(log.owner)]
    return pa.table(
        {
            "t_s": np.concatenate(log.t_s),
            "owner": pa.array(owners).dictionary_encode(),
            "track": track,
            "truth_threat": threat,
            "lat_deg": np.degrees(lat),
            "lon_deg": np.degrees(lon),
            "alt_m": alt,
            "vx_m_s": x[:, 3],
            "vy_m_s": x[:, 4],
            "vz_m_s": x[:, 5],
            "pos_sigma_m": np.concatenate(log.sigma_m),
        }
    )


def check_out_dir(out_dir: Path) -> Path:
    """``out_dir`` made absolute, if a run may be written there: it does not exist, is an
    empty directory, or holds an earlier run (which the new one replaces).

    Call it before simulating, so a wrong ``--out`` costs nothing.

    Raises
    ------
    IamdError
        For a path that names no directory entry (``.``, ``/``), or one that exists and
        is not an empty directory or a run directory (a Monte Carlo store, a file, ...).
    """
    path = Path(out_dir).absolute()
    if path.name in ("", ".", ".."):
        path = path.resolve()
    if not path.name:
        raise IamdError(f"--out {out_dir}: give a directory to write the run into")
    if path.exists() and not (path.is_dir() and (is_run_dir(path) or not any(path.iterdir()))):
        raise IamdError(
            f"{out_dir} exists and is not a run directory; choose another --out "
            "(an earlier run directory is replaced, anything else is left alone)"
        )
    return path


def write_run_dir(result: RunResult, out_dir: Path, with_map: bool = True) -> Path:
    """Write summary.json, the four Parquet tables, scenario.yaml and map.png.

    The files are written into a new directory beside ``out_dir`` that then takes its
    place, so a run directory never mixes two runs (no stale map or export of an earlier
    run survives), and a failed write or swap leaves the old one where it was.

    Raises
    ------
    IamdError
        When ``out_dir`` may not be written (:func:`check_out_dir`), or on a write error.
    """
    path = check_out_dir(out_dir)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    old = path.with_name(f".{path.name}.old-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        _write_files(result, tmp, with_map)
        if path.exists():
            os.replace(path, old)
            try:
                os.replace(tmp, path)
            except OSError:
                os.replace(old, path)  # put the earlier run back
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except OSError as exc:
        raise IamdError(f"cannot write run directory {out_dir}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def _write_files(result: RunResult, out_dir: Path, with_map: bool) -> None:
    pq_opts: dict[str, Any] = {"compression": "zstd", "write_statistics": False}
    pq.write_table(result.outcome.events.table(), out_dir / "events.parquet", **pq_opts)
    pq.write_table(
        truth_table(result.world.truth, result.outcome), out_dir / "truth.parquet", **pq_opts
    )
    pq.write_table(tracks_table(result), out_dir / "tracks.parquet", **pq_opts)
    pq.write_table(interceptors_table(result), out_dir / "interceptors.parquet", **pq_opts)
    text = resolved_scenario_yaml(result.scenario, result.seed)
    (out_dir / "scenario.yaml").write_text(text, "utf-8")
    summary = json.dumps(result.summary, indent=2, allow_nan=False)
    (out_dir / "summary.json").write_text(summary + "\n", "utf-8")
    if with_map:
        from iamd.viz.theatre_map import draw_map

        draw_map(result, out_dir / "map.png")


def resolved_scenario(scenario: Scenario, seed: int) -> dict[str, Any]:
    """The scenario as run: defaults filled in, ``seed`` the one used, and under
    ``catalog`` every figure of each class it uses (so the file needs no bundled catalog
    of the same version to mean the same thing).

    It validates as a scenario file, and running it with its own seed gives the same run.
    """
    spec, cat = scenario.spec, scenario.catalog
    interceptors = sorted(
        {f.interceptor for f in spec.fire_units} | {p.missile for p in spec.air_patrols}
    )
    threats = {s.threat for s in spec.raid}
    threats |= {t for name in interceptors for t in cat.interceptors[name].pk if t in cat.threats}
    used = {
        "interceptors": interceptors,
        "threats": sorted(threats),
        "sensors": sorted({s.type for s in spec.sensors}),
        "aircraft": sorted({p.aircraft for p in spec.air_patrols}),
    }
    return {
        **spec.model_dump(mode="json"),
        "seed": int(seed),
        "catalog": {
            section: {
                name: getattr(cat, section)[name].model_dump(mode="json", exclude_none=True)
                for name in names
            }
            for section, names in used.items()
        },
    }


def resolved_scenario_yaml(scenario: Scenario, seed: int) -> str:
    """:func:`resolved_scenario` as YAML text (a run directory's ``scenario.yaml``)."""
    return yaml.safe_dump(resolved_scenario(scenario, seed), sort_keys=False, allow_unicode=True)
