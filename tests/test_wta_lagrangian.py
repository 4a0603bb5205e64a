"""The compiled pricing against enumeration, and the Lagrangian heuristic against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_wta import brute_force, random_instance

from iamd.c2.wta.instance import WtaInstance, objective
from iamd.c2.wta.lagrangian import lagrangian_heuristic, shot_prices
from iamd.c2.wta.local import Q_FLOOR, improve_moves, one_shot_each
from iamd.c2.wta.pricing import price_target, price_targets


def column_cost(v: float, p: np.ndarray, lam: np.ndarray, k: np.ndarray) -> float:
    """``v prod q^k + lam . k`` written directly (q floored as the kernel floors it)."""
    return float(v * np.prod(np.maximum(1.0 - p, Q_FLOOR) ** k) + lam @ k)


def enumerate_min(v: float, p: np.ndarray, lam: np.ndarray, mu: int) -> float:
    """The minimum over every count vector in ``0..mu`` (the oracle)."""
    return min(
        column_cost(v, p, lam, np.array(k)) for k in itertools.product(range(mu + 1), repeat=p.size)
    )


prob = st.one_of(st.just(0.0), st.just(1.0), st.floats(0.0, 1.0))


@settings(max_examples=300, deadline=None)
@given(
    v=st.floats(0.0, 100.0),
    p=st.lists(prob, min_size=1, max_size=5),
    lam_scale=st.lists(st.one_of(st.just(0.0), st.floats(0.0, 1.0)), min_size=5, max_size=5),
    mu=st.integers(1, 3),
)
def test_price_target_finds_the_enumerated_minimum_and_a_column_that_attains_it(
    v: float, p: list[float], lam_scale: list[float], mu: int
) -> None:
    pa = np.array(p)
    lam = np.array(lam_scale[: pa.size]) * max(v, 1.0)
    a = -np.log(np.maximum(1.0 - pa, Q_FLOOR))
    k = np.empty(pa.size, np.int64)
    got = price_target(v, pa, a, lam, mu, np.empty(pa.size, np.int64), k)
    want = enumerate_min(v, pa, lam, mu)
    assert got == pytest.approx(want, rel=1e-9, abs=1e-12)
    assert ((k >= 0) & (k <= mu)).all()
    assert column_cost(v, pa, lam, k) == pytest.approx(got, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_price_targets_prices_every_target_as_one_target_alone(seed: int) -> None:
    rng = np.random.default_rng(seed)
    w, t, mu = 4, 6, int(rng.integers(1, 4))
    inst = random_instance(rng, w, t, mu, same_p=False)
    lam = rng.uniform(0.0, 20.0, w)
    pt = np.ascontiguousarray(inst.p.T)
    at = np.ascontiguousarray(-np.log(np.maximum(1.0 - pt, Q_FLOOR)))
    kt = np.zeros((t, w), np.int64)
    cost = np.zeros(t)
    price_targets(inst.value, pt, at, lam, mu, kt, cost)
    for j in range(t):
        assert cost[j] == pytest.approx(enumerate_min(inst.value[j], pt[j], lam, mu), rel=1e-9)
        assert column_cost(inst.value[j], pt[j], lam, kt[j]) == pytest.approx(cost[j], rel=1e-9)


@pytest.mark.parametrize("seed", range(8))
def test_lagrangian_heuristic_is_feasible_and_its_bound_is_below_the_brute_force_optimum(
    seed: int,
) -> None:
    rng = np.random.default_rng(300 + seed)
    w, t, mu = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 3))
    inst = random_instance(rng, w, t, mu, same_p=False)
    best = brute_force(inst)
    q = np.maximum(1.0 - inst.p, Q_FLOOR)
    x0 = improve_moves(inst, one_shot_each(inst), q, np.inf)
    res = lagrangian_heuristic(inst, x0, np.inf)
    assert (res.x >= 0).all() and (res.x.sum(axis=1) <= mu).all()
    assert best - 1e-9 <= objective(inst, res.x) <= objective(inst, x0) + 1e-12
    assert res.lower_bound <= best + 1e-9


def test_lagrangian_bound_of_any_prices_is_below_the_optimum() -> None:
    rng = np.random.default_rng(11)
    inst = random_instance(rng, 3, 3, 2, same_p=False)
    best = brute_force(inst)
    x = one_shot_each(inst)
    for lam in [shot_prices(inst, x), np.zeros(3), rng.uniform(0.0, 50.0, 3)]:
        low = sum(
            enumerate_min(float(inst.value[j]), inst.p[:, j], lam, inst.mu) for j in range(3)
        ) - inst.mu * float(lam.sum())
        assert low <= best + 1e-9


def test_lagrangian_heuristic_solves_a_larger_instance_near_its_own_bound() -> None:
    rng = np.random.default_rng(5)
    inst = WtaInstance(
        value=rng.integers(1, 101, 60).astype(float), p=rng.uniform(0.0, 1.0, (30, 60)), mu=3
    )
    q = np.maximum(1.0 - inst.p, Q_FLOOR)
    x0 = improve_moves(inst, one_shot_each(inst), q, np.inf)
    res = lagrangian_heuristic(inst, x0, np.inf)
    val = objective(inst, res.x)
    assert res.lower_bound <= val <= objective(inst, x0)
    assert val - res.lower_bound <= 0.01 * val  # the relaxation is tight on random instances
    assert res.columns > 0 and res.steps > 0
