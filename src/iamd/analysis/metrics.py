"""The metrics of a replication: its flat row, the names a scenario yields, their ranges.

A run's ``summary.json`` (:func:`iamd.sim.run.summarise`) becomes one flat row of numbers
under dotted names (:func:`summary_row`). Which names a row holds depends on the scenario:
its threat classes, interceptor types, owners, C2 owners and assets.
:func:`summary_metrics` lists them from the scenario alone, without simulating, so a
command can check a metric name before it runs anything; a test holds it to the keys of
real runs of every bundled scenario so the two cannot drift apart.
"""

from __future__ import annotations

import math
from typing import Any

from iamd.scenario.load import Scenario
from iamd.sim.decisions import LATENCY_FIGURES

Row = dict[str, Any]

FATES = (
    "launched",
    "failed",
    "intercepted",
    "impacted_asset",
    "impacted_open",
    "airborne_at_end",
    "engaged",
    "not_engaged_open_area",
)
"""Counts of the ``threats`` block, overall and per class."""
TRACK_FIGURES = (
    "ospa_m_mean",
    "gospa_mean",
    "completeness",
    "spurious_tracks",
    "id_changes",
    "dual_tracks",
)
"""Figures of the ``tracking`` block, overall and per owner with C2 nodes."""
C2_FIGURES = ("cycles", "assignments", "mean_solve_ms", "max_solve_ms")
TOTALS = ("totals.interceptors_fired", "totals.asset_value_lost")
"""Columns a row adds to the summary's own numbers."""
FRACTIONS = (".completeness", ".commonality", ".misclassified")
"""Metric name endings of fractions (0 to 1)."""
NON_NEGATIVE = (
    "threats.",
    "interceptors.",
    "by_owner.",
    "assets.",
    "cost_usd.",
    "tracking.",
    "decisions.",
    "c2.",
    "totals.",
    "sim_duration_s",
    "wall_time_s",
)
"""Metric name starts of counts, costs, times, distances and ratios (>= 0)."""


def flatten(summary: dict[str, Any], prefix: str = "") -> Row:
    """Every number of a run's ``summary.json`` under a dotted name.

    Strings (scenario name, solver, version) are left out; ``None`` stays (a null).
    """
    row: Row = {}
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            row.update(flatten(value, name + "."))
        elif isinstance(value, bool):
            row[name] = int(value)
        elif isinstance(value, int | float) or value is None:
            row[name] = value
    return row


def summary_row(summary: dict[str, Any]) -> Row:
    """A run's flat row: :func:`flatten` plus the totals over interceptor types and assets."""
    row = flatten(summary)
    row["totals.interceptors_fired"] = sum(v["fired"] for v in summary["interceptors"].values())
    row["totals.asset_value_lost"] = sum(v["value_lost"] for v in summary["assets"].values())
    return row


PATROL_FIGURES = ("sorties", "flight_hours", "missiles_fired", "kills")
"""What ``summary.json`` says of each air patrol."""


def summary_metrics(scenario: Scenario) -> list[str]:
    """The metric names every replication of ``scenario`` stores (identifiers left out).

    Mirrors :func:`iamd.sim.run.summarise` plus :data:`TOTALS`.
    """
    spec = scenario.spec
    classes = sorted({s.threat for s in spec.raid})
    types = sorted({f.interceptor for f in spec.fire_units} | {p.missile for p in spec.air_patrols})
    c2_owners = sorted({c.owner for c in spec.c2_nodes})
    names = [o.name for o in spec.owners]
    c2_owner_order = sorted(c2_owners, key=names.index)  # pairs in the scenario's owner order
    return [
        "sim_duration_s",
        "wall_time_s",
        *(f"threats.{f}" for f in FATES),
        *(f"threats.by_class.{c}.{f}" for c in classes for f in FATES),
        *(f"interceptors.{t}.{k}" for t in types for k in ("fired", "kills", "cost_usd")),
        *(f"by_owner.{o.name}.{k}" for o in spec.owners for k in ("fired", "kills")),
        *(f"air_patrols.{p.name}.{k}" for p in spec.air_patrols for k in PATROL_FIGURES),
        *(f"assets.{a.name}.{k}" for a in spec.assets for k in ("hits", "value_lost")),
        *(f"cost_usd.{k}" for k in ("interceptors", "threats", "exchange_ratio")),
        *(f"tracking.{k}" for k in TRACK_FIGURES),
        *(f"tracking.by_owner.{o}.{k}" for o in c2_owners for k in TRACK_FIGURES),
        *(
            f"tracking.pairs.{a}~{b}.commonality"
            for i, a in enumerate(c2_owner_order)
            for b in c2_owner_order[i + 1 :]
        ),
        *(f"decisions.latency_s.{k}" for k in LATENCY_FIGURES),
        *(f"decisions.latency_s.by_class.{c}.{k}" for c in classes for k in LATENCY_FIGURES),
        "decisions.shots_at_dead",
        "decisions.shots_at_harmless",
        "decisions.double_engagements",
        "decisions.dual_track_engagements",
        "decisions.false_track_engagements",
        "decisions.shots_at_false_tracks",
        "decisions.status_messages",
        "decisions.status_lost",
        "decisions.orders",
        "decisions.order_delay_s",
        "decisions.fallbacks",
        "decisions.misclassified_engagements",
        "tracking.misclassified",
        *(f"c2.{k}" for k in C2_FIGURES),
        *TOTALS,
    ]


def physical_range(name: str) -> tuple[float, float]:
    """The values a metric can take (unbounded for a name the summary does not define).

    Every summary number is a count, a cost, a time, a distance or a ratio (>= 0); the
    completeness figures are fractions (0 to 1). Clip the 95 % interval of a mean to it
    where the interval is drawn: the t interval of a count near zero runs below zero,
    which no mean of counts can.
    """
    if name.startswith(NON_NEGATIVE) and name.endswith(FRACTIONS):
        return 0.0, 1.0
    if name.startswith(NON_NEGATIVE):
        return 0.0, math.inf
    return -math.inf, math.inf


def clip_interval(name: str, low: float | None, high: float | None) -> tuple[Any, Any]:
    """``(low, high)`` clipped to :func:`physical_range` of ``name`` (None stays None)."""
    lo_m, hi_m = physical_range(name)
    return (
        None if low is None else min(max(low, lo_m), hi_m),
        None if high is None else min(max(high, lo_m), hi_m),
    )
