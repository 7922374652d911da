"""Regenerate models/tiny-emoji/samples.png: the model card's sample grid (seen and held-out captions, the
three decoder conditionings of the paper's ablation, §5.1).

    python docs/make_model_samples.py [--model tiny-emoji] [--out models/tiny-emoji/samples.png] [--seed 0]

Rows: 3 training-split captions, then 3 held-out-pair captions (object pairs never seen together in training).
Columns: the rendered ground truth, then the model's 256 px image for the same caption with the decoder given
the prior's sample, the CLIP text embedding, and nothing (caption only). One seed per row, fixed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from unclip import load_backend  # noqa: E402
from unclip.images import grid  # noqa: E402
from unclip.world import EmojiWorld  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="tiny-emoji")
    p.add_argument("--out", default=str(ROOT / "models" / "tiny-emoji" / "samples.png"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rows", type=int, default=3, help="captions per split")
    ns = p.parse_args()
    backend, world = load_backend(ns.model), EmojiWorld()
    tiles, captions = [], []
    for split, seed in (("train", 2024), ("heldout", 4048)):
        images, texts, _ = world.batch(ns.rows, seed=seed, size=256, split=split)
        for image, caption in zip(images, texts, strict=True):
            tiles.append(Image.fromarray(image))
            for mode in backend.modes:
                tiles.append(backend.generate(caption, n=1, seed=ns.seed, mode=mode)[0].resize((256, 256)))
            captions.append(f"{split}: {caption}")
    grid(tiles, cols=1 + len(backend.modes)).save(ns.out)
    print(f"wrote {ns.out}; rows:")
    for c in captions:
        print(f"  {c}")


if __name__ == "__main__":
    main()
