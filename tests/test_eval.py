"""The eval runs end to end on tiny-random, and its metrics behave on known inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from unclip import pipeline
from unclip.eval.judge import judge_images, new_judge, targets
from unclip.eval.metrics import clip_retrieval
from unclip.eval.report import (
    eval_scenes,
    evaluate,
    fidelity,
    format_report,
    frechet,
    generate_for,
    recall_by,
    reconstruct_for,
    renders,
)
from unclip.world import EmojiWorld


@pytest.fixture(scope="module")
def world() -> EmojiWorld:
    return EmojiWorld()


def _oracle(world: EmojiWorld, scenes) -> dict[str, np.ndarray]:
    """Judge predictions equal to the ground truth."""
    t = targets(world, scenes)
    return {"presence": t["presence"].numpy(), "centre": t["centre"].numpy(),
            "background": t["background"].numpy(), "shape_color": t["shape_color"].numpy()}


def test_fidelity_is_perfect_for_the_truth_and_zero_for_blank(world):
    scenes = [world.sample(seed=i, split="any") for i in range(200)]
    truth = fidelity(world, scenes, _oracle(world, scenes))
    assert truth["object_recall"] == truth["background_accuracy"] == 1.0
    assert truth["relation_accuracy"] == 1.0 and truth["n_relations"] > 10
    assert truth["color_accuracy"] == 1.0 and truth["n_colors"] > 10
    alone = [fidelity(world, [s], _oracle(world, [s])) for s in scenes[:20]]  # one caption each
    assert any(f["n_relations"] == 0 for f in alone)
    assert all((f["relation_accuracy"] is None) == (f["n_relations"] == 0) for f in alone)  # null over none
    assert all((f["color_accuracy"] is None) == (f["n_colors"] == 0) for f in alone)
    two = [world.sample(seed=i, split="any") for i in (204, 241)]  # "a pink star over a brown star": the judge has one
    assert fidelity(world, scenes + two, _oracle(world, scenes + two))["color_accuracy"] == 1.0  # colour per kind
    wrong = _oracle(world, scenes)
    wrong["presence"] = 1.0 - wrong["presence"]  # every label but the true ones
    assert fidelity(world, scenes, wrong)["object_recall"] == 0.0
    chance = fidelity(world, scenes[1:] + scenes[:1], _oracle(world, scenes))  # the report's judge_chance
    assert chance["object_recall"] < 0.1 and chance["background_accuracy"] < 0.2


def test_background_accuracy_counts_only_captions_that_name_it(world):
    scenes = [world.sample(seed=i, split="any") for i in range(200)]
    naming = [s.names_background for s in scenes]
    assert 20 < sum(naming) < 180  # both kinds of caption are common
    pred = _oracle(world, scenes)
    other = [(b + 1) % len(world.backgrounds) for b in pred["background"]]
    pred["background"] = np.where(naming, pred["background"], other)  # wrong only where the caption is silent
    f = fidelity(world, scenes, pred)
    assert f["background_accuracy"] == 1.0 and f["n_backgrounds"] == sum(naming)
    pred["background"] = np.where(naming, other, pred["background"])  # wrong where the caption names it
    assert fidelity(world, scenes, pred)["background_accuracy"] == 0.0


def test_recall_by_splits_the_same_objects_as_fidelity(world):
    scenes = [world.sample(seed=i, split="any") for i in range(200)]
    pred = _oracle(world, scenes)
    for k, s in enumerate(scenes):  # hide every object whose instances are all small
        for lab in {o.label for o in s.objects}:
            if all(o.size == "small" for o in s.objects if o.label == lab):
                pred["presence"][k, world.labels.index(lab)] = -1.0
    by = recall_by(world, scenes, pred)
    assert set(by) == {"size", "kind", "objects named", "instances"}
    assert by["size"]["small"]["recall"] == 0.0 and by["size"]["large"]["recall"] == 1.0
    assert set(by["kind"]) == {"emoji", "shape"} and set(by["objects named"]) <= {"1", "2", "3"}
    named = sum(len({o.label for o in s.objects}) for s in scenes)
    for axis in by.values():  # every axis partitions the same named objects
        assert sum(c["n"] for c in axis.values()) == named
    overall = sum(c["recall"] * c["n"] for c in by["size"].values()) / named
    per_object = [index in set(np.argsort(-pred["presence"][k])[: len({o.label for o in s.objects})])
                  for k, s in enumerate(scenes) for index in {world.labels.index(o.label) for o in s.objects}]
    assert overall == pytest.approx(np.mean(per_object), abs=1e-3)


def test_frechet_is_zero_for_identical_sets_and_grows_with_shift():
    x = np.random.default_rng(0).normal(size=(400, 8))
    assert abs(frechet(x, x)) < 1e-6
    assert frechet(x, x + 1.0) == pytest.approx(8.0, rel=0.05)


def test_frechet_reads_the_covariances_too():
    """Equal means, covariances I and 4I in d dimensions: d (1 + 4 - 2 sqrt(1 * 4)) = d. An element-wise root in
    place of sqrtm(cov_a @ cov_b) passed the mean-shift test above (reviewer)."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(20_000, 4)), 2.0 * rng.normal(size=(20_000, 4))
    assert frechet(a, b) == pytest.approx(4.0, rel=0.05)
    # correlated, so the diagonals alone cannot give it: covariances [[1, ±.9], [±.9, 1]] share eigenvectors, with
    # eigenvalues (1.9, 0.1) and (0.1, 1.9); sqrtm of their product is sqrt(0.19) I: 4 - 4 sqrt(0.19)
    plus, minus = (rng.multivariate_normal([0, 0], [[1, r], [r, 1]], size=20_000) for r in (0.9, -0.9))
    assert frechet(plus, minus) == pytest.approx(4 - 4 * np.sqrt(0.19), rel=0.05)
    # covariances without common eigenvectors (sqrtm(A) sqrtm(B) is then not sqrtm(A B)), against the symmetric
    # form tr(A + B - 2 (A^1/2 B A^1/2)^1/2), computed here with eigh alone
    cov_a, cov_b = np.array([[4.0, 0.0], [0.0, 0.25]]), np.array([[1.0, 0.9], [0.9, 1.0]])
    x, y = rng.multivariate_normal([0, 0], cov_a, 40_000), rng.multivariate_normal([1, 0], cov_b, 40_000)
    w, v = np.linalg.eigh(cov_a)
    root_a = v @ np.diag(np.sqrt(w)) @ v.T
    inner = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    expected = 1.0 + np.trace(cov_a + cov_b) - 2 * np.sqrt(inner).sum()
    assert frechet(x, y) == pytest.approx(expected, rel=0.05)


def test_a_relation_counts_as_wrong_when_either_object_is_missing(world):
    scenes = [s for s in (world.sample(seed=i, split="any") for i in range(400))
              if s.relation in ("left of", "right of", "above", "below") and len(set(s.labels)) == 2][:20]
    pred = _oracle(world, scenes)
    assert len(scenes) == 20 and fidelity(world, scenes, pred)["relation_accuracy"] == 1.0
    for k, s in enumerate(scenes):  # the second object is missing; its predicted centre stays right
        pred["presence"][k, world.labels.index([o.label for o in s.objects if o.group == 1][0])] = -1.0
    f = fidelity(world, scenes, pred)
    assert f["relation_accuracy"] == 0.0 and f["n_relations"] == 20 and f["object_recall"] == 0.5


def test_eval_seen_pairs_are_training_captions_of_two_objects_like_every_held_out_one(world):
    """fidelity.seen mixes one-object captions (about half) with pairs; held-out captions are all pairs: the
    reviewer's like-for-like row."""
    from unclip.world.split import is_heldout_pair

    seen, pairs, held = eval_scenes(world, 40), eval_scenes(world, 40, pairs=True), eval_scenes(world, 40, "heldout")
    assert all(len(set(s.labels)) == 2 for s in pairs + held) and any(len(set(s.labels)) == 1 for s in seen)
    assert all(s.split == "train" and not is_heldout_pair(*sorted(set(s.labels))) for s in pairs)
    assert [s.caption for s in seen if len(set(s.labels)) == 2] == [s.caption for s in pairs][:sum(
        len(set(s.labels)) == 2 for s in seen)]  # the seen stream's pairs, read on: the same seeds, deterministic
    assert [s.caption for s in eval_scenes(world, 40, pairs=True)] == [s.caption for s in pairs]


def test_frechet_of_singular_covariances_is_finite_and_silent():
    """`eval --n 2` printed scipy's LinAlgWarning: two images that look alike give a zero covariance."""
    import warnings

    rng = np.random.default_rng(0)
    a, b = np.repeat(rng.normal(size=(1, 16)), 2, axis=0), rng.normal(size=(2, 16))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isfinite(frechet(a, b)) and frechet(a, b) > 0


def test_frechet_of_nearly_identical_images_is_finite_and_matches_scipy_where_scipy_is():
    """Two images alike to 1e-9 (`--n 2`) against features that are not unit-length (the hub families'): scipy's
    sqrtm returned all-NaN in about one draw of five, silently, and `eval --json` wrote a bare NaN."""
    from scipy import linalg

    def with_sqrtm(a: np.ndarray, b: np.ndarray) -> float:
        ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
        return float(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(ca + cb - 2 * linalg.sqrtm(ca @ cb).real))

    rng = np.random.default_rng(0)
    for _ in range(40):
        base = rng.normal(size=(1, 128))
        a = (base + 1e-9 * rng.normal(size=(2, 128))).astype(np.float32)
        b = (0.07 * rng.normal(size=(8, 128))).astype(np.float32)
        d = frechet(a, b)
        assert np.isfinite(d) and d > 0
        assert json.loads(json.dumps({"frechet_clip": round(d, 4)}))["frechet_clip"] == round(d, 4)
    for n in (16, 200):  # full-rank and rank-deficient covariances where sqrtm is well behaved: the same figure
        a, b = rng.normal(size=(n, 32)), rng.normal(size=(n, 32)) * 1.5 + 0.3
        assert frechet(a, b) == pytest.approx(with_sqrtm(a, b), rel=1e-6)
    x = rng.normal(size=(6, 32))
    assert frechet(x, x) == 0.0  # never negative (rounding gave -4e-6)


def test_clip_retrieval_is_a_fraction(backend, world):
    r = clip_retrieval(backend.models, world, n=10, seed=1)
    assert 0.0 <= r <= 1.0


def test_clip_retrieval_ranks_by_cosine_whatever_the_embedding_lengths(backend, world, monkeypatch):
    """Karlo's and Kandinsky's CLIP embeddings are not unit length: a raw dot product let the longest image
    embeddings win. Here each caption's embedding is its image's direction plus noise, the images' lengths 1-50."""
    from types import SimpleNamespace

    from unclip.eval import metrics

    directions = torch.nn.functional.normalize(torch.randn(10, 32, generator=torch.Generator().manual_seed(0)), dim=-1)
    monkeypatch.setattr(metrics, "encode_image", lambda m, x: directions * torch.linspace(1, 50, 10)[:, None])
    monkeypatch.setattr(metrics, "encode_text", lambda m, c: SimpleNamespace(embeds=directions + 0.05))
    assert clip_retrieval(backend.models, world, n=10, seed=1) == 1.0


def test_clip_retrieval_ranks_images_for_each_caption_not_captions_for_each_image(backend, world, monkeypatch):
    """cos(text i, image j) = (δij + a_i) / (√2 √(1 + a_i²)): each caption's own image wins its row (text -> image,
    what R@1 is), but not every image's own caption wins its column (a_i from -0.9: the reverse direction)."""
    from types import SimpleNamespace

    from unclip.eval import metrics

    d, a = torch.eye(10, 32), torch.linspace(-0.9, 1.0, 10)
    c = torch.zeros(32)
    c[31] = 1.0  # a direction no image's own one shares
    monkeypatch.setattr(metrics, "encode_image", lambda m, x: d + c)
    monkeypatch.setattr(metrics, "encode_text", lambda m, caps: SimpleNamespace(embeds=d + a[:, None] * c))
    assert clip_retrieval(backend.models, world, n=10, seed=1) == 1.0
    sim = F.normalize(d + a[:, None] * c, dim=-1) @ F.normalize(d + c, dim=-1).T
    assert (sim.argmax(dim=0) != torch.arange(10)).any()  # the test can tell the two directions apart


def test_reconstruction_is_the_prior_row_with_the_true_embedding(backend, world, monkeypatch):
    """reconstruct_for differs from generate_for(mode="prior") in z_i only: with a prior that returns the
    renders' own embeddings (after drawing its noise) the two give the same pixels and scores."""
    scenes = eval_scenes(world, 3)
    rendered = renders(world, scenes)
    true = backend.encode_image(rendered)
    real = pipeline.sample_prior

    def oracle(models, *args):
        yield from real(models, *args)  # draw from the generators exactly as the prior does
        return true.to(models.dtype)

    b, b_scores = reconstruct_for(backend, rendered, scenes, seed=5, upsample=False)
    monkeypatch.setattr(pipeline, "sample_prior", oracle)
    a, a_scores = generate_for(backend, scenes, "prior", seed=5, upsample=False)
    assert a.shape == (3, 3, 64, 64) and a.min() >= -1 and a.max() <= 1
    torch.testing.assert_close(a, b)
    assert a_scores == pytest.approx(b_scores, abs=0.011)
    monkeypatch.undo()
    c, _ = generate_for(backend, scenes, "prior", seed=5, upsample=False)
    assert (c - b).abs().max() > 1e-3  # the real prior's sample is another embedding: other pixels


def test_upsample_judges_the_upsampled_images_themselves(backend, world):
    """`--upsample` kept the decoder's 64 px images: every judged figure was the same as without it."""
    scenes = eval_scenes(world, 2)
    low, low_scores = generate_for(backend, scenes, "prior", seed=5, upsample=False)
    high, high_scores = generate_for(backend, scenes, "prior", seed=5, upsample=True)
    side = backend.models.low_res_size * backend.models.upsample_factor
    assert low.shape == (2, 3, 64, 64) and high.shape == (2, 3, side, side) and side > 64
    assert high.min() >= -1 and high.max() <= 1 and high_scores != low_scores
    assert (F.interpolate(high, size=64, mode="area") - low).abs().mean() > 1e-3  # not the 64 px ones resized up


def test_upsample_s_frechet_distance_compares_images_of_one_size(backend, world, monkeypatch):
    """With --upsample the generated images are 256 px; the reference renders were still 64 px, and CLIP's
    resize treats the two sizes differently, a bias in the distance."""
    from unclip.eval import report as report_module

    sizes, real = [], report_module.encode_image
    monkeypatch.setattr(report_module, "encode_image", lambda models, x: sizes.append(x.shape[-1]) or real(models, x))
    monkeypatch.setattr(report_module, "embedding_reliance", lambda *a: None)
    monkeypatch.setattr(report_module, "clip_retrieval", lambda *a, **k: 0.0)
    evaluate(backend, n=2, judge=new_judge(world).eval(), upsample=True)
    assert len(sizes) == 3 and sizes[0] == sizes[1] == sizes[2] > 64  # generated, reference and floor renders


def test_eval_runs_end_to_end_on_tiny_random(backend, world):
    judge = new_judge(world).eval()
    report = evaluate(backend, n=4, judge=judge)
    for key in ("clip_r1", "prior_alignment", "judge_on_renders", "judge_chance", "judge_chance_heldout",
                "fidelity", "ablation", "reconstruction", "frechet_clip", "frechet_clip_renders", "embedding_reliance"):
        assert key in report
    assert report["settings"]["upsampler"]["enabled"] is False  # what ran: 64 px without --upsample
    assert "chance, held-out pairs" in format_report(report)
    pairs = report["fidelity"]["seen_pairs"]
    assert pairs["n"] == 4 and 0.0 <= pairs["object_recall"] <= 1.0 and 0.0 <= pairs["clip_score"] <= 100.0
    assert "prior, seen pairs" in format_report(report) and "prior, seen captions" in format_report(report)
    assert report["frechet_clip_renders"] > 0 and "(renders: " in format_report(report)
    assert set(report["ablation"]) == {"prior", "text_embedding", "caption_only"}
    assert 0 <= report["fidelity"]["heldout"]["object_recall"] <= 1
    assert set(report["embedding_reliance"]) == {"100", "300", "500", "700", "850", "950", "990"}
    text = format_report(report)
    assert "CLIP R@1" in text and "decoder's use of z_i" in text and "t=990" in text and "chance" in text
    assert "true z_i" in text and 0 <= report["reconstruction"]["object_recall"] <= 1
    with pytest.raises(ValueError, match="n must be at least 2 .*got 1"):  # refused before any work
        evaluate(backend, n=1, judge=judge)
    assert "decoder's use of z_i" not in format_report({**report, "embedding_reliance": None})  # latent decoders
    preds = judge_images(judge, torch.zeros(2, 3, 256, 256))  # any size: the judge resizes to 64 px
    assert preds["presence"].shape == (2, len(world.labels))
    assert preds["centre"].min() >= 0 and preds["centre"].max() <= 1


def test_embedding_reliance_measures_how_much_the_decoder_reads_z_i(backend, world):
    import copy

    from unclip.eval.reliance import TIMESTEPS, embedding_reliance

    r = embedding_reliance(backend.models, world, n=3, timesteps=(500, 990))
    assert list(r) == ["500", "990"]
    for row in r.values():
        assert set(row) == {"own", "shuffled", "null", "gain"}
        assert all(np.isfinite(v) and v >= 0 for k, v in row.items() if k != "gain")
        assert row["gain"] == pytest.approx(row["shuffled"] - row["own"], abs=2e-5)
    assert r == embedding_reliance(backend.models, world, n=3, timesteps=(500, 990))  # deterministic
    assert any(abs(row["gain"]) > 0 for row in r.values())  # random weights do react to z_i

    deaf = copy.copy(backend.models)  # a decoder whose text_proj drops the image embedding entirely
    deaf.text_proj = copy.deepcopy(backend.models.text_proj)
    for name in ("embedding_proj", "clip_image_embeddings_project_to_time_embeddings",
                 "clip_extra_context_tokens_proj"):
        torch.nn.init.zeros_(getattr(deaf.text_proj, name).weight)
        torch.nn.init.zeros_(getattr(deaf.text_proj, name).bias)
    deaf_r = embedding_reliance(deaf, world, n=3, timesteps=TIMESTEPS[-2:])
    assert all(row["gain"] == 0 and row["own"] == row["shuffled"] == row["null"] for row in deaf_r.values())


def test_embedding_reliance_refuses_what_it_cannot_measure(backend, world):
    import copy

    from unclip.eval.reliance import embedding_reliance

    with pytest.raises(ValueError, match="n must be at least 2"):
        embedding_reliance(backend.models, world, n=1)
    latent = copy.copy(backend.models)
    latent.text_proj = None  # Kandinsky's kind: the UNet projects z_i itself
    with pytest.raises(ValueError, match="pixel-space decoder with a text_proj"):
        embedding_reliance(latent, world, n=2)


def test_embedding_reliance_cli_prints_a_table_and_json(capsys):
    import json

    from unclip.eval.reliance import main

    assert main(["--model", "tiny-random", "--n", "2", "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"100", "300", "500", "700", "850", "950", "990"}
    assert main(["--model", "tiny-random", "--n", "2"]) == 0
    assert "gain" in capsys.readouterr().out


def test_embedding_reliance_cli_names_an_unknown_model_in_one_line(capsys):
    from unclip.eval.reliance import main

    assert main(["--model", "no-such-model"]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert main(["--model", "tiny-random", "--n", "1"]) == 2  # no other scene to shuffle in: an error, no traceback
    assert capsys.readouterr().err.startswith("error: --n must be from 2 (the shuffled embedding is another scene's)"
                                              " to 256, got 1")  # fmt: skip
    assert main(["--model", "tiny-random", "--n", "100000"]) == 2  # (decoded in one batch)
    assert capsys.readouterr().err.startswith("error: --n must be from 2 ")


def test_eval_refuses_a_missing_or_damaged_judge_in_one_line_before_the_model(tmp_path, monkeypatch, capsys):
    """A judge.json deleted or of another world ended `eval` in a traceback (after loading the model)."""
    import shutil

    from unclip.eval import judge as judge_module
    from unclip.eval import report

    judge_dir = tmp_path / "judge"
    shutil.copytree(judge_module.JUDGE_DIR, judge_dir)
    monkeypatch.setattr(report, "load_judge", lambda: judge_module.load_judge(judge_dir))
    monkeypatch.setattr("unclip.cli.open_backend", lambda *a, **k: pytest.fail("loaded the model first"))
    (judge_dir / "judge.json").unlink()
    assert report.main(["--model", "tiny-random", "--n", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: judge: {judge_dir / 'judge.json'} is missing or damaged (") and "Retrain it" in err
    (judge_dir / "judge.json").write_text("[1]")
    assert report.main(["--model", "tiny-random"]) == 2
    assert "judge.json must be a JSON object" in capsys.readouterr().err
    shutil.copy(judge_module.JUDGE_DIR / "judge.json", judge_dir / "judge.json")
    weights = judge_dir / "judge.safetensors"
    weights.write_bytes(weights.read_bytes()[:64])
    assert report.main(["--model", "tiny-random"]) == 2
    assert capsys.readouterr().err.startswith(f"error: judge: {weights} does not load (")
    blocked = tmp_path / "blocked"  # no judge, and where eval would train one is no folder: refused, not 30
    blocked.write_text("")  # minutes later
    monkeypatch.setattr(report, "load_judge", lambda: None)
    monkeypatch.setattr(report, "JUDGE_DIR", blocked / "judge")
    assert report.main(["--model", "tiny-random"]) == 2
    assert capsys.readouterr().err.startswith(f"error: the judge's folder: '{blocked}' is a file, not a folder")


def test_the_frechet_features_are_encoded_in_chunks_as_in_one_batch(backend, monkeypatch):
    """4n references went to CLIP in one batch: 2.3 MB an image, about 9 GB at --n 1000 --upsample."""
    from unclip.models import encode_image

    x = torch.rand(7, 3, 64, 64) * 2 - 1
    whole = encode_image(backend.models, x)  # (7 < 256: one batch)
    sizes = []
    real = backend.models.clip.encode_image
    monkeypatch.setattr(backend.models.clip, "encode_image", lambda images: sizes.append(len(images)) or real(images))
    chunked = encode_image(backend.models, x, chunk=3)
    assert sizes == [3, 3, 1] and chunked.shape == (7, backend.models.embed_dim)
    np.testing.assert_allclose(chunked.numpy(), whole.numpy(), atol=1e-5)


def test_inpaint_eval_refuses_no_trials(backend):
    """n = 0 gave NaN rates (and NaN in its JSON)."""
    from unclip.eval.inpaint_eval import inpaint_eval

    for n in (0, -3, 2.5):
        with pytest.raises(ValueError, match=f"n must be a whole number of trials, at least 1, got {n}"):
            inpaint_eval(backend, None, n=n)


def test_judge_learns_a_fixed_batch_and_reads_positions(world):
    from unclip.eval.judge import judge_loss
    from unclip.images import to_tensor

    torch.manual_seed(0)
    judge = new_judge(world)
    images, _, scenes = world.batch(8, seed=3, size=64, split="any")
    x, tgt = to_tensor(images), targets(world, scenes)
    opt = torch.optim.Adam(judge.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        loss = judge_loss(judge(x), tgt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    out = judge.eval()(x)
    assert out["presence"].shape == (8, len(world.labels)) and out["background"].shape == (8, len(world.backgrounds))
    assert out["shape_color"].shape[1:] == (7, 11)
    assert out["centre"].min() >= 0 and out["centre"].max() <= 1


def test_degrade_is_seeded_bounded_and_changes_the_image(world):
    from unclip.eval.judge import degrade
    from unclip.images import to_tensor

    x = to_tensor(world.batch(4, seed=1, size=64)[0])
    a, b = (degrade(x, torch.Generator().manual_seed(5)) for _ in range(2))
    assert torch.equal(a, b) and a.shape == x.shape
    assert a.min() >= -1 and a.max() <= 1
    assert 0.005 < (a - x).abs().mean() < 0.3
    assert not torch.equal(a, degrade(x, torch.Generator().manual_seed(6)))


def test_new_judge_refuses_a_world_whose_shapes_are_not_last(world):
    import types

    shuffled = types.SimpleNamespace(labels=list(reversed(world.labels)), backgrounds=world.backgrounds)
    with pytest.raises(ValueError, match="shape labels last"):
        new_judge(shuffled)


def test_judge_round_trips_and_refuses_an_older_version(tmp_path):
    import json

    from unclip.eval.judge import load_judge, train_judge

    trained = train_judge(tmp_path, steps=2, batch=4)
    meta = json.loads((tmp_path / "judge.json").read_text())
    assert meta["version"] == 2 and 0 <= meta["on_renders"]["object_recall"] <= 1
    loaded = load_judge(tmp_path)
    x = torch.zeros(1, 3, 64, 64)
    assert torch.allclose(loaded(x)["presence"], trained(x)["presence"], atol=1e-2)  # stored in fp16
    (tmp_path / "judge.json").write_text(json.dumps({**meta, "version": 1}))
    with pytest.raises(ValueError, match="version-1 judge.*python -m unclip.eval.judge"):
        load_judge(tmp_path)
    swapped = [meta["labels"][1], meta["labels"][0], *meta["labels"][2:]]  # same size, other order: misread silently
    (tmp_path / "judge.json").write_text(json.dumps({**meta, "labels": swapped}))
    with pytest.raises(ValueError, match="another emoji world \\(its labels differ.*python -m unclip.eval.judge"):
        load_judge(tmp_path)
    assert load_judge(tmp_path / "nowhere") is None


def test_the_judges_seed_chooses_its_training_scenes(tmp_path, monkeypatch):
    from unclip.eval.judge import train_judge

    class FirstBatch(Exception):
        pass

    def spy(self, n, seed, **kwargs):
        raise FirstBatch(seed)

    monkeypatch.setattr(EmojiWorld, "batch", spy)
    seeds = []
    for seed in (0, 0, 1):
        with pytest.raises(FirstBatch) as caught:
            train_judge(tmp_path, steps=2, batch=4, seed=seed)
        seeds.append(caught.value.args[0])
    assert seeds[0] == seeds[1] != seeds[2]


@pytest.mark.parametrize(("argv", "message"), [
    (["--steps", "0"], "--steps must be at least 1, got 0"),
    (["--batch", "-2"], "--batch must be from 1 to 4096, got -2"),
    (["--batch", "4097"], "--batch must be from 1 to 4096, got 4097"),
    (["--threads", "-1"], "--threads must be 0 (torch's default) to 256, got -1"),
    (["--seed", "-5"], "--seed must be from 0 to 2**63 - 1, got -5"),
    (["--seed", str(2**64)], f"--seed must be from 0 to 2**63 - 1, got {2**64}"),
])  # fmt: skip
def test_the_judge_trainer_refuses_bad_flags_in_one_line(argv, message, tmp_path, capsys):
    """`python -m unclip.eval.judge --steps 0` ended in OneCycleLR's traceback."""
    from unclip.eval.judge import main

    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--out", str(tmp_path / "judge")])
    assert exit_.value.code == 2 and message in capsys.readouterr().err and not (tmp_path / "judge").exists()


def test_the_judge_trainer_refuses_an_out_it_cannot_write_before_training(tmp_path, capsys, monkeypatch):
    """An --out that is a file was found only after the half hour of training, in a FileExistsError traceback."""
    from unclip.eval import judge

    monkeypatch.setattr(judge, "train_judge", lambda *a: pytest.fail("trained before --out was checked"))
    (tmp_path / "afile").write_text("x")
    with pytest.raises(SystemExit) as exit_:
        judge.main(["--steps", "2", "--out", str(tmp_path / "afile")])
    assert exit_.value.code == 2 and "--out: '" in (err := capsys.readouterr().err) and "is a file, not a folder" in err
