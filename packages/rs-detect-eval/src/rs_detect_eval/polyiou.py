"""DOTA_devkit's quad IoU in numpy: `polyiou.iou_poly`, what `dota_evaluation_task1.py` and the DOTA server score with.

The same floating-point operations in the same order, vectorised over pairs, so the results are the same doubles
(checked on polyiou's own outputs, bit patterns included). `p` is the first argument (the devkit passes the ground
truth there), `q` the second. The arithmetic, as the C routine does it:

- A(X): the shoelace sum over the four vertices in order, accumulated left to right, halved. A quad with A < 0 is
  reversed in place (A exactly 0 is left as it is); the union uses |A| of the quad as it then stands.
- inter = sum over i (outer) and j (inner) of T(p_i, p_i+1, q_j, q_j+1): triangle (O, p_i, p_i+1) clipped to triangle
  (O, q_j, q_j+1), O = (0, 0), by three half-plane cuts (lines O-c, c-d, d-O, keeping the left side), its |area|
  signed by the product of the two triangles' orientations (0 when either orientation is within 1e-8 of 0). A cut
  keeps the points more than 1e-8 left of the line, adds the crossing point wherever the sign class changes along an
  edge, then drops each point within 1e-8 (per coordinate) of the point written before it and trailing points equal
  to the first.
- IoU = inter / (|A_p| + |A_q| - inter): not clamped, so a bow-tie gives values outside [0, 1], ±inf, or NaN (0 / 0).

One place where the C routine reads memory it never wrote: a crossing whose two side values differ by no more than
1e-8 leaves its slot of the cut's scratch buffer as it was. The buffer is kept across the three cuts of one triangle
pair here as there; a slot no cut of that pair wrote reads (0, 0) here (uninitialised stack memory there).
"""

from __future__ import annotations

import numpy as np

EPS = 1e-8
_CHUNK = 16384  # pairs per vectorised block (16 triangle pairs each)


def _sign(values: np.ndarray) -> np.ndarray:
    """-1, 0 or 1 with the tolerance EPS; NaN gives 0, as `(d > eps) - (d < -eps)` does in C."""
    return (values > EPS).astype(np.int8) - (values < -EPS).astype(np.int8)


def _cross(a: np.ndarray, b: np.ndarray, p: np.ndarray) -> np.ndarray:
    """(b - a) x (p - a), written as the C routine evaluates it; a, b (R, 1, 2), p (R, W, 2) -> (R, W)."""
    return (b[..., 0] - a[..., 0]) * (p[..., 1] - a[..., 1]) - (p[..., 0] - a[..., 0]) * (b[..., 1] - a[..., 1])


def _ring_area(points: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Signed area of the first `counts` points of each row of (R, W, 2), summed left to right, halved."""
    width = points.shape[1]
    total = np.zeros(len(points))
    for i in range(width):
        following = np.where(i + 1 < counts, min(i + 1, width - 1), 0)
        nxt = points[np.arange(len(points)), following]
        term = points[:, i, 0] * nxt[:, 1] - points[:, i, 1] * nxt[:, 0]
        total = total + np.where(i < counts, term, 0.0)
    return total / 2.0


def _same_point(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Points equal within EPS in both coordinates (the C `Point::operator==`)."""
    difference = a - b
    return (_sign(difference[..., 0]) == 0) & (_sign(difference[..., 1]) == 0)


def _cut(
    points: np.ndarray, counts: np.ndarray, a: np.ndarray, b: np.ndarray, scratch: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One half-plane cut of each row's polygon, keeping the left of a -> b; returns points, counts and scratch."""
    rows, width = points.shape[:2]
    index = np.arange(width)
    valid = index < counts[:, None]
    following = np.where(index + 1 < counts[:, None], np.minimum(index + 1, width - 1), 0)
    nxt = np.take_along_axis(points, following[..., None], axis=1)
    side = _cross(a, b, points)
    side_next = np.take_along_axis(side, following, axis=1)
    keep_self = valid & (_sign(side) > 0)
    crossing = valid & (_sign(side) != _sign(side_next))
    spread = side_next - side
    written = crossing & (_sign(spread) != 0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        cut_x = (points[..., 0] * side_next - nxt[..., 0] * side) / spread
        cut_y = (points[..., 1] * side_next - nxt[..., 1] * side) / spread
    emitted = np.stack([keep_self, crossing], axis=2).reshape(rows, 2 * width)
    slot = np.cumsum(emitted, axis=1) - 1
    total = slot[:, -1] + 1
    if scratch.shape[1] < 2 * width:
        scratch = np.concatenate([scratch, np.zeros((rows, 2 * width - scratch.shape[1], 2))], axis=1)
    candidates = np.stack([points, np.stack([cut_x, cut_y], axis=2)], axis=2).reshape(rows, 2 * width, 2)
    writes = emitted & np.stack([keep_self, written], axis=2).reshape(rows, 2 * width)
    row_index = np.broadcast_to(np.arange(rows)[:, None], writes.shape)
    scratch[row_index[writes], slot[writes]] = candidates[writes]
    # dedup against the point written just before, over the scratch slots 0 .. total - 1
    out_width = max(int(total.max(initial=0)), 1)
    buffer = scratch[:, :out_width]
    in_range = np.arange(out_width) < total[:, None]
    repeat = np.zeros_like(in_range)
    repeat[:, 1:] = _same_point(buffer[:, 1:], buffer[:, :-1])
    kept = in_range & ~repeat
    position = np.cumsum(kept, axis=1) - 1
    counts = position[:, -1] + 1
    result = np.zeros((rows, out_width, 2))
    row_index = np.broadcast_to(np.arange(rows)[:, None], kept.shape)
    result[row_index[kept], position[kept]] = buffer[kept]
    for _ in range(out_width):
        last = result[np.arange(rows), np.maximum(counts - 1, 0)]
        trailing = (counts > 1) & _same_point(last, result[:, 0])
        if not trailing.any():
            break
        counts = counts - trailing
    return result, counts, scratch


def _triangle_pairs(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Signed overlap of triangles (O, a, b) and (O, c, d) for rows of points (R, 2)."""
    zero = np.zeros_like(a)
    s1 = _sign(_cross(zero[:, None], a[:, None], b[:, None])[:, 0])
    s2 = _sign(_cross(zero[:, None], c[:, None], d[:, None])[:, 0])
    result = np.zeros(len(a))
    live = np.flatnonzero((s1 != 0) & (s2 != 0))
    if not len(live):
        return result
    a, b, c, d, s1, s2 = a[live], b[live], c[live], d[live], s1[live], s2[live]
    flip1, flip2 = (s1 == -1)[:, None], (s2 == -1)[:, None]
    a, b = np.where(flip1, b, a), np.where(flip1, a, b)
    c, d = np.where(flip2, d, c), np.where(flip2, c, d)
    origin = np.zeros_like(a)[:, None]
    points = np.stack([origin[:, 0], a, b], axis=1)
    counts = np.full(len(live), 3)
    scratch = np.zeros((len(live), 6, 2))
    for start, end in ((origin, c[:, None]), (c[:, None], d[:, None]), (d[:, None], origin)):
        points, counts, scratch = _cut(points, counts, start, end, scratch)
    area = np.abs(_ring_area(points, counts))
    result[live] = np.where(s1 * s2 == -1, -area, area)
    return result


def _oriented(quads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quads (K, 4, 2) reversed where their signed area is negative, and |area| of the quads as they then stand."""
    four = np.full(len(quads), 4)
    reverse = _ring_area(quads, four) < 0
    quads = np.where(reverse[:, None, None], quads[:, ::-1], quads)
    return quads, np.abs(_ring_area(quads, four))


def _parts(p: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p, area_p = _oriented(p.reshape(-1, 4, 2))
    q, area_q = _oriented(q.reshape(-1, 4, 2))
    following = [1, 2, 3, 0]
    i, j = np.divmod(np.arange(16), 4)  # i outer, j inner: the order the C loops sum in
    a, b = p[:, i].reshape(-1, 2), p[:, np.take(following, i)].reshape(-1, 2)
    c, d = q[:, j].reshape(-1, 2), q[:, np.take(following, j)].reshape(-1, 2)
    parts = _triangle_pairs(a, b, c, d).reshape(-1, 16)
    inter = np.zeros(len(p))
    for column in range(16):
        inter = inter + parts[:, column]
    return inter, area_p, area_q


def polyiou_parts(p: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The intersection and the two |areas| that `iou_poly(p[k], q[k])` divides, for aligned rows of (K, 8) quads."""
    p = np.asarray(p, dtype=np.float64).reshape(-1, 8)
    q = np.asarray(q, dtype=np.float64).reshape(-1, 8)
    if p.shape != q.shape:
        raise ValueError(f"polyiou needs aligned pairs, got {p.shape} and {q.shape}")
    blocks = [_parts(p[start : start + _CHUNK], q[start : start + _CHUNK]) for start in range(0, len(p), _CHUNK)]
    if not blocks:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    inter, area_p, area_q = (np.concatenate(values) for values in zip(*blocks, strict=True))
    return inter, area_p, area_q


def polyiou(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """`iou_poly(p[k], q[k])` for aligned rows of (K, 8) quads; p is the ground truth in the devkit's evaluation."""
    inter, area_p, area_q = polyiou_parts(p, q)
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / (area_p + area_q - inter)
