"""Process-wide caches: every index, model, thumbnail and query result is computed once.

`st.cache_resource` holds the heavy shared objects (indexes, encoders), `st.cache_data` the small
derived bytes and results, so a rerun or a second visitor never reloads or re-encodes anything.
Callers pass index *names* that came from the scanned list; paths are resolved here.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.encoders.base import Encoder
from core.encoders.registry import load_encoder
from core.index.catalogue import IndexEntry, indexes_root, scan_indexes
from core.index.store import Index, load_index
from core.index.thumbs import preview_jpeg, tile_jpeg, upload_preview_jpeg
from core.ingest.images import ImageProblem, open_image
from core.paths import REPO_ROOT
from core.query.compare import Hits  # (id, cosine, duplicate ids) in rank order
from core.query.duplicates import search_collapsed
from core.query.search import Hit, Query

MAX_UPLOAD_MB = 20
MAX_UPLOAD_PIXELS = 40_000_000



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


@st.cache_data(max_entries=5000, show_spinner=False)
def tile(thumb: str) -> bytes:
    return tile_jpeg(Path(thumb))


@st.cache_data(max_entries=64, show_spinner=False)
def preview(original: str, thumb: str) -> tuple[bytes, bool]:
    return preview_jpeg(Path(original), Path(thumb))


@st.cache_data(max_entries=32, show_spinner=False)
def upload_preview(data: bytes) -> bytes:
    """Raises ImageProblem for a file that is not a usable image."""
    if len(data) > MAX_UPLOAD_MB * 1024 * 1024:
        raise ImageProblem(f"the file is larger than {MAX_UPLOAD_MB} MB")
    return upload_preview_jpeg(data, MAX_UPLOAD_PIXELS)


def _hits(index: Index, found: list[Hit]) -> Hits:
    return [(h.id, h.score, list(h.duplicates)) for h in found]


@st.cache_data(max_entries=512, show_spinner=False)
def _text_search(path: str, stamp: float, text: str, k: int, negative: str = "",
                negative_weight: float = 1.0, like: int | None = None,
                like_weight: float = 1.0) -> Hits:
    """A combined text query; repeated and shared queries come straight from this cache."""
    index = _index(path, stamp)
    query = Query(texts=[(text, 1.0)] if text else [],
                  negative_texts=[(negative, negative_weight)] if negative else [],
                  image_ids=[(like, like_weight)] if like is not None else [])
    needs_model = bool(text or negative)
    encoder = get_encoder(index.spec) if needs_model else None
    return _hits(index, search_collapsed(encoder, index, query, k))


@st.cache_data(max_entries=512, show_spinner=False)
def _id_search(path: str, stamp: float, image_id: int, k: int) -> Hits:
    """Neighbours of a gallery image, from its stored embedding (no model needed)."""
    index = _index(path, stamp)
    return _hits(index, search_collapsed(None, index, Query.image_id(image_id), k))


@st.cache_data(max_entries=32, show_spinner=False)
def _upload_search(path: str, stamp: float, data: bytes, k: int) -> Hits:
    if len(data) > MAX_UPLOAD_MB * 1024 * 1024:
        raise ImageProblem(f"the file is larger than {MAX_UPLOAD_MB} MB")
    img, _ = open_image(data, max_pixels=MAX_UPLOAD_PIXELS)
    index = _index(path, stamp)
    encoder = get_encoder(index.spec)
    return _hits(index, search_collapsed(encoder, index, Query(images=[(img, 1.0)]), k))


def text_search(entry: IndexEntry, text: str, k: int, negative: str = "",
                negative_weight: float = 1.0, like: int | None = None,
                like_weight: float = 1.0) -> Hits:
    """A combined text query (rclip-style); raises UserError for what the model cannot take."""
    return _text_search(str(entry.path), entry.stamp, text, k, negative, negative_weight, like,
                        like_weight)


def id_search(entry: IndexEntry, image_id: int, k: int) -> Hits:
    return _id_search(str(entry.path), entry.stamp, image_id, k)


def upload_search(entry: IndexEntry, data: bytes, k: int) -> Hits:
    """Neighbours of an uploaded image; raises ImageProblem for a file that is not an image."""
    return _upload_search(str(entry.path), entry.stamp, data, k)
