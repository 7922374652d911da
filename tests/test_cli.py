"""`python -m unclip ...` error paths: bad input is one `error:` line on stderr and exit code 2, never a traceback,
and nothing is written. (The verbs' happy paths are tested beside their libraries: test_edit, test_eval, test_world.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from unclip.cli import main

VERBS = "eval, generate, inpaint, train, vary, world, zoom-out"
EXAMPLES = Path(__file__).resolve().parents[1] / "assets" / "examples"


def test_help_prints_the_usage_and_succeeds(capsys: pytest.CaptureFixture) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "python -m unclip generate" in out and "python -m unclip eval" in out


@pytest.mark.parametrize(("argv", "message"), [([], "no command given"), (["bogus"], "unknown command 'bogus'")])
def test_a_missing_or_unknown_command_is_an_error(argv: list[str], message: str,
                                                  capsys: pytest.CaptureFixture) -> None:  # fmt: skip
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines()[-1] == f"error: {message}; choose one of {VERBS}"


@pytest.mark.parametrize(("extra", "message"), [
    (["", "-n", "1"], "prompt is empty: describe the image"),
    (["a cat", "-n", "9"], "n must be a whole number between 1 and 8, got 9"),
    (["a cat", "--decoder-steps", "0"], "decoder steps must be a whole number between 1 and 200, got 0"),
])
def test_generate_refuses_bad_input_by_name(extra: list[str], message: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:  # fmt: skip
    out = tmp_path / "out"
    assert main(["generate", *extra, "--model", "tiny-random", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert not out.exists()  # refused before the folder is made


@pytest.mark.parametrize(("argv", "message"), [
    (["vary", "IMAGE", "-n", "0"], "n must be a whole number between 1 and 8, got 0"),
    (["vary", "IMAGE", "--strength", "2"], "strength must be between 0 and 1, got 2.0"),
    (["vary", "IMAGE", "--eta", "-0.5"], "eta must be between 0 and 1, got -0.5"),
    (["vary", "IMAGE", "--eta", "0.5", "--strength", "0.4"], "strength must be 1 with eta"),
    (["inpaint", "IMAGE", "a cat"], "mask is empty"),
    (["inpaint", "IMAGE", "--mask", "IMAGE", "a cat", "--feather", "99"], "feather must be a whole number"),
    (["zoom-out", "IMAGE", "--factor", "9"], "factor must be between 1.1 and 4, got 9.0"),
    (["zoom-out", "IMAGE", "--times", "0"], "times must be a whole number between 1 and 50, got 0"),
    (["zoom-out", "IMAGE", "--decoder-steps", "0"], "decoder steps must be a whole number between 1 and 200"),
])
def test_the_edit_verbs_refuse_bad_input_before_making_the_folder(argv: list[str], message: str, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture) -> None:  # fmt: skip
    image, out = str(EXAMPLES / "grass-sailboat.png"), tmp_path / "new" / "out"
    assert main([a.replace("IMAGE", image) for a in argv] + ["--model", "tiny-random", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert not (tmp_path / "new").exists()  # `-n 0 --out newdir` used to leave an empty newdir


@pytest.mark.parametrize(("extra", "message"), [
    (["--n", "1"], "--n must be from 2 (a Fréchet distance needs two images per set) to 1000, got 1"),
    (["--n", "1000000"], "--n must be from 2 (a Fréchet distance needs two images per set) to 1000, got 1000000"),
    (["--seed", "-1"], "--seed must be from 0 to 4294967295, got -1"),
    (["--seed", "18446744073709551615"], "--seed must be from 0 to 4294967295, got 18446744073709551615"),
])  # fmt: skip
def test_eval_refuses_bad_sizes_and_seeds_before_loading_anything(extra: list[str], message: str,
                                                                  capsys: pytest.CaptureFixture) -> None:  # fmt: skip
    """A million captions was killed for memory after minutes; a 64-bit seed was a traceback at the first batch."""
    assert main(["eval", "--model", "no-such-model", *extra]) == 2  # these checks come first
    assert capsys.readouterr().err == f"error: {message}\n"


@pytest.mark.parametrize(("extra", "message"), [
    (["--batch", "0"], "--batch must be from 1 to 4096, got 0"),
    (["--batch", "4097"], "--batch must be from 1 to 4096, got 4097"),  # 100000 filled 23 GB rendering one batch
    (["--workers", "65"], "--workers must be -1 (automatic) to 64, got 65"),
    (["--lr", "nan"], "--lr must be a positive number, got nan"),
    (["--ema", "nan"], "--ema must be from 0 to 1, below 1, got nan"),  # trained on, it wrote NaN weights
    (["--save-every", "0"], "--save-every must be at least 1, got 0"),
    (["--preview-every", "-1"], "--preview-every must be 0 (no sample grids) or more, got -1"),
    (["--threads", "-1"], "--threads must be 0 (torch's default) to 256, got -1"),
    (["--threads", "257"], "--threads must be 0 (torch's default) to 256, got 257"),
    (["--high-noise", "5"], "--high-noise must be a share from 0 to 1, got 5.0"),
    (["--decoder-width", "0.1"], "--decoder-width must be 0 (keep) or 0.25-4, got 0.1"),
    (["--weighting", "bogus"], "--weighting must be min-snr or v, got 'bogus'"),
    (["--config", "bogus"], "--config must be default or random, got 'bogus'"),  # built the full model silently
    (["--steps", "0"], "--steps must be at least 1, got 0"),
    (["--device", "bogus"], "device must be cpu, cuda, cuda:N or mps, got 'bogus'"),
    (["--preset", "gpu"], "--preset applies to 'train all' only"),
])
def test_train_refuses_bad_flags_by_name_before_writing_anything(extra: list[str], message: str, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture) -> None:  # fmt: skip
    out, run = tmp_path / "model", tmp_path / "run"
    argv = ["train", "decoder", "--config", "random", "--steps", "2", "--out", str(out), "--run-dir", str(run)]
    assert main([*argv, *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert not out.exists() and not run.exists()


def test_train_all_takes_every_flag_given_even_one_equal_to_the_built_in_default(monkeypatch: pytest.MonkeyPatch,
                                                                               tmp_path: Path) -> None:  # fmt: skip
    """`--batch 64` is TrainArgs' default: `train all` took it for 'not given' and trained with the preset's."""
    import unclip.train

    seen = []
    monkeypatch.setattr(unclip.train, "train", lambda args, stale="refuse": seen.append(args) or finished(args))
    argv = ["train", "all", "--preset", "cpu", "--batch", "64", "--threads", "0", "--out", str(tmp_path / "m")]
    assert main(argv) == 0
    assert [a.stage for a in seen] == ["clip", "prior", "decoder", "upsampler"]
    assert {a.batch for a in seen} == {64} and {a.threads for a in seen} == {0}  # the preset's: 96/128/16/12, 1/2
    assert [a.steps for a in seen] == [1400, 800, 7000, 1500]  # not given: the preset's


@pytest.mark.parametrize("preset", ["cpu", "lesson", "gpu"])
def test_train_all_runs_every_preset_s_numbers_through_the_flag_checks(preset: str, monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: Path) -> None:  # fmt: skip
    import unclip.train
    from unclip.train.presets import ORDER, PRESETS

    seen = []
    monkeypatch.setattr(unclip.train, "train", lambda args, stale="refuse": seen.append(args) or finished(args))
    assert main(["train", "all", "--preset", preset, "--out", str(tmp_path / "m")]) == 0  # checked before training
    assert [(a.stage, a.steps, a.batch) for a in seen] == [
        (stage, PRESETS[preset][stage]["steps"], PRESETS[preset][stage]["batch"]) for stage in ORDER]
    if preset == "lesson":  # a class period, whatever the machine: every stage is capped, 50 minutes in all
        assert all(a.time_limit > 0 for a in seen) and sum(a.time_limit for a in seen) <= 50 * 60
        assert {a.preview_every for a in seen} == {100} and {a.threads for a in seen} == {0}  # all cores


def finished(args: Any, step: int | None = None) -> dict:
    """A stage's summary, as `unclip.train.train` returns it, at `step` (default: all its steps)."""
    return {"stage": args.stage, "step": args.steps if step is None else step,
            "args": {"steps": args.steps, "out": args.out, "run_dir": args.run_dir}}


def test_train_all_says_how_to_go_on_when_clip_stopped_at_its_time_limit(monkeypatch: pytest.MonkeyPatch,
                                                                         capsys: pytest.CaptureFixture,
                                                                         tmp_path: Path) -> None:  # fmt: skip
    """Each stage said "time limit reached at step N; resume to continue", which invited running 'train all' again:
    that trains CLIP on and restarts the prior and decoder, which learnt from it (classroom QA)."""
    import unclip.train

    argv = ["train", "all", "--config", "random", "--out", str(tmp_path / "m")]
    monkeypatch.setattr(unclip.train, "train", lambda args, stale="refuse": finished(args))
    assert main(argv) == 0 and "CLIP stopped at its time limit" not in capsys.readouterr().out
    cut = {"clip": 600}
    monkeypatch.setattr(unclip.train, "train", lambda args, stale="refuse": finished(args, cut.get(args.stage)))
    assert main(argv) == 0
    assert "[all] CLIP stopped at its time limit, at step 600 of 1400. To train on, resume the stages one at a time" \
        in capsys.readouterr().out


def test_train_all_ends_by_saying_where_the_model_is_and_how_to_open_it(monkeypatch: pytest.MonkeyPatch,
                                                                        capsys: pytest.CaptureFixture,
                                                                        tmp_path: Path) -> None:  # fmt: skip
    """After 35 minutes of `--preset lesson` the last lines were four JSON summaries: nothing said how to see it."""
    import unclip.train

    out, run = tmp_path / "class emoji", tmp_path / "its runs"  # spaces: the commands must still paste
    monkeypatch.setattr(unclip.train, "train", lambda args, stale="refuse": finished(args))
    assert main(["train", "all", "--preset", "lesson", "--out", str(out), "--run-dir", str(run)]) == 0
    last = capsys.readouterr().out.splitlines()[-3:]
    assert last == [f"[all] the model is in '{out}', each stage's sample grids in '{run}'",
                    f"  open it in the app:   python app.py --model '{out}'",
                    f"  its report card:      python -m unclip eval --model '{out}'"]


@pytest.mark.parametrize("content", [b"garbage", b"", b"hello\n", b"e"])  # the last two: KeyError 101, IndexError
def test_train_refuses_a_run_dir_file_that_is_not_a_checkpoint(content: bytes, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture) -> None:  # fmt: skip
    run = tmp_path / "run"
    run.mkdir()
    (run / "prior.pt").write_bytes(content)
    argv = ["train", "prior", "--config", "random", "--steps", "1", "--batch", "2", "--out", str(tmp_path / "m"),
            "--run-dir", str(run)]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --run-dir: {run / 'prior.pt'} is not a prior checkpoint") and "--no-resume" in err
    assert "Traceback" not in err and "101" not in err


@pytest.mark.parametrize("verb", [["generate", "a cat"], ["train", "prior", "--config", "random"]])
def test_an_out_that_cannot_be_written_is_refused_before_any_work(verb: list[str], tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture) -> None:  # fmt: skip
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main([*verb, "--model" if verb[0] == "generate" else "--run-dir",
                 "tiny-random" if verb[0] == "generate" else str(tmp_path / "r"), "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err
    assert err == f"error: --out: '{blocker}' is a file, not a folder\n"
    assert not (tmp_path / "r").exists()


def test_generate_refuses_a_bad_device_and_a_damaged_model_dir(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from unclip.train.common import TrainArgs, load_or_create

    monkeypatch.setenv("UNCLIP_MODEL", "tiny-random")  # a good model from the env: not the one to blame
    assert main(["generate", "a cat", "--device", "bogus", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err == "error: --device must be cpu, cuda, cuda:N or mps, got 'bogus'\n"
    assert main(["generate", "a cat", "--device", "meta", "--out", str(tmp_path / "m")]) == 2  # torch knows it
    assert capsys.readouterr().err == "error: --device must be cpu, cuda, cuda:N or mps, got 'meta'\n"
    assert not (tmp_path / "m").exists()  # was a traceback at the first step, and an empty --out folder
    monkeypatch.delenv("UNCLIP_MODEL")
    model = tmp_path / "model"
    load_or_create(TrainArgs(stage="prior", out=str(model), config="random"))
    (model / "decoder" / "config.json").unlink()
    assert main(["generate", "a cat", "--model", str(model), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --model {model}: cannot load it") and "Traceback" not in err
    assert not list((tmp_path / "o").glob("*.png"))


@pytest.mark.parametrize(("argv", "message"), [
    (["generate", "a cat", "--compare", "--mode", "caption_only"], "--mode and --compare: choose one"),
    (["vary", "IMAGE", "--mode", "caption_only"], "--mode applies to inpaint and zoom-out with --condition prompt; "
                                                  "vary conditions on the image"),  # fmt: skip
    (["zoom-out", "IMAGE", "--mode", "text_embedding"], "zoom-out has --condition image"),
    (["inpaint", "IMAGE", "a cat", "--condition", "image", "--mode", "caption_only"], "inpaint has --condition image"),
])
def test_a_mode_that_would_change_nothing_is_refused(argv: list[str], message: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:  # fmt: skip
    """The mode was ignored (same pixels) but written into each PNG's settings, a false record of how it was made."""
    image = str(next((Path(__file__).parents[1] / "assets" / "examples").glob("*.png")))
    with pytest.raises(SystemExit) as exit_:
        main([a.replace("IMAGE", image) for a in argv] + ["--model", "tiny-random", "--out", str(tmp_path / "o")])
    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_small_refusals_name_where_the_value_came_from(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    assert main(["eval", "--model", "tiny-random", "--seed", "-1"]) == 2  # generate and the edit verbs refused it
    assert capsys.readouterr().err == "error: --seed must be from 0 to 4294967295, got -1\n"
    monkeypatch.setenv("UNCLIP_MODEL", "bogus")
    assert main(["generate", "a cat", "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.rstrip().endswith("got 'bogus' (from env UNCLIP_MODEL)")
    monkeypatch.delenv("UNCLIP_MODEL")
    assert main(["vary", str(tmp_path), "--model", "tiny-random", "--out", str(tmp_path / "o")]) == 2
    assert f"image is a folder, not an image file: {tmp_path.name}" in capsys.readouterr().err  # "file not found"
    assert main(["vary", "/dev/null", "--model", "tiny-random", "--out", str(tmp_path / "o")]) == 2
    assert "image is not a regular file: null" in capsys.readouterr().err  # it exists: "file not found" misled
    assert main(["vary", "", "--model", "tiny-random", "--out", str(tmp_path / "o")]) == 2  # the app's wording only
    assert capsys.readouterr().err.endswith("image is missing: upload an image (here: the IMAGE argument, a file's "
                                            "path)\n")  # fmt: skip
    image = str(EXAMPLES / "grass-sailboat.png")
    assert main(["inpaint", image, "--mask", "", "a cat", "--model", "tiny-random", "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.endswith("(here: --mask MASK, a file's path)\n")
    empty = {("tiny-random", ""): "--out is empty: give a folder (it is created if missing)",
             ("", str(tmp_path / "o")): "model is empty: give one of tiny-emoji, tiny-random, karlo, kandinsky-2.2 "
                                        "or a model directory"}  # both were read as the current folder
    for (model, out), message in empty.items():
        assert main(["generate", "a cat", "-n", "1", "--model", model, "--out", out]) == 2
        assert capsys.readouterr().err == f"error: {message}\n"
    assert not (tmp_path / "o").exists() and not list(Path.cwd().glob("prior_*.png"))


def test_train_makes_no_folder_when_the_other_one_cannot_be_written(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture) -> None:  # fmt: skip
    (tmp_path / "blocker").write_text("a file")
    argv = ["train", "prior", "--config", "random", "--out", str(tmp_path / "model"), "--run-dir",
            str(tmp_path / "blocker" / "run")]  # fmt: skip
    assert main(argv) == 2
    assert capsys.readouterr().err == f"error: --run-dir: '{tmp_path / 'blocker'}' is a file, not a folder\n"
    assert not (tmp_path / "model").exists()  # --out was made before --run-dir was looked at


@pytest.mark.parametrize(("argv", "hint"), [
    (["inpaint", "IMAGE", "a cat"],
     "(here: --mask MASK (white = repaint), or an IMAGE whose transparent pixels mark it)"),
    (["inpaint", "IMAGE", "--mask", "IMAGE"], "(here: a PROMPT argument, or --condition image)"),
    (["zoom-out", "IMAGE", "--condition", "prompt"], "(here: --prompt CAPTION, or --condition image (the default))"),
])
def test_inpaint_s_refusals_say_what_to_give_on_the_command_line(argv: list[str], hint: str, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture) -> None:  # fmt: skip
    """The library's messages speak of painting and uploading (the app's widgets); the CLI names its own flags."""
    image = str(EXAMPLES / "grass-sailboat.png")  # opaque: no transparent pixels to take as the mask
    assert main([a.replace("IMAGE", image) for a in argv] + ["--model", "tiny-random", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.rstrip().endswith(hint)


def test_train_help_says_which_flags_a_preset_sets(capsys: pytest.CaptureFixture) -> None:
    """Every flag said '(with all: the preset's)', also --out, --seed, --ema, which no preset sets."""
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    lines = " ".join(capsys.readouterr().out.split()).split(" --")
    help_of = {line.split()[0]: line for line in lines if line.split()}
    assert "the preset's" in help_of["steps"] and "the preset's" in help_of["time-limit"]
    assert not any("the preset's" in help_of[flag] for flag in ("out", "run-dir", "seed", "ema"))
    assert help_of["seed"].endswith("default: 0") and help_of["decoder-width"].endswith("default: 0.0")  # not None
    assert "default: runs/<--out's folder name> in the repository" in help_of["run-dir"]
    assert help_of["config"].startswith("config CONFIG default or random")  # the choices were not said (QA)
    assert "min-snr or v;" in help_of["weighting"] and "auto, cpu, cuda" in help_of["device"]


def test_generate_reproduces_any_stage_setting_the_app_records(tmp_path: Path) -> None:
    """The app and the API take 'prior candidates', and the PNGs record it; the CLI had no flag for it, so an image
    made with 3 could not be made again from the command line."""
    from dataclasses import replace

    import numpy as np
    from PIL import Image

    from unclip import load_backend
    from unclip.images import read_metadata

    argv = ["generate", "a cat", "-n", "1", "--seed", "4", "--model", "tiny-random", "--prior-candidates", "3",
            "--prior-steps", "2", "--decoder-steps", "2", "--upsampler-steps", "1", "--out", str(tmp_path)]
    assert main(argv) == 0
    png = tmp_path / "prior_00000004.png"
    assert read_metadata(png)["prior"]["candidates"] == 3
    backend = load_backend("tiny-random")
    s = backend.default_settings()
    s = replace(s, prior=replace(s.prior, steps=2, candidates=3), decoder=replace(s.decoder, steps=2),
                upsampler=replace(s.upsampler, steps=1))
    [image] = backend.generate("a cat", n=1, seed=4, settings=s)
    assert np.array_equal(np.asarray(Image.open(png).convert("RGB")), np.asarray(image.convert("RGB")))


def test_ctrl_c_ends_a_verb_in_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """Ctrl-C printed a KeyboardInterrupt traceback."""
    import unclip.cli

    def interrupted(argv: list[str]) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(unclip.cli, "generate_main", interrupted)
    assert main(["generate", "a cat"]) == 130
    assert capsys.readouterr().err == "\ninterrupted (Ctrl-C); files written so far are kept\n"


def test_generate_from_png_remakes_its_batch_and_flags_override(tmp_path: Path, capsys: pytest.CaptureFixture
                                                                ) -> None:  # fmt: skip
    import json

    import numpy as np
    from PIL import Image

    fast = ["--prior-steps", "1", "--decoder-steps", "1", "--upsampler-steps", "1"]
    assert main(["generate", "two dogs", "-n", "2", "--seed", "9", "--mode", "text_embedding",
                 "--prior-scheduler", "ddpm", "--model", "tiny-random", *fast, "--out", str(tmp_path / "a")]) == 0
    second = tmp_path / "a" / "text_embedding_00000010.png"
    capsys.readouterr()
    assert main(["generate", "--from-png", str(second), "--model", "tiny-random", "--out", str(tmp_path / "b")]) == 0
    assert "note: text_embedding_00000010.png is image 1 of a batch of 2 from seed 9" in capsys.readouterr().err
    for name in ("text_embedding_00000009.png", "text_embedding_00000010.png"):  # the same batch, the same pixels
        before, again = (np.asarray(Image.open(tmp_path / run / name)) for run in ("a", "b"))
        assert np.array_equal(before, again)
    assert main(["generate", "--from-png", str(second), "-n", "1", "--seed", "3", "--decoder-steps", "2",
                 "--model", "tiny-random", "--out", str(tmp_path / "c")]) == 0  # flags win over the PNG's
    [made] = (tmp_path / "c").glob("*.png")
    meta = json.loads(Image.open(made).info["parameters"])
    assert made.name == "text_embedding_00000003.png" and meta["decoder"]["steps"] == 2
    assert meta["prior"]["scheduler"] == "ddpm" and meta["prompt"] == "two dogs"


def test_generate_from_png_refuses_what_it_cannot_remake(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from PIL import Image

    Image.new("RGB", (16, 16)).save(tmp_path / "plain.png")
    assert main(["generate", "--from-png", str(tmp_path / "plain.png"), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.startswith("error: --from-png carries no Generate settings")
    assert main(["generate", "--from-png", str(tmp_path / "none.png"), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err == "error: --from-png: file not found: none.png\n"
    with pytest.raises(SystemExit) as exit_:
        main(["generate", "--out", str(tmp_path / "o")])
    assert exit_.value.code == 2 and "the prompt is required (or --from-png PNG" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("argv", [
    ["generate", "a cat", "-n", "1", "--decoder-steps", "1", "--prior-steps", "1", "--no-upsample"],
    ["vary", "IMAGE", "-n", "1", "--decoder-steps", "1", "--no-upsample"],
    ["eval", "--json"],
])
def test_threads_sets_torch_s_cpu_threads_for_the_sampling_verbs(argv: list[str], tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Only `train` took --threads: generate, the edit verbs and eval ran on every core (OMP_NUM_THREADS was the
    only way to hold them to fewer, as on a shared 2-core machine)."""
    import torch

    from unclip.eval import report

    calls: list[int] = []
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    monkeypatch.setattr(report, "evaluate", lambda backend, **kw: {"model": backend.name})
    out = ["--out", str(tmp_path)] if argv[0] != "eval" else []
    argv = [a.replace("IMAGE", str(EXAMPLES / "grass-sailboat.png")) for a in argv]
    assert main([*argv, "--model", "tiny-random", "--threads", "3", *out]) == 0
    assert calls == [3]
    calls.clear()
    assert main([*argv, "--model", "tiny-random", *out]) == 0  # 0 (the default): torch's own choice
    assert calls == []


@pytest.mark.parametrize("verb", [["generate", "a cat"], ["vary", "IMAGE"], ["eval"]])
@pytest.mark.parametrize("threads", ["-1", "100000"])
def test_threads_out_of_range_is_refused_by_name_before_any_work(verb: list[str], threads: str, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture) -> None:  # fmt: skip
    out = tmp_path / "out"
    verb = [a.replace("IMAGE", str(EXAMPLES / "grass-sailboat.png")) for a in verb]
    extra = ["--out", str(out)] if verb[0] != "eval" else []
    assert main([*verb, "--model", "tiny-random", "--threads", threads, *extra]) == 2
    assert capsys.readouterr().err == f"error: --threads must be 0 (torch's default) to 256, got {threads}\n"
    assert not out.exists()


@pytest.mark.parametrize("verb", ["generate", "train", "eval", "world", "vary", "inpaint", "zoom-out"])
def test_every_verbs_help_shows_the_command_that_runs_it(verb: str, capsys: pytest.CaptureFixture) -> None:
    """The project is not packaged (no `unclip` on PATH): usage lines say `python -m unclip VERB` (world's said
    `unclip world`)."""
    with pytest.raises(SystemExit) as exit_:
        main([verb, "--help"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: python -m unclip {verb} ")
