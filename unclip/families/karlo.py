"""The karlo family: kakaobrain/karlo-v1-alpha (Kakao Brain's open unCLIP, DALL·E 2's architecture at 256 px).

Each component loads with its own class (diffusers' UnCLIPPipeline is deprecated and cannot skip the prior or
load its own layout any more with diffusers 0.42); the pipeline then runs our staged loop over them:

    text_encoder + tokenizer   transformers CLIP ViT-L/14 text tower (768-d), 77 tokens
    prior (+ prior_scheduler)  PriorTransformer, 20 layers; predicts the un-normalised image embedding
    text_proj, decoder         UnCLIPTextProjModel + UNet2DConditionModel at 64 px (learned variance)
    super_res_first / _last    two UNet2DModels 64 -> 256 px; the last step runs on super_res_last
    image_encoder              CLIP ViT-L/14 vision tower, from kakaobrain/karlo-v1-alpha-image-variations
                               (variations, inpaint/zoom-out with image conditioning, the explorer)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from unclip.families.hf_clip import load_hf_clip
from unclip.families.hub import ModelUnavailable, locate_all, pipeline_class, require, scheduler_config
from unclip.models import Defaults, UnCLIPModels

NAME = "karlo"
REPO = "kakaobrain/karlo-v1-alpha"
IMAGE_REPO = "kakaobrain/karlo-v1-alpha-image-variations"
PIPELINE_CLASS = "UnCLIPPipeline"
PARTS = ["prior", "prior_scheduler", "text_encoder", "tokenizer", "text_proj", "decoder", "decoder_scheduler",
         "super_res_first", "super_res_last", "super_res_scheduler"]
IMAGE_PARTS = ["image_encoder", "feature_extractor"]
SCHEDULERS = {"prior": "prior_scheduler", "decoder": "decoder_scheduler", "upsampler": "super_res_scheduler"}
# Karlo's own sampling defaults (diffusers UnCLIPPipeline): 25/25/7 steps, prior guidance 4, decoder guidance 8.
DEFAULTS = Defaults(prior_steps=25, prior_guidance=4.0, prior_candidates=1, prior_scheduler="unclip",
                    decoder_steps=25, decoder_guidance=8.0, decoder_scheduler="unclip",
                    upsampler_steps=7, upsampler_scheduler="unclip")


def is_karlo_dir(directory: Path) -> bool:
    return pipeline_class(directory) == PIPELINE_CLASS


def _locate(directory: Path | None) -> tuple[Path, Path]:
    """(karlo-v1-alpha, the folder with image_encoder/ + feature_extractor/): the given directory (the image
    encoder inside it or in karlo-v1-alpha-image-variations/ beside it), else the cache or the hub."""
    image_patterns = [f"{p}/*.json" for p in IMAGE_PARTS] + ["image_encoder/model.safetensors", "model_index.json"]
    if directory is None:
        found = locate_all({REPO: None, IMAGE_REPO: image_patterns}, NAME)
        return require(found[REPO], PARTS, NAME), found[IMAGE_REPO]
    require(directory, PARTS, NAME)
    for candidate in (directory, directory.parent / IMAGE_REPO.split("/")[1]):
        if all((candidate / p).is_dir() for p in IMAGE_PARTS):
            return directory, candidate
    return directory, locate_all({IMAGE_REPO: image_patterns}, f"{NAME} (its CLIP image encoder)")[IMAGE_REPO]


def load(directory: str | Path | None = None, dtype: torch.dtype = torch.float32) -> UnCLIPModels:
    """karlo from a local directory in the hub's layout, else from the Hugging Face cache (or hub)."""
    from diffusers import PriorTransformer, UNet2DConditionModel, UNet2DModel
    from diffusers.pipelines.deprecated.unclip.text_proj import UnCLIPTextProjModel

    local = Path(directory) if directory is not None else None
    root, images = _locate(local)
    kw: dict[str, Any] = {"use_safetensors": True, "torch_dtype": dtype, "low_cpu_mem_usage": False}
    try:  # a partial download or .bin-only weights: one clear error, not a traceback
        clip = load_hf_clip(root / "text_encoder", root / "tokenizer", images / "image_encoder",
                            images / "feature_extractor", dtype)
        parts = {name: cls.from_pretrained(root, subfolder=name, **kw) for name, cls in (
            ("prior", PriorTransformer), ("text_proj", UnCLIPTextProjModel), ("decoder", UNet2DConditionModel),
            ("super_res_first", UNet2DModel), ("super_res_last", UNet2DModel))}
        schedules = {stage: scheduler_config(root / folder) for stage, folder in SCHEDULERS.items()}
    except (OSError, ValueError) as e:
        raise ModelUnavailable(f"{NAME}: could not load {root} (incomplete download? safetensors weights are "
                               f"required): {e}") from None
    return assemble(clip, parts, schedules, NAME if local is None else f"{NAME} ({local.name})")


def assemble(clip: Any, parts: dict[str, Any], schedules: dict[str, dict[str, Any]], name: str = NAME
             ) -> UnCLIPModels:  # fmt: skip
    """Karlo's components (loaded, or built in memory by fake_hub for the benchmark) as unCLIP stages."""
    return UnCLIPModels(
        family=NAME, clip=clip, tokenizer=clip.tokenizer, prior=parts["prior"], text_proj=parts["text_proj"],
        decoder=parts["decoder"], upsampler=parts["super_res_first"], upsampler_last=parts["super_res_last"],
        scheduler_configs=schedules, image_mean=clip.mean, image_std=clip.std, normalize_embeddings=False,
        clamp_bicubic=False, bicubic_antialias=True, defaults=DEFAULTS, name=name)


def stock_pipeline(models: UnCLIPModels) -> Any:
    """diffusers' own (deprecated) UnCLIPPipeline over the same loaded components, for comparisons: our staged
    loop gives its pixels (tests/test_families.py) and is benchmarked against it (benchmarks/bench_karlo_gpu.py)."""
    from diffusers import UnCLIPPipeline, UnCLIPScheduler

    m = models
    pipe = UnCLIPPipeline(
        prior=m.prior, decoder=m.decoder, text_encoder=m.clip.text_encoder, tokenizer=m.clip.tokenizer,
        text_proj=m.text_proj, super_res_first=m.upsampler, super_res_last=m.upsampler_last,
        prior_scheduler=UnCLIPScheduler.from_config(m.scheduler_configs["prior"]),
        decoder_scheduler=UnCLIPScheduler.from_config(m.scheduler_configs["decoder"]),
        super_res_scheduler=UnCLIPScheduler.from_config(m.scheduler_configs["upsampler"]))
    pipe.set_progress_bar_config(disable=True)
    return pipe
