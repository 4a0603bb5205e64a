"""Load (or, the first time after an install, compile) the compiled kernels at once.

The first call of a Numba kernel in a process loads its machine code from the cache, or
compiles it; both map executable memory. A process that caps its own address space (the
browser's live runs) warms the kernels before the cap, so that loading them is never what
the cap refuses; a Monte Carlo worker warms those a replication runs before its first one.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np


def warm_kernels(everything: bool = False, tracking: str | None = None) -> None:
    """Run each compiled entry point a replication uses once on a tiny input.

    ``tracking`` (``gnn`` or ``ideal``) loads only what replications in that tracking mode
    run; None loads both modes'. With ``everything``, also what no replication runs:
    building the fly-out table of a class and launch altitude not yet on disk, the static
    WTA's pricing, and the stand-alone tracking functions (``gnn``, ``linear_assignment``,
    ``fuse``, ``covariance_intersection``, ``motion_of``). Every kernel loaded costs a
    process some 5-70 ms, so a worker loads only what its replications run.
    """
    kin = _warm_flight_and_c2()
    gnn = everything or tracking != "ideal"
    _warm_tracking(gnn, everything or tracking != "gnn")
    if gnn:
        _warm_fusion()
    _warm_sensing_and_assessment(gnn, everything)
    if everything:
        _warm_tracking_api()
        _warm_tables_and_wta(kin)


def compile_everything(processes: int | None = None) -> None:
    """Compile and cache every kernel, then load them all into this process (as
    ``warm_kernels(everything=True)``): the first run after an install.

    With two cores or more (``processes``: default the cores this process may use, at
    most 2), the trackers' kernels compile in a second process meanwhile (about half of
    the work), so the wait is the longer half's: Numba compiles one kernel at a time.
    """
    if processes is None:
        cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(1)
        processes = min(2, len(cores))
    if processes >= 2:
        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
            trackers = pool.submit(_warm_trackers)
            kin = _warm_flight_and_c2()
            _warm_fusion()
            _warm_sensing_and_assessment(True, True)
            _warm_tables_and_wta(kin)
            trackers.result()
    warm_kernels(everything=True)


def _warm_trackers() -> None:
    """Both trackers' kernels, the track-quality scoring and the tracking functions of
    the API (what :func:`compile_everything` compiles in its second process)."""
    _warm_tracking(True, True)
    _warm_tracking_api()


def _warm_flight_and_c2() -> np.ndarray:
    """The C2 cycle's screening, ballistic flight, fly-out tables and interceptor flight,
    and the envelope's opportunities; returns a fly-out kinematics row."""
    from iamd.c2.envelope import UnitEnvelopes, opportunities
    from iamd.physics.ballistic import integrate
    from iamd.physics.flyout import fly_many, launch_state
    from iamd.physics.flyout_table import FlyoutTable, kinematics_row, table_point
    from iamd.sensors.radar import NO_RADARS, bank_figures
    from iamd.sim.battle import screen_cycle

    point = table_point.py_func  # the cell point without loading its kernel

    site = point(0.0, 0.0)
    yes, no = np.ones((1, 1), dtype=bool), np.zeros(1, dtype=bool)
    one_i = np.ones(1, dtype=np.int64)
    zero_i, table = one_i - 1, np.zeros((1, 1))
    screen_cycle(0, 0.0, zero_i, site[None], np.stack([site, site])[None], no, table, table,
                 0.0, yes[0], (zero_i, yes[0], no, one_i, one_i, one_i, no),
                 (one_i, one_i, zero_i, np.zeros(1)), 0, np.ones((1, 1)), zero_i,
                 np.eye(6)[None], np.ones(1), yes[0], np.ones(1), 0.5, yes, yes, 0.0,
                 np.zeros(1), no, bank_figures(NO_RADARS), np.zeros((1, 0), dtype=bool), yes,
                 site[None, None])  # fmt: skip
    integrate(site[None], np.array([[0.0, 100.0, 100.0]]), np.array([1e4]), np.array([1.0]), 2)
    kin = np.asarray(kinematics_row(1.0, 500.0, 1e4, 30.0, 10.0, 50.0, 0.0, 1.0, 100.0))
    tof = np.array([[1.0, 2.0], [2.0, 3.0]])
    FlyoutTable(tof, tof, 1000.0, 1000.0, 0.0, 0.0).tof(np.zeros(1), np.zeros(1))
    y = np.zeros((1, 12))
    y[0, :6] = launch_state(site, point(1000.0, 500.0), 0.0, 0.0)
    y[0, 6:9] = point(1000.0, 500.0)
    for end_game in (False, True):
        fly_many(
            y,
            np.zeros(1),
            np.zeros(1),
            1.0,
            np.full(1, np.inf),
            np.zeros(1, dtype=bool),
            np.zeros(1, dtype=bool),
            np.full(1, np.inf),
            kin[None],
            np.zeros(2),
            np.zeros((2, 6)),
            np.zeros(1, dtype=np.int64),
            np.ones(1, dtype=np.int64),
            np.ones(1),
            end_game,
        )
    one = np.ones(1)
    units = UnitEnvelopes(
        site[None], 0 * one, 1e3 * one, 0 * one, 1e3 * one, one, np.zeros(1, dtype=bool),
        one, one, one, one, np.zeros(1, dtype=np.int64), tof[None], 1e3 * one, 1e3 * one,
        0 * one, 0 * one,
    )  # fmt: skip
    path = np.stack([site, point(500.0, 200.0)])[None]
    opportunities(units, 0.0, np.array([[0.0, 10.0]]), path, np.array([1e9]), np.zeros(1), 1.0)
    return kin


def _warm_tables_and_wta(kin: np.ndarray) -> None:
    """What no replication runs: building a fly-out table (a class and launch altitude
    not on disk yet) and the static WTA's pricing."""
    from iamd.c2.wta.pricing import warm_pricing
    from iamd.physics.flyout_table import build_table, fly_to_point, table_point

    warm_pricing()
    build_table(kin, 0.0, 0.0, 1000.0, 1000.0, 2, 2)
    fly_to_point(kin, 0.0, 0.0, 1000.0, 500.0)
    table_point(0.0, 0.0)


def _warm_tracking_api() -> None:
    """The tracking and scoring functions of the API that no replication runs."""
    from iamd.tracking.association import gnn, linear_assignment
    from iamd.tracking.filters import update
    from iamd.tracking.fusion import Fused, covariance_intersection, fuse
    from iamd.tracking.metrics import pairwise_sum
    from iamd.tracking.tracker import RadarSensor, TrackerConfig, motion_of

    pairwise_sum(np.ones(300), 0, 300)
    gnn(1, 1, np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64), np.zeros(1), 1.0)
    linear_assignment(np.zeros((1, 1)))
    x = np.zeros((1, 6))
    x[0, 0] = 6.4e6
    p = np.eye(6)[None] * 1e4
    update(x, p, np.zeros((1, 3)), np.zeros((1, 3, 6)), np.eye(3)[None])
    covariance_intersection(x, p, x, p)
    one = np.ones(1, dtype=np.int64)
    motion_of(x, one, TrackerConfig(), None)
    RadarSensor(x[0, :3].copy(), np.eye(3), np.ones(3)).to_position(np.ones((1, 3)))
    pic = Fused(x, p, 0.0, np.zeros(1), one, one, one, one)
    fuse(pic, pic, 3.0)


def _warm_sensing_and_assessment(gnn: bool, everything: bool = False) -> None:
    """Radar coverage and detection, truth interpolation (and the ``gnn`` scan's
    candidates), and the threat assessment (route and ballistic, with the asset hit test)."""
    from iamd.c2.assess import assess, assess_routes_into
    from iamd.c2.assets import AssetGeometry
    from iamd.c2.routes import PATH_STEPS, assess_routes
    from iamd.geo import enu_rotation, geodetic2ecef
    from iamd.physics.truth import interpolate_states
    from iamd.sensors.radar import RadarBank, RadarSite, bank_coverage, bank_figures, scan
    from iamd.sim.sensing import candidates, next_scan_s, plan_scan, window_kernel

    site = RadarSite.build("r", "o", 32.0, 35.0, 0.0, 0.0, 90.0, 0.0, 60.0, 100.0, 100.0, 13.0,
                           0.0, 1e-6, 5.0, 10.0, 1.0, 0.0, terrain_mask=[(0, 10, 1.0)])  # fmt: skip
    x = np.zeros((1, 6))
    x[0, :3] = geodetic2ecef(np.radians(32.0), np.radians(35.1), 1e3)
    bank_coverage(RadarBank.of([site]), x[:, :3])
    scan(site, RadarBank.of([site]), np.zeros(1, dtype=np.int64), x[:, :3], np.ones(1),
         np.zeros(1, dtype=bool), np.random.default_rng(0), np.random.default_rng(1))  # fmt: skip
    one = np.ones(1)
    idx = np.zeros(1, dtype=np.int64)
    interpolate_states(one, np.array([0, 1]), one, x, idx, one, np.empty((1, 6)))
    window = np.array([[0.0, 1.0]])
    plan_scan(0.0, 1.0, window, one, one)
    window_kernel(bank_figures(RadarBank.of([site])), site.ecef_m, 1e3, x, one, idx, 1, 1.0)
    next_scan_s(0.0, 1.0, window, one)
    if gnn:
        candidates(idx, 0.0, one, np.array([0, 1]), one, x, one, idx, np.ones(1, dtype=bool))
    assets = AssetGeometry.of(
        np.zeros((2, 2)),
        one.repeat(2),
        (None, np.eye(3)[:, :2]),
        one.repeat(2),
        one.repeat(2),
        site.ecef_m,
        enu_rotation(0.5, 0.6)[:2],
    )
    assets.hit_en(np.zeros((1, 2)))
    y = np.repeat(x, 2, axis=0)
    y[:, 3:] = [[0.0, 0.0, 1000.0], [100.0, 0.0, 0.0]]
    ids, cov = np.arange(2), np.eye(6)[None].repeat(2, axis=0)
    if everything:  # the assessment of the API: route threats too
        assess_routes(x, np.eye(6)[None], assets, 0.0)
        assess(ids, y, np.zeros(2), np.array([True, False]), np.full(2, 1e4), np.ones(2), assets,
               0.0, cov)  # fmt: skip
    # a replication assesses ballistic threats by the API, route threats into its caches
    assess(ids[:1], y[:1], np.zeros(1), ids[:1] == 0, np.full(1, 1e4), one, assets, 0.0, cov[:1])
    routes = (assets.centre_en_m, assets.extent_m, assets.origin_m, assets.rot)
    caches = (np.zeros((2, PATH_STEPS + 1)), np.zeros((2, PATH_STEPS + 1, 3)), np.zeros(2),
              np.zeros(2), np.zeros(2))  # fmt: skip
    assess_routes_into(ids[1:], y, cov, np.zeros(2), np.ones(2), assets.value, routes, 0.0, caches)


def _warm_tracking(gnn: bool, ideal: bool) -> None:
    """The trackers' kernels (``gnn``, the multi-target tracker: prediction, association
    and update; ``ideal``: the radar and position updates), the prediction of shared
    tracks and the track-quality scoring."""
    from iamd.tracking.filters import predict, update_position, update_rae
    from iamd.tracking.metrics import ospa_gospa, quality
    from iamd.tracking.tracker import PositionSensor, RadarSensor, TrackerConfig, Tracks, step

    x = np.zeros((1, 6))
    x[0, 0] = 6.4e6
    p = np.eye(6)[None] * 1e4
    predict(x, p, np.ones(1), np.ones(1), np.ones(1, dtype=bool), np.full(1, 1e4))
    one = np.ones(1, dtype=np.int64)
    frame = (x[:, :3], one, x[:, :3], one)
    quality([frame, frame], errors=[ospa_gospa(x[:, :3], x[:, :3])] * 2)
    if ideal:
        update_rae(x, p, np.ones((1, 3)), np.ones(3), x[0, :3] * 0.9, np.eye(3))
        update_position(x, p, x[:, :3], 1.0)
        RadarSensor(x[0, :3].copy(), np.eye(3), np.ones(3)).position_cov(np.ones((1, 3)))
    if gnn:
        step(Tracks.empty(), 0.0, x[:, :3], PositionSensor(np.ones(3)), TrackerConfig())


def _warm_fusion() -> None:
    """The fusion of partners' pictures into a node's (``gnn`` mode)."""
    from iamd.sim.slots import place_rows
    from iamd.tracking.fusion import Fused, fuse_own_and_partners, stack_partners
    from iamd.tracking.system import SystemNumbers

    x = np.zeros((1, 6))
    x[0, 0] = 6.4e6
    p = np.eye(6)[None] * 1e4
    one = np.ones(1, dtype=np.int64)
    pic = Fused(x, p, 0.0, np.zeros(1), one, one, one, one)
    own = (x, p, np.zeros(1), np.ones(1, dtype=bool), np.zeros(1), one, one, one)
    model = (np.ones(2), np.ones(2, dtype=bool), np.ones(2), True)
    rows = (np.zeros((2, 6)), np.zeros((2, 6, 6)), np.zeros(2), np.zeros(2, dtype=bool),
            np.zeros(2, np.int64))  # fmt: skip
    for partners in ([], [pic]):
        fuse_own_and_partners(
            own, stack_partners(partners), 1.0, (700.0, 1.0, 1.0, *model), 3.0, rows, True,
            (0, 10**9, SystemNumbers.empty(2, 4).bind, np.zeros(1, np.int64)),
        )  # fmt: skip
    place_rows(one, np.full(2, -1, np.int64), 2)  # picture rows (iamd.sim.slots)
