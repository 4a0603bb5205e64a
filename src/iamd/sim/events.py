"""Event kinds, their priorities, and the event log.

The engine orders events by ``(t_s, priority, seq)``: at one instant physical
outcomes come first, then perception, then decisions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from iamd.geo import ecef2geodetic

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


ALIVE, FAILED, INTERCEPTED, IMPACT_ASSET, IMPACT_OPEN = 0, 1, 2, 3, 4
"""Fate codes of a threat (ALIVE until it ends)."""
FATE_NAMES = ("airborne_at_end", "failed", "intercepted", "impacted_asset", "impacted_open")
"""Summary names of the fate codes, indexed by code."""


class Kind(IntEnum):
    """Scheduled event kinds; the value is the priority at equal times."""

    IMPACT = 0
    FAIL = 1
    INTERCEPT = 2
    KILL_ASSESSMENT = 3
    RELOAD = 4
    AIRCRAFT = 5
    SCAN = 6
    LAUNCH_WARNING = 7
    REPORT = 8
    SHARE = 9
    DELIVER = 10
    STATUS = 11
    SAMPLE = 12
    C2_CYCLE = 13
    END = 14


@dataclass(slots=True)
class EventLog:
    """Rows of ``events.parquet``, appended in processing order (single rows or batches)."""

    t_s: list[F64] = field(default_factory=list)
    kind: list[list[str]] = field(default_factory=list)
    threat: list[I64] = field(default_factory=list)
    unit: list[list[str]] = field(default_factory=list)
    owner: list[list[str]] = field(default_factory=list)
    interceptor: list[list[str]] = field(default_factory=list)
    engagement: list[I64] = field(default_factory=list)
    value: list[F64] = field(default_factory=list)
    ecef_m: list[F64] = field(default_factory=list)
    detail: list[list[str]] = field(default_factory=list)
    rows: list[tuple[float, str, int, str, str, str, int, float, str]] = field(default_factory=list)
    """Single rows without a position, held as Python values until :meth:`flush` turns
    them into one chunk (building arrays for each would cost more than the row)."""

    def add(
        self,
        t_s: float | F64,
        kind: str,
        threat: int | I64 = -1,
        unit: str = "",
        owner: str = "",
        interceptor: str = "",
        engagement: int = -1,
        value: float | F64 = np.nan,
        ecef_m: F64 | None = None,
        detail: str = "",
    ) -> None:
        """Append one row, or a batch when ``threat`` is an array."""
        if ecef_m is None and np.ndim(threat) == 0 and np.ndim(t_s) == 0 and np.ndim(value) == 0:
            self.rows.append(
                (float(t_s), kind, int(threat), unit, owner, interceptor, int(engagement),
                 float(value), detail)
            )  # fmt: skip
            return
        self.flush()
        ids = np.atleast_1d(np.asarray(threat, dtype=np.int64))
        k = ids.shape[0]
        if k == 0:
            return
        self.t_s.append(_column(t_s, k))
        self.kind.append([kind] * k)
        self.threat.append(ids)
        self.unit.append([unit] * k)
        self.owner.append([owner] * k)
        self.interceptor.append([interceptor] * k)
        self.engagement.append(np.full(k, engagement, dtype=np.int64))
        self.value.append(_column(value, k))
        pos = np.full((k, 3), np.nan) if ecef_m is None else np.asarray(ecef_m).reshape(k, 3)
        self.ecef_m.append(pos)
        self.detail.append([detail] * k)

    def flush(self) -> None:
        """Append the single rows held in :attr:`rows` as one chunk, in their order."""
        if not self.rows:
            return
        t_s, kind, threat, unit, owner, interceptor, engagement, value, detail = zip(
            *self.rows, strict=True
        )
        self.t_s.append(np.array(t_s, dtype=np.float64))
        self.kind.append(list(kind))
        self.threat.append(np.array(threat, dtype=np.int64))
        self.unit.append(list(unit))
        self.owner.append(list(owner))
        self.interceptor.append(list(interceptor))
        self.engagement.append(np.array(engagement, dtype=np.int64))
        self.value.append(np.array(value, dtype=np.float64))
        self.ecef_m.append(np.full((len(self.rows), 3), np.nan))
        self.detail.append(list(detail))
        self.rows = []

    def table(self) -> pa.Table:
        """The log as an Arrow table in time order (ties in processing order), positions as
        lat/lon/alt."""
        self.flush()
        if not self.t_s:
            return pa.table({"t_s": pa.array([], pa.float64()), "kind": pa.array([], pa.string())})
        t = np.concatenate(self.t_s)
        order = np.argsort(t, kind="stable")
        pos = np.concatenate(self.ecef_m)[order]
        lat, lon, alt = ecef2geodetic(pos)

        def flat(rows: list[list[str]]) -> pa.Array:
            strings = np.array([x for r in rows for x in r], dtype=object)[order]
            return pa.array(strings.tolist(), pa.string()).dictionary_encode()

        return pa.table(
            {
                "t_s": t[order],
                "kind": flat(self.kind),
                "threat": np.concatenate(self.threat)[order].astype(np.int32),
                "unit": flat(self.unit),
                "owner": flat(self.owner),
                "interceptor": flat(self.interceptor),
                "engagement": np.concatenate(self.engagement)[order].astype(np.int32),
                "value": np.concatenate(self.value)[order],
                "lat_deg": np.degrees(lat),
                "lon_deg": np.degrees(lon),
                "alt_m": alt,
                "detail": flat(self.detail),
            }
        )


def _column(v: float | F64, k: int) -> F64:
    """``v`` as a new float column of ``k`` rows (a scalar repeated)."""
    if isinstance(v, np.ndarray) and v.ndim:
        return np.array(np.broadcast_to(v.astype(np.float64, copy=False), (k,)))
    return np.full(k, float(v))
