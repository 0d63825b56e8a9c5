"""Exploring a collection as a whole: clusters, 2-D projections and a map of thumbnails.

Everything here works on plain arrays (row i = image id i) so the pages only lay out results and
the tests can check them on small real data. scikit-learn is imported where it is used: a
page that finds these results in the index's cache (core.analysis.precompute) never loads it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from core.encoders.base import l2_normalise
from core.errors import UserError
from core.query.topk import top_k


@dataclass
class ClusterResult:
    """k-means output; silhouette is in [-1, 1] (higher = better separated), on a sample if big."""

    labels: np.ndarray  # (n,) int cluster of each image
    centres: np.ndarray  # (k, d) float32
    inertia: float
    silhouette: float

    @property
    def k(self) -> int:
        return int(self.centres.shape[0])


@dataclass
class Projection:
    """2-D coordinates plus the variance spectrum (PCA only; empty for t-SNE) for a scree chart."""

    coords: np.ndarray  # (n, 2) float32
    explained_variance_ratio: np.ndarray  # (m,) first components, sums to <= 1


def check_embeddings(emb: np.ndarray, min_rows: int = 1) -> np.ndarray:
    arr = np.asarray(emb, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[0] < min_rows or arr.shape[1] < 1:
        raise UserError(
            f"Need an (n, d) embedding array with at least {min_rows} rows, got shape {arr.shape}."
        )
    if not np.isfinite(arr).all():
        raise UserError("The embeddings contain NaN or infinite values; rebuild the index.")
    return arr


def _check_k(k: int, n: int) -> None:
    if n < 3:
        raise UserError(f"Clustering needs at least 3 images, this collection has {n}.")
    if not 2 <= k <= n - 1:
        raise UserError(f"Number of clusters must be 2..{n - 1} for {n} images, got {k}.")


def _silhouette(arr: np.ndarray, labels: np.ndarray, sample: int, seed: int) -> float:
    """Silhouette is O(n^2); a sample keeps it interactive and is accurate enough to compare k."""
    from sklearn.metrics import silhouette_score

    if len(np.unique(labels)) < 2:
        return 0.0
    size = min(sample, arr.shape[0]) if sample > 0 else None
    if size is not None and size < arr.shape[0]:
        # The sample itself must hold two clusters or sklearn refuses; fall back to all rows.
        rng = np.random.default_rng(seed)
        idx = rng.choice(arr.shape[0], size=size, replace=False)
        if len(np.unique(labels[idx])) >= 2 and size > len(np.unique(labels[idx])):
            return float(silhouette_score(arr[idx], labels[idx]))
    return float(silhouette_score(arr, labels))


def kmeans(emb: np.ndarray, k: int, seed: int = 0, sample: int = 2000) -> ClusterResult:
    """Cluster the images; a fixed seed gives the same labels every time (pages re-run a lot)."""
    from sklearn.cluster import KMeans

    arr = check_embeddings(emb)
    _check_k(k, arr.shape[0])
    model = KMeans(n_clusters=k, random_state=seed, n_init=10).fit(arr)
    labels = model.labels_.astype(np.int64)
    return ClusterResult(
        labels=labels,
        centres=model.cluster_centers_.astype(np.float32),
        inertia=float(model.inertia_),
        silhouette=_silhouette(arr, labels, sample, seed),
    )


def k_sweep(
    emb: np.ndarray, ks: Sequence[int], seed: int = 0, sample: int = 2000
) -> list[tuple[int, float, float]]:
    """(k, inertia, silhouette) for each usable k, for an elbow/silhouette chart to pick k.

    ks outside [2, n-1] are dropped rather than failing the whole chart.
    """
    from sklearn.cluster import KMeans

    arr = check_embeddings(emb)
    n = arr.shape[0]
    usable = sorted({int(k) for k in ks if 2 <= int(k) <= n - 1})
    if not usable:
        raise UserError(f"None of the requested cluster counts fits {n} images (need 2..{n - 1}).")
    out: list[tuple[int, float, float]] = []
    for k in usable:
        model = KMeans(n_clusters=k, random_state=seed, n_init=3).fit(arr)
        labels = model.labels_
        out.append((k, float(model.inertia_), _silhouette(arr, labels, sample, seed)))
    return out


def pca_2d(emb: np.ndarray, n_components: int = 2, spectrum: int = 10) -> Projection:
    """Linear projection: fast, deterministic, and its variance spectrum tells how flat it is."""
    from sklearn.decomposition import PCA

    arr = check_embeddings(emb, min_rows=2)
    m = min(max(spectrum, n_components), arr.shape[0], arr.shape[1])
    if n_components > m:
        raise UserError(f"Cannot project {arr.shape[0]} images to {n_components} dimensions.")
    pca = PCA(n_components=m, svd_solver="full").fit(arr)
    coords = pca.transform(arr)[:, :n_components].astype(np.float32)
    return Projection(coords=coords, explained_variance_ratio=pca.explained_variance_ratio_.copy())


def tsne_2d(emb: np.ndarray, seed: int = 0, perplexity: float = 30.0) -> Projection:
    """Non-linear projection that keeps local neighbourhoods; perplexity is clamped for small n."""
    from sklearn.manifold import TSNE

    arr = check_embeddings(emb, min_rows=3)
    n = arr.shape[0]
    perp = float(max(1.0, min(perplexity, (n - 1) / 3.0)))
    tsne = TSNE(n_components=2, perplexity=perp, random_state=seed, init="pca")
    coords = tsne.fit_transform(arr).astype(np.float32)
    return Projection(coords=coords, explained_variance_ratio=np.zeros(0, dtype=np.float64))


def neighbourhood(emb: np.ndarray, centre_id: int, n: int) -> np.ndarray:
    """The n ids nearest to centre_id by cosine (centre first): fit a projection on one region."""
    arr = check_embeddings(emb)
    total = arr.shape[0]
    if not 0 <= centre_id < total:
        raise UserError(f"Image id {centre_id} is not in this collection (0..{total - 1}).")
    if n < 1:
        raise UserError(f"Neighbourhood size must be at least 1, got {n}.")
    unit = l2_normalise(arr)
    sims = unit @ unit[centre_id]
    sims[centre_id] = np.inf  # the centre always comes first, even among exact duplicates
    return top_k(sims, n)[0]


def cluster_members_near_centre(
    emb: np.ndarray, result: ClusterResult, cluster: int, m: int
) -> np.ndarray:
    """Up to m members of a cluster, closest to its centre first: the most typical examples."""
    arr = check_embeddings(emb)
    if arr.shape[0] != result.labels.shape[0]:
        raise UserError("The clustering was made for a different collection; cluster again.")
    if not 0 <= cluster < result.k:
        raise UserError(f"Cluster {cluster} does not exist (0..{result.k - 1}).")
    members = np.flatnonzero(result.labels == cluster)
    dists = np.linalg.norm(arr[members] - result.centres[cluster], axis=1)
    return members[np.argsort(dists, kind="stable")][: max(m, 0)].astype(np.int64)


















# ------------------------------------------------------------------------- for the explorer page








def selected_ids(
    ids: Sequence[int],
    coords: np.ndarray,
    picked: Iterable[int] = (),
    box: tuple[Sequence[float], Sequence[float]] | None = None,
) -> list[int]:
    """The ids a chart selection covers: clicked ids plus those inside an (x, y) range box, in
    the order of `ids`. Ids that are not on the chart are ignored (a stale selection)."""
    ids_arr = np.asarray(ids, dtype=np.int64)
    pts = np.asarray(coords, dtype=np.float64)
    if pts.shape != (len(ids_arr), 2):
        raise UserError(f"Expected {len(ids_arr)} 2-D points, got shape {pts.shape}.")
    keep = np.isin(ids_arr, np.fromiter((int(i) for i in picked), dtype=np.int64))
    if box is not None:
        (x0, x1), (y0, y1) = (sorted(map(float, r)) for r in box)
        keep |= ((pts[:, 0] >= x0) & (pts[:, 0] <= x1) & (pts[:, 1] >= y0) & (pts[:, 1] <= y1))
    return [int(i) for i in ids_arr[keep]]


