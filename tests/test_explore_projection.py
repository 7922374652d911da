"""Projections, stable layouts, the embedding cache, the probe set and sessions (CPU, seconds).

The UMAP test always runs: with numba's cache warm it takes a few seconds; on a fresh machine the first
compile of umap's kernels adds about 30 s on 2 cores.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from unclip import InvalidInput, UnCLIP
from unclip import explore_collection as C
from unclip import explore_projection as P


def cloud(n: int, d: int = 32, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(n, d, generator=g) * torch.linspace(3, 0.1, d), dim=-1)  # (n, d) anisotropic


# -- PCA ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dims", [2, 3])
def test_pca_shapes_and_orthonormal_components(dims: int) -> None:
    pca = P.fit_pca(cloud(50), dims)
    xy = pca.transform(cloud(50))
    assert xy.shape == (50, dims) and xy.dtype == np.float32
    torch.testing.assert_close(pca.components @ pca.components.T, torch.eye(dims, dtype=torch.float64))
    assert 0 < sum(pca.explained) <= 1 and list(pca.explained) == sorted(pca.explained, reverse=True)


def test_pca_is_deterministic_with_a_fixed_sign_convention() -> None:
    x = cloud(60)
    a, b = P.fit_pca(x, 2), P.fit_pca(x[torch.randperm(60, generator=torch.Generator().manual_seed(1))], 2)
    torch.testing.assert_close(a.components, b.components)  # row order does not matter
    c = P.fit_pca(-x, 2)  # flipping the data flips nothing in the picture's orientation rule
    big = a.components.abs().argmax(dim=1)
    assert (a.components[torch.arange(2), big] > 0).all() and (c.components[torch.arange(2), big] > 0).all()
    np.testing.assert_array_equal(a.transform(x), P.fit_pca(x, 2).transform(x))


def test_pca_matches_numpy_up_to_sign() -> None:
    x = cloud(40).double()
    xc = (x - x.mean(0)).numpy()
    _, _, vt = np.linalg.svd(xc, full_matrices=False)
    ours = P.fit_pca(x, 3).components.numpy()
    np.testing.assert_allclose(np.abs(np.sum(ours * vt[:3], axis=1)), np.ones(3), atol=1e-8)


def test_pca_with_fewer_points_than_dimensions() -> None:
    assert P.fit_pca(cloud(2), 3).transform(cloud(2)).shape == (2, 3)


# -- layouts --------------------------------------------------------------------------------------------------------
def test_layout_stays_put_when_points_are_added_and_moves_only_on_refit() -> None:
    x = cloud(30)
    mods = ["image", "text"] * 15
    layout = P.fit_layout(list(range(30)), x, mods, "pca", 2)
    before = layout.array(list(range(30)))
    extra = cloud(5, seed=9)
    grown = layout.place(list(range(35)), torch.cat([x, extra]), mods + ["image"] * 5)
    np.testing.assert_array_equal(grown.array(list(range(30))), before)
    np.testing.assert_allclose(grown.array(list(range(30, 35))), layout.model.transform(extra), atol=1e-6)
    refit = P.fit_layout(list(range(35)), torch.cat([x, extra]), mods + ["image"] * 5, "pca", 2)
    assert not np.allclose(refit.array(list(range(30))), before)


def test_removing_modality_means_closes_the_gap() -> None:
    images, texts = cloud(20) + 2.0 * F.one_hot(torch.tensor(0), 32), cloud(20, seed=1)
    x, mods = torch.cat([images, texts]), ["image"] * 20 + ["text"] * 20
    for remove, far in ((False, True), (True, False)):
        xy = P.fit_layout(list(range(40)), x, mods, "pca", 2, remove_gap=remove).array(list(range(40)))
        gap = np.linalg.norm(xy[:20].mean(0) - xy[20:].mean(0))
        assert (gap > 0.5) == far, (remove, gap)


def test_projection_validation_names_the_field() -> None:
    with pytest.raises(InvalidInput, match="method must be one of pca, umap; got 'tsne'"):
        P.check_projection("tsne", 2)
    with pytest.raises(InvalidInput, match="dims must be a whole number between 2 and 3, got 4"):
        P.check_projection("pca", 4)
    with pytest.raises(InvalidInput, match="the collection is empty"):
        P.fit_layout([], torch.zeros(0, 4), [], "pca", 2)


@pytest.mark.parametrize("dims", [2, 3])
def test_umap_layout_is_deterministic_and_stable(dims: int) -> None:
    P.wait_for_umap(300)
    x, ids, mods = cloud(40), list(range(40)), ["image"] * 40
    a = P.fit_layout(ids, x, mods, "umap", dims)
    b = P.fit_layout(ids, x, mods, "umap", dims)
    assert a.used == "umap" and a.array(ids).shape == (40, dims)
    np.testing.assert_array_equal(a.array(ids), b.array(ids))
    assert not np.allclose(P.fit_layout(ids, x, mods, "umap", dims, seed=1).array(ids), a.array(ids))  # seed used
    grown = a.place(ids + [40], torch.cat([x, cloud(1, seed=5)]), mods + ["text"])
    np.testing.assert_array_equal(grown.array(ids), a.array(ids))
    assert np.isfinite(grown.array([40])).all()


def test_umap_falls_back_to_pca_below_ten_points() -> None:
    layout = P.fit_layout(list(range(5)), cloud(5), ["image"] * 5, "umap", 2)
    assert layout.method == "umap" and layout.used == "pca"


# -- embeddings cache, probe set, sessions ----------------------------------------------------------------------------
def test_text_embeddings_are_cached_by_model_and_content(backend: UnCLIP) -> None:
    texts = ["a cached caption number one", "a cached caption number two"]
    first = C.embed_texts(backend, texts)
    hits = C.CACHE.hits
    again = C.embed_texts(backend, texts[::-1])
    assert C.CACHE.hits == hits + 2
    torch.testing.assert_close(again, first.flip(0))
    torch.testing.assert_close(first, backend.encode_text(texts).embeds)


def test_two_models_with_one_name_do_not_share_cached_embeddings() -> None:
    """Two model folders of one name, or tiny-random with two seeds: the cache tells the CLIPs apart."""
    from unclip.families import tiny

    a, b = UnCLIP(tiny.build_random(seed=0)), UnCLIP(tiny.build_random(seed=1))
    assert a.name == b.name and C.clip_key(a) != C.clip_key(b) and C.clip_key(a) == C.clip_key(a)
    text = ["a caption both models embed"]
    first, second = C.embed_texts(a, text), C.embed_texts(b, text)
    torch.testing.assert_close(second, b.encode_text(text).embeds)
    assert not torch.allclose(first, second)


def test_image_embeddings_batch_mixed_sizes(backend: UnCLIP) -> None:
    rng = np.random.default_rng(0)
    ims = [rng.integers(0, 255, (64, 64, 3), dtype=np.uint8), rng.integers(0, 255, (256, 256, 3), dtype=np.uint8)]
    got = C.embed_images(backend, ims)
    from unclip.images import to_tensor

    torch.testing.assert_close(got[1], backend.encode_image(to_tensor(ims[1]))[0])
    assert got.shape == (2, backend.models.embed_dim)


def test_lru_cache_evicts_the_oldest() -> None:
    cache = C.EmbeddingCache(maxsize=2)
    for k in "abc":
        cache.put(("m", "text", k), torch.zeros(1))
    assert cache.get(("m", "text", "a")) is None and cache.get(("m", "text", "c")) is not None


def test_probe_set_is_computed_once_per_backend(backend: UnCLIP) -> None:
    probe = C.probe_set(backend, 10, seed=3)
    assert C.probe_set(backend, 10, seed=3) is probe
    assert len(probe) == 20 and probe.ids == list(range(20)) and probe.embeds.shape == (20, backend.models.embed_dim)
    assert [p.kind for p in probe.points[:2]] == ["image", "text"]
    assert probe.points[0].caption == probe.points[1].caption and probe.points[0].thumb.shape == (64, 64, 3)
    assert {p.category for p in probe.points} <= {"animal", "food", "nature", "object", "plant", "shape", "vehicle"}


def test_session_add_dedupes_replaces_and_keeps_the_probe_shared(backend: UnCLIP) -> None:
    s = C.new_session(backend, 10)
    z = torch.randn(3, backend.models.embed_dim)
    pts = [C.Point(0, "text", "typed", "x", key="x"), C.Point(0, "text", "typed", "x", key="x"),
           C.Point(0, "interpolation step", "path", "p")]  # fmt: skip
    s2, ids = s.add(pts, z)
    assert ids == [20, 20, 21] and len(s2.added) == 2 and s2.probe is s.probe
    s3, ids3 = s2.add([C.Point(0, "interpolation step", "path", "q")], z[:1], replace_source="path")
    assert ids3 == [22] and [p.caption for p in s3.added.points] == ["x", "q"]
    assert C.parse_ref(s3.point(22).ref) == 22 and C.parse_ref("a cat #3") is None
    assert [C.looks_like_ref(v) for v in ("#-1", "#2x", " #1.5", "#3", "#3 image · a cat", "a cat #3", "#cute")] == [
        True, True, True, False, False, False, False]
    assert [C.looks_like_ref(v) for v in ("#", " # ", "# 3", "#  12 ", "# cat", "#3#")] == [
        True, True, True, True, False, True]  # the first four were decoded as captions


def test_ensure_layout_places_new_points_without_refitting(backend: UnCLIP) -> None:
    s = C.ensure_layout(C.new_session(backend, 10))
    before = s.layout.array(s.probe.ids)
    s2, ids = s.add([C.Point(0, "text", "typed", "new")], C.embed_texts(backend, ["new"]))
    s2 = C.ensure_layout(s2)
    assert s2.layout.model is s.layout.model and ids[0] in s2.layout.coords
    np.testing.assert_array_equal(s2.layout.array(s.probe.ids), before)
