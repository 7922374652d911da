"""The kandinsky-2.2 family: kandinsky-community's prior, decoder and decoder-inpaint, as unCLIP stages.

    kandinsky-2-2-prior           CLIP ViT-bigG text + vision towers (1280-d), tokenizer, PriorTransformer,
                                  UnCLIPScheduler, image_processor
    kandinsky-2-2-decoder         UNet2DConditionModel over MoVQ latents, conditioned on the image embedding
                                  only (encoder_hid_dim_type 'image_proj', addition_embed_type 'image'), a
                                  DDPM scheduler, and the MoVQ VQModel that decodes latents to 512 px
    kandinsky-2-2-decoder-inpaint the same UNet with 9 input channels (latents + masked latents + keep mask);
                                  optional: without it inpaint/zoom-out re-inject known latents (RePaint)

What it cannot do, and why (the UI disables these and says so): caption-only decoding (its decoder never reads
the caption) and a separate upsampler (MoVQ decodes straight to 512 px). The decoder's guidance baseline is the
CLIP embedding of an all-zero image, as in diffusers' KandinskyV22PriorPipeline.get_zero_embed.

`--model DIR` takes either the prior's directory with the decoder(s) beside it, or a folder holding the three
repository folders (kandinsky-2-2-prior/, kandinsky-2-2-decoder/, kandinsky-2-2-decoder-inpaint/).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from unclip.families.hf_clip import load_hf_clip
from unclip.families.hub import ModelUnavailable, locate_all, pipeline_class, require, scheduler_config
from unclip.models import Defaults, UnCLIPModels

NAME = "kandinsky-2.2"
REPOS = {"prior": "kandinsky-community/kandinsky-2-2-prior",
         "decoder": "kandinsky-community/kandinsky-2-2-decoder",
         "inpaint": "kandinsky-community/kandinsky-2-2-decoder-inpaint"}
CLASSES = {"prior": "KandinskyV22PriorPipeline", "decoder": "KandinskyV22Pipeline",
           "inpaint": "KandinskyV22InpaintPipeline"}
PARTS = {"prior": ["prior", "text_encoder", "tokenizer", "image_encoder", "scheduler"],
         "decoder": ["unet", "scheduler", "movq"], "inpaint": ["unet", "scheduler", "movq"]}
OUTPUT_SIZE = 512
DEFAULTS = Defaults(prior_steps=25, prior_guidance=4.0, prior_candidates=1, prior_scheduler="unclip",
                    decoder_steps=50, decoder_guidance=4.0, decoder_scheduler="ddpm",
                    upsampler_steps=1, upsampler_scheduler="ddim")
UNAVAILABLE = {
    "caption_only": "Kandinsky 2.2's decoder is conditioned on the CLIP image embedding alone and never reads "
                    "the caption, so there is no caption-only mode",
    "upsampler": "Kandinsky 2.2 has no upsampler: MoVQ decodes its latents straight to 512 px",
}


def is_kandinsky_dir(directory: Path) -> bool:
    return _layout(directory) is not None


def _layout(directory: Path) -> dict[str, Path] | None:
    """role -> repository folder: inside `directory`, or beside it when it is the prior's own folder."""
    folders = {role: repo.split("/")[1] for role, repo in REPOS.items()}
    if pipeline_class(directory / folders["prior"]) == CLASSES["prior"]:
        found = {role: directory / name for role, name in folders.items()}
    elif pipeline_class(directory) == CLASSES["prior"]:
        found = {role: directory.parent / name for role, name in folders.items()} | {"prior": directory}
    else:
        return None
    return {role: path for role, path in found.items() if path.is_dir()}


def load(directory: str | Path | None = None, dtype: torch.dtype = torch.float32) -> UnCLIPModels:
    from diffusers import PriorTransformer, UNet2DConditionModel, VQModel

    if directory is not None:
        found = _layout(Path(directory))
        if found is None:
            raise ModelUnavailable(f"{NAME}: {directory} holds no kandinsky-2-2-prior/ and kandinsky-2-2-decoder/ "
                                   "in the hub's layout")
        if "decoder" not in found:  # the prior's own folder, or a folder with the prior only
            beside = found["prior"].parent / REPOS["decoder"].split("/")[1]
            raise ModelUnavailable(f"{NAME}: found the prior in {found['prior']} but no decoder: expected it in "
                                   f"{beside} (the {REPOS['decoder']} repository in the hub's layout)")
        dirs: dict[str, Path | None] = {role: found.get(role) for role in REPOS}
    else:
        found = locate_all(dict.fromkeys(REPOS.values()), NAME, optional=(REPOS["inpaint"],))
        dirs = {role: found[repo] for role, repo in REPOS.items()}
    for role in ("prior", "decoder"):
        require(dirs[role], PARTS[role], f"{NAME} ({role})")
    prior_dir, decoder_dir = dirs["prior"], dirs["decoder"]
    kw: dict[str, Any] = {"use_safetensors": True, "torch_dtype": dtype, "low_cpu_mem_usage": False}
    where = prior_dir
    try:  # a partial download or .bin-only weights: one clear error, not a traceback
        clip = load_hf_clip(prior_dir / "text_encoder", prior_dir / "tokenizer", prior_dir / "image_encoder",
                            prior_dir / "image_processor", dtype)
        prior = PriorTransformer.from_pretrained(prior_dir, subfolder="prior", **kw)
        schedules = {"prior": scheduler_config(prior_dir / "scheduler")}
        where = decoder_dir
        decoder = UNet2DConditionModel.from_pretrained(decoder_dir, subfolder="unet", **kw)
        movq = VQModel.from_pretrained(decoder_dir, subfolder="movq", **kw)
        schedules["decoder"] = scheduler_config(decoder_dir / "scheduler")
    except (OSError, ValueError) as e:
        raise ModelUnavailable(f"{NAME}: could not load {where} (incomplete download? safetensors weights are "
                               f"required): {e}") from None
    inpaint, notice = _inpaint_decoder(dirs["inpaint"], kw)
    return UnCLIPModels(
        family=NAME, clip=clip, tokenizer=clip.tokenizer, prior=prior, text_proj=None, decoder=decoder,
        upsampler=None, scheduler_configs=schedules, image_mean=clip.mean, image_std=clip.std,
        normalize_embeddings=False, movq=movq, decoder_inpaint=inpaint,
        output_size=OUTPUT_SIZE, unavailable=dict(UNAVAILABLE), defaults=DEFAULTS,
        name=NAME if directory is None else f"{NAME} ({Path(directory).name})", notice=notice)


def _inpaint_decoder(folder: Path | None, kw: dict[str, Any]) -> tuple[Any, str]:
    """The optional inpainting UNet, and a notice when a copy of it is there but does not load (a partial
    download): the model still loads, and Inpaint and Zoom out re-inject known latents (RePaint) as without it."""
    from diffusers import UNet2DConditionModel

    if folder is None:
        return None, ""
    try:
        require(folder, PARTS["inpaint"], f"{NAME} (inpaint)")
        return UNet2DConditionModel.from_pretrained(folder, subfolder="unet", **kw), ""
    except (OSError, ValueError) as e:
        return None, (f"{REPOS['inpaint']} in {folder} did not load ({str(e)[:200]}): Inpaint and Zoom out use the "
                      "plain decoder (RePaint) instead")
