"""Exact duplicates (same content hash) folded into the best-ranked copy."""

from __future__ import annotations

from core.encoders.base import Encoder
from core.index.store import Index
from core.query.search import Hit, Query, ranked_hits, search


def search_collapsed(encoder: Encoder | None, index: Index, query: Query, k: int) -> list[Hit]:
    """k distinct images: exact duplicates fold into the best copy, which counts them.

    Asks for a few more candidates than k so folding duplicates still leaves k results.
    """
    spare = sum(len(ids) - 1 for ids in index.duplicates.values())
    want = min(index.n, k + min(spare, 4 * k))
    hits = collapse_duplicates(index, search(encoder, index, query, k=max(want, 1)))
    return hits[:k]


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
