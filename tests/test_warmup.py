"""A Monte Carlo worker warms only the kernels a replication runs: after
``warm_kernels(tracking=mode)`` no kernel compiles (or loads) during a replication in that
tracking mode."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHILD = """
import importlib, pkgutil, sys
import iamd
from numba.core.registry import CPUDispatcher
from iamd import load_scenario, simulate
from iamd.warmup import warm_kernels

def signatures():
    out = {}
    for info in pkgutil.walk_packages(iamd.__path__, "iamd."):
        if info.name.startswith("iamd.web") or "__main__" in info.name:
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, CPUDispatcher):
                out[value.py_func.__module__ + "." + value.py_func.__name__] = len(value.signatures)
    return out

warm_kernels(tracking=sys.argv[1])
before = signatures()
s = load_scenario("southern-front")
tracking = s.spec.tracking.model_copy(update={"mode": sys.argv[1]})
spec = s.spec.model_copy(update={"tracking": tracking})
simulate(type(s)(spec, s.catalog, s.source), seed=4)
after = signatures()
print(sorted(k for k in after if after[k] != before.get(k)))
"""


@pytest.mark.parametrize("mode", ["gnn", "ideal"])
def test_a_replication_compiles_nothing_after_the_warm_up(mode: str) -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out[0] == "[]", f"kernels first used during the run: {out[0]}"
