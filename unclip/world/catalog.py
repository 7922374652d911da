"""Static vocabulary of the emoji world: objects, shapes, colours, backgrounds.

Everything here is plain data.  ``OBJECTS`` is the single source of truth for
which Fluent Emoji Flat icons are vendored (see ``build_assets.py``).

Object rows are ``(icon, label, category, forms)`` where ``forms`` is a
``|``-separated list of caption phrases; the first phrase is the canonical one.
A phrase may carry an explicit plural after ``/`` (``"mouse/mice"``), otherwise
the plural follows the usual English rules (see ``pluralize``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# (icon name in the Iconify set, canonical label, category, caption phrases)
OBJECTS: tuple[tuple[str, str, str, str], ...] = (
    # --- animals (39) ---
    ("cat-face", "cat", "animal", "cat|kitty/kitties|kitten"),
    ("dog-face", "dog", "animal", "dog|puppy/puppies|doggy/doggies"),
    ("mouse-face", "mouse", "animal", "mouse/mice"),
    ("rabbit-face", "rabbit", "animal", "rabbit|bunny/bunnies"),
    ("fox", "fox", "animal", "fox"),
    ("bear", "bear", "animal", "bear|brown bear"),
    ("panda", "panda", "animal", "panda"),
    ("tiger-face", "tiger", "animal", "tiger"),
    ("lion", "lion", "animal", "lion"),
    ("cow-face", "cow", "animal", "cow"),
    ("pig-face", "pig", "animal", "pig|piggy/piggies"),
    ("frog", "frog", "animal", "frog"),
    ("monkey-face", "monkey", "animal", "monkey"),
    ("chicken", "chicken", "animal", "chicken|hen"),
    ("penguin", "penguin", "animal", "penguin"),
    ("bird", "bird", "animal", "bird|red bird"),
    ("owl", "owl", "animal", "owl"),
    ("duck", "duck", "animal", "duck"),
    ("elephant", "elephant", "animal", "elephant"),
    ("giraffe", "giraffe", "animal", "giraffe"),
    ("zebra", "zebra", "animal", "zebra"),
    ("horse-face", "horse", "animal", "horse|pony/ponies"),
    ("unicorn", "unicorn", "animal", "unicorn"),
    ("octopus", "octopus", "animal", "octopus/octopuses"),
    ("crab", "crab", "animal", "crab"),
    ("snail", "snail", "animal", "snail"),
    ("butterfly", "butterfly", "animal", "butterfly"),
    ("honeybee", "bee", "animal", "bee|honeybee"),
    ("lady-beetle", "ladybug", "animal", "ladybug|ladybird"),
    ("turtle", "turtle", "animal", "turtle|tortoise"),
    ("snake", "snake", "animal", "snake"),
    ("spouting-whale", "whale", "animal", "whale"),
    ("dolphin", "dolphin", "animal", "dolphin"),
    ("tropical-fish", "fish", "animal", "fish/fish|tropical fish/tropical fish"),
    ("t-rex", "dinosaur", "animal", "dinosaur|t-rex/t-rexes"),
    ("flamingo", "flamingo", "animal", "flamingo/flamingos"),
    ("parrot", "parrot", "animal", "parrot"),
    ("spider", "spider", "animal", "spider"),
    ("ewe", "sheep", "animal", "sheep/sheep|lamb"),
    # --- food (34) ---
    ("red-apple", "apple", "food", "apple|red apple"),
    ("banana", "banana", "food", "banana"),
    ("grapes", "grapes", "food", "bunch of grapes/bunches of grapes"),
    ("watermelon", "watermelon", "food",
     "slice of watermelon/slices of watermelon|watermelon slice"),
    ("strawberry", "strawberry", "food", "strawberry"),
    ("lemon", "lemon", "food", "lemon"),
    ("pineapple", "pineapple", "food", "pineapple"),
    ("peach", "peach", "food", "peach"),
    ("avocado", "avocado", "food", "avocado/avocados"),
    ("carrot", "carrot", "food", "carrot"),
    ("broccoli", "broccoli", "food", "broccoli/broccoli"),
    ("ear-of-corn", "corn", "food", "corn cob|ear of corn/ears of corn"),
    ("eggplant", "eggplant", "food", "eggplant|aubergine"),
    ("tomato", "tomato", "food", "tomato"),
    ("hot-pepper", "chili pepper", "food", "chili pepper|hot pepper"),
    ("mushroom", "mushroom", "food", "mushroom"),
    ("bread", "bread", "food", "loaf of bread/loaves of bread|bread loaf/bread loaves"),
    ("croissant", "croissant", "food", "croissant"),
    ("cheese-wedge", "cheese", "food", "piece of cheese/pieces of cheese|cheese wedge"),
    ("pizza", "pizza", "food", "slice of pizza/slices of pizza|pizza slice|pizza"),
    ("hamburger", "hamburger", "food", "hamburger|burger"),
    ("hot-dog", "hot dog", "food", "hot dog"),
    ("french-fries", "fries", "food",
     "box of fries/boxes of fries|box of french fries/boxes of french fries"),
    ("taco", "taco", "food", "taco"),
    ("doughnut", "doughnut", "food", "doughnut|donut"),
    ("cookie", "cookie", "food", "cookie"),
    ("cupcake", "cupcake", "food", "cupcake"),
    ("birthday-cake", "cake", "food", "cake|birthday cake"),
    ("soft-ice-cream", "ice cream", "food", "ice cream cone|ice cream"),
    ("lollipop", "lollipop", "food", "lollipop"),
    ("popcorn", "popcorn", "food",
     "bucket of popcorn/buckets of popcorn|box of popcorn/boxes of popcorn"),
    ("pancakes", "pancakes", "food", "stack of pancakes/stacks of pancakes"),
    ("hot-beverage", "coffee", "food", "cup of coffee/cups of coffee|coffee cup"),
    ("cherries", "cherries", "food", "pair of cherries/pairs of cherries"),
    # --- vehicles (18) ---
    ("automobile", "car", "vehicle", "car|automobile"),
    ("taxi", "taxi", "vehicle", "taxi|cab"),
    ("bus", "bus", "vehicle", "bus"),
    ("police-car", "police car", "vehicle", "police car"),
    ("ambulance", "ambulance", "vehicle", "ambulance"),
    ("fire-engine", "fire truck", "vehicle", "fire truck|fire engine"),
    ("racing-car", "race car", "vehicle", "race car|racing car"),
    ("tractor", "tractor", "vehicle", "tractor"),
    ("bicycle", "bicycle", "vehicle", "bicycle|bike"),
    ("motorcycle", "motorcycle", "vehicle", "motorcycle|motorbike"),
    ("airplane", "airplane", "vehicle", "airplane|plane"),
    ("helicopter", "helicopter", "vehicle", "helicopter"),
    ("rocket", "rocket", "vehicle", "rocket"),
    ("sailboat", "sailboat", "vehicle", "sailboat|sailing boat"),
    ("passenger-ship", "ship", "vehicle", "ship|cruise ship"),
    ("locomotive", "train", "vehicle", "train|steam train|locomotive"),
    ("delivery-truck", "truck", "vehicle", "truck|delivery truck"),
    ("flying-saucer", "ufo", "vehicle", "ufo/ufos|flying saucer"),
    # --- plants (11) ---
    ("sunflower", "sunflower", "plant", "sunflower"),
    ("rose", "rose", "plant", "rose|red rose"),
    ("tulip", "tulip", "plant", "tulip"),
    ("cactus", "cactus", "plant", "cactus/cacti"),
    ("palm-tree", "palm tree", "plant", "palm tree"),
    ("evergreen-tree", "pine tree", "plant", "pine tree|fir tree"),
    ("deciduous-tree", "tree", "plant", "tree|green tree"),
    ("four-leaf-clover", "clover", "plant", "four-leaf clover|clover|shamrock"),
    ("maple-leaf", "maple leaf", "plant", "maple leaf/maple leaves|red leaf/red leaves"),
    ("potted-plant", "potted plant", "plant", "potted plant|houseplant"),
    ("hibiscus", "hibiscus", "plant", "hibiscus flower|pink flower"),
    # --- nature / sky (7) ---
    ("sun", "sun", "nature", "sun"),
    ("cloud", "cloud", "nature", "cloud"),
    ("crescent-moon", "moon", "nature", "moon|crescent moon"),
    ("rainbow", "rainbow", "nature", "rainbow"),
    ("snowman", "snowman", "nature", "snowman/snowmen"),
    ("fire", "fire", "nature", "fire|flame"),
    ("droplet", "water drop", "nature", "water drop|raindrop|droplet"),
    # --- objects (34) ---
    ("guitar", "guitar", "object", "guitar"),
    ("key", "key", "object", "key|golden key"),
    ("umbrella", "umbrella", "object", "umbrella"),
    ("light-bulb", "light bulb", "object", "light bulb|lightbulb"),
    ("closed-book", "book", "object", "book|red book"),
    ("scissors", "scissors", "object", "pair of scissors/pairs of scissors"),
    ("hammer", "hammer", "object", "hammer"),
    ("camera", "camera", "object", "camera"),
    ("telephone", "telephone", "object", "telephone|phone"),
    ("alarm-clock", "alarm clock", "object", "alarm clock|clock"),
    ("balloon", "balloon", "object", "balloon|red balloon"),
    ("wrapped-gift", "gift", "object", "gift|present|gift box"),
    ("crown", "crown", "object", "crown"),
    ("gem-stone", "gem", "object", "gem|gemstone|jewel"),
    ("bell", "bell", "object", "bell"),
    ("soccer-ball", "soccer ball", "object", "soccer ball|football"),
    ("basketball", "basketball", "object", "basketball"),
    ("teddy-bear", "teddy bear", "object", "teddy bear"),
    ("kite", "kite", "object", "kite"),
    ("trophy", "trophy", "object", "trophy"),
    ("magnifying-glass-tilted-left", "magnifying glass", "object", "magnifying glass"),
    ("backpack", "backpack", "object", "backpack|rucksack"),
    ("headphone", "headphones", "object",
     "pair of headphones/pairs of headphones|headset"),
    ("laptop", "laptop", "object", "laptop|laptop computer"),
    ("pencil", "pencil", "object", "pencil"),
    ("anchor", "anchor", "object", "anchor"),
    ("locked", "padlock", "object", "padlock|lock"),
    ("trumpet", "trumpet", "object", "trumpet"),
    ("violin", "violin", "object", "violin|fiddle"),
    ("drum", "drum", "object", "drum"),
    ("puzzle-piece", "puzzle piece", "object", "puzzle piece|jigsaw piece"),
    ("television", "television", "object", "television|tv/tvs"),
    ("top-hat", "top hat", "object", "top hat|black hat"),
    ("t-shirt", "t-shirt", "object", "t-shirt|shirt"),
)

# Named colours shared by solid backgrounds and shapes: name -> RGB.
COLORS: dict[str, tuple[int, int, int]] = {
    "white": (248, 248, 248),
    "black": (24, 24, 28),
    "gray": (128, 128, 132),
    "red": (216, 36, 40),
    "orange": (246, 136, 24),
    "yellow": (250, 218, 40),
    "green": (48, 160, 64),
    "blue": (36, 92, 216),
    "purple": (126, 54, 186),
    "pink": (246, 132, 196),
    "brown": (124, 74, 36),
}
SOLID_BACKGROUNDS: tuple[str, ...] = tuple(COLORS)
SHAPE_COLORS: tuple[str, ...] = (
    "red", "orange", "yellow", "green", "blue", "purple", "pink", "white", "black", "brown",
)

# Procedural scenes: name -> caption phrases ("{a} in the snow").
SCENES: dict[str, tuple[str, ...]] = {
    "grass": ("on the grass", "in a green field", "on a meadow"),
    "night": ("at night", "under the stars", "in the night sky"),
    "beach": ("at the beach", "on the beach", "by the sea"),
    "snow": ("in the snow", "on a snowy day", "in a snowy field"),
    "underwater": ("underwater", "under the sea", "under water"),
    "sunset": ("at sunset", "at dusk", "in the evening sun"),
}
# Dominant colours of each background, used to keep shapes visible.
SCENE_PALETTES: dict[str, tuple[tuple[int, int, int], ...]] = {
    "grass": ((150, 200, 240), (70, 160, 60)),
    "night": ((16, 24, 60), (40, 40, 90)),
    "beach": ((150, 205, 245), (40, 120, 200), (235, 210, 150)),
    "snow": ((200, 215, 235), (245, 248, 252)),
    "underwater": ((30, 120, 180), (10, 60, 120)),
    "sunset": ((250, 150, 70), (200, 90, 130), (70, 40, 90)),
}
SOLID_PHRASES: tuple[str, ...] = (
    "on {art} {c} background", "against {art} {c} background", "on {c}",
)


def _heart_points(n: int = 48) -> list[tuple[float, float]]:
    pts = []
    for i in range(n):
        t = 2 * math.pi * i / n
        x = 16 * math.sin(t) ** 3
        y = 13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)
        pts.append((50 + 2.8 * x, 47 - 2.8 * y))
    return pts


def _star_points() -> list[tuple[float, float]]:
    pts = []
    for i in range(10):
        r = 48 if i % 2 == 0 else 19.5
        a = -math.pi / 2 + i * math.pi / 5
        pts.append((50 + r * math.cos(a), 54 + r * math.sin(a)))
    return pts


def _ngon(n: int, r: float, rot: float, cy: float = 50) -> list[tuple[float, float]]:
    return [(50 + r * math.cos(rot + 2 * math.pi * i / n),
             cy + r * math.sin(rot + 2 * math.pi * i / n)) for i in range(n)]


# Shape outlines as polygons in a 100x100 view box (circle: many-gon).
SHAPES: dict[str, list[tuple[float, float]]] = {
    "circle": _ngon(96, 46, 0.0),
    "square": [(8, 8), (92, 8), (92, 92), (8, 92)],
    "triangle": [(50, 7), (96, 88), (4, 88)],
    "star": _star_points(),
    "heart": _heart_points(),
    "diamond": [(50, 3), (88, 50), (50, 97), (12, 50)],
    "hexagon": _ngon(6, 48, 0.0),
}

# --- caption templates -----------------------------------------------------
# {a}/{b}: noun phrases ("two small cats", "a red circle"); {rel}: relation
# phrase; {where}: background phrase ("in the snow", "on a red background").
SINGLE_TEMPLATES: tuple[str, ...] = (
    "{a}",
    "a photo of {a}",
    "an emoji of {a}",
    "a drawing of {a}",
    "{a} {where}",
    "a photo of {a} {where}",
    "a picture of {a} {where}",
    "an illustration of {a} {where}",
)
PAIR_TEMPLATES: tuple[str, ...] = (
    "{a} {rel} {b}",
    "a photo of {a} {rel} {b}",
    "{a} {rel} {b} {where}",
    "a picture of {a} {rel} {b} {where}",
    "an emoji of {a} {rel} {b}",
)
TEMPLATES: tuple[str, ...] = SINGLE_TEMPLATES + PAIR_TEMPLATES

RELATIONS: dict[str, tuple[str, ...]] = {
    "left of": ("to the left of", "left of", "on the left of"),
    "right of": ("to the right of", "right of", "on the right of"),
    "above": ("above", "over"),
    "below": ("below", "under", "beneath"),
    "next to": ("next to", "beside"),
    "and": ("and", "together with"),
}
POSITIONS: dict[str, tuple[str, ...]] = {
    "left": ("on the left", "on the left side"),
    "right": ("on the right", "on the right side"),
    "top": ("at the top", "near the top"),
    "bottom": ("at the bottom", "near the bottom"),
    "center": ("in the center", "in the middle"),
}
COUNT_WORDS: dict[int, str] = {2: "two", 3: "three"}
SIZE_WORDS: dict[str, tuple[str, ...]] = {
    "small": ("small", "little", "tiny"),
    "large": ("large", "big", "huge"),
}


def pluralize(word: str) -> str:
    """English plural of a phrase's head noun (its last word)."""
    if word.endswith(("s", "sh", "ch", "x", "z", "tomato", "potato")):
        return word + "es"
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


@dataclass(frozen=True)
class ObjectSpec:
    """One object class: an emoji icon or a procedural shape."""

    label: str
    category: str
    icon: str | None  # Iconify icon name; None for shapes
    phrases: tuple[tuple[str, str], ...]  # (singular, plural); [0] is canonical

    @property
    def is_shape(self) -> bool:
        return self.icon is None


def _parse_forms(forms: str) -> tuple[tuple[str, str], ...]:
    out = []
    for form in forms.split("|"):
        sing, _, plur = form.partition("/")
        out.append((sing, plur or pluralize(sing)))
    return tuple(out)


def object_specs() -> tuple[ObjectSpec, ...]:
    """All object classes: emoji first (catalog order), then shapes."""
    specs = [ObjectSpec(lbl, cat, icon, _parse_forms(forms)) for icon, lbl, cat, forms in OBJECTS]
    specs += [ObjectSpec(name, "shape", None, ((name, pluralize(name)),)) for name in SHAPES]
    return tuple(specs)
