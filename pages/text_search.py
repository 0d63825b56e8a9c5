"""Text search: describe an image in words, optionally minus a phrase and plus "more like this"."""

from __future__ import annotations

from time import perf_counter

import streamlit as st

from app_support import grid, loaders, result_tools, state
from app_support.bootstrap import leave_legacy_multipage
from app_support.params import clean_text, parse_float, parse_id, parse_int
from core.query.calibration import THRESHOLD, load_curves, relevance

leave_legacy_multipage()

PAGE = "text"
DEFAULT_K = 20
K_MAX = 100
DEFAULTS = {"text.q": "", "text.k": DEFAULT_K, "text.neg": "", "text.neg_w": 1.0,
            "text.like": None, "text.like_w": 1.0}
EXAMPLES = ("a cat", "a red motorcycle", "a cup of coffee", "the night sky", "a flower")

st.title("Text search")
st.caption("Describe what you are looking for. Results are ranked by cosine similarity between "
           "your words and each image in the selected index; where the index's model has a "
           "fitted relevance curve, each result shows how likely it is to be relevant.")

entry, index = state.require_index()
if not entry.can_text:
    st.info(f"The **{entry.name}** index ({entry.family}) embeds images only, so it cannot "
            "answer text queries: search by example image instead. "
            + state.indexes_that_can(text=True), icon=":material/info:")
    st.page_link(state.NEIGHBOURS_PAGE, label="Image neighbours", icon=":material/image_search:")
    state.sync_url()
    grid.show_detail_if_open(PAGE)
    st.stop()

url = state.url_params_once()
if url:
    st.session_state["text.q"] = clean_text(url.get("q"))
    st.session_state["text.k"] = parse_int(url.get("k"), DEFAULT_K, 1, K_MAX)
    st.session_state["text.neg"] = clean_text(url.get("neg"))
    st.session_state["text.neg_w"] = parse_float(url.get("nw"), 1.0, 0.0, 2.0)
    st.session_state["text.like"] = parse_id(url.get("like"), index.n)
    st.session_state["text.like_w"] = parse_float(url.get("lw"), 1.0, 0.0, 2.0)
    result_tools.filters_from_url(url, entry, PAGE)
for key, value in DEFAULTS.items():
    st.session_state.setdefault(key, value)
state.take_pending("text.like")
if st.session_state.get("text.like") is not None:
    st.session_state["text.like"] = parse_id(st.session_state["text.like"], index.n)


def _use_example(text: str) -> None:
    st.session_state["text.q"] = text


q_col, k_col = st.columns([5, 1], vertical_alignment="bottom")
query = q_col.text_input("Describe the image", key="text.q", max_chars=500,
                         placeholder="e.g. a ginger cat sleeping", icon=":material/search:",
                         persist_state="session", help="Press Enter to search.")
k = k_col.number_input("Results", 1, K_MAX, key="text.k", persist_state="session",
                       help="How many images to show (k).")
with st.expander("Refine: exclude a phrase, or add “more like this image”",
                 expanded=bool(st.session_state.get("text.neg")
                               or st.session_state.get("text.like") is not None)):
    n_col, nw_col = st.columns([3, 1])
    negative = n_col.text_input("Without", key="text.neg", max_chars=200,
                                persist_state="session", placeholder="e.g. text, watermark",
                                help="Subtracted from the query (rclip-style negative term).")
    negative_weight = nw_col.slider("Weight", 0.0, 2.0, step=0.1, key="text.neg_w",
                                    persist_state="session")
    l_col, lw_col = st.columns([3, 1])
    like = l_col.number_input("More like image #", 0, max(index.n - 1, 0), None, 1,
                              key="text.like", persist_state="session",
                              placeholder="a gallery id (open an image to see it)",
                              help="Adds that image's embedding to the query.")
    like_weight = lw_col.slider("Weight", 0.0, 2.0, step=0.1, key="text.like_w",
                                persist_state="session")

query, negative = clean_text(query), clean_text(negative)
like_id = parse_id(like, index.n) if like is not None else None
# the curves describe plain text queries: a negative phrase or an image changes the score
calibrated = (entry.spec in load_curves() and bool(query) and not negative
              and like_id is None)
with st.expander("Filters and similarity cut-off",
                 expanded=result_tools.filters_active(PAGE)):
    filters = result_tools.filter_controls(entry, PAGE)
    minimum = result_tools.cutoff_control(PAGE, calibrated)
if not query and like_id is None:
    st.markdown("Try an example:")
    cols = st.columns(len(EXAMPLES))
    for col, text in zip(cols, EXAMPLES, strict=True):
        col.button(text, key=f"text.example.{text}", on_click=_use_example, args=(text,),
                   width="stretch")
else:
    with state.user_errors():
        if query or negative:
            loaders.get_encoder(entry.spec)  # loaded once per process; not part of the timing
        started = perf_counter()
        with st.spinner("Searching…"):
            hits = loaders.text_search(entry, query, int(k), negative, negative_weight, like_id,
                                       like_weight, filters)
        ms = (perf_counter() - started) * 1000
        state.random_weights_banner(entry)
        probs = relevance(entry.spec, [score for _, score, _ in hits]) if calibrated else None
        found = len(hits)
        hits, probs = result_tools.cut(hits, probs, minimum)
        folded = sum(len(d) for _, _, d in hits)
        shown = (f"likely relevant = calibrated on the photo benchmark (cut-off "
                 f"{THRESHOLD:.0%})" if probs is not None else
                 "ranks only (no relevance curve for this query or model)")
        st.caption(f"{len(hits)} results in {ms:.0f} ms · {shown}"
                   + (f" · {folded} exact duplicates folded" if folded else "")
                   + (f" · filtered: {filters.describe()}" if filters.active() else "")
                   + (f" · {found - len(hits)} below the cut-off hidden" if found > len(hits)
                      else ""))
        if hits:
            result_tools.download_buttons(index, hits, probs, PAGE,
                                          stem=f"search-{entry.name}")
        elif filters.active() or minimum > 0:
            st.info("No image passes the filters and the cut-off: loosen them.",
                    icon=":material/filter_alt_off:")
        if like_id is not None:
            st.caption(f"More like image {like_id} (`{index.items.at[like_id, 'rel_path']}`), "
                       f"weight {like_weight:.1f}")
        if probs and probs[0] < THRESHOLD:
            st.warning(f"**No strong match** for “{query}”: the best image is only "
                       f"{probs[0]:.0%} likely to be relevant. The collection may not hold what "
                       "you describe; the closest images are below the line.",
                       icon=":material/search_off:")
        near = result_tools.near_map(entry)
        cells = grid.hit_cells(index, hits, relevance=probs, near=near)
        grid.ranked_grid(index, cells, probs, key="text.results",
                         action=grid.open_detail(PAGE, entry.name, note=grid.hit_notes(hits, probs),
                                                 more_like_key="text.like", near=near))

state.sync_url(q=query, k=int(k), neg=negative,
               nw=negative_weight if negative and negative_weight != 1.0 else None,
               like=like_id, lw=like_weight if like_id is not None and like_weight != 1.0 else None,
               **result_tools.filter_params(filters, minimum, calibrated))
grid.show_detail_if_open(PAGE)
