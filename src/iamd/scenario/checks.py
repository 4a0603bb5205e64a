"""Checks of a validated scenario as a whole: what it would cost to run, and what is useless.

The schema bounds every figure on its own; these checks look at combinations:

* **errors** (the scenario is refused): waypoints on a ballistic threat (which flies no
  route), a salvo whose threats would all fly one and the same trajectory, and a scenario
  that asks for more work than one replication may do (threats, route legs, polygon
  vertices, truth samples, scheduled events, detections, false alarms), estimated from
  the file before anything is flown;
* **errors** too: a kinetic interceptor class whose fly-out cannot reach its documented
  range or ceiling;
* **warnings** (printed with their location; the scenario still runs): a salvo, or some
  of its launches, after the end (a shortened scenario), no sensor or no fire unit at
  all, a sensor that can see no threat, a fire unit that can kill none of the raid's
  threat classes.

Estimates are upper bounds built from the raid's time window and each class's longest
flight; the limits leave a wide margin over the largest bundled scenario (regional-raid
asks for about 0.2 M events, 0.8 M samples and 16 M detections at most). They bound the
number of things the engine handles, not the cost of each: a swarm of hundreds of
threats flying within metres of each other still makes every scan's assignment a dense
one (its cost grows with the cube of the swarm's size).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from iamd.errors import Problem
from iamd.geo import EARTH_MEAN_RADIUS_M
from iamd.scenario.catalog import Catalog, ThreatClass
from iamd.scenario.schema import Salvo, ScenarioFile
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
MAX_DETECTIONS = 100_000_000
"""Detections if every radar saw every threat in flight at every scan (an upper bound)."""
MAX_TOGETHER = 100
"""Threats of one salvo that may leave one point at one instant (a warning below this, an
error above: every scan's assignment of such a swarm is dense, its cost the cube of its
size)."""
MAX_ROUTE_LEGS = 50_000
"""Waypoints, targets and aimpoints of all salvos together."""
MAX_POLYGON_VERTICES = 20_000
"""Vertices of all polygon assets together (every C2 cycle tests impacts against them)."""
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
        if salvo.count > 1 and salvo.launch_area.radius_km == 0 == salvo.interval_s == (
            salvo.jitter_s
        ):
            together = located.problem(
                ("raid", i),
                f"salvo {_label(salvo, i)}: its {salvo.count} threats leave one point at one "
                "instant and fly as one, closer together than sensors can tell apart; give "
                "launch_area.radius_km, interval_s or jitter_s",
            )
            (errors if salvo.count > MAX_TOGETHER else warnings).append(together)
        if salvo.waypoints and tc.kind != "route":
            errors.append(
                located.problem(
                    ("raid", i, "waypoints"),
                    f"'{salvo.threat}' is a {tc.kind} threat and flies no route: waypoints are "
                    "for drones and cruise missiles only",
                )
            )
    errors.extend(_budget(spec, catalog, located))
    if not errors:  # the geometry of a refused scenario is not worth computing
        errors.extend(_kinematics(spec, catalog, located))
        warnings.extend(_useless(spec, catalog, located))
    warnings.extend(_unused_figures(located))
    return Findings(errors, [_as_warning(w) for w in warnings])


def _as_warning(p: Problem) -> Problem:
    return Problem(p.file, p.line, p.col, p.message, warning=True)


def _kinematics(spec: ScenarioFile, catalog: Catalog, located: Located) -> list[Problem]:
    """Each kinetic class in use must fly out to its documented range and ceiling, from the
    altitude of every unit that launches it (the problem is located at the class's figures
    when the scenario gives them, else at the first unit that uses it)."""
    from iamd.c2.kinematics import launch_alt_key_m, reach_problem

    overrides = located.data.get("catalog") if isinstance(located.data, dict) else None
    given = overrides.get("interceptors") if isinstance(overrides, dict) else None
    problems: list[Problem] = []
    seen: set[tuple[str, float]] = set()
    for i, unit in enumerate(spec.fire_units):
        ic = catalog.interceptors[unit.interceptor]
        key = (unit.interceptor, launch_alt_key_m(unit.alt_m))
        if ic.kind != "kinetic" or key in seen:
            continue
        seen.add(key)
        why = reach_problem(ic, unit.alt_m)
        if why is None:
            continue
        in_file = isinstance(given, dict) and unit.interceptor in given
        loc: tuple[str | int, ...] = (
            ("catalog", "interceptors", unit.interceptor)
            if in_file
            else ("fire_units", i, "interceptor")
        )
        problems.append(located.problem(loc, f"interceptor class '{unit.interceptor}': {why}"))
    return problems + _patrols(spec, catalog, located)


def _patrols(spec: ScenarioFile, catalog: Catalog, located: Located) -> list[Problem]:
    """An air patrol's missile must be kinetic, reach its documented envelope from the
    aircraft's cruise altitude and cover the aircraft's launch range; its station must lie
    within the aircraft's endurance of its base (there and back)."""
    from iamd.c2.kinematics import reach_problem
    from iamd.geo import great_circle_distance_m

    problems: list[Problem] = []
    for i, p in enumerate(spec.air_patrols):
        ac, ic = catalog.aircraft[p.aircraft], catalog.interceptors[p.missile]
        where = ("air_patrols", i, "missile")
        if ic.kind != "kinetic":
            problems.append(located.problem(where, f"'{p.missile}' is a laser, not a missile"))
            continue
        why = reach_problem(ic, ac.cruise_alt_km * 1e3)
        if why is not None:
            problems.append(located.problem(where, f"interceptor class '{p.missile}': {why}"))
        if ac.launch_range_km > ic.max_range_km:
            problems.append(
                located.problem(
                    where,
                    f"aircraft class '{p.aircraft}' fires from {ac.launch_range_km:g} km, beyond "
                    f"'{p.missile}''s max_range_km {ic.max_range_km:g}",
                )
            )
        leg_m = float(
            great_circle_distance_m(
                math.radians(p.base.lat_deg),
                math.radians(p.base.lon_deg),
                math.radians(p.station.lat_deg),
                math.radians(p.station.lon_deg),
            )
        )
        there_and_back_h = 2.0 * leg_m / ac.cruise_speed_m_s / 3600.0
        if there_and_back_h >= ac.endurance_h:
            problems.append(
                located.problem(
                    ("air_patrols", i, "station"),
                    f"station is {leg_m / 1e3:,.0f} km from its base: there and back at "
                    f"{ac.cruise_speed_m_s:g} m/s takes {there_and_back_h:.1f} h, beyond "
                    f"'{p.aircraft}''s endurance of {ac.endurance_h:g} h",
                )
            )
    return problems


def _unused_figures(located: Located) -> list[Problem]:
    """Figures a scenario gives that no longer mean anything (an older file)."""
    overrides = located.data.get("catalog") if isinstance(located.data, dict) else None
    given = overrides.get("interceptors") if isinstance(overrides, dict) else None
    out = []
    for name, fields in (given or {}).items() if isinstance(given, dict) else ():
        if isinstance(fields, dict) and fields.get("speed_m_s") is not None:
            out.append(
                located.problem(
                    ("catalog", "interceptors", name, "speed_m_s"),
                    f"interceptor class '{name}': speed_m_s is no longer used; interceptors "
                    "fly with burn_s, burnout_speed_m_s, beta_kg_m2, max_tof_s, max_lateral_g, "
                    "min_speed_m_s, loft and seeker_range_km",
                    key=True,
                )
            )
    return out


def _label(salvo: Salvo, i: int) -> str:
    return f"'{salvo.name}'" if salvo.name else f"raid.{i}"


def _late_launches(salvo: Salvo, duration_s: float) -> int:
    """Launches of ``salvo`` scheduled after ``duration_s`` (before jitter)."""
    if salvo.interval_s <= 0:
        return 0
    fit = math.floor((duration_s - salvo.start_s) / salvo.interval_s) + 1
    return max(0, salvo.count - fit)


# -- geometry of the raid -------------------------------------------------------------------


def _unit(lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    """Unit vectors (..., 3) of geocentric directions (spherical Earth, enough here)."""
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], -1)


@dataclass(frozen=True, slots=True)
class Routes:
    """The routes of one salvo: legs shared by all (launch area, waypoints) and one last
    leg to each target or aimpoint, as unit vectors.

    Attributes
    ----------
    shared : (w + 1, 3) launch area centre, then the waypoints.
    ends : (t, 3) targets (asset reference points) and aimpoints.
    """

    shared: np.ndarray
    ends: np.ndarray

    def legs(self) -> tuple[np.ndarray, np.ndarray]:
        """Every leg's start and end, (L, 3) each."""
        last = np.repeat(self.shared[-1:], len(self.ends), axis=0)
        return (
            np.concatenate([self.shared[:-1], last]),
            np.concatenate([self.shared[1:], self.ends]),
        )

    def longest_m(self) -> float:
        """Length of the longest route along great circles, m."""
        shared = float(np.sum(_angle(self.shared[:-1], self.shared[1:])))
        last = float(np.max(_angle(self.shared[-1:], self.ends)))
        return (shared + last) * EARTH_MEAN_RADIUS_M


def _angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Central angles between unit vectors (broadcast), rad."""
    return np.asarray(np.arctan2(np.linalg.norm(np.cross(a, b), axis=-1), np.sum(a * b, axis=-1)))


def routes(spec: ScenarioFile, salvo: Salvo) -> Routes:
    """The routes of ``salvo`` (waypoints only for route threats)."""
    points = {a.name: _asset_point(a) for a in spec.assets}
    ends = [points[t] for t in salvo.targets] + [(p.lat_deg, p.lon_deg) for p in salvo.aimpoints]
    start = [(salvo.launch_area.lat_deg, salvo.launch_area.lon_deg)]
    shared = start + [(w.lat_deg, w.lon_deg) for w in salvo.waypoints]
    sh, en = np.asarray(shared, dtype=np.float64), np.asarray(ends, dtype=np.float64)
    return Routes(_unit(sh[:, 0], sh[:, 1]), _unit(en[:, 0], en[:, 1]))


def _asset_point(asset: Any) -> tuple[float, float]:
    if asset.point is not None:
        return asset.point.lat_deg, asset.point.lon_deg
    v = np.asarray(asset.polygon, dtype=np.float64)
    return float(v[:, 0].mean()), float(v[:, 1].mean())


def nearest_m(sites: np.ndarray, a: np.ndarray, b: np.ndarray, chunk: int = 200_000) -> np.ndarray:
    """Least great-circle distance from each site to any of the arcs ``a[i] -> b[i]``.

    Parameters
    ----------
    sites : (S, 3) unit vectors of the sites.
    a, b : (L, 3) unit vectors of the arcs' ends (shorter than half a great circle).

    Returns
    -------
    (S,) distance along the ground, m: the cross-track distance when the site's foot on the
    arc's great circle lies between its ends, else the distance to the nearer end.
    """
    best = np.full(sites.shape[0], np.inf)
    n = np.cross(a, b)
    norm = np.linalg.norm(n, axis=1, keepdims=True)
    degenerate = norm[:, 0] <= 1e-12  # an arc of zero length: its ends decide
    n = np.where(degenerate[:, None], 0.0, n / np.maximum(norm, 1e-12))
    # the foot of a site on the arc's circle lies between the ends when it is on the inner
    # side of both ends' planes: s . (a x n) <= 0 and s . (n x b) <= 0
    lead, trail = np.cross(a, n), np.cross(n, b)
    step = max(1, chunk // max(sites.shape[0], 1))
    for k in range(0, a.shape[0], step):  # chunks of arcs, all sites at once
        sl = slice(k, k + step)
        sn = sites @ n[sl].T  # (S, l) sine of the cross-track angle
        within = (sites @ lead[sl].T <= 0) & (sites @ trail[sl].T <= 0) & ~degenerate[sl]
        cross = np.arcsin(np.clip(np.abs(sn), 0.0, 1.0))
        ends = np.minimum(
            np.arccos(np.clip(sites @ a[sl].T, -1.0, 1.0)),
            np.arccos(np.clip(sites @ b[sl].T, -1.0, 1.0)),
        )
        best = np.minimum(best, np.where(within, cross, ends).min(axis=1))
    return np.asarray(best * EARTH_MEAN_RADIUS_M)


# -- cost of a run --------------------------------------------------------------------------


def _flight_s(route: Routes, salvo: Salvo, tc: ThreatClass) -> float:
    """Longest flight of a salvo's threats, s (an upper bound)."""
    if tc.kind == "route":
        return (route.longest_m() + salvo.launch_area.radius_km * 1e3) / tc.speed_m_s
    return ballistic_flight_s(tc)


def ballistic_flight_s(tc: ThreatClass) -> float:
    """Upper bound of a ballistic class's flight at its longest range, s: burn time plus
    twice the vacuum time of flight with its loft (drag slows, it never doubles it)."""
    from iamd.physics.ballistic import min_energy_gamma_rad, vacuum_flight, vacuum_speed_m_s

    phi = np.array([tc.max_range_km * 1e3 / EARTH_MEAN_RADIUS_M])
    r = np.array([EARTH_MEAN_RADIUS_M])
    gamma = min_energy_gamma_rad(phi) + np.radians(tc.loft_deg)
    v = vacuum_speed_m_s(r, r, phi, gamma)
    _, t = vacuum_flight(r, v, gamma)
    return float(tc.burn_s + 2.0 * t[0])


def _samples(route: Routes, salvo: Salvo, tc: ThreatClass) -> float:
    if tc.kind == "route":
        return salvo.count * (_flight_s(route, salvo, tc) / ROUTE_DT_S + 2)
    return salvo.count * (BALLISTIC_SAMPLES + tc.burn_s / 2.0)


def active_window_s(spec: ScenarioFile, catalog: Catalog) -> float:
    """Upper bound of the time threats can be in the air, s (what sensors and C2 work in)."""
    first = min(s.start_s for s in spec.raid)
    last = max(
        s.start_s
        + max(s.count - 1, 0) * s.interval_s
        + s.jitter_s
        + _flight_s(routes(spec, s), s, catalog.threats[s.threat])
        for s in spec.raid
    )
    return max(0.0, min(spec.duration_s, last) - min(first, spec.duration_s))


def _budget(spec: ScenarioFile, catalog: Catalog, located: Located) -> list[Problem]:
    """Refuse a scenario whose estimated work exceeds what one replication may do.

    The cheap counts come first (threats, route legs, polygon vertices), so that the
    geometry the other estimates need is never computed for an absurd file.
    """
    n = sum(s.count for s in spec.raid)
    legs = sum(len(s.waypoints) + len(s.targets) + len(s.aimpoints) for s in spec.raid)
    vertices = sum(len(a.polygon or ()) for a in spec.assets)
    for what, value, limit, loc, advice in (
        ("threats", n, MAX_THREATS, ("raid",), "one scenario may have"),
        (
            "route legs (waypoints, targets and aimpoints)",
            legs,
            MAX_ROUTE_LEGS,
            ("raid",),
            "at most",
        ),
        ("polygon vertices", vertices, MAX_POLYGON_VERTICES, ("assets",), "at most"),
    ):
        if value > limit:
            return [located.problem(loc, f"the scenario has {value:,} {what}; {advice} {limit:,}")]
    problems: list[Problem] = []
    routes_of = [routes(spec, s) for s in spec.raid]
    classes = [catalog.threats[s.threat] for s in spec.raid]
    samples = sum(_samples(r, s, c) for r, s, c in zip(routes_of, spec.raid, classes, strict=True))
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
    scans_per_s = sum(1.0 / r.scan_s for r in radars)
    per_s = (
        scans_per_s
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
    threat_s = sum(
        s.count * min(_flight_s(r, s, c), spec.duration_s)
        for r, s, c in zip(routes_of, spec.raid, classes, strict=True)
    )
    detections = scans_per_s * threat_s
    if detections > MAX_DETECTIONS:
        problems.append(
            located.problem(
                ("sensors",),
                f"every radar seeing every threat in flight would make about {detections:,.0f} "
                f"detections (at most {MAX_DETECTIONS:,}): fewer threats or radars, or longer "
                "scan_s",
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
    radars = [k for k, s in enumerate(spec.sensors) if catalog.sensors[s.type].kind == "radar"]
    if radars:
        legs = np.concatenate([np.hstack(routes(spec, s).legs()) for s in spec.raid])
        legs = np.unique(legs, axis=0)  # salvos often share their legs
        a, b = legs[:, :3], legs[:, 3:]
        sites = _unit(
            np.array([spec.sensors[k].lat_deg for k in radars]),
            np.array([spec.sensors[k].lon_deg for k in radars]),
        )
        margin_m = max(s.launch_area.radius_km for s in spec.raid) * 1e3
        gap_m = nearest_m(sites, a, b) - margin_m
        for k, g in zip(radars, gap_m, strict=True):
            sensor, sc = spec.sensors[k], catalog.sensors[spec.sensors[k].type]
            if g > sc.max_range_km * 1e3:
                out.append(
                    located.problem(
                        ("sensors", k),
                        f"sensor '{sensor.name}' reaches {sc.max_range_km:,.0f} km and every "
                        f"threat's path passes at least {g / 1e3:,.0f} km away: it will see "
                        "nothing",
                    )
                )
    for k, sensor in enumerate(spec.sensors):
        if catalog.sensors[sensor.type].kind == "spaceborne" and not ballistic:
            out.append(
                located.problem(
                    ("sensors", k, "type"),
                    f"sensor '{sensor.name}' warns of ballistic launches and the raid has "
                    "none: it will report nothing",
                )
            )
        if catalog.sensors[sensor.type].kind == "spaceborne" and sensor.terrain_mask:
            out.append(
                located.problem(
                    ("sensors", k, "terrain_mask"),
                    f"sensor '{sensor.name}' is spaceborne: a terrain mask does not apply "
                    "and is ignored",
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
