"""Random-weight stand-ins for the hub checkpoints, in each family's exact on-disk layout (no network).

    karlo_components("tiny" | "full")      the Karlo components; "full" is the real architecture (from diffusers'
                                           scripts/convert_kakao_brain_unclip_to_diffusers.py), for the GPU
                                           benchmark; "tiny" keeps every config key at toy sizes, for tests
    save_karlo(dir, parts)                 -> karlo-v1-alpha/ and karlo-v1-alpha-image-variations/ under dir
    kandinsky_components("tiny"), save_kandinsky(dir, parts)
                                           -> kandinsky-2-2-prior/, -decoder/, -decoder-inpaint/ under dir

The tokenizer is a real CLIP BPE tokenizer built from open_clip's bundled vocabulary (its ids equal
open_clip's), so nothing is downloaded.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from unclip.families.tiny import own_rng

KARLO_DIR, KARLO_IMAGE_DIR = "karlo-v1-alpha", "karlo-v1-alpha-image-variations"
KANDINSKY_DIRS = {"prior": "kandinsky-2-2-prior", "decoder": "kandinsky-2-2-decoder",
                  "inpaint": "kandinsky-2-2-decoder-inpaint"}


def clip_tokenizer(directory: Path) -> Any:
    """A transformers CLIPTokenizer from open_clip's BPE file, saved into `directory` and returned."""
    import open_clip
    from open_clip.tokenizer import bytes_to_unicode
    from transformers import CLIPTokenizer

    bpe = Path(open_clip.__file__).parent / "bpe_simple_vocab_16e6.txt.gz"
    with gzip.open(bpe) as f:
        merges = f.read().decode("utf-8").split("\n")[1:49152 - 256 - 2 + 1]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab] + ["".join(m.split()) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    work = directory / "_bpe"
    work.mkdir(parents=True, exist_ok=True)
    (work / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    (work / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    tokenizer = CLIPTokenizer(str(work / "vocab.json"), str(work / "merges.txt"), model_max_length=77)
    tokenizer.save_pretrained(directory)
    for f in work.iterdir():
        f.unlink()
    work.rmdir()
    return CLIPTokenizer.from_pretrained(directory)


def _text_config(size: str, width: int, proj: int):
    from transformers import CLIPTextConfig

    if size == "full":  # CLIP ViT-L/14 text tower (Karlo)
        return CLIPTextConfig(hidden_size=768, intermediate_size=3072, num_attention_heads=12, num_hidden_layers=12,
                              projection_dim=768, max_position_embeddings=77, hidden_act="quick_gelu")
    return CLIPTextConfig(hidden_size=width, intermediate_size=2 * width, num_attention_heads=2, num_hidden_layers=2,
                          projection_dim=proj, max_position_embeddings=77, hidden_act="quick_gelu",
                          eos_token_id=49407, bos_token_id=49406, pad_token_id=49407)


def _vision_config(size: str, width: int, proj: int):
    from transformers import CLIPVisionConfig

    if size == "full":  # CLIP ViT-L/14 vision tower
        return CLIPVisionConfig(hidden_size=1024, intermediate_size=4096, num_attention_heads=16, num_hidden_layers=24,
                                patch_size=14, image_size=224, projection_dim=768, hidden_act="quick_gelu")
    return CLIPVisionConfig(hidden_size=width, intermediate_size=2 * width, num_attention_heads=2, num_hidden_layers=2,
                            patch_size=8, image_size=32, projection_dim=proj, hidden_act="quick_gelu")


@own_rng
def karlo_components(size: str = "tiny", seed: int = 0) -> dict[str, Any]:
    """Karlo's modules and scheduler configs with random weights; `size` "tiny" (tests) or "full" (benchmark)."""
    from diffusers import PriorTransformer, UNet2DConditionModel, UNet2DModel
    from diffusers.pipelines.deprecated.unclip.text_proj import UnCLIPTextProjModel
    from transformers import CLIPTextModelWithProjection, CLIPVisionModelWithProjection

    torch.manual_seed(seed)
    full = size == "full"
    d = 768 if full else 32  # CLIP embedding width = text hidden width, as in ViT-L/14
    blocks = (320, 640, 960, 1280) if full else (32, 64)
    cross = 1536 if full else 48
    unet_common = {"layers_per_block": 3 if full else 1, "block_out_channels": blocks}
    attn = ("SimpleCrossAttnDownBlock2D",) * (len(blocks) - 1)
    parts: dict[str, Any] = {
        "text_encoder": CLIPTextModelWithProjection(_text_config(size, d, d)),
        "image_encoder": CLIPVisionModelWithProjection(_vision_config(size, 32, d)),
        "prior": PriorTransformer() if full else PriorTransformer(
            num_attention_heads=2, attention_head_dim=16, num_layers=2, embedding_dim=d, num_embeddings=77,
            additional_embeddings=4),
        "text_proj": UnCLIPTextProjModel(clip_extra_context_tokens=4, clip_embeddings_dim=d,
                                         time_embed_dim=blocks[0] * 4, cross_attention_dim=cross),
        "decoder": UNet2DConditionModel(
            sample_size=64 if full else 16, in_channels=3, out_channels=6, cross_attention_dim=cross,
            down_block_types=("ResnetDownsampleBlock2D", *attn),
            up_block_types=(*("SimpleCrossAttnUpBlock2D",) * (len(blocks) - 1), "ResnetUpsampleBlock2D"),
            mid_block_type="UNetMidBlock2DSimpleCrossAttn", class_embed_type="identity",
            attention_head_dim=64 if full else 16, resnet_time_scale_shift="scale_shift", **unet_common,
            **({} if full else {"norm_num_groups": 8})),
    }
    for name in ("super_res_first", "super_res_last"):
        parts[name] = UNet2DModel(
            sample_size=256 if full else 64, in_channels=6, out_channels=3, add_attention=False,
            down_block_types=("ResnetDownsampleBlock2D",) * len(blocks),
            up_block_types=("ResnetUpsampleBlock2D",) * len(blocks), **unet_common,
            **({} if full else {"norm_num_groups": 8}))
    if not full:  # statistics near CLIP's scale and a null embedding that is not zero (the real ones are not; zeros
        with torch.no_grad():  # would hide a skipped post_process_latents or a null embedding replaced by zeros)
            parts["prior"].clip_mean.normal_(0.0, 0.1)
            parts["prior"].clip_std.uniform_(0.8, 1.2)
            parts["text_proj"].learned_classifier_free_guidance_embeddings.normal_(0.0, 0.5)
    parts["schedulers"] = {  # as the hub's files: saved by diffusers 0.12, no beta_schedule (cosine, implied)
        "prior_scheduler": {"_class_name": "UnCLIPScheduler", "variance_type": "fixed_small_log",
                            "prediction_type": "sample", "num_train_timesteps": 1000, "clip_sample": True,
                            "clip_sample_range": 5.0},
        "decoder_scheduler": {"_class_name": "UnCLIPScheduler", "variance_type": "learned_range",
                              "prediction_type": "epsilon", "num_train_timesteps": 1000, "clip_sample": True,
                              "clip_sample_range": 1.0},
        "super_res_scheduler": {"_class_name": "UnCLIPScheduler", "variance_type": "fixed_small_log",
                                "prediction_type": "epsilon", "num_train_timesteps": 1000, "clip_sample": True,
                                "clip_sample_range": 1.0},
    }
    return parts


def _save(module: nn.Module, directory: Path) -> None:
    module.save_pretrained(directory, safe_serialization=True)


def _scheduler(config: dict[str, Any], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "scheduler_config.json").write_text(json.dumps(config, indent=2))


def _index(directory: Path, cls: str, parts: dict[str, list[str]]) -> None:
    (directory / "model_index.json").write_text(json.dumps({"_class_name": cls, **parts}, indent=2))


def save_karlo(root: str | Path, parts: dict[str, Any]) -> Path:
    """karlo-v1-alpha/ (and the image encoder's repo beside it) under `root`; returns the karlo directory."""
    root = Path(root)
    main, images = root / KARLO_DIR, root / KARLO_IMAGE_DIR
    for name in ("prior", "text_encoder", "text_proj", "decoder", "super_res_first", "super_res_last"):
        _save(parts[name], main / name)
    clip_tokenizer(main / "tokenizer")
    for name, config in parts["schedulers"].items():
        _scheduler(config, main / name)
    _index(main, "UnCLIPPipeline", {
        "prior": ["diffusers", "PriorTransformer"], "text_encoder": ["transformers", "CLIPTextModelWithProjection"],
        "tokenizer": ["transformers", "CLIPTokenizer"], "text_proj": ["unclip", "UnCLIPTextProjModel"],
        "decoder": ["diffusers", "UNet2DConditionModel"], "super_res_first": ["diffusers", "UNet2DModel"],
        "super_res_last": ["diffusers", "UNet2DModel"], "prior_scheduler": ["diffusers", "UnCLIPScheduler"],
        "decoder_scheduler": ["diffusers", "UnCLIPScheduler"], "super_res_scheduler": ["diffusers", "UnCLIPScheduler"]})
    _save(parts["image_encoder"], images / "image_encoder")
    size = parts["image_encoder"].config.image_size
    (images / "feature_extractor").mkdir(parents=True, exist_ok=True)
    (images / "feature_extractor" / "preprocessor_config.json").write_text(json.dumps({
        "image_processor_type": "CLIPImageProcessor", "crop_size": {"height": size, "width": size},
        "size": {"shortest_edge": size}, "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711]}, indent=2))
    _index(images, "UnCLIPImageVariationPipeline", {"image_encoder": ["transformers", "CLIPVisionModelWithProjection"],
                                                    "feature_extractor": ["transformers", "CLIPImageProcessor"]})
    return main


@own_rng
def kandinsky_components(seed: int = 0) -> dict[str, Any]:
    """Kandinsky 2.2's modules at toy sizes, every config key as in the real repositories."""
    from diffusers import PriorTransformer, UNet2DConditionModel, VQModel
    from transformers import CLIPTextModelWithProjection, CLIPVisionModelWithProjection

    torch.manual_seed(seed)
    d = 32

    def unet(in_channels: int) -> UNet2DConditionModel:
        return UNet2DConditionModel(
            sample_size=32, in_channels=in_channels, out_channels=8, layers_per_block=1, block_out_channels=(32, 64),
            down_block_types=("ResnetDownsampleBlock2D", "SimpleCrossAttnDownBlock2D"),
            up_block_types=("SimpleCrossAttnUpBlock2D", "ResnetUpsampleBlock2D"),
            mid_block_type="UNetMidBlock2DSimpleCrossAttn", addition_embed_type="image", encoder_hid_dim=d,
            encoder_hid_dim_type="image_proj", cross_attention_dim=48, attention_head_dim=8,
            resnet_time_scale_shift="scale_shift", class_embed_type=None, norm_num_groups=8)

    prior = PriorTransformer(num_attention_heads=2, attention_head_dim=16, num_layers=2, embedding_dim=d,
                             num_embeddings=77, additional_embeddings=4)
    with torch.no_grad():
        prior.clip_std.fill_(1.0)
    return {
        "text_encoder": CLIPTextModelWithProjection(_text_config("tiny", d, d)),
        "image_encoder": CLIPVisionModelWithProjection(_vision_config("tiny", 32, d)),
        "prior": prior,
        "unet": unet(4),
        "inpaint_unet": unet(9),
        # 4 levels like the real MoVQ (8 pixels per latent), so attention runs on the latent grid, not on pixels
        "movq": VQModel(in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1, norm_num_groups=8,
                        block_out_channels=(32, 32, 32, 32),  # SpatialNorm needs multiples of 32
                        down_block_types=("DownEncoderBlock2D",) * 3 + ("AttnDownEncoderBlock2D",),
                        up_block_types=("AttnUpDecoderBlock2D",) + ("UpDecoderBlock2D",) * 3, norm_type="spatial",
                        num_vq_embeddings=12, vq_embed_dim=4),
        # no beta_schedule, as the hub's file
        "prior_scheduler": {"_class_name": "UnCLIPScheduler", "variance_type": "fixed_small_log",
                            "prediction_type": "sample", "num_train_timesteps": 1000, "clip_sample": True,
                            "clip_sample_range": 10.0},
        "decoder_scheduler": {"_class_name": "DDPMScheduler", "num_train_timesteps": 1000, "beta_schedule": "linear",
                              "beta_start": 0.00085, "beta_end": 0.012, "clip_sample": False,
                              "set_alpha_to_one": False, "steps_offset": 1, "prediction_type": "epsilon",
                              "thresholding": False, "variance_type": "fixed_small"},
    }


def save_kandinsky(root: str | Path, parts: dict[str, Any], inpaint: bool = True) -> Path:
    """kandinsky-2-2-prior/, -decoder/ (and -decoder-inpaint/) under `root`; returns root."""
    root = Path(root)
    prior = root / KANDINSKY_DIRS["prior"]
    for name in ("prior", "text_encoder", "image_encoder"):
        _save(parts[name], prior / name)
    clip_tokenizer(prior / "tokenizer")
    _scheduler(parts["prior_scheduler"], prior / "scheduler")
    size = parts["image_encoder"].config.image_size
    (prior / "image_processor").mkdir(parents=True, exist_ok=True)
    (prior / "image_processor" / "preprocessor_config.json").write_text(json.dumps({  # the real file's keys:
        # without "size", CLIPImageProcessor resizes to its default 224 and then crops the centre 32 px
        "image_processor_type": "CLIPImageProcessor", "crop_size": {"height": size, "width": size},
        "size": {"shortest_edge": size}, "resample": 3, "do_resize": True, "do_center_crop": True,
        "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711]}))
    _index(prior, "KandinskyV22PriorPipeline", {
        "prior": ["diffusers", "PriorTransformer"], "image_encoder": ["transformers", "CLIPVisionModelWithProjection"],
        "text_encoder": ["transformers", "CLIPTextModelWithProjection"], "tokenizer": ["transformers", "CLIPTokenizer"],
        "scheduler": ["diffusers", "UnCLIPScheduler"], "image_processor": ["transformers", "CLIPImageProcessor"]})
    roles = [("decoder", "unet", "KandinskyV22Pipeline")]
    if inpaint:
        roles.append(("inpaint", "inpaint_unet", "KandinskyV22InpaintPipeline"))
    for role, unet, cls in roles:
        d = root / KANDINSKY_DIRS[role]
        _save(parts[unet], d / "unet")
        _save(parts["movq"], d / "movq")
        _scheduler(parts["decoder_scheduler"], d / "scheduler")
        _index(d, cls, {"unet": ["diffusers", "UNet2DConditionModel"], "scheduler": ["diffusers", "DDPMScheduler"],
                        "movq": ["diffusers", "VQModel"]})
    return root
