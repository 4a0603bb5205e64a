"""Radar coverage, horizon, detection and noise against textbook formulas."""

import numpy as np
import pytest

from iamd.geo import EARTH_MEAN_RADIUS_M, aer2ecef, geodetic2ecef
from iamd.sensors.radar import (
    K_EFFECTIVE,
    RadarBank,
    RadarSite,
    above_horizon,
    bank_coverage,
    horizon_dip_rad,
    horizon_range_m,
    in_coverage,
    pd_swerling1,
    rae2ecef,
    scan,
    terrain_mask_rad,
)


def site(**kw):
    args = dict(
        name="r",
        owner="o",
        lat_deg=32.0,
        lon_deg=35.0,
        alt_m=20.0,
        boresight_deg=90.0,
        sector_deg=120.0,
        min_el_deg=0.0,
        max_el_deg=80.0,
        max_range_km=400.0,
        ref_range_km=200.0,
        ref_snr_db=13.0,
        track_gain_db=0.0,
        pfa=1e-6,
        scan_s=2.0,
        sigma_range_m=30.0,
        sigma_angle_mrad=2.0,
        false_alarms_per_scan=0.0,
    )
    args.update(kw)
    return RadarSite.build(**args)


@pytest.mark.parametrize(("h_radar", "h_target"), [(10.0, 100.0), (30.0, 1500.0), (500.0, 10000.0)])
def test_horizon_matches_four_thirds_earth_formula(h_radar, h_target):
    d = float(horizon_range_m(h_radar, h_target))
    # the textbook sqrt(2 k R h) form drops h^2 terms: agree to a few metres per km of height
    assert above_horizon(h_radar, np.array([h_target]), np.array([0.999 * d]))[0]
    assert not above_horizon(h_radar, np.array([h_target]), np.array([1.001 * d]))[0]
    # 4/3 Earth: 4.12 km * (sqrt(h1) + sqrt(h2)) with heights in metres
    assert d / 1000 == pytest.approx(4.12 * (np.sqrt(h_radar) + np.sqrt(h_target)), rel=0.01)
    assert K_EFFECTIVE == pytest.approx(4 / 3)


def test_low_target_beyond_horizon_is_not_covered_high_one_is():
    s = site()
    d = float(horizon_range_m(s.alt_m, 100.0))
    # a target due east, 1.2 horizon distances away, at 100 m and at 10 km altitude
    lat, lon = (
        np.radians(32.0),
        np.radians(35.0) + 1.2 * d / (EARTH_MEAN_RADIUS_M * np.cos(np.radians(32))),
    )
    low = geodetic2ecef(lat, lon, 100.0)[None]
    high = geodetic2ecef(lat, lon, 10000.0)[None]
    assert not in_coverage(s, low)[0][0]
    assert in_coverage(s, high)[0][0]


def _due_east(s: RadarSite, ground_m: float, alt_m: float) -> np.ndarray:
    lon = s.lon_rad + ground_m / (EARTH_MEAN_RADIUS_M * np.cos(s.lat_rad))
    return geodetic2ecef(s.lat_rad, lon, alt_m)[None]


def test_a_low_flier_is_seen_from_an_elevated_site_out_to_the_horizon():
    """The floor is measured from the site's horizon, not its horizontal: a 0 deg floor
    at 300 m reaches a 100 m cruise missile to 90 % of the 4/3-Earth horizon distance
    (its line of sight is 0.5 mrad below the horizontal there), and no further than the
    horizon."""
    s = site(alt_m=300.0)
    d = float(horizon_range_m(300.0, 100.0))
    assert 112e3 < d < 114e3  # 4.12 km * (sqrt(300) + sqrt(100))
    _, _, el, _ = in_coverage(s, _due_east(s, 0.9 * d, 100.0))
    assert el[0] < 0.0  # below the site's horizontal: a floor of 0 from it would miss it
    assert in_coverage(s, _due_east(s, 0.9 * d, 100.0))[0][0]
    assert not in_coverage(s, _due_east(s, 1.01 * d, 100.0))[0][0]
    # the dip is the angle of the tangent ray, the textbook sqrt(2 h / kR)
    assert float(horizon_dip_rad(300.0)) == pytest.approx(
        np.sqrt(2 * 300.0 / (K_EFFECTIVE * EARTH_MEAN_RADIUS_M)), rel=1e-3
    )
    # a floor above the horizon (0.5 deg) still cuts the low flier off near its horizon
    raised = site(alt_m=300.0, min_el_deg=0.5)
    assert not in_coverage(raised, _due_east(raised, 0.9 * d, 100.0))[0][0]
    # a site at sea level has no dip: as before
    assert float(horizon_dip_rad(0.0)) == 0.0


def test_sector_and_elevation_limits():
    s = site()
    pts = aer2ecef(
        np.radians([90.0, 149.0, 151.0, 270.0, 90.0]),
        np.radians([5.0, 5.0, 5.0, 5.0, 85.0]),
        np.full(5, 50e3),
        s.lat_rad,
        s.lon_rad,
        s.alt_m,
    )
    ok = in_coverage(s, pts)[0]
    assert ok.tolist() == [True, True, False, False, False]


def test_pd_swerling1_closed_form():
    snr = np.array([0.0, 1.0, 20.0, 1e6])
    pd = pd_swerling1(snr, 1e-6)
    assert pd[0] == pytest.approx(1e-6)
    assert pd[2] == pytest.approx(1e-6 ** (1 / 21))
    assert np.all(np.diff(pd) > 0) and pd[-1] > 0.9999


def test_detection_rate_and_noise_statistics():
    s = site(sigma_range_m=50.0, sigma_angle_mrad=3.0)
    bank = RadarBank.of([s])
    n = 20000
    # all targets at the reference range with 1 m2: Pd is the Swerling I value at 13 dB
    pts = aer2ecef(
        np.full(n, np.radians(90.0)),
        np.full(n, np.radians(10.0)),
        np.full(n, 200e3),
        s.lat_rad,
        s.lon_rad,
        s.alt_m,
    )
    det = scan(
        s,
        bank,
        np.arange(n),
        pts,
        np.ones(n),
        np.zeros(n, bool),
        np.random.default_rng(1),
        np.random.default_rng(2),
    )
    expected_pd = float(pd_swerling1(10**1.3, 1e-6))
    assert det.threat.size / n == pytest.approx(expected_pd, abs=0.015)
    err_r = det.rae[:, 0] - 200e3
    assert err_r.std() == pytest.approx(50.0, rel=0.05)
    assert (det.rae[:, 1] - np.radians(90.0)).std() == pytest.approx(3e-3, rel=0.05)
    back = rae2ecef(s, np.array([[200e3, np.radians(90.0), np.radians(10.0)]]))
    np.testing.assert_allclose(back[0], pts[0], atol=1e-6)


def test_a_terrain_mask_hides_the_low_sky_in_its_sector_only():
    # a ridge rising 2 deg above the horizontal from azimuth 80 to 100, and one through north
    s = site(alt_m=300.0, sector_deg=360.0, terrain_mask=[(80.0, 100.0, 2.0), (350.0, 10.0, 1.0)])
    pts = aer2ecef(
        np.radians([90.0, 90.0, 45.0, 5.0, 355.0, 5.0, 79.5, 100.5]),
        np.radians([-0.3, 2.5, -0.3, 0.5, 0.5, 1.5, 1.0, 1.0]),
        np.full(8, 50e3),
        s.lat_rad,
        s.lon_rad,
        s.alt_m,
    )
    ok = in_coverage(s, pts)[0]
    # behind the ridge: hidden low, seen above it; elsewhere down to the horizon; the
    # northern sector wraps through 0 deg; the ridge ends where its sector does
    assert ok.tolist() == [False, True, True, False, False, True, True, True]
    # a bank of radars with and without masks keeps each one's own
    bank = RadarBank.of([s, site(alt_m=300.0, sector_deg=360.0)])
    both = bank_coverage(bank, pts)[0]
    assert both[0].tolist() == ok.tolist() and bool(both[1][[0, 2, 3, 4]].all())


def test_mask_sectors_are_read_per_degree():
    mask = terrain_mask_rad([(10.0, 20.0, 3.0), (15.0, 30.0, 5.0)])
    deg = np.degrees(mask)
    assert deg[9] < -80 and deg[10] == pytest.approx(3.0) and deg[15] == pytest.approx(5.0)
    assert deg[29] == pytest.approx(5.0) and deg[30] < -80
    assert np.allclose(np.degrees(terrain_mask_rad([(0.0, 360.0, 1.0)])), 1.0)


def test_terrain_masks_are_validated_and_used_by_the_simulation():
    from iamd.errors import ScenarioError
    from iamd.scenario.load import load_scenario_text
    from iamd.sim.run import simulate

    text = """
name: masked
origin: {lat_deg: 32.0, lon_deg: 35.0}
duration_s: 300
owners: [{name: blue}]
assets: [{name: Town, value: 5, point: {lat_deg: 32.0, lon_deg: 35.0}, radius_km: 3}]
sensors:
  - name: radar
    type: fire_control_radar
    owner: blue
    lat_deg: 31.95
    lon_deg: 35.0
    terrain_mask: [{az_from_deg: 80, az_to_deg: 100, el_deg: 2}]
raid:
  - {threat: rocket_short, count: 1, launch_area: {lat_deg: 32.25, lon_deg: 35.0, radius_km: 1},
     targets: [Town]}
"""
    mask = simulate(load_scenario_text(text, "m.yaml")).world.radars[0].mask_rad
    assert mask is not None and np.degrees(mask[90]) == pytest.approx(2.0)
    assert np.degrees(mask[100]) < -80
    with pytest.raises(ScenarioError) as err:
        load_scenario_text(text.replace("az_to_deg: 100", "az_to_deg: 80"), "m.yaml")
    (problem,) = [p for p in err.value.problems if not p.warning]
    assert problem.line == 13 and "the sector is empty" in problem.message
