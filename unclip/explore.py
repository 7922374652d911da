"""The CLIP-embedding explorer's maths: slerp, text diffs (paper §3.3), decoding any point with fixed noise,
nearest neighbours and the modality gap (Liang et al. 2022, "Mind the Gap").

    slerp(a, b, t)            true spherical interpolation on the unit sphere, angle from the FULL vectors
    text_diff_direction       z_d = normalise(z_t - z_t0)                              (paper §3.3)
    text_diff_path            slerp(z_i, z_d, theta) for theta in [0, max_theta]      (paper §3.3)
    decode_stream             embeddings (N, D) -> images, every row with the SAME decoder noise (one seed)
    interpolate_stream        two endpoints (text / image / embedding) -> a strip of N decoded steps
    text_diff_stream          an image + "from" and "to" captions -> a strip of N decoded edits, every frame from
                              the image's DDIM inversion (paper Fig. 5: theta = 0 gives the image back) or a seed
    nearest / modality_gap    cosine neighbours; image-text centroid distance

diffusers' community "unclip interpolation" computes its slerp angle element by element, which is not a slerp;
here the angle is one number, arccos(a . b) of the unit vectors. Every generator is explicit; nothing here
imports gradio.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps
from torch import Tensor

from unclip import pipeline
from unclip.images import to_pil, to_tensor
from unclip.models import count_tokens, too_long
from unclip.sampling import Progress
from unclip.settings import LIMITS, GenerateSettings, InvalidInput, as_bool, as_choice, as_float, as_int, as_prompt
from unclip.uploads import Source, check_size, load_upload

if TYPE_CHECKING:
    from unclip.backend import UnCLIP

STRIP_STEPS = (2, 16)  # frames in an interpolation / text-diff strip
MAX_THETA = (0.0, 1.0)  # text diffs: the paper shows theta up to about 0.25-0.5
NOISE = ("inversion", "seed")  # a text diff's starting noise: the picture's DDIM inversion (the paper's), or a seed
NEEDS_PICTURE = ("noise: 'inversion' needs the picture itself (an embedding alone cannot be inverted): pass "
                 "picture=, or noise='seed'")  # fmt: skip
NEAREST_K = 8
_PARALLEL = 1e-6  # 1 - |cos| below this: treat two directions as identical / opposite
Endpoint = Source | Tensor  # a caption (str), an image (file path, bytes, PIL), or an embedding (D,)


# -- geometry --------------------------------------------------------------------------------------------
def _orthogonal_to(a: Tensor) -> Tensor:
    """A unit vector orthogonal to unit `a` (D,): the coordinate axis where |a| is smallest, minus its
    projection on a (Gram-Schmidt). Deterministic, so the path between opposite points is reproducible."""
    axis = torch.zeros_like(a)
    axis[a.abs().argmin()] = 1.0
    u = axis - (axis @ a) * a
    return u / u.norm()


def slerp(a: Tensor, b: Tensor, t: Tensor | Sequence[float]) -> Tensor:
    """Spherical interpolation (Shoemake 1985) from a (D,) to b (D,) at fractions t (N,) -> (N, D).

    The direction moves along the great circle through a/|a| and b/|b| at constant angular speed (the angle
    between them, omega = arccos(a.b / |a||b|), is computed from the full vectors); the length is interpolated
    linearly between |a| and |b| (so unit inputs give unit outputs). t = 0 and t = 1 return a and b exactly.
    Identical directions give a constant path (no NaN). Opposite directions are joined by the great circle
    through `_orthogonal_to(a)` (every great circle through a reaches -a; this one is documented and fixed).
    """
    t = torch.as_tensor(t, dtype=torch.float64).reshape(-1, 1)  # (N, 1)
    a64, b64 = (v.to("cpu", torch.float64).reshape(-1) for v in (a, b))  # (D,) on the CPU: t is there, and
    # MPS has no float64 (inversion noise arrives on the model's device; the path goes back there)
    na, nb = a64.norm(), b64.norm()
    if na == 0 or nb == 0:
        raise InvalidInput("slerp needs two non-zero vectors: a zero embedding has no direction")
    ua, ub = a64 / na, b64 / nb
    cos = (ua @ ub).clamp(-1.0, 1.0)
    if cos > 1 - _PARALLEL:  # same direction: the normalised lerp is the (constant) arc
        direction = F.normalize((1 - t) * ua + t * ub, dim=-1)
    elif cos < -1 + _PARALLEL:  # opposite: half a turn through a fixed orthogonal direction
        u = _orthogonal_to(ua)
        direction = torch.cos(math.pi * t) * ua + torch.sin(math.pi * t) * u
    else:
        omega = torch.arccos(cos)
        direction = (torch.sin((1 - t) * omega) * ua + torch.sin(t * omega) * ub) / torch.sin(omega)
    out = direction * ((1 - t) * na + t * nb)  # (N, D)
    out[(t == 0).reshape(-1)] = a64  # exact: float64 holds every float32, bfloat16 and float16 value
    out[(t == 1).reshape(-1)] = b64.to(a.dtype).double()
    return out.to(a.device, a.dtype)


def angles_deg(path: Tensor, start: Tensor) -> list[float]:
    """Angle (degrees) between each row of path (N, D) and start (D,)."""
    path, start = (v.detach().to("cpu", torch.float64) for v in (path, start))  # (MPS: no float64)
    cos = F.cosine_similarity(path, start.reshape(1, -1), dim=-1).clamp(-1, 1)
    return [round(math.degrees(x), 2) for x in torch.arccos(cos).tolist()]


SAME_CAPTIONS = "to caption must differ from the from caption: their difference is the edit"


def text_diff_direction(from_text: Tensor, to_text: Tensor) -> Tensor:
    """z_d = normalise(z_t - z_t0) (D,): the direction the caption edit moves in CLIP text space (§3.3).

    Taken between the unit text embeddings, as the paper's CLIP embeddings are: Karlo's and Kandinsky's are not
    unit vectors, and a difference in length says nothing about the edit."""
    diff = F.normalize(to_text.double(), dim=-1) - F.normalize(from_text.double(), dim=-1)
    if diff.norm() < 1e-6:
        raise InvalidInput(SAME_CAPTIONS)
    return (diff / diff.norm()).to(from_text.dtype)


def text_diff_path(image: Tensor, direction: Tensor, steps: int, max_theta: float) -> tuple[Tensor, list[float]]:
    """slerp(z_i, z_d, theta) for theta = 0 .. max_theta in `steps` even steps -> ((steps, D), thetas).

    The paper's embeddings are unit vectors; z_d is a direction, so every step keeps z_i's length (Karlo's and
    Kandinsky's image embeddings are not unit vectors, and a shorter one is not an image embedding any more)."""
    thetas = torch.linspace(0.0, max_theta, steps, dtype=torch.float64)
    target = direction.double() * image.double().norm()  # z_d at z_i's length: slerp then keeps the length
    return slerp(image, target.to(image.dtype), thetas), [round(x, 4) for x in thetas.tolist()]


def nearest(query: Tensor, bank: Tensor, k: int = NEAREST_K, exclude: int | None = None
            ) -> tuple[list[int], list[float]]:  # fmt: skip
    """The k rows of bank (N, D) with the highest cosine similarity to query (D,): (indices, similarities)."""
    sims = F.cosine_similarity(bank.float(), query.float().reshape(1, -1), dim=-1)  # (N,)
    if exclude is not None:
        sims[exclude] = -float("inf")
    k = min(k, bank.shape[0] - (exclude is not None))
    top = sims.topk(max(k, 0))
    return top.indices.tolist(), [round(x, 4) for x in top.values.tolist()]


@dataclass(frozen=True)
class GapStats:
    """The modality gap of a collection: how far apart CLIP keeps images and texts (Liang et al. 2022)."""

    centroid_distance: float  # |mean(unit image embeds) - mean(unit text embeds)|; 0.82 in their measurement
    centroid_cosine: float  # cosine between the two centroids
    images: int
    texts: int


def modality_gap(image_embeds: Tensor, text_embeds: Tensor) -> GapStats:
    """image_embeds (Ni, D), text_embeds (Nt, D), each row normalised first."""
    if len(image_embeds) == 0 or len(text_embeds) == 0:
        raise InvalidInput("the modality gap needs at least one image and one text in the collection")
    ci = F.normalize(image_embeds.float(), dim=-1).mean(0)  # (D,)
    ct = F.normalize(text_embeds.float(), dim=-1).mean(0)
    return GapStats(round(float((ci - ct).norm()), 4), round(float(F.cosine_similarity(ci, ct, dim=0)), 4),
                    len(image_embeds), len(text_embeds))


# -- validation ------------------------------------------------------------------------------------------
def check_strip(steps: Any, seed: Any) -> tuple[int, int]:
    return as_int("steps", steps, *STRIP_STEPS), as_int("seed", seed, *LIMITS["seed"])


def check_text_diff(steps: Any, max_theta: Any, seed: Any, from_caption: Any, to_caption: Any
                    ) -> tuple[int, float, int, str, str]:  # fmt: skip
    """A text diff's numbers and captions, validated (InvalidInput naming the field)."""
    steps, seed = check_strip(steps, seed)
    src, dst = as_prompt(from_caption, "from caption"), as_prompt(to_caption, "to caption")
    if src == dst:  # (captions that differ only in what the tokenizer drops are caught by text_diff_direction)
        raise InvalidInput(SAME_CAPTIONS)
    return steps, as_float("max theta", max_theta, *MAX_THETA), seed, src, dst


MAX_EMBED_NORM = 1e4  # measured on the bundled model (fp32/bf16): it decodes a 1e6-long embedding and overflows (a
# black image) near 1e20; CLIP's own embeddings are 1 (normalised) to tens long. fp16 hub models may overflow sooner


def check_embeddings(embeds: Any, name: str, shape: tuple[int, ...]) -> Tensor:
    """A tensor of this shape (-1: any length) and finite values, or InvalidInput naming the field."""
    if not isinstance(embeds, Tensor):
        raise InvalidInput(f"{name} must be a torch tensor, got {type(embeds).__name__}")
    if embeds.ndim != len(shape) or any(want not in (-1, got) for want, got in zip(shape, embeds.shape, strict=True)):
        allowed = ", ".join("N" if d == -1 else str(d) for d in shape)
        raise InvalidInput(f"{name} must have shape ({allowed}{',' if len(shape) == 1 else ''}), got "
                           f"{tuple(embeds.shape)}")  # fmt: skip
    if not bool(torch.isfinite(embeds).all()):
        raise InvalidInput(f"{name} must be finite numbers: got NaN or infinity")
    norm = float(embeds.detach().to("cpu", torch.float64).norm(dim=-1).max()) if embeds.numel() else 0.0  # (MPS:
    # no float64)
    if norm > MAX_EMBED_NORM:  # finite, yet it overflowed inside the decoder: a black image, said nowhere
        raise InvalidInput(f"{name} must have a length (L2 norm) of at most {MAX_EMBED_NORM:g}, got {norm:g} "
                           "(one far longer than CLIP's own overflows inside the decoder)")
    return embeds


def check_settings(backend: UnCLIP, settings: GenerateSettings | None) -> GenerateSettings:
    return backend.validate(settings or backend.default_settings())


def strip_steps(settings: GenerateSettings, prior_runs: int, inversions: int = 0) -> int:
    """Denoising steps a strip runs (progress bars): the prior once per text endpoint, the decoder once per picture
    it inverts, then one decode."""
    up = settings.upsampler.steps if settings.upsampler.enabled else 0
    return prior_runs * settings.prior.steps + (1 + inversions) * settings.decoder.steps + up


def as_image(source: Source, name: str) -> Image.Image:
    """An image as every tab reads an upload (`unclip.uploads`: transparency on white, 16-bit scaled to 8, size
    checked, EXIF orientation applied); a plain RGB image is that already, once its size is checked."""
    if isinstance(source, Image.Image) and source.mode == "RGB":
        check_size(source, name)
        return source
    return load_upload(source, name)


def square(image: Image.Image, size: int = 256) -> Image.Image:
    """Any upload -> an RGB square (centre crop, CLIP's own preprocessing does the same)."""
    return ImageOps.fit(image.convert("RGB"), (size, size), Image.Resampling.BICUBIC)


# -- decoding ----------------------------------------------------------------------------------------------
@dataclass
class Strip:
    """A decoded path through CLIP image-embedding space."""

    images: list[Image.Image]  # one per step, settings in info['parameters']
    embeds: Tensor  # (N, D) the embeddings that were decoded
    fractions: list[float]  # t (interpolation) or theta (text diff) of each step
    angles: list[float]  # degrees from the first step
    seed: int
    warnings: list[str] = field(default_factory=list)  # e.g. a caption CLIP read only the start of
    reconstruction: float | None = None  # text diff from an inversion: mean |frame 0 - picture|, levels of 255


def long_captions(backend: UnCLIP, captions: dict[str, Any]) -> list[str]:
    """A warning per caption (field name -> text; other values skipped) longer than CLIP's context."""
    models = backend.models
    return [too_long(models, name) for name, text in captions.items()
            if isinstance(text, str) and count_tokens(models, text) > models.context_length]  # fmt: skip


def decode_stream(backend: UnCLIP, embeds: Tensor, seed: int = 0, settings: GenerateSettings | None = None,
                  caption: str = "", metadata: Sequence[dict[str, Any]] | None = None, noise: Tensor | None = None
                  ) -> Generator[Progress, None, list[Image.Image]]:  # fmt: skip
    """Decode any CLIP image embeddings (N, D) -> N images, every one from the SAME noise (N generators seeded
    alike, or `noise`: (1, C, h, w) for every row, e.g. a DDIM inversion, or (N, C, h, w), one per row), so the only
    thing that changes along a strip is the embedding (and the given noise). The caption (default: none) is what
    the decoder's token branch reads; with "" the embedding alone drives the picture."""
    s = check_settings(backend, settings)
    seed = as_int("seed", seed, *LIMITS["seed"])
    caption = as_prompt(caption, "caption", allow_empty=True)
    models = backend.models
    n = check_embeddings(embeds, "embeddings", (-1, models.embed_dim)).shape[0]
    if not 1 <= n <= STRIP_STEPS[1]:
        raise InvalidInput(f"embeddings: decode 1 to {STRIP_STEPS[1]} at a time, got {n}")
    gens = [torch.Generator("cpu").manual_seed(seed) for _ in range(n)]  # identical noise for every row
    text = backend.encode_text([caption] * n)
    z = embeds.to(models.device, models.dtype)  # (N, D)
    low = yield from pipeline.decode(models, z, text, backend.empty_text(), s.decoder, gens,
                                     noise=noise)  # (N, 3, 64, 64)  # fmt: skip
    final = (yield from pipeline.upsample(models, low, s.upsampler, gens)) if s.upsampler.enabled else low
    base = {"seed": seed, "model": backend.name, "precision": backend.precision, "caption": caption, **s.to_dict()}
    return to_pil(final, [{**base, **m} for m in (metadata or [{}] * n)])


def endpoint_stream(backend: UnCLIP, end: Endpoint, name: str, use_prior: bool, seed: int,
                    settings: GenerateSettings) -> Generator[Progress, None, Tensor]:  # fmt: skip
    """A caption (through the prior, or its text embedding), an image (CLIP) or an embedding -> (D,)."""
    if isinstance(end, Tensor):
        return check_embeddings(end, f"{name} embedding", (backend.models.embed_dim,)).float().cpu()
    if isinstance(end, Image.Image | Path | bytes):
        picture = as_image(end, name)
        return backend.encode_picture(picture, square(picture))[0].float().cpu()
    text = backend.encode_text([as_prompt(end, name)])
    if not use_prior:
        return text.embeds[0].float().cpu()
    gens = [torch.Generator("cpu").manual_seed(seed)]
    z = yield from pipeline.sample_prior(backend.models, text, backend.empty_text(), settings.prior, gens)
    return z[0].float().cpu()


def as_picture(picture: Any, name: str) -> Image.Image:
    """A picture to invert, read as every tab reads an upload and centre-cropped at its own size (a map point's is
    its 64 px thumbnail); InvalidInput naming the field otherwise."""
    if not isinstance(picture, str | Path | bytes | Image.Image):
        raise InvalidInput(f"{name} must be an image file, its bytes or a PIL image, got {type(picture).__name__}")
    picture = as_image(picture, name)
    return square(picture, min(picture.size))


def invert_picture(backend: UnCLIP, picture: Image.Image, z: Tensor, steps: int) -> Generator[Progress, None, Tensor]:
    """The picture's DDIM inversion x_T (1, C, h, w) under its embedding z (D,) and the empty caption (what the
    explorer decodes with), at the decoder's size."""
    models, side = backend.models, backend.models.low_res_size
    pixels = to_tensor(picture.resize((side, side), Image.Resampling.BICUBIC))
    return (yield from pipeline.invert(models, pixels, z[None].to(models.device, models.dtype),
                                       backend.encode_text([""]), steps))  # fmt: skip


def describe(end: Endpoint) -> str:
    """What an endpoint was, for the PNGs' metadata: a caption itself, else its kind."""
    if isinstance(end, str):  # an endpoint string is a caption (`endpoint_stream`)
        return end
    return "an embedding" if isinstance(end, Tensor) else "an image"


def interpolate_stream(backend: UnCLIP, start: Endpoint, end: Endpoint, steps: int = 8, seed: int = 0,
                       use_prior: bool = True, settings: GenerateSettings | None = None,
                       labels: tuple[str, str] | None = None, noise: str = "seed",
                       pictures: tuple[Source | None, Source | None] | None = None
                       ) -> Generator[Progress, None, Strip]:  # fmt: skip
    """Slerp between two endpoints in `steps` even steps; decode every step with the same noise. Each PNG records
    the ends as `labels` (default: a caption itself, else 'an image' / 'an embedding').

    noise='inversion' (the paper's §3.2, its first option): both ends are pictures (an image, or an embedding with
    its picture in `pictures`), each DDIM-inverted under its own embedding, and frame t decodes with DDIM from
    slerp(x_T(start), x_T(end), t): one path whose ends redraw the two pictures (`Strip.reconstruction`: the mean
    of the two ends' errors). noise='seed' (the second): one seed's noise for every frame."""
    steps, seed = check_strip(steps, seed)
    noise = as_choice("noise", noise, NOISE)
    s = check_settings(backend, settings)
    use_prior = as_bool("use_prior", use_prior)
    ends = None
    if noise == "inversion":
        if pictures is not None and (not isinstance(pictures, tuple | list) or len(pictures) != 2):
            what = type(pictures).__name__
            if isinstance(pictures, tuple | list):
                what = f"{len(pictures)} item{'' if len(pictures) == 1 else 's'}"
            raise InvalidInput("pictures must be a pair (the start's picture, the end's; either may be None), "
                               f"got {what}")
        ends = [end_picture(x, picture, name) for x, picture, name in zip((start, end), pictures or (None, None),
                                                                          ("start", "end"), strict=True)]  # fmt: skip
        s = s.for_inversion()
    a = yield from endpoint_stream(backend, start, "start", use_prior, seed, s)
    b = yield from endpoint_stream(backend, end, "end", use_prior, seed, s)
    t = torch.linspace(0.0, 1.0, steps, dtype=torch.float64)
    path = slerp(a, b, t)  # (steps, D)
    x_t = None
    if ends is not None:
        x_a = yield from invert_picture(backend, ends[0], a, s.decoder.steps)
        x_b = yield from invert_picture(backend, ends[1], b, s.decoder.steps)
        x_t = slerp(x_a.flatten(), x_b.flatten(), t).reshape(steps, *x_a.shape[1:])  # (steps, C, h, w)
    first, last = labels or (describe(start), describe(end))
    meta = [{"tool": "interpolate", "start": first, "end": last, "t": round(x, 4), "use_prior": bool(use_prior),
             "noise": noise} for x in t.tolist()]  # fmt: skip
    images = yield from decode_stream(backend, path, seed, s, metadata=meta, noise=x_t)
    error = None if ends is None else round((level_error(images[0], ends[0]) + level_error(images[-1], ends[1])) / 2, 2)
    return Strip(images, path, [round(x, 4) for x in t.tolist()], angles_deg(path, a), seed,
                 long_captions(backend, {"start": start, "end": end}), error)


def end_picture(end: Endpoint, picture: Source | None, name: str) -> Image.Image:
    """The picture an interpolation end inverts: its own (an image end), or the one given for an embedding end."""
    if picture is not None:
        return as_picture(picture, f"{name} picture")
    if isinstance(end, str):
        raise InvalidInput(f"noise: 'inversion' starts from two pictures, and {name} is a caption: pick image points, "
                           f"or noise='seed'")  # fmt: skip
    if isinstance(end, Tensor):
        raise InvalidInput(f"noise: 'inversion' needs the {name}'s picture (an embedding alone cannot be inverted): "
                           f"pass pictures=, or noise='seed'")  # fmt: skip
    return as_picture(end, name)


def text_diff_stream(backend: UnCLIP, image: Endpoint, from_caption: str, to_caption: str,
                     steps: int = 6, max_theta: float = 0.5, seed: int = 0, settings: GenerateSettings | None = None,
                     label: str | None = None, noise: str = "inversion", picture: Source | None = None
                     ) -> Generator[Progress, None, Strip]:  # fmt: skip
    """Paper §3.3: z_d = normalise(z_t - z_t0); decode slerp(z_i, z_d, theta), theta = 0 .. max_theta. Each PNG
    records the edited picture as `label` (default: 'an image' / 'an embedding', or the file's name).

    noise='inversion' (the paper's Fig. 5): every frame decodes, with DDIM, from the picture's own DDIM inversion
    under z_i, so theta = 0 gives the picture back (`Strip.reconstruction` says how closely) and the edit keeps
    its layout; `picture` is that picture when `image` is its embedding. noise='seed': from the seed's noise."""
    steps, max_theta, seed, src, dst = check_text_diff(steps, max_theta, seed, from_caption, to_caption)
    noise = as_choice("noise", noise, NOISE)
    s = check_settings(backend, settings)
    if image is None:
        raise InvalidInput("image is missing: give the picture to edit")
    if label is None:
        label = Path(image).name if isinstance(image, str | Path) else describe(image)
    if isinstance(image, str | Path | bytes):  # a file here, not a caption: text diffs edit an image
        image = as_image(image, "image")
    if noise == "seed":
        picture = None
    elif picture is None:
        if isinstance(image, Tensor):
            raise InvalidInput(NEEDS_PICTURE)
        picture = as_picture(image, "image")
    else:
        picture = as_picture(picture, "picture")
    if picture is not None:
        s = s.for_inversion()
    z_i = yield from endpoint_stream(backend, image, "image", False, seed, s)
    texts = backend.encode_text([src, dst]).embeds.float().cpu()  # (2, D)
    z_d = text_diff_direction(texts[0], texts[1])
    path, thetas = text_diff_path(z_i, z_d, steps, max_theta)  # (steps, D)
    x_t = None if picture is None else (yield from invert_picture(backend, picture, z_i, s.decoder.steps))
    meta = [{"tool": "text_diff", "image": label, "from": src, "to": dst, "theta": th, "noise": noise}
            for th in thetas]  # fmt: skip
    images = yield from decode_stream(backend, path, seed, s, metadata=meta, noise=x_t)
    return Strip(images, path, thetas, angles_deg(path, z_i), seed,
                 long_captions(backend, {"from caption": src, "to caption": dst}),
                 None if picture is None else level_error(images[0], picture))


def level_error(image: Image.Image, reference: Image.Image) -> float:
    """Mean absolute difference in levels of 255, at the smaller of the two sizes (both square): a 256 px frame
    against a point's 64 px picture is compared at 64 px, not against the picture blown up."""
    side = min(image.size[0], reference.size[0])
    a, b = (np.asarray(im.convert("RGB").resize((side, side), Image.Resampling.BICUBIC), np.float32)
            for im in (image, reference))  # fmt: skip
    return round(float(np.abs(a - b).mean()), 2)


def with_decoder(settings: GenerateSettings, steps: Any = None, guidance: Any = None,
                 upsampler: Any = None) -> GenerateSettings:  # fmt: skip
    """Settings with the explorer's few overrides (unchecked: `check_settings` validates them)."""
    d, u = settings.decoder, settings.upsampler
    d = replace(d, steps=d.steps if steps is None else steps, guidance=d.guidance if guidance is None else guidance)
    return replace(settings, decoder=d, upsampler=replace(u, enabled=u.enabled if upsampler is None else upsampler))
