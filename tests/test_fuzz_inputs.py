"""Mutated bundled scenarios through the command line: exit 0, or exit 2 with every problem
at its ``file:line:col``; never a traceback, never a run that will not end.

Two seeded mutators over the bundled scenarios (durations shortened so that a run takes
seconds): one swaps types and puts absurd values anywhere (NaN, infinities, 1e300,
booleans, empty lists, control characters, mappings where names go) and only validates;
the other sets numbers to the extremes the schema allows (its own bounds, read from the
models) and runs what validates, map included for some. ``IAMD_FUZZ_N`` multiplies the
number of cases for a longer local search (``IAMD_FUZZ_N=20 pytest tests/test_fuzz_inputs.py``).
"""

from __future__ import annotations

import copy
import json
import os
import random
import re
import traceback
from pathlib import Path
from typing import Any

import pytest
import yaml
from annotated_types import Ge, Gt, Le, Lt
from typer.testing import CliRunner

from iamd.cli import app
from iamd.scenario.catalog import SECTIONS, bundled_catalog_data
from iamd.scenario.load import _model_at
from iamd.scenario.schema import ScenarioFile
from iamd.scenario.yamlpos import loads

SCALE = int(os.environ.get("IAMD_FUZZ_N", "1"))
LIBRARY = Path(__file__).resolve().parent.parent / "src" / "iamd" / "scenario" / "library"
SHORT_S = {"northern-front": 1200, "southern-front": 1500, "regional-raid": 1500}
"""Durations the run mutants are cut to (the raids start within them)."""
ABSURD: list[Any] = [
    float("nan"),
    float("inf"),
    -float("inf"),
    1e300,
    -1e300,
    1e-300,
    10**30,
    2**64,
    -1,
    0,
    True,
    None,
    "",
    "x",
    "\x07bell",
    "2024-13-45",
    [],
    [1, 2],
    {},
    {"a": 1},
    "<img src=x onerror=alert(1)>",
]
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")
PROBLEM_LINE = re.compile(r"^\S*m\.yaml:\d+:\d+: ")
runner = CliRunner()


def _base(name: str) -> dict[str, Any]:
    """A bundled scenario cut to run in seconds: a short duration, salvos of at most 20
    threats starting in its first minutes."""
    data = loads((LIBRARY / f"{name}.yaml").read_text("utf-8"), name).data
    data["duration_s"] = SHORT_S[name]
    for salvo in data["raid"]:
        salvo["count"] = min(salvo["count"], 20)
        salvo["start_s"] = min(salvo.get("start_s", 0), 300)
    return data


def _paths(node: Any, p: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [p]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*p, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*p, i))
    return out


def _get(d: Any, p: tuple[Any, ...]) -> Any:
    for k in p:
        d = d[k]
    return d


def _set(d: Any, p: tuple[Any, ...], v: Any) -> None:
    _get(d, p[:-1])[p[-1]] = v


def absurd(doc: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """1-3 values anywhere replaced by type-confused or absurd ones."""
    doc = copy.deepcopy(doc)
    for _ in range(rng.choice([1, 1, 2, 3])):
        paths = [p for p in _paths(doc) if p]
        _set(doc, rng.choice(paths), copy.deepcopy(rng.choice(ABSURD)))
    return doc


def _bounds(model: Any, field: str) -> tuple[float, float] | None:
    f = model.model_fields.get(field) if model is not None else None
    if f is None:
        return None
    lo, hi = -1e6, 1e6
    for m in f.metadata:
        if isinstance(m, Ge | Gt):
            lo = float(m.ge if isinstance(m, Ge) else m.gt)
        if isinstance(m, Le | Lt):
            hi = float(m.le if isinstance(m, Le) else m.lt)
    return lo, hi


def _extreme(lo: float, hi: float, rng: random.Random, integer: bool) -> float | int:
    span = hi - lo
    v = rng.choice([lo, hi, lo + span * 1e-6, hi - span * 1e-6, (lo + hi) / 2, lo + 1e-9])
    return round(v) if integer else v


def extreme(doc: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """1-4 numbers set to the extremes of their schema bounds (catalog figures too),
    or an item dropped from a list."""
    doc = copy.deepcopy(doc)
    cat = bundled_catalog_data()
    for _ in range(rng.choice([1, 2, 3, 4])):
        roll = rng.random()
        if roll < 0.4:
            used = {
                "interceptors": sorted({f["interceptor"] for f in doc.get("fire_units", [])}),
                "threats": sorted({s["threat"] for s in doc["raid"]}),
                "sensors": sorted({s["type"] for s in doc.get("sensors", [])}),
            }
            section = rng.choice([k for k, v in used.items() if v])
            name = rng.choice(used[section])
            model = SECTIONS[section]
            numbers = [
                k
                for k, f in model.model_fields.items()
                if "float" in str(f.annotation) or "int" in str(f.annotation)
            ]
            field = rng.choice(numbers)
            bounds = _bounds(model, field)
            if bounds is not None:
                current = cat[section][name].get(field, model.model_fields[field].default)
                value = _extreme(*bounds, rng, isinstance(current, int))
                entry = doc.setdefault("catalog", {}).setdefault(section, {})
                entry.setdefault(name, {})[field] = value
        elif roll < 0.55:
            lists = [p for p in _paths(doc) if isinstance(_get(doc, p), list) and _get(doc, p)]
            items = _get(doc, rng.choice(lists))
            items.pop(rng.randrange(len(items)))
        else:
            numbers = [
                p
                for p in _paths(doc)
                if p
                and isinstance(p[-1], str)
                and isinstance(_get(doc, p), int | float)
                and not isinstance(_get(doc, p), bool)
            ]
            p = rng.choice(numbers)
            bounds = _bounds(_model_at(ScenarioFile, p[:-1]), str(p[-1]))
            if bounds is not None:
                _set(doc, p, _extreme(*bounds, rng, isinstance(_get(doc, p), int)))
    return doc


def _write(tmp_path: Path, doc: dict[str, Any], k: int) -> Path | None:
    try:
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    except yaml.YAMLError:
        return None
    f = tmp_path / f"{k}" / "m.yaml"
    f.parent.mkdir()
    f.write_text(text, "utf-8")
    return f


def _check(res: Any, what: str) -> None:
    assert res.exception is None or isinstance(res.exception, SystemExit), (
        what,
        "".join(traceback.format_exception(res.exception)),
    )
    assert res.exit_code in (0, 2), (what, res.exit_code, res.output)
    if res.exit_code == 2:
        lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
        assert lines, what
        problems = [ln for ln in lines if not re.match(r"^\d+ problem\(s\) found", ln)]
        assert problems and all(PROBLEM_LINE.match(ln) for ln in problems), (what, lines)
    assert "Traceback" not in res.output and "RuntimeWarning" not in res.output, res.output


def _run_cli(args: list[str]) -> Any:
    return runner.invoke(app, args)  # result.stderr holds the problems alone


@pytest.mark.parametrize("name", sorted(SHORT_S))
def test_absurd_values_validate_to_located_problems(tmp_path: Path, name: str) -> None:
    rng = random.Random(f"absurd-{name}")
    base = _base(name)
    for k in range(60 * SCALE):
        f = _write(tmp_path, absurd(base, rng), k)
        if f is not None:
            _check(_run_cli(["validate", str(f)]), f"{name} #{k}: {f.read_text()[:2000]}")


def _conserves(summary_json: Path) -> None:
    """Every threat ends in exactly one fate, overall and per class; JSON stays JSON."""
    summary = json.loads(summary_json.read_text(), parse_constant=_no_constant)
    fates = ("failed", "intercepted", "impacted_asset", "impacted_open", "airborne_at_end")
    for rec in (summary["threats"], *summary["threats"]["by_class"].values()):
        assert rec["launched"] == sum(rec[f] for f in fates), rec
    fired = sum(v["fired"] for v in summary["interceptors"].values())
    assert fired == sum(v["fired"] for v in summary["by_owner"].values())


def _no_constant(name: str) -> None:
    raise AssertionError(f"summary.json holds {name}, which is not JSON")


RUNS = {"northern-front": 4, "southern-front": 4, "regional-raid": 0}
"""Mutants run per scenario (regional-raid's are only validated: a run costs tens of s)."""
MAX_RUN_COUNT = 50
"""Salvo sizes of the mutants that are run (the budget tests refuse the large ones)."""


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SHORT_S))
def test_extreme_but_valid_scenarios_run(tmp_path: Path, name: str) -> None:
    rng = random.Random(f"extreme-{name}")
    base = _base(name)
    ran = valid = 0
    for k in range(40 * SCALE):
        doc = extreme(base, rng)
        f = _write(tmp_path, doc, k)
        assert f is not None
        res = _run_cli(["validate", str(f)])
        _check(res, f"validate {name} #{k}")
        valid += res.exit_code == 0
        if res.exit_code != 0 or ran >= RUNS[name] * SCALE:
            continue
        for salvo in doc["raid"]:
            salvo["count"] = min(salvo["count"], MAX_RUN_COUNT)
        f.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), "utf-8")
        out = f.parent / "run"
        args = ["run", str(f), "--out", str(out), "-q", *([] if ran % 2 == 0 else ["--no-map"])]
        res = _run_cli(args)
        _check(res, f"run {name} #{k}: {f.read_text()}")
        if res.exit_code == 0:
            _conserves(out / "summary.json")
        ran += 1
    assert valid >= 5, "too few mutants validated: the mutator no longer reaches the engine"
    assert ran == RUNS[name] * SCALE
