"""The explorer's whole-collection results, read from the index's cache when stored there.

k-means and its cluster summaries (labels, typical images), the k sweep, PCA and t-SNE of the
whole collection, the scatter's tooltip thumbnails and the thumbnail map are the same for every
visitor, and took 3-23 s on a fresh server. The demo
command stores them (`store=True`, core.demo.caches); the app only reads them and computes what
is missing (under a spinner), so a copy of an index without a cache still works. Computations
go through `explore.<name>` (module attribute), as tests count those calls.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from functools import cache as once
from pathlib import Path
from typing import TypeVar

import numpy as np

from core.analysis import explore, labels, maps
from core.index import cache
from core.index.store import Index

T = TypeVar("T")
VERSION = 1  # bump when what explore computes changes, so stored results are ignored
METHODS = ("PCA", "t-SNE")  # the explorer's projections, as named in stored maps
DEFAULT_THUMB = 56  # px: the thumbnail map's default size, the one stored
MAX_POINTS = 1500  # points on the scatter (each carries a ~4 KB thumbnail for its tooltip)


def _memo(index: Index, name: str, key: str, compute: Callable[[], T],
          dump: Callable[[T], dict[str, np.ndarray]],
          load: Callable[[dict[str, np.ndarray]], T], store: bool) -> T:
    """The stored value of `name` for this index and key, else `compute()` (stored if asked)."""
    key = cache.digest(VERSION, key)
    found = cache.read(index, name, key)
    if found is not None:
        try:
            return load(found)
        except (KeyError, ValueError, TypeError):
            pass  # a file of an older layout: compute again
    value = compute()
    if store:
        cache.write(index, name, dump(value), key)
    return value


def kmeans(index: Index, k: int, store: bool = False) -> explore.ClusterResult:
    """k-means (seed 0) of every image, as `explore.kmeans(index.embeddings, k)`."""
    return _memo(
        index, f"kmeans-k{k}", f"k={k}", lambda: explore.kmeans(index.embeddings, k),
        lambda r: {"labels": r.labels, "centres": r.centres,
                   "scores": np.array([r.inertia, r.silhouette], np.float64)},
        lambda d: explore.ClusterResult(d["labels"].astype(np.int64), d["centres"],
                                        float(d["scores"][0]), float(d["scores"][1])),
        store)


@once
def _labelling_code() -> str:
    """A digest of the code that words cluster labels: stored summaries are keyed by it, so an
    edit to the labelling is never answered with labels it would no longer give."""
    here = Path(__file__).resolve().parent
    files = [here / "labels.py", here / "visual_names.py", here / "clusters_view.py",
             here.parent / "ingest" / "pathwords.py"]
    return cache.digest(*(f.read_bytes() if f.is_file() else b"" for f in files))


Summaries = list[labels.ClusterSummary]


def summaries(index: Index, k: int, nearest: int, compute: Callable[[], Summaries],
              store: bool = False) -> Summaries:
    """The whole collection's cluster summaries for k (`compute()`: labels.summarise_clusters of
    `kmeans(index, k)`), stored with the labelling code's digest."""
    return _memo(
        index, f"summaries-k{k}", f"k={k},nearest={nearest},code={_labelling_code()}", compute,
        lambda rows: {"rows": cache.pack_json([asdict(r) for r in rows])},
        lambda d: [labels.ClusterSummary(**r) for r in cache.unpack_json(d["rows"])], store)


def sweep(index: Index, lo: int, hi: int, store: bool = False) -> list[tuple[int, float, float]]:
    """(k, inertia, silhouette) for k = lo..hi over every image, as `explore.k_sweep`."""
    return _memo(
        index, f"sweep-{lo}-{hi}", f"{lo}-{hi}",
        lambda: explore.k_sweep(index.embeddings, range(lo, hi + 1)),
        lambda rows: {"rows": np.array(rows, np.float64).reshape(-1, 3)},
        lambda d: [(int(k), float(i), float(s)) for k, i, s in d["rows"]], store)


def _dump_projection(p: explore.Projection) -> dict[str, np.ndarray]:
    return {"coords": p.coords, "ratio": p.explained_variance_ratio}


def _load_projection(d: dict[str, np.ndarray]) -> explore.Projection:
    return explore.Projection(d["coords"], d["ratio"])


def pca(index: Index, store: bool = False) -> explore.Projection:
    return _memo(index, "pca", "", lambda: explore.pca_2d(index.embeddings), _dump_projection,
                 _load_projection, store)


def tsne(index: Index, store: bool = False) -> explore.Projection:
    return _memo(index, "tsne", "", lambda: explore.tsne_2d(index.embeddings),
                 _dump_projection, _load_projection, store)


def tooltip_urls(index: Index, ids: Sequence[int], store: bool = False) -> list[str]:
    """Tooltip thumbnails (`maps.tooltip_urls`): from the stored ones when they cover `ids`."""
    wanted = [int(i) for i in ids]
    found = cache.read(index, "tooltips", cache.digest(VERSION))
    if found is not None:
        urls = dict(zip(found["ids"].tolist(), cache.unpack_json(found["urls"]), strict=True))
        if all(i in urls for i in wanted):
            return [urls[i] for i in wanted]
    out = maps.tooltip_urls(index, wanted)
    if store:
        cache.write(index, "tooltips", {"ids": np.array(wanted, np.int64),
                                        "urls": cache.pack_json(out)}, cache.digest(VERSION))
    return out


def map_jpeg(index: Index, ids: np.ndarray, coords: np.ndarray, thumb: int, method: str,
             store: bool = False) -> bytes:
    """The thumbnail map (`maps.map_jpeg`), stored per method and size for these points."""
    key = cache.digest(np.asarray(ids, np.int64), np.asarray(coords, np.float32), maps.MAX_MAP,
                       maps.CANVAS)
    return _memo(index, f"map-{method}-{thumb}", key,
                 lambda: maps.map_jpeg(index, ids, coords, thumb),
                 lambda b: {"jpeg": np.frombuffer(b, np.uint8)},
                 lambda d: d["jpeg"].tobytes(), store)
