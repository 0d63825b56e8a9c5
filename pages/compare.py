"""Compare variants: one query against two or three indexes side by side, with their overlap."""

from __future__ import annotations

import random

import streamlit as st

from app_support import grid, loaders, state
from app_support.bootstrap import leave_legacy_multipage
from app_support.params import clean_text, parse_id, parse_int, pick_name
from core.errors import UserError
from core.index.catalogue import IndexEntry
from core.index.store import Index
from core.query.overlap import coverage, overlap

leave_legacy_multipage()

PAGE = "compare"
DEFAULT_K = 10
K_MAX = 50
TEXT, IMAGE = "Text", "Gallery image"
IN_ALL, IN_SOME = "★ ", "◆ "

st.title("Compare variants")
st.caption("Run the same query against two or three indexes built over the same images and see "
           "where their top results agree.")

found = loaders.entries()
names = [e.name for e in found]
current = state.current_entry()
if current is None:
    state.no_index_screen()
    st.stop()
if len(names) < 2:
    st.info("Comparing needs at least two indexes over the same images, built with different "
            f"models, e.g. `{state.BUILD_OWN}` with another `--model`.", icon=":material/info:")
    state.sync_url()
    st.stop()

others = [n for n in names if n != current.name]
defaults = {"cmp.with": [current.name, *others[:2]], "cmp.mode": TEXT, "cmp.q": "",
            "cmp.k": DEFAULT_K, "cmp.id": 0}
for key, value in defaults.items():
    st.session_state.setdefault(key, value)
url = state.url_params_once()
if url.get("with"):
    chosen = [n for n in (pick_name(v, names) for v in str(url["with"]).split(",")[:3]) if n]
    if chosen:
        st.session_state["cmp.with"] = list(dict.fromkeys(chosen))
if url.get("q"):
    st.session_state["cmp.q"], st.session_state["cmp.mode"] = clean_text(url["q"]), TEXT
if url.get("k"):
    st.session_state["cmp.k"] = parse_int(url["k"], DEFAULT_K, 1, K_MAX)
st.session_state["cmp.with"] = [n for n in st.session_state["cmp.with"] if n in names][:3]

chosen = st.multiselect("Indexes to compare", names, key="cmp.with", max_selections=3,
                        persist_state="session", help="Two or three indexes of the same images.")
mode_col, q_col, k_col = st.columns([1, 4, 1], vertical_alignment="bottom")
mode = mode_col.radio("Query", [TEXT, IMAGE], key="cmp.mode", persist_state="session")
k = int(k_col.number_input("Top k", 1, K_MAX, key="cmp.k", persist_state="session"))
if len(chosen) < 2:
    st.info("Pick two or three indexes to compare.")
    state.sync_url(k=k)
    st.stop()



def _random(n: int) -> None:
    st.session_state["cmp.id"] = random.randrange(n)


pairs: list[tuple[IndexEntry, Index]] = []
for name in chosen:
    entry = state.entry_by_name(name)
    if entry is not None:
        with state.user_errors():
            pairs.append((entry, loaders.get_index(entry)))
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
    query_hash = str(first.items.at[image_id, "hash"])
    st.image(loaders.tile(str(first.thumb_path(image_id))), width=160,
             caption=f"Query: `{first.items.at[image_id, 'rel_path']}`")

results: dict[str, loaders.Hits] = {}
problems: dict[str, str] = {}
for entry, _ix in pairs:
    if mode == TEXT and not query:
        break
    if mode == TEXT and not entry.can_text:
        problems[entry.name] = f"{entry.family} embeds images only: no text queries."
        continue
    try:
        if mode == TEXT:
            results[entry.name] = loaders.text_search(entry, query, k)
        else:
            own = loaders.hash_to_id(entry).get(query_hash or "")
            if own is None:
                problems[entry.name] = "the query image is not in this index."
                continue
            results[entry.name] = loaders.id_search(entry, own, k)
    except UserError as e:
        problems[entry.name] = str(e)

if mode == TEXT and not query:
    st.info("Type a query to compare the indexes.")
hash_lists = {name: [str(by_name[name].items.at[i, "hash"]) for i, _, _ in hits]
              for name, hits in results.items()}
marks_by_hash: dict[str, str] = {}
if same and len(results) >= 2:
    ov = overlap(hash_lists)
    cols = st.columns(3)
    for col, ((a, b), (shared, jaccard)) in zip(cols, ov.pairs.items(), strict=False):
        top = max(len(results[a]), len(results[b]))
        col.metric(f"{a} ∩ {b}", f"{shared} of {top} shared", f"Jaccard {jaccard:.2f}",
                   delta_color="off", delta_arrow="off", border=True,
                   help="How many of the top results both lists hold; Jaccard = shared / union.")
    marks_by_hash = {h: IN_ALL if h in ov.in_all else IN_SOME
                     for h, n in ov.seen_in.items() if n >= 2}
    legend = f"{IN_ALL.strip()} in every list"
    if len(results) > 2:
        legend += f" · {IN_SOME.strip()} in some lists"
    st.caption(f"Shared results are marked: {legend}.")

for col, (entry, ix) in zip(st.columns(len(pairs), gap="medium"), pairs, strict=True):
    with col:
        st.subheader(entry.name)
        st.caption(f"`{entry.spec}`")
        state.random_weights_banner(entry)
        if entry.name in problems:
            st.info(problems[entry.name])
        elif entry.name in results:
            marks = {i: marks_by_hash.get(str(ix.items.at[i, "hash"]), "")
                     for i, _, _ in results[entry.name]}
            cells = grid.hit_cells(ix, results[entry.name], marks)
            grid.grid(ix, cells, key=f"cmp.{entry.name}", columns=2,
                      action=grid.open_detail(PAGE, entry.name, note=dict(cells)))

if mode == TEXT:
    state.sync_url(q=query, k=k, **{"with": ",".join(chosen)})
else:
    state.sync_url(k=k, **{"with": ",".join(chosen)})
grid.show_detail_if_open(PAGE)
