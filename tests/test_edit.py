"""Variations, inpainting and zoom-out on tiny-random (CPU, seconds): kept pixels, masks, sizes, seeds, errors."""

from __future__ import annotations

import gc
import io
import json
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from unclip import InvalidInput, UnCLIP, pipeline
from unclip.animation import ZoomStep, save_gif, zoom_frames
from unclip.cli import main as cli_main
from unclip.edit import planned_steps
from unclip.eval.inpaint_eval import box_mask, inpaint_eval, one_object_scenes
from unclip.eval.judge import new_judge
from unclip.images import read_metadata, to_tensor, unused_path
from unclip.masks import feather, mask_tensor, zoom_canvas
from unclip.sampling import drain
from unclip.settings import DecoderSettings, GenerateSettings, PriorSettings, UpsamplerSettings
from unclip.uploads import describe_crop, inspect_upload, mask_from_image, mask_from_layers, working_image
from unclip.world import EmojiWorld

PROMPT = "a dog on the beach"
BOX = (64, 96, 144, 176)  # the region to repaint in the tests, (left, top, right, bottom) px at 256
FEATHER = 6


@pytest.fixture(scope="module")
def fast() -> GenerateSettings:
    return GenerateSettings(prior=PriorSettings(steps=2, candidates=1), decoder=DecoderSettings(steps=3),
                            upsampler=UpsamplerSettings(steps=2))  # fmt: skip


@pytest.fixture(scope="module")
def scene() -> Image.Image:
    world = EmojiWorld()
    return Image.fromarray(world.render(world.sample(1), 256))  # (256, 256) RGB, a hot dog on a beach


def box_image(box: tuple[int, int, int, int] = BOX, side: int = 256) -> Image.Image:
    mask = Image.new("L", (side, side), 0)
    mask.paste(255, box)
    return mask


def outside(box: tuple[int, int, int, int], margin: int, side: int = 256) -> np.ndarray:
    """(side, side) bool: farther than `margin` px from the box (outside the feather band)."""
    keep = np.ones((side, side), dtype=bool)
    left, top, right, bottom = box
    keep[max(top - margin, 0):bottom + margin, max(left - margin, 0):right + margin] = False
    return keep


def diff(a: Image.Image, b: Image.Image) -> np.ndarray:
    """(H, W) max abs difference over channels, in 0-255."""
    return np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16)).max(axis=-1)


def pixels(images: list[Image.Image]) -> np.ndarray:
    return np.stack([np.asarray(im) for im in images])


# -- inpainting ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("upsampler", [True, False], ids=["256px", "64px"])
def test_inpaint_keeps_unmasked_pixels_and_changes_masked(backend: UnCLIP, fast: GenerateSettings,
                                                          scene: Image.Image, upsampler: bool) -> None:  # fmt: skip
    settings = GenerateSettings(fast.mode, fast.prior, fast.decoder, UpsamplerSettings(2, enabled=upsampler))
    side = 256 if upsampler else 64
    box = BOX if upsampler else tuple(v // 4 for v in BOX)
    image = scene.resize((side, side), Image.Resampling.LANCZOS)
    edit = backend.inpaint(image, box_image(box, side), PROMPT, n=2, seed=0, feather=FEATHER, settings=settings)
    assert len(edit.images) == 2
    for result in edit.images:
        assert result.size == (side, side)
        d = diff(result, image)
        assert d[outside(box, FEATHER + 1, side)].max() <= 2  # 2/255: kept outside the feather band
        left, top, right, bottom = box
        assert d[top:bottom, left:right].mean() > 10  # repainted inside
    assert np.asarray(edit.mask)[box[1]:box[3], box[0]:box[2]].min() == 255


def test_both_stages_reinject_the_known_region(backend: UnCLIP, fast: GenerateSettings, scene: Image.Image,
                                                monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    hooks = []
    real = pipeline.upsample

    def spy(*args: object, hook: object = None, **kwargs: object) -> object:
        hooks.append(hook)
        return (yield from real(*args, hook=hook, **kwargs))

    monkeypatch.setattr(pipeline, "upsample", spy)
    edit = backend.inpaint(scene, box_image(), PROMPT, feather=0, settings=fast)
    source = to_tensor(scene)  # (1, 3, 256, 256) in [-1, 1]
    known_low = F.interpolate(source, size=(64, 64), mode="area")
    keep_low = torch.from_numpy(outside(tuple(v // 4 for v in BOX), 1, 64))  # (64, 64)
    assert torch.equal(edit.low_res[0][:, keep_low], known_low[0][:, keep_low])  # the decoder's last step
    x = torch.randn(1, 3, 256, 256)
    out = hooks[0](x, 0, -1)  # the upsampler's hook at its last step
    keep = torch.from_numpy(outside(BOX, 0))
    assert torch.equal(out[0][:, keep], source[0][:, keep]) and torch.equal(out[0][:, ~keep], x[0][:, ~keep])
    mid = hooks[0](x, 0, 500)  # half way: the known region noised to that level, not the clean image
    assert 0.1 < float((mid - source)[0][:, keep].std()) < 1.0


def test_full_mask_is_generation(backend: UnCLIP, fast: GenerateSettings, scene: Image.Image) -> None:
    full = Image.new("L", (256, 256), 255)
    edit = backend.inpaint(scene, full, PROMPT, n=2, seed=5, settings=fast)
    generated = drain(backend.generate_stream(PROMPT, 2, 5, settings=fast))
    np.testing.assert_array_equal(pixels(edit.images), pixels(generated.images))


def test_a_mask_of_another_shape_is_stretched_and_said_so(backend: UnCLIP, fast: GenerateSettings,
                                                          scene: Image.Image) -> None:  # fmt: skip
    half = box_image().resize((128, 128), Image.Resampling.NEAREST)  # the image's shape, smaller: fine
    assert not [w for w in backend.inpaint(scene, half, PROMPT, settings=fast).warnings if "mask" in w]
    wide = box_image().resize((100, 50), Image.Resampling.NEAREST)
    edit = backend.inpaint(scene, wide, PROMPT, settings=fast)
    assert "the mask (100×50) is not the image's shape (256×256): it was stretched to fit" in edit.warnings


def test_empty_mask_is_refused(backend: UnCLIP, fast: GenerateSettings, scene: Image.Image) -> None:
    with pytest.raises(InvalidInput, match="mask is empty: none of it is white"):  # an all-black mask
        backend.inpaint(scene, Image.new("L", (256, 256), 0), PROMPT, settings=fast)
    with pytest.raises(InvalidInput, match="mask is empty: paint the region to repaint"):  # no mask, nothing clear
        backend.inpaint(scene, None, PROMPT, settings=fast)
    with pytest.raises(InvalidInput, match="mask is empty once inverted: it marks the whole image"):
        backend.inpaint(scene, Image.new("L", (256, 256), 255), PROMPT, invert=True, settings=fast)
    inverted = backend.inpaint(scene, Image.new("L", (256, 256), 0), PROMPT, invert=True, settings=fast)
    assert len(inverted.images) == 1  # black inverted: repaint everything
    wide, mask = Image.new("RGB", (400, 256), "white"), Image.new("L", (400, 256), 0)
    mask.paste(255, (0, 0, 60, 256))  # painted only left of the centre square the model works on
    with pytest.raises(InvalidInput, match="mask is empty where the model works: what it marks lies outside"):
        backend.inpaint(wide, mask, PROMPT, settings=fast)


def test_transparent_pixels_are_the_mask(backend: UnCLIP, fast: GenerateSettings, scene: Image.Image) -> None:
    rgba = scene.convert("RGBA")
    alpha = np.full((256, 256), 255, dtype=np.uint8)
    alpha[BOX[1]:BOX[3], BOX[0]:BOX[2]] = 0
    rgba.putalpha(Image.fromarray(alpha))
    edit = backend.inpaint(rgba, None, PROMPT, seed=1, feather=FEATHER, settings=fast)
    d = diff(edit.images[0], scene)
    assert d[outside(BOX, FEATHER + 1)].max() <= 2 and d[BOX[1]:BOX[3], BOX[0]:BOX[2]].mean() > 10


def test_invert_repaints_the_rest(backend: UnCLIP, fast: GenerateSettings, scene: Image.Image) -> None:
    edit = backend.inpaint(scene, box_image(), PROMPT, feather=0, invert=True, settings=fast)
    d = diff(edit.images[0], scene)
    assert d[BOX[1]:BOX[3], BOX[0]:BOX[2]].max() <= 2 and d[outside(BOX, 1)].mean() > 10


def test_condition_on_the_image_needs_no_prompt(backend: UnCLIP, fast: GenerateSettings, scene: Image.Image) -> None:
    edit = backend.inpaint(scene, box_image(), "", condition="image", settings=fast)
    assert torch.allclose(edit.image_embeds[0], edit.source_embeds, atol=1e-6)
    meta = json.loads(edit.images[0].info["parameters"])
    assert meta["operation"] == "inpaint" and meta["condition"] == "image" and meta["feather"] == 8


# -- zoom-out ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("anchor", "left", "top"), [("center", 64, 64), ("left", 0, 64), ("bottom", 64, 128)])
def test_zoom_out_keeps_size_and_the_shrunk_original(backend: UnCLIP, fast: GenerateSettings, scene: Image.Image,
                                                     anchor: str, left: int, top: int) -> None:  # fmt: skip
    edit = backend.zoom_out(scene, factor=2.0, anchor=anchor, seed=0, feather=FEATHER, settings=fast)
    result = edit.images[0]
    assert result.size == scene.size and edit.box == (left / 256, top / 256, (left + 128) / 256, (top + 128) / 256)
    shrunk = np.asarray(scene.resize((128, 128), Image.Resampling.LANCZOS), dtype=np.int16)
    inner = np.asarray(result, dtype=np.int16)[top:top + 128, left:left + 128]
    m = FEATHER + 1  # the feather band reaches into the original's edge, not the interior
    edges = [slice(m if top else 0, 128 - m if top + 128 < 256 else 128),
             slice(m if left else 0, 128 - m if left + 128 < 256 else 128)]  # fmt: skip
    assert np.abs(inner - shrunk)[edges[0], edges[1]].max() <= 2
    border = np.ones((256, 256), dtype=bool)
    border[top:top + 128, left:left + 128] = False
    assert diff(result, edit.source)[border].mean() > 10  # generated, not the stretched edge filler


def test_zoom_out_factor_15_and_custom(backend: UnCLIP, fast: GenerateSettings, scene: Image.Image) -> None:
    box = backend.zoom_out(scene, factor=1.5, settings=fast).box
    assert box == (42 / 256, 42 / 256, 213 / 256, 213 / 256)  # round(256 / 1.5) = 171 px, centred
    assert zoom_canvas(scene, 3.2).inner == 80


# -- variations ------------------------------------------------------------------------------------------------
def test_edit_seeds_wrap_like_generate(backend: UnCLIP, fast: GenerateSettings, scene: Image.Image) -> None:
    from unclip.settings import LIMITS

    top = LIMITS["seed"][1]
    assert backend.vary(scene, n=2, seed=top, settings=fast).seeds == [top, 0]


def test_vary_shapes_strength_and_metadata(backend: UnCLIP, fast: GenerateSettings, scene: Image.Image) -> None:
    weak = backend.vary(scene, n=2, seed=0, strength=0.1, settings=fast)
    strong = backend.vary(scene, n=2, seed=0, strength=1.0, settings=fast)
    assert [im.size for im in strong.images] == [(256, 256)] * 2
    assert diff(weak.images[0], scene).mean() < diff(strong.images[0], scene).mean()
    meta = json.loads(weak.images[0].info["parameters"])
    assert meta["operation"] == "vary" and meta["strength"] == 0.1 and meta["seed"] == 0
    assert "prior" not in meta and "mode" not in meta and meta["decoder"]["steps"] == 3  # only what it used
    painted = backend.inpaint(scene, box_image(), "a crab", n=1, settings=fast).images[0]
    assert json.loads(painted.info["parameters"])["prior"]["steps"] == 2  # the prompt goes through the prior
    steps = [p.stage for p in backend.vary_stream(scene, 1, 0, 0.5, "", fast)]
    assert steps == ["decoder"] * 2 + ["upsampler"]  # SDEdit: the last round(0.5 * steps) of each stage


def test_vary_the_papers_way_decodes_the_images_ddim_inversion_with_eta(backend: UnCLIP, fast: GenerateSettings,
                                                                       scene: Image.Image) -> None:  # fmt: skip
    """eta = 0: every seed decodes the one inversion to the same 64 px picture; eta > 0: DDIM's noise (each image's
    own generator) spreads them. Each PNG says how it was made; DDIM is the sampler whatever was asked."""
    low = fast.__class__(prior=fast.prior, decoder=fast.decoder, upsampler=UpsamplerSettings(steps=2, enabled=False))
    still, spread = (backend.vary(scene, n=2, seed=0, eta=eta, settings=low) for eta in (0.0, 1.0))
    first, other = pixels(still.images).astype(int)
    assert np.array_equal(first, other)  # the same x_T, no noise added: one picture
    assert np.abs(pixels(spread.images[:1]).astype(int) - pixels(spread.images[1:]).astype(int)).mean() > 5
    assert np.abs(pixels(spread.images[:1]).astype(int) - first).mean() > 5
    meta = read_metadata(spread.images[1])
    assert (meta["method"], meta["eta"], meta["decoder"]["scheduler"]) == ("ddim inversion", 1.0, "ddim")
    assert "strength" not in meta and read_metadata(backend.vary(scene, n=1, settings=fast).images[0])["strength"] == 1
    stages = [p.stage for p in backend.vary_stream(scene, 1, 0, 1.0, "", fast, eta=0.5)]
    assert stages == ["inversion"] * 3 + ["decoder"] * 3 + ["upsampler"] * 2
    assert len(stages) == planned_steps(fast, "image", 1.0, inversion=True)
    again = backend.vary(scene, n=2, seed=0, eta=1.0, settings=low)
    np.testing.assert_array_equal(pixels(again.images), pixels(spread.images))  # same seed, same pixels


def test_vary_inverts_under_the_embedding_and_caption_it_decodes_with(
        backend: UnCLIP, fast: GenerateSettings, scene: Image.Image, monkeypatch: pytest.MonkeyPatch) -> None:
    """The inversion must undo the decode that follows: the image's own embedding and the given caption."""
    seen = {}
    invert = pipeline.invert

    def spy(models, pixels_, embeds, text, steps):
        seen.update(embeds=embeds.clone(), tokens=text.tokens.clone(), steps=steps, side=pixels_.shape[-1])
        return (yield from invert(models, pixels_, embeds, text, steps))

    monkeypatch.setattr(pipeline, "invert", spy)
    edit = backend.vary(scene, n=2, prompt="a hot dog on the beach", eta=0.5, settings=fast)
    assert torch.equal(seen["tokens"], backend.encode_text(["a hot dog on the beach"]).tokens)
    torch.testing.assert_close(seen["embeds"][0].float(), edit.source_embeds.float())
    assert (seen["steps"], seen["side"]) == (fast.decoder.steps, 64)


def test_same_seed_same_pixels_and_batch_equals_singles(backend: UnCLIP, fast: GenerateSettings,
                                                        scene: Image.Image) -> None:  # fmt: skip
    mask = box_image()
    runs = {
        "vary": lambda seed, n: backend.vary(scene, n=n, seed=seed, strength=0.6, settings=fast),
        "inpaint": lambda seed, n: backend.inpaint(scene, mask, PROMPT, n=n, seed=seed, settings=fast),
        "zoom_out": lambda seed, n: backend.zoom_out(scene, 2.0, n=n, seed=seed, settings=fast),
    }
    for name, run in runs.items():
        a, b, other = run(3, 2), run(3, 2), run(4, 1)
        np.testing.assert_array_equal(pixels(a.images), pixels(b.images), err_msg=name)
        assert [read_metadata(im)["batch"] for im in a.images] == [{"size": 2, "index": i, "first_seed": 3}
                                                                     for i in range(2)], name  # fmt: skip
        batched, single = pixels(a.images[1:]).astype(int), pixels(other.images).astype(int)  # both seed 4
        # Batched convolutions round differently (~1e-7); random weights give huge raw samples (|x| ~ 1e5, then
        # clamped), so the rare pixel that lands inside [-1, 1] after cancelling keeps that error (as in generate).
        # Zoom-out's clamped x0 estimates re-enter every step, so up to ~0.5% of pixels differ; another seed
        # differs in nearly all of them (checked below).
        assert (batched != single).mean() < 1e-2, name
        assert (pixels(a.images[:1]).astype(int) != single).mean() > 0.05, name  # seed 3 repaints its region anew


BAD = [
    ("vary", {"strength": 1.5}, "strength must be between 0 and 1, got 1.5"),
    ("vary", {"eta": 1.5}, "eta must be between 0 and 1, got 1.5"),
    ("vary", {"eta": "x"}, "eta must be a number, got 'x'"),
    ("vary", {"eta": 0.5, "strength": 0.6}, "strength must be 1 with eta: eta varies the image's DDIM inversion"),
    ("vary", {"n": 0}, "n must be a whole number between 1 and 8, got 0"),
    ("inpaint", {"feather": -1}, "feather must be a whole number between 0 and 64, got -1"),
    ("inpaint", {"condition": "text"}, "condition must be one of prompt, image; got 'text'"),
    ("inpaint", {"invert": "false"}, "invert must be true or false, got 'false'"),  # bool("false") is True
    ("inpaint", {"prompt": "  "}, "prompt is empty: describe what to paint, e.g. 'a dog', or guide by the image alone"),
    ("zoom_out", {"factor": 0.5}, "factor must be between 1.1 and 4, got 0.5"),
    ("zoom_out", {"factor": "big"}, "factor must be a number, got 'big'"),
    ("zoom_out", {"anchor": "middle"}, "anchor must be one of center, left, right, top, bottom; got 'middle'"),
    ("zoom_out", {"seed": -1}, "seed must be a whole number between 0 and 4294967295, got -1"),
]


@pytest.mark.parametrize(("op", "bad", "message"), BAD, ids=[f"{o}-{next(iter(b))}" for o, b, _ in BAD])
def test_bad_options_are_refused(backend: UnCLIP, scene: Image.Image, op: str, bad: dict, message: str) -> None:
    args = {"inpaint": {"mask": box_image(), "prompt": PROMPT}}.get(op, {})
    with pytest.raises(InvalidInput) as err:
        getattr(backend, op)(scene, **{**args, **bad})
    assert message in str(err.value)


# -- uploads: one loader, clear errors, every odd format handled ------------------------------------------------
def png_header(width: int, height: int) -> bytes:
    """A tiny PNG file that claims width×height pixels (what a decompression bomb looks like to a server)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = zlib.compress(b"\0" * 8)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def encode(image: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **kw)
    return buf.getvalue()


UPLOAD_ERRORS = [
    (b"this is not an image", "image is not an image file PIL can read"),
    (b"", "image is missing: upload an image"),
    (encode(Image.new("RGB", (1, 1)), "PNG"), "image is too small: 1×1 px; it must be at least 16 px on each side"),
    (encode(Image.new("RGB", (300, 12)), "PNG"), "image is too small: 300×12 px"),
    (png_header(7000, 7000), "image is too large: 7000×7000 = 49,000,000 pixels (at most 40,000,000)"),
    (png_header(20000, 20000), "image is too large to decode safely"),
    (encode(Image.new("RGB", (64, 64)), "PNG")[:60], "image is damaged or truncated"),
]


@pytest.mark.parametrize(("data", "message"), UPLOAD_ERRORS,
                         ids=["not-image", "empty", "1x1", "thin", "too-large", "bomb", "truncated"])
def test_bad_uploads_get_clear_errors(data: bytes, message: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as err:
        inspect_upload(data)
    assert message in str(err.value)
    (tmp_path / "upload.png").write_bytes(data)  # the same from a file path, as the app passes them
    with pytest.raises(InvalidInput, match="image"):
        inspect_upload(tmp_path / "upload.png")
    with pytest.raises(InvalidInput, match="mask file not found: gone.png"):
        inspect_upload(tmp_path / "gone.png", "mask")


def test_uploads_from_a_path_close_their_file(tmp_path: Path) -> None:
    """PIL keeps an animated image's file open to seek its frames, until the image is collected (with a
    ResourceWarning); a server reading uploads closes each file itself."""
    frames = [Image.new("RGBA", (32, 32), c) for c in ("red", "lime", "blue")]
    gif = tmp_path / "anim.gif"
    gif.write_bytes(encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50))
    png = tmp_path / "anim.png"  # an APNG, as the editor's layers could be
    png.write_bytes(encode(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=50))
    gc.collect()  # earlier tests' garbage (an app test's event loop) is not this test's to count
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kept = [inspect_upload(gif), inspect_upload(png), mask_from_image(gif), mask_from_layers([png], (32, 32))]
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
    assert kept[0].image.getpixel((5, 5)) == (255, 0, 0) and kept[1].notes  # the images work once the file is closed
    with Image.open(gif) as image:  # a caller's own image is left open: it is theirs to close
        inspect_upload(image)
        assert image.getpixel((5, 5)) is not None


def test_odd_formats_are_normalised() -> None:
    frames = [Image.new("RGB", (32, 32), c) for c in ("red", "lime", "blue")]
    gif = inspect_upload(encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50))
    assert gif.image.getpixel((5, 5)) == (255, 0, 0) and gif.notes == ["animated GIF (3 frames): used its first frame"]
    cmyk = inspect_upload(encode(Image.new("CMYK", (32, 32), (0, 255, 255, 0)), "JPEG"))
    assert cmyk.image.mode == "RGB" and "converted from CMYK to RGB" in cmyk.notes
    assert np.abs(np.asarray(cmyk.image, dtype=int) - [255, 0, 0]).max() < 40  # still red
    deep = Image.fromarray(np.full((32, 32), 32768, dtype=np.uint16))  # 16-bit grey, half way
    assert inspect_upload(encode(deep, "PNG")).image.getpixel((0, 0)) == (128, 128, 128)  # not clipped to white
    dark = Image.fromarray(np.full((32, 32), 200, dtype=np.uint16))  # 16-bit, 0.3% of its range: near black
    assert inspect_upload(encode(dark, "PNG")).image.getpixel((0, 0)) == (1, 1, 1)  # it read as 8-bit 200
    ramp = np.tile(np.linspace(-1000, 1_000_000, 32).round().astype(np.int32), (32, 1))  # 32-bit data, no range
    wide = np.asarray(inspect_upload(encode(Image.fromarray(ramp, mode="I"), "TIFF")).image)[0, :, 0]
    assert wide[0] == 0 and wide[-1] == 255 and 120 <= wide[16] <= 136  # was white from a 16th of the way
    rgba = Image.new("RGBA", (32, 32), (255, 0, 0, 255))
    rgba.putpixel((0, 0), (0, 0, 0, 0))
    up = inspect_upload(encode(rgba, "PNG"))
    assert up.image.getpixel((0, 0)) == (255, 255, 255) and up.alpha.getpixel((0, 0)) == 0  # white, repaint
    assert up.notes == []
    clear = inspect_upload(encode(Image.new("RGBA", (32, 32), (255, 0, 0, 0)), "PNG"))  # nothing visible at all
    assert clear.notes == ["the image is fully transparent: the model sees plain white"]
    palette = Image.new("P", (32, 32), 1)
    palette.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    assert inspect_upload(encode(palette, "PNG")).image.getpixel((3, 3)) == (0, 0, 255)
    grey = inspect_upload(encode(Image.new("L", (32, 32), 77), "PNG"))
    assert grey.image.mode == "RGB" and grey.image.getpixel((1, 1)) == (77, 77, 77) and grey.alpha is None


def test_exif_rotation_and_the_centre_crop() -> None:
    wide = Image.new("RGB", (64, 32), "red")
    wide.paste((0, 0, 255), (0, 0, 32, 32))  # left half blue
    exif = Image.Exif()
    exif[274] = 6  # "rotate 90° clockwise to display"
    up = inspect_upload(encode(wide, "JPEG", exif=exif.tobytes()))
    assert up.size == (32, 64) and "rotated as its EXIF orientation says" in up.notes
    work, box = working_image(Image.new("RGB", (400, 300)), 256)
    assert work.size == (256, 256) and box == (50, 0, 350, 300)
    assert describe_crop((400, 300), 256) == "cropped 400×300 to its centre 300×300, resized to 256×256"
    assert describe_crop((256, 256), 256) == "used as is (256×256)"


def test_mask_conventions() -> None:
    white = mask_from_image(box_image())  # opaque: white = repaint
    assert np.array_equal(np.asarray(white) > 0, np.asarray(box_image()) > 0)
    cut = Image.new("RGBA", (256, 256), (0, 0, 0, 255))
    cut.paste((0, 0, 0, 0), BOX)  # DALL·E: transparent = repaint
    assert np.array_equal(np.asarray(mask_from_image(encode(cut, "PNG"))) > 0, np.asarray(box_image()) > 0)
    stroke = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    stroke.paste((255, 0, 170, 255), BOX)  # a brush layer: painted = alpha > 0
    assert np.array_equal(np.asarray(mask_from_layers([encode(stroke, "PNG")], (256, 256))) > 0,
                          np.asarray(box_image()) > 0)  # fmt: skip
    assert mask_from_layers([encode(Image.new("RGBA", (256, 256)), "PNG")], (256, 256)) is None
    truncated = encode(stroke, "PNG")[:-200]  # the header reads; the pixels do not
    with pytest.raises(InvalidInput, match="mask is damaged or truncated"):
        mask_from_layers([truncated], (256, 256))


def test_a_brush_layer_mask_repaints_its_strokes(backend: UnCLIP, fast: GenerateSettings, scene: Image.Image) -> None:
    """White strokes on a transparent layer (a brush layer saved as PNG) were read by DALL·E's convention, so the
    strokes were kept and the rest repainted, with no word (Python API QA)."""
    layer = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    layer.paste((255, 255, 255, 255), BOX)
    notes: list[str] = []
    assert np.array_equal(np.asarray(mask_from_image(encode(layer, "PNG"), notes=notes)) > 0,
                          np.asarray(box_image()) > 0)  # fmt: skip
    assert notes == ["mask: white strokes on a transparent background, read as a brush layer: the strokes are the "
                     "region to repaint"]  # fmt: skip
    edit = backend.inpaint(scene, layer, PROMPT, feather=0, settings=fast)
    changed = np.abs(np.asarray(edit.images[0], dtype=int) - np.asarray(scene, dtype=int)).max(-1) > 0
    assert not changed[outside(BOX, 0)].any() and changed[BOX[1]:BOX[3], BOX[0]:BOX[2]].mean() > 0.5
    assert notes[0] in edit.warnings
    photo = Image.new("RGBA", (256, 256), (200, 220, 255, 255))  # DALL·E's: a picture with a hole, not all white
    photo.paste((0, 0, 0, 0), BOX)
    assert np.array_equal(np.asarray(mask_from_image(photo)) > 0, np.asarray(box_image()) > 0)
    sheet = Image.new("RGBA", (256, 256), (255, 255, 255, 255))  # a white sheet with a hole: the hole, still
    sheet.paste((0, 0, 0, 0), BOX)
    assert np.array_equal(np.asarray(mask_from_image(sheet)) > 0, np.asarray(box_image()) > 0)


def test_a_thin_stroke_on_a_big_photo_survives_the_shrink(backend: UnCLIP, fast: GenerateSettings) -> None:
    """A 2 px stroke on a 1024 px square averaged to under half at 256 px and vanished: 'mask is empty where the
    model works: what it marks lies outside the centred square', on a square image (Python API QA)."""
    photo, mask = Image.new("RGB", (1024, 1024), (90, 140, 60)), Image.new("L", (1024, 1024), 0)
    mask.paste(255, (500, 100, 502, 900))  # 2 px wide
    edit = backend.inpaint(photo, mask, PROMPT, feather=0, settings=fast)
    repainted = np.asarray(edit.mask) > 127  # at the output size
    assert repainted.any() and repainted.mean() < 0.02
    inverted = Image.eval(mask, lambda v: 255 - v)  # the same region, through invert: kept thin, not lost
    edit = backend.inpaint(photo, inverted, PROMPT, feather=0, invert=True, settings=fast)
    assert np.array_equal(np.asarray(edit.mask) > 127, repainted)


def test_images_as_arrays_are_read_and_other_types_refused_by_name(backend: UnCLIP, fast: GenerateSettings,
                                                                     scene: Image.Image) -> None:  # fmt: skip
    """A numpy array or a tensor was a TypeError from deep in pathlib (Python API QA)."""
    as_array = backend.vary(np.asarray(scene), seed=3, settings=fast)
    as_image = backend.vary(scene, seed=3, settings=fast)
    assert np.array_equal(np.asarray(as_array.images[0]), np.asarray(as_image.images[0]))
    with pytest.raises(InvalidInput, match=r"^image as an array must be uint8 \(H, W\), \(H, W, 3\) or \(H, W, 4\), "
                                           r"or bool \(H, W\), got float32 64×64×3$"):  # fmt: skip
        backend.vary(np.zeros((64, 64, 3), np.float32))
    for bad in (torch.zeros(3, 64, 64), 5, [scene]):
        with pytest.raises(InvalidInput, match=r"^image must be an image file's path, its bytes, a PIL image or a "
                                               r"uint8 array .* got (Tensor|int|list)$"):  # fmt: skip
            backend.vary(bad)
    with pytest.raises(InvalidInput, match="^mask must be an image file's path"):
        backend.inpaint(scene, torch.ones(256, 256), PROMPT)
    as_bool = np.asarray(box_image()) > 0  # a boolean mask, as numpy makes them: True = repaint
    assert np.array_equal(np.asarray(mask_from_image(as_bool)), np.asarray(box_image()))


def test_feather_is_exact_inside_and_beyond_its_band() -> None:
    m = mask_tensor(box_image())  # (1, 1, 256, 256)
    soft = feather(m, FEATHER)[0, 0].numpy()
    left, top, right, bottom = BOX
    assert (soft[top:bottom, left:right] == 1).all() and (soft[outside(BOX, FEATHER + 1)] == 0).all()
    assert 0 < soft[top + 40, left - 2] < 1 and soft[top + 40, left - 2] > soft[top + 40, left - 5]  # a ramp
    full = feather(torch.ones(1, 1, 64, 64), 9)
    assert (full == 1).all()
    edge = feather(mask_tensor(box_image((0, 0, 40, 256))), 8)[0, 0]
    assert (edge[:, :40] == 1).all()  # a mask touching the border stays 1 up to it


# -- animation, CLI, eval --------------------------------------------------------------------------------------
def test_zoom_gif_pulls_back_through_every_step(tmp_path: Path) -> None:
    a, b, c = (Image.new("RGB", (64, 64), col) for col in ("red", "green", "blue"))
    steps = [ZoomStep(a), ZoomStep(b, (0.25, 0.25, 0.75, 0.75)), ZoomStep(c, (0.0, 0.25, 0.5, 0.75))]
    frames = zoom_frames(steps, frames_per_step=4)
    assert len(frames) == 1 + 2 * 4 and frames[-1].getpixel((2, 2)) == (0, 0, 255)
    assert frames[1].getpixel((32, 32)) == (255, 0, 0)  # the previous image, pasted sharp in the middle
    with Image.open(save_gif(steps, tmp_path / "zoom.gif", frames_per_step=4)) as gif:
        assert gif.n_frames == 9 and gif.info["loop"] == 0


def test_cli_verbs(tmp_path: Path, capsys: pytest.CaptureFixture[str], scene: Image.Image) -> None:
    scene.save(tmp_path / "in.png")
    box_image().save(tmp_path / "mask.png")
    fast = ["--model", "tiny-random", "--decoder-steps", "2", "--upsampler-steps", "1", "--prior-steps", "2"]
    src, mask = str(tmp_path / "in.png"), str(tmp_path / "mask.png")
    assert cli_main(["vary", src, "-n", "2", "--seed", "3", "--out", str(tmp_path / "v"), *fast]) == 0
    assert sorted(p.name for p in (tmp_path / "v").iterdir()) == ["vary_00000003.png", "vary_00000004.png"]
    assert read_metadata(tmp_path / "v" / "vary_00000003.png")["operation"] == "vary"
    capsys.readouterr()
    assert cli_main(["vary", src, "-n", "1", "--eta", "0.25", "--out", str(tmp_path / "e"), *fast,
                     "--decoder-scheduler", "dpm++"]) == 0  # fmt: skip
    meta = read_metadata(tmp_path / "e" / "vary_00000000.png")
    assert (meta["eta"], meta["decoder"]["scheduler"]) == (0.25, "ddim")  # the paper's way, with DDIM, and it says so
    assert "note: --eta decodes with ddim, the sampler its inversion undoes, not --decoder-scheduler dpm++" in \
        capsys.readouterr().err
    assert cli_main(["inpaint", src, "--mask", mask, "a crab", "--out", str(tmp_path / "i"), *fast]) == 0
    assert read_metadata(tmp_path / "i" / "inpaint_00000000.png")["prompt"] == "a crab"
    assert cli_main(["zoom-out", src, "--factor", "2", "--times", "2", "--gif", "--out", str(tmp_path / "z"),
                     *fast]) == 0  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "z").iterdir()) == [
        "zoom-out_00000000_x1.png", "zoom-out_00000001_x2.png", "zoom.gif"]  # fmt: skip
    # each ring with fresh noise: one seed for every zoom repeated one pattern ring after ring
    assert read_metadata(tmp_path / "z" / "zoom-out_00000001_x2.png")["seed"] == 1
    capsys.readouterr()
    box_image((0, 0, 0, 0)).save(tmp_path / "empty.png")
    empty = str(tmp_path / "empty.png")
    assert cli_main(["inpaint", src, "--mask", empty, "a crab", "--out", str(tmp_path), *fast]) == 2
    assert "error: mask is empty" in capsys.readouterr().err
    assert cli_main(["zoom-out", src, "--times", "0", "--out", str(tmp_path), *fast]) == 2
    assert "error: times must be a whole number between 1 and 50, got 0" in capsys.readouterr().err
    assert cli_main(["vary", src, "--out", str(tmp_path), "--model", "no-such-model"]) == 2
    assert "error: model must be one of" in capsys.readouterr().err


def test_the_cli_never_overwrites_an_earlier_result_nor_its_input(tmp_path: Path, scene: Image.Image) -> None:
    """Zooming out again from the last result, into the same folder, overwrote that result (the input itself)."""
    scene.save(tmp_path / "in.png")
    fast = ["--model", "tiny-random", "--decoder-steps", "2", "--upsampler-steps", "1", "--prior-steps", "2"]
    out = tmp_path / "z"
    assert cli_main(["zoom-out", str(tmp_path / "in.png"), "--gif", "--times", "2", "--out", str(out), *fast]) == 0
    first = out / "zoom-out_00000001_x2.png"
    before = first.read_bytes()
    assert cli_main(["zoom-out", str(first), "--gif", "--times", "2", "--out", str(out), *fast]) == 0
    assert first.read_bytes() == before  # the input is untouched
    assert {p.name for p in out.iterdir()} == {
        "zoom-out_00000000_x1.png", "zoom-out_00000001_x2.png", "zoom.gif",  # the first run's
        "zoom-out_00000000_x1-1.png", "zoom-out_00000001_x2-1.png", "zoom-1.gif"}  # fmt: skip
    assert read_metadata(out / "zoom-out_00000000_x1-1.png")["operation"] == "zoom_out"
    assert unused_path(out / "zoom.gif") == out / "zoom-2.gif" and unused_path(out / "new.png") == out / "new.png"


def test_an_animated_mask_says_which_frame_was_used(backend: UnCLIP, fast: GenerateSettings, scene: Image.Image,
                                                    tmp_path: Path) -> None:  # fmt: skip
    """The image's own notes ('used its first frame') were given; the mask's were dropped."""
    frames = [box_image(), Image.new("L", (256, 256), 0)]
    frames[0].save(tmp_path / "mask.gif", save_all=True, append_images=frames[1:])
    edit = backend.inpaint(scene, str(tmp_path / "mask.gif"), "a crab", n=1, settings=fast)
    assert "mask: animated GIF (2 frames): used its first frame" in edit.warnings


def test_inpaint_eval_runs_with_an_untrained_judge(backend: UnCLIP) -> None:
    world = EmojiWorld()
    scene = one_object_scenes(world, 1, seed=0)[0]
    mask = np.asarray(box_mask(scene.objects[0].box, 64)) > 0
    x0, y0, x1, y1 = scene.objects[0].box
    assert mask[int(y0 * 64):int(y1 * 64), int(x0 * 64):int(x1 * 64)].all()  # the object is inside the mask
    report = inpaint_eval(backend, new_judge(world).eval(), n=2, seed=0, world=world)
    assert report["n"] == 2 and len(report["trials"]) == 2 and 0 <= report["success_rate"] <= 1
    t = report["trials"][0]
    assert t["added"] != t["removed"] and world.spec(t["added"]).phrases[0][0] in t["prompt"]
    assert isinstance(t["success"], bool) and 0 <= t["p_added"] <= 1


def test_zoom_seeds_move_on_one_batch_per_zoom_and_wrap() -> None:
    from unclip.settings import zoom_seeds

    assert zoom_seeds([7], 1) == [7] and zoom_seeds([7], 3) == [9]
    assert zoom_seeds([4, 5], 2) == [6, 7]  # n images a zoom: the next n seeds
    assert zoom_seeds([2**32 - 1], 2) == [0]  # every seed one the seed box accepts
