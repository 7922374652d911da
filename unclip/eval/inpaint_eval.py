"""Does inpainting do what it is told? Replace a scene's only object with another one, ask the judge.

Trial k: an emoji-world scene with exactly one object (searched from `seed`), rendered at the model's output
size; the object's box, grown by `margin` of its size on each side, is the mask; the prompt names a different
emoji visible on that background ("a dog on the beach"); the judge (trained only on renders) says whether the
new object is there (presence > 0.5) and whether the old one is gone. The issue's bar: the new object in
>= 70% of trials. Run it with `python benchmarks/bench_edit.py --inpaint-eval N`.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

import numpy as np
from PIL import Image

from unclip.edit_methods import with_upsampler
from unclip.eval.judge import Judge, judge_images
from unclip.images import to_tensor
from unclip.sampling import drain
from unclip.world import EmojiWorld, Scene
from unclip.world.captions import article, where_phrase
from unclip.world.layout import Draw

TARGET = 0.7  # the bar for the success rate


def one_object_scenes(world: EmojiWorld, n: int, seed: int) -> list[Scene]:
    """The first n scenes with exactly one object, from seeds seed, seed + 1, ... (deterministic)."""
    scenes, s = [], seed
    while len(scenes) < n:
        scene = world.sample(s)
        if len(scene.objects) == 1:
            scenes.append(scene)
        s += 1
    return scenes


def replacement(world: EmojiWorld, scene: Scene, rng: np.random.Generator) -> tuple[str, str]:
    """A different emoji that shows on this background, and a prompt naming it: ('dog', 'a dog on the beach')."""
    old = scene.objects[0].label
    labels = [s.label for s in world.specs if not s.is_shape and s.label != old
              and scene.background in world.backgrounds_for(s.label)]  # fmt: skip
    label = labels[int(rng.integers(len(labels)))]
    phrase = world.spec(label).phrases[0][0]
    return label, f"{article(phrase)} {phrase} {where_phrase(Draw(rng), scene.background)}"


def box_mask(box: tuple[float, float, float, float], side: int, margin: float = 0.15) -> Image.Image:
    """L mask (255 = repaint): the normalised box grown by `margin` of its width/height on each side (+1 px)."""
    x0, y0, x1, y1 = box
    dx, dy = (x1 - x0) * margin, (y1 - y0) * margin
    px = [int(np.floor((x0 - dx) * side)) - 1, int(np.floor((y0 - dy) * side)) - 1,
          int(np.ceil((x1 + dx) * side)) + 1, int(np.ceil((y1 + dy) * side)) + 1]  # fmt: skip
    mask = Image.new("L", (side, side), 0)
    mask.paste(255, (max(px[0], 0), max(px[1], 0), min(px[2], side), min(px[3], side)))
    return mask


def trial(backend: Any, judge: Judge, world: EmojiWorld, scene: Scene, seed: int, settings: Any,
          feather: int) -> dict[str, Any]:  # fmt: skip
    """One replacement, judged: presence of the new and the old label before and after."""
    rng = np.random.default_rng(seed)
    label, prompt = replacement(world, scene, rng)
    side = backend.output_side(settings)
    image = Image.fromarray(world.render(scene, side))
    edit = drain(backend.inpaint_stream(image, box_mask(scene.objects[0].box, side), prompt, 1, seed, feather,
                                        False, "prompt", settings))  # fmt: skip
    before, after = (judge_images(judge, to_tensor(im))["presence"][0] for im in (image, edit.images[0]))
    new, old = world.labels.index(label), world.labels.index(scene.objects[0].label)
    return {"seed": seed, "caption": scene.caption, "removed": scene.objects[0].label, "added": label,
            "prompt": prompt, "p_added_before": round(float(before[new]), 3), "p_added": round(float(after[new]), 3),
            "p_removed_before": round(float(before[old]), 3), "p_removed": round(float(after[old]), 3),
            "success": bool(after[new] > 0.5), "gone": bool(after[old] <= 0.5)}  # fmt: skip


def inpaint_eval(backend: Any, judge: Judge, n: int = 20, seed: int = 0, upsample: bool = False, feather: int = 2,
                 world: EmojiWorld | None = None) -> dict[str, Any]:  # fmt: skip
    """n trials at the model's default settings (upsampler off by default: the judge looks at 64 px)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:  # else rates of nothing: NaN in the JSON
        raise ValueError(f"n must be a whole number of trials, at least 1, got {n!r}")
    world = world or EmojiWorld()
    settings = with_upsampler(backend.default_settings("prior"), upsample)
    start = time.perf_counter()
    trials = [trial(backend, judge, world, scene, seed + k, settings, feather)
              for k, scene in enumerate(one_object_scenes(world, n, seed))]  # fmt: skip
    rate = float(np.mean([t["success"] for t in trials]))
    return {"model": backend.name, "n": n, "success_rate": round(rate, 4), "target": TARGET, "passed": rate >= TARGET,
            "removed_rate": round(float(np.mean([t["gone"] for t in trials])), 4),
            "added_before_rate": round(float(np.mean([t["p_added_before"] > 0.5 for t in trials])), 4),
            "seconds": round(time.perf_counter() - start, 1), "settings": asdict(settings), "trials": trials}
