"""Ballistic flight: central gravity and drag, vectorised over many missiles.

The Earth is non-rotating here (the frame is treated as inertial): Coriolis and
centrifugal terms are left out, which shifts long-range impact points by a few
kilometres but is consistent between truth, tracking and impact prediction.
Gravity is the central field :math:`-\\mu r / |r|^3`; drag is

.. math:: a_d = -\\frac{\\rho(h) |v| v}{2 \\beta}

with ballistic coefficient :math:`\\beta = m / (C_d A)`. The ground is the WGS84
ellipsoid (``earth="ellipsoid"``) or the mean-radius sphere (``earth="sphere"``).

Targeting uses the closed-form vacuum solution on a sphere (Zarchan, *Tactical and
Strategic Missile Guidance*, ch. 13) for the burnout speed at a flight-path angle,
then a vectorised secant iteration on speed so that the drag trajectory reaches the
aimpoint's downrange angle.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numba import njit
from numpy.typing import NDArray

from iamd.geo import EARTH_MEAN_RADIUS_M, GM_EARTH_M3_S2, WGS84_A_M, WGS84_B_M
from iamd.physics.atmosphere import RHO0_KG_M3, SCALE_HEIGHT_M, density_kg_m3

F64 = NDArray[np.float64]
Earth = Literal["ellipsoid", "sphere"]
SOLVE_STEPS = 150
"""Steps per trajectory while solving for the burnout speed (RK4 is exact to metres here)."""


def _surface_radius_sq(pos_m: F64, r2: F64, earth: Earth) -> F64:
    if earth == "sphere":
        return np.full(r2.shape, EARTH_MEAN_RADIUS_M)
    s2 = pos_m[..., 2] ** 2 / np.maximum(r2, 1.0)
    return np.asarray(
        WGS84_A_M * WGS84_B_M / np.sqrt(WGS84_B_M**2 * (1.0 - s2) + WGS84_A_M**2 * s2)
    )


def surface_radius_m(pos_m: F64, earth: Earth = "ellipsoid") -> F64:
    """Radius of the ground below each ECEF point (``pos_m``: (..., 3)), m."""
    return _surface_radius_sq(pos_m, np.einsum("...i,...i->...", pos_m, pos_m), earth)


def altitude_m(pos_m: F64, earth: Earth = "ellipsoid") -> F64:
    """Height above the ground along the radius (close to geodetic height near the ground), m."""
    r2 = np.einsum("...i,...i->...", pos_m, pos_m)
    return np.asarray(np.sqrt(r2) - _surface_radius_sq(pos_m, r2, earth))


def acceleration(pos_m: F64, vel_m_s: F64, beta_kg_m2: F64, earth: Earth = "ellipsoid") -> F64:
    """Gravity plus drag acceleration, (n, 3) m/s^2, for states (n, 3) and ``beta`` (n,)."""
    return _acceleration(pos_m, vel_m_s, beta_kg_m2, earth)[0]


def _acceleration(pos_m: F64, vel_m_s: F64, beta_kg_m2: F64, earth: Earth) -> tuple[F64, F64]:
    """The acceleration (n, 3) and the drag rate ``rho |v| / beta`` (n,), 1/s."""
    acc, rate, _ = _acceleration_at(pos_m, vel_m_s, beta_kg_m2, earth)
    return acc, rate


def _acceleration_at(
    pos_m: F64, vel_m_s: F64, beta_kg_m2: F64, earth: Earth
) -> tuple[F64, F64, F64]:
    """The acceleration (n, 3), the drag rate (n,), 1/s, and the altitude (n,), m."""
    r2 = np.einsum("ij,ij->i", pos_m, pos_m)
    r = np.sqrt(r2)
    alt = r - _surface_radius_sq(pos_m, r2, earth)
    rho = density_kg_m3(alt)
    speed = np.sqrt(np.einsum("ij,ij->i", vel_m_s, vel_m_s))
    drag = rho * speed / (2.0 * beta_kg_m2)
    acc = (-GM_EARTH_M3_S2 / (r2 * r))[:, None] * pos_m - drag[:, None] * vel_m_s
    return np.asarray(acc), np.asarray(2.0 * drag), np.asarray(alt)


STIFF_STEP = 1.0
"""Largest step times drag rate (``h rho |v| / beta``, at the start or the end of the step)
taken in one RK4 step; RK4 is unstable beyond about 2.8 on a decaying mode, so steeper
drag is split into parts."""
MAX_PARTS = 4096
"""Most parts one step is split into."""


def integrate(
    pos_m: F64,
    vel_m_s: F64,
    beta_kg_m2: F64,
    dt_s: F64,
    max_steps: int,
    earth: Earth = "ellipsoid",
) -> tuple[F64, F64, F64, NDArray[np.int64]]:
    """Fly many ballistic states with RK4 until each reaches the ground.

    A step whose drag is stiffer than RK4 allows (step times drag rate above
    ``STIFF_STEP``, at its start or its end) is taken in equal parts (at most
    ``MAX_PARTS``). Compiled (:func:`_integrate`); the vectorised NumPy version it
    replaced is the oracle of its tests.

    Parameters
    ----------
    pos_m, vel_m_s : (n, 3) initial ECEF state.
    beta_kg_m2 : (n,) ballistic coefficient (``np.inf`` for vacuum).
    dt_s : (n,) step per missile, s.
    max_steps : int
        Steps at most; a missile still flying then is reported with ``steps = max_steps``.

    Returns
    -------
    states : (n, m + 1, 6) position and velocity at each step (frozen after impact), m
        the step at which the last missile came down (``max_steps`` at most).
    t_impact_s : (n,) time from the start to ground contact (interpolated), s.
    impact_m : (n, 3) ECEF ground contact point.
    steps : (n,) number of whole steps flown before contact.
    """
    states, t_impact, impact, steps, used = _integrate(
        np.ascontiguousarray(pos_m, dtype=np.float64),
        np.ascontiguousarray(vel_m_s, dtype=np.float64),
        np.ascontiguousarray(np.broadcast_to(beta_kg_m2, pos_m.shape[:1]), dtype=np.float64),
        np.ascontiguousarray(np.broadcast_to(dt_s, pos_m.shape[:1]), dtype=np.float64),
        int(max_steps),
        earth == "sphere",
        float(STIFF_STEP),
        int(MAX_PARTS),
    )
    return states[:, : used + 1], t_impact, impact, steps


Vec3 = tuple[float, float, float]
State = tuple[float, float, float, float, float, float]


@njit(cache=True, inline="always")
def _accel_one(
    p: Vec3, v: Vec3, beta: float, sphere: bool
) -> tuple[float, float, float, float, float]:
    """Gravity plus drag (m/s^2, ECEF) at position ``p`` (m) and velocity ``v`` (m/s);
    then the drag rate ``rho |v| / beta`` (1/s) and the altitude (m). Scalars in and out:
    arrays passed to or sliced in a kernel's inner loop cost a reference count each."""
    px, py, pz = p
    vx, vy, vz = v
    r2 = px * px + py * py + pz * pz
    r = math.sqrt(r2)
    if sphere:
        ground = EARTH_MEAN_RADIUS_M
    else:
        s2 = pz * pz / max(r2, 1.0)
        ground = (
            WGS84_A_M
            * WGS84_B_M
            / math.sqrt(WGS84_B_M * WGS84_B_M * (1.0 - s2) + WGS84_A_M * WGS84_A_M * s2)
        )
    alt = r - ground
    rho = RHO0_KG_M3 * math.exp(min(-alt, 0.0) / SCALE_HEIGHT_M)
    speed = math.sqrt(vx * vx + vy * vy + vz * vz)
    drag = rho * speed / (2.0 * beta)
    g = -GM_EARTH_M3_S2 / (r2 * r)
    return g * px - drag * vx, g * py - drag * vy, g * pz - drag * vz, 2.0 * drag, alt


@njit(cache=True, inline="always")
def _rk4_one(x: State, h: float, beta: float, sphere: bool, a1: Vec3) -> State:
    """One RK4 step of length ``h`` (s) from state ``x`` (position m, velocity m/s) whose
    acceleration is ``a1``: the state at its end."""
    half = 0.5 * h
    p0x, p0y, p0z, v0x, v0y, v0z = x
    a1x, a1y, a1z = a1
    v1x, v1y, v1z = v0x + half * a1x, v0y + half * a1y, v0z + half * a1z
    q = (p0x + half * v0x, p0y + half * v0y, p0z + half * v0z)
    a2x, a2y, a2z, _, _ = _accel_one(q, (v1x, v1y, v1z), beta, sphere)
    v2x, v2y, v2z = v0x + half * a2x, v0y + half * a2y, v0z + half * a2z
    q = (p0x + half * v1x, p0y + half * v1y, p0z + half * v1z)
    a3x, a3y, a3z, _, _ = _accel_one(q, (v2x, v2y, v2z), beta, sphere)
    v3x, v3y, v3z = v0x + h * a3x, v0y + h * a3y, v0z + h * a3z
    q = (p0x + h * v2x, p0y + h * v2y, p0z + h * v2z)
    a4x, a4y, a4z, _, _ = _accel_one(q, (v3x, v3y, v3z), beta, sphere)
    sixth = h / 6.0
    return (
        p0x + sixth * (v0x + 2.0 * v1x + 2.0 * v2x + v3x),
        p0y + sixth * (v0y + 2.0 * v1y + 2.0 * v2y + v3y),
        p0z + sixth * (v0z + 2.0 * v1z + 2.0 * v2z + v3z),
        v0x + sixth * (a1x + 2.0 * a2x + 2.0 * a3x + a4x),
        v0y + sixth * (a1y + 2.0 * a2y + 2.0 * a3y + a4y),
        v0z + sixth * (a1z + 2.0 * a2z + 2.0 * a3z + a4z),
    )


@njit(cache=True)
def _integrate(
    pos_m: F64,
    vel_m_s: F64,
    beta_kg_m2: F64,
    dt_s: F64,
    max_steps: int,
    sphere: bool,
    stiff_step: float,
    max_parts: int,
) -> tuple[F64, F64, F64, NDArray[np.int64], int]:
    """:func:`integrate`, one missile after another; also returns the last step used."""
    n = pos_m.shape[0]
    states = np.empty((n, max_steps + 1, 6))
    t_impact = np.full(n, np.nan)
    impact = np.full((n, 3), np.nan)
    steps = np.full(n, max_steps, dtype=np.int64)
    used = 0
    for i in range(n):
        x = (pos_m[i, 0], pos_m[i, 1], pos_m[i, 2], vel_m_s[i, 0], vel_m_s[i, 1], vel_m_s[i, 2])
        _store(states, i, 0, x)
        dt = dt_s[i]
        beta = beta_kg_m2[i]
        ax, ay, az, rate, alt_prev = _accel_one(x[:3], x[3:], beta, sphere)
        a = (ax, ay, az)
        last = max_steps
        for k in range(1, max_steps + 1):
            x_new = _rk4_one(x, dt, beta, sphere, a)
            ex, ey, ez, rate_end, alt = _accel_one(x_new[:3], x_new[3:], beta, sphere)
            worst = max(rate, rate_end if not math.isnan(rate_end) else math.inf)
            parts = min(math.ceil(dt * worst / stiff_step), max_parts)
            if parts > 1:  # drag too stiff for one step: take it in parts
                h = dt / parts
                xs = x
                for _ in range(parts):
                    sx, sy, sz, _, _ = _accel_one(xs[:3], xs[3:], beta, sphere)
                    xs = _rk4_one(xs, h, beta, sphere, (sx, sy, sz))
                x_new = xs
                ex, ey, ez, rate_end, alt = _accel_one(x_new[:3], x_new[3:], beta, sphere)
            if alt <= 0.0 and k > 1:
                frac = alt_prev / (alt_prev - alt)
                impact[i, 0] = x[0] + frac * (x_new[0] - x[0])
                impact[i, 1] = x[1] + frac * (x_new[1] - x[1])
                impact[i, 2] = x[2] + frac * (x_new[2] - x[2])
                t_impact[i] = (k - 1 + frac) * dt
                steps[i] = k - 1
                last = k
                break
            x = x_new
            a = (ex, ey, ez)
            rate = rate_end
            alt_prev = alt
            _store(states, i, k, x)
        for k in range(last, max_steps + 1):  # frozen after impact
            _store(states, i, k, x)
        used = max(used, last)
    return states, t_impact, impact, steps, used


@njit(cache=True, inline="always")
def _store(states: F64, i: int, k: int, x: State) -> None:
    """Write state ``x`` as step ``k`` of missile ``i`` of ``states`` (n, m, 6)."""
    for c in range(6):
        states[i, k, c] = x[c]


def vacuum_speed_m_s(
    r_burnout_m: F64, r_target_m: F64, range_angle_rad: F64, gamma_rad: F64
) -> F64:
    """Burnout speed that reaches a target in vacuum on a sphere.

    .. math:: v^2 = \\frac{\\mu (1 - \\cos\\phi)}{r_b \\cos\\gamma
              \\left(\\frac{r_b}{r_t}\\cos\\gamma - \\cos(\\phi + \\gamma)\\right)}
    """
    num = GM_EARTH_M3_S2 * (1.0 - np.cos(range_angle_rad))
    den = (
        r_burnout_m
        * np.cos(gamma_rad)
        * ((r_burnout_m / r_target_m) * np.cos(gamma_rad) - np.cos(range_angle_rad + gamma_rad))
    )
    return np.asarray(np.sqrt(num / den))


def min_energy_gamma_rad(range_angle_rad: F64) -> F64:
    """Minimum-energy burnout flight-path angle for burnout and target on one radius."""
    return np.asarray(np.pi / 4.0 - range_angle_rad / 4.0)


def vacuum_flight(
    r0_m: F64 | float, v0_m_s: F64 | float, gamma_rad: F64 | float
) -> tuple[F64, F64]:
    """Closed-form range angle and time of flight from and back to radius ``r0`` in vacuum.

    Kepler ellipse with burnout and impact on the same radius (a symmetric arc):

    .. math:: \\tan\\frac{\\phi}{2} = \\frac{\\nu \\sin\\gamma\\cos\\gamma}{1 - \\nu\\cos^2\\gamma},
              \\quad \\nu = \\frac{r_0 v_0^2}{\\mu}

    and the flight time from Kepler's equation between the burnout true anomaly
    :math:`\\pi - \\phi/2` and apogee, doubled. Any input shape broadcasts.

    Returns
    -------
    range_angle_rad, flight_time_s
    """
    r0 = np.asarray(r0_m, dtype=np.float64)
    v0 = np.asarray(v0_m_s, dtype=np.float64)
    g = np.asarray(gamma_rad, dtype=np.float64)
    mu = GM_EARTH_M3_S2
    nu = r0 * v0**2 / mu
    p = (r0 * v0 * np.cos(g)) ** 2 / mu
    a = -mu / (2.0 * (v0**2 / 2.0 - mu / r0))
    e = np.sqrt(np.maximum(1.0 - p / a, 0.0))
    phi = 2.0 * np.arctan2(nu * np.sin(g) * np.cos(g), 1.0 - nu * np.cos(g) ** 2)
    theta0 = np.pi - phi / 2.0
    ecc_anom0 = 2.0 * np.arctan(np.sqrt((1.0 - e) / (1.0 + e)) * np.tan(theta0 / 2.0))
    m0 = ecc_anom0 - e * np.sin(ecc_anom0)
    t_half = (np.pi - m0) / np.sqrt(mu / a**3)
    return np.asarray(phi), np.asarray(2.0 * t_half)


def aim_velocity(burnout_m: F64, target_m: F64, gamma_rad: F64, speed_m_s: F64) -> F64:
    """Velocity vectors in the plane of burnout and target at a flight-path angle.

    Parameters
    ----------
    burnout_m, target_m : (n, 3) ECEF.
    gamma_rad, speed_m_s : (n,)

    Returns
    -------
    vel_m_s : (n, 3)
    """
    up = burnout_m / np.linalg.norm(burnout_m, axis=1, keepdims=True)
    toward = target_m - burnout_m
    horiz = toward - np.sum(toward * up, axis=1, keepdims=True) * up
    horiz /= np.linalg.norm(horiz, axis=1, keepdims=True)
    direction = np.cos(gamma_rad)[:, None] * horiz + np.sin(gamma_rad)[:, None] * up
    return np.asarray(speed_m_s[:, None] * direction)


def range_angle_rad(a_m: F64, b_m: F64) -> F64:
    """Central angle between ECEF points, (n,) rad."""
    ua = a_m / np.linalg.norm(a_m, axis=1, keepdims=True)
    ub = b_m / np.linalg.norm(b_m, axis=1, keepdims=True)
    return np.asarray(np.arctan2(np.linalg.norm(np.cross(ua, ub), axis=1), np.sum(ua * ub, axis=1)))


def solve_burnout_velocity(
    burnout_m: F64,
    target_m: F64,
    beta_kg_m2: F64,
    loft_rad: F64,
    earth: Earth = "ellipsoid",
    iterations: int = 6,
    steps: int = 400,
) -> tuple[F64, F64]:
    """Burnout velocity whose drag trajectory lands on each target.

    Starts from the vacuum minimum-energy solution and corrects the speed by secant
    iteration on the downrange angle error, all missiles at once.

    Returns
    -------
    vel_m_s : (n, 3) burnout velocity.
    dt_s : (n,) integration step used (flight time / ``steps``).
    """
    phi = range_angle_rad(burnout_m, target_m)
    r_b = np.linalg.norm(burnout_m, axis=1)
    r_t = np.linalg.norm(target_m, axis=1)
    gamma = min_energy_gamma_rad(phi) + loft_rad
    v = vacuum_speed_m_s(r_b, r_t, phi, gamma)
    _, t_flight = vacuum_flight(r_b, v, gamma)
    dt = np.maximum(t_flight / steps, 0.02)

    def landed_angle(speed: F64) -> F64:
        vel = aim_velocity(burnout_m, target_m, gamma, speed)
        coarse = dt * steps / SOLVE_STEPS
        _, _, impact, _ = integrate(burnout_m, vel, beta_kg_m2, coarse, 4 * SOLVE_STEPS, earth)
        return range_angle_rad(burnout_m, impact)

    v_prev, err_prev = v, landed_angle(v) - phi
    v_cur = v * (1.0 + np.where(np.isfinite(beta_kg_m2), 0.02, 0.0) + 1e-4)
    for _ in range(iterations):
        err = landed_angle(v_cur) - phi
        if np.all(np.abs(err) < 1e-8):  # under 0.1 m on the ground
            break
        slope = (err - err_prev) / np.where(v_cur == v_prev, 1.0, v_cur - v_prev)
        step = np.where(np.abs(slope) > 0, -err / np.where(slope == 0, 1.0, slope), 0.0)
        v_prev, err_prev = v_cur, err
        v_cur = np.clip(v_cur + step, 0.5 * v, 5.0 * v)
    return aim_velocity(burnout_m, target_m, gamma, v_cur), dt
