"""bf16 autocast against fp32 for the prior, decoder and upsampler on CPU, in one process.

    python benchmarks/bench_precision.py [--model tiny-emoji] [--rounds 4] [--threads 2]

`load_backend(precision="auto")` (the app's default) runs the denoisers under bf16 autocast on CPUs with AMX
(`resolve_precision`). This script times generate(n=4) at the default settings with fp32 and bf16 interleaved
(`bench_layout.interleaved`) and prints each one's median and runs, and the pixel difference between them. Whether
the CPU has AMX is printed first: without it bf16 is emulated, and slower. What bf16 does to the eval's figures:
`sweep_settings.py --precision fp32 bf16`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_layout import interleaved, parse  # noqa: E402

from unclip import load_backend  # noqa: E402
from unclip.backend import has_amx_bf16, resolve_precision  # noqa: E402


def main() -> None:
    ns = parse(__doc__)
    backend = load_backend(ns.model, device="cpu", precision="fp32")
    print(f"CPU: {torch.cpu.get_capabilities().get('cpu_name', '?')}, AMX bf16: {has_amx_bf16()}, "
          f"auto -> {'bf16' if resolve_precision('auto', torch.device('cpu')) else 'fp32'}")

    def switch(precision: str):
        return lambda: setattr(backend.models, "compute_dtype", resolve_precision(precision, backend.models.device))

    interleaved(backend, {p: switch(p) for p in ("fp32", "bf16")}, ns.rounds, "precision")


if __name__ == "__main__":
    main()
