"""The explorer's model side on tiny-random: slerp, text diffs, projections, layouts, caching, decoding (CPU)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import OnMPS
from PIL import Image

from unclip import InvalidInput, UnCLIP
from unclip import explore as E
from unclip.images import read_metadata, save_png, to_tensor
from unclip.sampling import drain
from unclip.settings import DecoderSettings, GenerateSettings, PriorSettings, UpsamplerSettings

FAST = GenerateSettings(prior=PriorSettings(steps=2, candidates=1), decoder=DecoderSettings(steps=2, guidance=2.0),
                        upsampler=UpsamplerSettings(steps=1, enabled=False))  # fmt: skip


def unit(*shape: int, seed: int = 0) -> torch.Tensor:
    return F.normalize(torch.randn(*shape, generator=torch.Generator().manual_seed(seed)), dim=-1)


def angle(u: torch.Tensor, v: torch.Tensor) -> float:
    return math.acos(float(F.cosine_similarity(u.double(), v.double(), dim=0).clamp(-1, 1)))


# -- slerp ----------------------------------------------------------------------------------------------------
def test_slerp_stays_on_the_sphere_with_exact_endpoints() -> None:
    a, b = unit(64, seed=1), unit(64, seed=2)
    path = E.slerp(a, b, torch.linspace(0, 1, 9))
    assert path.shape == (9, 64)
    torch.testing.assert_close(path.norm(dim=-1), torch.ones(9), atol=1e-6, rtol=0)
    assert torch.equal(path[0], a) and torch.equal(path[-1], b)


def test_slerp_takes_vectors_from_a_device_without_float64() -> None:
    """Inversion noise comes from the model's device, and t is on the CPU: the path used to be worked out in float64
    there, which CUDA refused (t on another device) and MPS too (no float64). It is worked out on the CPU now."""
    a, b = unit(2, 48, seed=7)
    t = torch.linspace(0, 1, 5)
    expected = E.slerp(a, b, t)
    path = E.slerp(a.as_subclass(OnMPS), b.as_subclass(OnMPS), t)
    assert path.dtype == torch.float32
    torch.testing.assert_close(path.as_subclass(torch.Tensor), expected, atol=0, rtol=0)
    assert E.angles_deg(path, a.as_subclass(OnMPS)) == E.angles_deg(expected, a)
    a.requires_grad_(True)  # a notebook may differentiate through the path
    E.slerp(a, b, t)[1:-1].sum().backward()
    assert a.grad is not None and bool(a.grad.abs().sum() > 0)


def test_slerp_steps_are_evenly_spaced_in_angle_on_the_great_circle() -> None:
    a, b = unit(64, seed=3), unit(64, seed=4)
    path = E.slerp(a, b, torch.linspace(0, 1, 7))
    steps = [angle(path[i], path[i + 1]) for i in range(6)]
    assert max(steps) - min(steps) < 1e-5
    assert abs(sum(steps) - angle(a, b)) < 1e-5  # no detour: the steps add up to the angle between a and b
    basis = torch.stack([a, b]).T.double()  # (D, 2)
    coef = torch.linalg.lstsq(basis, path.T.double()).solution  # (2, 7)
    assert float((basis @ coef - path.T.double()).abs().max()) < 1e-6  # every step is in the plane of a and b


def test_slerp_is_not_the_elementwise_formula() -> None:
    """diffusers' community version takes arccos per element; ours equals the textbook vector formula."""
    a, b, t = unit(8, seed=5), unit(8, seed=6), 0.3
    omega = math.acos(float(a @ b))
    expected = (math.sin((1 - t) * omega) * a + math.sin(t * omega) * b) / math.sin(omega)
    torch.testing.assert_close(E.slerp(a, b, [t])[0], expected, atol=1e-6, rtol=0)


def test_slerp_interpolates_the_length_of_unnormalised_vectors() -> None:
    a, b = 2 * unit(16, seed=7), 4 * unit(16, seed=8)
    path = E.slerp(a, b, torch.tensor([0.0, 0.5, 1.0]))
    torch.testing.assert_close(path.norm(dim=-1), torch.tensor([2.0, 3.0, 4.0]), atol=1e-5, rtol=0)
    assert torch.equal(path[0], a) and torch.equal(path[2], b)


def test_slerp_identical_inputs_give_a_constant_path_without_nan() -> None:
    a = unit(32, seed=9)
    path = E.slerp(a, a.clone(), torch.linspace(0, 1, 5))
    assert torch.isfinite(path).all()
    torch.testing.assert_close(path, a.expand(5, -1), atol=1e-6, rtol=0)


def test_slerp_opposite_inputs_take_the_documented_half_turn() -> None:
    a = unit(32, seed=10)
    path = E.slerp(a, -a, torch.linspace(0, 1, 5))
    assert torch.isfinite(path).all()
    torch.testing.assert_close(path.norm(dim=-1), torch.ones(5), atol=1e-6, rtol=0)
    torch.testing.assert_close(path[2].double(), E._orthogonal_to(a.double()), atol=1e-6, rtol=0)
    assert abs(float(path[2] @ a)) < 1e-6  # half way = orthogonal to both ends
    assert [round(angle(p, a) / math.pi, 4) for p in path] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert torch.equal(path[-1], -a)


def test_slerp_refuses_a_zero_vector() -> None:
    with pytest.raises(InvalidInput, match="non-zero"):
        E.slerp(torch.zeros(4), unit(4), [0.5])


# -- text diffs (paper §3.3) ------------------------------------------------------------------------------------
def test_text_diff_direction_and_path_follow_the_paper() -> None:
    z_t0, z_t, z_i = unit(32, seed=11), unit(32, seed=12), unit(32, seed=13)
    z_d = E.text_diff_direction(z_t0, z_t)
    torch.testing.assert_close(z_d, (z_t - z_t0) / (z_t - z_t0).norm(), atol=1e-6, rtol=0)
    path, thetas = E.text_diff_path(z_i, z_d, steps=5, max_theta=0.5)
    assert thetas == [0.0, 0.125, 0.25, 0.375, 0.5]
    assert torch.equal(path[0], z_i)
    torch.testing.assert_close(path[4], E.slerp(z_i, z_d, [0.5])[0], atol=1e-6, rtol=0)
    assert abs(angle(path[4], z_i) - 0.5 * angle(z_i, z_d)) < 1e-5  # theta = half of the angle to z_d


def test_a_text_diff_keeps_the_image_embeddings_length() -> None:
    """Karlo's and Kandinsky's image embeddings are not unit vectors: the path turns z_i, it does not shrink it."""
    z_i, z_d = 5 * unit(32, seed=13), unit(32, seed=14)
    path, _ = E.text_diff_path(z_i, z_d, steps=5, max_theta=1.0)
    torch.testing.assert_close(path.norm(dim=-1), torch.full((5,), 5.0), atol=1e-5, rtol=0)
    assert angle(path[-1], z_d) < 1e-3 and torch.equal(path[0], z_i)  # theta 1 reaches z_d's direction


def test_a_text_diff_direction_ignores_the_text_embeddings_lengths() -> None:
    """Karlo's and Kandinsky's text embeddings are not unit vectors; the paper's z_d is taken between unit ones."""
    z_t0, z_t = unit(32, seed=11), unit(32, seed=12)
    torch.testing.assert_close(E.text_diff_direction(3 * z_t0, 7 * z_t), E.text_diff_direction(z_t0, z_t),
                               atol=1e-6, rtol=0)
    with pytest.raises(InvalidInput, match="to caption must differ"):  # a longer copy of one caption: no edit
        E.text_diff_direction(z_t0, 2 * z_t0)


def test_text_diff_needs_two_different_captions() -> None:
    z = unit(8)
    with pytest.raises(InvalidInput, match="to caption must differ from the from caption"):
        E.text_diff_direction(z, z.clone())


def test_text_diff_on_the_backend_matches_the_formula(backend: UnCLIP) -> None:
    image = torch.zeros(1, 3, 64, 64)
    z_i = backend.encode_image(image)[0]
    strip = backend.text_diff(z_i, "a red apple", "a green apple", steps=3, max_theta=0.4, seed=1, settings=FAST,
                              noise="seed")  # fmt: skip
    texts = backend.encode_text(["a red apple", "a green apple"]).embeds
    z_d = F.normalize(texts[1] - texts[0], dim=0)
    expected = E.slerp(z_i, z_d, [0.0, 0.2, 0.4])
    torch.testing.assert_close(strip.embeds, expected, atol=1e-5, rtol=0)
    assert strip.fractions == [0.0, 0.2, 0.4] and len(strip.images) == 3


# -- decoding with fixed noise ------------------------------------------------------------------------------------
def test_decode_uses_the_same_noise_for_every_row(backend: UnCLIP) -> None:
    z = unit(2, backend.models.embed_dim, seed=14)
    same = backend.decode_embeddings(torch.stack([z[0], z[0], z[1]]), seed=3, settings=FAST)
    px = [np.asarray(im).astype(int) for im in same]

    def nearly_equal(a: np.ndarray, b: np.ndarray) -> bool:
        # batched convolutions may round rows differently (~1e-7; seen on one AVX2-only host, not on earlier ones),
        # which can move a random-weight model's pixel by one level
        return np.abs(a - b).max() <= 1 and (a != b).mean() < 1e-2

    assert nearly_equal(px[0], px[1]) and np.abs(px[0] - px[2]).max() > 8
    alone = np.asarray(backend.decode_embeddings(z[1:], seed=3, settings=FAST)[0]).astype(int)
    assert nearly_equal(alone, px[2])  # a strip = its frames decoded one by one with the same seed
    other = np.asarray(backend.decode_embeddings(z[1:], seed=4, settings=FAST)[0])
    assert np.abs(other.astype(int) - px[2]).max() > 8


def test_interpolate_endpoints_and_metadata(backend: UnCLIP, tmp_path) -> None:
    strip = backend.interpolate("a red apple", "a cat", steps=4, seed=2, use_prior=False, settings=FAST)
    texts = backend.encode_text(["a red apple", "a cat"]).embeds
    torch.testing.assert_close(strip.embeds[[0, -1]], texts, atol=1e-6, rtol=0)
    assert strip.fractions == [0.0, 0.3333, 0.6667, 1.0] and strip.angles[0] == 0.0
    meta = read_metadata(save_png(strip.images[1], tmp_path / "f.png"))
    assert meta["tool"] == "interpolate" and meta["t"] == 0.3333 and meta["seed"] == 2
    assert meta["model"] == "tiny-random" and meta["caption"] == "" and meta["decoder"]["steps"] == 2
    assert (meta["start"], meta["end"]) == ("a red apple", "a cat")  # what it went between: it was not recorded
    other = backend.interpolate(unit(backend.models.embed_dim), "a cat", steps=2, settings=FAST, use_prior=False)
    assert read_metadata(save_png(other.images[0], tmp_path / "g.png"))["start"] == "an embedding"


def test_text_diff_records_the_picture_it_edited(backend: UnCLIP, tmp_path) -> None:
    picture = tmp_path / "red.png"
    Image.new("RGB", (64, 64), "red").save(picture)
    strip = backend.text_diff(str(picture), "a cat", "a dog", steps=2, settings=FAST)
    meta = read_metadata(save_png(strip.images[1], tmp_path / "f.png"))
    assert (meta["tool"], meta["image"], meta["from"], meta["to"]) == ("text_diff", "red.png", "a cat", "a dog")
    labelled = backend.text_diff_stream(Image.open(picture), "a cat", "a dog", steps=2, settings=FAST, label="#7")
    assert drain(labelled).images[0].info["parameters"].count('"image": "#7"') == 1


def test_a_text_diff_starts_every_frame_from_the_pictures_ddim_inversion(backend: UnCLIP, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    picture = Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).resize((256, 256))
    run = dict(steps=2, max_theta=0.5, seed=1, settings=FAST)  # noqa: C408
    stream = backend.text_diff_stream(picture, "a cat", "a dog", **run)
    progress, inverted = [], None
    while inverted is None:
        try:
            progress.append(next(stream))
        except StopIteration as stop:
            inverted = stop.value
    assert [p.stage for p in progress] == ["inversion"] * 2 + ["decoder"] * 2  # FAST: 2 decoder steps
    assert len(progress) == E.strip_steps(FAST, 0, inversions=1)  # what the progress bar counts
    again = backend.text_diff(picture, "a cat", "a dog", **run)
    seeded = backend.text_diff(picture, "a cat", "a dog", **run, noise="seed")
    px = [[np.asarray(im).astype(int) for im in s.images] for s in (inverted, again, seeded)]
    assert all(np.array_equal(a, b) for a, b in zip(px[0], px[1], strict=True))  # same seed, same pixels
    assert all(np.abs(a - b).max() > 8 for a, b in zip(px[0], px[2], strict=True))  # other noise
    meta, seeded_meta = (read_metadata(save_png(s.images[1], tmp_path / f"{i}.png"))
                         for i, s in enumerate((inverted, seeded)))  # fmt: skip
    assert (meta["noise"], meta["decoder"]["scheduler"]) == ("inversion", "ddim")  # the sampler it inverts
    assert (seeded_meta["noise"], seeded_meta["decoder"]["scheduler"]) == ("seed", FAST.decoder.scheduler)
    assert inverted.reconstruction == E.level_error(inverted.images[0], picture) and seeded.reconstruction is None
    # an embedding with its picture is the picture itself
    z = backend.encode_image(to_tensor(E.square(picture)))[0]
    from_embedding = backend.text_diff(z, "a cat", "a dog", **run, picture=picture)
    assert all(np.array_equal(np.asarray(a), b) for a, b in zip(from_embedding.images, px[0], strict=True))


def test_an_interpolation_from_inversions_ends_on_each_pictures_own_redraw(backend: UnCLIP) -> None:
    """noise='inversion' (paper §3.2): frame t starts from slerp(x_T(a), x_T(b), t), so the first frame is exactly
    a text diff's theta = 0 frame of picture a (same inversion, same decode), and the last is picture b's."""
    rng = np.random.default_rng(3)
    a, b = (Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)) for _ in range(2))
    strip = backend.interpolate(a, b, steps=3, seed=2, settings=FAST, noise="inversion")
    for frame, picture in ((strip.images[0], a), (strip.images[-1], b)):
        alone = backend.text_diff(picture, "a cat", "a dog", steps=2, seed=2, settings=FAST).images[0]
        d = np.abs(np.asarray(frame).astype(int) - np.asarray(alone).astype(int))
        assert d.max() <= 1 and (d > 0).mean() < 1e-2, (d.max(), (d > 0).mean())  # batched rounding only
    middle = read_metadata(strip.images[1])
    assert (middle["noise"], middle["decoder"]["scheduler"]) == ("inversion", "ddim")
    seeded = backend.interpolate(a, b, steps=3, seed=2, settings=FAST)
    assert read_metadata(seeded.images[1])["noise"] == "seed" and seeded.reconstruction is None
    assert strip.reconstruction == round((E.level_error(strip.images[0], a) + E.level_error(strip.images[-1], b)) / 2,
                                         2)  # fmt: skip
    z = backend.encode_image(to_tensor(E.square(a)))[0]  # an embedding end with its picture: the same frame
    given = backend.interpolate(z, b, steps=3, seed=2, settings=FAST, noise="inversion", pictures=(a, None))
    assert np.array_equal(np.asarray(given.images[0]), np.asarray(strip.images[0]))  # the same batch
    with pytest.raises(InvalidInput, match="noise: 'inversion' starts from two pictures, and end is a caption"):
        backend.interpolate(a, "a cat", steps=2, settings=FAST, noise="inversion")
    with pytest.raises(InvalidInput, match="noise: 'inversion' needs the start's picture"):
        backend.interpolate(z, b, steps=2, settings=FAST, noise="inversion")
    with pytest.raises(InvalidInput, match="end picture must be an image file, its bytes or a PIL image, got int"):
        backend.interpolate(a, b, steps=2, settings=FAST, noise="inversion", pictures=(None, 3))


def test_level_error_compares_at_the_smaller_size() -> None:
    """A 256 px frame against a point's 64 px picture is measured at 64 px, not against the picture blown up."""
    rng = np.random.default_rng(1)
    small = Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    big = small.resize((256, 256), Image.Resampling.NEAREST)  # the same picture, 4x
    assert E.level_error(big, small) == E.level_error(small, big) < 25  # blowing `small` up instead: 26.8
    assert E.level_error(small, small) == 0.0


def test_interpolate_through_the_prior_uses_the_prior_sample(backend: UnCLIP) -> None:
    from unclip import pipeline

    strip = backend.interpolate("a red apple", unit(backend.models.embed_dim), steps=2, seed=5, settings=FAST)
    gen = [torch.Generator().manual_seed(5)]
    z = drain(pipeline.sample_prior(backend.models, backend.encode_text(["a red apple"]), backend.empty_text(),
                                    FAST.prior, gen))  # fmt: skip
    torch.testing.assert_close(strip.embeds[0], z[0], atol=1e-6, rtol=0)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"steps": 1}, "steps must be a whole number between 2 and 16, got 1"),
    ({"seed": -1}, "seed must be a whole number"),
    ({"start": "  "}, "start is empty"),
    ({"end": torch.zeros(3)}, "end embedding must have shape"),
])  # fmt: skip
def test_interpolate_validation_names_the_field(backend: UnCLIP, kwargs: dict, message: str) -> None:
    args = {"start": "a cat", "end": "a dog", "steps": 3, "seed": 0, "settings": FAST, **kwargs}
    with pytest.raises(InvalidInput, match=message):
        backend.interpolate(**args)


def test_text_diff_validation_names_the_field(backend: UnCLIP) -> None:
    z = unit(backend.models.embed_dim)
    with pytest.raises(InvalidInput, match="max theta must be between 0 and 1, got 2"):
        backend.text_diff(z, "a cat", "a dog", max_theta=2, settings=FAST)
    with pytest.raises(InvalidInput, match="from caption is empty"):
        backend.text_diff(z, "", "a dog", settings=FAST)
    with pytest.raises(InvalidInput, match="image is missing: give the picture to edit"):
        backend.text_diff(None, "a cat", "a dog", settings=FAST)
    with pytest.raises(InvalidInput, match=re.escape(E.NEEDS_PICTURE)):  # an embedding cannot be inverted
        backend.text_diff(z, "a cat", "a dog", settings=FAST)
    with pytest.raises(InvalidInput, match="noise must be one of inversion, seed; got 'ddim'"):
        backend.text_diff(z, "a cat", "a dog", settings=FAST, noise="ddim")
    with pytest.raises(InvalidInput, match="picture must be an image file, its bytes or a PIL image, got Tensor"):
        backend.text_diff(z, "a cat", "a dog", settings=FAST, picture=z)
    with pytest.raises(InvalidInput, match="^image is not an image file"):  # the field given, not 'picture'
        backend.text_diff(b"not a png", "a cat", "a dog", settings=FAST)
    with pytest.raises(InvalidInput, match="^image file not found: no-such.png"):
        backend.text_diff(Path("no-such.png"), "a cat", "a dog", settings=FAST)
    with pytest.raises(InvalidInput, match="^picture is not an image file"):
        backend.text_diff(z, "a cat", "a dog", settings=FAST, picture=b"not a png")


@pytest.mark.parametrize("shape", [(2, 5), (4,), ()])
def test_decode_refuses_embeddings_of_the_wrong_shape(backend: UnCLIP, shape: tuple[int, ...]) -> None:
    with pytest.raises(InvalidInput, match=rf"embeddings must have shape \(N, {backend.models.embed_dim}\), got"):
        backend.decode_embeddings(torch.zeros(shape), seed=0, settings=FAST)


def test_image_endpoints_are_read_as_uploads_are(backend: UnCLIP, tmp_path: Path) -> None:
    """Transparency on white and 16-bit scaled, as every tab reads a picture: the same picture, one embedding."""
    from unclip.uploads import load_upload

    rgba = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    rgba.paste((200, 30, 30, 255), (16, 16, 48, 48))  # a red square on a transparent background
    grey16 = Image.fromarray((np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16))
    for picture in (rgba, grey16):
        as_upload = backend.interpolate(load_upload(picture), "a dog", steps=2, use_prior=False, settings=FAST)
        direct = backend.interpolate(picture, "a dog", steps=2, use_prior=False, settings=FAST)
        torch.testing.assert_close(direct.embeds[0], as_upload.embeds[0], atol=1e-6, rtol=0)
    rgba.save(tmp_path / "red.png")
    from_file = backend.text_diff(str(tmp_path / "red.png"), "a cat", "a dog", steps=2, settings=FAST)
    from_bytes = backend.text_diff((tmp_path / "red.png").read_bytes(), "a cat", "a dog", steps=2, settings=FAST)
    from_pil = backend.text_diff(load_upload(rgba), "a cat", "a dog", steps=2, settings=FAST)
    torch.testing.assert_close(from_file.embeds, from_pil.embeds, atol=1e-6, rtol=0)
    torch.testing.assert_close(from_bytes.embeds, from_pil.embeds, atol=1e-6, rtol=0)
    with pytest.raises(InvalidInput, match="image file not found: no-such.png"):  # not a caption's embedding
        backend.text_diff(str(tmp_path / "no-such.png"), "a cat", "a dog", steps=2, settings=FAST)


BAD_DECODES = [
    ({"embeds": "nan"}, "embeddings must be finite numbers: got NaN or infinity"),  # decoded to black before
    ({"embeds": "huge"}, "embeddings must have a length (L2 norm) of at most 10000, got 1e+20"),  # black, too
    ({"embeds": 0}, "embeddings: decode 1 to 16 at a time, got 0"),
    ({"embeds": 17}, "embeddings: decode 1 to 16 at a time, got 17"),
    ({"embeds": "list"}, "embeddings must be a torch tensor, got list"),
    ({"caption": 5}, "caption must be text, got int"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_DECODES, ids=[m.split(":")[0] for _, m in BAD_DECODES])
def test_decode_refuses_bad_input_by_field(backend: UnCLIP, bad: dict, message: str) -> None:
    d = backend.models.embed_dim
    embeds = {"nan": torch.full((1, d), float("nan")), 0: torch.zeros(0, d), 17: torch.ones(17, d),
              "list": [[0.0] * d],
              "huge": torch.full((1, d), 1e20 / d**0.5)}.get(bad.get("embeds"), torch.ones(1, d))  # fmt: skip
    with pytest.raises(InvalidInput, match=re.escape(message)):
        backend.decode_embeddings(embeds, seed=0, settings=FAST, caption=bad.get("caption", ""))


def test_an_embedding_just_under_the_length_limit_is_decoded(backend: UnCLIP) -> None:
    from unclip.explore import MAX_EMBED_NORM

    d = backend.models.embed_dim
    at = torch.ones(1, d) / d**0.5  # length 1
    [image] = backend.decode_embeddings(at * MAX_EMBED_NORM * 0.999, seed=0, settings=FAST)
    assert image.size[0] > 0
    with pytest.raises(InvalidInput, match="at most 10000, got 10010 "):
        backend.decode_embeddings(at * MAX_EMBED_NORM * 1.001, seed=0, settings=FAST)


def test_interpolate_refuses_bad_endpoints_and_switches(backend: UnCLIP) -> None:
    d = backend.models.embed_dim
    with pytest.raises(InvalidInput, match="start embedding must be finite numbers"):
        backend.interpolate(torch.full((d,), float("inf")), "a dog", steps=2, settings=FAST)
    with pytest.raises(InvalidInput, match="use_prior must be true or false, got 'no'"):
        backend.interpolate("a cat", "a dog", steps=2, use_prior="no", settings=FAST)
    picture = Image.new("RGB", (64, 64), "red")  # one picture, not a pair: zip()'s ValueError (Python API QA)
    with pytest.raises(InvalidInput, match=r"^pictures must be a pair \(the start's picture, the end's; either may be "
                                           r"None\), got 1 item$"):  # fmt: skip
        backend.interpolate(picture, picture, steps=2, noise="inversion", pictures=(picture,), settings=FAST)
    with pytest.raises(InvalidInput, match=r"^start is too small: 1×1 px"):  # an RGB image skipped the size check
        backend.interpolate(Image.new("RGB", (1, 1)), "a dog", steps=2, settings=FAST)


# -- nearest neighbours and the modality gap ----------------------------------------------------------------------
def test_nearest_is_by_cosine_and_skips_the_query() -> None:
    bank = torch.tensor([[1.0, 0.0], [10.0, 1.0], [0.0, 1.0], [-1.0, 0.0], [0.9, 0.5]])
    idx, sims = E.nearest(bank[0], bank, k=3, exclude=0)
    assert idx == [1, 4, 2] and sims[0] == pytest.approx(10 / math.sqrt(101), abs=1e-4)


def test_modality_gap_centroid_distance() -> None:
    images = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    texts = torch.tensor([[0.0, 2.0]])  # normalised to (0, 1)
    gap = E.modality_gap(images, texts)
    assert gap.centroid_distance == pytest.approx(math.sqrt(2), abs=1e-4) and gap.centroid_cosine == 0.0
    with pytest.raises(InvalidInput, match="at least one image and one text"):
        E.modality_gap(images, texts[:0])
