"""Masks for inpainting and zoom-out: binary PIL masks <-> (B, 1, H, W) tensors, feathering, zoom-out canvases.

Convention everywhere: 1 (or 255) = repaint, 0 = keep. A feathered mask is exactly 1 on the painted region,
falls linearly to 0 over `radius` px *outside* it, and is exactly 0 beyond that band: the band is the only place
where old and new pixels mix, so everything outside it keeps the original pixels exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

ANCHORS = ("center", "left", "right", "top", "bottom")  # where the shrunk original sits in a zoom-out
Box = tuple[float, float, float, float]  # (x0, y0, x1, y1), normalised by the canvas side


def mask_tensor(mask: Image.Image) -> Tensor:
    """L mask -> (1, 1, H, W) float32 in {0, 1} (brightness > 127 = repaint)."""
    return torch.from_numpy((np.asarray(mask.convert("L")) > 127).astype(np.float32))[None, None]


def mask_image(mask: Tensor) -> Image.Image:
    """(1, 1, H, W) in [0, 1] -> L image (255 = repaint), rounded."""
    return Image.fromarray((mask[0, 0].clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy(), mode="L")


def feather(mask: Tensor, radius: int) -> Tensor:
    """(B, 1, H, W) in {0, 1} -> soft mask: 1 on the mask, a linear ramp to 0 over ~radius px outside it.

    Dilate by k = ceil(radius / 2) (max-pool), then box-blur with radius k: a pixel of the mask sees only ones
    (stays exactly 1); a pixel farther than 2k from it sees only zeros (stays exactly 0). Replicate padding, so
    a mask touching the image edge (a zoom-out border) stays 1 up to the edge.
    """
    if radius <= 0:
        return mask.float()
    k = math.ceil(radius / 2)
    size = 2 * k + 1
    grown = F.max_pool2d(mask.float(), size, stride=1, padding=k)  # (B, 1, H, W) dilated by k
    return F.avg_pool2d(F.pad(grown, (k, k, k, k), mode="replicate"), size, stride=1)


def band(mask: Tensor, radius: int) -> Tensor:
    """(B, 1, H, W) bool: the pixels a feathered mask may touch (the mask grown by the feather band)."""
    k = math.ceil(radius / 2) if radius > 0 else 0
    return F.max_pool2d(mask.float(), 4 * k + 1, stride=1, padding=2 * k) > 0


def resize_mask(mask: Tensor, side: int) -> Tensor:
    """(B, 1, H, W) -> (B, 1, side, side) by area averaging (a soft mask stays within [0, 1])."""
    return mask if mask.shape[-1] == side else F.interpolate(mask, size=(side, side), mode="area")


def overlay(image: Image.Image, mask: Image.Image, color: tuple[int, int, int] = (255, 0, 170),
            opacity: float = 0.43) -> Image.Image:
    """The image with the region to repaint tinted (for showing users what will change)."""
    tint = Image.new("RGB", image.size, color)
    alpha = mask.convert("L").resize(image.size, Image.Resampling.BILINEAR).point(lambda v: round(v * opacity))
    return Image.composite(tint, image.convert("RGB"), alpha)


# -- zoom-out: the original shrunk into a canvas of the same size ---------------------------------------------
@dataclass(frozen=True)
class ZoomCanvas:
    """A zoom-out's starting point: the shrunk original on a canvas of the original's size."""

    image: Image.Image  # RGB side×side: the shrunk original, its edge pixels stretched over the border
    mask: Image.Image  # L side×side, 255 = the border to generate
    pixels: tuple[int, int, int, int]  # where the shrunk original sits (left, top, right, bottom), px
    box: Box  # the same, normalised by the side

    @property
    def inner(self) -> int:
        return self.pixels[2] - self.pixels[0]


def place(side: int, inner: int, anchor: str) -> tuple[int, int]:
    """Top-left corner of an inner×inner square in a side×side canvas, centred or against one edge."""
    mid = (side - inner) // 2
    return {"center": (mid, mid), "left": (0, mid), "right": (side - inner, mid), "top": (mid, 0),
            "bottom": (mid, side - inner)}[anchor]  # fmt: skip


def zoom_canvas(image: Image.Image, factor: float, anchor: str = "center") -> ZoomCanvas:
    """Shrink a square RGB image by `factor` (Lanczos) into a canvas of its own size at `anchor`.

    The border is filled with the original's edge pixels stretched outwards (np.pad 'edge'): they are
    repainted anyway, and a neutral filler keeps the decoder's 64 px view free of hard black seams."""
    side = image.size[0]
    inner = max(1, round(side / factor))
    small = np.asarray(image.convert("RGB").resize((inner, inner), Image.Resampling.LANCZOS))  # (s, s, 3)
    left, top = place(side, inner, anchor)
    pad = ((top, side - inner - top), (left, side - inner - left), (0, 0))
    canvas = Image.fromarray(np.pad(small, pad, mode="edge"))
    mask = np.full((side, side), 255, dtype=np.uint8)
    mask[top:top + inner, left:left + inner] = 0
    pixels = (left, top, left + inner, top + inner)
    return ZoomCanvas(canvas, Image.fromarray(mask, mode="L"), pixels, tuple(p / side for p in pixels))
