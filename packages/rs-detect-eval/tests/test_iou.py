from pathlib import Path

import numpy as np
import pytest
import shapely
from rs_detect_eval import poly_iou_matrix, read_dota_label
from rs_detect_eval.iou import (
    convex_quad_intersection_areas,
    hbb_overlap_pairs,
    pair_ious,
    polygon_geometries,
    polygon_hbbs,
    strictly_convex_ccw,
)
from rs_resolution import obb_to_poly

SQUARE = np.array([0, 0, 1, 0, 1, 1, 0, 1], dtype=float)


def _rotated_square(angle_deg: float) -> np.ndarray:
    theta = np.deg2rad(angle_deg)
    corners = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]])
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return (corners @ rotation.T + 0.5).reshape(8)


def test_hand_computed_ious() -> None:
    half = np.array([0.5, 0, 1.5, 0, 1.5, 1, 0.5, 1], dtype=float)
    far = SQUARE + 5
    touching = SQUARE + np.array([1, 0] * 4)
    matrix = poly_iou_matrix(SQUARE[None], np.stack([SQUARE, half, far, touching, _rotated_square(45)]))
    # the square and itself turned 45 degrees about its centre meet in a regular octagon: IoU = sqrt(2) / 2
    np.testing.assert_allclose(matrix[0], [1.0, 1 / 3, 0.0, 0.0, np.sqrt(2) / 2], atol=1e-12)


def test_bow_tie_from_real_data_is_read_as_its_convex_hull() -> None:
    path = Path(__file__).parent / "data" / "bad" / "dota_label_with_selfintersecting_quad.txt"
    bow_tie = read_dota_label(path).polygons[3]
    assert not shapely.is_valid(shapely.Polygon(bow_tie.reshape(4, 2)))
    hull = shapely.convex_hull(shapely.MultiPoint(bow_tie.reshape(4, 2)))
    assert polygon_geometries(bow_tie[None])[0].equals(hull)
    self_iou = poly_iou_matrix(bow_tie[None], bow_tie[None])
    assert self_iou[0, 0] == pytest.approx(1.0)  # DOTA_devkit's C routine gives 1.13 here


def test_degenerate_and_non_finite_polygons_overlap_nothing() -> None:
    line = np.array([0, 0, 1, 1, 2, 2, 3, 3], dtype=float)
    point = np.zeros(8)
    broken = np.array([0, 0, np.nan, 0, 1, 1, 0, 1])
    bad = np.stack([line, point, broken])
    matrix = poly_iou_matrix(bad, np.concatenate([bad, SQUARE[None]]))
    assert np.all(matrix == 0)


def test_matches_pairwise_shapely_on_random_rectangles() -> None:
    rng = np.random.default_rng(0)
    obb = np.c_[rng.uniform(0, 100, (60, 2)), rng.uniform(5, 40, (60, 2)), rng.uniform(-90, 90, 60)]
    polygons = obb_to_poly(obb)
    a, b = polygons[:25], polygons[25:]
    expected = np.zeros((25, 35))
    for i in range(25):
        for j in range(35):
            pa, pb = shapely.Polygon(a[i].reshape(4, 2)), shapely.Polygon(b[j].reshape(4, 2))
            inter = pa.intersection(pb).area
            expected[i, j] = inter / (pa.area + pb.area - inter)
    np.testing.assert_allclose(poly_iou_matrix(a, b), expected, atol=1e-12)
    assert (expected > 0).sum() > 10  # the prefilter had real work to do


def test_empty_inputs() -> None:
    assert poly_iou_matrix(np.zeros((0, 8)), SQUARE[None]).shape == (0, 1)
    assert poly_iou_matrix(SQUARE[None], np.zeros((0, 8))).shape == (1, 0)


def _shapely_ious(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of aligned rows through shapely alone, under the module's invalid-polygon rule."""
    geoms_a, geoms_b = polygon_geometries(a), polygon_geometries(b)
    inter = shapely.area(shapely.intersection(geoms_a, geoms_b))
    areas_a, areas_b = shapely.area(geoms_a), shapely.area(geoms_b)
    union = areas_a + areas_b - inter
    valid = (areas_a > 0) & (areas_b > 0) & (union > 0)
    return np.where(valid, inter / np.where(valid, union, 1.0), 0.0)


def _random_convex_quads(rng: np.random.Generator, count: int) -> np.ndarray:
    """Convex quads: four sorted angles on an ellipse, sheared, turned, moved; half of them clockwise."""
    angles = np.sort(rng.uniform(0, 2 * np.pi, (count, 4)), axis=1)
    points = np.stack([np.cos(angles), np.sin(angles)], axis=2) * rng.uniform(2, 60, (count, 1, 2))
    shear = np.eye(2) + rng.normal(0, 0.3, (count, 2, 2))
    points = points @ shear + rng.uniform(0, 4000, (count, 1, 2))
    points[::2] = points[::2, ::-1]
    return points.reshape(count, 8)


def _near_copies(rng: np.random.Generator, polygons: np.ndarray) -> np.ndarray:
    """Each polygon moved, scaled about its centre and turned a little: partial overlaps of every degree."""
    points = polygons.reshape(-1, 4, 2)
    centre = points.mean(axis=1, keepdims=True)
    theta = rng.normal(0, 0.3, len(points))
    rotation = np.stack([np.cos(theta), -np.sin(theta), np.sin(theta), np.cos(theta)], axis=1).reshape(-1, 2, 2)
    scale = rng.uniform(0.5, 1.5, (len(points), 1, 1))
    spread = np.ptp(points, axis=1, keepdims=True)
    moved = ((points - centre) * scale) @ rotation + centre + rng.normal(0, 0.3, (len(points), 1, 2)) * spread
    return moved.reshape(-1, 8)


def _special_pairs() -> tuple[np.ndarray, np.ndarray]:
    """Identical, nested, touching at an edge or a corner, sharing an edge, disjoint, degenerate and concave pairs."""
    rect = np.array([10, 10, 50, 10, 50, 30, 10, 30], dtype=float)
    diamond = np.array([30, 0, 60, 20, 30, 40, 0, 20], dtype=float)
    inner = np.array([20, 15, 40, 15, 40, 25, 20, 25], dtype=float)
    right = rect + np.array([40, 0] * 4)
    corner = rect + np.array([40, 20] * 4)
    half = np.array([30, 10, 70, 10, 70, 30, 30, 30], dtype=float)
    line = np.array([0, 0, 10, 10, 20, 20, 30, 30], dtype=float)
    repeated = np.array([10, 10, 50, 10, 50, 10, 10, 30], dtype=float)  # a triangle written as a quad
    concave = np.array([10, 10, 50, 10, 30, 20, 10, 30], dtype=float)
    bow_tie = np.array([10, 10, 50, 30, 50, 10, 10, 30], dtype=float)
    clockwise = rect.reshape(4, 2)[::-1].reshape(8)
    left = [rect, rect, inner, rect, rect, rect, rect, rect, rect, rect, rect, diamond, clockwise, rect + 1e3]
    right_ = [rect, inner, rect, right, corner, half, line, repeated, concave, bow_tie, diamond, diamond, rect, rect]
    return np.stack(left), np.stack(right_)


@pytest.fixture(scope="module")
def iou_cases(dota_gts) -> tuple[np.ndarray, np.ndarray]:
    """About 40k aligned polygon pairs: random, rotated rectangles, special cases and real DOTA labels."""
    rng = np.random.default_rng(20240601)
    quads = _random_convex_quads(rng, 8000)
    obb = np.c_[rng.uniform(0, 4000, (8000, 2)), rng.uniform(1, 80, (8000, 2)), rng.uniform(-90, 90, 8000)]
    rects = obb_to_poly(obb)
    real = np.concatenate([gt.polygons for gt in dota_gts])
    groups = np.concatenate([np.full(len(gt.polygons), i) for i, gt in enumerate(dota_gts)])
    rows, cols = hbb_overlap_pairs(polygon_hbbs(real), polygon_hbbs(real), groups, groups)  # neighbours and itself
    special_a, special_b = _special_pairs()
    a = np.concatenate([quads, rects, quads, rects, real, real[rows], special_a, quads[:2000]])
    b = np.concatenate([_near_copies(rng, quads), _near_copies(rng, rects), quads, rects, _near_copies(rng, real)])
    b = np.concatenate([b, real[cols], special_b, rects[:2000]])
    return a, b


def test_fast_iou_equals_shapely_on_every_pair(iou_cases) -> None:
    a, b = iou_cases
    index = np.arange(len(a))
    ours, reference = pair_ious(a, b, index, index), _shapely_ious(a, b)
    assert np.abs(ours - reference).max() <= 1e-12
    assert (reference > 0).sum() > len(a) // 2 and (reference == 1).sum() > 1000 and (reference == 0).sum() > 100


def test_clipping_path_takes_most_pairs_and_its_areas_match_shapely(iou_cases) -> None:
    a, b = iou_cases
    (convex_a, points_a), (convex_b, points_b) = strictly_convex_ccw(a), strictly_convex_ccw(b)
    fast = convex_a & convex_b
    assert fast.mean() > 0.95
    ours = convex_quad_intersection_areas(points_a[fast], points_b[fast])
    geoms_a, geoms_b = polygon_geometries(a[fast]), polygon_geometries(b[fast])
    reference = shapely.area(shapely.intersection(geoms_a, geoms_b))
    scale = np.minimum(shapely.area(geoms_a), shapely.area(geoms_b))
    assert np.all(np.abs(ours - reference) <= 1e-12 * scale)


def test_clipping_with_shared_vertices_and_collinear_edges() -> None:
    # integer quads sharing a vertex and nearly collinear edges: rounding once made the clipped polygon non-convex and
    # the fixed-width buffer overflowed into the next pair (IoU 0.2479 instead of shapely's 0.79022...)
    a = np.array([[108, 182, 108, 177, 152, 181, 152, 186], [84, 273, 81, 271, 113, 235, 116, 237]], dtype=float)
    b = np.array([[107, 183, 108, 178, 152, 181, 151, 186], [84, 273, 82, 270, 113, 235, 115, 237]], dtype=float)
    index = np.arange(2)
    np.testing.assert_allclose(pair_ious(a, b, index, index), _shapely_ious(a, b), rtol=0, atol=1e-12)
    assert strictly_convex_ccw(a)[0].all() and strictly_convex_ccw(b)[0].all()  # the fast path took them
