"""Sensing handlers: radar scans, launch warning, and where sensors need to look.

Functions over one :class:`~iamd.sim.engine.Engine`'s state, called by its event loop.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numba import njit
from numpy.typing import NDArray

from iamd.physics.truth import interpolate_states
from iamd.sensors import radar as radar_mod
from iamd.sensors.spaceborne import in_boost, reports
from iamd.sim import network
from iamd.sim.events import Kind
from iamd.sim.world import World
from iamd.tracking.ideal import absorb_positions, absorb_radar
from iamd.tracking.tracker import PositionSensor, RadarSensor

if TYPE_CHECKING:
    from iamd.sim.engine import Engine

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

WINDOW_MARGIN_S = 15.0
"""Widening of sensor windows: more than the truth sampling of any threat (10 s)."""


def sensor_windows(world: World) -> list[F64]:
    """Per radar, each threat's [first, last] time inside its coverage, (n, 2).

    Coverage is the full geometric test (range, sector, elevation, horizon) on the
    truth samples, widened by one route sample at each end so that entry and exit
    between samples are scanned; scans outside every window are skipped.
    """
    tr = world.truth
    seg = np.repeat(np.arange(tr.n), np.diff(tr.offset))
    out = []
    for site in world.radars:  # one compiled pass over the truth samples per sensor (tens)
        bank = radar_mod.bank_figures(radar_mod.RadarBank.of([site]))
        out.append(window_kernel(bank, site.ecef_m, site.max_range_m, tr.state, tr.t_s, seg,
                                 tr.n, WINDOW_MARGIN_S))  # fmt: skip
    return out


@njit(cache=True)
def window_kernel(
    bank: radar_mod.BankFigures,
    site_ecef_m: F64,
    max_range_m: float,
    state: F64,
    sample_t_s: F64,
    threat: I64,
    n: int,
    margin_s: float,
) -> F64:
    """Kernel of :func:`sensor_windows` for one radar (``bank`` of one, at ``site_ecef_m``
    (3,)): of the truth samples ``state`` (m, 6) at ``sample_t_s`` (m,) of threats
    ``threat`` (m,) those within ``max_range_m`` in a straight line and covered
    (:func:`iamd.sensors.radar.coverage_kernel`); each of the ``n`` threats' first and last
    such time, widened by ``margin_s`` (inf and -inf: never covered), (n, 2)."""
    m = state.shape[0]
    near = np.empty(m, np.int64)
    k = 0
    for i in range(m):
        dx = state[i, 0] - site_ecef_m[0]
        dy = state[i, 1] - site_ecef_m[1]
        dz = state[i, 2] - site_ecef_m[2]
        if math.sqrt(dx * dx + dy * dy + dz * dz) <= max_range_m:  # as numpy.linalg.norm
            near[k] = i
            k += 1
    pos = np.empty((k, 3))
    for q in range(k):
        pos[q, 0], pos[q, 1], pos[q, 2] = state[near[q], 0], state[near[q], 1], state[near[q], 2]
    ok = radar_mod.covered_any(bank, pos)
    out = np.empty((n, 2))
    out[:, 0], out[:, 1] = np.inf, -np.inf
    for q in range(k):
        if ok[q]:
            i = near[q]
            out[threat[i], 0] = min(out[threat[i], 0], sample_t_s[i])
            out[threat[i], 1] = max(out[threat[i], 1], sample_t_s[i])
    for j in range(n):
        out[j, 0] -= margin_s
        out[j, 1] += margin_s
    return out


def push_scan(eng: Engine, s: int, t_s: float, period_s: float) -> None:
    """Schedule radar s at ``t_s`` or, if no threat can be in reach then, at its next window."""
    t_next = next_scan_s(float(t_s), float(period_s), eng.windows[s], eng.t_dead)
    if not math.isnan(t_next):
        eng.push(t_next, Kind.SCAN, s)


@njit(cache=True)
def next_scan_s(t_s: float, period_s: float, window_s: F64, t_dead_s: F64) -> float:
    """When a radar with scan period ``period_s`` should next scan from ``t_s``: then, or
    at its first scan inside the window (``window_s`` (n, 2), :func:`sensor_windows`) of
    a threat still in the air (``t_dead_s`` (n,)) whose window has not closed; nan when
    no such threat is left."""
    start = np.inf
    live = False
    for i in range(window_s.shape[0]):
        if window_s[i, 1] >= t_s and t_dead_s[i] >= t_s:
            live = True
            start = min(start, window_s[i, 0])
    if not live:
        return np.nan
    if start > t_s:
        t_s += np.ceil((start - t_s) / period_s) * period_s
    return t_s


@njit(cache=True)
def plan_scan(
    t_s: float, period_s: float, window_s: F64, t_launch_s: F64, t_dead_s: F64
) -> tuple[I64, float]:
    """A radar's scan at ``t_s``: the threats in the air and inside its windows (n, 2)
    then (its candidates, in threat order), and its next scan time (:func:`next_scan_s`
    from ``t_s + period_s``; nan: none)."""
    n = window_s.shape[0]
    take = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        take[i] = (
            t_launch_s[i] <= t_s
            and t_s < t_dead_s[i]
            and window_s[i, 0] <= t_s
            and window_s[i, 1] >= t_s
        )
    return np.flatnonzero(take), next_scan_s(t_s + period_s, period_s, window_s, t_dead_s)


def on_scan(eng: Engine, t_s: float, s: int) -> None:
    w, site = eng.w, eng.w.radars[s]
    cand, t_next = plan_scan(
        float(t_s), site.scan_s, eng.windows[s], w.truth.t_launch_s, eng.t_dead
    )
    o = w.owners.index(site.owner)
    if eng.net is not None:
        local = eng.net.local[o]
        if cand.size or local.confirmed.any():
            _scan_to_tracker(eng, t_s, s, cand)
        if not math.isnan(t_next):
            eng.push(t_next, Kind.SCAN, s)
        return
    if cand.size:
        pos = w.truth.state_at(cand, np.full(cand.size, t_s))[:, :3]
        tracked = eng.pictures.active[o, cand]
        det = radar_mod.scan(
            site,
            eng.site_banks[s],
            cand,
            pos,
            w.rcs_m2[cand],
            tracked,
            eng.rng.detect,
            eng.rng.noise,
        )
        real = det.threat >= 0
        eng.seen(o, det.threat[real], t_s)
        if real.any():
            ids, rae = det.threat[real], det.rae[real]
            meas_ecef = radar_mod.rae2ecef(site, rae)
            owners = w.receivers[w.owners.index(site.owner)]
            new = absorb_radar(
                eng.pictures,
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
                on_new_tracks(eng, t_s, o, fresh, site.name)
        eng.log.add(t_s, "scan", -1, unit=site.name, owner=site.owner, value=float((~real).sum()))
    if not math.isnan(t_next):
        eng.push(t_next, Kind.SCAN, s)


def _scan_to_tracker(eng: Engine, t_s: float, s: int, cand: I64) -> None:
    """One radar scan in gnn mode: every detection, false alarms too, without identity."""
    w, site = eng.w, eng.w.radars[s]
    o = w.owners.index(site.owner)
    net = eng.net
    assert net is not None
    local, tr = net.local[o], w.truth
    pos, rcs, tracked = candidates(
        cand, float(t_s), tr.search_key, tr.offset, tr.t_s, tr.state, w.rcs_m2, local.label,
        local.confirmed,
    )  # fmt: skip
    det = radar_mod.scan(
        site, eng.site_banks[s], cand, pos, rcs, tracked, eng.rng.detect, eng.rng.noise
    )
    eng.seen(o, det.threat[det.threat >= 0], t_s)
    eng.log.add(
        t_s, "scan", -1, unit=site.name, owner=site.owner, value=float((det.threat < 0).sum())
    )
    order = eng.rng.detect.permutation(det.threat.size)  # a radar reports no identities
    network.send_report(
        eng,
        network.Report(
            owner=o,
            sensor=site.name,
            t_s=t_s,
            z=det.rae[order],
            labels=det.threat[order],
            model=RadarSensor(site.ecef_m, site.rot, det.sigma),
            view=eng.site_banks[s],
        ),
    )


@njit(cache=True)
def candidates(
    cand: I64,
    t_s: float,
    search_key: F64,
    offset: I64,
    sample_t_s: F64,
    state: F64,
    rcs_m2: F64,
    label: I64,
    confirmed: NDArray[np.bool_],
) -> tuple[F64, F64, NDArray[np.bool_]]:
    """What a radar scan needs of its candidate threats ``cand`` (k,) at ``t_s``: their
    ECEF positions (k, 3) (:func:`iamd.physics.truth.interpolate_states` on the truth
    table's samples), cross sections (k,) m^2 (of ``rcs_m2`` (n,)), and whether a confirmed
    track of the radar owner's tracker (``label``, ``confirmed`` (t,)) holds each (the
    radar then spends track-mode energy on it)."""
    k = cand.shape[0]
    full = np.empty((k, 6))
    interpolate_states(search_key, offset, sample_t_s, state, cand, np.full(k, t_s), full)
    held = np.zeros(rcs_m2.shape[0], dtype=np.bool_)
    for i in range(label.shape[0]):
        if confirmed[i] and label[i] >= 0:
            held[label[i]] = True
    pos = np.empty((k, 3))
    rcs = np.empty(k)
    tracked = np.empty(k, dtype=np.bool_)
    for q in range(k):
        pos[q, 0], pos[q, 1], pos[q, 2] = full[q, 0], full[q, 1], full[q, 2]
        rcs[q] = rcs_m2[cand[q]]
        tracked[q] = held[cand[q]]
    return pos, rcs, tracked


def on_launch_warning(eng: Engine, t_s: float, s: int) -> None:
    w, sp = eng.w, eng.w.spaceborne[s]
    ids = in_boost(t_s, w.truth.t_launch_s, w.burn_s, sp.sc.delay_s, w.truth.ballistic)
    ids = ids[eng.alive(t_s)[ids]]
    if ids.size:
        z = reports(
            w.truth.state_at(ids, np.full(ids.size, t_s))[:, :3],
            sp.sc.sigma_pos_m,
            eng.rng.noise,
        )
        first = ids[~eng.warned[ids]]
        eng.warned[ids] = True
        eng.seen(w.owners.index(sp.owner), ids, t_s, radar=False)
        for p in w.receivers[w.owners.index(sp.owner)]:  # owners (a few)
            eng.warned_to[p, ids] = True
        eng.log.add(t_s, "launch_warning", first, unit=sp.name, owner=sp.owner)
    if ids.size and eng.net is not None:
        order = eng.rng.detect.permutation(ids.size)
        network.send_report(
            eng,
            network.Report(
                owner=w.owners.index(sp.owner),
                sensor=sp.name,
                t_s=t_s,
                z=z[order],
                labels=ids[order],
                model=PositionSensor(np.full(3, sp.sc.sigma_pos_m)),
                view=radar_mod.NO_RADARS,  # it sees no track: none counts a miss
            ),
        )
    elif ids.size:
        owners = w.receivers[w.owners.index(sp.owner)]
        new = absorb_positions(eng.pictures, owners, t_s, ids, z, sp.sc.sigma_pos_m, w.motion)
        for o, fresh in zip(owners, new, strict=True):
            on_new_tracks(eng, t_s, o, fresh, sp.name)
    upcoming = w.truth.t_launch_s[w.truth.ballistic] + w.burn_s[w.truth.ballistic]
    if (upcoming >= t_s + sp.sc.scan_s).any():
        nxt = t_s + sp.sc.scan_s
        starts = w.truth.t_launch_s[w.truth.ballistic] + sp.sc.delay_s
        ends = upcoming
        if not ((starts <= nxt) & (ends >= nxt)).any():
            later = starts[starts > nxt]
            if later.size:
                nxt += np.ceil((later.min() - nxt) / sp.sc.scan_s) * sp.sc.scan_s
        eng.push(float(nxt), Kind.LAUNCH_WARNING, s)


def on_new_tracks(eng: Engine, t_s: float, owner: int, new: I64, sensor: str) -> None:
    if new.size:
        eng.log.add(t_s, "track_init", new, unit=sensor, owner=eng.w.owners[owner])
    network.wake(eng, t_s, owner)
