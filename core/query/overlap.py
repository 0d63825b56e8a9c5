"""How far the top-k lists of several indexes over the same images agree."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from itertools import combinations


@dataclass
class Overlap:
    """How far the top-k lists of several indexes agree, by content hash."""

    pairs: dict[tuple[str, str], tuple[int, float]]  # (a, b) -> (shared count, Jaccard)
    in_all: set[str]
    seen_in: dict[str, int]  # hash -> how many lists hold it


def overlap(lists: dict[str, list[str]]) -> Overlap:
    sets = {name: set(hashes) for name, hashes in lists.items()}
    pairs = {}
    for a, b in combinations(sets, 2):
        shared = sets[a] & sets[b]
        union = sets[a] | sets[b]
        pairs[(a, b)] = (len(shared), len(shared) / len(union) if union else 1.0)
    in_all = set.intersection(*sets.values()) if sets else set()
    seen_in: dict[str, int] = {}
    for s in sets.values():
        for h in s:
            seen_in[h] = seen_in.get(h, 0) + 1
    return Overlap(pairs, in_all, seen_in)


def coverage(hash_sets: dict[str, AbstractSet[str]]) -> tuple[bool, int]:
    """Whether all indexes hold exactly the same images, and how many they have in common."""
    values = list(hash_sets.values())
    if not values:
        return True, 0
    common = values[0].intersection(*values[1:])
    return all(v == values[0] for v in values), len(common)
