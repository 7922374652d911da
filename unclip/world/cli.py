"""Preview the emoji world: write a grid PNG of n scenes plus their captions.

    python -m unclip world --n 16 --out grid.png --seed 0 --size 64 [--width 128]

Captions are printed one per line (row-major grid order) and also written to
``<out>.txt`` next to the PNG.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from .world import SPLITS, EmojiWorld


def make_grid(images: list[np.ndarray], pad: int = 2) -> np.ndarray:
    """Tile same-shape (H, W, 3) uint8 images into one (rows*H', cols*W', 3) image."""
    n = len(images)
    cols = max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / cols))
    h, w = images[0].shape[:2]
    grid = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), 255, np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        grid[y:y + h, x:x + w] = img
    return grid


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="unclip world", description="Preview the emoji world.")
    p.add_argument("--n", type=int, default=16, help="number of scenes")
    p.add_argument("--out", type=Path, default=Path("grid.png"), help="output PNG path")
    p.add_argument("--seed", type=int, default=0, help="batch seed")
    p.add_argument("--size", type=int, default=64, help="image height in pixels")
    p.add_argument("--split", choices=SPLITS, default="train")
    p.add_argument("--width", type=int, default=None,
                   help="canvas width (default: size); wider extends the background")
    return p


def main(argv: list[str] | None = None) -> int:
    from PIL import Image

    args = build_parser().parse_args(argv)
    if args.n < 1:
        print(f"error: --n must be at least 1, got {args.n}", file=sys.stderr)
        return 2
    world = EmojiWorld()
    scenes = [world.sample(world.item_seed(args.seed, i), args.split) for i in range(args.n)]
    images = [world.render(s, args.size, args.width) for s in scenes]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(make_grid(images)).save(args.out)
    captions = [s.caption for s in scenes]
    args.out.with_suffix(".txt").write_text("\n".join(captions) + "\n", encoding="utf-8")
    for c in captions:
        print(c)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
