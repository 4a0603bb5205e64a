"""What a replication's decisions cost in time and in wasted rounds.

Decision latency is the time from a threat's first detection by any sensor of any owner
(a radar's detection or a launch warning, whoever's it was) to the launch of the first
interceptor at it: detection, track confirmation, the links to the deciding node, its
cycle, assessment and assignment, the fire unit's reaction and, for a kinetic shot, the
wait until a launch that arrives in time. Only engaged threats have one.

A double engagement (:mod:`iamd.sim.coordination`) is an engagement started on a threat
that the coalition's engagements in flight already covered, known to the deciding node or
not; status messages are those sent between owners, and those the links lost.

Under a central node (:mod:`iamd.sim.command`), orders are the engagements it gave units of
other owners, with the mean time an order took to reach them; fallbacks are the times a
node took its units back when its link to the central node had been down too long.

A shot at the harmless is an interceptor launched at a live threat whose flight, left
alone, would have ended in open ground (in no asset): the price of an uncertain impact
prediction, or of a unit told to engage everything.

A shot at the dead is an interceptor launched at a threat that no longer flew when it
left: destroyed by an earlier interceptor, broken up, or already down (a kill judged a
miss, or an engagement decided in the seconds before the threat's end).

A false-track engagement is one decided on a track that followed no real object (a track
on false alarms, :mod:`iamd.sim.slots`): its rounds are shots at false tracks, and miss.
A dual-track engagement is one decided on a threat that the deciding owner's picture held
under two tracks or more (a fusion that did not join two reports, or a track re-started
while the old one coasted): the node may take them for two objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from iamd.sim.engine import Outcome
    from iamd.sim.world import World

LATENCY_FIGURES = ("mean", "median", "engaged")
"""What ``summary.json`` says of decision latency, overall and per threat class."""


def first_launch_s(out: Outcome, n_threats: int) -> np.ndarray:
    """(n,) when the first interceptor left for each threat, s (inf: never)."""
    first = np.full(n_threats, np.inf)
    for job in out.engagements:  # engagements (hundreds), once per run
        if job.threat >= 0:
            first[job.threat] = min(first[job.threat], job.t_launch_s)
    return first


def _latency(latency_s: np.ndarray) -> dict[str, Any]:
    if latency_s.size == 0:
        return {"mean": None, "median": None, "engaged": 0}
    return {
        "mean": float(latency_s.mean()),
        "median": float(np.median(latency_s)),
        "engaged": int(latency_s.size),
    }


def decision_figures(world: World, out: Outcome) -> dict[str, Any]:
    """The ``decisions`` block of ``summary.json``: decision latency (s) overall and per
    threat class of the scenario's raid, and shots at the dead."""
    tr = world.truth
    launch = first_launch_s(out, tr.n)
    engaged = np.isfinite(launch) & np.isfinite(out.first_seen_s)
    latency = np.where(engaged, launch - np.where(engaged, out.first_seen_s, 0.0), np.nan)
    classes = sorted({s.threat for s in world.scenario.spec.raid})
    by_class = {
        c: _latency(latency[engaged & (tr.class_idx == tr.class_names.index(c))])
        if c in tr.class_names
        else _latency(latency[:0])
        for c in classes
    }
    harmless_threat = world.assets.hit(tr.impact_m) < 0  # its flight ends in the open
    dead = harmless = false_jobs = false_shots = dual = 0
    for job in out.engagements:  # engagements (hundreds), once per run
        if job.threat < 0:
            false_jobs += 1
            false_shots += job.shots
            continue
        dual += job.detail == "dual_track"
        t_end = out.t_fate_s[job.threat]
        if np.isfinite(t_end) and t_end <= job.t_launch_s:
            dead += job.shots
        elif harmless_threat[job.threat]:
            harmless += job.shots
    st = out.status
    delays = [job.order_s for job in out.engagements if job.order_s >= 0.0]
    return {
        "latency_s": {**_latency(latency[engaged]), "by_class": by_class},
        "shots_at_dead": dead,
        "shots_at_harmless": harmless,
        "false_track_engagements": false_jobs,
        "shots_at_false_tracks": false_shots,
        "dual_track_engagements": dual,
        "double_engagements": 0 if st is None else st.double_engagements,
        "status_messages": 0 if st is None else st.sent,
        "status_lost": 0 if st is None else st.lost,
        "orders": len(delays),
        "order_delay_s": float(np.mean(delays)) if delays else None,
        "fallbacks": 0 if st is None else st.fallbacks,
        **misclassified_engagements(world, out),
    }


def misclassified_engagements(world: World, out: Outcome) -> dict[str, Any]:
    """Engagements decided on a threat taken for another class: their number, and by
    pair ``"TRUE>TAKEN_FOR"`` (``false_track>TAKEN_FOR`` for a false track taken for a
    threat)."""
    names, true_c = world.truth.class_names, world.truth.class_idx
    counts: dict[str, int] = {}
    for job in out.engagements:  # engagements (hundreds), once per run
        real = "false_track" if job.threat < 0 else names[true_c[job.threat]]
        if job.est_class >= 0 and (job.threat < 0 or job.est_class != true_c[job.threat]):
            key = f"{real}>{names[job.est_class]}"
            counts[key] = counts.get(key, 0) + 1
    return {
        "misclassified_engagements": sum(counts.values()),
        "misclassified_by_pair": dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
    }
