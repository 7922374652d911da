"""Latency of the image tools at default settings, printed as figures (never asserted: machines here are noisy).

    python benchmarks/bench_edit.py [--model tiny-emoji] [--runs 5] [--threads 2]
    python benchmarks/bench_edit.py --inpaint-eval 50 [--json]   # the object-replacement success rate

Prints the median (min/max) latency of vary(n=4) (from noise, and the paper's way with eta 0.5), inpaint(n=1) and
zoom_out(n=1, factor 2) on the current device, per stage, on a 256 px emoji-world scene. `--inpaint-eval N`
instead runs unclip/eval/inpaint_eval.py: N scenes whose only object is inpainted away with a prompt naming another
one, scored by the judge.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROMPT = "a dog on the beach"


def timed(make: Callable[[int], Generator[Any, None, Any]], runs: int) -> dict[str, Any]:
    """Median total and per-stage seconds over `runs` runs (seeds 0..runs-1), after one warm-up run."""
    for _ in make(0):
        pass
    totals, stages = [], collections.defaultdict(list)
    for r in range(runs):
        per_stage, start = collections.defaultdict(float), time.perf_counter()
        last = start
        for progress in make(r):
            now = time.perf_counter()
            per_stage[progress.stage] += now - last
            last = now
        totals.append(time.perf_counter() - start)
        for k, v in per_stage.items():
            stages[k].append(v)
    return {"totals": totals, "stages": {k: statistics.median(v) for k, v in stages.items()}}


def scene_and_mask(side: int = 256) -> tuple[Any, Any]:
    """A one-object scene and its object's (grown) box as the mask."""
    from PIL import Image

    from unclip.eval.inpaint_eval import box_mask, one_object_scenes
    from unclip.world import EmojiWorld

    world = EmojiWorld()
    scene = one_object_scenes(world, 1, seed=0)[0]
    return Image.fromarray(world.render(scene, side)), box_mask(scene.objects[0].box, side)


def latency(model: str, runs: int) -> None:
    from unclip import load_backend

    backend = load_backend(model)
    image, mask = scene_and_mask()
    ops = {
        "vary(n=4)": lambda r: backend.vary_stream(image, 4, r),
        "vary(n=4, eta=0.5)": lambda r: backend.vary_stream(image, 4, r, eta=0.5),  # + the inversion
        "inpaint(n=1)": lambda r: backend.inpaint_stream(image, mask, PROMPT, 1, r),
        "zoom_out(n=1, x2)": lambda r: backend.zoom_out_stream(image, 2.0, "center", "", 1, r),
    }
    import torch

    print(f"model {backend.name} on {backend.models.device} ({torch.get_num_threads()} threads), "
          f"settings {backend.default_settings().to_dict()}")  # fmt: skip
    for name, make in ops.items():
        t = timed(make, runs)
        med = statistics.median(t["totals"])
        stages = ", ".join(f"{k} {v:.2f} s" for k, v in t["stages"].items())
        print(f"{name:<18} median {med:.2f} s  (min {min(t['totals']):.2f}, max {max(t['totals']):.2f}, "
              f"{runs} runs; {stages})")  # fmt: skip


def inpaint_success(model: str, n: int, as_json: bool) -> None:
    from unclip import load_backend
    from unclip.eval.inpaint_eval import inpaint_eval
    from unclip.eval.judge import load_judge, new_judge
    from unclip.world import EmojiWorld

    backend, world = load_backend(model), EmojiWorld()
    judge = load_judge()
    if judge is None:
        print("note: no trained judge in models/judge-emoji (`python -m unclip eval` trains one); using an "
              "UNTRAINED judge, so the rate below means nothing", file=sys.stderr)  # fmt: skip
        judge = new_judge(world).eval()
    report = inpaint_eval(backend, judge, n=n, world=world)
    if as_json:
        print(json.dumps(report, indent=2))
        return
    for t in report["trials"]:
        print(f"{'ok ' if t['success'] else 'no '} {t['removed']:>12} -> {t['added']:<12} p={t['p_added']:.2f} "
              f"(before {t['p_added_before']:.2f})  '{t['prompt']}'")  # fmt: skip
    print(f"inpaint object replacement: {report['success_rate']:.0%} of {n} trials "
          f"(target >= {report['target']:.0%}: {'PASS' if report['passed'] else 'FAIL'}); old object gone in "
          f"{report['removed_rate']:.0%}; model {report['model']}, {report['seconds']} s")  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=os.environ.get("UNCLIP_MODEL", "tiny-emoji"))
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--inpaint-eval", type=int, default=0, metavar="N", help="run the replacement eval on N scenes")
    p.add_argument("--json", action="store_true", help="with --inpaint-eval: the full report as JSON")
    ns = p.parse_args()
    if ns.inpaint_eval < 0:
        p.error(f"--inpaint-eval must be a number of scenes, at least 1 (0: the latency benchmark), got "
                f"{ns.inpaint_eval}")
    import torch

    if ns.threads:
        torch.set_num_threads(ns.threads)
    if ns.inpaint_eval:
        inpaint_success(ns.model, ns.inpaint_eval, ns.json)
    else:
        latency(ns.model, ns.runs)


if __name__ == "__main__":
    main()
