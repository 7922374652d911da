"""How closely a text diff's theta = 0 frame redraws the picture, and what the inversion costs (printed, never
asserted: machines here are noisy).

    python benchmarks/bench_inversion.py [--model tiny-emoji] [--n 24] [--steps 12 ...] [--threads 2]
                                         [--precision fp32] [--runs 3]

For N emoji-world scenes (64 px, the decoder's size; split "any", seed 11), each decoded with DDIM from its CLIP
image embedding with caption "": the mean absolute difference from the scene, in levels of 255, per image; printed
as the median and mean over images and the worst image. Rows:
- seeded noise at guidance 1 and 3 (what text diffs did before: the picture is lost);
- the picture's DDIM inversion (`unclip.pipeline.invert`, no guidance), decoded at guidance 1, 2, 3;
- inverted with guidance 3 (the guided model drifts) and with diffusers' DDIMInverseScheduler (it converts the
  output with the wrong noise level's abar), each decoded at its own guidance;
- the same network re-expressed as an epsilon model (eps = sqrt(abar) v + sqrt(1 - abar) x, Karlo's and
  Kandinsky's kind), inverted and decoded at guidance 1: how much the parametrisation costs the inversion.
Then the median latency of a 6-frame text diff (64 px, default steps) with and without the inversion.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="tiny-emoji")
    ap.add_argument("--n", type=int, default=24, help="scenes")
    ap.add_argument("--steps", type=int, nargs="+", default=[12], help="decoder steps (inversion and decode)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    ap.add_argument("--runs", type=int, default=3, help="timed text diffs per setting")
    args = ap.parse_args()
    if args.n < 1 or args.runs < 1 or min(args.steps) < 1:
        ap.error("--n, --runs and --steps must be at least 1")
    torch.set_num_threads(args.threads)

    from diffusers import DDIMInverseScheduler
    from PIL import Image

    from unclip import load_backend, pipeline
    from unclip.explore import with_decoder
    from unclip.images import to_tensor
    from unclip.sampling import classifier_free_guidance, ddim_invert, drain, make_scheduler, randn, sample_loop
    from unclip.world import EmojiWorld

    backend = load_backend(args.model, device="cpu", precision=args.precision)
    m, n = backend.models, args.n
    side = m.low_res_size
    big, captions, _ = EmojiWorld().batch(n, seed=11, size=256, split="any")
    small = [Image.fromarray(im).resize((side, side), Image.Resampling.BICUBIC) for im in big]
    x0 = to_tensor(small).to(m.device, m.dtype)
    z = backend.encode_image(to_tensor(big)).to(m.device, m.dtype)
    text = backend.encode_text([""] * n)
    cond = pipeline.decoder_conditioning(m, z, text)
    uncond = pipeline.decoder_conditioning(m, pipeline.null_embeds(m, n), pipeline.expand(backend.empty_text(), n))

    def denoiser(guidance: float):
        return classifier_free_guidance(pipeline._decoder_model(m, None), guidance, cond, uncond)

    def ddim(x_t: torch.Tensor, steps: int, guidance: float, denoise=None, config=None) -> torch.Tensor:
        gens = [torch.Generator().manual_seed(0) for _ in range(n)]
        scheduler = make_scheduler("ddim", config or m.scheduler_configs["decoder"])
        out = drain(sample_loop(denoise or denoiser(guidance), scheduler, x_t, steps=steps, generators=gens,
                                stage="decoder", preview=False))  # fmt: skip
        return out.clamp(-1, 1)

    eps_config = {**m.scheduler_configs["decoder"], "prediction_type": "epsilon"}
    abar = make_scheduler("ddim", eps_config).alphas_cumprod

    def as_epsilon(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:  # the v network, read as an epsilon model
        a = abar[int(t)].to(x)
        return a.sqrt() * denoiser(1.0)(x, t) + (1 - a).sqrt() * x

    def diffusers_inverse(steps: int) -> torch.Tensor:
        config = {**m.scheduler_configs["decoder"], "timestep_spacing": "trailing", "set_alpha_to_one": True}
        inverse = DDIMInverseScheduler.from_config(config)
        inverse.set_timesteps(steps)
        x, denoise = x0.clone(), denoiser(1.0)
        with torch.no_grad():
            for t in inverse.timesteps:
                x = inverse.step(denoise(x, t), t, x).prev_sample
        return x

    def invert(steps: int, guidance: float) -> torch.Tensor:
        if guidance == 1.0:
            return drain(pipeline.invert(m, x0, z, text, steps))  # what text diffs run
        with torch.no_grad():  # the guided model, for the comparison only
            return drain(ddim_invert(denoiser(guidance), make_scheduler("ddim", m.scheduler_configs["decoder"]), x0,
                                     steps=steps))  # fmt: skip

    def report(label: str, out: torch.Tensor) -> None:
        per_image = ((out.float() - x0.float()).abs().mean(dim=(1, 2, 3)) * 127.5).tolist()
        print(f"  {label:<56} median {statistics.median(per_image):6.2f}  mean {statistics.mean(per_image):6.2f}"
              f"  worst {max(per_image):6.2f}")  # fmt: skip

    print(f"{args.model}, {args.precision}, {n} scenes at {side} px, {torch.get_num_threads()} threads; "
          "mean |decoded - scene| per image, levels of 255")
    for steps in args.steps:
        print(f"decoder DDIM, {steps} steps")
        seeded = randn((3, side, side), [torch.Generator().manual_seed(0) for _ in range(n)], m.device, m.dtype)
        report("seeded noise, guidance 1", ddim(seeded, steps, 1.0))
        report("seeded noise, guidance 3", ddim(seeded, steps, 3.0))
        x_t = invert(steps, 1.0)
        for guidance in (1.0, 2.0, 3.0):
            report(f"DDIM inversion (pipeline.invert), decoded at guidance {guidance:g}", ddim(x_t, steps, guidance))
        report("inverted with guidance 3, decoded at guidance 3", ddim(invert(steps, 3.0), steps, 3.0))
        report("diffusers DDIMInverseScheduler, guidance 1", ddim(diffusers_inverse(steps), steps, 1.0))
        with torch.no_grad():
            eps_t = drain(ddim_invert(as_epsilon, make_scheduler("ddim", eps_config), x0, steps=steps))
        report("as an epsilon model: inverted, decoded at guidance 1", ddim(eps_t, steps, 1.0, as_epsilon, eps_config))

    settings = with_decoder(backend.default_settings(), upsampler=False)
    picture = Image.fromarray(big[0])
    print(f"latency of a 6-frame text diff, {settings.decoder.steps} decoder steps, 64 px (median of {args.runs})")
    for noise in ("seed", "inversion"):
        times = []
        for r in range(args.runs + 1):  # the first is a warm-up
            start = time.perf_counter()
            backend.text_diff(picture, captions[0], "a cat at night", steps=6, seed=r, settings=settings, noise=noise)
            times.append(time.perf_counter() - start)
        print(f"  noise={noise:<10} {statistics.median(times[1:]):.2f} s (min {min(times[1:]):.2f}, "
              f"max {max(times[1:]):.2f})")  # fmt: skip


if __name__ == "__main__":
    main()
