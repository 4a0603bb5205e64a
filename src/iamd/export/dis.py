"""A run directory replayed as IEEE 1278.1 DIS PDUs over UDP (an encoder of our own).

The PDUs (Entity State, Fire, Detonation; protocol version 7) are packed in
:mod:`iamd.export.dis_pdu`. A replay sends, in simulation-time order:

* **Entity State**, every ``heartbeat_s`` of simulation time, for every threat in flight
  (interpolated from truth), every kinetic interceptor in flight (along the path it flew,
  ``interceptors.parquet``; the straight line from its launch to its end event in a run
  directory without it), every fire unit at its site and every patrol aircraft along
  its flight (:meth:`~iamd.export.rundir.RunData.aircraft_paths`; on its airfield before
  it takes off), the last two over the whole run, force friendly. Velocity is that of the
  path between the samples around the time; orientation points the body x axis along it,
  wings level (a unit at rest: level, facing north);
* **Fire** at each interceptor launch, from the fire unit at the threat, with the
  interceptor as the munition, its velocity that of the flight's first leg;
* **Detonation** at each intercept (result 1, entity impact), miss (result 5, detonation)
  and asset impact (result 3, ground impact).

Entity identifiers (site, application, entity): threats ``(1, 1, threat + 1)``,
interceptors ``(1, 2, engagement + 1)``, fire units ``(1, 3, unit + 1)`` with ``unit`` the
index in the scenario's ``fire_units``, followed by the aircraft of its ``air_patrols``
(``PATROL-1``, ``PATROL-2`` ..., as the engine numbers them).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from iamd.errors import IamdError
from iamd.export.dis_pdu import (
    APP_INTERCEPTOR,
    APP_THREAT,
    APP_UNIT,
    DETONATION,
    DETONATION_PDU,
    ENTITY_STATE,
    ESPDU,
    FAMILY,
    FIRE,
    FIRE_PDU,
    FRIENDLY,
    INTERCEPTOR_TYPE,
    LASER_TYPE,
    MAX_ENTITY,
    OPPOSING,
    RESULT_DETONATION,
    RESULT_ENTITY_IMPACT,
    RESULT_GROUND_IMPACT,
    SITE,
    THREAT_TYPES,
    UNIT_TYPES,
    EntityType,
    detonation,
    dis_timestamp,
    entity_state,
    fire,
    orientation,
    threat_type,
    unit_type,
)
from iamd.export.paths import along, heartbeats
from iamd.export.rundir import RunData, patrol_aircraft
from iamd.geo import geodetic2ecef

__all__ = [
    "APP_INTERCEPTOR",
    "APP_THREAT",
    "APP_UNIT",
    "DETONATION",
    "DETONATION_PDU",
    "ENTITY_STATE",
    "ESPDU",
    "FAMILY",
    "FIRE",
    "FIRE_PDU",
    "FRIENDLY",
    "INTERCEPTOR_TYPE",
    "LASER_TYPE",
    "OPPOSING",
    "THREAT_TYPES",
    "UNIT_TYPES",
    "Schedule",
    "build_schedule",
    "detonation",
    "dis_timestamp",
    "entity_state",
    "fire",
    "orientation",
    "parse_address",
    "send",
    "unit_numbers",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Entity = tuple[int, int, int]


def _ecef(lla: F64) -> F64:
    """``(lat_deg, lon_deg, alt_m)`` rows, shape (n, 3), to ECEF, m."""
    return geodetic2ecef(np.radians(lla[:, 0]), np.radians(lla[:, 1]), lla[:, 2])


@dataclass(frozen=True, slots=True)
class Schedule:
    """Every PDU of a replay in time order: ``t_s`` (shape (n,)) and the datagrams."""

    t_s: F64
    pdus: list[bytes]

    def window(self, start_s: float, stop_s: float) -> tuple[int, int]:
        """Indices ``lo:hi`` of the PDUs due between ``start_s`` and ``stop_s``."""
        lo = int(np.searchsorted(self.t_s, start_s, side="left"))
        return lo, int(np.searchsorted(self.t_s, stop_s, side="right"))

    def counts(self) -> dict[str, int]:
        kinds = [p[2] for p in self.pdus]
        return {
            "entity_state": kinds.count(ENTITY_STATE),
            "fire": kinds.count(FIRE),
            "detonation": kinds.count(DETONATION),
        }


def unit_numbers(scenario: dict[str, Any]) -> dict[str, int]:
    """``{unit name: unit number}``: fire units in order, then each patrol's aircraft."""
    names = [str(u["name"]) for u in scenario.get("fire_units", [])]
    names += [a[0] for a in patrol_aircraft(scenario)]
    return {name: k for k, name in enumerate(names)}


def _states(
    t_q: F64,
    entities: list[Entity],
    force: int,
    types: list[EntityType],
    pos: F64,
    vel: F64,
    markings: list[str],
) -> list[bytes]:
    """Entity State PDUs, one per row of ``t_q`` (shape (q,)), ``pos``/``vel`` (q, 3)."""
    euler = orientation(pos, vel)
    return [
        entity_state(
            float(t_q[q]), entities[q], force, types[q], pos[q], vel[q], markings[q], euler[q]
        )
        for q in range(t_q.size)  # packing is per datagram by nature
    ]


def _threat_states(run: RunData, heartbeat_s: float) -> tuple[F64, list[bytes]]:
    """Entity states of the threats on a ``heartbeat_s`` grid, interpolated from truth."""
    attrs = run.threat_attrs()
    ids, offset, t_s, lla = run.threat_paths()
    if ids.size == 0:
        return np.zeros(0), []
    if int(ids.max()) + 1 > MAX_ENTITY:
        raise IamdError(f"{run.path}: more than {MAX_ENTITY} threats do not fit DIS entity numbers")
    k_q, t_q = heartbeats(t_s[offset[:-1]], t_s[offset[1:] - 1], heartbeat_s, closed=True)
    pos, vel = along(offset, t_s, _ecef(lla), k_q, t_q)
    catalog = run.catalog.get("threats", {})
    kinds = {c: str(catalog.get(c, {}).get("kind")) for c, _ in attrs.values()}
    types = [threat_type(attrs[int(i)][0], kinds[attrs[int(i)][0]]) for i in ids]
    threat = ids[k_q].tolist()
    return t_q, _states(
        t_q,
        [(SITE, APP_THREAT, i + 1) for i in threat],
        OPPOSING,
        [types[k] for k in k_q.tolist()],
        pos,
        vel,
        [f"T{i}" for i in threat],
    )


def _unit_states(run: RunData, heartbeat_s: float) -> tuple[F64, list[bytes]]:
    """Entity states of the fire units at their sites and of the patrol aircraft along
    their flights (:meth:`~iamd.export.rundir.RunData.aircraft_paths`), every heartbeat of
    the run."""
    sites = run.scenario.get("fire_units", [])
    craft = run.aircraft_paths()
    n_sites = len(sites)
    k = n_sites + len(craft.name)
    if k == 0:
        return np.zeros(0), []
    # a fire unit is a path of one sample at its site; the aircraft's paths follow
    site_lla = [[u["lat_deg"], u["lon_deg"], u["alt_m"]] for u in sites]
    lla = np.vstack([np.array(site_lla, dtype=np.float64).reshape(-1, 3), craft.lla])
    t_s = np.concatenate([np.zeros(n_sites), craft.t_s])
    offset = np.concatenate([np.arange(n_sites), n_sites + craft.offset]).astype(np.int64)
    _, ticks = heartbeats(np.zeros(1), np.array([run.duration_s]), heartbeat_s, closed=True)
    k_q = np.tile(np.arange(k), ticks.size)
    t_q = np.repeat(ticks, k)
    pos, vel = along(offset, t_s, _ecef(lla), k_q, t_q, lift=True)
    numbers = unit_numbers(run.scenario)
    names = [str(u["name"]) for u in sites] + craft.name
    entities = [(SITE, APP_UNIT, numbers[n] + 1) for n in names]
    types = [unit_type(str(u["interceptor"])) for u in sites] + [UNIT_TYPES["air"]] * len(
        craft.name
    )
    ks = k_q.tolist()
    return t_q, _states(
        t_q,
        [entities[i] for i in ks],
        FRIENDLY,
        [types[i] for i in ks],
        pos,
        vel,
        [names[i] for i in ks],
    )


def _interceptor_pdus(run: RunData, heartbeat_s: float) -> tuple[F64, list[bytes]]:
    """Per engagement: a Fire, Entity States along the flown path, a Detonation."""
    fly = run.flyouts()
    k = fly.engagement.size
    if k and int(fly.engagement.max()) + 1 > MAX_ENTITY:
        raise IamdError(
            f"{run.path}: more than {MAX_ENTITY} engagements do not fit DIS entity numbers"
        )
    paths = run.flown_paths(fly)
    xyz = _ecef(paths.lla)
    start, end = _ecef(fly.start), _ecef(fly.end)
    every = np.arange(k)
    _, vel0 = along(paths.offset, paths.t_s, xyz, every, fly.t_launch_s)
    _, vel1 = along(paths.offset, paths.t_s, xyz, every, fly.t_end_s)
    kinds = {
        name: str(ic.get("kind", "kinetic"))
        for name, ic in run.catalog.get("interceptors", {}).items()
    }
    laser = np.array([kinds.get(name) == "laser" for name in fly.interceptor], dtype=bool)
    mtype = [LASER_TYPE if x else INTERCEPTOR_TYPE for x in laser.tolist()]
    units = unit_numbers(run.scenario)
    munition = [(SITE, APP_INTERCEPTOR, int(e) + 1) for e in fly.engagement.tolist()]
    times: list[float] = []
    pdus: list[bytes] = []
    for i in range(k):  # a Fire and perhaps a Detonation per engagement
        t0, t1 = float(fly.t_launch_s[i]), float(fly.t_end_s[i])
        shooter = (SITE, APP_UNIT, units.get(fly.unit[i], 0) + 1)
        # a shot at a false track has no target entity (DIS's "no specific entity")
        target = (SITE, APP_THREAT, int(fly.threat[i]) + 1) if fly.threat[i] >= 0 else (0, 0, 0)
        eng = int(fly.engagement[i])
        rng = float(np.linalg.norm(end[i] - start[i]))
        pdus.append(
            fire(t0, shooter, target, munition[i], eng, start[i], vel0[i], rng, mtype[i],
                 int(fly.rounds[i]))
        )  # fmt: skip
        times.append(t0)
        if fly.result[i] in ("intercept", "miss"):
            result = RESULT_ENTITY_IMPACT if fly.result[i] == "intercept" else RESULT_DETONATION
            pdus.append(
                detonation(t1, shooter, target, munition[i], eng, end[i], vel1[i], mtype[i],
                           result)
            )  # fmt: skip
            times.append(t1)
    # entity states of the kinetic interceptors, [launch, end) every heartbeat
    kinetic = np.flatnonzero(~laser)
    last = paths.t_s[paths.offset[1:] - 1]
    stop = np.where(paths.flown, np.minimum(fly.t_end_s, last), fly.t_end_s)
    j, t_q = heartbeats(fly.t_launch_s[kinetic], stop[kinetic], heartbeat_s, closed=False)
    eng_q = kinetic[j]
    pos, vel = along(paths.offset, paths.t_s, xyz, eng_q, t_q)
    ids = eng_q.tolist()
    states = _states(
        t_q,
        [munition[i] for i in ids],
        FRIENDLY,
        [INTERCEPTOR_TYPE] * len(ids),
        pos,
        vel,
        [f"I{int(fly.engagement[i])}" for i in ids],
    )
    return np.concatenate([np.asarray(times, dtype=np.float64), t_q]), pdus + states


def _impact_pdus(run: RunData) -> tuple[F64, list[bytes]]:
    """A Detonation (ground impact) per threat that hit an asset."""
    ev = run.events
    impacts = ev.filter(pc.equal(ev.column("kind").cast(pa.string()), "impact_asset"))
    times: list[float] = []
    pdus: list[bytes] = []
    for r in impacts.select(["t_s", "threat", "lat_deg", "lon_deg", "alt_m"]).to_pylist():
        xyz = _ecef(np.array([[r["lat_deg"], r["lon_deg"], r["alt_m"]]]))[0]
        threat = (SITE, APP_THREAT, int(r["threat"]) + 1)
        pdus.append(
            detonation(float(r["t_s"]), threat, (0, 0, 0), threat, int(r["threat"]), xyz,
                       np.zeros(3), THREAT_TYPES["ballistic"], RESULT_GROUND_IMPACT)
        )  # fmt: skip
        times.append(float(r["t_s"]))
    return np.asarray(times, dtype=np.float64), pdus


def build_schedule(run: RunData, heartbeat_s: float = 5.0) -> Schedule:
    """Every Entity State, Fire and Detonation PDU of a run, in time order."""
    if not heartbeat_s > 0:
        raise IamdError("the DIS heartbeat must be a positive number of seconds")
    parts = [
        _threat_states(run, heartbeat_s),
        _interceptor_pdus(run, heartbeat_s),
        _impact_pdus(run),
        _unit_states(run, heartbeat_s),
    ]
    t = np.concatenate([p[0] for p in parts])
    pdus = [pdu for p in parts for pdu in p[1]]
    order = np.argsort(t, kind="stable")
    return Schedule(t[order], [pdus[i] for i in order])


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` as a socket address, with a clear error."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise IamdError(f"--to {text!r}: expected HOST:PORT, e.g. 127.0.0.1:3000")
    return host, int(port)


def send(
    schedule: Schedule,
    address: tuple[str, int],
    rate: float = 1.0,
    start_s: float = 0.0,
    stop_s: float = float("inf"),
    progress: Callable[[int], None] | None = None,
) -> int:
    """Send the PDUs between ``start_s`` and ``stop_s`` at ``rate`` times real time.

    ``rate`` 0 sends as fast as the socket takes them. Returns the number sent.
    """
    if rate < 0:
        raise IamdError("--rate must be 0 (as fast as possible) or a positive factor")
    lo, hi = schedule.window(start_s, stop_s)
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    except OSError as exc:
        raise IamdError(f"cannot open a UDP socket: {exc.strerror or exc}") from None
    sent = 0
    wall0 = time.monotonic()
    try:
        for t, pdu in zip(schedule.t_s[lo:hi].tolist(), schedule.pdus[lo:hi], strict=True):
            if rate > 0:
                wait = wall0 + (t - start_s) / rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            sock.sendto(pdu, address)
            sent += 1
            if progress is not None and sent % 1000 == 0:
                progress(sent)
    except OSError as exc:
        raise IamdError(
            f"cannot send to {address[0]}:{address[1]}: {exc.strerror or exc}"
        ) from None
    finally:
        sock.close()
    return sent
