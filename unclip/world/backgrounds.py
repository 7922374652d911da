"""Procedural backgrounds: solid colours and simple numpy-drawn scenes.

A background is a pure function of ``(name, variant, height, width, cx)``:
pixels are laid out in *height units* ``u = (x + 0.5 - cx) / H`` (horizontal,
centred on column ``cx``) and ``v = (y + 0.5) / H`` in [0, 1] (vertical), so a
wider canvas extends the same scene sideways (the central crop is unchanged).
Random details (stars, snowflakes, bubbles, hill phases) come from a numpy
generator seeded by ``(scene, variant, tile)`` where a tile is one height unit
of ``u``; ``variant`` is drawn from the scene seed.
"""

from __future__ import annotations

import math
import zlib

import numpy as np

from .assets import ByteLRU
from .catalog import COLORS, SCENES

N_VARIANTS = 16
_CACHE = ByteLRU(128 << 20)

Color = tuple[float, float, float]


def _grad(v: np.ndarray, stops: list[tuple[float, Color]]) -> np.ndarray:
    """Piecewise-linear colour ramp over v: (H, 1) -> (H, 1, 3) float32."""
    pos = np.array([p for p, _ in stops], dtype=np.float32)
    cols = np.array([c for _, c in stops], dtype=np.float32)  # (S, 3)
    out = np.stack([np.interp(v, pos, cols[:, i]) for i in range(3)], axis=-1)
    return out.astype(np.float32)


def _mix(base: np.ndarray, color: Color | np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Blend ``color`` over ``base`` (H, W, 3) with coverage ``mask`` (H, W)."""
    m = mask[..., None].astype(np.float32)
    return base * (1.0 - m) + np.asarray(color, dtype=np.float32) * m


def _edge(d: np.ndarray, height: int) -> np.ndarray:
    """Anti-aliased step: coverage of the region d > 0 (d in height units)."""
    return np.clip(d * height + 0.5, 0.0, 1.0)


def _tile_rng(name: str, variant: int, tile: int) -> np.random.Generator:
    return np.random.default_rng([zlib.crc32(name.encode()), variant, tile + (1 << 20)])


def _dots(u: np.ndarray, v: np.ndarray, name: str, variant: int, per_tile: int,
          vmax: float, radius: tuple[float, float], ring: bool = False) -> np.ndarray:
    """Coverage (H, W) of random discs (or rings) scattered per height-unit tile."""
    height = v.shape[0]
    cov = np.zeros((v.shape[0], u.shape[1]), dtype=np.float32)
    uu, vv = u[0], v[:, 0]  # (W,), (H,)
    for tile in range(math.floor(uu.min()) - 1, math.ceil(uu.max()) + 1):
        rng = _tile_rng(name, variant, tile)
        pts = rng.random((per_tile, 4))  # u, v, radius, brightness
        for pu, pv, pr, pb in pts:
            cu, cv = tile + pu, pv * vmax
            r = max(radius[0] + pr * (radius[1] - radius[0]), 0.7 / height)
            xs = np.nonzero(np.abs(uu - cu) < r + 2.0 / height)[0]
            ys = np.nonzero(np.abs(vv - cv) < r + 2.0 / height)[0]
            if xs.size == 0 or ys.size == 0:
                continue
            dist = np.hypot(uu[xs][None, :] - cu, vv[ys][:, None] - cv)  # (h, w)
            c = _edge(r - dist, height)
            if ring:
                c = c * (1.0 - _edge(r * 0.6 - dist, height))
            c *= 0.55 + 0.45 * pb
            win = cov[ys[0]:ys[-1] + 1, xs[0]:xs[-1] + 1]
            np.maximum(win, c, out=win)
    return cov


def _phase(name: str, variant: int) -> float:
    return float(_tile_rng(name, variant, -(1 << 19)).random() * 2 * math.pi)


def _grass(u: np.ndarray, v: np.ndarray, var: int) -> np.ndarray:
    ph = _phase("grass", var)
    img = _grad(v, [(0.0, (96, 160, 232)), (0.62, (190, 222, 246))]) + 0 * u[..., None]
    horizon = 0.62 + 0.025 * np.sin(u * 5.0 + ph) + 0.012 * np.sin(u * 13.0 + 2 * ph)
    ground = _grad(v, [(0.55, (104, 186, 76)), (1.0, (52, 134, 46))])
    ground = ground + 6.0 * np.sin(u * 60.0 + v * 9.0)[..., None]  # mown stripes
    return _mix(img, ground, _edge(v - horizon, v.shape[0]))


def _night(u: np.ndarray, v: np.ndarray, var: int) -> np.ndarray:
    img = _grad(v, [(0.0, (8, 12, 40)), (1.0, (44, 38, 96))]) + 0 * u[..., None]
    stars = _dots(u, v, "night", var, 16, 1.0, (0.004, 0.012))
    return _mix(img, (255, 250, 220), stars)


def _beach(u: np.ndarray, v: np.ndarray, var: int) -> np.ndarray:
    ph, h = _phase("beach", var), v.shape[0]
    img = _grad(v, [(0.0, (110, 180, 240)), (0.42, (196, 228, 250))]) + 0 * u[..., None]
    sea = _grad(v, [(0.42, (70, 160, 220)), (0.7, (30, 110, 190))])
    sea = sea + 14.0 * (np.sin(v * 90.0 + np.sin(u * 6.0 + ph) * 2.0) > 0.85)[..., None]
    img = _mix(img, sea, _edge(v - 0.42, h))
    shore = 0.68 + 0.025 * np.sin(u * 4.0 + ph)
    img = _mix(img, (246, 250, 252), _edge(v - shore + 0.014, h))  # foam
    sand = _grad(v, [(0.66, (240, 218, 166)), (1.0, (222, 190, 130))])
    return _mix(img, sand, _edge(v - shore, h))


def _snow(u: np.ndarray, v: np.ndarray, var: int) -> np.ndarray:
    ph, h = _phase("snow", var), v.shape[0]
    img = _grad(v, [(0.0, (170, 190, 220)), (0.6, (222, 230, 242))]) + 0 * u[..., None]
    horizon = 0.6 + 0.035 * np.sin(u * 4.0 + ph) + 0.015 * np.sin(u * 11.0 - ph)
    ground = _grad(v, [(0.55, (250, 252, 255)), (1.0, (214, 224, 240))])
    img = _mix(img, ground, _edge(v - horizon, h))
    flakes = _dots(u, v, "snow", var, 14, 1.0, (0.004, 0.01))
    return _mix(img, (255, 255, 255), flakes * 0.9)


def _underwater(u: np.ndarray, v: np.ndarray, var: int) -> np.ndarray:
    ph, h = _phase("underwater", var), v.shape[0]
    img = _grad(v, [(0.0, (56, 170, 214)), (1.0, (12, 58, 118))]) + 0 * u[..., None]
    rays = np.clip(np.sin((u + 0.5 * v) * 14.0 + ph), 0, 1) ** 8 * np.clip(1 - v, 0, 1)
    img = img + 28.0 * rays[..., None]
    bubbles = _dots(u, v, "underwater", var, 6, 0.9, (0.012, 0.026), ring=True)
    img = _mix(img, (200, 240, 255), bubbles)
    floor = 0.9 + 0.02 * np.sin(u * 7.0 + ph)
    return _mix(img, (196, 176, 116), _edge(v - floor, h))


def _sunset(u: np.ndarray, v: np.ndarray, var: int) -> np.ndarray:
    ph, h = _phase("sunset", var), v.shape[0]
    stops = [(0.0, (84, 48, 124)), (0.35, (214, 96, 128)), (0.75, (252, 176, 84))]
    img = _grad(v, stops) + 0 * u[..., None]
    hills = 0.76 + 0.05 * np.sin(u * 3.0 + ph) + 0.02 * np.sin(u * 9.0 + 2 * ph)
    return _mix(img, (62, 36, 72), _edge(v - hills, h))


_SCENE_FNS = {
    "grass": _grass, "night": _night, "beach": _beach,
    "snow": _snow, "underwater": _underwater, "sunset": _sunset,
}
assert set(_SCENE_FNS) == set(SCENES)


def _draw(name: str, variant: int, height: int, width: int, cx2: int) -> tuple[np.ndarray]:
    if name in COLORS:
        img = np.empty((height, width, 3), dtype=np.float32)
        img[:] = np.asarray(COLORS[name], dtype=np.float32)
        return (img,)
    u = ((np.arange(width, dtype=np.float32) + 0.5 - cx2 / 2.0) / height)[None, :]  # (1, W)
    v = ((np.arange(height, dtype=np.float32) + 0.5) / height)[:, None]  # (H, 1)
    img = _SCENE_FNS[name](u, v, variant)  # (H, W, 3) float32
    return (np.clip(img, 0.0, 255.0).astype(np.float32),)


def background(name: str, variant: int, height: int, width: int,
               cx2: int | None = None) -> np.ndarray:
    """Read-only (H, W, 3) float32 background in [0, 255], cached.

    ``cx2`` is twice the pixel column of the scene centre (default: ``width``,
    i.e. the canvas centre); it is doubled to stay an integer.
    """
    key = (name, variant % N_VARIANTS, height, width, width if cx2 is None else cx2)
    return _CACHE.get(key, lambda: _draw(*key))[0]
