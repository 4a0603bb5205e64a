"""The compiled track-quality scoring against its NumPy oracle (tests/oracle_metrics.py)
on random sequences of frames: truths that come and go, tracks that follow them with
noise, swap, drop out or are false, identities repeated within a frame."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from oracle_metrics import ospa_gospa_numpy, quality_numpy

from iamd.tracking.metrics import ospa_gospa, pairwise_sum, quality

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Frame = tuple[F64, I64, F64, I64]


def _frames(seed: int, n_frames: int, n_truths: int) -> list[Frame]:
    rng = np.random.default_rng(seed)
    spread = rng.choice([500.0, 3000.0, 20000.0])  # crowded to spread out (cut-off 1 km)
    start = rng.uniform(-spread, spread, (n_truths, 3))
    vel = rng.normal(0.0, 200.0, (n_truths, 3))
    track_of = np.arange(n_truths) + 100  # the track identity following each truth
    frames = []
    for f in range(n_frames):
        alive = np.flatnonzero(rng.random(n_truths) < 0.85)
        truth = start[alive] + 10.0 * f * vel[alive]
        if n_truths > 1 and rng.random() < 0.3:  # two tracks swap truths
            i, j = rng.integers(0, n_truths, 2)
            track_of[[i, j]] = track_of[[j, i]]
        held = alive[rng.random(alive.size) < 0.8]
        noise = rng.normal(0.0, rng.choice([50.0, 400.0, 1500.0]), (held.size, 3))
        est = start[held] + 10.0 * f * vel[held] + noise
        est_id = track_of[held].copy()
        n_false = int(rng.integers(0, 4))
        est = np.vstack([est, rng.uniform(-spread, spread, (n_false, 3))])
        est_id = np.concatenate([est_id, rng.integers(1000, 1010, n_false)])
        if est_id.size > 1 and rng.random() < 0.2:  # an identity held by two rows
            est_id[-1] = est_id[0]
        order = rng.permutation(est_id.size)
        frames.append((truth, alive.astype(np.int64), est[order], est_id[order]))
    return frames


@settings(max_examples=80, deadline=None)
@given(
    st.integers(0, 2**32 - 1), st.integers(1, 12), st.integers(0, 40), st.sampled_from([1.0, 2.0])
)
def test_quality_matches_its_oracle_exactly(
    seed: int, n_frames: int, n_truths: int, p: float
) -> None:
    frames = _frames(seed, n_frames, n_truths)
    for truth, _, est, _ in frames:
        assert ospa_gospa(truth, est, 1000.0, p) == ospa_gospa_numpy(truth, est, 1000.0, p)
    assert quality(frames, 1000.0, p) == quality_numpy(frames, 1000.0, p)


def test_the_frames_exercise_continuation_changes_and_spurious_tracks() -> None:
    """The random frames above keep tracks, change identities and leave false tracks: the
    property test cannot pass on trivial frames."""
    got = [quality(_frames(seed, 10, 20)) for seed in range(20)]
    assert sum(q.id_changes for q in got) > 0
    assert sum(q.spurious_tracks for q in got) > 0
    assert 0.2 < np.mean([q.completeness for q in got]) < 1.0


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 3000), st.integers(0, 2**32 - 1))
def test_pairwise_sum_is_numpy_sum_to_the_bit(n: int, seed: int) -> None:
    a = np.random.default_rng(seed).lognormal(0.0, 4.0, n + 5) * (-1.0) ** np.arange(n + 5)
    assert pairwise_sum(a, 5, n) == float(np.sum(a[5:]))
