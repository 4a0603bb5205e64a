"""Interceptor flight: a guided point mass, flown by compiled kernels.

An interceptor is a point mass under the central gravity field, exponential-atmosphere
drag (ballistic coefficient :math:`\\beta`), a constant thrust acceleration along its
velocity while it burns, and a guidance acceleration across its velocity limited to its
lateral acceleration :math:`a_{lat}`:

.. math:: \\ddot r = -\\frac{\\mu r}{|r|^3} - \\frac{\\rho(h) |v| v}{2 \\beta}
          + a_T \\hat v \\,[t < t_b] + a_c

Guidance is zero-effort-miss proportional navigation toward an *estimate* of the
target (Zarchan, *Tactical and Strategic Missile Guidance*, ch. 8), with the target's
acceleration (gravity and drag for a ballistic estimate, none for a route) and the
interceptor's own gravity in the prediction:

.. math:: ZEM = r + w\\, t_{go} + \\tfrac12 (a_t - g_m)\\, t_{go}^2, \\quad
          a_c = N \\frac{ZEM_\\perp}{t_{go}^2}, \\quad t_{go} = \\frac{|r|}{V_c}

(:math:`r, w` the estimate's position and velocity relative to the interceptor,
:math:`V_c` the closing speed, :math:`N = 3`, :math:`\\perp` across the interceptor's
velocity). Trajectory shaping lifts the aim point by ``loft`` times the horizontal
distance still to go, so a long shot climbs out of the dense air and dives at the end.
The estimate is carried along with the interceptor in one 12-element state and both
are integrated by RK4 with a step that shrinks with the time to go.

The closest approach (to the estimate, or in the end game to the real object) is found
where the range rate changes sign, by linear relative motion inside the last step.

The kernels work on plain arrays: a flight's kinematic figures are one row of
``KIN_*`` columns (:func:`kinematics_row`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

from iamd.geo import GM_EARTH_M3_S2, WGS84_A_M, WGS84_B_M
from iamd.physics.atmosphere import RHO0_KG_M3, SCALE_HEIGHT_M

F64 = NDArray[np.float64]

KIN_BURN_S, KIN_THRUST_M_S2, KIN_BETA, KIN_MAX_TOF_S = 0, 1, 2, 3
KIN_LAT_M_S2, KIN_MIN_SPEED_M_S, KIN_LOFT, KIN_SEEKER_M, KIN_DIVERT_M = 4, 5, 6, 7, 8
N_KIN = 9
"""Columns of a kinematics row: burn time (s), thrust acceleration (m/s^2), ballistic
coefficient (kg/m^2), maximum time of flight (s), lateral acceleration (m/s^2), least
speed that still intercepts (m/s), loft ratio, seeker acquisition range (m), divert (m)."""

FLYING, CA_ESTIMATE, CA_REAL, GROUND, EXPIRED, SLOW, GONE, SELF_DESTRUCT = range(8)
"""How a flight segment ended: still flying at ``t_stop``; closest approach to the
estimate; closest approach to the real object (end game); below the ground; beyond its
maximum time of flight; slower than its least speed after burn-out; the real object
ended (struck or destroyed) before the closest approach; passed the estimate without
coming closer to the real object (self-destructed)."""
TRACK_LOST = 8
"""Set by the engine: the firing node lost its track of the target; the interceptor
self-destructs."""
STATUS_NAMES = (
    "flying",
    "closest_approach",
    "end_game",
    "ground",
    "expired",
    "too_slow",
    "target_gone",
    "self_destruct",
    "track_lost",
)

NAV_GAIN = 3.0
"""Effective navigation ratio N."""
LAUNCH_SPEED_M_S = 50.0
"""Speed off the launcher (the motor takes it from there)."""
STEP_FRACTION = 0.04
"""Integration step as a fraction of the time to go."""
DT_MIN_S = 2e-4
DT_MAX_S = 0.5
DT_BOOST_S = 0.1
GROUND_TOLERANCE_M = 0.0
"""An interceptor below the ellipsoid by more than this has hit the ground."""
TERMINAL_S = 3.0
"""For the last seconds before its planned intercept, an interceptor steers at its moving
target estimate rather than at the point where the estimate was predicted to be."""
PREDICT_STEP_S = 2.0
"""Step of the prediction of a ballistic estimate to the planned intercept time."""
SELF_DESTRUCT_AFTER_S = 2.0
"""How long an interceptor flies on past its aim point before it self-destructs."""
INFO_T, INFO_MISS, INFO_X, INFO_Y, INFO_Z, INFO_SPEED, INFO_CLOSING, INFO_T_EST = range(8)
N_INFO = 8
"""Columns of a flight's ending: time (s), miss distance (m), interceptor position (ECEF,
m), its speed (m/s) and the closing speed (m/s) at the closest approach, and the time of
the closest approach to the estimate (s)."""


@njit(cache=True)
def altitude_of(x: float, y: float, z: float) -> float:
    """Height above the WGS84 ellipsoid along the radius, m (as ``ballistic.altitude_m``)."""
    r2 = x * x + y * y + z * z
    s2 = z * z / max(r2, 1.0)
    a, b = WGS84_A_M, WGS84_B_M
    return math.sqrt(r2) - a * b / math.sqrt(b * b * (1.0 - s2) + a * a * s2)


@njit(cache=True)
def _free_accel(
    x: float, y: float, z: float, vx: float, vy: float, vz: float, beta: float
) -> tuple[float, float, float]:
    """Gravity plus drag, m/s^2 (``beta`` inf: gravity only)."""
    r2 = x * x + y * y + z * z
    g = -GM_EARTH_M3_S2 / (r2 * math.sqrt(r2))
    ax, ay, az = g * x, g * y, g * z
    if beta < 1e300:
        alt = altitude_of(x, y, z)
        rho = RHO0_KG_M3 * math.exp(min(-alt, 0.0) / SCALE_HEIGHT_M)
        k = rho * math.sqrt(vx * vx + vy * vy + vz * vz) / (2.0 * beta)
        ax -= k * vx
        ay -= k * vy
        az -= k * vz
    return ax, ay, az


@njit(cache=True)
def _target_accel(y: F64, ballistic: bool, beta: float) -> tuple[float, float, float]:
    if not ballistic:
        return 0.0, 0.0, 0.0
    return _free_accel(y[6], y[7], y[8], y[9], y[10], y[11], beta)


@njit(cache=True, inline="always")
def _derivative(
    y: F64,
    t_flight_s: float,
    kin: F64,
    ballistic: bool,
    beta_t: float,
    aim: F64,
    use_aim: bool,
    out: F64,
) -> None:
    """d/dt of the 12-element state (interceptor position and velocity, then the
    estimate's), guided toward the fixed point ``aim`` (3,) when ``use_aim``, else toward
    the moving estimate."""
    px, py, pz, vx, vy, vz = y[0], y[1], y[2], y[3], y[4], y[5]
    gx, gy, gz = _free_accel(px, py, pz, vx, vy, vz, math.inf)
    ax, ay, az = _free_accel(px, py, pz, vx, vy, vz, kin[KIN_BETA])
    tx, ty, tz = _target_accel(y, ballistic, beta_t)
    speed = math.sqrt(vx * vx + vy * vy + vz * vz)
    ux, uy, uz = vx / speed, vy / speed, vz / speed
    if t_flight_s < kin[KIN_BURN_S]:
        a_t = kin[KIN_THRUST_M_S2]
        ax += a_t * ux
        ay += a_t * uy
        az += a_t * uz
    # zero-effort miss toward the (lofted) aim point, or the estimate
    if use_aim:
        qx, qy, qz, qvx, qvy, qvz = aim[0], aim[1], aim[2], 0.0, 0.0, 0.0
        gtx, gty, gtz = 0.0, 0.0, 0.0
    else:
        qx, qy, qz, qvx, qvy, qvz = y[6], y[7], y[8], y[9], y[10], y[11]
        gtx, gty, gtz = tx, ty, tz
    rx, ry, rz = qx - px, qy - py, qz - pz
    loft = kin[KIN_LOFT]
    if loft > 0.0:
        rt = math.sqrt(qx * qx + qy * qy + qz * qz)
        ex, ey, ez = qx / rt, qy / rt, qz / rt
        along = rx * ex + ry * ey + rz * ez
        hx, hy, hz = rx - along * ex, ry - along * ey, rz - along * ez
        lift = loft * math.sqrt(hx * hx + hy * hy + hz * hz)
        rx += lift * ex
        ry += lift * ey
        rz += lift * ez
    wx, wy, wz = qvx - vx, qvy - vy, qvz - vz
    rr = math.sqrt(rx * rx + ry * ry + rz * rz)
    if rr > 1e-6:
        closing = -(rx * wx + ry * wy + rz * wz) / rr
        t_go = rr / max(closing, 0.5 * speed, 10.0)
        h = 0.5 * t_go * t_go
        zx = rx + wx * t_go + (gtx - gx) * h
        zy = ry + wy * t_go + (gty - gy) * h
        zz = rz + wz * t_go + (gtz - gz) * h
        c = NAV_GAIN / (t_go * t_go)
        cx, cy, cz = c * zx, c * zy, c * zz
        dot = cx * ux + cy * uy + cz * uz
        cx, cy, cz = cx - dot * ux, cy - dot * uy, cz - dot * uz
        mag = math.sqrt(cx * cx + cy * cy + cz * cz)
        lim = kin[KIN_LAT_M_S2]
        if mag > lim:
            cx, cy, cz = cx * lim / mag, cy * lim / mag, cz * lim / mag
        ax += cx
        ay += cy
        az += cz
    out[0], out[1], out[2] = vx, vy, vz
    out[3], out[4], out[5] = ax, ay, az
    out[6], out[7], out[8] = y[9], y[10], y[11]
    out[9], out[10], out[11] = tx, ty, tz


@njit(cache=True)
def _rk4(
    y: F64,
    t_flight_s: float,
    dt: float,
    kin: F64,
    ballistic: bool,
    beta_t: float,
    aim: F64,
    use_aim: bool,
    work: F64,
    out: F64,
) -> None:
    """One RK4 step of the 12-element state into ``out`` (12,); ``work`` is (5, 12)
    scratch."""
    k1, k2, k3, k4, tmp = work[0], work[1], work[2], work[3], work[4]
    _derivative(y, t_flight_s, kin, ballistic, beta_t, aim, use_aim, k1)
    for j in range(12):
        tmp[j] = y[j] + 0.5 * dt * k1[j]
    _derivative(tmp, t_flight_s + 0.5 * dt, kin, ballistic, beta_t, aim, use_aim, k2)
    for j in range(12):
        tmp[j] = y[j] + 0.5 * dt * k2[j]
    _derivative(tmp, t_flight_s + 0.5 * dt, kin, ballistic, beta_t, aim, use_aim, k3)
    for j in range(12):
        tmp[j] = y[j] + dt * k3[j]
    _derivative(tmp, t_flight_s + dt, kin, ballistic, beta_t, aim, use_aim, k4)
    for j in range(12):
        out[j] = y[j] + dt / 6.0 * (k1[j] + 2.0 * k2[j] + 2.0 * k3[j] + k4[j])


@njit(cache=True)
def truth_at(
    truth_t: F64, truth_x: F64, lo: int, hi: int, t_s: float, j: int
) -> tuple[float, float, float, float, float, float, int]:
    """State of a sampled trajectory (samples ``lo..hi`` of ``truth_t`` (m,), ``truth_x``
    (m, 6)) at ``t_s``: position by cubic Hermite, velocity linearly (as
    ``TruthTable.state_at``). ``j`` is a cursor (the sample at or before the last time
    asked), returned moved on, so a flight forward in time costs O(1) per call."""
    j = max(min(j, hi - 1), lo)
    while j > lo and truth_t[j] > t_s:
        j -= 1
    while j < hi - 1 and truth_t[j + 1] <= t_s:
        j += 1
    j1 = min(j + 1, hi)
    h = truth_t[j1] - truth_t[j]
    u = (t_s - truth_t[j]) / h if h > 0 else 0.0
    u = min(max(u, 0.0), 1.0)
    out = np.empty(6)
    for c in range(3):
        p0, p1 = truth_x[j, c], truth_x[j1, c]
        hv0, hv1 = h * truth_x[j, 3 + c], h * truth_x[j1, 3 + c]
        dp = p1 - p0
        out[c] = p0 + u * (hv0 + u * (3 * dp - 2 * hv0 - hv1 + u * (hv0 + hv1 - 2 * dp)))
        out[3 + c] = truth_x[j, 3 + c] + u * (truth_x[j1, 3 + c] - truth_x[j, 3 + c])
    return out[0], out[1], out[2], out[3], out[4], out[5], j


@njit(cache=True)
def predict_estimate(y: F64, ballistic: bool, beta_t: float, tau_s: float) -> F64:
    """Where the estimate (``y[6:12]``) will be after ``tau_s``: a route track flies on
    at constant velocity, a ballistic one under gravity and drag (RK4, steps of at most
    ``PREDICT_STEP_S``). Returns the position (3,)."""
    out = np.empty(3)
    if not ballistic:
        for c in range(3):
            out[c] = y[6 + c] + tau_s * y[9 + c]
        return out
    n = max(math.ceil(tau_s / PREDICT_STEP_S), 1)
    h = tau_s / n
    px, py, pz, vx, vy, vz = y[6], y[7], y[8], y[9], y[10], y[11]
    for _ in range(n):
        a1 = _free_accel(px, py, pz, vx, vy, vz, beta_t)
        p2 = (px + 0.5 * h * vx, py + 0.5 * h * vy, pz + 0.5 * h * vz)
        v2 = (vx + 0.5 * h * a1[0], vy + 0.5 * h * a1[1], vz + 0.5 * h * a1[2])
        a2 = _free_accel(p2[0], p2[1], p2[2], v2[0], v2[1], v2[2], beta_t)
        p3 = (px + 0.5 * h * v2[0], py + 0.5 * h * v2[1], pz + 0.5 * h * v2[2])
        v3 = (vx + 0.5 * h * a2[0], vy + 0.5 * h * a2[1], vz + 0.5 * h * a2[2])
        a3 = _free_accel(p3[0], p3[1], p3[2], v3[0], v3[1], v3[2], beta_t)
        p4 = (px + h * v3[0], py + h * v3[1], pz + h * v3[2])
        v4 = (vx + h * a3[0], vy + h * a3[1], vz + h * a3[2])
        a4 = _free_accel(p4[0], p4[1], p4[2], v4[0], v4[1], v4[2], beta_t)
        px += h / 6.0 * (vx + 2.0 * v2[0] + 2.0 * v3[0] + v4[0])
        py += h / 6.0 * (vy + 2.0 * v2[1] + 2.0 * v3[1] + v4[1])
        pz += h / 6.0 * (vz + 2.0 * v2[2] + 2.0 * v3[2] + v4[2])
        vx += h / 6.0 * (a1[0] + 2.0 * a2[0] + 2.0 * a3[0] + a4[0])
        vy += h / 6.0 * (a1[1] + 2.0 * a2[1] + 2.0 * a3[1] + a4[1])
        vz += h / 6.0 * (a1[2] + 2.0 * a2[2] + 2.0 * a3[2] + a4[2])
    out[0], out[1], out[2] = px, py, pz
    return out


@njit(cache=True)
def _record(
    info: F64,
    t_s: float,
    tau: float,
    dt: float,
    y: F64,
    y1: F64,
    rel: tuple[float, float, float],
    rel1: tuple[float, float, float],
    rel_vel: tuple[float, float, float],
) -> None:
    """Fill ``info`` with the state ``tau`` into the step ``y -> y1`` of length ``dt``
    (relative position ``rel -> rel1``, relative velocity ``rel_vel`` at its start)."""
    f = tau / dt if dt > 0 else 1.0
    info[INFO_T] = t_s + tau
    mx = rel[0] + f * (rel1[0] - rel[0])
    my = rel[1] + f * (rel1[1] - rel[1])
    mz = rel[2] + f * (rel1[2] - rel[2])
    info[INFO_MISS] = math.sqrt(mx * mx + my * my + mz * mz)
    for c in range(3):
        info[INFO_X + c] = y[c] + f * (y1[c] - y[c])
    info[INFO_SPEED] = math.sqrt(y1[3] ** 2 + y1[4] ** 2 + y1[5] ** 2)
    r0 = math.sqrt(rel[0] ** 2 + rel[1] ** 2 + rel[2] ** 2)
    info[INFO_CLOSING] = -(rel[0] * rel_vel[0] + rel[1] * rel_vel[1] + rel[2] * rel_vel[2]) / max(
        r0, 1e-9
    )


@njit(cache=True)
def _underground(info: F64) -> bool:
    """Whether the position recorded in ``info`` lies below the ground."""
    return bool(altitude_of(info[INFO_X], info[INFO_Y], info[INFO_Z]) < -GROUND_TOLERANCE_M)


@njit(cache=True)
def _crossing(
    rel: tuple[float, float, float], rel1: tuple[float, float, float], dt: float
) -> float:
    """Time into a step of the closest approach, by linear relative motion."""
    ax, ay, az = (rel1[0] - rel[0]) / dt, (rel1[1] - rel[1]) / dt, (rel1[2] - rel[2]) / dt
    a2 = ax * ax + ay * ay + az * az
    if a2 <= 0.0:
        return dt
    return min(max(-(rel[0] * ax + rel[1] * ay + rel[2] * az) / a2, 0.0), dt)


@njit(cache=True)
def fly(
    y0: F64,
    t0_s: float,
    t_launch_s: float,
    t_stop_s: float,
    t_aim_s: float,
    closing0: bool,
    ballistic: bool,
    beta_t: float,
    kin: F64,
    truth_t: F64,
    truth_x: F64,
    lo: int,
    hi: int,
    t_real_end_s: float,
    end_game: bool,
) -> tuple[F64, float, int, bool, F64]:
    """Fly one interceptor from ``t0_s`` until ``t_stop_s`` or an ending.

    Parameters
    ----------
    y0 : (12,) interceptor ECEF position (m) and velocity (m/s), then its target
        estimate's, at ``t0_s``.
    t_launch_s : launch time (the burn and the time of flight count from it), s.
    t_stop_s : stop here if nothing ends the segment sooner (ignored in the end game).
    t_aim_s : the planned intercept time: until ``TERMINAL_S`` before it, the interceptor
        flies toward where the estimate will be then (a fixed point, as the fly-out tables
        fly), and from then on toward the moving estimate (inf: always the estimate).
    closing0 : the interceptor has closed on the estimate before (a later opening is a
        closest approach).
    ballistic, beta_t : the estimate moves under gravity and drag with this ballistic
        coefficient (kg/m^2), else at constant velocity.
    kin : (N_KIN,) kinematic figures.
    truth_t, truth_x, lo, hi : the real object's samples (``lo > hi``: none), used in
        the end game only, until ``t_real_end_s``.
    end_game : fly on to the closest approach with the real object (without one, to the
        estimate) instead of stopping at ``t_stop_s`` or at the estimate.

    Returns
    -------
    y : (12,) state at the end. t_s : end time. status : ``FLYING``, ``CA_ESTIMATE`` ...
    closing : the closing flag to carry into the next segment.
    info : (N_INFO,) the ending (``INFO_*``): outside the end game, the closest approach
        to the estimate (nan when there was none); in the end game, the closest approach
        to the real object or, for the other endings, where the interceptor ended and
        how far the real object was (nan without one). ``INFO_T_EST`` is the time of the
        closest approach to the estimate (inf before it).
    """
    y = y0.copy()
    t = t0_s
    work = np.empty((5, 12))
    y1 = np.empty(12)  # the step's end; swapped with y after each step
    info = np.full(N_INFO, np.nan)
    info[INFO_T_EST] = math.inf
    closing = closing0
    real = end_game and lo <= hi and t0_s < t_real_end_s
    real_closing = False
    jr = lo
    rel = (0.0, 0.0, 0.0)  # the real object relative to the interceptor, and its velocity
    rel_v = (0.0, 0.0, 0.0)
    if real:
        qx, qy, qz, qvx, qvy, qvz, jr = truth_at(truth_t, truth_x, lo, hi, t, jr)
        rel = (qx - y[0], qy - y[1], qz - y[2])
        rel_v = (qvx - y[3], qvy - y[4], qvz - y[5])
        if rel[0] * rel_v[0] + rel[1] * rel_v[1] + rel[2] * rel_v[2] >= 0.0:
            # already opening: the closest approach is now (the end game began as it passed)
            _record(info, t, 0.0, 1.0, y, y, rel, rel, rel_v)
            if _underground(info):
                return y, t, GROUND, closing, info
            return y, t, CA_REAL, closing, info
        real_closing = True
    status = FLYING
    use_aim = math.isfinite(t_aim_s) and t_aim_s - t0_s > TERMINAL_S
    aim = predict_estimate(y, ballistic, beta_t, t_aim_s - t0_s) if use_aim else np.zeros(3)
    while True:
        use_aim = use_aim and t < t_aim_s - TERMINAL_S
        t_fl = t - t_launch_s
        if t_fl >= kin[KIN_MAX_TOF_S]:
            status = EXPIRED
            break
        if not end_game and t >= t_stop_s:
            break
        # step: a fraction of the time to go (to the estimate, and to the real object)
        est = (y[6] - y[0], y[7] - y[1], y[8] - y[2])
        est_v = (y[9] - y[3], y[10] - y[4], y[11] - y[5])
        er = math.sqrt(est[0] ** 2 + est[1] ** 2 + est[2] ** 2)
        vc = -(est[0] * est_v[0] + est[1] * est_v[1] + est[2] * est_v[2]) / max(er, 1e-9)
        t_go = er / max(vc, 1.0)
        if real:
            rr = math.sqrt(rel[0] ** 2 + rel[1] ** 2 + rel[2] ** 2)
            vcr = -(rel[0] * rel_v[0] + rel[1] * rel_v[1] + rel[2] * rel_v[2]) / max(rr, 1e-9)
            t_go = min(t_go, rr / max(vcr, 1.0))
        dt = min(max(STEP_FRACTION * t_go, DT_MIN_S), DT_MAX_S)
        if t_fl < kin[KIN_BURN_S]:
            dt = min(dt, DT_BOOST_S, kin[KIN_BURN_S] - t_fl)
        dt = min(dt, kin[KIN_MAX_TOF_S] - t_fl)
        if not end_game:
            dt = min(dt, t_stop_s - t)
        if real:
            dt = min(dt, max(t_real_end_s - t, DT_MIN_S))
        dt = max(dt, 1e-9)
        if use_aim:
            dt = min(dt, max(t_aim_s - TERMINAL_S - t, DT_MIN_S))
        _rk4(y, t_fl, dt, kin, ballistic, beta_t, aim, use_aim, work, y1)
        t1 = t + dt
        # the closest approach to the estimate
        est1 = (y1[6] - y1[0], y1[7] - y1[1], y1[8] - y1[2])
        rate1 = est1[0] * (y1[9] - y1[3]) + est1[1] * (y1[10] - y1[4]) + est1[2] * (y1[11] - y1[5])
        if rate1 < 0.0:
            closing = True
        elif closing and info[INFO_T_EST] == math.inf:
            tau = _crossing(est, est1, dt)
            info[INFO_T_EST] = t + tau
            if not real:
                _record(info, t, tau, dt, y, y1, est, est1, est_v)
                if _underground(info):  # it struck the ground before the point
                    return y1, t1, GROUND, closing, info
                return y1, t1, CA_ESTIMATE, closing, info
        # the real object (end game)
        if real:
            if t1 >= t_real_end_s:
                _record(info, t, dt, dt, y, y1, rel, rel, rel_v)
                return y1, t1, GONE, closing, info
            qx, qy, qz, qvx, qvy, qvz, jr = truth_at(truth_t, truth_x, lo, hi, t1, jr)
            rel1 = (qx - y1[0], qy - y1[1], qz - y1[2])
            rel_v1 = (qvx - y1[3], qvy - y1[4], qvz - y1[5])
            r_rate1 = rel1[0] * rel_v1[0] + rel1[1] * rel_v1[1] + rel1[2] * rel_v1[2]
            if r_rate1 < 0.0:
                real_closing = True
            passed = real_closing and r_rate1 >= 0.0
            if passed:
                _record(info, t, _crossing(rel, rel1, dt), dt, y, y1, rel, rel1, rel_v)
                if _underground(info):
                    return y1, t1, GROUND, closing, info
                return y1, t1, CA_REAL, closing, info
            if t1 >= info[INFO_T_EST] + SELF_DESTRUCT_AFTER_S:
                _record(info, t, dt, dt, y, y1, rel, rel1, rel_v)
                return y1, t1, SELF_DESTRUCT, closing, info
            rel, rel_v = rel1, rel_v1
        y, y1 = y1, y
        t = t1
        if altitude_of(y[0], y[1], y[2]) < -GROUND_TOLERANCE_M:
            status = GROUND
            break
        if t - t_launch_s > kin[KIN_BURN_S] and (
            y[3] * y[3] + y[4] * y[4] + y[5] * y[5] < kin[KIN_MIN_SPEED_M_S] ** 2
        ):
            status = SLOW
            break
    if end_game:  # where it ended, and how far the real object was
        _record(info, t, 0.0, 1.0, y, y, rel, rel, rel_v)
        if not real:
            info[INFO_MISS] = math.nan
    return y, t, status, closing, info


@njit(cache=True)
def fly_many(
    y: F64,
    t_s: F64,
    t_launch_s: F64,
    t_stop_s: float,
    t_aim_s: F64,
    closing: NDArray[np.bool_],
    ballistic: NDArray[np.bool_],
    beta_t: F64,
    kin: F64,
    truth_t: F64,
    truth_x: F64,
    lo: NDArray[np.int64],
    hi: NDArray[np.int64],
    t_real_end_s: F64,
    end_game: bool,
) -> tuple[F64, F64, NDArray[np.int64], NDArray[np.bool_], F64]:
    """:func:`fly` for n interceptors at once: states ``y`` (n, 12) at ``t_s`` (n,),
    planned intercept times ``t_aim_s`` (n,), kinematic rows ``kin`` (n, N_KIN), real
    objects ``lo``, ``hi``, ``t_real_end_s`` (n,) in one sampled table; all to
    ``t_stop_s``. Returns the states (n, 12), times (n,), statuses (n,), closing flags
    (n,) and endings (n, N_INFO)."""
    n = y.shape[0]
    y_out = np.empty((n, 12))
    t_out = np.empty(n)
    status = np.empty(n, dtype=np.int64)
    closing_out = np.empty(n, dtype=np.bool_)
    info = np.empty((n, N_INFO))
    for j in range(n):
        yj, tj, sj, cj, ij = fly(
            y[j],
            t_s[j],
            t_launch_s[j],
            t_stop_s,
            t_aim_s[j],
            closing[j],
            ballistic[j],
            beta_t[j],
            kin[j],
            truth_t,
            truth_x,
            lo[j],
            hi[j],
            t_real_end_s[j],
            end_game,
        )
        y_out[j] = yj
        t_out[j] = tj
        status[j] = sj
        closing_out[j] = cj
        info[j] = ij
    return y_out, t_out, status, closing_out, info


@njit(cache=True)
def launch_state(launcher_m: F64, aim_m: F64, loft: float, speed_m_s: float) -> F64:
    """Interceptor position and velocity (6,) leaving ``launcher_m`` (3,) toward ``aim_m``
    (3,), lifted by the loft (as guidance aims), at ``speed_m_s`` (a launcher's forward
    speed when it flies; at least ``LAUNCH_SPEED_M_S``)."""
    out = np.empty(6)
    rt = math.sqrt(aim_m[0] ** 2 + aim_m[1] ** 2 + aim_m[2] ** 2)
    dx, dy, dz = aim_m[0] - launcher_m[0], aim_m[1] - launcher_m[1], aim_m[2] - launcher_m[2]
    ex, ey, ez = aim_m[0] / rt, aim_m[1] / rt, aim_m[2] / rt
    along = dx * ex + dy * ey + dz * ez
    hx, hy, hz = dx - along * ex, dy - along * ey, dz - along * ez
    lift = loft * math.sqrt(hx * hx + hy * hy + hz * hz)
    dx, dy, dz = dx + lift * ex, dy + lift * ey, dz + lift * ez
    n = math.sqrt(dx * dx + dy * dy + dz * dz)
    if n < 1e-6:  # aim at the launcher itself: straight up
        lx = math.sqrt(launcher_m[0] ** 2 + launcher_m[1] ** 2 + launcher_m[2] ** 2)
        dx, dy, dz, n = launcher_m[0] / lx, launcher_m[1] / lx, launcher_m[2] / lx, 1.0
    v = max(speed_m_s, LAUNCH_SPEED_M_S)
    for c in range(3):
        out[c] = launcher_m[c]
    out[3], out[4], out[5] = v * dx / n, v * dy / n, v * dz / n
    return out
