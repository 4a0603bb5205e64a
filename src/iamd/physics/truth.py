"""Precomputed threat truth: every threat's trajectory, sampled, in one table.

Threat truth does not depend on the defence (a killed threat's trajectory is cut
by the engine), so the whole raid is flown once, vectorised per salvo.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

from iamd.geo import destination, ecef2geodetic, enu_rotation, geodetic2ecef
from iamd.physics.aero import fly_routes
from iamd.physics.ballistic import integrate, solve_burnout_velocity
from iamd.scenario.load import Scenario
from iamd.scenario.schema import Salvo

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

BALLISTIC_STEPS = 400
ROUTE_DT_S = 10.0
CEP_TO_SIGMA = 1.0 / 1.1774
KEY_STRIDE_S = 1.0e7
"""Spacing of threats in the sample look-up key; longer than any raid (7 days)."""


@dataclass(frozen=True, slots=True)
class TruthTable:
    """All threats' sampled trajectories (struct of arrays, CSR layout).

    Threat ``i`` owns samples ``offset[i]:offset[i+1]`` of ``t_s`` and ``state``.

    Attributes
    ----------
    class_names : tuple of str, the catalog threat classes, indexed by ``class_idx``.
    class_idx : (n,) threat class index.
    salvo_idx : (n,) index of the salvo in the scenario's raid.
    ballistic : (n,) bool, ballistic (True) or route (False) flight.
    t_launch_s : (n,) launch time, s.
    t_end_s : (n,) impact or arrival time, s.
    t_fail_s : (n,) in-flight failure time, s (``inf`` when it does not fail).
    launch_m, aim_m, impact_m : (n, 3) ECEF launch point, aimpoint and ground impact point.
    target_asset : (n,) index of the intended asset (-1 for an aimpoint).
    t_s : (m,) sample times, s.
    state : (m, 6) ECEF position (m) and velocity (m/s) at each sample.
    offset : (n + 1,) sample ranges per threat.
    search_key : (m,) sorted ``threat * KEY_STRIDE_S + t_s``, for vectorised look-up.
    """

    class_names: tuple[str, ...]
    class_idx: I64
    salvo_idx: I64
    ballistic: NDArray[np.bool_]
    t_launch_s: F64
    t_end_s: F64
    t_fail_s: F64
    launch_m: F64
    aim_m: F64
    impact_m: F64
    target_asset: I64
    t_s: F64
    state: F64
    offset: I64
    search_key: F64

    @property
    def n(self) -> int:
        return int(self.class_idx.shape[0])

    def state_at(self, idx: I64, t_s: F64) -> F64:
        """Interpolated state of threats ``idx`` (k,) at times ``t_s`` (k,), (k, 6).

        Position by cubic Hermite interpolation between samples (using the sampled
        velocities), velocity linearly. Times are clamped to each trajectory
        (:func:`interpolate_states`).
        """
        idx = np.ascontiguousarray(idx, dtype=np.int64)
        t = np.asarray(t_s, dtype=np.float64)
        t = np.ascontiguousarray(t if t.shape == idx.shape else np.broadcast_to(t, idx.shape))
        out = np.empty((idx.shape[0], 6))
        interpolate_states(self.search_key, self.offset, self.t_s, self.state, idx, t, out)
        return out


@njit(cache=True)
def interpolate_states(
    search_key: F64, offset: I64, sample_t_s: F64, state: F64, idx: I64, t_s: F64, out: F64
) -> None:
    """Cubic Hermite states of threats ``idx`` (k,) at times ``t_s`` (k,) into ``out`` (k, 6).

    The sample before ``t`` is found by bisection on the threat's stretch of
    ``search_key`` (m,); with ``h`` the sample spacing, ``u = (t - t_0) / h`` clamped to
    [0, 1] and ``p, v`` the sampled positions and velocities at both ends, the position is

    .. math:: p(u) = p_0 + u \\left(h v_0 + u \\left(3 \\Delta p - 2 h v_0 - h v_1
              + u (h v_0 + h v_1 - 2 \\Delta p)\\right)\\right)

    and the velocity :math:`v_0 + u (v_1 - v_0)` (the same operations, in the same order,
    as the NumPy version it replaced, kept in the tests).
    """
    for q in range(idx.shape[0]):
        i = idx[q]
        t = t_s[q]
        lo = offset[i]
        hi = offset[i + 1] - 1
        # the same keys, searched within the threat's own samples only (fewer cache misses)
        j = lo + np.searchsorted(search_key[lo : hi + 1], i * KEY_STRIDE_S + t, side="right") - 1
        j = max(min(j, hi - 1), lo)
        j1 = min(j + 1, hi)
        t0 = sample_t_s[j]
        h = sample_t_s[j1] - t0
        u = max(min((t - t0) / (h if h > 0 else 1.0), 1.0), 0.0)
        for c in range(3):
            hv0 = h * state[j, 3 + c]
            hv1 = h * state[j1, 3 + c]
            dp = state[j1, c] - state[j, c]
            out[q, c] = state[j, c] + u * (
                hv0 + u * (3 * dp - 2 * hv0 - hv1 + u * (hv0 + hv1 - 2 * dp))
            )
            out[q, 3 + c] = state[j, 3 + c] + u * (state[j1, 3 + c] - state[j, 3 + c])


def _deg(lat: float, lon: float) -> tuple[float, float]:
    return float(np.radians(lat)), float(np.radians(lon))


def asset_points_ecef(scenario: Scenario) -> F64:
    """Reference point (centre or polygon centroid) of every asset, (a, 3) ECEF on the ground."""
    pts = []
    for asset in scenario.spec.assets:
        if asset.point is not None:
            pts.append((asset.point.lat_deg, asset.point.lon_deg, asset.point.alt_m))
        else:
            verts = np.asarray(asset.polygon, dtype=np.float64)
            pts.append((float(verts[:, 0].mean()), float(verts[:, 1].mean()), 0.0))
    arr = np.asarray(pts)
    return geodetic2ecef(np.radians(arr[:, 0]), np.radians(arr[:, 1]), arr[:, 2])


def fly(scenario: Scenario, rng: np.random.Generator) -> TruthTable:
    """Fly the whole raid once.

    Launch times, launch points (uniform in each launch area), aimpoint dispersion
    (circular normal with the class's CEP) and in-flight failures are drawn from
    ``rng``, salvo by salvo, in file order.
    """
    spec, cat = scenario.spec, scenario.catalog
    class_names = tuple(cat.threats)
    asset_pts = asset_points_ecef(scenario)
    asset_names = [a.name for a in spec.assets]
    parts: list[dict[str, Any]] = []
    for s_idx, salvo in enumerate(spec.raid):
        tc = cat.threats[salvo.threat]
        n = salvo.count
        t_launch = (
            salvo.start_s
            + np.arange(n) * salvo.interval_s
            + rng.uniform(0.0, 1.0, n) * salvo.jitter_s
        )
        lat0, lon0 = _deg(salvo.launch_area.lat_deg, salvo.launch_area.lon_deg)
        dist = salvo.launch_area.radius_km * 1000.0 * np.sqrt(rng.uniform(0.0, 1.0, n))
        lat_l, lon_l = destination(lat0, lon0, rng.uniform(0.0, 2 * np.pi, n), dist)
        launch = geodetic2ecef(lat_l, lon_l, 0.0)
        # targets in turn: named assets first, then aimpoints
        choices: list[tuple[int, F64]] = [
            (asset_names.index(t), asset_pts[asset_names.index(t)]) for t in salvo.targets
        ]
        for point in salvo.aimpoints:
            choices.append((-1, geodetic2ecef(*_deg(point.lat_deg, point.lon_deg), point.alt_m)))
        pick = np.arange(n) % len(choices)
        target_asset = np.array([choices[k][0] for k in pick], dtype=np.int64)
        aim0 = np.stack([choices[k][1] for k in pick])
        lat_a, lon_a, alt_a = ecef2geodetic(aim0)
        rot = enu_rotation(lat_a, lon_a)  # (n, 3, 3)
        sigma = tc.cep_m * CEP_TO_SIGMA
        off_en = rng.normal(0.0, sigma, (n, 2)) if sigma > 0 else np.zeros((n, 2))
        aim = aim0 + off_en[:, 0:1] * rot[:, 0] + off_en[:, 1:2] * rot[:, 1]
        aim = geodetic2ecef(*ecef2geodetic(aim)[:2], np.maximum(alt_a, 0.0))
        u_fail = rng.uniform(0.0, 1.0, n)
        u_when = rng.uniform(0.0, 1.0, n)
        if tc.kind == "ballistic":
            t_rel, states, t_end_rel, impact = _fly_ballistic(
                launch,
                aim,
                tc.burn_s,
                tc.burnout_alt_km * 1000.0,
                tc.beta_kg_m2,
                np.radians(tc.loft_deg),
            )
        else:
            t_rel, states, t_end_rel, impact = _fly_route(
                launch, aim, salvo, tc.speed_m_s, tc.cruise_alt_m, tc.dive_km * 1000.0
            )
        fails = u_fail > tc.reliability
        t_fail = np.where(fails, t_launch + u_when * t_end_rel, np.inf)
        parts.append(
            {
                "class_idx": np.full(n, class_names.index(salvo.threat), dtype=np.int64),
                "salvo_idx": np.full(n, s_idx, dtype=np.int64),
                "ballistic": np.full(n, tc.kind == "ballistic"),
                "t_launch_s": t_launch,
                "t_end_s": t_launch + t_end_rel,
                "t_fail_s": t_fail,
                "launch_m": launch,
                "aim_m": aim,
                "impact_m": impact,
                "target_asset": target_asset,
                "t_rel": t_rel,
                "states": states,
            }
        )
    return _assemble(class_names, parts)


def _fly_ballistic(
    launch: F64, aim: F64, burn_s: float, burnout_alt_m: float, beta: float, loft_rad: float
) -> tuple[list[F64], list[F64], F64, F64]:
    """Boost approximation then drag ballistic flight to each aimpoint.

    The boost rises from the pad to a burnout point ``burnout_alt_m`` up and a tenth of
    the burnout altitude downrange with constant acceleration; the burnout velocity is
    the one that lands on the aimpoint.
    """
    n = launch.shape[0]
    up = launch / np.linalg.norm(launch, axis=1, keepdims=True)
    toward = aim - launch
    horiz = toward - np.sum(toward * up, axis=1, keepdims=True) * up
    horiz /= np.linalg.norm(horiz, axis=1, keepdims=True)
    burnout = launch + up * burnout_alt_m + horiz * (0.1 * burnout_alt_m)
    beta_arr = np.full(n, beta)
    vel_bo, dt = solve_burnout_velocity(
        burnout, aim, beta_arr, np.full(n, loft_rad), steps=BALLISTIC_STEPS
    )
    states, t_imp, impact, steps = integrate(burnout, vel_bo, beta_arr, dt, 4 * BALLISTIC_STEPS)
    t_rel: list[F64] = []
    out: list[F64] = []
    n_boost = max(int(np.ceil(burn_s / 2.0)), 1) if burn_s > 0 else 0
    for i in range(n):  # once per threat at set-up, to lay out ragged samples
        k = int(steps[i])
        flight = states[i, : k + 1]
        t_flight = burn_s + dt[i] * np.arange(k + 1)
        if n_boost:
            tb = np.linspace(0.0, burn_s, n_boost + 1)[:-1]
            frac = (tb / burn_s)[:, None]
            disp = burnout[i] - launch[i]
            boost_pos = launch[i] + frac**2 * disp
            boost_vel = (2.0 * frac / burn_s) * disp
            boost_vel = boost_vel + frac * (vel_bo[i] - 2.0 * disp / burn_s)
            boost = np.concatenate([boost_pos, boost_vel], axis=1)
        else:
            tb = np.zeros(0)
            boost = np.zeros((0, 6))
        t_end = burn_s + t_imp[i]
        last = np.concatenate([impact[i], flight[-1, 3:]])[None, :]
        t_rel.append(np.concatenate([tb, t_flight, [t_end]]))
        out.append(np.concatenate([boost, flight, last]))
    return t_rel, out, burn_s + t_imp, impact


def _fly_route(
    launch: F64, aim: F64, salvo: Salvo, speed: float, alt: float, dive_m: float
) -> tuple[list[F64], list[F64], F64, F64]:
    n = launch.shape[0]
    wps = [geodetic2ecef(*_deg(w.lat_deg, w.lon_deg), 0.0) for w in salvo.waypoints]
    route = np.concatenate(
        [launch[:, None], *(np.broadcast_to(w, (n, 1, 3)) for w in wps), aim[:, None]], axis=1
    )
    pos, vel, t_arr = fly_routes(route, speed, alt, dive_m, ROUTE_DT_S)
    t_rel: list[F64] = []
    out: list[F64] = []
    for i in range(n):  # once per threat at set-up, to lay out ragged samples
        k = int(np.floor(t_arr[i] / ROUTE_DT_S)) + 1
        t = np.concatenate([np.arange(k) * ROUTE_DT_S, [t_arr[i]]])
        st = np.concatenate([pos[i, :k], vel[i, :k]], axis=1)
        st = np.concatenate([st, np.concatenate([aim[i], vel[i, k - 1]])[None, :]])
        t_rel.append(t)
        out.append(st)
    return t_rel, out, t_arr, aim.copy()


def _assemble(class_names: tuple[str, ...], parts: list[dict[str, Any]]) -> TruthTable:
    def cat(key: str) -> np.ndarray:
        return np.concatenate([p[key] for p in parts])

    t_launch = cat("t_launch_s")
    t_rel = [t for p in parts for t in p["t_rel"]]
    states = [s for p in parts for s in p["states"]]
    lengths = np.array([len(t) for t in t_rel], dtype=np.int64)
    offset = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    t_abs = np.concatenate(t_rel) + np.repeat(t_launch, lengths)
    return TruthTable(
        class_names=class_names,
        class_idx=cat("class_idx"),
        salvo_idx=cat("salvo_idx"),
        ballistic=cat("ballistic").astype(bool),
        t_launch_s=t_launch,
        t_end_s=cat("t_end_s"),
        t_fail_s=cat("t_fail_s"),
        launch_m=cat("launch_m"),
        aim_m=cat("aim_m"),
        impact_m=cat("impact_m"),
        target_asset=cat("target_asset"),
        t_s=t_abs,
        state=np.concatenate(states),
        offset=offset,
        search_key=np.repeat(np.arange(len(lengths)), lengths) * KEY_STRIDE_S + t_abs,
    )
