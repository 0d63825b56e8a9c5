"""Compare variants: one query against two or three indexes side by side, with their overlap."""

from __future__ import annotations

import random

import streamlit as st

from app_support import grid, loaders, state
from app_support.bootstrap import leave_legacy_multipage
from app_support.params import clean_text, parse_id, parse_int
from core.index.catalogue import IndexEntry
from core.query import compare
from core.query.calibration import relevance
from core.query.overlap import coverage

leave_legacy_multipage()

PAGE = "compare"
DEFAULT_K = 10
K_MAX = 50
TEXT, IMAGE = "Text", "Gallery image"

st.title("Compare variants")
st.caption("Run the same query against two or three indexes built over the same images and see "
           "where their top results agree. Raw cosines of different models are on different "
           "scales, so results show ranks, plus the calibrated chance of relevance for a text "
           "query where the model has a fitted curve.")

names, current = state.names_and_current()
if len(names) < 2:
    st.info("Comparing needs at least two indexes over the same images, built with different "
            f"models, e.g. `{state.BUILD_OWN}` with another `--model`.", icon=":material/info:")
    state.sync_url()
    st.stop()

defaults = {"cmp.with": compare.default_selection(current.name, names), "cmp.mode": TEXT,
            "cmp.q": "", "cmp.k": DEFAULT_K, "cmp.id": 0}
for key, value in defaults.items():
    st.session_state.setdefault(key, value)
url = state.url_params_once()
if url.get("with"):
    asked = [n.strip() for n in str(url["with"]).split(",")[: compare.MAX_INDEXES] if n.strip()]
    chosen = compare.valid_selection(asked, names)
    unknown = [n[:80] for n in asked if n not in names]
    if chosen:  # a link naming one good index still compares it (with the next ones)
        st.session_state["cmp.with"] = (chosen if len(chosen) >= 2 else
                                        compare.default_selection(chosen[0], names))
    if unknown:
        st.warning("The link names " + ", ".join(f"'{n}'" for n in unknown)
                   + (", which is" if len(unknown) == 1 else ", which are")
                   + " not an index here; comparing "
                   + ", ".join(st.session_state["cmp.with"]) + " instead.",
                   icon=":material/link_off:")
if url.get("q"):
    st.session_state["cmp.q"], st.session_state["cmp.mode"] = clean_text(url["q"]), TEXT
if url.get("k"):
    st.session_state["cmp.k"] = parse_int(url["k"], DEFAULT_K, 1, K_MAX)
st.session_state["cmp.with"] = compare.valid_selection(st.session_state["cmp.with"], names)

chosen = st.multiselect("Indexes to compare", names, key="cmp.with",
                        max_selections=compare.MAX_INDEXES,
                        persist_state="session", help="Two or three indexes of the same images.")
mode_col, q_col, k_col = st.columns([1, 4, 1], vertical_alignment="bottom")
mode = mode_col.radio("Query", [TEXT, IMAGE], key="cmp.mode", persist_state="session")
k = int(k_col.number_input("Top k", 1, K_MAX, key="cmp.k", persist_state="session"))
if len(chosen) < 2:
    st.info("Pick two or three indexes to compare.")
    state.sync_url(q=clean_text(st.session_state["cmp.q"]) if mode == TEXT else "", k=k)
    st.stop()


def _random(n: int) -> None:
    st.session_state["cmp.id"] = random.randrange(n)


pairs = state.open_indexes(chosen)
if len(pairs) < 2:
    st.stop()
first = pairs[0][1]
by_name = dict((e.name, ix) for e, ix in pairs)
same, common = coverage({e.name: loaders.hashes(e) for e, _ in pairs})
if not same:
    st.warning(f"These indexes do not cover the same images ({common} in common out of "
               + ", ".join(f"{e.name}: {ix.n}" for e, ix in pairs)
               + "), so their rankings cannot be compared. Build them from the same folders.",
               icon=":material/rule:")

query_hash: str | None = None
if mode == TEXT:
    query = clean_text(q_col.text_input("Describe the image", key="cmp.q", max_chars=500,
                                        persist_state="session",
                                        placeholder="e.g. a red motorcycle"))
else:
    query = ""
    if parse_id(st.session_state["cmp.id"], first.n) is None:
        st.session_state["cmp.id"] = 0
    image_id = int(q_col.number_input(f"Image id in {pairs[0][0].name} (0–{first.n - 1})", 0,
                                      first.n - 1, key="cmp.id", persist_state="session"))
    q_col.button("Random image", icon=":material/casino:", on_click=_random, args=(first.n,))
    query_hash = compare.image_hash(first, image_id)
    st.image(loaders.tile(first, image_id), width=160,
             caption=f"Query: `{first.items.at[image_id, 'rel_path']}`")


def _run(entry: IndexEntry) -> compare.Hits:
    if mode == TEXT:
        return loaders.text_search(entry, query, k)
    return loaders.id_search(entry, compare.own_id(loaders.hash_to_id(entry), query_hash), k)


results: dict[str, compare.Hits] = {}
problems: dict[str, str] = {}
if mode != TEXT or query:
    results, problems = compare.run_each([e for e, _ in pairs], _run, text_query=mode == TEXT)
if mode == TEXT and not query:
    st.info("Type a query to compare the indexes.")
marks_by_hash: dict[str, str] = {}
if same and len(results) >= 2:
    agree = compare.agreement(results, by_name)
    for col, pair in zip(st.columns(3), agree.pairs, strict=False):
        col.metric(f"{pair.a} ∩ {pair.b}", f"{pair.shared} of {pair.top} shared",
                   f"Jaccard {pair.jaccard:.2f}", delta_color="off", delta_arrow="off",
                   border=True,
                   help="How many of the top results both lists hold; Jaccard = shared / union.")
    marks_by_hash = agree.marks
    st.caption(f"Shared results are marked: {compare.legend(len(results))}.")

for col, (entry, ix) in zip(st.columns(len(pairs), gap="medium"), pairs, strict=True):
    with col:
        st.subheader(entry.name)
        st.caption(f"`{entry.spec}`")
        state.random_weights_banner(entry)
        if entry.name in problems:
            st.info(problems[entry.name])
        elif entry.name in results:
            hits = results[entry.name]
            marks = compare.marks_for(ix, hits, marks_by_hash)
            probs = relevance(entry.spec, [s for _, s, _ in hits]) if mode == TEXT else None
            if mode == TEXT and probs is None:
                st.caption("No relevance curve for this model: ranks only.")
            grid.ranked_grid(ix, grid.hit_cells(ix, hits, marks, relevance=probs), probs,
                             key=f"cmp.{entry.name}", columns=2,
                             action=grid.open_detail(PAGE, entry.name,
                                                     note=grid.hit_notes(hits, probs)))

if mode == TEXT:
    state.sync_url(q=query, k=k, **{"with": ",".join(chosen)})
else:
    state.sync_url(k=k, **{"with": ",".join(chosen)})
grid.show_detail_if_open(PAGE)
