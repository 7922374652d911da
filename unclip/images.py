"""The one place images change representation: PIL / uint8 arrays <-> (B, 3, H, W) tensors in [-1, 1]."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, PngImagePlugin
from torch import Tensor

from unclip.settings import LIMITS, GenerateSettings, InvalidInput, as_int, as_prompt

METADATA_KEY = "parameters"  # the PNG text chunk A1111 and others read


def to_tensor(images: list[Image.Image] | Image.Image | np.ndarray) -> Tensor:
    """PIL images (same size) or uint8 (B, H, W, 3) -> (B, 3, H, W) float32 in [-1, 1]."""
    if isinstance(images, Image.Image):
        images = [images]
    if isinstance(images, list):
        images = np.stack([np.asarray(im.convert("RGB")) for im in images])  # (B, H, W, 3) uint8
    if images.ndim == 3:
        images = images[None]
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def to_uint8(images: Tensor) -> np.ndarray:
    """(B, 3, H, W) in [-1, 1] -> uint8 (B, H, W, 3), rounded (not truncated)."""
    x = ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).cpu().numpy()


def to_pil(images: Tensor, metadata: list[dict[str, Any]] | None = None) -> list[Image.Image]:
    """(B, 3, H, W) in [-1, 1] -> PIL images, each with its settings in `info['parameters']` (JSON)."""
    out = [Image.fromarray(a) for a in to_uint8(images)]
    for im, meta in zip(out, metadata or [], strict=False):
        im.info[METADATA_KEY] = json.dumps(meta, sort_keys=True)
    return out


def save_png(image: Image.Image, path: str | Path) -> Path:
    """Save as PNG keeping `info['parameters']` as a text chunk (webp/jpeg would drop it)."""
    info = PngImagePlugin.PngInfo()
    if METADATA_KEY in image.info:
        info.add_text(METADATA_KEY, image.info[METADATA_KEY])
    image.save(path, format="PNG", pnginfo=info)
    return Path(path)


def unused_path(path: str | Path) -> Path:
    """`path`, or where a file is there already, the first free `stem-1.ext`, `stem-2.ext`, ...: the CLI never
    overwrites an earlier result, nor its own input (`zoom-out OUT/zoom-out_00000000.png --out OUT`)."""
    path = Path(path)
    k = 0
    while (candidate := path if k == 0 else path.with_name(f"{path.stem}-{k}{path.suffix}")).exists():
        k += 1
    return candidate


def batch_record(seeds: list[int], index: int) -> dict[str, int]:
    """Which batch an image came from: {"size", "index", "first_seed"}. The seed alone gives the same image up to
    rounding, but in bf16 the rounding of another batch size can grow over the sampling steps into a visibly
    different image; the same command (generate, vary, inpaint, zoom-out) with `-n SIZE --seed FIRST_SEED` (image
    INDEX, from 0) gives the very pixels."""
    return {"size": len(seeds), "index": index, "first_seed": int(seeds[0])}


def read_metadata(source: str | Path | Image.Image) -> dict[str, Any]:
    """The settings a PNG file, or an image made here (`to_pil`), carries; {} when it has none."""
    if isinstance(source, Image.Image):
        text = source.info.get(METADATA_KEY)
    else:
        with Image.open(source) as im:
            text = im.info.get(METADATA_KEY) or getattr(im, "text", {}).get(METADATA_KEY)
    return json.loads(text) if text else {}


@dataclass(frozen=True)
class Recipe:
    """What a Generate (or Compare) PNG says made it: `generate(prompt, n, seed, settings=settings)` remakes its
    whole batch, image `index` among them, at the same model and precision (`batch_record`)."""

    prompt: str
    n: int
    seed: int
    index: int
    settings: GenerateSettings  # as recorded: `UnCLIP.validate` checks it against the model that remakes it
    model: str
    precision: str


TOOLS = {"vary": "Variations", "inpaint": "Inpaint", "zoom_out": "Zoom out"}  # an edit's "operation" -> its tab


def read_recipe(source: str | Path, name: str = "PNG") -> Recipe:
    """A PNG made here -> its Recipe; InvalidInput naming `name` for a file that is no image, carries no settings,
    or was made by another tool (an edit, an explorer strip)."""
    try:
        meta = read_metadata(source)
    except FileNotFoundError:
        raise InvalidInput(f"{name}: file not found: {Path(source).name}") from None
    except json.JSONDecodeError:  # a "parameters" chunk, not ours
        meta = None
    except (OSError, ValueError, Image.DecompressionBombError):
        raise InvalidInput(f"{name} is not an image: drop a PNG that unCLIP Studio saved") from None
    made_by = isinstance(meta, dict) and (meta.get("operation") or meta.get("tool"))
    if made_by:
        where = TOOLS.get(made_by, "the embedding explorer")
        raise InvalidInput(f"{name} was made by {where} ({made_by}), not Generate: its settings are for that tool")
    if not isinstance(meta, dict) or not {"prompt", "seed", "prior", "decoder", "upsampler"} <= meta.keys():
        raise InvalidInput(f"{name} carries no Generate settings: drop a PNG that unCLIP Studio's Generate saved "
                           "(other programs' PNGs, and images saved with PIL's save, have none)")
    batch = meta.get("batch") if isinstance(meta.get("batch"), dict) else {}
    try:
        settings = GenerateSettings.from_dict(meta)
    except (KeyError, TypeError):
        raise InvalidInput(f"{name}: its settings are incomplete (a stage's steps, guidance or scheduler is "
                           "missing)") from None
    seed_, n_ = batch.get("first_seed", meta["seed"]), batch.get("size", 1)  # the batch: the very pixels
    n = as_int(f"{name}'s batch size", n_, *LIMITS["n"])
    return Recipe(prompt=as_prompt(meta["prompt"], f"{name}'s prompt"), n=n,
                  seed=as_int(f"{name}'s seed", seed_, *LIMITS["seed"]),
                  index=as_int(f"{name}'s batch index", batch.get("index", 0), 0, n - 1),  # within its batch
                  settings=settings, model=str(meta.get("model", "")), precision=str(meta.get("precision", "")))


def grid(images: list[Image.Image], cols: int, pad: int = 2) -> Image.Image:
    """Images of one size in a grid with a white gutter."""
    w, h = images[0].size
    rows = (len(images) + cols - 1) // cols
    out = Image.new("RGB", (cols * (w + pad) + pad, rows * (h + pad) + pad), "white")
    for k, im in enumerate(images):
        out.paste(im.convert("RGB"), (pad + (k % cols) * (w + pad), pad + (k // cols) * (h + pad)))
    return out
