"""Classification from the track: which threat class a track's kinematics say it is.

Each threat class of the raid has a kinematic signature computed from its catalog figures
alone (a threat library, not the raid's trajectories):

* a route threat (drone, cruise missile) flies at its cruise speed (within 30 %) at or
  below about twice its cruise altitude, level (a climb or dive rate under 35 % of its
  speed, plus 15 m/s) except in its terminal dive;
* a ballistic threat (rocket, SRBM, MRBM) coasts with a specific energy (kinetic plus
  potential, above the ground) between half its burnout energy at its least range (drag
  takes some) and 102 % of it at its longest (vacuum minimum-energy trajectories with its
  loft), below 120 % of its highest apogee; while it climbs steeply under its burnout
  altitude (the boost) any lower energy fits too.

A track's state scores each class by how far its speed (energy) and altitude lie outside
the class's bands, in units of the track's own uncertainty plus a margin, less the log of
the bands' widths: a uniform density over each band, so that of two classes whose bands
both hold a track the one with the narrower bands is the likelier (a log-likelihood).
Scores accumulate over the track's updates with a decay (``DECAY``), so the estimate
settles as the track grows and follows a change of regime (a boost ending); a track a
launch warning has fed can only be ballistic. The estimate is the best-scoring class
(ties to the most damaging: the defence assumes the worse), its confidence the class's
share of the softmax of the scores.

``tracking.confusion`` adds what kinematics cannot see: ``{A: {B: p}}`` takes a track
classified A for B with probability p (one draw per owner and track, kept while the
track lives), e.g. a drone for a slow cruise missile, an SRBM for a heavy rocket.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from iamd.geo import EARTH_MEAN_RADIUS_M, GM_EARTH_M3_S2
from iamd.physics.ballistic import altitude_m, min_energy_gamma_rad, vacuum_speed_m_s
from iamd.scenario.catalog import ThreatClass

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
BOOL = NDArray[np.bool_]

G_M_S2 = 9.80665
DECAY = 0.9
"""Weight of a track's past scores at each new update (the rest is the new one's)."""
ROUTE_SPEED_BAND = 0.3
"""A route threat flies within this share of its cruise speed."""
LEVEL_CLIMB = 0.35
"""A route threat's climb or dive rate stays under this share of its speed (outside its
terminal dive), plus ``LEVEL_CLIMB_M_S``."""
LEVEL_CLIMB_M_S = 15.0
BOOST_CLIMB = 0.4
"""A ballistic threat under its burnout altitude climbing faster than this share of its
speed may be slower than its band (its boost)."""
NOT_BALLISTIC = -50.0
"""Score of a route class for a track a launch warning fed."""


@dataclass(frozen=True, slots=True)
class Signatures:
    """The kinematic bands of c threat classes, arrays (c,).

    Attributes
    ----------
    ballistic : the class flies a ballistic path.
    v_lo_m_s, v_hi_m_s : speed band of a route class, m/s.
    e_lo_j_kg, e_hi_j_kg : specific energy band of a ballistic class, J/kg.
    h_hi_m : highest altitude, m.
    boost_alt_m : a ballistic class below this while climbing may be slower (its boost).
    damage : one hit's share of an asset (ties go to the most damaging).
    """

    ballistic: BOOL
    v_lo_m_s: F64
    v_hi_m_s: F64
    e_lo_j_kg: F64
    e_hi_j_kg: F64
    h_hi_m: F64
    boost_alt_m: F64
    damage: F64

    @staticmethod
    def of(classes: list[ThreatClass]) -> Signatures:
        """The signatures of ``classes`` from their catalog figures."""
        ballistic = np.array([c.kind == "ballistic" for c in classes], dtype=bool)
        v_lo, v_hi, e_lo, e_hi, h_hi, boost = [], [], [], [], [], []
        for c in classes:
            if c.kind == "route":
                v_lo.append((1.0 - ROUTE_SPEED_BAND) * c.speed_m_s)
                v_hi.append((1.0 + ROUTE_SPEED_BAND) * c.speed_m_s)
                h_hi.append(max(2.0 * c.cruise_alt_m, c.cruise_alt_m + 1500.0))
                e_lo.append(0.0)
                e_hi.append(0.0)
                boost.append(0.0)
                continue
            v_lo.append(0.0)
            v_hi.append(0.0)
            e_lo.append(0.5 * burnout_energy_j_kg(c, c.min_range_km))
            e_hi.append(1.02 * burnout_energy_j_kg(c, c.max_range_km))
            h_hi.append(1.2 * apogee_m(c, c.max_range_km) + 1000.0)
            boost.append(1.2 * c.burnout_alt_km * 1e3 + 500.0)
        return Signatures(
            ballistic=ballistic,
            v_lo_m_s=np.array(v_lo),
            v_hi_m_s=np.array(v_hi),
            e_lo_j_kg=np.array(e_lo),
            e_hi_j_kg=np.array(e_hi),
            h_hi_m=np.array(h_hi),
            boost_alt_m=np.array(boost),
            damage=np.array([c.damage for c in classes]),
        )


def _gamma_and_speed(c: ThreatClass, range_km: float) -> tuple[float, float]:
    phi = np.array([max(range_km, 1.0) * 1e3 / EARTH_MEAN_RADIUS_M])
    r = np.array([EARTH_MEAN_RADIUS_M + c.burnout_alt_km * 1e3])
    gamma = min_energy_gamma_rad(phi) + np.radians(c.loft_deg)
    return float(gamma[0]), float(vacuum_speed_m_s(r, r, phi, gamma)[0])


def burnout_speed_m_s(c: ThreatClass, range_km: float) -> float:
    """A ballistic class's burnout speed for ``range_km`` (vacuum, minimum energy plus its
    loft), m/s."""
    return _gamma_and_speed(c, range_km)[1]


def energy_j_kg(pos_m: F64, speed_m_s: F64) -> F64:
    """Specific energy (k,), J/kg, of objects at ``pos_m`` (k, 3) ECEF moving at
    ``speed_m_s`` (k,): kinetic plus potential above the mean Earth's surface (constant
    along a coast in vacuum)."""
    r = np.linalg.norm(pos_m, axis=-1)
    return np.asarray(0.5 * speed_m_s**2 + GM_EARTH_M3_S2 * (1.0 / EARTH_MEAN_RADIUS_M - 1.0 / r))


def burnout_energy_j_kg(c: ThreatClass, range_km: float) -> float:
    """A ballistic class's specific energy at burnout for ``range_km``, J/kg."""
    r = EARTH_MEAN_RADIUS_M + c.burnout_alt_km * 1e3
    v = burnout_speed_m_s(c, range_km)
    return float(0.5 * v * v + GM_EARTH_M3_S2 * (1.0 / EARTH_MEAN_RADIUS_M - 1.0 / r))


def apogee_m(c: ThreatClass, range_km: float) -> float:
    """A ballistic class's apogee altitude for ``range_km`` (flat-Earth vacuum arc from its
    burnout), m."""
    gamma, v = _gamma_and_speed(c, range_km)
    return float(c.burnout_alt_km * 1e3 + (v * np.sin(gamma)) ** 2 / (2.0 * G_M_S2))


def _outside(x: F64, lo: F64 | float, hi: F64, scale: F64) -> F64:
    """How far ``x`` (k, 1) lies outside ``[lo, hi]`` (c,), in units of ``scale`` (k, c)."""
    return np.maximum(np.maximum(lo - x, x - hi), 0.0) / scale


def scores(sig: Signatures, x: F64, p: F64, warned: BOOL) -> F64:
    """Log-likelihood-like scores (k, c) of k tracks' states ``x`` (k, 6) ECEF with
    covariances ``p`` (k, 6, 6) for each class; ``warned`` (k,): a launch warning fed the
    track."""
    pos, vel = x[:, :3], x[:, 3:]
    speed = np.linalg.norm(vel, axis=1)[:, None]
    alt = altitude_m(pos)[:, None]
    up = pos / np.linalg.norm(pos, axis=1, keepdims=True)
    climb = np.einsum("ij,ij->i", vel, up)[:, None]
    # the track's uncertainty along the directions that matter: its speed along its
    # velocity, its climb rate and its altitude along the vertical
    along = vel / np.maximum(speed, 1e-9)
    sd_v = np.sqrt(np.einsum("ki,kij,kj->k", along, p[:, 3:, 3:], along))[:, None]
    sd_c = np.sqrt(np.einsum("ki,kij,kj->k", up, p[:, 3:, 3:], up))[:, None]
    sd_h = np.sqrt(np.einsum("ki,kij,kj->k", up, p[:, :3, :3], up))[:, None]
    boosting = sig.ballistic & (climb > BOOST_CLIMB * speed) & (alt < sig.boost_alt_m)
    # route classes: speed; ballistic classes: energy (any lower in the boost)
    dv = _outside(speed, sig.v_lo_m_s, sig.v_hi_m_s, sd_v + 0.05 * speed + 10.0)
    energy = energy_j_kg(pos, speed[:, 0])[:, None]
    sd_e = speed * sd_v + G_M_S2 * sd_h + 0.02 * energy + 1e3
    e_lo = np.where(boosting, 0.0, sig.e_lo_j_kg)
    de = _outside(energy, e_lo, sig.e_hi_j_kg, sd_e)
    dk = np.where(sig.ballistic, de, dv)
    dh = _outside(alt, -np.inf, sig.h_hi_m, sd_h + 0.05 * sig.h_hi_m + 200.0)
    level = LEVEL_CLIMB * speed + LEVEL_CLIMB_M_S
    diving = climb < 0.0
    dc = np.where(
        ~sig.ballistic & ~diving,
        np.maximum(np.abs(climb) - level, 0.0) / (sd_c + 0.05 * speed + 10.0),
        0.0,
    )
    # uniform densities over the bands: a narrow band that holds the track beats a wide one
    band = np.where(sig.ballistic, sig.e_hi_j_kg - e_lo, speed * (sig.v_hi_m_s - sig.v_lo_m_s))
    width = np.log(np.maximum(band, 1.0)) + np.log(sig.h_hi_m)
    climb_width = np.log(np.where(sig.ballistic, 2.0 * speed + 1.0, 2.0 * level))
    ll = -0.5 * (dk**2 + dh**2 + dc**2) - width - climb_width
    return np.asarray(np.where(warned[:, None] & ~sig.ballistic, NOT_BALLISTIC, ll))


def settle(past: F64, new: F64, fresh: BOOL) -> F64:
    """Accumulated scores (k, c): ``new`` for ``fresh`` tracks, else the decayed past plus
    the new."""
    return np.where(fresh[:, None], new, DECAY * past + new)


def estimate(sig: Signatures, total: F64) -> tuple[I64, F64]:
    """Each track's class (k,) from its accumulated scores (k, c), ties to the most
    damaging class, and its confidence (k,): the class's softmax share."""
    tie = total + 1e-9 * sig.damage[None, :] / max(float(sig.damage.max()), 1e-12)
    best = np.argmax(tie, axis=1)
    w = np.exp(total - total.max(axis=1, keepdims=True))
    conf = w[np.arange(best.size), best] / w.sum(axis=1)
    return best.astype(np.int64), conf


def confusion_table(names: tuple[str, ...], confusion: dict[str, dict[str, float]]) -> F64:
    """(c, c) cumulative rows of ``confusion`` over ``names``: row A's entry B is the
    chance that a track classified A is taken for a class up to B; classes not in the raid
    are left out."""
    c = len(names)
    table = np.zeros((c, c))
    for a, row in confusion.items():
        if a not in names:
            continue
        for b, p in row.items():
            if b in names and b != a:
                table[names.index(a), names.index(b)] = p
    return np.cumsum(table, axis=1)


def confuse(cls: I64, draw: F64, cumulative: F64) -> I64:
    """The classes (k,) after the confusion: a track classified A whose ``draw`` (k,) in
    [0, 1) falls under row A's cumulative chance (:func:`confusion_table`) is taken for
    the first class whose cumulative chance exceeds it."""
    rows = cumulative[cls]
    taken = draw[:, None] < rows
    hit = taken.any(axis=1)
    return np.where(hit, np.argmax(taken, axis=1), cls).astype(np.int64)
