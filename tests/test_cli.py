"""`python -m unclip ...` error paths: bad input is one `error:` line on stderr and exit code 2, never a traceback,
and nothing is written. (The verbs' happy paths are tested beside their libraries: test_edit, test_eval, test_world.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from unclip.cli import main

VERBS = "eval, generate, inpaint, train, vary, world, zoom-out"


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
    assert not list(out.glob("*.png"))


def test_eval_refuses_too_few_captions_before_loading_anything(capsys: pytest.CaptureFixture) -> None:
    assert main(["eval", "--model", "no-such-model", "--n", "1"]) == 2  # the --n check comes first
    assert capsys.readouterr().err == ("error: --n must be at least 2 (a Fréchet distance needs two images per "
                                       "set), got 1\n")
