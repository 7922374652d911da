"""The Embedding explorer tab: see CLIP's space, walk through it, and decode any point of it.

API (stable, see the README): `/project`, `/interpolate`, `/text_diff` (named parameters via `inputs_kwargs`);
everything else (page load, add points, pick a point, the modality gap, recording generations) is private.

Choices made here:
- Picking a point: `gr.Plot` has no click events, so a searchable dropdown beside the map picks a point; its
  picture, details and 8 nearest neighbours show there and a ring marks it on the map. Points are named
  "#<id> <kind> · <caption>"; anywhere a point is asked for, "#<id>" works and any other text is a caption.
- "Every image generated in this session": after the other tabs are built, every PNG output gallery
  (`common.png_gallery`, class `unclip-gallery`) gets a private `.change` listener that adds its images to
  this session's collection, so nothing in the other tabs had to change.
- UMAP: imported lazily and warmed up in a daemon thread at start-up; until then a UMAP request shows PCA
  first and then the UMAP map (`unclip.explore_projection`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from components.common import (
    LIGHT,
    MODEL_QUEUE,
    check_first,
    click_or_enter,
    how_it_works,
    on_gpu,
    picture_buttons,
    png_gallery,
    raw,
    seed_row,
    stop_button,
)
from components.edit_common import warn_if_unreadable
from components.explorer_handlers import ExplorerHandlers, upload_names
from components.explorer_plot import COLOR_BY
from unclip import UnCLIP
from unclip.analysis import stage_shapes
from unclip.explore import MAX_THETA, STRIP_STEPS
from unclip.explore_collection import PROBE_SIZE
from unclip.explore_projection import start_umap_warmup
from unclip.settings import LIMITS

PRIVATE: dict[str, Any] = {"api_visibility": "private"}
SECTIONS = {
    "The map": "Every dot is one CLIP embedding: a vector of numbers that CLIP computes for a picture (●) or a "
    "caption (◆). **PCA** shows the directions along which the points vary most (instant, exact); **UMAP** "
    "keeps close neighbours close (cosine distance) but distorts large distances. Images and captions of the "
    "same scene do *not* land on each other: that is the **modality gap** (Liang et al. 2022).",
    "Interpolation": "Pick two points (or type captions) and walk the *great circle* between them on the unit "
    "sphere (slerp: equal angle per step). Each step is decoded with the **same noise**, so only the "
    "embedding changes. Captions go through the prior first (toggle it off to decode the text embedding "
    "itself, and see why unCLIP needs a prior). Between two image points the paper's other choice is there "
    "too: each picture's **DDIM inversion** as the noise at its end and their slerp in between, one path whose "
    "ends redraw the two pictures (§3.2).",
    "Text diffs (DALL·E 2, §3.3)": "Describe the picture (*from*) and what you want (*to*). The difference "
    "of their text embeddings, normalised, is a direction: z_d = normalise(z_to − z_from). The image "
    "embedding is turned towards it by θ (slerp(z_image, z_d, θ), θ up to 0.25–0.5) and decoded. As in the "
    "paper's Fig. 5, every frame starts from the picture's **DDIM inversion**: the decoder run backwards "
    "turns the picture into the noise x_T it would draw it from, so θ = 0 redraws the picture (closest at "
    "decoder guidance 1) and the edit keeps its layout. *The seed's noise* shows what it would draw instead.",
    "Modality gap": "For one prompt: its text embedding, the prior's samples and the generated images' "
    "embeddings, linked on the map. The prior's job is to cross the gap from the text cone to the image "
    "cone; the table gives their cosine similarities. Tick *remove modality means* to subtract each "
    "modality's mean before projecting: the two clouds then overlap.",
}
INTERP_EXAMPLES = [["a red apple", "a blue car"], ["#0", "#2"], ["#1", "an elephant on the beach"]]
DIFF_EXAMPLES = [["#6", "an emoji of an orange star", "an emoji of a blue star"],
                 ["#0", "two rucksacks under a sun", "two rucksacks under a moon"]]  # fmt: skip
GAP_EXAMPLES = [["a red apple left of a cat"], ["an elephant on the beach"]]
TABLE_HEADERS = ["seed", "cos(text, prior sample)", "cos(prior sample, image)", "cos(text, image)"]


def map_panel(first: tuple) -> dict[str, Any]:
    """The map (drawn already: no request on page load), its projection controls and the summary line."""
    w: dict[str, Any] = {"map": gr.Plot(first[0], label="CLIP embedding map (hover a point for its caption)",
                                        elem_id="explorer-map")}  # fmt: skip
    with gr.Row():
        w["method"] = raw(gr.Radio([("PCA", "pca"), ("UMAP", "umap")], value="pca", label="Projection",
                                   elem_id="explorer-method"))  # fmt: skip
        w["dims"] = raw(gr.Radio([("2-D", 2), ("3-D", 3)], value=2, label="Dimensions", elem_id="explorer-dims"))
        w["color_by"] = raw(gr.Radio(list(COLOR_BY), value="kind", label="Colour by", elem_id="explorer-color",
                                     info="source: your images by the mode or tab that made them"))  # fmt: skip
    with gr.Row(equal_height=True):
        w["remove_gap"] = gr.Checkbox(False, label="Remove modality means (close the gap)", elem_id="explorer-gap-off")
        w["project"] = gr.Button("Project", variant="primary", elem_id="explorer-project")
        w["refit"] = gr.Button("Refit layout", elem_id="explorer-refit")
    w["info"] = gr.Markdown(first[1], elem_id="explorer-info")
    return w


def picker_panel(choices: list[str]) -> dict[str, Any]:
    """The point picker: a searchable list, the point's picture and details, its 8 nearest neighbours."""
    w: dict[str, Any] = {
        "picker": gr.Dropdown(choices, value=None, filterable=True, elem_id="explorer-picker",
                              label="Pick a point (click it on the map, or type to search captions or #id)")}
    with gr.Row(equal_height=False):
        w["thumb"] = gr.Image(label="Point", height=192, width=192, interactive=False, buttons=[],
                              elem_id="explorer-thumb", scale=0, min_width=200)  # fmt: skip
        w["details"] = gr.Markdown("Pick a point to see it and its nearest neighbours.", elem_id="explorer-details")
    with gr.Row():
        w["to_start"] = gr.Button("Use as start", size="sm", elem_id="explorer-to-start")
        w["to_end"] = gr.Button("Use as end", size="sm", elem_id="explorer-to-end")
        w["to_diff"] = gr.Button("Use for text diff", size="sm", elem_id="explorer-to-diff")
    w["neighbours"] = gr.Gallery(label="8 nearest neighbours (cosine similarity)", columns=4, height="auto",
                                 object_fit="contain", interactive=False, buttons=picture_buttons("download_all"),
                                 elem_id="explorer-neighbours")  # fmt: skip
    # a point clicked on the map: MAP_CLICK_JS puts its "#id" here and clicks the button
    w["clicked"] = gr.Textbox(elem_id="explorer-clicked", elem_classes=["unclip-hidden"], container=False)
    w["clicked_btn"] = gr.Button("pick the clicked point", elem_id="explorer-clicked-btn",
                                 elem_classes=["unclip-hidden"])  # fmt: skip
    return w


MAP_CLICK_JS = (Path(__file__).parent / "map_click.js").read_text()  # app.launch's page script runs it


def tools_panel(backend: UnCLIP) -> dict[str, Any]:
    """Decoding settings shared by the three tools, the tools, and the strip they decode."""
    d = backend.default_settings()
    w: dict[str, Any] = {}
    gr.Markdown("### Decode points: a strip's frames start from one decoder noise (the seed's), or from the "
                "pictures' DDIM inversions")
    with gr.Row(equal_height=True):
        with gr.Column(scale=2, min_width=260):
            w["seed"] = seed_row()
        w["decoder_steps"] = raw(gr.Slider(*LIMITS["steps"], value=d.decoder.steps, step=1, label="Decoder steps",
                                           elem_id="explorer-decoder-steps"))  # fmt: skip
        w["decoder_guidance"] = raw(gr.Slider(*LIMITS["guidance"], value=d.decoder.guidance, step=0.25,
                                              label="Decoder guidance", elem_id="explorer-decoder-guidance"))
        shapes = stage_shapes(backend)
        if backend.models.upsampler is None:
            w["upsampler"] = gr.Checkbox(False, label="Upsample", info=backend.unavailable.get("upsampler"),
                                         interactive=False, elem_id="explorer-upsampler")  # fmt: skip
        else:
            w["upsampler"] = gr.Checkbox(False, label=f"Upsample to {shapes['high_res']} px (slower)",
                                         elem_id="explorer-upsampler")  # fmt: skip
        w["stop"] = gr.Button("Stop", variant="stop", elem_id="explorer-stop", scale=0, min_width=80)
    for key, suffix in (("seed", ""), ("randomize", "-randomize"), ("dice", "-random")):
        getattr(w["seed"], key).elem_id = f"explorer-seed{suffix}"  # the Generate tab owns #seed
    w["seed"].seed.info = "the same noise for every frame of a strip"
    with gr.Tabs(overflow_behavior="wrap", elem_id="explorer-tools") as w["tabs"]:  # all shown on a phone
        tool_tabs(w)
    with gr.Row(equal_height=False):
        w["preview"] = gr.Image(label="Live preview", height=140, interactive=False, buttons=[], scale=1,
                                elem_id="explorer-preview")  # fmt: skip
        with gr.Column(scale=4):
            w["strip"] = png_gallery("Strip (PNG, settings in metadata)", columns=8, elem_id="explorer-strip")
    return w


def tool_tabs(w: dict[str, Any]) -> None:
    """Interpolate, Text diff, Modality gap and Add points, each a tab; widgets go into `w`."""
    with gr.Tab("Interpolate", id="interpolate"):
        with gr.Row(equal_height=True):
            w["start"] = gr.Textbox(label="Start", placeholder="#0 or a caption", elem_id="explorer-start")
            w["end"] = gr.Textbox(label="End", placeholder="#2 or a caption", elem_id="explorer-end")
            w["steps"] = raw(gr.Slider(*STRIP_STEPS, value=8, step=1, label="Steps", elem_id="explorer-steps"),
                             "Interpolation steps")
            w["use_prior"] = gr.Checkbox(True, label="Captions through the prior", elem_id="explorer-prior")
        w["interp_noise"] = raw(gr.Radio([("one seed's noise for every frame", "seed"),
                                          ("the slerp of the two pictures' DDIM inversions (image points)",
                                           "inversion")], value="seed", label="Every frame starts from",
                                         elem_id="explorer-interp-noise"))  # fmt: skip
        w["interpolate"] = gr.Button("Interpolate", variant="primary", elem_id="explorer-interpolate")
        gr.Examples(INTERP_EXAMPLES, inputs=[w["start"], w["end"]], label="Examples", **PRIVATE)
    with gr.Tab("Text diff", id="text-diff"):
        with gr.Row(equal_height=True):
            # a short label: a longer one wrapped over the drop text of this 150 px box (browser QA)
            w["image"] = raw(gr.Image(label="Image (upload)", type="filepath", height=150, scale=2,
                                      sources=["upload", "clipboard"], buttons=picture_buttons(),
                                      elem_id="explorer-diff-image"))  # fmt: skip
            with gr.Column(scale=3):
                w["point"] = gr.Textbox("", label="…or an image point (an upload wins)", placeholder="#0",
                                        elem_id="explorer-diff-point")  # optional in the API
                w["from_caption"] = gr.Textbox(label="From (describes the image)", elem_id="explorer-from")
                w["to_caption"] = gr.Textbox(label="To (what it should become)", elem_id="explorer-to")
        with gr.Row():
            w["diff_steps"] = raw(gr.Slider(*STRIP_STEPS, value=6, step=1, label="Steps",
                                            elem_id="explorer-diff-steps"), "Text diff steps")  # fmt: skip
            w["max_theta"] = raw(gr.Slider(*MAX_THETA, value=0.5, step=0.05, label="Max θ (paper: 0.25–0.5)",
                                           elem_id="explorer-theta"))  # fmt: skip
            w["noise"] = raw(gr.Radio([("the picture's DDIM inversion (paper)", "inversion"),
                                       ("the seed's noise", "seed")], value="inversion",
                                      label="Every frame starts from", elem_id="explorer-diff-noise"))  # fmt: skip
        w["text_diff"] = gr.Button("Apply text diff", variant="primary", elem_id="explorer-text-diff")
        gr.Examples(DIFF_EXAMPLES, inputs=[w["point"], w["from_caption"], w["to_caption"]], label="Examples",
                    **PRIVATE)  # fmt: skip
    with gr.Tab("Modality gap"):
        with gr.Row(equal_height=True):
            w["gap_prompt"] = gr.Textbox(label="Prompt", scale=3, elem_id="explorer-gap-prompt")
            w["k"] = raw(gr.Slider(*LIMITS["n"], value=4, step=1, label="Prior samples k", elem_id="explorer-k"))
        w["gap"] = gr.Button("Show the gap", variant="primary", elem_id="explorer-gap")
        gr.Examples(GAP_EXAMPLES, inputs=[w["gap_prompt"]], label="Examples", **PRIVATE)
        w["table"] = gr.Dataframe(headers=TABLE_HEADERS, interactive=False, label="Cosine similarities",
                                  elem_id="explorer-gap-table")  # fmt: skip
    with gr.Tab("Add points"):
        with gr.Row():
            w["texts"] = gr.Textbox(label="Captions (one per line)", lines=3, elem_id="explorer-texts")
            w["files"] = gr.File(label="Images", file_count="multiple", file_types=["image"], height=120,
                                 elem_id="explorer-files")  # fmt: skip
        w["add"] = gr.Button("Add to the map", elem_id="explorer-add")


def hook_generations(handlers: ExplorerHandlers, state: gr.State, view: list[Any]) -> int:
    """Listen to every PNG output gallery built so far (other tabs) and add what they show to this session."""
    root = gr.context.Context.root_block
    galleries = [b for b in (root.blocks.values() if root else []) if isinstance(b, gr.Gallery)
                 and "unclip-gallery" in (b.elem_classes or []) and not str(b.elem_id or "").startswith("explorer")]
    for gallery in galleries:
        gallery.change(on_gpu(handlers.record_generated), inputs=[gallery, state], outputs=view, show_progress="hidden",
                       **PRIVATE, **MODEL_QUEUE)  # fmt: skip
    return len(galleries)


def use_picked(picked: str | None) -> Any:
    """'Use as start' / 'Use as end': the picked point into the box; with nothing picked, say so and leave the
    box as it was (it was emptied, whatever was typed there)."""
    if not picked:
        gr.Warning("nothing is picked: pick a point above first (or type a caption into the box)")
        return gr.skip()
    return picked


def warn_if_any_unreadable(files: list[str] | None) -> None:
    """Right after files are put in Add points' "Images": each one that is no usable image, named in a toast (it
    was said only at "Add to the map", as the other tabs' uploads said it at once)."""
    files = files or []
    for path, name in zip(files, upload_names(files), strict=True):
        warn_if_unreadable(path, name)


def opening(tab: str, use: Callable[..., Any]) -> Callable[..., tuple[Any, ...]]:
    """A "Use as / for ..." button's handler that also opens the tool tab the point goes to: filled on a hidden
    tab, the button seemed to do nothing. A refused one (`use` warned, and skips the box) leaves the tab open.
    `use` returns the box's value, or a tuple whose first item is the box's (the others fill more boxes)."""
    def handler(*args: Any) -> tuple[Any, ...]:
        values = use(*args)
        values = values if isinstance(values, tuple) else (values,)
        return *values, (gr.skip() if values[0] == gr.skip() else gr.Tabs(selected=tab))

    return handler


def build(backend: UnCLIP, probe_size: int = PROBE_SIZE) -> None:
    """The Embedding explorer tab, inside the current gr.Blocks / gr.Tab."""
    start_umap_warmup()
    handlers = ExplorerHandlers(backend, probe_size)
    first = handlers.render_parts(handlers.current(None))  # the probe set: once per backend, then cached
    state = gr.State(None)
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=420):
            m = map_panel(first)
        with gr.Column(scale=2, min_width=320):
            p = picker_panel(first[2])
    t = tools_panel(backend)
    how_it_works("How this works: CLIP's embedding space", SECTIONS)
    wire(handlers, state, m, p, t)


def wire(handlers: ExplorerHandlers, state: gr.State, m: dict[str, Any], p: dict[str, Any], t: dict[str, Any]
         ) -> None:  # fmt: skip
    view = [m["map"], m["info"], p["picker"], state]
    project = {"method": m["method"], "dims": m["dims"], "color_by": m["color_by"],
               "remove_modality_gap": m["remove_gap"], "state": state}  # fmt: skip
    gr.on([m["project"].click, m["method"].input, m["dims"].input, m["color_by"].input, m["remove_gap"].input],
          handlers.project, inputs_kwargs=project, outputs=view, api_name="project", trigger_mode="always_last",
          **MODEL_QUEUE)  # the last choice wins: 'once' dropped a PCA click made while UMAP ran  # fmt: skip
    m["refit"].click(on_gpu(handlers.refit), inputs_kwargs=project, outputs=view, **PRIVATE, **MODEL_QUEUE)
    picked = [p["thumb"], p["details"], p["neighbours"], m["map"], state]
    p["picker"].input(handlers.pick, inputs=[p["picker"], state], outputs=picked, concurrency_limit=None, **PRIVATE)
    p["clicked_btn"].click(handlers.pick_clicked, inputs=[p["clicked"], state], outputs=[p["picker"], *picked],
                           concurrency_limit=None, **PRIVATE)  # fmt: skip
    for button, target in ((p["to_start"], t["start"]), (p["to_end"], t["end"])):  # queued: a toast can show
        button.click(opening("interpolate", use_picked), inputs=p["picker"], outputs=[target, t["tabs"]], **LIGHT)
    p["to_diff"].click(opening("text-diff", handlers.use_for_diff), inputs=[p["picker"], state],
                       outputs=[t["point"], t["from_caption"], t["tabs"]], **LIGHT)  # fmt: skip
    t["image"].upload(lambda path: warn_if_unreadable(path, "image"), inputs=t["image"], **LIGHT)
    t["files"].upload(warn_if_any_unreadable, inputs=t["files"], **LIGHT)
    adding = {"texts": t["texts"], "files": t["files"], "state": state}
    check_first(t["add"].click, handlers.check_add, on_gpu(handlers.add_points), adding, outputs=view, **PRIVATE)
    seed = {"seed": t["seed"].seed}
    decoding = {"decoder_steps": t["decoder_steps"], "decoder_guidance": t["decoder_guidance"],
                "upsampler": t["upsampler"], "state": state}  # fmt: skip
    strip_out = [t["preview"], t["strip"], *view]
    interpolating = {"start": t["start"], "end": t["end"], "steps": t["steps"], **seed, "use_prior": t["use_prior"],
                     "noise": t["interp_noise"], **decoding}  # fmt: skip
    diffing = {"image": t["image"], "point": t["point"], "from_caption": t["from_caption"],
               "to_caption": t["to_caption"], "steps": t["diff_steps"], "max_theta": t["max_theta"], **seed,
               "noise": t["noise"], **decoding}  # fmt: skip
    gapping = {"prompt": t["gap_prompt"], "k": t["k"], **seed, **decoding}
    # the live preview and the strip are under the tool's examples, below the fold on a laptop (browser QA)
    strip_run = {"seed": t["seed"], "show_progress_on": [t["strip"]], "reveal_first": "explorer-strip"}
    # each runs on its button, or on Enter in one of its text boxes
    on_interpolate = click_or_enter(t["interpolate"], t["start"], t["end"])
    on_text_diff = click_or_enter(t["text_diff"], t["point"], t["from_caption"], t["to_caption"])
    on_gap = click_or_enter(t["gap"], t["gap_prompt"])
    runs = [
        check_first(on_interpolate, handlers.check_interpolate, on_gpu(handlers.interpolate),
                    interpolating, outputs=strip_out, api_name="interpolate", **strip_run),
        check_first(on_text_diff, handlers.check_text_diff, on_gpu(handlers.text_diff),
                    diffing, outputs=strip_out, api_name="text_diff", **strip_run),
        check_first(on_gap, handlers.check_gap, on_gpu(handlers.modality_gap), gapping,
                    outputs=[t["preview"], t["strip"], t["table"], *view], **strip_run, **PRIVATE),
    ]  # fmt: skip
    stop_button(t["stop"], runs)
    hook_generations(handlers, state, view)
