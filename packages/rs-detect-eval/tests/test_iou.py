from pathlib import Path

import numpy as np
import pytest
import shapely
from rs_detect_eval import poly_iou_matrix, read_dota_label
from rs_detect_eval.iou import polygon_geometries

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
    from rs_resolution import obb_to_poly

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
