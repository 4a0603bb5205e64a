"""Tracking benchmark: iamd's tracker and Stone Soup's fed the same detections.

The scenario is reproducible from its seed: ``targets`` nearly-constant-velocity
targets in a 300 x 300 x 30 km box, one scan a second, detection probability 0.9,
Cartesian position noise 50 m, and Poisson clutter (mean ``clutter`` per scan)
uniform in the box. Both trackers run the same configuration: constant-velocity
Kalman filter, k-d tree pre-gate, Mahalanobis gate, GNN by 2-D assignment,
2-point initiation and covariance-based deletion. Stone Soup (``stonesoup`` on
PyPI) is a benchmark extra, imported only when asked for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from iamd.tracking.metrics import ospa
from iamd.tracking.tracker import PositionSensor, TrackerConfig, Tracks, step

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

BOX_M = np.array([300e3, 300e3, 30e3])
PD = 0.9
NOISE_M = 50.0
PERIOD_S = 1.0
TRUTH_Q_M2_S3 = 1.0
OSPA_C_M = 1000.0
OSPA_FROM_SCAN = 5
CONFIG = TrackerConfig(
    q_m2_s3=TRUTH_Q_M2_S3,
    init_speed_sigma_m_s=300.0,
    gate_radius_m=2000.0,
    missed_distance=4.0,
    confirm_m=2,
    confirm_n=None,
    delete_pos_var_m2=3 * 500.0**2,
)


@dataclass(frozen=True, slots=True)
class BenchScenario:
    """Truth and detections of the benchmark.

    Attributes
    ----------
    t_s : (s,) scan times.
    truth_m : (s, n, 3) target positions at each scan.
    detections : per scan, (m, 3) positions in shuffled order.
    labels : per scan, (m,) target index of each detection, -1 for clutter.
    """

    t_s: F64
    truth_m: F64
    detections: list[F64]
    labels: list[I64]


def make_scenario(targets: int, scans: int, clutter: float, seed: int) -> BenchScenario:
    """Build the benchmark scenario; the same arguments give the same detections."""
    if targets < 0 or scans < 1 or clutter < 0:
        raise ValueError("targets and clutter must be >= 0 and scans >= 1")
    rng = np.random.default_rng(seed)
    pos = rng.uniform(0.0, 1.0, (targets, 3)) * BOX_M
    speed = rng.uniform(50.0, 300.0, targets)
    heading = rng.uniform(0.0, 2 * np.pi, targets)
    vel = np.stack([speed * np.sin(heading), speed * np.cos(heading), rng.normal(0, 5, targets)], 1)
    dt = PERIOD_S
    q = TRUTH_Q_M2_S3
    chol = np.linalg.cholesky(np.array([[dt**3 / 3, dt**2 / 2], [dt**2 / 2, dt]]) * q)
    truth = np.empty((scans, targets, 3))
    dets: list[F64] = []
    labels: list[I64] = []
    for k in range(scans):  # loop over scans; each vectorised over targets
        if k:
            w = rng.standard_normal((targets, 3, 2)) @ chol.T
            pos = pos + vel * dt + w[:, :, 0]
            vel = vel + w[:, :, 1]
        truth[k] = pos
        seen = np.flatnonzero(rng.uniform(size=targets) < PD)
        z = pos[seen] + rng.normal(0.0, NOISE_M, (seen.size, 3))
        nc = rng.poisson(clutter)
        zc = rng.uniform(0.0, 1.0, (nc, 3)) * BOX_M
        allz = np.concatenate([z, zc])
        lab = np.concatenate([seen, np.full(nc, -1)]).astype(np.int64)
        order = rng.permutation(allz.shape[0])
        dets.append(allz[order])
        labels.append(lab[order])
    return BenchScenario(np.arange(scans, dtype=float) * dt, truth, dets, labels)


def run_iamd(sc: BenchScenario) -> tuple[float, list[F64], list[Tracks]]:
    """Track with iamd; returns (ms per scan, confirmed positions per scan, tables per scan)."""
    model = PositionSensor(np.full(3, NOISE_M))
    tr = Tracks.empty()
    positions: list[F64] = []
    tables: list[Tracks] = []
    elapsed = 0.0
    for k in range(sc.t_s.size):
        t0 = time.perf_counter()
        tr, _ = step(tr, float(sc.t_s[k]), sc.detections[k], model, CONFIG, sc.labels[k])
        elapsed += time.perf_counter() - t0
        positions.append(tr.x[tr.confirmed, :3])
        tables.append(tr)
    return 1e3 * elapsed / sc.t_s.size, positions, tables


def run_stonesoup(sc: BenchScenario) -> tuple[float, list[F64], list[list[tuple[F64, F64]]]]:
    """Track with Stone Soup's stock KD-tree GNN.

    Returns
    -------
    ms per scan, confirmed positions per scan, and per scan the (state (6,), covariance
    (6, 6)) of each confirmed track in iamd's (position, velocity) order.

    Raises
    ------
    ImportError
        If Stone Soup is not installed.
    """
    from datetime import datetime, timedelta

    from stonesoup.dataassociator.tree import DetectionKDTreeGNN2D
    from stonesoup.deleter.error import CovarianceBasedDeleter
    from stonesoup.hypothesiser.distance import DistanceHypothesiser
    from stonesoup.initiator.simple import MultiMeasurementInitiator
    from stonesoup.measures import Mahalanobis
    from stonesoup.models.measurement.linear import LinearGaussian
    from stonesoup.models.transition.linear import (
        CombinedLinearGaussianTransitionModel,
        ConstantVelocity,
    )
    from stonesoup.predictor.kalman import KalmanPredictor
    from stonesoup.tracker.simple import MultiTargetTracker
    from stonesoup.types.detection import Detection
    from stonesoup.types.state import GaussianState
    from stonesoup.updater.kalman import KalmanUpdater

    cfg = CONFIG
    transition = CombinedLinearGaussianTransitionModel([ConstantVelocity(cfg.q_m2_s3)] * 3)
    meas = LinearGaussian(ndim_state=6, mapping=(0, 2, 4), noise_covar=np.eye(3) * NOISE_M**2)
    predictor = KalmanPredictor(transition)
    updater = KalmanUpdater(meas)
    hyp = DistanceHypothesiser(
        predictor, updater, measure=Mahalanobis(), missed_distance=cfg.missed_distance
    )
    assoc = DetectionKDTreeGNN2D(
        hypothesiser=hyp, predictor=predictor, updater=updater, max_distance=cfg.gate_radius_m
    )
    deleter = CovarianceBasedDeleter(covar_trace_thresh=cfg.delete_pos_var_m2, mapping=[0, 2, 4])
    v2 = cfg.init_speed_sigma_m_s**2
    prior = GaussianState(np.zeros((6, 1)), np.diag([0.0, v2, 0.0, v2, 0.0, v2]))
    initiator = MultiMeasurementInitiator(
        prior_state=prior,
        measurement_model=meas,
        deleter=deleter,
        data_associator=assoc,
        updater=updater,
        min_points=cfg.confirm_m,
    )
    t0 = datetime(2026, 1, 1)
    feed = [
        (
            t0 + timedelta(seconds=float(t)),
            {
                Detection(
                    z[:, None], timestamp=t0 + timedelta(seconds=float(t)), measurement_model=meas
                )
                for z in zs
            },
        )
        for t, zs in zip(sc.t_s, sc.detections, strict=True)
    ]
    tracker = MultiTargetTracker(
        initiator=initiator,
        deleter=deleter,
        detector=feed,
        data_associator=assoc,
        updater=updater,
    )
    order = [0, 2, 4, 1, 3, 5]
    positions: list[F64] = []
    states: list[list[tuple[F64, F64]]] = []
    elapsed = 0.0
    it = iter(tracker)
    for _ in range(sc.t_s.size):
        start = time.perf_counter()
        _, tracks = next(it)
        elapsed += time.perf_counter() - start
        st = [
            (
                np.asarray(tk.state_vector, float).ravel()[order],
                np.asarray(tk.covar)[np.ix_(order, order)],
            )
            for tk in tracks
        ]
        states.append(st)
        positions.append(np.array([s[0][:3] for s in st]).reshape(-1, 3))
    return 1e3 * elapsed / sc.t_s.size, positions, states


def mean_ospa(sc: BenchScenario, positions: list[F64]) -> float:
    """Mean OSPA (c = 1000 m, p = 1) over scans 5 on (all scans if there are fewer)."""
    first = OSPA_FROM_SCAN - 1 if sc.t_s.size >= OSPA_FROM_SCAN else 0
    return float(
        np.mean(
            [ospa(sc.truth_m[k], positions[k], OSPA_C_M, 1.0) for k in range(first, sc.t_s.size)]
        )
    )


def bench(
    targets: int,
    scans: int,
    clutter: float,
    seed: int,
    stonesoup: bool = True,
    progress: Callable[[str], None] | None = None,
) -> dict[str, float | int | None]:
    """Run the benchmark and return the result row (``None`` where Stone Soup was skipped).

    iamd's compiled kernels are loaded (or compiled) before its clock starts, as Stone
    Soup's modules are imported before its clock starts.
    """
    from iamd.warmup import warm_kernels

    sc = make_scenario(targets, scans, clutter, seed)
    if progress:
        progress("iamd")
    warm_kernels(everything=True)
    ms_iamd, pos_iamd, _ = run_iamd(sc)
    row: dict[str, float | int | None] = {
        "targets": targets,
        "scans": scans,
        "iamd_ms_per_scan": round(ms_iamd, 3),
        "stonesoup_ms_per_scan": None,
        "speedup": None,
        "iamd_ospa_m": round(mean_ospa(sc, pos_iamd), 3),
        "stonesoup_ospa_m": None,
    }
    if stonesoup:
        if progress:
            progress("stonesoup")
        ms_ss, pos_ss, _ = run_stonesoup(sc)
        row["stonesoup_ms_per_scan"] = round(ms_ss, 3)
        row["speedup"] = round(ms_ss / ms_iamd, 1)
        row["stonesoup_ospa_m"] = round(mean_ospa(sc, pos_ss), 3)
    return row
