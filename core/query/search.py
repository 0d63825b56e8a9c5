"""Queries against a loaded index: text, image (by id or upload), combined with weights, negatives.

Annoy (or, for a Lance index, Lance's IVF-PQ) proposes candidates; their scores are always
recomputed exactly from the stored embeddings, so the cosine shown is the true one whichever path
found the item. Small indexes skip the approximate search.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from PIL import Image

from core.encoders.base import Encoder, l2_normalise
from core.errors import UserError
from core.index.store import Index
from core.query.topk import top_k

# Measured on ConSE-shaped 384-d vectors, 16 trees (BENCHMARKS.md, query latency): text queries
# lie away from the image cloud, so Annoy needs many nodes per result for recall@10 >= 0.95:
# ~1,000 at 10k items, 2,000 at 50k, 5,000 at 100k, 20,000 at 1M (image queries need far fewer).
# Exact search costs ~1.7 ms per 10k items on 2 cores and is always right: below ~40k items it is
# as fast as Annoy at that recall.
EXACT_BELOW = 40_000
DEFAULT_SEARCH_K_PER_RESULT = 5_000  # annoy nodes inspected per requested result, at least
SEARCH_K_PER_SQRT_N = 20  # ... and 20·sqrt(n) per result above 62,500 items (20,000 at 1M)
Method = Literal["auto", "exact", "annoy"]


@dataclass
class Hit:
    id: int
    score: float
    rank: int = 0
    duplicates: list[int] = field(default_factory=list)


@dataclass
class Query:
    """rclip-style combined query: sum of weighted positives minus weighted negatives."""

    texts: list[tuple[str, float]] = field(default_factory=list)
    image_ids: list[tuple[int, float]] = field(default_factory=list)
    images: list[tuple[Image.Image, float]] = field(default_factory=list)
    negative_texts: list[tuple[str, float]] = field(default_factory=list)

    @classmethod
    def text(cls, text: str) -> Query:
        return cls(texts=[(text, 1.0)])

    @classmethod
    def image_id(cls, i: int) -> Query:
        return cls(image_ids=[(int(i), 1.0)])

    def is_empty(self) -> bool:
        return not (any(t.strip() for t, _ in self.texts) or self.image_ids or self.images)


def query_vector(encoder: Encoder | None, index: Index, query: Query) -> np.ndarray:
    """One unit vector for the whole query; a clear error when the model cannot take a part."""
    if query.is_empty():
        raise UserError("empty query: give a text, an image id or an image")
    total = np.zeros(index.dim, np.float32)
    texts = [t for t, _ in query.texts + query.negative_texts if t.strip()]
    if texts or query.images:
        if encoder is None:
            raise UserError("this query needs the model loaded")
        if texts:
            _takes_text(encoder, index)
        if query.images and not encoder.can_image:
            raise UserError(f"the '{index.spec}' index cannot answer image uploads "
                            "(it embeds images from their captions)")
    weights = [w for _, w in query.texts + query.negative_texts + query.image_ids + query.images]
    if not all(math.isfinite(w) for w in weights):
        raise UserError("query weights must be finite numbers")
    for sign, parts in ((1.0, query.texts), (-1.0, query.negative_texts)):
        parts = [(t, w) for t, w in parts if t.strip()]
        if parts:
            vecs = _fits(index, encoder.encode_texts([t for t, _ in parts]))
            total += sign * (np.array([w for _, w in parts], np.float32) @ vecs)
    for i, w in query.image_ids:
        if not 0 <= i < index.n:
            raise UserError(f"image id {i} is not in this index (0..{index.n - 1})")
        total += w * index.embeddings[i]
    if query.images:
        vecs = _fits(index, encoder.encode_images([im for im, _ in query.images]))
        total += np.array([w for _, w in query.images], np.float32) @ vecs
    if not np.any(total):
        raise UserError("the query's parts cancel out: change the weights")
    return l2_normalise(total)


def _takes_text(encoder: Encoder | None, index: Index) -> Encoder:
    if encoder is None:
        raise UserError("this query needs the model loaded")
    if not encoder.can_text:
        raise UserError(f"the '{index.spec}' index cannot answer text queries: pick a "
                        "text-capable model (ConSE, captions, OpenCLIP, two-branch)")
    return encoder


def text_vectors(encoder: Encoder | None, index: Index, texts: list[str]) -> np.ndarray:
    """Unit query vectors of several plain texts in one encoder call (a review's query set):
    what `query_vector` gives for each text alone, at a fifth of the cost for 30 queries."""
    vecs = _fits(index, _takes_text(encoder, index).encode_texts(list(texts)))
    return l2_normalise(vecs)


def _fits(index: Index, vecs: np.ndarray) -> np.ndarray:
    """The model's vectors must live in the index's space (a manifest edited to another model
    would otherwise fail deep inside numpy)."""
    if vecs.shape[-1] != index.dim:
        raise UserError(f"index {index.path}: its model '{index.spec}' gives {vecs.shape[-1]}-d "
                        f"vectors but the index holds {index.dim}-d ones; the manifest does not "
                        "match the embeddings: rebuild it")
    return vecs


def exact_top_k(embeddings: np.ndarray, vec: np.ndarray, k: int,
                exclude: set[int] | frozenset[int] = frozenset()) -> list[Hit]:
    """True top-k by cosine (vectors are unit length, so a dot product)."""
    ids, scores = top_k(embeddings @ vec, k, exclude)
    return ranked_hits([Hit(int(i), float(s)) for i, s in zip(ids, scores, strict=True)])


def default_search_k(n: int, want: int) -> int:
    """Annoy nodes to inspect for `want` results among n items (recall@10 >= 0.95 measured)."""
    per_result = max(DEFAULT_SEARCH_K_PER_RESULT, int(SEARCH_K_PER_SQRT_N * math.sqrt(n)))
    return max(want, 10) * per_result


def annoy_top_k(index: Index, vec: np.ndarray, k: int, exclude=frozenset(),
                search_k: int | None = None) -> list[Hit]:
    """Annoy candidates, rescored exactly."""
    want = min(k + len(exclude), index.n)
    sk = search_k if search_k is not None else default_search_k(index.n, want)
    ids = index.annoy().get_nns_by_vector(vec.tolist(), want, search_k=sk)
    ids = np.array(sorted(i for i in ids if i not in exclude), dtype=np.int64)
    return rows_top_k(index.embeddings[ids], ids, vec, k)


def rows_top_k(rows: np.ndarray, ids: np.ndarray, vec: np.ndarray, k: int) -> list[Hit]:
    """The exact top-k of candidate `ids` (ascending, so ties go to the lower id) from their
    stored `rows`: every path's last step, so scores and tie order agree across paths."""
    best, scores = top_k(rows @ vec, k)
    return ranked_hits([Hit(int(ids[j]), float(s)) for j, s in zip(best, scores, strict=True)])


def lance_top_k(index: Index, vec: np.ndarray, k: int, exclude=frozenset(),
                nprobes: int | None = None, refine: int | None = None) -> list[Hit]:
    """Lance's IVF-PQ candidates (refined by Lance), rescored exactly from their stored vectors
    here, so scores and tie order are the same as every other path's (nprobes and refine
    factor: the store's defaults unless given)."""
    from core.index.lance_store import ann_candidates, ann_settings

    want = min(k + len(exclude), index.n)
    probes, refine = ann_settings(index.manifest["lance"]["ann"], index.n,
                                  index.embeddings.shape[1], want, nprobes, refine)
    ids, rows = ann_candidates(index.embeddings, vec, want, probes, refine, index.items)
    keep = np.array([i not in exclude for i in ids], bool)
    ids, rows = ids[keep], rows[keep]
    order = np.argsort(ids, kind="stable")  # ties go to the lower id
    return rows_top_k(rows[order], ids[order], vec, k)


def approx_top_k(index: Index, vec: np.ndarray, k: int, exclude=frozenset(),
                 search_k: int | None = None) -> list[Hit]:
    """The index's approximate search: Lance's ANN (`search_k` = partitions probed) or Annoy
    (`search_k` = nodes inspected)."""
    if index.store == "lance":
        return lance_top_k(index, vec, k, exclude, search_k)
    return annoy_top_k(index, vec, k, exclude, search_k)


def has_ann(index: Index) -> bool:
    if index.store == "lance":
        return bool(index.manifest.get("lance", {}).get("ann"))
    return (index.files / "annoy.ann").is_file()


def approximate(index: Index, method: Method = "auto") -> bool:
    """Whether `search_vector` takes the approximate path (asked, or auto on a large index)."""
    asked = method == "annoy" or (method == "auto" and index.n >= EXACT_BELOW)
    return asked and has_ann(index)


def ranked_hits(hits: list[Hit]) -> list[Hit]:
    for r, h in enumerate(hits, 1):
        h.rank = r
    return hits


def search_vector(index: Index, vec: np.ndarray, k: int = 10, exclude=frozenset(),
                  method: Method = "auto", search_k: int | None = None) -> list[Hit]:
    if k < 1:
        raise UserError("k must be at least 1")
    if approximate(index, method):
        return approx_top_k(index, vec, k, frozenset(exclude), search_k)
    return exact_top_k(index.embeddings, vec, k, frozenset(exclude))


def search(encoder: Encoder | None, index: Index, query: Query, k: int = 10,
           method: Method = "auto", search_k: int | None = None) -> list[Hit]:
    """Top-k for a combined query; the query's own gallery images are excluded."""
    vec = query_vector(encoder, index, query)
    exclude = {i for i, _ in query.image_ids}
    return search_vector(index, vec, k, exclude, method, search_k)


def recall_at_k(index: Index, queries: np.ndarray, k: int = 10,
                search_k: int | None = None) -> float:
    """The approximate search's recall@k against exact search over a set of query vectors."""
    found = 0
    for vec in queries:
        truth = {h.id for h in exact_top_k(index.embeddings, vec, k)}
        approx = {h.id for h in approx_top_k(index, vec, k, search_k=search_k)}
        found += len(truth & approx)
    return found / (k * len(queries)) if len(queries) else 1.0
