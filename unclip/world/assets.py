"""Sprite assets: the vendored Fluent Emoji subset and procedural shapes.

Sprites are rasterised with resvg (``resvg_py.svg_to_bytes``) on first use and
cached in memory per (label, colour, pixel size) as premultiplied float32
arrays ready for alpha compositing.
"""

from __future__ import annotations

import io
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .catalog import COLORS, SHAPES

ASSET_PATH = Path(__file__).parent / "assets" / "fluent-emoji-flat.json"
SHAPE_VIEWBOX = 100.0


class ByteLRU:
    """Tiny thread-safe LRU cache bounded by the total ``nbytes`` of its values."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._data: OrderedDict[Any, tuple[np.ndarray, ...]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Any, make: Callable[[], tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
        with self._lock:
            hit = self._data.get(key)
            if hit is not None:
                self._data.move_to_end(key)
                return hit
        value = make()
        for arr in value:
            arr.setflags(write=False)
        size = sum(a.nbytes for a in value)
        with self._lock:
            if key not in self._data:
                self._data[key] = value
                self._bytes += size
            while self._bytes > self.max_bytes and len(self._data) > 1:
                _, old = self._data.popitem(last=False)
                self._bytes -= sum(a.nbytes for a in old)
        return value

    def __len__(self) -> int:
        return len(self._data)


_ICON_DATA: dict[str, Any] | None = None
_ICON_LOCK = threading.Lock()


def icon_data() -> dict[str, Any]:
    """The vendored Iconify JSON subset (loaded once, lazily)."""
    global _ICON_DATA
    with _ICON_LOCK:
        if _ICON_DATA is None:
            with open(ASSET_PATH, encoding="utf-8") as f:
                _ICON_DATA = json.load(f)
        return _ICON_DATA


def icon_svg(name: str) -> str:
    """Standalone SVG document for one Iconify icon."""
    data = icon_data()
    icon = data["icons"][name]
    left, top = icon.get("left", 0), icon.get("top", 0)
    width = icon.get("width", data.get("width", 16))
    height = icon.get("height", data.get("height", 16))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{left} {top} {width} {height}">'
            f'{icon["body"]}</svg>')


def icon_bbox(name: str) -> tuple[float, float, float, float]:
    """Visible (alpha) box of an icon as fractions of its square view box."""
    x0, y0, x1, y1 = icon_data()["bboxes"][name]
    return float(x0), float(y0), float(x1), float(y1)


def shape_svg(shape: str, color: str) -> str:
    """SVG document for a filled procedural shape."""
    r, g, b = COLORS[color]
    pts = " ".join(f"{x:.2f},{y:.2f}" for x, y in SHAPES[shape])
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">'
            f'<polygon points="{pts}" fill="rgb({r},{g},{b})"/></svg>')


def shape_bbox(shape: str) -> tuple[float, float, float, float]:
    """Exact box of a shape polygon as fractions of its view box."""
    pts = np.asarray(SHAPES[shape]) / SHAPE_VIEWBOX  # (P, 2)
    (x0, y0), (x1, y1) = pts.min(0), pts.max(0)
    return float(x0), float(y0), float(x1), float(y1)


def rasterize(svg: str, px: int) -> np.ndarray:
    """Render an SVG to an RGBA uint8 array of shape (px, px, 4)."""
    import resvg_py
    from PIL import Image

    png = resvg_py.svg_to_bytes(svg_string=svg, width=px, height=px)
    img = Image.open(io.BytesIO(bytes(png))).convert("RGBA")
    if img.size != (px, px):  # resvg keeps the aspect; be defensive
        img = img.resize((px, px), Image.LANCZOS)
    return np.asarray(img, dtype=np.uint8)  # (px, px, 4)


def premultiply(rgba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(px, px, 4) uint8 -> premultiplied rgb and 1 - alpha, both (px, px, 3) float32.

    1 - alpha is repeated over the channels: numpy multiplies same-shape arrays
    about twice as fast as it broadcasts a trailing axis of 1.
    """
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0  # (px, px, 1)
    rgb = rgba[..., :3].astype(np.float32) * alpha  # (px, px, 3)
    inv = np.repeat(1.0 - alpha, 3, axis=2)  # (px, px, 3)
    return np.ascontiguousarray(rgb), np.ascontiguousarray(inv)


class SpriteBank:
    """Lazily rasterised, cached sprites for emoji icons and coloured shapes."""

    def __init__(self, max_bytes: int = 256 << 20) -> None:
        self._cache = ByteLRU(max_bytes)

    def sprite(self, icon: str | None, shape: str | None, color: str | None,
               px: int) -> tuple[np.ndarray, np.ndarray]:
        """Premultiplied (px, px, 3) rgb and (px, px, 3) 1-alpha, both float32."""
        key = (icon, shape, color, px)

        def make() -> tuple[np.ndarray, np.ndarray]:
            if icon is not None:
                svg = icon_svg(icon)
            else:
                assert shape is not None and color is not None
                svg = shape_svg(shape, color)
            return premultiply(rasterize(svg, px))

        rgb, inv_alpha = self._cache.get(key, make)
        return rgb, inv_alpha

    def __len__(self) -> int:
        return len(self._cache)
