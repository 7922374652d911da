"""Trainers for the four stages: `python -m unclip train clip|prior|decoder|upsampler [options]`.

Train in this order (each stage reads the frozen CLIP): clip, then prior / decoder / upsampler (the upsampler
does not need CLIP and can run first or alongside; the prior and decoder refuse a model dir without a trained
CLIP). Every stage resumes from runs/<name>/<stage>.pt, <name> being --out's folder name unless --run-dir says.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import fields
from pathlib import Path

import torch

from unclip.families import tiny
from unclip.settings import InvalidInput, writable_dir
from unclip.train.common import (
    NEEDS_CLIP,
    WEIGHTINGS,
    TrainArgs,
    check_checkpoints,
    clip_fingerprint,
    load_or_create,
    pick_device,
    read_checkpoint,
    run,
    set_aside,
    stale_clip,
    stale_clip_error,
    unwritable,
)


def train(args: TrainArgs, stale: str = "refuse") -> dict:
    """Train one stage. `stale`: what to do with a prior or decoder checkpoint made against another CLIP than
    --out's: "refuse" (one line saying so), or "restart" (`train all`, whose CLIP stage has just trained on: the
    checkpoint is kept beside as <stage>.earlier-clip.pt and the stage trains on from --out's weights)."""
    from unclip.train.stages import STAGES
    from unclip.world import EmojiWorld

    if args.stage not in STAGES:
        raise ValueError(f"stage must be one of {', '.join(STAGES)}, got {args.stage!r}")
    args.check()
    for folder, flag in ((args.out, "--out"), (args.run_dir, "--run-dir")):  # both looked at before either is made
        writable_dir(folder, flag, create=False)
    state = read_checkpoint(args)  # a file that is no checkpoint is refused before anything is written
    needs_clip = args.stage in NEEDS_CLIP  # (their CLIP is trained and stays as it is: one fingerprint serves)
    clip = clip_fingerprint(Path(args.out)) if needs_clip else None
    stale_checkpoint = stale_clip(state, clip)
    if stale_checkpoint:
        if stale != "restart":
            raise stale_clip_error(args)
        state = None
    if (bad := unwritable(Path(args.out), args.stage)) is not None:
        raise ValueError(f"--out: {bad} cannot be written; the {args.stage} trainer saves its weights there: make it "
                         "writable, or train a copy of the model dir")
    made = [_first_missing(Path(f)) for f in (args.out, args.run_dir) if not Path(f).exists()]
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        for folder, flag in ((args.out, "--out"), (args.run_dir, "--run-dir")):
            writable_dir(folder, flag, create=True)
        # refuses a checkpoint of other shapes, or a prior / decoder without a trained CLIP, before it writes
        models, config = load_or_create(args, state, need_clip=needs_clip)
    except (ValueError, InvalidInput):
        for top in made:  # a refused run leaves no empty folders behind (nor the parents it made for them)
            for folder in sorted((top, *top.rglob("*")), key=lambda f: len(f.parts), reverse=True):
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
        raise
    if stale_checkpoint:
        aside = set_aside(args)
        print(f"[{args.stage}] its checkpoint learnt from an earlier CLIP: kept as {aside}; the {args.stage} trains "
              f"on from {args.out}'s weights against the CLIP there now")
    models.to(pick_device(args.device), torch.float32)
    stage = STAGES[args.stage](models, EmojiWorld(), args)
    summary = run(stage, models, config, args, state, clip)
    tiny.write_text(Path(args.run_dir) / f"{args.stage}_summary.json", json.dumps(summary, indent=2))
    return summary


def _first_missing(folder: Path) -> Path:
    """The outermost folder of `folder`'s path that does not exist yet (what making it creates)."""
    while not folder.parent.exists():
        folder = folder.parent
    return folder


def train_all(preset: str, overrides: dict) -> list[dict]:
    """Every stage in order with a preset's numbers (unclip/train/presets.py); `overrides` (the flags given) apply
    to all. Every stage's arguments and checkpoint are checked before the first one trains. A prior or decoder
    checkpoint made against an earlier CLIP (the CLIP stage stopped at its time limit, then trained on in this
    run) is set aside and that stage trains on from the model dir's weights."""
    from unclip.train.presets import ORDER, PRESETS

    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}")
    stages = [TrainArgs(**{**PRESETS[preset][stage], **overrides, "stage": stage}) for stage in ORDER]
    for args in stages:
        args.check()
    check_checkpoints(stages)  # a stage's checkpoint is refused now, not hours later when that stage starts
    return [train(args, stale="restart") for args in stages]


DECODER_ONLY = ("high_noise", "weighting")  # TrainArgs fields only the decoder stage reads


def check_config_flag(config: str, out: str) -> None:
    """--config sizes a new model dir; on one that already holds a model of the other size it changed nothing."""
    from unclip.config import SIZES, size_of

    try:
        if config not in SIZES or not tiny.is_tiny_dir(out):
            return  # (an unknown name is refused by TrainArgs.check)
        size = size_of(tiny.config_of(out))
    except (OSError, ValueError):  # the trainer names what is wrong with the dir
        return
    if size != config:
        held = f"the {size} size" if size else "another size"
        raise ValueError(f"--config {config}: {out} already holds a model of {held}, and --config only sizes a new "
                         "model dir: drop --config to train that model on, or give a new --out")


DEFAULT_HELP = {"run_dir": "runs/<--out's folder name> in the repository"}
FLAG_NOTES = {"high_noise": "; the decoder stage only", "weighting": "; the decoder stage only",
              "config": "; sizes a new model dir only"}
CHOICES_HELP = {"config": "default or random (tiny-random's size)", "weighting": " or ".join(WEIGHTINGS),
                "device": "auto, cpu, cuda, cuda:N or mps"}  # fmt: skip
CLIP_CUT_SHORT = ("[all] CLIP stopped at its time limit, at step {step} of {steps}. To train on, resume the stages "
                  "one at a time (train clip, then prior, decoder, upsampler, each with the same flags): running "
                  "'train all' again trains CLIP on, and the prior and decoder, which learnt from this CLIP, then "
                  "start again from their weights with a fresh learning-rate schedule.")

ALL_DONE = """[all] the model is in {out}, each stage's sample grids in {run_dir}
  open it in the app:   python app.py --model {out}
  its report card:      python -m unclip eval --model {out}"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m unclip train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    from unclip.train.presets import PRESETS

    parser.add_argument("stage", choices=["clip", "prior", "decoder", "upsampler", "all"])
    parser.add_argument("--preset", choices=list(PRESETS), default=None,
                        help="with 'all': the whole recipe (default: cpu)")

    setters: dict[str, list[str]] = {}  # flag -> the presets that set it
    for name, preset in PRESETS.items():
        for key in {key for stage in preset.values() for key in stage}:
            setters.setdefault(key, []).append(name)

    def by_preset(key: str) -> str:
        if key not in setters:
            return ""
        if len(setters[key]) == len(PRESETS):
            return " (with all: the preset's)"
        whose = "presets'" if len(setters[key]) > 1 else "preset's"
        return f" (with all: the {' and '.join(setters[key])} {whose} own)"

    for f in fields(TrainArgs):  # only the flags given reach `ns` (SUPPRESS): with 'all' they beat the preset's
        if f.name == "stage":
            continue
        flag = f"--{f.name.replace('_', '-')}"
        default = f"default: {DEFAULT_HELP.get(f.name, f.default)}{by_preset(f.name)}{FLAG_NOTES.get(f.name, '')}"
        if f.name in CHOICES_HELP:
            default = f"{CHOICES_HELP[f.name]}; {default}"
        if f.type == "bool" or isinstance(f.default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS, help=default)
        else:
            parser.add_argument(flag, type=type(f.default), default=argparse.SUPPRESS, help=default)
    ns = vars(parser.parse_args(argv))
    preset = ns.pop("preset")
    try:
        if "config" in ns:
            check_config_flag(ns["config"], ns.get("out", TrainArgs.out))
        if ns["stage"] != "all":
            if preset is not None:
                raise ValueError(f"--preset applies to 'train all' only; a single stage takes its flags ({preset!r})")
            for key in DECODER_ONLY:  # read by the decoder stage alone: elsewhere they would change nothing
                if key in ns and ns["stage"] != "decoder":
                    raise ValueError(f"--{key.replace('_', '-')} applies to the decoder stage only (this is the "
                                     f"{ns['stage']} stage)")
            summaries = [train(TrainArgs(**ns))]
        else:
            summaries = train_all(preset or "cpu", {k: v for k, v in ns.items() if k != "stage"})
    except (ValueError, InvalidInput) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for summary in summaries:
        print(json.dumps({k: v for k, v in summary.items() if k != "log"}))
    clip = summaries[0]
    if ns["stage"] == "all" and clip["step"] < clip["args"]["steps"]:
        print(CLIP_CUT_SHORT.format(step=clip["step"], steps=clip["args"]["steps"]))
    if ns["stage"] == "all":
        out, run_dir = (shlex.quote(str(clip["args"][k])) for k in ("out", "run_dir"))
        print(ALL_DONE.format(out=out, run_dir=run_dir))
    return 0
