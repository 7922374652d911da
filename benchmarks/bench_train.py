"""How long does a training recipe take on this machine? Times a few steps of every stage with a preset's numbers
and projects the preset's whole run.

    python benchmarks/bench_train.py [--preset cpu|lesson|gpu] [--steps 20] [--warm 5] [--stages decoder,upsampler]
                                     [--model models/tiny-emoji] [--workers -1] [--json]

Each stage runs `--warm` untimed steps and then `--steps` timed ones through the trainers' own loop
(`unclip.train.train`, so data rendering, CLIP encoding, EMA and the optimiser are all in the time) on a scratch
copy of the model dir, with the preset's batch size, threads and options. It prints the median seconds per step,
images per second, and the preset's step count times that: the projected minutes. One-off set-up (loading,
the prior's embedding statistics, checkpoints) is not in the projection. The issue's target for `--preset gpu`
is the whole training in at most 60 minutes on one H100.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def time_stage(stage: str, numbers: dict, model: Path, scratch: Path, steps: int, warm: int, workers: int) -> dict:
    from unclip.train import train
    from unclip.train.common import TrainArgs

    out = scratch / "model"
    if not out.exists() and model.exists():
        shutil.copytree(model, out)
    args = TrainArgs(**{**numbers, "stage": stage, "out": str(out), "run_dir": str(scratch / "run"),
                        "steps": warm + steps, "log_every": 1, "save_every": 10**9, "preview_every": 0,
                        "resume": False, "time_limit": 0.0, "workers": workers})
    log = train(args)["log"]  # [step, loss, cumulative seconds to the ms] per step
    per_step = [b[2] - a[2] for a, b in zip(log[warm:], log[warm + 1:], strict=False)]
    s = statistics.median(per_step)
    return {"stage": stage, "batch": numbers["batch"], "s_per_step": round(s, 4),
            "images_per_s": round(numbers["batch"] / s, 1), "preset_steps": numbers["steps"],
            "projected_min": round(numbers["steps"] * s / 60, 1)}


def main(argv: list[str] | None = None) -> int:
    from unclip.train.presets import ORDER, PRESETS

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="gpu", choices=list(PRESETS))
    p.add_argument("--steps", type=int, default=20, help="timed steps per stage")
    p.add_argument("--warm", type=int, default=5, help="untimed steps first (allocator, kernels, workers)")
    p.add_argument("--stages", default="clip,prior,decoder,upsampler")
    p.add_argument("--model", default=str(ROOT / "models" / "tiny-emoji"), help="copied; never written")
    p.add_argument("--workers", type=int, default=-1, help="data processes (-1: auto, 0 on CPU)")
    p.add_argument("--json", action="store_true")
    ns = p.parse_args(argv)
    if ns.steps < 2 or ns.warm < 0:
        p.error("--steps must be at least 2 and --warm at least 0")

    import torch

    stages = [s for s in ns.stages.split(",") if s]
    unknown = [s for s in stages if s not in ORDER]
    if unknown:
        p.error(f"--stages: unknown {', '.join(unknown)}; choose from {', '.join(ORDER)}")
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU ({os.cpu_count()} cores)"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for stage in stages:
            rows.append(time_stage(stage, PRESETS[ns.preset][stage], Path(ns.model), Path(tmp), ns.steps, ns.warm,
                                   ns.workers))
    total = round(sum(r["projected_min"] for r in rows), 1)
    if ns.json:
        print(json.dumps({"preset": ns.preset, "device": device, "rows": rows, "projected_total_min": total}))
        return 0
    print(f"preset {ns.preset} on {device}; median of {ns.steps} steps after {ns.warm} warm-up steps")
    print(f"{'stage':10} {'batch':>6} {'s/step':>8} {'images/s':>9} {'steps':>7} {'projected min':>14}")
    for r in rows:
        print(f"{r['stage']:10} {r['batch']:>6} {r['s_per_step']:>8.3f} {r['images_per_s']:>9.1f} "
              f"{r['preset_steps']:>7} {r['projected_min']:>14.1f}")
    print(f"projected total for {', '.join(stages)}: {total} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
