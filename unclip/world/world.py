"""EmojiWorld: seeded sampling of captioned scenes and their fast rendering."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from . import captions as cap
from .assets import SpriteBank, icon_bbox, icon_svg, rasterize, shape_bbox
from .backgrounds import N_VARIANTS, background
from .catalog import (
    COLORS,
    POSITIONS,
    RELATIONS,
    SCENE_PALETTES,
    SCENES,
    SHAPE_COLORS,
    SOLID_BACKGROUNDS,
    TEMPLATES,
    ObjectSpec,
    object_specs,
)
from .layout import GRID, PAIR_CAPS, POSITION_CAP, Cell, Draw, layout_pair, layout_position, layout_single, pick_size
from .split import PairTable, heldout_pairs, is_heldout_pair

SPLITS = ("train", "heldout", "any")
P_PAIR = 0.55  # share of two-group scenes (train / any)
P_SHAPE = 0.3  # chance that an object slot holds a coloured shape
P_SOLID = 0.5  # chance of a solid-colour background
P_POSITION = 0.3  # chance that a single small/medium object gets a position claim
MIN_CONTRAST = 90.0  # min RGB distance between a shape colour and the background
BLEND_DIST = 60.0  # an emoji pixel this close to a background colour blends in
MAX_BLEND = {"solid": 0.6, "scene": 0.8}  # max share of blending pixels per emoji
SEED_MULT = 1_000_003

BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class SceneObject:
    """One rendered object instance (ground truth)."""

    label: str  # canonical class name, one of EmojiWorld.labels
    category: str  # animal | food | vehicle | plant | nature | object | shape
    color: str | None  # shape colour name; None for emoji
    box: BBox  # visible box, normalised (x0, y0, x1, y1): x by width, y by height
    group: int = 0  # 0 = subject ("a" in the caption), 1 = reference ("b")
    size: str = "medium"  # small | medium | large (sprite size class)
    cell: tuple[int, int, int] = (0, 0, 0)  # sprite square (gx, gy, k), 1/64 of height


@dataclass(frozen=True)
class Scene:
    """A captioned scene; render it with ``EmojiWorld.render``."""

    caption: str
    objects: list[SceneObject]
    background: str  # one of EmojiWorld.backgrounds
    relation: str | None  # left of | right of | above | below | next to | and | None
    position: str | None = None  # single-object position claim (left, top, ...)
    template: str = ""
    noun_phrases: tuple[str, ...] = ()  # caption noun phrase per group (no position)
    counts: tuple[int, ...] = ()  # instances per group
    bg_variant: int = 0  # seed of the background's random details
    grid_width: int = GRID  # canvas width in grid units (64 = square)
    split: str = "train"

    @property
    def aspect(self) -> float:
        return self.grid_width / GRID

    @property
    def names_background(self) -> bool:
        """Whether the caption says where the scene is (a template with {where}). Only then is a generated
        image's background right or wrong: "a zebra" leaves it to the model."""
        return "{where}" in self.template

    @property
    def labels(self) -> list[str]:
        """Label of each group, subject ("a") first."""
        first: dict[int, str] = {}
        for o in self.objects:
            first.setdefault(o.group, o.label)
        return [first[g] for g in sorted(first)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly ground truth."""
        return asdict(self)


@dataclass(frozen=True)
class _Group:
    spec: ObjectSpec
    color: str | None
    count: int
    size: str


class EmojiWorld:
    """Procedural captioned emoji scenes (see the package docstring)."""

    def __init__(self, sprite_cache_mb: int = 256) -> None:
        self.specs: tuple[ObjectSpec, ...] = object_specs()
        self.labels: list[str] = [s.label for s in self.specs]
        self.backgrounds: list[str] = list(SOLID_BACKGROUNDS) + list(SCENES)
        self.scenes: list[str] = list(SCENES)
        self.shape_colors: list[str] = list(SHAPE_COLORS)
        self.templates: list[str] = list(TEMPLATES)
        self.relations: list[str] = list(RELATIONS)
        self._index = {s.label: i for i, s in enumerate(self.specs)}
        self._emoji = [i for i, s in enumerate(self.specs) if not s.is_shape]
        self._shapes = [i for i, s in enumerate(self.specs) if s.is_shape]
        self._palettes = {bg: np.asarray(SCENE_PALETTES.get(bg) or (COLORS[bg],), np.float32)
                          for bg in self.backgrounds}  # name -> (P, 3)
        self._colors_for = {bg: self._contrasting(bg) for bg in self.backgrounds}
        self._bg_ok: dict[int, list[str]] = {}
        self._pairs: PairTable | None = None
        self._bboxes: dict[str, BBox] = {}
        self._sprites = SpriteBank(sprite_cache_mb << 20)

    # ---- vocabulary ---------------------------------------------------------
    def spec(self, label: str) -> ObjectSpec:
        return self.specs[self._index[label]]

    def bbox(self, label: str) -> BBox:
        """Visible box of a label's sprite as fractions of its square cell."""
        box = self._bboxes.get(label)
        if box is None:
            s = self.spec(label)
            box = shape_bbox(label) if s.icon is None else icon_bbox(s.icon)
            self._bboxes[label] = box
        return box

    def heldout_pairs(self) -> set[frozenset[str]]:
        return heldout_pairs(self.labels)

    def is_heldout_pair(self, a: str, b: str) -> bool:
        return is_heldout_pair(a, b)

    @staticmethod
    def item_seed(seed: int, i: int) -> int:
        """Seed of item i in ``batch(n, seed)``: (seed * 1_000_003 + i) mod 2**63."""
        return (seed * SEED_MULT + i) % (1 << 63)

    def _contrasting(self, bg: str) -> list[str]:
        """Shape colours that stand out on background ``bg``."""
        pal = self._palettes[bg]  # (P, 3)
        return [c for c in SHAPE_COLORS
                if np.linalg.norm(pal - np.asarray(COLORS[c], np.float32), axis=1).min()
                > MIN_CONTRAST]

    def shape_colors_for(self, background: str) -> list[str]:
        """Shape colours used on ``background`` (RGB distance > MIN_CONTRAST)."""
        return self._colors_for[background]

    def backgrounds_for(self, label: str) -> list[str]:
        """Backgrounds on which ``label`` stays visible (not, e.g., a cloud on white).

        An emoji is excluded from a background when most of its opaque pixels
        (a 32 px rendering) lie within BLEND_DIST of one of the background's
        main colours; shapes get contrasting colours instead, so allow all.
        """
        i = self._index[label]
        ok = self._bg_ok.get(i)
        if ok is None:
            ok = list(self.backgrounds)
            icon = self.specs[i].icon
            if icon is not None:
                rgba = rasterize(icon_svg(icon), 32)  # (32, 32, 4) uint8
                px = rgba[..., :3][rgba[..., 3] > 128].astype(np.float32)  # (N, 3)
                ok = [bg for bg in self.backgrounds if self._blend(px, bg) <= self._max_blend(bg)]
            self._bg_ok[i] = ok
        return ok

    def _blend(self, px: np.ndarray, bg: str) -> float:
        dist = np.linalg.norm(px[:, None, :] - self._palettes[bg][None], axis=-1)  # (N, P)
        return float((dist.min(axis=1) < BLEND_DIST).mean())

    @staticmethod
    def _max_blend(bg: str) -> float:
        return MAX_BLEND["scene" if bg in SCENES else "solid"]

    def _fix_background(self, d: Draw, bg: str, indices: tuple[int, ...]) -> str:
        """Keep ``bg`` if every chosen emoji is visible on it, else redraw it."""
        oks = [self.backgrounds_for(self.labels[i]) for i in indices]
        if all(bg in ok for ok in oks):
            return bg
        allowed = [b for b in oks[0] if all(b in ok for ok in oks[1:])]
        return d.choice(allowed or self.backgrounds)

    def _table(self) -> PairTable:
        if self._pairs is None:
            self._pairs = PairTable(self.labels, [s.is_shape for s in self.specs])
        return self._pairs

    # ---- sampling -------------------------------------------------------------
    def sample(self, seed: int | np.random.Generator, split: str = "train",
               aspect: float = 1.0) -> Scene:
        """Sample one scene; the same seed (and split, aspect) gives the same scene."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        if aspect < 1.0:
            raise ValueError("aspect must be >= 1 (wide canvases only)")
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        d = Draw(rng)
        wg = round(GRID * aspect)
        bg = d.choice(SOLID_BACKGROUNDS) if d.u() < P_SOLID else d.choice(self.scenes)
        variant = d.int(N_VARIANTS)
        if split == "heldout" or d.u() < P_PAIR:
            return self._sample_pair(d, split, bg, variant, wg)
        return self._sample_single(d, split, bg, variant, wg)

    def _pick_index(self, d: Draw) -> int:
        return d.choice(self._shapes if d.u() < P_SHAPE else self._emoji)

    def _color(self, d: Draw, i: int, bg: str, avoid: str | None = None) -> str | None:
        if not self.specs[i].is_shape:
            return None
        return d.choice([c for c in self._colors_for[bg] if c != avoid])

    def _sample_single(self, d: Draw, split: str, bg: str, variant: int, wg: int) -> Scene:
        i = self._pick_index(d)
        bg = self._fix_background(d, bg, (i,))
        count = d.weighted((1, 2, 3), (0.6, 0.25, 0.15))
        size_w = {1: (0.3, 0.4, 0.3), 2: (0.4, 0.6, 0.0), 3: (0.5, 0.5, 0.0)}[count]
        size = d.weighted(("small", "medium", "large"), size_w)
        position = None
        if count == 1 and size != "large" and d.u() < P_POSITION:
            position = d.choice(tuple(POSITIONS))
        group = _Group(self.specs[i], self._color(d, i, bg), count, size)
        if position is not None:
            k = pick_size(d, size, POSITION_CAP)
            cells = layout_position(d, position, k, wg, self.bbox(group.spec.label))
        else:
            cells = layout_single(d, count, pick_size(d, size, GRID // count), wg)
        a = cap.noun_phrase(d, group.spec, count, size, group.color)
        a_pos = a if position is None else f"{a} {cap.position_phrase(d, position)}"
        caption, template = cap.single_caption(d, a_pos, cap.where_phrase(d, bg))
        return self._scene(caption, [group], cells, bg, variant, wg, split, None,
                           position, template, (a,))

    def _sample_pair_indices(self, d: Draw, split: str) -> tuple[int, int]:
        table = self._table()
        if split == "heldout":
            i, j = d.choice(table.heldout)
            return (i, j) if d.u() < 0.5 else (j, i)
        i = self._pick_index(d)
        row = table.partners[split][i]
        kind = "shape" if d.u() < P_SHAPE else "emoji"
        cand = row[kind] or row["emoji" if kind == "shape" else "shape"]
        return i, d.choice(cand)

    def _sample_pair(self, d: Draw, split: str, bg: str, variant: int, wg: int) -> Scene:
        ia, ib = self._sample_pair_indices(d, split)
        bg = self._fix_background(d, bg, (ia, ib))
        relation = d.choice(self.relations)
        groups: list[_Group] = []
        for i in (ia, ib):
            count = 1 if relation == "next to" or d.u() < 0.8 else 2
            size = d.weighted(("small", "medium", "large"), (0.35, 0.5, 0.15))
            size = "medium" if (size == "large" and count > 1) else size
            avoid = groups[0].color if groups and ia == ib else None
            groups.append(_Group(self.specs[i], self._color(d, i, bg, avoid), count, size))
        ks = tuple(pick_size(d, g.size, PAIR_CAPS[g.size]) for g in groups)
        bbs = (self.bbox(groups[0].spec.label), self.bbox(groups[1].spec.label))
        counts = (groups[0].count, groups[1].count)
        cells = layout_pair(d, relation, counts, ks, wg, bbs)  # type: ignore[arg-type]
        a, b = (cap.noun_phrase(d, g.spec, g.count, g.size, g.color) for g in groups)
        rel = cap.relation_phrase(d, relation)
        caption, template = cap.pair_caption(d, a, rel, b, cap.where_phrase(d, bg))
        return self._scene(caption, groups, cells, bg, variant, wg, split, relation,
                           None, template, (a, b))

    def _scene(self, caption: str, groups: list[_Group], cells: list[Cell], bg: str,
               variant: int, wg: int, split: str, relation: str | None,
               position: str | None, template: str, phrases: tuple[str, ...]) -> Scene:
        objects = []
        for c in cells:
            g = groups[c.group]
            bx0, by0, bx1, by1 = self.bbox(g.spec.label)
            box = ((c.gx + c.k * bx0) / wg, (c.gy + c.k * by0) / GRID,
                   (c.gx + c.k * bx1) / wg, (c.gy + c.k * by1) / GRID)
            objects.append(SceneObject(g.spec.label, g.spec.category, g.color, box,
                                       c.group, g.size, (c.gx, c.gy, c.k)))
        return Scene(caption, objects, bg, relation, position, template, phrases,
                     tuple(g.count for g in groups), variant, wg, split)

    # ---- rendering ------------------------------------------------------------
    def render(self, scene: Scene, size: int = 64, width: int | None = None) -> np.ndarray:
        """Render to (size, width, 3) uint8; ``width`` defaults to size * aspect.

        A different ``width`` keeps the scene's own canvas centred (objects keep
        their pixel size) and extends or crops the background sideways.
        """
        natural = round(scene.grid_width * size / GRID)
        out_w = natural if width is None else int(width)
        off = (out_w - natural) // 2
        canvas = background(scene.background, scene.bg_variant, size, out_w,
                            2 * off + natural).copy()  # (H, W, 3) float32
        scale = size / GRID
        for obj in scene.objects:
            self._composite(canvas, obj, scale, off)
        canvas += 0.5
        return canvas.astype(np.uint8)  # (H, W, 3) uint8

    def _composite(self, canvas: np.ndarray, obj: SceneObject, scale: float, off: int) -> None:
        gx, gy, k = obj.cell
        px = max(1, round(k * scale))
        x, y = round(gx * scale) + off, round(gy * scale)
        h, w = canvas.shape[:2]
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + px, w), min(y + px, h)
        if x0 >= x1 or y0 >= y1:
            return
        spec = self.spec(obj.label)
        shape = obj.label if spec.is_shape else None
        rgb, inv_a = self._sprites.sprite(spec.icon, shape, obj.color, px)
        sy, sx = slice(y0 - y, y1 - y), slice(x0 - x, x1 - x)
        region = canvas[y0:y1, x0:x1]  # (h', w', 3) view
        region *= inv_a[sy, sx]
        region += rgb[sy, sx]

    def batch(self, n: int, seed: int, size: int = 64, split: str = "train",
              aspect: float = 1.0) -> tuple[np.ndarray, list[str], list[Scene]]:
        """n scenes; item i is ``sample(item_seed(seed, i), split, aspect)``.

        Returns images (n, size, round(size * aspect), 3) uint8, captions, scenes.
        """
        scenes = [self.sample(self.item_seed(seed, i), split, aspect) for i in range(n)]
        width = round(round(GRID * aspect) * size / GRID)
        images = np.empty((n, size, width, 3), dtype=np.uint8)
        for i, s in enumerate(scenes):
            images[i] = self.render(s, size)
        return images, [s.caption for s in scenes], scenes
