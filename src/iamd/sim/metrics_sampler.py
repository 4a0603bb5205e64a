"""Track-quality sampling during a replication.

Every ``SAMPLE_S`` while threats fly, each owner that has C2 nodes records its picture
(the fused picture in ``gnn`` mode, the per-threat picture in ``ideal`` mode) and the
truth it could hold: threats alive that a sensor whose data reach it detected within
the track drop time.
:func:`track_quality` scores the samples with :mod:`iamd.tracking.metrics`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from iamd.sim.events import Kind
from iamd.sim.network import numbered_picture
from iamd.tracking.ideal import extrapolate
from iamd.tracking.metrics import TrackQuality, quality, score_frames

if TYPE_CHECKING:
    from iamd.sim.engine import Engine

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

SAMPLE_S = 20.0
"""Interval between track-quality samples."""
OSPA_C_M = 1000.0
"""OSPA and GOSPA cut-off, m (p = 1)."""


@dataclass(slots=True)
class Samples:
    """Per owner, the frames ``(truth_pos, truth_id, track_pos, track_id)`` sampled, and when;
    and, for scoring the pictures against each other, the threats each picture held (the
    truth labels of its tracks, distinct) and how many of its tracks were on threats."""

    frames: dict[int, list[tuple[F64, I64, F64, I64]]] = field(default_factory=dict)
    times: dict[int, list[float]] = field(default_factory=dict)
    held: dict[int, list[I64]] = field(default_factory=dict)
    on_threats: dict[int, list[int]] = field(default_factory=dict)
    classes: dict[int, list[tuple[I64, I64]]] = field(default_factory=dict)
    """Per owner and sample, the true and estimated classes of the threats held whose
    tracks its nodes have classified."""


def first_sample_s(t_first_launch_s: float) -> float:
    """The first sampling instant: the first multiple of ``SAMPLE_S`` after the first launch."""
    return float(math.floor(t_first_launch_s / SAMPLE_S) + 1) * SAMPLE_S


def on_sample(eng: Engine, t_s: float, _: int) -> None:
    w = eng.w
    alive = eng.alive(t_s)
    if not alive.any():
        later = w.truth.t_launch_s[w.truth.t_launch_s > t_s]
        if later.size:
            eng.push(first_sample_s(float(later.min())), Kind.SAMPLE, 0)
        return
    owners = sorted({o for _, o, _ in w.nodes})
    drop_s = w.scenario.spec.tracking.drop_after_s
    for o in owners:  # loop over owners with C2 (a few)
        live = eng.live_owners(o, t_s)
        seen = eng.last_seen[list(live)].max(axis=0) >= t_s - drop_s
        ids = np.flatnonzero(alive & seen)
        truth = w.truth.state_at(ids, np.full(ids.size, t_s))[:, :3]
        if eng.net is not None:
            pic, est_id = numbered_picture(eng, o, t_s)  # identities: system track numbers
            est: F64 = pic.x[:, :3]
            labels = pic.label[pic.label >= 0]
            threats = np.unique(labels)
        else:
            held = np.flatnonzero(eng.pictures.active[o] & (eng.pictures.updates[o] >= 2))
            motion = eng.classes.motion[o]
            x, _cov = extrapolate(eng.pictures, np.full(held.size, o), held, t_s, motion)
            est = x[:, :3]
            est_id = held
            labels = threats = held
        eng.samples.frames.setdefault(o, []).append((truth, ids, est, est_id))
        eng.samples.times.setdefault(o, []).append(t_s)
        eng.samples.held.setdefault(o, []).append(threats)
        eng.samples.on_threats.setdefault(o, []).append(int(labels.size))
        # the class estimates of the node's tracks on threats (picture rows, iamd.sim.slots)
        cls, real = eng.classes, eng.slots.real[o]
        pics = eng.pictures
        rows = np.flatnonzero(pics.active[o] & (pics.updates[o] >= 2) & (real >= 0))
        rated = rows[(cls.stamp[o, rows] >= 0) | (not cls.kinematic)]
        eng.samples.classes.setdefault(o, []).append(
            (w.truth.class_idx[real[rated]], cls.class_idx[o, rated].copy())
        )
    eng.push(t_s + SAMPLE_S, Kind.SAMPLE, 0)


def class_figures(samples: Samples, class_names: tuple[str, ...]) -> dict[str, Any]:
    """``misclassified``: over every sample of every owner, the share of the tracks on
    threats held (and classified) whose class estimate was wrong; ``confused``: that share by pair,
    ``"TRUE>TAKEN_FOR"``, largest first."""
    pairs = [p for rows in samples.classes.values() for p in rows]
    true_c = np.concatenate([np.empty(0, np.int64), *(a for a, _ in pairs)])
    est_c = np.concatenate([np.empty(0, np.int64), *(b for _, b in pairs)])
    if true_c.size == 0:
        return {"misclassified": 0.0, "confused": {}}
    wrong = true_c != est_c
    counts: dict[str, int] = {}
    for a, b in zip(true_c[wrong].tolist(), est_c[wrong].tolist(), strict=True):
        key = f"{class_names[a]}>{class_names[b]}"
        counts[key] = counts.get(key, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return {
        "misclassified": round(float(wrong.mean()), 4),
        "confused": {k: round(v / true_c.size, 4) for k, v in ranked},
    }


def track_quality(
    samples: Samples, owners: tuple[str, ...], mode: str, class_names: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The ``tracking`` block of ``summary.json``: overall figures and one set per owner."""
    by_owner = sorted(samples.frames.items())
    # each frame's OSPA and GOSPA once (one assignment), for its owner and for the whole
    scored = {o: score_frames(frames, OSPA_C_M, 1.0) for o, frames in by_owner}
    per: dict[str, TrackQuality] = {owners[o]: scored[o][0] for o, _ in by_owner}
    everything = [f for _, frames in by_owner for f in frames]
    errors = np.concatenate([np.empty((0, 2)), *(scored[o][1] for o, _ in by_owner)])
    q = quality(everything, OSPA_C_M, 1.0, errors)
    # identities are per owner: count changes and false tracks within each picture
    q = TrackQuality(
        q.ospa_m_mean,
        q.gospa_mean,
        q.completeness,
        sum(t.spurious_tracks for t in per.values()),
        sum(t.id_changes for t in per.values()),
        q.instants,
    )

    def figures(t: TrackQuality) -> dict[str, Any]:
        return {
            "ospa_m_mean": round(t.ospa_m_mean, 3),
            "gospa_mean": round(t.gospa_mean, 3),
            "completeness": round(t.completeness, 4),
            "spurious_tracks": t.spurious_tracks,
            "id_changes": t.id_changes,
        }

    pictures = picture_figures(samples, owners)
    return {
        "mode": mode,
        **class_figures(samples, class_names),
        **figures(q),
        "dual_tracks": round(pictures["dual_tracks"], 4),
        "by_owner": {
            k: {**figures(v), "dual_tracks": round(pictures["by_owner"][k]["dual_tracks"], 4)}
            for k, v in per.items()
        },
        "pairs": {
            k: {"commonality": None if v["commonality"] is None else round(v["commonality"], 4)}
            for k, v in pictures["pairs"].items()
        },
    }


def picture_figures(samples: Samples, owners: tuple[str, ...]) -> dict[str, Any]:
    """How the C2 owners' pictures compare, from the samples.

    ``dual_tracks``: tracks beyond one per threat, per threat held, over every sample of
    every owner (0: one track per threat; 0.25: one threat in four held twice), and per
    owner. ``commonality`` of two owners: over the samples, the share of the threats that
    either picture held which both held (1: the same threats; 0: none in common); None when
    neither held any.
    """
    by_owner: dict[str, dict[str, Any]] = {}
    extra = held = 0
    for o in sorted(samples.held):  # owners with C2 (a few)
        n_held = sum(int(h.size) for h in samples.held[o])
        n_extra = sum(samples.on_threats[o]) - n_held
        by_owner[owners[o]] = {"dual_tracks": n_extra / n_held if n_held else 0.0}
        extra, held = extra + n_extra, held + n_held
    pairs: dict[str, Any] = {}
    c2 = sorted(samples.held)
    for i, a in enumerate(c2):  # pairs of owners with C2 (a few)
        for b in c2[i + 1 :]:
            both = either = 0
            for ha, hb in zip(samples.held[a], samples.held[b], strict=True):
                both += int(np.intersect1d(ha, hb, assume_unique=True).size)
                either += int(np.union1d(ha, hb).size)
            name = f"{owners[a]}~{owners[b]}"
            pairs[name] = {"commonality": both / either if either else None}
    return {"dual_tracks": extra / held if held else 0.0, "by_owner": by_owner, "pairs": pairs}
