"""The captioned emoji world: procedural training data that needs no download.

Scenes are built from 143 Fluent Emoji Flat icons (MIT, Microsoft; a vendored
subset, see ``assets/README.md``) and 7 coloured procedural shapes, placed on
11 solid colours or 6 numpy-drawn scenes (grass, night, beach, snow,
underwater, sunset), and captioned from 13 templates with synonyms, counts
(1-3), size adjectives, single-object positions and two-object relations
("left of", "right of", "above", "below", "next to", "and").  The layout
always makes the caption true.

Usage::

    from unclip.world import EmojiWorld
    world = EmojiWorld()
    scene = world.sample(seed=0)               # Scene: caption, objects, background, ...
    img = world.render(scene, size=64)         # (64, 64, 3) uint8
    images, captions, scenes = world.batch(16, seed=0, size=64)

Determinism
    ``sample(seed)`` draws everything from ``numpy.random.default_rng(seed)``
    (or from the Generator passed in), so the same seed gives the same scene,
    caption and pixels.  Layouts live on an integer grid of 1/64 of the canvas
    height, so renders at 64 px and 256 px show the same scene (4x exactly).
    ``batch(n, seed)`` item ``i`` equals ``sample(EmojiWorld.item_seed(seed, i))``
    with ``item_seed(seed, i) = (seed * 1_000_003 + i) mod 2**63``.

Wide canvases
    ``render(scene, size, width=2 * size)`` keeps the square scene centred and
    extends the background sideways (zoom-out / panorama); its central crop
    equals ``render(scene, size)``.  ``sample(seed, aspect=2.0)`` lays objects
    out over a wide canvas instead; boxes are normalised by that canvas.

Ground truth
    ``Scene.objects`` holds one ``SceneObject`` per instance: ``label``
    (canonical name, one of ``world.labels``), ``category``, ``color`` (shapes
    only), ``box`` (visible box, normalised x0, y0, x1, y1), ``group`` (0 = the
    caption's subject "a", 1 = its reference "b"), ``size`` and ``cell``.
    ``Scene.relation`` reads "<group 0> <relation> <group 1>".

Held-out split
    An unordered pair of distinct labels {a, b} is held out iff
    ``int(sha256(f"{min(a,b)}|{max(a,b)}").hexdigest(), 16) % 100 < 10``
    (about 10% of all pairs; ``world.heldout_pairs()``,
    ``world.is_heldout_pair(a, b)``).  ``split="train"`` never puts a held-out
    pair in one scene; ``split="heldout"`` yields only two-object scenes whose
    pair is held out; ``split="any"`` ignores the split.  Same-label pairs (two
    circles of different colours) are never held out.
"""

from .world import EmojiWorld, Scene, SceneObject

__all__ = ["EmojiWorld", "Scene", "SceneObject"]
