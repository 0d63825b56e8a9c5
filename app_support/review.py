"""The review page's session: its marks, the query set it reviews, the cached searches it runs
through, the compact view's strips and the keyboard cursor.

Marks live in the session only (downloaded and uploaded as JSON by the reviewer; nothing is
ever written into an index). A mark is keyed by (query key, content hash), so marking an image
under one variant marks it under every variant that shows it.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import streamlit as st
from PIL import Image, ImageOps

from app_support import loaders
from core.errors import UserError
from core.eval import query_set
from core.eval.review import Review, Shown
from core.eval.review_marks import MarkKey, read_marks
from core.index.catalogue import IndexEntry
from core.index.store import Index
from core.ingest.images import ImageProblem
from core.query.compare import Hits
from core.query.upload import Upload

MARKS_KEY = "rev.marks"
NOTICE_KEY, ERROR_KEY, UPLOAD_NO = "rev.notice", "rev.marks_error", "rev.marks_upload_no"
QUERY_NO, CURSOR = "rev.qno", "rev.cursor"  # the query shown, and (variant, rank) under keys
VIEW_KEY, FULL = "rev.view", "full"
STRIP_PX = 56
BORDER = {True: (26, 127, 55), False: (207, 34, 46), None: (208, 215, 222)}
WORD = {True: "relevant", False: "not relevant", None: "unmarked"}


class CachedSearcher:
    """core.eval.review's Searcher through the app's caches: a query already asked on any page
    (or by another visitor) is not searched again."""

    def texts(self, entry: IndexEntry, texts: list[str], k: int) -> list[Hits]:
        return loaders.text_batch(entry, tuple(texts), k) if texts else []

    def image(self, entry: IndexEntry, image_id: int, k: int) -> Hits:
        return loaders.id_search(entry, image_id, k)

    def upload(self, entry: IndexEntry, up: Upload, k: int) -> Hits:
        return loaders.upload_search(entry, up, k)

    def hash_to_id(self, entry: IndexEntry) -> Mapping[str, int]:
        return loaders.hash_to_id(entry)


def marks() -> dict[MarkKey, bool]:
    return st.session_state.setdefault(MARKS_KEY, {})


def set_mark(query: str, digest: str, relevant: bool | None) -> None:
    """Button callback: mark, or clear with None (a second click on the same mark clears it)."""
    current = marks()
    if relevant is None or current.get((query, digest)) is relevant:
        current.pop((query, digest), None)
    else:
        current[(query, digest)] = relevant


def import_marks(widget: str) -> None:
    """Uploader callback: the file's marks join the session's (the file wins on a conflict)."""
    upload = st.session_state.get(widget)
    if upload is None:
        return
    try:
        loaded = read_marks(upload.getvalue())
    except UserError as e:
        st.session_state[ERROR_KEY] = f"“{upload.name[:80]}” cannot be used: {e}"
        return
    marks().update(loaded)
    st.session_state[NOTICE_KEY] = f"Loaded {len(loaded)} marks from “{upload.name[:80]}”."
    st.session_state[UPLOAD_NO] = st.session_state.get(UPLOAD_NO, 0) + 1  # empty the uploader


@st.cache_data(max_entries=16, show_spinner=False)
def shipped_specs(name: str) -> list[query_set.QuerySpec]:
    return query_set.read_file(query_set.shipped_sets()[name])


def query_specs(source: str, demo: str | None, typed: str, upload: object | None
                ) -> list[query_set.QuerySpec]:
    """The query set from the chosen source; raises UserError with the reason."""
    if source == "demo":
        if demo not in query_set.shipped_sets():
            raise UserError("pick one of the shipped query sets")
        return shipped_specs(str(demo))
    if source == "upload":
        if upload is None:
            raise UserError("upload a .txt (one query per line) or .jsonl query set")
        return query_set.parse_file(upload.name, upload.getvalue())
    return query_set.parse_lines(typed)


def _strip(tiles: tuple[bytes, ...], states: tuple[bool | None, ...]) -> bytes:
    """One JPEG of a top-k list: small tiles side by side, each framed by its mark's colour."""
    out = Image.new("RGB", (len(tiles) * (STRIP_PX + 2), STRIP_PX + 2), (255, 255, 255))
    for n, (data, state) in enumerate(zip(tiles, states, strict=True)):
        with Image.open(io.BytesIO(data)) as img:
            img.draft("RGB", (STRIP_PX, STRIP_PX))  # decode the JPEG at 1/4 scale: 4x faster
            small = img.convert("RGB").resize((STRIP_PX - 6, STRIP_PX - 6))
        framed = ImageOps.expand(small, border=3, fill=BORDER[state])
        out.paste(framed, (n * (STRIP_PX + 2) + 1, 1))
    buf = io.BytesIO()
    out.save(buf, "JPEG", quality=80)
    return buf.getvalue()


_cached_strip = st.cache_data(max_entries=2000, show_spinner=False)(_strip)


def strip(index: Index, shown: list[Shown], states: list[bool | None]) -> bytes:
    """The compact view's row for one variant and query (cached by tiles and marks)."""
    return _cached_strip(tuple(loaders.tile(index, r.id) for r in shown), tuple(states))


def query_number(n: int) -> int:
    """The shown query, kept inside 0..n-1 (a smaller set after a change of query set)."""
    qno = min(max(0, int(st.session_state.get(QUERY_NO, 0))), max(0, n - 1))
    st.session_state[QUERY_NO] = qno
    return qno


def go_query(no: int, n: int) -> None:
    """Callback of the query navigation buttons and the compact view's "Mark" buttons."""
    st.session_state[QUERY_NO] = min(max(0, no), max(0, n - 1))
    st.session_state[CURSOR] = (0, 0)


def open_query(no: int, n: int) -> None:
    """The compact view's "Mark" button: that query, in the one-query view with its buttons."""
    go_query(no, n)
    st.session_state[VIEW_KEY] = FULL


def cursor(review: Review, query: str) -> tuple[int, int]:
    """(variant column, rank) of the result the keys act on, kept on a shown result."""
    col, rank = st.session_state.get(CURSOR, (0, 0))
    col = min(max(0, col), len(review.variants) - 1)
    shown = review.shown(query, review.variants[col]) or []
    rank = min(max(0, rank), max(0, len(shown) - 1))
    st.session_state[CURSOR] = (col, rank)
    return col, rank


def move_cursor(review: Review, query: str, step: int) -> None:
    """Down/Up: the next/previous result in reading order (rank by rank, across variants)."""
    cells = [(c, r) for r in range(review.k) for c, v in enumerate(review.variants)
             if r < len(review.shown(query, v) or [])]
    if not cells:
        return
    at = cells.index(cursor(review, query)) if cursor(review, query) in cells else 0
    st.session_state[CURSOR] = cells[(at + step) % len(cells)]


def mark_cursor(review: Review, query: str, relevant: bool | None) -> None:
    """Y / N / U: mark (or clear) the result under the cursor, then move to the next one."""
    col, rank = cursor(review, query)
    shown = review.shown(query, review.variants[col]) or []
    if rank < len(shown):
        digest = shown[rank].hash
        if relevant is None:
            marks().pop((query, digest), None)
        else:
            marks()[(query, digest)] = relevant
        move_cursor(review, query, 1)


def image_uploads(files: list) -> list[tuple[str, Upload]]:
    """(name, decoded image) per uploaded query image; a file that is not a usable image is
    a UserError naming it (the page shows it instead of the review)."""
    out = []
    for f in files:
        try:
            out.append((f.name, loaders.upload(f.getvalue())))
        except ImageProblem as e:
            raise UserError(f"“{f.name[:80]}” cannot be used as a query: {e}") from e
    return out
