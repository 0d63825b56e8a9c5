"""Process-wide caches: every index, model, thumbnail and query result is computed once.

`st.cache_resource` holds the heavy shared objects (indexes, encoders), `st.cache_data` the small
derived bytes and results, so a rerun or a second visitor never reloads or re-encodes anything.
Callers pass index *names* that came from the scanned list; paths are resolved here.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from PIL import Image

from core.encoders.base import Encoder
from core.encoders.registry import load_encoder
from core.encoders.runtime import serve_many
from core.index.catalogue import IndexEntry, indexes_root, scan_indexes
from core.index.fingerprint import encoder_for
from core.index.store import Index, load_index
from core.index.thumbs import preview_jpeg, tile_jpeg
from core.ingest.sidecar import SIDECAR_NAME
from core.paths import REPO_ROOT
from core.query.captionbank import CaptionBank, caption_bank_for
from core.query.compare import Hits  # (id, cosine, duplicate ids) in rank order
from core.query.duplicates import (
    near_groups,
    pixel_signatures,
    search_collapsed,
    vector_collapsed,
)
from core.query.filters import NO_FILTERS, Filters, item_facts, keep_mask
from core.query.search import Hit, Query
from core.query.stored_texts import text_vectors_for
from core.query.upload import MAX_UPLOAD_MB, Upload, decode_upload

__all__ = ["MAX_UPLOAD_MB", "Upload"]
serve_many()  # one process serves every visitor (core.encoders.runtime)

def root() -> Path:
    return indexes_root(REPO_ROOT)


@st.cache_data(ttl=15, show_spinner=False)
def scan(folder: str) -> list[IndexEntry]:
    """The available indexes (manifests only); refreshed every few seconds for new builds."""
    return scan_indexes(Path(folder))


def entries() -> list[IndexEntry]:
    return scan(str(root()))


@st.cache_resource(max_entries=8, show_spinner="Opening the index…")
def _index(path: str, stamp: float) -> Index:
    return load_index(path)


def get_index(entry: IndexEntry) -> Index:
    return _index(str(entry.path), entry.stamp)


@st.cache_resource(max_entries=6, show_spinner="Loading the model (first query only)…")
def get_encoder(spec: str) -> Encoder:
    return load_encoder(spec)


@st.cache_resource(max_entries=8, show_spinner=False)
def _hash_to_id(path: str, stamp: float) -> dict[str, int]:
    items = _index(path, stamp).items
    return {h: i for i, h in reversed(list(enumerate(items["hash"])))}


def hash_to_id(entry: IndexEntry) -> dict[str, int]:
    """Content hash -> first gallery id, to match the same image across indexes."""
    return _hash_to_id(str(entry.path), entry.stamp)


def hashes(entry: IndexEntry) -> frozenset[str]:
    """The content hashes an index holds (to check two indexes cover the same images)."""
    return frozenset(hash_to_id(entry))


@st.cache_data(max_entries=4, show_spinner=False)
def text_file(path: str, stamp: float) -> str:
    return Path(path).read_text(encoding="utf-8")


def _opt(path: Path | None) -> str:
    return "" if path is None else str(path)


@st.cache_data(max_entries=5000, show_spinner=False)
def _tile(thumb: str) -> bytes:
    return tile_jpeg(Path(thumb) if thumb else None)


@st.cache_data(max_entries=64, show_spinner=False)
def _preview(original: str, thumb: str) -> tuple[bytes, bool]:
    return preview_jpeg(Path(original) if original else None, Path(thumb) if thumb else None)


def tile(index: Index, i: int) -> bytes:
    """Image i's square grid tile, from the index's own thumbnail."""
    return _tile(_opt(index.thumb_path(i)))


def preview(index: Index, i: int) -> tuple[bytes, bool]:
    """(JPEG for the detail view, whether it is the original): only originals under the index's
    roots are opened (`Index.original_path`); others show the thumbnail."""
    return _preview(_opt(index.original_path(i)), _opt(index.thumb_path(i)))


@st.cache_data(max_entries=8, show_spinner=False)
def upload(data: bytes) -> Upload:
    """Decoded once per file for both the preview and the query; raises ImageProblem for a file
    that is not a usable image. Few entries: each holds a 1024 px image."""
    return decode_upload(data)


def _hits(index: Index, found: list[Hit]) -> Hits:
    return [(h.id, h.score, list(h.duplicates)) for h in found]


@st.cache_resource(max_entries=8, show_spinner="Reading the dates the photos were taken…")
def _facts(path: str, stamp: float, read_dates: bool = True):
    return item_facts(_index(path, stamp), read_dates)


def facts(entry: IndexEntry, read_dates: bool = True):
    """Per-item facts the filters test (core.query.filters.item_facts), once per index;
    `read_dates=False`: an index built without dates does not open its files for them."""
    return _facts(str(entry.path), entry.stamp, read_dates)


@st.cache_resource(max_entries=8, show_spinner="Reading the thumbnails' pixels…")
def _signatures(path: str, stamp: float):
    return pixel_signatures(_index(path, stamp))


@st.cache_resource(max_entries=16, show_spinner="Finding near-duplicates…")
def _near(path: str, stamp: float, threshold: float, source: str) -> list[list[int]]:
    vectors = (_signatures(path, stamp) if source == "pixels"
               else _index(path, stamp).embeddings)
    return near_groups(vectors, threshold)


def near(entry: IndexEntry, threshold: float, source: str = "pixels") -> list[list[int]]:
    """Near-duplicate groups of an index at a cosine threshold over its thumbnails' pixels or
    its embeddings (core.query.duplicates), computed once per threshold."""
    return _near(str(entry.path), entry.stamp, round(float(threshold), 3), source)


@st.cache_data(max_entries=512, show_spinner=False)
def _text_search(path: str, stamp: float, text: str, k: int, negative: str = "",
                negative_weight: float = 1.0, like: int | None = None,
                like_weight: float = 1.0, filters: Filters = NO_FILTERS) -> Hits:
    """A combined text query; repeated and shared queries come straight from this cache."""
    index = _index(path, stamp)
    query = Query(texts=[(text, 1.0)] if text else [],
                  negative_texts=[(negative, negative_weight)] if negative else [],
                  image_ids=[(like, like_weight)] if like is not None else [])
    needs_model = bool(text or negative)
    encoder = encoder_for(index, get_encoder) if needs_model else None
    return _hits(index, search_collapsed(encoder, index, query, k, _keep(path, stamp, filters)))


def _keep(path: str, stamp: float, filters: Filters):
    """The filters' mask over the index (None: no filter); dates are read only when asked."""
    if not filters.active():
        return None
    dated = filters.taken_from is not None or filters.taken_to is not None
    return keep_mask(_facts(path, stamp, dated), filters)


@st.cache_data(max_entries=64, show_spinner=False)
def _text_batch(path: str, stamp: float, texts: tuple[str, ...], k: int) -> list[Hits]:
    """A review's query set on one index, cached as a whole: the texts' vectors stored with the
    index (the shipped sets, by the demo step), else encoded in one batch."""
    index = _index(path, stamp)
    vectors = text_vectors_for(index, texts, lambda: encoder_for(index, get_encoder))
    return [_hits(index, vector_collapsed(index, vec, k)) for vec in vectors]


def text_batch(entry: IndexEntry, texts: tuple[str, ...], k: int) -> list[Hits]:
    return _text_batch(str(entry.path), entry.stamp, texts, k)


@st.cache_data(max_entries=512, show_spinner=False)
def _id_search(path: str, stamp: float, image_id: int, k: int,
               filters: Filters = NO_FILTERS) -> Hits:
    """Neighbours of a gallery image, from its stored embedding (no model needed)."""
    index = _index(path, stamp)
    return _hits(index, search_collapsed(None, index, Query.image_id(image_id), k,
                                         _keep(path, stamp, filters)))


@st.cache_data(max_entries=32, show_spinner=False)
def _upload_search(path: str, stamp: float, digest: str, k: int, _image: Image.Image,
                   filters: Filters = NO_FILTERS) -> Hits:
    """Keyed by the upload's digest; the decoded image itself is not hashed (`_image`)."""
    index = _index(path, stamp)
    encoder = encoder_for(index, get_encoder)
    return _hits(index, search_collapsed(encoder, index, Query(images=[(_image, 1.0)]), k,
                                         _keep(path, stamp, filters)))


def text_search(entry: IndexEntry, text: str, k: int, negative: str = "",
                negative_weight: float = 1.0, like: int | None = None,
                like_weight: float = 1.0, filters: Filters = NO_FILTERS) -> Hits:
    """A combined text query (rclip-style), filtered after ranking; raises UserError for what
    the model cannot take."""
    return _text_search(str(entry.path), entry.stamp, text, k, negative, negative_weight, like,
                        like_weight, filters)


def id_search(entry: IndexEntry, image_id: int, k: int, filters: Filters = NO_FILTERS) -> Hits:
    return _id_search(str(entry.path), entry.stamp, image_id, k, filters)


def upload_search(entry: IndexEntry, up: Upload, k: int, filters: Filters = NO_FILTERS) -> Hits:
    """Neighbours of an uploaded image (already decoded by `upload`)."""
    return _upload_search(str(entry.path), entry.stamp, up.digest, k, up.image, filters)


BANKS_KEPT = 12  # caption banks held in memory (a few MB each on the demo)


@st.cache_resource(show_spinner=False)
def _banks() -> dict[tuple, CaptionBank]:
    """One dict for the process: every session shares the banks (like st.cache_resource)."""
    return {}


def caption_banks(entry: IndexEntry, folders: list[Path], split: str | None
                  ) -> list[CaptionBank]:
    """The sets' caption banks in the index's model space: from memory, else from the index's
    cache (stored by `python -m core demo`: no model needed), else embedded here with a progress
    bar (model loading, then captions done of total) that goes away when done."""
    index = get_index(entry)
    banks, memo, bar = [], _banks(), None

    def load() -> Encoder:
        nonlocal bar
        if bar is None:
            bar = st.progress(0.0, text="Loading the model to embed the captions (once)…")
        return encoder_for(index, get_encoder)

    for folder in folders:
        sidecar = folder / SIDECAR_NAME
        key = (str(index.files), str(folder), sidecar.stat().st_mtime if sidecar.is_file()
               else 0.0, split)
        if key not in memo:
            def show(_phase: str, done: int, total: int, name: str = folder.name) -> None:
                if bar is not None:
                    bar.progress(done / max(total, 1), text=f"Embedding the captions of "
                                 f"*{name}* (once per server): {done} of {total}…")

            memo[key] = caption_bank_for(index, folder, split, load, show)
            while len(memo) > BANKS_KEPT:
                memo.pop(next(iter(memo)))
        banks.append(memo[key])
    if bar is not None:
        bar.empty()
    return banks
