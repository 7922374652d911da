"""unCLIP's stages as small generator functions (Ramesh et al. 2022, "Hierarchical Text-Conditional Image
Generation with CLIP Latents", arXiv:2204.06125). Each yields `Progress` and returns its result, so
`x = yield from stage(...)` composes them and a UI can stop between any two steps.

1. encode_text  (models.py)  caption -> CLIP text embedding z_t and token states
2. sample_prior              z_t -> CLIP image embedding z_i (§2.2, diffusion prior; best of k by z_i . z_t)
3. decode                    z_i (+ caption) -> 64 px image (§2.1, GLIDE-style decoder, classifier-free guidance)
4. upsample                  64 px -> 256 px (§2.1, diffusion upsampler on the bicubic-upsampled image)

`invert` runs the decoder backwards (DDIM inversion, §3.1): a picture -> the noise x_T that `decode(...,
noise=x_T)` with DDIM turns back into it; text diffs start from it (Fig. 5).
"""

from __future__ import annotations

from collections.abc import Generator, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from unclip.models import TextEncoding, UnCLIPModels
from unclip.sampling import (
    Denoiser,
    Progress,
    StepHook,
    classifier_free_guidance,
    ddim_invert,
    drain,
    make_scheduler,
    randn,
    sample_loop,
)
from unclip.settings import DecoderSettings, PriorSettings, UpsamplerSettings

Stage = Generator[Progress, None, Tensor]


def expand(enc: TextEncoding, batch: int) -> TextEncoding:
    """A one-caption encoding (e.g. the empty caption) repeated to `batch` rows."""
    return enc if len(enc) == batch else enc.repeat(batch // len(enc))


def closest_to_text(candidates: Tensor, text_embeds: Tensor) -> Tensor:
    """(B, k, D) prior samples -> (B, D): the one with the highest dot product with z_t (paper §2.2; our and the
    paper's embeddings are unit vectors). Cosine, so un-normalised embeddings (Karlo, Kandinsky) do not simply
    favour the longest candidate."""
    scores = torch.einsum("bkd,bd->bk", F.normalize(candidates, dim=-1), F.normalize(text_embeds, dim=-1))
    return candidates[torch.arange(candidates.shape[0]), scores.argmax(dim=1)]


@torch.no_grad()
def sample_prior(models: UnCLIPModels, text: TextEncoding, empty: TextEncoding, settings: PriorSettings,
                 generators: Sequence[torch.Generator]) -> Stage:
    """Text -> CLIP image embedding (B, D), k candidates per caption from each caption's own generator."""
    batch, k = len(text), settings.candidates
    textk, emptyk = text.repeat(k), expand(empty, batch * k)

    def cond(enc: TextEncoding) -> dict[str, Tensor]:
        return {"embeds": enc.embeds, "states": enc.states, "mask": enc.mask}

    def model(x: Tensor, t: Tensor, c: dict[str, Tensor]) -> Tensor:
        return models.prior(x, timestep=t, proj_embedding=c["embeds"], encoder_hidden_states=c["states"],
                            attention_mask=c["mask"]).predicted_image_embedding

    denoise = classifier_free_guidance(models.mixed(model), settings.guidance, cond(textk), cond(emptyk))
    latents = yield from prior_loop(models, settings, generators, denoise)
    embeds = models.prior.post_process_latents(latents)  # un-normalise with CLIP image-embedding stats
    if models.normalize_embeddings:
        embeds = F.normalize(embeds, dim=-1)
    return closest_to_text(embeds.view(batch, k, -1), text.embeds)  # (B, D)


def prior_loop(models: UnCLIPModels, settings: PriorSettings, generators: Sequence[torch.Generator],
               denoise: Denoiser) -> Stage:
    """The prior's sampling loop: every random draw it makes, from (B*k, D) normalised-space noise to latents."""
    gens = [g for g in generators for _ in range(settings.candidates)]  # image i's candidates: generator i
    scheduler = make_scheduler(settings.scheduler, models.scheduler_configs["prior"])
    x = randn((models.embed_dim,), gens, models.device, models.dtype)
    return (yield from sample_loop(denoise, scheduler, x, steps=settings.steps, generators=gens, stage="prior",
                                   preview=False))


@torch.no_grad()
def skip_prior(models: UnCLIPModels, settings: PriorSettings, generators: Sequence[torch.Generator]) -> None:
    """Draw from each generator exactly what `sample_prior` would, without running the prior.

    The generators go on to the decoder and upsampler, so the no-prior ablation modes call this first: then
    every mode decodes from the same noise and only the embedding differs (the paper's §5.1 comparison). The
    same loop runs on a zero model output, so each draw has the prior's shape, dtype and order."""
    drain(prior_loop(models, settings, generators, lambda x, t: torch.zeros_like(x)))


def decoder_conditioning(models: UnCLIPModels, image_embeds: Tensor, text: TextEncoding) -> dict[str, Tensor]:
    """Karlo/GLIDE conditioning: z_i -> 4 extra context tokens + additive time embedding, plus caption tokens.
    Kandinsky 2.2 (no text_proj): z_i alone, which its UNet projects itself (encoder_hid_dim_type 'image_proj')."""
    if models.text_proj is None:
        return {"image_embeds": image_embeds}
    hidden, additive = models.text_proj(image_embeddings=image_embeds, prompt_embeds=text.embeds,
                                        text_encoder_hidden_states=text.states, do_classifier_free_guidance=False)
    extra = models.text_proj.clip_extra_context_tokens
    mask = F.pad(text.mask, (extra, 0), value=True)  # (B, extra + L)
    return {"hidden": hidden, "additive": additive, "mask": mask}


def null_embeds(models: UnCLIPModels, batch: int) -> Tensor:
    """The 'no image embedding' vector (B, D): caption-only decoding and the guidance baseline. Karlo and tiny
    learn it (text_proj); Kandinsky uses the CLIP embedding of an all-zero image."""
    if models.text_proj is None:
        if models.null_image_embeds is None:  # computed once, on the device the model runs on
            models.null_image_embeds = models.clip.zero_image_embeds().to(models.dtype)
        return models.null_image_embeds.expand(batch, -1)
    null = models.onload(models.text_proj).learned_classifier_free_guidance_embeddings
    return null.expand(batch, -1)


def movq_factor(models: UnCLIPModels) -> int:
    """Pixels per latent side of a MoVQ/VQ autoencoder (Kandinsky 2.2: 8)."""
    return 2 ** (len(models.movq.config.block_out_channels) - 1)


@torch.no_grad()
def to_latents(models: UnCLIPModels, pixels: Tensor) -> Tensor:
    """(B, 3, H, W) in [-1, 1] -> the decoder's space: itself (pixel decoders) or MoVQ latents (B, 4, H/8, W/8)."""
    if not models.latent:
        return pixels
    return models.onload(models.movq).encode(pixels.to(models.device, models.dtype)).latents


def latent_preview(models: UnCLIPModels, latents: Tensor) -> Tensor:
    """A cheap look at MoVQ latents for the live preview: (B, C, h, w) -> (B, 3, h, w) in [-1, 1], one affine map
    per latent pixel (the idea of A1111's "approx cheap" preview). A MoVQ decode every step would cost about as
    much as the step; the map costs nothing. It is fitted on the first call (`fit_latent_rgb`)."""
    if models.latent_rgb is None:
        models.latent_rgb = fit_latent_rgb(models)
    w = models.latent_rgb.to(latents.device)
    return (torch.einsum("bchw,cd->bdhw", latents.float(), w[:-1]) + w[-1, :, None, None]).clamp(-1, 1)


@torch.no_grad()
def fit_latent_rgb(models: UnCLIPModels, n: int = 8, size: int = 256, seed: int = 0) -> Tensor:
    """Least-squares affine map (C + 1, 3) from a latent pixel to the mean colour of the f x f pixels it encodes,
    fitted on `n` emoji-world scenes the model's own MoVQ encodes, so it suits whatever weights are loaded."""
    from unclip.images import to_tensor
    from unclip.world import EmojiWorld

    images, _, _ = EmojiWorld().batch(n, seed=seed, size=size, split="any")
    pixels = to_tensor(images)  # (n, 3, size, size)
    latents = to_latents(models, pixels).float().cpu()  # (n, C, size/f, size/f)
    colours = F.adaptive_avg_pool2d(pixels, latents.shape[-2:])
    a = torch.cat([latents, torch.ones_like(latents[:, :1])], 1).permute(0, 2, 3, 1).flatten(0, 2)  # (N, C + 1)
    return torch.linalg.lstsq(a, colours.permute(0, 2, 3, 1).flatten(0, 2)).solution  # (C + 1, 3)


def inpaint_channels(models: UnCLIPModels, latents: Tensor, mask: Tensor, batch: int) -> Tensor | None:
    """The extra input of an inpainting decoder (Kandinsky's decoder-inpaint): the known image's latents
    (1, C, h, w) with the repaint region zeroed, and the keep mask, (B, C + 1, h, w); None when the family has
    no such decoder."""
    if models.decoder_inpaint is None:
        return None
    # a latent cell is kept only if none of its pixels is repainted, the feather band included (diffusers
    # instead binarises the mask at 0.5, then grows the hole by one cell: a similar margin at the default feather)
    keep = 1 - (F.adaptive_max_pool2d(mask.to(latents), latents.shape[-2:]) > 0).to(latents)
    return torch.cat([latents * keep, keep], dim=1).expand(batch, -1, -1, -1)


def _decoder_model(models: UnCLIPModels, extra: Tensor | None):
    unet = models.decoder if extra is None else models.decoder_inpaint
    if models.text_proj is None:
        def model(x: Tensor, t: Tensor, c: dict[str, Tensor]) -> Tensor:
            x = x if extra is None else torch.cat([x, c["extra"]], dim=1)
            return unet(x, t, encoder_hidden_states=None, added_cond_kwargs={"image_embeds": c["image_embeds"]}).sample
        return models.mixed(model)

    def model(x: Tensor, t: Tensor, c: dict[str, Tensor]) -> Tensor:
        return unet(x, t, encoder_hidden_states=c["hidden"], class_labels=c["additive"],
                    attention_mask=c["mask"]).sample
    return models.mixed(model)


@torch.no_grad()
def decode(models: UnCLIPModels, image_embeds: Tensor, text: TextEncoding, empty: TextEncoding,
           settings: DecoderSettings, generators: Sequence[torch.Generator], hook: StepHook | None = None,
           size: tuple[int, int] | None = None, init: Tensor | None = None, strength: float = 1.0,
           extra: Tensor | None = None, noise: Tensor | None = None, eta: float = 0.0) -> Stage:
    """z_i (B, D) + caption -> (B, 3, 64, 64) in [-1, 1] (latent decoders: (B, 3, S, S) via MoVQ). `hook`
    re-injects known values in the decoder's space (inpaint, zoom-out); `init` (B, 3, H, W) in [-1, 1] with
    strength < 1 starts from a noised copy of it (SDEdit, variations); `extra` is an inpainting decoder's
    additional input (`inpaint_channels`); `noise` (B or 1, C, h, w), e.g. `invert`'s x_T, replaces the
    generators' starting noise (which is still drawn, so the upsampler after this gets the same noise as without
    it), one row for every image or one each; `eta`: DDIM's stochasticity (paper §3.1: variations are the inversion
    decoded with eta > 0)."""
    batch = image_embeds.shape[0]
    cond = decoder_conditioning(models, image_embeds, text)
    uncond = decoder_conditioning(models, null_embeds(models, batch), expand(empty, batch))
    if extra is not None:
        cond, uncond = {**cond, "extra": extra}, {**uncond, "extra": extra}
    denoise = classifier_free_guidance(_decoder_model(models, extra), settings.guidance, cond, uncond)
    scheduler = make_scheduler(settings.scheduler, models.scheduler_configs["decoder"])
    h, w = size or (models.low_res_size, models.low_res_size)
    if models.latent:
        f = movq_factor(models)
        shape = (models.decoder.config.in_channels, h // f, w // f)
        init = None if (init is None or strength >= 1.0) else to_latents(models, init)  # SDEdit start only
    else:
        shape = (3, h, w)
    x = randn(shape, generators, models.device, models.dtype)  # (B, 3, 64, 64) or (B, 4, S/8, S/8)
    if noise is not None:
        if noise.shape[1:] != x.shape[1:] or len(noise) not in (1, len(x)):
            raise ValueError(f"decoder noise must have shape {tuple(x.shape)}, got {tuple(noise.shape)}")
        x = noise.expand_as(x).to(x)
    out = yield from sample_loop(denoise, scheduler, x, steps=settings.steps, generators=generators,
                                 stage="decoder", hook=hook, init=init, strength=strength, eta=eta,
                                 to_pixels=(lambda z: latent_preview(models, z)) if models.latent else None)
    if models.latent:
        out = models.onload(models.movq).decode(out, force_not_quantize=True).sample
    return out.clamp(-1, 1)


@torch.no_grad()
def invert(models: UnCLIPModels, pixels: Tensor, image_embeds: Tensor, text: TextEncoding, steps: int) -> Stage:
    """DDIM inversion of the decoder (paper §3.1: the bipartite latent (z_i, x_T); Fig. 5 starts text diffs from
    it): pixels (B, 3, h, w) in [-1, 1] at the decoder's output size -> x_T (B, C, h', w') in the decoder's space,
    such that `decode(models, image_embeds, text, ..., noise=x_T)` with DDIM and `steps` steps gives the
    pixels back. The conditional model only, no guidance: the guided model's inversion drifts. tiny-emoji, 24
    scenes, 12 steps, median levels of 255 off (`benchmarks/bench_inversion.py`): 4.4 redrawn at guidance 1
    (19.5 from seeded noise); this x_T decoded at guidance 3, 8.0 (22.6 seeded); inverted and decoded at guidance 3,
    13.1, with one scene 208 off. An epsilon decoder (Karlo's, Kandinsky's) inverts less closely: the same network
    read as an epsilon model redraws at 12.0 (its x0 divides by sqrt(abar_T), 5e-5, at the first step)."""
    cond, model = decoder_conditioning(models, image_embeds, text), _decoder_model(models, None)
    scheduler = make_scheduler("ddim", models.scheduler_configs["decoder"])
    x0 = to_latents(models, pixels.to(models.device, models.dtype))
    to_pixels = (lambda z: latent_preview(models, z)) if models.latent else None
    return (yield from ddim_invert(lambda x, t: model(x, t, cond), scheduler, x0, steps=steps, to_pixels=to_pixels))


def upsampler_condition(models: UnCLIPModels, low_res: Tensor, size: tuple[int, int]) -> Tensor:
    """The low-res image as the upsampler reads it, bicubic to `size` exactly as its family was trained: the tiny
    models' trainer (`unclip.train.stages`, which calls this) neither antialiases nor leaves it unclamped; Karlo's
    pipeline does both. In float32: torch has no half-precision CPU kernel for the antialiased resize."""
    up = F.interpolate(low_res.float(), size=size, mode="bicubic", antialias=models.bicubic_antialias,
                       align_corners=False)  # fmt: skip
    return (up.clamp(-1, 1) if models.clamp_bicubic else up).to(low_res.dtype)


def downscale(models: UnCLIPModels, high: Tensor) -> Tensor:
    """(B, 3, H, W) -> (B, 3, H/f, W/f): the low-res image the tiny upsampler learns to invert (bilinear,
    antialiased; in float32 for the CPU kernel), f = models.upsample_factor."""
    low = F.interpolate(high.float(), scale_factor=1 / models.upsample_factor, mode="bilinear", antialias=True)
    return low.to(high.dtype)


@torch.no_grad()
def upsample(models: UnCLIPModels, low_res: Tensor, settings: UpsamplerSettings,
             generators: Sequence[torch.Generator], hook: StepHook | None = None, init: Tensor | None = None,
             strength: float = 1.0) -> Stage:
    """(B, 3, h, w) in [-1, 1] -> (B, 3, 4h, 4w): denoise noise conditioned on the bicubic upsample.
    `hook` and `init`/`strength` as in `decode`, at the output size."""
    factor, patch = models.upsample_factor, models.upsampler_patch
    h, w = low_res.shape[-2] * factor, low_res.shape[-1] * factor
    up = upsampler_condition(models, low_res, (h, w))
    scheduler = make_scheduler(settings.scheduler, models.scheduler_configs["upsampler"])
    scheduler.set_timesteps(settings.steps)
    last_t = int(scheduler.timesteps[-1])
    forward = models.mixed(lambda inp, t, unet: unet(inp, t).sample)

    def denoise(x: Tensor, t: Tensor) -> Tensor:
        unet = models.upsampler_last if (models.upsampler_last is not None and int(t) == last_t) else models.upsampler
        inp = F.pixel_unshuffle(torch.cat([x, up], dim=1), patch)  # (B, 6 p^2, H/p, W/p)
        out = F.pixel_shuffle(forward(inp, t, unet), patch)  # (B, 3, H, W): epsilon, or x0 - bicubic
        return up + out if models.upsampler_residual else out

    x = randn((3, h, w), generators, models.device, models.dtype)
    image = yield from sample_loop(denoise, scheduler, x, steps=settings.steps, generators=generators,
                                   stage="upsampler", hook=hook, init=init, strength=strength)
    return image.clamp(-1, 1)
