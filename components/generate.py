"""The Generate tab: text -> images through every unCLIP stage, plus the prior ablation (paper §5.1).

API (stable, see the README): `/generate` and `/compare`. Both take named parameters (prompt, n, seed, then the
stage settings prior_steps, prior_guidance, ...) bound with `inputs_kwargs`, so the widget order on the page is
not the API. Both are generators that yield after every denoising step, so Stop really stops.
"""

from __future__ import annotations

import inspect
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
    format_warnings,
    how_it_works,
    literal,
    on_gpu,
    planned_steps,
    png_gallery,
    preview_grid,
    raw,
    reveal,
    save_outputs,
    seed_row,
    seed_text,
    stop_button,
    user_errors,
)
from components.stage_settings import MODE_LABELS, control_values, stage_controls, to_settings
from unclip import Generation, UnCLIP
from unclip.analysis import stage_shapes, stage_similarities
from unclip.images import read_recipe
from unclip.settings import LIMITS, GenerateSettings, InvalidInput

Number = float | int | str  # what a numeric field may carry before the backend validates it
EXAMPLES = [
    "a red apple left of a cat",
    "two dogs on a snowy background",
    "a blue circle above a yellow star",
    "a pizza and a rocket at night",
    "an elephant on the beach",
]
TABLE_HEADERS = ["mode", "seed", "cos(text, input)", "cos(input, result)", "cos(text, result)", "CLIP score"]
TABLE_NOTE = "input = the embedding the decoder was given; result = CLIP's embedding of the final image"
COMPARE_NOTE = """The paper's prior ablation (§5.1, Fig. 8): **same caption, same seed, same decoder, same
noise**; only the embedding the decoder is given changes. The paper found caption-only decoding clearly
worst, the CLIP *text* embedding used as if it were an image embedding reasonable, and the prior best
(FID 16.55 without the prior vs 7.99 with it). The stage view says why: text and image embeddings of the
same scene are not the same vector (CLIP's "modality gap"); the prior's job is to translate one into the other.
In the table, *input* = the prior's sample, the text embedding itself, or the learned "no embedding" vector.
One caption and seed can rank the modes any way: the paper's order is over thousands of images, and on the small
bundled model the three are close (over 144 captions, CLIP score 73.9 / 73.2 / 72.4, see the README), so try
several seeds before drawing a conclusion."""


def stage_sections(backend: UnCLIP) -> dict[str, str]:
    """The 'how this works' panels, one per stage, with this model's real sizes."""
    s = stage_shapes(backend)
    d, lo, hi = s["embed_dim"], s["low_res"], s["high_res"]
    return {
        "1 · CLIP text encoder": f"**In:** your caption, cut into at most {s['tokens']} tokens (word pieces).  \n"
        f"**Out:** one vector of {d} numbers, the *text embedding*. CLIP was trained so that a caption and a "
        "matching picture get nearby vectors.",
        "2 · Prior": f"**In:** the text embedding ({d}) and the tokens.  \n**Out:** an *image embedding* ({d}): "
        "CLIP's idea of a picture that fits the caption. A diffusion model over vectors: start from noise, "
        "denoise step by step; draw *candidates* and keep the one closest to the text.",
        "3 · Decoder": decoder_section(backend, d, lo),
        "4 · Upsampler": f"**In:** the {lo}×{lo}×3 image.  \n**Out:** {hi}×{hi}×3. Another diffusion model "
        "that invents fine detail on top of a blown-up copy. It never sees the caption." if backend.models.upsampler
        is not None else f"**None in {backend.name}.** {backend.unavailable.get('upsampler', '')}.",
    }


def decoder_section(backend: UnCLIP, d: int, lo: int) -> str:
    if backend.models.latent:  # Kandinsky 2.2: a latent decoder, image embedding only
        return (f"**In:** the image embedding ({d}) only: this decoder never reads the caption.  \n**Out:** a "
                f"{lo}×{lo}×3 image. A U-Net removes noise step by step in a compressed *latent* space (MoVQ), "
                "which is then decoded to pixels; *guidance* pushes harder towards the embedding.")
    return (f"**In:** the image embedding ({d}) and the caption.  \n**Out:** a {lo}×{lo}×3 image. "
            "A U-Net removes noise step by step; *guidance* pushes harder towards the conditioning. The live "
            "preview shows its current guess of the clean image.")


# -- turning results into what the widgets show (numbers come from unclip.analysis) -------------------------
def gallery_items(result: Generation, paths: list[str]) -> list[tuple[Any, str]]:
    """Each image's saved PNG (so a download from the gallery keeps its name, 'unclip-prior-seed0.png', not
    'image.png'), captioned with its CLIP score (first: captions get cut on narrow screens) and its seed."""
    scored = zip(paths, result.clip_scores, result.seeds, strict=True)
    return [(path, f"CLIP score {c:.1f} · seed {s}") for path, c, s in scored]


def stage_rows(results: dict[str, Generation]) -> list[list[Any]]:
    """The stage view: one row per image of each mode."""
    rows = []
    for mode, result in results.items():
        sims = stage_similarities(result)
        columns = [sims[k] for k in ("seed", "text_vs_input", "input_vs_result", "text_vs_result", "clip_score")]
        rows += [[mode, *values] for values in zip(*columns, strict=True)]
    return rows


def save_pngs(results: dict[str, Generation]) -> dict[str, list[str]]:
    """Every mode's images as PNGs (settings in their metadata): mode -> the paths, in the images' order."""
    images = [im for r in results.values() for im in r.images]
    paths = iter(save_outputs(images, [f"unclip-{r.mode}-seed{s}" for r in results.values() for s in r.seeds]))
    return {mode: [next(paths) for _ in r.images] for mode, r in results.items()}


def summary(backend: UnCLIP, results: dict[str, Generation], seconds: float) -> str:
    first = next(iter(results.values()))
    n, seeds = len(first.images), first.seeds
    modes = ", ".join(f"`{m}`" for m in results)
    return (
        f"**{n} image{'s' if n > 1 else ''}** per mode ({modes}) from {seed_text(seeds)} in {seconds:.1f} s with "
        f"model `{backend.name}`. Each PNG keeps its prompt, seed and every stage's settings in its "
        f"`parameters` metadata.{format_warnings(first.warnings)}"
    )


# -- handlers ----------------------------------------------------------------------------------------------
def checked(backend: UnCLIP, prompt: Any, n: Any, seed: Any, settings: GenerateSettings
            ) -> tuple[str, int, int, GenerateSettings]:  # fmt: skip
    """A Generate or Compare request, validated (gr.Error naming the field); no model runs. Each handler's first
    step, and (through `make_prepare`) the check before either starts (`common.check_first`)."""
    with user_errors():
        return backend.check(prompt, n, seed, settings)


def make_prepare(backend: UnCLIP) -> Callable[..., tuple[str, int, int, GenerateSettings]]:
    def prepare(prompt: str, n: Number, seed: Number, mode: str = "prior", **stages: Any
                ) -> tuple[str, int, int, GenerateSettings]:  # fmt: skip
        return checked(backend, prompt, n, seed, to_settings(mode, **stages))

    return prepare


STAGE_CONTROLS = tuple(inspect.signature(to_settings).parameters)  # mode and every stage's controls
RECIPE_FIELDS = ("prompt", "n", "seed", "randomize", *STAGE_CONTROLS, "note")  # `make_restore`'s outputs, in order


def make_restore(backend: UnCLIP) -> Callable[[str | None], tuple]:
    """A PNG that Generate saved -> the form filled to remake it (RECIPE_FIELDS: prompt, its batch's size and first
    seed, "new seed every run" off, the mode and every stage's settings) and a note; gr.Error naming the file's
    problem, or the setting this model cannot run, leaves the form as it was."""
    def restore(path: str | None) -> tuple:
        if not path:
            return tuple(gr.skip() for _ in RECIPE_FIELDS)
        name = "the PNG"
        with user_errors():
            r = read_recipe(path, name)
            try:
                s = backend.validate(r.settings)
            except InvalidInput as e:
                raise InvalidInput(f"{name}'s settings cannot run here: {e}") from None
        note = (f"Filled from **{literal(Path(path).name)}**: image {r.index} of a batch of {r.n} from seed {r.seed} "
                "(image i uses seed + i). Generate remakes that batch, the same pixels at the same model and "
                "precision.")
        if r.model and r.model != backend.name:
            model = r.model.replace("`", "'")  # the file's text, in a code span it cannot close
            note += f" It was made with `{model}`; this app runs `{backend.name}`: expect another picture."
        elif r.precision and r.precision != backend.precision:
            note += (f" It was made in {literal(r.precision)}, this app runs {backend.precision}: expect small "
                     "differences.")
        values = control_values(s)
        return r.prompt, r.n, r.seed, False, *(values[k] for k in STAGE_CONTROLS), note

    return restore


def make_handlers(backend: UnCLIP) -> tuple[Callable[..., Iterator[tuple]], Callable[..., Iterator[tuple]]]:
    """`generate` and `compare`, closed over the one shared backend."""

    def generate(prompt: str, n: Number, seed: Number, mode: str, prior_steps: Number, prior_guidance: Number,
                 prior_candidates: Number, prior_scheduler: str, decoder_steps: Number, decoder_guidance: Number,
                 decoder_scheduler: str, upsampler_steps: Number, upsampler_scheduler: str, upsampler: bool,
                 progress: gr.Progress = gr.Progress()) -> Iterator[tuple]:  # fmt: skip  # noqa: B008 (Gradio's idiom)
        """Text -> n images (seeds seed, seed+1, ...) through CLIP, the prior, the decoder and the upsampler.
        Returns: live preview, gallery (PNG, captioned with CLIP scores), PNG files, stage table, summary."""
        settings = to_settings(mode, prior_steps, prior_guidance, prior_candidates, prior_scheduler, decoder_steps,
                               decoder_guidance, decoder_scheduler, upsampler_steps, upsampler_scheduler,
                               upsampler)  # fmt: skip
        prompt, n, seed, settings = checked(backend, prompt, n, seed, settings)
        start = time.monotonic()
        stream = backend.generate_stream(prompt, n, seed, settings=settings)
        result = yield from follow(stream, progress, planned_steps(settings, [settings.mode]), other_outputs=4)
        results = {settings.mode: result}
        info = summary(backend, results, time.monotonic() - start)
        paths = save_pngs(results)[settings.mode]
        yield preview_grid(result.images), gallery_items(result, paths), paths, stage_rows(results), info

    def compare(prompt: str, n: Number, seed: Number, prior_steps: Number, prior_guidance: Number,
                prior_candidates: Number, prior_scheduler: str, decoder_steps: Number, decoder_guidance: Number,
                decoder_scheduler: str, upsampler_steps: Number, upsampler_scheduler: str, upsampler: bool,
                progress: gr.Progress = gr.Progress()) -> Iterator[tuple]:  # fmt: skip  # noqa: B008 (Gradio's idiom)
        """The prior ablation (paper §5.1): one prompt and seed decoded in all three conditioning modes.
        Returns: live preview, one gallery per mode (prior, text_embedding, caption_only), PNG files,
        stage table, summary."""
        settings = to_settings("prior", prior_steps, prior_guidance, prior_candidates, prior_scheduler,
                               decoder_steps, decoder_guidance, decoder_scheduler, upsampler_steps,
                               upsampler_scheduler, upsampler)  # fmt: skip
        prompt, n, seed, settings = checked(backend, prompt, n, seed, settings)
        start = time.monotonic()
        stream = backend.compare_stream(prompt, n, seed, settings)
        total = planned_steps(settings, backend.modes)
        results = yield from follow(stream, progress, total, other_outputs=len(backend.modes) + 3)
        finals = [im for r in results.values() for im in r.images]
        paths = save_pngs(results)
        galleries = [gallery_items(results[m], paths[m]) for m in backend.modes]
        info = summary(backend, results, time.monotonic() - start)
        files = [path for mode_paths in paths.values() for path in mode_paths]
        yield preview_grid(finals, columns=n), *galleries, files, stage_rows(results), info

    return generate, compare


# -- layout and wiring -------------------------------------------------------------------------------------
def build(backend: UnCLIP) -> None:
    """The Generate tab, inside the current gr.Blocks / gr.Tab."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=340):
            prompt = gr.Textbox(label="Prompt", placeholder=EXAMPLES[0], lines=1, max_lines=4, elem_id="prompt")
            cached = caches_examples(backend)  # GPU: examples run once, then are served (below)
            if not cached:
                gr.Examples([[e] for e in EXAMPLES], inputs=prompt, label="Examples", api_visibility="private")
            n = raw(gr.Slider(*LIMITS["n"], value=4, step=1, label="Number of images", elem_id="n"))
            seed = seed_row()
            with gr.Row():
                run = gr.Button("Generate", variant="primary", elem_id="generate-btn")
                run_compare = gr.Button(f"Compare {len(backend.modes)} modes", elem_id="compare-btn")
                stop = gr.Button("Stop", variant="stop", elem_id="stop-btn")
            with gr.Accordion("Remake from a PNG", open=False, elem_id="recipe"):
                recipe_file = gr.File(label="A PNG that Generate saved: its prompt, seed and settings fill the form",
                                      file_types=[".png"], type="filepath", height=100, elem_id="recipe-file")
                recipe_note = gr.Markdown(elem_id="recipe-note")
            controls = stage_controls(backend, backend.default_settings())
        with gr.Column(scale=3, min_width=340, elem_classes=["results-column"]) as results_column:
            preview = gr.Image(label="Live preview: the model's current guess of the clean image", height=160,
                               interactive=False, buttons=[], elem_id="preview")  # fmt: skip
            gallery = png_gallery("Results", columns=4, elem_id="generate-gallery")
            send_to.gallery_source(gallery, "generate")  # "→ Variations / → Inpaint / → Zoom out"
            info = gr.Markdown(elem_id="generate-info")
            files = gr.File(label="PNG files (settings in their metadata)", file_count="multiple",
                            interactive=False, height=180, elem_id="generate-files",
                            elem_classes=["result-files"])  # fmt: skip
            table = gr.Dataframe(headers=TABLE_HEADERS, label=f"Stage view: cosine similarities ({TABLE_NOTE})",
                                 interactive=False, elem_id="generate-table")  # fmt: skip
    compare_outputs = compare_section(backend)
    how_it_works("How this works: the four stages", stage_sections(backend), open=True)
    generate, compare = (on_gpu(h) for h in make_handlers(backend))
    if cached:
        with results_column:
            cached_examples(backend, generate, prompt, [preview, gallery, files, table, info])
    common = {"prompt": prompt, "n": n, "seed": seed.seed}
    stages = {k: v for k, v in controls.items() if k != "mode"}
    prepare = make_prepare(backend)
    generating = check_first(click_or_enter(run, prompt), prepare, generate,
                             {**common, "mode": controls["mode"], **stages},
                             outputs=[preview, gallery, files, table, info], api_name="generate",
                             seed=seed, show_progress_on=[gallery])  # fmt: skip
    comparing = check_first(run_compare.click, prepare, compare, {**common, **stages}, seed=seed,
                            outputs=[preview, *compare_outputs], api_name="compare",
                            show_progress_on=compare_outputs[: len(backend.modes)])  # fmt: skip
    # the live preview is at the top while it runs; then the three galleries, a screen below (the Results above
    # are still the last Generate's: browser QA saw them taken for Compare's)
    reveal(comparing, "compare", block="start")
    stop_button(stop, [generating, comparing])
    fields = {**common, "randomize": seed.randomize, **controls, "note": recipe_note}
    # the note goes first: a refused file must not sit under the last one's "Filled from" (browser QA)
    recipe_file.upload(lambda: "", None, recipe_note, **LIGHT).then(
        make_restore(backend), recipe_file, [fields[k] for k in RECIPE_FIELDS], **LIGHT)
    recipe_file.clear(lambda: "", None, recipe_note, **LIGHT)


def caches_examples(backend: UnCLIP) -> bool:
    """Cache the examples' results only on a GPU (on a CPU Space the first visitor would wait for all of them)."""
    return backend.models.device.type == "cuda"


def cached_examples(backend: UnCLIP, generate: Callable[..., Iterator[tuple]], prompt: gr.Textbox,
                    outputs: list[Any]) -> gr.Examples:
    """On a GPU: examples with the default settings, each generated on its first click and cached after
    (cache_mode "lazy": start-up does not wait for them)."""
    d = backend.default_settings()

    def example(prompt: str) -> Iterator[tuple]:
        yield from generate(prompt, 4, 0, d.mode, d.prior.steps, d.prior.guidance, d.prior.candidates,
                            d.prior.scheduler, d.decoder.steps, d.decoder.guidance, d.decoder.scheduler,
                            d.upsampler.steps, d.upsampler.scheduler, d.upsampler.enabled)

    return gr.Examples([[e] for e in EXAMPLES], inputs=prompt, fn=example, outputs=outputs, cache_examples=True,
                       cache_mode="lazy", label="Examples (seed 0, default settings; cached after their first run)",
                       api_visibility="private")


def compare_section(backend: UnCLIP) -> list[Any]:
    """Three galleries side by side (one per mode), the stage table, files and a summary; returns the outputs."""
    with gr.Accordion("Compare: the prior ablation (paper §5.1)", open=True, elem_id="compare"):
        gr.Markdown(COMPARE_NOTE)
        with gr.Row():
            galleries = [png_gallery(MODE_LABELS[m], columns=2, elem_id=f"compare-{m}") for m in backend.modes]
        send_to.galleries_source(galleries, "compare")  # "→ Variations / ..." for the image picked in any mode
        info = gr.Markdown(elem_id="compare-info")
        table = gr.Dataframe(headers=TABLE_HEADERS, label=f"Stage view per mode ({TABLE_NOTE})", interactive=False,
                             elem_id="compare-table")  # fmt: skip
        files = gr.File(label="PNG files", file_count="multiple", interactive=False, height=180,
                        elem_id="compare-files", elem_classes=["result-files"])  # fmt: skip
    return [*galleries, files, table, info]
