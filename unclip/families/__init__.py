"""Model families: each turns a name or a directory into the same `UnCLIPModels` container.

    tiny-random   the bundled architecture with random weights (tests, CI)
    tiny-emoji    the bundled model in models/tiny-emoji/ (falls back to tiny-random, and says so, if missing)
    DIR           a directory saved by `unclip.families.tiny.save` (a model you trained)
"""

from __future__ import annotations

from pathlib import Path

from unclip.families import tiny
from unclip.models import UnCLIPModels

REPO_ROOT = Path(__file__).resolve().parents[2]
BUNDLED = REPO_ROOT / "models" / "tiny-emoji"
NAMES = ("tiny-emoji", "tiny-random")


def load_models(name_or_path: str) -> UnCLIPModels:
    """Resolve a model name or directory; raises ValueError naming what is allowed."""
    if name_or_path == "tiny-random":
        return tiny.build_random()
    if name_or_path == "tiny-emoji":
        if tiny.is_tiny_dir(BUNDLED):
            return tiny.load(BUNDLED, name="tiny-emoji")
        return tiny.build_random(notice=f"The bundled tiny-emoji weights were not found in {BUNDLED}: "
                                        "running tiny-random (random weights, images are noise).")
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        if tiny.is_tiny_dir(path):
            return tiny.load(path)
        raise ValueError(f"model directory {path} has no {tiny.CONFIG_FILE} of a known family")
    raise ValueError(f"model must be one of {', '.join(NAMES)} or a model directory, got {name_or_path!r}")
