"""Exact duplicates (same content hash) folded into the best-ranked copy."""

from __future__ import annotations

import numpy as np

from core.encoders.base import Encoder
from core.index.store import Index
from core.query.search import Hit, Query, query_vector, ranked_hits, search_vector, text_vectors


def search_collapsed(encoder: Encoder | None, index: Index, query: Query, k: int) -> list[Hit]:
    """k distinct images: exact duplicates fold into the best copy, which counts them."""
    vec = query_vector(encoder, index, query)
    return vector_collapsed(index, vec, k, frozenset(i for i, _ in query.image_ids))


def texts_collapsed(encoder: Encoder | None, index: Index, texts: list[str], k: int
                    ) -> list[list[Hit]]:
    """`search_collapsed` for many plain texts, encoded in one batch (the review page)."""
    return [vector_collapsed(index, vec, k) for vec in text_vectors(encoder, index, texts)]


def vector_collapsed(index: Index, vec: np.ndarray, k: int,
                     exclude: frozenset[int] = frozenset()) -> list[Hit]:
    """Asks for a few more candidates than k so folding duplicates still leaves k results."""
    spare = sum(len(ids) - 1 for ids in index.duplicates.values())
    want = min(index.n, k + min(spare, 4 * k))
    return collapse_duplicates(index, search_vector(index, vec, max(want, 1), exclude))[:k]


def collapse_duplicates(index: Index, hits: list[Hit]) -> list[Hit]:
    """Keep the best-ranked copy of each exact duplicate; the others go into `duplicates`."""
    out: list[Hit] = []
    by_hash: dict[str, Hit] = {}
    for h in hits:
        digest = index.items.at[h.id, "hash"]
        if digest in by_hash:
            by_hash[digest].duplicates.append(h.id)
            continue
        by_hash[digest] = h
        out.append(h)
    return ranked_hits(out)
