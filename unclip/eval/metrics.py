"""Metrics that need no download: CLIP retrieval on unseen scenes (more in report.py)."""

from __future__ import annotations

import torch

from unclip.images import to_tensor
from unclip.models import UnCLIPModels, encode_image, encode_text


@torch.no_grad()
def clip_retrieval(models: UnCLIPModels, world, n: int = 100, seed: int = 10_000, split: str = "any") -> float:
    """Text -> image R@1: for each of n captions, is its own scene the best of the n candidate images?"""
    images, captions, _ = world.batch(n, seed=seed, size=models.clip_image_size, split=split)
    img = encode_image(models, to_tensor(images).to(models.device))  # (n, D)
    txt = encode_text(models, list(captions)).embeds  # (n, D)
    sims = txt @ img.T  # (n, n)
    return (sims.argmax(dim=1) == torch.arange(n, device=sims.device)).float().mean().item()
