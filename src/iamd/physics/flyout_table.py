"""Fly-out tables: an interceptor class's time of flight over ground range and altitude.

A table is built once per interceptor class (and launch altitude and speed) by flying
the guided point mass of :mod:`iamd.physics.flyout` to every cell of a regular grid of
ground range and altitude, on the equator of the WGS84 ellipsoid (where it is a sphere
of radius ``a``): the time of the closest approach, where the interceptor gets within
its divert of the point, inside its time of flight and faster than its least speed. The
battle manager plans on the cells where it arrives with a margin over that least speed
(``PLAN_SPEED_MARGIN``): a shot at the ragged edge of the envelope is not planned. The
time of flight between cells is bilinear; a cell with a corner out of reach is out of
reach. Tables are kept on disk (``IAMD_CACHE_DIR``, else ``~/.cache/iamd``), keyed by
the kinematic figures, the grid and the source of the flight model, so a changed model
never reads an old table.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numba import njit
from numpy.typing import NDArray

from iamd.geo import WGS84_A_M
from iamd.physics import flyout
from iamd.physics.flyout import (
    CA_ESTIMATE,
    INFO_MISS,
    INFO_SPEED,
    INFO_T,
    KIN_DIVERT_M,
    KIN_LOFT,
    KIN_MIN_SPEED_M_S,
    N_KIN,
    fly,
    launch_state,
)

F64 = NDArray[np.float64]

N_GROUND = 48
N_ALT = 24
GRID_MARGIN = 1.15
"""The grid reaches this far beyond the documented range and ceiling."""
TABLE_FLOOR_M = 10.0
"""The lowest row of a table is flown to this altitude (a point on the ground itself is
reached only by hitting it)."""
PLAN_SPEED_MARGIN = 1.2
"""Shots are planned only where the interceptor arrives this much faster than its least
speed."""
G0_M_S2 = 9.80665


def kinematics_row(
    burn_s: float,
    burnout_speed_m_s: float,
    beta_kg_m2: float,
    max_tof_s: float,
    max_lateral_g: float,
    min_speed_m_s: float,
    loft: float,
    seeker_range_km: float,
    divert_m: float,
) -> tuple[float, ...]:
    """The ``KIN_*`` columns of an interceptor class, SI (a tuple: it keys caches)."""
    row = [0.0] * N_KIN
    row[flyout.KIN_BURN_S] = burn_s
    row[flyout.KIN_THRUST_M_S2] = burnout_speed_m_s / burn_s
    row[flyout.KIN_BETA] = beta_kg_m2
    row[flyout.KIN_MAX_TOF_S] = max_tof_s
    row[flyout.KIN_LAT_M_S2] = max_lateral_g * G0_M_S2
    row[flyout.KIN_MIN_SPEED_M_S] = min_speed_m_s
    row[flyout.KIN_LOFT] = loft
    row[flyout.KIN_SEEKER_M] = seeker_range_km * 1e3
    row[flyout.KIN_DIVERT_M] = divert_m
    return tuple(float(x) for x in row)


@njit(cache=True)
def table_point(ground_m: float, alt_m: float) -> F64:
    """The ECEF point of a table cell: on the equator, ``ground_m`` east of longitude 0."""
    out = np.empty(3)
    phi = ground_m / WGS84_A_M
    r = WGS84_A_M + alt_m
    out[0], out[1], out[2] = r * math.cos(phi), r * math.sin(phi), 0.0
    return out


@njit(cache=True, inline="always")
def ground_range_xyz_m(ax: float, ay: float, az: float, bx: float, by: float, bz: float) -> float:
    """Ground range (m) from a launcher at ECEF (``ax``, ``ay``, ``az``) to a point
    (``bx``, ``by``, ``bz``), m, measured as the tables measure it: the central angle
    between them times ``a``."""
    cx, cy, cz = ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx
    angle = math.atan2(math.sqrt(cx * cx + cy * cy + cz * cz), ax * bx + ay * by + az * bz)
    return float(WGS84_A_M * angle)


@njit(cache=True, inline="always")
def ground_range_m(launcher_m: F64, point_m: F64) -> float:
    """:func:`ground_range_xyz_m` from a launcher (3,) to a point (3,), m."""
    return ground_range_xyz_m(
        launcher_m[0], launcher_m[1], launcher_m[2], point_m[0], point_m[1], point_m[2]
    )


@njit(cache=True)
def ground_range_alt(launcher_m: F64, point_m: F64) -> tuple[float, float]:
    """:func:`ground_range_m` from a launcher (3,) to a point (3,), and the point's
    altitude (m)."""
    return ground_range_m(launcher_m, point_m), flyout.altitude_of(
        point_m[0], point_m[1], point_m[2]
    )


@njit(cache=True)
def fly_to_point(
    kin: F64, launch_alt_m: float, launch_speed_m_s: float, ground_m: float, alt_m: float
) -> tuple[float, float, float, int]:
    """Fly from a launcher at ``launch_alt_m`` to a fixed point ``ground_m`` away at
    ``alt_m``: the time of the closest approach (s, inf without one), the miss (m), the
    speed there (m/s), and the status that ended the flight."""
    launcher = table_point(0.0, launch_alt_m)
    aim = table_point(ground_m, alt_m)
    y0 = np.zeros(12)
    y0[:6] = launch_state(launcher, aim, kin[KIN_LOFT], launch_speed_m_s)
    y0[6:9] = aim
    no_t = np.zeros(1)
    no_x = np.zeros((1, 6))
    _, _, status, _, info = fly(
        y0, 0.0, 0.0, math.inf, math.inf, False, False, math.inf, kin, no_t, no_x, 1, 0, 0.0, False
    )
    if status != CA_ESTIMATE:
        return math.inf, math.inf, 0.0, status
    return info[INFO_T], info[INFO_MISS], info[INFO_SPEED], status


@njit(cache=True)
def build_table(
    kin: F64,
    launch_alt_m: float,
    launch_speed_m_s: float,
    ground_step_m: float,
    alt_step_m: float,
    n_ground: int,
    n_alt: int,
) -> tuple[F64, F64]:
    """Fly to every cell of a grid of ground range and altitude, both from 0 (the lowest
    row at ``TABLE_FLOOR_M``).

    Returns
    -------
    tof_s : (n_ground, n_alt) time of flight to the cell, s; inf where the interceptor
        does not get within its divert of the point inside its time of flight, or is
        slower than its least speed there.
    speed_m_s : (n_ground, n_alt) its speed on arrival (0 where it does not arrive).
    """
    tof = np.full((n_ground, n_alt), math.inf)
    speed = np.zeros((n_ground, n_alt))
    for i in range(n_ground):
        for k in range(n_alt):
            alt = max(k * alt_step_m, TABLE_FLOOR_M)
            t, miss, v, _ = fly_to_point(
                kin, launch_alt_m, launch_speed_m_s, i * ground_step_m, alt
            )
            if miss <= kin[KIN_DIVERT_M] and v >= kin[KIN_MIN_SPEED_M_S]:
                tof[i, k] = t
                speed[i, k] = v
    return tof, speed


@njit(cache=True, inline="always")
def lookup_tof_s(
    tof: F64, ground_step_m: float, alt_step_m: float, ground_m: float, alt_m: float
) -> float:
    """Bilinear time of flight from a table (n_ground, n_alt) at a ground range and an
    altitude (m); inf outside the grid or where a corner of the cell is out of reach."""
    gi = ground_m / ground_step_m
    ak = max(alt_m, 0.0) / alt_step_m
    if gi < 0.0:
        return math.inf
    i = int(gi)
    k = int(ak)
    if i >= tof.shape[0] - 1 or k >= tof.shape[1] - 1:
        return math.inf
    fi, fk = gi - i, ak - k
    a, b, c, d = tof[i, k], tof[i + 1, k], tof[i, k + 1], tof[i + 1, k + 1]
    if a == math.inf or b == math.inf or c == math.inf or d == math.inf:
        return math.inf
    return float((a * (1 - fi) + b * fi) * (1 - fk) + (c * (1 - fi) + d * fi) * fk)


@njit(cache=True)
def _lookup_many(
    tof: F64, ground_step_m: float, alt_step_m: float, ground_m: F64, alt_m: F64
) -> F64:
    out = np.empty(ground_m.shape[0])
    for j in range(ground_m.shape[0]):
        out[j] = lookup_tof_s(tof, ground_step_m, alt_step_m, ground_m[j], alt_m[j])
    return out


@dataclass(frozen=True, slots=True)
class FlyoutTable:
    """Planning times of flight of one interceptor class from one launch condition.

    Attributes
    ----------
    tof_s : (N_GROUND, N_ALT) time of flight to each cell, s (inf out of planning reach).
    speed_m_s : (N_GROUND, N_ALT) speed on arrival, m/s (0 where it does not arrive).
    ground_step_m, alt_step_m : cell size; cell (i, k) is at ground range ``i *
        ground_step_m`` and altitude ``k * alt_step_m``.
    launch_alt_m, launch_speed_m_s : the launch condition the table was flown from.
    """

    tof_s: F64
    speed_m_s: F64
    ground_step_m: float
    alt_step_m: float
    launch_alt_m: float
    launch_speed_m_s: float

    def tof(self, ground_m: F64, alt_m: F64) -> F64:
        """Time of flight (k,) to points at ground ranges and altitudes (k,), m; inf out of
        reach."""
        g = np.ascontiguousarray(ground_m, dtype=np.float64).ravel()
        h = np.ascontiguousarray(alt_m, dtype=np.float64).ravel()
        return _lookup_many(self.tof_s, self.ground_step_m, self.alt_step_m, g, h)

    def reach_m(
        self, min_alt_m: float, max_alt_m: float, min_range_m: float, max_range_m: float
    ) -> tuple[float, float]:
        """How far and how high the class plans shots: the largest slant range it reaches
        at altitudes in ``[min_alt_m, max_alt_m]``, and the greatest altitude it reaches at
        slant ranges in ``[min_range_m, max_range_m]``, m (0 when none)."""
        n_g, n_a = self.tof_s.shape
        ground = np.linspace(0.0, (n_g - 1) * self.ground_step_m, 8 * n_g)
        alt = np.linspace(0.0, (n_a - 1) * self.alt_step_m, 8 * n_a)
        gg, hh = (a.ravel() for a in np.meshgrid(ground, alt, indexing="ij"))
        ok = np.isfinite(self.tof(gg, hh))
        phi = gg / WGS84_A_M
        r, r0 = WGS84_A_M + hh, WGS84_A_M + self.launch_alt_m
        slant = np.sqrt(r * r + r0 * r0 - 2.0 * r * r0 * np.cos(phi))
        band = ok & (hh >= min_alt_m) & (hh <= max_alt_m)
        ring = ok & (slant >= min_range_m) & (slant <= max_range_m)
        far = float(slant[band].max()) if band.any() else 0.0
        high = float(hh[ring].max()) if ring.any() else 0.0
        return far, high


def _model_version() -> str:
    """A digest of the flight model's source: a changed model builds its tables anew."""
    h = hashlib.sha256()
    for module in (flyout.__file__, __file__):
        h.update(Path(module).read_bytes())
    return h.hexdigest()[:16]


def _cache_dir() -> Path:
    env = os.environ.get("IAMD_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "iamd"


@lru_cache(maxsize=64)
def flyout_table(
    kin: tuple[float, ...],
    launch_alt_m: float,
    launch_speed_m_s: float,
    ground_top_m: float,
    alt_top_m: float,
) -> FlyoutTable:
    """The fly-out table of one interceptor class from one launch condition, over ground
    ranges up to ``ground_top_m`` and altitudes up to ``alt_top_m`` (built, or read from
    the disk cache)."""
    ground_step = ground_top_m / (N_GROUND - 1)
    alt_step = alt_top_m / (N_ALT - 1)
    key = repr((_model_version(), kin, launch_alt_m, launch_speed_m_s, ground_step, alt_step))
    path = _cache_dir() / "flyout" / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.npz"
    tof = speed = None
    with contextlib.suppress(OSError, ValueError, KeyError):
        with np.load(path) as cached:
            tof, speed = cached["tof_s"], cached["speed_m_s"]
        if tof.shape != (N_GROUND, N_ALT) or speed.shape != tof.shape:
            tof = speed = None
    if tof is None or speed is None:
        tof, speed = build_table(
            np.asarray(kin, dtype=np.float64),
            launch_alt_m,
            launch_speed_m_s,
            ground_step,
            alt_step,
            N_GROUND,
            N_ALT,
        )
        _store(path, tof, speed)
    plan = np.where(speed >= PLAN_SPEED_MARGIN * kin[KIN_MIN_SPEED_M_S], tof, np.inf)
    return FlyoutTable(plan, speed, ground_step, alt_step, launch_alt_m, launch_speed_m_s)


def _store(path: Path, tof: F64, speed: F64) -> None:
    """Write a table atomically; a cache that cannot be written is no error."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, tof_s=tof, speed_m_s=speed)
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
