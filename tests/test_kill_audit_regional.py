"""Every kill of regional-raid holds against physics, 5 seeds (its own file, so the test
workers run it beside the others)."""

from __future__ import annotations

import pytest
from test_kill_audit import SEEDS, assert_every_kill_holds


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_every_kill_of_regional_raid_holds(seed, tmp_path):
    assert_every_kill_holds("regional-raid", seed, tmp_path / "run")
