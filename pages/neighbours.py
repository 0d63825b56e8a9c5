"""Image neighbours: the images most similar to a gallery image or to an uploaded one."""

from __future__ import annotations

import random

import streamlit as st

from app_support import grid, loaders, result_tools, state, uploads
from app_support.bootstrap import leave_legacy_multipage
from app_support.paging import page_count, page_ids
from app_support.params import parse_id, parse_int

leave_legacy_multipage()

PAGE = "neighbours"
DEFAULT_K = 15
K_MAX = 100
BROWSE = 15
GALLERY, UPLOAD = "Gallery image", "Upload an image"
PICKER = "nb.picker"  # the picker expander's open state

st.title("Image neighbours")
st.caption("Start from an image of the collection, or upload one, to see the most similar "
           "images. Click **Neighbours** under a result to continue from it.")

entry, index = state.require_index()
for key, value in {"nb.source": GALLERY, "nb.id": 0, "nb.k": DEFAULT_K, "nb.page": 1}.items():
    st.session_state.setdefault(key, value)
url = state.url_params_once()
if url.get("id") is not None:
    st.session_state["nb.id"] = parse_id(url.get("id"), index.n) or 0
    st.session_state["nb.source"] = GALLERY
if url.get("k") is not None:
    st.session_state["nb.k"] = parse_int(url.get("k"), DEFAULT_K, 1, K_MAX)
if url:
    result_tools.filters_from_url(url, entry, PAGE)
seed = st.session_state.pop(state.SEED_KEY, None)
if seed is not None:
    found = loaders.hash_to_id(entry).get(seed)
    if found is None:
        st.info("That image is not in the selected index.")
    else:
        st.session_state["nb.id"], st.session_state["nb.source"] = found, GALLERY
if parse_id(st.session_state["nb.id"], index.n) is None:
    st.session_state["nb.id"] = 0


def _use(i: int) -> None:
    """Image `i` becomes the query. The picker closes, so the query and its results show right
    under the controls, not below a page of thumbnails where "Use" seemed to do nothing."""
    st.session_state["nb.id"] = int(i)
    st.session_state["nb.source"] = GALLERY
    st.session_state[PICKER] = False


def _random() -> None:
    _use(random.randrange(index.n))


source = st.radio("Start from", [GALLERY, UPLOAD], key="nb.source", horizontal=True,
                  persist_state="session", label_visibility="collapsed")
c_id, c_rand, c_k = st.columns([2, 1, 1], vertical_alignment="bottom")
k = int(c_k.number_input("Results", 1, K_MAX, key="nb.k", persist_state="session"))
hits: loaders.Hits | None = None
query_image: bytes | None = None
query_label = ""

if source == GALLERY:
    image_id = int(c_id.number_input(f"Image id (0–{index.n - 1})", 0, index.n - 1, step=1,
                                     key="nb.id", persist_state="session"))
    c_rand.button("Random image", icon=":material/casino:", on_click=_random, width="stretch")
    picker = st.expander("Pick an image from the collection", key=PICKER, on_change="rerun")
    if picker.open:  # its thumbnails are drawn only while it is open
        with picker:
            pages = page_count(index.n, BROWSE)
            st.session_state["nb.page"] = min(max(1, int(st.session_state["nb.page"])), pages)
            page_no = st.number_input(f"Page (1–{pages})", 1, pages, key="nb.page")
            cells = [(i, f"{i} · {grid.short_name(index, i)}")
                     for i in page_ids(index.n, int(page_no), BROWSE)]
            grid.grid(index, cells, key="nb.browse", action=_use, action_label="Use",
                      action_icon=":material/check:")
# under the picker: it chooses the query, the filters what may answer it
with st.expander("Filters and similarity cut-off", expanded=result_tools.filters_active(PAGE)):
    filters = result_tools.filter_controls(entry, PAGE)
    minimum = result_tools.cutoff_control(PAGE, calibrated=False)
if source == GALLERY:
    query_image = loaders.tile(index, image_id)
    query_label = f"Image {image_id} · `{index.items.at[image_id, 'rel_path']}`"
    with state.user_errors():
        hits = loaders.id_search(entry, image_id, k, filters)
elif not entry.can_image:
    st.info(f"The **{entry.name}** index ({entry.family}) embeds images from their captions, so "
            "it cannot take an uploaded image: start from a gallery image. "
            + state.indexes_that_can(image=True), icon=":material/info:")
else:
    query_image, hits = uploads.uploaded_query(
        c_id, "nb.upload", "Upload a photo or drawing to find the closest images.",
        lambda up: loaders.upload_search(entry, up, k, filters))
    query_label = "Your upload (used only for this search; nothing is stored)"

if query_image is not None and hits is not None:
    state.random_weights_banner(entry)
    found = len(hits)
    hits, _ = result_tools.cut(hits, None, minimum)
    left, right = st.columns([1, 4], gap="medium")
    with left:
        st.markdown("**Query**")
        st.image(query_image, width="stretch")
        st.caption(query_label)
        if source == GALLERY:
            st.button("Details", icon=":material/zoom_in:", key="nb.query_detail",
                      on_click=grid.open_detail(PAGE, entry.name), args=(image_id,))
    with right:
        st.markdown(f"**{len(hits)} nearest images** · score = cosine similarity"
                    + (f" · filtered: {filters.describe()}" if filters.active() else "")
                    + (f" · {found - len(hits)} below the cut-off hidden" if found > len(hits)
                       else ""))
        if not hits and (filters.active() or minimum > 0):
            st.info("No image passes the filters and the cut-off: loosen them.",
                    icon=":material/filter_alt_off:")
        grid.grid(index, grid.hit_cells(index, hits, cosine=True), key="nb.results", action=_use,
                  action_label="Neighbours", action_icon=":material/arrow_forward:", columns=5)

state.sync_url(id=st.session_state["nb.id"] if source == GALLERY else None, k=k,
               **result_tools.filter_params(filters, minimum, calibrated=False))
grid.show_detail_if_open(PAGE)
