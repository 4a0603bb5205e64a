"""DIS PDUs (IEEE 1278.1-2012, protocol version 7) packed with :mod:`struct`, and the
orientation of an entity from its direction of flight.

Three PDU types, big-endian:

* **Entity State** (type 1, 144 bytes, no variable parameters): position and velocity in
  ECEF (world coordinates, m and m/s), orientation as the Euler angles psi, theta, phi of
  the body axes relative to the world axes (rad), dead reckoning algorithm 2 (DRM(F, P, W):
  constant velocity);
* **Fire** (type 2, 96 bytes), with the interceptor as the munition;
* **Detonation** (type 3, 104 bytes): intercepts (result 1, entity impact), misses
  (result 5, detonation) and asset impacts (result 3, ground impact).

Entity types are notional records in the SISO-REF-010 layout (kind, domain, country 0,
category ...), not an authoritative mapping of real systems. Timestamps are DIS relative
time (units of 3600 s / 2**31 past the hour of simulation time, low bit 0).
"""

from __future__ import annotations

import struct

import numpy as np
from numpy.typing import NDArray

from iamd.geo import ecef2geodetic, enu_rotation

F64 = NDArray[np.float64]
EntityType = tuple[int, int, int, int, int, int, int]

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
THREAT_TYPES: dict[str, EntityType] = {
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


def threat_type(cls: str, kind: str) -> EntityType:
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
    etype: EntityType,
    ecef_m: F64,
    vel_m_s: F64,
    marking: str,
    euler_rad: F64 | tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> bytes:
    """One Entity State PDU (144 bytes); ``euler_rad`` is (psi, theta, phi), see
    :func:`orientation`."""
    return ESPDU.pack(
        *_header(ENTITY_STATE, t_s, ESPDU.size),
        *entity,
        force,
        0,
        *etype,
        *etype,
        *(float(v) for v in vel_m_s),
        *(float(x) for x in ecef_m),
        *(float(a) for a in euler_rad),
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


def _warfare_head(
    pdu_type: int,
    layout: struct.Struct,
    t_s: float,
    shooter: tuple[int, int, int],
    target: tuple[int, int, int],
    munition: tuple[int, int, int],
    event: int,
) -> tuple[int, ...]:
    """What a Fire and a Detonation PDU start with: the header, the firing, target and
    munition entities, and the event identifier (issued by the fire units' application)."""
    return (
        *_header(pdu_type, t_s, layout.size),
        *shooter,
        *target,
        *munition,
        SITE,
        APP_UNIT,
        event & 0xFFFF,
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
    mtype: EntityType,
    quantity: int = 1,
) -> bytes:
    """One Fire PDU (96 bytes); ``quantity`` is the munition descriptor's rounds fired."""
    return FIRE_PDU.pack(
        *_warfare_head(FIRE, FIRE_PDU, t_s, shooter, target, munition, event),
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
    mtype: EntityType,
    result: int,
) -> bytes:
    """One Detonation PDU (104 bytes)."""
    return DETONATION_PDU.pack(
        *_warfare_head(DETONATION, DETONATION_PDU, t_s, shooter, target, munition, event),
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


# notional fire-unit types, by what carries the launchers
UNIT_TYPES: dict[str, EntityType] = {
    "land": (1, 1, 0, 28, 0, 0, 0),  # platform, land, air defence / missile defence unit
    "sea": (1, 3, 0, 4, 0, 0, 0),  # platform, surface, guided-missile destroyer
    "air": (1, 2, 0, 1, 0, 0, 0),  # platform, air, fighter / air defence
}


def unit_type(interceptor: str) -> EntityType:
    """Notional entity type of a fire unit from its interceptor class's name."""
    if interceptor.startswith("naval"):
        return UNIT_TYPES["sea"]
    if "fighter" in interceptor or interceptor.endswith("aam"):
        return UNIT_TYPES["air"]
    return UNIT_TYPES["land"]


def orientation(ecef_m: F64, forward: F64) -> F64:
    """DIS Euler angles of bodies pointing along ``forward``, wings level.

    The body x axis is ``forward``; the body y axis (right wing) is horizontal at the
    entity's position, ``x × up`` normalised (no roll); z completes the right-handed set
    (down, for level flight). IEEE 1278.1 orientation is the rotation from the world (ECEF)
    axes to these body axes as the sequence: psi about z, then theta about the new y, then
    phi about the new x, so that the body axes in world coordinates are the rows of

    .. math::

        R = R_x(\\phi) R_y(\\theta) R_z(\\psi), \\qquad
        \\hat x_b = (\\cos\\theta\\cos\\psi,\\ \\cos\\theta\\sin\\psi,\\ -\\sin\\theta),

    hence :math:`\\psi = \\operatorname{atan2}(x_y, x_x)`,
    :math:`\\theta = -\\arcsin x_z` and :math:`\\phi = \\operatorname{atan2}(y_z, z_z)`
    (IEEE 1278.1-2012 section 6.2.32 and annex on Euler angles). A zero ``forward``
    stands for level, heading north; a vertical one takes phi 0.

    Parameters
    ----------
    ecef_m : ndarray, shape (n, 3)
        Positions, m (for the local vertical).
    forward : ndarray, shape (n, 3)
        Directions of flight (velocities, any length), ECEF.

    Returns
    -------
    ndarray, shape (n, 3)
        ``(psi, theta, phi)``, rad.
    """
    lat, lon, _ = ecef2geodetic(ecef_m)
    enu = enu_rotation(lat, lon)  # (n, 3, 3): rows east, north, up in ECEF
    north, up = enu[:, 1, :], enu[:, 2, :]
    norm = np.linalg.norm(forward, axis=1)
    x = np.where((norm > 0)[:, None], forward / np.where(norm > 0, norm, 1.0)[:, None], north)
    y = np.cross(x, up)
    y_norm = np.linalg.norm(y, axis=1)
    level = y_norm > 1e-9
    y = np.where(level[:, None], y / np.where(level, y_norm, 1.0)[:, None], 0.0)
    z = np.cross(x, y)
    psi = np.arctan2(x[:, 1], x[:, 0])
    theta = -np.arcsin(np.clip(x[:, 2], -1.0, 1.0))
    phi = np.where(level, np.arctan2(y[:, 2], z[:, 2]), 0.0)
    return np.column_stack([psi, theta, phi])
