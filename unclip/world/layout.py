"""Scene layout on an integer grid (64 units = canvas height).

Every sprite is a square cell ``(gx, gy, k)`` in grid units, always fully
inside the canvas (``0 <= gx <= wg - k``, ``0 <= gy <= 64 - k``).  Because the
grid is 1/64 of the height, a 64 px render is pixel-exact and a 256 px render
is exactly 4x.  Relations are guaranteed on the cells: for "A left of B" every
A cell ends (along x) at or before the split line where every B cell starts,
and since an object's visible box lies inside its cell the visible boxes obey
the relation too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

GRID = 64
SIZE_RANGES: dict[str, tuple[int, int]] = {
    "small": (12, 16), "medium": (19, 28), "large": (30, 48),
}
PAIR_CAPS: dict[str, int] = {"small": 16, "medium": 26, "large": 32}
POSITION_CAP = 25  # a positioned object fits in a 40% band of the canvas
BBox = tuple[float, float, float, float]


class Draw:
    """Fast scalar random draws from a numpy Generator (pre-drawn uniforms)."""

    def __init__(self, rng: np.random.Generator, chunk: int = 48) -> None:
        self.rng, self.chunk = rng, chunk
        self.buf: list[float] = rng.random(chunk).tolist()
        self.i = 0

    def u(self) -> float:
        if self.i >= len(self.buf):
            self.buf, self.i = self.rng.random(self.chunk).tolist(), 0
        x = self.buf[self.i]
        self.i += 1
        return x

    def int(self, n: int) -> int:
        """Uniform integer in [0, n)."""
        return min(int(self.u() * n), n - 1)

    def irange(self, lo: int, hi: int) -> int:
        """Uniform integer in [lo, hi] (inclusive)."""
        return lo + self.int(hi - lo + 1) if hi > lo else lo

    def choice(self, seq):  # type: ignore[no-untyped-def]
        return seq[self.int(len(seq))]

    def weighted(self, items, weights):  # type: ignore[no-untyped-def]
        x, acc = self.u() * sum(weights), 0.0
        for item, w in zip(items, weights, strict=True):
            acc += w
            if x < acc:
                return item
        return items[-1]


@dataclass(frozen=True)
class Cell:
    gx: int  # left, grid units
    gy: int  # top, grid units
    k: int  # side, grid units
    group: int  # 0 = subject ("a"), 1 = reference ("b")


def pick_size(d: Draw, size: str, cap: int) -> int:
    lo, hi = SIZE_RANGES[size]
    return d.irange(lo, max(lo, min(hi, cap)))


def _overlaps(a: Cell, x: int, y: int, k: int) -> bool:
    return a.gx < x + k and x < a.gx + a.k and a.gy < y + k and y < a.gy + a.k


def _gaps(d: Draw, leftover: int, n: int) -> list[int]:
    """Split ``leftover`` into n+1 non-negative integer gaps (random)."""
    cuts = sorted(d.u() for _ in range(n))
    edges = [0.0] + cuts + [1.0]
    return [math.floor(leftover * (edges[i + 1] - edges[i])) for i in range(n + 1)]


def _row(d: Draw, count: int, k: int, length: int) -> list[int]:
    """Non-overlapping starts of ``count`` segments of length k in [0, length]."""
    g = _gaps(d, length - count * k, count)
    starts, pos = [], g[0]
    for i in range(count):
        starts.append(pos)
        pos += k + g[i + 1]
    return starts


def layout_single(d: Draw, count: int, k: int, wg: int) -> list[Cell]:
    """Scatter ``count`` non-overlapping cells of side k (rejection, then a row)."""
    cells: list[Cell] = []
    for _ in range(40):
        x, y = d.irange(0, wg - k), d.irange(0, GRID - k)
        if not any(_overlaps(c, x, y, k) for c in cells):
            cells.append(Cell(x, y, k, 0))
            if len(cells) == count:
                return cells
    xs = _row(d, count, k, wg)
    return [Cell(x, d.irange(0, GRID - k), k, 0) for x in xs]


def layout_position(d: Draw, position: str, k: int, wg: int, bbox: BBox) -> list[Cell]:
    """One cell of side k (k <= POSITION_CAP) placed in the named region."""
    band_x, band_y = math.floor(0.4 * wg), math.floor(0.4 * GRID)
    x, y = d.irange(0, wg - k), d.irange(0, GRID - k)
    if position == "left":
        x = d.irange(0, band_x - k)
    elif position == "right":
        x = d.irange(wg - band_x, wg - k)
    elif position == "top":
        y = d.irange(0, band_y - k)
    elif position == "bottom":
        y = d.irange(GRID - band_y, GRID - k)
    elif position == "center":  # visible-box centre within 2 units of the middle
        cx, cy = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
        x = round(wg / 2 - k * cx) + d.irange(-2, 2)
        y = round(GRID / 2 - k * cy) + d.irange(-2, 2)
    else:
        raise ValueError(f"unknown position {position!r}")
    return [Cell(min(max(x, 0), wg - k), min(max(y, 0), GRID - k), k, 0)]


def _place(axis: str, along: int, perp: int, k: int, group: int) -> Cell:
    return Cell(along, perp, k, group) if axis == "x" else Cell(perp, along, k, group)


def _group(d: Draw, axis: str, lo: int, hi: int, perp_len: int, count: int, k: int,
           group: int) -> list[Cell]:
    """``count`` cells with their along-axis extent inside [lo, hi], stacked across."""
    perps = _row(d, count, k, perp_len)
    return [_place(axis, d.irange(lo, hi - k), p, k, group) for p in perps]


def layout_pair(d: Draw, relation: str, counts: tuple[int, int], ks: tuple[int, int],
                wg: int, bboxes: tuple[BBox, BBox]) -> list[Cell]:
    """Cells for groups A (0) and B (1) so that "A <relation> B" holds."""
    axis = {"left of": "x", "right of": "x", "next to": "x",
            "above": "y", "below": "y"}.get(relation) or d.choice(("x", "y"))
    length, perp_len = (wg, GRID) if axis == "x" else (GRID, wg)
    if relation in ("left of", "above"):
        a_first = True
    elif relation in ("right of", "below"):
        a_first = False
    else:
        a_first = d.u() < 0.5
    first, second = (0, 1) if a_first else (1, 0)
    if relation == "next to":
        return _next_to(d, axis, length, perp_len, (first, second), ks, bboxes)
    split = d.irange(ks[first], length - ks[second])
    cells = _group(d, axis, 0, split, perp_len, counts[first], ks[first], first)
    cells += _group(d, axis, split, length, perp_len, counts[second], ks[second], second)
    return sorted(cells, key=lambda c: c.group)


def _next_to(d: Draw, axis: str, length: int, perp_len: int, order: tuple[int, int],
             ks: tuple[int, int], bboxes: tuple[BBox, BBox]) -> list[Cell]:
    """Two single cells side by side (small gap) with aligned visible centres."""
    first, second = order
    gap = d.irange(0, max(0, min(6, length - ks[0] - ks[1])))
    start = d.irange(0, length - ks[0] - ks[1] - gap)
    starts = {first: start, second: start + ks[first] + gap}
    kmax = max(ks)  # the margin keeps both cells inside without clamping
    centre = d.irange(math.ceil(0.75 * kmax), perp_len - math.ceil(0.75 * kmax))
    cells = []
    for g in (0, 1):
        lo, hi = (bboxes[g][1], bboxes[g][3]) if axis == "x" else (bboxes[g][0], bboxes[g][2])
        perp = min(max(round(centre - ks[g] * (lo + hi) / 2), 0), perp_len - ks[g])
        cells.append(_place(axis, starts[g], perp, ks[g], g))
    return cells
