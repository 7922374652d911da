"""What the explorer maps: a collection of CLIP embeddings (images, texts, prior samples, path steps).

    probe_set(backend, n)     n emoji-world scenes: each its image AND its caption (2n points); computed once
                              per backend and shared read-only by every session
    embed_texts/embed_images  CLIP embeddings through an LRU cache keyed by (model name, content hash)
    Session                   one browser session's view: the shared probe set + its own points + its layout

A Session is immutable: every operation returns a new one, so two requests of one session never race on it.
Points are referred to as "#<id> <kind> · <caption>" (`Point.ref`); `parse_ref` reads the "#<id>" back.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from unclip.explore import NEAREST_K, GapStats, modality_gap, nearest
from unclip.explore_projection import Layout, fit_layout
from unclip.images import to_tensor

if TYPE_CHECKING:
    from unclip.backend import Generation, UnCLIP

KINDS = ("image", "text", "prior sample", "interpolation step", "text-diff step")
MODALITY = {"image": "image", "prior sample": "image", "interpolation step": "image", "text-diff step": "image",
            "text": "text"}
PROBE_SIZE = 500  # scenes (each gives an image point and a text point)
THUMB = 64  # thumbnails kept per image point (px)
NO_CATEGORY = "—"


@dataclass(frozen=True)
class Point:
    id: int
    kind: str  # one of KINDS
    source: str  # "probe set" | "generated" | "upload" | "typed" | "gap" | "path"
    caption: str  # what the hover label and the picker show
    category: str = NO_CATEGORY  # the emoji world category of the scene's subject
    thumb: np.ndarray | None = None  # (THUMB, THUMB, 3) uint8, for points that have a picture
    key: str = ""  # content hash: a second point with the same source and key is not added again
    made_by: str = ""  # a generated point: what made it (Generate's mode, an edit's operation), so the map can
    # colour the §5.1 modes and the tabs apart
    prompt: str = ""  # an image point: the caption it was rendered or generated from, when there is one

    @property
    def modality(self) -> str:
        return MODALITY[self.kind]

    @property
    def origin(self) -> str:
        """Its source, and for a generated point what made it: 'generated · caption_only', 'probe set'."""
        return f"{self.source} · {self.made_by}" if self.made_by else self.source

    @property
    def ref(self) -> str:
        text = self.caption if len(self.caption) <= 60 else self.caption[:57] + "..."
        return f"#{self.id} {self.kind} · {text}"


def parse_ref(value: str) -> int | None:
    """'#12 image · a cat' or '#12' -> 12; anything else (e.g. a typed caption) -> None."""
    m = re.match(r"^\s*#(\d+)(\s|$)", value or "")
    return int(m.group(1)) if m else None


def looks_like_ref(value: str) -> bool:
    """'#-1', '#2x', '#1.5', a bare '#', '# 3': meant as a point (a # then a number) but none `parse_ref` reads."""
    text = value or ""
    numbered = re.match(r"^\s*#[-+]?\d", text) or re.fullmatch(r"\s*#\s*\d*\s*", text)
    return parse_ref(text) is None and numbered is not None


@dataclass(frozen=True)
class Collection:
    points: tuple[Point, ...] = ()
    embeds: Tensor = field(default_factory=lambda: torch.zeros(0, 0))  # (N, D) float32, CPU

    def __len__(self) -> int:
        return len(self.points)

    def __add__(self, other: Collection) -> Collection:
        if not len(self):
            return other
        if not len(other):
            return self
        return Collection(self.points + other.points, torch.cat([self.embeds, other.embeds]))

    def keep(self, mask: list[bool]) -> Collection:
        return Collection(tuple(p for p, k in zip(self.points, mask, strict=True) if k), self.embeds[mask])

    @property
    def ids(self) -> list[int]:
        return [p.id for p in self.points]

    @property
    def modalities(self) -> list[str]:
        return [p.modality for p in self.points]


# -- embeddings, cached ---------------------------------------------------------------------------------------
class EmbeddingCache:
    """A thread-safe LRU of CLIP embeddings: (`clip_key`, 'text'|'image', sha256 of the content) -> (D,)."""

    def __init__(self, maxsize: int = 8192):
        self.maxsize, self._data, self._lock = maxsize, OrderedDict(), threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: tuple[str, str, str]) -> Tensor | None:
        with self._lock:
            value = self._data.get(key)
            if value is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: tuple[str, str, str], value: Tensor) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)


CACHE = EmbeddingCache()
_CLIP_KEYS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # CLIP module -> its key in CACHE
_CLIP_KEYS_LOCK, _CLIP_COUNT = threading.Lock(), itertools.count()


def clip_key(backend: UnCLIP) -> str:
    """Which loaded CLIP made an embedding: one key per CLIP module while it lives, not the model's name (two
    model folders, or tiny-random with two seeds, may share a name and not their weights)."""
    with _CLIP_KEYS_LOCK:
        clip = backend.models.clip
        if clip not in _CLIP_KEYS:
            _CLIP_KEYS[clip] = f"{backend.name}#{next(_CLIP_COUNT)}"  # never reused, unlike id()
        return _CLIP_KEYS[clip]


def content_hash(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def _cached(backend: UnCLIP, kind: str, keys: list[str], compute: Callable[[list[int]], Tensor],
            batch: int = 64) -> Tensor:
    """Embeddings for `keys` (N,), computing the misses in batches with compute(indices) -> (n, D)."""
    model = clip_key(backend)
    found = [CACHE.get((model, kind, k)) for k in keys]
    missing = [i for i, f in enumerate(found) if f is None]
    for start in range(0, len(missing), batch):
        idx = missing[start : start + batch]
        for i, e in zip(idx, compute(idx), strict=True):
            found[i] = e.float().cpu()
            CACHE.put((model, kind, keys[i]), found[i])
    return torch.stack(found) if found else torch.zeros(0, backend.models.embed_dim)


def embed_texts(backend: UnCLIP, texts: list[str]) -> Tensor:
    """Captions -> (N, D) CLIP text embeddings (cached)."""
    return _cached(backend, "text", [content_hash(t) for t in texts],
                   lambda idx: backend.encode_text([texts[i] for i in idx]).embeds)  # fmt: skip


def embed_images(backend: UnCLIP, images: list[np.ndarray]) -> Tensor:
    """uint8 (H, W, 3) images (any sizes) -> (N, D) CLIP image embeddings (cached; same-size ones batched)."""
    keys = [content_hash(f"{im.shape}".encode() + np.ascontiguousarray(im).tobytes()) for im in images]

    def compute(idx: list[int]) -> Tensor:
        out: dict[int, Tensor] = {}
        for shape in {images[i].shape for i in idx}:
            same = [i for i in idx if images[i].shape == shape]
            batch = backend.encode_image(to_tensor(np.stack([images[i] for i in same])))  # (n, D)
            out.update(zip(same, batch, strict=True))
        return torch.stack([out[i] for i in idx])

    return _cached(backend, "image", keys, compute)


def thumbnail(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (THUMB, THUMB, 3) uint8."""
    if image.shape[:2] == (THUMB, THUMB):
        return image
    return np.asarray(Image.fromarray(image).resize((THUMB, THUMB), Image.Resampling.BICUBIC))


# -- the probe set -------------------------------------------------------------------------------------------
_PROBES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # backend -> {(n, seed): Collection}
_PROBE_LOCK = threading.Lock()


def probe_set(backend: UnCLIP, n: int = PROBE_SIZE, seed: int = 0) -> Collection:
    """n emoji-world scenes -> 2n points (ids 0..2n-1: scene i's image is 2i, its caption 2i + 1)."""
    with _PROBE_LOCK:
        cached = _PROBES.setdefault(backend, {}).get((n, seed))
        if cached is not None:
            return cached
        from unclip.world import EmojiWorld

        images, captions, scenes = EmojiWorld().batch(n, seed=seed, size=THUMB)  # (n, 64, 64, 3) uint8
        image_embeds = embed_images(backend, list(images))  # (n, D)
        text_embeds = embed_texts(backend, captions)  # (n, D)
        points: list[Point] = []
        for i, (im, cap, scene) in enumerate(zip(images, captions, scenes, strict=True)):
            category = scene.objects[0].category if scene.objects else NO_CATEGORY
            points += [Point(2 * i, "image", "probe set", cap, category, im, prompt=cap),
                       Point(2 * i + 1, "text", "probe set", cap, category)]  # fmt: skip
        embeds = torch.stack([image_embeds, text_embeds], dim=1).reshape(2 * n, -1)  # (2n, D) interleaved
        _PROBES[backend][(n, seed)] = Collection(tuple(points), embeds)
        return _PROBES[backend][(n, seed)]


# -- one browser session ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Session:
    probe: Collection  # shared, read-only
    added: Collection = field(default_factory=Collection)  # this session's own points
    next_id: int = 0
    layout: Layout | None = None
    path: tuple[int, ...] = ()  # the last interpolation / text-diff path, drawn as a line
    links: tuple[tuple[int, int], ...] = ()  # segments drawn between points (modality gap)
    selected: int | None = None

    @property
    def collection(self) -> Collection:
        return self.probe + self.added

    def point(self, pid: int) -> Point | None:
        for p in (self.added.points if pid >= len(self.probe) else self.probe.points):
            if p.id == pid:
                return p
        return None

    def embed_of(self, pid: int) -> Tensor:
        c = self.collection
        return c.embeds[c.ids.index(pid)]

    def add(self, points: list[Point], embeds: Tensor, replace_source: str | None = None) -> tuple[Session, list[int]]:
        """Append points (N,) with embeds (N, D), assigning their ids; returns the new session and the ids.
        A point whose (source, kind, key) is already in the session is not added again (its old id is
        returned). `replace_source` first drops every earlier point of that source (the last path only)."""
        added = self.added
        if replace_source is not None and len(added):
            added = added.keep([p.source != replace_source for p in added.points])
        known = {(p.source, p.kind, p.key): p.id for p in added.points if p.key}
        ids, fresh, rows, next_id = [], [], [], self.next_id
        for row, p in enumerate(points):
            old = known.get((p.source, p.kind, p.key)) if p.key else None
            if old is None:
                old, next_id = next_id, next_id + 1
                fresh.append(replace(p, id=old))
                rows.append(row)
                if p.key:
                    known[(p.source, p.kind, p.key)] = old
            ids.append(old)
        new = Collection(tuple(fresh), embeds[rows].float().cpu()) if fresh else Collection()
        return replace(self, added=added + new, next_id=next_id), ids


def new_session(backend: UnCLIP, probe_size: int = PROBE_SIZE) -> Session:
    probe = probe_set(backend, probe_size)
    return Session(probe, Collection(), next_id=len(probe))


def ensure_layout(session: Session, method: str = "pca", dims: int = 2, remove_gap: bool = False,
                  refit: bool = False) -> Session:  # fmt: skip
    """Fit when asked or when the settings changed; otherwise place only the new points (stable map)."""
    c = session.collection
    layout = session.layout
    if refit or layout is None or not layout.matches(method, dims, remove_gap):
        layout = fit_layout(c.ids, c.embeds, c.modalities, method, dims, remove_gap)
    else:
        layout = layout.place(c.ids, c.embeds, c.modalities)
    return replace(session, layout=layout)


def collection_gap(collection: Collection) -> GapStats | None:
    """The image-text centroid distance of a collection (None when it lacks one of the two modalities)."""
    mods = collection.modalities
    images = [i for i, m in enumerate(mods) if m == "image"]
    texts = [i for i, m in enumerate(mods) if m == "text"]
    if not images or not texts:
        return None
    return modality_gap(collection.embeds[images], collection.embeds[texts])


def neighbours(session: Session, pid: int, k: int = NEAREST_K) -> list[tuple[Point, float]]:
    """The k points of the session's collection nearest (cosine) to point `pid`, with their similarity."""
    c = session.collection
    row = c.ids.index(pid)
    idx, sims = nearest(c.embeds[row], c.embeds, k, exclude=row)
    return [(c.points[i], s) for i, s in zip(idx, sims, strict=True)]


def gap_points(gen: Generation) -> tuple[list[Point], Tensor, list[tuple[int, int]]]:
    """One prompt's text embedding, its k prior samples and its k images' CLIP embeddings as points (source
    "gap"): (points (1 + 2k,), embeds (1 + 2k, D), links text -> prior_i -> image_i as row pairs)."""
    k, thumbs = len(gen.images), [thumbnail(np.asarray(im)) for im in gen.images]
    points = [Point(0, "text", "gap", gen.prompt)]
    points += [Point(0, "prior sample", "gap", f"prior sample, seed {s}: {gen.prompt}", thumb=t)
               for s, t in zip(gen.seeds, thumbs, strict=True)]  # fmt: skip
    points += [Point(0, "image", "gap", f"image, seed {s}: {gen.prompt}", thumb=t, prompt=gen.prompt)
               for s, t in zip(gen.seeds, thumbs, strict=True)]  # fmt: skip
    embeds = torch.cat([gen.text_embeds.reshape(1, -1), gen.image_embeds, gen.result_embeds]).float().cpu()
    links = [(0, 1 + i) for i in range(k)] + [(1 + i, 1 + k + i) for i in range(k)]
    return points, embeds, links
