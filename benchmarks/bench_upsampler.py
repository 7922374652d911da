"""How well the upsampler restores 256 px scenes from 64 px, with the bicubic input it was trained on or another.

    python benchmarks/bench_upsampler.py [--model tiny-emoji] [--n 64] [--threads 2]

Renders `--n` unseen emoji-world scenes at 256 px, shrinks them to 64 px as the trainer does, and upsamples them
back at the default settings. Prints the PSNR against the rendered scene (median over scenes, and the share of
scenes where the first way wins) for: the bicubic input as the family was trained (`pipeline.upsampler_condition`,
what the app uses), torch's antialiased bicubic (another kernel, even upscaling: what the app fed the tiny
upsampler before 2026-12-04), and the plain bicubic image with no upsampler.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from unclip import load_backend, pipeline  # noqa: E402
from unclip.images import to_tensor  # noqa: E402
from unclip.sampling import drain  # noqa: E402
from unclip.world import EmojiWorld  # noqa: E402


def psnr(x: torch.Tensor, ref: torch.Tensor) -> list[float]:
    """Per image, for [-1, 1] images (peak-to-peak 2)."""
    mse = ((x.float().clamp(-1, 1) - ref) ** 2).mean(dim=(1, 2, 3))
    return (10 * torch.log10(4 / mse)).tolist()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="tiny-emoji")
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--threads", type=int, default=0)
    ns = p.parse_args()
    if ns.threads:
        torch.set_num_threads(ns.threads)
    backend = load_backend(ns.model, precision="fp32")
    models, settings = backend.models, backend.default_settings().upsampler
    images, _, _ = EmojiWorld().batch(ns.n, seed=12345, size=256, split="any")
    scores: dict[str, list[float]] = {"as trained": [], "antialiased": [], "bicubic only": []}
    for i in range(0, ns.n, ns.batch):
        hi = to_tensor(images[i : i + ns.batch])
        low = F.interpolate(hi, scale_factor=1 / models.upsample_factor, mode="bilinear", antialias=True)
        for name, antialias in (("as trained", models.bicubic_antialias), ("antialiased", True)):
            m = dataclasses.replace(models, bicubic_antialias=antialias)
            gens = [torch.Generator().manual_seed(i + k) for k in range(len(hi))]  # same noise both ways
            scores[name] += psnr(drain(pipeline.upsample(m, low, settings, gens)), hi)
        scores["bicubic only"] += psnr(pipeline.upsampler_condition(models, low, hi.shape[-2:]), hi)
    wins = sum(a > b for a, b in zip(scores["as trained"], scores["antialiased"], strict=True))
    print(f"{backend.name}: {ns.n} scenes 64 -> 256 px, upsampler {settings.scheduler} {settings.steps} steps, fp32")
    for name, s in scores.items():
        print(f"  {name:13s} PSNR median {statistics.median(s):.2f} dB (mean {statistics.mean(s):.2f})")
    print(f"  as trained beats antialiased on {wins} of {ns.n} scenes")


if __name__ == "__main__":
    main()
