"""System track numbers (:mod:`iamd.tracking.system`): the kernel against a plain-Python
statement of its rules on random sequences of pictures, and numbers that persist in a run
where a partner's track hands over to the node's own."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamd import simulate
from iamd.scenario.load import load_scenario_text
from iamd.sim import metrics_sampler
from iamd.tracking.system import SystemNumbers, number_rows

Source = tuple[int, int]


def numbers_reference(
    rows: list[list[Source]], bind: dict[Source, int], next_number: list[int]
) -> list[int]:
    """The rules, one fused row at a time: the smallest number bound to a source of the
    row that no earlier row took, else a new one; every source bound to the result."""
    taken: set[int] = set()
    out = []
    for sources in rows:
        bound = [bind[s] for s in sources if s in bind and bind[s] not in taken]
        if bound:
            number = min(bound)
        else:
            number = next_number[0]
            next_number[0] += 1
        taken.add(number)
        out.append(number)
        for s in sources:
            bind[s] = number
    return out


def numbers_of(state: SystemNumbers, member: list[tuple[int, Source]], n_rows: int) -> list[int]:
    """:func:`number_rows` of a picture given as (row, source track) pairs."""
    return number_rows(
        np.array([s[0] for _, s in member], np.int64),
        np.array([s[1] for _, s in member], np.int64),
        np.array([r for r, _ in member], np.int64),
        n_rows,
        state.bind,
        state.next_number,
    ).tolist()


def sampled_pictures(scenario_text: str) -> tuple[Any, list[tuple[int, Any, np.ndarray]]]:
    """A run of ``scenario_text``, and every picture its sampler built: (owner, fused
    picture, system numbers)."""
    seen: list[tuple[int, Any, np.ndarray]] = []
    numbered = metrics_sampler.numbered_picture

    def record(eng: Any, o: int, t_s: float) -> Any:
        pic, numbers = numbered(eng, o, t_s)
        seen.append((o, pic, numbers.copy()))
        return pic, numbers

    metrics_sampler.numbered_picture = record  # observe the sampler's pictures
    try:
        result = simulate(load_scenario_text(scenario_text, "scenario.yaml"))
    finally:
        metrics_sampler.numbered_picture = numbered
    return result, seen


@st.composite
def pictures(draw: Any) -> list[list[list[Source]]]:
    """Sequences of fused pictures over a small pool of source tracks (3 owners x 6), each
    picture a partition of some of them into rows."""
    pool = [(o, t) for o in range(3) for t in range(6)]
    frames = []
    for _ in range(draw(st.integers(1, 8))):
        chosen = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=12, unique=True))
        n_rows = draw(st.integers(1, len(chosen)))
        row_of = draw(st.lists(st.integers(0, n_rows - 1), min_size=len(chosen),
                               max_size=len(chosen)))  # fmt: skip
        rows = [[s for s, r in zip(chosen, row_of, strict=True) if r == k] for k in range(n_rows)]
        frames.append([r for r in rows if r])
    return frames


@settings(max_examples=200, deadline=None)
@given(pictures())
def test_the_kernel_follows_the_rules(frames: list[list[list[Source]]]) -> None:
    state = SystemNumbers.empty(3, capacity=2)
    state.reserve(6)  # grown in place: the bindings so far kept
    bind: dict[Source, int] = {}
    next_number = [0]
    for rows in frames:
        member = [(r, s) for r, sources in enumerate(rows) for s in sources]
        order = np.random.default_rng(len(member)).permutation(len(member))  # any input order
        member = [member[i] for i in order]
        got = numbers_of(state, member, len(rows))
        want = numbers_reference(rows, bind, next_number)
        assert got == want
        assert len(set(want)) == len(want)  # distinct within a picture
        for (o, t), number in bind.items():
            assert state.bind[o, t] == number
        assert int(state.next_number[0]) == next_number[0]


def test_a_steady_track_keeps_its_number_and_a_merge_keeps_the_older() -> None:
    state = SystemNumbers.empty(2, capacity=4)
    state.reserve(6)

    def numbers(rows: list[list[Source]]) -> list[int]:
        return numbers_of(
            state, [(r, s) for r, sources in enumerate(rows) for s in sources], len(rows)
        )

    assert numbers([[(1, 0)]]) == [0]  # a partner's track first: number 0
    assert numbers([[(1, 0)], [(1, 1)]]) == [0, 1]
    assert numbers([[(0, 3), (1, 0)], [(1, 1)]]) == [0, 1]  # own track joins: 0 stays
    assert numbers([[(0, 3)], [(1, 1)]]) == [0, 1]  # the partner's track gone: 0 stays
    assert numbers([[(0, 3), (1, 1)]]) == [0]  # two found to be one: the older number
    assert numbers([[(0, 3)], [(1, 1)]]) == [0, 2]  # and split again: a new number
    assert numbers([[(0, 5)]]) == [3]  # a new track
    with pytest.raises(IndexError):  # a source the state has no room for
        numbers([[(0, state.bind.shape[1])]])


TWO_RADARS = """
name: two-radars
origin: {lat_deg: 32.0, lon_deg: 35.0}
duration_s: 2400
seed: 5
owners:
  - {name: blue}
  - {name: scout, shares_with: [blue], share_link: {latency_s: 2.0}}
assets:
  - {name: Town, value: 50, point: {lat_deg: 32.0, lon_deg: 35.0}, radius_km: 3}
sensors:
  - {name: own-aew, type: airborne_radar, owner: blue, lat_deg: 32.4, lon_deg: 35.0}
  - {name: aew, type: airborne_radar, owner: scout, lat_deg: 33.0, lon_deg: 35.3}
c2_nodes:
  - {name: bmc, owner: blue, lat_deg: 32.0, lon_deg: 35.0, cycle_s: 2}
fire_units: []
raid:
  - threat: cruise_missile
    count: 4
    launch_area: {lat_deg: 33.6, lon_deg: 35.0, radius_km: 5}
    interval_s: 60
    targets: [Town]
"""


def test_numbers_persist_when_tracks_hand_over_between_the_node_and_its_partner() -> None:
    """Two airborne radars of two owners see four cruise missiles fly to the town; the
    scout's, nearer the launch area, first. Blue's picture shows the scout's track, then
    blue's own fused with it, then (blue's track lost) a new track of the scout's fused
    with blue's, and so on: the fused track's identity (its first source's) changes at
    each hand-over; its system number never does."""
    result, seen = sampled_pictures(TWO_RADARS)
    assert result.summary["threats"]["impacted_asset"] == 4
    blue = result.world.owners.index("blue")
    ids: dict[int, list[int]] = {}
    numbers: dict[int, set[int]] = {}
    for o, pic, number in seen:
        if o != blue:
            continue
        label, track_id = pic.label, pic.track_id
        assert len(set(number.tolist())) == number.size  # distinct within a picture
        for lab in set(label.tolist()) - {-1}:
            rows = np.flatnonzero(label == lab)
            assert rows.size == 1  # one track per missile in this clean case
            ids.setdefault(lab, []).append(int(track_id[rows[0]]))
            numbers.setdefault(lab, set()).add(int(number[rows[0]]))
    assert sorted(numbers) == [0, 1, 2, 3]
    stride = 10**9
    for lab, sequence in ids.items():  # partner's (>= stride) and own identities both
        assert min(sequence) < stride <= max(sequence), (lab, sequence)
    assert max(len(set(v)) for v in ids.values()) >= 3, ids  # hand-overs both ways
    assert all(len(v) == 1 for v in numbers.values()), numbers
    assert len({min(v) for v in numbers.values()}) == 4  # one number per missile
    # the summary counts identity changes by system number: none here
    assert result.summary["tracking"]["id_changes"] == 0
