"""Defended assets in the theatre's east-north frame, and which asset a point falls in.

Point assets are discs; polygon assets are tested with the even-odd rule, only for points
inside the circle that holds the polygon. Where several assets contain a point, the most
valuable one counts (the first of equal value).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
BOOL = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class AssetGeometry:
    """Defended assets in the theatre's local east-north frame.

    Attributes
    ----------
    centre_en_m : (a, 2) reference points, m.
    radius_m : (a,) radius of point assets (0 for polygons), m.
    polygons : tuple of (v, 2) vertex arrays in EN metres (None for point assets).
    extent_m : (a,) radius of the circle about the reference point that holds the asset.
    value : (a,) relative value.
    origin_m : (3,) ECEF position of the theatre origin (on the ellipsoid).
    rot : (2, 3) east and north axes of the theatre frame in ECEF.
    vertices_m : (V, 2) every polygon's vertices, stacked; asset ``a`` owns rows
        ``vertex_offset[a]:vertex_offset[a + 1]`` (none for a point asset).
    vertex_offset : (a + 1,) row ranges of ``vertices_m``.
    """

    centre_en_m: F64
    radius_m: F64
    polygons: tuple[F64 | None, ...]
    extent_m: F64
    value: F64
    origin_m: F64
    rot: F64
    vertices_m: F64
    vertex_offset: I64

    @staticmethod
    def of(
        centre_en_m: F64,
        radius_m: F64,
        polygons: tuple[F64 | None, ...],
        extent_m: F64,
        value: F64,
        origin_m: F64,
        rot: F64,
    ) -> AssetGeometry:
        """The geometry with its polygons also stacked for the compiled tests."""
        rings = [np.zeros((0, 2)) if p is None else np.asarray(p, np.float64) for p in polygons]
        return AssetGeometry(
            centre_en_m=np.ascontiguousarray(centre_en_m, dtype=np.float64).reshape(-1, 2),
            radius_m=np.ascontiguousarray(radius_m, dtype=np.float64),
            polygons=polygons,
            extent_m=np.ascontiguousarray(extent_m, dtype=np.float64),
            value=np.ascontiguousarray(value, dtype=np.float64),
            origin_m=np.ascontiguousarray(origin_m, dtype=np.float64),
            rot=np.ascontiguousarray(rot, dtype=np.float64),
            vertices_m=np.ascontiguousarray(np.concatenate([*rings, np.zeros((0, 2))])),
            vertex_offset=np.concatenate([[0], np.cumsum([r.shape[0] for r in rings])]).astype(
                np.int64
            ),
        )

    def to_en(self, pos_m: F64) -> F64:
        """ECEF points (..., 3) to theatre east-north, m."""
        return np.asarray((pos_m - self.origin_m) @ self.rot.T)

    def hit(self, pos_m: F64, margin_m: float = 0.0) -> I64:
        """Index of the asset each ground point (k, 3) falls in (-1 for open ground).

        When several contain a point, the most valuable one is reported.
        """
        return self.hit_en(self.to_en(pos_m), margin_m)

    def hit_en(self, en: F64, margin_m: float = 0.0) -> I64:
        """As :meth:`hit`, for points (k, 2) already in the theatre's east-north frame."""
        out = np.empty(en.shape[0], dtype=np.int64)
        hit_kernel(
            np.ascontiguousarray(en, dtype=np.float64).reshape(-1, 2),
            self.centre_en_m,
            self.radius_m,
            self.extent_m,
            self.value,
            self.vertices_m,
            self.vertex_offset,
            float(margin_m),
            out,
        )
        return out


@njit(cache=True)
def in_polygon(x: float, y: float, vertices_m: F64, lo: int, hi: int) -> bool:
    """Even-odd rule: whether the point (x, y) lies in the polygon of rows ``lo:hi`` of
    ``vertices_m`` (closed implicitly: the last vertex joins the first)."""
    inside = False
    for i in range(lo, hi):
        j = i + 1 if i + 1 < hi else lo
        x1, y1 = vertices_m[i, 0], vertices_m[i, 1]
        x2, y2 = vertices_m[j, 0], vertices_m[j, 1]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


@njit(cache=True)
def asset_at(
    x: float,
    y: float,
    centre_en_m: F64,
    radius_m: F64,
    extent_m: F64,
    value: F64,
    vertices_m: F64,
    vertex_offset: I64,
    margin_m: float,
) -> int:
    """Index of the asset the point (x, y) falls in (-1: open ground; the most valuable,
    then the first, where several hold it). A point asset holds the points within its
    radius plus ``margin_m`` of its centre; a polygon asset (``vertex_offset[a + 1] >
    vertex_offset[a]``) the points of its polygon."""
    best, best_val = -1, -math.inf
    for a in range(value.shape[0]):
        dist = math.hypot(x - centre_en_m[a, 0], y - centre_en_m[a, 1])
        lo, hi = vertex_offset[a], vertex_offset[a + 1]
        if hi == lo:
            inside = dist <= radius_m[a] + margin_m
        else:
            inside = dist <= extent_m[a] and in_polygon(x, y, vertices_m, lo, hi)
        if inside and value[a] > best_val:
            best, best_val = a, value[a]
    return best


@njit(cache=True)
def hit_kernel(
    en_m: F64,
    centre_en_m: F64,
    radius_m: F64,
    extent_m: F64,
    value: F64,
    vertices_m: F64,
    vertex_offset: I64,
    margin_m: float,
    out: I64,
) -> None:
    """:func:`asset_at` of each point (k, 2), into ``out`` (k,)."""
    for k in range(en_m.shape[0]):
        out[k] = asset_at(
            en_m[k, 0],
            en_m[k, 1],
            centre_en_m,
            radius_m,
            extent_m,
            value,
            vertices_m,
            vertex_offset,
            margin_m,
        )
