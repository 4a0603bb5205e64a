"""Multi-target tracker: association against brute force, and agreement with Stone Soup."""

import itertools

import numpy as np
import pytest

from iamd.tracking import bench
from iamd.tracking.association import gate_pairs, gnn
from iamd.tracking.metrics import gospa, ospa, quality
from iamd.tracking.tracker import PositionSensor, TrackerConfig, Tracks, step


def brute_gnn_cost(cost: np.ndarray, missed: float) -> float:
    """Minimum total cost over every matching of a dense (n, m) matrix (inf = not allowed)."""
    n, m = cost.shape
    best = np.inf
    cols = list(range(m)) + [None] * n
    for perm in set(itertools.permutations(cols, n)):
        total = 0.0
        for i, j in enumerate(perm):
            total += missed if j is None or cost[i, j] >= missed else cost[i, j]
        best = min(best, total)
    return best


@pytest.mark.parametrize("seed", range(30))
def test_gnn_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = rng.integers(1, 5), rng.integers(1, 5)
    cost = rng.uniform(0, 5, (n, m))
    cost[rng.uniform(size=(n, m)) < 0.3] = np.inf
    ti, di = np.nonzero(np.isfinite(cost))
    a = gnn(n, m, ti.astype(np.int64), di.astype(np.int64), cost[ti, di], 3.0)
    used = a[a >= 0]
    assert used.size == np.unique(used).size  # a detection goes to one track at most
    got = sum(cost[i, a[i]] if a[i] >= 0 else 3.0 for i in range(n))
    assert got == pytest.approx(brute_gnn_cost(cost, 3.0), abs=1e-12)
    assert all(cost[i, a[i]] < 3.0 for i in range(n) if a[i] >= 0)


def test_gate_pairs_equal_brute_force() -> None:
    rng = np.random.default_rng(3)
    pred = rng.uniform(0, 10e3, (200, 3))
    det = rng.uniform(0, 10e3, (300, 3))
    d = np.linalg.norm(pred[:, None] - det[None], axis=2)
    for radius in (500.0, rng.uniform(200, 900, 200)):
        ti, di = gate_pairs(pred, det, radius)
        r = np.broadcast_to(radius, (200,))
        want = np.argwhere(d <= r[:, None])
        assert np.array_equal(np.stack([ti, di], 1), want)


def brute_ospa(x: np.ndarray, y: np.ndarray, c: float, p: float) -> float:
    if len(x) > len(y):
        x, y = y, x
    m, n = len(x), len(y)
    if n == 0:
        return 0.0
    best = min(
        sum(min(np.linalg.norm(x[i] - y[j]), c) ** p for i, j in enumerate(perm))
        for perm in itertools.permutations(range(n), m)
    )
    return float(((best + c**p * (n - m)) / n) ** (1 / p))


def brute_gospa(x: np.ndarray, y: np.ndarray, c: float, p: float) -> float:
    best = np.inf
    for k in range(min(len(x), len(y)) + 1):
        for xs in itertools.combinations(range(len(x)), k):
            for ys in itertools.permutations(range(len(y)), k):
                d = [np.linalg.norm(x[i] - y[j]) for i, j in zip(xs, ys, strict=True)]
                if any(v >= c for v in d):
                    continue
                total = sum(v**p for v in d) + c**p / 2 * (len(x) + len(y) - 2 * k)
                best = min(best, total)
    return float(best ** (1 / p))


@pytest.mark.parametrize("seed", range(20))
def test_ospa_and_gospa_match_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 2000, (rng.integers(0, 5), 3))
    y = rng.uniform(0, 2000, (rng.integers(0, 5), 3))
    for p in (1.0, 2.0):
        assert ospa(x, y, 1000.0, p) == pytest.approx(brute_ospa(x, y, 1000.0, p), abs=1e-9)
        assert gospa(x, y, 1000.0, p) == pytest.approx(brute_gospa(x, y, 1000.0, p), abs=1e-9)


@pytest.mark.parametrize(("targets", "clutter", "seed"), [(5, 0, 1), (12, 20, 2), (25, 60, 3)])
def test_same_tracks_as_stonesoup(targets: int, clutter: float, seed: int) -> None:
    pytest.importorskip("stonesoup")
    sc = bench.make_scenario(targets, 15, clutter, seed)
    _, pos_i, tables = bench.run_iamd(sc)
    _, pos_s, states = bench.run_stonesoup(sc)
    for k in range(sc.t_s.size):
        mine = tables[k]
        xs = mine.x[mine.confirmed]
        ps = mine.p[mine.confirmed]
        ref_x = np.array([s[0] for s in states[k]]).reshape(-1, 6)
        ref_p = np.array([s[1] for s in states[k]]).reshape(-1, 6, 6)
        assert xs.shape == ref_x.shape, f"scan {k}"
        a, b = np.lexsort(xs[:, :3].T), np.lexsort(ref_x[:, :3].T)
        np.testing.assert_allclose(xs[a], ref_x[b], atol=1e-6)
        np.testing.assert_allclose(ps[a], ref_p[b], rtol=1e-9, atol=1e-6)
    assert bench.mean_ospa(sc, pos_i) == pytest.approx(bench.mean_ospa(sc, pos_s), abs=1e-6)
    assert sum(len(p) for p in pos_i) > 0


def cross(sep_z_m: float, seed: int) -> Tracks:
    """Two targets crossing in plan at 200 m/s, ``sep_z_m`` apart in height; tracked 40 s."""
    rng = np.random.default_rng(seed)
    model = PositionSensor(np.full(3, 20.0))
    cfg = TrackerConfig(q_m2_s3=0.1, missed_distance=4.0, delete_pos_var_m2=3 * 500.0**2)
    tr = Tracks.empty()
    for k in range(41):
        t = float(k)
        a = np.array([-4000.0 + 200 * t, 0.0, 5000.0])
        b = np.array([0.0, -4000.0 + 200 * t, 5000.0 + sep_z_m])
        z = np.stack([a, b]) + rng.normal(0, 20.0, (2, 3))
        tr, _ = step(tr, t, z, model, cfg, np.array([0, 1]))
        if k == 2:
            ids = {int(i): int(lab) for i, lab in zip(tr.track_id, tr.label, strict=True)}
        if k > 2:
            for i, lab in zip(tr.track_id, tr.label, strict=True):
                assert ids[int(i)] == int(lab), f"track {i} swapped at t={t}"
    return tr


@pytest.mark.parametrize("seed", range(5))
def test_crossing_targets_keep_their_tracks(seed: int) -> None:
    tr = cross(sep_z_m=300.0, seed=seed)
    assert tr.confirmed.sum() == 2
    assert set(tr.label.tolist()) == {0, 1}


def test_empty_scans_coast_then_delete() -> None:
    model = PositionSensor(np.full(3, 50.0))
    cfg = TrackerConfig(delete_pos_var_m2=3 * 500.0**2)
    tr = Tracks.empty()
    for k in range(3):
        tr, _ = step(tr, float(k), np.array([[100.0 * k, 0.0, 0.0]]), model, cfg)
    assert tr.confirmed.sum() == 1
    n_scans = 0
    while len(tr):
        n_scans += 1
        tr, rep = step(tr, 2.0 + n_scans, np.zeros((0, 3)), model, cfg)
        assert n_scans < 100
    assert rep.deleted_ids.size == 1
    # coasting grows the covariance until it crosses the threshold: a few scans, not one
    assert n_scans > 1


def test_bad_measurements_raise_clear_errors() -> None:
    model = PositionSensor(np.full(3, 50.0))
    cfg = TrackerConfig()
    with pytest.raises(ValueError, match="not finite"):
        step(Tracks.empty(), 0.0, np.array([[0.0, np.nan, 0.0]]), model, cfg)
    tr, _ = step(Tracks.empty(), 5.0, np.array([[0.0, 0.0, 0.0]]), model, cfg)
    with pytest.raises(ValueError, match="older"):
        step(tr, 4.0, np.array([[0.0, 0.0, 0.0]]), model, cfg)
    with pytest.raises(ValueError, match="missed_distance"):
        TrackerConfig(missed_distance=0.0).check()


def test_quality_counts_id_changes_and_spurious_tracks() -> None:
    truth = np.array([[0.0, 0.0, 0.0], [5000.0, 0.0, 0.0]])
    tid = np.array([0, 1])
    frames = [
        (truth, tid, truth + 10.0, np.array([7, 8])),
        (truth, tid, np.vstack([truth + 10.0, [[90e3, 0, 0]]]), np.array([7, 9, 4])),
        (truth, tid, truth[:1] + 10.0, np.array([7])),
    ]
    q = quality(frames)
    assert q.id_changes == 1  # truth 1: track 8 then 9
    assert q.spurious_tracks == 1  # track 4 never matched a truth
    assert q.completeness == pytest.approx(5 / 6)
    assert q.instants == 3
