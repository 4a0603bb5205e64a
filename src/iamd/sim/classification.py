"""Each owner's class estimate of each track, and the figures the battle manager takes
from it (``tracking.classification``).

``perfect``
    Every track knows its threat's class from the start (the engine as it was).
``kinematic``
    Each owner classifies its tracks from what they show (:mod:`iamd.tracking.classify`),
    again whenever a track has new detections; ``tracking.confusion`` takes some for other
    classes.

The battle manager reads only these estimates: the motion model its assessment and its
interceptors' guidance predict a track with, the damage and laser fluence its threat
evaluation and laser engagement assume, and the kill probability its units are credited
with. The kill itself is drawn against the real object's class
(:func:`iamd.sim.engagement.on_intercept`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from iamd.sim.world import ROUTE_Q_M2_S3
from iamd.tracking import classify
from iamd.tracking.ideal import MotionModel

if TYPE_CHECKING:
    from iamd.sim.engine import Engine
    from iamd.sim.world import World

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
BOOL = NDArray[np.bool_]


@dataclass(slots=True)
class Estimates:
    """Every owner's class estimate of every track row, and what follows from it (o, n).

    Attributes
    ----------
    kinematic : classified from the tracks (else perfect: the threats' own classes).
    class_idx : the estimated class, an index into the raid's classes.
    confidence : the estimate's softmax share (1 when perfect).
    ballistic, beta_kg_m2, q_m2_s3 : the motion model of the estimated class, as
        :class:`~iamd.tracking.ideal.MotionModel` takes it; ``motion[o]`` views owner o's.
    by_threat : per owner, the motion model its trackers give the tracks of each threat
        (n,), by their detections' label: the threat's class when perfect, else the class
        its track was last taken for (the trackers' one use of the label; in ``ideal``
        mode, where rows are threats, ``motion`` itself).
    damage, fluence_j_m2 : the estimated class's damage share and laser kill fluence.
    score : (o, n, c) accumulated class scores; stamp : the track's update count when
        last classified (-1: never); draw : the confusion draw (nan until drawn).
    """

    kinematic: bool
    class_idx: I64
    confidence: F64
    ballistic: BOOL
    beta_kg_m2: F64
    q_m2_s3: F64
    damage: F64
    fluence_j_m2: F64
    motion: list[MotionModel]
    by_threat: list[MotionModel]
    sig: classify.Signatures
    per_class: tuple[BOOL, F64, F64, F64, F64]
    cumulative: F64
    score: F64
    stamp: I64
    draw: F64

    @staticmethod
    def of(world: World, rows: int | None = None) -> Estimates:
        """Estimates of ``rows`` rows per owner (default: one per threat); a row beyond
        the threats' (a track slot, :mod:`iamd.sim.slots`) starts as class 0 until
        classified."""
        spec, tr = world.scenario.spec, world.truth
        n_o, n, c = len(world.owners), tr.n if rows is None else rows, len(tr.class_names)
        classes = [world.scenario.catalog.threats[name] for name in tr.class_names]
        sig = classify.Signatures.of(classes)
        # the figures of each class (c,), as the world gives each threat its class's
        q_fast = spec.tracking.process_noise_m_s2**2
        per_class = (
            sig.ballistic,
            np.where(sig.ballistic, [k.beta_kg_m2 for k in classes], np.inf),
            np.where(sig.ballistic, q_fast, ROUTE_Q_M2_S3),
            sig.damage,
            np.array([k.laser_fluence_j_cm2 * 1e4 for k in classes]),
        )

        def tile(a: NDArray[np.generic]) -> NDArray[np.generic]:
            out = np.zeros((n_o, n), dtype=a.dtype)
            out[:, : tr.n] = a
            out[:, tr.n :] = a[:1] if a.size else 0  # placeholders, set when classified
            return out

        est = Estimates(
            kinematic=spec.tracking.classification == "kinematic",
            class_idx=tile(tr.class_idx).astype(np.int64),
            confidence=np.ones((n_o, n)),
            ballistic=tile(world.motion.ballistic).astype(bool),
            beta_kg_m2=tile(world.motion.beta_kg_m2).astype(np.float64),
            q_m2_s3=tile(world.motion.q_m2_s3).astype(np.float64),
            damage=tile(world.damage).astype(np.float64),
            fluence_j_m2=tile(world.fluence_j_m2).astype(np.float64),
            motion=[],
            by_threat=[],
            sig=sig,
            per_class=per_class,
            cumulative=classify.confusion_table(tr.class_names, spec.tracking.confusion),
            score=np.zeros((n_o, n, c)),
            stamp=np.full((n_o, n), -1, dtype=np.int64),
            draw=np.full((n_o, n), np.nan),
        )
        est.motion = [
            MotionModel(est.ballistic[o], est.beta_kg_m2[o], est.q_m2_s3[o]) for o in range(n_o)
        ]
        est.by_threat = est.motion
        if n != tr.n:  # rows are tracks (gnn): the trackers' models per threat
            m = world.motion
            est.by_threat = [
                MotionModel(m.ballistic.copy(), m.beta_kg_m2.copy(), m.q_m2_s3.copy())
                for _ in range(n_o)
            ]
        return est

    def forget(self, o: int, rows: I64) -> None:
        """Owner ``o``'s rows ``rows`` hold new tracks: classify them afresh."""
        self.stamp[o, rows] = -1
        self.draw[o, rows] = np.nan
        self.score[o, rows] = 0.0


def update(eng: Engine, o: int, ids: I64) -> None:
    """Classify owner ``o``'s tracks of rows ``ids`` that have new detections since they
    were last classified (kinematic mode; nothing to do when perfect)."""
    est = eng.classes
    if not est.kinematic or ids.size == 0:
        return
    pics = eng.pictures
    updates = pics.updates[o, ids]
    todo = updates != est.stamp[o, ids]
    if not todo.any():
        return
    rows, updates = ids[todo], updates[todo]
    fresh = (est.stamp[o, rows] < 0) | (updates < est.stamp[o, rows])
    real = eng.slots.real[o, rows]  # a launch warning correlates with the track's source
    warned = np.where(real >= 0, eng.warned_to[o, np.maximum(real, 0)], False)
    new = classify.scores(est.sig, pics.x[o, rows], pics.p[o, rows], warned)
    est.score[o, rows] = classify.settle(est.score[o, rows], new, fresh)
    est.stamp[o, rows] = updates
    cls, conf = classify.estimate(est.sig, est.score[o, rows])
    undrawn = np.isnan(est.draw[o, rows]) | fresh
    if undrawn.any():
        est.draw[o, rows[undrawn]] = eng.rng.classify.uniform(0.0, 1.0, int(undrawn.sum()))
    cls = classify.confuse(cls, est.draw[o, rows], est.cumulative)
    _set(est, o, rows, cls, conf)
    if est.by_threat[o] is not est.motion[o]:  # the trackers follow the latest estimate
        real = eng.slots.real[o, rows]
        on = real >= 0
        ballistic, beta, q, _, _ = est.per_class
        mt = est.by_threat[o]
        mt.ballistic[real[on]] = ballistic[cls[on]]
        mt.beta_kg_m2[real[on]] = beta[cls[on]]
        mt.q_m2_s3[real[on]] = q[cls[on]]


def know(eng: Engine, o: int, rows: I64, real: I64) -> None:
    """Perfect classification of owner ``o``'s track slots ``rows``: the class of the
    threat each follows (``real`` (k,), all >= 0)."""
    cls = eng.w.truth.class_idx[real].astype(np.int64)
    _set(eng.classes, o, rows, cls, np.ones(rows.size))


def _set(est: Estimates, o: int, rows: I64, cls: I64, conf: F64) -> None:
    """Owner ``o`` takes its tracks ``rows`` for classes ``cls`` with confidence ``conf``."""
    est.class_idx[o, rows] = cls
    est.confidence[o, rows] = conf
    ballistic, beta, q, damage, fluence = est.per_class
    est.ballistic[o, rows] = ballistic[cls]
    est.beta_kg_m2[o, rows] = beta[cls]
    est.q_m2_s3[o, rows] = q[cls]
    est.damage[o, rows] = damage[cls]
    est.fluence_j_m2[o, rows] = fluence[cls]
