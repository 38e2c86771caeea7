"""Box geometry: horizontal boxes, oriented boxes and 4-point polygons, vectorised over ``(N, ...)`` arrays.

Box types (all in the same pixel space, float64):

- HBB ``(..., 4)``: ``x1, y1, x2, y2``.
- OBB ``(..., 5)``: ``cx, cy, w, h, angle`` with the angle in degrees. The side of length ``w`` points along
  ``(cos angle, sin angle)`` in image coordinates (y down, so a positive angle turns clockwise on screen), the side of
  length ``h`` along ``(-sin angle, cos angle)`` -- the convention of ``cv2.boxPoints``. Normalised form (what
  ``poly_to_obb`` returns, mmrotate's "le90"): ``w >= h`` and ``angle`` in ``[-90, 90)``; a square takes its angle in
  ``[-45, 45)``. Angles are floats here; the text codec rounds them to integer degrees.
- polygon ``(..., 8)``: ``x1, y1, ..., x4, y4``.

Canonical vertex order (``canonical_poly``): clockwise on screen (positive shoelace area with y pointing down),
starting at the vertex with the smallest ``(y, x)`` -- the top-most, then left-most one.

Validity (``check_poly``): coordinates must be finite, the area must be positive and the outline must not cross
itself. Repair rule for a self-intersecting "bow-tie" quad, whose two opposite edges cross: two vertices are swapped so
that the crossing edges become the diagonals (``p1 p2 p3 p4`` with ``p1p2`` crossing ``p3p4`` becomes ``p1 p3 p2 p4``;
with ``p2p3`` crossing ``p4p1`` it becomes ``p1 p2 p4 p3``). Two properly crossing segments always are the diagonals of
a convex quadrilateral, so the repair keeps the four annotated corners and yields their convex hull. Any other defect
is rejected with ``InvalidGeometryError``.
"""

from __future__ import annotations

import numpy as np
import shapely

from rs_resolution.coords import CropWindow


class InvalidGeometryError(ValueError):
    """A polygon that is not finite, has no area or crosses itself (and was not repaired)."""


def _as_array(boxes: np.ndarray | list, width: int, name: str) -> np.ndarray:
    array = np.asarray(boxes, dtype=np.float64)
    if array.ndim == 0 or array.shape[-1] != width:
        raise ValueError(f"{name} must have shape (..., {width}), got {array.shape}")
    return array


def hbb_to_poly(hbb: np.ndarray | list) -> np.ndarray:
    """``x1, y1, x2, y2`` -> the four corners, clockwise on screen from the top-left one."""
    b = _as_array(hbb, 4, "hbb")
    x1, y1, x2, y2 = np.moveaxis(b, -1, 0)
    return np.stack([x1, y1, x2, y1, x2, y2, x1, y2], axis=-1)


def poly_to_hbb(poly: np.ndarray | list) -> np.ndarray:
    """Axis-aligned bounding box ``x1, y1, x2, y2`` of each polygon."""
    p = _as_array(poly, 8, "poly")
    xs, ys = p[..., 0::2], p[..., 1::2]
    return np.stack([xs.min(-1), ys.min(-1), xs.max(-1), ys.max(-1)], axis=-1)


def obb_to_poly(obb: np.ndarray | list) -> np.ndarray:
    """``cx, cy, w, h, angle`` -> the four corners (the order of ``cv2.boxPoints``)."""
    o = _as_array(obb, 5, "obb")
    cx, cy, w, h, angle = np.moveaxis(o, -1, 0)
    radians = np.deg2rad(angle)
    cos, sin = np.cos(radians), np.sin(radians)
    # half-extent vectors along the w side and along the h side
    wx, wy = 0.5 * w * cos, 0.5 * w * sin
    hx, hy = -0.5 * h * sin, 0.5 * h * cos
    corners = [
        (cx - wx + hx, cy - wy + hy),
        (cx - wx - hx, cy - wy - hy),
        (cx + wx - hx, cy + wy - hy),
        (cx + wx + hx, cy + wy + hy),
    ]
    return np.stack([c for corner in corners for c in corner], axis=-1)


def _normalized_angle(w: np.ndarray, h: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """The angle of the long side, in ``[-90, 90)`` (in ``[-45, 45)`` for a square)."""
    angle = angle + np.where(h > w, 90.0, 0.0)
    square = w == h
    low = np.where(square, -45.0, -90.0)
    period = np.where(square, 90.0, 180.0)
    wrapped = np.mod(angle - low, period)
    return np.where(wrapped >= period, 0.0, wrapped) + low  # np.mod of a tiny negative can round up to the period


def normalize_obb(obb: np.ndarray | list) -> np.ndarray:
    """Bring OBBs to the normalised form: ``w >= h``, angle in ``[-90, 90)`` (``[-45, 45)`` for squares)."""
    o = _as_array(obb, 5, "obb")
    cx, cy, w, h, angle = np.moveaxis(o, -1, 0)
    return np.stack([cx, cy, np.maximum(w, h), np.minimum(w, h), _normalized_angle(w, h, angle)], axis=-1)


_VERTEX_PAIRS = np.array([(0, 1), (1, 2), (2, 3), (3, 0), (0, 2), (1, 3)])
_AREA_TIE = 1e-9


def poly_to_obb(poly: np.ndarray | list) -> np.ndarray:
    """Minimum-area enclosing rectangle of each polygon (like ``cv2.minAreaRect``), normalised; float degrees.

    One side of the optimal rectangle lies along an edge of the convex hull, and every hull edge joins two of the four
    vertices, so the rectangles along the six vertex-pair directions are compared. Where several have the same area
    (within a relative 1e-9: a triangle's sides, a right trapezoid) the one with the smallest ``|angle|`` is kept, so
    the result does not depend on the vertex order (cv2 may pick another of the tied rectangles).
    """
    p = _as_array(poly, 8, "poly")
    xs, ys = p[..., 0::2], p[..., 1::2]
    ex = xs[..., _VERTEX_PAIRS[:, 1]] - xs[..., _VERTEX_PAIRS[:, 0]]  # (..., 6) candidate directions
    ey = ys[..., _VERTEX_PAIRS[:, 1]] - ys[..., _VERTEX_PAIRS[:, 0]]
    lengths = np.hypot(ex, ey)
    zero = lengths == 0
    safe = np.where(zero, 1.0, lengths)
    ux = np.where(zero, 1.0, ex / safe)  # a zero edge falls back to the x axis
    uy = ey / safe
    # projections of the four vertices on u and on its normal n = (-uy, ux), reduced pairwise (fast for 4 points)
    along = [xs[..., k, None] * ux + ys[..., k, None] * uy for k in range(4)]
    across = [ys[..., k, None] * ux - xs[..., k, None] * uy for k in range(4)]
    a_min = np.minimum(np.minimum(along[0], along[1]), np.minimum(along[2], along[3]))
    a_max = np.maximum(np.maximum(along[0], along[1]), np.maximum(along[2], along[3]))
    c_min = np.minimum(np.minimum(across[0], across[1]), np.minimum(across[2], across[3]))
    c_max = np.maximum(np.maximum(across[0], across[1]), np.maximum(across[2], across[3]))
    width, height = a_max - a_min, c_max - c_min
    area = width * height
    angle = _normalized_angle(width, height, np.rad2deg(np.arctan2(uy, ux)))
    tied = area <= area.min(-1, keepdims=True) * (1 + _AREA_TIE)
    best = np.argmin(np.where(tied, np.abs(angle), np.inf), axis=-1)[..., None]

    def pick(values: np.ndarray) -> np.ndarray:
        return np.take_along_axis(values, best, axis=-1)[..., 0]

    ux, uy, width, height = pick(ux), pick(uy), pick(width), pick(height)
    mid_a, mid_c = 0.5 * (pick(a_min) + pick(a_max)), 0.5 * (pick(c_min) + pick(c_max))
    long_w = np.maximum(width, height)
    return np.stack(
        [mid_a * ux - mid_c * uy, mid_a * uy + mid_c * ux, long_w, np.minimum(width, height), pick(angle)], axis=-1
    )


def hbb_to_obb(hbb: np.ndarray | list) -> np.ndarray:
    """Horizontal boxes as normalised OBBs."""
    return poly_to_obb(hbb_to_poly(hbb))


def obb_to_hbb(obb: np.ndarray | list) -> np.ndarray:
    """Axis-aligned bounding box of each OBB."""
    return poly_to_hbb(obb_to_poly(obb))


def _signed_area(pts: np.ndarray) -> np.ndarray:
    """Shoelace area of ``(..., 4, 2)`` vertices; positive when clockwise on screen (y down)."""
    x, y = pts[..., 0], pts[..., 1]
    return 0.5 * (x * np.roll(y, -1, axis=-1) - np.roll(x, -1, axis=-1) * y).sum(-1)


def poly_area(poly: np.ndarray | list) -> np.ndarray:
    """Area of each (simple) polygon by the shoelace formula; a bow-tie's lobes cancel, so check it first."""
    p = _as_array(poly, 8, "poly")
    return np.abs(_signed_area(p.reshape(*p.shape[:-1], 4, 2)))


def canonical_poly(poly: np.ndarray | list) -> np.ndarray:
    """Reorder vertices: clockwise on screen, starting at the vertex with the smallest ``(y, x)``."""
    p = _as_array(poly, 8, "poly")
    pts = p.reshape(*p.shape[:-1], 4, 2)
    counter = _signed_area(pts) < 0
    pts = np.where(counter[..., None, None], pts[..., [0, 3, 2, 1], :], pts)
    y_min = pts[..., 1].min(-1, keepdims=True)
    start = np.argmin(np.where(pts[..., 1] == y_min, pts[..., 0], np.inf), axis=-1)
    order = (start[..., None] + np.arange(4)) % 4
    pts = np.take_along_axis(pts, order[..., None], axis=-2)
    return pts.reshape(p.shape)


def _cross(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """z of (a - o) x (b - o) for ``(..., 2)`` points."""
    return (a[..., 0] - o[..., 0]) * (b[..., 1] - o[..., 1]) - (a[..., 1] - o[..., 1]) * (b[..., 0] - o[..., 0])


def _properly_cross(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Whether segments ab and cd cross at a single interior point of both."""
    return (_cross(a, b, c) * _cross(a, b, d) < 0) & (_cross(c, d, a) * _cross(c, d, b) < 0)


def check_poly(poly: np.ndarray | list, repair: bool = True) -> np.ndarray:
    """Validate polygons ``(8,)`` or ``(N, 8)``; return them, bow-ties repaired when ``repair`` (see module doc).

    Raises ``InvalidGeometryError`` naming the first bad polygon (its index for ``(N, 8)`` input) and the reason.
    """
    p = _as_array(poly, 8, "poly")
    if p.ndim > 2:
        raise ValueError(f"poly must have shape (8,) or (N, 8), got {p.shape}")
    flat = p.reshape(-1, 8)
    pts = flat.reshape(-1, 4, 2).copy()

    def fail(index: int, reason: str) -> InvalidGeometryError:
        where = f"polygon {index}" if p.ndim == 2 else "polygon"
        return InvalidGeometryError(f"{where} {flat[index].tolist()}: {reason}")

    finite = np.isfinite(flat).all(-1)
    if not finite.all():
        raise fail(int(np.argmin(finite)), "contains NaN or infinite coordinates")
    p0, p1, p2, p3 = (pts[:, i] for i in range(4))
    cross_a = _properly_cross(p0, p1, p2, p3)
    cross_b = _properly_cross(p1, p2, p3, p0)
    bowtie = cross_a | cross_b
    if bowtie.any() and not repair:
        raise fail(int(np.argmax(bowtie)), "self-intersecting (bow-tie) quadrilateral")
    pts[cross_a] = pts[cross_a][:, [0, 2, 1, 3]]
    pts[cross_b] = pts[cross_b][:, [0, 1, 3, 2]]
    area = np.abs(_signed_area(pts))
    scale = np.ptp(pts.reshape(-1, 8), axis=-1) ** 2
    degenerate = area <= 1e-12 * np.maximum(scale, 1.0)
    if degenerate.any():
        raise fail(int(np.argmax(degenerate)), "zero area (collinear or repeated vertices)")
    valid = shapely.is_valid(shapely.polygons(pts))
    if not valid.all():
        index = int(np.argmin(valid))
        reason = shapely.is_valid_reason(shapely.polygons(pts[index]))
        raise fail(index, f"invalid outline ({reason})")
    return pts.reshape(p.shape)


def clip_poly(poly: np.ndarray | list, window: CropWindow) -> tuple[np.ndarray | None, float]:
    """Clip one polygon ``(8,)`` to a window; return ``(clipped polygon or None, kept-area fraction)``.

    The window covers ``[x0, x1] x [y0, y1]`` in the polygon's (full-image) pixels, and the result stays in those
    pixels (``window.to_crop`` moves it into the crop). A polygon entirely inside comes back unchanged, one entirely
    outside (or touching only along an edge) as ``None`` with fraction 0. A clipped region with exactly four vertices
    is kept (in canonical order); any other is replaced by its convex hull brought to four vertices: a triangle gains
    the midpoint of its longest edge, a larger hull repeatedly drops the vertex whose removal loses the least area. The
    result never leaves the window; the fraction is always the exact intersection area over the polygon's area.
    Invalid polygons raise ``InvalidGeometryError`` (call ``check_poly`` first to repair bow-ties).
    """
    p = _as_array(poly, 8, "poly")
    if p.shape != (8,):
        raise ValueError(f"clip_poly takes one polygon of shape (8,), got {p.shape}")
    p = check_poly(p, repair=False)
    shape = shapely.Polygon(p.reshape(4, 2))
    box = shapely.box(*window.corners)
    if shapely.contains(box, shape):
        return p, 1.0
    inter = shapely.intersection(shape, box)
    if inter.area == 0:
        return None, 0.0
    fraction = float(inter.area / shape.area)
    inter = shapely.simplify(inter, 0.0)
    if isinstance(inter, shapely.Polygon) and len(inter.exterior.coords) == 5:
        return canonical_poly(np.asarray(inter.exterior.coords)[:4].reshape(8)), fraction
    hull = shapely.get_coordinates(shapely.simplify(shapely.convex_hull(inter), 0.0))[:-1]
    return canonical_poly(_four_vertices(hull).reshape(8)), fraction


def _four_vertices(ring: np.ndarray) -> np.ndarray:
    """A convex ring ``(K, 2)``, K >= 3, as four vertices: a triangle gains the midpoint of its longest edge; a larger
    ring repeatedly loses the vertex whose removal costs the least area."""
    if len(ring) == 3:
        lengths = np.hypot(*(np.roll(ring, -1, axis=0) - ring).T)
        k = int(np.argmax(lengths))
        return np.insert(ring, k + 1, 0.5 * (ring[k] + ring[(k + 1) % 3]), axis=0)
    while len(ring) > 4:
        cost = np.abs(_cross(np.roll(ring, 1, axis=0), ring, np.roll(ring, -1, axis=0)))
        ring = np.delete(ring, int(np.argmin(cost)), axis=0)
    return ring
