"""The NumPy ballistic integrator that :func:`iamd.physics.ballistic.integrate`'s compiled
kernel replaced, kept as its oracle: RK4 over all missiles at once, steps split where drag
is stiff, ground contact interpolated."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from iamd.physics import ballistic
from iamd.physics.ballistic import Earth, _acceleration_at, acceleration

F64 = NDArray[np.float64]


def _rk4(x: F64, dt: F64, beta_kg_m2: F64, earth: Earth, a1: F64 | None = None) -> F64:
    """One classical RK4 step of states (n, 6) with steps ``dt`` (n, 1); ``a1`` (n, 3), the
    acceleration at ``x``, when the caller has it already (the end of the last step)."""
    half = 0.5 * dt
    p0, v0 = x[:, :3], x[:, 3:]
    if a1 is None:
        a1 = acceleration(p0, v0, beta_kg_m2, earth)
    v1 = v0 + half * a1
    a2 = acceleration(p0 + half * v0, v1, beta_kg_m2, earth)
    v2 = v0 + half * a2
    a3 = acceleration(p0 + half * v1, v2, beta_kg_m2, earth)
    v3 = v0 + dt * a3
    a4 = acceleration(p0 + dt * v2, v3, beta_kg_m2, earth)
    sixth = dt / 6.0
    x_new = np.empty_like(x)
    x_new[:, :3] = p0 + sixth * (v0 + 2.0 * v1 + 2.0 * v2 + v3)
    x_new[:, 3:] = v0 + sixth * (a1 + 2.0 * a2 + 2.0 * a3 + a4)
    return x_new


def _substeps(x: F64, dt_s: F64, beta_kg_m2: F64, parts: F64, earth: Earth) -> F64:
    """Steps ``dt_s`` (m,) of states (m, 6), each taken as ``parts`` (m,) equal RK4 steps."""
    x = x.copy()
    h = (dt_s / parts)[:, None]
    for q in range(int(parts.max())):  # a few missiles, in steep drag: parts of one step
        on = np.flatnonzero(parts > q)
        x[on] = _rk4(x[on], h[on], beta_kg_m2[on], earth)
    return x


def integrate_numpy(
    pos_m: F64,
    vel_m_s: F64,
    beta_kg_m2: F64,
    dt_s: F64,
    max_steps: int,
    earth: Earth = "ellipsoid",
) -> tuple[F64, F64, F64, NDArray[np.int64]]:
    """Fly many ballistic states with RK4 until each reaches the ground.

    Parameters
    ----------
    pos_m, vel_m_s : (n, 3) initial ECEF state.
    beta_kg_m2 : (n,) ballistic coefficient (``np.inf`` for vacuum).
    dt_s : (n,) step per missile, s.
    max_steps : int
        Steps at most; a missile still flying then is reported with ``steps = max_steps``.

    Returns
    -------
    states : (n, max_steps + 1, 6) position and velocity at each step (frozen after impact).
    t_impact_s : (n,) time from the start to ground contact (interpolated), s.
    impact_m : (n, 3) ECEF ground contact point.
    steps : (n,) number of whole steps flown before contact.
    """
    n = pos_m.shape[0]
    states = np.empty((n, max_steps + 1, 6))
    x = np.concatenate([pos_m, vel_m_s], axis=1)
    states[:, 0] = x
    flying = np.ones(n, dtype=bool)
    steps = np.full(n, max_steps, dtype=np.int64)
    t_impact = np.full(n, np.nan)
    impact = np.full((n, 3), np.nan)
    dt = dt_s[:, None]
    # the acceleration at the end of a step is the first stage of the next one, and it
    # tells whether that step was stiff (its drag rate) and whether it reached the ground
    a, rate, alt_prev = _acceleration_at(x[:, :3], x[:, 3:], beta_kg_m2, earth)

    for k in range(1, max_steps + 1):
        x_new = _rk4(x, dt, beta_kg_m2, earth, a1=a)
        with np.errstate(invalid="ignore", over="ignore"):
            a_end, rate_end, alt = _acceleration_at(x_new[:, :3], x_new[:, 3:], beta_kg_m2, earth)
        # where drag is stiffer than the step allows, at its start or at its end (a step
        # from thin air into dense air, or one that diverged), take it in parts
        worst = np.maximum(rate, np.nan_to_num(rate_end, nan=np.inf))
        parts = np.minimum(np.ceil(dt_s * worst / ballistic.STIFF_STEP), ballistic.MAX_PARTS)
        stiff = np.flatnonzero(flying & (parts > 1))
        if stiff.size:
            x_new[stiff] = _substeps(x[stiff], dt_s[stiff], beta_kg_m2[stiff], parts[stiff], earth)
            a_end[stiff], rate_end[stiff], alt[stiff] = _acceleration_at(
                x_new[stiff, :3], x_new[stiff, 3:], beta_kg_m2[stiff], earth
            )
        hit = flying & (alt <= 0.0) & (k > 1)
        if hit.any():
            frac = alt_prev[hit] / (alt_prev[hit] - alt[hit])
            impact[hit] = x[hit, :3] + frac[:, None] * (x_new[hit, :3] - x[hit, :3])
            t_impact[hit] = (k - 1 + frac) * dt_s[hit]
            steps[hit] = k - 1
            flying &= ~hit
        x = np.where(flying[:, None], x_new, x)
        a = np.where(flying[:, None], a_end, a)
        rate = np.where(flying, rate_end, rate)
        alt_prev = np.where(flying, alt, alt_prev)
        states[:, k] = x
        if not flying.any():
            return states[:, : k + 1], t_impact, impact, steps
    return states, t_impact, impact, steps
