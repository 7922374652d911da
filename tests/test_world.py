"""Tests for unclip.world: the captioned emoji world (CPU, a few seconds)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest

from unclip.world import EmojiWorld, Scene, SceneObject
from unclip.world.captions import article
from unclip.world.catalog import COUNT_WORDS, POSITIONS, RELATIONS, SCENES, SIZE_WORDS, SOLID_PHRASES

ASSETS = Path(__file__).resolve().parents[1] / "unclip" / "world" / "assets"
CATEGORIES = {"animal", "food", "vehicle", "plant", "nature", "object", "shape"}


@pytest.fixture(scope="module")
def world() -> EmojiWorld:
    return EmojiWorld()


@pytest.fixture(scope="module")
def scenes(world: EmojiWorld) -> list[Scene]:
    return [world.sample(seed, split="any") for seed in range(600)]


def _words(text: str) -> str:
    return f" {text} "


def _has(text: str, phrase: str) -> bool:
    return f" {phrase} " in _words(text)


def _groups(scene: Scene) -> list[list[SceneObject]]:
    return [[o for o in scene.objects if o.group == g] for g in range(len(scene.counts))]


# ---- vocabulary ---------------------------------------------------------------
def test_vocabulary_sizes(world: EmojiWorld) -> None:
    emoji = [s for s in world.specs if not s.is_shape]
    shapes = [s for s in world.specs if s.is_shape]
    assert 100 <= len(emoji) <= 150
    assert len(shapes) >= 5
    assert len(set(world.labels)) == len(world.labels) == len(world.specs)
    assert {s.category for s in world.specs} <= CATEGORIES
    assert {"animal", "food", "vehicle", "plant", "object"} <= {s.category for s in emoji}
    solid = [b for b in world.backgrounds if b not in SCENES]
    assert len(solid) >= 10 and len(world.scenes) >= 4
    assert len(set(world.backgrounds)) == len(world.backgrounds)
    assert len(world.shape_colors) >= 8
    assert len(set(world.templates)) >= 12
    assert set(world.relations) == {"left of", "right of", "above", "below", "next to", "and"}


def test_vendored_assets(world: EmojiWorld) -> None:
    path = ASSETS / "fluent-emoji-flat.json"
    assert path.stat().st_size < 2_000_000
    data = json.loads(path.read_text())
    icons = {s.icon for s in world.specs if s.icon}
    assert set(data["icons"]) == icons == set(data["bboxes"])
    assert data["width"] == data["height"] == 32
    lic = (ASSETS / "LICENSE-fluent-emoji-flat.txt").read_text()
    assert "MIT" in lic and "Microsoft" in lic
    readme = (ASSETS / "README.md").read_text()
    assert "1.2.6" in readme and "@iconify-json/fluent-emoji-flat" in readme
    for icon in icons:  # visible boxes are sane fractions of the view box
        x0, y0, x1, y1 = data["bboxes"][icon]
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1 and max(x1 - x0, y1 - y0) > 0.5


def test_article() -> None:
    assert article("apple") == "an" and article("owl") == "an"
    assert article("cat") == "a" and article("unicorn") == "a" and article("ufo") == "a"
    assert article("orange") == "an"


# ---- determinism ------------------------------------------------------------------
def test_same_seed_same_scene_and_pixels(world: EmojiWorld) -> None:
    for seed in (0, 1, 12345):
        a, b = world.sample(seed), world.sample(seed)
        assert a == b
        assert np.array_equal(world.render(a), world.render(b))
    gen_a = world.sample(np.random.default_rng(5))
    gen_b = world.sample(np.random.default_rng(5))
    assert gen_a == gen_b
    captions = {world.sample(s).caption for s in range(30)}
    assert len(captions) > 25  # different seeds give different scenes


def test_batch_items_equal_derived_seed_samples(world: EmojiWorld) -> None:
    images, captions, scenes = world.batch(6, seed=7)
    assert images.shape == (6, 64, 64, 3) and images.dtype == np.uint8
    for i in range(6):
        s = world.sample(EmojiWorld.item_seed(7, i))
        assert s == scenes[i] and s.caption == captions[i]
        assert np.array_equal(world.render(s), images[i])
    again, _, _ = world.batch(6, seed=7)
    assert np.array_equal(images, again)
    other, _, _ = world.batch(6, seed=8)
    assert not np.array_equal(images, other)


# ---- rendering ----------------------------------------------------------------------
def test_render_shapes_and_scales(world: EmojiWorld) -> None:
    scene = world.sample(3)
    small, big = world.render(scene, 64), world.render(scene, 256)
    assert small.shape == (64, 64, 3) and big.shape == (256, 256, 3)
    assert small.dtype == big.dtype == np.uint8
    pooled = big.reshape(64, 4, 64, 4, 3).mean(axis=(1, 3))
    assert np.abs(pooled - small).mean() < 12  # the same scene at both sizes
    wide = world.render(scene, 64, width=128)
    assert wide.shape == (64, 128, 3)
    assert np.array_equal(wide[:, 32:96], small)  # zoom-out keeps the centre
    pano = world.sample(3, aspect=2.0)
    assert pano.grid_width == 128
    assert world.render(pano, 64).shape == (64, 128, 3)
    images, _, _ = world.batch(2, seed=1, size=32, aspect=2.0)
    assert images.shape == (2, 32, 64, 3)


def test_objects_visible_inside_boxes(world: EmojiWorld) -> None:
    for seed in range(40):
        scene = world.sample(seed)
        img = world.render(scene, 64).astype(int)
        bare = world.render(dataclasses.replace(scene, objects=[]), 64).astype(int)
        changed = np.abs(img - bare).sum(-1) > 0  # (64, 64)
        cover = np.zeros_like(changed)
        for o in scene.objects:
            gx, gy, k = o.cell
            cover[gy : gy + k, gx : gx + k] = True
            x0, y0, x1, y1 = (round(v * 64) for v in o.box)
            assert changed[y0:y1, x0:x1].mean() > 0.2, (seed, o.label)
        assert not changed[~cover].any()  # nothing drawn outside the sprite cells


# ---- captions agree with ground truth --------------------------------------------------
def _check_group_phrase(world: EmojiWorld, phrase: str, group: list[SceneObject], count: int) -> None:
    spec = world.spec(group[0].label)
    assert len(group) == count and {o.label for o in group} == {spec.label}
    forms = [sing if count == 1 else plur for sing, plur in spec.phrases]
    assert any(phrase.endswith(" " + f) for f in forms), (phrase, forms)
    first = phrase.split()[0]
    assert first == (COUNT_WORDS[count] if count > 1 else article(phrase.split(" ", 1)[1]))
    if group[0].color is not None:
        assert _has(phrase, group[0].color)
    for size, words in SIZE_WORDS.items():
        if any(_has(phrase, w) for w in words):
            assert all(o.size == size for o in group), phrase
    for o in group:
        assert o.cell[2] <= 16 if o.size == "small" else True
        assert o.cell[2] >= 30 if o.size == "large" else True


def _check_relation(rel: str, a: list[SceneObject], b: list[SceneObject]) -> None:
    ax0, ay0 = min(o.box[0] for o in a), min(o.box[1] for o in a)
    ax1, ay1 = max(o.box[2] for o in a), max(o.box[3] for o in a)
    bx0, by0 = min(o.box[0] for o in b), min(o.box[1] for o in b)
    bx1, by1 = max(o.box[2] for o in b), max(o.box[3] for o in b)
    if rel == "left of":
        assert ax1 <= bx0
    elif rel == "right of":
        assert bx1 <= ax0
    elif rel == "above":
        assert ay1 <= by0
    elif rel == "below":
        assert by1 <= ay0
    elif rel == "next to":
        assert ax1 <= bx0 or bx1 <= ax0
        assert min(ay1, by1) > max(ay0, by0)  # vertically overlapping
        assert max(bx0 - ax1, ax0 - bx1) < 0.2  # close
    for oa in a:  # no relation (including "and") overlaps A with B
        for ob in b:
            assert oa.box[2] <= ob.box[0] or ob.box[2] <= oa.box[0] or oa.box[3] <= ob.box[1] or ob.box[3] <= oa.box[1]


def _check_position(pos: str, o: SceneObject) -> None:
    x0, y0, x1, y1 = o.box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    ok = {
        "left": x1 <= 0.41,
        "right": x0 >= 0.59,
        "top": y1 <= 0.41,
        "bottom": y0 >= 0.59,
        "center": abs(cx - 0.5) < 0.06 and abs(cy - 0.5) < 0.06,
    }[pos]
    assert ok, (pos, o.box)


def test_captions_agree_with_ground_truth(world: EmojiWorld, scenes: list[Scene]) -> None:
    for s in scenes:
        assert len(s.caption.split()) <= 20, s.caption
        assert all(_has(s.caption, p) for p in s.noun_phrases)
        for o in s.objects:
            assert 0 <= o.box[0] < o.box[2] <= 1 and 0 <= o.box[1] < o.box[3] <= 1
            forms = [f for pair in world.spec(o.label).phrases for f in pair]
            assert any(re.search(rf"\b{re.escape(f)}\b", s.caption) for f in forms)
        groups = _groups(s)
        if s.position is not None:
            assert any(_has(s.caption, f"{s.noun_phrases[0]} {p}") for p in POSITIONS[s.position])
            _check_position(s.position, s.objects[0])
        _check_group_phrase(world, s.noun_phrases[0], groups[0], s.counts[0])
        if s.relation is None:
            assert len(groups) == 1
            continue
        _check_group_phrase(world, s.noun_phrases[1], groups[1], s.counts[1])
        rel_phrase = s.caption.split(s.noun_phrases[0], 1)[1].split(s.noun_phrases[1])[0]
        assert rel_phrase.strip() in RELATIONS[s.relation], (s.caption, s.relation)
        _check_relation(s.relation, groups[0], groups[1])


def test_background_phrases_match(scenes: list[Scene]) -> None:
    seen = set()
    for s in scenes:
        seen.add(s.background)
        if not s.names_background:  # the eval scores no background for these captions: none may be named
            assert "background" not in s.caption, s.caption
            assert not any(_has(s.caption, p) for ps in SCENES.values() for p in ps), s.caption
            continue
        if s.background in SCENES:
            assert any(_has(s.caption, p) for p in SCENES[s.background]), s.caption
        else:
            options = [p.format(art=article(s.background), c=s.background) for p in SOLID_PHRASES]
            assert any(_has(s.caption, p) for p in options), s.caption
    assert len(seen) >= 14  # solid colours and scenes both get sampled


def test_emoji_stay_visible_on_their_background(world: EmojiWorld, scenes: list[Scene]) -> None:
    assert "white" not in world.backgrounds_for("cloud")
    assert "green" not in world.backgrounds_for("tree")
    assert "black" in world.backgrounds_for("cloud")
    assert world.backgrounds_for("circle") == world.backgrounds
    for s in scenes:
        for o in s.objects:
            assert s.background in world.backgrounds_for(o.label), (o.label, s.background)
            if o.color is not None:  # shape colours contrast with the background
                assert o.color in world.shape_colors_for(s.background)


def test_all_templates_relations_counts_used(world: EmojiWorld, scenes: list[Scene]) -> None:
    assert {s.template for s in scenes} == set(world.templates)
    assert {s.relation for s in scenes} == set(world.relations) | {None}
    assert {c for s in scenes for c in s.counts} == {1, 2, 3}
    assert {s.position for s in scenes} == set(POSITIONS) | {None}
    colours = {o.color for s in scenes for o in s.objects if o.color}
    assert len(colours) >= 8


# ---- held-out pairs ------------------------------------------------------------------
def test_heldout_split_definition(world: EmojiWorld) -> None:
    pairs = world.heldout_pairs()
    n = len(world.labels)
    frac = len(pairs) / (n * (n - 1) / 2)
    assert 0.05 <= frac <= 0.15
    for p in list(pairs)[:50]:
        a, b = sorted(p)
        assert world.is_heldout_pair(a, b) and world.is_heldout_pair(b, a)
    assert not world.is_heldout_pair("cat", "cat")
    assert pairs == EmojiWorld().heldout_pairs()


def test_train_never_yields_heldout_pairs(world: EmojiWorld) -> None:
    n_pairs = 0
    for seed in range(2000):
        labels = world.sample(seed, split="train").labels
        if len(labels) == 2:
            n_pairs += 1
            assert not world.is_heldout_pair(*labels), labels
    assert n_pairs > 800


def test_heldout_split_only_heldout_pairs(world: EmojiWorld) -> None:
    pairs = world.heldout_pairs()
    seen = set()
    for seed in range(300):
        s = world.sample(seed, split="heldout")
        assert len(s.labels) == 2 and s.relation is not None
        assert frozenset(s.labels) in pairs
        seen.add(frozenset(s.labels))
    assert len(seen) > 200  # spread over many held-out pairs
    with pytest.raises(ValueError, match="split must be one of"):
        world.sample(0, split="test")
    with pytest.raises(ValueError, match="aspect must be >= 1"):
        world.sample(0, aspect=0.5)


# ---- CLI ---------------------------------------------------------------------------
def test_cli_writes_grid_and_captions(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from PIL import Image

    from unclip.world.cli import main

    out = tmp_path / "grid.png"
    assert main(["--n", "4", "--out", str(out), "--seed", "3", "--size", "32"]) == 0
    img = np.asarray(Image.open(out))
    assert img.shape == (2 * 34 + 2, 2 * 34 + 2, 3)
    lines = out.with_suffix(".txt").read_text().splitlines()
    assert len(lines) == 4 and capsys.readouterr().out.splitlines() == lines
    assert lines[0] == EmojiWorld().sample(EmojiWorld.item_seed(3, 0)).caption
    assert main(["--n", "0", "--out", str(tmp_path / "none.png")]) == 2
    assert capsys.readouterr().err == "error: --n must be from 1 to 1024, got 0\n"
    assert not (tmp_path / "none.png").exists()


@pytest.mark.parametrize(("extra", "message"), [
    (["--size", "0"], "--size must be from 16 to 1024 pixels, got 0"),  # a numpy traceback
    (["--size", "100000"], "--size must be from 16 to 1024 pixels, got 100000"),  # tried to allocate 112 GiB
    (["--width", "10"], "--width must be from --size (64) to 4x it (256), got 10"),
    (["--n", "100000"], "--n must be from 1 to 1024, got 100000"),  # a PNG too big for PIL to open again
    (["--seed", "-1"], "--seed must be from 0 to 2**63 - 1, got -1"),
    (["--seed", str(2**63)], f"--seed must be from 0 to 2**63 - 1, got {2**63}"),  # the same grid as --seed 0
    (["--n", "1024", "--size", "512"], "--n x --size x --width: 1024 scenes of 512x512 px is 268 Mpx; at most 64 Mpx"),
    (["--out", "grid"], "--out must be the path of a .png file (its captions go beside it as .txt), got 'grid'"),
    (["--out", "blocker/grid.png"], "--out: 'blocker' is a file, not a folder"),  # tracebacks, both
])
def test_cli_refuses_bad_arguments_by_name_before_rendering(extra: list[str], message: str, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from unclip.world.cli import main

    monkeypatch.chdir(tmp_path)
    Path("blocker").write_text("a file")
    assert main(extra) == 2
    assert capsys.readouterr().err == f"error: {message}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]


def test_cli_refuses_a_caption_path_that_is_a_folder_before_writing_the_grid(tmp_path: Path,
                                                                           capsys: pytest.CaptureFixture) -> None:
    """The grid was written, then writing its captions raised IsADirectoryError: a traceback and half a result."""
    from unclip.world.cli import main

    (tmp_path / "g.txt").mkdir()
    assert main(["--n", "2", "--out", str(tmp_path / "g.png")]) == 2
    assert capsys.readouterr().err == f"error: --out: the captions go to '{tmp_path / 'g.txt'}', which is a folder\n"
    assert not (tmp_path / "g.png").exists()
