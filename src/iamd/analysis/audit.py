"""Audit a run's kills against physics, the way a sceptical analyst would.

Every ``intercept`` event of a run directory is checked, from the run's own files alone
(``events.parquet``, ``truth.parquet``, ``interceptors.parquet`` and the catalog figures
in ``scenario.yaml``), against what the firing unit could have done:

* **envelope**: the threat, where it was killed, lies inside the unit's documented slant
  range and altitude bands, measured from where its interceptor left (the unit's site, or
  an aircraft's launch point: the launch event's position);
* **end game** (kinetic): the kill ended an end game (``detail`` ``end_game``), the miss
  distance is within the class's divert, and the interceptor's recorded position is
  within the divert of the threat's recorded position (the truth sample interpolated to
  the kill time);
* **fly-out** (kinetic): the time of flight is within the class's ``max_tof_s``, the
  interceptor was still faster than its least speed, and the class could fly from the
  unit to the kill point at all (a direct flight of the guided point mass to it, allowed
  ``REACH_SLACK`` more time and less speed for the other path its guidance took);
* **laser**: the threat within the laser's range band.

A violation is listed with its event; ``share_outside`` is the share of kills with any.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from iamd.export.rundir import RunData, load_run
from iamd.geo import ecef2geodetic, geodetic2ecef
from iamd.physics.flyout import KIN_MAX_TOF_S, KIN_MIN_SPEED_M_S

F64 = NDArray[np.float64]

EXTRAPOLATE_S = 60.0
"""Runs written before truth ended at the kill instant: their last sample is up to a
sample spacing (30 s for routes) before it, and the position is extrapolated."""
REACH_SLACK = 0.1
"""A direct flight to the kill point may take 10 % more than ``max_tof_s`` and arrive 10 %
below ``min_speed_m_s``: the guided flight took another path to it."""
POSITION_TOLERANCE_M = 50.0
"""Slack for positions read back from the tables (truth samples are interpolated
linearly in latitude, longitude and altitude between samples seconds apart)."""


@dataclass(frozen=True, slots=True)
class Violation:
    """One kill that no interceptor of its unit could have made, and why."""

    t_s: float
    threat: int
    unit: str
    interceptor: str
    engagement: int
    why: str
    checks: tuple[str, ...] = ()
    """Which checks it fails: ``envelope``, ``end_game``, ``flyout``."""


@dataclass(slots=True)
class AuditReport:
    """Kills audited per interceptor class, and the violations found."""

    kills: dict[str, int] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    checked_flights: bool = False

    @property
    def n_kills(self) -> int:
        return sum(self.kills.values())

    @property
    def share_outside(self) -> float:
        """Share of kills with at least one violation (0 without kills)."""
        bad = len({(v.engagement, v.threat) for v in self.violations})
        return bad / self.n_kills if self.n_kills else 0.0

    def share_failing(self, check: str) -> float:
        """Share of kills that fail ``check`` (``envelope``, ``end_game`` or ``flyout``)."""
        bad = {(v.engagement, v.threat) for v in self.violations if check in v.checks}
        return len(bad) / self.n_kills if self.n_kills else 0.0

    def by_class(self) -> dict[str, tuple[int, int]]:
        """``{class: (kills, kills with a violation)}``."""
        bad: dict[str, set[int]] = {}
        for v in self.violations:
            bad.setdefault(v.interceptor, set()).add(v.engagement)
        return {c: (n, len(bad.get(c, ()))) for c, n in sorted(self.kills.items())}


def _col(table: pa.Table, name: str) -> NDArray[Any]:
    column = table.column(name)
    if pa.types.is_dictionary(column.type):
        column = column.cast(pa.string())
    return np.asarray(column.to_numpy(zero_copy_only=False))


def _ecef(lat_deg: F64, lon_deg: F64, alt_m: F64) -> F64:
    return geodetic2ecef(np.radians(lat_deg), np.radians(lon_deg), alt_m)


def _truth_at(run: RunData, threat: int, t_s: float) -> F64 | None:
    """The threat's recorded position at ``t_s`` (ECEF, m), interpolated between truth
    samples; None when it has no samples around that time."""
    tr = run.truth
    rows = np.flatnonzero(_col(tr, "threat") == threat)
    if rows.size == 0:
        return None
    t = _col(tr, "t_s")[rows].astype(np.float64)
    if t_s < t[0] - 1e-6 or t_s > t[-1] + EXTRAPOLATE_S:
        return None
    pos = _ecef(
        _col(tr, "lat_deg")[rows].astype(np.float64),
        _col(tr, "lon_deg")[rows].astype(np.float64),
        _col(tr, "alt_m")[rows].astype(np.float64),
    )
    j = int(np.clip(np.searchsorted(t, t_s) - 1, 0, max(t.size - 2, 0)))
    if t.size == 1:
        return np.asarray(pos[0])
    # beyond the last sample (older runs end their truth at the sample before a kill):
    # straight on from the last two samples
    f = 0.0 if t[j + 1] == t[j] else float(max((t_s - t[j]) / (t[j + 1] - t[j]), 0.0))
    return np.asarray(pos[j] + f * (pos[j + 1] - pos[j]))


def audit(run: RunData) -> AuditReport:
    """Check every kill of a run directory (read with :func:`iamd.export.rundir.load_run`)."""
    from iamd.c2.kinematics import kin_row
    from iamd.export.rundir import read_run_scenario
    from iamd.physics.flyout_table import fly_to_point, ground_range_alt

    report = AuditReport(checked_flights=run.interceptors is not None)
    ev = run.events
    kind = _col(ev, "kind")
    kills = np.flatnonzero(kind == "intercept")
    launches = np.flatnonzero(kind == "launch_interceptor")
    launch_t = dict(
        zip(
            _col(ev, "engagement")[launches].tolist(),
            _col(ev, "t_s")[launches].tolist(),
            strict=True,
        )
    )
    # where each engagement's interceptor left from: the unit's site, or an aircraft's
    # launch point (its launch event's position)
    launch_at = dict(
        zip(
            _col(ev, "engagement")[launches].tolist(),
            _ecef(
                _col(ev, "lat_deg")[launches].astype(np.float64),
                _col(ev, "lon_deg")[launches].astype(np.float64),
                _col(ev, "alt_m")[launches].astype(np.float64),
            ),
            strict=True,
        )
    )
    classes = read_run_scenario(run.path / "scenario.yaml")[0].catalog.interceptors
    detail = _col(ev, "detail") if "detail" in ev.column_names else None
    end_speed = _end_speeds(run.interceptors)
    cols = {c: _col(ev, c) for c in ("t_s", "threat", "unit", "interceptor", "engagement")}
    cols.update({c: _col(ev, c).astype(np.float64) for c in ("value", "lat_deg", "lon_deg")})
    cols["alt_m"] = _col(ev, "alt_m").astype(np.float64)
    for row in kills.tolist():
        t_s = float(cols["t_s"][row])
        threat, e = int(cols["threat"][row]), int(cols["engagement"][row])
        unit_name, cls_name = str(cols["unit"][row]), str(cols["interceptor"][row])
        report.kills[cls_name] = report.kills.get(cls_name, 0) + 1
        why: list[tuple[str, str]] = []
        site, ic = launch_at.get(e), classes.get(cls_name)
        if site is None or ic is None or not np.isfinite(site).all():
            text = "no launch of this engagement, or its class is not in scenario.yaml"
            report.violations.append(
                Violation(t_s, threat, unit_name, cls_name, e, text, ("envelope",))
            )
            continue
        target = _truth_at(run, threat, t_s)
        if target is None:
            why.append(("envelope", "the threat has no recorded position at the kill time"))
        else:
            slant = float(np.linalg.norm(target - site))
            alt = float(ecef2geodetic(target[None])[2][0])
            tol = POSITION_TOLERANCE_M
            if not ic.min_range_km * 1e3 - tol <= slant <= ic.max_range_km * 1e3 + tol:
                text = (
                    f"threat {slant / 1e3:,.1f} km from the unit, outside its "
                    f"{ic.min_range_km:g}-{ic.max_range_km:g} km range band"
                )
                why.append(("envelope", text))
            if not ic.min_alt_km * 1e3 - tol <= alt <= ic.max_alt_km * 1e3 + tol:
                text = (
                    f"threat at {alt / 1e3:,.2f} km altitude, outside its "
                    f"{ic.min_alt_km:g}-{ic.max_alt_km:g} km band"
                )
                why.append(("envelope", text))
        if ic.kind == "kinetic":
            why += _kinetic(
                ic,
                kin_row(ic),
                site,
                target,
                _ecef(cols["lat_deg"][row], cols["lon_deg"][row], cols["alt_m"][row]),
                float(cols["value"][row]),
                t_s - launch_t.get(e, math.nan),
                None if detail is None else str(detail[row]),
                end_speed.get(e),
                fly_to_point,
                ground_range_alt,
            )
        if why:
            text = "; ".join(w for _, w in why)
            checks = tuple(dict.fromkeys(c for c, _ in why))
            report.violations.append(Violation(t_s, threat, unit_name, cls_name, e, text, checks))
    return report


def _kinetic(
    ic: Any,
    kin: tuple[float, ...],
    site: F64,
    target: F64 | None,
    interceptor: F64,
    miss_m: float,
    tof_s: float,
    detail: str | None,
    speed_m_s: float | None,
    fly_to_point: Any,
    ground_range_alt: Any,
) -> list[tuple[str, str]]:
    why = []
    if detail is not None and detail != "end_game":
        why.append(("end_game", f"the kill did not end an end game ({detail or 'no detail'})"))
    if not (miss_m <= ic.divert_m):
        why.append(
            ("end_game", f"miss distance {miss_m:,.0f} m beyond the {ic.divert_m:g} m divert")
        )
    if target is not None and np.isfinite(interceptor).all():
        gap = float(np.linalg.norm(interceptor - target))
        if gap > ic.divert_m + POSITION_TOLERANCE_M:
            why.append(("end_game", f"interceptor {gap:,.0f} m from the threat, beyond its divert"))
    if not (tof_s <= ic.max_tof_s + 1e-6):
        why.append(("flyout", f"time of flight {tof_s:,.1f} s beyond max_tof_s {ic.max_tof_s:g}"))
    if speed_m_s is not None and speed_m_s < ic.min_speed_m_s:
        text = f"arrived at {speed_m_s:,.0f} m/s, below min_speed_m_s {ic.min_speed_m_s:g}"
        why.append(("flyout", text))
    if np.isfinite(interceptor).all():
        ground, alt = ground_range_alt(site, interceptor)
        launch_alt = float(ecef2geodetic(site[None])[2][0])
        relaxed = np.asarray(kin)
        relaxed[KIN_MAX_TOF_S] *= 1.0 + REACH_SLACK
        relaxed[KIN_MIN_SPEED_M_S] *= 1.0 - REACH_SLACK
        t_direct, miss, _, _ = fly_to_point(relaxed, launch_alt, 0.0, ground, alt)
        if not (miss <= ic.divert_m and np.isfinite(t_direct)):
            why.append(("flyout", "the class cannot fly from the unit to the kill point"))
    return why


def _end_speeds(flown: pa.Table | None) -> dict[int, float]:
    """Each engagement's last recorded interceptor speed (its end), m/s."""
    if flown is None or flown.num_rows == 0:
        return {}
    e = _col(flown, "engagement").astype(np.int64)
    speed = _col(flown, "speed_m_s").astype(np.float64)
    last = np.flatnonzero(np.append(e[1:] != e[:-1], True))  # sorted by engagement, time
    return dict(zip(e[last].tolist(), speed[last].tolist(), strict=True))


def audit_dir(path: Path | str) -> AuditReport:
    """:func:`audit` of the run directory at ``path``."""
    return audit(load_run(path))
