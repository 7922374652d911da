"""The app end to end over tiny-random: gradio_client calls to /generate and /compare, bad input, concurrency."""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import gradio as gr
import httpx
import numpy as np
import pytest
import torch
from conftest import FAST
from gradio_client.exceptions import AppError
from PIL import Image

import app
from components import common
from components.generate import make_handlers
from unclip import UnCLIP
from unclip.images import read_metadata
from unclip.settings import MODES, GenerateSettings

PROMPT = "a red apple left of a cat"
GOOD = {"prompt": PROMPT, "n": 1, "seed": 0, **FAST}


def generate(client: Any, **kw: Any) -> tuple:
    return client.predict(**{**GOOD, **kw}, api_name="/generate")


def gallery_pixels(gallery: list[dict]) -> list[np.ndarray]:
    return [np.asarray(Image.open(item["image"]).convert("RGB")) for item in gallery]


def assert_png_with_settings(path: str, prompt: str, seed: int, mode: str) -> None:
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size == (256, 256)
    meta = read_metadata(path)
    assert meta["prompt"] == prompt and meta["seed"] == seed and meta["mode"] == mode
    assert meta["decoder"]["steps"] == FAST["decoder_steps"] and meta["model"] == "tiny-random"


# -- the API surface -----------------------------------------------------------------------------------------
CONTRACT = {"generate", "compare", "vary", "inpaint", "zoom_out", "interpolate", "text_diff", "project"}  # README


def test_only_contract_endpoints_are_public(client: Any, demo: Any) -> None:
    api = client.view_api(return_format="dict", print_info=False)
    named = {name.lstrip("/") for name in api["named_endpoints"]}
    assert {"generate", "compare", "project", "interpolate", "text_diff"} <= named <= CONTRACT
    assert not api["unnamed_endpoints"]
    params = [p["parameter_name"] for p in api["named_endpoints"]["/generate"]["parameters"]]
    assert params[:4] == ["prompt", "n", "seed", "mode"] and {"decoder_steps", "upsampler"} <= set(params)
    exposed = {d["api_name"] for d in demo.config["dependencies"] if d["api_visibility"] != "private"}
    assert exposed == named


def test_stop_cancels_both_handlers(demo: Any) -> None:
    deps = demo.config["dependencies"]
    ids = {d["api_name"]: d["id"] for d in deps}
    assert any(set(d["cancels"]) == {ids["generate"], ids["compare"]} for d in deps)
    assert all(d["types"]["generator"] for d in deps if d["api_name"] in ("generate", "compare"))


@pytest.mark.parametrize("elem_id", ["stop-btn", "vary-stop", "inpaint-stop", "zoom-stop", "explorer-stop"])
def test_every_stop_cancels_its_tab_s_runs_and_says_so(demo: Any, elem_id: str, monkeypatch: Any) -> None:
    component = next(c["id"] for c in demo.config["components"] if c["props"].get("elem_id") == elem_id)
    deps = [d for d in demo.config["dependencies"] if [component, "click"] in [list(t) for t in d["targets"]]]
    [cancel] = [d for d in deps if d["cancels"]]  # Gradio makes the cancelling its own event, without a function
    runs = {d["id"]: d for d in demo.config["dependencies"]}
    assert all(runs[i]["types"]["generator"] for i in cancel["cancels"])
    [toast] = [d for d in deps if d["backend_fn"]]
    assert toast["api_visibility"] == "private" and toast["queue"] is not False  # a toast needs the queue
    said = []
    monkeypatch.setattr(gr, "Info", lambda message, **kw: said.append(message))
    demo.fns[toast["id"]].fn()
    assert said == [common.STOPPED]
    assert said[0].startswith("Stop: ")  # shown on an idle page too: it says what Stop does, not that it did


def test_launch_settings(demo: Any) -> None:
    assert demo.server_name == "127.0.0.1" and not demo.share
    assert demo.max_file_size == 10 * 1024 * 1024 and demo.allowed_paths == []
    assert demo._queue.default_concurrency_limit == 1 and demo._queue.max_size == 32  # a CPU: one run at a time


def test_every_queued_event_is_light_or_waits_in_the_model_queue(demo: Any) -> None:
    """One queue for everything that runs a model, across tabs: Generate and Compare (or two visitors' Variations
    and Inpaint) do not share 2 CPU cores at half speed each. The rest (checks, warnings, sends) is not limited."""
    model, light = set(), set()
    for fn in demo.fns.values():
        if fn.queue is False:
            continue
        assert fn.concurrency_limit is None or fn.concurrency_id == "model", (fn.name, fn.concurrency_id)
        (light if fn.concurrency_limit is None else model).add(fn.name)
    assert {"generate", "compare", "vary", "inpaint", "zoom_out", "zoom_again", "project", "refit", "add_points",
            "interpolate", "text_diff", "modality_gap", "record_generated"} == model  # fmt: skip
    assert {"prepare", "clamped", "send", "pick"} <= light


@pytest.mark.parametrize(("box", "button"), [("prompt", "generate-btn"), ("vary-prompt", "vary-btn"),
                                            ("inpaint-prompt", "inpaint-btn"), ("zoom-prompt", "zoom-btn"),
                                            ("explorer-start", "explorer-interpolate"),
                                            ("explorer-end", "explorer-interpolate"),
                                            ("explorer-from", "explorer-text-diff"),
                                            ("explorer-to", "explorer-text-diff"),
                                            ("explorer-diff-point", "explorer-text-diff"),
                                            ("explorer-gap-prompt", "explorer-gap")])  # fmt: skip
def test_enter_in_a_text_box_runs_what_its_button_runs(demo: Any, box: str, button: str) -> None:
    ids = {c["props"].get("elem_id"): c["id"] for c in demo.config["components"]}
    deps = [d for d in demo.config["dependencies"] if [ids[box], "submit"] in [list(t) for t in d["targets"]]]
    assert len(deps) == 1 and [ids[button], "click"] in [list(t) for t in deps[0]["targets"]]


def test_model_runs_wait_in_line(client: Any, backend: UnCLIP, monkeypatch: Any) -> None:
    """Four requests at once, to /generate and /compare: one model run at a time on a CPU (app.default_concurrency)."""
    lock, running, peak = threading.Lock(), [0], [0]

    def one_at_a_time(stream: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            try:
                time.sleep(0.3)  # long enough for a second run to start, if it may
                return (yield from stream(*args, **kwargs))
            finally:
                with lock:
                    running[0] -= 1

        return counted

    monkeypatch.setattr(backend, "generate_stream", one_at_a_time(backend.generate_stream))  # compare's too
    jobs = [client.submit(**GOOD, api_name=api) for api in ("/generate", "/compare", "/generate", "/compare")]
    for job in jobs:
        job.result(timeout=240)
    assert peak == [1] and running == [0]


def test_concurrency_defaults_and_override(backend: UnCLIP, monkeypatch: Any) -> None:
    assert app.default_concurrency(backend) == 1  # a CPU
    monkeypatch.setattr(type(backend.models), "device", property(lambda self: torch.device("cuda")))
    assert app.default_concurrency(backend) == 2
    monkeypatch.setattr(backend.models, "onload_hook", lambda *a: None)  # --offload
    assert app.default_concurrency(backend) == 1
    monkeypatch.undo()
    assert app.build_demo(backend, concurrency=3)._queue.default_concurrency_limit == 3


def test_offload_refuses_more_than_one_run_at_a_time(backend: UnCLIP, monkeypatch: Any) -> None:
    """--concurrency 2 --offload let two runs move components from under each other (the code review counted
    forwards that ended with their module moved away); the default was one, an explicit N overrode it."""
    monkeypatch.setattr(backend.models, "onload_hook", lambda *a: None)  # --offload
    assert app.build_demo(backend, concurrency=1)._queue.default_concurrency_limit == 1
    with pytest.raises(ValueError, match="--concurrency must be 1 with --offload .* got 2"):
        app.build_demo(backend, concurrency=2)
    monkeypatch.setattr(app, "load_backend", lambda *a, **k: pytest.fail("loaded the weights first"))
    monkeypatch.setattr(app, "launch", lambda *a, **k: pytest.fail("launched"))
    with pytest.raises(SystemExit, match="error: --concurrency must be 1 with --offload, got 2"):
        app.main(["--offload", "--concurrency", "2"])


# -- end to end ----------------------------------------------------------------------------------------------
def test_generate_end_to_end(client: Any) -> None:
    preview, gallery, files, table, info = generate(client, n=2, seed=7)
    assert len(gallery) == 2 and [g["caption"].split("· ")[-1] for g in gallery] == ["seed 7", "seed 8"]
    assert gallery[0]["caption"].startswith("CLIP score ")
    assert len(files) == 2
    for path, seed in zip(files, (7, 8), strict=True):
        assert Path(path).name == f"unclip-prior-seed{seed}.png"
        assert_png_with_settings(path, PROMPT, seed, "prior")
    for item, seed in zip(gallery, (7, 8), strict=True):  # the gallery's own files keep the metadata too,
        assert_png_with_settings(item["image"], PROMPT, seed, "prior")
        assert Path(item["image"]).name == f"unclip-prior-seed{seed}.png"  # and the name (a download was image.png)
    assert [row[:2] for row in table["data"]] == [["prior", 7], ["prior", 8]]
    assert all(-1 <= v <= 1 for row in table["data"] for v in row[2:5])
    assert "seeds 7–8" in info and "tiny-random" in info
    assert Path(preview).is_file()


def test_compare_end_to_end(client: Any) -> None:
    out = client.predict(**{**GOOD, "seed": 3}, api_name="/compare")
    galleries, files, table, info = out[1:4], out[4], out[5], out[6]
    assert [len(g) for g in galleries] == [1, 1, 1]
    pixels = [gallery_pixels(g)[0] for g in galleries]
    assert not np.array_equal(pixels[0], pixels[1]) and not np.array_equal(pixels[1], pixels[2])
    assert [Path(f).name for f in files] == [f"unclip-{m}-seed3.png" for m in MODES]
    assert [Path(g[0]["image"]).name for g in galleries] == [f"unclip-{m}-seed3.png" for m in MODES]  # each its own
    for path, mode in zip(files, MODES, strict=True):
        assert_png_with_settings(path, PROMPT, 3, mode)
    rows = {row[0]: row for row in table["data"]}
    assert list(rows) == list(MODES)
    assert rows["text_embedding"][2] == 1.0  # the decoder input IS the text embedding
    assert rows["prior"][2] < 1.0
    assert "`prior`, `text_embedding`, `caption_only`" in info


def test_long_prompt_works_and_says_it_was_cut(client: Any) -> None:
    _, gallery, files, _, info = generate(client, prompt="a red apple left of a cat " * 20)
    assert len(gallery) == 1 and len(files) == 1
    assert "longer than 77 tokens" in info


# -- bad input: a clear error naming the field, and the app keeps working ------------------------------------------
BAD = [
    ({"prompt": ""}, "prompt is empty"),
    ({"prompt": "   "}, "prompt is empty"),
    ({"n": 0}, "n must be a whole number between 1 and 8, got 0"),
    ({"n": 9}, "n must be a whole number between 1 and 8, got 9"),
    ({"decoder_steps": 0}, "decoder steps must be a whole number between 1 and 200, got 0"),
    ({"prior_steps": 500}, "prior steps must be a whole number between 1 and 200, got 500"),
    ({"decoder_guidance": 31}, "decoder guidance must be between 0 and 30, got 31"),
    ({"prior_guidance": -1}, "prior guidance must be between 0 and 30, got -1"),
    ({"seed": -1}, "seed must be a whole number between 0 and 4294967295, got -1"),
    ({"seed": 1.5}, "seed must be a whole number"),
    ({"upsampler_steps": "many"}, "upsampler steps must be a number, got 'many'"),
    ({"decoder_guidance": "NaN"}, "decoder guidance must be a finite number, got 'NaN'"),
    ({"decoder_scheduler": "euler"}, "decoder scheduler must be one of ddim, dpm++, ddpm; got 'euler'"),  # its own
    ({"mode": "no_prior"}, "mode must be one of prior, text_embedding, caption_only; got 'no_prior'"),
    ({"upsampler": "false"}, "upsampler must be true or false, got 'false'"),  # an API caller's string: truthy
]


@pytest.mark.parametrize(("bad", "message"), BAD, ids=[next(iter(b)) + f"={b[next(iter(b))]!r}" for b, _ in BAD])
def test_bad_input_is_refused_then_app_still_works(client: Any, bad: dict, message: str) -> None:
    with pytest.raises(AppError) as err:
        generate(client, **bad)
    assert message in str(err.value)
    _, gallery, files, _, _ = generate(client, seed=1)
    assert len(gallery) == 1 and len(files) == 1


def test_bad_input_logs_one_line_not_a_traceback(client: Any, capfd: pytest.CaptureFixture[str],
                                                caplog: pytest.LogCaptureFixture) -> None:
    """A user's mistake is not a server fault: Gradio prints a traceback for every gr.Error unless told not to."""
    with caplog.at_level("INFO", logger="unclip.app"), pytest.raises(AppError, match="n must be"):
        generate(client, n=0)
    assert "Traceback" not in capfd.readouterr().err
    assert [r.getMessage() for r in caplog.records if r.name == "unclip.app"] == [
        "refused: n must be a whole number between 1 and 8, got 0"]


def test_bad_input_to_compare(client: Any) -> None:
    with pytest.raises(AppError, match="n must be a whole number between 1 and 8, got 9"):
        client.predict(**{**GOOD, "n": 9}, api_name="/compare")


def test_json_nan_is_refused(client: Any, app_url: str) -> None:
    """A literal NaN (gradio_client cannot send one: JSON forbids it, Python's json writes it anyway)."""
    params = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/generate"]["parameters"]
    values = {**{p["parameter_name"]: p["parameter_default"] for p in params}, **GOOD, "decoder_steps": float("nan")}
    body = json.dumps({"data": [values[p["parameter_name"]] for p in params]})  # NaN, unquoted
    post = httpx.post(f"{app_url}gradio_api/call/generate", content=body, headers={"content-type": "application/json"})
    events = httpx.get(f"{app_url}gradio_api/call/generate/{post.json()['event_id']}", timeout=60).text
    assert "event: error" in events and "decoder steps must be a finite number, got nan" in events
    assert len(generate(client, seed=2)[1]) == 1


# -- concurrency: 8 requests at once give exactly what they give one by one ------------------------------------
def test_concurrent_requests_match_sequential(client: Any) -> None:
    seeds = list(range(100, 108))
    jobs = [client.submit(**{**GOOD, "seed": s}, api_name="/generate") for s in seeds]
    with ThreadPoolExecutor(8) as pool:  # collect in threads too: results arrive in any order
        together = list(pool.map(lambda job: gallery_pixels(job.result(timeout=240)[1])[0], jobs))
    alone = [gallery_pixels(generate(client, seed=s)[1])[0] for s in seeds]
    for seed, a, b in zip(seeds, together, alone, strict=True):
        np.testing.assert_array_equal(a, b, err_msg=f"seed {seed}")
    assert not np.array_equal(together[0], together[1])


# -- the handler itself: UI updates at stage ends and at most every UPDATE_EVERY_S; closing it stops the sampler --
def test_handler_updates_at_stage_ends_and_stop_closes_the_sampler(backend: UnCLIP, monkeypatch: Any) -> None:
    closed: list[bool] = []
    real = backend.generate_stream

    def spy(*args: Any, **kwargs: Any) -> Any:
        try:
            return (yield from real(*args, **kwargs))
        finally:
            closed.append(True)

    monkeypatch.setattr(backend, "generate_stream", spy)
    generate_fn, _ = make_handlers(backend)
    args = {
        **GOOD,
        "mode": "prior",
        "prior_guidance": 1.0,
        "prior_candidates": 1,
        "prior_scheduler": "ddim",
        "decoder_guidance": 2.0,
        "decoder_scheduler": "ddim",
        "upsampler_scheduler": "ddim",
        "upsampler": True,
    }
    monkeypatch.setattr(common, "UPDATE_EVERY_S", 0.0)  # an update after every denoising step, then the result
    assert len(list(generate_fn(**args))) == FAST["prior_steps"] + FAST["decoder_steps"] + FAST["upsampler_steps"] + 1
    monkeypatch.setattr(common, "UPDATE_EVERY_S", 1e9)  # only at the three stages' ends (with their previews)
    monkeypatch.setattr(common, "PREVIEW_EVERY_S", 1e9)
    updates = list(generate_fn(**args))
    assert len(updates) == 3 + 1
    assert [isinstance(u[0], Image.Image) for u in updates[:3]] == [False, True, True]  # prior: no image yet
    for interval in (0.0, 1e9):  # Stop: Gradio closes the generator at its next yield
        monkeypatch.setattr(common, "UPDATE_EVERY_S", interval)
        closed.clear()
        running = generate_fn(**{**args, "decoder_steps": 50})
        next(running)
        running.close()  # what Gradio does on Stop (`cancels=`)
        assert closed == [True]


def test_follow_updates_at_most_every_interval_between_stage_ends(monkeypatch: Any) -> None:
    """A fake clock: steps 0.1 s apart, updates at most every 0.25 s, and always at a stage's end."""
    from unclip.sampling import Progress

    clock = iter(x / 10 for x in range(1000))
    monkeypatch.setattr(common.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(common, "UPDATE_EVERY_S", 0.25)
    calls: list[tuple] = []

    def stream():
        for stage, total in (("prior", 10), ("decoder", 4)):
            for step in range(1, total + 1):
                yield Progress(stage, step, total)
        return "done"

    gen = common.follow(stream(), lambda *a, **k: calls.append(a), total=14, other_outputs=2)
    updates = []
    try:
        while True:
            updates.append(next(gen))
    except StopIteration as stop:
        assert stop.value == "done"
    done = [c[0][0] for c in calls]  # steps completed at each progress report
    assert done == [3, 6, 9, 10, 13, 14]  # every 3rd step (0.3 s >= 0.25 s), plus the two stage ends
    assert len(updates) == len(done) and all(len(u) == 3 for u in updates)


# -- app.py: arguments, environment, notice ------------------------------------------------------------------
def test_args_defaults_and_environment(monkeypatch: Any) -> None:
    for name in ("SPACE_ID", "GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT", "UNCLIP_MODEL"):
        monkeypatch.delenv(name, raising=False)
    args = app.parse_args([])
    assert (args.model, args.host, args.port) == ("tiny-emoji", "127.0.0.1", 7860)
    monkeypatch.setenv("SPACE_ID", "someone/unclip-studio")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7000")
    monkeypatch.setenv("UNCLIP_MODEL", "tiny-random")
    args = app.parse_args([])
    assert (args.model, args.host, args.port) == ("tiny-random", "0.0.0.0", 7000)
    args = app.parse_args(["--model", "x", "--host", "127.0.0.2", "--port", "9"])
    assert (args.model, args.host, args.port) == ("x", "127.0.0.2", 9)


def test_concurrency_argument_and_environment(monkeypatch: Any, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("UNCLIP_CONCURRENCY", raising=False)
    assert app.parse_args([]).concurrency is None  # app.default_concurrency decides
    assert app.parse_args(["--concurrency", "3"]).concurrency == 3
    monkeypatch.setenv("UNCLIP_CONCURRENCY", "4")
    assert app.parse_args([]).concurrency == 4
    for bad in ("0", "two", "1.5"):
        monkeypatch.setenv("UNCLIP_CONCURRENCY", bad)
        with pytest.raises(SystemExit):
            app.parse_args([])
        said = f"argument --concurrency: must be a whole number of at least 1, got '{bad}' (from the flag or env "
        assert said + "UNCLIP_CONCURRENCY)" in capsys.readouterr().err


def test_unknown_model_exits_with_a_clear_message(monkeypatch: Any) -> None:
    allowed = "model must be one of tiny-emoji, tiny-random, karlo, kandinsky-2.2 or a model directory"
    monkeypatch.delenv("UNCLIP_MODEL", raising=False)
    with pytest.raises(SystemExit, match=f"^error: {allowed}, got 'no-such-model'$"):
        app.main(["--model", "no-such-model"])
    monkeypatch.setenv("UNCLIP_MODEL", "bogus")  # the CLI named the env; app.py did not
    with pytest.raises(SystemExit, match=r"got 'bogus' \(from env UNCLIP_MODEL\)$"):
        app.main([])
    with pytest.raises(SystemExit, match="^error: model is empty: give one of tiny-emoji, .* or a model directory$"):
        app.main(["--model", " "])  # was read as the current folder: "model directory . is not a known family"


def test_offload_with_a_tiny_model_is_refused_before_any_gpu_is_touched(monkeypatch: Any) -> None:
    from unclip import load_backend

    with pytest.raises(ValueError, match="offload is for the hub families .karlo, kandinsky-2.2.; the tiny models"):
        load_backend("tiny-random", device="cuda", offload=True)  # raises before .to("cuda"): runs on CPU machines
    monkeypatch.setattr(app, "load_backend", lambda *a, **k: load_backend("tiny-random", device="cuda", offload=True))
    with pytest.raises(SystemExit, match="error: offload is for the hub families"):
        app.main(["--model", "tiny-random", "--offload"])


def test_notice_is_shown(backend: UnCLIP, monkeypatch: Any) -> None:
    monkeypatch.setattr(backend.models, "notice", "running tiny-random: bundled weights missing")
    blocks = app.build_demo(backend)
    texts = [c["props"].get("value") or "" for c in blocks.config["components"] if c["type"] == "markdown"]
    assert any("running tiny-random: bundled weights missing" in t for t in texts)


def test_pictures_offer_share_only_on_a_space(backend: UnCLIP, monkeypatch: Any) -> None:
    """Gradio's Share posts to a Hugging Face Space's discussions: elsewhere it was a toast "Share failed" (QA)."""
    def toolbars(blocks: gr.Blocks) -> dict[str, list]:
        return {b.elem_id: b.buttons for b in blocks.blocks.values()
                if isinstance(b, gr.Image | gr.Gallery | gr.ImageEditor) and b.visible}  # fmt: skip

    here = toolbars(app.build_demo(backend))
    assert {"generate-gallery", "zoom-result", "vary-image", "inpaint-image", "explorer-neighbours"} <= set(here)
    assert all("share" not in buttons for buttons in here.values()), here
    assert "download_all" in here["generate-gallery"] and "fullscreen" in here["zoom-gif"]
    monkeypatch.setenv("SPACE_ID", "someone/unclip-studio")
    on_space = toolbars(app.build_demo(backend))
    assert "share" in on_space["generate-gallery"] and "share" in on_space["zoom-result"]


def test_outputs_are_pruned_but_fresh_ones_kept(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(common, "OUTPUTS_DIR", tmp_path)
    now = time.time()
    for i, age in enumerate([3600, 3000, 2000, 30, 0]):  # seconds; the 4th is beyond `keep` but too fresh
        (tmp_path / f"r{i}").mkdir()
        os.utime(tmp_path / f"r{i}", (now - age, now - age))
    common.prune_outputs(keep=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r3", "r4"]


def test_the_summary_names_seeds_that_wrap_past_the_largest_as_two_runs() -> None:
    """Seed 4294967295 with n=3 read "from seeds 4294967295–1", a backwards range; the seeds wrap to 0 (as the
    CLI's do)."""
    assert common.seed_text([7]) == "seed 7" and common.seed_text([7, 8, 9]) == "seeds 7–9"
    assert common.seed_text([2**32 - 1, 0, 1]) == "seeds 4294967295 and 0–1"
    assert common.seed_text([2**32 - 2, 2**32 - 1, 0]) == "seeds 4294967294–4294967295 and 0"
    assert common.seed_text([3, 5, 6, 9]) == "seeds 3, 5–6 and 9"


def test_a_port_env_that_is_no_number_is_refused_naming_it_not_by_gradio_s_import() -> None:
    """Gradio reads GRADIO_SERVER_PORT as it is imported: `GRADIO_SERVER_PORT=abc python app.py` (or --help) ended
    in a ValueError traceback before argparse ran."""
    import subprocess

    env = {**os.environ, "GRADIO_SERVER_PORT": "abc"}
    done = subprocess.run([sys.executable, str(Path(app.__file__)), "--model", "tiny-random"], env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "argument --port: must be a whole number from 1 to 65535, got 'abc' (from the flag or env " in done.stderr


def test_a_port_or_host_it_cannot_listen_on_is_one_line_before_the_model_loads(monkeypatch: Any,
                                                                               capsys: pytest.CaptureFixture[str]
                                                                               ) -> None:  # fmt: skip
    """A port in use ended, after the model had loaded, in Gradio's traceback telling the user to pass
    server_port to launch(); --port 99999 in an OverflowError; a host not of this machine blamed the port."""
    import socket

    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    for argv, env in ((["--port", "99999"], None), ([], "0"), ([], "http")):
        if env is not None:
            monkeypatch.setenv("GRADIO_SERVER_PORT", env)
        with pytest.raises(SystemExit):
            app.parse_args(argv)
        bad = argv[-1] if argv else env
        assert f"argument --port: must be a whole number from 1 to 65535, got '{bad}'" in capsys.readouterr().err
    monkeypatch.delenv("GRADIO_SERVER_PORT")
    monkeypatch.setattr(app, "load_backend", lambda *a, **k: pytest.fail("the model loaded first"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit, match=rf"error: --port {port} is in use on 127.0.0.1 .*give another --port"):
            app.main(["--model", "tiny-random", "--port", str(port)])
    with pytest.raises(SystemExit, match=r"error: --host 256.1.1.1: cannot resolve it"):
        app.main(["--model", "tiny-random", "--host", "256.1.1.1", "--port", str(port)])
    with pytest.raises(SystemExit, match=r"error: --host 203.0.113.7: not an address of this machine"):  # TEST-NET-3
        app.main(["--model", "tiny-random", "--host", "203.0.113.7", "--port", str(port)])


def test_a_damaged_model_dir_is_one_line_naming_model(tmp_path: Path, monkeypatch: Any) -> None:
    """The CLI said so in one line; app.py caught only ValueError and printed a traceback."""
    from unclip.families import tiny

    monkeypatch.setattr(app, "check_can_listen", lambda host, port: None)
    tiny.save(tiny.build_random(), tmp_path / "m", tiny.TinyConfig.random())
    (tmp_path / "m" / "decoder" / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(SystemExit, match=r"error: --model .*m: cannot load it: .*diffusion_pytorch_model"):
        app.main(["--model", str(tmp_path / "m")])
    tiny.save(tiny.build_random(), tmp_path / "m", tiny.TinyConfig.random())
    config = tmp_path / "m" / "decoder" / "config.json"  # weights of another architecture: torch's RuntimeError
    config.write_text(json.dumps({**json.loads(config.read_text()), "cross_attention_dim": 40}))
    with pytest.raises(SystemExit, match=r"error: --model .*m: cannot load it: .*m/decoder: its weights do not fit "
                                         r"its config: size mismatch for [^\n]*$"):  # fmt: skip
        app.main(["--model", str(tmp_path / "m")])
    (tmp_path / "m" / tiny.CONFIG_FILE).write_text("{bad json")
    with pytest.raises(SystemExit, match=r"error: .*m/unclip_config.json is not valid JSON \(Expecting property"):
        app.main(["--model", str(tmp_path / "m")])


def one_step(backend: UnCLIP) -> GenerateSettings:
    """The model's defaults at one step a stage."""
    d = backend.default_settings()
    return replace(d, prior=replace(d.prior, steps=1), decoder=replace(d.decoder, steps=1),
                   upsampler=replace(d.upsampler, steps=1))


def saved_batch(backend: UnCLIP, tmp_path: Path, settings: GenerateSettings, n: int = 3, seed: int = 7
                ) -> tuple[list[Image.Image], list[Path]]:  # fmt: skip
    """A Generate batch of "a red cat", each image saved as the app saves it (settings in the PNG)."""
    from unclip.images import save_png

    images = backend.generate("a red cat", n=n, seed=seed, settings=settings)
    return images, [save_png(im, tmp_path / f"img{i}.png") for i, im in enumerate(images)]


def test_a_generate_png_fills_the_form_to_remake_its_very_pixels(backend: UnCLIP, tmp_path: Path) -> None:
    from components.generate import RECIPE_FIELDS, make_restore
    from components.stage_settings import control_values, to_settings

    d = backend.default_settings()
    assert to_settings(**control_values(d)) == d  # the two are each other's inverse
    settings = replace(d, mode="text_embedding", prior=replace(d.prior, steps=2, scheduler="ddpm"),
                       decoder=replace(d.decoder, steps=3, guidance=2.5), upsampler=replace(d.upsampler, steps=1))
    images, paths = saved_batch(backend, tmp_path, settings)
    values = dict(zip(RECIPE_FIELDS, make_restore(backend)(str(paths[1])), strict=True))
    assert (values["prompt"], values["n"], values["seed"], values["randomize"]) == ("a red cat", 3, 7, False)
    assert values["mode"] == "text_embedding" and values["prior_scheduler"] == "ddpm" and values["decoder_steps"] == 3
    assert "image 1 of a batch of 3 from seed 7" in values["note"] and "another picture" not in values["note"]
    stages = {k: values[k] for k in RECIPE_FIELDS if k not in ("prompt", "n", "seed", "randomize", "note")}
    again = backend.generate(values["prompt"], n=values["n"], seed=values["seed"], settings=to_settings(**stages))
    for a, b in zip(images, again, strict=True):
        assert np.array_equal(np.asarray(a), np.asarray(b))  # same seed, same pixels
    assert make_restore(backend)(None) == tuple(gr.skip() for _ in RECIPE_FIELDS)  # the file was cleared


def test_a_png_that_cannot_fill_the_form_is_refused_by_name(backend: UnCLIP, tmp_path: Path) -> None:
    import json

    from components.generate import make_restore
    from unclip.images import save_png

    restore = make_restore(backend)
    (tmp_path / "notes.png").write_text("not a picture")
    Image.new("RGB", (32, 32)).save(tmp_path / "plain.png")
    edit = save_png(backend.vary(Image.new("RGB", (64, 64), "red"), n=1, seed=0, settings=one_step(backend)).images[0],
                    tmp_path / "vary.png")  # fmt: skip
    _, [ok] = saved_batch(backend, tmp_path, one_step(backend), n=1)
    meta = json.loads(Image.open(ok).info["parameters"])
    def doctored(name: str, **changes: Any) -> str:
        im = Image.open(ok)
        im.info["parameters"] = json.dumps({**meta, **changes})
        return str(save_png(im, tmp_path / name))

    cases = {
        str(tmp_path / "notes.png"): "the PNG is not an image: drop a PNG that unCLIP Studio saved",
        str(tmp_path / "plain.png"): "the PNG carries no Generate settings",
        str(edit): "the PNG was made by Variations (vary), not Generate",
        doctored("unclip.png", decoder={**meta["decoder"], "scheduler": "unclip", "steps": 4}):
            "the PNG's settings cannot run here: decoder scheduler: the 'unclip' scheduler reads epsilon",
        doctored("seed.png", batch={**meta["batch"], "first_seed": -1}): "the PNG's seed must be a whole number",
        doctored("steps.png", prior={"steps": 2}): "the PNG: its settings are incomplete",
        doctored("index.png", batch={"size": 2, "index": 5, "first_seed": 0}):  # was "image 5 of a batch of 2"
            "the PNG's batch index must be a whole number between 0 and 1, got 5",
        str(tmp_path / "gone.png"): "the PNG: file not found: gone.png",
    }
    for path, message in cases.items():
        with pytest.raises(gr.Error, match=re.escape(message)):
            restore(path)
    note = restore(doctored("other.png", model="karlo"))[-1]  # filled all the same, and said
    assert "made with `karlo`; this app runs `tiny-random`: expect another picture" in note
    note = restore(doctored("odd.png", model="x` <img src=x> `y"))[-1]  # the file's text cannot close the code span
    assert "made with `x' <img src=x> 'y`; this app runs" in note
    note = restore(doctored("bf.png", precision="*bf16* <b>"))[-1]
    assert "It was made in \\*bf16\\* &lt;b>, this app runs fp32" in note



def test_a_refused_upload_is_said_with_its_field_size_and_what_to_do() -> None:
    """The page script keeps a file over the limit that it cannot shrink out of its box and reports it here."""
    from components.common import refuse_upload, upload_refusal

    report = json.dumps({"field": "inpaint-mask", "name": "scan.tif", "bytes": 36_000_000})
    assert upload_refusal(report) == ("mask: scan.tif is 34.3 MB, over the 10 MB upload limit, and the browser cannot "
                                      "open it to shrink it: save it as PNG or JPEG (or smaller) and upload that; the "
                                      "picture already here is kept")  # fmt: skip
    files = json.dumps({"field": "explorer-files", "name": "a.tif", "bytes": 11 * 2**20})
    assert upload_refusal(files).startswith("files: a.tif is 11.0 MB") and "the pictures already here are kept" in \
        upload_refusal(files)
    some = json.dumps({"field": "explorer-files", "name": "b.tif", "bytes": 2**24, "more": 1, "sent": 3})
    assert upload_refusal(some).startswith("files: b.tif is 16.0 MB (and 1 more like it), over the 10 MB") and \
        upload_refusal(some).endswith("upload that; the other 3 were sent")
    for bad in ("", "{}", "[1]", json.dumps({"field": "prompt", "name": "x", "bytes": 1}), '{"field": "zoom-image"}',
                '{"field": "zoom-image", "name": "x", "bytes": 1e999}'):
        assert upload_refusal(bad) == "a file over the 10 MB upload limit was not sent", bad
    with pytest.raises(gr.Error, match="image: big.tif is 12.0 MB"):
        refuse_upload(json.dumps({"field": "vary-image", "name": "big.tif", "bytes": 12 * 2**20}))


def test_user_text_in_a_markdown_note_is_literal() -> None:
    from components.common import literal

    assert literal("a cat on the beach, #3") == "a cat on the beach, #3"  # plain captions unchanged
    assert literal("a *red* __apple__\n<b>x</b> & [y](z) $$w$$ ~~v~~ | a\\b `c`") == (
        "a \\*red\\* \\_\\_apple\\_\\_ &lt;b>x&lt;/b> &amp; \\[y\\](z) \\$\\$w\\$\\$ \\~\\~v\\~\\~ \\| a\\\\b \\`c\\`")
    assert literal("see https://example.org or www.x.org, me@x.org") == \
        "see https&#58;//example.org or www&#46;x.org, me&#64;x.org"


def test_a_refusal_shows_user_text_as_typed_in_its_toast() -> None:
    """Gradio's toast renders its message as HTML: a file named `<img src=x>.tif` showed a broken image (review)."""
    from components.common import user_error

    assert user_error("image: <img src=x>.tif is not an image; 1 < 2 <= 3").message == \
        "image: &lt;img src=x>.tif is not an image; 1 < 2 <= 3"
