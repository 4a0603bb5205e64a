"""WTA solvers against brute force, the published APT optima, and their own bounds."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from test_wta import brute_force, random_instance
from typer.testing import CliRunner

from iamd.c2.wta.exact import search_target
from iamd.c2.wta.instance import WtaInstance, load, objective
from iamd.c2.wta.local import local_search
from iamd.c2.wta.solve import SOLVERS, solve
from iamd.cli import app

DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "wta"


@pytest.mark.parametrize("seed", range(10))
def test_every_method_is_feasible_bounded_and_exact_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    w, t, mu = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 3))
    inst = random_instance(rng, w, t, mu, same_p=False)
    best = brute_force(inst)
    for method in SOLVERS:
        sol = solve(inst, method, time_limit_s=5.0)
        assert (sol.x >= 0).all() and (sol.x.sum(axis=1) <= mu).all()
        assert sol.objective == pytest.approx(objective(inst, sol.x), rel=1e-15)
        assert sol.objective >= best - 1e-9  # nothing beats the optimum
        assert sol.lower_bound <= sol.objective + 1e-12
        assert sol.lower_bound <= best + 1e-9  # a bound below the true optimum
    exact = solve(inst, "exact", time_limit_s=30.0)
    assert exact.proven_optimal
    assert exact.objective == pytest.approx(best, rel=1e-9, abs=1e-12)


def multisets(c: int, mu: int) -> list[tuple[int, ...]]:
    return [
        tuple(i for i, k in enumerate(ks) for _ in range(k))
        for ks in itertools.product(range(mu + 1), repeat=c)
    ]


@pytest.mark.parametrize("seed", range(8))
def test_column_search_finds_the_minimum_and_every_column_under_a_limit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    c, mu, v = int(rng.integers(1, 6)), int(rng.integers(1, 4)), float(rng.uniform(1, 100))
    p = rng.uniform(0.0, 1.0, c)
    lam = rng.uniform(0.0, v / 2, c)
    every = {
        col: v * np.prod((1 - p)[list(col)]) + lam[list(col)].sum() for col in multisets(c, mu)
    }
    low, [(col, cost)] = search_target(v, p, lam, mu, v, False, np.inf)
    assert low == pytest.approx(min(every.values()), rel=1e-12)
    assert every[col] == pytest.approx(cost, rel=1e-12)
    limit = low + float(rng.uniform(0, 10))
    _, found = search_target(v, p, lam, mu, limit, True, np.inf)
    want = {k for k, val in every.items() if val <= limit - 1e-9}
    got = {k for k, _ in found}
    assert want <= got
    assert all(every[k] <= limit + 1e-6 for k in got)


def test_local_search_never_worsens_its_start_and_respects_mu() -> None:
    rng = np.random.default_rng(7)
    inst = random_instance(rng, 12, 20, 3, same_p=False)
    x0 = np.zeros((12, 20), np.int64)
    x0[:, 0] = 3  # everything on one target: a poor start
    x = local_search(inst, x0)
    assert (x.sum(axis=1) <= 3).all()
    assert objective(inst, x) < objective(inst, x0)


@pytest.mark.parametrize(("mu", "published"), [(1, 1734.302278), (2, 123.838458), (3, 20.590016)])
def test_exact_proves_the_published_optimum_of_apt_50x100(mu: int, published: float) -> None:
    inst = load(DATA / "wta_50x100.txt", mu=mu)
    sol = solve(inst, "exact", time_limit_s=300.0)
    assert sol.proven_optimal and sol.gap <= 1e-6
    assert sol.objective == pytest.approx(published, abs=1e-6)
    assert sol.lower_bound <= sol.objective


def test_wta_solve_cli_prints_the_json_fields(tmp_path: Path) -> None:
    f = tmp_path / "tiny.txt"
    f.write_text(
        "2 3 1\n10\n20\n30\n"
        + "".join(f"{i} {j} {0.1 * (i + j + 1):.1f}\n" for i in range(2) for j in range(3))
    )
    res = CliRunner().invoke(app, ["wta", "solve", str(f), "--method", "exact", "--json"])
    assert res.exit_code == 0, res.output
    row = json.loads(res.stdout)
    assert set(row) == {"objective", "lower_bound", "gap", "proven_optimal", "time_s", "method"}
    inst = WtaInstance(
        value=np.array([10.0, 20, 30]),
        p=np.array([[0.1, 0.2, 0.3], [0.2, 0.3, 0.4]]),
        mu=1,
    )
    assert row["objective"] == pytest.approx(brute_force(inst), rel=1e-12)
    assert row["proven_optimal"] is True
    bad = CliRunner().invoke(app, ["wta", "solve", str(tmp_path / "missing.txt"), "--json"])
    assert bad.exit_code == 2 and "cannot read" in bad.output


def test_wta_bench_runs_the_shipped_set() -> None:
    res = CliRunner().invoke(
        app, ["wta", "bench", "--method", "local", "--mu", "1", "--sizes", "50x100", "--json"]
    )
    assert res.exit_code == 0, res.output
    row = json.loads(res.stdout.splitlines()[0])
    assert row["instance"] == "50x100" and row["mu"] == 1
    assert abs(row["vs_best_known"]) < 0.005
