"""The compiled tracking kernels against the NumPy and SciPy code they replaced.

Decisions (gated pairs, assignments, components) must be identical; states and
covariances equal to a relative 1e-9.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from numba import njit
from oracle_radar import bank_coverage_numpy
from oracle_tracking import (
    associate_numpy,
    covariance_intersection_numpy,
    fuse_numpy,
    gate_pairs_numpy,
    gnn_numpy,
    motion_of_numpy,
    position_cov_numpy,
    predict_numpy,
    rae_model_numpy,
    step_numpy,
    to_position_numpy,
    update_numpy,
)
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from iamd.geo import enu_rotation, geodetic2ecef
from iamd.sensors.radar import RadarBank, RadarSite
from iamd.tracking.association import components, gate_pairs, gnn, linear_assignment
from iamd.tracking.filters import predict, rae_model, update
from iamd.tracking.fusion import (
    Fused,
    best_per_label,
    covariance_intersection,
    fuse,
    fuse_all,
    fuse_own_and_partners,
    stack_partners,
)
from iamd.tracking.ideal import MotionModel
from iamd.tracking.system import NO_NUMBERING
from iamd.tracking.tracker import (
    PositionSensor,
    RadarSensor,
    TrackerConfig,
    Tracks,
    associate,
    motion_figures,
    motion_of,
    step,
)


@njit
def associate_from_python(x, p, z, z_pos, radius, kind, site, rot, sigma, missed):  # type: ignore[no-untyped-def]
    """The scan kernel, which other cached kernels call, entered from Python (see
    ``iamd.tracking.association._assign_rows_entry``)."""
    return associate(x, p, z, z_pos, radius, kind, site, rot, sigma, missed)


def _associate(x, p, z, z_pos, z_var, model, cfg):  # type: ignore[no-untyped-def]
    """The scan kernel with the tracker's gate radius, as the oracle's interface."""
    if cfg.gate_radius_m is None:
        radius = cfg.missed_distance * np.sqrt(np.trace(p[:, :3, :3], axis1=1, axis2=2) + z_var)
    else:
        radius = np.full(x.shape[0], cfg.gate_radius_m)
    kind, site, rot, sigma = model.kernel_model()
    c = np.ascontiguousarray
    return associate_from_python(
        c(x), c(p), c(z, dtype=float), c(z_pos, dtype=float), radius, kind, site, rot, sigma,
        float(cfg.missed_distance),
    )  # fmt: skip


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
seeds = st.integers(0, 2**32 - 1)


@SETTINGS
@given(seed=seeds, rows=st.integers(1, 9), cols=st.integers(1, 9), ties=st.booleans())
def test_linear_assignment_equals_scipy(seed: int, rows: int, cols: int, ties: bool) -> None:
    """Same pairs as SciPy, also where costs tie (small integers), and the same refusal."""
    rng = np.random.default_rng(seed)
    cost = rng.integers(0, 3, (rows, cols)).astype(float) if ties else rng.normal(size=(rows, cols))
    cost[rng.random((rows, cols)) < 0.25] = np.inf
    try:
        want = linear_sum_assignment(cost)
    except ValueError:
        with pytest.raises(ValueError, match="infeasible"):
            linear_assignment(cost)
        return
    got = linear_assignment(cost)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_linear_assignment_refuses_nan() -> None:
    with pytest.raises(ValueError, match="nan"):
        linear_assignment(np.array([[1.0, np.nan]]))


@SETTINGS
@given(seed=seeds, n=st.integers(0, 300), m=st.integers(0, 300), per_track=st.booleans())
def test_gating_equals_kd_tree(seed: int, n: int, m: int, per_track: bool) -> None:
    """The grid (or brute force for small scans) finds exactly the k-d tree's pairs, in order."""
    rng = np.random.default_rng(seed)
    pred = rng.uniform(0, 20e3, (n, 3))
    det = np.concatenate([rng.uniform(0, 20e3, (m // 2, 3)), pred[: m - m // 2] + 300.0])
    radius = rng.uniform(100, 2000, n) if per_track else 800.0
    got = gate_pairs(pred, det, radius)
    want = gate_pairs_numpy(pred, det, radius)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


@SETTINGS
@given(seed=seeds, n=st.integers(1, 60), edges=st.integers(0, 80))
def test_components_partition_like_scipy(seed: int, n: int, edges: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, n, edges), rng.integers(0, n, edges)
    got = components(n, a, b)
    _, want = connected_components(coo_matrix((np.ones(edges), (a, b)), (n, n)), directed=False)
    # the same partition: a one-to-one map between the two labellings
    pairs = set(zip(got.tolist(), want.tolist(), strict=True))
    assert len(pairs) == len(set(got.tolist())) == len(set(want.tolist()))


@SETTINGS
@given(
    seed=seeds,
    n=st.integers(1, 120),
    m=st.integers(1, 120),
    density=st.floats(0.01, 0.5),
    ties=st.booleans(),
)
def test_gnn_equals_scipy_oracle(seed: int, n: int, m: int, density: float, ties: bool) -> None:
    """Identical assignments, through the direct, whole and clustered paths."""
    rng = np.random.default_rng(seed)
    mask = rng.random((n, m)) < density
    ti, di = (x.astype(np.int64) for x in np.nonzero(mask))
    cost = rng.integers(0, 4, ti.size).astype(float) if ties else rng.uniform(0, 4, ti.size)
    assert np.array_equal(gnn(n, m, ti, di, cost, 3.0), gnn_numpy(n, m, ti, di, cost, 3.0))


def random_states(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """States 0-300 km up over the eastern Mediterranean, 0-3 km/s, with random covariances."""
    lat, lon = np.radians(rng.uniform(28, 36, n)), np.radians(rng.uniform(30, 40, n))
    x = np.zeros((n, 6))
    x[:, :3] = geodetic2ecef(lat, lon, rng.uniform(0, 300e3, n))
    x[:, 3:] = rng.normal(0, 1500, (n, 3))
    a = rng.normal(0, 1, (n, 6, 6)) * np.array([300.0] * 3 + [30.0] * 3)
    p = a @ np.transpose(a, (0, 2, 1)) + np.eye(6) * 10.0
    return x, p


@SETTINGS
@given(seed=seeds, n=st.integers(0, 40), long=st.booleans())
def test_predict_equals_numpy(seed: int, n: int, long: bool) -> None:
    rng = np.random.default_rng(seed)
    x, p = random_states(rng, n)
    dt = rng.uniform(0, 60 if long else 5, n)
    q = rng.uniform(0, 50, n)
    ballistic = rng.random(n) < 0.5
    beta = np.where(rng.random(n) < 0.3, np.inf, rng.uniform(500, 20000, n))
    got, want = predict(x, p, dt, q, ballistic, beta), predict_numpy(x, p, dt, q, ballistic, beta)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-9)


def radar(rng: np.random.Generator) -> RadarSensor:
    lat, lon = np.radians(rng.uniform(29, 35)), np.radians(rng.uniform(31, 39))
    site = geodetic2ecef(lat, lon, 100.0)
    return RadarSensor(site, enu_rotation(lat, lon), np.array([50.0, 2e-3, 2e-3]))


@SETTINGS
@given(seed=seeds, n=st.integers(0, 40))
def test_rae_model_and_update_equal_numpy(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    x, p = random_states(rng, n)
    model = radar(rng)
    z_hat, h = rae_model(x, model.site_ecef_m, model.rot)
    z_ref, h_ref = rae_model_numpy(x, model.site_ecef_m, model.rot)
    np.testing.assert_allclose(z_hat, z_ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(h, h_ref, rtol=1e-9, atol=1e-15)
    innov = rng.normal(0, 1, (n, 3)) * model.sigma
    r = np.broadcast_to(np.diag(model.sigma**2), (n, 3, 3))
    for g, w in zip(update(x, p, innov, h, r), update_numpy(x, p, innov, h_ref, r), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-6)


@SETTINGS
@given(seed=seeds, n=st.integers(0, 30), m=st.integers(0, 30), use_radar=st.booleans())
def test_association_equals_numpy(seed: int, n: int, m: int, use_radar: bool) -> None:
    """One scan's GNN and update: the same assignment, states to a relative 1e-9."""
    rng = np.random.default_rng(seed)
    x, p = random_states(rng, n)
    p = p * 0.05
    model = radar(rng) if use_radar else PositionSensor(np.full(3, 200.0))
    truth = x[rng.integers(0, max(n, 1), m)] if n else random_states(rng, m)[0]
    z_pos = truth[:, :3] + rng.normal(0, 150, (m, 3))
    z = z_pos
    if isinstance(model, RadarSensor):
        z = rae_model_numpy(np.pad(z_pos, ((0, 0), (0, 3))), model.site_ecef_m, model.rot)[0]
    cfg = TrackerConfig(gate_radius_m=None if rng.random() < 0.5 else 3000.0)
    z_var = model.max_position_var(z) if m else 0.0
    got = _associate(x, p, z, z_pos, z_var, model, cfg)
    want = associate_numpy(x, p, z, z_pos, z_var, model, cfg)
    assert np.array_equal(got[0], want[0])
    np.testing.assert_allclose(got[1], want[1], rtol=1e-9)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-9, atol=1e-6)


@SETTINGS
@given(seed=seeds, n=st.integers(0, 25), m=st.integers(0, 25))
def test_fusion_equals_numpy(seed: int, n: int, m: int) -> None:
    """A partner's picture fused into one's own: the same pairs, states to a relative 1e-9."""
    rng = np.random.default_rng(seed)
    x, p = random_states(rng, n)
    near = x[rng.integers(0, n, m)] if n else random_states(rng, m)[0]
    y = near + np.concatenate([rng.normal(0, 300, (m, 3)), rng.normal(0, 30, (m, 3))], 1)
    q = random_states(rng, m)[1]

    def picture(x: np.ndarray, p: np.ndarray, first_id: int) -> Fused:
        k = x.shape[0]
        ids = first_id + np.arange(k)
        return Fused(
            x, p * 0.05, 10.0, rng.uniform(0, 10, k), ids, ids % 7, np.ones(k, np.int64), ids % 3
        )

    own, other = picture(x, p, 0), picture(y, q, 1000)
    got, want = fuse(own, other, 3.0), fuse_numpy(own, other, 3.0)
    for name in ("t_hit_s", "track_id", "label", "sources", "updates"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name
    # a 0.1 mm (per second) floor: the NumPy oracle forms the information vector P^-1 x
    # of a state 6,400 km from the Earth's centre, which cancels to the velocity, and
    # rounds there by up to about 2e-5; the kernel fuses the offset from one estimate
    np.testing.assert_allclose(got.x, want.x, rtol=1e-9, atol=1e-4)
    np.testing.assert_allclose(got.p, want.p, rtol=1e-9, atol=1e-6)


@SETTINGS
@given(seed=seeds, sizes=st.lists(st.integers(0, 15), min_size=1, max_size=5))
def test_fusing_several_pictures_equals_numpy(seed: int, sizes: list[int]) -> None:
    """Partners' pictures fused one by one into one's own in one compiled call: as the
    NumPy fusion applied to each partner in turn."""
    rng = np.random.default_rng(seed)
    base, _ = random_states(rng, 12)
    pictures = []
    for g, k in enumerate(sizes):  # the same few objects, seen by each partner with errors
        x = base[rng.integers(0, 12, k)] + np.concatenate(
            [rng.normal(0, 300, (k, 3)), rng.normal(0, 30, (k, 3))], 1
        )
        ids = 1000 * g + np.arange(k)
        p = random_states(rng, k)[1] * 0.05
        pictures.append(
            Fused(x, p, 10.0, rng.uniform(0, 10, k), ids, ids % 7, 1 + ids % 2, ids % 3)
        )
    got = fuse_all(pictures, 3.0)
    want = pictures[0]
    for other in pictures[1:]:
        want = fuse_numpy(want, other, 3.0)
    for name in ("t_hit_s", "track_id", "label", "sources", "updates"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name
    np.testing.assert_allclose(got.x, want.x, rtol=1e-9, atol=1e-4)  # see above
    np.testing.assert_allclose(got.p, want.p, rtol=1e-9, atol=1e-6)


@SETTINGS
@given(seed=seeds, k=st.integers(1, 20))
def test_covariance_intersection_does_not_depend_on_the_origin(seed: int, k: int) -> None:
    """Fusing two estimates far from the origin gives the fusion of the same estimates
    near it, moved: the velocity keeps its precision 6,400 km from the Earth's centre."""
    rng = np.random.default_rng(seed)
    xa, pa = random_states(rng, k)
    xb, pb = random_states(rng, k)
    shift = np.zeros(6)
    shift[:3] = xa[0, :3]
    near, _, _ = covariance_intersection(xa - shift, pa, xb - shift, pb)
    far, _, _ = covariance_intersection(xa, pa, xb, pb)
    np.testing.assert_allclose(far[:, 3:], near[:, 3:], rtol=1e-9, atol=1e-8)
    np.testing.assert_allclose(far[:, :3], near[:, :3] + shift[:3], rtol=1e-12, atol=1e-6)


@SETTINGS
@given(seed=seeds, k=st.integers(1, 20))
def test_covariance_intersection_equals_numpy(seed: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    xa, pa = random_states(rng, k)
    xb, pb = random_states(rng, k)
    got = covariance_intersection(xa, pa, xb, pb)
    want = covariance_intersection_numpy(xa, pa, xb, pb)
    for g, w, floor in zip(got, want, (1e-4, 1e-6, 1e-12), strict=True):  # see above
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=floor)


@SETTINGS
@example(seed=309214, targets=22, use_radar=True, per_track_gate=False, confirm_n=None,
         max_misses=None, view="mask")  # fmt: skip
@given(
    seed=seeds,
    targets=st.integers(0, 25),
    use_radar=st.booleans(),
    per_track_gate=st.booleans(),
    confirm_n=st.sampled_from([None, 3]),
    max_misses=st.sampled_from([None, 2]),
    view=st.sampled_from(["mask", "coverage", "blind"]),
)
def test_step_equals_numpy(
    seed: int,
    targets: int,
    use_radar: bool,
    per_track_gate: bool,
    confirm_n: int | None,
    max_misses: int | None,
    view: str,
) -> None:
    """Eight scans of targets with misses and clutter: the same tables (identities,
    confirmations, counts, labels) and reports; states to a relative 1e-9. The sensor's
    view of the tracks is a mask, a radar's coverage of their predicted positions (the
    oracle tests them with the NumPy coverage), or nothing (a launch warning's)."""
    rng = np.random.default_rng(seed)
    x, _ = random_states(rng, targets)
    x[:, 3:] *= 0.2
    model = radar(rng) if use_radar else PositionSensor(np.full(3, 100.0))
    cfg = TrackerConfig(
        gate_radius_m=None if per_track_gate else 3000.0,
        confirm_m=int(rng.integers(1, 3)),
        confirm_n=confirm_n,
        max_misses=max_misses,
        delete_pos_var_m2=rng.choice([3e6, 3e4]),
    )
    got = want = Tracks.empty()
    # a radar over part of the targets' area (or none at all)
    site = RadarSite.build("r", "o", 32.0, 35.0, 0.0, 0.0, 360.0, 0.0, 90.0, 400.0, 100.0, 13.0,
                           0.0, 1e-6, 5.0, 10.0, 1.0, 0.0)  # fmt: skip
    bank = RadarBank.of([site] if view == "coverage" else [])
    for k in range(8):
        t_s = 2.0 * k
        seen = rng.random(targets) < 0.8
        pos = x[seen, :3] + t_s * x[seen, 3:] + rng.normal(0, 100, (int(seen.sum()), 3))
        clutter = random_states(rng, int(rng.integers(0, 4)))[0][:, :3]
        pos = np.concatenate([pos, clutter])
        z = pos
        if isinstance(model, RadarSensor):
            z = rae_model_numpy(np.pad(pos, ((0, 0), (0, 3))), model.site_ecef_m, model.rot)[0]
        labels = np.concatenate([np.flatnonzero(seen), np.full(len(clutter), -1)])
        if view == "mask":
            mask = rng.random(len(got)) < 0.9
            got, rep = step(got, t_s, z, model, cfg, labels, mask)
            want, rep_want = step_numpy(want, t_s, z, model, cfg, labels, mask)
        else:
            got, rep = step(got, t_s, z, model, cfg, labels, bank)
            want, rep_want = step_numpy(
                want, t_s, z, model, cfg, labels, lambda x: bank_coverage_numpy(bank, x)[0].any(0)
            )
        for name in ("track_id", "confirmed", "updates", "misses", "scans", "t_hit_s", "label"):
            assert np.array_equal(getattr(got, name), getattr(want, name)), (k, name)
        assert got.next_id == want.next_id
        assert np.array_equal(rep.confirmed_ids, rep_want.confirmed_ids)
        assert np.array_equal(rep.deleted_ids, rep_want.deleted_ids)
        # relative 1e-9, or 1 um/s where a velocity component cancels to near zero (seed
        # 309214: -0.0129 m/s, 6e-11 apart: the two sum the update's terms in another order)
        np.testing.assert_allclose(got.x, want.x, rtol=1e-9, atol=1e-6)
        np.testing.assert_allclose(got.p, want.p, rtol=1e-9, atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 40), known=st.booleans())
def test_motion_of_equals_numpy(seed: int, n: int, known: bool) -> None:
    """Each track's motion model: by speed, or its class's when labelled and known."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, (n, 6)) * np.array([1e6] * 3 + [800.0] * 3)
    label = rng.integers(-1, 4, n)
    cfg = TrackerConfig(q_m2_s3=2.0, q_fast_m2_s3=float(rng.choice([5.0, 9.0])),
                        ballistic_speed_m_s=1000.0)  # fmt: skip
    motion = MotionModel(
        np.array([True, False, True, False]), rng.uniform(1e3, 1e4, 4), rng.uniform(0.1, 9.0, 4)
    )
    got = motion_of(x, label, cfg, motion if known else None)
    want = motion_of_numpy(x, label, cfg, motion if known else None)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)


@SETTINGS
@given(seed=seeds, n=st.integers(0, 60), labels=st.integers(1, 12), ties=st.booleans())
def test_best_row_per_label_equals_lexsort(seed: int, n: int, labels: int, ties: bool) -> None:
    """Each label's most certain row: as the NumPy version's stable lexsort picks it."""
    rng = np.random.default_rng(seed)
    p = random_states(rng, n)[1]
    if ties and n:  # equal traces: the first row must win
        p[rng.integers(0, n, n // 2)] = p[0]
    label = rng.integers(-1, labels, n)
    got = best_per_label(p, label, n, labels)
    real = np.flatnonzero(label >= 0)
    trace = np.trace(p[real, :3, :3], axis1=1, axis2=2)
    order = real[np.lexsort((trace, label[real]))]
    lab = label[order]
    first = np.ones(lab.size, bool)
    first[1:] = lab[1:] != lab[:-1]
    want = np.full(labels, -1)
    want[lab[first]] = order[first]
    np.testing.assert_array_equal(got, want)


@SETTINGS
@given(
    seed=seeds,
    own=st.integers(0, 12),
    sizes=st.lists(st.integers(0, 12), max_size=3),
    known=st.booleans(),
)
def test_a_fused_picture_equals_prediction_then_fusion(
    seed: int, own: int, sizes: list[int], known: bool
) -> None:
    """A node's fused picture in one call (:func:`fuse_own_and_partners`): as its
    confirmed tracks and the partners' pictures each predicted to the picture time
    (:func:`motion_of`, :func:`predict`), then fused one partner after the other
    (:func:`fuse_all`); and the per-threat rows it leaves (:func:`adopt_best`): each
    label's most certain track."""
    rng = np.random.default_rng(seed)
    t_now, labels = 100.0, 6

    def columns(n: int) -> tuple[np.ndarray, ...]:
        x, p = random_states(rng, n)
        ids = rng.integers(0, 10**6, n)
        return x, p * 0.05, rng.uniform(80.0, 100.0, n), ids, rng.integers(-1, labels, n)

    x, p, t_s, ids, label = columns(own)
    updates = rng.integers(1, 9, own)
    tracks = Tracks(x, p, t_s, ids, rng.random(own) < 0.7, updates, 0 * updates, 0 * updates,
                    t_s - rng.uniform(0.0, 5.0, own), label)  # fmt: skip
    partners = []
    for n in sizes:
        x, p, _, ids, label = columns(n)
        t_pic = float(rng.uniform(80.0, 100.0))
        partners.append(Fused(x, p, t_pic, rng.uniform(70.0, 80.0, n), ids, label,
                              rng.integers(1, 3, n), rng.integers(1, 9, n)))  # fmt: skip
    cfg = TrackerConfig(q_fast_m2_s3=50.0)
    motion = MotionModel(rng.random(labels) < 0.5, rng.uniform(1e3, 1e4, labels),
                         rng.uniform(0.1, 9.0, labels))  # fmt: skip
    rows = (np.zeros((labels, 6)), np.zeros((labels, 6, 6)), np.zeros(labels),
            np.ones(labels, bool), np.zeros(labels, np.int64))  # fmt: skip
    n, *got, numbers = fuse_own_and_partners(
        (tracks.x, tracks.p, tracks.t_s, tracks.confirmed, tracks.t_hit_s, tracks.track_id,
         tracks.label, tracks.updates),
        stack_partners(partners),
        t_now,
        motion_figures(cfg, motion if known else None),
        3.0,
        rows,
        True,
        NO_NUMBERING,
    )  # fmt: skip
    assert (numbers == -1).all()
    c = np.flatnonzero(tracks.confirmed)
    mine = Fused(tracks.x[c], tracks.p[c], 0.0, tracks.t_hit_s[c], tracks.track_id[c],
                 tracks.label[c], np.ones(c.size, np.int64), tracks.updates[c])  # fmt: skip
    every = [mine, *partners]  # predicted in one batch: ballistic tracks share a step count
    x0, p0 = np.concatenate([f.x for f in every]), np.concatenate([f.p for f in every])
    label0 = np.concatenate([f.label for f in every])
    t0 = np.concatenate([tracks.t_s[c], *(np.full(f.x.shape[0], f.t_s) for f in partners)])
    q, fast, beta = motion_of(x0, label0, cfg, motion if known else None)
    xp, pp = predict(x0, p0, t_now - t0, q, fast, beta)
    cut = np.cumsum([0] + [f.x.shape[0] for f in every])
    pictures = [
        Fused(xp[a:b], pp[a:b], t_now, f.t_hit_s, f.track_id, f.label, f.sources, f.updates)
        for f, a, b in zip(every, cut[:-1], cut[1:], strict=True)
    ]
    want = fuse_all(pictures, 3.0)
    assert n == want.x.shape[0]
    for a, b in zip(
        got,
        (want.x, want.p, want.t_hit_s, want.track_id, want.label, want.sources, want.updates),
        strict=True,
    ):
        np.testing.assert_array_equal(a[:n], b)
    # the per-threat rows it wrote: each label's most certain track
    best = best_per_label(want.p, want.label, n, labels)
    took = best >= 0
    np.testing.assert_array_equal(rows[3], took)
    np.testing.assert_array_equal(rows[0][took], want.x[best[took]])
    np.testing.assert_array_equal(rows[1][took], want.p[best[took]])
    np.testing.assert_array_equal(rows[4][took], want.updates[best[took]])
    assert (rows[2][took] == t_now).all() and (rows[2][~took] == 0.0).all()


@SETTINGS
@given(seed=seeds, n=st.integers(0, 40))
def test_radar_positions_and_covariances_equal_numpy(seed: int, n: int) -> None:
    """A radar's measurements as ECEF positions and their linearised covariances."""
    rng = np.random.default_rng(seed)
    model = radar(rng)
    z = np.stack(
        [rng.uniform(1e3, 1e6, n), rng.uniform(0, 2 * np.pi, n), rng.uniform(-0.1, 1.5, n)], 1
    )
    np.testing.assert_allclose(
        model.to_position(z), to_position_numpy(model, z), rtol=1e-12, atol=1e-6
    )
    got, want = model.position_cov(z), position_cov_numpy(model, z)
    scale = np.abs(want).max(axis=(1, 2), keepdims=True) if n else 1.0
    np.testing.assert_allclose(got / scale, want / scale, rtol=0, atol=1e-12)
