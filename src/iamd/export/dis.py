"""A run directory replayed as IEEE 1278.1 DIS PDUs over UDP (an encoder of our own).

Three PDU types are sent, protocol version 7 (IEEE 1278.1-2012), big-endian, packed with
:mod:`struct`:

* **Entity State** (type 1, 144 bytes, no variable parameters) for every threat in
  flight and every interceptor in flyout, each ``heartbeat_s`` of simulation time,
  position and velocity in ECEF (world coordinates, m and m/s), dead reckoning
  algorithm 2 (DRM(F, P, W): constant velocity);
* **Fire** (type 2, 96 bytes) at each interceptor launch, from the fire unit at the
  threat, with the interceptor as the munition;
* **Detonation** (type 3, 104 bytes) at each intercept (result 1, entity impact), miss
  (result 5, detonation) and asset impact (result 3, ground impact).

Entity identifiers (site, application, entity): threats ``(1, 1, threat + 1)``,
interceptors ``(1, 2, engagement + 1)``, fire units ``(1, 3, unit + 1)``. Entity types
are notional records in the SISO-REF-010 layout (kind, domain, country 0, category ...),
not an authoritative mapping of real systems. Timestamps are DIS relative time (units
of 3600 s / 2**31 past the hour of simulation time, low bit 0).
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from iamd.errors import IamdError
from iamd.export.rundir import RunData
from iamd.geo import geodetic2ecef

F64 = NDArray[np.float64]

PROTOCOL_VERSION = 7
EXERCISE_ID = 1
ENTITY_STATE, FIRE, DETONATION = 1, 2, 3
FAMILY = {ENTITY_STATE: 1, FIRE: 2, DETONATION: 2}  # entity information, warfare
FRIENDLY, OPPOSING = 1, 2
APP_THREAT, APP_INTERCEPTOR, APP_UNIT = 1, 2, 3
SITE = 1
DR_CONSTANT_VELOCITY = 2
RESULT_ENTITY_IMPACT, RESULT_GROUND_IMPACT, RESULT_DETONATION = 1, 3, 5
MAX_ENTITY = 65534

ESPDU = struct.Struct(
    ">BBBBIHBB"  # header (12)
    "HHH"  # entity id (6)
    "BB"  # force id, number of variable parameter records (2)
    "BBHBBBB"  # entity type (8)
    "BBHBBBB"  # alternative entity type (8)
    "fff"  # linear velocity (12)
    "ddd"  # location (24)
    "fff"  # orientation psi, theta, phi (12)
    "I"  # appearance (4)
    "B15s"  # dead reckoning algorithm and other parameters (16)
    "fff"  # dead reckoning linear acceleration (12)
    "fff"  # dead reckoning angular velocity (12)
    "B11s"  # marking: character set, 11 characters (12)
    "I"  # capabilities (4)
)
FIRE_PDU = struct.Struct(
    ">BBBBIHBB"  # header (12)
    "HHH"  # firing entity (6)
    "HHH"  # target entity (6)
    "HHH"  # munition entity (6)
    "HHH"  # event id (6)
    "I"  # fire mission index (4)
    "ddd"  # location in world (24)
    "BBHBBBB"  # munition descriptor: entity type (8)
    "HHHH"  # warhead, fuse, quantity, rate (8)
    "fff"  # velocity (12)
    "f"  # range (4)
)
DETONATION_PDU = struct.Struct(
    ">BBBBIHBB"  # header (12)
    "HHH"  # firing entity (6)
    "HHH"  # target entity (6)
    "HHH"  # exploding entity (6)
    "HHH"  # event id (6)
    "fff"  # velocity (12)
    "ddd"  # location in world (24)
    "BBHBBBB"  # descriptor: entity type (8)
    "HHHH"  # warhead, fuse, quantity, rate (8)
    "fff"  # location in entity coordinates (12)
    "BBH"  # detonation result, number of variable parameters, padding (4)
)
assert (ESPDU.size, FIRE_PDU.size, DETONATION_PDU.size) == (144, 96, 104)

# notional entity types (kind, domain, country, category, subcategory, specific, extra)
THREAT_TYPES: dict[str, tuple[int, int, int, int, int, int, int]] = {
    "ballistic": (2, 11, 0, 2, 0, 0, 0),  # munition, tactical, ballistic
    "cruise_missile": (2, 11, 0, 1, 0, 0, 0),  # munition, tactical, guided
    "owa_drone": (1, 2, 0, 50, 0, 0, 0),  # platform, air, unmanned
    "rocket": (2, 9, 0, 2, 0, 0, 0),  # munition, battlefield support, ballistic
}
INTERCEPTOR_TYPE = (2, 1, 0, 1, 0, 0, 0)  # munition, anti-air, guided
LASER_TYPE = (2, 12, 0, 0, 0, 0, 0)  # munition, directed energy


def dis_timestamp(t_s: float) -> int:
    """DIS relative timestamp: 31 bits of 3600 s / 2**31 past the hour, low bit 0."""
    past_hour = float(t_s) % 3600.0
    return (min(int(past_hour / 3600.0 * 2**31), 2**31 - 1) << 1) & 0xFFFFFFFF


def _threat_type(cls: str, kind: str) -> tuple[int, int, int, int, int, int, int]:
    """Notional entity type of a threat class (``kind``: the catalog's ballistic or route)."""
    for key in ("drone", "rocket"):
        if key in cls:
            return THREAT_TYPES["owa_drone" if key == "drone" else "rocket"]
    return THREAT_TYPES["ballistic"] if kind == "ballistic" else THREAT_TYPES["cruise_missile"]


def _marking(text: str) -> bytes:
    return text.encode("ascii", "replace")[:11].ljust(11, b"\0")


def _header(pdu_type: int, t_s: float, length: int) -> tuple[int, ...]:
    return (
        PROTOCOL_VERSION,
        EXERCISE_ID,
        pdu_type,
        FAMILY[pdu_type],
        dis_timestamp(t_s),
        length,
        0,
        0,
    )


def entity_state(
    t_s: float,
    entity: tuple[int, int, int],
    force: int,
    etype: tuple[int, int, int, int, int, int, int],
    ecef_m: F64,
    vel_m_s: F64,
    marking: str,
) -> bytes:
    """One Entity State PDU (144 bytes)."""
    return ESPDU.pack(
        *_header(ENTITY_STATE, t_s, ESPDU.size),
        *entity,
        force,
        0,
        *etype,
        *etype,
        *(float(v) for v in vel_m_s),
        *(float(x) for x in ecef_m),
        0.0,
        0.0,
        0.0,
        0,
        DR_CONSTANT_VELOCITY,
        b"\0" * 15,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        1,  # ASCII
        _marking(marking),
        0,
    )


def fire(
    t_s: float,
    shooter: tuple[int, int, int],
    target: tuple[int, int, int],
    munition: tuple[int, int, int],
    event: int,
    ecef_m: F64,
    vel_m_s: F64,
    range_m: float,
    mtype: tuple[int, int, int, int, int, int, int],
    quantity: int = 1,
) -> bytes:
    """One Fire PDU (96 bytes); ``quantity`` is the munition descriptor's rounds fired."""
    return FIRE_PDU.pack(
        *_header(FIRE, t_s, FIRE_PDU.size),
        *shooter,
        *target,
        *munition,
        SITE,
        APP_UNIT,
        event & 0xFFFF,
        0,
        *(float(x) for x in ecef_m),
        *mtype,
        0,
        0,
        max(1, min(int(quantity), 0xFFFF)),
        0,
        *(float(v) for v in vel_m_s),
        float(range_m),
    )


def detonation(
    t_s: float,
    shooter: tuple[int, int, int],
    target: tuple[int, int, int],
    munition: tuple[int, int, int],
    event: int,
    ecef_m: F64,
    vel_m_s: F64,
    mtype: tuple[int, int, int, int, int, int, int],
    result: int,
) -> bytes:
    """One Detonation PDU (104 bytes)."""
    return DETONATION_PDU.pack(
        *_header(DETONATION, t_s, DETONATION_PDU.size),
        *shooter,
        *target,
        *munition,
        SITE,
        APP_UNIT,
        event & 0xFFFF,
        *(float(v) for v in vel_m_s),
        *(float(x) for x in ecef_m),
        *mtype,
        0,
        0,
        1,
        0,
        0.0,
        0.0,
        0.0,
        result,
        0,
        0,
    )


def _ecef(lla: F64) -> F64:
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


def _threat_states(run: RunData, heartbeat_s: float) -> tuple[F64, list[bytes]]:
    """Entity states of the threats on a ``heartbeat_s`` grid, interpolated from truth."""
    attrs = run.threat_attrs()
    ids, offset, t_s, lla = run.threat_paths()
    if ids.size == 0:
        return np.zeros(0), []
    if int(ids.max()) + 1 > MAX_ENTITY:
        raise IamdError(f"{run.path}: more than {MAX_ENTITY} threats do not fit DIS entity numbers")
    ecef = _ecef(lla)
    k_of_row = np.repeat(np.arange(ids.size), np.diff(offset))
    span = float(t_s.max() - t_s.min()) + 2.0 * heartbeat_s + 1.0
    glob = t_s - t_s.min() + k_of_row * span  # monotonic across threats
    first, last = t_s[offset[:-1]], t_s[offset[1:] - 1]
    n_ticks = np.floor((last - first) / heartbeat_s).astype(np.int64) + 1
    k_q = np.repeat(np.arange(ids.size), n_ticks)
    start_q = np.repeat(np.cumsum(n_ticks) - n_ticks, n_ticks)
    t_q = first[k_q] + (np.arange(k_q.size) - start_q) * heartbeat_s
    g_q = t_q - t_s.min() + k_q * span
    j = np.clip(np.searchsorted(glob, g_q, side="right") - 1, offset[k_q], offset[k_q + 1] - 1)
    j1 = np.minimum(j + 1, offset[k_q + 1] - 1)
    dt = t_s[j1] - t_s[j]
    w = np.where(dt > 0, (t_q - t_s[j]) / np.where(dt > 0, dt, 1.0), 0.0)
    pos = ecef[j] + w[:, None] * (ecef[j1] - ecef[j])
    vel = np.where(
        (dt > 0)[:, None], (ecef[j1] - ecef[j]) / np.where(dt > 0, dt, 1.0)[:, None], 0.0
    )
    catalog = run.catalog.get("threats", {})
    types = {
        int(i): _threat_type(attrs[int(i)][0], str(catalog.get(attrs[int(i)][0], {}).get("kind")))
        for i in ids
    }
    pdus = [
        entity_state(
            float(t_q[q]),
            (SITE, APP_THREAT, int(ids[k_q[q]]) + 1),
            OPPOSING,
            types[int(ids[k_q[q]])],
            pos[q],
            vel[q],
            f"T{int(ids[k_q[q]])}",
        )
        for q in range(t_q.size)  # packing is per datagram by nature
    ]
    return t_q, pdus


def build_schedule(run: RunData, heartbeat_s: float = 5.0) -> Schedule:
    """Every Entity State, Fire and Detonation PDU of a run, in time order."""
    if not heartbeat_s > 0:
        raise IamdError("the DIS heartbeat must be a positive number of seconds")
    t_all, pdus = _threat_states(run, heartbeat_s)
    times = [t_all]
    units = {str(u["name"]): k for k, u in enumerate(run.scenario.get("fire_units", []))}
    kinds = {
        name: str(ic.get("kind", "kinetic"))
        for name, ic in run.catalog.get("interceptors", {}).items()
    }
    fly = run.flyouts()
    if fly.engagement.size and int(fly.engagement.max()) + 1 > MAX_ENTITY:
        raise IamdError(
            f"{run.path}: more than {MAX_ENTITY} engagements do not fit DIS entity numbers"
        )
    start, end = _ecef(fly.start), _ecef(fly.end)
    extra_t: list[float] = []
    for i in range(fly.engagement.size):  # per engagement: a Fire, flyout states, a Detonation
        t0, t1 = float(fly.t_launch_s[i]), float(fly.t_end_s[i])
        shooter = (SITE, APP_UNIT, units.get(fly.unit[i], 0) + 1)
        target = (SITE, APP_THREAT, int(fly.threat[i]) + 1)
        munition = (SITE, APP_INTERCEPTOR, int(fly.engagement[i]) + 1)
        laser = kinds.get(fly.interceptor[i]) == "laser"
        mtype = LASER_TYPE if laser else INTERCEPTOR_TYPE
        d = end[i] - start[i]
        rng = float(np.linalg.norm(d))
        vel = d / (t1 - t0) if t1 > t0 else np.zeros(3)
        pdus.append(
            fire(
                t0,
                shooter,
                target,
                munition,
                int(fly.engagement[i]),
                start[i],
                vel,
                rng,
                mtype,
                int(fly.rounds[i]),
            )
        )
        extra_t.append(t0)
        if not laser:
            for t in np.arange(t0, t1, heartbeat_s):
                w = (t - t0) / (t1 - t0) if t1 > t0 else 0.0
                pdus.append(
                    entity_state(
                        float(t),
                        munition,
                        FRIENDLY,
                        mtype,
                        start[i] + w * d,
                        vel,
                        f"I{int(fly.engagement[i])}",
                    )
                )
                extra_t.append(float(t))
        if fly.result[i] in ("intercept", "miss"):
            result = RESULT_ENTITY_IMPACT if fly.result[i] == "intercept" else RESULT_DETONATION
            pdus.append(
                detonation(
                    t1,
                    shooter,
                    target,
                    munition,
                    int(fly.engagement[i]),
                    end[i],
                    vel,
                    mtype,
                    result,
                )
            )
            extra_t.append(t1)
    ev = run.events
    impacts = ev.filter(pc.equal(ev.column("kind").cast(pa.string()), "impact_asset"))
    for r in impacts.select(["t_s", "threat", "lat_deg", "lon_deg", "alt_m"]).to_pylist():
        xyz = _ecef(np.array([[r["lat_deg"], r["lon_deg"], r["alt_m"]]]))[0]
        threat = (SITE, APP_THREAT, int(r["threat"]) + 1)
        pdus.append(
            detonation(
                float(r["t_s"]),
                threat,
                (0, 0, 0),
                threat,
                int(r["threat"]),
                xyz,
                np.zeros(3),
                THREAT_TYPES["ballistic"],
                RESULT_GROUND_IMPACT,
            )
        )
        extra_t.append(float(r["t_s"]))
    times.append(np.asarray(extra_t, dtype=np.float64))
    t = np.concatenate(times)
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
