"""Metrics that need no download: CLIP retrieval on unseen scenes (more in report.py)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from unclip.images import to_tensor
from unclip.models import TextEncoding, UnCLIPModels, encode_image, encode_text


def nearest_index(queries: Tensor, pool: Tensor) -> Tensor:
    """For each query (n, D), the index of the pool row (m, D) with the highest cosine: Karlo's and Kandinsky's
    embeddings are not unit length, and a raw dot product let the longest image embeddings win."""
    return (F.normalize(queries.float(), dim=-1) @ F.normalize(pool.float(), dim=-1).T).argmax(dim=1)


def recall_at_1(picks: Tensor) -> float:
    """The share of queries whose pick (`nearest_index`, row-aligned query i <-> pool row i) is their own row."""
    return (picks == torch.arange(len(picks), device=picks.device)).float().mean().item()


@torch.no_grad()
def clip_retrieval(models: UnCLIPModels, world, n: int = 100, seed: int = 10_000, split: str = "any") -> float:
    """Text -> image R@1: for each of n captions, is its own scene the best of the n candidate images?"""
    images, captions, _ = world.batch(n, seed=seed, size=models.clip_image_size, split=split)
    img = encode_image(models, to_tensor(images).to(models.device))  # (n, D)
    txt = encode_text(models, list(captions)).embeds  # (n, D)
    return recall_at_1(nearest_index(txt, img))


@torch.no_grad()
def prior_samples(backend, text: TextEncoding, seed: int) -> Tensor:
    """One prior sample per caption at the model's default settings, caption i from seed + i: (n, D)."""
    from unclip.pipeline import sample_prior
    from unclip.sampling import drain

    gens = [torch.Generator("cpu").manual_seed(seed + i) for i in range(len(text))]
    return drain(sample_prior(backend.models, text, backend.empty_text(), backend.default_settings().prior, gens))


def mean_cos(a: Tensor, b: Tensor) -> float:
    """Mean cosine similarity of row-aligned embeddings."""
    return F.cosine_similarity(a.float(), b.float(), dim=-1).mean().item()


@torch.no_grad()
def prior_alignment(backend, world, n: int = 100, seed: int = 20_000) -> dict[str, float]:
    """How well the prior translates text into image embeddings, on n unseen scenes (all unit vectors):
    mean cos(prior sample, true z_i) against the baseline cos(z_t, z_i) of using the text embedding itself."""
    models = backend.models
    images, captions, _ = world.batch(n, seed=seed, size=models.clip_image_size, split="any")
    truth = encode_image(models, to_tensor(images).to(models.device))  # (n, D)
    text = encode_text(models, list(captions))
    prior = prior_samples(backend, text, seed)
    return {"cos_prior_truth": round(mean_cos(prior, truth), 4),
            "cos_text_truth": round(mean_cos(text.embeds, truth), 4), "n": n}
