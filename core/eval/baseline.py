"""The "random" row of a results table: what a uniformly random ranking scores.

Kept apart from core.eval.metrics because it is closed-form probability (survival of the first
relevant rank, expected AP) rather than scoring real rankings; a seeded simulation checks it and
scores exactly like `evaluate_retrieval`, with the same ranking convention.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from core.eval.metrics import DEFAULT_KS, Relevant, relevant_counts, summary_row


def _survival(n_gallery: int, n_rel: int) -> np.ndarray:
    """S[r-1] = P(first relevant rank > r) under a uniformly random ranking, r = 1..n_gallery."""
    i = np.arange(n_gallery, dtype=np.float64)
    terms = np.clip((n_gallery - n_rel - i) / (n_gallery - i), 0.0, None)
    return np.cumprod(terms)


def _expected_ap(n_gallery: int, n_rel: int, k: int) -> float:
    """E[AP@k] for a random ranking: E[P(i) rel(i)] = (R/g) * (1 + (i-1)(R-1)/(g-1)) / i."""
    i = np.arange(1, min(k, n_gallery) + 1, dtype=np.float64)
    extra = (i - 1) * (n_rel - 1) / (n_gallery - 1) if n_gallery > 1 else 0.0 * i
    return float(((n_rel / n_gallery) * (1 + extra) / i).sum() / min(k, n_rel))


def _sample_positions(rng: np.random.Generator, n_gallery: int, n_rel: int, m: int) -> np.ndarray:
    """Sorted 1-based positions of n_rel relevant items in m random rankings, shape (m, n_rel)."""
    if n_rel * n_rel > n_gallery:
        return np.sort(
            np.stack([rng.permutation(n_gallery)[:n_rel] for _ in range(m)]), axis=1
        ) + 1
    pos = np.sort(rng.integers(0, n_gallery, size=(m, n_rel)), axis=1)
    bad = np.flatnonzero((np.diff(pos, axis=1) == 0).any(axis=1))
    while bad.size:  # rejection sampling: redraw rows that picked a position twice
        pos[bad] = np.sort(rng.integers(0, n_gallery, size=(bad.size, n_rel)), axis=1)
        bad = bad[(np.diff(pos[bad], axis=1) == 0).any(axis=1)]
    return pos + 1


def random_baseline(
    n_queries: int,
    n_gallery: int,
    relevant: Relevant,
    ks: Iterable[int] = DEFAULT_KS,
    seed: int = 0,
    map_k: int = 10,
    method: str = "expected",
) -> dict[str, float | int]:
    """The "random" row of a results table: metrics of a uniformly random ranking.

    method="expected": exact expectations of R@k, mean rank and mAP@k averaged over queries, and
    the median of the pooled first-rank distribution (what the median tends to with many
    queries); `seed` is unused. method="simulate": one seeded random ranking per query, scored
    exactly like `evaluate_retrieval`. Same keys as `evaluate_retrieval`.
    """
    ks = tuple(ks)
    if len(relevant) != n_queries:
        raise ValueError(f"{n_queries} queries but {len(relevant)} relevance entries")
    if n_queries == 0 or n_gallery < 1:
        raise ValueError("need at least one query and one gallery item")
    counts = relevant_counts(relevant, n_gallery)
    values, inverse = np.unique(counts, return_inverse=True)
    if method == "simulate":
        rng = np.random.default_rng(seed)
        ranks = np.empty(n_queries, dtype=np.int64)
        ap = np.empty(n_queries, dtype=np.float64)
        for vi, r in enumerate(values):
            rows = np.flatnonzero(inverse == vi)
            pos = _sample_positions(rng, n_gallery, int(r), rows.size)
            ranks[rows] = pos[:, 0]
            hits = np.arange(1, int(r) + 1) / pos
            ap[rows] = np.where(pos <= map_k, hits, 0.0).sum(axis=1) / min(map_k, int(r))
        return summary_row(ranks, ap, ks, map_k)
    if method != "expected":
        raise ValueError(f"method must be 'expected' or 'simulate', got {method!r}")
    weights = np.bincount(inverse, minlength=values.size) / n_queries
    cdf = np.zeros(n_gallery)
    out: dict[str, float | int] = {f"R@{k}": 0.0 for k in ks}
    mean, mean_ap = 0.0, 0.0
    for w, r in zip(weights, values.tolist(), strict=True):
        surv = _survival(n_gallery, r)
        cdf += w * (1.0 - surv)
        for k in ks:
            out[f"R@{k}"] += w * (1.0 - surv[min(k, n_gallery) - 1])
        mean += w * (n_gallery + 1) / (r + 1)
        mean_ap += w * _expected_ap(n_gallery, r, map_k)
    out = {key: float(v) for key, v in out.items()}
    out["median_rank"] = float(np.searchsorted(cdf, 0.5 - 1e-12) + 1)
    out["mean_rank"] = float(mean)
    out[f"mAP@{map_k}"] = float(mean_ap)
    out["n_queries"] = int(n_queries)
    return out
