"""The C2 cycle's screening kernel against the NumPy code it replaced (the oracles of its
parts: self-defence, capacity, the doctrine's screen and the radar coverage)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from oracle_doctrine import capacity_numpy, screen_numpy, self_threats_numpy
from oracle_radar import bank_coverage_numpy

from iamd.c2.doctrine import SELF_DEFENCE_RADIUS_M
from iamd.geo import geodetic2ecef
from iamd.sensors.radar import RadarBank, RadarSite, bank_figures
from iamd.sim.battle import screen_cycle

F64 = NDArray[np.float64]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _radars(rng: np.random.Generator, r: int) -> RadarBank:
    """``r`` radars around (31.5 N, 35.5 E), short and long ranged, some sectors narrow."""
    return RadarBank.of([_radar(rng, i) for i in range(r)])


def _radar(rng: np.random.Generator, i: int) -> RadarSite:
    lat, lon = 31.0 + rng.uniform(0, 1), 35.0 + rng.uniform(0, 1)
    boresight, sector = rng.uniform(0, 360), rng.choice([90.0, 360.0])
    max_range = float(rng.choice([20.0, 200.0]))
    return RadarSite.build(f"r{i}", "o", lat, lon, 50.0, boresight, sector, 0.0, 85.0, max_range,
                           100.0, 13.0, 0.0, 1e-6, 5.0, 10.0, 1.0, 0.0)  # fmt: skip


def screen_cycle_numpy(  # type: ignore[no-untyped-def]
    k, t_s, eligible, unit_m, path_m, ballistic, later_pk, later_pk_t_s, fresh_after_s, reads,
    units, stocks, reserve, pk_class, class_idx, cov, divert_m, engage_all, p_hit, min_hit,
    later, feasible_now, min_pk, yield_below_pk, last_ditch, bank, allowed, own_track, pip_m,
):  # fmt: skip
    """The C2 cycle's screening as the engine computed it with NumPy (``bank`` a
    :class:`RadarBank` or None, ``allowed`` (u, r) the radars each unit may use,
    ``own_track`` (u, k) the threats it may launch on); writes ``later_pk`` and
    ``later_pk_t_s`` likewise."""
    unit, kinetic, laser, salvo, channels, per_cycle, grounded = units
    rounds, reloads, busy, next_launch_s = stocks
    at_me = self_threats_numpy(unit_m, path_m[eligible], ballistic[eligible], SELF_DEFENCE_RADIUS_M)
    others = (np.arange(later_pk.shape[0]) != k) & reads
    fresh = (later_pk_t_s[:, eligible] >= fresh_after_s) & others[:, None]
    ammo = (rounds[unit] + reloads[unit] > 0) | laser
    loaded = (rounds[unit] > reserve) | laser
    cap = capacity_numpy(
        unit, kinetic, salvo, channels, per_cycle, rounds, busy, next_launch_s, reserve, t_s
    )
    cap[grounded] = 0
    pk, _, later_ok, feasible, could_pk = screen_numpy(
        pk_class, class_idx[eligible], cov[eligible], divert_m, engage_all,
        p_hit[eligible] >= min_hit, at_me, later, feasible_now, loaded, ammo, cap, min_pk,
        yield_below_pk, last_ditch, np.where(fresh, later_pk[:, eligible], 0.0).max(axis=0),
    )  # fmt: skip
    later_pk[k, eligible] = could_pk
    later_pk_t_s[k, eligible] = t_s
    uu, rr = np.nonzero(feasible)
    if uu.size == 0 or bank is None:
        fc = np.zeros(uu.size, dtype=bool)
        n_seen = 0
    else:
        seen = bank_coverage_numpy(bank, pip_m[uu, rr])[0]  # (r, pairs)
        fc = (seen & allowed[uu].T).any(axis=0) & own_track[uu, rr]
        n_seen = int(seen.any(axis=0).sum())
    return pk, later_ok, at_me, cap, uu[fc], rr[fc], uu.size, n_seen


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    n_u=st.integers(1, 6),
    n=st.integers(1, 25),
    radars=st.integers(0, 3),
)
def test_screen_cycle_equals_its_numpy_parts(seed: int, n_u: int, n: int, radars: int) -> None:
    """Random units, threats (ballistic and routes, some at a unit), other nodes' fresh
    and stale reports, magazines about the reserve, grounded aircraft and intercept points
    in and out of radar cover: the same decisions and writes, kill probabilities to 1e-12."""
    _case(seed, n_u, n, radars)


def test_screen_cycle_cases_reach_every_outcome() -> None:
    """The property test's cases give feasible pairs with and without radar support, pairs
    a radar covers that the unit may not use (or whose track it may not launch on),
    threats at a unit and units without capacity (it cannot pass vacuously)."""
    feasible = supported = seen = at_me = no_cap = 0
    for seed in range(40):
        want = _case(seed, 4, 15, 2)
        at_me += int(want[2].sum())
        no_cap += int((want[3] == 0).sum())
        supported += want[4].size
        feasible += want[6]
        seen += want[7]
    assert 0 < supported < seen < feasible
    assert at_me > 0 and no_cap > 0


def _case(seed: int, n_u: int, n: int, radars: int) -> tuple:  # type: ignore[type-arg]
    """One random cycle: the kernel's outputs and writes checked against the oracle's;
    returns the oracle's outputs."""
    rng = np.random.default_rng(seed)
    nodes, k, s, n_class = 3, int(rng.integers(0, 3)), 8, 3
    eligible = np.sort(rng.permutation(n)[: int(rng.integers(1, n + 1))])
    m = eligible.size
    lat = np.radians(31.0 + rng.uniform(0, 1, n_u))
    lon = np.radians(35.0 + rng.uniform(0, 1, n_u))
    unit_m = geodetic2ecef(lat, lon, rng.uniform(0, 500, n_u)).reshape(-1, 3)
    near = unit_m[rng.integers(0, n_u, n)]
    path_m = near[:, None, :] + rng.normal(0, 1e3, (n, 1, 3)) * rng.choice([1.0, 20.0], (n, 1, 1))
    path_m = path_m + np.cumsum(rng.normal(0, 2e3, (n, s, 3)), axis=1)
    t_s = 1000.0
    later_pk = rng.choice([0.0, 0.4, 0.9], (nodes, n))
    later_pk_t = rng.choice([-np.inf, 900.0, 995.0, 1000.0], (nodes, n))
    n_all = n_u + 4
    unit = rng.permutation(n_all)[:n_u].astype(np.int64)
    laser = rng.random(n_u) < 0.2
    units = (
        unit, ~laser, laser, rng.integers(1, 3, n_u), rng.integers(1, 4, n_u),
        rng.integers(1, 3, n_u), rng.random(n_u) < 0.2,
    )  # fmt: skip
    stocks = (
        rng.integers(0, 6, n_all), rng.integers(0, 3, n_all), rng.integers(0, 3, n_all),
        rng.choice([0.0, 999.0, 1001.0], n_all),
    )  # fmt: skip
    a = rng.normal(0, 1, (n, 6, 6)) * rng.choice([1.0, 30.0, 3000.0], size=(n, 1, 1))
    bank = _radars(rng, radars) if radars else None
    pip = unit_m[:, None, :] + rng.normal(0, 1, (n_u, m, 3)) * rng.choice([3e3, 50e3], (n_u, m, 1))
    args = (
        k, t_s, eligible, unit_m, path_m, rng.random(n) < 0.4, later_pk, later_pk_t, 990.0,
        rng.random(nodes) < 0.7, units, stocks, int(rng.integers(0, 3)),
        rng.choice([0.0, 0.5, 0.9], (n_u, n_class)),
        rng.integers(0, n_class, n), a @ np.transpose(a, (0, 2, 1)),
        np.where(laser, np.inf, rng.choice([5.0, 50.0, 500.0], n_u)), rng.random(n_u) < 0.4,
        rng.choice([0.0, 0.3, 1.0], n), 0.3, rng.random((n_u, m)) < 0.6,
        rng.random((n_u, m)) < 0.6, 0.3, rng.choice([0.0, 0.5], n_u), rng.random(n_u) < 0.5,
    )  # fmt: skip
    allowed = rng.random((n_u, radars)) < 0.7
    own_track = rng.random((n_u, m)) < 0.8
    got_pk, got_t = later_pk.copy(), later_pk_t.copy()
    got = screen_cycle(
        *args[:6], got_pk, got_t, *args[8:],
        bank_figures(bank if bank is not None else RadarBank.of([])), allowed, own_track, pip,
    )  # fmt: skip
    want = screen_cycle_numpy(*args, bank, allowed, own_track, pip)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12, atol=0)
    for g, w in zip(got[1:], want[1:6], strict=True):
        np.testing.assert_array_equal(g, w)
    np.testing.assert_allclose(got_pk, later_pk, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(got_t, later_pk_t)
    return want
