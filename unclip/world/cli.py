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

from unclip.settings import InvalidInput, writable_dir

from .world import SPLITS, EmojiWorld

MAX_SCENES = 1024  # a 32 x 32 grid
SIZES = (16, 1024)  # pixels: the models use 64 and 256
MAX_PIXELS = 64 * 10**6  # the whole grid: 1024 scenes at 256 px, or 64 at 1024 px


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
    p = argparse.ArgumentParser(prog="python -m unclip world", description="Preview the emoji world.")
    p.add_argument("--n", type=int, default=16, help=f"number of scenes, 1-{MAX_SCENES}")
    p.add_argument("--out", type=Path, default=Path("grid.png"), help="output PNG path")
    p.add_argument("--seed", type=int, default=0, help="batch seed")
    p.add_argument("--size", type=int, default=64, help=f"image height in pixels, {SIZES[0]}-{SIZES[1]}")
    p.add_argument("--split", choices=SPLITS, default="train")
    p.add_argument("--width", type=int, default=None,
                   help="canvas width (default: size); wider extends the background, up to 4x size")
    return p


def check(args: argparse.Namespace) -> None:
    """Refuse (InvalidInput, naming the flag) arguments that cannot make a grid, before anything is rendered."""
    width = args.size if args.width is None else args.width
    if not 1 <= args.n <= MAX_SCENES:
        raise InvalidInput(f"--n must be from 1 to {MAX_SCENES}, got {args.n}")
    if not SIZES[0] <= args.size <= SIZES[1]:
        raise InvalidInput(f"--size must be from {SIZES[0]} to {SIZES[1]} pixels, got {args.size}")
    if not args.size <= width <= 4 * args.size:
        raise InvalidInput(f"--width must be from --size ({args.size}) to 4x it ({4 * args.size}), got {width}")
    if not 0 <= args.seed < 2**63:  # scene seeds are taken mod 2**63 (EmojiWorld.item_seed): larger ones repeat
        raise InvalidInput(f"--seed must be from 0 to 2**63 - 1, got {args.seed}")
    if args.n * args.size * width > MAX_PIXELS:  # PIL refuses to open past ~179 Mpx as a decompression bomb
        raise InvalidInput(f"--n x --size x --width: {args.n} scenes of {width}x{args.size} px is "
                           f"{args.n * args.size * width / 1e6:.0f} Mpx; at most {MAX_PIXELS // 10**6} Mpx")
    if args.out.suffix.lower() != ".png" or args.out.is_dir():
        raise InvalidInput(f"--out must be the path of a .png file (its captions go beside it as .txt), "
                           f"got '{args.out}'")
    if args.out.with_suffix(".txt").is_dir():  # checked before the PNG is written: no half of a grid is left
        raise InvalidInput(f"--out: the captions go to '{args.out.with_suffix('.txt')}', which is a folder")


def main(argv: list[str] | None = None) -> int:
    from PIL import Image

    args = build_parser().parse_args(argv)
    try:
        check(args)
        writable_dir(args.out.parent, "--out")
    except InvalidInput as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    world = EmojiWorld()
    scenes = [world.sample(world.item_seed(args.seed, i), args.split) for i in range(args.n)]
    images = [world.render(s, args.size, args.width) for s in scenes]
    Image.fromarray(make_grid(images)).save(args.out)
    captions = [s.caption for s in scenes]
    args.out.with_suffix(".txt").write_text("\n".join(captions) + "\n", encoding="utf-8")
    for c in captions:
        print(c)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
