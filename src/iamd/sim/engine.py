"""The discrete-event engine of one replication: state, event loop, threat outcomes.

Events sit in a heap ordered by ``(t_s, priority, seq)``. Sensing (:mod:`iamd.sim.sensing`)
and battle management (:mod:`iamd.sim.battle`) are functions over this engine's state.
Sensor scans run only while some threat can be in the sensor's reach, C2 cycles only
while their picture holds tracks: a five-hour drone raid costs what its events cost.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from numpy.typing import NDArray

from iamd.c2.envelope import UnitEnvelopes
from iamd.c2.routes import PATH_STEPS
from iamd.sensors import radar as radar_mod
from iamd.sim import (
    aircraft,
    battle,
    classification,
    command,
    coordination,
    engagement,
    metrics_sampler,
    network,
    sensing,
    slots,
)
from iamd.sim.engagement import Engagement
from iamd.sim.events import (
    ALIVE,
    FAILED,
    FATE_NAMES,
    IMPACT_ASSET,
    IMPACT_OPEN,
    EventLog,
    Kind,
)
from iamd.sim.flight import Flights
from iamd.sim.world import World
from iamd.tracking.ideal import Pictures

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

__all__ = ["FATE_NAMES", "Engine", "Outcome"]


@dataclass(slots=True)
class Streams:
    """Independent random streams of one replication (common random numbers)."""

    detect: np.random.Generator
    noise: np.random.Generator
    intercept: np.random.Generator
    link: np.random.Generator
    assess: np.random.Generator
    status: np.random.Generator
    classify: np.random.Generator

    @staticmethod
    def spawn(seq: np.random.SeedSequence) -> Streams:
        # children are keyed by index: a stream added last leaves the others' draws alone
        a, b, c, d, e, f, g = (np.random.default_rng(s) for s in seq.spawn(7))
        return Streams(detect=a, noise=b, intercept=c, link=d, assess=e, status=f, classify=g)


@dataclass(slots=True)
class Outcome:
    """What a replication ends with (arrays indexed by threat, unit, asset)."""

    fate: NDArray[np.int8]
    t_fate_s: F64
    engaged: NDArray[np.bool_]
    launched: NDArray[np.bool_]
    fired: I64
    kills: I64
    asset_hits: I64
    asset_value_lost: F64
    events: EventLog
    pictures: Pictures
    samples: metrics_sampler.Samples
    net: network.NetState | None
    engagements: list[Engagement] = field(default_factory=list)
    flights: Flights | None = None
    fleet: aircraft.Fleet | None = None
    c2_cycles: int = 0
    c2_solve_ms: F64 = field(default_factory=lambda: np.zeros(0))
    first_seen_s: F64 = field(default_factory=lambda: np.zeros(0))
    """When any sensor first detected each threat (inf: never)."""
    status: coordination.Status | None = None
    """What each owner knew of the engagements, and the double engagements."""


class Engine:
    """Runs one replication of a world with one seed."""

    def __init__(self, world: World, seed_seq: np.random.SeedSequence) -> None:
        self.w = world
        self.rng = Streams.spawn(seed_seq)
        tr = world.truth
        n, spec = tr.n, world.scenario.spec
        self.duration_s = spec.duration_s
        self.doctrine = spec.doctrine
        self.heap: list[tuple[float, int, int, int]] = []
        self.seq = 0
        self.log = EventLog()
        self.fate = np.zeros(n, dtype=np.int8)
        self.t_fate = np.full(n, np.nan)
        self.t_dead = np.minimum(tr.t_end_s, tr.t_fail_s)  # end of flight, updated on kills
        self.engaged = np.zeros(n, dtype=bool)
        # the rows of each owner's picture: one per threat, then its track slots
        tk = spec.tracking
        self.slots = slots.Slots.of(
            n, len(world.owners), tk.mode == "gnn" and tk.picture == "system", network.ID_STRIDE
        )
        rows = self.slots.rows
        # what each owner knows of the engagements (iamd.sim.coordination)
        self.status = coordination.Status.of(world, rows)
        self.warned = np.zeros(n, dtype=bool)
        # per owner, the threats a launch warning reached its picture with
        self.warned_to = np.zeros((len(world.owners), n), dtype=bool)
        # each owner's class estimate of each track, and what follows from it
        self.classes = classification.Estimates.of(world, rows)
        self.pictures = Pictures.empty(len(world.owners), rows)
        self.net = (
            network.NetState.of(len(world.owners), spec.tracking)
            if spec.tracking.mode == "gnn"
            else None
        )
        self.samples = metrics_sampler.Samples()
        self.windows = sensing.sensor_windows(world)
        self.site_banks = [radar_mod.RadarBank.of([r]) for r in world.radars]
        self.owner_radars = [
            tuple(s for s, site in enumerate(world.radars) if site.owner == name)
            for name in world.owners
        ]
        self._banks: dict[tuple[int, ...], radar_mod.RadarBank] = {}
        self.all_radars = radar_mod.bank_figures(radar_mod.RadarBank.of(list(world.radars)))
        self.radar_owner = np.array(
            [world.owners.index(r.owner) for r in world.radars], dtype=np.int64
        )
        # the radars each node's units may use, per set of owners whose data reach it
        self.fire_radars: dict[tuple[int, tuple[int, ...]], NDArray[np.bool_]] = {}
        # per owner, when its sensors last detected each threat (for track-quality truth)
        self.last_seen = np.full((len(world.owners), n), -np.inf)
        # per owner, when its radars last detected each threat (its own track, for units
        # that may not launch on a partner's)
        self.radar_seen = np.full((len(world.owners), n), -np.inf)
        # when any sensor of any owner first detected each threat (decision latency)
        self.first_seen = np.full(n, np.inf)
        u = len(world.units)
        self.rounds = np.array([x.rounds for x in world.units], dtype=np.int64)
        self.reloads = np.array([x.reloads for x in world.units], dtype=np.int64)
        self.busy = np.zeros(u, dtype=np.int64)
        self.next_launch = np.zeros(u)
        self.reloading = np.zeros(u, dtype=bool)
        self.fired = np.zeros(u, dtype=np.int64)
        self.kills = np.zeros(u, dtype=np.int64)
        a = world.assets.value.shape[0]
        self.asset_hits = np.zeros(a, dtype=np.int64)
        self.asset_lost = np.zeros(a)
        self.engagements: list[Engagement] = []
        self.flights = Flights.empty()
        self.fleet = aircraft.Fleet.of(world.patrols)
        self.kin_rows: dict[str, F64] = {}
        self.node_awake = np.zeros(len(world.nodes), dtype=bool)
        self.command = command.Command.of(
            [o.architecture or spec.c2.architecture for o in spec.owners],
            [(name, o) for name, o, _ in world.nodes],
            spec.c2.node,
            [o.share_link for o in spec.owners],
            spec.c2.fallback_s,
        )
        self.node_units = [
            [i for i, x in enumerate(world.units) if x.node == k] for k in range(len(world.nodes))
        ]
        cmd = self.command
        unit_owner = [world.owners.index(x.owner) for x in world.units]
        self.unit_owner = np.array(unit_owner, dtype=np.int64)
        if cmd.node >= 0:  # the central node assigns every unit of the owners under it
            self.node_units[cmd.node] = [i for i, o in enumerate(unit_owner) if cmd.under[o]]
        # an order's least time from each node to each of its units, s
        self.node_delay_s = [
            np.array([cmd.latency_s(unit_owner[u]) if k == cmd.node else 0.0 for u in us])
            for k, us in enumerate(self.node_units)
        ]
        self.node_env = [
            UnitEnvelopes.of(
                [world.units[u].ecef_m for u in us],
                [world.units[u].ic for u in us],
                [world.units[u].alt_m for u in us],
                [aircraft.dash_m_s(world, u) for u in us],
                [aircraft.launch_range_m(world, u) for u in us],
            )
            for us in self.node_units
        ]
        for env, delay_s in zip(self.node_env, self.node_delay_s, strict=True):
            env.reaction_s[:] += delay_s  # a node plans with its orders' latency
        # nodes that assign their own units while the central node cannot (logged changes)
        self.fallen_back = np.zeros(len(world.nodes), dtype=bool)
        # pk of each node's units against each threat class, (u, classes)
        self.node_pk = [
            np.array(
                [[world.units[u].ic.pk.get(c, 0.0) for c in world.truth.class_names] for u in us]
            ).reshape(len(us), len(world.truth.class_names))
            for us in self.node_units
        ]
        # threat classes that some unit of each owner's nodes could engage at all (pk > 0),
        # (owners, classes): an owner's nodes assess no other track, since the assessment
        # cache is the owner's and serves only its nodes' decisions
        self.owner_engages = np.zeros((len(world.owners), len(world.truth.class_names)), bool)
        for k, (_, o, _) in enumerate(world.nodes):  # C2 nodes (a few)
            self.owner_engages[o] |= (self.node_pk[k] > 0.0).any(axis=0)
        # each node's units' divert basket, m (inf for lasers, which follow their target)
        self.node_divert_m = [
            np.array(
                [
                    world.units[u].ic.divert_m if world.units[u].ic.kind == "kinetic" else np.inf
                    for u in us
                ]
            )
            for us in self.node_units
        ]
        self.unit_doctrine = [self.doctrine.for_class(x.interceptor) for x in world.units]
        self.node_yield_pk = [
            np.array([self.unit_doctrine[u].yield_below_pk for u in us]) for us in self.node_units
        ]
        self.node_fig = [battle.NodeUnits.of(self, k) for k in range(len(world.nodes))]
        self.node_last_ditch = [
            np.array([self.unit_doctrine[u].last_ditch for u in us], dtype=bool)
            for us in self.node_units
        ]
        # the best kill probability each node's units could still get on each threat, and when
        self.later_pk = np.zeros((len(world.nodes), rows))
        self.later_pk_t = np.full((len(world.nodes), rows), -np.inf)
        self.cache_updates = [np.full(rows, -1, dtype=np.int64) for _ in world.owners]
        # per node: when each threat's next launch can fall due, for the assessment it saw
        self.next_due = [np.full(rows, -np.inf) for _ in world.nodes]
        self.due_stamp = [np.full(rows, -1, dtype=np.int64) for _ in world.nodes]
        self.cache_path_t = [np.zeros((rows, PATH_STEPS + 1)) for _ in world.owners]
        self.cache_path = [np.zeros((rows, PATH_STEPS + 1, 3)) for _ in world.owners]
        self.cache_impact_t = [np.zeros(rows) for _ in world.owners]
        self.cache_value = [np.zeros(rows) for _ in world.owners]
        self.cache_p_hit = [np.zeros(rows) for _ in world.owners]
        # each owner's value of each asset: 0 for those its units do not defend
        self.defended_value = np.where(world.defended, world.assets.value[None, :], 0.0)
        self.c2_cycles = 0
        self.c2_solve_ms: list[float] = []

    def restart_rows(self, o: int, rows: I64) -> None:
        """Owner ``o``'s rows ``rows`` hold new tracks (slots taken afresh,
        :mod:`iamd.sim.slots`): nothing known of them carries over."""
        self.cache_updates[o][rows] = -1
        for k, (_, node_owner, _) in enumerate(self.w.nodes):  # C2 nodes (a few)
            if node_owner == o:
                self.next_due[k][rows] = -np.inf
                self.due_stamp[k][rows] = -1
                self.later_pk[k, rows] = 0.0
                self.later_pk_t[k, rows] = -np.inf
        self.classes.forget(o, rows)
        self.status.forget(o, rows)

    # -- scheduling -------------------------------------------------------------------------
    def push(self, t_s: float, kind: Kind, payload: int) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t_s, int(kind), self.seq, payload))

    def live_owners(self, o: int, t_s: float) -> tuple[int, ...]:
        """Owner ``o`` and the partners whose data reach its picture at ``t_s``.

        In ``ideal`` mode every partner that shares with ``o``; in ``gnn`` mode those
        whose track report reached ``o`` within the track drop time.
        """
        if self.net is None:
            return tuple(sorted(p for p, rec in enumerate(self.w.receivers) if o in rec))
        drop_s = self.w.scenario.spec.tracking.drop_after_s
        fresh = [p for p, f in self.net.inbox[o].items() if t_s - f.t_s <= drop_s]
        return tuple(sorted([o, *fresh]))

    def radar_bank(self, owners: tuple[int, ...]) -> radar_mod.RadarBank | None:
        """The radars of ``owners`` as one bank (cached per set of owners)."""
        sites = tuple(s for p in owners for s in self.owner_radars[p])
        if not sites:
            return None
        if sites not in self._banks:
            self._banks[sites] = radar_mod.RadarBank.of([self.w.radars[s] for s in sites])
        return self._banks[sites]

    def seen(self, o: int, ids: I64, t_s: float, radar: bool = True) -> None:
        """Owner ``o``'s sensors (its ``radar``\\ s, or not) detected threats ``ids`` at
        ``t_s``."""
        self.last_seen[o, ids] = t_s
        if radar:
            self.radar_seen[o, ids] = t_s
        self.first_seen[ids] = np.minimum(self.first_seen[ids], t_s)

    def alive(self, t_s: float) -> NDArray[np.bool_]:
        tr = self.w.truth
        return (tr.t_launch_s <= t_s) & (t_s < self.t_dead)

    # -- main loop --------------------------------------------------------------------------
    def run(self, progress: Callable[[float], None] | None = None) -> Outcome:
        w, tr = self.w, self.w.truth
        launched = tr.t_launch_s <= self.duration_s
        self.log.add(
            tr.t_launch_s[launched],
            "launch",
            np.flatnonzero(launched),
            ecef_m=tr.launch_m[launched],
        )
        for i in np.flatnonzero(launched):
            if np.isfinite(tr.t_fail_s[i]) and tr.t_fail_s[i] < tr.t_end_s[i]:
                self.push(float(tr.t_fail_s[i]), Kind.FAIL, int(i))
            else:
                self.push(float(tr.t_end_s[i]), Kind.IMPACT, int(i))
        for s, site in enumerate(w.radars):
            sensing.push_scan(self, s, float((0.37 * s % 1.0) * site.scan_s), site.scan_s)
        for s, sp in enumerate(w.spaceborne):
            start = float(np.min(tr.t_launch_s[tr.ballistic], initial=np.inf)) + sp.sc.delay_s
            if np.isfinite(start):
                self.push(start, Kind.LAUNCH_WARNING, s)
        aircraft.start(self)
        self.push(self.duration_s, Kind.END, 0)
        first = float(np.min(tr.t_launch_s, initial=np.inf))
        if np.isfinite(first):
            self.push(metrics_sampler.first_sample_s(first), Kind.SAMPLE, 0)
        handlers: dict[int, Callable[[float, int], None]] = {
            Kind.IMPACT: self.on_impact,
            Kind.FAIL: self.on_fail,
            Kind.INTERCEPT: partial(engagement.on_intercept, self),
            Kind.KILL_ASSESSMENT: partial(engagement.on_kill_assessment, self),
            Kind.RELOAD: partial(engagement.on_reload, self),
            Kind.AIRCRAFT: partial(aircraft.on_aircraft, self),
            Kind.SCAN: partial(sensing.on_scan, self),
            Kind.LAUNCH_WARNING: partial(sensing.on_launch_warning, self),
            Kind.C2_CYCLE: partial(battle.on_cycle, self),
            Kind.REPORT: partial(network.on_report, self),
            Kind.SHARE: partial(network.on_share, self),
            Kind.DELIVER: partial(network.on_deliver, self),
            Kind.STATUS: partial(coordination.on_status, self),
            Kind.SAMPLE: partial(metrics_sampler.on_sample, self),
        }
        count = 0
        while self.heap:
            t, kind, _, payload = heapq.heappop(self.heap)
            if kind == Kind.END or t > self.duration_s:
                break
            handlers[kind](t, payload)
            count += 1
            if progress is not None and count % 500 == 0:
                progress(t)
        aircraft.finish(self, self.duration_s)
        if self.net is not None:
            for o in range(len(w.owners)):  # owners (a few): log drops due by the end
                network.prune(self, o, self.duration_s)
        if progress is not None:
            progress(self.duration_s)
        return Outcome(
            fate=self.fate,
            t_fate_s=self.t_fate,
            engaged=self.engaged,
            launched=launched,
            fired=self.fired,
            kills=self.kills,
            asset_hits=self.asset_hits,
            asset_value_lost=self.asset_lost,
            events=self.log,
            pictures=self.pictures,
            samples=self.samples,
            net=self.net,
            engagements=self.engagements,
            flights=self.flights,
            fleet=self.fleet,
            c2_cycles=self.c2_cycles,
            c2_solve_ms=np.array(self.c2_solve_ms),
            first_seen_s=self.first_seen,
            status=self.status,
        )

    # -- threat outcomes --------------------------------------------------------------------
    def end_threat(self, i: int, t_s: float, fate: int) -> None:
        self.fate[i] = fate
        self.t_fate[i] = t_s
        self.t_dead[i] = t_s

    def on_impact(self, t_s: float, i: int) -> None:
        if self.fate[i] != ALIVE:
            return
        point = self.w.truth.impact_m[i]
        a = int(self.w.assets.hit(point[None, :])[0])
        if a >= 0:
            self.end_threat(i, t_s, IMPACT_ASSET)
            lost = (self.w.assets.value[a] - self.asset_lost[a]) * self.w.damage[i]
            self.asset_hits[a] += 1
            self.asset_lost[a] += lost
            self.log.add(
                t_s,
                "impact_asset",
                i,
                unit=self.w.scenario.spec.assets[a].name,
                value=lost,
                ecef_m=point,
            )
        else:
            self.end_threat(i, t_s, IMPACT_OPEN)
            self.log.add(t_s, "impact_open", i, ecef_m=point)

    def on_fail(self, t_s: float, i: int) -> None:
        if self.fate[i] == ALIVE:
            self.end_threat(i, t_s, FAILED)
            pos = self.w.truth.state_at(np.array([i]), np.array([t_s]))[0, :3]
            self.log.add(t_s, "fail", i, ecef_m=pos)

    # -- sensing ----------------------------------------------------------------------------
