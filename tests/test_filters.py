"""Batched EKF: consistency (NEES) over Monte Carlo runs, for both motion models."""

import numpy as np
from scipy import stats

from iamd.geo import enu_rotation, geodetic2ecef
from iamd.tracking.filters import predict, rae_model, update_rae


def run_nees(truth_x: np.ndarray, dt: float, ballistic: bool, beta: float, q: float) -> np.ndarray:
    """Average NEES per step over the runs (truth_x: (runs, steps, 6))."""
    runs, steps, _ = truth_x.shape
    rng = np.random.default_rng(7)
    lat, lon = np.radians(32.0), np.radians(35.0)
    site = geodetic2ecef(lat, lon, 0.0)
    rot = enu_rotation(lat, lon)
    sigma = np.array([20.0, 1e-3, 1e-3])
    x = truth_x[:, 0] + rng.normal(0, 1, (runs, 6)) * np.array([200.0] * 3 + [50.0] * 3)
    p = np.broadcast_to(np.diag([200.0**2] * 3 + [50.0**2] * 3), (runs, 6, 6)).copy()
    nees = []
    for k in range(1, steps):
        x, p = predict(
            x, p, np.full(runs, dt), np.full(runs, q), np.full(runs, ballistic), np.full(runs, beta)
        )
        z, _ = rae_model(truth_x[:, k], site, rot)
        z = z + rng.normal(0, 1, (runs, 3)) * sigma
        x, p, _ = update_rae(x, p, z, sigma, site, rot)
        err = x - truth_x[:, k]
        nees.append(np.einsum("ni,ni->n", err, np.linalg.solve(p, err[:, :, None])[:, :, 0]))
    return np.mean(np.array(nees), axis=1)


def chi2_bounds(runs: int, dof: int = 6) -> tuple[float, float]:
    lo, hi = stats.chi2.ppf([0.005, 0.995], runs * dof)
    return lo / runs, hi / runs


def test_constant_velocity_filter_is_consistent():
    runs, steps, dt = 200, 40, 2.0
    rng = np.random.default_rng(3)
    q = 1.0
    start = geodetic2ecef(np.radians(32.3), np.radians(35.4), 3000.0)
    x = np.zeros((runs, steps, 6))
    x[:, 0, :3] = start
    x[:, 0, 3:] = [150.0, -80.0, 0.0]
    for k in range(1, steps):  # white-acceleration truth, as the filter assumes
        a = rng.normal(0, np.sqrt(q / dt), (runs, 3))
        x[:, k, 3:] = x[:, k - 1, 3:] + a * dt
        x[:, k, :3] = x[:, k - 1, :3] + x[:, k - 1, 3:] * dt + 0.5 * a * dt**2
    nees = run_nees(x, dt, False, np.inf, q)
    lo, hi = chi2_bounds(runs)
    inside = np.mean((nees[5:] >= lo) & (nees[5:] <= hi))
    assert inside >= 0.9, nees


def test_ballistic_filter_is_consistent_on_a_drag_trajectory():
    # truth drawn from the filter's model: gravity-and-drag mean motion plus white acceleration
    runs, steps, dt, q, beta = 200, 30, 2.0, 1.0, 30000.0
    rng = np.random.default_rng(5)
    start = geodetic2ecef(np.radians(32.5), np.radians(36.5), 60e3)
    up = start / np.linalg.norm(start)
    west = np.cross(up, [0, 0, 1.0])
    west /= np.linalg.norm(west)
    x = np.zeros((runs, steps, 6))
    x[:, 0, :3] = start
    x[:, 0, 3:] = 2500.0 * (-0.25 * up + 0.97 * west)
    b = np.full(runs, True)
    for k in range(1, steps):
        mean, cov = predict(
            x[:, k - 1],
            np.zeros((runs, 6, 6)),
            np.full(runs, dt),
            np.full(runs, q),
            b,
            np.full(runs, beta),
        )
        x[:, k] = mean + np.einsum(
            "nij,nj->ni", np.linalg.cholesky(cov), rng.normal(0, 1, (runs, 6))
        )
    assert np.all(np.linalg.norm(x[:, -1, :3], axis=1) > 6.36e6)  # still airborne
    nees = run_nees(x, dt, True, beta, q)
    lo, hi = chi2_bounds(runs)
    assert np.mean((nees[5:] >= lo) & (nees[5:] <= hi)) >= 0.9, nees
