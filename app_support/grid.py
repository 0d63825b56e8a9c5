"""Thumbnail grids and the large-image detail dialog, the same on every page.

Grids only ever show the index's own square-padded thumbnails (never the originals); the detail
view opens the original, downscaled, falling back to the thumbnail when the file has moved.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from app_support import keyboard, loaders, state
from app_support.paging import chunk
from core.index.items import labels, ocr_text, short_name
from core.index.store import Index
from core.query.calibration import THRESHOLD, strong_count

COLUMNS = 5
DETAIL_KEY = "app.detail"

Cell = tuple[int, str]  # (gallery id, caption)
__all__ = ["Cell", "grid", "hit_cells", "hit_notes", "open_detail", "ranked_grid", "short_name",
           "show_detail_if_open"]
FILE_CHARS = 1000  # the alt text carries the whole file name


def hit_cells(index: Index, hits: loaders.Hits, marks: dict[int, str] | None = None,
              relevance: Sequence[float] | None = None, cosine: bool = False,
              near: dict[int, list[int]] | None = None) -> list[Cell]:
    """Captions: rank, then the calibrated relevance when the variant has a curve (or the raw
    cosine where only one scale is on screen, `cosine=True`; else ranks only), the image's
    description, how many exact copies were folded into this one, and how many near-duplicates
    it has in the index (`near`: core.query.duplicates.near_of), exact copies not counted."""
    cells = []
    names = labels(index, [i for i, _, _ in hits])
    for rank, (i, score, dups) in enumerate(hits, 1):
        parts = [f"{(marks or {}).get(i, '')}#{rank}"]
        if relevance is not None:
            parts.append(f"{relevance[rank - 1]:.0%}")
        elif cosine:
            parts.append(f"{score:.3f}")
        parts.append(names[rank - 1])
        if dups:
            parts.append(f"×{len(dups) + 1} copies")
        others = [j for j in (near or {}).get(i, []) if j not in dups]
        if others:
            parts.append(f"+{len(others)} near-duplicate{'s' if len(others) > 1 else ''}")
        cells.append((i, " · ".join(parts)))
    return cells


def hit_notes(hits: loaders.Hits, relevance: Sequence[float] | None = None) -> dict[int, str]:
    """The detail view's line per result: rank, raw cosine, and the relevance when calibrated
    (the numbers a grid caption leaves out)."""
    return {i: f"Rank {rank} · cosine {score:.3f}"
               + (f" · {relevance[rank - 1]:.0%} likely relevant" if relevance is not None else "")
            for rank, (i, score, _) in enumerate(hits, 1)}


def ranked_grid(index: Index, cells: list[Cell], relevance: Sequence[float] | None, key: str,
                action: Callable[[int], None], columns: int = COLUMNS) -> int:
    """A result grid with a cut-off line where the calibrated relevance drops below THRESHOLD
    (one plain grid without a curve); returns how many results are above the line."""
    strong = len(cells) if relevance is None else strong_count(relevance)
    if strong:
        grid(index, cells[:strong], key, action, columns=columns)
    if strong < len(cells):
        st.divider()
        st.caption(f"Below the line: less than {THRESHOLD:.0%} likely to be relevant.")
        grid(index, cells[strong:], key, action, columns=columns)
    return strong


def grid(index: Index, cells: list[Cell], key: str, action: Callable[[int], None],
         action_label: str = "View", columns: int = COLUMNS,
         action_icon: str = ":material/zoom_in:") -> None:
    """Rows of fixed-size tiles, each with a caption and one button that calls `action(id)`;
    the arrow keys move between the buttons (app_support.keyboard), Enter presses one."""
    if not cells:
        st.info("No images to show.")
        return
    with st.container(key=keyboard.tiles_key(key, [i for i, _ in cells])):
        for row_no, row in enumerate(chunk(cells, columns)):
            cols = st.columns(columns, gap="small")
            for col, (i, caption) in zip(cols, row, strict=False):
                with col:
                    st.image(loaders.tile(index, i), caption=caption, width="stretch",
                             alt=f"{caption} · {short_name(index, i, FILE_CHARS)}")
                    st.button(action_label, key=f"{key}.{row_no}.{i}", on_click=action,
                              args=(i,), icon=action_icon, type="tertiary", help=f"image {i}")
        keyboard.enable()


def open_detail(page: str, entry_name: str, note: dict[int, str] | None = None,
                more_like_key: str | None = None,
                near: dict[int, list[int]] | None = None) -> Callable[[int], None]:
    """An `action` for `grid` that opens the detail dialog for an image on this page (`near`:
    each image's near-duplicates, listed in the dialog)."""
    def action(i: int) -> None:
        st.session_state[DETAIL_KEY] = {"page": page, "index": entry_name, "id": int(i),
                                        "note": (note or {}).get(i, ""),
                                        "more_like_key": more_like_key,
                                        "near": list((near or {}).get(i, []))}
    return action


def _close_detail() -> None:
    st.session_state.pop(DETAIL_KEY, None)


def show_detail_if_open(page: str) -> None:
    """Call at the end of a page: reopens the dialog on reruns until it is dismissed."""
    detail = st.session_state.get(DETAIL_KEY)
    if not detail or detail.get("page") != page:
        return
    entry = state.entry_by_name(detail["index"])
    if entry is None:
        _close_detail()
        return
    index = loaders.get_index(entry)
    if not 0 <= detail["id"] < index.n:
        _close_detail()
        return
    _detail_dialog(entry.name, index, detail)


@st.dialog("Image details", width="large", on_dismiss=_close_detail)
def _detail_dialog(entry_name: str, index: Index, detail: dict) -> None:
    i = int(detail["id"])
    item = index.item(i)
    left, right = st.columns([3, 2], gap="medium")
    with left:
        data, original = loaders.preview(index, i)
        st.image(data, width="stretch")
        if not original:
            st.caption("The original file is not available; showing the thumbnail.")
    with right:
        st.markdown(f"**`{item['rel_path']}`**")
        if detail.get("note"):
            st.caption(detail["note"])
        st.markdown(f"Image {i} · {item['width']}×{item['height']} px")
        texts = item["texts"]
        if texts:
            st.markdown("**Descriptions**\n" + "\n".join(f"- {t}" for t in texts[:8]))
        if found := ocr_text(index, i):  # read by the build's OCR, shown as plain text
            st.markdown("**Text in the image**")
            st.text(found)
        for label, field in (("Licence", "licence"), ("Source", "source"),
                             ("Credit", "attribution"), ("Category", "category")):
            if item.get(field):
                st.markdown(f"**{label}:** {item[field]}")
        copies = [d for d in index.duplicates.get(str(item["hash"]), []) if d != i]
        if copies:
            st.markdown("**Exact copies:** " + ", ".join(
                f"`{index.items.at[d, 'rel_path']}`" for d in copies[:10]))
        near = [d for d in detail.get("near", []) if d not in copies and 0 <= d < index.n]
        if near:
            st.markdown("**Near-duplicates:** " + ", ".join(
                f"`{index.items.at[d, 'rel_path']}` (#{d})" for d in near[:10]))
        if st.button("Find similar images", icon=":material/image_search:", type="primary",
                     key="detail.similar"):
            st.session_state[state.SEED_KEY] = str(item["hash"])
            _close_detail()
            st.switch_page(state.NEIGHBOURS_PAGE)
        key = detail.get("more_like_key")
        if key and st.button("Add to the query as “more like this”", icon=":material/add:",
                             key="detail.more_like"):
            state.queue_value(key, i)
            _close_detail()
            st.rerun()
