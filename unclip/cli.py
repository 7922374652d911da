"""`python -m unclip VERB ...`: generate, vary, inpaint, zoom-out, train, eval, world.

    python -m unclip generate "a cat above a pizza" -n 4 --seed 0 --out outputs/ [--model NAME] [--mode MODE]
    python -m unclip generate "a cat above a pizza" --compare      # the three ablation modes (paper §5.1)
    python -m unclip train clip|prior|decoder|upsampler|all [--steps N ...]
    python -m unclip eval --model NAME [--json]
    python -m unclip world --n 16 --out grid.png
    python -m unclip vary IMAGE -n 4 --seed 0 --out DIR            # variations (unclip/edit_cli.py)
    python -m unclip inpaint IMAGE --mask MASK "PROMPT" --out DIR  # repaint a region
    python -m unclip zoom-out IMAGE --factor 2 --out DIR           # shrink it, generate the border
"""

from __future__ import annotations

import argparse
import os
import sys

from unclip.settings import MODES, InvalidInput, writable_dir


def _generate_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m unclip generate", description="text -> images, saved as PNG")
    p.add_argument("prompt", nargs="?", help="the caption (optional with --from-png)")
    p.add_argument("-n", type=int, default=None, help="images, 1-8 (default: 4)")
    p.add_argument("--seed", type=int, default=None, help="image i uses seed + i (default: 0)")
    p.add_argument("--from-png", metavar="PNG", default=None,
                   help="remake the batch a PNG that Generate saved came from: its prompt, mode, settings, batch size "
                   "and first seed (any flag given overrides its part)")
    p.add_argument("--out", default="outputs", help="directory for the PNGs (created)")
    p.add_argument("--model", default=os.environ.get("UNCLIP_MODEL", "tiny-emoji"))
    p.add_argument("--mode", choices=MODES, default=None, help="what the decoder is conditioned on (default: prior)")
    p.add_argument("--compare", action="store_true", help="all three modes (the paper's prior ablation)")
    p.add_argument("--device", default=None)
    add_threads_arg(p)
    add_precision_arg(p, None)
    add_stage_args(p)
    return p


def add_precision_arg(p: argparse.ArgumentParser, default: str | None) -> None:
    from unclip.backend import PRECISIONS

    p.add_argument("--precision", choices=PRECISIONS, default=default,
                   help="the denoisers' arithmetic: auto (bf16 on CPUs with AMX, else fp32), fp32, bf16 "
                   f"(default: {default or 'env UNCLIP_PRECISION, else auto'})")


def add_threads_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int, default=0,
                   help="CPU threads for torch (default 0: torch's own choice, one per core)")


def add_stage_args(p: argparse.ArgumentParser) -> None:
    """Per-stage sampling flags (steps, scheduler, guidance, prior candidates, --no-upsample); read back by
    `_settings`."""
    for stage in ("prior", "decoder", "upsampler"):
        p.add_argument(f"--{stage}-steps", type=int, default=None)
        p.add_argument(f"--{stage}-scheduler", default=None)
    for stage in ("prior", "decoder"):
        p.add_argument(f"--{stage}-guidance", type=float, default=None)
    p.add_argument("--prior-candidates", type=int, default=None,
                   help="prior samples per image, the one closest to the caption kept (the paper: 2)")
    p.add_argument("--no-upsample", action="store_true", help="stop at the decoder's 64 px")


def _settings(backend, ns: argparse.Namespace, mode: str, base=None):
    """`base` (default: the model's defaults) in `mode`, with the stage flags given applied over it."""
    from dataclasses import replace

    s = replace(base, mode=mode) if base is not None else backend.default_settings(mode)
    def pick(stage, **kw):
        return replace(stage, **{k: v for k, v in kw.items() if v is not None})
    return replace(
        s,
        prior=pick(s.prior, steps=ns.prior_steps, scheduler=ns.prior_scheduler, guidance=ns.prior_guidance,
                   candidates=ns.prior_candidates),
        decoder=pick(s.decoder, steps=ns.decoder_steps, scheduler=ns.decoder_scheduler, guidance=ns.decoder_guidance),
        upsampler=pick(s.upsampler, steps=ns.upsampler_steps, scheduler=ns.upsampler_scheduler,
                       enabled=s.upsampler.enabled and not ns.no_upsample))


def open_backend(model: str, device: str | None, precision: str | None = None, threads: int = 0):
    """The backend for a CLI verb, or None after printing one 'error:' line (an unknown name, a hub model that
    is not here, a bad --device or --threads); a fallback notice goes to stderr. torch runs on `threads` CPU
    threads (0: its default)."""
    import torch

    from unclip import load_backend
    from unclip.backend import check_device
    from unclip.families import load_error
    from unclip.settings import MAX_THREADS, THREADS_ALLOWED

    try:
        check_device(device, "--device")
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return None
    if not 0 <= threads <= MAX_THREADS:
        print(f"error: --threads must be {THREADS_ALLOWED}, got {threads}", file=sys.stderr)
        return None
    if threads:
        torch.set_num_threads(threads)
    try:
        backend = load_backend(model, device=device, precision=precision)
    except (ValueError, OSError) as e:  # includes ModelUnavailable
        print(f"error: {load_error(e, model)}", file=sys.stderr)
        return None
    if backend.notice:
        print(f"note: {backend.notice}", file=sys.stderr)
    return backend


def generate_main(argv: list[str]) -> int:
    from unclip.images import read_recipe, save_png, unused_path

    p = _generate_parser()
    ns = p.parse_args(argv)
    if ns.mode is not None and ns.compare:
        p.error("--mode and --compare: choose one (--compare runs all three modes)")
    if ns.prompt is None and ns.from_png is None:
        p.error("the prompt is required (or --from-png PNG, to remake a saved image)")
    recipe = None
    if ns.from_png is not None:
        try:
            recipe = read_recipe(ns.from_png, "--from-png")
        except InvalidInput as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        ns.prompt = recipe.prompt if ns.prompt is None else ns.prompt
        ns.n = recipe.n if ns.n is None else ns.n
        ns.seed = recipe.seed if ns.seed is None else ns.seed
        ns.mode = ns.mode or (None if ns.compare else recipe.settings.mode)
    ns.n, ns.seed, ns.mode = 4 if ns.n is None else ns.n, 0 if ns.seed is None else ns.seed, ns.mode or "prior"
    backend = open_backend(ns.model, ns.device, ns.precision, ns.threads)
    if backend is None:
        return 2
    if recipe is not None:
        print(f"note: {os.path.basename(ns.from_png)} is image {recipe.index} of a batch of {recipe.n} from seed "
              f"{recipe.seed}", file=sys.stderr)
        if recipe.model and recipe.model != backend.name:
            print(f"note: it was made with {recipe.model}, this is {backend.name}: expect another picture",
                  file=sys.stderr)
    modes = backend.modes if ns.compare else (ns.mode,)
    try:
        settings = {mode: _settings(backend, ns, mode, recipe and recipe.settings) for mode in modes}
        for s in settings.values():  # every flag checked before --out is made: a refused run leaves no empty folder
            backend.check(ns.prompt, ns.n, ns.seed, s)
        out = writable_dir(ns.out)
        from unclip.sampling import drain

        for mode in modes:
            result = drain(backend.generate_stream(ns.prompt, ns.n, ns.seed, settings=settings[mode]))
            for w in result.warnings:
                print(f"warning: {w}", file=sys.stderr)
            for seed, image, score in zip(result.seeds, result.images, result.clip_scores, strict=True):
                path = save_png(image, unused_path(out / f"{mode}_{seed:08d}.png"))
                print(f"{path}\tCLIP score {score:.1f}")
    except InvalidInput as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run one verb; Ctrl-C ends it with one line and exit status 130 (a trainer's last checkpoint stays, for
    resuming), not a traceback."""
    try:
        return _run_verb(list(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:
        print("\ninterrupted (Ctrl-C); files written so far are kept", file=sys.stderr)
        return 130


def _run_verb(argv: list[str]) -> int:
    verbs = {"generate", "train", "eval", "world", "vary", "inpaint", "zoom-out"}
    if not argv or argv[0] not in verbs:
        if argv and argv[0] in ("-h", "--help"):
            print(__doc__.strip())
            return 0
        print(__doc__.strip(), file=sys.stderr)
        what = f"unknown command {argv[0]!r}" if argv else "no command given"
        print(f"error: {what}; choose one of {', '.join(sorted(verbs))}", file=sys.stderr)
        return 2
    verb, rest = argv[0], argv[1:]
    if verb in ("vary", "inpaint", "zoom-out"):
        from unclip.edit_cli import main as edit_main

        return edit_main(verb, rest)
    if verb == "generate":
        return generate_main(rest)
    if verb == "train":
        from unclip.train import main as train_main

        return train_main(rest)
    if verb == "eval":
        from unclip.eval.report import main as eval_main

        return eval_main(rest)
    from unclip.world.cli import main as world_main

    return world_main(rest)


