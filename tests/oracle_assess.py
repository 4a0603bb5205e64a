"""The NumPy assessment code that compiled kernels replaced, kept as their oracles: the
route assessment (:mod:`iamd.c2.routes`), the asset hit test
(:func:`iamd.c2.assets.hit_kernel`), the Kepler time to ground and the impact
distribution's hit probabilities (:mod:`iamd.c2.assess`)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

from iamd.c2.assess import HIT_SAMPLES, NORMAL_2D
from iamd.c2.assets import AssetGeometry
from iamd.c2.routes import COV_FLOOR_M2, PATH_STEPS, ROUTE_HORIZON_S
from iamd.geo import GM_EARTH_M3_S2
from iamd.physics.ballistic import surface_radius_m

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
BOOL = NDArray[np.bool_]


def hit_en_numpy(assets: AssetGeometry, en: F64, margin_m: float = 0.0) -> I64:
    """Index of the asset each point (k, 2) in the theatre's east-north frame falls in."""
    best = np.full(en.shape[0], -1, dtype=np.int64)
    best_val = np.full(en.shape[0], -np.inf)
    for a in range(assets.value.shape[0]):  # loop over assets (tens), vectorised over points
        poly = assets.polygons[a]
        dist = np.hypot(*(en - assets.centre_en_m[a]).T)
        if poly is None:
            inside = dist <= assets.radius_m[a] + margin_m
        else:  # only points inside the circle that holds the polygon can be in it
            inside = dist <= assets.extent_m[a]
            near = np.flatnonzero(inside)
            inside[near] = points_in_polygon_numpy(en[near], poly)
        take = inside & (assets.value[a] > best_val)
        best[take] = a
        best_val[take] = assets.value[a]
    return best


def points_in_polygon_numpy(pts: F64, poly: F64) -> BOOL:
    """Even-odd rule test of points (k, 2) against a polygon (v, 2)."""
    x, y = pts[:, 0:1], pts[:, 1:2]
    x1, y1 = poly[:, 0], poly[:, 1]
    x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
    crosses = (y1 > y) != (y2 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
    return np.asarray((crosses & (x < x_at)).sum(axis=1) % 2 == 1)


def predict_route_numpy(
    x: F64, assets: AssetGeometry, margin_m: float
) -> tuple[F64, F64, F64, I64]:
    """Extrapolate drones and cruise missiles in level flight along their ground velocity.

    Returns path_rel_s, path_m, (impact, t_go) stacked (n, 4), threatened asset (n,).
    """
    n = x.shape[0]
    pos_en = assets.to_en(x[:, :3])
    vel_en = assets.to_en(x[:, :3] + x[:, 3:]) - pos_en
    speed = np.maximum(np.hypot(vel_en[:, 0], vel_en[:, 1]), 1e-3)
    u = vel_en / speed[:, None]
    d = assets.centre_en_m[None] - pos_en[:, None]  # (n, a, 2)
    along = d[..., 0] * u[:, None, 0] + d[..., 1] * u[:, None, 1]
    cross = np.abs(d[..., 0] * u[:, None, 1] - d[..., 1] * u[:, None, 0])
    ok = (along > 0) & (cross <= assets.extent_m[None] + margin_m)
    along = np.where(ok, along, np.inf)
    nearest = np.argmin(along, axis=1)  # the first asset the ground track passes
    rows = np.arange(n)
    hit = np.isfinite(along[rows, nearest])
    asset = np.where(hit, nearest, -1).astype(np.int64)
    t_go = np.where(hit, along[rows, nearest] / speed, ROUTE_HORIZON_S)
    rel = t_go[:, None] * np.linspace(0.0, 1.0, PATH_STEPS + 1)[None, :]
    # level flight: horizontal velocity only, each point lifted back to the current radius
    r = np.linalg.norm(x[:, :3], axis=1, keepdims=True)
    up = x[:, :3] / r
    v_h = x[:, 3:] - np.sum(x[:, 3:] * up, axis=1, keepdims=True) * up
    path = x[:, None, :3] + rel[..., None] * v_h[:, None, :]
    path *= r[:, :, None] / np.linalg.norm(path, axis=2, keepdims=True)
    impact = path[:, -1]
    return rel, path, np.concatenate([impact, t_go[:, None]], axis=1), asset


def route_hit_probability_numpy(
    x: F64, cov: F64, assets: AssetGeometry, margin_m: float
) -> tuple[F64, F64]:
    """Probability (k, a) that each route's first strike is on each asset; time to it (k, a).

    Level flight along the current ground velocity; at each asset ahead, the
    cross-track error has variance ``u_perp^T (P_pos + t^2 P_vel) u_perp`` (positions
    and velocities projected on the theatre plane, their correlation neglected), and
    the route passes within the asset's extent with probability ``p_a``. A one-way
    threat strikes the first such asset, so asset ``a`` is struck with probability
    ``p_a prod_{b before a} (1 - p_b)``. Assets behind the threat: 0 and time ``inf``.
    """
    pos_en = assets.to_en(x[:, :3])
    vel_en = assets.to_en(x[:, :3] + x[:, 3:]) - pos_en
    speed = np.maximum(np.hypot(vel_en[:, 0], vel_en[:, 1]), 1e-3)
    u = vel_en / speed[:, None]
    perp = np.stack([-u[:, 1], u[:, 0]], axis=1)  # (k, 2)
    d = assets.centre_en_m[None] - pos_en[:, None]  # (k, a, 2)
    along = d[..., 0] * u[:, None, 0] + d[..., 1] * u[:, None, 1]
    cross = d[..., 0] * perp[:, None, 0] + d[..., 1] * perp[:, None, 1]
    r = assets.rot
    w_perp = perp @ r  # (k, 3): cross-track direction in ECEF
    var_pos = np.einsum("ki,kij,kj->k", w_perp, cov[:, :3, :3], w_perp)
    var_vel = np.einsum("ki,kij,kj->k", w_perp, cov[:, 3:, 3:], w_perp)
    t_go = np.where(along > 0, along / speed[:, None], np.inf)
    t_fin = np.where(np.isfinite(t_go), t_go, 0.0)
    sigma = np.sqrt(var_pos[:, None] + t_fin**2 * var_vel[:, None] + COV_FLOOR_M2)
    half = assets.extent_m[None] + margin_m
    p = np.where(along > 0, ndtr((half - cross) / sigma) - ndtr((-half - cross) / sigma), 0.0)
    order = np.argsort(t_go, axis=1, kind="stable")
    p_sorted = np.take_along_axis(p, order, axis=1)
    ones = np.ones((p.shape[0], 1))
    missed_before = np.cumprod(np.concatenate([ones, 1.0 - p_sorted[:, :-1]], axis=1), axis=1)
    first = np.empty_like(p)
    np.put_along_axis(first, order, p_sorted * missed_before, axis=1)
    return first, np.asarray(t_go)


def kepler_time_to_ground_s_numpy(x: F64) -> F64:
    """Vacuum time until each state (n, 6) descends to the ground radius, s (inf if never)."""
    r_vec, v_vec = x[:, :3], x[:, 3:]
    r = np.linalg.norm(r_vec, axis=1)
    h = np.cross(r_vec, v_vec)
    p = np.sum(h * h, axis=1) / GM_EARTH_M3_S2
    e_vec = np.cross(v_vec, h) / GM_EARTH_M3_S2 - r_vec / r[:, None]
    e = np.maximum(np.linalg.norm(e_vec, axis=1), 1e-9)
    a = p / np.maximum(1.0 - e * e, 1e-12)
    ground = surface_radius_m(r_vec)
    cos_now = np.clip((p / r - 1.0) / e, -1.0, 1.0)
    theta_now = np.where(
        np.sum(r_vec * v_vec, axis=1) >= 0, np.arccos(cos_now), 2 * np.pi - np.arccos(cos_now)
    )
    cos_imp = (p / ground - 1.0) / e
    reaches = cos_imp <= 1.0
    theta_imp = 2 * np.pi - np.arccos(np.clip(cos_imp, -1.0, 1.0))

    def mean_anomaly(theta: F64) -> F64:
        ecc = 2 * np.arctan2(np.sqrt(1 - e) * np.sin(theta / 2), np.sqrt(1 + e) * np.cos(theta / 2))
        return np.asarray(np.mod(ecc - e * np.sin(ecc), 2 * np.pi))

    dm = np.mod(mean_anomaly(theta_imp) - mean_anomaly(theta_now), 2 * np.pi)
    t = dm / np.sqrt(GM_EARTH_M3_S2 / a**3)
    return np.asarray(np.where(reaches & (r > ground), t, np.where(r <= ground, 0.0, np.inf)))


def impact_probability_numpy(imp_m: F64, assets: AssetGeometry, margin_m: float) -> F64:
    """Probability (k, a) that each impact distribution, given by its sigma points' impact
    points (k, m, 3), falls in each asset."""
    k, n_a = imp_m.shape[0], assets.value.shape[0]
    imp = imp_m.reshape(-1, 3)
    en = assets.to_en(imp).reshape(k, -1, 2)
    mean = en.mean(axis=1)
    dev = en - mean[:, None, :]
    c2 = np.einsum("kpi,kpj->kij", dev, dev) / dev.shape[1] + np.eye(2)  # + 1 m^2 floor
    chol = np.linalg.cholesky(c2)
    samples = mean[:, None, :] + np.einsum("kij,sj->ksi", chol, NORMAL_2D)
    hit = hit_en_numpy(assets, samples.reshape(-1, 2), margin_m).reshape(k, HIT_SAMPLES)
    rows = np.repeat(np.arange(k), HIT_SAMPLES)
    counts = np.zeros((k, n_a + 1))
    np.add.at(counts, (rows, hit.ravel() + 1), 1.0)  # column 0: open ground
    return np.asarray(counts[:, 1:] / HIT_SAMPLES)
