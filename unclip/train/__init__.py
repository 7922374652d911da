"""Trainers for the four stages: `python -m unclip train clip|prior|decoder|upsampler [options]`.

Train in this order (each stage reads the frozen CLIP): clip, then prior / decoder / upsampler (the upsampler
does not need CLIP and can run first or alongside). Every stage resumes from runs/<name>/<stage>.pt.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path

import torch

from unclip.settings import InvalidInput, writable_dir
from unclip.train.common import TrainArgs, load_or_create, pick_device, read_checkpoint, run


def train(args: TrainArgs) -> dict:
    from unclip.train.stages import STAGES
    from unclip.world import EmojiWorld

    if args.stage not in STAGES:
        raise ValueError(f"stage must be one of {', '.join(STAGES)}, got {args.stage!r}")
    args.check()
    for folder, flag in ((args.out, "--out"), (args.run_dir, "--run-dir")):  # both looked at before either is made
        writable_dir(folder, flag, create=False)
    state = read_checkpoint(args)  # a file that is no checkpoint is refused before anything is written
    made = [_first_missing(Path(f)) for f in (args.out, args.run_dir) if not Path(f).exists()]
    for folder, flag in ((args.out, "--out"), (args.run_dir, "--run-dir")):
        writable_dir(folder, flag, create=True)
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        models, config = load_or_create(args, state)  # refuses a checkpoint of other shapes before it writes
    except ValueError:
        for top in made:  # a refused run leaves no empty folders behind (nor the parents it made for them)
            for folder in sorted((top, *top.rglob("*")), key=lambda f: len(f.parts), reverse=True):
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
        raise
    models.to(pick_device(args.device), torch.float32)
    stage = STAGES[args.stage](models, EmojiWorld(), args)
    summary = run(stage, models, config, args, state)
    (Path(args.run_dir) / f"{args.stage}_summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def _first_missing(folder: Path) -> Path:
    """The outermost folder of `folder`'s path that does not exist yet (what making it creates)."""
    while not folder.parent.exists():
        folder = folder.parent
    return folder


def train_all(preset: str, overrides: dict) -> list[dict]:
    """Every stage in order with a preset's numbers (unclip/train/presets.py); `overrides` (the flags given) apply
    to all. Every stage's arguments are checked before the first one trains."""
    from unclip.train.presets import ORDER, PRESETS

    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}")
    stages = [TrainArgs(**{**PRESETS[preset][stage], **overrides, "stage": stage}) for stage in ORDER]
    for args in stages:
        args.check()
    return [train(args) for args in stages]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m unclip train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stage", choices=["clip", "prior", "decoder", "upsampler", "all"])
    parser.add_argument("--preset", choices=["cpu", "gpu"], default=None, help="with 'all': the whole recipe")
    from unclip.train.presets import PRESETS

    preset_keys = {key for preset in PRESETS.values() for stage in preset.values() for key in stage}
    for f in fields(TrainArgs):  # only the flags given reach `ns` (SUPPRESS): with 'all' they beat the preset's
        if f.name == "stage":
            continue
        flag = f"--{f.name.replace('_', '-')}"
        default = f"default: {f.default}" + (" (with all: the preset's)" if f.name in preset_keys else "")
        if f.type == "bool" or isinstance(f.default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS, help=default)
        else:
            parser.add_argument(flag, type=type(f.default), default=argparse.SUPPRESS, help=default)
    ns = vars(parser.parse_args(argv))
    preset = ns.pop("preset")
    try:
        if ns["stage"] != "all":
            if preset is not None:
                raise ValueError(f"--preset applies to 'train all' only; a single stage takes its flags ({preset!r})")
            summaries = [train(TrainArgs(**ns))]
        else:
            summaries = train_all(preset or "cpu", {k: v for k, v in ns.items() if k != "stage"})
    except (ValueError, InvalidInput) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for summary in summaries:
        print(json.dumps({k: v for k, v in summary.items() if k != "log"}))
    return 0
