"""`python -m unclip vary | inpaint | zoom-out`: DALL·E 2's image tools from the command line, PNGs out.

    python -m unclip vary IMAGE -n 4 --seed 0 [--strength 1.0 | --eta 0.5] [--prompt CAPTION] --out DIR
    python -m unclip inpaint IMAGE [--mask MASK] "PROMPT" --out DIR [--feather 8] [--invert] [--condition image]
    python -m unclip zoom-out IMAGE --factor 2 [--anchor center] [--times 3 --gif] --out DIR

Every PNG keeps its settings in its `parameters` metadata. Bad input exits with status 2 and one line that
says what is wrong (`error: mask is empty: paint the region to repaint ...`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from unclip.cli import add_precision_arg, add_stage_args, add_threads_arg
from unclip.settings import MODES, InvalidInput, writable_dir

ANCHORS = ("center", "left", "right", "top", "bottom")
TIMES = (1, 50)  # zoom-out --times
IMAGE_HINT = {"image is missing": "here: the IMAGE argument, a file's path"}
CLI_HINTS = {  # the library's messages speak of the app's widgets: what each means on the command line
    "vary": IMAGE_HINT,
    "inpaint": {**IMAGE_HINT, "mask is missing": "here: --mask MASK, a file's path",
                "mask is empty: paint": "here: --mask MASK (white = repaint), or an IMAGE whose transparent pixels "
                                        "mark it", "prompt is empty": "here: a PROMPT argument, or --condition image"},
    "zoom-out": {**IMAGE_HINT, "prompt is empty": "here: --prompt CAPTION, or --condition image (the default)"},
}


def _common(p: argparse.ArgumentParser, n: int) -> None:
    p.add_argument("image", help="input image (PNG, JPEG, WebP, GIF, ...); centre-cropped to a square")
    p.add_argument("-n", type=int, default=n, help="images, 1-8")
    p.add_argument("--seed", type=int, default=0, help="image i uses seed + i")
    p.add_argument("--out", default="outputs", help="directory for the PNGs (created)")
    p.add_argument("--model", default=os.environ.get("UNCLIP_MODEL", "tiny-emoji"))
    p.add_argument("--device", default=None)
    add_threads_arg(p)
    p.add_argument("--mode", choices=MODES, default=None,
                   help="inpaint and zoom-out with --condition prompt: how the prompt is used (default: prior)")
    add_precision_arg(p, None)
    add_stage_args(p)


def parser(verb: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"python -m unclip {verb}")
    if verb == "vary":
        _common(p, 4)
        p.add_argument("--strength", type=float, default=1.0, help="0-1: 1 = from pure noise, lower = closer")
        p.add_argument("--eta", type=float, default=None, help="0-1: vary the paper's way instead, the image's DDIM "
                                                               "inversion decoded with DDIM at this eta (0 = the "
                                                               "image back)")  # fmt: skip
        p.add_argument("--prompt", default="", help="optional caption for the decoder")
        return p
    _common(p, 1)
    p.add_argument("--feather", type=int, default=8, help="px of soft blending around the region (0-64)")
    if verb == "inpaint":
        p.add_argument("prompt", nargs="?", default="", help="what to paint in the region")
        p.add_argument("--mask", default=None, help="white (or transparent) = repaint; default: the image's "
                                                    "transparent pixels")  # fmt: skip
        p.add_argument("--invert", action="store_true", help="repaint everything except the mask")
        p.add_argument("--condition", choices=("prompt", "image"), default="prompt")
        return p
    p.add_argument("--factor", type=float, default=2.0, help="1.1-4: how far to zoom out")
    p.add_argument("--anchor", choices=ANCHORS, default="center", help="where the original sits")
    p.add_argument("--prompt", default="", help="caption (with --condition prompt: also the embedding)")
    p.add_argument("--condition", choices=("prompt", "image"), default="image")
    p.add_argument("--times", type=int, default=1, help="zoom out this many times, each from the last result")
    p.add_argument("--gif", action="store_true", help="also write zoom.gif (the infinite-zoom animation)")
    return p


def make_job(backend: Any, verb: str, ns: argparse.Namespace, settings: Any, image: Any = None) -> Any:
    """The verb's request, every flag checked, nothing sampled (`image`: zoom-out's next step starts from the
    last result). Built before --out is made, so a refused run leaves no empty folder."""
    image = ns.image if image is None else image
    if verb == "vary":
        return backend.vary_job(image, ns.n, ns.seed, ns.strength, ns.prompt, settings, ns.eta)
    if verb == "inpaint":
        return backend.inpaint_job(image, ns.mask, ns.prompt, ns.n, ns.seed, ns.feather, ns.invert, ns.condition,
                                   settings)  # fmt: skip
    return backend.zoom_out_job(image, ns.factor, ns.anchor, ns.prompt, ns.n, ns.seed, ns.feather, ns.condition,
                                settings)  # fmt: skip


def run(backend: Any, verb: str, ns: argparse.Namespace, job: Any, out: Path) -> list[Path]:
    """Run one verb from its first job; returns the PNGs written (zoom-out with --times K: every step's, suffixed
    _x1 ... _xK)."""
    from unclip.edit import run_edit
    from unclip.images import save_png, unused_path
    from unclip.sampling import drain

    if verb == "zoom-out":
        return zoom_sequence(backend, ns, job, out)
    edit = drain(run_edit(backend, job))
    for w in edit.warnings:
        print(f"note: {w}", file=sys.stderr)
    return [save_png(im, unused_path(out / f"{verb}_{sd:08d}.png"))
            for sd, im in zip(edit.seeds, edit.images, strict=True)]


def zoom_sequence(backend: Any, ns: argparse.Namespace, job: Any, out: Path) -> list[Path]:
    """Zoom out `--times` times (`job`: the first), each from the last result's first image; optionally the GIF
    of it all."""
    from unclip.animation import ZoomStep, save_gif
    from unclip.edit import run_edit
    from unclip.images import save_png, unused_path
    from unclip.sampling import drain
    from unclip.settings import zoom_seeds

    times = ns.times  # a whole number from 1 to 50, checked in `main`
    steps, paths, first = [], [], job.seeds
    for k in range(1, times + 1):
        edit = drain(run_edit(backend, job))
        if not steps:  # the first frame: the input as the model saw it (its centre crop)
            steps.append(ZoomStep(edit.original))
            for w in edit.warnings:
                print(f"note: {w}", file=sys.stderr)
        steps.append(ZoomStep(edit.images[0], edit.box))
        suffix = f"_x{k}" if times > 1 else ""
        paths += [save_png(im, unused_path(out / f"zoom-out_{sd:08d}{suffix}.png"))
                  for sd, im in zip(edit.seeds, edit.images, strict=True)]
        if k < times:  # each ring with fresh noise: zoom k + 1 takes the seeds after zoom k's (as the app does)
            job = make_job(backend, "zoom-out", ns, job.settings, image=edit.images[0])
            job.seeds = zoom_seeds(first, k + 1)
    if ns.gif:
        paths.append(save_gif(steps, unused_path(out / "zoom.gif")))
    return paths


def main(verb: str, argv: list[str]) -> int:
    from unclip.cli import _settings, open_backend
    from unclip.settings import as_int

    p = parser(verb)
    ns = p.parse_intermixed_args(argv)  # IMAGE --mask MASK PROMPT
    if ns.mode is not None and (verb == "vary" or ns.condition == "image"):  # it would only mislabel the PNGs
        p.error(f"--mode applies to inpaint and zoom-out with --condition prompt; {verb} "
                f"{'conditions on the image' if verb == 'vary' else 'has --condition image'}")
    ns.mode = ns.mode or "prior"
    backend = open_backend(ns.model, ns.device, ns.precision, ns.threads)
    if backend is None:
        return 2
    try:
        if verb == "zoom-out":
            ns.times = as_int("times", ns.times, *TIMES)  # checked before --out is made; zoom_sequence reads it
        job = make_job(backend, verb, ns, _settings(backend, ns, ns.mode))
        if verb == "vary" and ns.eta is not None and ns.decoder_scheduler not in (None, "ddim"):
            print(f"note: --eta decodes with ddim, the sampler its inversion undoes, not --decoder-scheduler "
                  f"{ns.decoder_scheduler}", file=sys.stderr)
        out = writable_dir(ns.out)
        for path in run(backend, verb, ns, job, out):
            print(path)
    except InvalidInput as e:
        hint = next((f" ({h})" for start, h in CLI_HINTS.get(verb, {}).items() if str(e).startswith(start)), "")
        print(f"error: {e}{hint}", file=sys.stderr)
        return 2
    return 0
