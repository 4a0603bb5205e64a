"""Checks of a validated scenario as a whole: what it would cost to run, and what is useless.

The schema bounds every figure on its own; these checks look at combinations:

* **errors** (the scenario is refused): waypoints on a ballistic threat (which flies no
  route), and a scenario that asks for
  more work than one replication may do (threats, truth samples, scheduled events,
  false alarms), estimated from the file before anything is flown;
* **warnings** (printed with their location; the scenario still runs): a salvo, or some
  of its launches, after the end (a shortened scenario), no sensor or no fire unit at
  all, a sensor that can see no threat, a fire unit that can kill none of the raid's
  threat classes.

Estimates are upper bounds built from the raid's time window, so a bounded scenario
can never run for hours or take gigabytes: the limits leave a wide margin over the
largest bundled scenario (regional-raid asks for about 0.2 M events and 0.6 M samples).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from iamd.errors import Problem
from iamd.geo import geodetic2ecef
from iamd.scenario.catalog import Catalog, ThreatClass
from iamd.scenario.schema import Position, Salvo, ScenarioFile
from iamd.scenario.yamlpos import Located

MAX_THREATS = 20_000
"""Threats in one raid."""
MAX_TRUTH_SAMPLES = 10_000_000
"""Trajectory samples of the whole raid (about 0.5 GB of state)."""
MAX_EVENTS = 5_000_000
"""Scans, C2 cycles, track reports and samples scheduled while threats fly."""
MAX_FALSE_ALARMS = 2_000_000
"""Radar false alarms over the raid (each one a detection the trackers must handle)."""
BALLISTIC_SAMPLES = 1_700
"""Samples of one ballistic flight at most (the integrator's step budget plus boost)."""
BALLISTIC_FLIGHT_S = 3_600.0
"""Longest ballistic flight of any class the schema allows, s (an upper bound)."""
ROUTE_DT_S = 10.0
"""Route threats are sampled every 10 s (``physics.truth.ROUTE_DT_S``)."""
SAMPLE_PERIOD_S = 20.0
"""Track-quality sampling period of the engine, s."""


@dataclass(frozen=True, slots=True)
class Findings:
    """What :func:`check` found: problems that refuse the scenario, and warnings."""

    errors: list[Problem]
    warnings: list[Problem]


def check(spec: ScenarioFile, catalog: Catalog, located: Located) -> Findings:
    """Every whole-scenario error and warning of ``spec``, located in its file."""
    errors: list[Problem] = []
    warnings: list[Problem] = []
    for i, salvo in enumerate(spec.raid):
        tc = catalog.threats[salvo.threat]
        if salvo.start_s >= spec.duration_s:
            warnings.append(
                located.problem(
                    ("raid", i, "start_s"),
                    f"salvo {_label(salvo, i)} starts at {salvo.start_s:,.0f} s, when the "
                    f"scenario has ended ({spec.duration_s:,.0f} s): none of its "
                    f"{salvo.count} threats launch",
                )
            )
        else:
            late = _late_launches(salvo, spec.duration_s)
            if late:
                warnings.append(
                    located.problem(
                        ("raid", i),
                        f"salvo {_label(salvo, i)}: {late} of its {salvo.count} launches fall "
                        f"after the scenario ends at {spec.duration_s:,.0f} s and never happen",
                    )
                )
        if salvo.waypoints and tc.kind != "route":
            errors.append(
                located.problem(
                    ("raid", i, "waypoints"),
                    f"'{salvo.threat}' is a {tc.kind} threat and flies no route: waypoints are "
                    "for drones and cruise missiles only",
                )
            )
    errors.extend(_budget(spec, catalog, located))
    warnings.extend(_useless(spec, catalog, located))
    return Findings(errors, [_as_warning(w) for w in warnings])


def _as_warning(p: Problem) -> Problem:
    return Problem(p.file, p.line, p.col, p.message, warning=True)


def _label(salvo: Salvo, i: int) -> str:
    return f"'{salvo.name}'" if salvo.name else f"raid.{i}"


def _late_launches(salvo: Salvo, duration_s: float) -> int:
    """Launches of ``salvo`` scheduled after ``duration_s`` (before jitter)."""
    if salvo.interval_s <= 0:
        return 0
    fit = math.floor((duration_s - salvo.start_s) / salvo.interval_s) + 1
    return max(0, salvo.count - fit)


# -- cost of a run --------------------------------------------------------------------------


def _ecef(p: Position) -> np.ndarray:
    return geodetic2ecef(np.radians(p.lat_deg), np.radians(p.lon_deg), 0.0)


def _route_points(spec: ScenarioFile, salvo: Salvo) -> Iterator[list[np.ndarray]]:
    """Each possible route of ``salvo`` as ECEF points: launch area, waypoints, target."""
    legs = [_ecef(w) for w in salvo.waypoints]
    assets = {a.name: a for a in spec.assets}
    start = _ecef(salvo.launch_area)
    for name in salvo.targets:
        a = assets[name]
        if a.point is not None:
            end = _ecef(a.point)
        else:
            v = np.asarray(a.polygon, dtype=np.float64)
            end = geodetic2ecef(np.radians(v[:, 0].mean()), np.radians(v[:, 1].mean()), 0.0)
        yield [start, *legs, end]
    for aim in salvo.aimpoints:
        yield [start, *legs, _ecef(aim)]


def _route_length_m(spec: ScenarioFile, salvo: Salvo) -> float:
    """Longest route of a salvo (chords, plus the launch area's radius), m."""
    longest = max(
        sum(float(np.linalg.norm(b - a)) for a, b in itertools.pairwise(pts))
        for pts in _route_points(spec, salvo)
    )
    return longest * (math.pi / 2) + salvo.launch_area.radius_km * 1e3  # chord <= arc * pi/2


def _flight_s(spec: ScenarioFile, salvo: Salvo, tc: ThreatClass) -> float:
    if tc.kind == "route":
        return _route_length_m(spec, salvo) / tc.speed_m_s
    return BALLISTIC_FLIGHT_S


def _samples(spec: ScenarioFile, salvo: Salvo, tc: ThreatClass) -> float:
    if tc.kind == "route":
        return salvo.count * (_flight_s(spec, salvo, tc) / ROUTE_DT_S + 2)
    return salvo.count * (BALLISTIC_SAMPLES + tc.burn_s / 2.0)


def active_window_s(spec: ScenarioFile, catalog: Catalog) -> float:
    """Upper bound of the time threats can be in the air, s (what sensors and C2 work in)."""
    first = min(s.start_s for s in spec.raid)
    last = max(
        s.start_s
        + max(s.count - 1, 0) * s.interval_s
        + s.jitter_s
        + _flight_s(spec, s, catalog.threats[s.threat])
        for s in spec.raid
    )
    return max(0.0, min(spec.duration_s, last) - min(first, spec.duration_s))


def _budget(spec: ScenarioFile, catalog: Catalog, located: Located) -> list[Problem]:
    """Refuse a scenario whose estimated work exceeds what one replication may do."""
    problems: list[Problem] = []
    n = sum(s.count for s in spec.raid)
    if n > MAX_THREATS:
        problems.append(
            located.problem(
                ("raid",), f"the raid has {n:,} threats; one scenario may have {MAX_THREATS:,}"
            )
        )
        return problems
    samples = sum(_samples(spec, s, catalog.threats[s.threat]) for s in spec.raid)
    if samples > MAX_TRUTH_SAMPLES:
        problems.append(
            located.problem(
                ("raid",),
                f"the raid's trajectories need about {samples:,.0f} samples "
                f"(at most {MAX_TRUTH_SAMPLES:,}): fewer threats, or shorter or faster routes",
            )
        )
    active_s = active_window_s(spec, catalog)
    radars = [catalog.sensors[s.type] for s in spec.sensors]
    radars = [r for r in radars if r.kind == "radar"]
    per_s = (
        sum(1.0 / r.scan_s for r in radars)
        + sum(1.0 / c.cycle_s for c in spec.c2_nodes)
        + sum(1.0 / o.share_period_s for o in spec.owners if o.shares_with)
        + len(spec.owners) / SAMPLE_PERIOD_S
    )
    events = active_s * per_s
    if events > MAX_EVENTS:
        problems.append(
            located.problem(
                ("duration_s",),
                f"threats fly for up to {active_s / 3600:,.1f} h, in which the radar scans, "
                f"C2 cycles and track reports come to about {events:,.0f} events (at most "
                f"{MAX_EVENTS:,}): lengthen scan_s, cycle_s or share_period_s",
            )
        )
    false_alarms = active_s * sum(r.false_alarms_per_scan / r.scan_s for r in radars)
    if false_alarms > MAX_FALSE_ALARMS:
        problems.append(
            located.problem(
                ("sensors",),
                f"the radars would make about {false_alarms:,.0f} false alarms while threats "
                f"fly (at most {MAX_FALSE_ALARMS:,}): fewer false_alarms_per_scan",
            )
        )
    return problems


# -- what does nothing ----------------------------------------------------------------------


def _useless(spec: ScenarioFile, catalog: Catalog, located: Located) -> list[Problem]:
    out: list[Problem] = []
    if not spec.sensors:
        out.append(
            located.problem((), "no sensors: no threat will be detected, tracked or engaged")
        )
    if not spec.fire_units:
        out.append(located.problem((), "no fire units: every threat flies unopposed"))
    classes = {s.threat for s in spec.raid}
    ballistic = {c for c in classes if catalog.threats[c].kind == "ballistic"}
    paths = [pts for s in spec.raid for pts in _route_points(spec, s)]
    margin_m = max(s.launch_area.radius_km for s in spec.raid) * 1e3
    for k, sensor in enumerate(spec.sensors):
        sc = catalog.sensors[sensor.type]
        if sc.kind == "spaceborne":
            if not ballistic:
                out.append(
                    located.problem(
                        ("sensors", k, "type"),
                        f"sensor '{sensor.name}' warns of ballistic launches and the raid has "
                        "none: it will report nothing",
                    )
                )
            continue
        site = geodetic2ecef(np.radians(sensor.lat_deg), np.radians(sensor.lon_deg), sensor.alt_m)
        nearest_m = min(_distance_to_path_m(site, pts) for pts in paths) - margin_m
        if nearest_m > sc.max_range_km * 1e3:
            out.append(
                located.problem(
                    ("sensors", k),
                    f"sensor '{sensor.name}' reaches {sc.max_range_km:,.0f} km and every "
                    f"threat's path passes at least {nearest_m / 1e3:,.0f} km away: it will "
                    "see nothing",
                )
            )
    for k, unit in enumerate(spec.fire_units):
        ic = catalog.interceptors[unit.interceptor]
        if not any(ic.pk.get(c, 0.0) > 0 for c in classes):
            out.append(
                located.problem(
                    ("fire_units", k, "interceptor"),
                    f"fire unit '{unit.name}' ({unit.interceptor}) has no kill probability "
                    f"against any threat class of the raid ({', '.join(sorted(classes))}): "
                    "it will never fire",
                )
            )
    return out


def _distance_to_path_m(site: np.ndarray, points: list[np.ndarray], steps: int = 64) -> float:
    """Least distance from ``site`` to a route's legs, sampled along the great circles, m."""
    u = np.linspace(0.0, 1.0, steps)[:, None]
    best = math.inf
    for a, b in itertools.pairwise(points):
        chord = a + u * (b - a)
        radius = np.linalg.norm(a) + u * (np.linalg.norm(b) - np.linalg.norm(a))
        arc = chord / np.maximum(np.linalg.norm(chord, axis=1, keepdims=True), 1.0) * radius
        best = min(best, float(np.linalg.norm(arc - site, axis=1).min()))
    return best
