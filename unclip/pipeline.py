"""unCLIP's stages as small generator functions (Ramesh et al. 2022, "Hierarchical Text-Conditional Image
Generation with CLIP Latents", arXiv:2204.06125). Each yields `Progress` and returns its result, so
`x = yield from stage(...)` composes them and a UI can stop between any two steps.

1. encode_text  (models.py)  caption -> CLIP text embedding z_t and token states
2. sample_prior              z_t -> CLIP image embedding z_i (§2.2, diffusion prior; best of k by z_i . z_t)
3. decode                    z_i (+ caption) -> 64 px image (§2.1, GLIDE-style decoder, classifier-free guidance)
4. upsample                  64 px -> 256 px (§2.1, diffusion upsampler on the bicubic-upsampled image)
"""

from __future__ import annotations

from collections.abc import Generator, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from unclip.models import TextEncoding, UnCLIPModels
from unclip.sampling import Progress, StepHook, classifier_free_guidance, make_scheduler, randn, sample_loop
from unclip.settings import DecoderSettings, PriorSettings, UpsamplerSettings

Stage = Generator[Progress, None, Tensor]


def expand(enc: TextEncoding, batch: int) -> TextEncoding:
    """A one-caption encoding (e.g. the empty caption) repeated to `batch` rows."""
    return enc if len(enc) == batch else enc.repeat(batch // len(enc))


def closest_to_text(candidates: Tensor, text_embeds: Tensor) -> Tensor:
    """(B, k, D) prior samples -> (B, D): the one with the highest dot product with z_t (paper §2.2)."""
    scores = torch.einsum("bkd,bd->bk", candidates, text_embeds)  # (B, k)
    return candidates[torch.arange(candidates.shape[0]), scores.argmax(dim=1)]


@torch.no_grad()
def sample_prior(models: UnCLIPModels, text: TextEncoding, empty: TextEncoding, settings: PriorSettings,
                 generators: Sequence[torch.Generator]) -> Stage:
    """Text -> CLIP image embedding (B, D), k candidates per caption from each caption's own generator."""
    batch, k = len(text), settings.candidates
    gens = [g for g in generators for _ in range(k)]  # candidates of image i all come from generator i
    textk, emptyk = text.repeat(k), expand(empty, batch * k)

    def cond(enc: TextEncoding) -> dict[str, Tensor]:
        return {"embeds": enc.embeds, "states": enc.states, "mask": enc.mask}

    def model(x: Tensor, t: Tensor, c: dict[str, Tensor]) -> Tensor:
        return models.prior(x, timestep=t, proj_embedding=c["embeds"], encoder_hidden_states=c["states"],
                            attention_mask=c["mask"]).predicted_image_embedding

    denoise = classifier_free_guidance(model, settings.guidance, cond(textk), cond(emptyk))
    scheduler = make_scheduler(settings.scheduler, models.scheduler_configs["prior"])
    x = randn((models.embed_dim,), gens, models.device, models.dtype)  # (B*k, D) normalised-space noise
    latents = yield from sample_loop(denoise, scheduler, x, steps=settings.steps, generators=gens,
                                     stage="prior", preview=False)
    embeds = models.prior.post_process_latents(latents)  # un-normalise with CLIP image-embedding stats
    if models.normalize_embeddings:
        embeds = F.normalize(embeds, dim=-1)
    return closest_to_text(embeds.view(batch, k, -1), text.embeds)  # (B, D)


def decoder_conditioning(models: UnCLIPModels, image_embeds: Tensor, text: TextEncoding) -> dict[str, Tensor]:
    """Karlo/GLIDE conditioning: z_i -> 4 extra context tokens + additive time embedding, plus caption tokens."""
    hidden, additive = models.text_proj(image_embeddings=image_embeds, prompt_embeds=text.embeds,
                                        text_encoder_hidden_states=text.states, do_classifier_free_guidance=False)
    extra = models.text_proj.clip_extra_context_tokens
    mask = F.pad(text.mask, (extra, 0), value=True)  # (B, extra + L)
    return {"hidden": hidden, "additive": additive, "mask": mask}


def null_embeds(models: UnCLIPModels, batch: int) -> Tensor:
    """The learned 'no image embedding' vector (B, D): caption-only decoding and the guidance baseline."""
    return models.text_proj.learned_classifier_free_guidance_embeddings.expand(batch, -1)


@torch.no_grad()
def decode(models: UnCLIPModels, image_embeds: Tensor, text: TextEncoding, empty: TextEncoding,
           settings: DecoderSettings, generators: Sequence[torch.Generator], hook: StepHook | None = None,
           size: tuple[int, int] | None = None, init: Tensor | None = None, strength: float = 1.0) -> Stage:
    """z_i (B, D) + caption -> (B, 3, 64, 64) in [-1, 1]. `hook` re-injects known pixels (inpaint, zoom-out);
    `init` (B, 3, 64, 64) in [-1, 1] with strength < 1 starts from a noised copy of it (SDEdit, variations)."""
    batch = image_embeds.shape[0]
    cond = decoder_conditioning(models, image_embeds, text)
    uncond = decoder_conditioning(models, null_embeds(models, batch), expand(empty, batch))

    def model(x: Tensor, t: Tensor, c: dict[str, Tensor]) -> Tensor:
        return models.decoder(x, t, encoder_hidden_states=c["hidden"], class_labels=c["additive"],
                              attention_mask=c["mask"]).sample

    denoise = classifier_free_guidance(model, settings.guidance, cond, uncond)
    scheduler = make_scheduler(settings.scheduler, models.scheduler_configs["decoder"])
    s = models.decoder.config.sample_size
    h, w = size or (s, s)
    x = randn((3, h, w), generators, models.device, models.dtype)  # (B, 3, 64, 64)
    image = yield from sample_loop(denoise, scheduler, x, steps=settings.steps, generators=generators,
                                   stage="decoder", hook=hook, init=init, strength=strength)
    return image.clamp(-1, 1)


@torch.no_grad()
def upsample(models: UnCLIPModels, low_res: Tensor, settings: UpsamplerSettings,
             generators: Sequence[torch.Generator], hook: StepHook | None = None, init: Tensor | None = None,
             strength: float = 1.0) -> Stage:
    """(B, 3, h, w) in [-1, 1] -> (B, 3, 4h, 4w): denoise noise conditioned on the bicubic upsample.
    `hook` and `init`/`strength` as in `decode`, at the output size."""
    factor, patch = models.upsample_factor, models.upsampler_patch
    h, w = low_res.shape[-2] * factor, low_res.shape[-1] * factor
    up = F.interpolate(low_res, size=(h, w), mode="bicubic", antialias=True, align_corners=False).clamp(-1, 1)
    scheduler = make_scheduler(settings.scheduler, models.scheduler_configs["upsampler"])
    scheduler.set_timesteps(settings.steps)
    last_t = int(scheduler.timesteps[-1])

    def denoise(x: Tensor, t: Tensor) -> Tensor:
        unet = models.upsampler_last if (models.upsampler_last is not None and int(t) == last_t) else models.upsampler
        inp = F.pixel_unshuffle(torch.cat([x, up], dim=1), patch)  # (B, 6 p^2, H/p, W/p)
        out = F.pixel_shuffle(unet(inp, t).sample, patch)  # (B, 3, H, W): epsilon, or x0 - bicubic
        return up + out if models.upsampler_residual else out

    x = randn((3, h, w), generators, models.device, models.dtype)
    image = yield from sample_loop(denoise, scheduler, x, steps=settings.steps, generators=generators,
                                   stage="upsampler", hook=hook, init=init, strength=strength)
    return image.clamp(-1, 1)
