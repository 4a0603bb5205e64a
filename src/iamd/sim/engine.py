"""The discrete-event engine of one replication.

Events sit in a heap ordered by ``(t_s, priority, seq)``. Sensor scans run only
while some threat can be in the sensor's reach, C2 cycles only while their picture
holds tracks: a five-hour drone raid costs what its events cost.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from iamd.c2.assess import PATH_STEPS, assess
from iamd.c2.doctrine import Candidates, assign, hold_for_cheaper
from iamd.c2.envelope import UnitEnvelopes, opportunities
from iamd.sensors import radar as radar_mod
from iamd.sensors.spaceborne import in_boost, reports
from iamd.sim.events import EventLog, Kind
from iamd.sim.world import World
from iamd.tracking.ideal import Pictures, absorb_positions, absorb_radar, drop_stale, extrapolate

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

ALIVE, FAILED, INTERCEPTED, IMPACT_ASSET, IMPACT_OPEN = 0, 1, 2, 3, 4
WINDOW_MARGIN_S = 15.0
"""Widening of sensor windows: more than the truth sampling of any threat (10 s)."""
LOOK_AGAIN_S = 20.0
"""Least time between a kill assessment and impact in which a second engagement can act."""
FATE_NAMES = ("airborne_at_end", "failed", "intercepted", "impacted_asset", "impacted_open")


@dataclass(slots=True)
class Engagement:
    """One engagement in progress."""

    unit: int
    threat: int
    t_decided_s: float
    t_launch_s: float
    t_intercept_s: float
    pip_m: F64
    pk: float
    shots: int


@dataclass(slots=True)
class Streams:
    """Independent random streams of one replication (common random numbers)."""

    detect: np.random.Generator
    noise: np.random.Generator
    intercept: np.random.Generator

    @staticmethod
    def spawn(seq: np.random.SeedSequence) -> Streams:
        a, b, c = (np.random.default_rng(s) for s in seq.spawn(3))
        return Streams(detect=a, noise=b, intercept=c)


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
    engagements: list[Engagement] = field(default_factory=list)


def sensor_windows(world: World) -> list[F64]:
    """Per radar, each threat's [first, last] time inside its coverage, (n, 2).

    Coverage is the full geometric test (range, sector, elevation, horizon) on the
    truth samples, widened by one route sample at each end so that entry and exit
    between samples are scanned; scans outside every window are skipped.
    """
    tr = world.truth
    out = []
    seg = np.repeat(np.arange(tr.n), np.diff(tr.offset))
    for site in world.radars:  # loop over sensors (tens), vectorised over samples
        near = np.flatnonzero(
            np.linalg.norm(tr.state[:, :3] - site.ecef_m, axis=1) <= site.max_range_m
        )
        seen = near[radar_mod.in_coverage(site, tr.state[near, :3])[0]]
        first = np.full(tr.n, np.inf)
        last = np.full(tr.n, -np.inf)
        np.minimum.at(first, seg[seen], tr.t_s[seen])
        np.maximum.at(last, seg[seen], tr.t_s[seen])
        out.append(np.stack([first - WINDOW_MARGIN_S, last + WINDOW_MARGIN_S], axis=1))
    return out


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
        self.engage_count = np.zeros(n, dtype=np.int64)
        self.engaged_until = np.zeros(n)
        self.miss_prob = np.ones(n)  # chance every engagement in flight fails
        self.known_dead = np.zeros(n, dtype=bool)
        self.warned = np.zeros(n, dtype=bool)
        self.pictures = Pictures.empty(len(world.owners), n)
        self.windows = sensor_windows(world)
        self.feeders = [
            [
                s
                for s, site in enumerate(world.radars)
                if o in world.receivers[world.owners.index(site.owner)]
            ]
            for o in range(len(world.owners))
        ]
        self.site_banks = [radar_mod.RadarBank.of([r]) for r in world.radars]
        self.feeder_banks = [
            radar_mod.RadarBank.of([world.radars[s] for s in f]) if f else None
            for f in self.feeders
        ]
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
        self.node_awake = np.zeros(len(world.nodes), dtype=bool)
        self.node_units = [
            [i for i, x in enumerate(world.units) if x.node == k] for k in range(len(world.nodes))
        ]
        self.node_env = [
            UnitEnvelopes.of([world.units[u].ecef_m for u in us], [world.units[u].ic for u in us])
            for us in self.node_units
        ]
        # pk of each node's units against each threat class, (u, classes)
        self.node_pk = [
            np.array(
                [[world.units[u].ic.pk.get(c, 0.0) for c in world.truth.class_names] for u in us]
            ).reshape(len(us), len(world.truth.class_names))
            for us in self.node_units
        ]
        self.cache_updates = [np.full(n, -1, dtype=np.int64) for _ in world.owners]
        # per node: when each threat's next launch can fall due, for the assessment it saw
        self.next_due = [np.full(n, -np.inf) for _ in world.nodes]
        self.due_stamp = [np.full(n, -1, dtype=np.int64) for _ in world.nodes]
        self.cache_path_t = [np.zeros((n, PATH_STEPS + 1)) for _ in world.owners]
        self.cache_path = [np.zeros((n, PATH_STEPS + 1, 3)) for _ in world.owners]
        self.cache_impact_t = [np.zeros(n) for _ in world.owners]
        self.cache_asset = [np.full(n, -1, dtype=np.int64) for _ in world.owners]
        self.cache_value = [np.zeros(n) for _ in world.owners]

    # -- scheduling -------------------------------------------------------------------------
    def push(self, t_s: float, kind: Kind, payload: int) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t_s, int(kind), self.seq, payload))

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
            self.push_scan(s, float((0.37 * s % 1.0) * site.scan_s), site.scan_s)
        for s, sp in enumerate(w.spaceborne):
            start = float(np.min(tr.t_launch_s[tr.ballistic], initial=np.inf)) + sp.sc.delay_s
            if np.isfinite(start):
                self.push(start, Kind.LAUNCH_WARNING, s)
        self.push(self.duration_s, Kind.END, 0)
        handlers: dict[int, Callable[[float, int], None]] = {
            Kind.IMPACT: self.on_impact,
            Kind.FAIL: self.on_fail,
            Kind.INTERCEPT: self.on_intercept,
            Kind.KILL_ASSESSMENT: self.on_kill_assessment,
            Kind.RELOAD: self.on_reload,
            Kind.SCAN: self.on_scan,
            Kind.LAUNCH_WARNING: self.on_launch_warning,
            Kind.C2_CYCLE: self.on_cycle,
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
            engagements=self.engagements,
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
    def push_scan(self, s: int, t_s: float, period_s: float) -> None:
        """Schedule radar s at ``t_s`` or, if no threat can be in reach then, at its next window."""
        win = self.windows[s]
        live = (win[:, 1] >= t_s) & (self.t_dead >= t_s)
        if not live.any():
            return
        start = float(win[live, 0].min())
        if start > t_s:
            t_s += np.ceil((start - t_s) / period_s) * period_s
        self.push(t_s, Kind.SCAN, s)

    def on_scan(self, t_s: float, s: int) -> None:
        w, site = self.w, self.w.radars[s]
        win = self.windows[s]
        cand = np.flatnonzero(self.alive(t_s) & (win[:, 0] <= t_s) & (win[:, 1] >= t_s))
        if cand.size:
            pos = w.truth.state_at(cand, np.full(cand.size, t_s))[:, :3]
            tracked = self.pictures.active[w.owners.index(site.owner), cand]
            det = radar_mod.scan(
                site,
                self.site_banks[s],
                cand,
                pos,
                w.rcs_m2[cand],
                tracked,
                self.rng.detect,
                self.rng.noise,
            )
            real = det.threat >= 0
            if real.any():
                ids, rae = det.threat[real], det.rae[real]
                meas_ecef = radar_mod.rae2ecef(site, rae)
                owners = w.receivers[w.owners.index(site.owner)]
                new = absorb_radar(
                    self.pictures,
                    owners,
                    t_s,
                    ids,
                    rae,
                    det.sigma,
                    site.ecef_m,
                    site.rot,
                    meas_ecef,
                    w.motion,
                )
                for o, fresh in zip(owners, new, strict=True):
                    self.on_new_tracks(t_s, o, fresh, site.name)
            self.log.add(
                t_s, "scan", -1, unit=site.name, owner=site.owner, value=float((~real).sum())
            )
        self.push_scan(s, t_s + site.scan_s, site.scan_s)

    def on_launch_warning(self, t_s: float, s: int) -> None:
        w, sp = self.w, self.w.spaceborne[s]
        ids = in_boost(t_s, w.truth.t_launch_s, w.burn_s, sp.sc.delay_s, w.truth.ballistic)
        ids = ids[self.alive(t_s)[ids]]
        if ids.size:
            z = reports(
                w.truth.state_at(ids, np.full(ids.size, t_s))[:, :3],
                sp.sc.sigma_pos_m,
                self.rng.noise,
            )
            first = ids[~self.warned[ids]]
            self.warned[ids] = True
            self.log.add(t_s, "launch_warning", first, unit=sp.name, owner=sp.owner)
            owners = w.receivers[w.owners.index(sp.owner)]
            new = absorb_positions(self.pictures, owners, t_s, ids, z, sp.sc.sigma_pos_m, w.motion)
            for o, fresh in zip(owners, new, strict=True):
                self.on_new_tracks(t_s, o, fresh, sp.name)
        upcoming = w.truth.t_launch_s[w.truth.ballistic] + w.burn_s[w.truth.ballistic]
        if (upcoming >= t_s + sp.sc.scan_s).any():
            nxt = t_s + sp.sc.scan_s
            starts = w.truth.t_launch_s[w.truth.ballistic] + sp.sc.delay_s
            ends = upcoming
            if not ((starts <= nxt) & (ends >= nxt)).any():
                later = starts[starts > nxt]
                if later.size:
                    nxt += np.ceil((later.min() - nxt) / sp.sc.scan_s) * sp.sc.scan_s
            self.push(float(nxt), Kind.LAUNCH_WARNING, s)

    def on_new_tracks(self, t_s: float, owner: int, new: I64, sensor: str) -> None:
        if new.size:
            self.log.add(t_s, "track_init", new, unit=sensor, owner=self.w.owners[owner])
        for k, (_, node_owner, cycle_s) in enumerate(self.w.nodes):
            if node_owner == owner and not self.node_awake[k]:
                self.node_awake[k] = True
                self.push(float(np.ceil(t_s / cycle_s) * cycle_s), Kind.C2_CYCLE, k)

    # -- battle management ------------------------------------------------------------------
    def refresh_assessment(self, o: int, ids: I64) -> None:
        pics, w = self.pictures, self.w
        stale = ids[self.cache_updates[o][ids] != pics.updates[o, ids]]
        if stale.size == 0:
            return
        ta = assess(
            stale,
            pics.x[o, stale],
            pics.t_s[o, stale],
            w.motion.ballistic[stale],
            w.motion.beta_kg_m2[stale],
            w.damage[stale],
            w.assets,
            self.doctrine.asset_margin_km * 1e3,
        )
        self.cache_updates[o][stale] = pics.updates[o, stale]
        self.cache_path_t[o][stale] = ta.path_t_s
        self.cache_path[o][stale] = ta.path_m
        self.cache_impact_t[o][stale] = ta.t_impact_s
        self.cache_asset[o][stale] = ta.asset
        self.cache_value[o][stale] = ta.value_at_risk

    def covered(self, o: int, points_m: F64) -> NDArray[np.bool_]:
        """Which points (k, 3) some radar feeding picture ``o`` covers (fire-control support)."""
        bank = self.feeder_banks[o]
        if points_m.shape[0] == 0 or bank is None:
            return np.zeros(points_m.shape[0], dtype=bool)
        return np.asarray(radar_mod.bank_coverage(bank, points_m)[0].any(axis=0))

    def capacity(self, units: list[int], t_s: float, cycle_s: float) -> I64:
        salvo = self.doctrine.salvo
        cap = []
        for u in units:  # loop over fire units (tens)
            ic = self.w.units[u].ic
            per_cycle = int(cycle_s // ic.launch_interval_s) if ic.launch_interval_s > 0 else 10**6
            rounds = self.rounds[u] // salvo if ic.kind == "kinetic" else 10**6
            ready = t_s >= self.next_launch[u]
            cap.append(min(ic.channels - self.busy[u], rounds, max(per_cycle, 1)) if ready else 0)
        return np.maximum(np.array(cap, dtype=np.int64), 0)

    def on_cycle(self, t_s: float, k: int) -> None:
        """One battle-management cycle of C2 node ``k``: assess, find opportunities, assign."""
        w, doc = self.w, self.doctrine
        _, o, cycle_s = w.nodes[k]
        dropped = drop_stale(self.pictures, o, t_s, w.scenario.spec.tracking.drop_after_s)
        self.log.add(t_s, "track_drop", dropped, owner=w.owners[o])
        firm = self.pictures.firm(o)
        firm = firm[~self.known_dead[firm]]
        units = self.node_units[k]
        busy = bool(self.busy[units].sum()) if units else False
        if firm.size == 0 and not busy:
            self.node_awake[k] = False
            return
        self.push(t_s + cycle_s, Kind.C2_CYCLE, k)
        covered = (self.engaged_until[firm] > t_s) & (1.0 - self.miss_prob[firm] >= doc.cover_pk)
        eligible = firm[~covered]
        if not doc.shoot_look_shoot:
            eligible = eligible[self.engage_count[eligible] == 0]
        if eligible.size == 0 or not units:
            return
        self.refresh_assessment(o, eligible)
        # skip threats whose launch cannot fall due yet on the path this node last saw
        quiet = (self.due_stamp[k][eligible] == self.cache_updates[o][eligible]) & (
            self.next_due[k][eligible] > t_s
        )
        eligible = eligible[~quiet]
        if eligible.size == 0:
            return
        t_imp = self.cache_impact_t[o][eligible]
        asset = self.cache_asset[o][eligible]
        opp = opportunities(
            self.node_env[k],
            t_s,
            self.cache_path_t[o][eligible],
            self.cache_path[o][eligible],
            t_imp,
            w.fluence_j_m2[eligible],
            cycle_s,
        )
        self.next_due[k][eligible] = t_s + opp.due_in_s.min(axis=0)
        self.due_stamp[k][eligible] = self.cache_updates[o][eligible]
        pk = self.node_pk[k][:, w.truth.class_idx[eligible]]  # (u, k)
        usable = pk >= max(doc.min_pk, 1e-9)
        engage_all = np.array([w.units[u].engage_all for u in units])
        usable &= engage_all[:, None] | (asset >= 0)[None, :]
        cap = self.capacity(units, t_s, cycle_s)
        feasible = opp.feasible & usable & (cap > 0)[:, None]
        uu, rr = np.nonzero(feasible)
        fc = self.covered(o, opp.pip_m[uu, rr])
        uu, rr = uu[fc], rr[fc]
        if uu.size == 0:
            return
        cost = np.array([w.units[u].ic.cost_usd for u in units])
        layer = np.array([w.units[u].ic.layer for u in units], dtype=np.int64)
        cand = Candidates(unit=uu, row=rr, pk=pk[uu, rr], cost_usd=cost[uu], layer=layer[uu])
        if doc.prefer_cheap:
            ammo = np.array(
                [
                    self.rounds[u] + self.reloads[u] > 0 or w.units[u].ic.kind == "laser"
                    for u in units
                ]
            )
            lu, lr = np.nonzero(opp.later & usable & ammo[:, None])
            hold = hold_for_cheaper(cand, lr, cost[lu], eligible.size)
            keep = ~(hold & ~w.motion.ballistic[eligible][rr])
            cand = Candidates(
                uu[keep], rr[keep], cand.pk[keep], cand.cost_usd[keep], cand.layer[keep]
            )
        value = self.cache_value[o][eligible]
        priority = np.empty(eligible.size, dtype=np.int64)
        priority[np.lexsort((t_imp, -value))] = np.arange(eligible.size)
        au, ar = assign(cand, priority, w.motion.ballistic[eligible], cap, doc.prefer_cheap)
        for j, r in zip(au.tolist(), ar.tolist(), strict=True):  # the engagements started
            self.start_engagement(
                t_s,
                units[j],
                int(eligible[r]),
                float(opp.t_intercept_s[j, r]),
                opp.pip_m[j, r],
                float(pk[j, r]),
            )

    def start_engagement(
        self, t_s: float, u: int, i: int, t_int: float, pip: F64, pk: float
    ) -> None:
        """Commit unit ``u`` to threat ``i``: rounds, channel, launch and intercept events.

        The interceptor leaves so as to arrive at ``t_int`` (not before the reaction time);
        when no time would be left after the kill assessment to engage again before the
        predicted impact, ``last_look_salvo`` interceptors go instead of ``salvo``.
        """
        spec_u, doc = self.w.units[u], self.doctrine
        ic = spec_u.ic
        shots = 1
        if ic.kind == "kinetic":
            o = self.w.owners.index(spec_u.owner)
            time_left = self.cache_impact_t[o][i] - (t_int + doc.kill_assessment_s)
            look_possible = doc.shoot_look_shoot and time_left > LOOK_AGAIN_S
            shots = doc.salvo if look_possible else max(doc.salvo, doc.last_look_salvo)
            shots = int(min(shots, self.rounds[u]))
        flyout_s = (
            float(np.linalg.norm(pip - spec_u.ecef_m)) / ic.speed_m_s
            if ic.kind == "kinetic"
            else 0.0
        )
        t_launch = max(t_s + ic.reaction_s, t_int - flyout_s)
        e = len(self.engagements)
        self.engagements.append(Engagement(u, i, t_s, t_launch, t_int, pip, pk, shots))
        self.engaged[i] = True
        for due in self.next_due:  # its picture changes for every node: look again
            due[i] = -np.inf
        self.engage_count[i] += 1
        self.engaged_until[i] = np.inf
        self.miss_prob[i] *= (1.0 - pk) ** shots
        self.busy[u] += 1
        self.fired[u] += shots
        if ic.kind == "kinetic":
            self.rounds[u] -= shots
            self.next_launch[u] = t_s + ic.launch_interval_s * shots
            if self.rounds[u] < doc.salvo and self.reloads[u] > 0 and not self.reloading[u]:
                self.reloading[u] = True
                self.push(t_s + ic.reload_s, Kind.RELOAD, u)
        self.log.add(
            t_launch,
            "launch_interceptor",
            i,
            unit=spec_u.name,
            owner=spec_u.owner,
            interceptor=spec_u.interceptor,
            engagement=e,
            value=float(shots),
            ecef_m=spec_u.ecef_m,
        )
        self.push(t_int, Kind.INTERCEPT, e)

    def on_intercept(self, t_s: float, e: int) -> None:
        eng = self.engagements[e]
        u, i = eng.unit, eng.threat
        spec_u = self.w.units[u]
        draws = self.rng.intercept.uniform(0.0, 1.0, eng.shots)
        self.busy[u] -= 1
        if self.fate[i] != ALIVE or t_s >= self.t_dead[i]:
            kind, miss_m, pos = "miss_target_gone", np.nan, eng.pip_m
        else:
            pos = self.w.truth.state_at(np.array([i]), np.array([t_s]))[0, :3]
            miss_m = self.guidance_error_m(u, i, t_s, pos, eng.pip_m)
            kind = "miss"
            if miss_m <= spec_u.ic.divert_m and bool((draws < eng.pk).any()):
                kind = "intercept"
                self.end_threat(i, t_s, INTERCEPTED)
                self.kills[u] += 1
        self.log.add(
            t_s,
            kind,
            i,
            unit=spec_u.name,
            owner=spec_u.owner,
            interceptor=spec_u.interceptor,
            engagement=e,
            value=miss_m,
            ecef_m=pos,
        )
        self.push(t_s + self.doctrine.kill_assessment_s, Kind.KILL_ASSESSMENT, e)

    def guidance_error_m(self, u: int, i: int, t_s: float, true_m: F64, pip_m: F64) -> float:
        """Miss distance the kill vehicle must absorb at intercept.

        Interceptors fly on midcourse updates from their owner's picture: the error is
        between the truth and the latest track extrapolated to the intercept time, or the
        launch-time PIP if the track was lost. A laser's beam director follows its target:
        it only needs the target inside its range.
        """
        spec_u = self.w.units[u]
        if spec_u.ic.kind == "laser":
            inside = np.linalg.norm(true_m - spec_u.ecef_m) <= spec_u.ic.max_range_km * 1e3
            return 0.0 if inside else float("inf")
        o = self.w.owners.index(spec_u.owner)
        if not self.pictures.active[o, i]:
            return float(np.linalg.norm(true_m - pip_m))
        x, _ = extrapolate(self.pictures, np.array([o]), np.array([i]), t_s, self.w.motion)
        return float(np.linalg.norm(true_m - x[0, :3]))

    def on_kill_assessment(self, t_s: float, e: int) -> None:
        i = self.engagements[e].threat
        if self.fate[i] == INTERCEPTED:
            self.known_dead[i] = True
        self.engaged_until[i] = t_s
        self.miss_prob[i] = 1.0
        self.log.add(t_s, "kill_assessment", i, engagement=e, value=float(self.fate[i] != ALIVE))

    def on_reload(self, t_s: float, u: int) -> None:
        spec_u = self.w.units[u]
        load = min(
            spec_u.ic.launchers * spec_u.ic.rounds_per_launcher - self.rounds[u], self.reloads[u]
        )
        self.rounds[u] += load
        self.reloads[u] -= load
        self.reloading[u] = False
        self.log.add(t_s, "reload", -1, unit=spec_u.name, owner=spec_u.owner, value=float(load))
