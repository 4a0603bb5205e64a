"""Route flight for one-way attack drones and cruise missiles.

A route is the launch point, optional waypoints and the aimpoint. Each leg follows
the great circle through the legs' end points (slerp of geocentric directions) at
constant ground speed; the altitude climbs over the first ``climb_m`` of the route,
holds ``cruise_alt_m`` and dives linearly over the last ``dive_m`` onto the aimpoint.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from iamd.geo import EARTH_MEAN_RADIUS_M, ecef2geodetic, geodetic2ecef

F64 = NDArray[np.float64]


def fly_routes(
    route_ecef_m: F64,
    speed_m_s: float,
    cruise_alt_m: float,
    dive_m: float,
    dt_s: float,
    climb_m: float = 2000.0,
) -> tuple[F64, F64, F64]:
    """Sample routes that share a number of points.

    Parameters
    ----------
    route_ecef_m : (n, p, 3) ECEF route points on the ground (p >= 2).
    speed_m_s, cruise_alt_m, dive_m, dt_s : flight figures shared by the n routes.

    Returns
    -------
    pos_m : (n, k, 3) ECEF positions at times ``dt_s * arange(k)``; after arrival the
        aimpoint repeats.
    vel_m_s : (n, k, 3) velocities (finite differences).
    t_arrive_s : (n,) time of arrival at the aimpoint, s.
    """
    unit = route_ecef_m / np.linalg.norm(route_ecef_m, axis=-1, keepdims=True)
    cosang = np.clip(np.sum(unit[:, 1:] * unit[:, :-1], axis=-1), -1.0, 1.0)
    leg_angle = np.arccos(cosang)  # (n, p-1)
    leg_len = leg_angle * EARTH_MEAN_RADIUS_M
    cum = np.concatenate([np.zeros((unit.shape[0], 1)), np.cumsum(leg_len, axis=1)], axis=1)
    total = cum[:, -1]
    t_arrive = total / speed_m_s
    k = int(np.ceil(t_arrive.max() / dt_s)) + 2
    s = np.minimum(np.arange(k)[None, :] * dt_s * speed_m_s, total[:, None])  # (n, k)
    leg = np.clip((s[:, :, None] >= cum[:, None, 1:]).sum(axis=-1), 0, leg_len.shape[1] - 1)
    rows = np.arange(unit.shape[0])[:, None]
    start = cum[rows, leg]
    length = np.maximum(leg_len[rows, leg], 1e-9)
    frac = np.clip((s - start) / length, 0.0, 1.0)
    omega = np.maximum(leg_angle[rows, leg], 1e-12)
    a = unit[rows, leg]
    b = unit[rows, leg + 1]
    sin_o = np.sin(omega)
    direction = (np.sin((1 - frac) * omega) / sin_o)[..., None] * a + (
        np.sin(frac * omega) / sin_o
    )[..., None] * b
    # the ground point below each direction: scale onto the ellipsoid, read lat/lon
    lat, lon, _ = ecef2geodetic(direction * EARTH_MEAN_RADIUS_M)
    to_go = total[:, None] - s
    alt = cruise_alt_m * np.minimum(1.0, np.minimum(s / climb_m, to_go / max(dive_m, 1.0)))
    pos = geodetic2ecef(lat, lon, np.maximum(alt, 0.0))
    vel = np.gradient(pos, dt_s, axis=1)
    return pos, vel, t_arrive
