"""Whole-model recipes: `python -m unclip train all --preset cpu|lesson|gpu` runs the four stages in order.

    cpu     the tiny-emoji recipe in one go on 2 shared CPU cores (the stage time limits add up to about 5.2
            hours), decoder to 7,000 steps. The shipped weights were trained in legs and the decoder continued to
            far more steps: see the model card for what ran.
    lesson  a whole model within a class period on a laptop: every stage from scratch, measured at 35 minutes on
            2 CPU cores (2026-12-06), each stage capped by a time limit (50 min in all) so a slower machine still
            finishes, on all of torch's threads, with a sample grid every 100 steps to watch each stage learn.
            What it gets to is in the model card ("A model in a lesson").
    gpu     the intended recipe for one H100/H200 (bf16 autocast), sized for under an hour from step times
            measured on an H200 (`benchmarks/bench_train.py --preset gpu`, 2026-12-04: s/step clip 0.090, prior
            0.110, decoder 0.115 (0.135 in a real leg), upsampler 0.094; projected 46 min, stage time limits 55 min
            in all). Its decoder legs have run (they are in the shipped weights); the whole recipe has not yet.
            Rebalanced from the first guess (12k/20k/20k/8k steps, 105.5 min at those step times): the decoder
            needs the time most; clip, prior and upsampler still see 12-29x the images their CPU runs saw.
"""

from __future__ import annotations

from typing import Any

ORDER = ("clip", "prior", "decoder", "upsampler")

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "cpu": {  # the shipped weights' recipe, decoder shortened (they ran in legs; see models/tiny-emoji/README.md)
        "clip": {"steps": 1400, "batch": 96, "lr": 5e-4, "warmup": 200, "time_limit": 2400, "threads": 1},
        "prior": {"steps": 800, "batch": 128, "lr": 3e-4, "warmup": 200, "time_limit": 2400, "threads": 1},
        "decoder": {"steps": 7000, "batch": 16, "lr": 6e-4, "warmup": 100, "time_limit": 12600, "threads": 2,
                    "high_noise": 0.2, "weighting": "v"},
        "upsampler": {"steps": 1500, "batch": 12, "lr": 5e-4, "warmup": 50, "time_limit": 1260, "threads": 1},
    },
    "lesson": {
        "clip": {"steps": 500, "batch": 96, "lr": 5e-4, "warmup": 100, "time_limit": 600, "preview_every": 100},
        "prior": {"steps": 300, "batch": 128, "lr": 3e-4, "warmup": 60, "time_limit": 600, "preview_every": 100},
        "decoder": {"steps": 1000, "batch": 16, "lr": 6e-4, "warmup": 100, "time_limit": 1560, "high_noise": 0.2,
                    "weighting": "v", "preview_every": 100},
        "upsampler": {"steps": 300, "batch": 12, "lr": 5e-4, "warmup": 30, "time_limit": 240, "preview_every": 100},
    },
    "gpu": {
        "clip": {"steps": 7500, "batch": 512, "lr": 1e-3, "warmup": 500, "time_limit": 800},
        "prior": {"steps": 3500, "batch": 512, "lr": 5e-4, "warmup": 300, "time_limit": 450},
        "decoder": {"steps": 12000, "batch": 128, "lr": 3e-4, "warmup": 500, "time_limit": 1650, "high_noise": 0.2,
                    "weighting": "v"},
        "upsampler": {"steps": 3500, "batch": 64, "lr": 3e-4, "warmup": 300, "time_limit": 400},
    },
}
