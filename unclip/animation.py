"""Infinite zoom: a sequence of zoom-outs -> an animated GIF that pulls back through every step.

Step k's image contains step k-1's shrunk into `box` (normalised). Frame t of step k shows the view V(t) of
image k, growing from `box` (t = 0, which is image k-1) to the whole image (t = 1), its width geometric in t
so the zoom speed looks constant; image k-1 is pasted sharp where it sits inside the view.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from unclip.masks import Box


@dataclass(frozen=True)
class ZoomStep:
    """One image of a zoom sequence and where the previous one sits in it (None for the first)."""

    image: Image.Image
    box: Box | None = None


def view(box: Box, t: float) -> Box:
    """The view at time t in [0, 1]: `box` at 0, the whole canvas at 1, width wB^(1 - t) (geometric)."""
    x0, y0, x1, y1 = box
    width = x1 - x0
    if width >= 1.0:
        return (0.0, 0.0, 1.0, 1.0)
    a = (width ** (1.0 - t) - width) / (1.0 - width)  # 0 -> 1 as the width grows from wB to 1
    return (x0 * (1 - a), y0 * (1 - a), x1 + (1 - x1) * a, y1 + (1 - y1) * a)


def frame(outer: Image.Image, inner: Image.Image, box: Box, t: float, side: int) -> Image.Image:
    """One frame: the view of `outer` at time t, with `inner` pasted sharp where it sits."""
    w, h = outer.size
    v = view(box, t)
    out = outer.resize((side, side), Image.Resampling.BICUBIC, box=(v[0] * w, v[1] * h, v[2] * w, v[3] * h))
    scale = side / (v[2] - v[0])  # px of the frame per unit of the outer canvas
    left, top = round((box[0] - v[0]) * scale), round((box[1] - v[1]) * scale)
    size = round((box[2] - box[0]) * scale)
    if size >= 2:
        out.paste(inner.convert("RGB").resize((size, size), Image.Resampling.LANCZOS), (left, top))
    return out.convert("RGB")


def zoom_frames(steps: list[ZoomStep], frames_per_step: int = 12, side: int | None = None) -> list[Image.Image]:
    """All frames of the pull-back: steps[0] first, the last step's whole image last."""
    if not steps:
        raise ValueError("a zoom sequence needs at least one image")
    side = side or steps[0].image.size[0]
    frames = [steps[0].image.convert("RGB").resize((side, side))]
    for prev, step in zip(steps, steps[1:], strict=False):
        if step.box is None:
            raise ValueError("every zoom step after the first needs the box of the previous image")
        frames += [frame(step.image, prev.image, step.box, (i + 1) / frames_per_step, side)
                   for i in range(frames_per_step)]  # fmt: skip
    return frames


def save_gif(steps: list[ZoomStep], path: str | Path, frames_per_step: int = 12, ms_per_frame: int = 70,
             hold_ms: int = 800, side: int | None = None) -> Path:
    """Write the zoom as a looping GIF; the first and last images are held for `hold_ms`."""
    frames = zoom_frames(steps, frames_per_step, side)
    durations = [ms_per_frame] * len(frames)
    durations[0] = durations[-1] = hold_ms
    frames[0].save(path, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0,
                   optimize=False)  # fmt: skip
    return Path(path)
