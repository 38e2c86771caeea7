"""Rotated IoU of 4-point polygons: shapely 2, vectorised, with an axis-aligned prefilter.

Rule for invalid polygons (documented, applied to every polygon before any IoU):
- a polygon with a non-finite coordinate has no area;
- a self-intersecting quad (a "bow-tie": the vertices listed in the wrong order) is replaced by the convex hull of its
  four vertices, the quadrilateral the annotator meant;
- a polygon with zero area (all vertices collinear or repeated) overlaps nothing: its IoU is 0 against every polygon,
  itself included.
So IoU always lies in [0, 1] (DOTA_devkit's C routine returns values above 1 for a bow-tie against itself).
"""

from __future__ import annotations

import numpy as np
import shapely
from rs_resolution import obb_to_poly, poly_to_obb


def _cross_signs(polygons: np.ndarray) -> np.ndarray:
    """Cross products of consecutive edges at each of the 4 vertices, shape (N, 4)."""
    points = polygons.reshape(-1, 4, 2)
    edges = np.roll(points, -1, axis=1) - points
    following = np.roll(edges, -1, axis=1)
    return edges[..., 0] * following[..., 1] - edges[..., 1] * following[..., 0]


def polygon_geometries(polygons: np.ndarray) -> np.ndarray:
    """Shapely polygons for (N, 8) vertex arrays, with the invalid-polygon rule of this module applied."""
    polygons = np.asarray(polygons, dtype=np.float64).reshape(-1, 8)
    finite = np.isfinite(polygons).all(axis=1)
    geometries = np.full(len(polygons), shapely.Polygon(), dtype=object)
    if not finite.any():
        return geometries
    rings = polygons[finite].reshape(-1, 4, 2)
    built = shapely.polygons(rings)
    crosses = _cross_signs(polygons[finite])
    convex = (crosses >= 0).all(axis=1) | (crosses <= 0).all(axis=1)
    suspect = np.flatnonzero(~convex)
    if len(suspect):
        invalid = suspect[~shapely.is_valid(built[suspect])]
        built[invalid] = shapely.convex_hull(shapely.multipoints(rings[invalid]))
    geometries[finite] = built
    return geometries


def min_area_rectangles(polygons: np.ndarray) -> np.ndarray:
    """Minimum-area rectangles of (N, 8) polygons, as polygons; rows with a non-finite value are kept as they are."""
    polygons = np.asarray(polygons, dtype=np.float64).reshape(-1, 8)
    finite = np.isfinite(polygons).all(axis=1)
    result = polygons.copy()
    if finite.any():
        result[finite] = obb_to_poly(poly_to_obb(polygons[finite]))
    return result


def polygon_hbbs(polygons: np.ndarray) -> np.ndarray:
    """Axis-aligned bounds (N, 4) x_min, y_min, x_max, y_max of (N, 8) polygons."""
    points = np.asarray(polygons, dtype=np.float64).reshape(-1, 4, 2)
    return np.concatenate([points.min(axis=1), points.max(axis=1)], axis=1)


def paired_iou(geoms_a: np.ndarray, geoms_b: np.ndarray, areas_a: np.ndarray, areas_b: np.ndarray) -> np.ndarray:
    """IoU of aligned geometry pairs given their areas; pairs with a zero-area member get 0."""
    inter = shapely.area(shapely.intersection(geoms_a, geoms_b))
    union = areas_a + areas_b - inter
    valid = (areas_a > 0) & (areas_b > 0) & (union > 0)
    return np.where(valid, inter / np.where(valid, union, 1.0), 0.0)


def hbb_overlap_pairs(
    hbbs_a: np.ndarray, hbbs_b: np.ndarray, groups_a: np.ndarray | None = None, groups_b: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i, j) whose axis-aligned boxes overlap with positive area (and share a group when given).

    Only such pairs can have a positive polygon IoU. Groups (e.g. image and class ids) are kept apart by shifting each
    group's boxes to its own strip of the x axis before an STR-tree query.
    """
    if len(hbbs_a) == 0 or len(hbbs_b) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    shift_a = np.zeros(len(hbbs_a))
    shift_b = np.zeros(len(hbbs_b))
    if groups_a is not None and groups_b is not None:
        finite = np.concatenate([hbbs_a[np.isfinite(hbbs_a).all(1)], hbbs_b[np.isfinite(hbbs_b).all(1)]])
        span = (finite[:, 2].max() - finite[:, 0].min() + 1.0) * 2.0 if len(finite) else 1.0
        shift_a = np.asarray(groups_a, dtype=np.float64) * span
        shift_b = np.asarray(groups_b, dtype=np.float64) * span
    finite_a = np.flatnonzero(np.isfinite(hbbs_a).all(axis=1))
    finite_b = np.flatnonzero(np.isfinite(hbbs_b).all(axis=1))
    boxes_a = shapely.box(*(hbbs_a[finite_a].T + shift_a[finite_a] * np.array([[1], [0], [1], [0]])))
    boxes_b = shapely.box(*(hbbs_b[finite_b].T + shift_b[finite_b] * np.array([[1], [0], [1], [0]])))
    query_a, query_b = shapely.STRtree(boxes_b).query(boxes_a)
    index_a, index_b = finite_a[query_a], finite_b[query_b]
    a, b = hbbs_a[index_a], hbbs_b[index_b]
    positive = (np.minimum(a[:, 2], b[:, 2]) > np.maximum(a[:, 0], b[:, 0])) & (
        np.minimum(a[:, 3], b[:, 3]) > np.maximum(a[:, 1], b[:, 1])
    )
    if groups_a is not None and groups_b is not None:
        positive &= np.asarray(groups_a)[index_a] == np.asarray(groups_b)[index_b]
    return index_a[positive].astype(np.int64), index_b[positive].astype(np.int64)


def poly_iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix (N, M) between polygons a (N, 8) and b (M, 8) in the same pixel space."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 8)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 8)
    result = np.zeros((len(a), len(b)), dtype=np.float64)
    rows, cols = hbb_overlap_pairs(polygon_hbbs(a), polygon_hbbs(b))
    if len(rows):
        geoms_a, geoms_b = polygon_geometries(a), polygon_geometries(b)
        areas_a, areas_b = shapely.area(geoms_a), shapely.area(geoms_b)
        result[rows, cols] = paired_iou(geoms_a[rows], geoms_b[cols], areas_a[rows], areas_b[cols])
    return result
