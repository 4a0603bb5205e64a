"""Track-to-track fusion: covariance intersection, and what sharing does in a run."""

from __future__ import annotations

import numpy as np
from conftest import without_timings

from iamd import simulate
from iamd.scenario.load import load_scenario_text
from iamd.tracking.fusion import Fused, covariance_intersection, fuse


def random_spd(rng: np.random.Generator, k: int, d: int) -> np.ndarray:
    a = rng.normal(size=(k, d, d))
    return a @ np.transpose(a, (0, 2, 1)) + 0.5 * np.eye(d)


def test_covariance_intersection_is_consistent_whatever_the_correlation() -> None:
    """Two estimates of one state with correlated errors: CI's covariance bounds the error."""
    rng = np.random.default_rng(4)
    d, runs = 3, 20000
    pa = random_spd(rng, 1, d)[0]
    pb = random_spd(rng, 1, d)[0]
    for rho in (0.0, 0.5, 0.95):
        # joint error covariance with cross-covariance rho * sqrt-factors
        la, lb = np.linalg.cholesky(pa), np.linalg.cholesky(pb)
        cross = rho * la @ lb.T
        joint = np.block([[pa, cross], [cross.T, pb]])
        e = rng.multivariate_normal(np.zeros(2 * d), joint, runs)
        x, p, w = covariance_intersection(
            e[:, :d], np.broadcast_to(pa, (runs, d, d)), e[:, d:], np.broadcast_to(pb, (runs, d, d))
        )
        assert np.all((w >= 0) & (w <= 1))
        actual = np.cov(x.T)
        # P - actual is positive semi-definite (up to sampling error)
        assert np.linalg.eigvalsh(p[0] - actual).min() > -0.05 * np.trace(actual)
    # fusing an estimate with itself changes nothing
    x, p, _ = covariance_intersection(e[:1, :d], pa[None], e[:1, :d], pa[None])
    np.testing.assert_allclose(p[0], pa, rtol=1e-9)
    np.testing.assert_allclose(x[0], e[0, :d], atol=1e-9)


def pic(x: np.ndarray, sigma: float, ids: list[int], label: list[int]) -> Fused:
    n = x.shape[0]
    p = np.broadcast_to(np.eye(6) * sigma**2, (n, 6, 6)).copy()
    return Fused(
        x, p, 0.0, np.zeros(n), np.array(ids), np.array(label), np.ones(n, int), np.ones(n, int)
    )


def test_fuse_pairs_tracks_of_the_same_objects_and_keeps_the_rest() -> None:
    rng = np.random.default_rng(1)
    truth = np.zeros((3, 6))
    truth[:, 0] = [0.0, 5000.0, 10000.0]
    own = pic(truth[:2] + rng.normal(0, 50, (2, 6)), 50.0, [1, 2], [0, 1])
    other = pic(truth[[2, 0]] + rng.normal(0, 50, (2, 6)), 50.0, [7, 8], [2, 0])
    out = fuse(own, other, gate=4.0)
    assert out.x.shape[0] == 3  # objects 0 and 1 from own, object 2 added from the partner
    assert out.track_id.tolist() == [1, 2, 7]
    assert out.sources.tolist() == [2, 1, 1]
    # the fused track on object 0 is no less certain than either input
    assert np.trace(out.p[0]) <= np.trace(own.p[0]) + 1e-9


SHARING = """
name: sharing
origin: {lat_deg: 32.0, lon_deg: 35.0}
duration_s: 2400
seed: 5
owners:
  - {name: blue}
  - {name: scout, shares_with: %s, share_link: {latency_s: 2.0, loss: %s}}
assets:
  - {name: Town, value: 50, point: {lat_deg: 32.0, lon_deg: 35.0}, radius_km: 3}
sensors:
  - {name: local, type: fire_control_radar, owner: blue, lat_deg: 32.0, lon_deg: 35.0}
  - {name: aew, type: airborne_radar, owner: scout, lat_deg: 33.0, lon_deg: 35.3}
c2_nodes:
  - {name: bmc, owner: blue, lat_deg: 32.0, lon_deg: 35.0, cycle_s: 2}
fire_units:
  - {name: mid, interceptor: mid_tier, owner: blue, c2: bmc, lat_deg: 32.02, lon_deg: 35.0%s}
raid:
  - threat: cruise_missile
    count: 4
    launch_area: {lat_deg: 33.6, lon_deg: 35.0, radius_km: 5}
    interval_s: 60
    targets: [Town]
"""


def run_sharing(shares_with: str, loss: float):  # type: ignore[no-untyped-def]
    """Blue's battery engages on the scout's tracks and radar when the scout shares them
    (``engage_on_remote``: its own radar sees the low fliers too late)."""
    remote = ", engage_on_remote: true" if shares_with != "[]" else ""
    text = SHARING % (shares_with, loss, remote)
    return simulate(load_scenario_text(text, "sharing.yaml"))


def first_held_s(result) -> dict[int, float]:  # type: ignore[no-untyped-def]
    """Per threat, the first sample time at which blue's picture held a track within 1 km
    of it (threats never held are left out)."""
    blue = result.world.owners.index("blue")
    tr = result.world.truth
    first: dict[int, float] = {}
    samples = result.outcome.samples
    end = np.where(np.isnan(result.outcome.t_fate_s), np.inf, result.outcome.t_fate_s)
    for t, (_, _, est, _) in zip(samples.times[blue], samples.frames[blue], strict=True):
        alive = np.flatnonzero((tr.t_launch_s <= t) & (t < end))
        if alive.size == 0 or est.shape[0] == 0:
            continue
        pos = tr.state_at(alive, np.full(alive.size, t))[:, :3]
        d = np.linalg.norm(pos[:, None] - est[None], axis=2).min(axis=1)
        for i in alive[d < 1000.0]:
            first.setdefault(int(i), float(t))
    return first


def rows(result) -> list[tuple]:  # type: ignore[no-untyped-def]
    """The event log as comparable rows (NaN made None, dictionaries decoded)."""
    return [
        tuple(None if isinstance(v, float) and np.isnan(v) else v for v in e.values())
        for e in result.outcome.events.table().to_pylist()
    ]


def test_sharing_gives_earlier_tracks_and_full_loss_equals_not_sharing() -> None:
    shared = run_sharing("[blue]", 0.0)
    alone = run_sharing("[]", 0.0)
    lost = run_sharing("[blue]", 1.0)
    # the partner's airborne radar sees the low fliers long before blue's own radar: every
    # threat is held a minute or more earlier (samples every 20 s), and more are killed
    early, late = first_held_s(shared), first_held_s(alone)
    assert late and set(late) <= set(early)
    assert all(early[i] <= late[i] - 60.0 for i in late), (early, late)
    assert shared.summary["threats"]["intercepted"] > alone.summary["threats"]["intercepted"]
    # a link that loses everything is the same as no link
    assert without_timings(alone.summary) == without_timings(lost.summary)
    assert rows(alone) == rows(lost)
    assert lost.outcome.net is not None and lost.outcome.net.shares_lost > 0
