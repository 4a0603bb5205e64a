"""The NumPy doctrine code that :mod:`iamd.c2.doctrine`'s kernels replaced, kept as their
oracles: the self-defence test (vectorised over units, threats and segments at once) and
the cycle's screening of who may engage what (:func:`screen_numpy`, as the battle manager
computed it with :func:`yield_and_last_chance` and :func:`track_quality_factor`)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
BOOL = NDArray[np.bool_]


def self_threats_numpy(unit_m: F64, path_m: F64, ballistic: BOOL, radius_m: float = 2000.0) -> BOOL:
    """As :func:`iamd.c2.doctrine.self_threats`: (u, k) bool."""
    n_u, k = unit_m.shape[0], path_m.shape[0]
    if n_u == 0 or k == 0:
        return np.zeros((n_u, k), dtype=bool)
    up = unit_m / np.linalg.norm(unit_m, axis=1, keepdims=True)  # (u, 3)
    a = path_m[None, :, :-1, :] - unit_m[:, None, None, :]  # (u, k, s-1, 3) segment starts
    d = (path_m[:, 1:, :] - path_m[:, :-1, :])[None]  # (1, k, s-1, 3) segment directions

    def horizontal(v: F64) -> F64:
        return np.asarray(v - np.einsum("uksi,ui->uks", v, up)[..., None] * up[:, None, None, :])

    ah, dh = horizontal(a), horizontal(np.broadcast_to(d, a.shape))
    dd = np.einsum("uksi,uksi->uks", dh, dh)
    f = np.clip(-np.einsum("uksi,uksi->uks", ah, dh) / np.where(dd > 0, dd, 1.0), 0.0, 1.0)
    nearest = np.sqrt(np.einsum("uksi,uksi->uks", ah + f[..., None] * dh, ah + f[..., None] * dh))
    route = nearest.min(axis=2) <= radius_m
    end = horizontal(path_m[None, :, -1:, :] - unit_m[:, None, None, :])[:, :, 0]
    impact = np.linalg.norm(end, axis=2) <= radius_m
    return np.asarray(np.where(ballistic[None, :], impact, route))


def yield_and_last_chance(
    pk: F64,
    could_later: BOOL,
    yield_below_pk: F64,
    last_ditch: BOOL,
    elsewhere_pk: F64,
) -> tuple[BOOL, BOOL]:
    """Where a unit holds its fire for a better layer, and where it is the last chance.

    A unit yields a threat when its kill probability is below its class's
    ``yield_below_pk`` and another unit (of this node, or ``elsewhere_pk`` of the other
    nodes) could still engage it with a better one. A threat that no other unit could
    engage any more is the unit's last chance; a ``last_ditch`` unit then fires even
    below the doctrine's ``min_pk`` and its ``yield_below_pk``.

    Parameters
    ----------
    pk : (u, k) each unit's kill probability on each threat.
    could_later : (u, k) the unit could engage the threat, now or later on its path.
    yield_below_pk, last_ditch : (u,) the units' class doctrine.
    elsewhere_pk : (k,) the best kill probability other nodes' units could still get.

    Returns
    -------
    hold, last : (u, k) bool.
    """
    p = np.where(could_later, pk, 0.0)
    n_u = p.shape[0]
    if n_u == 0:
        empty = np.zeros(p.shape, dtype=bool)
        return empty, empty
    order = np.sort(p, axis=0)
    best = order[-1]
    second = order[-2] if n_u > 1 else np.zeros_like(best)
    other = np.where(p >= best[None, :], second[None, :], best[None, :])  # best of the others
    other = np.maximum(other, elsewhere_pk[None, :])
    hold = (pk < yield_below_pk[:, None]) & (other > pk)
    last = last_ditch[:, None] & (other <= 0.0)
    return np.asarray(hold), np.asarray(last)


def track_quality_factor(cov: F64, divert_m: F64) -> F64:
    """Chance (u, k) that the guidance error falls inside each kill vehicle's divert basket.

    With the track's position error isotropic Gaussian of per-axis sigma ``s`` (from the
    covariance trace), the chance that its component across the line of sight (two
    axes) is within the divert ``d`` is ``1 - exp(-d^2 / (2 s^2))`` (Rayleigh). Lasers
    follow their target (``divert_m`` inf): 1.

    Parameters
    ----------
    cov : (k, 6, 6) track covariances; divert_m : (u,) divert basket of each unit, m.
    """
    var = np.trace(cov[:, :3, :3], axis1=1, axis2=2) / 3.0
    with np.errstate(divide="ignore", over="ignore"):
        ratio = divert_m[:, None] ** 2 / (2.0 * np.maximum(var, 1e-6)[None, :])
    return np.asarray(-np.expm1(-ratio))


def screen_numpy(
    pk_class: F64,
    class_idx: NDArray[np.int64],
    cov: F64,
    divert_m: F64,
    engage_all: BOOL,
    threatening: BOOL,
    at_me: BOOL,
    later: BOOL,
    feasible_now: BOOL,
    loaded: BOOL,
    ammo: BOOL,
    capacity: NDArray[np.int64],
    min_pk: float,
    yield_below_pk: F64,
    last_ditch: BOOL,
    elsewhere_pk: F64,
) -> tuple[F64, BOOL, BOOL, BOOL, F64]:
    """As :func:`iamd.c2.doctrine.screen`: pk, usable, later_ok, feasible, could_pk."""
    pk = pk_class[:, class_idx] * track_quality_factor(cov, divert_m)
    wanted = engage_all[:, None] | threatening[None, :] | at_me
    strong = pk >= max(min_pk, 1e-9)
    could_later = later & wanted & strong & loaded[:, None]
    could_pk = np.where(could_later, pk, 0.0).max(axis=0)
    hold, last = yield_and_last_chance(pk, could_later, yield_below_pk, last_ditch, elsewhere_pk)
    usable = wanted & ((strong & ~hold) | (last & (pk > 0.0)))
    feasible = feasible_now & usable & (capacity > 0)[:, None]
    later_ok = later & usable & ammo[:, None]
    return pk, usable, later_ok, feasible, could_pk


def capacity_numpy(
    unit: NDArray[np.int64],
    kinetic: BOOL,
    salvo: NDArray[np.int64],
    channels: NDArray[np.int64],
    per_cycle: NDArray[np.int64],
    rounds: NDArray[np.int64],
    busy: NDArray[np.int64],
    next_launch_s: F64,
    reserve: int,
    t_s: float,
) -> NDArray[np.int64]:
    """The NumPy capacity that :func:`iamd.sim.battle.capacity_kernel` replaced (aircraft
    not checked): free channels, rounds beyond the reserve in salvos, launches per cycle."""
    salvos = np.where(kinetic, (rounds[unit] - reserve) // salvo, 10**6)
    cap = np.minimum(np.minimum(channels - busy[unit], salvos), per_cycle)
    cap = np.where(t_s >= next_launch_s[unit], cap, 0)
    return np.maximum(cap, 0).astype(np.int64)
