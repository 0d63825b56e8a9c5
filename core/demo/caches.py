"""The demo's last step: store in each demo index what every visitor's first page needs.

A fresh server then reads the caption banks (Image to text), the whole collection's clusters,
k sweep, PCA, t-SNE, tooltips and thumbnail maps (Cluster explorer) and the shipped query sets'
text vectors (Review variants) from the index's cache (core.index.cache) instead of computing
them, or loading a model, for its first visitor. Only what is missing
is computed, so a second run returns at once; a rebuilt index starts with an empty cache.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from core.analysis import clusters_view as view
from core.analysis import precompute
from core.errors import UserError
from core.eval import query_set
from core.index import cache
from core.index.catalogue import read_entry
from core.index.fingerprint import encoder_for
from core.index.store import Index
from core.query import stored_texts
from core.query.captionbank import caption_bank_for, find_sets

SPLITS = (None,)  # the image-to-text page's default, "all captions" (its test split is a choice)


def _stored(index: Index) -> set[str]:
    folder = index.files / cache.FOLDER
    return {p.name for p in folder.glob("*.npz")} if folder.is_dir() else set()


def warm_explorer(index: Index) -> None:
    """The explorer's default view (whole collection, k = DEFAULT_K, both projections)."""
    if index.n < view.MIN_IMAGES:
        return
    view.fit_clusters(index, None, view.DEFAULT_K, store=True)  # k-means and its labels
    _, lo, hi = view.sweep_bounds(index.n, None)
    precompute.sweep(index, lo, hi, store=True)
    ids = view.scope_rows(index, None)
    pca_coords = precompute.pca(index, store=True).coords
    projections = [(precompute.METHODS[0], pca_coords)]
    if view.can_tsne(index.n):
        projections.append((precompute.METHODS[1], precompute.tsne(index, store=True).coords))
    sample = view.chart_sample(ids, pca_coords, precompute.MAX_POINTS)
    precompute.tooltip_urls(index, sample.ids, store=True)
    for method, coords in projections:
        precompute.map_jpeg(index, ids, coords, precompute.DEFAULT_THUMB, method, store=True)


def warm_caption_banks(index: Index, sets_root: Path) -> None:
    """Every captioned set's bank in the index's model space (text-and-image indexes only)."""
    entry = read_entry(index.path)
    if entry is None or not (entry.can_text and entry.can_image):
        return
    for folder in find_sets(sets_root):
        for split in SPLITS:
            try:
                caption_bank_for(index, folder, split, lambda: encoder_for(index), store=True)
            except UserError:  # a set without that split (or rows): nothing to store
                continue


def warm_query_sets(index: Index) -> None:
    """The text queries of every shipped query set in the index's model space (the review page
    runs the first set on its first render)."""
    entry = read_entry(index.path)
    if entry is None or not entry.can_text:
        return
    texts = [spec.text for path in query_set.shipped_sets().values()
             for spec in query_set.read_file(path) if spec.text is not None]
    stored_texts.store(index, texts, lambda: encoder_for(index))


def warm_index(index: Index, sets_root: Path, log: Callable[[str], None]) -> list[str]:
    """Store what is missing; returns the names of the files written."""
    before = _stored(index)
    warm_explorer(index)
    warm_caption_banks(index, sets_root)
    warm_query_sets(index)
    written = sorted(_stored(index) - before)
    log(f"index {index.path}: cache " + (f"wrote {', '.join(written)}" if written
                                         else "complete"))
    return written
