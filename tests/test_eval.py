"""The eval runs end to end on tiny-random, and its metrics behave on known inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unclip.eval.judge import judge_images, new_judge, targets
from unclip.eval.metrics import clip_retrieval
from unclip.eval.report import evaluate, fidelity, format_report, frechet
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
    wrong = _oracle(world, scenes)
    wrong["presence"] = 1.0 - wrong["presence"]  # every label but the true ones
    assert fidelity(world, scenes, wrong)["object_recall"] == 0.0


def test_frechet_is_zero_for_identical_sets_and_grows_with_shift():
    x = np.random.default_rng(0).normal(size=(400, 8))
    assert abs(frechet(x, x)) < 1e-6
    assert frechet(x, x + 1.0) == pytest.approx(8.0, rel=0.05)


def test_clip_retrieval_is_a_fraction(backend, world):
    r = clip_retrieval(backend.models, world, n=10, seed=1)
    assert 0.0 <= r <= 1.0


def test_eval_runs_end_to_end_on_tiny_random(backend, world):
    judge = new_judge(world).eval()
    report = evaluate(backend, n=4, judge=judge)
    for key in ("clip_r1", "prior_alignment", "judge_on_renders", "fidelity", "ablation", "frechet_clip"):
        assert key in report
    assert set(report["ablation"]) == {"prior", "text_embedding", "caption_only"}
    assert 0 <= report["fidelity"]["heldout"]["object_recall"] <= 1
    assert "CLIP R@1" in format_report(report)
    preds = judge_images(judge, torch.zeros(2, 3, 256, 256))  # any size: the judge resizes to 64 px
    assert preds["presence"].shape == (2, len(world.labels))
    assert preds["centre"].min() >= 0 and preds["centre"].max() <= 1
