"""DALL·E 2's image tools over the same stages: variations, inpainting, zoom-out (one code path, `run_edit`).

1. vary      image -> CLIP image embedding z_i -> decoder -> upsampler (paper §3.1, Fig. 3: only z_i is kept,
             so the variations share the image's semantics and differ in everything CLIP does not encode).
             strength s (SDEdit, Meng et al. 2022): each stage starts from the input noised to the level of
             step (1 - s)·N of its schedule and runs the last s·N steps. s = 1 starts from pure noise (only z_i
             is kept); s -> 0 keeps the input's layout and colours and changes only details.
             The paper's own way (eta): the decoder's DDIM inversion of the input, x_T (`pipeline.invert`), is
             decoded with DDIM at eta > 0. eta = 0 gives the input back; larger eta adds noise at every step, so
             the variations spread out around it ("centered around the original image", §3.1).
2. inpaint   mask m (1 = repaint), feathered. After every denoising step, in the decoder (64 px) and again in the
             upsampler (256 px), the known region is replaced by the original noised to that step's level
             (RePaint, Lugmayr et al. 2022, eq. 8, with no resampling jumps):
                 x_{t-1} = m * x_{t-1}^{sampled} + (1 - m) * q(x_{t-1} | x0 = original)
             The noise of q is drawn once per image (not every step): our default samplers (DPM-Solver++,
             DDIM) are deterministic and follow one ODE path, and a fixed eps keeps the known region on such a
             path. At the end the original is composited back at full resolution with the feathered mask, so
             pixels outside the feather band are exactly the original's. Conditioning: the prompt (through the
             prior, like generate) or the image's own CLIP embedding.
3. zoom_out  the original shrunk by a factor into a canvas of its own size (centre or against an edge), then
             inpainting with m = the border, conditioned by default on the original's CLIP image embedding.

The noise of image i comes from a generator seeded seed + i, exactly as in generate, so an inpaint with a full
mask and the prompt's conditioning gives generate's pixels; the known region's noise has generators of its own.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from unclip import pipeline
from unclip.images import batch_record, to_pil, to_tensor
from unclip.masks import Box, feather, mask_image, mask_tensor, resize_mask
from unclip.models import too_long
from unclip.sampling import Progress, StepHook, make_scheduler, q_sample, randn, sdedit_steps
from unclip.settings import GenerateSettings

CONDITIONS = ("prompt", "image")  # what gives the decoder its image embedding
KNOWN_NOISE_SEED = 1 << 33  # the known region's noise: seed + i + this (never a seed of the main noise)


@dataclass
class Edit:
    """Everything one vary / inpaint / zoom_out call made (like `Generation`, for the UI and metadata)."""

    operation: str  # "vary" | "inpaint" | "zoom_out"
    prompt: str  # the caption the decoder read ("" for none)
    seeds: list[int]
    images: list[Image.Image]  # final images, each with its settings in info["parameters"]
    source: Image.Image  # the working image the edit started from (the crop, or the zoom-out canvas)
    low_res: Tensor  # (B, 3, 64, 64) in [-1, 1], the decoder's output
    image_embeds: Tensor  # (B, D) what the decoder was given
    source_embeds: Tensor  # (D,) CLIP image embedding of the input image
    result_embeds: Tensor  # (B, D) CLIP image embedding of each final image
    settings: GenerateSettings
    options: dict[str, Any]  # strength / feather / invert / condition / factor / anchor
    mask: Image.Image | None = None  # L, 255 = repainted (feathered), at the output size
    box: Box | None = None  # zoom-out: where the input now sits, normalised
    warnings: list[str] = field(default_factory=list)
    original: Image.Image | None = None  # the input's working crop (zoom-out: before it was shrunk)

    @property
    def similarity(self) -> list[float]:
        """cos(CLIP(input), CLIP(result)) per image: how much of the input's meaning survived."""
        cos = F.cosine_similarity(self.result_embeds.float(), self.source_embeds.float()[None], dim=-1)
        return [round(c, 3) for c in cos.tolist()]


@dataclass
class EditJob:
    """One validated request, in the form `run_edit` needs."""

    operation: str
    source: Image.Image  # RGB side×side: what the known pixels come from
    caption: str  # what the decoder reads; with condition "prompt" also what the prior reads
    condition: str  # "prompt": z_i from the caption (settings.mode) | "image": CLIP(embed_from)
    seeds: list[int]
    settings: GenerateSettings
    options: dict[str, Any]
    mask: Tensor | None = None  # (1, 1, side, side) in [0, 1], feathered, 1 = repaint; None: no mask (vary)
    strength: float = 1.0  # SDEdit start (vary); 1 = from pure noise
    eta: float | None = None  # vary the paper's way: decode the source's DDIM inversion with DDIM at this eta
    embed_from: Image.Image | None = None  # the image whose CLIP embedding conditions (default: source)
    picture: Image.Image | None = None  # the upload at full resolution, which a hub family's CLIP embeds instead
    box: Box | None = None
    notes: list[str] = field(default_factory=list)


def known_region_hook(known: Tensor, mask: Tensor, noise: Tensor, alphas_cumprod: Tensor) -> StepHook:
    """RePaint's re-injection (eq. 8): x_{t-1} = m x_{t-1} + (1 - m) q(x_{t-1} | known); at the end, known.

    known (1, 3, H, W) in [-1, 1]; mask (1, 1, H, W) in [0, 1], 1 = sample; noise (B, 3, H, W), fixed."""

    def hook(x: Tensor, step: int, t_prev: int) -> Tensor:
        return mask * x + (1 - mask) * q_sample(alphas_cumprod, known, noise, t_prev)

    return hook


def stage_hook(models: Any, stage: str, scheduler: str, job: EditJob, known: Tensor,
               gens: list[torch.Generator]) -> StepHook | None:
    """The hook for one stage at the known image's size (in that stage's space: pixels, or the latents of a
    latent decoder), or None when nothing is masked (vary)."""
    if job.mask is None:
        return None
    mask = resize_mask(job.mask, known.shape[-1]).to(known)  # (1, 1, H, W)
    noise = randn(known.shape[1:], gens, models.device, models.dtype)  # (B, 3, H, W)
    abar = make_scheduler(scheduler, models.scheduler_configs[stage]).alphas_cumprod
    return known_region_hook(known, mask, noise, abar)


def image_embeds(backend: Any, job: EditJob, text: Any, gens: list[torch.Generator], source_embeds: Tensor
                 ) -> Generator[Progress, None, Tensor]:
    """(B, D): the prompt's embedding in the chosen mode (as generate makes it), or the image's own."""
    if job.condition == "prompt":
        return (yield from backend.image_embeds_for(job.settings.mode, text, job.settings.prior, gens))
    if job.embed_from is not None:
        source_embeds = backend.encode_picture(job.picture, job.embed_from)[0]
    return source_embeds[None].expand(len(job.seeds), -1).clone()


def run_edit(backend: Any, job: EditJob) -> Generator[Progress, None, Edit]:
    """The whole stack with known pixels: embeddings -> masked/SDEdit decoder -> masked/SDEdit upsampler."""
    models, s, n = backend.models, job.settings, len(job.seeds)
    side = job.source.size[0]
    source = to_tensor(job.source).to(models.device, models.dtype)  # (1, 3, side, side) in [-1, 1]
    low_side = models.low_res_size
    source_low = F.interpolate(source, size=(low_side, low_side), mode="area")  # (1, 3, 64, 64)
    gens = [torch.Generator("cpu").manual_seed(sd) for sd in job.seeds]
    known_gens = [torch.Generator("cpu").manual_seed(sd + KNOWN_NOISE_SEED) for sd in job.seeds]
    text = backend.encode_text([job.caption] * n)
    picture = job.picture if job.embed_from is None else None  # (zoom-out: the source is the shrunk canvas)
    source_embeds = backend.encode_picture(picture, source)[0]
    embeds = yield from image_embeds(backend, job, text, gens, source_embeds)
    start = None
    if job.eta is not None:  # one inversion, every image from it (their DDIM noise differs, from their seeds)
        start = yield from pipeline.invert(models, source_low, embeds[:1], backend.encode_text([job.caption]),
                                           s.decoder.steps)  # fmt: skip
    known = None if job.mask is None else pipeline.to_latents(models, source_low)  # the decoder's space, once
    hook = None if known is None else stage_hook(models, "decoder", s.decoder.scheduler, job, known, known_gens)
    extra = None if known is None else pipeline.inpaint_channels(models, known, job.mask, n)
    low = yield from pipeline.decode(models, embeds, text, backend.empty_text(), s.decoder, gens, hook=hook,
                                     init=source_low.expand(n, -1, -1, -1), strength=job.strength, extra=extra,
                                     noise=start, eta=job.eta or 0.0)  # fmt: skip
    final = low
    if s.upsampler.enabled:
        hook = stage_hook(models, "upsampler", s.upsampler.scheduler, job, source, known_gens)
        final = yield from pipeline.upsample(models, low, s.upsampler, gens, hook=hook,
                                             init=source.expand(n, -1, -1, -1), strength=job.strength)
    mask = None if job.mask is None else resize_mask(job.mask, side).to(final)
    if mask is not None:  # the original back, exactly, outside the feather band
        final = mask * final + (1 - mask) * source
    return finish(backend, job, final, low, embeds, source_embeds, mask, any(text.truncated))


def finish(backend: Any, job: EditJob, final: Tensor, low: Tensor, embeds: Tensor, source_embeds: Tensor,
           mask: Tensor | None, truncated: bool = False) -> Edit:
    """Final tensors -> an `Edit` with PNG metadata (operation, prompt, seed, model, options, every stage it
    used: conditioned on the image, the mode and the prior play no part, not even in the noise, and are left out)."""
    settings = job.settings.to_dict()
    if job.condition == "image":
        del settings["mode"], settings["prior"]
    meta = [{"operation": job.operation, "prompt": job.caption, "seed": sd, "model": backend.name,
             "precision": backend.precision, **job.options, **settings, "batch": batch_record(job.seeds, i)}
            for i, sd in enumerate(job.seeds)]  # fmt: skip
    warnings = list(job.notes)
    if truncated:  # Variations' field is its "Caption (optional)"
        warnings.append(too_long(backend.models, "caption" if job.operation == "vary" else "prompt"))
    return Edit(job.operation, job.caption, list(job.seeds), to_pil(final, meta), job.source, low, embeds,
                source_embeds, backend.encode_image(final), job.settings, job.options,
                None if mask is None else mask_image(mask), job.box, warnings, job.embed_from or job.source)


def planned_steps(settings: GenerateSettings, condition: str, strength: float = 1.0, inversion: bool = False) -> int:
    """Denoising steps an edit will run (for a progress bar)."""
    prior = settings.prior.steps if (condition == "prompt" and settings.mode == "prior") else 0
    upsampler = sdedit_steps(settings.upsampler.steps, strength) if settings.upsampler.enabled else 0
    return prior + inversion * settings.decoder.steps + sdedit_steps(settings.decoder.steps, strength) + upsampler


def feathered(mask: Image.Image, radius: int) -> Tensor:
    """A binary L mask (255 = repaint) -> (1, 1, H, W) feathered tensor in [0, 1]."""
    return feather(mask_tensor(mask), radius)
