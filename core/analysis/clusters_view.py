"""What the cluster explorer shows, as data: the rows a setting covers, the fitted clusters and
map, the scatter's rows, what a chart selection picked, and the bounds of each setting.

Built on core.analysis.explore (called through the module, so tests can count its calls); the
page only caches these results and lays them out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.analysis import explore, labels, maps, precompute, visual_names
from core.errors import UserError
from core.index.items import short_name, texts_of
from core.index.store import Index

Scope = tuple[int, int] | None  # (centre id, size) around one image, or None for all images

DEFAULT_K, K_MAX, SWEEP_MAX = 6, 20, 15
MIN_IMAGES = 4  # fewer images cannot be clustered into 2..n-1 groups and mapped usefully
DEFAULT_SIZE = 100
TSNE_MAX = 3000  # t-SNE takes minutes beyond this; the neighbourhood scope is the way in
# A URL can name any centre, and each new one is a fresh k-means, sweep and maybe t-SNE: this
# keeps that to seconds per centre (wider views are the whole collection's, computed once).
AROUND_MAX = 1000
NEAREST = 5  # typical images listed per cluster
TEXT_CHARS = 160  # of a point's joined texts in its tooltip


def scope_rows(index: Index, scope: Scope) -> np.ndarray:
    """Image ids a setting fits on: every image, or the `size` nearest to a centre image."""
    if scope is None:
        return np.arange(index.n, dtype=np.int64)
    if scope[1] > AROUND_MAX:
        raise UserError(f"A neighbourhood holds at most {AROUND_MAX} images (asked {scope[1]}); "
                        "explore the whole collection for a wider view.")
    return explore.neighbourhood(index.embeddings, scope[0], scope[1])


def fit_clusters(index: Index, scope: Scope, k: int, nearest: int = NEAREST,
                 store: bool = False) -> tuple[explore.ClusterResult, list[labels.ClusterSummary]]:
    """k-means on the scope, and each cluster summarised in the collection's own ids; the whole
    collection's from the index's cache where stored (`store`: written there, the demo step)."""
    ids = scope_rows(index, scope)
    emb = index.embeddings[ids]
    result = explore.kmeans(emb, k) if scope else precompute.kmeans(index, k, store)

    def summarise() -> list[labels.ClusterSummary]:
        return labels.summarise_clusters(emb, result, label_rows(index, ids), ids, nearest)

    return result, (summarise() if scope
                    else precompute.summaries(index, k, nearest, summarise, store))


def label_rows(index: Index, ids: np.ndarray) -> list[labels.Words]:
    """Each image's words for naming its cluster: its texts without credits, source names and
    file-name echoes; an image with none is named by its nearest ImageNet classes when the
    index's model has a class space (ConSE, hybrid)."""
    meta = [c for c in ("attribution", "source", "licence") if c in index.items]
    taken = index.items.loc[[int(i) for i in ids], [*meta, "rel_path"]]  # only these rows
    rows = []
    for (_, row), texts in zip(taken.iterrows(), texts_of(index, ids), strict=True):
        credits = labels.credit_words(*(str(row[m] or "") for m in meta))
        rows.append(labels.label_words(texts, str(row["rel_path"]), credits))
    bare = [r for r, words in enumerate(rows) if not words]
    if bare:
        named = visual_names.class_names(index.spec, index.embeddings[np.asarray(ids)[bare]])
        for r, names in zip(bare, named or [], strict=False):
            rows[r] = dict.fromkeys(names, 1.0)
    return rows


def fit_projection(index: Index, scope: Scope, tsne: bool) -> tuple[np.ndarray, np.ndarray]:
    """(2-D coordinates, by t-SNE or PCA, PCA explained-variance ratios for the scree chart):
    the PCA spectrum is shown whichever projection the map uses."""
    emb = index.embeddings[scope_rows(index, scope)]
    if tsne and not can_tsne(len(emb)):
        raise UserError(f"t-SNE maps at most {TSNE_MAX} images (this scope holds {len(emb)}): "
                        "use PCA, or a neighbourhood.")
    pca = explore.pca_2d(emb) if scope else precompute.pca(index)  # the whole: maybe stored
    coords = ((explore.tsne_2d(emb) if scope else precompute.tsne(index)).coords if tsne
              else pca.coords)
    return coords, pca.explained_variance_ratio


def sweep_table(index: Index, scope: Scope, lo: int, hi: int) -> pd.DataFrame:
    """Inertia and silhouette for k = lo..hi, one row per k, for choosing k."""
    emb = index.embeddings[scope_rows(index, scope)]
    rows = explore.k_sweep(emb, range(lo, hi + 1)) if scope else precompute.sweep(index, lo, hi)
    return pd.DataFrame(rows, columns=["k", "inertia", "silhouette"])


def variance_table(ratio: np.ndarray) -> pd.DataFrame:
    """Per-component and cumulative explained variance, in percent."""
    ratio = np.asarray(ratio, dtype=np.float64)
    return pd.DataFrame({"component": [f"PC{i + 1}" for i in range(len(ratio))],
                         "explained": 100 * ratio, "cumulative": 100 * np.cumsum(ratio)})


def cluster_names(summaries: Sequence[labels.ClusterSummary]) -> dict[int, str]:
    """Cluster number -> "rank · label", in the summaries' order (largest first), which is
    also the legend order."""
    return {s.cluster: f"{rank}" + (f" · {s.label}" if s.label else "")
            for rank, s in enumerate(summaries, 1)}


# Silhouette bands for the plain-words tile. Embedding clusters rarely reach the textbook 0.5:
# on the demo gallery k = 6 gives 0.04 (EfficientNet) to 0.12 (ConSE) while monuments, fish,
# tools and animals still fall into their own groups, so the bands are set for what image
# embeddings give, not for low-dimensional data.
DISTINCT_BANDS = ((0.25, "clear"), (0.1, "moderate"), (-1.0, "weak"))


def distinctness(silhouette: float) -> str:
    """How distinct the groups are, in one word a visitor reads without knowing silhouettes."""
    return next(word for cut, word in DISTINCT_BANDS if silhouette >= cut)


def axis_titles(tsne: bool) -> tuple[str, str]:
    return ("t-SNE 1", "t-SNE 2") if tsne else ("PC1", "PC2")


@dataclass
class ChartSample:
    """The points a chart draws: a fixed sample of the scope, so a big collection stays light."""

    positions: np.ndarray  # rows of the scope kept
    ids: np.ndarray  # their image ids
    coords: np.ndarray  # their (n, 2) coordinates


def chart_sample(ids: np.ndarray, coords: np.ndarray, limit: int) -> ChartSample:
    """At most `limit` of the scope's points, the same ones on every rerun."""
    keep = maps.display_sample(len(ids), limit)
    return ChartSample(keep, np.asarray(ids)[keep], np.asarray(coords)[keep])


def scatter_frame(index: Index, sample: ChartSample, labels: np.ndarray,
                  names: Mapping[int, str], urls: Sequence[str]) -> pd.DataFrame:
    """One row per drawn point: id, x, y, cluster name, file name, texts and the tooltip image
    (`labels` are the scope's cluster labels, `urls` the sample's thumbnails in order)."""
    if len(urls) != len(sample.ids):
        raise ValueError(f"{len(urls)} thumbnails for {len(sample.ids)} points")
    shown = sample.ids
    return pd.DataFrame({
        "id": shown, "x": sample.coords[:, 0], "y": sample.coords[:, 1],
        "cluster": [names[int(c)] for c in np.asarray(labels)[sample.positions]],
        "name": [short_name(index, int(i)) for i in shown],
        "texts": ["; ".join(t)[:TEXT_CHARS] for t in texts_of(index, shown)],
        "image": list(urls)})


def picked_ids(sample: ChartSample, selection: Mapping | None) -> list[int]:
    """Ids a chart selection covers: `selection` is the chart event's dict, with clicked points
    under "picked" and a dragged box under "region" (either may be missing or empty)."""
    chosen = selection or {}
    box = chosen.get("region") or {}
    clicked = [p["id"] for p in chosen.get("picked") or [] if "id" in p]
    return explore.selected_ids(sample.ids, sample.coords, clicked,
                                (box["x"], box["y"]) if "x" in box and "y" in box else None)


def clamp(value: int, lo: int, hi: int) -> int:
    return min(max(lo, int(value)), hi)


def k_max(n_scope: int) -> int:
    """Largest k offered: k-means needs k <= n - 1, and the charts stay readable up to K_MAX."""
    return min(K_MAX, n_scope - 1)


def size_max(n: int) -> int:
    """Largest neighbourhood offered (and accepted from a URL) in a collection of n images."""
    return min(n, AROUND_MAX)


def scope_for(n: int, centre: int, size: int) -> Scope:
    """(centre, size) kept inside the collection and the neighbourhood limit, so a URL's
    arbitrary numbers never reach a fit (nor a cache key) unbounded."""
    return clamp(centre, 0, n - 1), clamp(size, MIN_IMAGES, size_max(n))


def can_tsne(n_scope: int) -> bool:
    return n_scope <= TSNE_MAX


def sweep_bounds(n_scope: int, previous: tuple[int, int] | None) -> tuple[int, int, int]:
    """(top, lo, hi) for the k sweep: the slider's top, and the previous range kept inside it
    (at least one k wide) when the scope shrinks; (2, top) when there is nothing to choose."""
    top = min(SWEEP_MAX, n_scope - 1)
    lo, hi = previous if previous is not None else (2, top)
    if top <= 2:
        return top, 2, top
    return top, min(lo, top - 1), min(max(hi, lo + 1), top)
