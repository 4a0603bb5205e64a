"""Interceptor flight: the compiled kernel against an independent integration, the fly-out
tables against direct flights, and the predicted intercept point against the closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from iamd.c2.envelope import UnitEnvelopes, opportunities
from iamd.c2.kinematics import class_table, kin_row, reach_problem
from iamd.geo import GM_EARTH_M3_S2, WGS84_A_M, WGS84_B_M
from iamd.physics import flyout
from iamd.physics.flyout_table import (
    N_ALT,
    N_GROUND,
    fly_to_point,
    kinematics_row,
    table_point,
)
from iamd.scenario.catalog import Catalog, bundled_catalog_data

CATALOG = Catalog.model_validate(bundled_catalog_data())
KINETIC = [n for n, c in CATALOG.interceptors.items() if c.kind == "kinetic"]


# -- an oracle of the guided point mass, written from the equations of flyout's docstring


def _alt(p: np.ndarray) -> float:
    r2 = float(p @ p)
    s2 = p[2] ** 2 / r2
    return math.sqrt(r2) - WGS84_A_M * WGS84_B_M / math.sqrt(
        WGS84_B_M**2 * (1 - s2) + WGS84_A_M**2 * s2
    )


def _gravity(p: np.ndarray) -> np.ndarray:
    return -GM_EARTH_M3_S2 * p / np.linalg.norm(p) ** 3


def _drag(p: np.ndarray, v: np.ndarray, beta: float) -> np.ndarray:
    rho = 1.225 * math.exp(-max(_alt(p), 0.0) / 7200.0)
    return -rho * np.linalg.norm(v) * v / (2.0 * beta)


def oracle_rhs(t: float, y: np.ndarray, kin: np.ndarray, aim: np.ndarray) -> np.ndarray:
    """d/dt of (position, velocity) flying at the fixed point ``aim``."""
    p, v = y[:3], y[3:]
    g = _gravity(p)
    a = g + _drag(p, v, kin[flyout.KIN_BETA])
    u = v / np.linalg.norm(v)
    if t < kin[flyout.KIN_BURN_S]:
        a = a + kin[flyout.KIN_THRUST_M_S2] * u
    up = aim / np.linalg.norm(aim)
    r = aim - p
    horizontal = r - (r @ up) * up
    r = r + kin[flyout.KIN_LOFT] * np.linalg.norm(horizontal) * up
    w = -v
    closing = -(r @ w) / np.linalg.norm(r)
    t_go = np.linalg.norm(r) / max(closing, 0.5 * np.linalg.norm(v), 10.0)
    zem = r + w * t_go - 0.5 * g * t_go**2
    cmd = flyout.NAV_GAIN * zem / t_go**2
    cmd = cmd - (cmd @ u) * u
    lim = kin[flyout.KIN_LAT_M_S2]
    if np.linalg.norm(cmd) > lim:
        cmd = cmd * lim / np.linalg.norm(cmd)
    return np.concatenate([v, a + cmd])


def oracle_flight(kin: np.ndarray, ground_m: float, alt_m: float) -> tuple[float, float]:
    """Time and miss of the closest approach to a fixed point, by scipy's DOP853."""
    launcher, aim = table_point(0.0, 0.0), table_point(ground_m, alt_m)
    y0 = flyout.launch_state(launcher, aim, kin[flyout.KIN_LOFT], 0.0)

    def opening(t: float, y: np.ndarray, *_: object) -> float:
        return float((y[:3] - aim) @ y[3:])  # > 0 once past the point

    opening.terminal = True  # type: ignore[attr-defined]
    opening.direction = 1.0  # type: ignore[attr-defined]
    burn = kin[flyout.KIN_BURN_S]
    first = solve_ivp(oracle_rhs, (0, burn), y0, args=(kin, aim), rtol=1e-10, atol=1e-6)
    sol = solve_ivp(
        oracle_rhs,
        (burn, kin[flyout.KIN_MAX_TOF_S]),
        first.y[:, -1],
        args=(kin, aim),
        method="DOP853",
        rtol=1e-10,
        atol=1e-6,
        events=opening,
        max_step=1.0,
    )
    t = float(sol.t_events[0][0])
    return t, float(np.linalg.norm(sol.y_events[0][0][:3] - aim))


@pytest.mark.parametrize(
    ("name", "ground_km", "alt_km"),
    [("short_range", 30.0, 3.0), ("mid_tier", 120.0, 12.0), ("upper_tier_exo", 500.0, 200.0)],
)
def test_the_kernel_flies_as_an_independent_integrator_does(name, ground_km, alt_km):
    kin = np.asarray(kin_row(CATALOG.interceptors[name]))
    t, miss, speed, status = fly_to_point(kin, 0.0, 0.0, ground_km * 1e3, alt_km * 1e3)
    assert status == flyout.CA_ESTIMATE
    t_ref, miss_ref = oracle_flight(kin, ground_km * 1e3, alt_km * 1e3)
    assert t == pytest.approx(t_ref, abs=0.05)
    assert miss == pytest.approx(miss_ref, abs=1.0)
    assert miss < 50.0
    assert speed >= kin[flyout.KIN_MIN_SPEED_M_S]


def test_a_vacuum_coast_keeps_its_energy():
    # no thrust, no drag, no guidance: the kernel conserves the two-body energy
    kin = np.asarray(kinematics_row(1e-3, 1e-6, 1e7, 600.0, 1e-9, 0.0, 0.0, 1.0, 1.0))
    kin[flyout.KIN_BETA] = math.inf
    y = np.zeros(12)
    y[:3] = table_point(0.0, 100e3)
    y[3:6] = [1500.0, 2000.0, 500.0]
    y[6:9] = table_point(5000e3, 0.0)
    out, t, status, _, _ = flyout.fly(
        y, 0.0, -10.0, 300.0, math.inf, False, False, math.inf, kin,
        np.zeros(1), np.zeros((1, 6)), 1, 0, 0.0, False,
    )  # fmt: skip

    def energy(s: np.ndarray) -> float:
        return 0.5 * float(s[3:6] @ s[3:6]) - GM_EARTH_M3_S2 / float(np.linalg.norm(s[:3]))

    assert status == flyout.FLYING and t == pytest.approx(300.0)
    assert energy(out) == pytest.approx(energy(y), rel=1e-9)


@pytest.mark.parametrize("name", KINETIC)
def test_the_flyout_table_matches_direct_flights(name):
    ic = CATALOG.interceptors[name]
    alt = 8000.0 if name == "fighter_aam" else 0.0
    table = class_table(ic, alt)
    kin = np.asarray(kin_row(ic))
    rng = np.random.default_rng(7)
    ground = rng.uniform(0.05, 0.95, 60) * table.ground_step_m * (N_GROUND - 1)
    height = rng.uniform(0.02, 0.95, 60) * table.alt_step_m * (N_ALT - 1)
    tof = table.tof(ground, height)
    inside = np.isfinite(tof)
    assert inside.sum() >= 10
    for g, h, t in zip(ground[inside], height[inside], tof[inside], strict=True):
        t_direct, miss, _, _ = fly_to_point(kin, table.launch_alt_m, 0.0, g, h)
        assert miss <= ic.divert_m
        assert t_direct == pytest.approx(t, rel=0.03, abs=0.5)


@pytest.mark.parametrize("name", KINETIC)
def test_every_bundled_class_reaches_its_documented_envelope(name):
    alt = 8000.0 if name == "fighter_aam" else 0.0
    assert reach_problem(CATALOG.interceptors[name], alt) is None


def test_a_weak_motor_is_refused_with_what_it_reaches():
    weak = CATALOG.interceptors["short_range"].model_copy(update={"burnout_speed_m_s": 600.0})
    why = reach_problem(weak)
    assert why is not None and "short of its max_range_km 70" in why


# -- the predicted intercept point


def constant_speed_units(speed_m_s: float, reaction_s: float, max_range_m: float) -> UnitEnvelopes:
    """One unit at (lat 0, lon 0) whose 'table' is a straight flight at constant speed."""
    ground_step = 1.2 * max_range_m / (N_GROUND - 1)
    alt_step = 30e3 / (N_ALT - 1)
    launcher = table_point(0.0, 0.0)
    tof = np.empty((N_GROUND, N_ALT))
    for i in range(N_GROUND):
        for k in range(N_ALT):
            tof[i, k] = np.linalg.norm(table_point(i * ground_step, k * alt_step) - launcher)
    tof /= speed_m_s

    def one(x: float) -> np.ndarray:
        return np.array([x])

    return UnitEnvelopes(
        ecef_m=launcher[None],
        min_range_m=one(0.0),
        max_range_m=one(max_range_m),
        min_alt_m=one(0.0),
        max_alt_m=one(30e3),
        reaction_s=one(reaction_s),
        laser=np.zeros(1, dtype=bool),
        power_w=one(0.0),
        divergence_rad=one(0.0),
        extinction_per_m=one(0.0),
        slew_s=one(0.0),
        table=np.zeros(1, dtype=np.int64),
        tof_s=tof[None],
        ground_step_m=one(ground_step),
        alt_step_m=one(alt_step),
        dash_m_s=one(0.0),
        launch_range_m=one(0.0),
    )


def closed_form_intercept_s(p0, v, launcher, speed, reaction):
    """Earliest t with |p0 + v t - L| = speed (t - reaction), t >= reaction."""
    d = p0 - launcher
    a = v @ v - speed**2
    b = 2 * (d @ v) + 2 * speed**2 * reaction
    c = d @ d - speed**2 * reaction**2
    roots = np.roots([a, b, c])
    real = sorted(r.real for r in roots if abs(r.imag) < 1e-9 and r.real >= reaction)
    return real[0]


@pytest.mark.parametrize(
    ("start_km", "vel_m_s"),
    [
        ((120.0, 30.0, 5.0), (-250.0, 0.0, 0.0)),  # head-on
        ((60.0, -60.0, 8.0), (0.0, 200.0, 0.0)),  # crossing
        ((40.0, 10.0, 3.0), (150.0, 60.0, 0.0)),  # receding
    ],
)
def test_the_pip_matches_the_closed_form_intercept(start_km, vel_m_s):
    speed, reaction = 700.0, 5.0
    units = constant_speed_units(speed, reaction, 150e3)
    launcher = units.ecef_m[0]
    up = launcher / np.linalg.norm(launcher)
    east, north = np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])
    frame = np.stack([east, north, up])
    p0 = launcher + np.asarray(start_km) @ frame * 1e3
    v = np.asarray(vel_m_s) @ frame
    t = np.linspace(0.0, 600.0, 25)
    path = p0 + t[:, None] * v
    opp = opportunities(units, 0.0, t[None], path[None], np.array([1e9]), np.zeros(1), 1e6)
    assert opp.feasible[0, 0]
    t_ref = closed_form_intercept_s(p0, v, launcher, speed, reaction)
    # the table is bilinear over a straight-line distance: within a few tenths of a second
    assert opp.t_intercept_s[0, 0] == pytest.approx(t_ref, abs=0.1 + 0.003 * t_ref)
    assert opp.pip_m[0, 0] == pytest.approx(p0 + v * opp.t_intercept_s[0, 0], abs=1.0)
    assert opp.flyout_s[0, 0] == pytest.approx(opp.t_intercept_s[0, 0] - reaction, abs=0.1)


def _feasible(units, t_now, pts, tt):
    """Feasibility of points (m, 3) at times (m,) for the one unit of ``units`` (NumPy)."""
    launcher = units.ecef_m[0]
    rng = np.linalg.norm(pts - launcher, axis=1)
    cos = (pts @ launcher) / (np.linalg.norm(pts, axis=1) * np.linalg.norm(launcher))
    ground = WGS84_A_M * np.arccos(np.clip(cos, -1, 1))
    alt = np.array([_alt(p) for p in pts])
    g_i, a_k = ground / units.ground_step_m[0], alt / units.alt_step_m[0]
    i, k = g_i.astype(int), a_k.astype(int)
    tab = units.tof_s[0]
    ok_cell = (i < N_GROUND - 1) & (k < N_ALT - 1)
    i, k = np.minimum(i, N_GROUND - 2), np.minimum(k, N_ALT - 2)
    fi, fk = g_i - i, a_k - k
    tof = (tab[i, k] * (1 - fi) + tab[i + 1, k] * fi) * (1 - fk) + (
        tab[i, k + 1] * (1 - fi) + tab[i + 1, k + 1] * fi
    ) * fk
    return (
        ok_cell
        & (rng >= units.min_range_m[0])
        & (rng <= units.max_range_m[0])
        & (alt >= units.min_alt_m[0])
        & (alt <= units.max_alt_m[0])
        & (tt - t_now >= units.reaction_s[0] + tof)
        & (tt > t_now)
    )


def oracle_opportunity(units, t_now, path_t, path_m, dense=2000):
    """The PIP by brute force (NumPy, no bisection): the first feasible sample of the path,
    then the earliest feasible point of the segment before it, resampled densely."""
    ok = _feasible(units, t_now, path_m, path_t)
    if not ok.any():
        return math.nan
    s = int(np.argmax(ok))
    if s == 0:
        return float(path_t[0])
    f = np.linspace(0.0, 1.0, dense)[:, None]
    pts = path_m[s - 1] + f * (path_m[s] - path_m[s - 1])
    tt = path_t[s - 1] + f[:, 0] * (path_t[s] - path_t[s - 1])
    return float(tt[np.argmax(_feasible(units, t_now, pts, tt))])


def test_the_envelope_kernel_agrees_with_a_brute_force_oracle():
    units = UnitEnvelopes.of([table_point(0.0, 0.0)], [CATALOG.interceptors["mid_tier"]], [0.0])
    rng = np.random.default_rng(3)
    launcher = units.ecef_m[0]
    up = launcher / np.linalg.norm(launcher)
    frame = np.stack([np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0]), up])
    checked = 0
    for _ in range(40):
        start = np.array([*rng.uniform(-300e3, 300e3, 2), rng.uniform(500, 20e3)])
        vel = np.array([*rng.uniform(-300, 300, 2), 0.0])
        t = np.linspace(0.0, 1500.0, 25)
        path = launcher + (start + t[:, None] * vel) @ frame
        opp = opportunities(units, 0.0, t[None], path[None], np.array([1e9]), np.zeros(1), 1e6)
        ref = oracle_opportunity(units, 0.0, t, path)
        if math.isnan(ref):
            assert not opp.feasible[0, 0]
            continue
        checked += 1
        assert opp.feasible[0, 0]
        assert opp.t_intercept_s[0, 0] == pytest.approx(ref, abs=(t[1] - t[0]) / 2000 + 0.05)
    assert checked >= 10
