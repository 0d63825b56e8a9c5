"""Filters beside any query (folder, source, date taken, size, orientation, has-text).

The ranking never changes: a filter only drops candidates, and the search asks the index for
more candidates until k of them pass (or every item has been seen), so a page still fills. On a
large index (approximate search) a selective filter instead ranks exactly the items that pass:
post-filtering ANN candidates needs many times k of them, and Annoy may return fewer than asked
for, so a rare folder came back short; exact search over <= 40k rows costs what Annoy does. The
per-item facts come from the items table; the date taken is the build's `taken` column (EXIF
DateTimeOriginal) or, for an index built before that column, read once from the originals.
Orientation is the displayed one: `width` and `height` are stored after EXIF rotation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from core.index.store import Index
from core.ingest.exif import taken_at
from core.ingest.ocr import COLUMN as OCR_COLUMN  # words read in the image (`build --ocr`)
from core.query import search as search_mod
from core.query.search import Hit, Method, ranked_hits, rows_top_k, search_vector

ORIENTATIONS = ("landscape", "portrait", "square")
SQUARE_TOLERANCE = 0.03  # sides within 3% of each other count as square (scans, crops)
LAZY_DATES_MAX = 20_000  # an older index this small reads dates from its originals (0.15 ms each)
TOP_FOLDER = "."  # the folder name of images straight under a root


@dataclass(frozen=True)
class Filters:
    """What a result must be; the defaults let everything through. Hashable (cache keys)."""

    folders: tuple[str, ...] = ()  # a folder matches itself and everything below it
    sources: tuple[str, ...] = ()
    taken_from: date | None = None  # inclusive; an image without a date fails any date bound
    taken_to: date | None = None
    min_width: int = 0
    min_height: int = 0
    orientations: tuple[str, ...] = ()
    has_text: bool | None = None  # has a description (caption, sidecar text)
    has_ocr: bool | None = None  # shows words (OCR), on an index built with --ocr

    def active(self) -> bool:
        return self != NO_FILTERS

    def describe(self) -> str:
        """One short line for a caption: what is being filtered on."""
        parts = []
        if self.folders:
            parts.append("folder " + " or ".join(self.folders))
        if self.sources:
            parts.append("source " + " or ".join(self.sources))
        if self.taken_from or self.taken_to:
            parts.append(f"taken {self.taken_from or '…'} to {self.taken_to or '…'}")
        if self.min_width or self.min_height:
            parts.append(f"at least {self.min_width}×{self.min_height} px")
        if self.orientations:
            parts.append(" or ".join(self.orientations))
        if self.has_text is not None:
            parts.append("with text" if self.has_text else "without text")
        if self.has_ocr is not None:
            parts.append("words in the image" if self.has_ocr else "no words in the image")
        return ", ".join(parts)


NO_FILTERS = Filters()


def orientation(width: int, height: int) -> str:
    if width <= 0 or height <= 0:
        return ""
    if abs(width - height) <= SQUARE_TOLERANCE * max(width, height):
        return "square"
    return "landscape" if width > height else "portrait"


def folder_of(rel_path: str) -> str:
    parent = str(rel_path).rsplit("/", 1)[0] if "/" in str(rel_path) else ""
    return parent or TOP_FOLDER


def reads_words(index: Index) -> bool:
    """Whether the build read the words in the images (`--ocr`: its manifest says so; without
    it the column is there but empty), so `has_ocr` means something."""
    return bool(index.manifest.get("ocr")) and OCR_COLUMN in index.items.columns


def stores_dates(index: Index) -> bool:
    """Whether the build stored the dates (older indexes read them from the files, slower)."""
    return "taken" in index.items.columns


def _dates(index: Index, read_files: bool) -> list[str | None]:
    """The build's `taken` column; for an older index, read from the originals (small ones)
    when `read_files`, else none."""
    items = index.items
    if "taken" in items.columns:
        return [t if isinstance(t, str) else None for t in items["taken"]]
    if not read_files or index.n > LAZY_DATES_MAX:
        return [None] * index.n
    out: list[str | None] = []
    for i in range(index.n):
        original = index.original_path(i)  # only files under the index's roots are opened
        out.append(taken_at(original) if original is not None else None)
    return out


def item_facts(index: Index, read_dates: bool = True) -> pd.DataFrame:
    """One row per item: folder, source, taken (datetime or NaT), width, height, orientation,
    has_text (a description) and has_ocr (words read in the image). Computed once per index by
    the callers (the app caches it). `read_dates=False` leaves an older index without dates
    rather than opening every file."""
    items = index.items
    width = items["width"].fillna(0).astype(int) if "width" in items else pd.Series([0] * index.n)
    height = (items["height"].fillna(0).astype(int) if "height" in items
              else pd.Series([0] * index.n))
    texts = items["texts"] if "texts" in items else pd.Series([None] * index.n)
    return pd.DataFrame({
        "folder": [folder_of(p) for p in items["rel_path"]] if "rel_path" in items
        else [TOP_FOLDER] * index.n,
        "source": items["source"].fillna("").astype(str) if "source" in items else "",
        "taken": pd.to_datetime(pd.Series(_dates(index, read_dates), dtype=object),
                                errors="coerce"),
        "width": width.to_numpy(),
        "height": height.to_numpy(),
        "orientation": [orientation(w, h) for w, h in zip(width, height, strict=True)],
        "has_text": [t is not None and any(str(x).strip() for x in t) for t in texts],
        "has_ocr": (items[OCR_COLUMN].fillna("").astype(str).str.strip() != "").to_numpy()
        if OCR_COLUMN in items else np.zeros(index.n, bool),
    })


def folder_choices(facts: pd.DataFrame) -> list[str]:
    """Every folder holding images, and the folders above them (picking one takes its subtree)."""
    found: set[str] = set()
    for folder in set(facts["folder"]):
        parts = folder.split("/")
        found.update("/".join(parts[: n + 1]) for n in range(len(parts)))
    return sorted(found)


def keep_mask(facts: pd.DataFrame, filters: Filters) -> np.ndarray:
    """True for each item that passes every filter."""
    keep = np.ones(len(facts), bool)
    if filters.folders:
        folders = facts["folder"]
        inside = np.zeros(len(facts), bool)
        for f in filters.folders:
            f = f.strip("/") or TOP_FOLDER
            inside |= ((folders == f) | folders.str.startswith(f + "/")).to_numpy()
        keep &= inside
    if filters.sources:
        keep &= facts["source"].isin(filters.sources).to_numpy()
    if filters.taken_from is not None or filters.taken_to is not None:
        stamps = facts["taken"]  # NaT (no date) compares false: it fails any bound
        if filters.taken_from is not None:
            keep &= (stamps >= pd.Timestamp(filters.taken_from)).to_numpy(bool)
        if filters.taken_to is not None:
            end = pd.Timestamp(filters.taken_to) + pd.Timedelta(days=1)
            keep &= (stamps < end).to_numpy(bool)
    keep &= (facts["width"].to_numpy() >= filters.min_width)
    keep &= (facts["height"].to_numpy() >= filters.min_height)
    if filters.orientations:
        keep &= facts["orientation"].isin(filters.orientations).to_numpy()
    if filters.has_text is not None:
        keep &= facts["has_text"].to_numpy(bool) == filters.has_text
    if filters.has_ocr is not None:
        keep &= facts["has_ocr"].to_numpy(bool) == filters.has_ocr
    return keep


def first_k(candidates: Callable[[int], list[Hit]], k: int, n: int, want: int,
            keep: np.ndarray | None = None,
            fold: Callable[[list[Hit]], list[Hit]] = ranked_hits) -> list[Hit]:
    """The k best candidates that pass `keep`, after `fold` (e.g. collapsing exact copies).

    Asks `candidates(want)` for the ranked top `want`, scaled up by how rare passing items are,
    and doubles it until k pass or all n were seen; results are re-ranked 1..k.
    """
    if keep is not None:
        passing = int(keep.sum())
        if passing == 0:
            return []
        want = math.ceil(want * n / passing * 1.2)
    want = max(1, min(n, want))
    while True:
        hits = candidates(want)
        if keep is not None:
            hits = [h for h in hits if keep[h.id]]
        out = fold(hits)
        if len(out) >= k or want >= n:
            return ranked_hits(out[:k])
        want = min(n, want * 2)


def exact_over_passing(index: Index, keep: np.ndarray | None, method: Method = "auto") -> bool:
    """Whether to rank the passing items exactly: a filter leaves few enough of them
    (`EXACT_BELOW`, where exact search is as fast as ANN) and the search would be approximate."""
    return (keep is not None and int(keep.sum()) < search_mod.EXACT_BELOW
            and search_mod.approximate(index, method))


def filtered_first_k(index: Index, vec: np.ndarray, k: int, want: int,
                     keep: np.ndarray | None, exclude=frozenset(), method: Method = "auto",
                     search_k: int | None = None,
                     fold: Callable[[list[Hit]], list[Hit]] = ranked_hits) -> list[Hit]:
    """`first_k` over the index's ranking of `vec`: exact over the passing items where
    `exact_over_passing`, else the search's candidates with the filter applied after ranking."""
    if exact_over_passing(index, keep, method):
        ids = np.flatnonzero(keep)
        if exclude:
            ids = ids[~np.isin(ids, np.fromiter(exclude, np.int64))]
        rows = index.embeddings[ids]  # fetched once, however often first_k asks for more
        return first_k(lambda m: rows_top_k(rows, ids, vec, m), k, len(ids), want,
                       fold=fold)
    return first_k(lambda m: search_vector(index, vec, m, exclude, method, search_k),
                   k, index.n, want, keep, fold)


def filtered_search(index: Index, vec: np.ndarray, k: int, keep: np.ndarray | None,
                    exclude=frozenset(), method: Method = "auto",
                    search_k: int | None = None) -> list[Hit]:
    """`search_vector` restricted to the items `keep` passes (the CLI's search)."""
    return filtered_first_k(index, vec, k, k + len(exclude), keep, exclude, method, search_k)
