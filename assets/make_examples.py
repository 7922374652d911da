"""Write the image tabs' example pictures (emoji-world renders, 256 px) into assets/examples/.

    python assets/make_examples.py

Deterministic: the same seeds always give the same files. The RGBA one has its object cut out (transparent),
DALL·E's way of marking the region to repaint; the *-mask PNGs are white over one object.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from unclip.eval.inpaint_eval import box_mask  # noqa: E402
from unclip.world import EmojiWorld  # noqa: E402

OUT = ROOT / "assets" / "examples"
SCENES = {"beach-hot-dog": 1, "underwater-tiger": 5, "snow-cat": 13, "grass-sailboat": 17, "yellow-pig": 20}


def main() -> None:
    world = EmojiWorld()
    OUT.mkdir(parents=True, exist_ok=True)
    for name, seed in SCENES.items():
        scene = world.sample(seed)
        image = Image.fromarray(world.render(scene, 256))
        image.save(OUT / f"{name}.png", optimize=True)
        print(OUT / f"{name}.png", scene.caption)
    hot_dog = world.sample(SCENES["beach-hot-dog"])
    rgba = Image.open(OUT / "beach-hot-dog.png").convert("RGBA")
    alpha = np.asarray(rgba.getchannel("A")).copy()
    alpha[np.asarray(box_mask(hot_dog.objects[0].box, 256)) > 0] = 0  # transparent = repaint
    rgba.putalpha(Image.fromarray(alpha))
    rgba.save(OUT / "beach-hot-dog-cut-out.png", optimize=True)
    pig = world.sample(SCENES["yellow-pig"])
    hexagon = next(o for o in pig.objects if o.label == "hexagon")
    box_mask(hexagon.box, 256).save(OUT / "yellow-pig-mask.png", optimize=True)
    cat = next(o for o in world.sample(SCENES["snow-cat"]).objects if o.label == "cat")
    box_mask(cat.box, 256).save(OUT / "snow-cat-mask.png", optimize=True)


if __name__ == "__main__":
    main()
