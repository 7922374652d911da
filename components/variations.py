"""The Variations tab: image -> CLIP image embedding -> decoder -> upsampler (paper §3.1, Fig. 3).

API (stable, see the README): `/vary` with named parameters image, n, seed, strength, prompt, method ("sdedit" |
"inversion"), eta and the decoder and upsampler settings. A generator handler: it yields after every denoising
step, so Stop really stops.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
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
from unclip import UnCLIP
from unclip.edit import EditJob, planned_steps, run_edit
from unclip.edit_methods import EDIT_LIMITS
from unclip.settings import LIMITS, as_choice, as_float

# "sdedit": strength (1: from pure noise); "inversion": the paper's §3.1, the image's DDIM inversion decoded with eta
METHODS = [("Strength (SDEdit)", "sdedit"), ("η: the paper's way (DDIM inversion)", "inversion")]
EXAMPLES = [[example("snow-cat.png"), "sdedit", 1.0, 0.5], [example("underwater-tiger.png"), "sdedit", 0.6, 0.5],
            [example("grass-sailboat.png"), "sdedit", 0.3, 0.5],
            [example("underwater-tiger.png"), "inversion", 1.0, 0.4]]  # fmt: skip
HOW = {
    "1 · Encode": "Your picture is cropped to a square and CLIP turns it into one vector, its *image embedding*: "
    "what is in the picture, not where each pixel is.",
    "2 · Decode": "The decoder paints a new small picture (64 px for tiny-emoji and Karlo) from that vector, "
    "exactly as it does for a caption's embedding in Generate. Different seeds, different pictures with the "
    "same meaning (DALL·E 2, §3.1).",
    "3 · Strength": "At **1** the decoder starts from pure noise: only the embedding is kept. Lower, it starts from "
    "*your* picture with noise added (SDEdit) and runs only the last part of its steps, so layout and colours "
    "survive; at least its last step runs, so even **0** redraws the fine detail. The upsampler does the same at "
    "full size.",
    "4 · The paper's way (η)": "DALL·E 2 makes variations differently: it runs the decoder *backwards* (DDIM "
    "inversion) to find the noise x_T it would turn into your picture, then decodes that noise again with DDIM, "
    "adding fresh noise at every step in proportion to **η**. At η = 0 you get your picture back (closest at "
    "decoder guidance 1: the inversion undoes the unguided decoder); the larger η, the further the variations "
    "wander from it, while staying centred on it.",
    "5 · Read the numbers": "Each result shows cos(input, result): how similar CLIP finds it to your picture.",
}


def make_prepare(backend: UnCLIP) -> Callable[..., EditJob]:
    def prepare(image: str | None, n: Number, seed: Number, strength: Number, prompt: str, method: str = "sdedit",
                eta: Number = 0.5, **stages: Any) -> EditJob:  # fmt: skip
        """A variations request, validated (gr.Error naming the field); no model runs. The handler's first step,
        and on its own the check before it starts (`common.check_first`). Each method reads its own slider."""
        with user_errors():
            inversion = as_choice("method", method, [v for _, v in METHODS]) == "inversion"
            if inversion:  # (None means "not this method" to vary_job: here it is the η slider left empty)
                eta = as_float("eta", eta, *EDIT_LIMITS["eta"])
            return backend.vary_job(image, n, seed, 1.0 if inversion else strength, prompt or "",
                                    settings_from(backend, stages), eta if inversion else None)  # fmt: skip

    return prepare


def make_handler(backend: UnCLIP) -> Callable[..., Iterator[tuple]]:
    prepare = make_prepare(backend)

    def vary(image: str | None, n: Number, seed: Number, strength: Number, prompt: str, decoder_steps: Number,
             decoder_guidance: Number, decoder_scheduler: str, upsampler_steps: Number, upsampler_scheduler: str,
             upsampler: bool, method: str = "sdedit", eta: Number = 0.5,
             progress: gr.Progress = gr.Progress()) -> Iterator[tuple]:  # fmt: skip  # noqa: B008
        """Image -> n variations (seeds seed, seed+1, ...) through CLIP's image embedding, the decoder and the
        upsampler. method 'sdedit': strength 1 = from noise, lower = closer to the input. method 'inversion' (the
        paper's): the image's DDIM inversion decoded with DDIM at eta (0 = the image back, 1 = furthest).
        prompt: optional caption. Returns: live preview, what the model saw (the crop), gallery (PNG), PNG files,
        summary."""
        stages = {"decoder_steps": decoder_steps, "decoder_guidance": decoder_guidance,
                  "decoder_scheduler": decoder_scheduler, "upsampler_steps": upsampler_steps,
                  "upsampler_scheduler": upsampler_scheduler, "upsampler": upsampler}  # fmt: skip
        start = time.monotonic()
        job = prepare(image, n, seed, strength, prompt, method, eta, **stages)
        total = planned_steps(job.settings, job.condition, job.strength, inversion=job.eta is not None)
        edit = yield from follow(run_edit(backend, job), progress, total, other_outputs=4)
        info = summary(backend, edit, time.monotonic() - start, "variation")
        if job.eta is not None:
            info += (f" Made the paper's way: the picture's DDIM inversion, decoded with DDIM at η {job.eta:g} "
                     "(η 0 draws the picture back).")  # fmt: skip
        elif job.strength == 0:  # no step runs: it looked like a variation that came out identical (browser QA)
            info += " Strength 0 keeps your picture as it is (no denoising step runs): raise it to vary it."
        paths = save_pngs(edit)
        yield preview_grid(edit.images), seen_image(edit), gallery_items(edit, paths), paths, info

    return vary


ETA_SCHEDULER = "η: the paper's way decodes with DDIM, the sampler its inversion undoes"


def show_method(method: str) -> tuple[Any, Any, Any]:
    """The slider the chosen method reads: strength (SDEdit) or η (the paper's); and the decoder's scheduler,
    which η mode does not read (it showed dpm++ while the run used DDIM)."""
    inversion = method == "inversion"
    return (gr.update(visible=not inversion), gr.update(visible=inversion),
            gr.update(interactive=not inversion, info=ETA_SCHEDULER if inversion else ""))  # None: left as it was


def build(backend: UnCLIP) -> None:
    """The Variations tab, inside the current gr.Blocks / gr.Tab."""
    side = backend.output_side(backend.default_settings())
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=340):
            image = raw(gr.Image(label="Your image (any size: the centre square is used)", type="filepath",
                                 sources=["upload", "clipboard"], height=260, buttons=picture_buttons(),
                                 elem_id="vary-image"))  # fmt: skip
            crop_note = gr.Markdown(elem_id="vary-crop-note")
            method = raw(gr.Radio(METHODS, value="sdedit", label="Method", elem_id="vary-method"))
            strength = raw(gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Strength",
                                     info="1 = only CLIP's idea of it survives · 0.3 = a close variation",
                                     elem_id="vary-strength"))  # fmt: skip
            eta = raw(gr.Slider(*EDIT_LIMITS["eta"], value=0.5, step=0.05, label="η", visible=False,
                                info="0 = your picture back (closest at decoder guidance 1) · 1 = furthest from it",
                                elem_id="vary-eta"))  # fmt: skip
            n = raw(gr.Slider(*LIMITS["n"], value=4, step=1, label="Number of variations", elem_id="vary-n"))
            prompt = gr.Textbox(value="", label="Caption (optional)", placeholder="e.g. 'a cat in the snow'",
                                max_lines=2, elem_id="vary-prompt")  # fmt: skip
            seed = seed_row(prefix="vary-")
            with gr.Row():
                run = gr.Button("Make variations", variant="primary", elem_id="vary-btn")
                stop = gr.Button("Stop", variant="stop", elem_id="vary-stop")
            controls = edit_controls(backend, "vary", with_prior=False)
            # below the button: above it, the table put the button a screen below the results on a laptop
            examples = gr.Examples(EXAMPLES, inputs=[image, method, strength, eta], label="Examples",
                                   api_visibility="private", elem_id="vary-examples")  # fmt: skip
        with gr.Column(scale=3, min_width=340, elem_classes=["results-column"]):
            out = results_column("vary", "Variations", f"What the model sees ({side}×{side})", "Variations")
            seen, preview, gallery, info, files = (out[k] for k in ("seen", "preview", "gallery", "info", "files"))
    how_it_works("How variations work", HOW)
    send_to.target("Variations", image)
    image.change(lambda path, shown: preview_new_image(path, shown, side, "Make variations", warn=False),
                 inputs=[image, gallery], outputs=[seen, crop_note, info], **LIGHT)  # fmt: skip
    image.upload(lambda path: warn_if_unreadable(path, "image"), inputs=image, **LIGHT)  # one toast per file
    by_method = [strength, eta, controls["decoder_scheduler"]]
    method.change(show_method, inputs=method, outputs=by_method, **LIGHT)
    # an example row rebuilds both sliders as constructed (strength shown, η hidden), even when the method it sets
    # is the one already chosen, so no change event follows: show the right slider again after it
    examples.load_input_event.then(show_method, inputs=method, outputs=by_method, **LIGHT)
    inputs = {"image": image, "n": n, "seed": seed.seed, "strength": strength, "prompt": prompt, "method": method,
              "eta": eta, **controls}  # fmt: skip
    running = check_first(click_or_enter(run, prompt), make_prepare(backend), on_gpu(make_handler(backend)), inputs,
                          seed=seed, outputs=[preview, seen, gallery, files, info], api_name="vary",
                          show_progress_on=[gallery])  # fmt: skip
    stop_button(stop, [running])
