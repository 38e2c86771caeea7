"""Rotated IoU of 4-point polygons, vectorised, with an axis-aligned prefilter: the `valid` rule and the fast path.

Candidate pairs are those whose axis-aligned boxes overlap. When both polygons of a pair are strictly convex quads
(every real box: rectangles, rotated rectangles, convex annotations), the intersection is computed in numpy for all such
pairs at once: Sutherland–Hodgman clipping of one quad by the four edges of the other, then the shoelace area, in
coordinates centred on the pair. Every other pair (a concave, repaired or degenerate polygon) goes through shapely 2;
the two paths agree to 1e-12 in IoU.

Rule for invalid polygons (the `valid` rule, applied to every polygon before any IoU):
- a polygon with a non-finite coordinate has no area;
- a self-intersecting quad (a "bow-tie": the vertices listed in the wrong order) is replaced by the convex hull of its
  four vertices, the quadrilateral the annotator meant;
- a polygon with zero area (all vertices collinear or repeated) overlaps nothing: its IoU is 0 against every polygon,
  itself included.
So IoU always lies in [0, 1]. DOTA_devkit's C routine does otherwise (values above 1 or below 0 for a bow-tie, NaN for
two zero-area quads); `polyiou.py` reproduces it for the `devkit` rule.
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


def polygon_defects(polygons: np.ndarray) -> dict[str, int]:
    """Counts of the polygons (N, 8) the rules disagree on: `non_finite`, `degenerate` (zero area even as a convex
    hull) and `bow_tie` (self-intersecting, with area)."""
    polygons = np.asarray(polygons, dtype=np.float64).reshape(-1, 8)
    finite = np.isfinite(polygons).all(axis=1)
    points = polygons[finite]
    crosses = _cross_signs(points)
    convex = (crosses >= 0).all(axis=1) | (crosses <= 0).all(axis=1)
    areas = np.empty(len(points))
    areas[convex] = np.abs(shoelace(points[convex].reshape(-1, 4, 2)))  # a convex quad is its own hull
    areas[~convex] = shapely.area(polygon_geometries(points[~convex]))
    suspect = points[~convex & (areas > 0)]
    bow_ties = int((~shapely.is_valid(shapely.polygons(suspect.reshape(-1, 4, 2)))).sum())
    return {"bow_tie": bow_ties, "degenerate": int((areas == 0).sum()), "non_finite": int((~finite).sum())}


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


def strictly_convex_ccw(polygons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mask of the finite, strictly convex quads of (N, 8) polygons, and their vertices (N, 4, 2) counter-clockwise."""
    finite = np.flatnonzero(np.isfinite(polygons).all(axis=1))
    crosses = _cross_signs(polygons[finite])
    clockwise, convex = np.zeros(len(polygons), dtype=bool), np.zeros(len(polygons), dtype=bool)
    clockwise[finite] = (crosses < 0).all(axis=1)
    convex[finite] = clockwise[finite] | (crosses > 0).all(axis=1)
    points = polygons.reshape(-1, 4, 2).copy()
    points[clockwise] = points[clockwise, ::-1]
    return convex, points


def shoelace(points: np.ndarray) -> np.ndarray:
    """Signed areas of closed polygons (K, M, 2); a vertex repeated in place adds nothing."""
    following = np.roll(points, -1, axis=1)
    return 0.5 * (points[..., 0] * following[..., 1] - points[..., 1] * following[..., 0]).sum(axis=1)


def convex_quad_intersection_areas(subject: np.ndarray, clip: np.ndarray) -> np.ndarray:
    """Intersection areas of aligned pairs of counter-clockwise convex quads (K, 4, 2), by Sutherland–Hodgman clipping.

    The clipped polygons of a block share one width (the most vertices any of them has), unused slots filled with
    the polygon's first vertex (a repeated vertex changes neither the clipping nor the area).
    """
    if len(subject) == 0:
        return np.zeros(0)
    origin = clip.mean(axis=1, keepdims=True)
    polygon, clip = subject - origin, clip - origin
    for start, end in zip(clip.transpose(1, 0, 2), np.roll(clip, -1, axis=1).transpose(1, 0, 2), strict=True):
        edge = (end - start)[:, None, :]
        offset = polygon - start[:, None, :]
        side = edge[..., 0] * offset[..., 1] - edge[..., 1] * offset[..., 0]  # >= 0: inside (left of the edge)
        following, side_following = np.roll(polygon, -1, axis=1), np.roll(side, -1, axis=1)
        inside = side >= 0
        crossing = inside != (side_following >= 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(crossing, side / (side - side_following), 0.0)
        cut = polygon + t[..., None] * (following - polygon)
        # each vertex emits itself when inside, then the edge's crossing point when the edge crosses the clip line
        candidates = np.stack([polygon, cut], axis=2).reshape(len(polygon), -1, 2)
        keep = np.stack([inside, crossing], axis=2).reshape(len(polygon), -1)
        counts = keep.sum(axis=1)
        width = max(int(counts.max()), 1)  # rounding can make a clipped polygon slightly non-convex
        # the kept points moved to the front in order, then the first of them repeated into the unused slots
        order = np.argsort(~keep, axis=1, kind="stable")[:, :width]
        order = np.where(np.arange(width) < counts[:, None], order, order[:, :1])
        polygon = np.take_along_axis(candidates, order[..., None], axis=1)
    return shoelace(polygon)


def pair_ious(polygons_a: np.ndarray, polygons_b: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """IoU of the polygon pairs (polygons_a[rows], polygons_b[cols]) of (N, 8) and (M, 8) arrays.

    Pairs of strictly convex quads take the numpy clipping path, the rest shapely; the invalid-polygon rule of this
    module holds on both, and a pair with a zero-area member gets 0.
    """
    polygons_a = np.asarray(polygons_a, dtype=np.float64).reshape(-1, 8)
    polygons_b = np.asarray(polygons_b, dtype=np.float64).reshape(-1, 8)
    convex_a, points_a = strictly_convex_ccw(polygons_a)
    convex_b, points_b = strictly_convex_ccw(polygons_b)
    areas_a, areas_b = _areas(polygons_a, convex_a, points_a), _areas(polygons_b, convex_b, points_b)
    inter = np.zeros(len(rows), dtype=np.float64)
    fast = convex_a[rows] & convex_b[cols]
    inter[fast] = convex_quad_intersection_areas(points_a[rows[fast]], points_b[cols[fast]])
    slow = np.flatnonzero(~fast)
    if len(slow):
        geoms_a = polygon_geometries(polygons_a[rows[slow]])
        geoms_b = polygon_geometries(polygons_b[cols[slow]])
        inter[slow] = shapely.area(shapely.intersection(geoms_a, geoms_b))
    a, b = areas_a[rows], areas_b[cols]
    union = a + b - inter
    valid = (a > 0) & (b > 0) & (union > 0)
    return np.where(valid, inter / np.where(valid, union, 1.0), 0.0)


def _areas(polygons: np.ndarray, convex: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Areas of (N, 8) polygons under this module's rule: shoelace for strictly convex quads, shapely for the rest."""
    areas = np.empty(len(polygons))
    areas[convex] = shoelace(points[convex] - points[convex, :1])
    areas[~convex] = shapely.area(polygon_geometries(polygons[~convex]))
    return areas


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
    result[rows, cols] = pair_ious(a, b, rows, cols)
    return result
