"""WGS84 geodesy: geodetic, ECEF, ENU and AER transforms.

Pure, vectorised functions over NumPy arrays, in radians and metres, named
``source2target`` like pymap3d. Any input shape broadcasts; outputs have the
broadcast shape.

References
----------
J. Zhu, "Conversion of Earth-centered Earth-fixed coordinates to geodetic
coordinates", IEEE Trans. Aerospace and Electronic Systems 30(3), 1994.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

F64 = NDArray[np.float64]

WGS84_A_M = 6378137.0
"""WGS84 semi-major axis, m."""
WGS84_F = 1.0 / 298.257223563
"""WGS84 flattening."""
WGS84_B_M = WGS84_A_M * (1.0 - WGS84_F)
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)
EARTH_MEAN_RADIUS_M = 6371008.8
"""IUGG mean Earth radius, m."""
GM_EARTH_M3_S2 = 3.986004418e14
"""Earth's gravitational parameter, m^3/s^2."""


def geodetic2ecef(lat_rad: ArrayLike, lon_rad: ArrayLike, alt_m: ArrayLike) -> F64:
    """Geodetic latitude, longitude, ellipsoidal height to ECEF.

    Returns
    -------
    ecef_m : (..., 3) ECEF position, m.
    """
    lat = np.asarray(lat_rad, dtype=np.float64)
    lon = np.asarray(lon_rad, dtype=np.float64)
    alt = np.asarray(alt_m, dtype=np.float64)
    sin_lat = np.sin(lat)
    n = WGS84_A_M / np.sqrt(1.0 - WGS84_E2 * sin_lat**2)
    x = (n + alt) * np.cos(lat) * np.cos(lon)
    y = (n + alt) * np.cos(lat) * np.sin(lon)
    z = (n * (1.0 - WGS84_E2) + alt) * sin_lat
    return np.stack(np.broadcast_arrays(x, y, z), axis=-1)


def ecef2geodetic(ecef_m: ArrayLike) -> tuple[F64, F64, F64]:
    """ECEF to geodetic latitude, longitude (rad) and ellipsoidal height (m).

    Closed form of Zhu (1994); exact to well below a millimetre from the centre
    of the Earth to beyond geostationary altitude.

    Parameters
    ----------
    ecef_m : (..., 3) ECEF position, m.
    """
    p3 = np.asarray(ecef_m, dtype=np.float64)
    x, y, z = p3[..., 0], p3[..., 1], p3[..., 2]
    a, b, e2 = WGS84_A_M, WGS84_B_M, WGS84_E2
    ep2 = (a * a - b * b) / (b * b)
    r = np.hypot(x, y)
    r_safe = np.where(r == 0.0, 1e-9, r)
    big_f = 54.0 * b * b * z * z
    g = r_safe**2 + (1.0 - e2) * z * z - e2 * (a * a - b * b)
    c = e2 * e2 * big_f * r_safe**2 / g**3
    s = np.cbrt(1.0 + c + np.sqrt(np.maximum(c * c + 2.0 * c, 0.0)))
    k = s + 1.0 + 1.0 / s
    pp = big_f / (3.0 * k * k * g * g)
    q = np.sqrt(1.0 + 2.0 * e2 * e2 * pp)
    r0 = -(pp * e2 * r_safe) / (1.0 + q) + np.sqrt(
        np.maximum(
            0.5 * a * a * (1.0 + 1.0 / q)
            - pp * (1.0 - e2) * z * z / (q * (1.0 + q))
            - 0.5 * pp * r_safe**2,
            0.0,
        )
    )
    u = np.sqrt((r_safe - e2 * r0) ** 2 + z * z)
    v = np.sqrt((r_safe - e2 * r0) ** 2 + (1.0 - e2) * z * z)
    z0 = b * b * z / (a * v)
    alt = u * (1.0 - b * b / (a * v))
    lat = np.arctan2(z + ep2 * z0, r_safe)
    lon = np.arctan2(y, x)
    return lat, lon, alt


def enu_rotation(lat_rad: ArrayLike, lon_rad: ArrayLike) -> F64:
    """Rotation matrices from ECEF axes to local east-north-up axes.

    Returns
    -------
    rot : (..., 3, 3) with rows east, north, up expressed in ECEF, so that
        ``enu = rot @ (ecef - origin)``.
    """
    lat = np.asarray(lat_rad, dtype=np.float64)
    lon = np.asarray(lon_rad, dtype=np.float64)
    sl, cl = np.sin(lat), np.cos(lat)
    so, co = np.sin(lon), np.cos(lon)
    zero = np.zeros_like(sl * so)
    east = np.stack(np.broadcast_arrays(-so, co, zero), axis=-1)
    north = np.stack(np.broadcast_arrays(-sl * co, -sl * so, cl), axis=-1)
    up = np.stack(np.broadcast_arrays(cl * co, cl * so, sl), axis=-1)
    return np.stack([east, north, up], axis=-2)


def ecef2enu(ecef_m: ArrayLike, lat0_rad: float, lon0_rad: float, alt0_m: float) -> F64:
    """ECEF positions to ENU about one origin.

    Parameters
    ----------
    ecef_m : (..., 3) ECEF position, m.
    lat0_rad, lon0_rad, alt0_m : geodetic origin.

    Returns
    -------
    enu_m : (..., 3) east, north, up, m.
    """
    origin = geodetic2ecef(lat0_rad, lon0_rad, alt0_m)
    rot = enu_rotation(lat0_rad, lon0_rad)
    return (np.asarray(ecef_m, dtype=np.float64) - origin) @ rot.T


def enu2ecef(enu_m: ArrayLike, lat0_rad: float, lon0_rad: float, alt0_m: float) -> F64:
    """ENU about one origin to ECEF; inverse of :func:`ecef2enu`."""
    origin = geodetic2ecef(lat0_rad, lon0_rad, alt0_m)
    rot = enu_rotation(lat0_rad, lon0_rad)
    return np.asarray(enu_m, dtype=np.float64) @ rot + origin


def enu2aer(enu_m: ArrayLike) -> tuple[F64, F64, F64]:
    """ENU to azimuth (from north, clockwise, in [0, 2 pi)), elevation (rad), slant range (m)."""
    e = np.asarray(enu_m, dtype=np.float64)
    east, north, up = e[..., 0], e[..., 1], e[..., 2]
    horiz = np.hypot(east, north)
    az = np.mod(np.arctan2(east, north), 2.0 * np.pi)
    el = np.arctan2(up, horiz)
    return az, el, np.hypot(horiz, up)


def aer2enu(az_rad: ArrayLike, el_rad: ArrayLike, range_m: ArrayLike) -> F64:
    """Azimuth, elevation, slant range to ENU, m; inverse of :func:`enu2aer`."""
    az = np.asarray(az_rad, dtype=np.float64)
    el = np.asarray(el_rad, dtype=np.float64)
    rng = np.asarray(range_m, dtype=np.float64)
    horiz = rng * np.cos(el)
    return np.stack(
        np.broadcast_arrays(horiz * np.sin(az), horiz * np.cos(az), rng * np.sin(el)), axis=-1
    )


def ecef2aer(
    ecef_m: ArrayLike, lat0_rad: float, lon0_rad: float, alt0_m: float
) -> tuple[F64, F64, F64]:
    """ECEF targets to azimuth, elevation, slant range seen from one geodetic origin."""
    return enu2aer(ecef2enu(ecef_m, lat0_rad, lon0_rad, alt0_m))


def aer2ecef(
    az_rad: ArrayLike,
    el_rad: ArrayLike,
    range_m: ArrayLike,
    lat0_rad: float,
    lon0_rad: float,
    alt0_m: float,
) -> F64:
    """Azimuth, elevation, slant range from one geodetic origin to ECEF, m."""
    return enu2ecef(aer2enu(az_rad, el_rad, range_m), lat0_rad, lon0_rad, alt0_m)


def great_circle_distance_m(
    lat1_rad: ArrayLike, lon1_rad: ArrayLike, lat2_rad: ArrayLike, lon2_rad: ArrayLike
) -> F64:
    """Haversine distance on the mean-radius sphere, m."""
    lat1 = np.asarray(lat1_rad, dtype=np.float64)
    lat2 = np.asarray(lat2_rad, dtype=np.float64)
    dlat = lat2 - lat1
    dlon = np.asarray(lon2_rad, dtype=np.float64) - np.asarray(lon1_rad, dtype=np.float64)
    h = np.sin(dlat / 2.0) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(dlon / 2.0) ** 2
    return np.asarray(2.0 * EARTH_MEAN_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))))


def destination(
    lat_rad: ArrayLike, lon_rad: ArrayLike, bearing_rad: ArrayLike, distance_m: ArrayLike
) -> tuple[F64, F64]:
    """Point reached from a start point on a bearing after a great-circle distance (sphere)."""
    lat = np.asarray(lat_rad, dtype=np.float64)
    lon = np.asarray(lon_rad, dtype=np.float64)
    brg = np.asarray(bearing_rad, dtype=np.float64)
    d = np.asarray(distance_m, dtype=np.float64) / EARTH_MEAN_RADIUS_M
    lat2 = np.arcsin(np.sin(lat) * np.cos(d) + np.cos(lat) * np.sin(d) * np.cos(brg))
    lon2 = lon + np.arctan2(
        np.sin(brg) * np.sin(d) * np.cos(lat), np.cos(d) - np.sin(lat) * np.sin(lat2)
    )
    return lat2, np.mod(lon2 + np.pi, 2.0 * np.pi) - np.pi
