"""The loaded components of one unCLIP model, and the two CLIP encoders every stage reads from.

Every family (tiny, karlo, kandinsky) fills the same `UnCLIPModels` container, so the pipeline has one code path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass(frozen=True)
class TextEncoding:
    """CLIP's view of a batch of captions."""

    tokens: Tensor  # (B, L) int64, L = context length (77)
    mask: Tensor  # (B, L) bool, True up to and including the end-of-text token
    embeds: Tensor  # (B, D) pooled, projected text embedding (unit norm when the family normalises)
    states: Tensor  # (B, L, W) last-layer token states (after ln_final)
    truncated: tuple[bool, ...]  # per caption: longer than L tokens, cut to fit

    def __len__(self) -> int:
        return self.tokens.shape[0]

    def repeat(self, n: int) -> TextEncoding:
        """Each row repeated n times in place: [a, b] -> [a, a, b, b]."""
        r = lambda x: x.repeat_interleave(n, dim=0)
        return TextEncoding(r(self.tokens), r(self.mask), r(self.embeds), r(self.states),
                            tuple(t for t in self.truncated for _ in range(n)))


@dataclass(frozen=True)
class Defaults:
    """Sampling defaults a family ships (unclip_config.json); the UI starts from these."""

    prior_steps: int = 10
    prior_guidance: float = 1.0
    prior_candidates: int = 2
    prior_scheduler: str = "ddim"
    decoder_steps: int = 12
    decoder_guidance: float = 3.0
    decoder_scheduler: str = "dpm++"
    upsampler_steps: int = 3
    upsampler_scheduler: str = "ddim"


@dataclass
class UnCLIPModels:
    """Weights shared by every request, read-only after loading. Some fields are filled later, once: Kandinsky's
    null_image_embeds (on first use, on the device that runs it) and latent_rgb (on its first live preview), and
    the offload fields (backend.offload_to)."""

    family: str
    clip: nn.Module  # open_clip CLIP (tiny), or families.hf_clip.HFClip (transformers CLIP: karlo, kandinsky)
    tokenizer: Any  # open_clip SimpleTokenizer (callable: list[str] -> (B, L) tokens); HFClip has its own
    prior: nn.Module  # diffusers PriorTransformer
    text_proj: nn.Module | None  # diffusers UnCLIPTextProjModel (None: Kandinsky's decoder reads no caption)
    decoder: nn.Module  # diffusers UNet2DConditionModel: 64 px pixels (tiny, karlo) or MoVQ latents (kandinsky)
    upsampler: nn.Module | None  # diffusers UNet2DModel, 64 -> 256 px (None: the decoder's output is final)
    scheduler_configs: dict[str, dict[str, Any]]  # stage -> base (training) scheduler config
    image_mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    image_std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    normalize_embeddings: bool = True  # tiny: every embedding lives on the unit sphere
    upsampler_patch: int = 1  # the upsampler UNet sees p x p space-to-depth patches (config.UpsamplerConfig)
    upsampler_residual: bool = False  # it predicts x0 - bicubic (its scheduler's prediction_type is "sample")
    upsampler_last: nn.Module | None = None  # Karlo runs its last super-res step with a second UNet
    clamp_bicubic: bool = True  # clamp the upsampler's bicubic input to [-1, 1] (Karlo's pipeline does not)
    bicubic_antialias: bool = False  # torch's antialiased bicubic (another kernel, even upscaling): Karlo's pipeline
    movq: nn.Module | None = None  # Kandinsky: the decoder denoises MoVQ latents; this VQModel maps them to pixels
    decoder_inpaint: nn.Module | None = None  # Kandinsky's inpainting decoder (latents + masked latents + mask)
    null_image_embeds: Tensor | None = None  # (1, D) guidance baseline when there is no text_proj (Kandinsky)
    output_size: int = 0  # latent decoders: the pixel side they decode to (Kandinsky: 512)
    latent_rgb: Tensor | None = None  # latent decoders: (C + 1, 3) affine latents -> RGB map for the live preview
    unavailable: dict[str, str] = field(default_factory=dict)  # feature -> why this family cannot do it
    defaults: Defaults = field(default_factory=Defaults)
    notice: str = ""  # shown in the UI, e.g. "bundled weights missing: running tiny-random"
    name: str = ""

    execution_device: torch.device | None = None  # set by backend.offload_to: where inputs go while weights move
    onload_hook: Any = None  # set by backend.offload_to: module -> None, moves it to the GPU before it is used
    compute_dtype: torch.dtype | None = None  # set by load_backend: the denoisers run under autocast to this dtype

    def onload(self, module: nn.Module) -> nn.Module:
        """The component, on the execution device (a no-op unless offloading). Forward calls come here through
        pre-hooks; other uses (movq.encode/decode, text_proj's learned null embedding) call it directly."""
        if self.onload_hook is not None:
            self.onload_hook(module)
        return module

    def mixed(self, model: Callable[..., Tensor]) -> Callable[..., Tensor]:
        """A denoiser's forward `model(x, ...)` (prior, decoder, upsampler) run under torch.autocast to
        compute_dtype on the execution device, its output back in x's dtype, so the weights and the sampler's
        arithmetic stay in `dtype`. `model` itself when compute_dtype is unset or already the weights' dtype."""
        if self.compute_dtype is None or self.compute_dtype == self.dtype:
            return model
        device_type, dtype = self.device.type, self.compute_dtype

        def run(x: Tensor, *args: Any) -> Tensor:
            with torch.autocast(device_type, dtype=dtype):
                out = model(x, *args)
            return out.to(x.dtype)
        return run

    @property
    def device(self) -> torch.device:
        return self.execution_device or next(self.decoder.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.decoder.parameters()).dtype

    @property
    def latent(self) -> bool:
        """True when the decoder works in a VQ latent space (Kandinsky) rather than on pixels."""
        return self.movq is not None

    @property
    def low_res_size(self) -> int:
        """The pixel side the decoder stage returns: 64 (pixel decoders) or output_size (latent decoders)."""
        return self.output_size if self.latent else int(self.decoder.config.sample_size)

    @property
    def upsample_factor(self) -> int:
        if self.upsampler is None:
            return 1
        return self.upsampler.config.sample_size * self.upsampler_patch // self.decoder.config.sample_size

    @property
    def hf_clip(self) -> bool:
        return hasattr(self.clip, "encode_captions")

    @property
    def context_length(self) -> int:
        return int(self.clip.context_length if self.hf_clip else self.clip.positional_embedding.shape[0])

    @property
    def embed_dim(self) -> int:
        return int(self.prior.config.embedding_dim)

    @property
    def clip_image_size(self) -> int:
        size = self.clip.image_size if self.hf_clip else self.clip.visual.image_size
        return int(size[0] if isinstance(size, (tuple, list)) else size)

    def modules(self) -> dict[str, nn.Module]:
        mods = {"clip": self.clip, "prior": self.prior, "text_proj": self.text_proj, "decoder": self.decoder,
                "upsampler": self.upsampler, "upsampler_last": self.upsampler_last, "movq": self.movq,
                "decoder_inpaint": self.decoder_inpaint}
        return {k: m for k, m in mods.items() if m is not None}

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> UnCLIPModels:
        for m in self.modules().values():
            m.to(device=device).eval().requires_grad_(False)
            if dtype is not None and next(m.parameters()).dtype != dtype:
                m.to(dtype=dtype)
        if self.null_image_embeds is not None:
            self.null_image_embeds = self.null_image_embeds.to(device=device, dtype=dtype or self.dtype)
        return self

    def channels_last(self, on: bool = True) -> UnCLIPModels:
        """The convolutional networks in NHWC layout (on=False: back to NCHW), which oneDNN's CPU convolutions run
        faster (tiny-emoji, 4 images on 2 cores: 5.49 s against 6.30 s median, `benchmarks/bench_layout.py`);
        pixels may move by one level."""
        layout = torch.channels_last if on else torch.contiguous_format
        for m in (self.decoder, self.decoder_inpaint, self.upsampler, self.upsampler_last, self.movq):
            if m is not None:
                m.to(memory_format=layout)
        return self


def count_tokens(models: UnCLIPModels, text: str) -> int:
    """Number of tokens CLIP reads for `text`, start and end tokens included (over `context_length`: cut).
    open_clip's `encode` leaves the start and end out; transformers' (the hub families) counts them."""
    if models.hf_clip:
        return models.clip.count_tokens(text)
    return len(models.tokenizer.encode(text)) + 2


def too_long(models: UnCLIPModels, name: str = "prompt") -> str:
    """The warning for a caption longer than CLIP's context (`tokenize` cuts it)."""
    return f"{name} is longer than {models.context_length} tokens; CLIP read only the first part"


def tokenize(models: UnCLIPModels, prompts: list[str]) -> tuple[Tensor, Tensor, tuple[bool, ...]]:
    """Captions -> (tokens (B, L), mask (B, L) bool, truncated per caption). Over-long captions are cut."""
    length = models.context_length
    tokens = models.tokenizer(prompts)[:, :length].to(models.device)  # (B, L); open_clip pads with 0
    eot = tokens.argmax(dim=-1)  # end-of-text has the largest id (49407)
    mask = torch.arange(length, device=tokens.device)[None, :] <= eot[:, None]  # (B, L)
    truncated = tuple(count_tokens(models, p) > length for p in prompts)
    return tokens, mask, truncated


def text_tower(clip: nn.Module, tokens: Tensor) -> tuple[Tensor, Tensor]:
    """open_clip's `encode_text`, keeping the token states: tokens (B, L) -> (states (B, L, W), embeds (B, D)).

    The tower is causal, so running it on the first L' <= 77 positions gives the same states there: the
    trainer uses this to skip the padding after the longest caption.
    """
    n = tokens.shape[1]
    x = clip.token_embedding(tokens) + clip.positional_embedding[:n]  # (B, L, W)
    x = clip.transformer(x, attn_mask=clip.attn_mask[:n, :n])
    states = clip.ln_final(x)  # (B, L, W)
    pooled = states[torch.arange(tokens.shape[0]), tokens.argmax(dim=-1)]  # (B, W) at end-of-text
    return states, pooled @ clip.text_projection  # (B, D)


@torch.no_grad()
def encode_text(models: UnCLIPModels, prompts: list[str]) -> TextEncoding:
    """Captions -> CLIP text embeddings and token states (what the prior and decoder read)."""
    if models.hf_clip:  # transformers CLIP (karlo, kandinsky): exactly as their diffusers pipelines encode
        return models.clip.encode_captions(prompts)
    tokens, mask, truncated = tokenize(models, prompts)
    used = int(mask.sum(dim=1).max())  # up to the longest caption's end-of-text token
    states, embeds = text_tower(models.clip, tokens[:, :used])  # causal: same values as all 77 positions
    states = F.pad(states, (0, 0, 0, tokens.shape[1] - used))  # (B, L, W); zeros where mask is False
    if models.normalize_embeddings:
        embeds = F.normalize(embeds, dim=-1)
    return TextEncoding(tokens, mask, embeds, states, truncated)


def clip_preprocess(models: UnCLIPModels, images: Tensor) -> Tensor:
    """(B, 3, H, W) in [-1, 1] -> CLIP's input: resized to its image size and normalised with its mean/std."""
    size = models.clip_image_size
    if images.shape[-2:] != (size, size):
        # in float32: torch has no half-precision CPU kernel for an antialiased resize
        images = F.interpolate(images.float(), size=(size, size), mode="bilinear", antialias=True,
                               align_corners=False).to(images.dtype)  # fmt: skip
    mean = torch.tensor(models.image_mean, device=images.device, dtype=images.dtype).view(1, 3, 1, 1)
    std = torch.tensor(models.image_std, device=images.device, dtype=images.dtype).view(1, 3, 1, 1)
    return ((images + 1) / 2 - mean) / std  # (B, 3, size, size)


@torch.no_grad()
def encode_image(models: UnCLIPModels, images: Tensor, chunk: int = 256) -> Tensor:
    """(B, 3, H, W) in [-1, 1] -> CLIP image embedding (B, D) (unit norm when the family normalises). More than
    `chunk` images go through CLIP `chunk` at a time, each moved to the device on its own (the eval's 4n Fréchet
    references took 2.3 MB an image in one batch: about 9 GB at --n 1000 --upsample)."""
    if len(images) > chunk:
        return torch.cat([encode_image(models, images[i:i + chunk], chunk) for i in range(0, len(images), chunk)])
    embeds = models.clip.encode_image(clip_preprocess(models, images.to(models.device, models.dtype)))
    return F.normalize(embeds, dim=-1) if models.normalize_embeddings else embeds
