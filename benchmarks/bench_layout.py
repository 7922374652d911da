"""Channels-last (NHWC) against the default NCHW layout for the convolutional networks, in one process.

    python benchmarks/bench_layout.py [--model tiny-emoji] [--rounds 4] [--threads 2]

`load_backend` puts the decoder and upsampler (and Kandinsky's MoVQ) in channels-last on CPU
(`UnCLIPModels.channels_last`). This script times generate(n=4) at the default settings with the two layouts
interleaved, round after round (two timed runs each, after an untimed one), so a host whose speed drifts affects both
alike; it prints each layout's median and runs, and the largest pixel difference between the layouts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from unclip import load_backend  # noqa: E402
from unclip.sampling import drain  # noqa: E402

PROMPT = "a red apple left of a cat"
LAYOUTS = {"channels_last": True, "contiguous": False}  # UnCLIPModels.channels_last(on)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="tiny-emoji")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ns = p.parse_args()
    if ns.threads:
        torch.set_num_threads(ns.threads)
    backend = load_backend(ns.model, device="cpu")

    def generate(seed: int) -> list[np.ndarray]:
        return [np.asarray(im, dtype=np.int16) for im in drain(backend.generate_stream(PROMPT, n=4, seed=seed)).images]

    times: dict[str, list[float]] = {k: [] for k in LAYOUTS}
    pixels: dict[str, list[np.ndarray]] = {}
    generate(0)
    for r in range(ns.rounds):
        for name, on in LAYOUTS.items():
            backend.models.channels_last(on)
            pixels.setdefault(name, generate(0))  # also the untimed run after a layout change
            for seed in (r + 1, r + 101):
                t0 = time.perf_counter()
                generate(seed)
                times[name].append(time.perf_counter() - t0)
    print(f"model {backend.name} on cpu ({torch.get_num_threads()} threads), generate(n=4), "
          f"{ns.rounds} rounds of 2 runs per layout, interleaved")
    for name, ts in times.items():
        print(f"  {name:14s} median {statistics.median(ts):.2f} s  runs {' '.join(f'{t:.2f}' for t in ts)}")
    diff = max(int(np.abs(a - b).max()) for a, b in zip(*pixels.values(), strict=True))
    print(f"  largest pixel difference between the layouts (seed 0): {diff} level(s)")


if __name__ == "__main__":
    main()
