"""The tiny family: our own miniature unCLIP, with Karlo's structure and on-disk layout.

    DIR/unclip_config.json        {"family": "tiny", "config": TinyConfig, "defaults": Defaults, ...}
    DIR/clip/open_clip_config.json + open_clip_model.safetensors   (open_clip "local-dir:" loader)
    DIR/prior/, text_proj/, decoder/, upsampler/   (diffusers save_pretrained / from_pretrained)
    DIR/scheduler_configs.json    the training (DDPM) schedule of each diffusion stage

`build_random` makes the same components with random weights (tests, CI, and the fallback when the bundled
weights are missing). Weights load from safetensors only.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import stat
import uuid
from collections.abc import Callable, Iterator
from copy import deepcopy
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, TypeVar

import open_clip
import torch
from diffusers import PriorTransformer, UNet2DConditionModel, UNet2DModel
from diffusers.pipelines.deprecated.unclip.text_proj import UnCLIPTextProjModel
from safetensors import SafetensorError
from safetensors.torch import save_file

from unclip.config import DecoderConfig, TinyConfig, check_keys
from unclip.families.hub import read_json
from unclip.models import Defaults, UnCLIPModels

FAMILY = "tiny"
T = TypeVar("T")
CONFIG_FILE = "unclip_config.json"


def scheduler_configs(num_train_timesteps: int = 1000, residual_upsampler: bool = True,
                      decoder_target: str = DecoderConfig.prediction_type) -> dict[str, dict[str, Any]]:
    """Training schedules (cosine, Nichol & Dhariwal 2021). Samplers are built from these per request."""
    base = {"num_train_timesteps": num_train_timesteps, "beta_schedule": "squaredcos_cap_v2"}
    upsampler_target = "sample" if residual_upsampler else "epsilon"
    return {
        "prior": {**base, "prediction_type": "sample", "clip_sample": True, "clip_sample_range": 5.0},
        "decoder": {**base, "prediction_type": decoder_target, "clip_sample": True, "clip_sample_range": 1.0},
        "upsampler": {**base, "prediction_type": upsampler_target, "clip_sample": True, "clip_sample_range": 1.0},
    }


def build_clip(config: TinyConfig) -> torch.nn.Module:
    return open_clip.model.CLIP(**config.clip.open_clip_cfg())


def own_rng(build: Callable[..., T]) -> Callable[..., T]:
    """Let `build` seed the global RNG for its weights without changing the caller's RNG stream."""
    @functools.wraps(build)
    def wrapped(*args: Any, **kwargs: Any) -> T:
        with torch.random.fork_rng(devices=[]):
            return build(*args, **kwargs)
    return wrapped


@own_rng
def build_components(config: TinyConfig, seed: int = 0) -> dict[str, torch.nn.Module]:
    """Fresh (random) components, deterministic for `seed`; the caller's global RNG is left as it was."""
    torch.manual_seed(seed)
    c = config
    prior = PriorTransformer(**c.prior.kwargs(c.clip))
    with torch.no_grad():  # identity normalisation until the trainer measures CLIP's statistics
        prior.clip_mean.zero_()
        prior.clip_std.fill_(c.clip.embed_dim**-0.5)
    upsampler = UNet2DModel(**c.upsampler.kwargs())
    if c.upsampler.residual:  # zero output: an untrained residual upsampler is exactly bicubic
        torch.nn.init.zeros_(upsampler.conv_out.weight)
        torch.nn.init.zeros_(upsampler.conv_out.bias)
    clip = build_clip(c)
    text_proj, decoder = build_decoder(c)
    return {"clip": clip, "prior": prior, "text_proj": text_proj, "decoder": decoder, "upsampler": upsampler}


def build_decoder(config: TinyConfig) -> tuple[UnCLIPTextProjModel, UNet2DConditionModel]:
    """Fresh (random, from torch's global RNG) text_proj and decoder: their widths follow `config.decoder`."""
    return (UnCLIPTextProjModel(**config.decoder.text_proj_kwargs(config.clip)),
            UNet2DConditionModel(**config.decoder.unet_kwargs(config.clip)))


def assemble(parts: dict[str, torch.nn.Module], config: TinyConfig, defaults: Defaults, name: str,
             notice: str = "", schedules: dict[str, dict[str, Any]] | None = None) -> UnCLIPModels:
    return UnCLIPModels(upsampler_patch=config.upsampler.patch_size, upsampler_residual=config.upsampler.residual,
        family=FAMILY, clip=parts["clip"], tokenizer=open_clip.tokenizer.SimpleTokenizer(),
        prior=parts["prior"], text_proj=parts["text_proj"], decoder=parts["decoder"],
        upsampler=parts["upsampler"], scheduler_configs=schedules or scheduler_configs(
            residual_upsampler=config.upsampler.residual, decoder_target=config.decoder.prediction_type),
        defaults=defaults, name=name, notice=notice)


# A model the trainers make samples with the bundled model's defaults (models/tiny-emoji/unclip_config.json), so a
# class's retrained model and the shipped one compare like with like; prior guidance 2 was measured to help there
# (models/tiny-emoji/README.md). Defaults() has the paper's prior guidance 1.
TRAINED_DEFAULTS = Defaults(prior_guidance=2.0)


def build_random(config: TinyConfig | None = None, seed: int = 0, notice: str = "") -> UnCLIPModels:
    """tiny-random: the bundled architecture (shrunk), random weights; for tests and as a fallback."""
    config = config or TinyConfig.random()
    defaults = Defaults(prior_steps=4, decoder_steps=4, upsampler_steps=2)
    return assemble(build_components(config, seed), config, defaults, "tiny-random", notice)


PARTS = ("clip", "prior", "text_proj", "decoder", "upsampler")


def save(models: UnCLIPModels, directory: str | Path, config: TinyConfig, dtype: torch.dtype = torch.float16,
         extra: dict[str, Any] | None = None, only: tuple[str, ...] = PARTS) -> Path:
    """Write components (`only` these) with their library's own format, in shards of at most 16 MB.

    Each part is written whole into a hidden folder beside it, and only then swapped in (renames), so a save that
    fails or is cut short (a full disk, a second Ctrl-C in training) leaves the old parts and a model dir that
    still loads. Trainers of different stages may run at once on one model dir: each writes only its own parts
    (and their sections of the config, so a trainer started earlier does not put back another part's old size),
    and unclip_config.json is replaced atomically with their `extra` keys merged in.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    staged, olds = {}, {}
    try:
        for name in (n for n in PARTS if n in only):
            staged[name] = _staging(_target(out, name), "tmp")
            if name == "clip":
                state = {k: v.detach().to("cpu", dtype).contiguous() for k, v in models.clip.state_dict().items()}
                save_file(state, staged[name] / "open_clip_model.safetensors")
                clip_cfg = {"model_cfg": config.clip.open_clip_cfg(),
                            "preprocess_cfg": {"mean": list(models.image_mean), "std": list(models.image_std)}}
                (staged[name] / "open_clip_config.json").write_text(json.dumps(clip_cfg, indent=2))
            else:
                part = deepcopy(getattr(models, name)).to("cpu")
                part._apply(lambda t: t.to(dtype) if t.is_floating_point() else t)
                part.save_pretrained(staged[name], safe_serialization=True, max_shard_size="16MB")
        _readable(list(staged.values()))
        with _save_lock(out):  # all written: swap them in, one rename pair each (two savers of a part: in turn)
            for name, folder in staged.items():
                target = _target(out, name)
                if target.is_dir():  # (a group-shared part folder stays shared)
                    folder.chmod(stat.S_IMODE(target.stat().st_mode))
                olds[name] = _staging(target, "old", create=False)
                if target.exists() or target.is_symlink():
                    target.replace(olds[name])
                folder.replace(target)
                _remove(olds[name])
    finally:
        for name, old in olds.items():  # cut between a pair's renames: the old part goes back
            target = _target(out, name)
            if (old.exists() or old.is_symlink()) and not target.exists():
                old.replace(target)
        for folder in staged.values():  # (a no-op once swapped in)
            _remove(folder)
    with _save_lock(out):  # (read, merged and written by one saver at a time)
        write_text(out / "scheduler_configs.json", json.dumps(models.scheduler_configs, indent=2))
        old = read_meta(out) if (out / CONFIG_FILE).exists() else {}
        sections = config.to_dict()  # clip, prior, decoder, upsampler: a part's architecture
        if "config" in old:  # the parts not written keep the architecture on disk, which another stage's trainer
            sections = {**old["config"], **{k: v for k, v in sections.items() if k in only}}  # may have changed
        meta = {**old, "family": FAMILY, "config": sections, "defaults": asdict(models.defaults)}
        for key, value in (extra or {}).items():
            meta[key] = {**meta.get(key, {}), **value} if isinstance(value, dict) else value
        write_meta(out, meta)
    return out


def _target(out: Path, name: str) -> Path:
    """Where part `name` lives: out/name, or the folder it links to (a part shared between model dirs)."""
    path = out / name
    return path.resolve() if path.is_symlink() else path


def _staging(target: Path, kind: str, create: bool = True) -> Path:
    """A hidden folder name beside `target` (loaders never look at it), unique to this save; a leftover of a
    save whose process has died is removed first (another process's, still saving, is left alone)."""
    pid = os.getpid()
    for leftover in target.parent.glob(f".{target.name}.*.{kind}"):
        owner = leftover.name.split(".")[-3]  # .<name>.<pid>.<random>.<kind>
        if owner.isdigit() and int(owner) != pid and not _alive(int(owner)):
            _remove(leftover)
    folder = target.parent / f".{target.name}.{pid}.{uuid.uuid4().hex[:8]}.{kind}"
    if create:
        folder.mkdir()
    return folder


def _alive(pid: int) -> bool:
    if os.name != "posix":  # (Windows' os.kill would end the process): never taken for dead
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's, alive
        return True
    return True


@contextlib.contextmanager
def _save_lock(out: Path) -> Iterator[None]:
    """One saver at a time swaps parts in and merges unclip_config.json (an advisory lock on out/.save.lock;
    none where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(out / ".save.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


def _readable(folders: list[Path]) -> None:
    """Weights as readable as the user's other files: safetensors 0.8 writes through a private temp file and
    leaves them -rw------- (safetensors#782), so on a shared classroom machine, or in a container running as
    another user, the app could not read a teacher's model."""
    mask = os.umask(0)
    os.umask(mask)
    for path in (p for folder in folders for p in folder.glob("*.safetensors")):
        path.chmod(0o666 & ~mask)


def read_meta(directory: str | Path) -> dict[str, Any]:
    """unclip_config.json: family, config (each part's architecture), defaults, training records."""
    return read_json(Path(directory) / CONFIG_FILE, "a tiny model's family, config and defaults")


def write_meta(directory: str | Path, meta: dict[str, Any]) -> None:
    """Replace unclip_config.json atomically (trainers of several stages may write one model dir at once)."""
    write_text(Path(directory) / CONFIG_FILE, json.dumps(meta, indent=2))


def write_text(path: Path, text: str) -> None:
    """Replace a file atomically: readers see the old text or the new, never half of it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)  # (a failed write: no half file left beside it)


def is_tiny_dir(directory: str | Path) -> bool:
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        return False
    try:
        meta = json.loads(path.read_text())
    except ValueError as e:  # JSON or UTF-8
        raise ValueError(f"{path} is not valid JSON ({e})") from None
    return isinstance(meta, dict) and meta.get("family") == FAMILY  # (JSON of another kind: not a tiny model)


def load(directory: str | Path, name: str | None = None) -> UnCLIPModels:
    """Load a saved tiny model; each part through its own library's loader, float32."""
    d = Path(directory)
    meta = read_meta(d)
    kw = {"use_safetensors": True, "torch_dtype": torch.float32, "low_cpu_mem_usage": False}
    loaders = {
        "clip": lambda: open_clip.create_model(f"local-dir:{d / 'clip'}", load_weights=True).float(),
        "prior": lambda: PriorTransformer.from_pretrained(d, subfolder="prior", **kw),
        "text_proj": lambda: UnCLIPTextProjModel.from_pretrained(d, subfolder="text_proj", **kw),
        "decoder": lambda: UNet2DConditionModel.from_pretrained(d, subfolder="decoder", **kw),
        "upsampler": lambda: UNet2DModel.from_pretrained(d, subfolder="upsampler", **kw),
    }
    config, defaults = _checked_meta(d, meta)
    parts = {part: load_part(d / part, loader) for part, loader in loaders.items()}
    clip_cfg = json.loads((d / "clip" / "open_clip_config.json").read_text()).get("preprocess_cfg", {})
    schedules = _checked_schedules(d)
    # what the upsampler predicts follows from its config (x0 as a residual, or epsilon)
    schedules["upsampler"]["prediction_type"] = "sample" if config.upsampler.residual else "epsilon"
    models = assemble(parts, config, defaults, name or d.name, schedules=schedules)
    models.image_mean = tuple(clip_cfg.get("mean", models.image_mean))
    models.image_std = tuple(clip_cfg.get("std", models.image_std))
    return models


def _checked_meta(d: Path, meta: dict[str, Any]) -> tuple[TinyConfig, Defaults]:
    """unclip_config.json's architecture and sampling defaults, or ValueError naming the file and the field (a file
    edited by hand). The defaults' values are checked with every request's (backend.load_backend)."""
    try:
        config = TinyConfig.from_dict(meta.get("config"))
        saved = meta.get("defaults", {})
        if not isinstance(saved, dict):
            raise ValueError(f"defaults must be an object with the keys {', '.join(f.name for f in fields(Defaults))}"
                             f", got {type(saved).__name__}")  # fmt: skip
        return config, Defaults(**check_keys(saved, Defaults, "defaults"))  # (a key left out: the default)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{d / CONFIG_FILE}: {e}") from None


def _checked_schedules(d: Path) -> dict[str, Any]:
    """scheduler_configs.json: one diffusers scheduler config per stage, or ValueError naming the file."""
    path = d / "scheduler_configs.json"
    schedules = read_json(path, "a scheduler config per stage")
    missing = [s for s in ("prior", "decoder", "upsampler") if not isinstance(schedules.get(s), dict)]
    if missing:
        raise ValueError(f"{path} must hold a scheduler config (an object) for each of prior, decoder and upsampler; "
                         f"{missing[0]} has none")
    return schedules


def load_part(folder: Path, loader: Callable[[], torch.nn.Module]) -> torch.nn.Module:
    """Run one part's loader. Weights that do not fit the part's config (a config edited by hand, or weights of
    another architecture) raise OSError naming the folder and the first mismatch, as a damaged file does, where
    torch raises a RuntimeError listing every tensor."""
    try:
        return loader()
    except SafetensorError as e:  # a damaged file in the clip part (open_clip lets it through; diffusers does not)
        raise OSError(f"{folder}: a weights file is damaged (safetensors: {e}); copy or export the model again"
                      ) from None  # fmt: skip
    except RuntimeError as e:
        lines = [line.strip() for line in str(e).splitlines() if line.strip()]
        first = next((line for line in lines if "mismatch" in line or "key" in line), lines[0] if lines else "")
        raise OSError(f"{folder}: its weights do not fit its config: {first[:300]}") from None


def config_of(directory: str | Path) -> TinyConfig:
    return TinyConfig.from_dict(read_meta(directory).get("config"))
