"""Mixed precision: `load_backend(precision=...)` runs the prior, decoder and upsampler under bf16 autocast
(the app's default on CPUs with AMX) while the weights and the sampler's arithmetic stay in fp32."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

import app
from unclip import UnCLIP, load_backend
from unclip import backend as backend_module
from unclip.backend import resolve_precision
from unclip.cli import main as cli_main
from unclip.images import read_metadata
from unclip.sampling import drain
from unclip.settings import DecoderSettings, GenerateSettings, PriorSettings, UpsamplerSettings

ROOT = Path(__file__).resolve().parents[1]
FAST = GenerateSettings(prior=PriorSettings(steps=2, candidates=2), decoder=DecoderSettings(steps=2, guidance=3.0),
                        upsampler=UpsamplerSettings(steps=2))
CPU, CUDA = torch.device("cpu"), torch.device("cuda")  # a device object needs no GPU


@pytest.fixture(scope="module")
def bf16() -> UnCLIP:
    return load_backend("tiny-random", device="cpu", precision="bf16")


@pytest.fixture(scope="module")
def fp32() -> UnCLIP:  # not the suite's `backend`: `UNCLIP_PRECISION=bf16 pytest` makes that one bf16
    return load_backend("tiny-random", device="cpu", precision="fp32")


def run(b: UnCLIP, seed: int = 3):
    return drain(b.generate_stream("a red apple left of a cat", 2, seed, settings=FAST))


def pixels(gen) -> np.ndarray:
    return np.stack([np.asarray(im, dtype=np.int16) for im in gen.images])


@pytest.mark.parametrize(("precision", "amx", "device", "expected"), [
    ("fp32", True, CPU, None), ("bf16", False, CPU, torch.bfloat16), ("bf16", False, CUDA, torch.bfloat16),
    ("auto", True, CPU, torch.bfloat16), ("auto", False, CPU, None), ("auto", True, CUDA, None),
])
def test_auto_is_bf16_only_on_a_cpu_with_amx(monkeypatch: Any, precision: str, amx: bool, device: torch.device,
                                             expected: torch.dtype | None) -> None:  # fmt: skip
    monkeypatch.setattr(backend_module, "has_amx_bf16", lambda: amx)
    assert resolve_precision(precision, device) is expected


@pytest.mark.parametrize("bad", ["fp16", "BF16", "", "float32"])
def test_an_unknown_precision_is_refused_by_name(bad: str) -> None:
    with pytest.raises(ValueError, match=r"precision \(env UNCLIP_PRECISION\) must be one of auto, fp32, bf16; got"):
        resolve_precision(bad, CPU)


@pytest.mark.parametrize("amx", [True, False])
def test_bf16_on_a_cpu_without_amx_says_it_is_slow(monkeypatch: Any, amx: bool) -> None:
    monkeypatch.setattr(backend_module, "has_amx_bf16", lambda: amx)
    notice = load_backend("tiny-random", device="cpu", precision="bf16").notice
    assert ("bf16 on a CPU without AMX is slower than fp32" in notice) is not amx
    assert "without AMX" not in load_backend("tiny-random", device="cpu", precision="fp32").notice


def test_the_environment_sets_the_default_and_a_bad_value_is_refused(monkeypatch: Any) -> None:
    monkeypatch.setenv("UNCLIP_PRECISION", "bf16")
    assert load_backend("tiny-random", device="cpu").precision == "bf16"
    assert load_backend("tiny-random", device="cpu", precision="fp32").precision == "fp32"  # the argument wins
    monkeypatch.setenv("UNCLIP_PRECISION", "half")
    with pytest.raises(ValueError, match="must be one of auto, fp32, bf16; got 'half'"):
        load_backend("tiny-random", device="cpu")


def test_the_denoisers_run_under_autocast_and_hand_the_sampler_fp32(bf16: UnCLIP, fp32: UnCLIP) -> None:
    """Every denoiser forward pass sees autocast on and returns bf16 inside; the weights, the latents between steps
    and every stage's output stay fp32. At fp32 autocast is never on."""
    for b, on in ((bf16, True), (fp32, False)):
        seen: dict[str, list[tuple[bool, torch.dtype]]] = {}

        def hook(name: str, seen: dict = seen):
            def record(mod: Any, args: Any, out: Any) -> None:
                first = out.predicted_image_embedding if name == "prior" else out.sample
                seen.setdefault(name, []).append((torch.is_autocast_enabled("cpu"), first.dtype))
            return record

        m = b.models
        handles = [net.register_forward_hook(hook(name))
                   for name, net in (("prior", m.prior), ("decoder", m.decoder), ("upsampler", m.upsampler))]
        try:
            gen = run(b)
        finally:
            for h in handles:
                h.remove()
        assert set(seen) == {"prior", "decoder", "upsampler"}
        want = (True, torch.bfloat16) if on else (False, torch.float32)
        assert all(call == want for calls in seen.values() for call in calls), seen
        assert next(m.decoder.parameters()).dtype == torch.float32 and m.dtype == torch.float32
        assert gen.low_res.dtype == gen.image_embeds.dtype == torch.float32
        assert not torch.is_autocast_enabled("cpu")  # nothing leaks out of a request


def test_bf16_same_seed_same_pixels_and_close_to_fp32(bf16: UnCLIP, fp32: UnCLIP) -> None:
    a, b = run(bf16), run(bf16)
    assert np.array_equal(pixels(a), pixels(b))
    full = run(fp32)
    assert bf16.precision == "bf16" and fp32.precision == "fp32"
    low_diff = (a.low_res - full.low_res).abs().mean().item()
    assert 0 < low_diff < 0.2  # rounding, not a different image (values in [-1, 1])
    emb_cos = torch.nn.functional.cosine_similarity(a.image_embeds, full.image_embeds).min().item()
    assert emb_cos > 0.9


def test_every_image_records_its_precision(bf16: UnCLIP, tmp_path: Path) -> None:
    """Pixels depend on the precision, so the PNG metadata says which: generate, edit and explorer images."""
    from unclip.images import save_png

    gen = run(bf16)
    assert read_metadata(save_png(gen.images[0], tmp_path / "g.png"))["precision"] == "bf16"
    vary = bf16.vary(gen.images[0], n=1, seed=0, settings=FAST)
    assert read_metadata(save_png(vary.images[0], tmp_path / "v.png"))["precision"] == "bf16"
    strip = bf16.interpolate("a cat", "a dog", steps=2, seed=0, settings=FAST)
    assert read_metadata(save_png(strip.images[0], tmp_path / "i.png"))["precision"] == "bf16"


def test_cli_generate_takes_precision(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    assert cli_main(["generate", "a cat", "-n", "1", "--model", "tiny-random", "--out", str(out), "--precision",
                     "bf16", "--prior-steps", "2", "--decoder-steps", "2", "--upsampler-steps", "1"]) == 0
    (png,) = out.glob("*.png")
    assert read_metadata(png)["precision"] == "bf16"
    with pytest.raises(SystemExit):  # argparse: "invalid choice", exit status 2
        cli_main(["generate", "a cat", "--model", "tiny-random", "--out", str(out), "--precision", "fp8"])
    assert "argument --precision: invalid choice: 'fp8'" in capsys.readouterr().err


def test_cli_edit_verbs_take_precision(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.delenv("UNCLIP_PRECISION", raising=False)
    Image.new("RGB", (64, 64), (200, 40, 40)).save(tmp_path / "in.png")
    fast = ["--model", "tiny-random", "--prior-steps", "2", "--decoder-steps", "2", "--upsampler-steps", "1"]
    for precision in ("bf16", "fp32"):
        out = tmp_path / precision
        assert cli_main(["vary", str(tmp_path / "in.png"), "-n", "1", "--out", str(out), "--precision", precision,
                         *fast]) == 0  # fmt: skip
        assert read_metadata(next(out.glob("*.png")))["precision"] == precision


def test_app_flag_environment_and_header(monkeypatch: Any, bf16: UnCLIP) -> None:
    monkeypatch.delenv("UNCLIP_PRECISION", raising=False)
    assert app.parse_args([]).precision == "auto"
    monkeypatch.setenv("UNCLIP_PRECISION", "bf16")
    assert app.parse_args([]).precision == "bf16"
    assert app.parse_args(["--precision", "fp32"]).precision == "fp32"
    blocks = app.build_demo(bf16)
    texts = [c["props"].get("value") or "" for c in blocks.config["components"] if c["type"] == "markdown"]
    assert any("Model: `tiny-random` (cpu, bf16)" in t for t in texts)


def test_app_refuses_a_bad_precision_with_one_line() -> None:
    env = {"UNCLIP_PRECISION": "fp64", "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "app.py", "--model", "tiny-random"], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1] == ("error: precision (env UNCLIP_PRECISION) must be one of auto, fp32, "
                                                 "bf16; got 'fp64'")
