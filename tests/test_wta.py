"""Static weapon-target assignment: instance format, evaluator, greedy against brute force."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from iamd.c2.wta.greedy import greedy
from iamd.c2.wta.instance import InstanceError, WtaInstance, objective, parse
from iamd.c2.wta.solve import solve


def random_instance(rng: np.random.Generator, w: int, t: int, mu: int, same_p: bool) -> WtaInstance:
    p = rng.uniform(0.05, 0.95, (1, t)).repeat(w, 0) if same_p else rng.uniform(0.05, 0.95, (w, t))
    return WtaInstance(value=rng.integers(1, 101, t).astype(float), p=p, mu=mu)


def brute_force(inst: WtaInstance) -> float:
    """The optimum over every assignment (each weapon's shots split over targets)."""
    w, t = inst.p.shape
    rows = [
        np.array(r) for r in itertools.product(range(inst.mu + 1), repeat=t) if sum(r) <= inst.mu
    ]
    best = np.inf
    for choice in itertools.product(rows, repeat=w):
        x = np.stack(choice)
        # direct formula, written independently of the package's evaluator
        total = sum(
            inst.value[j] * np.prod([(1 - inst.p[i, j]) ** x[i, j] for i in range(w)])
            for j in range(t)
        )
        best = min(best, total)
    return float(best)


@pytest.mark.parametrize("seed", range(12))
def test_greedy_is_feasible_and_optimal_when_weapons_are_alike(seed: int) -> None:
    rng = np.random.default_rng(seed)
    w, t, mu = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 3))
    for same_p in (True, False):
        inst = random_instance(rng, w, t, mu, same_p)
        x = greedy(inst)
        assert (x >= 0).all() and (x.sum(axis=1) <= mu).all()
        best = brute_force(inst)
        got = objective(inst, x)
        assert got >= best - 1e-9  # never better than the optimum
        if same_p:  # maximum marginal return is optimal here (den Broeder et al., 1959)
            assert got == pytest.approx(best, rel=1e-12, abs=1e-12)


def test_objective_matches_the_formula_and_refuses_infeasible_shots() -> None:
    inst = WtaInstance(value=np.array([10.0, 20.0]), p=np.array([[0.5, 0.2], [0.1, 0.9]]), mu=2)
    x = np.array([[2, 0], [0, 1]])
    assert objective(inst, x) == pytest.approx(10 * 0.25 + 20 * 0.1)
    with pytest.raises(ValueError, match="infeasible"):
        objective(inst, np.array([[2, 1], [0, 0]]))
    with pytest.raises(ValueError, match="shape"):
        objective(inst, np.zeros((3, 2), int))


GOOD = "2 2 1\n10\n20\n0 0 0.5\n0 1 0.2\n1 0 0.1\n1 1 0.9\n"


def test_parse_reads_the_published_format() -> None:
    inst = parse(GOOD, "tiny.txt")
    assert inst.weapons == 2 and inst.targets == 2 and inst.mu == 1
    np.testing.assert_array_equal(inst.value, [10, 20])
    assert inst.p[1, 1] == 0.9
    assert parse(GOOD, "tiny.txt", mu=3).mu == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ("2 2\n", "first line must be 'W T mu'"),
        ("2 2 1\n10\n20\n0 0 0.5\n", "expected 7 non-empty lines"),
        (GOOD.replace("0 1 0.2", "0 1 1.2"), "tiny.txt:5: probability 1.2 is outside [0, 1]"),
        (GOOD.replace("\n20\n", "\n-20\n"), "tiny.txt:3: target value -20 is negative"),
        (GOOD.replace("1 0 0.1", "2 0 0.1"), "pair (2, 0) is outside 2 x 2"),
        (GOOD.replace("1 0 0.1", "0 0 0.1"), "pair (0, 0) is given twice"),
        (GOOD.replace("0 0 0.5", "0 0 half"), "probability 'half' is not a number"),
        (GOOD.replace("2 2 1", "2 2 0"), "positive integers"),
    ],
)
def test_malformed_instances_give_located_errors(text: str, message: str) -> None:
    with pytest.raises(
        InstanceError,
        match=message.replace("(", r"\(")
        .replace(")", r"\)")
        .replace("[", r"\[")
        .replace("]", r"\]"),
    ):
        parse(text, "tiny.txt")


def test_malformed_instances_and_extreme_options_are_clear(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from iamd.cli import app

    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    big = tmp_path / "big.txt"
    big.write_text("100000 100000 1\n")
    small = tmp_path / "small.txt"
    small.write_text("1 1 1\n5\n0 0 0.5\n")
    for args, expect in [
        ([str(binary)], "not a text instance"),
        ([str(big)], "at most 4,000,000"),
        ([str(small), "--mu", str(10**30)], "mu must be between 1 and 100"),
        ([str(small), "--time-limit", "nan"], "time-limit"),
    ]:
        res = CliRunner().invoke(app, ["wta", "solve", *args])
        assert res.exit_code == 2, (args, res.output)
        assert expect in res.output, (args, res.output)
        assert res.exception is None or isinstance(res.exception, SystemExit)


@pytest.mark.parametrize("method", ["greedy", "local", "auto", "exact"])
def test_a_trivially_optimal_instance_reports_gap_zero(method: str) -> None:
    """All kill probabilities 0: nothing can be done, every method proves its answer."""
    inst = parse("2 3 2\n5\n3\n1\n" + "".join(f"{i} {j} 0\n" for i in range(2) for j in range(3)))
    sol = solve(inst, method, 10.0)
    assert sol.objective == 9.0 and sol.gap == 0.0 and sol.proven_optimal


def test_the_simple_bound_is_below_the_proven_optimum() -> None:
    from iamd.c2.wta.instance import simple_lower_bound

    rng = np.random.default_rng(4)
    for _ in range(20):
        w, t = rng.integers(1, 4, 2)
        p = rng.uniform(0, 0.9, (w, t))
        text = f"{w} {t} 2\n" + "".join(f"{v}\n" for v in rng.uniform(1, 10, t))
        text += "".join(f"{i} {j} {p[i, j]}\n" for i in range(w) for j in range(t))
        inst = parse(text)
        best = brute_force(inst)
        assert simple_lower_bound(inst) <= best + 1e-12
