"""The Inpaint tab: repaint a region of an image, DALL·E 2 style (masked sampling in the decoder and upsampler).

API (stable, see the README): `/inpaint` with named parameters image ({"background": file, "layers": [files]}:
the gr.ImageEditor value, brush strokes = opaque pixels of the layers), mask (file, optional), mask_source,
prompt, condition, feather, invert, n, seed and the per-stage settings. A generator handler: Stop really stops.
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
    follow,
    how_it_works,
    on_gpu,
    picture_buttons,
    preview_grid,
    raw,
    seed_row,
    stop_button,
    user_error,
    user_errors,
)
from components.edit_common import (
    Number,
    edit_controls,
    example,
    gallery_items,
    preview_new_image,
    results_column,
    save_pngs,
    seen_image,
    settings_from,
    summary,
    warn_if_unreadable,
)
from unclip import InvalidInput, UnCLIP
from unclip.edit import EditJob, planned_steps, run_edit
from unclip.edit_methods import EDIT_LIMITS, EMPTY_MASK
from unclip.settings import LIMITS
from unclip.uploads import Upload, inspect_upload, mask_from_alpha, mask_from_layers

MASK_SOURCES = {
    "auto": "Auto: your brush strokes, else an uploaded mask, else the image's transparent pixels",
    "brush": "Brush strokes on the image",
    "upload": "Uploaded mask (white, or transparent, = repaint)",
    "transparency": "The image's transparent pixels (DALL·E's convention)",
}
EXAMPLES = [
    [example("beach-hot-dog-cut-out.png"), None, "a crab on the beach"],
    [example("yellow-pig.png"), example("yellow-pig-mask.png"), "a red heart on a yellow background"],
    [example("snow-cat.png"), example("snow-cat-mask.png"), "a penguin in the snow"],
]
HOW = {
    "1 · The mask": "White (or painted, or transparent) = repaint. *Feather* softens its edge over a few pixels "
    "so the seam blends; outside that band your pixels are kept exactly.",
    "2 · Masked decoding": "The decoder denoises the whole small picture (64 px for tiny-emoji and Karlo), but "
    "after **every step** the part you keep is replaced by your picture noised to that step's level (RePaint): "
    "the new region must grow to fit what surrounds it.",
    "3 · Upsampling": "The upsampler does the same at full size (256 px) with your pixels, then your "
    "original is pasted back outside the mask.",
    "4 · What guides it": "*Prompt*: your words go through the prior, as in Generate. *Image*: the picture's "
    "own CLIP embedding (fills the hole with more of the same). No resampling jumps: too slow on a CPU.",
}


# the page's script (`app.launch`): a big image chosen or dropped into the editor is shrunk in the browser first
SHRINK_UPLOADS_JS = (Path(__file__).parent / "shrink_upload.js").read_text()
UNREADABLE = ("image: the editor cannot open this file (an SVG, or a file the browser cannot decode as an image); "
              "it keeps what it had")
MASK_CLEARED = "The uploaded mask was cleared: it belonged to the previous image (Mask options)."
NO_STROKES = ("mask is empty: Mask from is set to brush strokes and none are painted; paint the region, or pick "
              "the uploaded mask as the mask source")
NO_TRANSPARENCY = ("mask is empty: this image has no fully transparent pixels to repaint; paint the region, "
                   "upload a mask, or pick another mask source")


def refuse_unreadable() -> None:
    """The page script (shrink_upload.js) stops a file the browser cannot open as an image before the editor gets
    it: the editor would drop it and show a blank white canvas, which Inpaint then repainted (browser QA)."""
    raise user_error(UNREADABLE)


def resolve(editor: dict[str, Any] | None, mask: Any, mask_source: str) -> tuple[Upload, Any]:
    """The image and the mask to use (None: the image's transparency), per the chosen mask source."""
    if mask_source not in MASK_SOURCES:
        raise InvalidInput(f"mask_source must be one of {', '.join(MASK_SOURCES)}; got {mask_source!r}")
    if editor is not None and (not isinstance(editor, dict) or "background" not in editor):  # e.g. a bare file
        raise InvalidInput('image must be the editor\'s value, {"background": file, "layers": [files]} (each file '
                           "as gradio_client's handle_file gives it), not a bare file")
    if not editor or not editor.get("background"):
        raise InvalidInput("image is missing: upload an image (PNG, JPEG or WebP; a file the browser cannot open as "
                           "an image is dropped by the editor)")
    image = inspect_upload(editor["background"], "image")
    if mask_source in ("auto", "brush"):  # strokes first: they are on this image, the latest thing the user did
        painted = mask_from_layers(editor.get("layers") or [], image.size)
        if painted is not None:
            return image, painted
        if mask_source == "brush":
            raise InvalidInput(NO_STROKES if mask else EMPTY_MASK)
    if mask_source in ("auto", "upload") and mask:
        return image, mask
    if mask_source == "upload":
        raise InvalidInput("mask is missing: upload a mask image (white = repaint), or pick another mask source")
    if mask_source == "transparency" and mask_from_alpha(image.alpha) is None:  # not "paint the region"
        raise InvalidInput(NO_TRANSPARENCY)
    return image, None


def make_prepare(backend: UnCLIP) -> Callable[..., EditJob]:
    def prepare(image: dict | None, mask_source: str, prompt: str, condition: str, feather: Number, invert: bool,
                n: Number, seed: Number, mask: str | None = None, **stages: Any) -> EditJob:  # fmt: skip
        """An inpainting request, validated (gr.Error naming the field); no model runs. The handler's first step,
        and on its own the check before it starts (`common.check_first`)."""
        with user_errors():
            picture, region = resolve(image, mask, mask_source)
            return backend.inpaint_job(picture, region, prompt or "", n, seed, feather, invert, condition,
                                       settings_from(backend, stages))  # fmt: skip

    return prepare


def make_handler(backend: UnCLIP) -> Callable[..., Iterator[tuple]]:
    prepare = make_prepare(backend)

    def inpaint(image: dict | None, mask_source: str, prompt: str, condition: str, feather: Number, invert: bool,
                n: Number, seed: Number, mode: str, prior_steps: Number, prior_guidance: Number,
                prior_candidates: Number, prior_scheduler: str, decoder_steps: Number, decoder_guidance: Number,
                decoder_scheduler: str, upsampler_steps: Number, upsampler_scheduler: str, upsampler: bool,
                progress: gr.Progress = gr.Progress(), *, mask: str | None = None,  # noqa: B008
                ) -> Iterator[tuple]:  # fmt: skip
        """Repaint the masked region of the image (n results, seeds seed, seed+1, ...). The mask: the brush layers
        of `image`, else `mask` (a file, optional: white or transparent = repaint), else the image's transparent
        pixels (mask_source: auto | brush | upload | transparency). condition 'prompt': the prompt through the
        prior; 'image': the image's own CLIP embedding.
        Returns: live preview, what the model saw (crop, region tinted), gallery (PNG), PNG files, summary."""
        values = {"mode": mode, "prior_steps": prior_steps, "prior_guidance": prior_guidance,
                  "prior_candidates": prior_candidates, "prior_scheduler": prior_scheduler,
                  "decoder_steps": decoder_steps, "decoder_guidance": decoder_guidance,
                  "decoder_scheduler": decoder_scheduler, "upsampler_steps": upsampler_steps,
                  "upsampler_scheduler": upsampler_scheduler, "upsampler": upsampler}  # fmt: skip
        start = time.monotonic()
        job = prepare(image, mask_source, prompt, condition, feather, invert, n, seed, mask=mask, **values)
        total = planned_steps(job.settings, job.condition)
        edit = yield from follow(run_edit(backend, job), progress, total, other_outputs=4)
        info = summary(backend, edit, time.monotonic() - start, "inpainting")
        paths = save_pngs(edit)
        yield preview_grid(edit.images), seen_image(edit), gallery_items(edit, paths), paths, info

    return inpaint


def inputs_column(backend: UnCLIP) -> dict[str, Any]:
    """The left column's widgets, keyed by handler parameter name (plus 'run', 'stop', 'crop_note', 'target';
    'sent' is the hidden copy of the editor that the server reads)."""
    w: dict[str, Any] = {}
    w["image"] = raw(gr.ImageEditor(
        label="Paint over what to repaint", type="filepath", image_mode="RGBA",
        sources=["upload", "clipboard"], brush=gr.Brush(colors=[("#ff00aa", 0.6)], color_mode="fixed"), layers=False,
        transforms=(), height=340, buttons=picture_buttons(), elem_id="inpaint-image"))  # fmt: skip
    w["target"] = send_to.target("Inpaint", w["image"])  # sends, and the examples, arrive through it
    w["chosen"] = gr.Button("new image", elem_id="inpaint-image-chosen", elem_classes=["unclip-hidden"])  # see build
    w["unreadable"] = gr.Button("unreadable image", elem_id="inpaint-image-unreadable", elem_classes=["unclip-hidden"])
    # what the server reads: the editor's value, copied browser-side when it is needed (see `build`)
    w["sent"] = raw(gr.ImageEditor(type="filepath", image_mode="RGBA", layers=False, visible=False,
                                   label=w["image"].label, elem_id="inpaint-image-sent"))  # fmt: skip
    w["sent"].blob_storage = w["image"].blob_storage  # canvas blobs arrive at the visible editor
    w["crop_note"] = gr.Markdown(elem_id="inpaint-crop-note")
    w["prompt"] = gr.Textbox(value="", label="Prompt: what to paint there", placeholder="e.g. 'a crab on the beach'",
                             max_lines=2, elem_id="inpaint-prompt")  # fmt: skip
    with gr.Accordion("Mask options", open=False, elem_id="inpaint-mask-options"):
        w["mask_source"] = raw(gr.Radio([(label, key) for key, label in MASK_SOURCES.items()], value="auto",
                                        label="Mask from", elem_id="inpaint-mask-source"))  # fmt: skip
        w["mask"] = raw(gr.Image(label="Mask (white = repaint)", type="filepath", height=160,
                                 sources=["upload", "clipboard"], buttons=picture_buttons(),
                                 elem_id="inpaint-mask"))  # fmt: skip
        w["invert"] = gr.Checkbox(value=False, label="Invert: repaint everything except the mask",
                                  elem_id="inpaint-invert")  # fmt: skip
        w["feather"] = raw(gr.Slider(*EDIT_LIMITS["feather"], value=8, step=1, label="Feather (px at the output size)",
                                     info="soft edge outside the mask", elem_id="inpaint-feather"))  # fmt: skip
    w["condition"] = raw(gr.Radio([("Prompt (through the prior)", "prompt"), ("The image itself", "image")],
                                  value="prompt", label="Guide the new pixels by", elem_id="inpaint-condition"))
    w["n"] = raw(gr.Slider(*LIMITS["n"], value=2, step=1, label="Number of results", elem_id="inpaint-n"))
    w["seed"] = seed_row(prefix="inpaint-")
    with gr.Row():
        w["run"] = gr.Button("Inpaint", variant="primary", elem_id="inpaint-btn")
        w["stop"] = gr.Button("Stop", variant="stop", elem_id="inpaint-stop")
    return w


def examples_below(w: dict[str, Any]) -> None:
    """The examples, under the button and Advanced (above it, they put the button a screen below the results on a
    laptop). An example's image goes in through the send-to target, not straight into the editor (send_to)."""
    examples = gr.Examples(EXAMPLES, inputs=[w["target"].incoming, w["mask"], w["prompt"]], label="Examples",
                           api_visibility="private", elem_id="inpaint-examples")  # fmt: skip
    w["target"].receive(examples.load_input_event, switch_tab=False)


def build(backend: UnCLIP) -> None:
    """The Inpaint tab, inside the current gr.Blocks / gr.Tab."""
    side = backend.output_side(backend.default_settings())
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=340):
            w = inputs_column(backend)
            controls = edit_controls(backend, "inpaint", with_prior=True)
            examples_below(w)
        with gr.Column(scale=3, min_width=340, elem_classes=["results-column"]):
            out = results_column("inpaint", "Inpaint", "What the model sees, region tinted", "Results")
            seen, preview, gallery, info, files = (out[k] for k in ("seen", "preview", "gallery", "info", "files"))
    how_it_works("How inpainting works", HOW)
    # No server event reads the editor: each takes a browser-side copy in the hidden `sent` editor. Gradio 6.31's
    # browser asks every input of a finished queued event for its value on each later status message of any event,
    # and the editor answers by exporting and uploading its canvas: 66-176 uploads during each later Generate, and
    # a Stop in Inpaint that did not land (benchmarks/RESULTS.md).
    copy = {"fn": None, "js": "(x) => x", "inputs": w["image"], "outputs": w["sent"], "queue": False,
            "api_visibility": "private"}  # fmt: skip
    # the crop preview, for each way an image arrives (the editor's .change would also fire on every brush stroke)
    w["image"].upload(**copy).success(lambda v, shown: preview_new_image((v or {}).get("background"), shown,
                                                                         side, "Inpaint"),
                                      inputs=[w["sent"], gallery], outputs=[seen, w["crop_note"], info], **LIGHT)
    w["target"].then(lambda path, shown: preview_new_image(path, shown, side, "Inpaint"),  # a send, an example
                     [seen, w["crop_note"], info], inputs=[gallery])
    w["target"].on_send(send_to.sent_caption, [w["prompt"]])  # the image's caption, as A1111's send-to
    w["image"].clear(None, js="() => [null, '']", outputs=[seen, w["crop_note"]], queue=False,
                     api_visibility="private")  # the bin: "what the model sees" described the removed picture
    # an uploaded mask belongs to the image it came with: a new image the user chose or dropped (the page script
    # clicks `chosen`) or sent from another tab clears it, or Auto would repaint the old mask's region of the new
    # picture (browser QA); an example brings its own. Browser-side, at once (a server round trip could land
    # after the user's next mask upload); the toast says so when there was a mask.
    w["chosen"].click(lambda mask: gr.Info(MASK_CLEARED) if mask else None, inputs=w["mask"], **LIGHT)
    w["chosen"].click(None, js="() => null", outputs=w["mask"], queue=False, api_visibility="private")
    w["unreadable"].click(refuse_unreadable, **LIGHT)  # the page script kept such a file out of the editor
    w["target"].clear_on_send(w["mask"])
    w["mask"].upload(lambda path: warn_if_unreadable(path, "mask"), inputs=w["mask"], **LIGHT)
    seed = w["seed"]
    names = ("mask", "mask_source", "prompt", "condition", "feather", "invert", "n")
    inputs = {"image": w["sent"], **{k: w[k] for k in names}, "seed": seed.seed, **controls}
    copied = click_or_enter(w["run"], w["prompt"])(**copy)  # the button, or Enter in the prompt
    running = check_first(copied.success, make_prepare(backend), on_gpu(make_handler(backend)),
                          inputs, seed=seed, outputs=[preview, seen, gallery, files, info], api_name="inpaint",
                          show_progress_on=[gallery])  # fmt: skip
    stop_button(w["stop"], [running])
