"""The staged pipeline on tiny-random: shapes, ranges, determinism, batching, modes, validation (CPU, seconds)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import events_and_result

from unclip import Generation, InvalidInput, UnCLIP, load_backend
from unclip import pipeline as P
from unclip.analysis import stage_shapes, stage_similarities
from unclip.images import read_metadata, save_png
from unclip.sampling import drain
from unclip.settings import MODES, DecoderSettings, GenerateSettings, PriorSettings, UpsamplerSettings

PROMPT = "a red apple left of a cat"


@pytest.fixture(scope="module")
def fast(backend: UnCLIP) -> GenerateSettings:
    return GenerateSettings(
        prior=PriorSettings(steps=2, candidates=2),
        decoder=DecoderSettings(steps=2, guidance=3.0),
        upsampler=UpsamplerSettings(steps=2),
    )


def run(backend: UnCLIP, settings: GenerateSettings, n: int = 1, seed: int = 0, prompt: str = PROMPT,
        mode: str | None = None) -> Generation:  # fmt: skip
    return drain(backend.generate_stream(prompt, n, seed, mode=mode, settings=settings))


def generators(seed: int, n: int) -> list[torch.Generator]:
    """What the backend uses: image i draws all its noise from its own generator seeded seed + i."""
    return [torch.Generator("cpu").manual_seed(seed + i) for i in range(n)]


def pixels(gen: Generation) -> np.ndarray:
    return np.stack([np.asarray(im) for im in gen.images])


# -- each stage ------------------------------------------------------------------------------------------
def test_text_encoder_shapes(backend: UnCLIP) -> None:
    text = backend.encode_text([PROMPT, "a dog"])
    d, length = backend.models.embed_dim, backend.models.context_length
    assert length == 77
    assert text.tokens.shape == (2, length) and text.mask.shape == (2, length)
    assert text.embeds.shape == (2, d)
    assert text.states.shape[:2] == (2, length)
    assert torch.allclose(text.embeds.norm(dim=-1), torch.ones(2), atol=1e-5)  # unit sphere
    assert text.mask[0].sum() == len(backend.models.tokenizer.encode(PROMPT)) + 2  # words + start/end tokens
    assert text.truncated == (False, False)


def test_text_encoder_truncates_long_prompts(backend: UnCLIP) -> None:
    text = backend.encode_text(["cat " * 100])
    assert text.truncated == (True,)
    assert text.tokens.shape == (1, 77) and bool(text.mask.all())


def test_prior_decoder_upsampler_shapes_and_ranges(backend: UnCLIP, fast: GenerateSettings) -> None:
    models, gens = backend.models, generators(0, 2)
    text, empty = backend.encode_text([PROMPT] * 2), backend.empty_text()
    embeds = drain(P.sample_prior(models, text, empty, fast.prior, gens))
    assert embeds.shape == (2, models.embed_dim)
    assert torch.allclose(embeds.norm(dim=-1), torch.ones(2), atol=1e-4)
    low = drain(P.decode(models, embeds, text, empty, fast.decoder, gens))
    assert low.shape == (2, 3, 64, 64) and low.min() >= -1 and low.max() <= 1
    high = drain(P.upsample(models, low, fast.upsampler, gens))
    assert high.shape == (2, 3, 256, 256) and high.min() >= -1 and high.max() <= 1
    assert backend.encode_image(high).shape == (2, models.embed_dim)


def test_stream_reports_every_step_of_every_stage(backend: UnCLIP, fast: GenerateSettings) -> None:
    steps, result = events_and_result(backend.generate_stream(PROMPT, 2, 0, settings=fast))
    stages = [p.stage for p in steps]
    assert stages == ["prior"] * 2 + ["decoder"] * 2 + ["upsampler"] * 2
    assert [(p.step, p.total) for p in steps if p.stage == "decoder"] == [(1, 2), (2, 2)]
    assert all(p.preview is None for p in steps if p.stage == "prior")
    previews = [p.preview for p in steps if p.stage != "prior"]
    assert previews[0].shape == (2, 3, 64, 64) and previews[-1].shape == (2, 3, 256, 256)
    assert all(float(x.min()) >= -1 and float(x.max()) <= 1 for x in previews)
    assert isinstance(result, Generation)


def test_generation_contents(backend: UnCLIP, fast: GenerateSettings) -> None:
    gen = run(backend, fast, n=3, seed=11)
    d = backend.models.embed_dim
    assert [im.size for im in gen.images] == [(256, 256)] * 3 and gen.images[0].mode == "RGB"
    assert gen.seeds == [11, 12, 13]
    assert gen.low_res.shape == (3, 3, 64, 64)
    assert gen.text_embeds.shape == (d,) and gen.image_embeds.shape == (3, d) and gen.result_embeds.shape == (3, d)
    assert len(gen.clip_scores) == 3 and all(0 <= s <= 100 for s in gen.clip_scores)
    assert gen.warnings == []


def test_clip_score_is_100_times_the_cosine_floored_at_zero(backend: UnCLIP, fast: GenerateSettings) -> None:
    """CLIPScore with w = 100 (torchmetrics' convention), per image, whatever the embeddings' lengths."""
    gen = run(backend, fast, n=1, seed=0)
    text = torch.tensor([3.0, 4.0, 0.0])  # length 5
    images = torch.tensor([[6.0, 8.0, 0.0], [4.0, -3.0, 0.0], [0.0, -1.0, 0.0], [1.0, 1.0, 1.0]])
    scored = replace(gen, text_embeds=text, result_embeds=images, text_embeds_all=None)
    assert scored.clip_scores == [100.0, 0.0, 0.0, round(100 * 7 / (5 * 3**0.5), 2)]  # cos 1, 0, -0.8 (floored), 0.81
    per_caption = replace(scored, text_embeds_all=torch.stack([text, text, -text, text]))  # eval: one caption each
    assert per_caption.clip_scores == [100.0, 0.0, 80.0, round(100 * 7 / (5 * 3**0.5), 2)]


def test_upsampler_off_stops_at_64px(backend: UnCLIP, fast: GenerateSettings) -> None:
    settings = replace(fast, upsampler=replace(fast.upsampler, enabled=False))
    gen = run(backend, settings)
    assert gen.images[0].size == (64, 64)


# -- reproducibility -------------------------------------------------------------------------------------
def test_same_seed_same_pixels(backend: UnCLIP, fast: GenerateSettings) -> None:
    a, b = run(backend, fast, n=2, seed=5), run(backend, fast, n=2, seed=5)
    np.testing.assert_array_equal(pixels(a), pixels(b))
    c = run(backend, fast, n=2, seed=6)
    assert not np.array_equal(pixels(a), pixels(c))


def test_batch_equals_single_runs_with_seed_plus_i(backend: UnCLIP, fast: GenerateSettings) -> None:
    batch = run(backend, fast, n=3, seed=40)
    for i in range(3):
        single = run(backend, fast, n=1, seed=40 + i)
        torch.testing.assert_close(batch.image_embeds[i : i + 1], single.image_embeds, atol=1e-4, rtol=0)
        diff = (batch.low_res[i : i + 1] - single.low_res).abs()  # (1, 3, 64, 64); other seeds differ by ~1
        # Batched matmuls round differently (~1e-7 relative) and random weights amplify that over the steps in a
        # few pixels (seen: max 0.03). Same seed: mean |diff| ~1e-5; another seed: ~0.5.
        assert float(diff.mean()) < 1e-3, f"seed {40 + i}: mean {float(diff.mean())}"
        assert float(diff.max()) < 0.1, f"seed {40 + i}: max {float(diff.max())}"
        other = (batch.low_res[i : i + 1] - run(backend, fast, n=1, seed=90 + i).low_res).abs().mean()
        assert float(other) > 0.05, "another seed must give another image"


# -- the three conditioning modes (paper §5.1) ----------------------------------------------------------------
@pytest.fixture(scope="module")
def compared(backend: UnCLIP, fast: GenerateSettings) -> dict[str, Generation]:
    return backend.compare(PROMPT, n=2, seed=3, settings=fast)


def test_each_mode_gives_the_decoder_a_different_embedding(backend: UnCLIP, compared: dict[str, Generation]) -> None:
    results = compared
    assert list(results) == list(MODES)
    given = {m: r.image_embeds for m, r in results.items()}
    for a in MODES:
        assert results[a].images[0].size == (256, 256) and results[a].mode == a
        for b in MODES:
            if a != b:
                assert not torch.allclose(given[a], given[b], atol=1e-4), (a, b)
    text = results["prior"].text_embeds
    torch.testing.assert_close(given["text_embedding"], text.expand(2, -1))  # z_t fed as if it were z_i
    null = P.null_embeds(backend.models, 2)
    torch.testing.assert_close(given["caption_only"], null)  # the learned "no embedding" vector


@pytest.mark.parametrize("scheduler,candidates", [("ddim", 2), ("ddpm", 1), ("ddpm", 3), ("unclip", 2), ("dpm++", 1)])
def test_skip_prior_draws_exactly_what_the_prior_draws(backend: UnCLIP, scheduler: str, candidates: int) -> None:
    s = PriorSettings(steps=3, candidates=candidates, scheduler=scheduler)
    ran, skipped = generators(5, 2), generators(5, 2)
    text = backend.encode_text([PROMPT] * 2)
    drain(P.sample_prior(backend.models, text, backend.empty_text(), s, ran))
    P.skip_prior(backend.models, s, skipped)
    for a, b, fresh in zip(ran, skipped, generators(5, 2), strict=True):
        assert torch.equal(a.get_state(), b.get_state())
        assert not torch.equal(a.get_state(), fresh.get_state())  # it did draw


def test_every_mode_decodes_from_the_same_noise(backend: UnCLIP, fast: GenerateSettings,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the embedding differs between the ablation modes: the decoder's starting noise is the same."""
    starts: dict[int, list[torch.Tensor]] = {}
    real = P.randn

    def spy(shape, gens, device, dtype):
        x = real(shape, gens, device, dtype)
        starts.setdefault(len(shape), []).append(x)
        return x

    monkeypatch.setattr("unclip.pipeline.randn", spy)
    backend.compare(PROMPT, n=2, seed=3, settings=fast)
    decoder_noise = [x for x in starts[3] if x.shape[-1] == backend.models.low_res_size]
    assert len(decoder_noise) == 3
    for x in decoder_noise[1:]:
        torch.testing.assert_close(x, decoder_noise[0], atol=0, rtol=0)


def test_stage_similarities(compared: dict[str, Generation]) -> None:
    sims = {m: stage_similarities(r) for m, r in compared.items()}
    for s in sims.values():
        assert s["seed"] == [3, 4]
        for key in ("text_vs_input", "input_vs_result", "text_vs_result"):
            assert len(s[key]) == 2 and all(-1.0 <= v <= 1.0 for v in s[key])
    assert sims["text_embedding"]["text_vs_input"] == [1.0, 1.0]
    assert sims["prior"]["text_vs_input"] != [1.0, 1.0]


def test_stage_shapes(backend: UnCLIP) -> None:
    assert stage_shapes(backend) == {"tokens": 77, "embed_dim": backend.models.embed_dim, "low_res": 64,
                                     "high_res": 256}  # fmt: skip


def test_decode_starts_from_given_noise_and_refuses_noise_of_another_shape(backend: UnCLIP,
                                                                          fast: GenerateSettings) -> None:  # fmt: skip
    """decode(noise=) replaces the generators' starting draw (still made, so what follows gets the same noise)."""
    m = backend.models
    text, z = backend.encode_text([PROMPT]), torch.zeros(1, m.embed_dim)
    gens = generators(3, 1)
    own = torch.randn((1, 3, 64, 64), generator=torch.Generator().manual_seed(3))
    given = drain(P.decode(m, z, text, backend.empty_text(), fast.decoder, generators(9, 1), noise=own))
    seeded = drain(P.decode(m, z, text, backend.empty_text(), fast.decoder, gens))
    torch.testing.assert_close(given, seeded)  # seed 3's own noise, handed in: the same image
    with pytest.raises(ValueError, match=r"decoder noise must have shape \(1, 3, 64, 64\), got \(1, 3, 32, 32\)"):
        drain(P.decode(m, z, text, backend.empty_text(), fast.decoder, gens, noise=torch.zeros(1, 3, 32, 32)))


# -- metadata ------------------------------------------------------------------------------------------------
def test_png_keeps_settings_metadata(backend: UnCLIP, fast: GenerateSettings, tmp_path: Path) -> None:
    gen = run(backend, fast, n=2, seed=9)
    path = save_png(gen.images[1], tmp_path / "x.png")
    meta = read_metadata(path)
    assert meta["prompt"] == PROMPT and meta["seed"] == 10 and meta["model"] == "tiny-random"
    assert meta["mode"] == "prior" and meta["decoder"]["steps"] == 2 and meta["prior"]["candidates"] == 2
    # the seed alone gives the image up to rounding, which bf16 can grow into another picture; the batch it came
    # from gives the very pixels
    assert meta["batch"] == {"size": 2, "index": 1, "first_seed": 9}
    again = run(backend, fast, n=meta["batch"]["size"], seed=meta["batch"]["first_seed"])
    np.testing.assert_array_equal(pixels(again)[meta["batch"]["index"]], pixels(gen)[1])


def test_long_prompt_warns(backend: UnCLIP, fast: GenerateSettings) -> None:
    gen = run(backend, fast, prompt="a red apple left of a cat " * 20)
    assert len(gen.images) == 1
    assert any("longer than 77 tokens" in w for w in gen.warnings)


# -- validation: every bad value is refused with a message naming the field -------------------------------
BAD_SETTINGS = [
    ({"prior": PriorSettings(steps=0)}, "prior steps must be a whole number between 1 and 200, got 0"),
    ({"decoder": DecoderSettings(steps=201)}, "decoder steps"),
    ({"decoder": DecoderSettings(steps="abc")}, "decoder steps must be a number, got 'abc'"),
    ({"decoder": DecoderSettings(guidance=float("nan"))}, "decoder guidance must be a finite number"),
    ({"prior": PriorSettings(guidance=-0.5)}, "prior guidance must be between 0 and 30, got -0.5"),
    ({"prior": PriorSettings(candidates=9)}, "prior candidates"),
    ({"upsampler": UpsamplerSettings(scheduler="euler")}, "upsampler scheduler must be one of"),
    ({"mode": "no_prior"}, "mode must be one of prior, text_embedding, caption_only"),
    ({"prior": PriorSettings(steps=1, scheduler="unclip")}, "prior steps must be at least 2 with the 'unclip'"),
    ({"upsampler": UpsamplerSettings(enabled="false")}, "upsampler must be true or false, got 'false'"),  # truthy
    ({"upsampler": UpsamplerSettings(enabled=0)}, "upsampler must be true or false, got 0"),
]


@pytest.mark.parametrize(("change", "message"), BAD_SETTINGS, ids=[m.split()[0] + str(i) for i, (_, m)
                                                                    in enumerate(BAD_SETTINGS)])  # fmt: skip
def test_bad_settings_name_the_field(backend: UnCLIP, change: dict, message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(")):
        drain(backend.generate_stream(PROMPT, 1, 0, settings=replace(GenerateSettings(), **change)))


def test_an_unknown_scheduler_is_refused_with_the_stages_own_list(backend: UnCLIP) -> None:
    """The v-prediction decoder cannot use 'unclip': the list offers only what it can use, and asking for
    'unclip' anyway says why."""
    assert "unclip" not in backend.stage_schedulers("decoder")
    with pytest.raises(InvalidInput, match=r"decoder scheduler must be one of ddim, dpm\+\+, ddpm; got 'euler'"):
        backend.validate(replace(GenerateSettings(), decoder=DecoderSettings(scheduler="euler")))
    with pytest.raises(InvalidInput, match="decoder scheduler: the 'unclip' scheduler reads epsilon or x0"):
        backend.validate(replace(GenerateSettings(), decoder=DecoderSettings(scheduler="unclip")))


def test_a_switched_off_upsamplers_settings_do_not_block_the_run(backend: UnCLIP) -> None:
    off = UpsamplerSettings(steps=1, scheduler="unclip", enabled=False)  # would be refused if it ran
    with pytest.raises(InvalidInput, match="upsampler steps must be at least 2 with the 'unclip'"):
        backend.validate(replace(GenerateSettings(), upsampler=replace(off, enabled=True)))
    gen = run(backend, replace(GenerateSettings(prior=PriorSettings(steps=2), decoder=DecoderSettings(steps=2)),
                               upsampler=off))
    assert gen.images[0].size == (64, 64)  # the decoder's own size: the upsampler did not run


def test_settings_of_the_wrong_kind_are_refused(backend: UnCLIP) -> None:
    with pytest.raises(InvalidInput, match=r"settings must be a GenerateSettings \(unclip.settings\), got dict"):
        backend.generate(PROMPT, 1, 0, settings={"mode": "prior"})
    good = backend.default_settings()
    for stage, bad in (("prior", "x"), ("decoder", None), ("upsampler", good.prior)):  # was AttributeError 'steps'
        kind = type(getattr(good, stage)).__name__
        with pytest.raises(InvalidInput, match=rf"^{stage} settings must be a {kind}, got {type(bad).__name__}$"):
            backend.generate(PROMPT, 1, 0, settings=replace(good, **{stage: bad}))


def test_encode_text_takes_a_non_empty_list_of_captions(backend: UnCLIP) -> None:
    assert backend.encode_text(("", PROMPT)).embeds.shape == (2, backend.models.embed_dim)  # "": unconditional
    for bad, what in (([], "an empty list"), ("a cat", "str"), (None, "NoneType")):
        with pytest.raises(InvalidInput, match=rf"^prompts must be a non-empty list of captions .+, got {what}$"):
            backend.encode_text(bad)  # [] was torch's "max(): Expected reduction dim"
    with pytest.raises(InvalidInput, match=r"^prompts\[1\] must be a caption \(a string\), got int$"):
        backend.encode_text([PROMPT, 3])


@pytest.mark.parametrize(
    ("prompt", "n", "seed", "message"),
    [
        ("", 1, 0, "prompt is empty"),
        ("   ", 1, 0, "prompt is empty"),
        ("\u200b\u200b \u2060\n", 1, 0, "prompt is empty"),  # zero-width spaces and a word joiner: nothing to see
        (None, 1, 0, "prompt must be text"),
        (PROMPT, 0, 0, "n must be a whole number between 1 and 8, got 0"),
        (PROMPT, 9, 0, "n must be a whole number between 1 and 8, got 9"),
        (PROMPT, "two", 0, "n must be a number"),
        (PROMPT, 1, -1, "seed must be a whole number between 0 and"),
        (PROMPT, 1, 1.5, "seed must be a whole number"),
        (PROMPT, 1, None, "seed is empty: enter a whole number between 0 and 4294967295"),
        (PROMPT, " ", 0, "n is empty: enter a whole number between 1 and 8"),
    ],
)
def test_bad_requests_name_the_field(backend: UnCLIP, prompt: object, n: object, seed: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        backend.check(prompt, n, seed, None)


def test_prompts_of_emoji_or_other_scripts_are_not_empty(backend: UnCLIP) -> None:
    for prompt in ("🐱", "кот над пиццей", "猫", "?"):
        backend.check(prompt, 1, 0, None)


def test_seeds_wrap_past_the_largest_so_every_image_can_be_typed_back(backend: UnCLIP,
                                                                        fast: GenerateSettings) -> None:
    from unclip.settings import LIMITS, image_seeds

    top = LIMITS["seed"][1]
    assert image_seeds(top - 1, 3) == [top - 1, top, 0] and image_seeds(5, 2) == [5, 6]
    gen = run(backend, fast, n=2, seed=top)
    assert gen.seeds == [top, 0]
    again = run(backend, fast, n=1, seed=0)  # image 2's seed, typed back
    assert float((gen.low_res[1:] - again.low_res).abs().mean()) < 1e-3


def test_an_untrained_residual_upsampler_is_exactly_bicubic() -> None:
    """The upsampler predicts x0 = bicubic + residual with a zero-initialised output layer (config.UpsamplerConfig)."""
    import torch.nn.functional as F

    from unclip.families import tiny
    from unclip.sampling import drain
    from unclip.settings import UpsamplerSettings

    models = tiny.build_random()
    assert models.upsampler_residual and models.scheduler_configs["upsampler"]["prediction_type"] == "sample"
    low = torch.rand(2, 3, 16, 16) * 2 - 1
    gens = [torch.Generator().manual_seed(i) for i in range(2)]
    out = drain(P.upsample(models, low, UpsamplerSettings(steps=3, scheduler="ddim"), gens))
    factor = models.upsample_factor
    # the bicubic the trainer feeds it (unclip.train.stages): not antialiased, which is another kernel upscaling too
    bicubic = F.interpolate(low, scale_factor=factor, mode="bicubic", antialias=False, align_corners=False).clamp(-1, 1)
    torch.testing.assert_close(out, bicubic, atol=1e-5, rtol=0)
    antialiased = F.interpolate(low, scale_factor=factor, mode="bicubic", antialias=True, align_corners=False)
    assert float((antialiased.clamp(-1, 1) - bicubic).abs().max()) > 0.01


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_weights_run_on_a_cpu(dtype: torch.dtype, fast: GenerateSettings) -> None:
    """torch has no half-precision CPU kernel for an antialiased resize (CLIP's preprocessing, Karlo's bicubic):
    those resizes run in float32. fp16 weights run with fp32 arithmetic only (below)."""
    precision = "fp32" if dtype == torch.float16 else None
    backend = load_backend("tiny-random", device="cpu", dtype=dtype, precision=precision)
    gen = run(backend, fast)
    assert gen.images[0].size == (backend.models.decoder.config.sample_size * backend.models.upsample_factor,) * 2
    embeds = backend.encode_image(torch.zeros(1, 3, 256, 256, dtype=dtype))  # CLIP resizes 256 px to its size
    assert embeds.shape == (1, backend.models.embed_dim) and bool(torch.isfinite(embeds).all())
    karlo_like = replace(backend.models, bicubic_antialias=True)
    up = P.upsampler_condition(karlo_like, torch.zeros(1, 3, 8, 8, dtype=dtype), (32, 32))
    assert up.dtype == dtype and up.shape == (1, 3, 32, 32)


def test_load_backend_refuses_what_would_crash_later_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """fp16 weights under bf16 autocast on a CPU crashed in layer_norm at the first generate; xpu and hpu devices
    crashed inside torch, and meta loaded and then failed at the first generate (Python API QA)."""
    import unclip.backend as backend_module

    with pytest.raises(ValueError, match=r"^dtype torch.float16 on cpu runs only with precision fp32"):
        load_backend("tiny-random", device="cpu", dtype=torch.float16, precision="bf16")
    monkeypatch.setattr(backend_module, "has_amx_bf16", lambda: True)  # 'auto' on an AMX CPU: bf16, but not for fp16
    assert load_backend("tiny-random", device="cpu", dtype=torch.float16, precision="auto").models.compute_dtype is None
    assert load_backend("tiny-random", device="cpu", precision="auto").models.compute_dtype == torch.bfloat16
    with pytest.raises(ValueError, match=r"^dtype must be torch.float32, torch.float16 or torch.bfloat16, got torch.i"):
        load_backend("tiny-random", device="cpu", dtype=torch.int8)
    for device in ("xpu", "meta", "hpu", torch.device("meta")):
        with pytest.raises(ValueError, match=r"^device must be cpu, cuda, cuda:N or mps, got '(xpu|meta|hpu)'$"):
            load_backend("tiny-random", device=device)
    if not torch.cuda.is_available():  # the name as given, not torch.device's repr
        with pytest.raises(ValueError, match=r"^device 'cuda:1': this machine has no CUDA device; use cpu$"):
            load_backend("tiny-random", device="cuda:1")
    with monkeypatch.context() as m:  # a GPU index past the last: said before any weights move
        m.setattr(torch.cuda, "is_available", lambda: True)
        m.setattr(torch.cuda, "device_count", lambda: 2)
        with pytest.raises(ValueError, match=r"^device 'cuda:2': this machine has 2 CUDA devices, cuda:0 to cuda:1$"):
            load_backend("tiny-random", device="cuda:2")
    with monkeypatch.context() as m:
        m.setattr(torch.backends.mps, "is_available", lambda: True)
        with pytest.raises(ValueError, match=r"^device 'mps:1': MPS has one device, mps or mps:0$"):
            load_backend("tiny-random", device="mps:1")
    for bad in (None, 3):
        with pytest.raises(ValueError, match=r"^model must be a name \(tiny-emoji, .*\) or a model directory, got"):
            load_backend(bad)  # type: ignore[arg-type]


def test_load_backend_takes_a_path_and_generate_warns_what_it_cuts(tmp_path: Path, fast: GenerateSettings) -> None:
    from unclip.train.common import TrainArgs, load_or_create

    load_or_create(TrainArgs(stage="prior", out=str(tmp_path / "model"), config="random"))
    backend = load_backend(tmp_path / "model", device="cpu")  # a pathlib.Path: was AttributeError 'strip'
    with pytest.warns(UserWarning, match="token"):  # only generate_stream's Generation said so
        images = backend.generate("a cat " * 60, n=1, settings=fast)
    assert len(images) == 1


def test_a_v_prediction_decoder_refuses_the_unclip_scheduler_by_field(backend: UnCLIP):
    assert backend.models.scheduler_configs["decoder"]["prediction_type"] == "v_prediction"
    s = backend.default_settings()
    with pytest.raises(InvalidInput, match="decoder scheduler: the 'unclip' scheduler reads epsilon or x0"):
        backend.validate(replace(s, decoder=replace(s.decoder, scheduler="unclip")))
    backend.validate(replace(s, prior=replace(s.prior, scheduler="unclip")))  # the x0 prior may use it


def test_on_cpu_the_unets_run_channels_last_for_speed_with_the_same_pixels(fast: GenerateSettings) -> None:
    from unclip import load_backend

    b = load_backend("tiny-random", device="cpu", precision="fp32")  # bf16 rounds more than the layout does
    m = b.models
    for net in (m.decoder, m.upsampler):
        assert net.conv_in.weight.is_contiguous(memory_format=torch.channels_last)
    nhwc = pixels(run(b, fast, n=2, seed=5)).astype(int)
    m.channels_last(False)
    assert not m.decoder.conv_in.weight.is_contiguous(memory_format=torch.channels_last)
    nchw = pixels(run(b, fast, n=2, seed=5)).astype(int)
    assert np.abs(nhwc - nchw).max() <= 1 and (nhwc != nchw).mean() < 1e-2  # rounding only
    m.channels_last()
    assert np.array_equal(nhwc, pixels(run(b, fast, n=2, seed=5)))
