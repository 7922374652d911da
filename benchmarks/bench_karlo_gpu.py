"""Our staged pipeline vs diffusers' stock UnCLIPPipeline on the SAME Karlo-sized components (random weights).

    python benchmarks/bench_karlo_gpu.py                      # the real measurement: CUDA, fp16, full size
    python benchmarks/bench_karlo_gpu.py --size tiny --device cpu --repeats 1   # a CPU smoke run of the script

Karlo's real architecture (configs of diffusers' scripts/convert_kakao_brain_unclip_to_diffusers.py, built by
unclip.families.fake_hub.karlo_components("full")): prior 1.0B, decoder 0.9B, two super-res UNets 0.7B each,
CLIP ViT-L/14 text tower. Batch 4, 25/25/7 steps, UnCLIPScheduler everywhere, prior guidance 4, decoder 8.
Each variant runs `--repeats` timed batches after one warm-up; we print the median seconds per batch, the peak
GPU memory, and the largest pixel difference from the stock pipeline's images for the same seeds.

Variants (each measured, cumulative in this order, because they change the shared modules):
    stock            diffusers.UnCLIPPipeline(**components)
    ours             unclip's staged loop (guidance batched into one call per step, SDPA attention)
    channels_last    + UNets in channels_last memory format
    compile          + torch.compile of the decoder and super-res UNets (default mode)
    cuda_graphs      + torch.compile mode "reduce-overhead" (CUDA graphs)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from unclip.backend import UnCLIP  # noqa: E402
from unclip.families import fake_hub, karlo  # noqa: E402
from unclip.families.hf_clip import HFClip  # noqa: E402
from unclip.sampling import drain  # noqa: E402

PROMPTS = ["a red apple left of a cat", "an astronaut riding a horse", "a bowl of soup", "a castle at night"]
SEEDS = [0, 1, 2, 3]


def build(size: str, device: torch.device, dtype: torch.dtype) -> UnCLIP:
    parts = fake_hub.karlo_components(size)
    tokenizer = fake_hub.clip_tokenizer(Path(tempfile.mkdtemp()) / "tokenizer")
    clip = HFClip(parts["text_encoder"], tokenizer, parts["image_encoder"],
                  parts["image_encoder"].config.image_size)
    schedules = {stage: {k: v for k, v in parts["schedulers"][folder].items() if k != "_class_name"}
                 for stage, folder in karlo.SCHEDULERS.items()}
    models = karlo.assemble(clip, parts, schedules, f"karlo-{size}-random")
    return UnCLIP(models.to(device, dtype))


def timed(fn, device: torch.device, repeats: int) -> tuple[float, float, np.ndarray]:
    """(median seconds, peak GiB, uint8 images of the last run) over `repeats` runs after one warm-up."""
    fn()
    times, out = [], None
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        out = fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else float("nan")
    return statistics.median(times), peak, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=["full", "tiny"], default="full")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", default="25,25,7", help="prior,decoder,super-res steps")
    parser.add_argument("--variants", default="stock,ours,channels_last,compile,cuda_graphs")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    torch.backends.cuda.matmul.allow_tf32 = True
    p, d, u = (int(x) for x in args.steps.split(","))
    t0 = time.perf_counter()
    backend = build(args.size, device, dtype)
    print(f"built {args.size} Karlo components on {device} ({dtype}) in {time.perf_counter() - t0:.0f} s")
    m = backend.models
    for name, module in m.modules().items():
        print(f"  {name:15s} {sum(x.numel() for x in module.parameters()) / 1e6:8.1f} M parameters")
    s = backend.default_settings()
    s = replace(s, prior=replace(s.prior, steps=p), decoder=replace(s.decoder, steps=d),
                upsampler=replace(s.upsampler, steps=u))
    pipe = karlo.stock_pipeline(backend.models)

    def run_stock() -> np.ndarray:
        gens = [torch.Generator("cpu").manual_seed(x) for x in SEEDS]
        images = pipe(PROMPTS, prior_num_inference_steps=p, decoder_num_inference_steps=d,
                      super_res_num_inference_steps=u, generator=gens, prior_guidance_scale=s.prior.guidance,
                      decoder_guidance_scale=s.decoder.guidance, output_type="np").images
        return (images * 255).round().astype(np.uint8)

    def run_ours() -> np.ndarray:
        result = drain(backend.run_stream(PROMPTS, SEEDS, s))
        return np.stack([np.asarray(im) for im in result.images])

    unets = [m.decoder, m.upsampler, m.upsampler_last]
    rows, reference, base = [], None, None
    for variant in args.variants.split(","):
        if variant == "channels_last":
            for unet in unets:
                unet.to(memory_format=torch.channels_last)
        elif variant in ("compile", "cuda_graphs"):
            mode = "reduce-overhead" if variant == "cuda_graphs" else "default"
            torch._dynamo.reset()
            for unet in unets:
                unet.forward = torch.compile(unet.forward.__wrapped__ if hasattr(unet.forward, "__wrapped__")
                                             else unet.forward, mode=mode, dynamic=False)
        seconds, peak, images = timed(run_stock if variant == "stock" else run_ours, device, args.repeats)
        if reference is None:
            reference = images
        base = base or seconds
        diff = int(np.abs(images.astype(int) - reference.astype(int)).max())
        rows.append((variant, seconds, base / seconds, peak, diff))
        print(f"{variant:14s} {seconds:7.3f} s/batch  x{base / seconds:4.2f}  peak {peak:5.2f} GiB  "
              f"max |pixel - stock| {diff}", flush=True)
    print("\n| variant | s / batch of 4 (median) | speed-up vs stock | peak GPU memory (GiB) "
          "| max pixel diff vs stock |")
    print("|---|---|---|---|---|")
    for variant, seconds, speedup, peak, diff in rows:
        print(f"| {variant} | {seconds:.3f} | {speedup:.2f}x | {peak:.2f} | {diff} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
