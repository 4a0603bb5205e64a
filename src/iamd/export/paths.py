"""Paths sampled in time, in CSR layout: interceptor flights as flown, and positions along them.

A set of ``k`` paths is one ``offset`` array of shape (k + 1,) and sample arrays of shape
(n,) or (n, 3): the samples of path ``i`` are rows ``offset[i]:offset[i + 1]``, in time
order. Threat truth (:meth:`~iamd.export.rundir.RunData.threat_paths`) and interceptor
flights (:func:`flown_paths`) share the layout, so the exports draw and interpolate both
the same way.

The engine flies every kinetic interceptor and records its flight in
``interceptors.parquet``: the launch (at the launcher, at the ``launch_interceptor``
event's time), one sample per midcourse update, and the end (where and when the
``intercept``, ``miss`` or ``miss_target_gone`` event puts it). A laser has no flight, and
run directories written before the engine flew interceptors have no such file: there a
flyout is the straight line from the launch point at the launch time to the end point at
the end time, as the exports drew every flyout before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
LLA = ("lat_deg", "lon_deg", "alt_m")
"""Columns of a geodetic position, degrees and metres."""


class Engagements(Protocol):
    """What :func:`flown_paths` reads of each engagement (:class:`~iamd.export.rundir.Flyouts`)."""

    @property
    def engagement(self) -> I64: ...  # shape (k,)
    @property
    def t_launch_s(self) -> F64: ...  # shape (k,), s
    @property
    def t_end_s(self) -> F64: ...  # shape (k,), s
    @property
    def start(self) -> F64: ...  # shape (k, 3), (lat_deg, lon_deg, alt_m) at launch
    @property
    def end(self) -> F64: ...  # shape (k, 3), where the flight ended


@dataclass(frozen=True, slots=True)
class FlownPaths:
    """The path each engagement's interceptor flew, in the order of the engagements.

    Attributes
    ----------
    offset : ndarray of int64, shape (k + 1,)
        Samples of engagement ``i`` (row ``i`` of the flyouts) are rows
        ``offset[i]:offset[i + 1]``; every engagement has at least two.
    t_s : ndarray, shape (n,)
        Sample times, s, strictly increasing within an engagement's rows.
    lla : ndarray, shape (n, 3)
        ``(lat_deg, lon_deg, alt_m)``.
    flown : ndarray of bool, shape (k,)
        True where the samples are the recorded flight, False where they are the
        two-point straight line (a laser, an older run directory).
    """

    offset: I64
    t_s: F64
    lla: F64
    flown: NDArray[np.bool_]

    def rows(self, i: int) -> slice:
        """The sample rows of engagement ``i``."""
        return slice(int(self.offset[i]), int(self.offset[i + 1]))


def _recorded(table: pa.Table | None) -> tuple[I64, F64, F64]:
    """Engagement, time and position of each recorded sample of ``table``, which is sorted
    by (engagement, t_s) as :class:`~iamd.export.rundir.RunData` holds it.

    A sample at the same time as the next one of its engagement is dropped: the end of a
    flight that came at a midcourse update is recorded twice, and the later row is the end.
    """
    if table is None or table.num_rows == 0:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros((0, 3))
    eng = table.column("engagement").to_numpy(zero_copy_only=False).astype(np.int64)
    t_s = table.column("t_s").to_numpy(zero_copy_only=False).astype(np.float64)
    lla = np.column_stack([table.column(c).to_numpy(zero_copy_only=False) for c in LLA]).astype(
        np.float64
    )
    keep = np.ones(eng.size, dtype=bool)
    keep[:-1] = (eng[1:] != eng[:-1]) | (t_s[1:] > t_s[:-1])
    ok = keep & np.isfinite(t_s) & np.all(np.isfinite(lla), axis=1)
    return eng[ok], t_s[ok], lla[ok]


def flown_paths(fly: Engagements, table: pa.Table | None) -> FlownPaths:
    """Each engagement's flown samples, or its straight line where none were recorded.

    Parameters
    ----------
    fly : Engagements
        The engagements (launch and end events joined), ``k`` rows.
    table : pyarrow.Table or None
        ``interceptors.parquet`` (columns engagement, t_s, lat_deg, lon_deg, alt_m) sorted
        by engagement and time, or None for a run directory without it.

    Returns
    -------
    FlownPaths
        In the flyouts' order; an engagement with fewer than two recorded samples gets
        ``(t_launch_s, start)`` and ``(t_end_s, end)``.
    """
    eng, t_s, lla = _recorded(table)
    k = fly.engagement.size
    ids, first, count = np.unique(eng, return_index=True, return_counts=True)
    n_rec = np.zeros(k, np.int64)
    src_rec = np.zeros(k, np.int64)
    if ids.size:
        pos = np.minimum(np.searchsorted(ids, fly.engagement), ids.size - 1)
        hit = ids[pos] == fly.engagement
        n_rec, src_rec = np.where(hit, count[pos], 0), first[pos]
    found = n_rec >= 2
    n = np.where(found, n_rec, 2).astype(np.int64)
    offset = np.concatenate([[0], np.cumsum(n)]).astype(np.int64)
    # rows of [recorded samples; two straight-line points per engagement] to gather
    src0 = np.where(found, src_rec, eng.size + 2 * np.arange(k))
    gather = np.repeat(src0 - offset[:-1], n) + np.arange(offset[-1])
    line_t = np.column_stack([fly.t_launch_s, fly.t_end_s]).reshape(-1)
    line_lla = np.stack([fly.start, fly.end], axis=1).reshape(-1, 3)
    all_t = np.concatenate([t_s, line_t])
    all_lla = np.concatenate([lla, line_lla])
    return FlownPaths(offset, all_t[gather], all_lla[gather], found.astype(bool))


def along(
    offset: I64, t_s: F64, xyz: F64, path: I64, t_q: F64, lift: bool = False
) -> tuple[F64, F64]:
    """Positions and velocities along paths, linear between samples.

    Parameters
    ----------
    offset : ndarray of int64, shape (k + 1,)
        CSR offsets of ``k`` paths, each with at least one sample.
    t_s : ndarray, shape (n,)
        Sample times, s, non-decreasing within a path.
    xyz : ndarray, shape (n, 3)
        Sample positions (ECEF, m, for velocities in m/s).
    path : ndarray of int64, shape (q,)
        The path of each query.
    t_q : ndarray, shape (q,)
        Query times, s; held at the first or last sample outside a path's span.
    lift : bool
        Lift each position from the chord to a geocentric radius linear between the
        samples' (an aircraft's leg at its altitude, as the engine flies it), instead of
        the straight line in ECEF (an interceptor's samples, seconds apart).

    Returns
    -------
    pos : ndarray, shape (q, 3)
        Interpolated positions.
    vel : ndarray, shape (q, 3)
        The velocity of the segment that holds ``t_q`` (the last segment at and after the
        last sample, the first before the first), m/s; zero for a one-sample path.
    """
    if path.size == 0:
        return np.zeros((0, 3)), np.zeros((0, 3))
    k_row = np.repeat(np.arange(offset.size - 1), np.diff(offset))
    lo = min(float(t_s.min()), float(t_q.min()))
    span = max(float(t_s.max()), float(t_q.max())) - lo + 1.0
    key = t_s - lo + k_row * span  # increasing across paths: one search for every query
    a, b = offset[path], offset[path + 1]
    j = np.searchsorted(key, t_q - lo + path * span, side="right") - 1
    j = np.clip(j, a, np.maximum(a, b - 2))
    j1 = np.minimum(j + 1, b - 1)
    dt = t_s[j1] - t_s[j]
    moving = dt > 0
    safe = np.where(moving, dt, 1.0)
    w = np.where(moving, np.clip((t_q - t_s[j]) / safe, 0.0, 1.0), 0.0)
    step = xyz[j1] - xyz[j]
    vel = np.where(moving[:, None], step / safe[:, None], 0.0)
    pos = xyz[j] + w[:, None] * step
    if lift:
        r0, r1 = np.linalg.norm(xyz[j], axis=1), np.linalg.norm(xyz[j1], axis=1)
        norm = np.linalg.norm(pos, axis=1)
        pos = (
            pos
            * np.where(norm > 0, (r0 + w * (r1 - r0)) / np.where(norm > 0, norm, 1.0), 1.0)[:, None]
        )
    return pos, vel


def heartbeats(first_s: F64, last_s: F64, heartbeat_s: float, closed: bool) -> tuple[I64, F64]:
    """Times every ``heartbeat_s`` from each path's start, for all paths at once.

    Parameters
    ----------
    first_s, last_s : ndarray, shape (k,)
        Start and end of each path, s.
    heartbeat_s : float
        Period, s (positive).
    closed : bool
        Whether a time equal to ``last_s`` is included (``[first, last]``) or not
        (``[first, last)``, nothing for a path of zero length).

    Returns
    -------
    path : ndarray of int64, shape (q,)
        The path of each time, grouped by path.
    t_s : ndarray, shape (q,)
        ``first_s[path] + m * heartbeat_s``, m = 0, 1, ...
    """
    span = np.maximum(last_s - first_s, 0.0) / heartbeat_s
    count = np.floor(span) + 1 if closed else np.ceil(span)
    n = count.astype(np.int64)
    path = np.repeat(np.arange(first_s.size), n)
    step = np.arange(path.size) - np.repeat(np.cumsum(n) - n, n)
    return path, first_s[path] + step * heartbeat_s


@dataclass(frozen=True, slots=True)
class AircraftPaths:
    """Where each patrol aircraft was over the run, in CSR layout.

    Attributes
    ----------
    name, owner : list of str, length k
        The aircraft (``PATROL-1``, ``PATROL-2`` ..., as the engine numbers them) and its
        owner.
    offset : ndarray of int64, shape (k + 1,)
        Samples of aircraft ``i`` are rows ``offset[i]:offset[i + 1]``; at least one (time
        0), in strictly increasing time.
    t_s : ndarray, shape (n,)
        Sample times, s.
    lla : ndarray, shape (n, 3)
        ``(lat_deg, lon_deg, alt_m)``; the aircraft flies the straight line between two
        samples at constant speed, and holds its last position after its last sample.
    """

    name: list[str]
    owner: list[str]
    offset: I64
    t_s: F64
    lla: F64

    def samples(self, i: int, until_s: float) -> tuple[F64, F64]:
        """Aircraft ``i``'s samples, with one more at ``until_s`` where it holds its last
        position (when ``until_s`` is later than its last sample): times (m,), lla (m, 3)."""
        rows = slice(int(self.offset[i]), int(self.offset[i + 1]))
        t, lla = self.t_s[rows], self.lla[rows]
        if until_s > t[-1]:
            t, lla = np.append(t, until_s), np.vstack([lla, lla[-1:]])
        return t, lla


def aircraft_paths(
    name: list[str],
    owner: list[str],
    base_lla: F64,
    ev_unit: list[str],
    ev_t_s: F64,
    ev_lla: F64,
    ev_is_leg: NDArray[np.bool_],
) -> AircraftPaths:
    """Patrol aircraft's flights from the events that start and end their legs.

    Parameters
    ----------
    name, owner : list of str, length k
        The aircraft.
    base_lla : ndarray, shape (k, 3)
        Each aircraft's airfield: where it is at time 0 unless an event puts it elsewhere
        then (on station at the start).
    ev_unit : list of str, length e
        Unit of each event.
    ev_t_s : ndarray, shape (e,)
        Event times, s.
    ev_lla : ndarray, shape (e, 3)
        Event positions.
    ev_is_leg : ndarray of bool, shape (e,)
        Whether the event starts or ends a leg of its unit (its kind is ``aircraft_*`` or
        ``launch_interceptor``).

    Returns
    -------
    AircraftPaths
        A sample at time 0 (the airfield, or the first event when it is at time 0), then
        each leg event; of events at one time, the last in the log.
    """
    index = {n: i for i, n in enumerate(name)}
    k = len(name)
    rows = np.flatnonzero(ev_is_leg)
    who = np.array([index.get(ev_unit[r], -1) for r in rows.tolist()], dtype=np.int64)
    rows, who = rows[who >= 0], who[who >= 0]
    # one start sample per aircraft at time 0, before its events (the sort is stable)
    ac = np.concatenate([np.arange(k), who])
    t = np.concatenate([np.zeros(k), ev_t_s[rows]])
    lla = np.concatenate([np.asarray(base_lla, dtype=np.float64).reshape(k, 3), ev_lla[rows]])
    order = np.lexsort((np.arange(ac.size), t, ac))
    ac, t, lla = ac[order], t[order], lla[order]
    keep = np.ones(ac.size, dtype=bool)
    keep[:-1] = (ac[1:] != ac[:-1]) | (t[1:] > t[:-1])  # the last of equal times
    ok = keep & np.isfinite(t) & np.all(np.isfinite(lla), axis=1)
    ac, t, lla = ac[ok], t[ok], lla[ok]
    offset = np.concatenate([[0], np.cumsum(np.bincount(ac, minlength=k))]).astype(np.int64)
    return AircraftPaths(list(name), list(owner), offset, t, lla)
