"""Ballistic flight against the closed-form vacuum solution, and targeting with drag."""

import numpy as np
import pytest

from iamd.geo import EARTH_MEAN_RADIUS_M, destination, geodetic2ecef
from iamd.physics.ballistic import (
    integrate,
    range_angle_rad,
    solve_burnout_velocity,
    vacuum_flight,
    vacuum_speed_m_s,
)

R = EARTH_MEAN_RADIUS_M


@pytest.mark.parametrize(
    ("speed_m_s", "gamma_deg"), [(1500, 45), (3000, 40), (4500, 30), (2000, 60)]
)
def test_vacuum_range_and_time_on_sphere_match_kepler(speed_m_s, gamma_deg):
    g = np.radians(gamma_deg)
    phi, t_flight = vacuum_flight(R, speed_m_s, g)
    pos = np.array([[R, 0.0, 0.0]])
    vel = np.array([[speed_m_s * np.sin(g), speed_m_s * np.cos(g), 0.0]])
    _, t_imp, impact, _ = integrate(pos, vel, np.array([np.inf]), np.array([0.25]), 20000, "sphere")
    ground_range_m = float(range_angle_rad(pos, impact)[0]) * R
    assert ground_range_m == pytest.approx(float(phi) * R, abs=5.0)
    assert float(t_imp[0]) == pytest.approx(float(t_flight), abs=0.05)


def test_flat_earth_limit_of_the_closed_form():
    # short range: the Kepler range tends to v^2 sin(2g) / g0
    v, g = 300.0, np.radians(45)
    phi, _ = vacuum_flight(R, v, g)
    g0 = 3.986004418e14 / R**2
    assert float(phi) * R == pytest.approx(v**2 * np.sin(2 * g) / g0, rel=1e-3)


def test_vacuum_speed_formula_inverts_the_range():
    g = np.radians(35.0)
    phi, _ = vacuum_flight(R, 3500.0, g)
    v = vacuum_speed_m_s(np.array([R]), np.array([R]), np.array([phi]), np.array([g]))
    assert float(v[0]) == pytest.approx(3500.0, rel=1e-9)


def test_targeting_with_drag_lands_on_the_aimpoint():
    lat0, lon0 = np.radians(33.0), np.radians(47.0)
    lat_t, lon_t = destination(lat0, lon0, np.radians(260.0), np.array([300e3, 900e3, 1500e3]))
    target = geodetic2ecef(lat_t, lon_t, 0.0)
    burnout = geodetic2ecef(np.full(3, lat0), np.full(3, lon0), 60e3)
    beta = np.full(3, 20000.0)
    vel, dt = solve_burnout_velocity(burnout, target, beta, np.zeros(3))
    _, _, impact, _ = integrate(burnout, vel, beta, dt, 4000)
    miss = np.linalg.norm(impact - target, axis=1)
    assert np.all(miss < 100.0)


def test_drag_shortens_range():
    pos = np.array([[R, 0.0, 0.0], [R, 0.0, 0.0]])
    g = np.radians(45)
    vel = np.array([[1000 * np.sin(g), 1000 * np.cos(g), 0.0]] * 2)
    _, _, impact, _ = integrate(
        pos, vel, np.array([np.inf, 2000.0]), np.array([0.1, 0.1]), 10000, "sphere"
    )
    ranges = range_angle_rad(pos, impact)
    assert ranges[1] < 0.8 * ranges[0]


def test_steep_drag_with_a_long_step_stays_stable(monkeypatch):
    """A light object (beta 100 kg/m2) flown with a 10 s step: plain RK4 diverges there
    (step x drag rate >> 2.8); split steps match a 0.05 s reference to a few metres."""
    from iamd.geo import enu_rotation
    from iamd.physics import ballistic

    lat, lon = np.radians(33.0), np.radians(35.0)
    _, north, up = enu_rotation(lat, lon)
    pos = geodetic2ecef(lat, lon, 4400.0)[None]
    vel = (260.0 * (0.6 * north + 0.8 * up))[None]
    beta = np.array([100.0])
    _, t_long, imp_long, _ = integrate(pos, vel, beta, np.array([10.0]), 400)
    _, t_ref, imp_ref, _ = integrate(pos, vel, beta, np.array([0.05]), 20_000)
    assert np.isfinite(imp_long).all() and np.isfinite(t_long).all()
    assert np.linalg.norm(imp_long - imp_ref) < 25.0
    assert abs(t_long[0] - t_ref[0]) < 1.0
    monkeypatch.setattr(ballistic, "STIFF_STEP", np.inf)  # plain RK4: the test can fail
    with np.errstate(all="ignore"):
        _, _, imp_plain, _ = integrate(pos, vel, beta, np.array([10.0]), 400)
    assert not (np.isfinite(imp_plain).all() and np.linalg.norm(imp_plain - imp_ref) < 1e3)


def test_a_step_from_thin_into_dense_air_is_split_too() -> None:
    """From 60 km at 3 km/s with beta 100 and 20 s steps, drag is mild where each step
    starts and steep where it ends: judged at the start alone the impact time came out
    negative. Against 0.01 s steps: within 25 m and 0.5 s."""
    from iamd.geo import enu_rotation

    lat, lon = np.radians(33.0), np.radians(35.0)
    _, north, up = enu_rotation(lat, lon)
    pos = geodetic2ecef(lat, lon, 60_000.0)[None]
    vel = (3000.0 * (0.6 * north - 0.8 * up))[None]
    beta = np.array([100.0])
    _, t_long, imp_long, _ = integrate(pos, vel, beta, np.array([20.0]), 400)
    _, t_ref, imp_ref, _ = integrate(pos, vel, beta, np.array([0.01]), 200_000)
    assert t_long[0] > 0 and abs(t_long[0] - t_ref[0]) < 0.5
    assert np.linalg.norm(imp_long - imp_ref) < 25.0


@pytest.mark.parametrize("earth", ["ellipsoid", "sphere"])
def test_the_compiled_integrator_matches_its_numpy_oracle(earth):
    """Many missiles at once (some in steep drag, some in vacuum, some still flying at the
    last step): every state, impact and step count as the vectorised NumPy version."""
    from oracle_ballistic import integrate_numpy

    rng = np.random.default_rng(5)
    n = 40
    lat, lon = np.radians(rng.uniform(20, 40, n)), np.radians(rng.uniform(30, 50, n))
    pos = geodetic2ecef(lat, lon, rng.uniform(0.0, 80e3, n))
    up = pos / np.linalg.norm(pos, axis=1, keepdims=True)
    side = np.cross(up, [0.0, 0.0, 1.0])
    side /= np.linalg.norm(side, axis=1, keepdims=True)
    vel = rng.uniform(200, 4000, n)[:, None] * (
        0.7 * side + rng.uniform(-0.6, 0.8, n)[:, None] * up
    )
    beta = np.where(rng.random(n) < 0.2, np.inf, rng.uniform(100, 60000, n))
    dt = rng.uniform(0.5, 20.0, n)
    for steps in (30, 400):
        got = integrate(pos, vel, beta, dt, steps, earth)
        ref = integrate_numpy(pos, vel, beta, dt, steps, earth)
        assert got[0].shape == ref[0].shape
        np.testing.assert_array_equal(got[3], ref[3])
        np.testing.assert_allclose(got[0], ref[0], rtol=1e-9, atol=1e-6)
        np.testing.assert_allclose(got[1], ref[1], rtol=1e-9, atol=1e-9, equal_nan=True)
        np.testing.assert_allclose(got[2], ref[2], rtol=1e-9, atol=1e-6, equal_nan=True)
