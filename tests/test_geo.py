"""Geodesy against pymap3d (an independent implementation)."""

import numpy as np
import pymap3d
import pytest

from iamd import geo


@pytest.fixture
def points() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    lat = rng.uniform(-89.9, 89.9, 200)
    lon = rng.uniform(-180, 180, 200)
    alt = rng.uniform(-400, 2_000_000, 200)
    return lat, lon, alt


def test_geodetic2ecef_matches_pymap3d(points):
    lat, lon, alt = points
    ours = geo.geodetic2ecef(np.radians(lat), np.radians(lon), alt)
    ref = np.stack(pymap3d.geodetic2ecef(lat, lon, alt), axis=-1)
    np.testing.assert_allclose(ours, ref, atol=1e-6)


def test_ecef2geodetic_matches_pymap3d(points):
    lat, lon, alt = points
    ecef = np.stack(pymap3d.geodetic2ecef(lat, lon, alt), axis=-1)
    la, lo, al = geo.ecef2geodetic(ecef)
    rlat, rlon, ralt = pymap3d.ecef2geodetic(ecef[:, 0], ecef[:, 1], ecef[:, 2])
    np.testing.assert_allclose(np.degrees(la), rlat, atol=1e-9)
    np.testing.assert_allclose(np.degrees(lo), rlon, atol=1e-9)
    np.testing.assert_allclose(al, ralt, atol=1e-4)


def test_enu_and_aer_match_pymap3d(points):
    lat, lon, alt = points
    ecef = np.stack(pymap3d.geodetic2ecef(lat, lon, alt), axis=-1)
    lat0, lon0, alt0 = 31.5, 34.9, 120.0
    enu = geo.ecef2enu(ecef, np.radians(lat0), np.radians(lon0), alt0)
    ref = np.stack(pymap3d.ecef2enu(ecef[:, 0], ecef[:, 1], ecef[:, 2], lat0, lon0, alt0), axis=-1)
    np.testing.assert_allclose(enu, ref, atol=1e-6)
    az, el, rng = geo.ecef2aer(ecef, np.radians(lat0), np.radians(lon0), alt0)
    raz, rel, rrng = pymap3d.ecef2aer(ecef[:, 0], ecef[:, 1], ecef[:, 2], lat0, lon0, alt0)
    np.testing.assert_allclose(np.degrees(az), raz, atol=1e-9)
    np.testing.assert_allclose(np.degrees(el), rel, atol=1e-9)
    np.testing.assert_allclose(rng, rrng, rtol=1e-12)


def test_round_trips(points):
    lat, lon, alt = points
    lat0, lon0 = np.radians(31.0), np.radians(35.0)
    ecef = geo.geodetic2ecef(np.radians(lat), np.radians(lon), alt)
    back = geo.enu2ecef(geo.ecef2enu(ecef, lat0, lon0, 10.0), lat0, lon0, 10.0)
    np.testing.assert_allclose(back, ecef, atol=1e-6)
    az, el, rng = geo.ecef2aer(ecef, lat0, lon0, 10.0)
    np.testing.assert_allclose(geo.aer2ecef(az, el, rng, lat0, lon0, 10.0), ecef, atol=1e-5)


def test_haversine_and_destination_agree():
    lat1, lon1 = np.radians(31.0), np.radians(35.0)
    lat2, lon2 = geo.destination(lat1, lon1, np.radians(75.0), 1_234_000.0)
    d = geo.great_circle_distance_m(lat1, lon1, lat2, lon2)
    assert float(d) == pytest.approx(1_234_000.0, rel=1e-12)
