"""Threat assessment: predicted path, impact point with its uncertainty, hit probability,
threatened asset, value at risk.

Ballistic tracks are flown forward from their estimated state with gravity and the
class's drag (step chosen from the vacuum Kepler time to impact). The track covariance
is carried to the ground by the 12 symmetric sigma points of the unscented transform
(Julier and Uhlmann 1997, kappa = 0), each flown by the same model; the impact points
give a Gaussian on the ground, and the probability that each defended asset is hit is
its mass inside the asset (a fixed set of quasi-random normal samples, so the result is
deterministic). Drones and cruise missiles are assessed by :mod:`iamd.c2.routes`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtri

from iamd.c2.assets import AssetGeometry
from iamd.c2.routes import COV_FLOOR_M2, PATH_STEPS, assess_routes
from iamd.geo import GM_EARTH_M3_S2
from iamd.physics.ballistic import integrate, surface_radius_m

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
BOOL = NDArray[np.bool_]

HIT_SAMPLES = 256
"""Quasi-random normal samples per ballistic impact distribution."""


def _halton(n: int, base: int) -> F64:
    """First ``n`` points of the van der Corput sequence in ``base`` (skipping 0)."""
    out = np.zeros(n)
    idx = np.arange(1, n + 1)
    f = 1.0
    while (idx > 0).any():
        f /= base
        out += f * (idx % base)
        idx //= base
    return out


NORMAL_2D = ndtri(np.stack([_halton(HIT_SAMPLES, 2), _halton(HIT_SAMPLES, 3)], axis=1))
"""(HIT_SAMPLES, 2) standard normal samples (Halton points through the inverse CDF)."""


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
    asset : (k,) threatened asset (-1: open ground), the one with most value at risk.
    p_hit : (k,) probability that the threatened asset is hit (0 for open ground).
    value_at_risk : (k,) sum over assets of hit probability, value and damage share.
    path_t_s : (k, PATH_STEPS + 1) absolute times of the predicted path.
    path_m : (k, PATH_STEPS + 1, 3) predicted ECEF positions.
    """

    threat: I64
    impact_m: F64
    t_impact_s: F64
    asset: I64
    p_hit: F64
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


def sigma_points(x: F64, cov: F64) -> F64:
    """The 2n symmetric sigma points (k, 12, 6) of states x (k, 6) with covariances (k, 6, 6).

    Points ``x +- sqrt(n) L e_i`` with ``L L^T = cov``: equal weights, mean and
    covariance reproduced exactly (unscented transform with kappa = 0).
    """
    n = x.shape[1]
    chol = np.linalg.cholesky(cov + COV_FLOOR_M2 * np.eye(n))
    step = np.sqrt(n) * np.swapaxes(chol, 1, 2)  # rows: sqrt(n) * columns of L
    return np.concatenate([x[:, None, :] + step, x[:, None, :] - step], axis=1)


def ballistic_hit_probability(
    x: F64, cov: F64, beta_kg_m2: F64, assets: AssetGeometry, margin_m: float
) -> F64:
    """Probability (k, a) that each ballistic track's impact falls in each asset.

    The sigma points of each track are flown to the ground; their impact points'
    mean and covariance in the theatre plane define a Gaussian whose mass in each
    asset is estimated with ``HIT_SAMPLES`` fixed quasi-random samples.
    """
    k, n_a = x.shape[0], assets.value.shape[0]
    pts = sigma_points(x, cov).reshape(-1, 6)
    _, _, imp = predict_ballistic(pts, np.repeat(beta_kg_m2, 2 * x.shape[1]))
    en = assets.to_en(imp[:, :3]).reshape(k, -1, 2)
    mean = en.mean(axis=1)
    dev = en - mean[:, None, :]
    c2 = np.einsum("kpi,kpj->kij", dev, dev) / dev.shape[1] + np.eye(2)  # + 1 m^2 floor
    chol = np.linalg.cholesky(c2)
    samples = mean[:, None, :] + np.einsum("kij,sj->ksi", chol, NORMAL_2D)
    hit = assets.hit_en(samples.reshape(-1, 2), margin_m).reshape(k, HIT_SAMPLES)
    rows = np.repeat(np.arange(k), HIT_SAMPLES)
    counts = np.zeros((k, n_a + 1))
    np.add.at(counts, (rows, hit.ravel() + 1), 1.0)  # column 0: open ground
    return np.asarray(counts[:, 1:] / HIT_SAMPLES)


def assess(
    threat: I64,
    x: F64,
    t_track_s: F64,
    ballistic: BOOL,
    beta_kg_m2: F64,
    damage: F64,
    assets: AssetGeometry,
    margin_m: float,
    cov: F64 | None = None,
    defended: BOOL | None = None,
) -> ThreatAssessment:
    """Assess tracked threats from their state estimates and covariances.

    Parameters
    ----------
    threat : (k,) threat indices; x : (k, 6) track states at times ``t_track_s`` (k,).
    ballistic : (k,) flight kind per track; beta_kg_m2, damage : (k,) class figures.
    cov : (k, 6, 6) track covariances (m, m/s); None assesses the state as exact.
    defended : (a,) the assets the assessing node defends (None: all); value at risk and
        the threatened asset count those only.
    """
    k = threat.shape[0]
    cov = np.zeros((k, 6, 6)) if cov is None else cov
    rel = np.zeros((k, PATH_STEPS + 1))
    path = np.zeros((k, PATH_STEPS + 1, 3))
    imp = np.zeros((k, 4))
    p_asset = np.zeros((k, assets.value.shape[0]))
    b = ballistic
    if b.any():
        rel[b], path[b], imp[b] = predict_ballistic(x[b], beta_kg_m2[b])
        p_asset[b] = ballistic_hit_probability(x[b], cov[b], beta_kg_m2[b], assets, margin_m)
    if (~b).any():
        r = ~b
        rel[r], path[r], imp[r], _, p_asset[r], _ = assess_routes(x[r], cov[r], assets, margin_m)
    value = assets.value if defended is None else np.where(defended, assets.value, 0.0)
    at_risk = p_asset * value[None, :] * damage[:, None]
    top = np.argmax(at_risk, axis=1)
    rows = np.arange(k)
    p_hit = np.where(value[top] > 0, p_asset[rows, top], 0.0)
    asset = np.where(p_hit > 0, top, -1).astype(np.int64)
    return ThreatAssessment(
        threat=threat,
        impact_m=imp[:, :3],
        t_impact_s=t_track_s + imp[:, 3],
        asset=asset,
        p_hit=np.where(asset >= 0, p_hit, 0.0),
        value_at_risk=at_risk.sum(axis=1),
        path_t_s=t_track_s[:, None] + rel,
        path_m=path,
    )
