"""Box geometry: conversions against OpenCV, canonical order, area, clipping against shapely, validity and repair."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from rs_resolution import (
    CropWindow,
    InvalidGeometryError,
    canonical_poly,
    check_poly,
    clip_poly,
    hbb_to_obb,
    hbb_to_poly,
    normalize_obb,
    obb_to_hbb,
    obb_to_poly,
    poly_area,
    poly_to_hbb,
    poly_to_obb,
)

DATA = Path(__file__).parent / "data"


def read_dota_polygons(path: Path) -> np.ndarray:
    """The quads of a DOTA label file (header lines skipped)."""
    rows = [line.split() for line in path.read_text().splitlines()]
    return np.array([[float(v) for v in row[:8]] for row in rows if len(row) >= 9], dtype=np.float64)


@pytest.fixture(scope="module")
def dota_polygons() -> np.ndarray:
    return np.concatenate([read_dota_polygons(DATA / "P1888.txt"), read_dota_polygons(DATA / "P1088.txt")])


def cv2_obb(poly: np.ndarray) -> np.ndarray:
    """cv2.minAreaRect of one polygon, brought to the normalised form."""
    (cx, cy), (w, h), angle = cv2.minAreaRect(poly.reshape(4, 2).astype(np.float32))
    return normalize_obb([cx, cy, w, h, angle])


def same_rectangle(a: np.ndarray, b: np.ndarray, tol: float) -> bool:
    """Two OBBs describe the same rectangle (corner sets equal up to ``tol``)."""
    pa, pb = obb_to_poly(a).reshape(4, 2), obb_to_poly(b).reshape(4, 2)
    return all(np.min(np.hypot(*(pb - corner).T)) <= tol for corner in pa)


def encloses(obb: np.ndarray, poly: np.ndarray, tol: float) -> bool:
    rect = shapely.Polygon(obb_to_poly(obb).reshape(4, 2)).buffer(tol)
    return bool(rect.contains(shapely.MultiPoint(poly.reshape(4, 2))))


def assert_matches_cv2(polys: np.ndarray, tol: float) -> int:
    """Enclosing, with the area of cv2.minAreaRect; returns how many are also cv2's very rectangle."""
    ours = poly_to_obb(polys)
    identical = 0
    for poly, obb in zip(polys, ours, strict=True):
        reference = cv2_obb(poly)
        assert obb[2] * obb[3] == pytest.approx(reference[2] * reference[3], rel=1e-4, abs=1e-3)
        assert encloses(obb, poly, tol)
        identical += same_rectangle(obb, reference, tol)
    return identical


def test_poly_to_obb_matches_cv2_on_real_dota_polygons(dota_polygons: np.ndarray) -> None:
    assert len(dota_polygons) > 90
    # a right trapezoid has two rectangles of equal area; cv2 may pick the other one than our smallest |angle|
    assert assert_matches_cv2(dota_polygons, tol=1e-3) >= 0.9 * len(dota_polygons)


def test_poly_to_obb_matches_cv2_on_random_quads() -> None:
    # random quads are often triangles plus an inner point; a triangle's rectangles tie on area, so only area counts
    rng = np.random.default_rng(7)
    assert_matches_cv2(rng.uniform(-500, 1500, size=(2000, 8)), tol=1e-2)


def test_obb_to_poly_matches_cv2_box_points() -> None:
    rng = np.random.default_rng(8)
    obbs = np.column_stack([rng.uniform(0, 1000, (500, 2)), rng.uniform(1, 300, (500, 2)), rng.uniform(-180, 180, 500)])
    ours = obb_to_poly(obbs).reshape(-1, 4, 2)
    for obb, corners in zip(obbs, ours, strict=True):
        reference = cv2.boxPoints(((obb[0], obb[1]), (obb[2], obb[3]), obb[4]))
        np.testing.assert_allclose(corners, reference, atol=1e-3)


def test_normalised_form() -> None:
    obb = normalize_obb([[10, 20, 4, 8, 30], [0, 0, 8, 4, 90], [0, 0, 8, 4, -90], [0, 0, 5, 5, 60], [0, 0, 8, 4, 270]])
    np.testing.assert_allclose(obb[:, 2:], [[8, 4, -60], [8, 4, -90], [8, 4, -90], [5, 5, -30], [8, 4, -90]])


def test_hbb_round_trips() -> None:
    hbb = np.array([[10.0, 20, 50, 30], [0, 0, 5, 5]])
    np.testing.assert_array_equal(poly_to_hbb(hbb_to_poly(hbb)), hbb)
    np.testing.assert_allclose(obb_to_hbb(hbb_to_obb(hbb)), hbb, atol=1e-9)
    np.testing.assert_allclose(hbb_to_obb(hbb), [[30, 25, 40, 10, 0], [2.5, 2.5, 5, 5, 0]], atol=1e-9)
    np.testing.assert_array_equal(hbb_to_poly(hbb[0]), [10, 20, 50, 20, 50, 30, 10, 30])


obb_strategy = st.tuples(
    st.floats(-1e4, 1e4),
    st.floats(-1e4, 1e4),
    st.floats(0.5, 2000),
    st.floats(0.5, 2000),
    st.floats(-720, 720),
)


@settings(max_examples=300, deadline=None)
@given(obb_strategy)
def test_obb_poly_round_trip(obb: tuple[float, ...]) -> None:
    normal = normalize_obb(obb)
    assert normal[2] >= normal[3]
    assert -90 <= normal[4] < 90
    back = poly_to_obb(obb_to_poly(obb))
    assert back[2] >= back[3] and -90 <= back[4] < 90
    np.testing.assert_allclose(back[:4], normal[:4], atol=1e-6 * max(1.0, abs(obb[0]), abs(obb[1]), obb[2]))
    assert same_rectangle(back, normal, tol=1e-6 * max(1.0, abs(obb[0]), abs(obb[1]), obb[2]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-1000, 1000), min_size=8, max_size=8), st.integers(0, 3), st.booleans())
def test_poly_to_obb_ignores_vertex_order(values: list[int], shift: int, reverse: bool) -> None:
    pts = np.array(values, dtype=float).reshape(4, 2)
    reordered = np.roll(pts[::-1] if reverse else pts, shift, axis=0)
    a, b = poly_to_obb(pts.reshape(8)), poly_to_obb(reordered.reshape(8))
    np.testing.assert_allclose(a[:4], b[:4], atol=1e-6)
    assert same_rectangle(a, b, tol=1e-6)


def test_poly_to_obb_prefers_the_upright_rectangle_among_ties() -> None:
    right_trapezoid = np.array([248.0, 666, 248, 687, 191, 685, 192, 669])  # from P1888.txt: ties at 0 and 2 degrees
    np.testing.assert_allclose(poly_to_obb(right_trapezoid), [219.5, 676.5, 57, 21, 0], atol=1e-9)


quad_strategy = st.lists(st.integers(-1000, 1000), min_size=8, max_size=8).map(lambda v: np.array(v, dtype=float))


@settings(max_examples=300, deadline=None)
@given(quad_strategy)
def test_canonical_poly_properties(poly: np.ndarray) -> None:
    assume(shapely.Polygon(poly.reshape(4, 2)).is_valid and poly_area(poly) > 0)
    canon = canonical_poly(poly)
    pts = canon.reshape(4, 2)
    # same vertex set, same area, same cyclic neighbours
    assert sorted(map(tuple, pts)) == sorted(map(tuple, poly.reshape(4, 2)))
    assert poly_area(canon) == pytest.approx(poly_area(poly))
    assert shapely.Polygon(pts).equals(shapely.Polygon(poly.reshape(4, 2)))
    # starts at the smallest (y, x), clockwise on screen: shapely measures orientation with y up, so "ccw" there
    assert (pts[0, 1], pts[0, 0]) == min((y, x) for x, y in pts)
    assert shapely.Polygon(pts).exterior.is_ccw
    np.testing.assert_array_equal(canonical_poly(canon), canon)


def test_canonical_poly_vectorised() -> None:
    polys = np.array([[0.0, 10, 10, 10, 10, 0, 0, 0], [5, 0, 10, 5, 5, 10, 0, 5]])
    np.testing.assert_array_equal(canonical_poly(polys), [[0, 0, 10, 0, 10, 10, 0, 10], [5, 0, 10, 5, 5, 10, 0, 5]])


def test_poly_area_matches_shapely(dota_polygons: np.ndarray) -> None:
    expected = [shapely.Polygon(p.reshape(4, 2)).area for p in dota_polygons]
    np.testing.assert_allclose(poly_area(dota_polygons), expected)


def test_real_bow_tie_is_detected_and_repaired() -> None:
    polygons = read_dota_polygons(DATA / "dota_label_with_selfintersecting_quad.txt")
    bow_tie = polygons[3]
    assert not shapely.Polygon(bow_tie.reshape(4, 2)).is_valid
    with pytest.raises(InvalidGeometryError, match=r"polygon 3 .*self-intersecting"):
        check_poly(polygons, repair=False)
    repaired = check_poly(polygons)
    np.testing.assert_array_equal(repaired[:3], polygons[:3])
    fixed = shapely.Polygon(repaired[3].reshape(4, 2))
    assert fixed.is_valid
    hull = shapely.MultiPoint(bow_tie.reshape(4, 2)).convex_hull
    assert fixed.equals(hull)
    assert sorted(map(tuple, repaired[3].reshape(4, 2))) == sorted(map(tuple, bow_tie.reshape(4, 2)))
    assert poly_area(repaired[3]) == pytest.approx(hull.area)


@settings(max_examples=300, deadline=None)
@given(quad_strategy)
def test_check_poly_repairs_every_bow_tie(poly: np.ndarray) -> None:
    shape = shapely.Polygon(poly.reshape(4, 2))
    try:
        fixed = check_poly(poly)
    except InvalidGeometryError:
        # rejected: either really degenerate or invalid in a way that is not a proper crossing
        assert not shape.is_valid or shape.area == 0
        return
    repaired = shapely.Polygon(fixed.reshape(4, 2))
    assert repaired.is_valid and repaired.area > 0
    if shape.is_valid:
        np.testing.assert_array_equal(fixed, poly)
    else:
        assert repaired.equals(shapely.MultiPoint(poly.reshape(4, 2)).convex_hull)


@pytest.mark.parametrize(
    ("poly", "reason"),
    [
        ([0, 0, 1, 0, np.nan, 1, 0, 1], "NaN or infinite"),
        ([0, 0, 1, 0, np.inf, 1, 0, 1], "NaN or infinite"),
        ([0, 0, 1, 1, 2, 2, 3, 3], "zero area"),
        ([5, 5, 5, 5, 5, 5, 5, 5], "zero area"),
        ([0, 0, 4, 0, 2, 0, 2, 2], "invalid outline"),  # a vertex back on an earlier edge: a spike
    ],
)
def test_check_poly_rejects_with_reason(poly: list[float], reason: str) -> None:
    with pytest.raises(InvalidGeometryError, match=reason):
        check_poly(np.array(poly, dtype=float))


def test_check_poly_shape_errors() -> None:
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 8\)"):
        check_poly(np.zeros(6))


def test_clip_poly_cases() -> None:
    square = np.array([0.0, 0, 10, 0, 10, 10, 0, 10])
    inside, fraction = clip_poly(square, CropWindow(x0=0, y0=0, x1=10, y1=10))
    np.testing.assert_array_equal(inside, square)
    assert fraction == 1.0
    assert clip_poly(square, CropWindow(x0=20, y0=0, x1=30, y1=10)) == (None, 0.0)
    assert clip_poly(square, CropWindow(x0=10, y0=0, x1=30, y1=10)) == (None, 0.0)  # touches along an edge
    half, fraction = clip_poly(square, CropWindow(x0=5, y0=-5, x1=20, y1=20))
    np.testing.assert_array_equal(half, [5, 0, 10, 0, 10, 10, 5, 10])
    assert fraction == 0.5
    with pytest.raises(InvalidGeometryError):
        clip_poly(np.array([126.0, 191, 128, 171, 123, 178, 221, 199]), CropWindow(x0=0, y0=0, x1=300, y1=300))


def test_clip_poly_reduces_other_shapes_to_four_vertices() -> None:
    diamond = np.array([5.0, 0, 10, 5, 5, 10, 0, 5])
    pentagon_cut, fraction = clip_poly(diamond, CropWindow(x0=3, y0=0, x1=20, y1=20))
    assert fraction == pytest.approx(41 / 50)
    # the vertex cheapest to drop goes; the result stays inside the window and inside the kept region
    kept = shapely.intersection(shapely.Polygon(diamond.reshape(4, 2)), shapely.box(3, 0, 20, 20))
    assert shapely.Polygon(pentagon_cut.reshape(4, 2)).within(kept.buffer(1e-9))
    triangle_cut, fraction = clip_poly(diamond, CropWindow(x0=0, y0=0, x1=5, y1=5))
    assert fraction == pytest.approx(0.25)
    triangle = shapely.Polygon(triangle_cut.reshape(4, 2))
    assert triangle.is_valid and triangle.area == pytest.approx(12.5)


@settings(max_examples=200, deadline=None)
@given(quad_strategy, st.integers(-500, 500), st.integers(-500, 500), st.integers(1, 800), st.integers(1, 800))
def test_clip_poly_properties(poly: np.ndarray, x0: int, y0: int, w: int, h: int) -> None:
    shape = shapely.Polygon(poly.reshape(4, 2))
    assume(shape.is_valid and shape.area > 0)
    window = CropWindow(x0=x0, y0=y0, x1=x0 + w, y1=y0 + h)
    clipped, fraction = clip_poly(poly, window)
    expected = shape.intersection(shapely.box(x0, y0, x0 + w, y0 + h)).area / shape.area
    assert fraction == pytest.approx(expected, abs=1e-9)
    if clipped is None:
        assert expected == pytest.approx(0.0, abs=1e-9)
        return
    xs, ys = clipped[0::2], clipped[1::2]
    assert xs.min() >= x0 - 1e-9 and xs.max() <= x0 + w + 1e-9
    assert ys.min() >= y0 - 1e-9 and ys.max() <= y0 + h + 1e-9
    # the four vertices come from the hull of the kept part, so they stay inside the hull of the polygon
    result = shapely.Polygon(clipped.reshape(4, 2))
    assert result.is_valid and result.area > 0
    assert result.difference(shape.convex_hull).area <= 1e-6 * max(1.0, shape.area)
