"""The compiled event-core kernels against the NumPy code they replaced (the oracles).

Decisions (coverage, feasibility) must be identical, numbers equal to a relative 1e-9.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle_radar import bank_coverage_numpy
from oracle_truth import state_at_numpy

from iamd.geo import geodetic2ecef
from iamd.physics.truth import KEY_STRIDE_S, TruthTable
from iamd.sensors.radar import RadarBank, RadarSite, bank_coverage

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


def _bank(rng: np.random.Generator, r: int, masks: bool) -> RadarBank:
    sites = [
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
    return RadarBank.of(sites)


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
