"""The one place user uploads become images: any file (or PIL image) -> a checked, normalised RGB picture.

Every tab, the CLI and the API go through `inspect_upload` / `load_upload`, so a bad file always gets the same
clear message (an `InvalidInput` naming the field) and every odd format gets the same treatment:

    bytes that are not an image   -> "image is not an image file PIL can read (PNG, JPEG, WebP, GIF, BMP, TIFF)"
    fewer than MIN_SIDE px a side -> "image is too small: 1×1 px; it must be at least 16 px on each side"
    more than MAX_PIXELS pixels   -> refused before decoding (decompression bombs)
    animated GIF / APNG / WebP    -> the first frame, with a note saying so
    EXIF orientation              -> applied (the picture as a phone shows it)
    RGBA / LA / palette + alpha   -> composited on white; the alpha is kept apart (DALL·E: transparent = repaint)
    16-bit / 32-bit grey, float   -> scaled to 8 bits (not clipped to white)
    CMYK, YCbCr, LAB, HSV, 1-bit  -> converted to RGB

`working_image` then centre-crops to a square and resizes to the size the model works at, returning the crop
box so the UI can show what the model sees. Nothing here touches tensors.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from unclip.settings import InvalidInput

MIN_SIDE = 16  # px: anything smaller carries no picture worth editing
MAX_PIXELS = 40_000_000  # refuse larger images before decoding them (a 10 MB PNG can claim billions of pixels)
FORMATS = "PNG, JPEG, WebP, GIF, BMP, TIFF"
Source = str | Path | bytes | Image.Image | np.ndarray  # a path, file bytes, an opened image, or uint8 pixels


@dataclass
class Upload:
    """A checked upload: RGB on white, its transparency (if any), and what was done to it."""

    image: Image.Image  # RGB, EXIF orientation applied, alpha composited on white
    alpha: Image.Image | None  # L, 0 = fully transparent; None when the file had no transparency
    notes: list[str] = field(default_factory=list)  # e.g. "animated GIF: used its first frame of 12"

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size


def _open(source: Source, name: str) -> Image.Image:
    """Open lazily (header only) and refuse non-images and decompression bombs before any pixel is decoded."""
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, np.ndarray):
        return _from_array(source, name)
    if source is None or (isinstance(source, (str, bytes)) and not source):
        raise InvalidInput(f"{name} is missing: upload an image")
    if not isinstance(source, (str, os.PathLike, bytes, bytearray)):
        raise InvalidInput(f"{name} must be an image file's path, its bytes, a PIL image or a uint8 array "
                           f"(H, W) or (H, W, 3 or 4), got {type(source).__name__}")
    stream: Any = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else Path(source)
    if isinstance(stream, Path) and not stream.is_file():
        what = ("is a folder, not an image file" if stream.is_dir() else "is not a regular file" if stream.exists()
                else "file not found")  # fmt: skip
        raise InvalidInput(f"{name} {what}: {stream.name}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(stream)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidInput(f"{name} is too large to decode safely (at most {MAX_PIXELS:,} pixels)") from None
    except UnidentifiedImageError:
        raise InvalidInput(f"{name} is not an image file PIL can read ({FORMATS})") from None
    except OSError as e:
        raise InvalidInput(f"{name} could not be read: {e}") from None
    return im


def _from_array(a: np.ndarray, name: str) -> Image.Image:
    """uint8 pixels (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA, or a bool (H, W) mask -> a PIL image; anything
    else is refused."""
    if a.dtype == np.bool_ and a.ndim == 2:
        return _binary(a)
    shape = "×".join(map(str, a.shape))
    if a.dtype != np.uint8 or not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))):
        raise InvalidInput(f"{name} as an array must be uint8 (H, W), (H, W, 3) or (H, W, 4), or bool (H, W), got "
                           f"{a.dtype} {shape}")
    return Image.fromarray(np.ascontiguousarray(a))


def _binary(marked: np.ndarray) -> Image.Image:
    """bool (H, W) -> L mask, 255 where marked."""
    return Image.fromarray(marked.astype(np.uint8) * 255, mode="L")


@contextmanager
def _opened(source: Source, name: str) -> Iterator[Image.Image]:
    """`_open`, and close the file afterwards when we opened it: PIL keeps an animated image's file open (to seek
    its frames) until the image is garbage-collected, which on a server is an open handle per upload."""
    im = _open(source, name)
    try:
        yield im
    finally:
        if im is not source:
            im.close()


def check_size(im: Image.Image, name: str) -> None:
    w, h = im.size
    if w * h > MAX_PIXELS:
        raise InvalidInput(f"{name} is too large: {w}×{h} = {w * h:,} pixels (at most {MAX_PIXELS:,}); "
                           "downscale it first")  # fmt: skip
    if min(w, h) < MIN_SIDE:
        raise InvalidInput(f"{name} is too small: {w}×{h} px; it must be at least {MIN_SIDE} px on each side")


def _first_frame(im: Image.Image, notes: list[str]) -> Image.Image:
    frames = getattr(im, "n_frames", 1)
    if frames > 1:
        im.seek(0)
        notes.append(f"animated {im.format or 'image'} ({frames} frames): used its first frame")
    return im


def _to_8bit(im: Image.Image, notes: list[str]) -> Image.Image:
    """High-bit-depth grey ('I;16', 'I', 'F') -> 'L' scaled (PIL's convert would clip): 'I;16' by its container's
    range, so a dark one stays dark; 'I' (which PIL opens some 16-bit PNGs as) by 0-65535 when its values pass 255,
    else as 8-bit values, and by its own range when they leave 0-65535 (32-bit data); 'F' by the data's."""
    a = np.asarray(im).astype(np.float64)  # (H, W)
    top = 65535.0 if im.mode.startswith("I;16") or a.max(initial=0) > 255 else 255.0
    if im.mode == "I" and (a.min(initial=0) < 0 or a.max(initial=0) > 65535):  # its own range, low end to black
        a = a - a.min()
        top = max(a.max(), 1.0)
    if im.mode == "F":
        top = 1.0 if a.max(initial=0) <= 1.0 else max(a.max(initial=0), 1.0)
    notes.append(f"{im.mode} image scaled to 8 bits")
    return Image.fromarray(np.clip(a / top * 255.0 + 0.5, 0, 255).astype(np.uint8), mode="L")


def _split_alpha(im: Image.Image, notes: list[str]) -> tuple[Image.Image, Image.Image | None]:
    """Any mode -> (RGB on white, alpha L or None)."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        im = _to_8bit(im, notes)
    if im.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        notes.append(f"converted from {im.mode} to RGB")
    has_alpha = "A" in im.getbands() or "transparency" in im.info
    if not has_alpha:
        return im.convert("RGB"), None
    rgba = im.convert("RGBA")
    alpha = rgba.getchannel("A")
    lo, hi = alpha.getextrema()
    if lo == 255:  # an alpha channel with nothing transparent
        return rgba.convert("RGB"), None
    if hi == 0:
        notes.append("the image is fully transparent: the model sees plain white")
    flat = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("RGB")
    return flat, alpha


@contextmanager
def _decoding(name: str) -> Iterator[None]:
    """Around pixel decoding: a damaged file whose header read fine fails here, as one message naming `name`."""
    try:
        yield
    except (OSError, ValueError, SyntaxError) as e:
        raise InvalidInput(f"{name} is damaged or truncated: {e}") from None


def inspect_upload(source: Source, name: str = "image") -> Upload:
    """Open, check and normalise one upload; raises InvalidInput naming `name` with what is wrong."""
    notes: list[str] = []
    with _opened(source, name) as im:
        check_size(im, name)  # before decoding: the header already knows the size
        with _decoding(name):
            im = _first_frame(im, notes)
            im.load()
            if im.getexif().get(274, 1) != 1:  # 274 = Orientation; 1 = upright
                notes.append("rotated as its EXIF orientation says")
            im = ImageOps.exif_transpose(im)  # a new image (a copy when upright), independent of the file
        rgb, alpha = _split_alpha(im, notes)
    return Upload(rgb, alpha, notes)


def load_upload(source: Source, name: str = "image") -> Image.Image:
    """Any upload -> RGB PIL image (see the module docstring for what is checked and converted)."""
    return inspect_upload(source, name).image


# -- the square the model works on ---------------------------------------------------------------------------
def centre_box(size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The largest centred square (left, top, right, bottom) of an image of `size` (w, h)."""
    w, h = size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    return left, top, left + side, top + side


def working_image(image: Image.Image, side: int) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """Centre-crop to a square and resize to side×side (Lanczos); returns the image and the crop box.

    An RGB image that is already side×side is returned unchanged (pixel-exact: edits keep its pixels)."""
    box = centre_box(image.size)
    if image.size == (side, side) and image.mode == "RGB":
        return image, box
    return image.convert("RGB").crop(box).resize((side, side), Image.Resampling.LANCZOS), box


def describe_crop(size: tuple[int, int], side: int) -> str:
    """What `working_image` did, in words: 'cropped 1024×768 to its centre 768×768, resized to 256×256'."""
    left, top, right, bottom = centre_box(size)
    steps = [] if size == (right - left, bottom - top) else [
        f"cropped {size[0]}×{size[1]} to its centre {right - left}×{bottom - top}"]
    if right - left != side:
        steps.append(f"resized to {side}×{side}")
    return ", ".join(steps) or f"used as is ({side}×{side})"


# -- masks: white (or opaque paint, or transparency) = repaint ------------------------------------------------------
def mask_from_image(source: Source, name: str = "mask", notes: list[str] | None = None) -> Image.Image:
    """An uploaded mask -> L, 255 = repaint. With transparent pixels, those are the region (DALL·E's API
    convention: the picture with a hole), unless all that is not transparent is white and covers less than half:
    that is a brush layer (white strokes on a transparent background), and its strokes are the region. An opaque
    mask: white (brightness > 127) is the region. `invert` in the tabs flips any of them. What was done to read it
    (an animation's first frame, a brush layer, ...) goes into `notes`, prefixed with `name`."""
    up = inspect_upload(source, name)
    notes = [] if notes is None else notes
    notes += [f"{name}: {note}" for note in up.notes]
    from_alpha = mask_from_alpha(up.alpha)
    if from_alpha is not None:
        painted = np.asarray(up.alpha) > 0  # strokes cover less than the rest (a white sheet with a hole: DALL·E's)
        if 0 < painted.mean() < 0.5 and np.asarray(up.image)[painted].min() >= 250:  # white, once composited
            notes.append(f"{name}: white strokes on a transparent background, read as a brush layer: the strokes "
                         "are the region to repaint")  # fmt: skip
            return _binary(painted)
        return from_alpha
    return up.image.convert("L").point(lambda v: 255 if v > 127 else 0)


def mask_from_layers(layers: list[Source], size: tuple[int, int], name: str = "mask") -> Image.Image | None:
    """Brush strokes (gr.ImageEditor layers, RGBA): painted = alpha > 0 in any layer. None when nothing is painted."""
    painted = np.zeros((size[1], size[0]), dtype=bool)
    for layer in layers:
        with _opened(layer, name) as im:
            check_size(im, name)
            with _decoding(name):
                rgba = im.convert("RGBA")
        if rgba.size != size:
            rgba = rgba.resize(size, Image.Resampling.NEAREST)
        painted |= np.asarray(rgba.getchannel("A")) > 0
    return _binary(painted) if painted.any() else None


def mask_from_alpha(alpha: Image.Image | None) -> Image.Image | None:
    """DALL·E's convention: fully transparent pixels are the ones to repaint. None when nothing is transparent."""
    if alpha is None:
        return None
    mask = alpha.point(lambda v: 255 if v == 0 else 0)
    return mask if mask.getextrema()[1] == 255 else None


def working_mask(mask: Image.Image, image_size: tuple[int, int], side: int) -> Image.Image:
    """A binary mask for the original upload -> the working square (same crop as `working_image`), L side×side
    with 255 = repaint. Shrinking keeps every marked pixel: a working pixel is marked when any pixel it covers is
    (averaged, a 2 px stroke on a 1024 px photo fell under half and vanished)."""
    if mask.size != image_size:
        mask = mask.resize(image_size, Image.Resampling.NEAREST)
    crop = mask.convert("L").crop(centre_box(image_size)).point(lambda v: 255 if v > 127 else 0)
    n = crop.size[0]
    if n <= side:
        return crop.resize((side, side), Image.Resampling.NEAREST)
    starts = -(-np.arange(side) * n // side)  # ceil(i n / side): bins that partition the crop (a source pixel
    # straddling two working pixels counts for the earlier one)
    marked = np.maximum.reduceat(np.maximum.reduceat(np.asarray(crop), starts, axis=0), starts, axis=1)
    return Image.fromarray(marked, mode="L")
