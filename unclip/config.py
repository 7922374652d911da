"""Small dataclass configs: one per component, defaults = the bundled tiny model.

Each component is built by its own library (open_clip, diffusers) from these numbers, and the library saves
its own config beside the weights, so these dataclasses only matter when a model is *made* (training, tests).
`TinyConfig.random()` is the tiny-random family used by tests and CI: the bundled model's architecture at a
size that runs a full generate() in well under a second.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

DECODER_WIDTHS = (0.25, 4)  # `DecoderConfig.scaled`: the channel multipliers a decoder may be trained at


def _groups(channels: tuple[int, ...]) -> int:
    """GroupNorm groups that divide every width: the largest of 32, 16, 8, 4 that fits."""
    return next(g for g in (32, 16, 8, 4, 2, 1) if all(c % g == 0 for c in channels))


@dataclass
class ClipConfig:
    """open_clip `CLIP` (ViT image tower + transformer text tower), see open_clip's model_configs/*.json."""

    embed_dim: int = 128  # CLIP embedding size D; text width must equal it (the prior reads token states)
    image_size: int = 64
    patch_size: int = 8
    vision_width: int = 128
    vision_layers: int = 4
    text_width: int = 128
    text_layers: int = 3
    heads_width: int = 32  # width per attention head, both towers
    context_length: int = 77
    vocab_size: int = 49408  # open_clip's bundled BPE

    def open_clip_cfg(self) -> dict[str, Any]:
        """The `model_cfg` dict that open_clip's `create_model` understands."""
        return {
            "embed_dim": self.embed_dim,
            "vision_cfg": {
                "image_size": self.image_size,
                "layers": self.vision_layers,
                "width": self.vision_width,
                "head_width": self.heads_width,
                "patch_size": self.patch_size,
            },
            "text_cfg": {
                "context_length": self.context_length,
                "vocab_size": self.vocab_size,
                "width": self.text_width,
                "heads": self.text_width // self.heads_width,
                "layers": self.text_layers,
            },
        }


@dataclass
class PriorConfig:
    """diffusers `PriorTransformer`: predicts the normalised CLIP image embedding (Karlo's layout)."""

    num_layers: int = 6
    num_attention_heads: int = 4
    attention_head_dim: int = 32
    num_train_timesteps: int = 1000

    def kwargs(self, clip: ClipConfig) -> dict[str, Any]:
        return {
            "num_attention_heads": self.num_attention_heads,
            "attention_head_dim": self.attention_head_dim,
            "num_layers": self.num_layers,
            "embedding_dim": clip.embed_dim,
            "num_embeddings": clip.context_length,
            "additional_embeddings": 4,
        }


@dataclass
class DecoderConfig:
    """diffusers `UNet2DConditionModel` at 64 px, conditioned GLIDE/Karlo style through `UnCLIPTextProjModel`."""

    sample_size: int = 64
    block_out_channels: tuple[int, ...] = (32, 64, 96, 128)
    attention: tuple[bool, ...] = (False, False, True, True)  # cross-attention per resolution (64/32/16/8 px)
    layers_per_block: int = 1
    attention_head_dim: int = 32
    extra_context_tokens: int = 4
    num_train_timesteps: int = 1000
    # "v_prediction" (Salimans & Ho 2022) rather than Karlo's epsilon: at high noise an epsilon model's x0
    # estimate divides its error by sqrt(abar) (x 71 at t = 0.99 T), so the scene's colours, which only the CLIP
    # embedding can tell there, came out the same whatever the embedding (see unclip/eval/reliance.py)
    prediction_type: str = "v_prediction"

    def unet_kwargs(self, clip: ClipConfig) -> dict[str, Any]:
        down = ["SimpleCrossAttnDownBlock2D" if a else "ResnetDownsampleBlock2D" for a in self.attention]
        up = ["SimpleCrossAttnUpBlock2D" if a else "ResnetUpsampleBlock2D" for a in reversed(self.attention)]
        return {
            "sample_size": self.sample_size,
            "in_channels": 3,
            "out_channels": 3,  # v (or epsilon); Karlo's real decoder also predicts a variance (6 channels)
            "down_block_types": tuple(down),
            "up_block_types": tuple(up),
            "mid_block_type": "UNetMidBlock2DSimpleCrossAttn",
            "block_out_channels": tuple(self.block_out_channels),
            "layers_per_block": self.layers_per_block,
            "attention_head_dim": self.attention_head_dim,
            "cross_attention_dim": self.cross_attention_dim,
            "class_embed_type": "identity",  # additive CLIP time embedding from text_proj
            "resnet_time_scale_shift": "scale_shift",
            "norm_num_groups": _groups(self.block_out_channels),
        }

    @property
    def cross_attention_dim(self) -> int:
        return self.block_out_channels[-1]

    @property
    def time_embed_dim(self) -> int:
        return self.block_out_channels[0] * 4

    def scaled(self, width: float) -> DecoderConfig:
        """This decoder with every channel count (and the attention head width) times `width`, rounded to a
        multiple of 8, and at a level with attention to a multiple of the head width, which must divide it (1.1 gave
        104 channels for heads of 32, and a crash at the first step): `train decoder --decoder-width 1.5`
        (benchmarks/bench_decoder_size.py times the sizes)."""
        if not DECODER_WIDTHS[0] <= width <= DECODER_WIDTHS[1]:
            raise ValueError(f"decoder width must be between {DECODER_WIDTHS[0]} and {DECODER_WIDTHS[1]}, got {width}")

        def times(c: int, step: int) -> int:
            return max(step, round(c * width / step) * step)

        head = times(self.attention_head_dim, 8)
        last = len(self.block_out_channels) - 1  # the mid block attends at the last level's width
        channels = tuple(times(c, head if self.attention[i] or i == last else 8)
                         for i, c in enumerate(self.block_out_channels))  # fmt: skip
        return replace(self, block_out_channels=channels, attention_head_dim=head)

    def text_proj_kwargs(self, clip: ClipConfig) -> dict[str, Any]:
        return {
            "clip_extra_context_tokens": self.extra_context_tokens,
            "clip_embeddings_dim": clip.embed_dim,
            "time_embed_dim": self.time_embed_dim,
            "cross_attention_dim": self.cross_attention_dim,
        }


@dataclass
class UpsamplerConfig:
    """diffusers `UNet2DModel` 64 -> 256: input = noisy image + bicubic-upsampled low-res image (6 channels).

    `patch_size` p > 1 runs the UNet on p x p space-to-depth patches (pixel_unshuffle, as in Hoogeboom et al.
    2023, "simple diffusion"): 16x fewer positions at p = 4, which is what makes 256 px affordable on a CPU.
    Karlo's upsampler is the p = 1 case (and predicts epsilon).

    With `residual`, the UNet predicts the clean image x0 as a correction to the bicubic upsample instead of
    the noise: a p x p patch of white noise (3 p^2 numbers) does not fit through a narrow first level, a patch
    of a clean image does, and an untrained (zero-output) upsampler is already bicubic.
    """

    sample_size: int = 256  # output size
    patch_size: int = 4
    residual: bool = True  # predict x0 as bicubic + residual (zero-initialised: starts as exactly bicubic)
    block_out_channels: tuple[int, ...] = (32, 64, 96, 128)
    layers_per_block: int = 1
    num_train_timesteps: int = 1000

    def kwargs(self) -> dict[str, Any]:
        n, p = len(self.block_out_channels), self.patch_size
        return {
            "sample_size": self.sample_size // p,
            "in_channels": 6 * p * p,
            "out_channels": 3 * p * p,
            "down_block_types": ("ResnetDownsampleBlock2D",) * n,
            "up_block_types": ("ResnetUpsampleBlock2D",) * n,
            "block_out_channels": tuple(self.block_out_channels),
            "layers_per_block": self.layers_per_block,
            "add_attention": False,
            "norm_num_groups": _groups(self.block_out_channels),
            "resnet_time_scale_shift": "scale_shift",
        }


@dataclass
class TinyConfig:
    """The whole tiny unCLIP: four components plus the sampling defaults shipped in `unclip_config.json`."""

    clip: ClipConfig = field(default_factory=ClipConfig)
    prior: PriorConfig = field(default_factory=PriorConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)
    upsampler: UpsamplerConfig = field(default_factory=UpsamplerConfig)

    @classmethod
    def random(cls) -> TinyConfig:
        """tiny-random: same architecture, a few thousand times fewer FLOPs (tests, CI)."""
        return cls(
            clip=ClipConfig(embed_dim=32, vision_width=32, vision_layers=1, text_width=32, text_layers=1,
                            heads_width=16, vocab_size=49408),
            prior=PriorConfig(num_layers=1, num_attention_heads=2, attention_head_dim=16),
            decoder=DecoderConfig(block_out_channels=(8, 16, 16, 32), attention_head_dim=8),
            upsampler=UpsamplerConfig(block_out_channels=(8, 8, 16, 16), patch_size=2),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TinyConfig:
        """The inverse of to_dict; ValueError naming the part and key of a hand-edited one."""
        kinds = {"clip": ClipConfig, "prior": PriorConfig, "decoder": DecoderConfig, "upsampler": UpsamplerConfig}
        if not isinstance(d, dict):
            got = "nothing" if d is None else type(d).__name__
            raise ValueError(f"config must be an object with the parts {', '.join(kinds)}, got {got}")
        parts = {}
        for name, kind in kinds.items():
            saved = d.get(name)
            if not isinstance(saved, dict):
                raise ValueError(f"config.{name} must be an object (that part's architecture), got "
                                 f"{'nothing' if saved is None else type(saved).__name__}")  # fmt: skip
            if name == "decoder":
                saved = {"prediction_type": "epsilon", **saved}  # no key: made before v-prediction
            values = check_keys(saved, kind, f"config.{name}", required=True)
            parts[name] = kind(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
        return cls(**parts)


SIZES = ("default", "random")  # the sizes --config names: the bundled model's, tiny-random's


def sized(name: str) -> TinyConfig:
    """A named size's config (`SIZES`)."""
    return TinyConfig.random() if name == "random" else TinyConfig()


def size_of(config: TinyConfig) -> str | None:
    """Which named size a model is (its CLIP decides: other flags change the decoder's width only), or None."""
    return next((name for name in SIZES if sized(name).clip == config.clip), None)


def check_keys(saved: dict[str, Any], kind: type, where: str, required: bool = False) -> dict[str, Any]:
    """`saved` if its keys are fields of dataclass `kind` (all of them, with `required`), else ValueError naming
    `where`, the key and the fields."""
    allowed = [f.name for f in fields(kind)]
    unknown = [k for k in saved if k not in allowed]
    if unknown:
        raise ValueError(f"{where} has an unknown key {unknown[0]!r}; its keys are {', '.join(allowed)}")
    missing = [k for k in allowed if k not in saved] if required else []
    if missing:
        raise ValueError(f"{where} is missing the key {missing[0]!r} (its keys are {', '.join(allowed)})")
    return saved
