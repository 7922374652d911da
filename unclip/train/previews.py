"""Sample grids a stage writes while it trains: every --preview-every steps and at the last, `<stage>_<step>.png`
in the run dir. The inputs are fixed (scenes and seeds), so grids from different steps compare.

    clip       2 x 6: six unseen scenes, then the scene CLIP picks for each one's caption among 100 unseen scenes
               (green frame: its own scene, red: another); prints text->image R@1 over all 100
    prior      2 x 6: the same six scenes, then the scene nearest the prior's sample for each caption, framed the
               same way; prints R@1 and mean cos(prior sample, true embedding) against the text embedding's
    decoder    1 x 6: one 64 px image per PREVIEW_PROMPTS caption, decoded from its CLIP text embedding, seed 0
    upsampler  3 x 4: the 64 px input (shown at 256 px, nearest), the upsampler's 256 px output, the rendered truth

The prior and CLIP grids need no decoder (training order is clip, prior, decoder, upsampler): they show what an
embedding means by the scene it retrieves, as the eval's R@1 does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch
from PIL import Image, ImageOps
from torch import Tensor

from unclip.eval.metrics import mean_cos, nearest_index, prior_samples, recall_at_1
from unclip.images import grid, to_pil, to_tensor
from unclip.models import UnCLIPModels, encode_image, encode_text
from unclip.world import EmojiWorld

PREVIEW_PROMPTS = ["a red apple left of a cat", "two dogs", "a blue circle above a yellow star",
                   "a pizza at night", "an elephant on the beach", "a car below a tree"]
POOL, POOL_SEED, SHOWN = 100, 10_000, 6  # the retrieval pool: clip_retrieval's unseen scenes
UPSAMPLER_SCENES, UPSAMPLER_SEED = 4, 30_000
RIGHT, WRONG, FRAME = (40, 170, 60), (210, 40, 40), 3

Preview = Callable[[Path, int], dict[str, float]]  # (run dir, step) -> the figures it printed (R@1, cosines)


def framed(image: Image.Image, right: bool, width: int = FRAME) -> Image.Image:
    """The image inside a green (right) or red (wrong) frame, at its own size."""
    inner = image.convert("RGB").resize((image.width - 2 * width, image.height - 2 * width), Image.LANCZOS)
    return ImageOps.expand(inner, border=width, fill=RIGHT if right else WRONG)


def retrieval_grid(scenes: list[Image.Image], queries: Tensor, pool: Tensor) -> tuple[Image.Image, Tensor]:
    """Row 1: scenes[:SHOWN]; row 2: for each, the pool scene whose embedding is nearest (cosine) its query,
    framed by whether it is the scene itself. queries (n, D) and pool (n, D) are row-aligned with `scenes`.
    Returns the grid and the index picked for every query."""
    picks = nearest_index(queries, pool).cpu()
    shown = min(SHOWN, len(scenes))
    row = [framed(scenes[int(picks[i])], int(picks[i]) == i) for i in range(shown)]
    return grid(scenes[:shown] + row, cols=shown), picks


def _pool(world: EmojiWorld, size: int) -> tuple[list[Image.Image], list[str], Tensor]:
    """The retrieval pool: clip_retrieval's 100 unseen scenes (images, captions, pixels (n, 3, H, W) in [-1, 1])."""
    images, captions, _ = world.batch(POOL, seed=POOL_SEED, size=size, split="any")
    return [Image.fromarray(a) for a in images], list(captions), to_tensor(images)


def _embed(models: UnCLIPModels, pixels: Tensor) -> Tensor:
    return encode_image(models, pixels.to(models.device))


def clip_preview(models: UnCLIPModels, world: EmojiWorld) -> Preview:
    scenes, captions, pixels = _pool(world, models.clip_image_size)

    @torch.no_grad()
    def preview(run_dir: Path, step: int) -> dict[str, float]:  # CLIP is what trains: both sides encoded afresh
        image, picks = retrieval_grid(scenes, encode_text(models, captions).embeds, _embed(models, pixels))
        image.save(run_dir / f"clip_{step:06d}.png")
        r1 = recall_at_1(picks)
        print(f"[clip] step {step}: text->image R@1 among {POOL} unseen scenes = {r1:.3f}", flush=True)
        return {"r1": r1}
    return preview


def prior_preview(models: UnCLIPModels, world: EmojiWorld) -> Preview:
    from unclip.backend import UnCLIP

    scenes, captions, pixels = _pool(world, models.clip_image_size)
    backend, cache = UnCLIP(models), {}

    @torch.no_grad()
    def preview(run_dir: Path, step: int) -> dict[str, float]:
        if not cache:  # CLIP is frozen while the prior trains: the pool and captions are encoded once
            cache["truth"], cache["text"] = _embed(models, pixels), encode_text(models, captions)
        truth, text = cache["truth"], cache["text"]
        sample = prior_samples(backend, text, POOL_SEED)  # as the eval's prior_alignment, on the retrieval pool
        image, picks = retrieval_grid(scenes, sample, truth)
        image.save(run_dir / f"prior_{step:06d}.png")
        figures = {"r1": recall_at_1(picks), "cos_prior_truth": mean_cos(sample, truth),
                   "cos_text_truth": mean_cos(text.embeds, truth)}
        print(f"[prior] step {step}: among {POOL} unseen scenes, its sample's R@1 = {figures['r1']:.3f}; mean cos to "
              f"the true image embedding {figures['cos_prior_truth']:.3f} (the text embedding's: "
              f"{figures['cos_text_truth']:.3f})", flush=True)
        return figures
    return preview


def decoder_preview(models: UnCLIPModels, world: EmojiWorld) -> Preview:
    def preview(run_dir: Path, step: int) -> dict[str, float]:
        from unclip.backend import UnCLIP

        backend = UnCLIP(models)
        s = backend.default_settings("text_embedding")
        s = replace(s, upsampler=replace(s.upsampler, enabled=False))  # the decoder's own 64 px
        rows = [backend.generate(p, n=1, seed=0, settings=s)[0] for p in PREVIEW_PROMPTS]
        grid(rows, cols=len(rows)).save(run_dir / f"decoder_{step:06d}.png")
        return {}
    return preview


def upsampler_preview(models: UnCLIPModels, world: EmojiWorld) -> Preview:
    def preview(run_dir: Path, step: int) -> dict[str, float]:
        from unclip.backend import UnCLIP
        from unclip.pipeline import downscale, upsample
        from unclip.sampling import drain

        size = models.upsampler.config.sample_size * models.upsampler_patch
        images, _, _ = world.batch(UPSAMPLER_SCENES, seed=UPSAMPLER_SEED, size=size, split="any")
        hi = to_tensor(images).to(models.device, models.dtype)
        low = downscale(models, hi)  # as the trainer makes its input, without the noise
        gens = [torch.Generator("cpu").manual_seed(UPSAMPLER_SEED + i) for i in range(len(images))]
        out = drain(upsample(models, low, UnCLIP(models).default_settings().upsampler, gens))
        inputs = [im.resize((size, size), Image.NEAREST) for im in to_pil(low.float())]
        truth = [Image.fromarray(a) for a in images]
        grid(inputs + to_pil(out.float()) + truth, cols=len(images)).save(run_dir / f"upsampler_{step:06d}.png")
        return {}
    return preview
