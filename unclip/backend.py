"""`UnCLIP`: one loaded model and typed methods over it. Shared by every tab, the CLI and notebooks.

Thread-safety: the weights are read-only after loading and every request builds its own schedulers, noise and
generators, so concurrent calls never share mutable state beyond a few values computed once on first use (the empty
caption's encoding, Kandinsky's null image embedding, the latent preview map): two first calls at once may both compute
one, to the same value, and one assignment wins. Seeds: image i of a request uses seed + i (wrapping to 0 past
2**32 - 1: `settings.image_seeds`), so a batch of n draws the noise of n single runs with those seeds (the images
agree up to rounding: batched arithmetic differs in the last bits).
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Generator
from dataclasses import dataclass, field, replace
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from unclip import pipeline
from unclip.edit import Edit
from unclip.edit_methods import EditMethods
from unclip.explore_methods import ExploreMethods
from unclip.images import batch_record, to_pil, to_tensor
from unclip.models import TextEncoding, UnCLIPModels, encode_image, encode_text, too_long
from unclip.sampling import SCHEDULERS, Progress, drain, make_scheduler
from unclip.settings import (
    LIMITS,
    MODES,
    DecoderSettings,
    GenerateSettings,
    InvalidInput,
    PriorSettings,
    UpsamplerSettings,
    as_choice,
    as_int,
    as_prompt,
    image_seeds,
)


@dataclass
class Generation:
    """Everything one generate() call made, for the UI's stage view and for metadata."""

    prompt: str
    mode: str
    seeds: list[int]
    images: list[Image.Image]  # final images (256 px, or 64 px with the upsampler off)
    low_res: Tensor  # (B, 3, 64, 64) in [-1, 1], the decoder's output
    text_embeds: Tensor  # (D,) CLIP text embedding of the prompt
    image_embeds: Tensor  # (B, D) what the decoder was given (prior sample / text emb / null)
    result_embeds: Tensor  # (B, D) CLIP image embedding of each final image
    settings: GenerateSettings
    warnings: list[str] = field(default_factory=list)
    text_embeds_all: Tensor | None = None  # (B, D) when the images had different prompts (eval, explorer)

    @property
    def clip_scores(self) -> list[float]:
        """CLIPScore (Hessel et al. 2021, w = 100): 100 * max(cos(image, text), 0), per image."""
        text = self.text_embeds_all if self.text_embeds_all is not None else self.text_embeds[None]
        cos = F.cosine_similarity(self.result_embeds, text, dim=-1)
        return [round(100 * max(c, 0.0), 2) for c in cos.tolist()]


class UnCLIP(EditMethods, ExploreMethods):
    """The backend: load once, call from anywhere. vary / inpaint / zoom_out (+ *_stream) come from
    `unclip.edit_methods.EditMethods`; interpolate / text_diff / decode_embeddings from
    `unclip.explore_methods.ExploreMethods`."""

    def __init__(self, models: UnCLIPModels):
        self.models = models
        self._empty: TextEncoding | None = None

    # -- facts about the model -------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.models.name

    @property
    def notice(self) -> str:
        return self.models.notice

    @property
    def precision(self) -> str:
        """The denoisers' arithmetic: 'fp32', 'fp16' (the weights' own dtype) or 'bf16' (autocast), kept in every
        image's metadata because the same seed gives the same pixels only at the same precision."""
        dtype = self.models.compute_dtype or self.models.dtype
        return DTYPE_NAMES.get(dtype, str(dtype).removeprefix("torch."))

    @property
    def modes(self) -> tuple[str, ...]:
        """The ablation modes this family can run (Kandinsky's decoder reads no caption: no caption_only)."""
        return tuple(m for m in MODES if m not in self.models.unavailable)

    @property
    def unavailable(self) -> dict[str, str]:
        """Feature ('caption_only', 'upsampler', ...) -> why this family cannot do it (for the UI)."""
        return dict(self.models.unavailable)

    @property
    def schedulers(self) -> tuple[str, ...]:
        return tuple(SCHEDULERS)

    def stage_schedulers(self, stage: str) -> tuple[str, ...]:
        """The schedulers that can sample `stage` ('prior', 'decoder', 'upsampler') of this model, for the UI's
        lists: 'unclip', for one, reads no v-prediction. `validate` refuses the others with the reason."""
        config = self.models.scheduler_configs.get(stage)
        if config is None:  # no such stage (Kandinsky's upsampler): the list is shown disabled
            return self.schedulers
        usable = []
        for name in self.schedulers:
            try:
                make_scheduler(name, config)
            except ValueError:
                continue
            usable.append(name)
        return tuple(usable)

    def default_settings(self, mode: str = "prior") -> GenerateSettings:
        d = self.models.defaults
        return GenerateSettings(
            mode=mode,
            prior=PriorSettings(d.prior_steps, d.prior_guidance, d.prior_candidates, d.prior_scheduler),
            decoder=DecoderSettings(d.decoder_steps, d.decoder_guidance, d.decoder_scheduler),
            upsampler=UpsamplerSettings(d.upsampler_steps, d.upsampler_scheduler,
                                        enabled=self.models.upsampler is not None))

    def validate(self, settings: GenerateSettings) -> GenerateSettings:
        """Every field checked (`GenerateSettings.validated`), then against what this family can do."""
        if not isinstance(settings, GenerateSettings):
            raise InvalidInput(f"settings must be a GenerateSettings (unclip.settings), got {type(settings).__name__}")
        s = settings.validated(self.schedulers, self.stage_schedulers)
        why = self.models.unavailable
        if s.mode in why:
            raise InvalidInput(f"mode {s.mode!r} is not available with {self.name}: {why[s.mode]}")
        if s.upsampler.enabled and self.models.upsampler is None:
            raise InvalidInput(f"upsampler: {self.name} has none ({why.get('upsampler', 'not loaded')}); turn it off")
        stages = {"prior": s.prior.scheduler, "decoder": s.decoder.scheduler}
        if s.upsampler.enabled:
            stages["upsampler"] = s.upsampler.scheduler
        for stage, name in stages.items():
            try:
                make_scheduler(name, self.models.scheduler_configs[stage])
            except (ValueError, NotImplementedError) as e:  # (diffusers: an unknown beta_schedule)
                raise InvalidInput(f"{stage} scheduler: {e}") from None
        return s

    # -- stages ----------------------------------------------------------------------------------------
    def encode_text(self, prompts: list[str]) -> TextEncoding:
        """Captions (a non-empty list; "" is the unconditional caption) -> CLIP text embeddings (B, D) and the
        token states the prior and decoder read."""
        if not isinstance(prompts, list | tuple) or not prompts:
            what = "an empty list" if isinstance(prompts, list | tuple) else type(prompts).__name__
            raise InvalidInput(f"prompts must be a non-empty list of captions (strings), got {what}")
        for i, p in enumerate(prompts):
            if not isinstance(p, str):
                raise InvalidInput(f"prompts[{i}] must be a caption (a string), got {type(p).__name__}")
        return encode_text(self.models, list(prompts))

    def encode_image(self, images: Tensor) -> Tensor:
        """(B, 3, H, W) in [-1, 1] -> (B, D)."""
        return encode_image(self.models, images)

    @torch.no_grad()
    def encode_picture(self, picture: Image.Image | None, working: Image.Image | Tensor) -> Tensor:
        """An upload -> its CLIP image embedding (1, D). A hub family's CLIP sees the upload at full resolution
        through the checkpoint's own CLIPImageProcessor (bicubic to the shortest edge, centre crop), as diffusers'
        UnCLIPImageVariationPipeline does, not the working square resized again (at 64 px, upsampler off, that is
        a blown-up thumbnail). Tiny, trained on its own resize, or no picture: `working`, the square edited."""
        processor = getattr(self.models.clip, "processor", None)
        if processor is None or picture is None:
            return self.encode_image(working if isinstance(working, Tensor) else to_tensor(working))
        # the processor resizes the whole picture before its centre crop (a 16 × 200,000 strip took 5.5 GB): the
        # centre, at most 2:1, holds all the crop keeps
        w, h = picture.size
        cw, ch = min(w, 2 * min(w, h)), min(h, 2 * min(w, h))
        if (cw, ch) != (w, h):
            x, y = (w - cw) // 2, (h - ch) // 2
            picture = picture.crop((x, y, x + cw, y + ch))
        pixels = processor(images=picture.convert("RGB"), return_tensors="pt").pixel_values
        embeds = self.models.clip.encode_image(pixels.to(self.models.device, self.models.dtype))
        return F.normalize(embeds, dim=-1) if self.models.normalize_embeddings else embeds

    def empty_text(self) -> TextEncoding:
        """The empty caption (the guidance baseline); computed once, then read-only."""
        if self._empty is None:
            self._empty = encode_text(self.models, [""])
        return self._empty

    def image_embeds_for(self, mode: str, text: TextEncoding, settings: PriorSettings,
                         gens: list[torch.Generator]) -> Generator[Progress, None, Tensor]:
        """The embedding the decoder gets in each ablation mode (paper §5.1), (B, D). The other modes still draw
        the prior's noise from `gens`, so all three decode from the same noise."""
        if mode == "prior":
            return (yield from pipeline.sample_prior(self.models, text, self.empty_text(), settings, gens))
        pipeline.skip_prior(self.models, settings, gens)
        if mode == "text_embedding":
            return text.embeds
        return pipeline.null_embeds(self.models, len(text)).clone()

    # -- whole requests --------------------------------------------------------------------------------
    def check(self, prompt: Any, n: Any, seed: Any, settings: GenerateSettings | None,
              mode: str | None = None) -> tuple[str, int, int, GenerateSettings]:
        """Validate one request; raises InvalidInput naming the field."""
        text = as_prompt(prompt)
        settings = settings or self.default_settings()
        if mode is not None:
            settings = replace(settings, mode=as_choice("mode", mode, MODES))
        return (text, as_int("n", n, *LIMITS["n"]), as_int("seed", seed, *LIMITS["seed"]),
                self.validate(settings))

    def generate_stream(self, prompt: str, n: int = 4, seed: int = 0, mode: str | None = None,
                        settings: GenerateSettings | None = None) -> Generator[Progress, None, Generation]:
        """Text -> images, yielding Progress after every denoising step of every stage."""
        prompt, n, seed, s = self.check(prompt, n, seed, settings, mode)
        return (yield from self.run_stream([prompt] * n, image_seeds(seed, n), s))

    def run_stream(self, prompts: list[str], seeds: list[int], s: GenerateSettings,
                   image_embeds: Tensor | None = None) -> Generator[Progress, None, Generation]:
        """The whole stack for already-validated input: image i from prompts[i] with its own seed. `image_embeds`
        (B, D), if given, replaces the mode's embedding, from the same noise (the eval's `reconstruction`)."""
        text = self.encode_text(prompts)  # one row per image
        warnings = [too_long(self.models)] if any(text.truncated) else []
        gens = [torch.Generator("cpu").manual_seed(sd) for sd in seeds]
        if image_embeds is None:
            embeds = yield from self.image_embeds_for(s.mode, text, s.prior, gens)
        else:
            pipeline.skip_prior(self.models, s.prior, gens)  # the generators stand where the prior leaves them
            embeds = image_embeds.to(self.models.device, self.models.dtype)
        low = yield from pipeline.decode(self.models, embeds, text, self.empty_text(), s.decoder, gens)
        final = (yield from pipeline.upsample(self.models, low, s.upsampler, gens)) if s.upsampler.enabled else low
        settings = s.to_dict()
        meta = [{"prompt": p, "seed": sd, "model": self.name, "precision": self.precision, **settings,
                 "batch": batch_record(seeds, i)} for i, (p, sd) in enumerate(zip(prompts, seeds, strict=True))]
        return Generation(prompts[0], s.mode, list(seeds), to_pil(final, meta), low, text.embeds[0], embeds,
                          self.encode_image(final), s, warnings, text_embeds_all=text.embeds)

    def generate(self, prompt: str, n: int = 4, seed: int = 0, mode: str | None = None,
                 settings: GenerateSettings | None = None) -> list[Image.Image]:
        """`load_backend("tiny-emoji").generate("a cat above a pizza", n=4, seed=0)` -> n PIL images. What the
        Generation would have said (a caption cut at CLIP's context, ...) is a UserWarning here."""
        result = drain(self.generate_stream(prompt, n, seed, mode, settings))
        for message in result.warnings:
            warnings.warn(message, UserWarning, stacklevel=2)
        return result.images

    def compare_stream(self, prompt: str, n: int = 2, seed: int = 0, settings: GenerateSettings | None = None
                       ) -> Generator[Progress, None, dict[str, Generation]]:
        """The prior ablation (paper §5.1, Fig. 8): all three modes from the same seed."""
        results = {}
        for mode in self.modes:
            results[mode] = yield from self.generate_stream(prompt, n, seed, mode, settings)
        return results

    def compare(self, prompt: str, n: int = 2, seed: int = 0,
                settings: GenerateSettings | None = None) -> dict[str, Generation]:
        return drain(self.compare_stream(prompt, n, seed, settings))


DTYPE_NAMES = {torch.float32: "fp32", torch.float16: "fp16", torch.bfloat16: "bf16"}
PRECISIONS = ("auto", "fp32", "bf16")


def has_amx_bf16() -> bool:
    """True on CPUs with AMX bf16 tiles (Intel Sapphire Rapids and later), where oneDNN runs bf16 convolutions
    and matmuls about twice as fast as fp32; elsewhere bf16 is emulated and slower."""
    return bool(torch.cpu.get_capabilities().get("amx_bf16", False))


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """'auto' | 'fp32' | 'bf16' -> the denoisers' autocast dtype on `device` (None: the weights' own dtype).
    'auto' is bf16 on a CPU with AMX (tiny-emoji, 4 images on 2 cores: about twice as fast,
    `benchmarks/bench_precision.py`), else the weights' dtype. bf16 is allowed anywhere, but on a CPU without AMX
    it is slower than fp32 (oneDNN limited to AVX-512 bf16: 3.82 s against 3.24 s; to AVX2: 23.7 s against 4.2 s),
    and load_backend says so in the notice."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision (env UNCLIP_PRECISION) must be one of {', '.join(PRECISIONS)}; got {precision!r}")
    if precision == "bf16":
        return torch.bfloat16
    if precision == "auto" and device.type == "cpu" and has_amx_bf16():
        return torch.bfloat16
    return None


def check_device(name: str | torch.device | None, field: str = "device", available: bool = True) -> None:
    """Refuse a device torch does not know, or (available=True) one this machine lacks, before any model is built."""
    if name is None:
        return
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        device = None
    if device is None or device.type not in ("cpu", "cuda", "mps"):  # torch knows xpu, meta, ...: none run here
        raise ValueError(f"{field} must be cpu, cuda, cuda:N or mps, got {str(name)!r}")
    if not available:
        return
    have = {"cuda": torch.cuda.is_available, "mps": torch.backends.mps.is_available}.get(device.type, lambda: True)
    if not have():
        raise ValueError(f"{field} {str(name)!r}: this machine has no {device.type.upper()} device; use cpu")
    if device.type == "mps" and device.index not in (None, 0):  # Apple silicon has one
        raise ValueError(f"{field} {str(name)!r}: MPS has one device, mps or mps:0")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        n = torch.cuda.device_count()  # else CUDA's "invalid device ordinal" as the first weights move
        raise ValueError(f"{field} {str(name)!r}: this machine has {n} CUDA device{'' if n == 1 else 's'}, "
                         f"cuda:0 to cuda:{n - 1}")


def load_backend(name_or_path: str = "tiny-emoji", device: str | torch.device | None = None,
                 dtype: torch.dtype | None = None, offload: bool = False, precision: str | None = None) -> UnCLIP:
    """Load a model family by name or directory onto `device` (default: CUDA if present, else CPU).

    dtype (the weights) defaults to float16 for the hub families on CUDA (Karlo and Kandinsky were trained for it)
    and float32 otherwise. precision (`resolve_precision`; default: env UNCLIP_PRECISION, else 'auto') sets the
    arithmetic of the prior, decoder and upsampler: 'auto' runs them under bf16 autocast on CPUs with AMX, 'fp32'
    never does, 'bf16' always does. Pixels depend on it: same seed, same precision, same pixels.
    offload=True (CUDA only) keeps the weights in CPU memory and moves each component to the GPU while it runs,
    for GPUs too small to hold a whole family."""
    from unclip.families import is_hub, load_models

    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if isinstance(name_or_path, os.PathLike):
        name_or_path = os.fspath(name_or_path)
    if not isinstance(name_or_path, str):
        raise ValueError("model must be a name (tiny-emoji, tiny-random, karlo, kandinsky-2.2) or a model directory, "
                         f"got {type(name_or_path).__name__}")
    check_device(device, available=False)
    asked, device = device, torch.device(device)
    hub = is_hub(name_or_path)
    if offload and device.type == "cuda" and not hub:
        raise ValueError("offload is for the hub families (karlo, kandinsky-2.2); the tiny models fit anywhere")
    check_device(asked)
    asked_precision = precision or os.environ.get("UNCLIP_PRECISION", "auto")
    compute_dtype = resolve_precision(asked_precision, device)
    if dtype is None:
        dtype = torch.float16 if (hub and device.type == "cuda") else torch.float32
    if dtype not in (torch.float32, torch.float16, torch.bfloat16):
        raise ValueError(f"dtype must be torch.float32, torch.float16 or torch.bfloat16, got {dtype}")
    if device.type == "cpu" and dtype == torch.float16 and compute_dtype == torch.bfloat16:  # layer_norm crashed
        if asked_precision != "auto":
            raise ValueError("dtype torch.float16 on cpu runs only with precision fp32 (bf16 autocast has no CPU "
                             "kernels for fp16 weights): use precision='fp32', or dtype torch.float32 (the default)")
        compute_dtype = None  # 'auto' on an AMX CPU: the weights' own dtype, as on any other host
    models = load_models(name_or_path, dtype if hub else torch.float32)
    if offload and device.type == "cuda":
        offload_to(models.to("cpu", dtype), device)
    else:
        models.to(device, dtype)
        if device.type == "cpu":
            models.channels_last()
    models.compute_dtype = compute_dtype
    if compute_dtype == torch.bfloat16 and device.type == "cpu" and not has_amx_bf16():
        slow = "bf16 on a CPU without AMX is slower than fp32 here (--precision auto or fp32 is faster)"
        models.notice = f"{models.notice}; {slow}" if models.notice else slow
    backend = UnCLIP(models)
    try:  # a tiny model dir's defaults and schedules come from its JSON files, which may have been edited by hand
        backend.validate(backend.default_settings())
    except InvalidInput as e:
        where = ': fix "defaults" in its unclip_config.json, or its scheduler_configs.json' \
            if models.family == "tiny" else ""  # fmt: skip
        raise ValueError(f"model {name_or_path}: its default settings do not run ({e}){where}") from None
    return backend


def offload_to(models: UnCLIPModels, device: torch.device) -> None:
    """Model offload (as diffusers' enable_model_cpu_offload): each component moves to `device` when it is
    called (or `models.onload(component)` is asked for) and the previous one goes back to the CPU, so one
    component at a time occupies the GPU. One request at a time: the app runs with concurrency 1 when
    offloading, because a second request could move a component another one is using."""
    lock, state = threading.Lock(), {"on": None}

    def hook(module: torch.nn.Module) -> None:
        with lock:
            if state["on"] is not module:
                if state["on"] is not None:
                    state["on"].to("cpu")
                module.to(device)
                state["on"] = module

    leaves = [m for k, m in models.modules().items() if k != "clip"]
    leaves += [m for m in (models.clip.text_encoder, models.clip.image_encoder) if m is not None] \
        if models.hf_clip else [models.clip]
    for m in leaves:  # forward calls go through models.onload too: one place decides what moves
        m.register_forward_pre_hook(lambda module, args: (models.onload(module), None)[1])
    models.onload_hook = hook
    models.execution_device = device
    if models.hf_clip:
        models.clip.execution_device = device
    models.null_image_embeds = None  # recomputed on first use, on `device`


__all__ = ["Edit", "Generation", "InvalidInput", "UnCLIP", "load_backend"]
