"""Channels-last (NHWC) against the default NCHW layout for the convolutional networks, in one process.

    python benchmarks/bench_layout.py [--model tiny-emoji] [--rounds 4] [--threads 2]

`load_backend` puts the decoder and upsampler (and Kandinsky's MoVQ) in channels-last on CPU
(`UnCLIPModels.channels_last`). This script times generate(n=4) at the default settings with the two layouts
interleaved, round after round (two timed runs each, after an untimed one), so a host whose speed drifts affects both
alike; it prints each layout's median and runs, and the largest pixel difference between the layouts.
`bench_precision.py` compares fp32 and bf16 the same way (`interleaved`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from unclip import UnCLIP, load_backend  # noqa: E402
from unclip.sampling import drain  # noqa: E402

PROMPT = "a red apple left of a cat"
LAYOUTS = {"channels_last": True, "contiguous": False}  # UnCLIPModels.channels_last(on)


def interleaved(backend: UnCLIP, variants: dict[str, Callable[[], None]], rounds: int, title: str,
                pixels_differ: bool = True) -> dict[str, float]:
    """Time generate(n=4) under each variant (a callable that switches the backend to it), interleaved: per round
    and variant one untimed run after the switch, then two timed runs. Prints medians, runs and (pixels_differ)
    the largest pixel difference between the first two variants at seed 0; returns the medians."""

    def generate(seed: int) -> list[np.ndarray]:
        return [np.asarray(im, dtype=np.int16) for im in drain(backend.generate_stream(PROMPT, n=4, seed=seed)).images]

    times: dict[str, list[float]] = {k: [] for k in variants}
    pixels: dict[str, list[np.ndarray]] = {}
    for r in range(rounds):
        for name, switch in variants.items():
            switch()
            pixels.setdefault(name, generate(0))  # also the untimed run after a switch
            for seed in (r + 1, r + 101):
                t0 = time.perf_counter()
                generate(seed)
                times[name].append(time.perf_counter() - t0)
    print(f"model {backend.name} on {backend.models.device.type} ({torch.get_num_threads()} threads), generate(n=4), "
          f"{rounds} rounds of 2 runs per {title}, interleaved")
    for name, ts in times.items():
        print(f"  {name:14s} median {statistics.median(ts):.2f} s  runs {' '.join(f'{t:.2f}' for t in ts)}")
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    if not pixels_differ:
        return medians
    a, b = list(pixels.values())[:2]
    diffs = [np.abs(x - y) for x, y in zip(a, b, strict=True)]
    print(f"  pixel difference between the {title}s (seed 0, 4 images): largest {max(int(d.max()) for d in diffs)} "
          f"level(s), mean {float(np.mean([d.mean() for d in diffs])):.2f}")
    return medians


def parse(doc: str, add: Callable[[argparse.ArgumentParser], None] | None = None) -> argparse.Namespace:
    """The shared flags (--model, --rounds, --threads), plus whatever `add` puts on the parser."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="tiny-emoji")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    if add is not None:
        add(p)
    ns = p.parse_args()
    if ns.threads:
        torch.set_num_threads(ns.threads)
    return ns


def main() -> None:
    ns = parse(__doc__)
    backend = load_backend(ns.model, device="cpu", precision="fp32")
    variants = {name: (lambda on=on: backend.models.channels_last(on)) for name, on in LAYOUTS.items()}
    interleaved(backend, variants, ns.rounds, "layout")


if __name__ == "__main__":
    main()
