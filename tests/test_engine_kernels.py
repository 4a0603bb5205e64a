"""The compiled event-core kernels against the NumPy and SciPy code they replaced (the
oracles).

Decisions (coverage, feasibility) must be identical, numbers equal to a relative 1e-9.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from oracle_assess import (
    hit_en_numpy,
    impact_probability_numpy,
    kepler_time_to_ground_s_numpy,
    predict_route_numpy,
    route_hit_probability_numpy,
)
from oracle_radar import bank_coverage_numpy
from oracle_truth import state_at_numpy
from scipy.special import ndtr as scipy_ndtr
from scipy.special import ndtri as scipy_ndtri

from iamd.c2.assess import (
    HIT_SAMPLES,
    NORMAL_2D,
    _halton,
    assess,
    assess_routes_into,
    impact_probability_kernel,
    kepler_time_to_ground_s,
)
from iamd.c2.assets import AssetGeometry
from iamd.c2.routes import PATH_STEPS, assess_routes
from iamd.geo import enu_rotation, geodetic2ecef
from iamd.normal import ndtr
from iamd.physics.truth import KEY_STRIDE_S, TruthTable
from iamd.sensors.radar import (
    RadarBank,
    RadarSite,
    bank_coverage,
    bank_figures,
    detect_kernel,
    pd_swerling1,
    scan,
)
from iamd.sim.sensing import candidates, plan_scan, window_kernel

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _truth(rng: np.random.Generator, n: int) -> TruthTable:
    """A table of ``n`` threats with 1-12 samples each at random increasing times."""
    lengths = rng.integers(1, 13, n)
    offset = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    t0 = rng.uniform(0.0, 3600.0, n)
    t = np.concatenate(
        [t0[i] + np.cumsum(rng.uniform(0.5, 20.0, m)) for i, m in enumerate(lengths)]
    )
    state = rng.normal(0.0, 1.0, (t.size, 6)) * np.array([1e6, 1e6, 1e6, 1e3, 1e3, 1e3])
    zeros = np.zeros(n)
    return TruthTable(
        class_names=("x",),
        class_idx=np.zeros(n, dtype=np.int64),
        salvo_idx=np.zeros(n, dtype=np.int64),
        ballistic=np.zeros(n, dtype=bool),
        t_launch_s=t0,
        t_end_s=t[offset[1:] - 1],
        t_fail_s=zeros + np.inf,
        launch_m=np.zeros((n, 3)),
        aim_m=np.zeros((n, 3)),
        impact_m=np.zeros((n, 3)),
        target_asset=np.zeros(n, dtype=np.int64) - 1,
        t_s=t,
        state=state,
        offset=offset,
        search_key=np.repeat(np.arange(n), lengths) * KEY_STRIDE_S + t,
    )


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 30), k=st.integers(0, 60))
def test_state_at_equals_numpy(seed: int, n: int, k: int) -> None:
    """Interpolated states, queries before, inside and after each trajectory: bit for bit."""
    rng = np.random.default_rng(seed)
    truth = _truth(rng, n)
    idx = rng.integers(0, n, k)
    t = rng.uniform(-100.0, 4000.0, k)
    inside = rng.random(k) < 0.5  # half the queries on the trajectory, some on a sample
    t[inside] = truth.t_s[truth.offset[idx[inside]]] + rng.choice([0.0, 7.3, 40.0], inside.sum())
    got = truth.state_at(idx, t)
    assert got.shape == (k, 6)
    np.testing.assert_array_equal(got, state_at_numpy(truth, idx, t))


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 30), k=st.integers(0, 30))
def test_scan_candidates_equal_numpy(seed: int, n: int, k: int) -> None:
    """A scan's candidates: positions interpolated at the scan time, cross sections, and
    held by a confirmed track of the radar owner's (labels repeated, clutter, tentative)."""
    rng = np.random.default_rng(seed)
    truth = _truth(rng, n)
    cand = np.sort(rng.permutation(n)[: min(k, n)])
    t_s = float(rng.uniform(0.0, 4000.0))
    rcs = rng.uniform(0.01, 10.0, n)
    label = rng.integers(-1, n, int(rng.integers(0, 2 * n)))
    confirmed = rng.random(label.size) < 0.6
    pos, got_rcs, tracked = candidates(
        cand, t_s, truth.search_key, truth.offset, truth.t_s, truth.state, rcs, label, confirmed
    )
    np.testing.assert_array_equal(pos, state_at_numpy(truth, cand, np.full(cand.size, t_s))[:, :3])
    np.testing.assert_array_equal(got_rcs, rcs[cand])
    held = np.zeros(n, dtype=bool)
    held[label[confirmed & (label >= 0)]] = True
    np.testing.assert_array_equal(tracked, held[cand])


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 30))
def test_scan_plan_equals_numpy(seed: int, n: int) -> None:
    """A scan's candidates (launched, not dead, inside the radar's window) and its next
    scan (now, the first scan inside a window still open, or none) as the NumPy schedule
    had them; windows never opened (inf, -inf), threats dead before or after."""
    rng = np.random.default_rng(seed)
    t_s, period = float(rng.choice([100.0, 250.0])), float(rng.choice([1.0, 4.0, 12.0]))
    first = rng.uniform(0.0, 400.0, n)
    window = np.stack([first, first + rng.uniform(0.0, 200.0, n)], axis=1)
    window[rng.random(n) < 0.2] = [np.inf, -np.inf]
    t_launch = rng.uniform(0.0, 300.0, n)
    t_dead = np.where(rng.random(n) < 0.5, np.inf, rng.uniform(0.0, 400.0, n))
    cand, t_next = plan_scan(t_s, period, window, t_launch, t_dead)
    alive = (t_launch <= t_s) & (t_s < t_dead)
    want = np.flatnonzero(alive & (window[:, 0] <= t_s) & (window[:, 1] >= t_s))
    np.testing.assert_array_equal(cand, want)
    t = t_s + period
    live = (window[:, 1] >= t) & (t_dead >= t)
    if not live.any():
        assert np.isnan(t_next)
        return
    start = float(window[live, 0].min())
    if start > t:
        t += np.ceil((start - t) / period) * period
    assert t_next == t


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 12), masks=st.booleans())
def test_sensor_windows_equal_numpy(seed: int, n: int, masks: bool) -> None:
    """A radar's windows: each threat's first and last truth sample within range in a
    straight line and covered (the NumPy coverage), widened by the margin; threats never
    covered get (inf, -inf)."""
    rng = np.random.default_rng(seed)
    site = _sites(rng, 1, masks)[0]
    lengths = rng.integers(1, 30, n)
    m = int(lengths.sum())
    seg = np.repeat(np.arange(n), lengths)
    t = np.concatenate([np.sort(rng.uniform(0.0, 3000.0, k)) for k in lengths])
    state = np.zeros((m, 6))
    state[:, :3] = geodetic2ecef(
        np.radians(rng.uniform(27.0, 37.0, m)),
        np.radians(rng.uniform(30.0, 40.0, m)),
        rng.uniform(0.0, 300e3, m),
    ).reshape(-1, 3)
    bank = RadarBank.of([site])
    got = window_kernel(bank_figures(bank), site.ecef_m, site.max_range_m, state, t, seg, n, 15.0)
    near = np.flatnonzero(np.linalg.norm(state[:, :3] - site.ecef_m, axis=1) <= site.max_range_m)
    seen = near[bank_coverage_numpy(bank, state[near, :3])[0][0]]
    first, last = np.full(n, np.inf), np.full(n, -np.inf)
    np.minimum.at(first, seg[seen], t[seen])
    np.maximum.at(last, seg[seen], t[seen])
    np.testing.assert_array_equal(got, np.stack([first - 15.0, last + 15.0], axis=1))


def _sites(rng: np.random.Generator, r: int, masks: bool) -> list[RadarSite]:
    return [
        RadarSite.build(
            f"r{i}",
            "o",
            rng.uniform(20.0, 40.0),
            rng.uniform(30.0, 50.0),
            rng.uniform(0.0, 3000.0),
            rng.uniform(0.0, 360.0),
            rng.uniform(10.0, 360.0),
            rng.uniform(-1.0, 5.0),
            rng.uniform(30.0, 90.0),
            rng.uniform(50.0, 2500.0),
            100.0,
            13.0,
            0.0,
            1e-6,
            5.0,
            10.0,
            1.0,
            0.1,
            terrain_mask=[(rng.uniform(0, 360), rng.uniform(0, 360), rng.uniform(0, 8))]
            if masks and i % 2 == 0
            else None,
        )
        for i in range(r)
    ]


def _bank(rng: np.random.Generator, r: int, masks: bool) -> RadarBank:
    return RadarBank.of(_sites(rng, r, masks))


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    r=st.integers(1, 6),
    k=st.integers(0, 400),
    masks=st.booleans(),
)
def test_coverage_equals_numpy(seed: int, r: int, k: int, masks: bool) -> None:
    """Coverage decisions identical, az/el/range to 1e-12 (atan2 may differ in the last bit)."""
    rng = np.random.default_rng(seed)
    bank = _bank(rng, r, masks)
    pos = geodetic2ecef(
        np.radians(rng.uniform(15.0, 45.0, k)),
        np.radians(rng.uniform(25.0, 55.0, k)),
        rng.uniform(-50.0, 400e3, k),
    ).reshape(-1, 3)
    got, want = bank_coverage(bank, pos), bank_coverage_numpy(bank, pos)
    np.testing.assert_array_equal(got[0], want[0])
    for a, b in zip(got[1:], want[1:], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(0, 300), masks=st.booleans())
def test_scan_equals_coverage_then_detection(seed: int, k: int, masks: bool) -> None:
    """A scan's detections: the candidates that the NumPy coverage covers and the radar
    equation detects with the same draws, at their true range, azimuth and elevation plus
    the same noise draws, then the false alarms; the streams left in the same state."""
    rng = np.random.default_rng(seed)
    site = replace(_sites(rng, 1, masks)[0], false_alarms_per_scan=rng.choice([0.0, 0.5, 3.0]))
    pos = geodetic2ecef(
        np.radians(rng.uniform(25.0, 35.0, k)),
        np.radians(rng.uniform(30.0, 40.0, k)),
        rng.uniform(0.0, 100e3, k),
    ).reshape(-1, 3)
    ids = rng.permutation(10 * k + 1)[:k]
    rcs = 10 ** rng.uniform(-3.0, 1.0, k)
    tracked = rng.random(k) < 0.5
    streams = [np.random.default_rng([seed, j % 2]) for j in range(4)]  # 0, 2 and 1, 3 alike
    got = scan(site, RadarBank.of([site]), ids, pos, rcs, tracked, streams[0], streams[1])
    ok, az, el, r = (a[0] for a in bank_coverage_numpy(RadarBank.of([site]), pos))
    draw = streams[2].uniform(0.0, 1.0, k)
    snr = site.ref_snr * rcs * (site.ref_range_m / np.maximum(r, 1.0)) ** 4
    snr = np.where(tracked, snr * site.track_gain, snr)
    hit = draw < np.where(ok, pd_swerling1(snr, site.pfa), 0.0)
    n_fa = int(streams[2].poisson(site.false_alarms_per_scan))
    sig = np.array([site.sigma_range_m, site.sigma_angle_rad, site.sigma_angle_rad])
    rae = (
        np.stack([r[hit], az[hit], el[hit]], axis=1)
        + streams[3].normal(0.0, 1.0, (int(hit.sum()), 3)) * sig
    )
    fa = np.stack(
        [
            streams[2].uniform(0.05, 1.0, n_fa) * site.max_range_m,
            site.boresight_rad + streams[2].uniform(-1.0, 1.0, n_fa) * site.half_sector_rad,
            site.min_el_rad + streams[2].uniform(0.0, 1.0, n_fa) * np.radians(5.0),
        ],
        axis=1,
    )
    np.testing.assert_array_equal(got.threat, np.concatenate([ids[hit], np.full(n_fa, -1)]))
    np.testing.assert_allclose(got.rae, np.concatenate([rae, fa]), rtol=1e-12, atol=1e-12)
    assert streams[0].random() == streams[2].random()
    assert streams[1].random() == streams[3].random()


def test_coverage_sees_both_sides_of_each_limit() -> None:
    """The property test's inputs cover each limit both ways (it cannot pass vacuously)."""
    rng = np.random.default_rng(3)
    bank = _bank(rng, 6, True)
    pos = geodetic2ecef(
        np.radians(rng.uniform(15.0, 45.0, 4000)),
        np.radians(rng.uniform(25.0, 55.0, 4000)),
        rng.uniform(0.0, 400e3, 4000),
    )
    ok = bank_coverage(bank, pos)[0]
    assert 0.02 < ok.mean() < 0.9
    assert ok.any(axis=1).all()


def _assets(rng: np.random.Generator, n: int) -> AssetGeometry:
    """``n`` assets within 300 km of the origin, about half of them polygons (some with
    equal values, so the tie rule counts)."""
    origin = geodetic2ecef(np.radians(32.0), np.radians(35.0), 0.0)
    centres = rng.uniform(-300e3, 300e3, (n, 2))
    polys: list[NDArray[np.float64] | None] = []
    radius, extent = [], []
    for c in centres:
        if rng.random() < 0.5:
            polys.append(None)
            radius.append(rng.uniform(1e3, 30e3))
            extent.append(radius[-1])
        else:
            m = int(rng.integers(3, 9))
            ang = np.sort(rng.uniform(0.0, 2 * np.pi, m))
            ring = c + rng.uniform(2e3, 40e3, (m, 1)) * np.stack([np.cos(ang), np.sin(ang)], 1)
            polys.append(ring)
            radius.append(0.0)
            extent.append(float(np.max(np.hypot(*(ring - c).T))))
    return AssetGeometry.of(
        centres,
        np.array(radius),
        tuple(polys),
        np.array(extent),
        rng.choice([1.0, 2.0, 5.0], n),
        origin,
        enu_rotation(np.radians(32.0), np.radians(35.0))[:2],
    )


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 8), k=st.integers(0, 300))
def test_asset_hits_equal_numpy(seed: int, n: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    assets = _assets(rng, n)
    en = rng.uniform(-350e3, 350e3, (k, 2))
    en[: k // 2] = assets.centre_en_m[rng.integers(0, n, k // 2)] + rng.normal(0, 2e4, (k // 2, 2))
    margin = float(rng.choice([0.0, 5e3]))
    np.testing.assert_array_equal(assets.hit_en(en, margin), hit_en_numpy(assets, en, margin))


def _route_states(rng: np.random.Generator, k: int) -> tuple[NDArray[np.float64], ...]:
    """Route threats 50-400 km out at 0-10 km altitude, 30-300 m/s, with covariances."""
    lat = np.radians(32.0 + rng.uniform(-3.0, 3.0, k))
    lon = np.radians(35.0 + rng.uniform(-3.0, 3.0, k))
    pos = geodetic2ecef(lat, lon, rng.uniform(0.0, 10e3, k)).reshape(-1, 3)
    vel = rng.normal(0.0, 150.0, (k, 3))
    a = rng.normal(0.0, 1.0, (k, 6, 6)) * np.array([300.0] * 3 + [10.0] * 3)
    cov = np.einsum("kij,klj->kil", a, a)
    return np.concatenate([pos, vel], axis=1), cov


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 8), k=st.integers(0, 40))
def test_route_assessment_equals_numpy(seed: int, n: int, k: int) -> None:
    """Paths, the first asset on the ground track and the strike chances (relative 1e-9)."""
    rng = np.random.default_rng(seed)
    assets = _assets(rng, n)
    x, cov = _route_states(rng, k)
    margin = float(rng.choice([0.0, 5e3]))
    rel, path, imp, asset, p_first, t_go = assess_routes(x, cov, assets, margin)
    rel0, path0, imp0, asset0 = predict_route_numpy(x, assets, margin)
    p0, t0 = route_hit_probability_numpy(x, cov, assets, margin)
    np.testing.assert_array_equal(asset, asset0)
    # times: relative 1e-9, or a nanosecond where the distance along the track cancels
    np.testing.assert_allclose(rel, rel0, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(path, path0, rtol=1e-9)
    np.testing.assert_allclose(imp, imp0, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(t_go, t0, rtol=1e-9, atol=1e-8)
    # chances: relative 1e-9, or 1e-12 absolute where a chance is the difference of two
    # nearly equal normal CDFs (the cancellation magnifies their last bits: seed 4428, n 6,
    # k 21 gives 2.5e-5 apart by 2.6e-14, relative 1.06e-9)
    np.testing.assert_allclose(p_first, p0, rtol=1e-9, atol=1e-12)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 12), k=st.integers(0, 30))
def test_route_assessment_into_caches_equals_assess(seed: int, n: int, k: int) -> None:
    """The engine's route assessment written into its caches: each threat's path times,
    path, impact time, value at risk and hit probability as :func:`assess` gives them, to
    the bit (assets undefended or of equal value included); other rows untouched."""
    rng = np.random.default_rng(seed)
    assets = _assets(rng, n)
    x, cov = _route_states(rng, k + 3)
    t_track = rng.uniform(0.0, 1000.0, k + 3)
    damage = rng.choice([0.5, 1.0, 2.0], k + 3)
    defended = rng.random(n) < 0.7
    threat = np.sort(rng.permutation(k + 3)[:k])
    margin = float(rng.choice([0.0, 5e3]))
    s = PATH_STEPS + 1
    caches = (np.full((k + 3, s), -1.0), np.full((k + 3, s, 3), -1.0), np.full(k + 3, -1.0),
              np.full(k + 3, -1.0), np.full(k + 3, -1.0))  # fmt: skip
    geometry = (assets.centre_en_m, assets.extent_m, assets.origin_m, assets.rot)
    value = np.where(defended, assets.value, 0.0)
    assess_routes_into(threat, x, cov, t_track, damage, value, geometry, margin, caches)
    routes, beta = np.zeros(k, dtype=bool), np.full(k, np.inf)
    want = assess(threat, x[threat], t_track[threat], routes, beta, damage[threat], assets,
                  margin, cov[threat], defended)  # fmt: skip
    wants = (want.path_t_s, want.path_m, want.t_impact_s, want.value_at_risk, want.p_hit)
    for got, expected in zip(caches, wants, strict=True):
        np.testing.assert_array_equal(got[threat], expected)
        others = np.setdiff1d(np.arange(k + 3), threat)
        assert (got[others] == -1.0).all()


def test_route_cases_are_not_vacuous() -> None:
    """The route inputs above reach assets, miss them and give chances strictly inside
    (0, 1), so the comparison exercises every branch."""
    rng = np.random.default_rng(11)
    assets = _assets(rng, 8)
    x, cov = _route_states(rng, 400)
    _, _, _, asset, p_first, t_go = assess_routes(x, cov, assets, 0.0)
    assert (asset >= 0).mean() > 0.05 and (asset < 0).any()
    assert ((p_first > 1e-6) & (p_first < 1 - 1e-6)).any() and np.isinf(t_go).any()


@SETTINGS
@given(x=st.floats(-40.0, 40.0) | st.sampled_from([0.0, -0.7071067811865476, 0.7071067811865476]))
def test_ndtr_equals_scipy(x: float) -> None:
    """The normal CDF to a relative 1e-12, tails included (SciPy's ``ndtr``)."""
    want = float(scipy_ndtr(x))
    assert ndtr(x) == pytest.approx(want, rel=1e-12, abs=1e-300)


def _ballistic_states(rng: np.random.Generator, k: int) -> NDArray[np.float64]:
    """Ballistic states up to 600 km up over the theatre (a tenth below ground), 0.5-12 km/s
    in any direction (some beyond escape speed)."""
    lat = np.radians(32.0 + rng.uniform(-8.0, 8.0, k))
    lon = np.radians(35.0 + rng.uniform(-8.0, 8.0, k))
    pos = geodetic2ecef(lat, lon, rng.uniform(-66e3, 600e3, k)).reshape(-1, 3)
    direction = rng.normal(0.0, 1.0, (k, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    vel = direction * rng.uniform(500.0, 12000.0, (k, 1))
    return np.concatenate([pos, vel], axis=1)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(0, 60))
def test_kepler_time_equals_numpy(seed: int, k: int) -> None:
    """Vacuum time to the ground, relative 1e-9; the same states never reach it."""
    x = _ballistic_states(np.random.default_rng(seed), k)
    got = kepler_time_to_ground_s(x)
    with np.errstate(invalid="ignore"):
        want = kepler_time_to_ground_s_numpy(x)
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(want))
    ok = np.isfinite(want)
    np.testing.assert_allclose(got[ok], want[ok], rtol=1e-9, atol=1e-9)
    assert (got[~ok] == np.inf).all()  # hyperbolic orbits: the NumPy version's nan


def test_kepler_cases_are_not_vacuous() -> None:
    x = _ballistic_states(np.random.default_rng(5), 500)
    t = kepler_time_to_ground_s(x)
    assert (t == 0.0).any() and np.isinf(t).any() and ((t > 10.0) & np.isfinite(t)).mean() > 0.3


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 6), k=st.integers(1, 12))
def test_impact_probability_equals_numpy(seed: int, n: int, k: int) -> None:
    """Hit probabilities of impact distributions: the same sample counts (a sample exactly
    on an asset's edge may fall either side of a last-bit difference: one in 256)."""
    rng = np.random.default_rng(seed)
    assets = _assets(rng, n)
    en = assets.centre_en_m[rng.integers(0, n, k)] + rng.normal(0, 2e4, (k, 2))
    spread = rng.uniform(100.0, 3e4, (k, 1, 1))
    pts_en = en[:, None, :] + rng.normal(0.0, 1.0, (k, 12, 2)) * spread
    imp = (pts_en @ assets.rot + assets.origin_m).reshape(k, 12, 3)
    margin = float(rng.choice([0.0, 5e3]))
    got = ballistic_probability(imp, assets, margin)
    want = impact_probability_numpy(imp, assets, margin)
    assert np.abs(got - want).max(initial=0.0) <= 1.0 / HIT_SAMPLES + 1e-12
    assert (got == want).mean() >= 0.95


def ballistic_probability(imp: NDArray[np.float64], assets: AssetGeometry, margin: float):  # type: ignore[no-untyped-def]
    """The compiled kernel on impact points (k, m, 3)."""
    out = np.empty((imp.shape[0], assets.value.shape[0]))
    impact_probability_kernel(
        np.ascontiguousarray(imp), NORMAL_2D, assets.origin_m, assets.rot, assets.centre_en_m,
        assets.radius_m, assets.extent_m, assets.value, assets.vertices_m, assets.vertex_offset,
        margin, out,
    )  # fmt: skip
    return out


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(0, 200))
def test_detections_equal_numpy(seed: int, k: int) -> None:
    """Detections from coverage, range, RCS, track mode and the uniform draws: as the NumPy
    radar equation and Swerling I probability decided them."""
    rng = np.random.default_rng(seed)
    covered = rng.random(k) < 0.8
    r = rng.uniform(0.0, 800e3, k)
    rcs = 10 ** rng.uniform(-3.0, 1.0, k)
    tracked = rng.random(k) < 0.5
    draw = rng.uniform(0.0, 1.0, k)
    ref_snr, ref_range, gain, pfa = 20.0, 150e3, 4.0, 1e-6
    hit = np.empty(k, dtype=bool)
    detect_kernel(covered, r, rcs, tracked, draw, ref_snr, ref_range, gain, pfa, hit)
    snr = ref_snr * rcs * (ref_range / np.maximum(r, 1.0)) ** 4
    snr = np.where(tracked, snr * gain, snr)
    want = draw < np.where(covered, pd_swerling1(snr, pfa), 0.0)
    np.testing.assert_array_equal(hit, want)
    if k > 100:
        assert want.any() and not want.all()  # both decisions occur


def test_hit_samples_are_scipy_normal_quantiles() -> None:
    """The fixed normal samples of the impact distributions: SciPy's inverse normal CDF of
    the Halton points, to the last bits (the standard library's algorithm computes them)."""
    halton = np.stack([_halton(HIT_SAMPLES, 2), _halton(HIT_SAMPLES, 3)], axis=1)
    np.testing.assert_allclose(NORMAL_2D, scipy_ndtri(halton), rtol=1e-14, atol=1e-15)
