"""Exploring a collection as a whole: clusters, 2-D projections and a map of thumbnails.

Everything here works on plain arrays (row i = image id i) so the pages only lay out results and
the tests can check them on small real data.
"""

from __future__ import annotations

import base64
import io
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, overload

import numpy as np
from PIL import Image, ImageColor, UnidentifiedImageError
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from sklearn.manifold import TSNE
from sklearn.metrics import silhouette_score

from core.encoders.base import l2_normalise
from core.errors import UserError
from core.ingest.images import to_rgb
from core.query.topk import top_k

Box = tuple[int, int, int, int]

# Caption boilerplate that says nothing about a cluster ("a photo of a koala").
_EXTRA_STOP_WORDS = frozenset({"photo", "image", "picture", "shows", "showing", "shown"})
_STOP_WORDS = ENGLISH_STOP_WORDS | _EXTRA_STOP_WORDS
_WORD = re.compile(r"[^\W\d_]{2,}")


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


def _check_emb(emb: np.ndarray, min_rows: int = 1) -> np.ndarray:
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
    arr = _check_emb(emb)
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
    arr = _check_emb(emb)
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
    arr = _check_emb(emb, min_rows=2)
    m = min(max(spectrum, n_components), arr.shape[0], arr.shape[1])
    if n_components > m:
        raise UserError(f"Cannot project {arr.shape[0]} images to {n_components} dimensions.")
    pca = PCA(n_components=m, svd_solver="full").fit(arr)
    coords = pca.transform(arr)[:, :n_components].astype(np.float32)
    return Projection(coords=coords, explained_variance_ratio=pca.explained_variance_ratio_.copy())


def tsne_2d(emb: np.ndarray, seed: int = 0, perplexity: float = 30.0) -> Projection:
    """Non-linear projection that keeps local neighbourhoods; perplexity is clamped for small n."""
    arr = _check_emb(emb, min_rows=3)
    n = arr.shape[0]
    perp = float(max(1.0, min(perplexity, (n - 1) / 3.0)))
    tsne = TSNE(n_components=2, perplexity=perp, random_state=seed, init="pca")
    coords = tsne.fit_transform(arr).astype(np.float32)
    return Projection(coords=coords, explained_variance_ratio=np.zeros(0, dtype=np.float64))


def neighbourhood(emb: np.ndarray, centre_id: int, n: int) -> np.ndarray:
    """The n ids nearest to centre_id by cosine (centre first): fit a projection on one region."""
    arr = _check_emb(emb)
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
    arr = _check_emb(emb)
    if arr.shape[0] != result.labels.shape[0]:
        raise UserError("The clustering was made for a different collection; cluster again.")
    if not 0 <= cluster < result.k:
        raise UserError(f"Cluster {cluster} does not exist (0..{result.k - 1}).")
    members = np.flatnonzero(result.labels == cluster)
    dists = np.linalg.norm(arr[members] - result.centres[cluster], axis=1)
    return members[np.argsort(dists, kind="stable")][: max(m, 0)].astype(np.int64)


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


def _centres(coords: np.ndarray, canvas: int, thumb: int) -> np.ndarray:
    """Map coords to pixel centres inside [thumb/2, canvas - thumb/2]; one scale keeps the shape."""
    half = thumb / 2.0
    span = canvas - thumb
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    extent = float(max(hi[0] - lo[0], hi[1] - lo[1]))
    if extent <= 0:
        return np.full(coords.shape, canvas / 2.0)
    scaled = (coords - lo) / extent * span  # in [0, span], the longer axis fills it
    scaled += (span - (hi - lo) / extent * span) / 2.0  # centre the shorter axis
    x = half + scaled[:, 0]
    y = canvas - half - scaled[:, 1]  # y axis up: larger y is higher, i.e. smaller row
    return np.stack([x, y], axis=1)


@overload
def thumbnail_map(
    coords: np.ndarray,
    thumbs: Sequence[Image.Image],
    canvas: int = ...,
    thumb: int = ...,
    background: str | tuple[int, int, int] = ...,
    return_boxes: Literal[False] = ...,
) -> Image.Image: ...


@overload
def thumbnail_map(
    coords: np.ndarray,
    thumbs: Sequence[Image.Image],
    canvas: int = ...,
    thumb: int = ...,
    background: str | tuple[int, int, int] = ...,
    *,
    return_boxes: Literal[True],
) -> tuple[Image.Image, list[Box]]: ...


def thumbnail_map(
    coords: np.ndarray,
    thumbs: Sequence[Image.Image],
    canvas: int = 1600,
    thumb: int = 64,
    background: str | tuple[int, int, int] = "white",
    return_boxes: bool = False,
) -> Image.Image | tuple[Image.Image, list[Box]]:
    """Draw each thumbnail at its 2-D point (y up), every one fully inside a square canvas.

    Boxes are (left, top, right, bottom) with right/bottom exclusive, in input order; later
    thumbnails are drawn over earlier ones.
    """
    pts = np.asarray(coords, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise UserError(f"Map coordinates must have shape (n, 2), got {pts.shape}.")
    if pts.shape[0] != len(thumbs):
        raise UserError(f"Got {pts.shape[0]} coordinates but {len(thumbs)} thumbnails.")
    if not np.isfinite(pts).all():
        raise UserError("Map coordinates contain NaN or infinite values.")
    if thumb < 1 or canvas < thumb:
        raise UserError(f"Canvas ({canvas} px) must be at least one thumbnail ({thumb} px) wide.")
    try:
        bg = ImageColor.getrgb(background) if isinstance(background, str) else background
    except ValueError as exc:
        raise UserError(f"Unknown background colour {background!r}.") from exc
    out = Image.new("RGB", (canvas, canvas), tuple(bg[:3]))
    boxes: list[Box] = []
    centres = _centres(pts, canvas, thumb) if len(thumbs) else np.zeros((0, 2))
    for (cx, cy), img in zip(centres, thumbs, strict=True):
        small = to_rgb(img, (bg[0], bg[1], bg[2]))
        small.thumbnail((thumb, thumb))
        w, h = small.size
        left = min(max(int(round(cx - w / 2.0)), 0), canvas - w)
        top = min(max(int(round(cy - h / 2.0)), 0), canvas - h)
        out.paste(small, (left, top))
        boxes.append((left, top, left + w, top + h))
    return (out, boxes) if return_boxes else out


# ------------------------------------------------------------------------- for the explorer page


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
    arr = _check_emb(emb)
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


def display_sample(n: int, limit: int, seed: int = 0) -> np.ndarray:
    """Sorted positions of at most `limit` of n points: a chart stays light on a big collection,
    and the same points come back on every rerun."""
    if limit < 1:
        raise UserError(f"A chart needs room for at least one point, got {limit}.")
    if n <= limit:
        return np.arange(n, dtype=np.int64)
    picked = np.random.default_rng(seed).choice(n, size=limit, replace=False)
    return np.sort(picked).astype(np.int64)


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


def thumb_data_url(path: str | Path, size: int = 96, quality: int = 70) -> str:
    """A small JPEG of a thumbnail as a data URL ("" if unreadable): Vega-Lite tooltips draw a
    field named `image` as a picture, and a few KB per point keeps the chart light."""
    try:
        with Image.open(path) as img:
            small = to_rgb(img)
            small.thumbnail((size, size))
    except (OSError, UnidentifiedImageError, ValueError):
        return ""
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
