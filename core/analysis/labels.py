"""Cluster labels and summaries from the members' texts: the words that set a cluster apart."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from core.analysis.explore import ClusterResult, check_embeddings, cluster_members_near_centre
from core.errors import UserError

# Caption boilerplate that says nothing about a cluster ("a photo of a koala").
_EXTRA_STOP_WORDS = frozenset({"photo", "image", "picture", "shows", "showing", "shown"})


_STOP_WORDS = ENGLISH_STOP_WORDS | _EXTRA_STOP_WORDS


_WORD = re.compile(r"[^\W\d_]{2,}")


def _member_words(texts: list[str]) -> set[str]:
    words: set[str] = set()
    for text in texts:
        words.update(w for w in _WORD.findall(text.lower()) if w not in _STOP_WORDS)
    return words


def _member_doc_freq(texts_of_members: Sequence[Sequence[str]]) -> tuple[Counter[str], int]:
    """How many members mention each word (once per member, so one chatty caption can't win)."""
    counts: Counter[str] = Counter()
    for texts in texts_of_members:
        counts.update(_member_words(list(texts)))
    return counts, len(texts_of_members)


def cluster_label(
    texts_of_members: Sequence[Sequence[str]],
    top: int = 3,
    others: Sequence[Sequence[Sequence[str]]] = (),
) -> str:
    """A short label: words shared by many members, down-weighted if other clusters use them too.

    Score = (share of members mentioning the word) * idf over clusters, idf = log((1+C)/(1+df))+1
    where C counts this cluster and `others`. Without `others` it is simply the most shared words.
    Returns "" when the members have no usable text.
    """
    counts, n_members = _member_doc_freq(texts_of_members)
    if not counts or n_members == 0:
        return ""
    other_vocab = [_member_doc_freq(o)[0].keys() for o in others]
    n_clusters = 1 + len(other_vocab)
    scored = []
    for word, c in counts.items():
        df = 1 + sum(word in vocab for vocab in other_vocab)
        idf = math.log((1 + n_clusters) / (1 + df)) + 1.0
        scored.append((-(c / n_members) * idf, word))
    scored.sort()
    return ", ".join(word for _, word in scored[: max(top, 0)])


def cluster_labels(texts_by_cluster: Sequence[Sequence[Sequence[str]]], top: int = 3) -> list[str]:
    """cluster_label for every cluster, each made distinctive against all the others."""
    return [
        cluster_label(texts, top, [o for j, o in enumerate(texts_by_cluster) if j != i])
        for i, texts in enumerate(texts_by_cluster)
    ]


@dataclass
class ClusterSummary:
    """One cluster as a page shows it: its size, its most typical images and a label."""

    cluster: int
    size: int
    nearest: list[int]  # ids (in the caller's numbering), closest to the centre first
    label: str  # "" when the members have no texts


def summarise_clusters(
    emb: np.ndarray,
    result: ClusterResult,
    texts: Sequence[Sequence[str]],
    ids: Sequence[int] | None = None,
    m: int = 5,
) -> list[ClusterSummary]:
    """Every cluster, largest first. Rows of emb/texts are `ids` (default 0..n-1), so a cluster
    fitted on a neighbourhood still reports the collection's own image ids."""
    arr = check_embeddings(emb)
    if len(texts) != arr.shape[0]:
        raise UserError(f"Got {len(texts)} text lists for {arr.shape[0]} images.")
    row_ids = np.arange(arr.shape[0]) if ids is None else np.asarray(ids, dtype=np.int64)
    by_cluster = [[list(texts[r]) for r in np.flatnonzero(result.labels == c)]
                  for c in range(result.k)]
    labels = cluster_labels(by_cluster)
    out = [ClusterSummary(cluster=c, size=len(by_cluster[c]),
                          nearest=[int(row_ids[r])
                                   for r in cluster_members_near_centre(arr, result, c, m)],
                          label=labels[c])
           for c in range(result.k)]
    return sorted(out, key=lambda s: (-s.size, s.cluster))
