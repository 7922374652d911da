"""The explorer's speed, printed as figures (never asserted: machines here are noisy).

    python benchmarks/bench_explore.py [--model tiny-emoji] [--points 2000] [--runs 3] [--threads 0]
                                       [--numba-cache DIR] [--skip-first-umap]

Prints, for `--points` CLIP embeddings of emoji-world scenes (half images, half captions):
  - PCA 2-D and 3-D (fit + transform; target <= 0.3 s for 2,000 points)
  - UMAP 2-D, cosine, in a warm process (target <= 8 s)
  - the first UMAP in a fresh process with numba's cache present: a subprocess run twice on the same data, the
    first filling the cache (a fresh temporary one unless --numba-cache), the second measured (target <= 15 s)
  - an 8-frame interpolation strip at the explorer's defaults (64 px, no upsampler; target <= 4 s on CPU), from
    two image points, and from two captions through the prior.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def timed(fn, runs: int) -> tuple[float, float, float]:  # noqa: ANN001
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), max(times)


def child_first_umap(data: str, cache: str) -> None:
    """In a fresh process: import umap (lazily, our way) and time its first fit. Prints JSON."""
    os.environ["NUMBA_CACHE_DIR"] = cache
    import numpy as np

    t0 = time.perf_counter()
    from unclip import explore_projection as P

    x = np.load(data)
    P._import_umap()
    t1 = time.perf_counter()
    P.fit_umap(x, 2)
    t2 = time.perf_counter()
    print(json.dumps({"import_s": t1 - t0, "first_fit_s": t2 - t1}))


def first_umap(x, cache: str | None) -> list[dict]:  # noqa: ANN001
    """Run `child_first_umap` twice in fresh interpreters on the same data (fill the cache, then measure)."""
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "x.npy"
        np.save(data, x)
        folder = cache or str(Path(tmp) / "numba")
        runs = []
        for _ in range(2):
            out = subprocess.run([sys.executable, __file__, "--child-umap", str(data), folder], cwd=ROOT,
                                 capture_output=True, text=True, check=True)  # fmt: skip
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        return runs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=os.environ.get("UNCLIP_MODEL", "tiny-emoji"))
    p.add_argument("--points", type=int, default=2000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--numba-cache", default=None, help="numba cache folder for the first-UMAP runs (default: fresh)")
    p.add_argument("--skip-first-umap", action="store_true")
    p.add_argument("--child-umap", nargs=2, help=argparse.SUPPRESS)
    ns = p.parse_args()
    if ns.child_umap:
        return child_first_umap(*ns.child_umap)
    import torch

    if ns.threads:
        torch.set_num_threads(ns.threads)
    from unclip import explore_projection as P
    from unclip import load_backend
    from unclip.explore_collection import probe_set

    backend = load_backend(ns.model)
    t0 = time.perf_counter()
    probe = probe_set(backend, ns.points // 2)
    n, d = probe.embeds.shape
    print(f"model {backend.name} (D = {d}) on {backend.models.device}, {torch.get_num_threads()} torch threads; "
          f"{n} points embedded in {time.perf_counter() - t0:.2f} s (render + CLIP, cold cache)")  # fmt: skip
    ids, mods = probe.ids, probe.modalities
    for dims in (2, 3):
        med, lo, hi = timed(lambda dims=dims: P.fit_layout(ids, probe.embeds, mods, "pca", dims), ns.runs)
        print(f"PCA {dims}-D of {n} points: median {med * 1000:.0f} ms (min {lo * 1000:.0f}, max {hi * 1000:.0f})")
    P.fit_layout(ids[:50], probe.embeds[:50], mods[:50], "umap", 2)  # compile / load the kernels first
    med, lo, hi = timed(lambda: P.fit_layout(ids, probe.embeds, mods, "umap", 2), ns.runs)
    print(f"UMAP 2-D (cosine) of {n} points, warm process: median {med:.2f} s (min {lo:.2f}, max {hi:.2f})")
    if not ns.skip_first_umap:
        x = P.prepare(probe.embeds, mods, None).float().numpy()
        fill, warm = first_umap(x, ns.numba_cache)
        print(f"first UMAP in a fresh process: {fill['first_fit_s']:.1f} s compiling into the cache "
              f"(+{fill['import_s']:.1f} s import), then {warm['first_fit_s']:.1f} s with the cache present "
              f"(+{warm['import_s']:.1f} s import)")  # fmt: skip
    strip_timings(backend, probe, ns.runs)


def strip_timings(backend, probe, runs: int) -> None:  # noqa: ANN001
    from unclip.explore import with_decoder

    settings = with_decoder(backend.default_settings(), upsampler=False)
    a, b = probe.embeds[0], probe.embeds[2]
    backend.interpolate(a, b, steps=8, seed=0, settings=settings)  # warm-up
    med, lo, hi = timed(lambda: backend.interpolate(a, b, steps=8, seed=0, settings=settings), runs)
    s = settings.decoder
    print(f"8-frame interpolation strip, image -> image ({s.steps} {s.scheduler} decoder steps, guidance "
          f"{s.guidance:g}, 64 px): median {med:.2f} s (min {lo:.2f}, max {hi:.2f})")  # fmt: skip
    med, lo, hi = timed(lambda: backend.interpolate("a red apple", "a blue car", steps=8, seed=0,
                                                    settings=settings), runs)  # fmt: skip
    print(f"8-frame interpolation strip, caption -> caption through the prior: median {med:.2f} s "
          f"(min {lo:.2f}, max {hi:.2f})")  # fmt: skip
    gflop = decoder_gflop(backend) * 8 * s.steps * (2 if s.guidance != 1 else 1)
    print(f"  decoder work of that strip: {gflop:.0f} GFLOP (8 frames x {s.steps} steps x 2 for guidance), about "
          f"{gflop / 230:.1f} s at the 230 GFLOP/s two idle cores here reach (FACTS.md)")  # fmt: skip
    up = with_decoder(settings, upsampler=True)
    med, _, _ = timed(lambda: backend.interpolate(a, b, steps=8, seed=0, settings=up), 1)
    print(f"8-frame strip with the upsampler on (256 px, {up.upsampler.steps} steps): {med:.2f} s")


def decoder_gflop(backend) -> float:  # noqa: ANN001
    """GFLOP of one decoder call on one 64 px sample (torch's FLOP counter)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from unclip.pipeline import decoder_conditioning

    m = backend.models
    c = decoder_conditioning(m, torch.zeros(1, m.embed_dim), backend.encode_text([""]))
    s = m.decoder.config.sample_size
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        m.decoder(torch.zeros(1, 3, s, s), torch.tensor(500), encoder_hidden_states=c["hidden"],
                  class_labels=c["additive"], attention_mask=c["mask"])  # fmt: skip
    return counter.get_total_flops() / 1e9


if __name__ == "__main__":
    main()
