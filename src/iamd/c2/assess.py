"""Threat assessment: predicted path, impact point, threatened asset, value at risk.

Ballistic tracks are flown forward from their estimated state with gravity and the
class's drag (step chosen from the vacuum Kepler time to impact); drones and
cruise missiles are extrapolated along their current velocity, and the asset their
ground track passes closest to (within its radius plus a margin) is the one
threatened.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from iamd.geo import GM_EARTH_M3_S2
from iamd.physics.ballistic import integrate, surface_radius_m

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
BOOL = NDArray[np.bool_]

PATH_STEPS = 24
ROUTE_HORIZON_S = 1800.0


@dataclass(frozen=True, slots=True)
class AssetGeometry:
    """Defended assets in the theatre's local east-north frame.

    Attributes
    ----------
    centre_en_m : (a, 2) reference points, m.
    radius_m : (a,) radius of point assets (0 for polygons), m.
    polygons : tuple of (v, 2) vertex arrays in EN metres (None for point assets).
    extent_m : (a,) radius of the circle about the reference point that holds the asset.
    value : (a,) relative value.
    origin_m : (3,) ECEF position of the theatre origin (on the ellipsoid).
    rot : (2, 3) east and north axes of the theatre frame in ECEF.
    """

    centre_en_m: F64
    radius_m: F64
    polygons: tuple[F64 | None, ...]
    extent_m: F64
    value: F64
    origin_m: F64
    rot: F64

    def to_en(self, pos_m: F64) -> F64:
        """ECEF points (..., 3) to theatre east-north, m."""
        return np.asarray((pos_m - self.origin_m) @ self.rot.T)

    def hit(self, pos_m: F64, margin_m: float = 0.0) -> I64:
        """Index of the asset each ground point (k, 3) falls in (-1 for open ground).

        When several contain a point, the most valuable one is reported.
        """
        en = self.to_en(pos_m)
        best = np.full(en.shape[0], -1, dtype=np.int64)
        best_val = np.full(en.shape[0], -np.inf)
        for a in range(self.value.shape[0]):  # loop over assets (tens), vectorised over points
            poly = self.polygons[a]
            if poly is None:
                inside = np.hypot(*(en - self.centre_en_m[a]).T) <= self.radius_m[a] + margin_m
            else:
                inside = points_in_polygon(en, poly)
            take = inside & (self.value[a] > best_val)
            best[take] = a
            best_val[take] = self.value[a]
        return best


def points_in_polygon(pts: F64, poly: F64) -> BOOL:
    """Even-odd rule test of points (k, 2) against a polygon (v, 2)."""
    x, y = pts[:, 0:1], pts[:, 1:2]
    x1, y1 = poly[:, 0], poly[:, 1]
    x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
    crosses = (y1 > y) != (y2 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
    return np.asarray((crosses & (x < x_at)).sum(axis=1) % 2 == 1)


def kepler_time_to_ground_s(x: F64) -> F64:
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


@dataclass(frozen=True, slots=True)
class ThreatAssessment:
    """Assessment of k tracked threats at their last update.

    Attributes
    ----------
    threat : (k,) threat indices.
    impact_m : (k, 3) predicted ECEF impact (or end-of-horizon) point.
    t_impact_s : (k,) predicted impact time (absolute), s.
    asset : (k,) threatened asset (-1: open ground).
    value_at_risk : (k,) asset value times the class's damage share.
    path_t_s : (k, PATH_STEPS + 1) absolute times of the predicted path.
    path_m : (k, PATH_STEPS + 1, 3) predicted ECEF positions.
    """

    threat: I64
    impact_m: F64
    t_impact_s: F64
    asset: I64
    value_at_risk: F64
    path_t_s: F64
    path_m: F64


def predict_ballistic(x: F64, beta_kg_m2: F64) -> tuple[F64, F64, F64]:
    """Fly ballistic track states to the ground.

    Returns
    -------
    path_rel_s : (n, PATH_STEPS + 1) time from the state, s.
    path_m : (n, PATH_STEPS + 1, 3) positions.
    impact_m, t_impact_rel_s stacked as (n, 4): impact point and time to go.
    """
    n = x.shape[0]
    t_vac = kepler_time_to_ground_s(x)
    t_guess = np.where(np.isfinite(t_vac), t_vac, 3600.0)
    dt = np.maximum(1.2 * t_guess / PATH_STEPS, 0.05)
    states, t_imp, impact, _ = integrate(x[:, :3], x[:, 3:], beta_kg_m2, dt, PATH_STEPS)
    path = np.empty((n, PATH_STEPS + 1, 3))
    path[:, : states.shape[1]] = states[:, :, :3]
    path[:, states.shape[1] :] = states[:, -1:, :3]
    miss = ~np.isfinite(t_imp)
    if miss.any():  # not down yet (drag lengthened the flight): take the last point
        impact[miss] = path[miss, -1]
        t_imp[miss] = dt[miss] * PATH_STEPS
    rel = dt[:, None] * np.arange(PATH_STEPS + 1)
    rel = np.minimum(rel, t_imp[:, None])
    done = np.arange(PATH_STEPS + 1)[None, :] * dt[:, None] >= t_imp[:, None]
    path = np.where(done[..., None], impact[:, None, :], path)
    return np.asarray(rel, dtype=np.float64), path, np.concatenate([impact, t_imp[:, None]], axis=1)


def predict_route(x: F64, assets: AssetGeometry, margin_m: float) -> tuple[F64, F64, F64, I64]:
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


def assess(
    threat: I64,
    x: F64,
    t_track_s: F64,
    ballistic: BOOL,
    beta_kg_m2: F64,
    damage: F64,
    assets: AssetGeometry,
    margin_m: float,
) -> ThreatAssessment:
    """Assess tracked threats from their state estimates.

    Parameters
    ----------
    threat : (k,) threat indices; x : (k, 6) track states at times ``t_track_s`` (k,).
    ballistic : (k,) flight kind per track; beta_kg_m2, damage : (k,) class figures.
    """
    k = threat.shape[0]
    rel = np.zeros((k, PATH_STEPS + 1))
    path = np.zeros((k, PATH_STEPS + 1, 3))
    imp = np.zeros((k, 4))
    asset = np.full(k, -1, dtype=np.int64)
    b = ballistic
    if b.any():
        rel[b], path[b], imp[b] = predict_ballistic(x[b], beta_kg_m2[b])
        asset[b] = assets.hit(imp[b, :3], margin_m)
    if (~b).any():
        r = ~b
        rel[r], path[r], imp[r], asset[r] = predict_route(x[r], assets, margin_m)
    value = np.where(asset >= 0, assets.value[np.maximum(asset, 0)] * damage, 0.0)
    return ThreatAssessment(
        threat=threat,
        impact_m=imp[:, :3],
        t_impact_s=t_track_s + imp[:, 3],
        asset=asset,
        value_at_risk=value,
        path_t_s=t_track_s[:, None] + rel,
        path_m=path,
    )
