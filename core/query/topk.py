"""The one top-k selection every ranking uses (search, caption bank, recommender, explorer).

One place decides the tie rule, so the same scores give the same order on every page: best score
first, equal scores by lower id, NaN ranked last. `argpartition` keeps it O(n) for large n, and
all items tied with the k-th score are taken before sorting, so ties never depend on the
partition's arbitrary choice.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

_EMPTY_IDS = np.zeros(0, dtype=np.int64)


def top_k(scores: np.ndarray, k: int, exclude: Iterable[int] = ()) -> tuple[np.ndarray, np.ndarray]:
    """(ids, scores) of the k best entries of a 1-D score array, best first, ties by lower id.

    Ids in `exclude` are never returned (ids outside 0..n-1 are ignored); k >= n returns every
    remaining entry, k <= 0 returns nothing.
    """
    s = np.asarray(scores).reshape(-1)
    n = len(s)
    skip = np.array(sorted({int(i) for i in exclude if 0 <= int(i) < n}), dtype=np.int64)
    want = min(int(k) + len(skip), n)
    if int(k) <= 0 or want <= 0:
        return _EMPTY_IDS, s[:0]
    key = np.where(np.isnan(s), -np.inf, s) if s.dtype.kind == "f" else s
    if want < n:
        kth = np.partition(-key, want - 1)[want - 1]
        cand = np.flatnonzero(-key <= kth)  # every entry tied with the k-th, in id order
    else:
        cand = np.arange(n, dtype=np.int64)
    cand = cand[np.argsort(-key[cand], kind="stable")]
    if len(skip):
        cand = cand[~np.isin(cand, skip)]
    ids = cand[: int(k)].astype(np.int64)
    return ids, s[ids]
