"""What the three image-tool tabs (Variations, Inpaint, Zoom out) share: raw upload inputs, the sampling panel,
"what the model sees", result formatting and PNG saving. No tensor maths: images are PIL, numbers come from unclip.

Uploads reach the handlers as file paths (or bytes) untouched: Gradio's own decoding would fail on a bad file
with a message that says nothing useful, and would decode a decompression bomb. `unclip.uploads` checks them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

from components import send_to
from components.common import field_name, png_gallery, raw, save_outputs
from components.stage_settings import mode_radio, scheduler_radio, to_settings, upsampler_checkbox
from unclip import InvalidInput, UnCLIP
from unclip.analysis import stage_shapes
from unclip.edit import Edit
from unclip.masks import overlay
from unclip.settings import LIMITS, GenerateSettings

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "assets" / "examples"
Number = float | int | str  # what a numeric field may carry before the backend validates it
BORDER = (243, 217, 234)  # a zoom-out's border to fill, as shown to the user (light pink)


def example(name: str) -> str:
    return str(EXAMPLES_DIR / name)


# -- inputs ------------------------------------------------------------------------------------------------------
# -- the sampling panel ------------------------------------------------------------------------------------------
def edit_controls(backend: UnCLIP, prefix: str, with_prior: bool) -> dict[str, gr.components.Component]:
    """The Advanced accordion for an image tool; keys = handler parameter names, elem_ids `prefix-<key>`.
    `with_prior`: the conditioning mode and the prior (used when the embedding comes from the prompt)."""
    d = backend.default_settings()
    shapes = stage_shapes(backend)
    lo, hi = LIMITS["steps"]
    glo, ghi = LIMITS["guidance"]
    c: dict[str, gr.components.Component] = {}

    def slider(key: str, lo_: float, hi_: float, value: float, step: float, label: str, info: str = "",
               interactive: bool = True) -> None:  # fmt: skip
        c[key] = raw(gr.Slider(lo_, hi_, value=value, step=step, label=label, info=info or None,
                               elem_id=f"{prefix}-{key}", interactive=interactive),
                     field_name(key))  # fmt: skip  # "Decoder steps": two sliders are labelled "Steps"

    def scheduler(key: str, value: str, interactive: bool = True) -> None:
        c[key] = scheduler_radio(backend, key.removesuffix("_scheduler"), value, f"{prefix}-{key}", interactive)

    with gr.Accordion("Advanced: per-stage sampling", open=False, elem_id=f"{prefix}-advanced"), gr.Row():
        if with_prior:
            with gr.Column(min_width=150):
                gr.Markdown("**Prompt → embedding** (when conditioning on the prompt)")
                c["mode"] = mode_radio(backend, d.mode, f"{prefix}-mode")  # each mode explained, as in Generate
                slider("prior_steps", lo, hi, d.prior.steps, 1, "Prior steps")
                slider("prior_guidance", glo, ghi, d.prior.guidance, 0.25, "Prior guidance")
                slider("prior_candidates", *LIMITS["candidates"], d.prior.candidates, 1, "Prior candidates")
                scheduler("prior_scheduler", d.prior.scheduler)
        with gr.Column(min_width=150):
            gr.Markdown(f"**Decoder** (→ {shapes['low_res']} px)")
            slider("decoder_steps", lo, hi, d.decoder.steps, 1, "Steps")
            slider("decoder_guidance", glo, ghi, d.decoder.guidance, 0.25, "Guidance scale", "higher = closer to it")
            scheduler("decoder_scheduler", d.decoder.scheduler)
        with gr.Column(min_width=150):
            gr.Markdown(f"**Upsampler** (→ {shapes['high_res']} px)")
            c["upsampler"] = upsampler_checkbox(backend, d.upsampler.enabled, shapes["low_res"], f"{prefix}-upsampler")
            has = backend.models.upsampler is not None
            slider("upsampler_steps", lo, hi, d.upsampler.steps, 1, "Steps", interactive=has)
            scheduler("upsampler_scheduler", d.upsampler.scheduler, interactive=has)
    return c


def settings_from(backend: UnCLIP, values: dict[str, Any]) -> GenerateSettings:
    """Panel values (prior ones may be absent: the model's defaults) -> settings, unchecked (the backend checks)."""
    d = backend.default_settings()
    v = {"mode": d.mode, "prior_steps": d.prior.steps, "prior_guidance": d.prior.guidance,
         "prior_candidates": d.prior.candidates, "prior_scheduler": d.prior.scheduler, **values}  # fmt: skip
    return to_settings(v["mode"], v["prior_steps"], v["prior_guidance"], v["prior_candidates"], v["prior_scheduler"],
                       v["decoder_steps"], v["decoder_guidance"], v["decoder_scheduler"], v["upsampler_steps"],
                       v["upsampler_scheduler"], v["upsampler"])  # fmt: skip


# -- what the model sees -----------------------------------------------------------------------------------------
def seen_image(edit: Edit) -> Image.Image:
    """The working image the edit started from, the repainted region tinted (a zoom-out's border: flat, as the
    model starts it from noise and its stretched-edge filler would only mislead)."""
    if edit.mask is None:
        return edit.source
    if edit.operation == "zoom_out":
        return overlay(edit.source, edit.mask, BORDER, 1.0)
    return overlay(edit.source, edit.mask)


def crop_preview(source: Any, side: int, warn: bool = True) -> tuple[Any, str]:
    """Right after an upload: the centre crop the model will work on, and a sentence saying what was done. With
    `warn`, a file that is no usable image is also a toast (call it so from an upload event, which fires once;
    a change event fires twice when an image replaces another: two toasts)."""
    from unclip.uploads import describe_crop, inspect_upload, working_image

    if not source:
        return None, ""
    try:
        up = inspect_upload(source)
    except InvalidInput as e:
        if warn:
            gr.Warning(str(e))
        return None, f"⚠️ {e}"
    notes = "".join(f"; {n}" for n in up.notes)
    return working_image(up.image, side)[0], f"The model sees: {describe_crop(up.size, side)}{notes}."


def new_image_note(button: str, does: str = "works on it", shown: str = "results") -> str:
    """What the summary says when a new input image arrives over results of the previous one."""
    return f"**A new image:** *{button}* {does}. The {shown} below are still the previous image's, until then."


def preview_new_image(source: Any, shown: list | None, side: int, button: str, warn: bool = True) -> tuple[Any, ...]:
    """`crop_preview`'s (picture, sentence) for a new input image, and the summary: `new_image_note` when the
    gallery `shown` holds results (browser QA: the results of image A stayed under image B's "what the model
    sees", with no word), left as it is otherwise."""
    seen, note = crop_preview(source, side, warn)
    return seen, note, new_image_note(button) if seen is not None and shown else gr.skip()


def warn_if_unreadable(source: Any, name: str) -> None:
    """Right after an upload (its upload event: a change event fires twice when a file replaces another): a file
    that is no usable image is named at once in a toast, not only at the run."""
    from unclip.uploads import inspect_upload

    if source:
        try:
            inspect_upload(source, name)
        except InvalidInput as e:
            gr.Warning(str(e))


# -- results -----------------------------------------------------------------------------------------------------
def gallery_items(edit: Edit, paths: list[str]) -> list[tuple[Any, str]]:
    """Each result's saved PNG (a download from the gallery keeps its name), captioned with how close CLIP finds
    it to the input (first: captions get cut) and its seed."""
    return [(path, f"cos {c:.2f} · seed {s}") for path, s, c in zip(paths, edit.seeds, edit.similarity, strict=True)]


def save_pngs(edit: Edit) -> list[str]:
    return save_outputs(edit.images, [f"unclip-{edit.operation}-seed{s}" for s in edit.seeds])


def summary(backend: UnCLIP, edit: Edit, seconds: float, what: str) -> str:
    """One paragraph: what was made, from what, how long it took; warnings as toasts and lines."""
    from components.common import format_warnings, literal, seed_text, shorten

    n, seeds = len(edit.images), edit.seeds
    caption = f" with the caption “{literal(shorten(edit.prompt, 120))}”" if edit.prompt else ""  # in full in PNGs
    return (f"**{n} {what}{'s' if n > 1 else ''}** from {seed_text(seeds)}{caption} in {seconds:.1f} s with "
            f"model `{backend.name}`. Input: {edit.options.get('input', '')}. Each PNG keeps the settings in its "
            f"`parameters` metadata.{format_warnings(edit.warnings)}")  # fmt: skip


def results_column(prefix: str, tab: str, seen_label: str, gallery_label: str) -> dict[str, gr.components.Component]:
    """What the model saw, the live preview, a PNG gallery (a send-to source), a summary and the PNG files."""
    with gr.Row():
        seen = gr.Image(label=seen_label, height=200, interactive=False, buttons=[], elem_id=f"{prefix}-seen")
        preview = gr.Image(label="Live preview", height=200, interactive=False, buttons=[],
                           elem_id=f"{prefix}-preview", elem_classes=["pixelated"])  # fmt: skip
    gallery = png_gallery(gallery_label, columns=4, elem_id=f"{prefix}-gallery")
    send_to.gallery_source(gallery, prefix, exclude=tab)
    info = gr.Markdown(elem_id=f"{prefix}-info")
    files = gr.File(label="PNG files (settings in their metadata)", file_count="multiple", interactive=False,
                    height=140, elem_id=f"{prefix}-files", elem_classes=["result-files"])  # fmt: skip
    return {"seen": seen, "preview": preview, "gallery": gallery, "info": info, "files": files}
