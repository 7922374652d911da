"""How large a decoder the 5 s target leaves room for: generate(n=4) with wider or deeper decoders, in one process.

    python benchmarks/bench_decoder_size.py [--model tiny-emoji] [--rounds 3] [--threads 2] [--precision auto]

The tiny-emoji decoder (4.7 M parameters) is what limits object recall (models/tiny-emoji/README.md: from the true
CLIP image embedding it finds 0.19 of the objects), and the 4-images-in-5-s target on 2 CPU cores is what limits
its size. This script swaps the bundled decoder (and its text_proj, whose widths follow the decoder's) for randomly
initialised ones of other sizes, built from `DecoderConfig` exactly as the trainer builds them, and times the whole
generate(n=4) at the default settings with the variants interleaved (`bench_layout.interleaved`). Random weights
cost the same arithmetic as trained ones, so the figures are what a retrained decoder of that size would take.
It prints each variant's parameter count, median, and the median minus the shipped size's (the decoder's share).
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_layout import interleaved, parse  # noqa: E402

from unclip import load_backend  # noqa: E402
from unclip.backend import PRECISIONS  # noqa: E402
from unclip.config import DecoderConfig, TinyConfig  # noqa: E402
from unclip.families import tiny  # noqa: E402

SHIPPED = DecoderConfig()
VARIANTS: dict[str, DecoderConfig] = {  # name -> decoder architecture (the same attention layout throughout)
    "shipped": SHIPPED,
    "1.5x wide": SHIPPED.scaled(1.5),  # what `train decoder --decoder-width 1.5` builds
    "2x wide": SHIPPED.scaled(2.0),
    "2 layers": dataclasses.replace(SHIPPED, layers_per_block=2),
}


def build(config: DecoderConfig) -> tuple[torch.nn.Module, torch.nn.Module]:
    torch.manual_seed(0)
    text_proj, decoder = tiny.build_decoder(dataclasses.replace(TinyConfig(), decoder=config))
    return text_proj.eval(), decoder.eval()


def main() -> None:
    ns = parse(__doc__, lambda p: p.add_argument("--precision", choices=PRECISIONS, default="auto"))
    backend = load_backend(ns.model, device="cpu", precision=ns.precision)
    models = backend.models
    assert models.family == "tiny", "the variants are tiny-emoji decoders"
    assert models.embed_dim == TinyConfig().clip.embed_dim, "the variants are built for the bundled CLIP's width"
    parts = {"shipped": (models.text_proj, models.decoder)}
    parts.update({name: build(c) for name, c in VARIANTS.items() if name != "shipped"})
    params = {name: sum(p.numel() for p in decoder.parameters()) / 1e6 for name, (_, decoder) in parts.items()}

    def switch(name: str):
        def run() -> None:
            models.text_proj, models.decoder = parts[name]
            models.channels_last(backend.models.device.type == "cpu")  # as load_backend lays them out on CPU
        return run

    print(f"precision {backend.precision}; decoders: " + ", ".join(f"{n} {params[n]:.1f} M" for n in parts))
    medians = interleaved(backend, {name: switch(name) for name in parts}, ns.rounds, "decoder",
                          pixels_differ=False)
    for name, m in medians.items():
        print(f"  {name:10s} {params[name]:5.1f} M parameters  {m:.2f} s  ({m - medians['shipped']:+.2f} s)")
    switch("shipped")()


if __name__ == "__main__":
    main()
