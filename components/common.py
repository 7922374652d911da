"""Widgets and helpers every tab shares: pass-through inputs, the seed row, errors, progress, PNG output.

Nothing here does tensor maths: images arrive as PIL (via `unclip.images`) and numbers come from `unclip`.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import os
import random
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import gradio as gr
from gradio.exceptions import InvalidPathError
from PIL import Image
from pydantic import ValidationError

from unclip import InvalidInput
from unclip.images import save_png, to_pil
from unclip.sampling import Progress
from unclip.settings import LIMITS, GenerateSettings

T = TypeVar("T")
log = logging.getLogger("unclip.app")
OUTPUTS_DIR = Path(tempfile.gettempdir()) / "unclip-studio" / "outputs"  # the only files the app serves
KEEP_REQUESTS = 64  # request folders kept in OUTPUTS_DIR; older ones are deleted
PREVIEW_EVERY_S = 0.4  # at most this often a new live preview (each one is an image sent to the browser)
# at least this long between two UI updates without a preview. Each update costs the server and the browser work
# (benchmarks/RESULTS.md, "The Generate tab in a browser"). Stop still lands within this long, plus one step.
UPDATE_EVERY_S = 0.25
_PRUNING = threading.Lock()
RANDOM_SEED_MAX = 999_999  # random seeds stay short enough to read out in class


# -- inputs that leave validation to the backend --------------------------------------------------------
C = TypeVar("C", bound=gr.components.Component)
F = TypeVar("F", bound=Callable[..., Any])
GPU_SECONDS = 120  # ZeroGPU time asked per call (Karlo's 25/25/7 steps at batch 8 fit well inside)


def on_gpu(fn: F) -> F:
    """Hugging Face ZeroGPU: `spaces.GPU(fn)` when the `spaces` package is installed (a Space), else `fn` itself.
    Every handler that runs a model goes through this; the signature (which Gradio reads) is preserved."""
    try:
        import spaces  # type: ignore[import-not-found]
    except ImportError:
        return fn
    return spaces.GPU(duration=GPU_SECONDS)(fn)


# Every event that runs a model (or other heavy compute: a UMAP fit) joins this one queue, which runs at most
# `app.build_demo`'s `concurrency` events at a time (one on a CPU): two runs sharing 2 CPU cores each take twice as
# long, and hold their memory together (`check_first` puts its runs there). Light events (checks, warnings, sends)
# are not limited.
MODEL_QUEUE = {"concurrency_id": "model"}
# A light event that may show a toast: queued (Gradio drops the gr.Warning / gr.Error of an unqueued event) but
# unlimited, private to the page, with no progress overlay.
LIGHT: dict[str, Any] = {"api_visibility": "private", "concurrency_limit": None, "show_progress": "hidden"}

RAW = "unclip-raw"  # the elem_class that marks a raw input (see `raw`)


def raw(component: C, name: str | None = None) -> C:
    """Hand this input's value to the handler as received, leaving validation to the backend.

    Gradio's Slider/Number/Radio/Dropdown reject or crash on strings, NaN and out-of-range values with messages
    that do not name the field ("Value 0 is less than minimum value 1."). A raw input still renders and
    behaves the same in the browser, but `unclip.settings` gets the value and can answer
    "decoder steps must be between 1 and 200, got 0". A raw gr.Image (type "filepath") gives the uploaded file's
    path undecoded, and a raw gr.ImageEditor {"background": path or bytes, "layers": [path or bytes]}: Gradio
    would decode them first, with no size limit and a traceback for a file that is not an image, where
    `unclip.uploads` checks the size before decoding and names the field.

    The mark is an elem_class, recorded among the constructor arguments: Gradio answers any property update
    (gr.update(...), gr.skip(), an Examples click) by rebuilding the component for that session from them, and
    the rebuilt copy must stay raw too. (Not a subclass: Gradio writes a .pyi stub next to the source of every
    Component subclass it sees; and not an instance attribute, which the rebuilt copy would not have.)

    A raw slider also says when Gradio's browser side clamps a typed number to its range (`warn_when_clamped`):
    that happens before the backend sees the value. `name`: what that warning calls it (default: its label; give
    one where the label alone is ambiguous, e.g. the "Steps" of each stage).
    """
    if type(component) not in _RAW_VALUES:
        raise TypeError(f"raw: {type(component).__name__} is not one of {[c.__name__ for c in _RAW_VALUES]}")
    classes = [*_as_list(component.elem_classes), RAW]
    component.elem_classes = classes
    component.constructor_args["elem_classes"] = classes  # what a session's rebuilt copy is made from
    if isinstance(component, gr.Slider) and gr.context.Context.root_block is not None:
        warn_when_clamped(component, name)
    return component


def field_name(key: str) -> str:
    """A handler parameter as a warning names it: 'decoder_steps' -> 'Decoder steps'."""
    return key.replace("_", " ").capitalize()


def warn_when_clamped(slider: gr.Slider, name: str | None = None) -> None:
    """Gradio's slider clamps a typed number to its range when the box loses focus, silently: 20 typed into
    "Number of images" made 8 images, and an emptied box became the minimum. Its release event still carries the
    number as typed (None when emptied): say what happened."""
    lo, hi, name = slider.minimum, slider.maximum, name or slider.label or "this slider"
    whole = float(slider.step or 0).is_integer() and float(lo).is_integer()

    def clamped(evt: gr.EventData) -> None:
        if evt._data is None or (isinstance(evt._data, str) and not evt._data.strip()):  # the box was emptied
            gr.Warning(f"{name} was left empty: it was set to {lo:g}, the smallest allowed")
            return
        try:
            typed = float(evt._data)
        except (TypeError, ValueError):
            return
        if not lo <= typed <= hi:
            log.info("clamped: %s %g", name, typed)
            gr.Warning(f"{name} must be between {lo:g} and {hi:g}: {typed:g} was changed to "
                       f"{min(max(typed, lo), hi):g}")  # fmt: skip
        elif whole and not typed.is_integer():  # kept as typed: the run would refuse it by its API name ("n")
            gr.Warning(f"{name} must be a whole number, got {typed:g}")

    slider.release(clamped, **LIGHT)


def _as_list(classes: list[str] | str | None) -> list[str]:
    return [classes] if isinstance(classes, str) else list(classes or [])


def _as_is(component: Any, payload: Any) -> Any:
    return payload


def _file_path(component: Any, payload: Any) -> str | None:
    return None if payload is None else (payload.path or payload.url)


def _editor_files(component: Any, payload: Any) -> dict[str, Any] | None:
    if payload is None:
        return None
    if not payload.model_fields_set:  # not an editor value at all (a bare file through the API): {} says so
        return {}
    cached = component.blob_storage.pop(payload.id, None) if payload.id is not None else None
    if cached is not None:  # the browser sends the canvas as blobs
        return {"background": cached.background, "layers": [x for x in cached.layers if x]}
    background = payload.background.path if payload.background else None
    return {"background": background, "layers": [x.path for x in payload.layers if x and x.path]}


# what each kind of raw input hands its handler
_RAW_VALUES: dict[type, Callable[[Any, Any], Any]] = {
    gr.Slider: _as_is, gr.Number: _as_is, gr.Radio: _as_is, gr.Dropdown: _as_is,
    gr.Image: _file_path, gr.ImageEditor: _editor_files,
}  # fmt: skip


def _pass_raw_through(cls: type, value: Callable[[Any, Any], Any]) -> None:
    """`cls.preprocess`, except that an input marked raw gets `value(component, payload)`."""
    plain = cls.preprocess

    @functools.wraps(plain)
    def preprocess(self: Any, payload: Any) -> Any:
        return value(self, payload) if RAW in _as_list(self.elem_classes) else plain(self, payload)

    cls.preprocess = preprocess  # type: ignore[method-assign]


for _cls, _value in _RAW_VALUES.items():
    _pass_raw_through(_cls, _value)


def name_payload_errors(demo: gr.Blocks) -> None:
    """A file input's payload that is not a file (an API caller's `image="cat.png"` or `image=5` where
    `handle_file(...)` belongs, a path outside the uploads) is refused by Gradio before any handler runs, and
    before a raw input's own check: a server traceback, and `{"error": null}` for the caller. Answer it as every
    other mistake is answered, naming the field and the shape it takes."""
    plain = demo.preprocess_data

    async def preprocess_data(block_fn: Any, inputs: list[Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await plain(block_fn, inputs, *args, **kwargs)
        except (ValidationError, InvalidPathError) as e:
            raise user_error(payload_error(block_fn, inputs, e)) from None

    demo.preprocess_data = preprocess_data  # type: ignore[method-assign]


def payload_error(block_fn: Any, inputs: list[Any], error: Exception) -> str:
    """The message for `name_payload_errors`: the first file input whose payload fails its data model (a path
    Gradio will not read passes the model: then the first file input that was sent at all)."""
    names = list(getattr(block_fn, "input_parameter_names", None) or [])
    files = [(i, block) for i, block in enumerate(block_fn.inputs) if getattr(block, "data_model", None) is not None
             and i < len(inputs) and inputs[i] is not None]  # fmt: skip
    bad = next(((i, b) for i, b in files if not _fits(b.data_model, inputs[i])), files[0] if files else None)
    if bad is None:
        return f"the request's payload was refused ({type(error).__name__})"
    i, block = bad
    name = names[i] if i < len(names) and names[i] else (block.label or "a file input")
    shape = ('the editor\'s value, {"background": file, "layers": [files]}' if isinstance(block, gr.ImageEditor)
             else "a file")  # fmt: skip
    why = "Gradio will not read a file from that path" if isinstance(error, InvalidPathError) else \
        f"got {str(inputs[i])[:60]!r}"
    return f"{name} must be {shape}, each file as gradio_client's handle_file(path) gives it ({why})"


def _fits(model: Any, payload: Any) -> bool:
    try:
        model.model_validate(payload, context={"validate_meta": True})
    except ValidationError:
        return False
    return True


# -- errors ----------------------------------------------------------------------------------------------
def user_error(message: str) -> gr.Error:
    """A gr.Error for a user's mistake: shown in the UI/API, logged as one line (not a server traceback, which
    Gradio prints for every other exception)."""
    log.info("refused: %s", message)
    # the toast renders HTML: a caption's or file name's tags show as typed (an API client reads the same text)
    return gr.Error(no_tags(message), title="Invalid input", print_exception=False)


def no_tags(text: str) -> str:
    """User text where HTML is rendered (a toast, plotly's hover): every '<' that would open a tag as '&lt;', so
    `<img src=x>` shows as typed; "a < b" is left as it is."""
    return re.sub(r"<(?=[A-Za-z/!?])", "&lt;", text)


MAX_UPLOAD_MB = 10  # app.launch's max_file_size (and shrink_upload.js's LIMIT_BYTES)
UPLOAD_FIELDS = {"vary-image": "image", "zoom-image": "image", "explorer-diff-image": "image",
                 "explorer-files": "files", "inpaint-mask": "mask"}  # shrink_upload.js's IMAGES -> field names


def upload_refusal(report: str) -> str:
    """What to say of a file over the upload limit that the page script could not shrink (a TIFF, which browsers
    cannot open) and so kept from its box: Gradio's own refusal named no field and removed the picture already
    there (browser QA). `report`: the script's JSON {"field": elem_id, "name": the first such file's name, "bytes":
    its size, "more": how many others, "sent": how many files of the same choice went}."""
    try:
        info = json.loads(report)
        field, name, size = UPLOAD_FIELDS[info["field"]], str(info["name"])[:120], int(info["bytes"])
        more, sent = int(info.get("more", 0)), int(info.get("sent", 0))
    except (ValueError, TypeError, KeyError, OverflowError, AttributeError):
        return f"a file over the {MAX_UPLOAD_MB} MB upload limit was not sent"
    others = f" (and {more} more like it)" if more > 0 else ""
    if sent > 0:  # the rest of a multi-file choice
        kept = f"the other {sent} {'was' if sent == 1 else 'were'} sent"
    else:
        kept = "the pictures already here are kept" if field == "files" else "the picture already here is kept"
    return (f"{field}: {name} is {size / 2**20:.1f} MB{others}, over the {MAX_UPLOAD_MB} MB upload limit, and the "
            f"browser cannot open it to shrink it: save it as PNG or JPEG (or smaller) and upload that; {kept}")


def refuse_upload(report: str) -> None:
    raise user_error(upload_refusal(report))


# what Stop does, not "Stopped": the page cannot tell whether anything was running (idle, it claimed a stop, QA)
STOPPED = ("Stop: a run in progress ends at its next denoising step, and one waiting in line is dropped. The results "
           "shown stay those of the last run that finished.")


def stop_button(stop: gr.Button, runs: list[Any]) -> None:
    """Stop: cancel `runs` (each generator ends at its next step) and say so in a toast. Before, nothing on the
    page showed that anything had stopped: the live preview keeps the stopped run's last guess, beside the results
    of the run before."""
    stop.click(lambda: gr.Info(STOPPED, duration=6), cancels=runs, **LIGHT)


def click_or_enter(button: gr.Button, *boxes: gr.Textbox) -> Callable[..., Any]:
    """The event `check_first` (or any wiring) attaches to: the button's click, or Enter in any of the boxes."""
    return functools.partial(gr.on, [button.click, *(box.submit for box in boxes)])


def reveal(event: Any, elem_id: str, block: str = "nearest") -> Any:
    """After `event` succeeds, scroll the page (browser-side) to bring `elem_id` into view; nothing when it is not
    shown (a hidden tab's element has no offsetParent). For results that land below the fold."""
    js = (f"() => {{ const e = document.getElementById({elem_id!r}); "
          f"if (e && e.offsetParent) e.scrollIntoView({{block: {block!r}}}); }}")
    return event.success(None, js=js, api_visibility="private", queue=False)


ROLLS = "new_seed_every_run"  # the check's extra input (see `check_first`): the seed row's checkbox


def check_first(on: Callable[..., Any], prepare: Callable[..., Any], run: Callable[..., Any],
                inputs_kwargs: dict[str, Any], seed: SeedRow | None = None, reveal_first: str | None = None,
                **event: Any) -> Any:
    """Wire a run behind a check: attach to the event `on` (a button's `.click`, or `gr.on` over several triggers)
    an event that only validates the request (`prepare`, which raises gr.Error on bad input; no model runs), then
    `run` (`event`: its outputs, api_name, ...) on the same inputs only when the check passed; the run waits in
    the model queue (`MODEL_QUEUE`). Returns the run's event (for `cancels=`). A refused request shows its toast
    and leaves the outputs alone; refused inside the run, Gradio covers them with an "Error" badge, hiding the
    last results (or the explorer's map) until the next run. The run validates again (its API callers skip the
    check).

    With a `seed` row (its box must be `inputs_kwargs["seed"]`), "new seed every run" rolls the seed between the
    check and the run, so a refused request leaves the seed box as it was; the check then ignores the box, whose
    value the run will not use. `reveal_first`: an element brought into view once the check passed (where the
    run's progress and results will show, when that is below the fold)."""
    if seed is not None:
        assert inputs_kwargs["seed"] is seed.seed, "the seed row's box must be the run's seed input"
    signature = inspect.signature(prepare)

    @functools.wraps(prepare)
    def check(*args: Any, **kwargs: Any) -> None:
        rolls = kwargs.pop(ROLLS, False)
        bound = signature.bind(*args, **kwargs)  # Gradio passes the inputs by position where the signature allows
        if rolls:
            bound.arguments["seed"] = 0  # replaced by a fresh seed before the run
        prepare(*bound.args, **bound.kwargs)

    params = list(signature.parameters.values())
    at = next((i for i, q in enumerate(params) if q.kind is q.VAR_KEYWORD), len(params))
    extra = inspect.Parameter(ROLLS, inspect.Parameter.KEYWORD_ONLY, default=False)
    check.__signature__ = signature.replace(parameters=[*params[:at], extra, *params[at:]])  # Gradio reads it
    checked = {**inputs_kwargs, ROLLS: seed.randomize} if seed is not None else inputs_kwargs
    checking = on(check, inputs_kwargs=checked, **LIGHT)
    if reveal_first is not None:
        reveal(checking, reveal_first)
    if seed is not None:
        checking = checking.success(pick_seed, inputs=[seed.seed, seed.randomize], outputs=seed.seed,
                                    api_visibility="private", queue=False, show_progress="hidden")  # fmt: skip
    return checking.success(run, inputs_kwargs=inputs_kwargs, **MODEL_QUEUE, **event)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the backend's InvalidInput (a message meant for the user) into a gr.Error shown in the UI/API."""
    try:
        yield
    except InvalidInput as e:
        raise user_error(str(e)) from None


# -- seed row --------------------------------------------------------------------------------------------
@dataclass
class SeedRow:
    seed: gr.Number
    randomize: gr.Checkbox
    dice: gr.Button


def seed_row(value: int = 0, prefix: str = "") -> SeedRow:
    """Seed box, a Random button (new seed now) and 'new seed every run'. Image i of a request uses seed + i.
    `prefix` keeps elem_ids unique when several tabs have one (`vary-seed`, ...)."""
    lo, hi = LIMITS["seed"]
    with gr.Row(equal_height=False, elem_classes=["seed-row"]):  # the button at the box's height (app.CSS)
        seed = raw(
            gr.Number(
                value=value,
                label="Seed",
                info="image i uses seed + i",
                minimum=lo,
                maximum=hi,
                step=1,
                scale=3,
                elem_id=f"{prefix}seed",
            )
        )
        dice = gr.Button("Random", scale=0, min_width=80, elem_id=f"{prefix}seed-random")
        randomize = gr.Checkbox(value=False, label="New seed every run", scale=2, elem_id=f"{prefix}seed-randomize")
    dice.click(new_seed, outputs=seed, api_visibility="private", queue=False, show_progress="hidden")
    return SeedRow(seed, randomize, dice)


def new_seed() -> int:
    return random.randint(0, RANDOM_SEED_MAX)


def pick_seed(seed: Any, randomize: bool) -> Any:
    """The seed a run uses: a fresh one when 'new seed every run' is ticked, else the box's value untouched."""
    return new_seed() if randomize else seed


# -- "how this works" --------------------------------------------------------------------------------------
def how_it_works(title: str, sections: dict[str, str], open: bool = False) -> gr.Accordion:
    """An accordion with one short markdown panel per stage, side by side (a column each)."""
    with gr.Accordion(title, open=open, elem_classes=["how-it-works"]) as box, gr.Row():
        for heading, text in sections.items():
            with gr.Column(min_width=180):
                gr.Markdown(f"#### {heading}\n{text}")
    return box


# -- progress --------------------------------------------------------------------------------------------
def planned_steps(settings: GenerateSettings, modes: list[str] | tuple[str, ...]) -> int:
    """How many denoising steps a request will run (for the overall progress bar)."""
    per_mode = settings.decoder.steps + (settings.upsampler.steps if settings.upsampler.enabled else 0)
    return sum(per_mode + (settings.prior.steps if mode == "prior" else 0) for mode in modes)


def preview_grid(images: list[Image.Image], columns: int = 4, tile: int = 128) -> Image.Image:
    """Thumbnails side by side, `columns` a row, for the live preview."""
    cols = max(1, min(columns, len(images)))
    rows = (len(images) + cols - 1) // cols
    grid = Image.new("RGB", (cols * tile, rows * tile), "white")
    for i, im in enumerate(images):
        grid.paste(im.resize((tile, tile), Image.Resampling.BILINEAR), ((i % cols) * tile, (i // cols) * tile))
    return grid


def follow(
    stream: Generator[Progress, None, T], progress: gr.Progress, total: int, other_outputs: int
) -> Generator[tuple[Any, ...], None, T]:
    """Drive a backend stream, with a UI update (gr.Progress and a yield) at each stage's end, with each live
    preview (at most every PREVIEW_EVERY_S) and otherwise at most every UPDATE_EVERY_S.

    Each update is (live preview or skip, skip x other_outputs). Stop (`cancels=`) closes the handler at its next
    yield, so it lands within UPDATE_EVERY_S plus one denoising step. Returns the stream's return value.
    """
    done, last_preview, last_update = 0, 0.0, time.monotonic()
    skips = (gr.skip(),) * other_outputs
    with user_errors():
        while True:
            try:
                p = next(stream)
            except StopIteration as stop:
                return stop.value
            done += 1
            now = time.monotonic()
            preview = p.preview is not None and (now - last_preview >= PREVIEW_EVERY_S or p.step == p.total)
            if not (preview or p.step == p.total or now - last_update >= UPDATE_EVERY_S):
                continue
            # the progress bar moves with the updates: each progress message costs the browser the same
            progress((min(done, total), total), desc=f"{p.stage}: step {p.step}/{p.total}", unit="steps")
            last_update = now
            if preview:
                last_preview = now
            yield (preview_grid(to_pil(p.preview)) if preview else gr.skip(), *skips)


# -- PNG output ------------------------------------------------------------------------------------------
def picture_buttons(*more: str) -> list[str]:
    """A picture's toolbar: download (`more`: a gallery's "download_all") and full screen. Gradio's "share" posts to
    a Hugging Face Space's discussions and failed everywhere else ("Share failed"), so it is there only on a Space."""
    return ["download", *more, "fullscreen", *(["share"] if on_space() else [])]


def on_space() -> bool:
    """On Hugging Face Spaces (which sets SPACE_ID): the app listens on every address, and pictures can be shared."""
    return bool(os.environ.get("SPACE_ID"))


def png_gallery(label: str, columns: int, elem_id: str) -> gr.Gallery:
    """An output gallery that keeps PNG metadata (Gradio's default webp drops it) and fits its images."""
    return gr.Gallery(label=label, format="png", columns=columns, height="auto", object_fit="contain",
                      interactive=False, buttons=picture_buttons("download_all"), elem_id=elem_id,
                      elem_classes=["unclip-gallery"])  # fmt: skip


def save_outputs(images: list[Image.Image], names: list[str]) -> list[str]:
    """Write PNGs (settings kept in their 'parameters' text chunk) into a fresh folder under OUTPUTS_DIR."""
    folder = OUTPUTS_DIR / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = [str(save_png(im, folder / f"{name}.png")) for im, name in zip(images, names, strict=True)]
    prune_outputs()
    return paths


def prune_outputs(keep: int = KEEP_REQUESTS, min_age_s: float = 60.0) -> None:
    """Delete request folders beyond the newest `keep` once they are a minute old (Gradio has copied them by
    then). Safe with concurrent requests and with other app processes sharing the folder."""
    now = time.time()
    with _PRUNING:
        folders = []
        for path in OUTPUTS_DIR.iterdir():
            try:
                folders.append((path.stat().st_mtime, path))
            except OSError:  # deleted meanwhile by another process
                continue
        for mtime, old in sorted(folders)[: max(0, len(folders) - keep)]:
            if now - mtime > min_age_s:
                shutil.rmtree(old, ignore_errors=True)


_MARKUP = re.compile(r"([\\`*_\[\]~|$])")  # what formats mid-line in Markdown ($: Gradio's LaTeX); a note is one line


def literal(text: str) -> str:
    """User text (a caption, a file name) as typed, inside a one-line Markdown note: its Markdown and HTML escaped,
    line breaks as spaces, no bare URL made a link. A caption `a *red* <img src=x> [click](http://…)` was shown in
    italics, as a broken image and a live link (browser QA)."""
    text = no_tags(" ".join(text.splitlines()).replace("&", "&amp;"))
    for bare, entity in (("://", "&#58;//"), ("www.", "www&#46;"), ("@", "&#64;")):  # no autolinks (GFM)
        text = text.replace(bare, entity)
    return _MARKUP.sub(r"\\\1", text)


def shorten(text: str, most: int = 60) -> str:
    """A caption for a summary line: at most `most` characters, cut at a word with '…'."""
    return text if len(text) <= most else text[: most - 1].rsplit(" ", 1)[0] + "…"


def seed_text(seeds: list[int]) -> str:
    """'seed 7', 'seeds 7–9'; a run that wraps past the largest seed back to 0 (as the CLI's do) reads
    'seeds 4294967295 and 0–1', not a backwards range."""
    if len(seeds) == 1:
        return f"seed {seeds[0]}"
    runs = [[seeds[0]]]  # runs of consecutive seeds
    for s in seeds[1:]:
        if s == runs[-1][-1] + 1:
            runs[-1].append(s)
        else:
            runs.append([s])
    parts = [f"{r[0]}–{r[-1]}" if len(r) > 1 else f"{r[0]}" for r in runs]
    return "seeds " + ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]


def count(n: int, noun: str) -> str:
    """'1 zoom', '3 zooms'."""
    return f"{n} {noun if n == 1 else noun + 's'}"


def format_warnings(warnings: list[str]) -> str:
    """Show each warning as a toast and return them as markdown lines for the info box."""
    for w in warnings:
        gr.Warning(w)
    return "".join(f"\n\n⚠️ {w}" for w in warnings)
