"""The Embedding explorer tab on tiny-random: its handlers directly, then /project, /interpolate and /text_diff
through gradio_client against the launched app (bad input each: a clear error, and the server keeps serving)."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from components import common
from components.explorer_handlers import ExplorerHandlers, ExplorerState
from unclip import UnCLIP
from unclip.explore import level_error
from unclip.images import read_metadata, save_png
from unclip.sampling import drain

FAST = {"decoder_steps": 2, "decoder_guidance": 2.0, "upsampler": False}


@pytest.fixture(scope="module")
def handlers(backend: UnCLIP) -> ExplorerHandlers:
    return ExplorerHandlers(backend, probe_size=10)


@pytest.fixture(scope="module")
def state(handlers: ExplorerHandlers) -> ExplorerState:
    return handlers.load(None)[3]


def last(updates: Any) -> tuple:
    return list(updates)[-1]


def points_on(fig: Any) -> int:
    return sum(len(t.x) for t in fig.data if t.mode == "markers" and t.name != "selected")


# -- handlers ------------------------------------------------------------------------------------------------------
def test_load_shows_the_probe_set(handlers: ExplorerHandlers) -> None:
    fig, info, picker, st = handlers.load(None)
    assert points_on(fig) == 20 and "**20 points**: 10 emoji-world scenes" in info
    assert "centroid distance" in info and len(picker.choices) == 20
    assert {t.name.split(" (")[0] for t in fig.data} == {"image", "text"}


def test_project_3d_by_category_keeps_every_point(handlers: ExplorerHandlers, state: ExplorerState) -> None:
    fig, info, _, st = last(handlers.project("pca", 3, "category", True, False, state))
    assert all(t.type == "scatter3d" for t in fig.data) and points_on(fig) == 20
    assert {t.name.split(" (")[0] for t in fig.data} <= {"animal", "food", "nature", "object", "plant", "shape",
                                                         "vehicle"}  # fmt: skip
    assert "modality means removed" in info and st.session.layout.dims == 3
    eye = fig.layout.scene.camera.eye  # plotly's default (1.25, 1.25, 1.25) cut the box and axis titles off
    assert (eye.x**2 + eye.y**2 + eye.z**2) ** 0.5 > 2.5 and fig.layout.scene.xaxis.title.text.startswith("PC1")


def test_project_umap_through_the_handler(handlers: ExplorerHandlers, state: ExplorerState) -> None:
    fig, info, _, st = last(handlers.project("UMAP", 2, "kind", False, False, state))
    assert st.session.layout.used == "umap" and "UMAP (cosine) 2-D" in info and points_on(fig) == 20


@pytest.mark.parametrize(("kwargs", "message"), [({"method": "tsne"}, "method must be one of pca, umap"),
                                                 ({"dims": 4}, "dims must be a whole number between 2 and 3"),
                                                 ({"color_by": "mood"}, "color by must be one of kind"),
                                                 ({"remove_modality_gap": "False"},
                                                  "remove_modality_gap must be true or false")])  # fmt: skip
def test_project_refuses_bad_input(handlers: ExplorerHandlers, kwargs: dict, message: str) -> None:
    with pytest.raises(gr.Error, match=message):
        last(handlers.project(**{"method": "pca", "dims": 2, "color_by": "kind", **kwargs}))


def test_interpolate_updates_each_step_then_a_strip_and_a_path(handlers: ExplorerHandlers, backend: UnCLIP,
                                                                state: ExplorerState,
                                                                monkeypatch: Any) -> None:  # fmt: skip
    monkeypatch.setattr(common, "UPDATE_EVERY_S", 0.0)  # the app's default updates at most every 0.25 s
    ups = list(handlers.interpolate("#0", "a dog on the beach", 4, 0, True, **FAST, state=state))
    prior_steps = backend.default_settings().prior.steps
    assert len(ups) == prior_steps + FAST["decoder_steps"] + 1  # one text endpoint through the prior
    _, strip, fig, info, _, st = ups[-1]
    assert [c for _, c in strip][0] == "t=0 · 0.0°" and len(strip) == 4
    assert len(st.session.path) == 4 and "Path #0 → “a dog on the beach”" in info
    assert {st.session.point(i).kind for i in st.session.path} == {"interpolation step"}
    assert any(t.name == "path" and len(t.x) == 4 for t in fig.data)
    typed = [p for p in st.session.added.points if p.source == "typed"]
    assert [p.caption for p in typed] == ["a dog on the beach"]


def test_interpolating_a_point_to_itself_says_so(handlers: ExplorerHandlers, state: ExplorerState) -> None:
    *_, info, _, _ = list(handlers.interpolate("#0", "#0", 2, 0, False, **FAST, state=state))[-1]
    assert "0.0° of arc" in info and "Both ends are the same embedding" in info
    *_, info, _, _ = list(handlers.interpolate("#0", "#2", 2, 0, False, **FAST, state=state))[-1]
    assert "Both ends" not in info


def test_overlong_captions_are_warned_about_and_shortened(handlers: ExplorerHandlers, state: ExplorerState) -> None:
    """As Generate does: CLIP reads 77 tokens. The summary does not repeat a caption of 900 characters."""
    long = "a red apple left of a cat " * 35
    *_, info, _, _ = list(handlers.interpolate("#0", long, 2, 0, False, **FAST, state=state))[-1]
    assert "end is longer than 77 tokens; CLIP read only the first part" in info and "start is" not in info
    assert "“a red apple left of a cat a red apple left of a cat a red…”" in info and len(info) < 600
    *_, info, _, _ = list(handlers.text_diff(None, "#0", "a cat", long, 2, 0.5, 0, **FAST, state=state))[-1]
    assert "to caption is longer than 77 tokens" in info and len(info) < 600


def test_stop_closes_the_decoding_stream(handlers: ExplorerHandlers, backend: UnCLIP, state: ExplorerState,
                                         monkeypatch: Any) -> None:  # fmt: skip
    closed: list[bool] = []
    real = backend.interpolate_stream

    def spy(*args: Any, **kwargs: Any) -> Any:
        try:
            return (yield from real(*args, **kwargs))
        finally:
            closed.append(True)

    monkeypatch.setattr(backend, "interpolate_stream", spy)
    monkeypatch.setattr(common, "UPDATE_EVERY_S", 0.0)  # stop mid-decode, not after it
    running = handlers.interpolate("#0", "#2", 3, 0, False, decoder_steps=20, decoder_guidance=2.0, upsampler=False,
                                   state=state)  # fmt: skip
    for _ in range(3):
        next(running)
    running.close()  # what Gradio does on Stop
    assert closed == [True]


def test_text_diff_from_a_point_and_from_an_upload(handlers: ExplorerHandlers, state: ExplorerState,
                                                   tmp_path: Any) -> None:  # fmt: skip
    _, strip, fig, info, _, st = last(handlers.text_diff(None, "#0", "a cat", "a dog", 3, 0.5, 1, **FAST, state=state))
    assert [c.split(" ·")[0] for _, c in strip] == ["θ=0", "θ=0.25", "θ=0.5"] and len(st.session.path) == 3
    assert {st.session.point(i).kind for i in st.session.path} == {"text-diff step"}  # was 'interpolation step'
    assert any(t.name.startswith("text-diff step (") for t in fig.data)  # its legend entry
    assert json.loads(strip[0][0].info["parameters"])["image"].startswith("#0 · ")  # which picture was edited
    path = tmp_path / "up.png"
    Image.new("RGB", (100, 80), "red").save(path)
    out = last(handlers.text_diff(str(path), "", "a red square", "a blue square", 2, 0.3, 1, **FAST, state=st))
    st2 = out[-1]
    assert json.loads(out[1][0][0].info["parameters"])["image"].startswith("upload #")
    uploads = [p for p in st2.session.added.points if p.source == "upload"]
    assert len(uploads) == 1 and uploads[0].thumb.shape == (64, 64, 3)


def test_interpolate_between_two_image_points_from_their_inversions(handlers: ExplorerHandlers,
                                                                     state: ExplorerState) -> None:  # fmt: skip
    out = last(handlers.interpolate("#0", "#2", 3, 1, True, **FAST, noise="inversion", state=state))
    assert json.loads(out[1][1][0].info["parameters"])["noise"] == "inversion"
    level = float(re.search(r"redraw them within ([\d.]+) levels", out[3]).group(1))
    ends = [Image.fromarray(state.session.point(i).thumb) for i in (0, 2)]
    expected = (level_error(out[1][0][0], ends[0]) + level_error(out[1][-1][0], ends[1])) / 2
    assert abs(level - expected) < 0.06


def test_text_diff_starts_from_the_pictures_inversion_unless_told_the_seed(handlers: ExplorerHandlers,
                                                                           state: ExplorerState) -> None:  # fmt: skip
    """The point's 64 px picture is inverted (the paper's Fig. 5); the note says how closely theta = 0 redraws it."""
    inverted = last(handlers.text_diff(None, "#0", "a cat", "a dog", 2, 0.5, 1, **FAST, state=state))
    seeded = last(handlers.text_diff(None, "#0", "a cat", "a dog", 2, 0.5, 1, **FAST, noise="seed", state=state))
    metas = [json.loads(out[1][0][0].info["parameters"]) for out in (inverted, seeded)]
    assert [m["noise"] for m in metas] == ["inversion", "seed"] and metas[0]["decoder"]["scheduler"] == "ddim"
    level = float(re.search(r"θ = 0 redraws it within ([\d.]+) levels", inverted[3]).group(1))
    picture = Image.fromarray(state.session.point(0).thumb)
    assert abs(level - level_error(inverted[1][0][0], picture)) < 0.05
    assert "DDIM inversion" not in seeded[3]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"point": ""}, "image is missing"),
    ({"point": "#1"}, "image must be an image point such as '#0' \\(#1 is a text point\\)"),
    ({"point": "a red apple"}, "image must be an image point such as '#0' \\(a caption\\)"),
    ({"point": "#9999"}, "image: there is no point #9999"),
    ({"point": "#1.5"}, "image: '#1.5' is not a point"),
    ({"to_caption": "a cat"}, "to caption must differ from the from caption"),
    ({"max_theta": 3}, "max theta must be between 0 and 1, got 3"),
    ({"point": "", "from_caption": "", "to_caption": ""}, "image is missing"),  # the form's order: picture first
])  # fmt: skip
def test_text_diff_refuses_bad_input(handlers: ExplorerHandlers, state: ExplorerState, kwargs: dict,
                                     message: str) -> None:  # fmt: skip
    args = {"image": None, "point": "#0", "from_caption": "a cat", "to_caption": "a dog", **FAST, "state": state}
    with pytest.raises(gr.Error, match=message):
        last(handlers.text_diff(**{**args, **kwargs}))


@pytest.mark.parametrize(("check", "kwargs", "message"), [
    ("check_interpolate", {"start": "#9999"}, "start: there is no point #9999"),
    ("check_interpolate", {"start": "#-1"}, "start: '#-1' is not a point; a point is # and its number, such as #0"),
    ("check_interpolate", {"end": "#2x"}, "end: '#2x' is not a point"),
    ("check_interpolate", {"end": "  "}, "end is empty: give a point such as #0 .*, or a caption such as"),
    ("check_interpolate", {"start": "#"}, "start: '#' is not a point; a point is # and its number"),
    ("check_interpolate", {"steps": 1}, "steps must be a whole number between 2 and 16"),
    ("check_interpolate", {"noise": "inversion"},
     r"end must be an image point when every frame starts from the two pictures' DDIM inversions \(a caption\)"),
    ("check_interpolate", {"noise": "inversion", "end": "#1"}, r"end must be an image point .* \(#1 is a text point\)"),
    ("check_interpolate", {"noise": "fresh"}, "noise must be one of inversion, seed; got 'fresh'"),
    ("check_text_diff", {"point": "#1"}, "#1 is a text point"),
    ("check_text_diff", {"to_caption": "a cat"}, "to caption must differ from the from caption"),
    ("check_text_diff", {"max_theta": 3}, "max theta must be between 0 and 1, got 3"),
    ("check_text_diff", {"noise": "random"}, "noise must be one of inversion, seed; got 'random'"),
    ("check_gap", {"k": 9}, "prior samples k must be a whole number between 1 and 8, got 9"),
    ("check_gap", {"prompt": ""}, "prompt is empty"),
    ("check_add", {"texts": "  \n "}, "nothing to add"),
])  # fmt: skip
def test_checks_refuse_what_the_runs_refuse_without_a_model(handlers: ExplorerHandlers, state: ExplorerState,
                                                            monkeypatch: Any, check: str, kwargs: dict,
                                                            message: str) -> None:  # fmt: skip
    """Each run's check event (`common.check_first`): the run's own refusals, before any model work."""
    def no_model(*_: Any, **__: Any) -> Any:
        raise AssertionError("a check ran a model")

    for name in ("encode_text", "encode_image", "image_embeds_for"):
        monkeypatch.setattr(handlers.backend, name, no_model)
    good = {"check_interpolate": {"start": "#0", "end": "a blue car", **FAST},
            "check_text_diff": {"point": "#0", "from_caption": "a cat", "to_caption": "a dog", **FAST},
            "check_gap": {"prompt": "a red apple", "k": 2, **FAST}, "check_add": {"texts": "a cat"}}[check]
    getattr(handlers, check)(**good, state=state)  # the same request without the fault passes
    with pytest.raises(gr.Error, match=message):
        getattr(handlers, check)(**{**good, **kwargs}, state=state)


def test_modality_gap_puts_text_prior_and_images_on_the_map(handlers: ExplorerHandlers, state: ExplorerState) -> None:
    _, gallery, rows, fig, info, _, st = last(handlers.modality_gap("a red apple", 2, 5, **FAST, state=state))
    assert len(gallery) == 2 and [r[0] for r in rows] == [5, 6] and all(-1 <= v <= 1 for r in rows for v in r[1:])
    kinds = sorted(p.kind for p in st.session.added.points if p.source == "gap")
    assert kinds == ["image", "image", "prior sample", "prior sample", "text"] and len(st.session.links) == 4
    assert "cos(text, prior sample) averages" in info
    assert any(t.name == "prompt → prior → image" for t in fig.data)


@pytest.mark.parametrize(("k", "message"), [(0, "prior samples k must be a whole number between 1 and 8, got 0"),
                                            (9, "prior samples k must be a whole number between 1 and 8, got 9")])
def test_modality_gap_names_the_k_field(handlers: ExplorerHandlers, state: ExplorerState, k: int, message: str) -> None:
    with pytest.raises(gr.Error, match=message):
        last(handlers.modality_gap("a red apple", k, 5, **FAST, state=state))


def test_pick_shows_the_point_and_its_eight_nearest(handlers: ExplorerHandlers, state: ExplorerState) -> None:
    image, details, gallery, fig, st = handlers.pick("#4 image · whatever", state)
    sims = [float(c.split("· ")[1]) for _, c in gallery]
    assert len(gallery) == 8 and sims == sorted(sims, reverse=True) and "**#4 image" in details
    assert image.size == (192, 192) and st.session.selected == 4
    rings = [t for t in fig.data if t.name == "selected"]  # a dark ring in a light halo: seen in either theme
    assert sorted(t.marker.line.color for t in rings) == ["#111111", "white"]
    assert {t.legendgroup for t in rings} == {"selected"} and sum(t.showlegend is not False for t in rings) == 1
    with pytest.raises(gr.Error, match="point: there is no point #77"):
        handlers.pick("#77", state)


def test_add_points_and_recorded_generations(handlers: ExplorerHandlers, backend: UnCLIP, state: ExplorerState,
                                             tmp_path: Any) -> None:  # fmt: skip
    _, info, _, st = handlers.add_points("a yellow star\n\n  a green   tree ", None, state)
    assert [p.caption for p in st.session.added.points] == ["a yellow star", "a green tree"]
    assert "Added 2 new points." in info
    _, info, _, again = handlers.add_points("a green tree\na blue moon\na blue moon", None, st)  # 2 known
    assert len(again.session.added) == 3 and "Added 1 new point (2 already on the map or given twice)." in info
    (tmp_path / "notes.png").write_text("not a picture")
    Image.new("RGB", (64, 64), "red").save(tmp_path / "red.png")
    with pytest.raises(gr.Error, match=re.escape("image 2 of 2 (notes.png) is not an image file PIL can read")):
        handlers.add_points("", [str(tmp_path / "red.png"), str(tmp_path / "notes.png")], st)
    Image.new("RGB", (64, 64), "blue").save(tmp_path / "blue.png")
    _, _, choices, st = handlers.add_points("", [str(tmp_path / "red.png"), str(tmp_path / "blue.png")], st)
    assert [p.caption for p in st.session.added.points[-2:]] == ["upload red.png", "upload blue.png"]  # "upload 1"
    with pytest.raises(gr.Error, match="nothing to add"):
        handlers.add_points("  ", [], state)
    gen = drain(backend.generate_stream("a pizza at night", n=2, seed=0, settings=backend.default_settings()))
    files = [str(save_png(im, tmp_path / f"{i}.png")) for i, im in enumerate(gen.images)]
    st = handlers.record_generated([(f, "caption") for f in files], st)[3]
    st = handlers.record_generated([(f, "caption") for f in files], st)[3]  # the same images again
    generated = [p for p in st.session.added.points if p.source == "generated"]
    assert len(generated) == 2 and generated[0].caption == "a pizza at night (seed 0, prior)"
    assert generated[0].prompt == "a pizza at night"  # what "Use for text diff" puts in From
    vary = backend.vary(gen.images[0], n=1, seed=3, settings=backend.default_settings())
    Image.new("RGB", (64, 64), "green").save(tmp_path / "own.png")  # zoom-out's "original" frame: no metadata
    frames = [str(save_png(vary.images[0], tmp_path / "v.png")), str(tmp_path / "own.png")]
    st = handlers.record_generated([(f, "caption") for f in frames], st)[3]
    generated = [p for p in st.session.added.points if p.source == "generated"]
    assert [p.caption for p in generated[2:]] == ["vary (seed 3)"]  # was " (seed 3, prior)"; and the user's own
    assert generated[2].prompt == ""  # a variation without a caption


# -- the launched app through gradio_client ---------------------------------------------------------------------------
def plot_points(plot: Any) -> int:
    spec = json.loads(plot["plot"]) if isinstance(plot, dict) else plot
    return sum(len(t["customdata"]) for t in spec["data"] if "customdata" in t)  # x/y may be binary-encoded


def test_explorer_api_names_and_hooks(client: Any, demo: Any) -> None:
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {"/project", "/interpolate", "/text_diff"} <= set(api)
    params = {name: [p["parameter_name"] for p in api[f"/{name}"]["parameters"]] for name in ("project", "interpolate")}
    assert params["project"] == ["method", "dims", "color_by", "remove_modality_gap"]
    assert params["interpolate"][:4] == ["start", "end", "steps", "seed"]
    ids = {c["props"].get("elem_id"): c["id"] for c in demo.config["components"]}
    hooked = [d for d in demo.config["dependencies"] if [ids["generate-gallery"], "change"] in
              [list(t) for t in d["targets"]] and ids["explorer-map"] in d["outputs"]]  # fmt: skip
    assert len(hooked) == 1 and hooked[0]["api_visibility"] == "private"
    assert hooked[0]["inputs"][0] == ids["generate-gallery"]


def test_project_api_then_bad_input(client: Any) -> None:
    plot, info, _ = client.predict(method="pca", dims=2, color_by="kind", remove_modality_gap=False,
                                   api_name="/project")  # fmt: skip
    assert plot_points(plot) >= 1000 and "500 emoji-world scenes" in info
    with pytest.raises(AppError, match="method must be one of pca, umap; got 'tsne'"):
        client.predict(method="tsne", dims=2, color_by="kind", remove_modality_gap=False, api_name="/project")
    plot, _, _ = client.predict(method="pca", dims=3, color_by="source", remove_modality_gap=True, api_name="/project")
    assert plot_points(plot) >= 1000


def test_interpolate_api_then_bad_input(client: Any) -> None:
    args = {"start": "#0", "end": "a cat above a pizza", "steps": 3, "seed": 4, "use_prior": False, **FAST}
    _, strip, _, info, _ = client.predict(**args, api_name="/interpolate")
    assert len(strip) == 3 and "Path #0" in info
    meta = read_metadata(strip[1]["image"])
    assert meta["tool"] == "interpolate" and meta["t"] == 0.5 and meta["seed"] == 4
    assert meta["start"].startswith("#0 · ") and len(meta["start"]) > 5 and meta["end"] == "a cat above a pizza"
    with pytest.raises(AppError, match="steps must be a whole number between 2 and 16, got 1"):
        client.predict(**{**args, "steps": 1}, api_name="/interpolate")
    with pytest.raises(AppError, match="start: there is no point #99999"):
        client.predict(**{**args, "start": "#99999"}, api_name="/interpolate")
    with pytest.raises(AppError, match="use_prior must be true or false, got 'False'"):  # the prior ran: truthy
        client.predict(**{**args, "use_prior": "False"}, api_name="/interpolate")
    assert len(client.predict(**args, api_name="/interpolate")[1]) == 3


def test_text_diff_api_then_bad_input(client: Any, tmp_path: Path) -> None:
    args = {"point": "#0", "from_caption": "a cat", "to_caption": "a dog", "steps": 2, "max_theta": 0.25,
            "seed": 0, **FAST}  # fmt: skip
    _, strip, _, info, _ = client.predict(**args, api_name="/text_diff")
    assert len(strip) == 2 and "Text diff of #0" in info and "DDIM inversion" in info  # the default
    assert "DDIM inversion" not in client.predict(**args, noise="seed", api_name="/text_diff")[3]
    with pytest.raises(AppError, match="noise must be one of inversion, seed; got 'ddim'"):  # the field, by name
        client.predict(**{**args, "noise": "ddim"}, api_name="/text_diff")
    assert np.asarray(Image.open(strip[0]["image"])).shape == (64, 64, 3)
    with pytest.raises(AppError, match="to caption must differ from the from caption"):
        client.predict(**{**args, "to_caption": "a cat"}, api_name="/text_diff")
    fake = tmp_path / "fake.png"
    fake.write_text("text, not an image")  # Gradio decoded the upload itself: a traceback, no message
    with pytest.raises(AppError, match="image is not an image file"):
        client.predict(**{**args, "image": handle_file(str(fake))}, api_name="/text_diff")
    assert len(client.predict(**args, api_name="/text_diff")[1]) == 2


def test_text_diff_api_takes_an_upload_without_a_point(client: Any, tmp_path: Path) -> None:
    """The point is optional when an image is uploaded: the API must not ask for it."""
    params = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/text_diff"]["parameters"]
    optional = {p["parameter_name"]: p["parameter_has_default"] for p in params}
    assert optional["image"] and optional["point"] and not optional["from_caption"]
    picture = tmp_path / "scene.png"
    Image.new("RGB", (64, 64), (200, 30, 30)).save(picture)
    _, strip, _, info, _ = client.predict(image=handle_file(str(picture)), from_caption="a red square",
                                          to_caption="a blue square", steps=2, max_theta=0.25, seed=0, **FAST,
                                          api_name="/text_diff")  # fmt: skip
    assert len(strip) == 2 and "Text diff of upload #" in info


def test_pixels_are_what_the_backend_makes(client: Any, backend: UnCLIP) -> None:
    """The API's strip equals the backend's (same seed -> same pixels), so the tab adds nothing hidden."""
    args = {"start": "a red apple", "end": "a blue car", "steps": 2, "seed": 9, "use_prior": True, **FAST}
    strip = client.predict(**args, api_name="/interpolate")[1]
    settings = handlers_settings(backend)
    ours = backend.interpolate("a red apple", "a blue car", steps=2, seed=9, settings=settings)
    for item, im in zip(strip, ours.images, strict=True):
        np.testing.assert_array_equal(np.asarray(Image.open(item["image"]).convert("RGB")), np.asarray(im))


def handlers_settings(backend: UnCLIP) -> Any:
    return ExplorerHandlers(backend, 10).settings(FAST["decoder_steps"], FAST["decoder_guidance"], False)



@pytest.mark.parametrize("size", [128, 192])
@pytest.mark.parametrize("caption", ["a photo of a hot dog at the bottom", "supercalifragilisticexpialidocious",
                                     "an emoji of two rucksacks under a sun on a snowy day " * 4, "x" * 5000,
                                     "word " * 2000, "🐱 猫 " * 50])
def test_a_text_card_keeps_its_caption_inside_the_card_and_above_a_gallery_caption(caption: str, size: int) -> None:
    """At 192 px the picked point's card cut "a photo of a hot do|" at its edge; at 128 px the neighbours' last
    line ran under the gallery's "#id · score" caption (the bottom sixth)."""
    from components.explorer_plot import text_card

    card = np.asarray(text_card(caption, size))
    background = card[0, -1]
    assert (card[:, -5:] == background).all()  # the right margin is clear: nothing ran off the edge
    assert (card[-(size // 6):] == background).all()  # the gallery's caption strip is clear
    assert (card[size // 6:, :] != background).any()  # and the caption is drawn


def test_use_for_text_diff_refuses_a_text_point_at_once(handlers: ExplorerHandlers, state: ExplorerState) -> None:
    """A text point went into the diff's box and failed only at Apply ("image must be an image point")."""
    import gradio as gr

    text_point = next(p for p in state.session.collection.points if p.modality == "text")
    with pytest.warns(UserWarning, match=f"image must be an image point such as '#0' .#{text_point.id} is a text"):
        assert handlers.use_for_diff(f"#{text_point.id} text · x", state) == (gr.skip(), gr.skip())
    with pytest.warns(UserWarning, match="nothing is picked: pick an image point above first"):
        handlers.use_for_diff("", None)  # before any pick: no session yet


def test_use_for_text_diff_fills_from_with_the_caption_the_picture_was_made_from(handlers: ExplorerHandlers,
                                                                                  state: ExplorerState) -> None:
    """From stayed empty for a point whose caption the map knows, and Apply then refused "from caption is empty"
    (browser QA). An upload has no caption: From is emptied (the last point's caption would describe another)."""

    probe = next(p for p in state.session.collection.points if p.modality == "image" and p.source == "probe set")
    ref = f"#{probe.id} image · y"
    assert handlers.use_for_diff(ref, state) == (ref, probe.prompt) and probe.prompt == probe.caption
    st, (made,) = handlers.add_images(state, [np.zeros((64, 64, 3), np.uint8)], ["a generated cat (seed 3, prior)"],
                                      "generated", ["prior"], ["a generated cat"])  # fmt: skip
    assert handlers.use_for_diff(f"#{made} image · z", st) == (f"#{made} image · z", "a generated cat")
    st, (upload,) = handlers.add_images(state, [np.full((64, 64, 3), 9, np.uint8)], ["upload · cat.png"], "upload")
    assert handlers.use_for_diff(f"#{upload} image · u", st) == (f"#{upload} image · u", "")


def test_a_point_clicked_on_the_map_shows_in_the_picker(handlers: ExplorerHandlers, state: ExplorerState) -> None:
    """map_click.js sends "#id"; the picker then shows the point's full reference, as a pick there would."""
    import gradio as gr

    point = state.session.collection.points[3]
    ref, thumb, details, near, _, st = handlers.pick_clicked(f"#{point.id}", state)
    assert ref == point.ref and f"**{point.ref}**" in details and len(near) == 8 and st.session.selected == point.id
    nothing = handlers.pick_clicked("", state)
    assert nothing[:3] == (gr.skip(), None, "Pick a point to see it and its nearest neighbours.")
    st, [typed] = handlers.add_texts(state, ["a *red* cat <img src=x>"])  # its reference holds the caption too
    details, _, fig = handlers.pick_clicked(f"#{typed}", st)[2:5]
    assert "*red*" not in details and "<img" not in details and details.count("\\*red\\* cat &lt;img src=x>") == 2
    hovers = [c[0] for t in fig.data if t.customdata is not None for c in t.customdata]  # plotly reads tags too
    assert f"#{typed} text · a *red* cat &lt;img src=x>" in hovers and not any("<img" in h for h in hovers)
    with pytest.raises(gr.Error, match="point"):
        handlers.pick_clicked("#999999", state)


def test_use_as_start_with_nothing_picked_keeps_what_was_typed() -> None:
    """'Use as start' before any pick emptied the Start box, a caption typed there lost without a word."""
    import gradio as gr

    from components.explorer import use_picked

    for nothing in ("", None):
        with pytest.warns(UserWarning, match="nothing is picked: pick a point above first"):
            assert isinstance(use_picked(nothing), type(gr.skip()))
    assert use_picked("#3 image · a cat") == "#3 image · a cat"


def test_an_unreadable_file_in_add_points_is_named_when_it_is_uploaded(demo, tmp_path) -> None:
    """Add points said that a file was no image only at "Add to the map"; the other tabs' uploads said it at once."""
    from PIL import Image
    from test_edit_app import listeners

    from components.explorer import warn_if_any_unreadable

    good, bad = tmp_path / "cat.png", tmp_path / "notes.png"
    Image.new("RGB", (64, 64)).save(good)
    bad.write_text("text, not an image")
    with pytest.warns(UserWarning) as said:
        warn_if_any_unreadable([str(good), str(bad)])
    assert [str(w.message) for w in said] == ["image 2 of 2 (notes.png) is not an image file PIL can read "
                                              "(PNG, JPEG, WebP, GIF, BMP, TIFF)"]  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_if_any_unreadable([str(good)])
        warn_if_any_unreadable(None)
    (dep,) = listeners(demo, "explorer-files", "upload")
    assert demo.fns[dep["id"]].fn is warn_if_any_unreadable and dep["queue"] is not False  # a toast needs the queue


def test_a_refused_use_button_leaves_the_tool_tab_as_it_was() -> None:
    """'Use as start' / 'Use for text diff' with nothing picked warned, and still switched the tool tab."""
    import gradio as gr

    from components.explorer import opening, use_picked

    handler = opening("interpolate", use_picked)
    with pytest.warns(UserWarning, match="nothing is picked"):
        assert handler("") == (gr.skip(), gr.skip())
    value, tabs = handler("#3 image · a cat")
    assert value == "#3 image · a cat" and tabs.selected == "interpolate"


def test_fit_lines_wraps_by_width_and_stops_past_the_rows_it_may_use() -> None:
    """It wrapped the whole text, measuring every prefix of a long word: a pasted page took minutes per card."""
    from PIL import ImageDraw, ImageFont

    from components.explorer_plot import fit_lines

    draw, font = ImageDraw.Draw(Image.new("RGB", (8, 8))), ImageFont.load_default(size=14)
    lines = fit_lines(draw, "a photo of a hot dog at the bottom", font, 100, rows=9)
    assert " ".join(lines) == "a photo of a hot dog at the bottom" and len(lines) > 1
    assert all(draw.textlength(line, font=font) <= 100 for line in lines)
    assert len(fit_lines(draw, "word " * 2000, font, 100, rows=3)) == 4
    assert len(fit_lines(draw, "x" * 5000, font, 100, rows=3)) <= 5  # 4 pieces and the rest of the word
    assert fit_lines(draw, "W", font, 2, rows=3) == ["W"]  # one glyph wider than the line: kept, no crash


def test_colour_by_source_tells_the_ablation_modes_and_tabs_apart(handlers: ExplorerHandlers, state: ExplorerState,
                                                                   backend: UnCLIP, tmp_path: Path) -> None:
    """Every image from Generate, Compare's three modes and the edit tabs was one 'generated' group on the map."""
    results = backend.compare("a pizza at night", n=1, seed=0, settings=backend.default_settings())
    files = [str(save_png(r.images[0], tmp_path / f"{mode}.png")) for mode, r in results.items()]
    vary = backend.vary(results["prior"].images[0], n=1, seed=3, settings=backend.default_settings())
    files.append(str(save_png(vary.images[0], tmp_path / "vary.png")))
    st = handlers.record_generated([(f, "caption") for f in files], state)[3]
    fig = last(handlers.project("pca", 2, "source", False, False, st))[0]
    colours = {t.name.split(" (")[0]: t.marker.color for t in fig.data if t.name.startswith("generated")}
    assert set(colours) == {f"generated · {how}" for how in ("prior", "text_embedding", "caption_only", "vary")}
    assert len(set(colours.values())) == 4  # each its own colour
    assert any("image · generated · vary" in str(c[1]) for t in fig.data for c in t.customdata)  # the hover says so
    from components.explorer_plot import SOURCE_COLORS, colors_for

    other = colors_for(["generated · interpolate", "generated · generated", "typed", "generated · prior"], "source")
    assert len(set(other.values())) == 4 and not {other["generated · interpolate"], other["generated · generated"]
                                                  } & set(SOURCE_COLORS.values())  # fmt: skip
    kinds = {t.name.split(" (")[0] for t in last(handlers.project("pca", 2, "kind", False, False, st))[0].data}
    assert "image" in kinds and not any(k.startswith("generated") for k in kinds)  # other colourings unchanged


def test_a_projection_chosen_while_one_runs_is_not_dropped(demo: Any) -> None:
    """Gradio's default trigger_mode 'once' drops a trigger while its event runs: UMAP clicked, then PCA 0.3 s
    later, left the radios at PCA and the map at UMAP (browser QA). The last choice must run after it."""
    (dep,) = [d for d in demo.config["dependencies"] if d["api_name"] == "project"]
    assert dep["trigger_mode"] == "always_last" and len(dep["targets"]) == 5


def test_use_buttons_open_the_tool_tab_they_fill(demo) -> None:
    """'Use for text diff' from the Interpolate tab filled the hidden Text diff tab's box: the button seemed dead."""
    from test_edit_app import elem_ids, listeners

    ids = elem_ids(demo)
    for button, boxes, tab, args in (("explorer-to-start", ["explorer-start"], "interpolate", ["#3 image · a cat"]),
                                     ("explorer-to-end", ["explorer-end"], "interpolate", ["#3 image · a cat"]),
                                     ("explorer-to-diff", ["explorer-diff-point", "explorer-from"], "text-diff",
                                      ["", None])):  # fmt: skip
        (dep,) = listeners(demo, button, "click")
        assert dep["outputs"] == [*(ids[box] for box in boxes), ids["explorer-tools"]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the diff's "nothing is picked" toast
            *values, tabs = demo.fns[dep["id"]].fn(*args)
        if args[0]:
            assert values == args[:1] and tabs.selected == tab
        else:  # nothing picked: a toast, and the boxes and the tab as they were
            assert values == [{"__type__": "update"}] * 2 and tabs == {"__type__": "update"}
