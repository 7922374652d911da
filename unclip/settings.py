"""Per-request settings, validated once at the edge with messages that name the field and what is allowed.

Values may arrive from a UI or an HTTP API as strings, floats or NaN: `as_int`/`as_float` accept only finite
numbers inside a range and raise `InvalidInput` (a ValueError) otherwise. Nothing here touches tensors.
"""

from __future__ import annotations

import math
import os
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

MODES = ("prior", "text_embedding", "caption_only")
MODE_HELP = {
    "prior": "caption -> prior -> CLIP image embedding -> decoder (the full unCLIP stack)",
    "text_embedding": "the CLIP text embedding fed to the decoder as if it were an image embedding (no prior)",
    "caption_only": "the decoder sees only the caption; its image embedding is the learned 'null' vector",
}
MAX_THREADS = 256  # --threads, for every verb that takes it (train, the judge, generate, ...)
THREADS_ALLOWED = f"0 (torch's default) to {MAX_THREADS}"
LIMITS = {"n": (1, 8), "steps": (1, 200), "guidance": (0.0, 30.0), "candidates": (1, 8),
          "seed": (0, 2**32 - 1)}


class InvalidInput(ValueError):
    """A request value out of range or of the wrong kind; the message is meant for the user."""


def _number(name: str, value: Any, allowed: str) -> float:
    """`value` as a finite float; `allowed` says what the field takes, for the message when it is empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidInput(f"{name} is empty: enter {allowed}")
    if isinstance(value, bool):
        raise InvalidInput(f"{name} must be a number, got {value!r}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(x):
        raise InvalidInput(f"{name} must be a finite number, got {value!r}")
    return x


def as_int(name: str, value: Any, lo: int, hi: int) -> int:
    x = _number(name, value, f"a whole number between {lo} and {hi}")
    if x != int(x) or not lo <= x <= hi:
        raise InvalidInput(f"{name} must be a whole number between {lo} and {hi}, got {value!r}")
    return int(x)


def as_float(name: str, value: Any, lo: float, hi: float) -> float:
    x = _number(name, value, f"a number between {lo:g} and {hi:g}")
    if not lo <= x <= hi:
        raise InvalidInput(f"{name} must be between {lo:g} and {hi:g}, got {value!r}")
    return x


def as_choice(name: str, value: Any, choices: tuple[str, ...] | list[str]) -> str:
    if value not in choices:
        raise InvalidInput(f"{name} must be one of {', '.join(map(str, choices))}; got {value!r}")
    return str(value)


def as_bool(name: str, value: Any) -> bool:
    """A switch: True or False only (bool("false") is True: a string or a number here is a caller's mistake)."""
    if not isinstance(value, bool):
        raise InvalidInput(f"{name} must be true or false, got {value!r}")
    return value


def as_prompt(value: Any, name: str = "prompt", allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text, got {type(value).__name__}")
    text = " ".join(value.split())
    if not any(unicodedata.category(ch)[0] in "LNPS" for ch in text):  # only spaces, zero-widths, controls
        text = ""
    if not text and not allow_empty:
        raise InvalidInput(f"{name} is empty: describe the image, e.g. 'a cat above a pizza'")
    return text


def image_seeds(seed: int, n: int) -> list[int]:
    """The seeds of a request's n images: seed, seed + 1, ..., wrapping past the largest seed to 0, so every
    image's seed is one the seed box accepts and can be typed back to reproduce it."""
    size = LIMITS["seed"][1] + 1
    return [(seed + i) % size for i in range(n)]


def zoom_seeds(seeds: list[int], zoom: int) -> list[int]:
    """The seeds of zoom number `zoom` (1, 2, ...) of an infinite zoom whose first zoom used `seeds`: the next ones
    along (seed + (zoom - 1) n, wrapping as `image_seeds`), so each ring gets fresh noise; with one seed for all
    the rings repeated one pattern. Every PNG records the seed it used."""
    return image_seeds(seeds[0] + (zoom - 1) * len(seeds), len(seeds))


@dataclass(frozen=True)
class PriorSettings:
    steps: int = 10
    guidance: float = 1.0  # the paper found prior guidance unhelpful; Karlo uses 4
    candidates: int = 2  # the paper samples 2 and keeps the one closest to the text embedding
    scheduler: str = "ddim"


@dataclass(frozen=True)
class DecoderSettings:
    steps: int = 16
    guidance: float = 3.0
    scheduler: str = "dpm++"


@dataclass(frozen=True)
class UpsamplerSettings:
    steps: int = 4
    scheduler: str = "ddim"
    enabled: bool = True  # False: stop at the decoder's 64 px


@dataclass(frozen=True)
class GenerateSettings:
    mode: str = "prior"
    prior: PriorSettings = field(default_factory=PriorSettings)
    decoder: DecoderSettings = field(default_factory=DecoderSettings)
    upsampler: UpsamplerSettings = field(default_factory=UpsamplerSettings)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GenerateSettings:
        """`to_dict`'s inverse, unchecked (`validated` checks the values); KeyError when a stage lacks a field, as
        every stored one has them all (a missing one must not quietly become a default)."""
        def stage(kind: type, key: str) -> Any:
            return kind(**{f.name: d[key][f.name] for f in fields(kind)})

        return cls(d.get("mode", "prior"), stage(PriorSettings, "prior"), stage(DecoderSettings, "decoder"),
                   stage(UpsamplerSettings, "upsampler"))

    def with_mode(self, mode: str) -> GenerateSettings:
        return replace(self, mode=as_choice("mode", mode, MODES))

    def for_inversion(self) -> GenerateSettings:
        """A copy that decodes with DDIM, the sampler `pipeline.invert` undoes: its x_T then decodes back to the
        picture (η variations, inverted text diffs and interpolations)."""
        return replace(self, decoder=replace(self.decoder, scheduler="ddim"))

    def validated(self, schedulers: tuple[str, ...] | list[str],
                  usable: Callable[[str], tuple[str, ...]] | None = None) -> GenerateSettings:
        """A copy with every field checked and coerced; raises InvalidInput naming the first bad field.

        `usable(stage)`: that stage's own schedulers (`UnCLIP.stage_schedulers`), which an unknown name's message
        lists; a known one the stage cannot use is left to `UnCLIP.validate`, which says why."""
        lo, hi = LIMITS["steps"]
        glo, ghi = LIMITS["guidance"]
        p, d, u = self.prior, self.decoder, self.upsampler
        for name, stage, kind in (("prior", p, PriorSettings), ("decoder", d, DecoderSettings),
                                  ("upsampler", u, UpsamplerSettings)):  # fmt: skip
            if not isinstance(stage, kind):  # else an AttributeError on its first field
                raise InvalidInput(f"{name} settings must be a {kind.__name__}, got {type(stage).__name__}")

        def scheduler(stage: str, value: Any) -> str:
            return str(value) if value in schedulers else \
                as_choice(f"{stage} scheduler", value, usable(stage) if usable else schedulers)

        prior = PriorSettings(
            steps=as_int("prior steps", p.steps, lo, hi),
            guidance=as_float("prior guidance", p.guidance, glo, ghi),
            candidates=as_int("prior candidates", p.candidates, *LIMITS["candidates"]),
            scheduler=scheduler("prior", p.scheduler))
        decoder = DecoderSettings(
            steps=as_int("decoder steps", d.steps, lo, hi),
            guidance=as_float("decoder guidance", d.guidance, glo, ghi),
            scheduler=scheduler("decoder", d.scheduler))
        upsampler = UpsamplerSettings(
            steps=as_int("upsampler steps", u.steps, lo, hi),
            scheduler=scheduler("upsampler", u.scheduler),
            enabled=as_bool("upsampler", u.enabled))
        # the prior's loop runs in every mode (the no-prior modes draw its noise); a switched-off upsampler's does not
        running = (("prior", prior), ("decoder", decoder)) + ((("upsampler", upsampler),) if upsampler.enabled else ())
        for name, stage in running:
            if stage.scheduler == "unclip" and stage.steps < 2:
                raise InvalidInput(f"{name} steps must be at least 2 with the 'unclip' scheduler, got {stage.steps}")
        return GenerateSettings(as_choice("mode", self.mode, MODES), prior, decoder, upsampler)


def writable_dir(path: str | Path, flag: str = "--out", create: bool = True) -> Path:
    """An output folder, refused (naming the flag) before any sampling or training rather than after, when the
    work would be lost. create=False only looks (the nearest existing folder must be writable); create=True
    also makes the folder and writes a file there to be sure."""
    if not str(path).strip():  # Path("") is the current folder
        raise InvalidInput(f"{flag} is empty: give a folder (it is created if missing)")
    folder = Path(path)
    existing = next((p for p in (folder, *folder.parents) if p.exists()), Path("."))
    if existing.exists() and not existing.is_dir():
        raise InvalidInput(f"{flag}: '{existing}' is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InvalidInput(f"{flag}: cannot write to '{path}' (no permission in '{existing}')")
    if create:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as e:
            raise InvalidInput(f"{flag}: cannot write to '{path}' ({e.strerror or e})") from None
    return folder
