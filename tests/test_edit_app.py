"""The image tabs end to end over tiny-random: gradio_client calls to /vary, /inpaint, /zoom_out, bad uploads
(the server keeps serving), send-to wiring, Stop, and the handlers themselves."""

from __future__ import annotations

import inspect
import json
import urllib.request
import warnings
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
import pytest
from gradio.components.image_editor import EditorData
from gradio.data_classes import FileData
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image
from test_edit import BOX, box_image, diff, outside, png_header

from components import common, inpaint, send_to, variations, zoom_out
from unclip import InvalidInput, UnCLIP
from unclip.images import read_metadata, save_png
from unclip.uploads import inspect_upload, mask_from_alpha, mask_from_image
from unclip.world import EmojiWorld

STAGES = {"decoder_steps": 2, "upsampler_steps": 1, "decoder_scheduler": "ddim", "upsampler_scheduler": "ddim"}
PRIOR = {"prior_steps": 2, "prior_candidates": 1}
EXAMPLES = Path(__file__).resolve().parents[1] / "assets" / "examples"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Upload files: a scene, a brush layer over BOX, and the bad and odd uploads."""
    d = tmp_path_factory.mktemp("uploads")
    world = EmojiWorld()
    scene = Image.fromarray(world.render(world.sample(1), 256))
    layer = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    layer.paste((255, 0, 170, 255), BOX)
    frames = [scene, scene.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    paths = {"scene": d / "scene.png", "layer": d / "layer.png", "gif": d / "anim.gif", "cmyk": d / "cmyk.jpg",
             "empty": d / "empty.png", "tiny": d / "tiny.png"}  # fmt: skip
    scene.save(paths["scene"])
    layer.save(paths["layer"])
    frames[0].save(paths["gif"], save_all=True, append_images=frames[1:], duration=100)
    scene.convert("CMYK").save(paths["cmyk"])
    Image.new("L", (256, 256), 0).save(paths["empty"])
    Image.new("RGB", (1, 1)).save(paths["tiny"])
    (d / "text.png").write_bytes(b"GIF89a? no: this is text pretending to be an image")
    (d / "bomb.png").write_bytes(png_header(20000, 20000))
    return {**{k: str(v) for k, v in paths.items()}, "text": str(d / "text.png"), "bomb": str(d / "bomb.png")}


def editor(background: str, *layers: str) -> dict[str, Any]:
    """A gr.ImageEditor value as an API client sends it."""
    return {"background": handle_file(background), "layers": [handle_file(x) for x in layers], "composite": None,
            "id": None}  # fmt: skip


def vary(client: Any, image: str, **kw: Any) -> tuple:
    return client.predict(image=handle_file(image), **{"n": 1, "seed": 0, **STAGES, **kw}, api_name="/vary")


def inpaint_call(client: Any, image: dict, **kw: Any) -> tuple:
    args = {"prompt": "a crab on the beach", "n": 1, "seed": 0, **STAGES, **PRIOR, **kw}
    return client.predict(image=image, **args, api_name="/inpaint")


def zoom(client: Any, image: str, **kw: Any) -> tuple:
    return client.predict(image=handle_file(image), **{"factor": 2, "seed": 0, **STAGES, **PRIOR, **kw},
                          api_name="/zoom_out")  # fmt: skip


def first_image(gallery: list[dict]) -> Image.Image:
    return Image.open(gallery[0]["image"]).convert("RGB")


# -- the API surface -----------------------------------------------------------------------------------------
def test_edit_endpoints_are_public_generators_with_a_stop(client: Any, demo: Any) -> None:
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    params = {name: [p["parameter_name"] for p in api[f"/{name}"]["parameters"]] for name in ("vary", "inpaint",
                                                                                              "zoom_out")}  # fmt: skip
    assert params["vary"][:5] == ["image", "n", "seed", "strength", "prompt"]
    assert params["inpaint"][:3] == ["image", "mask", "mask_source"] and "feather" in params["inpaint"]
    assert params["zoom_out"][:3] == ["image", "factor", "anchor"] and "condition" in params["zoom_out"]
    deps = demo.config["dependencies"]
    ids = {d["api_name"]: d["id"] for d in deps if d["api_visibility"] != "private"}
    for name in ("vary", "inpaint", "zoom_out"):
        assert next(d for d in deps if d["id"] == ids[name])["types"]["generator"]
        assert any(ids[name] in d["cancels"] for d in deps), f"no Stop for {name}"


def elem_ids(demo: Any) -> dict[str, int]:
    """elem_id -> component id, from the app's config."""
    return {c["props"]["elem_id"]: c["id"] for c in demo.config["components"] if c["props"].get("elem_id")}


def listeners(demo: Any, elem_id: str, *events: str) -> list[dict]:
    """The app's dependencies that `events` of the component `elem_id` trigger."""
    target = elem_ids(demo)[elem_id]
    return [d for d in demo.config["dependencies"] if any(t[0] == target and t[1] in events for t in d["targets"])]


SEEDED = {"generate-btn": "seed", "compare-btn": "seed", "vary-btn": "vary-seed", "inpaint-btn": "inpaint-seed",
          "zoom-btn": "zoom-seed", "zoom-again": "zoom-seed", "explorer-interpolate": "explorer-seed",
          "explorer-text-diff": "explorer-seed", "explorer-gap": "explorer-seed"}  # button -> its seed box


@pytest.mark.parametrize("button", [*SEEDED, "explorer-add"])
def test_a_run_is_checked_first_in_an_event_without_outputs(demo: Any, button: str) -> None:
    """click -> check (the run's inputs, no outputs) -> seed pick (where there is a seed) -> run, each only on
    success: a refused request is a toast, and the last results and the seed box stay (a run that fails puts an
    "Error" badge over its outputs: images, or the map; a pick before the check rolled the seed for nothing)."""
    deps = {d["id"]: d for d in demo.config["dependencies"]}
    after = {d["trigger_after"]: d for d in deps.values() if d["trigger_after"] is not None}
    (check,) = listeners(demo, button, "click")
    if not check["backend_fn"]:  # Inpaint: first the editor's browser-side copy (see the next test)
        check = after[check["id"]]
    step = after[check["id"]]
    assert check["outputs"] == [] and check["api_visibility"] == "private" and check["show_progress"] == "hidden"
    if button in SEEDED:
        box, randomize = (elem_ids(demo)[k] for k in (SEEDED[button], f"{SEEDED[button]}-randomize"))
        assert step["outputs"] == [box] and step["inputs"] == [box, randomize] and step["trigger_only_on_success"]
        run = after[step["id"]]
        assert check["inputs"] == [*run["inputs"], randomize] and box in run["inputs"]
    else:
        run = step
        assert check["inputs"] == run["inputs"]
    assert run["trigger_only_on_success"] and len(run["outputs"]) >= 4


def test_the_check_ignores_a_seed_that_new_seed_every_run_replaces() -> None:
    """The seed box's value is refused only when the run will use it; positional or keyword, as Gradio calls."""

    def prepare(prompt: str, seed: Any, n: int = 1) -> None:
        if not prompt.strip():
            raise gr.Error("prompt is empty")
        if not isinstance(seed, int):
            raise gr.Error(f"seed must be a whole number, got {seed!r}")

    with gr.Blocks() as demo:
        prompt, row, button = gr.Textbox(), common.seed_row(), gr.Button()
        common.check_first(button.click, prepare, lambda prompt, seed: None, {"prompt": prompt, "seed": row.seed},
                           seed=row, outputs=[])  # fmt: skip
    check = next(f.fn for f in demo.fns.values() if f.fn.__name__ == "prepare")
    assert list(inspect.signature(check).parameters) == ["prompt", "seed", "n", common.ROLLS]
    check("a cat", "abc", new_seed_every_run=True)
    check(prompt="a cat", seed="abc", new_seed_every_run=True)
    with pytest.raises(gr.Error, match="seed must be"):
        check("a cat", "abc", new_seed_every_run=False)
    with pytest.raises(gr.Error, match="prompt is empty"):
        check(prompt=" ", seed="abc", new_seed_every_run=True)  # the rest is still checked


def test_send_to_buttons_switch_tab_and_fill_the_input(demo: Any) -> None:
    """The server puts the image in the target's hidden 'incoming' image; a browser-only step copies it in (an
    ImageEditor's background) and selects the tab."""
    comps = elem_ids(demo)
    tabs = next(c["id"] for c in demo.config["components"] if c["type"] == "tabs")
    deps = demo.config["dependencies"]
    wires = {("generate-to-variations", "vary-image"), ("generate-to-inpaint", "inpaint-image"),
             ("generate-to-zoom-out", "zoom-image"), ("vary-to-inpaint", "inpaint-image"),
             ("inpaint-to-zoom-out", "zoom-image"), ("zoom-to-variations", "vary-image")}  # fmt: skip
    for button, target in wires:
        (dep,) = listeners(demo, button, "click")
        incoming = comps[f"{target}-incoming"]
        assert dep["outputs"] == [incoming] and dep["api_visibility"] == "private", button
        (copy,) = [d for d in deps if d["trigger_after"] == dep["id"] and not d["backend_fn"]]
        assert copy["inputs"] == [incoming] and copy["outputs"] == [comps[target], tabs], button
        assert copy["trigger_only_on_success"] and ("background: x" in copy["js"]) == (target == "inpaint-image")
    assert "vary-to-variations" not in comps and "zoom-to-zoom-out" not in comps


def test_no_server_event_outputs_to_the_tabs_or_the_editor(demo: Any) -> None:
    """Gradio 6.31's browser asks every component a server event has output (and all inside it) for its value on
    each later status message; asked, an ImageEditor holding an image uploads its canvas. Sending straight to the
    editor and the tabs made 140-180 uploads during every later Generate (benchmarks/RESULTS.md)."""
    comps = elem_ids(demo)
    tabs = next(c["id"] for c in demo.config["components"] if c["type"] == "tabs")
    for d in demo.config["dependencies"]:
        if d["backend_fn"]:
            assert tabs not in d["outputs"] and comps["inpaint-image"] not in d["outputs"], d["targets"]


def test_no_server_event_reads_the_editor(demo: Any) -> None:
    """Every input of a finished queued event is asked for its value on each later status message (Gradio 6.31);
    asked, the editor uploads its canvas: 66 uploads during each later Generate once an image had been uploaded.
    The server reads a hidden copy, made browser-side just before."""
    comps = elem_ids(demo)
    editor, sent = comps["inpaint-image"], comps["inpaint-image-sent"]
    deps = demo.config["dependencies"]
    assert not [d["targets"] for d in deps if d["backend_fn"] and editor in d["inputs"]]
    copies = [d for d in deps if editor in d["inputs"]]
    assert {tuple(t) for d in copies for t in d["targets"]} == {(editor, "upload"), (comps["inpaint-btn"], "click"),
                                                                (comps["inpaint-prompt"], "submit")}  # fmt: skip
    for copy in copies:
        assert not copy["backend_fn"] and copy["outputs"] == [sent] and copy["js"] == "(x) => x"
        assert any(d["trigger_after"] == copy["id"] and sent in d["inputs"] for d in deps)


def test_send_to_with_nothing_selected_warns_and_changes_nothing(demo: Any) -> None:
    from components.send_to import NOTHING

    (dep,) = listeners(demo, "generate-to-inpaint", "click")
    assert dep["queue"] is not False  # Gradio shows a gr.Warning from queued events only (else: the server log)
    send = demo.fns[dep["id"]].fn
    with pytest.warns(UserWarning, match=NOTHING.split(":")[0]):  # a toast in the app
        assert send(None, (0, 0)) is None  # an empty gallery, nothing selected: the browser-side copy then skips
    assert send([("a.png", "x")], (0, 0)) == "a.png"  # (which gallery, which image)
    comps = elem_ids(demo)  # Inpaint's crop preview, run after an arrival, keeps the last one when nothing came
    incoming = comps["inpaint-image-incoming"]
    follows = [d for d in demo.config["dependencies"] if d["backend_fn"] and d["inputs"][:1] == [incoming]]
    assert len(follows) >= 3  # after each send to Inpaint, and after its examples
    for follow in follows:
        out = demo.fns[follow["id"]].fn(None, *[""] * (len(follow["inputs"]) - 1))
        assert all(o is gr.skip() or o == gr.skip() for o in (out if isinstance(out, tuple) else (out,)))
    (copy,) = [d for d in demo.config["dependencies"] if d["trigger_after"] == dep["id"] and not d["backend_fn"]]
    skip = "{__type__: 'update'}"  # gr.skip() on the wire: neither the input nor the tab changes
    assert copy["js"].startswith("(x) => x ? ") and copy["js"].endswith(f": [{skip}, {skip}]")


def test_a_sent_image_brings_its_caption_to_inpaint_and_zoom_out(demo: Any, tmp_path: Path) -> None:
    """"→ Inpaint" carried the image and not its caption: Inpaint's prompt (through the prior, by default) had to
    be typed again (browser QA; A1111's send-to carries the prompt). Not Variations, whose caption is optional and
    changes what a variation is; not after an example, which brings its own prompt."""
    made = Image.new("RGB", (64, 64))
    made.info["parameters"] = json.dumps({"prompt": "a cat above a pizza", "seed": 3})
    with_caption, plain, blank = tmp_path / "made.png", tmp_path / "plain.png", tmp_path / "blank.png"
    save_png(made, with_caption)
    Image.new("RGB", (64, 64)).save(plain)
    made.info["parameters"] = json.dumps({"prompt": " ", "seed": 3})
    save_png(made, blank)
    assert send_to.sent_caption(str(with_caption)) == "a cat above a pizza"
    for path in (plain, blank):  # an upload, a caption-less variation: emptied (it follows the picture)
        assert send_to.sent_caption(str(path)) == ""
    assert send_to.sent_caption(str(tmp_path / "gone.png")) == gr.skip()  # nothing readable came
    comps, deps = elem_ids(demo), demo.config["dependencies"]
    after = {}
    for d in deps:
        after.setdefault(d["trigger_after"], []).append(d)
    for button, prompt in (("generate-to-inpaint", "inpaint-prompt"), ("compare-to-inpaint", "inpaint-prompt"),
                           ("vary-to-inpaint", "inpaint-prompt"), ("generate-to-zoom-out", "zoom-prompt"),
                           ("inpaint-to-zoom-out", "zoom-prompt"), ("generate-to-variations", None)):  # fmt: skip
        (click,) = listeners(demo, button, "click")
        (copy,) = [d for d in after[click["id"]] if not d["backend_fn"] and d["trigger_only_on_success"]]
        fills = [d for d in after.get(copy["id"], []) if d["backend_fn"] and comps.get(prompt) in d["outputs"]]
        assert len(fills) == (prompt is not None), button
        for d in fills:
            assert demo.fns[d["id"]].fn(str(with_caption)) == "a cat above a pizza"
    examples = [d for d in deps if d["backend_fn"] and comps["inpaint-prompt"] in d["outputs"]
                and comps["inpaint-image-incoming"] in d["outputs"]]  # Inpaint's examples: image, mask, prompt
    assert examples and not [d for e in examples for a in after.get(e["id"], []) for d in after.get(a["id"], [])
                             if d["backend_fn"] and d["outputs"] == [comps["inpaint-prompt"]]]  # fmt: skip


def test_a_new_image_over_earlier_results_says_whose_they_are(demo: Any, tmp_path: Path) -> None:
    """A new image in Variations or Inpaint showed its crop beside the previous image's results, with no word
    (browser QA); Zoom out already said so. With results shown, the summary becomes a note; else nothing is said."""
    from components.edit_common import new_image_note, preview_new_image

    picture, fake = tmp_path / "pic.png", tmp_path / "fake.png"
    Image.new("RGB", (300, 200), "red").save(picture)
    fake.write_text("not an image")
    shown = [(str(picture), "seed 0")]  # the results gallery's value
    seen, note, info = preview_new_image(str(picture), shown, 64, "Make variations")
    assert seen.size == (64, 64) and "300×200" in note and info == new_image_note("Make variations")
    assert "*Make variations* works on it. The results below are still the previous image's" in info
    for nothing in ([], None):  # no results yet (or a stopped first run)
        assert preview_new_image(str(picture), nothing, 64, "Inpaint")[2] == gr.skip()
    with pytest.warns(UserWarning, match="not an image file"):  # refused: its toast says why; the results stay
        assert preview_new_image(str(fake), shown, 64, "Inpaint")[::2] == (None, gr.skip())
    comps = elem_ids(demo)
    (change,) = [d for d in listeners(demo, "vary-image", "change") if d["backend_fn"]]
    assert change["inputs"] == [comps["vary-image"], comps["vary-gallery"]] and comps["vary-info"] in change["outputs"]
    inpaint_notes = [d for d in demo.config["dependencies"] if d["backend_fn"] and comps["inpaint-info"] in d["outputs"]
                     and comps["inpaint-crop-note"] in d["outputs"]]  # fmt: skip
    assert len(inpaint_notes) >= 2  # an upload into the editor; a send or an example


def test_events_that_warn_about_an_upload_are_queued(demo: Any) -> None:
    """crop_preview answers a bad upload with a gr.Warning, which Gradio drops from unqueued events."""
    after = {d["trigger_after"]: d for d in demo.config["dependencies"] if d["trigger_after"] is not None}
    for elem_id in ("vary-image", "inpaint-image"):
        deps = listeners(demo, elem_id, "change", "upload")  # the Inpaint editor's: a browser-side copy first
        deps = [d if d["backend_fn"] else after[d["id"]] for d in deps]
        assert deps and all(d["queue"] is not False and d["backend_fn"] for d in deps), elem_id


def test_zoom_preset_custom_sends_the_factor_back_as_a_value(demo: Any) -> None:
    """A value, not gr.skip(): a property update makes Gradio rebuild the slider for the session (which then lost
    raw()'s pass-through, and a typed factor past the slider's range failed with HTTP 500; browser test too)."""
    (dep,) = listeners(demo, "zoom-preset", "change")
    assert dep["outputs"] == [elem_ids(demo)["zoom-factor"]]
    preset = demo.fns[dep["id"]].fn
    assert preset("custom", 3.3) == 3.3 and preset("custom", 10) == 10 and preset(1.5, 2.0) == 1.5
    # any factor change (typed, or an example's) picks the preset
    (back,) = [d for d in listeners(demo, "zoom-factor", "change") if d["outputs"] == [elem_ids(demo)["zoom-preset"]]]
    assert demo.fns[back["id"]].fn is zoom_out.preset_for
    assert [zoom_out.preset_for(f) for f in (1.5, "2", 2.05, 3.3, None, "x")] == [1.5, 2.0] + ["custom"] * 4
    for f in (1.5, 2.0, 3.3):  # the two events settle: preset -> factor -> the same preset
        assert zoom_out.preset_for(preset(zoom_out.preset_for(f), f)) == zoom_out.preset_for(f)


def test_only_a_new_readable_image_ends_the_zoom_sequence(demo: Any, files: dict[str, str]) -> None:
    """Removing the input image, or an upload refused (not an image, over 10 MB: Gradio empties the box), also
    emptied the sequence: "Zoom out again" then refused with the last result still on screen."""
    [dep] = [d for d in listeners(demo, "zoom-image", "change") if elem_ids(demo)["zoom-info"] in d["outputs"]]
    ids = elem_ids(demo)
    assert dep["inputs"][0] == ids["zoom-image"] and dep["outputs"] == [ids["zoom-seen"], dep["outputs"][1],
                                                                         ids["zoom-info"]]  # fmt: skip
    handler = demo.fns[dep["id"]].fn  # the canvas preview too: one decode of the upload for both
    sequence = ["a zoom step"]  # the handler only looks at whether there is one
    skip = gr.skip()
    canvas, *rest = handler(files["scene"], 2, "center", sequence)
    assert canvas.size == (256, 256) and rest == [[], zoom_out.NEW_IMAGE]
    for path in (None, files["text"], files["tiny"], files["bomb"]):
        assert handler(path, 2, "center", sequence) == (None, skip, skip), path
    assert handler(files["scene"], 2, "center", [])[1:] == (skip, skip)  # no sequence yet: nothing to say


def test_send_to_sources_must_be_file_paths() -> None:
    """Zoom out's result was a numpy gr.Image: its send-to buttons failed on the server ("truth value of an array")."""
    with gr.Blocks(), pytest.raises(ValueError, match="send-to source must be gr.Image\\(type='filepath'\\)"):
        send_to.image_source(gr.Image(elem_id="result"), "x")


def test_raw_inputs_stay_raw_when_gradio_rebuilds_them(demo: Any, files: dict[str, str]) -> None:
    """Gradio answers a property update (an Examples click, gr.update, gr.skip) by rebuilding the component for the
    session from its constructor arguments. After a Zoom out example, a typed factor of 9 then failed in the
    slider's own preprocess (HTTP 500, a traceback) instead of reaching the backend's "factor must be between";
    and an upload was decoded by Gradio (no size limit; a traceback and no toast for a file that is no image)."""
    marked = [b for b in demo.blocks.values() if common.RAW in (b.elem_classes or [])]
    images = {"vary-image", "inpaint-image", "inpaint-mask", "zoom-image", "explorer-diff-image"}
    assert {"zoom-factor", "zoom-anchor", "vary-strength", "n", "seed", "decoder_steps", *images} <= {
        b.elem_id for b in marked}  # fmt: skip
    text = FileData(path=files["text"], orig_name="fake.png")
    for block in marked:
        copy = type(block)(**{**block.constructor_args, "render": False})  # what Gradio does (blocks.py)
        if isinstance(copy, gr.ImageEditor):
            got = copy.preprocess(EditorData(background=text, layers=[text], composite=None))
            assert got == {"background": files["text"], "layers": [files["text"]]}, block.elem_id
        elif isinstance(copy, gr.Image):
            assert copy.preprocess(text) == files["text"], block.elem_id  # undecoded: uploads checks it
        else:
            assert copy.preprocess("not a number") == "not a number", block.elem_id
    plain = gr.Slider(1, 4, render=False)  # others keep Gradio's checks
    with pytest.raises(Exception, match="greater than maximum"):
        plain.preprocess(9)
    with pytest.raises(Exception, match="cannot identify image file"):
        gr.Image(type="filepath", render=False).preprocess(text)
    with pytest.raises(TypeError, match="Textbox"):
        common.raw(gr.Textbox(render=False))


def test_a_number_typed_past_a_slider_s_range_is_said(demo: Any) -> None:
    """Gradio's slider clamps a typed number on blur, silently (20 images typed, 8 made): its release event says
    so with a toast naming the field; a value in range says nothing."""
    sliders = [b for b in demo.blocks.values() if isinstance(b, gr.Slider) and common.RAW in (b.elem_classes or [])]
    assert {"n", "decoder_steps", "zoom-factor", "vary-strength", "inpaint-feather"} <= {b.elem_id for b in sliders}
    for slider in sliders:
        (dep,) = listeners(demo, slider.elem_id, "release")
        assert dep["queue"] is not False and dep["api_visibility"] == "private", slider.elem_id  # toasts: queued
    (dep,) = listeners(demo, "n", "release")
    clamped = demo.fns[dep["id"]].fn
    with pytest.warns(UserWarning, match="Number of images must be between 1 and 8: 20 was changed to 8"):
        clamped(gr.EventData(None, 20))
    with pytest.warns(UserWarning, match="-3 was changed to 1"):
        clamped(gr.EventData(None, -3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clamped(gr.EventData(None, 5))  # in range: silent
        clamped(gr.EventData(None, "abc"))  # not a number: the run's own check names it


def test_scheduler_lists_offer_only_what_each_stage_can_use(demo: Any, backend: UnCLIP) -> None:
    """tiny models' decoders predict v, which diffusers' UnCLIPScheduler cannot read: it is not offered there."""
    assert "unclip" not in backend.stage_schedulers("decoder")
    assert backend.stage_schedulers("prior") == backend.schedulers
    choices = {c["props"]["elem_id"]: [v for _, v in c["props"]["choices"]] for c in demo.config["components"]
               if str(c["props"].get("elem_id", "")).endswith("scheduler")}  # fmt: skip
    assert {"decoder_scheduler", "vary-decoder_scheduler", "zoom-decoder_scheduler", "prior_scheduler"} <= set(choices)
    for elem_id, offered in choices.items():
        stage = elem_id.split("-")[-1].removesuffix("_scheduler")
        assert offered == list(backend.stage_schedulers(stage)), elem_id
        for name in offered:  # every one offered runs
            backend.validate(replace_scheduler(backend.default_settings(), stage, name))


def replace_scheduler(settings: Any, stage: str, name: str) -> Any:
    from dataclasses import replace

    return replace(settings, **{stage: replace(getattr(settings, stage), scheduler=name)})


# -- end to end -----------------------------------------------------------------------------------------------
def test_vary_end_to_end(client: Any, files: dict[str, str]) -> None:
    preview, seen, gallery, pngs, info = vary(client, files["scene"], n=2, seed=7, strength=0.5)
    assert [g["caption"].split(" · ")[-1] for g in gallery] == ["seed 7", "seed 8"]
    assert gallery[0]["caption"].startswith("cos ") and "2 variations" in info
    meta = read_metadata(pngs[0])
    assert meta["operation"] == "vary" and meta["strength"] == 0.5 and meta["decoder"]["steps"] == 2
    assert Path(pngs[0]).name == "unclip-vary-seed7.png" and Image.open(seen).size == (256, 256)
    assert [Path(g["image"]).name for g in gallery] == ["unclip-vary-seed7.png", "unclip-vary-seed8.png"]  # downloads
    _, _, _, pngs, info = vary(client, files["scene"], n=1, seed=7, strength=0.5, method="inversion", eta=0.3)
    assert "the picture's DDIM inversion, decoded with DDIM at η 0.3" in info  # (strength: the other method's)
    assert {k: read_metadata(pngs[0]).get(k) for k in ("method", "eta", "strength")} == {
        "method": "ddim inversion", "eta": 0.3, "strength": None}
    with pytest.raises(AppError, match="method must be one of sdedit, inversion; got 'ddim'"):
        vary(client, files["scene"], method="ddim")
    with pytest.raises(AppError, match="eta is empty: enter a number between 0 and 1"):  # not a quiet SDEdit
        vary(client, files["scene"], method="inversion", eta=None)


def test_a_long_caption_is_shortened_in_the_summary_not_in_the_pngs(client: Any, files: dict[str, str]) -> None:
    caption = "a red apple left of a cat on the beach " * 60  # 2,340 characters
    _, _, _, pngs, info = vary(client, files["scene"], strength=0.5, prompt=caption)
    assert "with the caption “a red apple left of a cat" in info and "…”" in info and len(info) < 1000
    assert "caption is longer than 77 tokens" in info  # the field's name: there is no "prompt" in Variations
    assert read_metadata(pngs[0])["prompt"] == caption.strip()


def test_strength_0_says_it_keeps_the_picture(client: Any, files: dict[str, str]) -> None:
    info = vary(client, files["scene"], strength=0.0)[4]
    assert "Strength 0 keeps your picture as it is (no denoising step runs): raise it to vary it." in info
    assert "Strength 0" not in vary(client, files["scene"], strength=0.05)[4]


def test_inpaint_with_brush_strokes_keeps_the_rest(client: Any, files: dict[str, str]) -> None:
    _, seen, gallery, pngs, info = inpaint_call(client, editor(files["scene"], files["layer"]), feather=4,
                                                mask_source="brush")  # fmt: skip
    result, scene = first_image(gallery), Image.open(files["scene"]).convert("RGB")
    d = diff(result, scene)
    assert d[outside(BOX, 5)].max() <= 2 and d[BOX[1]:BOX[3], BOX[0]:BOX[2]].mean() > 10
    assert read_metadata(pngs[0])["prompt"] == "a crab on the beach" and "1 inpainting" in info


def test_inpaint_mask_sources(client: Any, files: dict[str, str]) -> None:
    cut_out = str(EXAMPLES / "beach-hot-dog-cut-out.png")
    assert len(inpaint_call(client, editor(cut_out))[2]) == 1  # auto: the transparent pixels
    mask = handle_file(str(EXAMPLES / "yellow-pig-mask.png"))
    _, _, gallery, _, _ = inpaint_call(client, editor(str(EXAMPLES / "yellow-pig.png")), mask=mask)
    assert first_image(gallery).size == (256, 256)
    with pytest.raises(AppError, match="mask is empty: none of it is white"):
        inpaint_call(client, editor(files["scene"]), mask=handle_file(files["empty"]))
    with pytest.raises(AppError, match=r"mask is empty: paint the region to repaint \(or upload a mask"):
        inpaint_call(client, editor(files["scene"]), mask_source="brush")
    with pytest.raises(AppError, match="mask is empty: Mask from is set to brush strokes and none are painted; paint "
                                       "the region, or pick the uploaded mask"):  # it said "upload a mask": one was
        inpaint_call(client, editor(files["scene"]), mask=mask, mask_source="brush")
    with pytest.raises(AppError, match="mask is missing: upload a mask image"):
        inpaint_call(client, editor(files["scene"], files["layer"]), mask_source="upload")
    with pytest.raises(AppError, match="mask_source must be one of auto, brush, upload, transparency"):
        inpaint_call(client, editor(files["scene"]), mask_source="lasso")


def test_zoom_out_end_to_end(client: Any, files: dict[str, str]) -> None:
    preview, seen, result, pngs, info, frames, gif = zoom(client, files["scene"], anchor="left", feather=4)
    assert Image.open(result).size == (256, 256) and len(frames) == 2 and "Sequence: 1 zoom." in info
    assert [Path(p).suffix for p in pngs] == [".png", ".gif"] and Image.open(gif).n_frames > 2
    meta = read_metadata(pngs[0])
    assert meta["operation"] == "zoom_out" and meta["anchor"] == "left" and meta["factor"] == 2
    shrunk = np.asarray(Image.open(files["scene"]).convert("RGB").resize((128, 128), Image.Resampling.LANCZOS), int)
    inner = np.asarray(Image.open(result).convert("RGB"), int)[64 + 5:192 - 5, 0:128 - 5]
    assert np.abs(inner - shrunk[5:-5, :-5]).max() <= 2


# -- bad uploads: a clear error, and the server keeps serving -------------------------------------------------------
@pytest.mark.parametrize("endpoint", ["vary", "inpaint", "zoom_out"])
def test_a_missing_image_is_refused_by_name(client: Any, files: dict[str, str], endpoint: str) -> None:
    calls = {
        "vary": lambda: client.predict(image=None, **{"n": 1, "seed": 0, **STAGES}, api_name="/vary"),
        "inpaint": lambda: inpaint_call(client, {"background": None, "layers": [], "composite": None, "id": None}),
        "zoom_out": lambda: client.predict(image=None, **{"factor": 2, "seed": 0, **STAGES, **PRIOR},
                                           api_name="/zoom_out"),  # fmt: skip
    }
    with pytest.raises(AppError, match="image is missing"):
        calls[endpoint]()
    good = vary(client, files["scene"])  # still serving
    assert Path(good[2][0]["image"]).is_file()


BAD_UPLOADS = [
    ("text", "image is not an image file PIL can read"),
    ("tiny", "image is too small: 1×1 px; it must be at least 16 px on each side"),
    ("bomb", "image is too large to decode safely"),
]


@pytest.mark.parametrize(("name", "message"), BAD_UPLOADS, ids=[n for n, _ in BAD_UPLOADS])
@pytest.mark.parametrize("endpoint", ["vary", "inpaint", "zoom_out", "inpaint-mask"])
def test_bad_upload_is_refused_then_app_still_works(client: Any, files: dict[str, str], name: str, message: str,
                                                    endpoint: str) -> None:  # fmt: skip
    calls = {
        "vary": lambda f: vary(client, f),
        "inpaint": lambda f: inpaint_call(client, editor(f, files["layer"])),
        "zoom_out": lambda f: zoom(client, f),
        "inpaint-mask": lambda f: inpaint_call(client, editor(files["scene"]), mask=handle_file(f)),
    }
    with pytest.raises(AppError) as err:
        calls[endpoint](files[name])
    expected = message.replace("image", "mask", 1) if endpoint == "inpaint-mask" else message
    assert expected in str(err.value)
    good = calls["inpaint" if endpoint == "inpaint-mask" else endpoint](files["scene"])  # still serving
    assert Path(good[2] if endpoint == "zoom_out" else good[2][0]["image"]).is_file()


def test_animated_gif_and_cmyk_are_used_and_said(client: Any, files: dict[str, str]) -> None:
    *_, info = vary(client, files["gif"])
    assert "animated GIF (2 frames): used its first frame" in info
    _, seen, gallery, _, info = vary(client, files["cmyk"])
    assert "converted from CMYK to RGB" in info and len(gallery) == 1
    assert diff(Image.open(seen).convert("RGB"), Image.open(files["scene"]).convert("RGB")).mean() < 12


# -- the handlers themselves ----------------------------------------------------------------------------------------
def test_vary_handler_yields_every_step_and_stop_closes_it(backend: UnCLIP, files: dict[str, str],
                                                           monkeypatch: Any) -> None:  # fmt: skip
    closed: list[bool] = []
    real = variations.run_edit

    def spy(*args: Any, **kwargs: Any) -> Any:
        try:
            return (yield from real(*args, **kwargs))
        finally:
            closed.append(True)

    monkeypatch.setattr(variations, "run_edit", spy)  # the stream the handler follows
    handler = variations.make_handler(backend)
    args = {"image": files["scene"], "n": 1, "seed": 0, "strength": 1.0, "prompt": "", "decoder_guidance": 3.0,
            "upsampler": True, **STAGES}  # fmt: skip
    assert len(list(handler(**args))) == STAGES["decoder_steps"] + STAGES["upsampler_steps"] + 1
    closed.clear()
    running = handler(**{**args, "decoder_steps": 50})
    for _ in range(3):
        next(running)
    running.close()  # what Gradio does on Stop (`cancels=`)
    assert closed == [True]


def test_prepare_validates_without_running_a_model(backend: UnCLIP, files: dict[str, str], monkeypatch: Any) -> None:
    """What each tab's check event runs: bad input is a gr.Error naming the field, good input a job, and no
    model is touched either way (so the check costs milliseconds)."""
    from components.generate import make_prepare

    def no_model(*_: Any, **__: Any) -> Any:
        raise AssertionError("a check ran a model")

    for name in ("encode_text", "encode_image", "image_embeds_for"):
        monkeypatch.setattr(backend, name, no_model)
    stages = {"decoder_guidance": 3.0, "upsampler": True, **STAGES}
    prior = {**PRIOR, "prior_guidance": 2.0, "prior_scheduler": backend.default_settings().prior.scheduler}
    prompt, n, seed, settings = make_prepare(backend)("a cat", 2, 7, **prior, **stages)
    assert (prompt, n, seed, settings.decoder.steps) == ("a cat", 2, 7, 2)
    with pytest.raises(gr.Error, match="prompt is empty"):
        make_prepare(backend)("  ", 2, 7, **prior, **stages)
    vary_ = variations.make_prepare(backend)
    assert vary_(files["scene"], 3, 0, 0.5, "", **stages).seeds == [0, 1, 2]
    with pytest.raises(gr.Error, match="strength must be between 0 and 1"):
        vary_(files["scene"], 3, 0, 1.5, "", **stages)
    paint = inpaint.make_prepare(backend)
    job = paint({"background": files["scene"], "layers": [files["layer"]]}, "auto", "a cat", "prompt", 4, False, 1, 0,
                **stages)  # fmt: skip
    assert job.mask is not None and job.mask.max() == 1.0
    with pytest.raises(gr.Error, match="mask is empty"):
        paint({"background": files["scene"], "layers": []}, "auto", "a cat", "prompt", 4, False, 1, 0, **stages)
    zoom, zoom_again = zoom_out.make_prepares(backend)
    assert zoom(files["scene"], 2.0, "left", "", "image", 8, 0, **stages).options["anchor"] == "left"
    with pytest.raises(gr.Error, match="factor must be between 1.1 and 4"):
        zoom(files["scene"], 9, "left", "", "image", 8, 0, **stages)
    with pytest.raises(gr.Error, match="Zoom out once first"):
        zoom_again([], 2.0, "left", "", "image", 8, 0, **stages)


def test_zoom_out_again_grows_the_sequence_and_the_gif(backend: UnCLIP, files: dict[str, str]) -> None:
    first, again = zoom_out.make_handlers(backend)
    stages = {"mode": "prior", "prior_guidance": 1.0, "prior_scheduler": "ddim", "decoder_guidance": 3.0,
              "upsampler": True, **STAGES, **PRIOR}  # fmt: skip
    common = {"factor": 2.0, "anchor": "center", "prompt": "", "condition": "image", "feather": 4, "seed": 0}
    out = list(first(image=files["scene"], **common, **stages))[-1]
    sequence = out[5]
    out = list(again(sequence=sequence, **{**common, "seed": 5}, **stages))[-1]
    assert len(out[5]) == 3 and [c for _, c in out[6]] == ["original", "zoom 1", "zoom 2"]
    names = [Path(p).name for p in out[3]]  # every zoom's PNG, not only the last one's
    # zoom 2 of a sequence takes the seed after the box's (5 + 1): one seed for every ring repeated one pattern
    assert names == ["unclip-zoom_out-x1-seed0.png", "unclip-zoom_out-x2-seed6.png", "infinite-zoom.gif"]
    assert [read_metadata(p)["seed"] for p in out[3][:2]] == [0, 6]
    assert [Path(p).name for p, _ in out[6][1:]] == names[:2]  # the sequence gallery shows (and downloads) the PNGs
    original = out[6][0][0]  # the first frame too: it downloaded as 'image.png'
    assert Path(original).name == "unclip-zoom_out-original.png" and Path(original).parent == Path(out[3][0]).parent
    assert np.array_equal(np.asarray(Image.open(original)), np.asarray(sequence[0].image))
    assert read_metadata(original) == {}  # the user's picture, not one of ours (the explorer does not map it)
    assert Image.open(out[7]).n_frames == 1 + 2 * 12
    with pytest.raises(gr.Error, match="Zoom out once first"):
        list(again(sequence=[], **common, **stages))


def test_inpaint_through_the_api_with_a_bare_file_says_which_shape_it_takes(client: Any,
                                                                          files: dict[str, str]) -> None:  # fmt: skip
    """handle_file(png) where the editor's dict belongs was answered "image is missing: upload an image"."""
    with pytest.raises(AppError, match='image must be the editor.s value, {"background": file, "layers": .files.}'):
        inpaint_call(client, handle_file(files["scene"]))


AS_FILE = "image must be a file, each file as gradio_client's handle_file(path) gives it"


@pytest.mark.parametrize(("api", "payload", "message"), [
    ("/vary", "cat.png", f"{AS_FILE} (got 'cat.png')"),
    ("/zoom_out", 5, f"{AS_FILE} (got '5')"),
    ("/inpaint", "x", 'image must be the editor\'s value, {"background": file, "layers": [files]}, each file as'),
])  # fmt: skip
def test_a_file_inputs_payload_that_is_no_file_names_the_field(client: Any, files: dict[str, str], api: str,
                                                               payload: Any, message: str,
                                                               capfd: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    """Gradio refuses these before any handler runs: it printed a traceback and told the caller nothing."""
    kw = {"/vary": {"n": 1}, "/zoom_out": {"factor": 2, **PRIOR}, "/inpaint": {"prompt": "a crab", "n": 1, **PRIOR}}
    with pytest.raises(AppError) as err:
        client.predict(image=payload, seed=0, **STAGES, **kw[api], api_name=api)
    assert message in str(err.value)
    assert "Traceback" not in capfd.readouterr().err
    assert len(vary(client, files["scene"], strength=0.5)[2]) == 1  # and the app goes on serving


def test_a_path_gradio_will_not_serve_names_the_field(client: Any, app_url: str,
                                                      capfd: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    """A raw HTTP call naming a server-side file (gradio_client would upload it instead)."""
    params = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/vary"]["parameters"]
    data = [{"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}] + [p["parameter_default"]
                                                                             for p in params[1:]]  # fmt: skip
    post = urllib.request.Request(f"{app_url}gradio_api/call/vary", json.dumps({"data": data}).encode(),
                                  {"Content-Type": "application/json"})  # fmt: skip
    event = json.loads(urllib.request.urlopen(post, timeout=30).read())["event_id"]
    reply = urllib.request.urlopen(f"{app_url}gradio_api/call/vary/{event}", timeout=60).read().decode()
    assert "event: error" in reply and f"{AS_FILE} (Gradio will not read a file from that path)" in reply
    assert "Traceback" not in capfd.readouterr().err


def test_inpaint_resolve_picks_the_mask_source(files: dict[str, str]) -> None:
    value = {"background": files["scene"], "layers": [files["layer"]]}
    image, mask = inpaint.resolve(value, None, "auto")
    assert np.array_equal(np.asarray(mask) > 0, np.asarray(box_image()) > 0)
    strokes = inpaint.resolve(value, files["empty"], "auto")[1]  # strokes win: the upload may be an older image's
    assert np.array_equal(np.asarray(strokes), np.asarray(mask))
    assert inpaint.resolve(value, files["empty"], "upload")[1] == files["empty"]
    unpainted = {"background": files["scene"], "layers": []}
    assert inpaint.resolve(unpainted, files["empty"], "auto")[1] == files["empty"]  # no strokes: the upload
    assert inpaint.resolve({"background": files["layer"], "layers": []}, None, "transparency")[1] is None
    with pytest.raises(InvalidInput, match="this image has no fully transparent pixels to repaint; paint the region"):
        inpaint.resolve({"background": files["scene"], "layers": []}, None, "transparency")  # said "paint it"


def test_examples_exist_and_work() -> None:
    for rows in (variations.EXAMPLES, inpaint.EXAMPLES, zoom_out.EXAMPLES):
        for row in rows:
            for value in row:
                if isinstance(value, str) and value.endswith(".png"):
                    assert inspect_upload(value).size == (256, 256)
    cut = inspect_upload(inpaint.EXAMPLES[0][0])
    assert mask_from_alpha(cut.alpha) is not None  # the cut-out example needs no brush
    for image, mask, prompt in inpaint.EXAMPLES:  # each runs as it is: a mask file, or transparent pixels
        region = mask_from_image(mask) if mask else mask_from_alpha(inspect_upload(image).alpha)
        assert region is not None and 0 < (np.asarray(region) > 0).mean() < 0.5 and prompt


def test_previews_and_send_to_survive_bad_or_missing_input(files: dict[str, str]) -> None:
    from components import send_to
    from components.edit_common import crop_preview

    with pytest.warns(UserWarning, match="image is not an image file"):  # a toast in the app
        image, note = crop_preview(Path(files["text"]).read_bytes(), 256)
    assert image is None and note == "⚠️ image is not an image file PIL can read (PNG, JPEG, WebP, GIF, BMP, TIFF)"
    image, note = crop_preview(files["cmyk"], 256)
    assert image.size == (256, 256) and note == "The model sees: used as is (256×256); converted from CMYK to RGB."
    assert zoom_out.canvas_preview(None, 2, "center", 256) is None
    assert zoom_out.canvas_preview(files["scene"], "big", "center", 256) is None
    assert zoom_out.canvas_preview(files["scene"], 2, "center", 256).size == (256, 256)
    assert send_to._pick_gallery(None, 0) is None and send_to._pick_gallery([], 3) is None
    assert send_to._pick_gallery([("a.png", "x"), ("b.png", "y")], 5) == "b.png"  # a stale index: the last one
    items = [("a.png", "x"), ("b.png", "y"), ("c.png", "z")]
    assert [send_to._kept(items, i) for i in (None, 0, 1, 5)] == [0, 0, 1, 2]  # the browser's selection after a run
    assert send_to._kept([], 2) == 0 and send_to._kept(None, 2) == 0  # after an empty gallery: the first


def test_the_edit_tabs_explain_every_conditioning_mode_as_generate_does(demo: Any) -> None:
    """Inpaint's and Zoom out's mode radio said what the full unCLIP stack does whichever mode was picked."""
    from unclip.settings import MODE_HELP

    props = {c["props"].get("elem_id"): c["props"] for c in demo.config["components"]}
    assert {props[k]["info"] for k in ("mode", "inpaint-mode", "zoom-mode")} == {"What the decoder is given"}
    notes = [c["props"].get("value") for c in demo.config["components"] if c["type"] == "markdown"]
    assert sum(MODE_HELP["caption_only"] in str(v) for v in notes) == 3  # Generate's, Inpaint's and Zoom out's


def test_a_file_the_browser_cannot_open_is_refused_naming_the_image(demo: Any) -> None:
    """The page script keeps such a file out of Inpaint's editor (which showed a blank white canvas and inpainted
    it) and clicks the hidden button, whose event says why; tests/test_browser.py drives it in a real browser."""
    (dep,) = listeners(demo, "inpaint-image-unreadable", "click")
    assert dep["outputs"] == [] and dep["api_visibility"] == "private"
    fn = next(f.fn for f in demo.fns.values() if f.fn is inpaint.refuse_unreadable)
    with pytest.raises(gr.Error, match=r"image: the editor cannot open this file \(an SVG, or a file the browser"):
        fn()


def test_eta_mode_greys_out_the_decoder_scheduler_it_does_not_read(demo: Any) -> None:
    """With 'η: the paper's way' chosen, Advanced still offered dpm++ while the run decoded with DDIM."""
    (dep,) = listeners(demo, "vary-method", "change")
    ids = elem_ids(demo)
    assert dep["outputs"] == [ids["vary-strength"], ids["vary-eta"], ids["vary-decoder_scheduler"]]
    strength, eta, scheduler = variations.show_method("inversion")
    assert (strength["visible"], eta["visible"], scheduler["interactive"]) == (False, True, False)
    assert "DDIM" in scheduler["info"]
    strength, eta, scheduler = variations.show_method("sdedit")
    assert (strength["visible"], eta["visible"], scheduler["interactive"], scheduler["info"]) == (True, False, True,
                                                                                                  "")  # not None
