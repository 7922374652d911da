"""What every trainer shares: the model directory, a resumable loop, EMA, and the data stream.

A trainer is a `Stage`: which module it trains, a `loss(batch_index) -> Tensor`, and a `preview()` grid. The
loop below does the rest: AdamW with warm-up, bf16 autocast on CUDA, EMA, checkpoints with optimiser + step +
RNG state (resume gives the same run as no interruption), and export of the EMA weights into the model dir.

Model dir (the shipped layout, see unclip/families/tiny.py) vs run dir (resumable state, never shipped):
    models/tiny-emoji/...            fp16 safetensors, what the app loads
    runs/tiny-emoji/<stage>.pt       fp32 weights, EMA, optimiser, step, RNG (runs/<the model dir's name>/ by default)

The prior and decoder learn from CLIP's embeddings: they need a trained CLIP, and their checkpoints record which
one (`clip_fingerprint`), so a checkpoint is not resumed against a CLIP that has trained on since.
"""

from __future__ import annotations

import copy
import hashlib
import math
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
from torch import Tensor, nn

from unclip.backend import check_device
from unclip.config import DECODER_WIDTHS, SIZES, TinyConfig, size_of, sized
from unclip.families import BUNDLED, REPO_ROOT, tiny
from unclip.models import UnCLIPModels
from unclip.settings import MAX_THREADS, THREADS_ALLOWED

T = TypeVar("T")
WEIGHTINGS = ("min-snr", "v")  # the decoder loss weights (`stages.diffusion_loss`)
# Upper limits that catch a typo (--batch 100000 filled 23 GB rendering its first batch): 8x the largest preset
# batch (512), and more threads or rendering processes than any one machine here has cores.
MAX_BATCH, MAX_WORKERS = 4096, 64


@dataclass
class TrainArgs:
    stage: str
    out: str = str(BUNDLED)  # model dir (created with fresh weights if missing); by default the one the app loads,
    run_dir: str = ""  # "": runs/<--out's folder name> in the repository, wherever it is run from
    steps: int = 1000  # total optimiser steps (resume continues up to this)
    batch: int = 64
    lr: float = 3e-4
    warmup: int = 100
    ema: float = 0.999
    save_every: int = 250
    preview_every: int = 500  # a sample grid every N steps, at the last and at a stop (previews.py); 0: none
    seed: int = 0
    device: str = "auto"
    config: str = "default"  # "default" (the bundled size) or "random" (tiny-random size, for smoke tests)
    resume: bool = True
    log_every: int = 25
    time_limit: float = 0.0  # seconds; 0 = none. Stops cleanly (with a checkpoint) when reached.
    threads: int = 0  # CPU threads for torch; 0 = torch's default (all cores)
    high_noise: float = 0.0  # decoder: share of timesteps drawn from the noisiest 10% (t >= 0.9 T); see stages.py
    weighting: str = "min-snr"  # decoder loss weights, in x0 terms: "min-snr" (Hang et al.) or "v" (stages.py)
    workers: int = -1  # processes rendering batches ahead (data.py); -1: 0 on CPU, up to 8 on an accelerator
    decoder_width: float = 0.0  # decoder channels x this (DecoderConfig.scaled); 0: as the model dir has it. On an
    # existing model dir, the decoder stage starts a fresh decoder (and text_proj) of that width, keeping the rest

    def __post_init__(self) -> None:
        if not self.run_dir:
            self.run_dir = str(default_run_dir(self.out))

    def check(self) -> None:
        """Refuse, naming the flag, a value that would crash mid-run, train nothing, or write NaN weights."""
        def number(x: float, low: float, high: float = math.inf) -> bool:
            return math.isfinite(x) and low <= x <= high

        rules = [
            ("steps", self.steps >= 1, "at least 1"),
            ("batch", 1 <= self.batch <= MAX_BATCH, f"from 1 to {MAX_BATCH}"),
            ("lr", number(self.lr, 0) and self.lr > 0, "a positive number"),
            ("warmup", self.warmup >= 0, "0 or more"),
            ("ema", number(self.ema, 0, 1) and self.ema < 1, "from 0 to 1, below 1"),
            ("save-every", self.save_every >= 1, "at least 1"),
            ("preview-every", self.preview_every >= 0, "0 (no sample grids) or more"),
            ("log-every", self.log_every >= 1, "at least 1"),
            ("seed", 0 <= self.seed < 2**63, "from 0 to 2**63 - 1"),
            ("config", self.config in SIZES, " or ".join(SIZES)),
            ("time-limit", number(self.time_limit, 0), "seconds, 0 for none"),
            ("threads", 0 <= self.threads <= MAX_THREADS, THREADS_ALLOWED),
            ("high-noise", number(self.high_noise, 0, 1), "a share from 0 to 1"),
            ("weighting", self.weighting in WEIGHTINGS, " or ".join(WEIGHTINGS)),
            ("workers", -1 <= self.workers <= MAX_WORKERS, f"-1 (automatic) to {MAX_WORKERS}"),
            ("decoder-width", self.decoder_width == 0 or number(self.decoder_width, *DECODER_WIDTHS),
             f"0 (keep) or {DECODER_WIDTHS[0]}-{DECODER_WIDTHS[1]}"),
        ]
        for flag, ok, allowed in rules:
            if not ok:
                raise ValueError(f"--{flag} must be {allowed}, got {getattr(self, flag.replace('-', '_'))!r}")
        if self.device != "auto":
            check_device(self.device, "--device")


def default_run_dir(out: str) -> Path:
    """runs/<--out's folder name> in the repository: one per model dir, so two --out folders do not resume each
    other's weights (model dirs of one name share it, and `read_checkpoint` tells them apart)."""
    return REPO_ROOT / "runs" / Path(os.path.abspath(out)).name


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def load_or_create(args: TrainArgs, state: dict | None = None, need_clip: bool = False
                   ) -> tuple[UnCLIPModels, TinyConfig]:  # fmt: skip
    """The model dir's current weights (float32), creating fresh ones there first if it has none.

    Always read back from disk, so a fresh run and a resumed one see the same (fp16-stored) frozen parts. `state`
    (`read_checkpoint`'s) must fit the weights about to be trained, and with `need_clip` (the prior and decoder
    stages) the dir must hold a trained CLIP: both checked before anything is written, so a refused run leaves
    --out as it was (no fresh model in a new folder, no fresh decoder over a trained one).
    """
    out = Path(args.out)
    if not _read(out, tiny.is_tiny_dir):
        _refuse_other_files(out, Path(args.run_dir))
        models, config = _fresh_model(args)
        _check_fits(state, models, args)
        if need_clip:
            raise _no_clip(args)
        tiny.save(models, out, config)
    else:
        config = _read(out, tiny.config_of)  # an unreadable model dir is named as that first
        if need_clip and "clip" not in _read(out, training_records):
            raise _no_clip(args)
        if args.decoder_width:
            _set_decoder_width(out, config, args, state)
    models = _read(out, tiny.load)
    _check_fits(state, models, args)
    return models, _read(out, tiny.config_of)


def _fresh_model(args: TrainArgs) -> tuple[UnCLIPModels, TinyConfig]:
    """Fresh weights of --config's size (the decoder at --decoder-width), in memory."""
    base = sized(args.config)
    config = replace(base, decoder=base.decoder.scaled(args.decoder_width)) if args.decoder_width else base
    return (tiny.assemble(tiny.build_components(config, args.seed), config, tiny.TRAINED_DEFAULTS, Path(args.out).name),
            config)


def _set_decoder_width(out: Path, config: TinyConfig, args: TrainArgs, state: dict | None) -> None:
    """--decoder-width on an existing model dir: a fresh decoder of that width, unless it has that width already."""
    size = size_of(config)
    if size is None:  # the width scales a known size's decoder: refuse rather than guess one
        raise ValueError(f"--decoder-width: {out} is neither the default nor the random size (its CLIP differs "
                         f"from both), so there is no decoder to scale; train it without --decoder-width")
    scaled = sized(size).decoder.scaled(args.decoder_width)
    wanted = replace(config.decoder, block_out_channels=scaled.block_out_channels,
                     attention_head_dim=scaled.attention_head_dim)  # fmt: skip
    if wanted != config.decoder:
        if args.stage != "decoder":
            raise ValueError(f"--decoder-width {args.decoder_width:g}: {out} has a decoder of channels "
                             f"{config.decoder.block_out_channels}; a fresh decoder of another width is made "
                             f"only by the decoder stage")  # fmt: skip
        _fresh_decoder(out, replace(config, decoder=wanted), args, state)


def _read(out: Path, reader: Callable[[Path], T]) -> T:
    """A model dir part that cannot be read -> one line naming --out and what is wrong (not a traceback)."""
    try:
        return reader(out)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"--out: {out} is not a readable tiny model dir ({type(e).__name__}: {e})") from None


def _no_clip(args: TrainArgs) -> ValueError:
    return ValueError(f"--out: the {args.stage} learns from CLIP's embeddings, and {args.out} holds no trained CLIP "
                      f"yet: train that first (python -m unclip train clip --out {args.out})")


def training_records(out: Path) -> dict:
    """The model dir's training record per stage (`_export` writes them): steps, batch, lr, run, clip, ..."""
    return tiny.read_meta(out).get("training", {})


def clip_fingerprint(out: Path) -> str | None:
    """Which CLIP a model dir holds (a hash of its stored weights), None if it has none. A prior or decoder
    checkpoint records the CLIP it learnt from."""
    path = out / "clip" / "open_clip_model.safetensors"
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.is_file() else None


def unwritable(out: Path, stage: str) -> Path | None:
    """The first folder a stage's export needs to write that cannot be written (a read-only copy of a model),
    found before training rather than at the first checkpoint: --out, where tiny.save writes each part beside
    the old one and swaps it in, and the old part folders it then empties."""
    folders = [out, *(out / part for part in OWNS[stage])]
    return next((f for f in folders if f.is_dir() and not os.access(f, os.W_OK | os.X_OK)), None)


def _refuse_other_files(out: Path, run_dir: Path) -> None:
    """A new model is written into an empty (or missing) --out only: a typo'd --out pointing at another model
    (a Karlo snapshot has decoder/ and prior/ too) must not have its weights replaced. The run dir, which
    `train` made before this, may sit inside it; hidden files (.gitkeep, .DS_Store) make no model."""
    if not out.is_dir():
        return
    run = run_dir.resolve()
    others = sorted(p.name for p in out.iterdir() if not p.name.startswith(".") and not run.is_relative_to(p.resolve()))
    if others:
        listed = ", ".join(others[:3]) + (", …" if len(others) > 3 else "")
        raise ValueError(f"--out: {out} is not empty ({listed}) and holds no tiny model ({tiny.CONFIG_FILE} of "
                         "family 'tiny'); give a new or empty folder, or the tiny model dir to continue training")


def _fresh_decoder(out: Path, config: TinyConfig, args: TrainArgs, state: dict | None) -> None:
    """Replace the model dir's decoder and text_proj by fresh ones of `config`'s size; the other parts stay."""
    models = tiny.load(out)
    torch.manual_seed(args.seed)
    models.text_proj, models.decoder = tiny.build_decoder(config)
    _check_fits(state, models, args)
    tiny.save(models, out, config, only=("text_proj", "decoder"), extra={"training": {"decoder": {}}})
    n = sum(p.numel() for p in models.decoder.parameters()) / 1e6
    print(f"fresh decoder in {out}: channels {config.decoder.block_out_channels}, {n:.1f} M parameters")


def check_checkpoints(stages: list[TrainArgs]) -> None:
    """For `train all`: every stage's checkpoint read and checked against the weights it would resume, before the
    first stage trains (the model dir's, or for a new one fresh weights of the config, built in memory only, once:
    the stages share --out, --config and --decoder-width)."""
    models = None
    for args in stages:
        state = read_checkpoint(args)
        if state is None:
            continue
        out = Path(args.out)
        existing = _read(out, tiny.is_tiny_dir)
        if existing and args.decoder_width:
            continue  # load_or_create checks it against the decoder of that width it makes
        if models is None:
            models = _read(out, tiny.load) if existing else _fresh_model(args)[0]
        _check_fits(state, models, args)


def _check_fits(state: dict | None, models: UnCLIPModels, args: TrainArgs) -> None:
    """A checkpoint to resume must hold the trained parts' weights at their shapes (names as `stages` builds the
    module: one part's own, or `decoder.` / `text_proj.` for the decoder's two)."""
    if state is None:
        return
    parts = OWNS[args.stage]
    shapes = {(f"{name}." if len(parts) > 1 else "") + k: tuple(v.shape)
              for name in parts for k, v in getattr(models, name).state_dict().items()}
    saved = {k: tuple(v.shape) for k, v in state["module"].items()}
    diff = sorted(set(shapes) ^ set(saved)) or [k for k in shapes if shapes[k] != saved[k]]
    if diff:
        k = diff[0]
        why = (f"{k}: {saved[k]} there, {shapes[k]} in {args.out}" if k in saved and k in shapes
               else f"{k} {'missing there' if k in shapes else 'not in this model'}")
        raise not_a_checkpoint(args, why)


class EMA:
    """Exponential moving average of weights with the usual warm-up: decay = min(d, (1 + n) / (10 + n))."""

    def __init__(self, module: nn.Module, decay: float):
        self.shadow = copy.deepcopy(module).eval().requires_grad_(False)
        self.decay = decay

    @torch.no_grad()
    def update(self, module: nn.Module, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        for s, p in zip(self.shadow.parameters(), module.parameters(), strict=True):
            s.lerp_(p.detach().to(s.dtype), 1 - d)


@dataclass
class Stage:
    """One trainer: the module it optimises and how to compute its loss on step i's batch."""

    name: str
    module: nn.Module  # trained (other components stay frozen)
    loss: Callable[[int], Tensor]  # step -> scalar loss; draws its own deterministic batch for that step
    export: Callable[[nn.Module], None]  # put (EMA) weights back into the UnCLIPModels before saving
    preview: Callable[[Path, int], dict[str, float]] | None = None  # write a sample grid (`previews`)
    after_step: Callable[[], None] | None = None  # after each optimiser step (e.g. clamp a parameter)


def _preview(stage: Stage, ema: EMA, step: int, args: TrainArgs) -> None:
    """The stage's sample grid from its EMA weights. A grid that fails (a full disk, say) is reported, not raised:
    training goes on, and the steps since the last checkpoint are kept."""
    stage.export(ema.shadow)
    try:
        stage.preview(Path(args.run_dir), step)
    except Exception as e:  # noqa: BLE001  anything: the grid is an aid, the training is the work
        print(f"[{args.stage}] step {step}: no sample grid ({type(e).__name__}: {e}); training goes on", flush=True)


def lr_at(step: int, args: TrainArgs) -> float:
    """Linear warm-up, then cosine decay to 10%."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def _state_path(args: TrainArgs) -> Path:
    return Path(args.run_dir) / f"{args.stage}.pt"


def save_state(path: Path, stage: Stage, ema: EMA, opt: torch.optim.Optimizer, step: int, log: list,
               clip: str | None = None, out: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"module": stage.module.state_dict(), "ema": ema.shadow.state_dict(), "opt": opt.state_dict(),
             "step": step, "torch_rng": torch.get_rng_state(), "log": log,
             "seconds": log[-1][2] if log else 0.0, "clip": clip, "out": out}
    torch.save(state, path.with_suffix(".tmp"))
    path.with_suffix(".tmp").replace(path)  # never a half-written checkpoint


def read_checkpoint(args: TrainArgs) -> dict | None:
    """The run dir's `save_state` checkpoint for this stage, if there is one to resume (read before anything is
    written). Tensors and plain values only (`weights_only`); anything else is refused, naming the file."""
    path = _state_path(args)
    if not (args.resume and path.exists()):
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)  # the RNG state must stay on the CPU
    except (EOFError, RuntimeError) as e:  # empty, or a damaged zip: their first line says which
        raise not_a_checkpoint(args, _first_line(e)) from None
    except Exception:  # other bytes end in torch's legacy unpickler, in KeyError, IndexError, UnpicklingError, ...
        raise not_a_checkpoint(args, "not a file torch.save wrote, or one holding more than tensors and "
                                     "numbers") from None  # fmt: skip
    try:
        if not isinstance(state, dict) or not isinstance(state.get("module"), dict):
            raise KeyError("module")
        if not all(isinstance(k, str) and isinstance(v, Tensor) for k, v in state["module"].items()):
            raise ValueError("its 'module' holds more than named tensors")
        for key in ("ema", "opt", "step", "torch_rng", "log"):
            state[key]  # noqa: B018 (each one must be there)
    except (KeyError, TypeError, ValueError) as e:  # a file torch.save wrote, of something else
        why = f"no {e.args[0]!r} in it" if isinstance(e, KeyError) else _first_line(e)
        raise not_a_checkpoint(args, why) from None
    trains = state.get("out")  # the model dir it trains (checkpoints from before this record: not known)
    if trains not in (None, os.path.abspath(args.out)) and Path(args.run_dir) == default_run_dir(args.out):
        raise ValueError(f"--run-dir: {path} trains {trains}, not {args.out}: model dirs of one name share the "
                         f"default run dir (runs/{Path(args.run_dir).name}); give this one its own --run-dir")
    return state


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:160].rstrip(":")


def not_a_checkpoint(args: TrainArgs, why: str) -> ValueError:
    return ValueError(f"--run-dir: {_state_path(args)} is not a {args.stage} checkpoint of this model ({why}); give "
                      "a new --run-dir (or move it away) to start afresh; --no-resume would overwrite it")


def stale_clip(state: dict | None, clip: str | None) -> bool:
    """A prior or decoder checkpoint made against another CLIP than --out's (CLIP trained on since, or another
    model's run dir): resuming it would mix the two embedding spaces. Checkpoints from before the record pass."""
    return state is not None and clip is not None and state.get("clip") not in (None, clip)


def stale_clip_error(args: TrainArgs) -> ValueError:
    return ValueError(f"--run-dir: {_state_path(args)} learnt from another CLIP than the one in {args.out} now "
                      f"(CLIP has trained on since, or it is another model's checkpoint), so it cannot resume; give a "
                      f"new --run-dir to train the {args.stage} on from {args.out}'s weights against this CLIP")


def resume(state: dict, args: TrainArgs, module: nn.Module, ema: EMA, opt: torch.optim.Optimizer
           ) -> tuple[int, list, float]:  # fmt: skip
    """Load a `read_checkpoint` state into the module, its EMA and optimiser; returns (step, log, seconds so far)."""
    try:
        module.load_state_dict(state["module"])
        ema.shadow.load_state_dict(state["ema"])
        opt.load_state_dict(state["opt"])
        torch.set_rng_state(state["torch_rng"])
        step, log = int(state["step"]), state["log"]
    except (RuntimeError, KeyError, TypeError, ValueError) as e:  # shapes were checked; the optimiser's may not fit
        why = _first_line(e)
        raise not_a_checkpoint(args, why) from None
    return step, log, state.get("seconds", log[-1][2] if log else 0.0)  # older checkpoints: from the log


class Interrupt:
    """Ctrl-C while a stage trains: the first stops it after the step in progress, with a checkpoint of that step
    (as --time-limit does; killed at once, a CPU run lost up to --save-every steps, minutes); a second stops at
    once, keeping the last checkpoint. Only in the main thread (where Python delivers signals)."""

    def __init__(self, stage: str):
        self.stage, self.requested, self._before = stage, False, None

    def __enter__(self) -> Interrupt:  # (a process that ignores Ctrl-C, such as a background job, still does)
        if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) != signal.SIG_IGN:
            self._before = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print(f"\n[{self.stage}] Ctrl-C: stopping after this step, with a checkpoint (Ctrl-C again: stop now)",
              flush=True)  # fmt: skip

    def __exit__(self, *exc: object) -> None:
        if self._before is not None:
            signal.signal(signal.SIGINT, self._before)


def run(stage: Stage, models: UnCLIPModels, config: TinyConfig, args: TrainArgs, state: dict | None,
        clip: str | None = None) -> dict:
    """Train `stage` to args.steps, from `state` (`read_checkpoint`'s) if given; returns a summary with the log.
    `clip`: the fingerprint of the CLIP a prior or decoder learns from, recorded with its weights."""
    module = stage.module.train().requires_grad_(True)
    if models.device.type == "cpu":  # oneDNN's convolutions are ~25% faster on NHWC (measured, 2 cores)
        module.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(module.parameters(), lr=args.lr, weight_decay=0.01, betas=(0.9, 0.99))
    ema, step, log, before = EMA(module, args.ema), 0, [], 0.0
    if state is not None:
        step, log, before = resume(state, args, module, ema, opt)
        state.clear()  # copied in; the checkpoint's tensors (an optimiser's state: twice the weights) can go
        print(f"[{args.stage}] resumed at step {step}")
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if models.device.type == "cuda" else _null()
    start, t0, recent = step, time.time(), []
    with Interrupt(args.stage) as interrupt:
        while step < args.steps:
            for group in opt.param_groups:
                group["lr"] = lr_at(step, args)
            with autocast:
                loss = stage.loss(step)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
            opt.step()
            if stage.after_step:
                with torch.no_grad():
                    stage.after_step()
            ema.update(module, step)
            step += 1
            recent.append(loss.item())
            timed_out = args.time_limit and time.time() - t0 > args.time_limit
            stopping = timed_out or interrupt.requested  # either way: a checkpoint of this step, then stop
            if step % args.log_every == 0 or step == args.steps or stopping:  # the log ends at the last step run
                log.append([step, float(np.mean(recent)), round(before + time.time() - t0, 3)])  # seconds in all
                print(f"[{args.stage}] step {step}/{args.steps} loss {log[-1][1]:.4f} "
                      f"({(time.time() - t0) / (step - start):.3f} s/step)", flush=True)
                recent = []
            if step % args.save_every == 0 or step == args.steps or stopping:
                save_state(_state_path(args), stage, ema, opt, step, log, clip, os.path.abspath(args.out))
                _export(stage, ema, step, log, models, config, args, clip)
            if stage.preview and args.preview_every and (step % args.preview_every == 0 or step == args.steps
                                                         or stopping):  # fmt: skip
                _preview(stage, ema, step, args)
            if timed_out:
                print(f"[{args.stage}] time limit reached at step {step}; resume to continue")
            if stopping:
                break
    if interrupt.requested:  # after its checkpoint: `train all` stops too, and the CLI says so (status 130)
        print(f"[{args.stage}] stopped at step {step} (Ctrl-C), its checkpoint saved: the same command resumes it")
        raise KeyboardInterrupt
    if step == start and state is not None:  # nothing left to train: --out gets the checkpoint's weights if it
        record = training_records(Path(args.out)).get(args.stage)  # has none of this stage, lags behind it, or
        lags = record is not None and record.get("run") == _run_id(args) and record.get("steps") != step
        if not record or lags or _pending(args).exists():  # its last export failed
            _export(stage, ema, step, log, models, config, args, clip)
            print(f"[{args.stage}] already at step {step} of {args.steps}; its weights are now in {args.out}")
        else:
            print(f"[{args.stage}] already at step {step} of {args.steps}; nothing to train (raise --steps to go on)")
    module.eval().requires_grad_(False)
    return {"stage": args.stage, "step": step, "seconds": round(time.time() - t0, 1), "log": log,
            "args": asdict(args), "device": str(models.device)}


def _export(stage: Stage, ema: EMA, step: int, log: list, models: UnCLIPModels, config: TinyConfig,
            args: TrainArgs, clip: str | None) -> None:
    """The EMA weights into the model dir (fp16), with this stage's training record (and the records of the legs
    before it from other run dirs, under "earlier")."""
    stage.export(ema.shadow)
    record = {"steps": step, "batch": args.batch, "lr": args.lr, "final_loss": log[-1][1] if log else None,
              "device": str(models.device), "seconds": log[-1][2] if log else 0, "run": _run_id(args)}
    if clip is not None:
        record["clip"] = clip
    old = training_records(Path(args.out)).get(args.stage) or {}  # (a fresh --decoder-width decoder's is {})
    earlier = old.get("earlier", [])  # a leg from another run dir keeps the earlier legs' records
    if old and old.get("run") != record["run"]:
        earlier = [*earlier, {k: v for k, v in old.items() if k != "earlier"}]
    if earlier:
        record["earlier"] = earlier
    _pending(args).touch()  # until the save succeeds (a failed one leaves the old parts): a rerun exports
    try:
        tiny.save(models, args.out, config, extra={"training": {args.stage: record}}, only=OWNS[args.stage])
    except OSError as e:  # the checkpoint is saved first, so the run is safe: a rerun exports it
        raise ValueError(f"--out: cannot save the {args.stage}'s weights in {args.out} ({e.strerror or e}); the "
                         f"run is safe in {_state_path(args)}: make --out writable and run the same command again"
                         ) from None
    _pending(args).unlink()


def set_aside(args: TrainArgs) -> Path:
    """`train all`: move a checkpoint that learnt from an earlier CLIP out of the way (never over an earlier one),
    and point --out's record of that leg at where it went, so the next export keeps it under "earlier"."""
    from unclip.images import unused_path

    path, run = _state_path(args), _run_id(args)
    aside = unused_path(path.with_name(f"{args.stage}.earlier-clip.pt"))
    path.replace(aside)
    meta = tiny.read_meta(args.out)
    record = meta.get("training", {}).get(args.stage, {})
    if record.get("run") == run:
        record["run"] = str(aside.resolve())
        tiny.write_meta(args.out, meta)
    return aside


def _pending(args: TrainArgs) -> Path:
    """Present while an export into --out is under way or has failed: the same command exports again."""
    return _state_path(args).with_suffix(".export-pending")


def _run_id(args: TrainArgs) -> str:
    """The checkpoint a model dir's part came from (its record's "run")."""
    return str(_state_path(args).resolve())


NEEDS_CLIP = ("prior", "decoder")  # they learn from CLIP's embeddings
OWNS = {"clip": ("clip",), "prior": ("prior",), "decoder": ("decoder", "text_proj"), "upsampler": ("upsampler",)}


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


SEED_STRIDE = 7919  # the steps' spacing in batch_seed's linear form


def batch_seed(stage: str, step: int, seed: int = 0) -> int:
    """Deterministic, distinct data for every (stage, step): resuming replays exactly the same stream.

    Seeds below SEED_STRIDE keep the linear form every recorded run used (the model card's commands replay);
    in it, seed s + 7919 would be seed s one step on, and seed s + 2**31 seed s itself, so larger seeds are
    hashed with the stage and step instead."""
    if 0 <= seed < SEED_STRIDE:
        return (hash_str(stage) * 1_000_003 + step * SEED_STRIDE + seed) % (2**31)
    digest = hashlib.blake2b(f"{stage}/{step}/{seed}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") % (2**31)


def hash_str(text: str) -> int:
    return int.from_bytes(text.encode()[:8].ljust(8, b"\0"), "little") % 1_000_000_007
