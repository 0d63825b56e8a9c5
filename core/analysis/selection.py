"""What the recommender shows: a diverse top k, and how sure a running accuracy is.

Kept apart from core.analysis.recommend, which holds the voting loop and the model; both are
plain functions of arrays and counts.
"""

from __future__ import annotations

import math

import numpy as np


def wilson(correct: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion: stays inside [0, 1] and honest for small totals,
    where the normal approximation claims 0 % to 67 % for 1 of 3."""
    if total <= 0:
        return 0.0, 1.0
    p = correct / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def diverse_top(emb: np.ndarray, ids: np.ndarray, scores: np.ndarray, k: int,
                diversity: float) -> list[int]:
    """Up to k of `ids` by maximal marginal relevance: score - diversity * max cosine to the
    ones already picked (rows of emb are unit vectors)."""
    picked: list[int] = []
    closest = np.full(len(ids), -np.inf)
    free = np.ones(len(ids), dtype=bool)
    for _ in range(min(k, len(ids))):
        gain = np.where(free, scores - diversity * np.maximum(closest, 0.0), -np.inf)
        j = int(np.argmax(gain))
        picked.append(int(ids[j]))
        free[j] = False
        closest = np.maximum(closest, emb[ids] @ emb[ids[j]])
    return picked
