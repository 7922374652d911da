"""Regenerate docs/lesson.png: what `train all --preset lesson` gets to, as its own sample grids show it, with the
bundled decoder's strip beneath for comparison.

    python -m unclip train all --preset lesson --out models/class-emoji --run-dir runs/class-emoji   # ~35 min
    python docs/make_lesson_figure.py --model models/class-emoji [--out docs/lesson.png]

Rows: CLIP's and the prior's retrieval grids and the decoder's strip (`unclip/train/previews.py`), made from the
model's final weights; then the bundled model's decoder strip. Step counts and R@1 are read from the model, not
written in.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from unclip import load_backend  # noqa: E402
from unclip.train import previews  # noqa: E402
from unclip.world import EmojiWorld  # noqa: E402


def labelled(rows: list[tuple[str, Image.Image]], scale: int = 2, label: int = 24, gap: int = 10) -> Image.Image:
    """Each image scaled up (nearest) under its one-line label, stacked."""
    font = ImageFont.load_default(size=15)
    width = max(im.width for _, im in rows) * scale + 20
    out = Image.new("RGB", (width, sum(im.height * scale + label + gap for _, im in rows) + gap), "white")
    draw, y = ImageDraw.Draw(out), gap
    for text, im in rows:
        draw.text((10, y), text, fill="#222222", font=font)
        out.paste(im.resize((im.width * scale, im.height * scale), Image.NEAREST), (10, y + label))
        y += label + im.height * scale + gap
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="the lesson run's --out")
    p.add_argument("--out", default=str(ROOT / "docs" / "lesson.png"))
    ns = p.parse_args()
    world = EmojiWorld()
    config = Path(ns.model) / "unclip_config.json"
    if not config.is_file():
        sys.exit(f"error: {ns.model} is not a model dir (it has no unclip_config.json)")
    records = json.loads(config.read_text()).get("training", {})
    steps = {stage: (records.get(stage) or {}).get("steps") for stage in ("clip", "prior", "decoder")}
    if None in steps.values():
        missing = ", ".join(stage for stage, n in steps.items() if n is None)
        sys.exit(f"error: {ns.model} has no trained {missing}: run `train all --preset lesson --out {ns.model}` first")
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp)
        lesson = load_backend(ns.model, precision="fp32").models
        clip = previews.clip_preview(lesson, world)(run, 0)
        prior = previews.prior_preview(lesson, world)(run, 0)
        previews.decoder_preview(lesson, world)(run, 0)
        (run / "bundled").mkdir()
        previews.decoder_preview(load_backend("tiny-emoji", precision="fp32").models, world)(run / "bundled", 0)
        rows = [
            (f"CLIP, {steps['clip']:,} steps: six unseen scenes, then the scene each caption retrieves among "
             f"{previews.POOL} (R@1 {clip['r1']:.2f})", Image.open(run / "clip_000000.png")),
            (f"prior, {steps['prior']:,} steps: the scene nearest each caption's prior sample "
             f"(R@1 {prior['r1']:.2f})", Image.open(run / "prior_000000.png")),
            (f"decoder, {steps['decoder']:,} steps: six fixed captions, from their CLIP text embeddings, seed 0",
             Image.open(run / "decoder_000000.png")),
            ("the bundled decoder, same captions (its training: models/tiny-emoji/README.md)",
             Image.open(run / "bundled" / "decoder_000000.png")),
        ]
        labelled(rows).save(ns.out, optimize=True)
    print(f"wrote {ns.out}")


if __name__ == "__main__":
    main()
