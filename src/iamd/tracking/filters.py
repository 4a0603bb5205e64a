"""Batched extended Kalman filter over ECEF position-velocity states.

States ``x`` are (n, 6) (position m, velocity m/s), covariances ``P`` (n, 6, 6).
Two motion models share one prediction: nearly constant velocity, and ballistic
(central gravity and drag with a known ballistic coefficient; ``beta = inf``
turns drag off) whose mean is propagated by the dynamics while the covariance
uses the constant-velocity transition plus white-acceleration process noise
(Bar-Shalom, Li, Kirubarajan, *Estimation with Applications to Tracking and
Navigation*, 6.2.2).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

from iamd.physics.atmosphere import RHO0_KG_M3, SCALE_HEIGHT_M
from iamd.physics.flyout import _free_accel, altitude_of

F64 = NDArray[np.float64]

SINGLE_STEP_S = 10.0
"""Ballistic predictions up to this long use one midpoint step, longer ones two
(the step error is far below the process noise at scan and reporting intervals)."""
MAX_DRAG_STEP = 0.5
"""Largest drag rate times step (explicit midpoint is stable below 2)."""
MAX_STEPS = 200
"""Cap on integration steps of one prediction."""


@njit(cache=True)
def _drag_rate_1_s(x: F64, beta_kg_m2: float) -> float:
    """``rho |v| / (2 beta)`` of one state (6,), 1/s (0 for ``beta`` inf)."""
    rho = RHO0_KG_M3 * math.exp(min(-altitude_of(x[0], x[1], x[2]), 0.0) / SCALE_HEIGHT_M)
    return rho * math.sqrt(x[3] * x[3] + x[4] * x[4] + x[5] * x[5]) / (2.0 * beta_kg_m2)


@njit(cache=True)
def predict_kernel(
    x: F64, p: F64, dt_s: F64, q_m2_s3: F64, ballistic: NDArray[np.bool_], beta_kg_m2: F64
) -> tuple[F64, F64]:
    """Kernel of :func:`predict`: the same arguments, C-contiguous."""
    n = x.shape[0]
    x_new = x.copy()
    steps = 0
    for k in range(n):
        for c in range(3):
            x_new[k, c] = x[k, c] + x[k, 3 + c] * dt_s[k]
        if ballistic[k]:
            # one step up to SINGLE_STEP_S, two beyond, and short enough that the drag term
            # (stiff in dense air) stays stable; all ballistic tracks share the count
            dt = abs(dt_s[k])
            steps = max(steps, 1 if dt <= SINGLE_STEP_S else 2)
            need = _drag_rate_1_s(x[k], beta_kg_m2[k]) * dt / MAX_DRAG_STEP
            steps = max(steps, math.ceil(need))
    steps = min(steps, MAX_STEPS)
    for k in range(n):
        if not ballistic[k]:
            continue
        h = dt_s[k] / steps
        px, py, pz, vx, vy, vz = x[k, 0], x[k, 1], x[k, 2], x[k, 3], x[k, 4], x[k, 5]
        for _ in range(steps):  # explicit midpoint
            a1x, a1y, a1z = _free_accel(px, py, pz, vx, vy, vz, beta_kg_m2[k])
            mx, my, mz = px + 0.5 * h * vx, py + 0.5 * h * vy, pz + 0.5 * h * vz
            wx, wy, wz = vx + 0.5 * h * a1x, vy + 0.5 * h * a1y, vz + 0.5 * h * a1z
            a2x, a2y, a2z = _free_accel(mx, my, mz, wx, wy, wz, beta_kg_m2[k])
            px, py, pz = px + h * wx, py + h * wy, pz + h * wz
            vx, vy, vz = vx + h * a2x, vy + h * a2y, vz + h * a2z
        x_new[k, 0], x_new[k, 1], x_new[k, 2] = px, py, pz
        x_new[k, 3], x_new[k, 4], x_new[k, 5] = vx, vy, vz
    # P' = F P F' + Q with F = [[I, dt I], [0, I]], written out by blocks
    p_new = np.empty_like(p)
    for k in range(n):
        d = dt_s[k]
        q = q_m2_s3[k]
        for a in range(3):
            for b in range(3):
                eye = 1.0 if a == b else 0.0
                pv, vp, vv = p[k, a, 3 + b], p[k, 3 + a, b], p[k, 3 + a, 3 + b]
                p_new[k, a, b] = p[k, a, b] + d * (pv + vp) + d * d * vv + q * d**3 / 3.0 * eye
                cross = pv + d * vv + q * d**2 / 2.0 * eye
                p_new[k, a, 3 + b] = cross
                p_new[k, 3 + b, a] = cross
                p_new[k, 3 + a, 3 + b] = vv + q * d * eye
    return x_new, p_new


@njit(cache=True)
def _predict_entry(
    x: F64, p: F64, dt_s: F64, q_m2_s3: F64, ballistic: NDArray[np.bool_], beta_kg_m2: F64
) -> tuple[F64, F64]:
    """:func:`predict_kernel` for calls from Python (other kernels call it too; see
    :func:`iamd.tracking.association._assign_rows_entry`)."""
    return predict_kernel(x, p, dt_s, q_m2_s3, ballistic, beta_kg_m2)


def predict(
    x: F64, p: F64, dt_s: F64, q_m2_s3: F64, ballistic: NDArray[np.bool_], beta_kg_m2: F64
) -> tuple[F64, F64]:
    """Predict every state ``dt_s`` (n,) ahead.

    Constant-velocity states move in a straight line; ballistic ones are integrated by
    the explicit midpoint rule under central gravity and drag (one step up to
    ``SINGLE_STEP_S``, two beyond, more where ``rho |v| / (2 beta) * step`` would exceed
    ``MAX_DRAG_STEP``; one step count for the whole batch). The covariance takes the
    constant-velocity transition plus white-acceleration noise in both cases.

    Parameters
    ----------
    x : (n, 6) states, m and m/s.
    p : (n, 6, 6) covariances.
    dt_s : (n,) time to predict each state ahead, s.
    q_m2_s3 : (n,) white-acceleration spectral density (process noise), m^2/s^3.
    ballistic : (n,) use the ballistic model (True) or constant velocity (False).
    beta_kg_m2 : (n,) ballistic coefficient for the drag term (inf: no drag).

    Returns
    -------
    x, p : (n, 6) and (n, 6, 6) predicted.
    """
    return _predict_entry(
        np.ascontiguousarray(x, dtype=np.float64),
        np.ascontiguousarray(p, dtype=np.float64),
        np.ascontiguousarray(dt_s, dtype=np.float64),
        np.ascontiguousarray(q_m2_s3, dtype=np.float64),
        np.ascontiguousarray(ballistic, dtype=np.bool_),
        np.ascontiguousarray(beta_kg_m2, dtype=np.float64),
    )


@njit(cache=True)
def rae_one(x: F64, site_ecef_m: F64, rot: F64, z: F64, h: F64) -> None:
    """Range m, azimuth rad (from north) and elevation rad of one state (6,) seen from a
    site, into ``z`` (3,), and its Jacobian into ``h`` (3, 6)."""
    d0, d1, d2 = x[0] - site_ecef_m[0], x[1] - site_ecef_m[1], x[2] - site_ecef_m[2]
    e = rot[0, 0] * d0 + rot[0, 1] * d1 + rot[0, 2] * d2
    nn = rot[1, 0] * d0 + rot[1, 1] * d1 + rot[1, 2] * d2
    u = rot[2, 0] * d0 + rot[2, 1] * d1 + rot[2, 2] * d2
    hor2 = max(e * e + nn * nn, 1e-6)
    hor = math.sqrt(hor2)
    r2 = hor2 + u * u
    r = math.sqrt(r2)
    z[0] = r
    z[1] = math.atan2(e, nn) % (2 * math.pi)
    z[2] = math.atan2(u, hor)
    j00, j01, j02 = e / r, nn / r, u / r
    j10, j11, j12 = nn / hor2, -e / hor2, 0.0
    j20, j21, j22 = -e * u / (r2 * hor), -nn * u / (r2 * hor), hor / r2
    for b in range(3):
        h[0, b] = j00 * rot[0, b] + j01 * rot[1, b] + j02 * rot[2, b]
        h[1, b] = j10 * rot[0, b] + j11 * rot[1, b] + j12 * rot[2, b]
        h[2, b] = j20 * rot[0, b] + j21 * rot[1, b] + j22 * rot[2, b]
        h[0, 3 + b] = 0.0
        h[1, 3 + b] = 0.0
        h[2, 3 + b] = 0.0


@njit(cache=True)
def rae_kernel(x: F64, site_ecef_m: F64, rot: F64) -> tuple[F64, F64]:
    """Kernel of :func:`rae_model`."""
    n = x.shape[0]
    z = np.empty((n, 3))
    h = np.empty((n, 3, 6))
    for k in range(n):
        rae_one(x[k], site_ecef_m, rot, z[k], h[k])
    return z, h


def rae_model(x: F64, site_ecef_m: F64, rot: F64) -> tuple[F64, F64]:
    """Range/azimuth/elevation of states seen from one site, and its Jacobian.

    Returns
    -------
    z : (n, 3) range m, azimuth rad (from north), elevation rad.
    h : (n, 3, 6) Jacobian with respect to the state.
    """
    return rae_kernel(
        np.ascontiguousarray(x, dtype=np.float64),
        np.ascontiguousarray(site_ecef_m, dtype=np.float64),
        np.ascontiguousarray(rot, dtype=np.float64),
    )


@njit(cache=True)
def invert_into(a: F64, out: F64, work: F64) -> None:
    """Inverse of a small square matrix ``a`` (m, m) into ``out`` by Gauss-Jordan
    elimination with partial pivoting (``work`` (m, m) is scratch; a singular matrix
    gives inf or nan entries)."""
    m = a.shape[0]
    for r in range(m):
        for c in range(m):
            work[r, c] = a[r, c]
            out[r, c] = 1.0 if r == c else 0.0
    for c in range(m):
        piv = c
        for r in range(c + 1, m):
            if abs(work[r, c]) > abs(work[piv, c]):
                piv = r
        if piv != c:
            for k in range(m):
                work[c, k], work[piv, k] = work[piv, k], work[c, k]
                out[c, k], out[piv, k] = out[piv, k], out[c, k]
        f = 1.0 / work[c, c]
        for k in range(m):
            work[c, k] *= f
            out[c, k] *= f
        for r in range(m):
            if r != c and work[r, c] != 0.0:
                g = work[r, c]
                for k in range(m):
                    work[r, k] -= g * work[c, k]
                    out[r, k] -= g * out[c, k]


@njit(cache=True)
def invert(a: F64) -> F64:
    """Inverse of a small square matrix (m, m); see :func:`invert_into`."""
    out = np.empty_like(a)
    invert_into(a, out, np.empty_like(a))
    return out


@njit(cache=True)
def innovation_cov_into(p: F64, h: F64, r: F64, out: F64) -> None:
    """``S = H P H' + R`` (m, m) of one state into ``out``: ``p`` (6, 6), ``h`` (m, 6),
    ``r`` (m, m)."""
    m = h.shape[0]
    for a in range(m):
        for b in range(m):
            acc = r[a, b]
            for c in range(6):
                if h[a, c] != 0.0:
                    row = 0.0
                    for d in range(6):
                        row += p[c, d] * h[b, d]
                    acc += h[a, c] * row
            out[a, b] = acc


@njit(cache=True)
def innovation_cov(p: F64, h: F64, r: F64) -> F64:
    """``S = H P H' + R`` (m, m) of one state; see :func:`innovation_cov_into`."""
    out = np.empty_like(r)
    innovation_cov_into(p, h, r, out)
    return out


@njit(cache=True)
def gain_update(x: F64, p: F64, innovation: F64, h: F64, s_inv: F64, pht: F64, k: F64) -> None:
    """Kalman update of one state (6,) and covariance (6, 6) in place, given ``S^-1`` (m, m).

    ``x += K v`` and ``P -= K (P H')'``, symmetrised, with ``K = P H' S^-1``; with the
    optimal gain this equals the Joseph form and costs half as much. ``pht`` and ``k``
    (6, m) are scratch.
    """
    m = h.shape[0]
    for a in range(6):
        for b in range(m):
            acc = 0.0
            for c in range(6):
                acc += p[a, c] * h[b, c]
            pht[a, b] = acc
    for a in range(6):
        for b in range(m):
            acc = 0.0
            for c in range(m):
                acc += pht[a, c] * s_inv[c, b]
            k[a, b] = acc
    for a in range(6):
        acc = 0.0
        for b in range(m):
            acc += k[a, b] * innovation[b]
        x[a] += acc
    for a in range(6):
        for b in range(a, 6):
            kab = 0.0
            kba = 0.0
            for c in range(m):
                kab += k[a, c] * pht[b, c]
                kba += k[b, c] * pht[a, c]
            v = 0.5 * ((p[a, b] - kab) + (p[b, a] - kba))
            p[a, b] = v
            p[b, a] = v


@njit(cache=True)
def update_one(x: F64, p: F64, innovation: F64, h: F64, r: F64) -> float:
    """Kalman update of one state (6,) and covariance (6, 6) in place; returns the NIS
    (see :func:`gain_update`)."""
    m = h.shape[0]
    s_inv = invert(innovation_cov(p, h, r))
    gain_update(x, p, innovation, h, s_inv, np.empty((6, m)), np.empty((6, m)))
    nis = 0.0
    for a in range(m):
        for b in range(m):
            nis += innovation[a] * s_inv[a, b] * innovation[b]
    return nis


@njit(cache=True)
def update_kernel(x: F64, p: F64, innovation: F64, h: F64, r: F64) -> tuple[F64, F64, F64]:
    """Kernel of :func:`update`."""
    x_new = x.copy()
    p_new = p.copy()
    nis = np.empty(x.shape[0])
    for k in range(x.shape[0]):
        nis[k] = update_one(x_new[k], p_new[k], innovation[k], h[k], r[k])
    return x_new, p_new, nis


def update(x: F64, p: F64, innovation: F64, h: F64, r: F64) -> tuple[F64, F64, F64]:
    """Kalman update of every state with its own measurement.

    The covariance update is :math:`P - K S K^T`, symmetrised; with the optimal gain it
    equals the Joseph form and costs half as much.

    Parameters
    ----------
    x : (n, 6) states; p : (n, 6, 6) covariances.
    innovation : (n, m) measurement minus prediction (angles already wrapped).
    h : (n, m, 6) measurement Jacobian.
    r : (n, m, m) measurement covariance.

    Returns
    -------
    x, P updated, and the normalised innovation squared (n,).
    """

    def c(a: F64) -> F64:
        return np.ascontiguousarray(a, dtype=np.float64)

    # ``r`` as a fresh writable array: a read-only broadcast (one measurement's noise for
    # every state) would be another compiled specialisation of the kernel
    return update_kernel(c(x), c(p), c(innovation), c(h), np.array(r, np.float64, order="C"))


def wrap_angle(a: F64) -> F64:
    """Wrap angles to [-pi, pi)."""
    return np.asarray((a + np.pi) % (2 * np.pi) - np.pi)


def update_rae(
    x: F64, p: F64, z: F64, sigma: F64, site_ecef_m: F64, rot: F64
) -> tuple[F64, F64, F64]:
    """EKF update with range/az/el measurements ``z`` (n, 3) from one radar."""
    z_hat, h = rae_model(x, site_ecef_m, rot)
    innov = z - z_hat
    innov[:, 1:] = wrap_angle(innov[:, 1:])
    r = np.broadcast_to(np.diag(sigma**2), (x.shape[0], 3, 3))
    return update(x, p, innov, h, r)


def update_position(x: F64, p: F64, z_m: F64, sigma_m: float) -> tuple[F64, F64, F64]:
    """Linear Kalman update with ECEF position measurements ``z_m`` (n, 3)."""
    n = x.shape[0]
    h = np.zeros((n, 3, 6))
    h[:, :, :3] = np.eye(3)
    r = np.broadcast_to(np.eye(3) * sigma_m**2, (n, 3, 3))
    return update(x, p, z_m - x[:, :3], h, r)


def rae_covariance_ecef(rae: F64, sigma: F64, rot: F64) -> F64:
    """Covariance (n, 3, 3) of the ECEF positions of range/az/el measurements (linearised,
    :func:`rae_covariance_kernel`)."""
    out = np.empty((rae.shape[0], 3, 3))
    rae_covariance_kernel(
        np.ascontiguousarray(rae, dtype=np.float64).reshape(-1, 3),
        np.ascontiguousarray(sigma, dtype=np.float64),
        np.ascontiguousarray(rot, dtype=np.float64),
        out,
    )
    return out


@njit(cache=True)
def rae_covariance_kernel(rae: F64, sigma: F64, rot: F64, out: F64) -> None:
    """Covariances ``R^T J diag(sigma^2) J^T R`` into ``out`` (n, 3, 3) of measurements
    ``rae`` (n, 3) (range m, azimuth and elevation rad) with deviations ``sigma`` (3,),
    where ``J`` is the Jacobian of the site's ENU position in (range, az, el) and ``rot``
    (3, 3) turns ECEF into ENU."""
    j = np.empty((3, 3))
    enu = np.empty((3, 3))
    var = np.empty(3)
    for c in range(3):
        var[c] = sigma[c] * sigma[c]
    for k in range(rae.shape[0]):
        r, az, el = rae[k, 0], rae[k, 1], rae[k, 2]
        ce, se, ca, sa = math.cos(el), math.sin(el), math.cos(az), math.sin(az)
        j[0, 0], j[0, 1], j[0, 2] = ce * sa, r * ce * ca, -r * se * sa
        j[1, 0], j[1, 1], j[1, 2] = ce * ca, -r * ce * sa, -r * se * ca
        j[2, 0], j[2, 1], j[2, 2] = se, 0.0, r * ce
        for a in range(3):
            for b in range(3):
                acc = 0.0
                for c in range(3):
                    acc += j[a, c] * var[c] * j[b, c]
                enu[a, b] = acc
        for a in range(3):
            for b in range(3):
                acc = 0.0
                for c in range(3):
                    for d in range(3):
                        acc += rot[c, a] * enu[c, d] * rot[d, b]
                out[k, a, b] = acc


def rae_to_ecef(rae: F64, site_ecef_m: F64, rot: F64) -> F64:
    """ECEF positions (n, 3) of range/az/el measurements (n, 3) from a site (3,) whose
    ENU axes are the rows of ``rot`` (3, 3)."""
    out = np.empty((rae.shape[0], 3))
    rae_to_ecef_kernel(
        np.ascontiguousarray(rae, dtype=np.float64).reshape(-1, 3),
        np.ascontiguousarray(site_ecef_m, dtype=np.float64),
        np.ascontiguousarray(rot, dtype=np.float64),
        out,
    )
    return out


@njit(cache=True)
def rae_to_ecef_kernel(rae: F64, site_ecef_m: F64, rot: F64, out: F64) -> None:
    """Kernel of :func:`rae_to_ecef`: ``out`` (n, 3) is ``enu R + site``."""
    for k in range(rae.shape[0]):
        r, az, el = rae[k, 0], rae[k, 1], rae[k, 2]
        e, n, u = r * math.cos(el) * math.sin(az), r * math.cos(el) * math.cos(az), r * math.sin(el)
        for c in range(3):
            out[k, c] = e * rot[0, c] + n * rot[1, c] + u * rot[2, c] + site_ecef_m[c]
