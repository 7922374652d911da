"""Caption construction from templates, synonyms, counts, sizes and colours."""

from __future__ import annotations

from .catalog import (
    COUNT_WORDS,
    PAIR_TEMPLATES,
    POSITIONS,
    RELATIONS,
    SCENES,
    SINGLE_TEMPLATES,
    SIZE_WORDS,
    SOLID_PHRASES,
    ObjectSpec,
)
from .layout import Draw

SIZE_MENTION_P = 0.6  # chance that a small/large object gets its adjective


def article(phrase: str) -> str:
    """Indefinite article for a phrase ("an apple", "a unicorn", "a ufo")."""
    w = phrase.lower()
    if w.startswith(("uni", "ufo", "eu", "one")):
        return "a"
    return "an" if w[:1] in "aeiou" else "a"


def noun_phrase(d: Draw, spec: ObjectSpec, count: int, size: str,
                color: str | None) -> str:
    """E.g. "a cat", "two small kittens", "a large red circle"."""
    sing, plur = d.choice(spec.phrases)
    words = []
    if size in SIZE_WORDS and d.u() < SIZE_MENTION_P:
        words.append(d.choice(SIZE_WORDS[size]))
    if color is not None:
        words.append(color)
    words.append(sing if count == 1 else plur)
    body = " ".join(words)
    if count == 1:
        return f"{article(body)} {body}"
    return f"{COUNT_WORDS[count]} {body}"


def where_phrase(d: Draw, background: str) -> str:
    """E.g. "on a red background", "in the snow"."""
    if background in SCENES:
        return d.choice(SCENES[background])
    return d.choice(SOLID_PHRASES).format(art=article(background), c=background)


def position_phrase(d: Draw, position: str | None) -> str:
    return "" if position is None else d.choice(POSITIONS[position])


def relation_phrase(d: Draw, relation: str) -> str:
    return d.choice(RELATIONS[relation])


def single_caption(d: Draw, a: str, where: str) -> tuple[str, str]:
    """(caption, template) for a one-group scene."""
    template = d.choice(SINGLE_TEMPLATES)
    return template.format(a=a, where=where), template


def pair_caption(d: Draw, a: str, rel: str, b: str, where: str) -> tuple[str, str]:
    """(caption, template) for a two-group scene."""
    template = d.choice(PAIR_TEMPLATES)
    return template.format(a=a, rel=rel, b=b, where=where), template
