"""Text query vectors stored with an index, so a fresh server answers known queries without the
model.

The Review page runs the shipped query set on three indexes as its first render: loading three
text models, checking their fingerprints and encoding 30 queries with each took ~2 s of a
~3.8 s page. The vectors only depend on the index's model and the texts, so `python -m core
demo` stores them in the index's cache (core.index.cache: a file made for another index or an
older layout is ignored); `text_vectors_for` reads them when every text asked for is there and
otherwise loads the model, as before. The stored rows are exactly `search.text_vectors`' output,
so the rankings are the same either way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from core.encoders.base import Encoder
from core.index import cache
from core.index.store import Index
from core.query.search import text_vectors

NAME = "text-vectors"
VERSION = 1  # bump when text_vectors' output changes, so stored rows are ignored


def stored(index: Index) -> dict[str, np.ndarray]:
    """text -> its stored unit vector (empty when nothing usable is stored)."""
    found = cache.read(index, NAME, cache.digest(VERSION))
    if found is None:
        return {}
    try:
        texts = cache.unpack_json(found["texts"])
        vectors = np.asarray(found["vectors"], np.float32)
    except (KeyError, ValueError):
        return {}
    if not isinstance(texts, list) or vectors.shape != (len(texts), index.dim):
        return {}
    return dict(zip((str(t) for t in texts), vectors, strict=True))


def text_vectors_for(index: Index, texts: Sequence[str],
                     load: Callable[[], Encoder]) -> np.ndarray:
    """Unit vectors of `texts`: the stored ones when all are stored, else from `load()`'s model
    (loaded only then)."""
    known = stored(index) if texts else {}
    if texts and all(t in known for t in texts):
        return np.stack([known[t] for t in texts])
    return text_vectors(load(), index, list(texts))


def store(index: Index, texts: Sequence[str], load: Callable[[], Encoder]) -> list[str]:
    """Add the vectors of the texts not stored yet (the demo step); returns those texts."""
    known = stored(index)
    new = [t for t in dict.fromkeys(texts) if t not in known]
    if not new:
        return []
    known |= dict(zip(new, text_vectors(load(), index, new), strict=True))
    cache.write(index, NAME, {"texts": cache.pack_json(list(known)),
                              "vectors": np.stack(list(known.values())).astype(np.float32)},
                cache.digest(VERSION))
    return new
