"""Dynamic assignment: weighted WTA against brute force, doctrine options, threat evaluation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from test_doctrine import SR, raid

from iamd.c2.assess import NORMAL_2D, sigma_points
from iamd.c2.wta.weighted import assign_weighted, net_value
from iamd.sim.run import simulate


def brute_best(value, p, cost, cap) -> float:
    u, k = p.shape
    best = 0.0
    for bits in itertools.product((False, True), repeat=u * k):
        x = np.array(bits).reshape(u, k)
        if (x.sum(axis=1) > cap).any() or (x & (p <= 0)).any():
            continue
        best = max(best, net_value(value, p, cost, x))
    return best


@pytest.mark.parametrize("seed", range(15))
def test_weighted_assignment_is_feasible_and_near_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    u, k = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    value = rng.uniform(0, 100, k)
    p = np.where(rng.random((u, k)) < 0.8, rng.uniform(0.1, 0.95, (u, k)), 0.0)
    cost = rng.uniform(0, 30, (u, k))
    cap = rng.integers(0, 3, u)
    best = brute_best(value, p, cost, cap)
    got = {}
    for method in ("greedy", "auto"):
        uu, jj = assign_weighted(value, p, cost, cap, method)
        x = np.zeros((u, k), bool)
        x[uu, jj] = True
        assert len(set(zip(uu.tolist(), jj.tolist(), strict=True))) == uu.size
        assert (x.sum(axis=1) <= cap).all() and not (x & (p <= 0)).any()
        got[method] = net_value(value, p, cost, x)
        assert got[method] <= best + 1e-9
        assert got[method] >= -1e-9  # never worse than doing nothing
    assert got["auto"] >= got["greedy"] - 1e-9


def test_cost_weight_sends_the_cheap_unit_and_can_hold_fire() -> None:
    value = np.array([50.0])
    p = np.array([[0.9], [0.8]])  # unit 0: better and dearer
    cost_usd = np.array([[3.0e6], [0.05e6]])
    free = assign_weighted(value, p, 0.0 * cost_usd, np.array([1, 1]), "auto")
    assert set(free[0].tolist()) == {0, 1}  # no cost: both shoot
    cheap = assign_weighted(value, p, 10.0 * cost_usd / 1e6, np.array([1, 1]), "auto")
    assert cheap[0].tolist() == [1]  # 10 value units per $M: only the cheap one pays
    none = assign_weighted(value, p, 1000.0 * cost_usd / 1e6, np.array([1, 1]), "auto")
    assert none[0].size == 0  # nothing is worth its cost


def test_sigma_points_reproduce_mean_and_covariance() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(size=(4, 6, 6))
    cov = a @ np.swapaxes(a, 1, 2) * 100.0
    x = rng.normal(size=(4, 6)) * 1e3
    pts = sigma_points(x, cov)
    np.testing.assert_allclose(pts.mean(axis=1), x, atol=1e-9)
    dev = pts - x[:, None, :]
    got = np.einsum("kpi,kpj->kij", dev, dev) / pts.shape[1]
    np.testing.assert_allclose(got, cov + np.eye(6), rtol=1e-9)  # + the 1 m^2 floor


@pytest.mark.parametrize("r", [0.5, 1.0, 2.0])
def test_quasi_random_normals_give_the_rayleigh_disc_probability(r: float) -> None:
    inside = float(np.mean(np.hypot(NORMAL_2D[:, 0], NORMAL_2D[:, 1]) <= r))
    assert inside == pytest.approx(1.0 - np.exp(-r * r / 2.0), abs=0.01)


def test_reserve_rounds_are_never_fired(make_scenario) -> None:
    units = "fire_units:\n  - " + SR % ", rounds: 6, reloads: 0"
    r0 = simulate(make_scenario(units + raid("targets: [Town]", 20)))
    assert r0.summary["interceptors"]["short_range"]["fired"] == 6
    held = raid("targets: [Town]", 20, "doctrine: {reserve: 4}")
    r4 = simulate(make_scenario(units + held))
    assert r4.summary["interceptors"]["short_range"]["fired"] == 2
    assert r4.summary["threats"]["impacted_asset"] > r0.summary["threats"]["impacted_asset"]


def test_summary_reports_c2_timing_and_cost_exchange(make_scenario) -> None:
    r = simulate(make_scenario("fire_units:\n  - " + SR % "" + raid("targets: [Town]", 12)))
    c2 = r.summary["c2"]
    assert c2["solver"] == "auto" and c2["cycles"] >= c2["assignments"] > 0
    assert 0 < c2["mean_solve_ms"] <= c2["max_solve_ms"]
    cost = r.summary["cost_usd"]
    fired = r.summary["interceptors"]["short_range"]["fired"]
    launched = r.summary["threats"]["launched"]
    cat = r.scenario.catalog
    assert cost["interceptors"] == pytest.approx(fired * cat.interceptors["short_range"].cost_usd)
    assert cost["threats"] == pytest.approx(launched * cat.threats["rocket_short"].cost_usd)
    assert cost["exchange_ratio"] == pytest.approx(cost["interceptors"] / cost["threats"])
