"""Test helpers: a run directory's flights and engagement events grouped by engagement.

Plain NumPy over the parquet files (the exports' own grouping, ``iamd.export.paths``, is
what the tests check, so it is not used here).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

LLA = ("lat_deg", "lon_deg", "alt_m")
END_KINDS = ("intercept", "miss", "miss_target_gone")


def _column(table, name: str) -> np.ndarray:
    return table.column(name).to_numpy(zero_copy_only=False)


def flights(run_dir: Path) -> dict[int, np.ndarray]:
    """interceptors.parquet by engagement: ``(t_s, lat, lon, alt)`` rows in time order.

    A row at the same time as the next one of its engagement (a flight that ended at a
    midcourse update is recorded twice) is dropped: the later row is the end.
    """
    tab = pq.read_table(run_dir / "interceptors.parquet")
    eng = _column(tab, "engagement").astype(np.int64)
    rows = np.column_stack([_column(tab, c) for c in ("t_s", *LLA)]).astype(float)
    order = np.lexsort((np.arange(eng.size), rows[:, 0], eng))  # stable in file order
    eng, rows = eng[order], rows[order]
    keep = np.ones(eng.size, dtype=bool)
    keep[:-1] = (eng[1:] != eng[:-1]) | (rows[1:, 0] != rows[:-1, 0])
    eng, rows = eng[keep], rows[keep]
    cuts = np.flatnonzero(np.diff(eng)) + 1
    return {int(g[0]): r for g, r in zip(np.split(eng, cuts), np.split(rows, cuts), strict=True)}


def launch_and_end(run_dir: Path) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """``(t_s, lat, lon, alt)`` of each engagement's launch event and of its (last) end event."""
    ev = pq.read_table(run_dir / "events.parquet")
    kind = np.array(ev.column("kind").cast("string").to_pylist())
    eng = _column(ev, "engagement")
    rows = np.column_stack([_column(ev, c) for c in ("t_s", *LLA)]).astype(float)
    launch = {
        int(e): rows[k] for k in np.flatnonzero(kind == "launch_interceptor") for e in [eng[k]]
    }
    end: dict[int, np.ndarray] = {}
    for k in np.flatnonzero(np.isin(kind, END_KINDS)):  # events are in time order: last wins
        end[int(eng[k])] = rows[k]
    return {e: (launch[e], end[e]) for e in end}
