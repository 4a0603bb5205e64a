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

import numpy as np
from numpy.typing import NDArray

from iamd.physics.atmosphere import density_kg_m3
from iamd.physics.ballistic import acceleration, altitude_m

F64 = NDArray[np.float64]

SINGLE_STEP_S = 10.0
"""Ballistic predictions up to this long use one midpoint step, longer ones two
(the step error is far below the process noise at scan and reporting intervals)."""
MAX_DRAG_STEP = 0.5
"""Largest drag rate times step (explicit midpoint is stable below 2)."""
MAX_STEPS = 200
"""Cap on integration steps of one prediction."""
EYE3 = np.eye(3)


def predict(
    x: F64, p: F64, dt_s: F64, q_m2_s3: F64, ballistic: NDArray[np.bool_], beta_kg_m2: F64
) -> tuple[F64, F64]:
    """Predict every state ``dt_s`` (n,) ahead.

    Parameters
    ----------
    q_m2_s3 : (n,) white-acceleration spectral density (process noise), m^2/s^3.
    ballistic : (n,) use the ballistic model (True) or constant velocity (False).
    beta_kg_m2 : (n,) ballistic coefficient for the drag term.
    """
    dt = dt_s[:, None]
    x_new = x.copy()
    x_new[:, :3] = x[:, :3] + x[:, 3:] * dt
    if ballistic.any():
        b = ballistic
        # midpoint integration: two half steps beyond a few seconds, and small enough
        # steps that the drag term (stiff in dense air) stays stable
        xb = x[b]
        dtb = np.abs(dt_s[b])
        rho = density_kg_m3(altitude_m(xb[:, :3]))
        drag_rate = rho * np.linalg.norm(xb[:, 3:], axis=1) / (2.0 * beta_kg_m2[b])
        steps = 1 if float(dtb.max()) <= SINGLE_STEP_S else 2
        steps = max(steps, int(np.ceil(float(np.max(drag_rate * dtb)) / MAX_DRAG_STEP)))
        steps = min(steps, MAX_STEPS)
        h = dt[b] / steps
        for _ in range(steps):
            a1 = acceleration(xb[:, :3], xb[:, 3:], beta_kg_m2[b])
            mid_p = xb[:, :3] + 0.5 * h * xb[:, 3:]
            mid_v = xb[:, 3:] + 0.5 * h * a1
            a2 = acceleration(mid_p, mid_v, beta_kg_m2[b])
            xb = np.concatenate([xb[:, :3] + h * mid_v, xb[:, 3:] + h * a2], axis=1)
        x_new[b] = xb
    # P' = F P F' + Q with F = [[I, dt I], [0, I]], written out by blocks
    d = dt_s[:, None, None]
    q = q_m2_s3[:, None, None]
    pp, pv, vp, vv = p[:, :3, :3], p[:, :3, 3:], p[:, 3:, :3], p[:, 3:, 3:]
    p_new = np.empty_like(p)
    p_new[:, :3, :3] = pp + d * (pv + vp) + d * d * vv + (q * d**3 / 3.0) * EYE3
    cross = pv + d * vv + (q * d**2 / 2.0) * EYE3
    p_new[:, :3, 3:] = cross
    p_new[:, 3:, :3] = np.transpose(cross, (0, 2, 1))
    p_new[:, 3:, 3:] = vv + (q * d) * EYE3
    return x_new, p_new


def rae_model(x: F64, site_ecef_m: F64, rot: F64) -> tuple[F64, F64]:
    """Range/azimuth/elevation of states seen from one site, and its Jacobian.

    Returns
    -------
    z : (n, 3) range m, azimuth rad (from north), elevation rad.
    h : (n, 3, 6) Jacobian with respect to the state.
    """
    enu = (x[:, :3] - site_ecef_m) @ rot.T
    e, nn, u = enu[:, 0], enu[:, 1], enu[:, 2]
    hor2 = np.maximum(e * e + nn * nn, 1e-6)
    hor = np.sqrt(hor2)
    r2 = hor2 + u * u
    r = np.sqrt(r2)
    z = np.stack([r, np.mod(np.arctan2(e, nn), 2 * np.pi), np.arctan2(u, hor)], axis=1)
    j = np.zeros((x.shape[0], 3, 3))
    j[:, 0] = enu / r[:, None]
    j[:, 1, 0] = nn / hor2
    j[:, 1, 1] = -e / hor2
    j[:, 2, 0] = -e * u / (r2 * hor)
    j[:, 2, 1] = -nn * u / (r2 * hor)
    j[:, 2, 2] = hor / r2
    h = np.zeros((x.shape[0], 3, 6))
    h[:, :, :3] = j @ rot
    return z, h


def update(x: F64, p: F64, innovation: F64, h: F64, r: F64) -> tuple[F64, F64, F64]:
    """Kalman update of every state with its own measurement.

    The covariance update is :math:`P - K S K^T`, symmetrised; with the optimal gain it
    equals the Joseph form and costs half as much.

    Parameters
    ----------
    innovation : (n, m) measurement minus prediction (angles already wrapped).
    h : (n, m, 6) measurement Jacobian.
    r : (n, m, m) measurement covariance.

    Returns
    -------
    x, P updated, and the normalised innovation squared (n,).
    """
    ht = np.transpose(h, (0, 2, 1))
    s = h @ p @ ht + r
    s_inv = np.linalg.inv(s)
    pht = p @ ht
    k = pht @ s_inv
    x_new = x + np.einsum("nij,nj->ni", k, innovation)
    p_new = p - k @ np.transpose(pht, (0, 2, 1))
    nis = np.einsum("ni,nij,nj->n", innovation, s_inv, innovation)
    return x_new, 0.5 * (p_new + np.transpose(p_new, (0, 2, 1))), nis


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
    """Covariance (n, 3, 3) of the ECEF positions of range/az/el measurements (linearised)."""
    r, az, el = rae[:, 0], rae[:, 1], rae[:, 2]
    ce, se, ca, sa = np.cos(el), np.sin(el), np.cos(az), np.sin(az)
    j = np.zeros((rae.shape[0], 3, 3))
    j[:, 0] = np.stack([ce * sa, r * ce * ca, -r * se * sa], axis=1)
    j[:, 1] = np.stack([ce * ca, -r * ce * sa, -r * se * ca], axis=1)
    j[:, 2] = np.stack([se, np.zeros_like(r), r * ce], axis=1)
    cov_enu = j @ np.diag(sigma**2) @ np.transpose(j, (0, 2, 1))
    return np.asarray(rot.T @ cov_enu @ rot)
