"""How noisy is the eval's Fréchet floor? `frechet_clip_renders` is one draw of n other renders against the eval's
4n reference renders; this prints several such draws, to read `frechet_clip` against their spread.

    python benchmarks/frechet_floor.py [--model tiny-emoji] [--n 48] [--draws 8]

Same images, CLIP and preprocessing as `python -m unclip eval` (64 px renders; reference seed 70,000, the eval's
floor at seed 80,000 is the first draw).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="tiny-emoji")
    p.add_argument("--n", type=int, default=48, help="renders per draw (the eval's --n)")
    p.add_argument("--draws", type=int, default=8)
    ns = p.parse_args(argv)

    import numpy as np

    from unclip.cli import open_backend
    from unclip.eval.report import frechet
    from unclip.images import to_tensor
    from unclip.models import encode_image
    from unclip.world import EmojiWorld

    backend = open_backend(ns.model, None, "fp32")
    if backend is None:
        return 2
    world = EmojiWorld()

    def features(m: int, seed: int) -> np.ndarray:
        return encode_image(backend.models, to_tensor(world.batch(m, seed=seed, size=64)[0])).cpu().numpy()

    ref = features(4 * ns.n, 70_000)
    draws = [round(frechet(features(ns.n, 80_000 + 1000 * k), ref), 4) for k in range(ns.draws)]
    print(f"{ns.model}: {ns.n} renders vs {4 * ns.n}, {ns.draws} draws: {draws}")
    print(f"median {np.median(draws):.4f}, min {min(draws):.4f}, max {max(draws):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
