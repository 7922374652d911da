"""Karlo and Kandinsky 2.2 through the same backend, with no network: tiny random components saved in each
family's exact hub layout (unclip.families.fake_hub), loaded by the family loaders, run through every backend
method; plus the offline fast-fail and the equivalence with diffusers' own UnCLIPPipeline."""

from __future__ import annotations

import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import events_and_result
from PIL import Image
from torch import Tensor

from unclip import InvalidInput, UnCLIP, load_backend
from unclip.families import ModelUnavailable, fake_hub, kandinsky, karlo, tiny
from unclip.sampling import drain, make_scheduler
from unclip.settings import GenerateSettings

SMALL = 64  # Kandinsky decodes to this many pixels in tests (512 in use)


def quick(backend: UnCLIP, scheduler: str = "ddim") -> GenerateSettings:
    s = backend.default_settings()
    return replace(s, prior=replace(s.prior, steps=3, scheduler=scheduler),
                   decoder=replace(s.decoder, steps=3, scheduler=scheduler),
                   upsampler=replace(s.upsampler, steps=2, scheduler=scheduler))


@pytest.fixture(scope="module")
def hub_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hub")
    fake_hub.save_karlo(root, fake_hub.karlo_components("tiny"))
    fake_hub.save_kandinsky(root, fake_hub.kandinsky_components())
    return root


@pytest.fixture(scope="module")
def karlo_backend(hub_root: Path) -> UnCLIP:
    return load_backend(str(hub_root / fake_hub.KARLO_DIR), device="cpu")


@pytest.fixture(scope="module")
def kandinsky_backend(hub_root: Path) -> UnCLIP:
    backend = load_backend(str(hub_root), device="cpu")
    backend.models.output_size = SMALL
    return backend


def pixels(images: list[Image.Image]) -> np.ndarray:
    return np.stack([np.asarray(im.convert("RGB")) for im in images])


@pytest.mark.parametrize("build", [lambda: tiny.build_components(tiny.TinyConfig.random(), seed=3),
                                   lambda: fake_hub.karlo_components("tiny", seed=3),
                                   lambda: fake_hub.kandinsky_components(seed=3)],
                         ids=["tiny", "karlo", "kandinsky"])
def test_random_components_are_seeded_without_touching_the_callers_rng(build: Any) -> None:
    torch.manual_seed(123)
    expected = torch.rand(4)
    torch.manual_seed(123)
    first = build()
    assert torch.equal(torch.rand(4), expected)  # the caller's stream goes on as if nothing had been built
    second = build()
    for name, module in first.items():
        if isinstance(module, torch.nn.Module):
            for (key, a), b in zip(module.state_dict().items(), second[name].state_dict().values(), strict=True):
                assert torch.equal(a, b), f"{name}.{key}: same seed, other weights"


# -- karlo ------------------------------------------------------------------------------------------------
def test_karlo_layout_loads_every_part_with_its_library(karlo_backend: UnCLIP) -> None:
    m = karlo_backend.models
    assert m.family == "karlo" and m.hf_clip and not m.normalize_embeddings and not m.clamp_bicubic
    assert type(m.clip.text_encoder).__name__ == "CLIPTextModelWithProjection"
    assert type(m.clip.image_encoder).__name__ == "CLIPVisionModelWithProjection"
    assert m.upsampler_last is not None and m.upsampler_last is not m.upsampler
    assert (m.context_length, m.embed_dim, m.low_res_size, m.upsample_factor) == (77, 32, 16, 4)
    assert karlo_backend.modes == ("prior", "text_embedding", "caption_only") and not karlo_backend.unavailable
    d = karlo_backend.default_settings()  # Karlo's own defaults: 25/25/7 steps, guidance 4 and 8
    assert (d.prior.steps, d.decoder.steps, d.upsampler.steps) == (25, 25, 7)
    assert (d.prior.guidance, d.decoder.guidance, d.decoder.scheduler) == (4.0, 8.0, "unclip")


def test_karlo_gives_the_stock_unclip_pipelines_pixels_within_a_level(karlo_backend: UnCLIP, monkeypatch: Any) -> None:
    """Our staged loop over Karlo's components == diffusers' UnCLIPPipeline on the same components, seeds and
    UnCLIPScheduler (one prior candidate, as Karlo), in fp32 as the stock pipeline: within one 8-bit level on a few
    pixels, where the learned null embedding goes through text_proj in a batch of its own, not with the caption's
    (rounding; exact while the fake hub's null embedding was all zeros, which hid whether it was used at all)."""
    monkeypatch.setattr(karlo_backend.models, "compute_dtype", None)
    prompts, seeds = ["a red cat", "two dogs"], [3, 7]
    s = quick(karlo_backend, "unclip")
    ours = pixels(drain(karlo_backend.run_stream(prompts, seeds, s)).images)
    pipe = karlo.stock_pipeline(karlo_backend.models)
    stock = pipe(prompts, prior_num_inference_steps=3, decoder_num_inference_steps=3, super_res_num_inference_steps=2,
                 generator=[torch.Generator("cpu").manual_seed(x) for x in seeds], prior_guidance_scale=4.0,
                 decoder_guidance_scale=8.0, output_type="np").images
    assert ours.shape == (2, 64, 64, 3)
    diff = np.abs(ours.astype(int) - (stock * 255).round().astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3  # measured: 1 level on 0.004 % of the values


def test_karlo_variations_give_the_stock_image_variation_pipelines_pixels_within_a_level(
        karlo_backend: UnCLIP, hub_root: Path, monkeypatch: Any) -> None:
    """vary == diffusers' UnCLIPImageVariationPipeline (the image through the checkpoint's CLIPImageProcessor, the
    empty caption, decoder guidance, both super-res UNets), within one 8-bit level; and the embedding CLIP is given
    is the processor's view of the upload at full resolution, with the upsampler off too (not a 16 px thumbnail)."""
    from diffusers import UnCLIPImageVariationPipeline, UnCLIPScheduler
    from transformers import CLIPImageProcessor

    from unclip.edit_methods import with_upsampler

    monkeypatch.setattr(karlo_backend.models, "compute_dtype", None)
    m = karlo_backend.models
    pipe = UnCLIPImageVariationPipeline(
        decoder=m.decoder, text_encoder=m.clip.text_encoder, tokenizer=m.clip.tokenizer, text_proj=m.text_proj,
        feature_extractor=CLIPImageProcessor.from_pretrained(hub_root / fake_hub.KARLO_IMAGE_DIR / "feature_extractor"),
        image_encoder=m.clip.image_encoder, super_res_first=m.upsampler, super_res_last=m.upsampler_last,
        decoder_scheduler=UnCLIPScheduler.from_config(m.scheduler_configs["decoder"]),
        super_res_scheduler=UnCLIPScheduler.from_config(m.scheduler_configs["upsampler"]))
    pipe.set_progress_bar_config(disable=True)
    cells = np.random.default_rng(0).integers(0, 256, (9, 12, 3), dtype=np.uint8)
    image = Image.fromarray(cells).resize((120, 90), Image.Resampling.BICUBIC)  # not the working size, not square
    s = karlo_backend.default_settings()
    s = replace(s, decoder=replace(s.decoder, steps=3), upsampler=replace(s.upsampler, steps=2))
    ours = karlo_backend.vary(image, n=1, seed=5, settings=s)
    stock = pipe(image, decoder_num_inference_steps=3, super_res_num_inference_steps=2, decoder_guidance_scale=8.0,
                 generator=[torch.Generator("cpu").manual_seed(5)], output_type="np").images
    # within one level: diffusers runs both guidance halves through text_proj in one batch (last-bit rounding)
    assert np.abs(pixels(ours.images).astype(int) - (stock * 255).round().astype(int)).max() <= 1
    expected = pipe._encode_image(image, torch.device("cpu"), 1)[0]
    off = karlo_backend.vary(image, n=1, seed=5, settings=with_upsampler(s, False))
    assert torch.equal(off.source_embeds, expected) and torch.equal(off.image_embeds[0], expected)


def test_a_long_strip_reaches_clip_s_image_processor_as_its_centre(karlo_backend: UnCLIP, monkeypatch: Any) -> None:
    """The checkpoint's processor resizes the whole picture before its centre crop: a 16 × 200,000 strip (a 9 KB
    PNG, within the upload limits) took 5.5 GB and 8 s (review). It gets the centre, at most twice as long as it is
    wide, which holds all the crop keeps: a 3:1 picture embeds as the whole one does, up to resampling."""
    m = karlo_backend.models
    processor, seen = m.clip.processor, []
    monkeypatch.setattr(m.clip, "processor", lambda images, **kw: seen.append(images.size) or processor(images, **kw))
    strip = Image.new("RGB", (200_000, 16), (200, 30, 30))
    assert karlo_backend.encode_picture(strip, strip).shape == (1, m.embed_dim) and seen == [(32, 16)]
    cells = np.random.default_rng(2).integers(0, 256, (4, 12, 3), dtype=np.uint8)
    wide = Image.fromarray(cells).resize((96, 32), Image.Resampling.BICUBIC)
    ours = karlo_backend.encode_picture(wide, wide)[0]
    whole = m.clip.encode_image(processor(wide, return_tensors="pt").pixel_values)[0]
    assert seen[-1] == (64, 32) and float((ours - whole).norm() / whole.norm()) < 0.02


def test_karlo_runs_every_backend_method(karlo_backend: UnCLIP) -> None:
    b, s = karlo_backend, quick(karlo_backend)
    images = b.generate("a cat", n=2, seed=0, settings=s)
    assert [im.size for im in images] == [(64, 64)] * 2
    assert np.array_equal(pixels(images), pixels(b.generate("a cat", n=2, seed=0, settings=s)))  # same seed
    assert set(b.compare("a cat", n=1, seed=0, settings=s)) == {"prior", "text_embedding", "caption_only"}
    vary = b.vary(images[0], n=2, seed=1, strength=0.6, settings=s)
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (16, 16, 48, 48))
    inpaint = b.inpaint(images[0], mask, prompt="a dog", seed=1, feather=0, settings=s)
    outside = np.asarray(mask) == 0
    assert np.array_equal(pixels(inpaint.images)[0][outside], np.asarray(images[0])[outside])  # untouched
    zoom = b.zoom_out(images[0], factor=2.0, seed=1, settings=s)
    strip = b.interpolate("a cat", "a dog", steps=3, seed=0, use_prior=False, settings=s)
    diff = b.text_diff(images[0], "a cat", "a dog", steps=2, settings=s)
    assert [len(vary.images), len(inpaint.images), len(zoom.images), len(strip.images), len(diff.images)] == \
        [2, 1, 1, 3, 2]


@pytest.mark.parametrize("family", ["karlo", "kandinsky"])
def test_a_caption_that_just_fits_clip_s_context_gets_no_warning(family: str, request: pytest.FixtureRequest) -> None:
    """The explorer counted transformers' tokens as open_clip's (+2 for start and end, which transformers' `encode`
    already has): a caption of 76 tokens read as 78 > 77, a false 'longer than 77 tokens' warning."""
    from unclip.explore import long_captions

    b = request.getfixturevalue(f"{family}_backend")
    length, ids = b.models.context_length, b.models.clip.tokenizer
    words = ["cat"]
    while len(ids(" ".join(words)).input_ids) < length:
        words.append("cat")
    fits, over = " ".join(words), " ".join([*words, "cat"])
    assert len(ids(fits).input_ids) == length  # start, cats, end: every token read
    assert long_captions(b, {"start": fits}) == []
    assert b.encode_text([fits]).truncated == (False,)
    assert long_captions(b, {"start": over}) == [f"start is longer than {length} tokens; CLIP read only the first part"]


def test_offload_hooks_keep_the_pixels(hub_root: Path) -> None:
    """Model offload (--offload) only moves weights: the same seed gives the same pixels. (On CPU the move is
    CPU -> CPU; the GPU case runs the same hooks.)"""
    from unclip.backend import offload_to

    b = load_backend(str(hub_root / fake_hub.KARLO_DIR), device="cpu")
    s = quick(b)
    before = pixels(b.generate("a cat", n=2, seed=5, settings=s))
    offload_to(b.models, torch.device("cpu"))
    assert b.models.device == torch.device("cpu") == b.models.clip.device
    assert np.array_equal(pixels(b.generate("a cat", n=2, seed=5, settings=s)), before)
    assert b.vary(Image.fromarray(before[0]), n=1, settings=s).images[0].size == (64, 64)


@pytest.mark.parametrize("family", ["karlo", "kandinsky"])
def test_hub_unclip_schedulers_keep_the_cosine_schedule_under_every_sampler(family: str,
                                                                           request: pytest.FixtureRequest) -> None:
    """Karlo's saved UnCLIPScheduler configs (and Kandinsky's prior's) name no beta_schedule; DDIM, DPM-Solver++
    and DDPM default to the linear one, which would ask the model about other noise levels (inversion included)."""
    models = request.getfixturevalue(f"{family}_backend").models
    stages = ("prior", "decoder", "upsampler") if family == "karlo" else ("prior",)
    for stage in stages:
        config = models.scheduler_configs[stage]
        cosine = make_scheduler("unclip", config).alphas_cumprod
        assert 0.45 < float(cosine[500]) < 0.55  # the cosine schedule (linear: 0.08)
        for name in ("ddim", "dpm++", "ddpm"):
            torch.testing.assert_close(make_scheduler(name, config).alphas_cumprod, cosine, msg=f"{stage} {name}")
    if family == "kandinsky":  # its decoder's DDPMScheduler names its own (linear) schedule, which is kept
        assert models.scheduler_configs["decoder"]["beta_schedule"] == "linear"


# -- kandinsky 2.2 ----------------------------------------------------------------------------------------
def test_kandinsky_layout_loads_and_says_what_it_cannot_do(kandinsky_backend: UnCLIP) -> None:
    b = kandinsky_backend
    m = b.models
    assert m.family == "kandinsky-2.2" and m.latent and m.text_proj is None and m.upsampler is None
    assert m.decoder_inpaint is not None and m.decoder_inpaint.config.in_channels == 9
    from unclip.pipeline import null_embeds

    assert null_embeds(m, 2).shape == (2, 32)  # the CLIP embedding of an all-zero image, computed on first use
    assert b.modes == ("prior", "text_embedding") and set(b.unavailable) == {"caption_only", "upsampler"}
    assert b.default_settings().upsampler.enabled is False
    s = quick(b)
    for bad, message in [
        (replace(s, mode="caption_only"), "never reads the caption"),
        (replace(s, upsampler=replace(s.upsampler, enabled=True)), "upsampler: .* has none"),
        (replace(s, decoder=replace(s.decoder, scheduler="unclip")), "decoder scheduler: .*cosine"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            b.generate("a cat", n=1, settings=bad)
        assert len(b.generate("a cat", n=1, settings=s)) == 1  # and the next good request works


def test_kandinsky_runs_every_backend_method(kandinsky_backend: UnCLIP) -> None:
    b, s = kandinsky_backend, quick(kandinsky_backend)
    for scheduler in ("ddim", "dpm++", "ddpm"):
        images = b.generate("a cat", n=2, seed=0, settings=replace(s, decoder=replace(s.decoder, scheduler=scheduler)))
        assert [im.size for im in images] == [(SMALL, SMALL)] * 2
    images = b.generate("a cat", n=2, seed=0, settings=s)
    assert np.array_equal(pixels(images), pixels(b.generate("a cat", n=2, seed=0, settings=s)))
    assert set(b.compare("a cat", n=1, seed=0, settings=s)) == {"prior", "text_embedding"}
    assert len(b.vary(images[0], n=2, seed=1, strength=0.5, settings=s).images) == 2
    zoom = b.zoom_out(images[0], factor=2.0, seed=1, settings=s)
    strip = b.interpolate("a cat", "a dog", steps=3, seed=0, use_prior=False, settings=s)
    assert zoom.images[0].size == (SMALL, SMALL) and len(strip.images) == 3


def test_kandinsky_shows_a_live_preview_of_its_latents(kandinsky_backend: UnCLIP) -> None:
    from unclip.images import to_tensor
    from unclip.pipeline import latent_preview, movq_factor, to_latents
    from unclip.world import EmojiWorld

    b, s = kandinsky_backend, quick(kandinsky_backend)
    before = b.generate("a cat", n=2, seed=0, settings=s)
    b.models.latent_rgb = None  # the map is fitted during the next request
    events, result = events_and_result(b.generate_stream("a cat", 2, 0, settings=s))
    side = SMALL // movq_factor(b.models)
    previews = [p.preview for p in events if p.stage == "decoder"]
    assert len(previews) == s.decoder.steps
    assert all(x.shape == (2, 3, side, side) and x.dtype == torch.float32 and x.abs().max() <= 1 for x in previews)
    assert b.models.latent_rgb is not None and b.models.latent_rgb.shape == (b.models.decoder.config.in_channels + 1, 3)
    assert np.array_equal(pixels(result.images), pixels(before))  # fitting the preview changes no pixel

    # The fit itself, on a stand-in autoencoder whose latents are a known affine function of each 8 x 8 cell's
    # mean colour: the map must invert it on scenes it was not fitted on. (Random MoVQ weights say nothing about
    # how good the preview of a trained MoVQ looks; a real checkpoint is needed for that.)
    class LinearCells(torch.nn.Module):
        config = type("Config", (), {"block_out_channels": (8, 8, 8, 8)})()  # 8 px per latent cell

        def __init__(self) -> None:
            super().__init__()
            self.mix = torch.nn.Conv2d(3, 4, 1)

        def encode(self, x: torch.Tensor) -> Any:
            return type("Out", (), {"latents": self.mix(F.avg_pool2d(x.float(), 8))})()

    with torch.random.fork_rng():
        torch.manual_seed(0)
        stand_in = replace(b.models, movq=LinearCells(), latent_rgb=None)
    images, _, _ = EmojiWorld().batch(4, seed=99, size=SMALL, split="any")
    truth = F.avg_pool2d(to_tensor(images), 8)
    guess = latent_preview(stand_in, to_latents(stand_in, to_tensor(images)))
    assert stand_in.latent_rgb is not None and b.models.latent_rgb is not stand_in.latent_rgb
    torch.testing.assert_close(guess, truth, atol=1e-4, rtol=0)


def test_kandinsky_inpaints_with_its_inpainting_decoder(kandinsky_backend: UnCLIP) -> None:
    b, s = kandinsky_backend, quick(kandinsky_backend)
    image = b.generate("a cat", n=1, seed=0, settings=s)[0]
    mask = Image.new("L", (SMALL, SMALL), 0)
    mask.paste(255, (0, 0, SMALL // 2, SMALL))
    seen: list[int] = []
    hook = b.models.decoder_inpaint.register_forward_pre_hook(lambda mod, args: seen.append(args[0].shape[1]))
    try:
        edit = b.inpaint(image, mask, prompt="a dog", seed=2, feather=0, settings=s)
    finally:
        hook.remove()
    assert seen and set(seen) == {9}  # latents + masked-image latents + keep mask
    out, src = np.asarray(edit.images[0]), np.asarray(image)
    assert np.array_equal(out[:, SMALL // 2:], src[:, SMALL // 2:])  # the kept half is the original's


def test_kandinsky_without_inpaint_decoder_falls_back_to_repaint(hub_root: Path, tmp_path: Path) -> None:
    for name in ("kandinsky-2-2-prior", "kandinsky-2-2-decoder"):
        shutil.copytree(hub_root / name, tmp_path / name)
    b = load_backend(str(tmp_path / "kandinsky-2-2-prior"), device="cpu")  # the prior's folder, decoder beside it
    b.models.output_size = SMALL
    assert b.models.decoder_inpaint is None
    mask = Image.new("L", (SMALL, SMALL), 255)
    image = Image.new("RGB", (SMALL, SMALL), (200, 30, 30))
    assert b.inpaint(image, mask, prompt="a dog", settings=quick(b)).images[0].size == (SMALL, SMALL)


def kandinsky_prior_pipeline(models: Any, hub_root: Path) -> Any:
    """diffusers' own KandinskyV22PriorPipeline over the loaded components, its image processor read from the
    fake hub's files as a user's diffusers would read the real ones."""
    from diffusers import KandinskyV22PriorPipeline, UnCLIPScheduler
    from transformers import CLIPImageProcessor

    m, processor = models, hub_root / fake_hub.KANDINSKY_DIRS["prior"] / "image_processor"
    pipe = KandinskyV22PriorPipeline(
        prior=m.prior, image_encoder=m.clip.image_encoder, text_encoder=m.clip.text_encoder,
        tokenizer=m.clip.tokenizer, scheduler=UnCLIPScheduler.from_config(m.scheduler_configs["prior"]),
        image_processor=CLIPImageProcessor.from_pretrained(processor))
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.mark.parametrize("scheduler", ["ddpm", "ddim"])
def test_kandinsky_gives_exactly_the_stock_prior_and_decoder_pipelines_pixels(
        kandinsky_backend: UnCLIP, hub_root: Path, scheduler: str, monkeypatch: Any) -> None:  # fmt: skip
    """Our staged loop over Kandinsky 2.2's components == diffusers' KandinskyV22PriorPipeline (UnCLIPScheduler,
    guidance, get_zero_embed as the decoder's baseline) + KandinskyV22Pipeline (CFG with the variance channels, MoVQ
    decode, [0, 1] conversion) on the same components, seeds and decoder scheduler, to the last 8-bit pixel.
    The decoder's scheduler is ours on both sides: the stock pipeline would step the hub's DDPM config with
    'leading' spacing, ours uses 'trailing' (sampling._EXTRA). The stock prior encodes [""] * B in one batch, we
    encode "" once: CLIP's text projection rounds a 1-row and a 2-row matmul differently (5e-7), which moves a
    pixel by a level or two after the decoder, so the baseline is given to us as the stock pipeline makes it."""
    from diffusers import KandinskyV22Pipeline

    from unclip.models import encode_text

    b, m = kandinsky_backend, kandinsky_backend.models
    monkeypatch.setattr(m, "compute_dtype", None)
    prompts, seeds = ["a red cat", "two dogs"], [3, 7]
    monkeypatch.setattr(b, "_empty", encode_text(m, [""] * len(prompts)))
    s = quick(b, scheduler)
    s = replace(s, prior=replace(s.prior, scheduler="unclip", guidance=4.0), decoder=replace(s.decoder, guidance=4.0))
    ours = drain(b.run_stream(prompts, seeds, s))
    gens = [torch.Generator("cpu").manual_seed(x) for x in seeds]
    prior = kandinsky_prior_pipeline(m, hub_root)(prompts, num_inference_steps=3, guidance_scale=4.0, generator=gens)
    assert torch.equal(ours.image_embeds, prior.image_embeds)
    decoder = KandinskyV22Pipeline(unet=m.decoder, scheduler=make_scheduler(scheduler, m.scheduler_configs["decoder"]),
                                   movq=m.movq)
    decoder.set_progress_bar_config(disable=True)
    stock = decoder(image_embeds=prior.image_embeds, negative_image_embeds=prior.negative_image_embeds, height=SMALL,
                    width=SMALL, num_inference_steps=3, guidance_scale=4.0, generator=gens, output_type="np").images
    assert np.array_equal(pixels(ours.images), (stock * 255).round().astype(np.uint8))


def test_kandinsky_inpaints_as_the_stock_inpaint_pipeline_inside_the_mask(kandinsky_backend: UnCLIP, hub_root: Path,
                                                                          monkeypatch: Any) -> None:  # fmt: skip
    """Our inpaint with the inpainting decoder == diffusers' KandinskyV22InpaintPipeline inside the repainted
    region (mask: white = repaint on both sides; the UNet's extra input is [latents * keep, keep]), once two
    documented choices are aligned: diffusers grows the hole by one latent cell (prepare_mask; ours keeps every
    cell the mask does not touch, pipeline.inpaint_channels) and re-noises the known region with the start noise
    (ours: generators of its own, edit.py). Outside the mask ours is the original's pixels (composited back),
    diffusers' the MoVQ's reconstruction."""
    import diffusers.pipelines.kandinsky2_2.pipeline_kandinsky2_2_inpainting as stock_inpaint
    from diffusers import KandinskyV22InpaintPipeline

    import unclip.edit

    b, m = kandinsky_backend, kandinsky_backend.models
    monkeypatch.setattr(m, "compute_dtype", None)
    s = quick(b, "ddpm")
    s = replace(s, prior=replace(s.prior, scheduler="unclip", guidance=4.0), decoder=replace(s.decoder, guidance=4.0))
    image = b.generate("a cat", n=1, seed=0, settings=s)[0]
    mask = Image.new("L", (SMALL, SMALL), 0)
    mask.paste(255, (16, 8, 48, 40))  # on the 8 px latent grid
    seed = 4
    gen = torch.Generator("cpu").manual_seed(seed)
    prior = kandinsky_prior_pipeline(m, hub_root)("a dog", num_inference_steps=3, guidance_scale=4.0, generator=[gen])
    start = torch.randn((1, m.movq.config.latent_channels, SMALL // 8, SMALL // 8), generator=gen)  # as ours draws it
    monkeypatch.setattr(stock_inpaint, "prepare_mask", lambda keep: keep)
    monkeypatch.setattr(unclip.edit, "randn", lambda *args: start.clone())
    pipe = KandinskyV22InpaintPipeline(unet=m.decoder_inpaint, movq=m.movq,
                                       scheduler=make_scheduler("ddpm", m.scheduler_configs["decoder"]))
    pipe.set_progress_bar_config(disable=True)
    stock = pipe(image_embeds=prior.image_embeds, negative_image_embeds=prior.negative_image_embeds, image=image,
                 mask_image=mask, height=SMALL, width=SMALL, num_inference_steps=3, guidance_scale=4.0, generator=[gen],
                 latents=start.clone(), output_type="np").images[0]
    ours = np.asarray(b.inpaint(image, mask, prompt="a dog", seed=seed, feather=0, settings=s).images[0])
    inside = np.asarray(mask) > 127
    assert np.array_equal(ours[inside], (stock * 255).round().astype(np.uint8)[inside])
    assert np.array_equal(ours[~inside], np.asarray(image)[~inside])


def test_an_upload_is_embedded_as_the_stock_kandinsky_prior_pipeline_embeds_it(kandinsky_backend: UnCLIP,
                                                                                  hub_root: Path) -> None:  # fmt: skip
    """The checkpoint's image_processor (bicubic to the shortest edge, centre crop) on the whole upload, as
    KandinskyV22PriorPipeline.interpolate embeds an image: in the explorer and in every edit. (The fake hub's
    processor config had no "size": a stock processor resized to 224 and cropped the centre 32 px.)"""
    from unclip.explore import endpoint_stream

    b, m = kandinsky_backend, kandinsky_backend.models
    pipe = kandinsky_prior_pipeline(m, hub_root)
    size = m.clip.image_size
    assert pipe.image_processor.size["shortest_edge"] == size == pipe.image_processor.crop_size["height"]
    cells = np.random.default_rng(1).integers(0, 256, (9, 12, 3), dtype=np.uint8)
    image = Image.fromarray(cells).resize((120, 90), Image.Resampling.BICUBIC)  # not the working size, not square
    stock = pipe.interpolate([image], [1.0], num_inference_steps=2, guidance_scale=1.0).image_embeds[0]
    assert torch.equal(drain(endpoint_stream(b, image, "from", True, 0, b.default_settings())), stock)
    assert torch.equal(b.vary(image, n=1, seed=0, settings=quick(b)).source_embeds, stock)


# -- finding models, fast -----------------------------------------------------------------------------------
def cache_snapshot(cache: Path, repo_id: str, source: Path) -> None:
    """`source` placed in the Hugging Face cache layout, as `hf download` leaves it."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    shutil.copytree(source, repo / "snapshots" / "0123abcd")
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123abcd")


def test_karlo_by_name_from_the_cache_offline(hub_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:  # fmt: skip
    cache_snapshot(tmp_path / "hub", karlo.REPO, hub_root / fake_hub.KARLO_DIR)
    cache_snapshot(tmp_path / "hub", karlo.IMAGE_REPO, hub_root / fake_hub.KARLO_IMAGE_DIR)
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # HF_HOME respected: the cache is HF_HOME/hub
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    b = load_backend("karlo", device="cpu")
    assert b.name == "karlo" and len(b.generate("a cat", n=1, settings=quick(b))) == 1


@pytest.mark.parametrize("name,repo", [("karlo", karlo.REPO), ("kandinsky-2.2", kandinsky.REPOS["prior"])])
@pytest.mark.parametrize("offline", [True, False])
def test_missing_hub_model_fails_fast_with_how_to_get_it(name: str, repo: str, offline: bool, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    if offline:
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    else:  # online mode with an unreachable hub (a closed local port): no retry loop either
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    start = time.monotonic()
    with pytest.raises(ModelUnavailable) as info:
        load_backend(name, device="cpu")
    elapsed = time.monotonic() - start
    message = str(info.value)
    assert repo in message and f"hf download {repo} --include '*.json' '*.txt' '*.safetensors'" in message
    assert "--model" in message
    if name == "karlo":  # its image-variations repository: the image encoder only
        assert (f"hf download {karlo.IMAGE_REPO} --include 'image_encoder/*.json' 'feature_extractor/*.json' "
                "'image_encoder/model.safetensors' 'model_index.json'") in message
    assert ("HF_HUB_OFFLINE" in message) == offline and ("cannot be reached" in message) != offline
    assert elapsed < 5.0  # the target is < 1 s (benchmarks/bench_families.py); this only catches a retry loop


def test_directories_that_are_no_family_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a known family"):
        load_backend(str(tmp_path), device="cpu")
    (tmp_path / "model_index.json").write_text('{"_class_name": "UnCLIPPipeline"}')
    with pytest.raises(ModelUnavailable, match="missing prior/, prior_scheduler/"):
        load_backend(str(tmp_path), device="cpu")


def test_handlers_go_through_spaces_gpu_only_when_it_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    from components.common import GPU_SECONDS, on_gpu

    def handler(prompt: str, n: int = 1) -> str:
        return prompt * n

    monkeypatch.setitem(sys.modules, "spaces", None)  # not installed: on_gpu is the identity
    assert on_gpu(handler) is handler
    calls: list[int] = []
    fake = types.ModuleType("spaces")
    fake.GPU = lambda duration: (calls.append(duration), lambda fn: fn)[1]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "spaces", fake)
    assert on_gpu(handler)("ab", 2) == "abab" and calls == [GPU_SECONDS]


# -- every tab's handler, through the real app ----------------------------------------------------------------
@pytest.fixture(scope="module", params=["karlo", "kandinsky-2.2"])
def family_client(request: pytest.FixtureRequest, hub_root: Path) -> Any:
    from conftest import free_port
    from gradio_client import Client

    from app import build_demo, launch

    path = hub_root / fake_hub.KARLO_DIR if request.param == "karlo" else hub_root
    backend = load_backend(str(path), device="cpu")
    backend.models.output_size = SMALL
    blocks = build_demo(backend)
    launch(blocks, host="127.0.0.1", port=free_port(), prevent_thread_lock=True, quiet=True)
    yield request.param, Client(blocks.local_url, verbose=False)
    blocks.close()


def test_every_tab_works_over_each_hub_family(family_client: Any, tmp_path: Path) -> None:
    from gradio_client import handle_file

    family, client = family_client
    stages = {"decoder_steps": 2, "decoder_scheduler": "ddim", "upsampler_steps": 2, "upsampler_scheduler": "ddim"}
    prior = {"prior_steps": 2, "prior_scheduler": "ddim"}
    side = 64
    _, gallery, *_ = client.predict(prompt="a cat", n=1, seed=0, **prior, **stages, api_name="/generate")
    assert Image.open(gallery[0]["image"]).size == (side, side)
    galleries = client.predict(prompt="a cat", n=1, seed=0, **prior, **stages, api_name="/compare")[1:-3]
    assert len(galleries) == (3 if family == "karlo" else 2)
    image, mask = tmp_path / "image.png", tmp_path / "mask.png"
    Image.open(gallery[0]["image"]).save(image)
    m = Image.new("L", (side, side), 0)
    m.paste(255, (0, 0, side // 2, side))
    m.save(mask)
    varied = client.predict(image=handle_file(str(image)), n=1, seed=0, **stages, api_name="/vary")[2]
    assert len(varied) == 1 and Image.open(varied[0]["image"]).size == (side, side)
    editor = {"background": handle_file(str(image)), "layers": [], "composite": None, "id": None}
    out = client.predict(image=editor, mask=handle_file(str(mask)), prompt="a dog", n=1, seed=0, **prior, **stages,
                         api_name="/inpaint")  # fmt: skip
    assert Image.open(out[2][0]["image"]).size == (side, side)
    zoomed = client.predict(image=handle_file(str(image)), factor=2, seed=0, **prior, **stages, api_name="/zoom_out")
    assert Image.open(zoomed[2]).size == (side, side) and len(zoomed[5]) == 2  # the result; original + zoom 1
    plot, info, _ = client.predict(method="pca", dims=2, color_by="kind", remove_modality_gap=False,
                                   api_name="/project")  # fmt: skip
    assert "500 emoji-world scenes" in info
    strip = client.predict(start="a cat", end="a dog", steps=2, seed=0, use_prior=False, decoder_steps=2,
                           api_name="/interpolate")[1]  # fmt: skip
    assert len(strip) == 2
    strip = client.predict(point="#0", from_caption="a cat", to_caption="a dog", steps=2, max_theta=0.25, seed=0,
                           decoder_steps=2, api_name="/text_diff")[1]  # fmt: skip
    assert len(strip) == 2


def test_the_ui_disables_what_kandinsky_cannot_do_and_says_why(kandinsky_backend: UnCLIP) -> None:
    from app import build_demo

    blocks = build_demo(kandinsky_backend)
    props = {c["props"].get("elem_id"): c["props"] for c in blocks.config["components"]}
    assert [value for _, value in props["mode"]["choices"]] == ["prior", "text_embedding"]
    for key in ("upsampler", "vary-upsampler", "inpaint-upsampler", "zoom-upsampler"):
        assert props[key]["interactive"] is False and props[key]["value"] is False, key
    assert "no upsampler" in props["upsampler"]["info"]
    assert props["upsampler_steps"]["interactive"] is False
    for key in ("upsampler_scheduler", "vary-upsampler_scheduler", "inpaint-upsampler_scheduler",
                "zoom-upsampler_scheduler"):  # its one value, greyed: not four schedulers of a stage it lacks
        assert props[key]["interactive"] is False and len(props[key]["choices"]) == 1, key
    markdown = " ".join(str(c["props"].get("value")) for c in blocks.config["components"] if c["type"] == "markdown")
    assert "~~Caption only~~: unavailable" in markdown and "never reads the caption" in markdown
    compare = next(c for c in blocks.config["components"] if c["props"].get("elem_id") == "compare-btn")
    assert compare["props"]["value"] == "Compare 2 modes"


def test_on_a_gpu_the_generate_examples_are_cached_lazily(karlo_backend: UnCLIP, monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:  # fmt: skip
    """Built as on a GPU (only the device check is faked: nothing runs), the Generate tab's examples get a handler
    and lazy caching, so a Space starts without generating them."""
    import gradio as gr

    from app import build_demo

    made: list[dict[str, Any]] = []
    real = gr.Examples

    def spy(*args: Any, **kwargs: Any) -> Any:
        made.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(gr, "Examples", spy)
    from components import generate

    monkeypatch.setattr(generate, "caches_examples", lambda backend: True)
    build_demo(karlo_backend)
    cached = [k for k in made if k.get("cache_examples")]
    assert len(cached) == 1 and cached[0]["cache_mode"] == "lazy" and callable(cached[0]["fn"])


@pytest.mark.parametrize("argv", [["generate", "a cat", "--model", "karlo"], ["eval", "--model", "kandinsky-2.2"],
                                  ["vary", "IMAGE", "--model", "karlo"]])
def test_cli_reports_a_missing_hub_model_in_one_line(argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from unclip.cli import main as cli_main

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    image = tmp_path / "in.png"
    Image.new("RGB", (32, 32)).save(image)
    argv = [str(image) if a == "IMAGE" else a for a in argv] + ["--out", str(tmp_path)] * (argv[0] != "eval")
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "is not available" in err and "Traceback" not in err


def test_cli_generates_with_a_family_that_has_no_upsampler(hub_root: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture) -> None:  # fmt: skip
    from unclip.cli import main as cli_main

    argv = ["generate", "a cat", "--model", str(hub_root), "-n", "1", "--prior-steps", "2", "--decoder-steps", "2",
            "--prior-scheduler", "ddim", "--decoder-scheduler", "ddim", "--compare", "--out", str(tmp_path)]
    assert cli_main(argv) == 0, capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["prior_00000000.png", "text_embedding_00000000.png"]


def test_an_incomplete_download_is_one_clear_error(hub_root: Path, tmp_path: Path) -> None:
    broken = tmp_path / "models"
    shutil.copytree(hub_root / fake_hub.KARLO_DIR, broken / fake_hub.KARLO_DIR)
    shutil.copytree(hub_root / fake_hub.KARLO_IMAGE_DIR, broken / fake_hub.KARLO_IMAGE_DIR)
    (broken / fake_hub.KARLO_DIR / "text_encoder" / "model.safetensors").unlink()
    with pytest.raises(ModelUnavailable, match="karlo: could not load .*incomplete download"):
        load_backend(str(broken / fake_hub.KARLO_DIR), device="cpu")


def test_a_kandinsky_dir_missing_a_part_is_one_clear_error(hub_root: Path, tmp_path: Path) -> None:
    prior, decoder = (fake_hub.KANDINSKY_DIRS[role] for role in ("prior", "decoder"))
    only_prior = tmp_path / "only-prior"
    shutil.copytree(hub_root / prior, only_prior / prior)
    with pytest.raises(ModelUnavailable, match=r"found the prior in .*only-prior/kandinsky-2-2-prior but no decoder: "
                                               r"expected it in .*only-prior/kandinsky-2-2-decoder \(the "):
        kandinsky.load(only_prior)  # (it said the folder held no prior)
    with pytest.raises(ModelUnavailable, match="holds no kandinsky-2-2-prior/ and kandinsky-2-2-decoder/"):
        kandinsky.load(tmp_path)
    broken = tmp_path / "broken"
    for d in (prior, decoder):
        shutil.copytree(hub_root / d, broken / d)
    (broken / decoder / "movq" / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(ModelUnavailable, match="kandinsky-2.2"):
        load_backend(str(broken), device="cpu")


def test_eval_upsample_is_refused_without_an_upsampler(hub_root: Path, capsys: pytest.CaptureFixture) -> None:
    from unclip.eval.report import main

    assert main(["--model", str(hub_root), "--upsample", "--n", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --upsample: kandinsky-2.2") and err.rstrip().endswith("has no upsampler")


def test_offload_moves_every_component_a_kandinsky_request_uses(hub_root: Path, tmp_path: Path) -> None:
    """Under offload each component must be brought to the execution device before use, including the ones
    used through methods rather than forward calls (MoVQ's encode/decode): recorded here on CPU."""
    from unclip.backend import offload_to

    b = load_backend(str(hub_root), device="cpu")
    b.models.output_size = SMALL
    offload_to(b.models, torch.device("cpu"))
    hook, used = b.models.onload_hook, set()
    names = {id(m): k for k, m in {**b.models.modules(), "text_encoder": b.models.clip.text_encoder,
                                   "image_encoder": b.models.clip.image_encoder}.items()}
    b.models.onload_hook = lambda module: (used.add(names.get(id(module))), hook(module))
    image = b.generate("a cat", n=1, settings=quick(b))[0]
    mask = Image.new("L", (SMALL, SMALL), 0)
    mask.paste(255, (0, 0, SMALL // 2, SMALL))
    b.inpaint(image, mask, prompt="a dog", settings=quick(b))
    assert used == {"text_encoder", "image_encoder", "prior", "decoder", "decoder_inpaint", "movq"}


def test_two_requests_at_once_never_share_the_tokenizer(karlo_backend: UnCLIP, monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:  # fmt: skip
    """transformers' fast tokenizer keeps padding and truncation on one object that every call sets: two requests
    at once (the app's GPU concurrency) failed one in a few hundred ("Unable to create tensor")."""
    import threading

    clip = karlo_backend.models.clip

    class Probe:  # the tokenizer, counting calls that overlap
        def __init__(self, inner: Any) -> None:
            self.inner, self.active, self.overlaps = inner, 0, 0

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            self.active += 1
            self.overlaps += self.active > 1
            time.sleep(0.005)
            try:
                return self.inner(*args, **kwargs)
            finally:
                self.active -= 1

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    probe = Probe(clip.tokenizer)
    monkeypatch.setattr(clip, "tokenizer", probe)
    expected = clip.encode_captions(["a red cat"]).tokens
    results: list[Tensor] = []

    def work() -> None:
        results.extend(clip.encode_captions(["a red cat"]).tokens for _ in range(10))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert probe.overlaps == 0 and len(results) == 20 and all(torch.equal(r, expected) for r in results)


def test_damaged_hub_files_are_one_clear_error_naming_them(hub_root: Path, tmp_path: Path) -> None:
    """Each was a raw traceback (SafetensorError, JSONDecodeError), or loaded and failed at the first caption."""
    def copy(name: str) -> Path:
        shutil.rmtree(tmp_path / name, ignore_errors=True)
        for d in (fake_hub.KARLO_DIR, fake_hub.KARLO_IMAGE_DIR):
            shutil.copytree(hub_root / d, tmp_path / name / d)
        return tmp_path / name / fake_hub.KARLO_DIR

    weights = copy("cut") / "text_encoder" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])  # transformers: a SafetensorError
    with pytest.raises(ModelUnavailable, match=r"karlo: could not load .*cut/karlo-v1-alpha \(incomplete download"):
        load_backend(str(weights.parents[1]), device="cpu")
    tokenizer = copy("no-tokenizer") / "tokenizer"
    for f in tokenizer.iterdir():
        f.unlink()
    with pytest.raises(ModelUnavailable, match=r"no-tokenizer/karlo-v1-alpha/tokenizer: no tokenizer in it"):
        load_backend(str(tokenizer.parent), device="cpu")
    schedule = copy("schedule") / "prior_scheduler" / "scheduler_config.json"
    schedule.write_text("{")
    with pytest.raises(ModelUnavailable, match=r"could not load .*schedule/karlo-v1-alpha .*: .*schedule/"
                                               r"karlo-v1-alpha/prior_scheduler/scheduler_config.json is not valid"):
        load_backend(str(schedule.parents[1]), device="cpu")
    index = copy("index") / "model_index.json"
    index.write_text('{"_class_name": ')
    with pytest.raises(ValueError, match=r"index/karlo-v1-alpha/model_index.json is not valid JSON"):
        load_backend(str(index.parent), device="cpu")
    index.write_text("[]")
    with pytest.raises(ValueError, match=r"model_index.json must be a JSON object \(a pipeline's index\), got list"):
        load_backend(str(index.parent), device="cpu")


def test_a_partial_kandinsky_inpaint_decoder_is_left_out_and_said(hub_root: Path, tmp_path: Path) -> None:
    """Only its model_index.json copied: the whole family refused to load, though that decoder is optional."""
    for d in fake_hub.KANDINSKY_DIRS.values():
        shutil.copytree(hub_root / d, tmp_path / d)
    prior_schedule = tmp_path / fake_hub.KANDINSKY_DIRS["prior"] / "scheduler" / "scheduler_config.json"
    good = prior_schedule.read_text()
    prior_schedule.write_text("{")
    with pytest.raises(ModelUnavailable, match=r"could not load .*/kandinsky-2-2-prior \(.*kandinsky-2-2-prior/"
                                               r"scheduler/scheduler_config.json is not valid JSON"):
        load_backend(str(tmp_path), device="cpu")  # (it named the decoder's folder)
    prior_schedule.write_text(good)
    inpaint = tmp_path / fake_hub.KANDINSKY_DIRS["inpaint"]
    shutil.rmtree(inpaint / "unet")
    b = load_backend(str(tmp_path), device="cpu")
    assert b.models.decoder_inpaint is None
    assert "kandinsky-2-2-decoder-inpaint" in b.notice and "missing unet/" in b.notice and "RePaint" in b.notice


def test_a_folder_named_as_a_hub_family_is_pointed_out(hub_root: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """--model karlo with a copy in ./karlo: the error said to pass a local directory, which the user had done."""
    shutil.copytree(hub_root / fake_hub.KARLO_DIR, tmp_path / "karlo")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable, match=r"\(a folder ./karlo is here: to load it, pass it as a path, "
                                               r"--model ./karlo\)$"):
        load_backend("karlo", device="cpu")


@pytest.mark.parametrize(("edit", "message"), [
    (lambda m: m.pop("config"), r"unclip_config.json: config must be an object with the parts clip, prior, decoder, "
                                r"upsampler, got nothing"),
    (lambda m: m.update(config=[]), r"unclip_config.json: config must be an object .*, got list"),
    (lambda m: m["config"].pop("prior"), r"unclip_config.json: config.prior must be an object .*, got nothing"),
    (lambda m: m["config"]["decoder"].update(layers_per_blok=1),
     r"unclip_config.json: config.decoder has an unknown key 'layers_per_blok'; its keys are sample_size, "),
    (lambda m: m["defaults"].update(decoder_stpes=3), r"config.json: defaults has an unknown key 'decoder_stpes'"),
    (lambda m: m.update(defaults=3), r"unclip_config.json: defaults must be an object with the keys prior_steps, "),
    (lambda m: m["config"]["clip"].pop("embed_dim"),
     r"config.json: config.clip is missing the key 'embed_dim' \(its keys are "),  # (it took the default size)
    (lambda m: m["defaults"].update(decoder_scheduler="euler"),
     r"its default settings do not run \(decoder scheduler must be one of ddim, dpm\+\+, ddpm; got 'euler'\): fix "
     r"\"defaults\" in its unclip_config.json, or its scheduler_configs.json"),
    (lambda m: m["defaults"].update(decoder_steps=0), r"do not run \(decoder steps must be a whole number between 1 "),
])  # fmt: skip
def test_a_hand_edited_tiny_config_is_refused_naming_the_file_and_field(tmp_path: Path, edit: Any,
                                                                        message: str) -> None:  # fmt: skip
    """Each was a KeyError or TypeError traceback, or (bad defaults) loaded and refused every default request."""
    import json

    d = tiny.save(tiny.build_random(), tmp_path / "m", tiny.TinyConfig.random())
    meta = json.loads((d / tiny.CONFIG_FILE).read_text())
    edit(meta)
    (d / tiny.CONFIG_FILE).write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=message):
        load_backend(str(d), device="cpu")


def test_damaged_tiny_files_are_refused_naming_them(tmp_path: Path) -> None:
    import json

    d = tiny.save(tiny.build_random(), tmp_path / "m", tiny.TinyConfig.random())
    schedules = json.loads((d / "scheduler_configs.json").read_text())
    (d / "scheduler_configs.json").write_text(json.dumps({k: v for k, v in schedules.items() if k != "upsampler"}))
    with pytest.raises(ValueError, match=r"m/scheduler_configs.json must hold a scheduler config \(an object\) for "
                                         r"each of prior, decoder and upsampler; upsampler has none"):
        load_backend(str(d), device="cpu")  # (a KeyError)
    bogus = {**schedules, "decoder": {**schedules["decoder"], "beta_schedule": "bogus"}}
    (d / "scheduler_configs.json").write_text(json.dumps(bogus))
    with pytest.raises(ValueError, match=r"do not run \(decoder scheduler: bogus is not implemented .*\): fix "):
        load_backend(str(d), device="cpu")  # (diffusers' NotImplementedError, a traceback)
    (d / "scheduler_configs.json").write_text(json.dumps(schedules))
    weights = d / "clip" / "open_clip_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])  # open_clip lets the SafetensorError through
    with pytest.raises(OSError, match=r"m/clip: a weights file is damaged \(safetensors: "):
        load_backend(str(d), device="cpu")
