"""Held-out object pairs for compositional generalisation tests.

An unordered pair of *distinct* labels ``{a, b}`` is held out iff

    int(sha256(f"{min(a, b)}|{max(a, b)}".encode()).hexdigest(), 16) % 100 < HELDOUT_PERCENT

i.e. a fixed pseudo-random ~10% of all pairs, independent of label order,
catalogue order or any seed.  Pairs of the same label (two circles of
different colours) are never held out.
"""

from __future__ import annotations

import hashlib
from itertools import combinations

HELDOUT_PERCENT = 10


def is_heldout_pair(a: str, b: str) -> bool:
    """True iff the unordered pair {a, b} of distinct labels is held out."""
    if a == b:
        return False
    lo, hi = sorted((a, b))
    digest = hashlib.sha256(f"{lo}|{hi}".encode()).hexdigest()
    return int(digest, 16) % 100 < HELDOUT_PERCENT


def heldout_pairs(labels: list[str]) -> set[frozenset[str]]:
    """All held-out pairs among ``labels``."""
    return {frozenset(p) for p in combinations(labels, 2) if is_heldout_pair(*p)}


class PairTable:
    """Per-label partner lists for fast sampling of train / held-out pairs.

    ``partners[split][i][kind]`` lists label indices j that may be paired with
    label i under ``split`` ("train", "heldout", "any"), where ``kind`` is
    ``"shape"`` or ``"emoji"`` (kind of j).  Emoji are never paired with
    themselves; a shape may pair with itself (different colours) in train/any.
    """

    def __init__(self, labels: list[str], is_shape: list[bool]) -> None:
        n = len(labels)
        held = [[False] * n for _ in range(n)]
        pairs: list[tuple[int, int]] = []
        for i, j in combinations(range(n), 2):
            if is_heldout_pair(labels[i], labels[j]):
                held[i][j] = held[j][i] = True
                pairs.append((i, j))
        self.heldout: list[tuple[int, int]] = pairs
        self.partners: dict[str, list[dict[str, list[int]]]] = {}
        for split in ("train", "heldout", "any"):
            table = []
            for i in range(n):
                row: dict[str, list[int]] = {"shape": [], "emoji": []}
                for j in range(n):
                    if i == j and not is_shape[i]:
                        continue
                    if (split == "train" and held[i][j]) or (split == "heldout" and not held[i][j]):
                        continue
                    row["shape" if is_shape[j] else "emoji"].append(j)
                table.append(row)
            self.partners[split] = table
