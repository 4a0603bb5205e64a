"""The event log's single-row fast path against its batch path."""

from __future__ import annotations

import numpy as np

from iamd.sim.events import EventLog


def test_single_rows_make_the_table_batches_of_one_make() -> None:
    rng = np.random.default_rng(7)
    fast, slow = EventLog(), EventLog()
    for i in range(200):
        t = float(rng.integers(0, 20))  # ties: their order is the processing order
        if rng.random() < 0.7:  # a single row, sometimes with a position
            pos = rng.normal(size=3) * 1e6 + 6.4e6 if rng.random() < 0.2 else None
            threat, value = int(rng.integers(-1, 9)), float(rng.normal())
            unit, engagement = f"u{i % 3}", int(rng.integers(-1, 5))
            fast.add(t, "scan", threat, unit, "o", "", engagement, value, pos, "d")
            slow.add(np.array([t]), "scan", np.array([threat]), unit, "o", "", engagement,
                     np.array([value]), pos, "d")  # fmt: skip
        else:  # a batch
            ids = rng.integers(0, 9, int(rng.integers(0, 4)))
            fast.add(t, "track_drop", ids, owner="p")
            slow.add(t, "track_drop", ids, owner="p")
    assert fast.rows or fast.t_s  # the fast path was taken
    a, b = fast.table(), slow.table()
    assert a.num_rows == b.num_rows > 0
    for name in a.column_names:
        x, y = a[name].to_numpy(zero_copy_only=False), b[name].to_numpy(zero_copy_only=False)
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), name
    assert not fast.rows  # flushed by table()
