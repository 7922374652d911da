"""Model families: each turns a name or a directory into the same `UnCLIPModels` container.

    tiny-random    the bundled architecture with random weights (tests, CI)
    tiny-emoji     the bundled model in models/tiny-emoji/ (falls back to tiny-random, and says so, if missing)
    karlo          kakaobrain/karlo-v1-alpha (+ the image encoder of karlo-v1-alpha-image-variations)
    kandinsky-2.2  kandinsky-community/kandinsky-2-2-prior, -decoder and -decoder-inpaint
    DIR            a directory: a tiny model you trained (unclip_config.json), or karlo / kandinsky-2.2
                   in the hub's layout (model_index.json)

Hub models come from the Hugging Face cache, or fail within a second when absent and unreachable (hub.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from unclip.families import tiny
from unclip.families.hub import ModelUnavailable
from unclip.models import UnCLIPModels

REPO_ROOT = Path(__file__).resolve().parents[2]
BUNDLED = REPO_ROOT / "models" / "tiny-emoji"
NAMES = ("tiny-emoji", "tiny-random", "karlo", "kandinsky-2.2")
HUB_FAMILIES = ("karlo", "kandinsky-2.2")


def is_hub(name_or_path: str) -> bool:
    """A hub family by name, or a directory in one of their layouts (these load in fp16 on CUDA)."""
    from unclip.families import kandinsky, karlo

    if name_or_path in HUB_FAMILIES:
        return True
    path = Path(name_or_path).expanduser()
    return path.is_dir() and (karlo.is_karlo_dir(path) or kandinsky.is_kandinsky_dir(path))


def load_models(name_or_path: str, dtype: torch.dtype = torch.float32) -> UnCLIPModels:
    """Resolve a model name or directory; raises ValueError (ModelUnavailable for absent hub models) naming
    what is allowed or how to get it. Hub families load in `dtype`; tiny ones in float32 (cast later)."""
    from unclip.families import kandinsky, karlo

    if not name_or_path.strip():  # Path("") is the current folder
        raise ValueError(f"model is empty: give one of {', '.join(NAMES)} or a model directory")
    if name_or_path == "tiny-random":
        return tiny.build_random()
    if name_or_path == "tiny-emoji":
        if tiny.is_tiny_dir(BUNDLED):
            return tiny.load(BUNDLED, name="tiny-emoji")
        return tiny.build_random(notice=f"The bundled tiny-emoji weights were not found in {BUNDLED}: "
                                        "running tiny-random (random weights, images are noise).")
    if name_or_path in HUB_FAMILIES:
        try:
            return (karlo if name_or_path == "karlo" else kandinsky).load(None, dtype)
        except ModelUnavailable as e:  # the name means the hub's; a folder of that name here is not looked at
            if Path(name_or_path).is_dir():
                raise ModelUnavailable(f"{e} (a folder ./{name_or_path} is here: to load it, pass it as a path, "
                                       f"--model ./{name_or_path})") from None
            raise
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        if tiny.is_tiny_dir(path):
            return tiny.load(path)
        if karlo.is_karlo_dir(path):
            return karlo.load(path, dtype)
        if kandinsky.is_kandinsky_dir(path):
            return kandinsky.load(path, dtype)
        raise ValueError(f"model directory {path} is not a known family: expected {tiny.CONFIG_FILE} (tiny), or a "
                         "model_index.json of karlo (UnCLIPPipeline) or kandinsky-2.2 (kandinsky-2-2-prior/...)")
    raise ValueError(f"model must be one of {', '.join(NAMES)} or a model directory, got {name_or_path!r}")


def load_error(e: ValueError | OSError, model: str) -> str:
    """The line app.py and the CLI print when `model` would not load: a ValueError names what is allowed (or how
    to get a hub model), and where the name came from when env UNCLIP_MODEL gave it; an OSError is a model dir
    with a missing or damaged file."""
    if isinstance(e, OSError):
        return f"--model {model}: cannot load it: {e}"
    return f"{e} (from env UNCLIP_MODEL)" if os.environ.get("UNCLIP_MODEL") == model else str(e)


__all__ = ["HUB_FAMILIES", "NAMES", "ModelUnavailable", "is_hub", "load_error", "load_models"]
