"""Retrieval metrics (Recall@k, median/mean rank, mAP@k) for embedding search evaluation.

Queries and gallery are float32 arrays compared by dot product (cosine when L2-normalised).
Relevance is one array of gallery indices per query; several may be relevant (several captions
per image, identical captions), so every metric is defined over *sets* of relevant items.

Ranking convention, used by every function here so all metrics agree: gallery items are
ordered by score descending; among equal scores irrelevant items come first (pessimistic: a
tie never flatters the model), then lower gallery index first. Ranks are 1-based.

The analytic random-ranking baseline lives in core.eval.baseline.

`evaluate_retrieval` works in chunks of queries so 100k queries x 10k gallery never builds the
full score matrix: per chunk it counts higher scores for the first-relevant rank, and builds
the top-k list (`np.partition` threshold) only for queries with a relevant item in the top k.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

DEFAULT_KS: tuple[int, ...] = (1, 5, 10)

Relevant = Sequence[Iterable[int] | np.ndarray]


def _index_array(rel: Iterable[int] | np.ndarray, qi: int) -> np.ndarray:
    """One query's relevant indices as a 1-D integer array (checked further in bulk)."""
    if isinstance(rel, set | frozenset):
        rel = sorted(rel)
    arr = np.asarray(rel).reshape(-1)
    if arr.size == 0:
        raise ValueError(f"query {qi} has no relevant gallery items")
    if arr.dtype.kind not in "iu":
        raise ValueError(f"query {qi}: relevant indices must be integers, got {arr.dtype}")
    return arr


class _Relevance:
    """All queries' relevant indices packed once (CSR-style) so chunks slice them cheaply."""

    def __init__(self, relevant: Relevant, n_gallery: int) -> None:
        arrays = [_index_array(r, i) for i, r in enumerate(relevant)]
        self.n_gallery = n_gallery
        sizes = np.array([a.size for a in arrays], dtype=np.int64)
        cols = np.concatenate(arrays).astype(np.int64) if arrays else np.empty(0, np.int64)
        rows = np.repeat(np.arange(len(arrays)), sizes)
        bad = np.flatnonzero((cols < 0) | (cols >= n_gallery))
        if bad.size:
            raise ValueError(f"query {rows[bad[0]]}: relevant index out of range [0, {n_gallery})")
        order = np.lexsort((cols, rows))  # sort within each query, then drop repeats
        rows, cols = rows[order], cols[order]
        keep = np.ones(cols.size, dtype=bool)
        keep[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
        self.flat = cols[keep]
        self.counts = np.bincount(rows[keep], minlength=len(arrays)).astype(np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.counts)]).astype(np.int64)

    def __len__(self) -> int:
        return self.counts.size

    def mask(self, start: int, stop: int) -> np.ndarray:
        """Boolean (stop-start, n_gallery) relevance mask for a chunk of queries."""
        counts = self.counts[start:stop]
        cols = self.flat[self.offsets[start] : self.offsets[stop]]
        rows = np.repeat(np.arange(stop - start), counts)
        m = np.zeros((stop - start, self.n_gallery), dtype=bool)
        m[rows, cols] = True
        return m


def _check_sims(sims: np.ndarray, n_rel: int) -> np.ndarray:
    sims = np.asarray(sims)
    if sims.ndim != 2:
        raise ValueError(f"scores must be 2-D (queries x gallery), got shape {sims.shape}")
    if sims.shape[0] != n_rel:
        raise ValueError(f"{sims.shape[0]} score rows but {n_rel} relevance entries")
    if not np.isfinite(sims).all():
        raise ValueError("scores contain NaN or infinity")
    return sims


def _first_ranks(sims: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Rank = 1 + number of irrelevant items scoring >= the best relevant score."""
    best = np.where(mask, sims, -np.inf).max(axis=1)
    ge = sims >= best[:, None]
    return np.count_nonzero(ge, axis=1) - np.count_nonzero(ge & mask, axis=1) + 1


def _topk_relevance(sims: np.ndarray, mask: np.ndarray, k: int) -> np.ndarray:
    """rel(i) for i = 1..min(k, n_gallery) under the ranking convention, shape (n, k')."""
    n, g = sims.shape
    k = min(k, g)
    # k-th largest score per row; partitioning values is cheaper than argpartition's indices.
    thr = np.partition(sims, g - k, axis=1)[:, g - k]
    ge = sims >= thr[:, None]
    n_ge = np.count_nonzero(ge, axis=1)
    idx = np.empty((n, k), dtype=np.int64)
    clean = np.flatnonzero(n_ge == k)
    idx[clean] = np.nonzero(ge[clean])[1].reshape(-1, k)
    # Rows where ties straddle the cut: choose among the tied items by the tie rule.
    for r in np.flatnonzero(n_ge > k):
        cand = np.flatnonzero(sims[r] >= thr[r])
        order = np.lexsort((cand, mask[r, cand], -sims[r, cand]))
        idx[r] = cand[order[:k]]
    top = np.take_along_axis(sims, idx, axis=1)
    rel = np.take_along_axis(mask, idx, axis=1)
    order = np.lexsort((idx, rel, -top), axis=-1)
    return np.take_along_axis(rel, order, axis=1)


def _average_precision(rel_topk: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    hits = np.cumsum(rel_topk, axis=1)
    prec = hits / np.arange(1, rel_topk.shape[1] + 1)
    return (prec * rel_topk).sum(axis=1) / np.minimum(k, n_relevant)


def rank_of_first_relevant(sims_chunk: np.ndarray, relevant: Relevant) -> np.ndarray:
    """1-based rank of the best-ranked relevant item per row of a (queries x gallery) score block.

    Ties are pessimistic: a relevant item tied with irrelevant ones ranks after all of them.
    """
    sims = _check_sims(sims_chunk, len(relevant))
    rel = _Relevance(relevant, sims.shape[1])
    return _first_ranks(sims, rel.mask(0, len(rel)))


def average_precision_at_k(sims_chunk: np.ndarray, relevant: Relevant, k: int = 10) -> np.ndarray:
    """Per-query AP@k (definition in `map_at_k`)."""
    if k < 1:
        raise ValueError("k must be >= 1")
    sims = _check_sims(sims_chunk, len(relevant))
    rel = _Relevance(relevant, sims.shape[1])
    return _average_precision(_topk_relevance(sims, rel.mask(0, len(rel)), k), rel.counts, k)


def map_at_k(sims: np.ndarray, relevant: Relevant, k: int = 10) -> float:
    """Mean average precision at k.

    AP@k = (1 / min(k, R)) * sum_{i=1..k} P(i) * rel(i), where R is the number of relevant items
    for the query, rel(i) is 1 if the item at rank i is relevant (else 0) and P(i) is the
    precision at cut-off i (relevant items among the first i, divided by i). mAP@k is the mean
    of AP@k over queries. AP@k is 1 exactly when the first min(k, R) ranks are all relevant.
    """
    return float(average_precision_at_k(sims, relevant, k).mean())


def recall_at_k(ranks: np.ndarray, ks: Iterable[int] = DEFAULT_KS) -> dict[str, float]:
    """Fraction (0..1) of queries whose first relevant item is within the top k, keyed "R@k"."""
    ranks = np.asarray(ranks)
    return {f"R@{k}": float((ranks <= k).mean()) for k in ks}


def median_rank(ranks: np.ndarray) -> float:
    """Median first-relevant rank (1 is perfect); robust to a few hopeless queries."""
    return float(np.median(np.asarray(ranks)))


def mean_rank(ranks: np.ndarray) -> float:
    """Mean first-relevant rank; unlike the median it punishes badly missed queries."""
    return float(np.mean(np.asarray(ranks)))


def per_query_metrics(
    query_vecs: np.ndarray,
    gallery_vecs: np.ndarray,
    relevant: Relevant,
    map_k: int = 10,
    chunk: int = 1024,
) -> tuple[np.ndarray, np.ndarray]:
    """First-relevant ranks (int64) and AP@map_k (float64) per query, computed chunk by chunk.

    Peak memory is a few (chunk x n_gallery) arrays, never (n_queries x n_gallery).
    """
    q = np.asarray(query_vecs, dtype=np.float32)
    g = np.asarray(gallery_vecs, dtype=np.float32)
    if q.ndim != 2 or g.ndim != 2 or q.shape[1] != g.shape[1]:
        raise ValueError(f"need 2-D arrays of equal width, got {q.shape} and {g.shape}")
    if g.shape[0] == 0:
        raise ValueError("gallery is empty")
    if len(relevant) != q.shape[0]:
        raise ValueError(f"{q.shape[0]} queries but {len(relevant)} relevance entries")
    if chunk < 1 or map_k < 1:
        raise ValueError("chunk and map_k must be >= 1")
    if not (np.isfinite(q).all() and np.isfinite(g).all()):
        raise ValueError("embeddings contain NaN or infinity")
    rel = _Relevance(relevant, g.shape[0])
    ranks = np.empty(q.shape[0], dtype=np.int64)
    ap = np.empty(q.shape[0], dtype=np.float64)
    for start in range(0, q.shape[0], chunk):
        stop = min(start + chunk, q.shape[0])
        sims = q[start:stop] @ g.T
        mask = rel.mask(start, stop)
        first = _first_ranks(sims, mask)
        ranks[start:stop] = first
        # AP@k is 0 unless something relevant is in the top k: skip the top-k work for those.
        hit = np.flatnonzero(first <= map_k)
        ap[start:stop] = 0.0
        if hit.size:
            rel_topk = _topk_relevance(sims[hit], mask[hit], map_k)
            counts = rel.counts[start:stop][hit]
            ap[start + hit] = _average_precision(rel_topk, counts, map_k)
    return ranks, ap


def relevant_counts(relevant: Relevant, n_gallery: int) -> np.ndarray:
    """How many distinct relevant items each query has (checked like every metric's input)."""
    return _Relevance(relevant, n_gallery).counts


def summary_row(ranks: np.ndarray, ap: np.ndarray, ks: Iterable[int], map_k: int) -> dict:
    """One results-table row from per-query first ranks and AP@k (shared with the baseline)."""
    out: dict[str, float | int] = dict(recall_at_k(ranks, ks))
    out["median_rank"] = median_rank(ranks)
    out["mean_rank"] = mean_rank(ranks)
    out[f"mAP@{map_k}"] = float(ap.mean())
    out["n_queries"] = int(ranks.size)
    return out


def evaluate_retrieval(
    query_vecs: np.ndarray,
    gallery_vecs: np.ndarray,
    relevant: Relevant,
    ks: Iterable[int] = DEFAULT_KS,
    map_k: int = 10,
    chunk: int = 1024,
) -> dict[str, float | int]:
    """Summary row for a results table.

    Keys: "R@k" for each k (fractions 0..1), "median_rank", "mean_rank", "mAP@{map_k}",
    "n_queries". `relevant[i]` holds the gallery indices relevant to query i.
    """
    ks = tuple(ks)
    if not ks:
        raise ValueError("ks must not be empty")
    if len(relevant) == 0:
        raise ValueError("no queries to evaluate")
    ranks, ap = per_query_metrics(query_vecs, gallery_vecs, relevant, map_k, chunk)
    return summary_row(ranks, ap, ks, map_k)
