"""Duplicates: exact ones (same content hash) folded into the best-ranked copy, and near ones
(cosine at or above a threshold) grouped for a badge and Home.

Near groups compare either the index's embeddings or pixel signatures of its thumbnails. The
embeddings of these models are semantic: at 0.97 the demo's "near-duplicates" were eight
different hammers sharing the caption "hammer". A 16x16 colour signature (mean removed, so the
cosine is the pixels' correlation) finds what a person calls a near-duplicate instead: a resized
or re-encoded copy, the left and right frames of a stereo pair. Either way the groups are exact,
not approximate: rows compared in blocks (memory block x n floats), linked with union-find so a
chain a~b~c is one group. Quadratic work, fine at demo sizes (371 images: ~30 ms; 20k: 24 s).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from core.encoders.base import Encoder
from core.index.store import FILES, Index, inside
from core.query.filters import filtered_first_k
from core.query.search import Hit, Query, query_vector, ranked_hits, text_vectors

NEAR_SOURCES = ("pixels", "embeddings")
DEFAULT_NEAR = {"pixels": 0.90, "embeddings": 0.97}  # default cosine per source
BLOCK = 1024
SIGNATURE_SIDE = 16


def search_collapsed(encoder: Encoder | None, index: Index, query: Query, k: int,
                     keep: np.ndarray | None = None) -> list[Hit]:
    """k distinct images: exact duplicates fold into the best copy, which counts them; with
    `keep` (core.query.filters.keep_mask) only items that pass the filters."""
    vec = query_vector(encoder, index, query)
    return vector_collapsed(index, vec, k, frozenset(i for i, _ in query.image_ids), keep)


def texts_collapsed(encoder: Encoder | None, index: Index, texts: list[str], k: int
                    ) -> list[list[Hit]]:
    """`search_collapsed` for many plain texts, encoded in one batch (the review page)."""
    return [vector_collapsed(index, vec, k) for vec in text_vectors(encoder, index, texts)]


def vector_collapsed(index: Index, vec: np.ndarray, k: int,
                     exclude: frozenset[int] = frozenset(),
                     keep: np.ndarray | None = None) -> list[Hit]:
    """Asks for a few more candidates than k so folding duplicates (and filtering) still leaves
    k results."""
    spare = sum(len(ids) - 1 for ids in index.duplicates.values())
    want = min(index.n, k + min(spare, 4 * k))
    return filtered_first_k(index, vec, k, want, keep, exclude,
                            fold=lambda hits: collapse_duplicates(index, hits))


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


def _root(parent: np.ndarray, i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]  # path halving
        i = parent[i]
    return i


def pixel_signature(img: Image.Image) -> np.ndarray:
    """A unit 16x16x3 vector of the image's pixels minus their mean (all zero for a flat image,
    which then matches nothing)."""
    if img.format == "JPEG":
        img.draft("RGB", (2 * SIGNATURE_SIDE, 2 * SIGNATURE_SIDE))  # decode at 1/8 scale
    small = img.convert("RGB").resize((SIGNATURE_SIDE, SIGNATURE_SIDE),
                                      Image.Resampling.BILINEAR)
    vec = np.asarray(small, np.float32).reshape(-1)
    vec -= vec.mean()
    norm = float(np.linalg.norm(vec))
    return vec / norm if norm > 1e-6 else np.zeros_like(vec)


def pixel_signatures(index: Index) -> np.ndarray:
    """One signature per item, from the index's own thumbnails (zeros where one is missing)."""
    out = np.zeros((index.n, SIGNATURE_SIDE * SIGNATURE_SIDE * 3), np.float32)
    folder = index.files.resolve() / FILES["thumbs"]
    for i, digest in enumerate(index.items["hash"].tolist()):  # hashes are checked at load
        thumb = inside(folder / f"{digest}.jpg", [folder])  # what Index.thumb_path does
        if thumb is None or not thumb.is_file():
            continue
        try:
            with Image.open(thumb) as img:
                out[i] = pixel_signature(img)
        except (OSError, ValueError):
            continue
    return out


def near_groups(embeddings: np.ndarray, threshold: float = DEFAULT_NEAR["embeddings"],
                block: int = BLOCK) -> list[list[int]]:
    """Groups (two or more ids, ascending) of images linked by cosine >= threshold, largest
    group first. Rows are unit vectors, so a dot product is the cosine."""
    emb = np.asarray(embeddings, np.float32)
    n = len(emb)
    parent = np.arange(n)
    for start in range(0, n, block):
        sims = emb[start:start + block] @ emb.T
        rows, cols = np.nonzero(sims >= threshold)
        rows += start
        for a, b in zip(rows[cols > rows].tolist(), cols[cols > rows].tolist(), strict=True):
            ra, rb = _root(parent, a), _root(parent, b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(_root(parent, i), []).append(i)
    return sorted((g for g in groups.values() if len(g) > 1), key=lambda g: (-len(g), g[0]))


def near_of(groups: list[list[int]]) -> dict[int, list[int]]:
    """id -> the other members of its near-duplicate group (ids in no group are absent)."""
    return {i: [j for j in g if j != i] for g in groups for i in g}
