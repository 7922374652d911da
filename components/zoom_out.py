"""The Zoom out tab: shrink the picture into a canvas of its own size and let the model paint the border.

API (stable, see the README): `/zoom_out` with named parameters image, factor, anchor, prompt, condition, feather,
seed and the per-stage settings. "Zoom out again" (UI only) continues from the last result; the sequence lives
in gr.State (per browser tab) and becomes an animated GIF after every step.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from components import send_to
from components.common import (
    LIGHT,
    check_first,
    click_or_enter,
    count,
    follow,
    how_it_works,
    on_gpu,
    picture_buttons,
    preview_grid,
    raw,
    save_outputs,
    seed_row,
    stop_button,
    user_error,
    user_errors,
)
from components.edit_common import (
    BORDER,
    Number,
    edit_controls,
    example,
    new_image_note,
    seen_image,
    settings_from,
    summary,
    warn_if_unreadable,
)
from unclip import InvalidInput, UnCLIP
from unclip.animation import ZoomStep, save_gif
from unclip.edit import Edit, EditJob, planned_steps, run_edit
from unclip.edit_methods import EDIT_LIMITS
from unclip.images import read_metadata
from unclip.masks import ANCHORS, overlay, zoom_canvas
from unclip.settings import zoom_seeds
from unclip.uploads import inspect_upload, working_image

PRESETS = [("1.5×", 1.5), ("2×", 2.0), ("Custom", "custom")]
EXAMPLES = [[example("beach-hot-dog.png"), 2.0, "center"], [example("grass-sailboat.png"), 1.5, "left"],
            [example("underwater-tiger.png"), 2.0, "bottom"]]  # fmt: skip
HOW = {
    "1 · Shrink": "Your picture is scaled down by the factor and placed in an empty canvas of its own size: in "
    "the middle, or against one edge to extend the scene the other way.",
    "2 · Fill the border": "That is inpainting with the mask = the border. By default the model is guided by "
    "your picture's own CLIP embedding, so the scene continues; a prompt can steer it instead.",
    "3 · Seams": "The mask is feathered into your picture's edge, and after every denoising step your pixels are "
    "put back (noised to that step), so the new border has to match them.",
    "4 · Infinite zoom": "*Zoom out again* repeats it on the result, each time with the next seed (zoom k uses "
    "seed + k − 1), so every ring gets fresh noise. The GIF pulls back through every step.",
}
STAGES = ("mode", "prior_steps", "prior_guidance", "prior_candidates", "prior_scheduler", "decoder_steps",
          "decoder_guidance", "decoder_scheduler", "upsampler_steps", "upsampler_scheduler", "upsampler")  # fmt: skip


NEW_IMAGE = new_image_note("Zoom out", "starts a new sequence from it", "result, sequence and files")


def on_new_image(path: Any, factor: Any, anchor: Any, sequence: list[ZoomStep], side: int) -> tuple[Any, Any, Any]:
    """(canvas preview, sequence, info) after the input image changed, from one decode of it. A new readable image
    starts a new sequence ("again" then refuses) and the note says whose the results still shown are; a removed
    image or an unusable upload (its own toast says why) leaves the sequence, so "Zoom out again" goes on from the
    last result."""
    try:
        image = inspect_upload(path).image
    except InvalidInput:
        return None, gr.skip(), gr.skip()
    canvas = canvas_preview(image, factor, anchor, side)
    return (canvas, [], NEW_IMAGE) if sequence else (canvas, gr.skip(), gr.skip())


def canvas_preview(source: Any, factor: Any, anchor: Any, side: int) -> Any:
    """Right after a change: the canvas the model will fill (the border tinted), or nothing when not ready (an
    unusable upload says why in its own toast, from the upload event). `source`: the upload, or its picture."""
    try:
        work, _ = working_image(inspect_upload(source).image, side)
        canvas = zoom_canvas(work, float(factor), str(anchor))
    except (InvalidInput, TypeError, ValueError, KeyError):
        return None
    return overlay(canvas.image, canvas.mask, BORDER, 1.0)


ORIGINAL_NAME = "unclip-zoom_out-original"  # the sequence's first frame, saved so its download has a name


def zoom_names(images: list[Any]) -> list[str]:
    """File names for a sequence's zooms: 'unclip-zoom_out-seed0' for one; with more, 'unclip-zoom_out-x1-seed0'
    .. '-xK-' (the CLI's _x1 .. _xK), each with the seed its metadata records."""
    seeds = [read_metadata(im).get("seed", "") for im in images]
    if len(images) == 1:
        return [f"unclip-zoom_out-seed{seeds[0]}"]
    return [f"unclip-zoom_out-x{k}-seed{sd}" for k, sd in enumerate(seeds, 1)]


def sequence_outputs(steps: list[ZoomStep], files: list[str]) -> tuple[list[Any], str | None]:
    """The sequence gallery from the saved PNGs (the original, then each zoom), so a download keeps its name, and,
    from two images on, the pull-back GIF written next to them."""
    frames = [(path, "original" if i == 0 else f"zoom {i}") for i, path in enumerate(files)]
    gif = save_gif(steps, Path(files[0]).parent / "infinite-zoom.gif") if len(steps) > 1 else None
    return frames, (str(gif) if gif else None)


def make_prepares(backend: UnCLIP) -> tuple[Callable[..., EditJob], Callable[..., EditJob]]:
    """`prepare` and `prepare_again`: a zoom-out request validated (gr.Error naming the field), no model run. Each
    handler's first step, and on its own the check before it starts (`common.check_first`)."""

    def prepare(image: str | None, factor: Number, anchor: str, prompt: str, condition: str, feather: Number,
                seed: Number, **stages: Any) -> EditJob:  # fmt: skip
        with user_errors():
            return backend.zoom_out_job(image, factor, anchor, prompt or "", 1, seed, feather, condition,
                                        settings_from(backend, stages))  # fmt: skip

    def prepare_again(sequence: list[ZoomStep], factor: Number, anchor: str, prompt: str, condition: str,
                      feather: Number, seed: Number, **stages: Any) -> EditJob:  # fmt: skip
        if not sequence:
            raise user_error("Zoom out once first (or wait until the running zoom out ends): 'Zoom out again' "
                             "continues from the last result (a new image starts a new sequence).")
        job = prepare(sequence[-1].image, factor, anchor, prompt, condition, feather, seed, **stages)
        job.seeds = zoom_seeds(job.seeds, len(sequence))  # zoom k of the sequence (the original is sequence[0])
        return job

    return prepare, prepare_again


def make_handlers(backend: UnCLIP) -> tuple[Callable[..., Iterator[tuple]], Callable[..., Iterator[tuple]]]:
    prepare, prepare_again = make_prepares(backend)

    def run(job: EditJob, steps: list[ZoomStep], progress: gr.Progress) -> Iterator[tuple]:
        start = time.monotonic()
        total = planned_steps(job.settings, job.condition)
        edit: Edit = yield from follow(run_edit(backend, job), progress, total, other_outputs=7)
        steps = [*(steps or [ZoomStep(edit.original)]), ZoomStep(edit.images[0], edit.box)]
        made = [step.image for step in steps[1:]]  # every zoom's PNG, each with its own settings
        original = steps[0].image.copy()
        original.info = {}  # the user's own picture: no settings of ours (the explorer skips it, as it should)
        files = save_outputs([original, *made], [ORIGINAL_NAME, *zoom_names(made)])
        frames, gif = sequence_outputs(steps, files)
        files = files[1:]  # the downloads: what was made here
        zooms = count(len(steps) - 1, "zoom")
        info = summary(backend, edit, time.monotonic() - start, "zoom-out") + f" Sequence: {zooms}."
        yield (preview_grid(edit.images), seen_image(edit), edit.images[0], files + ([gif] if gif else []), info,
               steps, frames, gif)  # fmt: skip

    def zoom_out(image: str | None, factor: Number, anchor: str, prompt: str, condition: str, feather: Number,
                 seed: Number, mode: str, prior_steps: Number, prior_guidance: Number, prior_candidates: Number,
                 prior_scheduler: str, decoder_steps: Number, decoder_guidance: Number, decoder_scheduler: str,
                 upsampler_steps: Number, upsampler_scheduler: str, upsampler: bool,
                 progress: gr.Progress = gr.Progress()) -> Iterator[tuple]:  # fmt: skip  # noqa: B008
        """Shrink the image by `factor` (1.1-4) into a canvas of its size at `anchor` (center, left, right, top,
        bottom) and generate the border; condition 'image' (default) continues the scene, 'prompt' follows the
        prompt. Returns: live preview, the canvas the model filled, the result (PNG), files, summary."""
        stages = {"mode": mode, "prior_steps": prior_steps, "prior_guidance": prior_guidance,
                  "prior_candidates": prior_candidates, "prior_scheduler": prior_scheduler,
                  "decoder_steps": decoder_steps, "decoder_guidance": decoder_guidance,
                  "decoder_scheduler": decoder_scheduler, "upsampler_steps": upsampler_steps,
                  "upsampler_scheduler": upsampler_scheduler, "upsampler": upsampler}  # fmt: skip
        job = prepare(image, factor, anchor, prompt, condition, feather, seed, **stages)
        return (yield from run(job, [], progress))

    def zoom_again(sequence: list[ZoomStep], factor: Number, anchor: str, prompt: str, condition: str,
                   feather: Number, seed: Number, progress: gr.Progress = gr.Progress(),  # noqa: B008
                   **stages: Any) -> Iterator[tuple]:  # fmt: skip
        """Zoom out once more from the last result of the sequence."""
        job = prepare_again(sequence, factor, anchor, prompt, condition, feather, seed, **stages)
        return (yield from run(job, sequence, progress))

    return zoom_out, zoom_again


def preset_for(factor: Any) -> float | str:
    """The preset a factor matches (1.5 or 2), else "custom". The two settle: each sends the other a value that
    maps back to itself, so neither changes again."""
    try:
        value = float(factor)
    except (TypeError, ValueError):
        return "custom"
    return next((v for _, v in PRESETS if isinstance(v, float) and abs(v - value) < 1e-9), "custom")


def inputs_column(backend: UnCLIP) -> dict[str, Any]:
    """The left column's widgets keyed by handler parameter name (plus preset/buttons)."""
    w: dict[str, Any] = {}
    w["image"] = raw(gr.Image(label="Your image (the centre square is used)", type="filepath", height=260,
                              sources=["upload", "clipboard"], buttons=picture_buttons(),
                              elem_id="zoom-image"))  # fmt: skip
    with gr.Row():
        w["preset"] = gr.Radio(PRESETS, value=2.0, label="Zoom out by", elem_id="zoom-preset", scale=2)
        w["factor"] = raw(gr.Slider(*EDIT_LIMITS["factor"], value=2.0, step=0.05, label="Factor",
                                    elem_id="zoom-factor", scale=3))  # fmt: skip
    w["anchor"] = raw(gr.Radio(list(ANCHORS), value="center", label="Keep the original at", elem_id="zoom-anchor"))
    w["prompt"] = gr.Textbox(value="", label="Prompt (optional)", placeholder="e.g. 'on the beach'", max_lines=2,
                             elem_id="zoom-prompt")  # fmt: skip
    w["condition"] = raw(gr.Radio([("The original image (continue the scene)", "image"), ("The prompt", "prompt")],
                                  value="image", label="Guide the border by", elem_id="zoom-condition"))  # fmt: skip
    w["feather"] = raw(gr.Slider(*EDIT_LIMITS["feather"], value=8, step=1, label="Feather (px at the output size)",
                                 elem_id="zoom-feather"))  # fmt: skip
    w["seed"] = seed_row(prefix="zoom-")
    with gr.Row():
        w["run"] = gr.Button("Zoom out", variant="primary", elem_id="zoom-btn")
        w["again"] = gr.Button("Zoom out again", elem_id="zoom-again")
        w["stop"] = gr.Button("Stop", variant="stop", elem_id="zoom-stop")
    return w


def outputs_column() -> dict[str, Any]:
    o: dict[str, Any] = {}
    with gr.Row():
        o["seen"] = gr.Image(label="The canvas (pink: to be painted)", height=220, interactive=False, buttons=[],
                             elem_id="zoom-seen")  # fmt: skip
        o["result"] = gr.Image(label="Result", type="filepath", format="png", height=220, interactive=False,
                               buttons=picture_buttons(), elem_id="zoom-result")  # fmt: skip
    send_to.image_source(o["result"], "zoom", exclude="Zoom out")
    o["preview"] = gr.Image(label="Live preview", height=120, interactive=False, buttons=[], elem_id="zoom-preview",
                            elem_classes=["pixelated"])  # fmt: skip
    o["info"] = gr.Markdown(elem_id="zoom-info")
    o["frames"] = gr.Gallery(label="Zoom sequence", format="png", columns=6, height="auto", object_fit="contain",
                             interactive=False, buttons=picture_buttons("download_all"), elem_id="zoom-sequence",
                             elem_classes=["unclip-gallery"])  # fmt: skip
    o["gif"] = gr.Image(label="Infinite zoom (GIF)", type="filepath", height=220, interactive=False,
                        buttons=picture_buttons(), elem_id="zoom-gif")  # fmt: skip
    o["files"] = gr.File(label="PNG files and the GIF", file_count="multiple", interactive=False, height=140,
                         elem_id="zoom-files", elem_classes=["result-files"])  # fmt: skip
    return o


def build(backend: UnCLIP) -> None:
    """The Zoom out tab, inside the current gr.Blocks / gr.Tab."""
    side = backend.output_side(backend.default_settings())
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=340):
            w = inputs_column(backend)
            controls = edit_controls(backend, "zoom", with_prior=True)
            gr.Examples(EXAMPLES, inputs=[w["image"], w["factor"], w["anchor"]], label="Examples",
                        api_visibility="private", elem_id="zoom-examples")  # under the button, as in Variations
        with gr.Column(scale=3, min_width=340, elem_classes=["results-column"]):
            o = outputs_column()
    how_it_works("How zoom-out works", HOW)
    sequence = gr.State([])
    send_to.target("Zoom out", w["image"]).on_send(send_to.sent_caption, [w["prompt"]])  # as A1111's send-to
    private = {"api_visibility": "private", "queue": False, "show_progress": "hidden"}
    # "custom" keeps the factor by sending its own value back (a value, not a property update such as gr.skip(),
    # which would make Gradio rebuild the slider for the session: see `raw`)
    w["preset"].change(lambda p, f: f if p == "custom" else p, inputs=[w["preset"], w["factor"]], outputs=w["factor"],
                       **private)  # fmt: skip
    w["factor"].change(preset_for, inputs=w["factor"], outputs=w["preset"], **private)  # typed, or an example's
    gr.on([w["factor"].change, w["anchor"].change], lambda p, f, a: canvas_preview(p, f, a, side),
          inputs=[w["image"], w["factor"], w["anchor"]], outputs=o["seen"], **private)  # fmt: skip
    w["image"].change(lambda p, f, a, seq: on_new_image(p, f, a, seq, side),
                      inputs=[w["image"], w["factor"], w["anchor"], sequence], outputs=[o["seen"], sequence, o["info"]],
                      **LIGHT)  # fmt: skip
    w["image"].upload(lambda path: warn_if_unreadable(path, "image"), inputs=w["image"], **LIGHT)  # one toast
    zoom_out, zoom_again = (on_gpu(h) for h in make_handlers(backend))
    seed = w["seed"]
    common = {k: w[k] for k in ("factor", "anchor", "prompt", "condition", "feather")}
    outputs = [o["preview"], o["seen"], o["result"], o["files"], o["info"], sequence, o["frames"], o["gif"]]
    prepare, prepare_again = make_prepares(backend)
    running = check_first(click_or_enter(w["run"], w["prompt"]), prepare, zoom_out,
                          {"image": w["image"], **common, "seed": seed.seed, **controls}, outputs=outputs,
                          seed=seed, api_name="zoom_out", show_progress_on=[o["result"]])  # fmt: skip
    again = check_first(w["again"].click, prepare_again, zoom_again,
                        {"sequence": sequence, **common, "seed": seed.seed, **controls}, outputs=outputs,
                        seed=seed, api_visibility="private", show_progress_on=[o["result"]])  # fmt: skip
    stop_button(w["stop"], [running, again])
