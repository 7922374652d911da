"""Does the decoder read the CLIP image embedding? `python -m unclip.eval.reliance [--model DIR]`.

For n rendered scenes and a few noise levels t, the decoder denoises the same x_t three times with the caption
left empty, so the image embedding is its only clue: with the scene's own embedding z_i, with another scene's
embedding (the batch rolled by one), and with the learned null embedding. Errors are measured on x0 (the image
the decoder implies, from epsilon or v as its scheduler config says), mean squared, in [-1, 1] units.

    gain = error(shuffled z_i) - error(own z_i)     > 0: the decoder uses what z_i says about *this* scene

A decoder that ignores z_i has gain 0 at every t. DALL·E 2's decoder must rely on z_i most at high noise, where
x_t no longer shows the scene; the tiny decoder's gain there is the check for the training options in stages.py
(high-noise sampling, v weighting). Deterministic: fixed scenes, noise and timesteps.
"""

from __future__ import annotations

import argparse
import json
import sys

import torch
from diffusers import DDPMScheduler

from unclip.images import to_tensor
from unclip.models import UnCLIPModels, encode_image, encode_text
from unclip.pipeline import _decoder_model, decoder_conditioning, expand, null_embeds
from unclip.sampling import predict_x0, q_sample

TIMESTEPS = (100, 300, 500, 700, 850, 950, 990)


def measurable(models: UnCLIPModels) -> bool:
    """A pixel-space decoder conditioned through a text_proj (tiny-emoji, Karlo); not Kandinsky's latent one."""
    return models.text_proj is not None and not models.latent


@torch.no_grad()
def embedding_reliance(models: UnCLIPModels, world, n: int = 32, seed: int = 30_000,
                       timesteps: tuple[int, ...] = TIMESTEPS) -> dict[str, dict[str, float]]:
    """{str(t): {"own", "shuffled", "null": x0 MSE, "gain": shuffled - own}} for a pixel-space decoder."""
    if not measurable(models):
        raise ValueError("embedding_reliance needs a pixel-space decoder with a text_proj (tiny-emoji, Karlo)")
    if n < 2:
        raise ValueError(f"n must be at least 2 (the shuffled embedding is another scene's), got {n}")
    size = models.decoder.config.sample_size
    images, _, _ = world.batch(n, seed=seed, size=size, split="any")
    x0 = to_tensor(images).to(models.device, models.dtype)  # (n, 3, S, S)
    own = encode_image(models, x0).to(models.dtype)
    empty = expand(encode_text(models, [""]), n)
    embeds = {"own": own, "shuffled": own.roll(1, dims=0), "null": null_embeds(models, n)}
    model = _decoder_model(models, None)
    scheduler = DDPMScheduler.from_config(models.scheduler_configs["decoder"])
    g = torch.Generator("cpu").manual_seed(seed)
    noise = torch.randn(x0.shape, generator=g).to(x0)
    result: dict[str, dict[str, float]] = {}
    for t in timesteps:
        xt = q_sample(scheduler.alphas_cumprod, x0, noise, t)
        tt = torch.full((n,), t, device=models.device, dtype=torch.long)
        row = {}
        for name, z in embeds.items():
            out = model(xt, tt, decoder_conditioning(models, z, empty))[:, :3]  # (Karlo: drop the variance)
            pred = predict_x0(scheduler, out.float(), xt.float(), torch.tensor(t)).clamp(-1, 1)
            row[name] = round(float((pred - x0.float()).square().mean()), 5)
        row["gain"] = round(row["shuffled"] - row["own"], 5)
        result[str(t)] = row
    return result


MAX_N = 256  # scenes, decoded in one batch


def main(argv: list[str] | None = None) -> int:
    from unclip.cli import open_backend
    from unclip.world import EmojiWorld

    ap = argparse.ArgumentParser(prog="python -m unclip.eval.reliance", description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="tiny-emoji", help="bundled name or model directory")
    ap.add_argument("--n", type=int, default=32, help="scenes (default 32)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not 2 <= args.n <= MAX_N:  # before the model loads; in one batch, so bounded
        print(f"error: --n must be from 2 (the shuffled embedding is another scene's) to {MAX_N}, got {args.n}",
              file=sys.stderr)
        return 2
    backend = open_backend(args.model, None)
    if backend is None:
        return 2
    try:
        result = embedding_reliance(backend.models, EmojiWorld(), n=args.n)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{'t':>5} {'own z_i':>9} {'shuffled':>9} {'null':>9} {'gain':>8}   (x0 MSE, empty caption)")
    for t, r in result.items():
        print(f"{t:>5} {r['own']:9.4f} {r['shuffled']:9.4f} {r['null']:9.4f} {r['gain']:8.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
