"""Review variants: one query set on up to six indexes, relevance marks, live metrics, a report."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_support import loaders, state
from app_support import review as rv
from app_support.bootstrap import leave_legacy_multipage
from app_support.params import parse_int, pick_name
from app_support.uploads import UPLOAD_TYPES
from core.errors import UserError
from core.eval import query_set
from core.eval.review import MAX_VARIANTS, Review, Shown, Summary, run_review, summarise
from core.eval.review_marks import marks_json
from core.eval.review_report import (
    html_report,
    markdown_summary,
    metric_records,
    pair_records,
    thumbnails,
)
from core.index.items import short_name
from core.query import compare
from core.query.overlap import coverage

leave_legacy_multipage()

DEFAULT_K, K_MAX = 10, 20
SOURCES = {"demo": "Shipped set", "typed": "Type queries", "upload": "Upload a file"}
VIEWS = {rv.FULL: "One query", "compact": "Compact (all queries)"}
KEYS_HELP = ("Keys: ← → previous/next query · ↑ ↓ previous/next result · Y relevant · "
             "N not relevant · U clear (the framed result).")

st.title("Review variants")
st.caption("Put one query set to several indexes built over the same images, mark which results "
           "are right, and read the metrics from your marks. A mark belongs to the query and the "
           "image, so it counts for every variant that returns it.")

names, current = state.names_and_current()
shipped = list(query_set.shipped_sets())
defaults = {"rev.with": compare.default_selection(current.name, names, 3), "rev.k": DEFAULT_K,
            "rev.source": "demo" if shipped else "typed", "rev.demo": shipped[0] if shipped
            else None, "rev.typed": "", rv.VIEW_KEY: rv.FULL}
for key, value in defaults.items():
    st.session_state.setdefault(key, value)
url = state.url_params_once()
if url.get("with"):
    chosen = compare.valid_selection(str(url["with"]).split(","), names, MAX_VARIANTS)
    st.session_state["rev.with"] = chosen or st.session_state["rev.with"]
if pick_name(url.get("set"), shipped):
    st.session_state["rev.source"], st.session_state["rev.demo"] = "demo", url["set"]
if url.get("k"):
    st.session_state["rev.k"] = parse_int(url["k"], DEFAULT_K, 1, K_MAX)
if url.get("view") in VIEWS:
    st.session_state[rv.VIEW_KEY] = url["view"]
st.session_state["rev.with"] = compare.valid_selection(st.session_state["rev.with"], names,
                                                       MAX_VARIANTS)

set_col, pick_col = st.columns([2, 3], vertical_alignment="bottom")
source = set_col.segmented_control("Query set", list(SOURCES), key="rev.source",
                                   format_func=SOURCES.get, required=True)
upload = None
if source == "demo":
    pick_col.selectbox("Shipped query set", shipped, key="rev.demo")
elif source == "upload":
    upload = pick_col.file_uploader("Query set (.txt: one query per line; .jsonl: "
                                    '{"text": …} or {"image_id": N})', type=["txt", "jsonl"],
                                    key="rev.upload")
else:
    st.text_area("Queries, one per line", key="rev.typed", height=140,
                 placeholder="a ginger cat\na red motorcycle\na cup of coffee")
images = st.file_uploader("Image queries (optional): photos to search with, added to the set",
                          type=UPLOAD_TYPES, accept_multiple_files=True, key="rev.images")
idx_col, k_col, view_col = st.columns([4, 1, 2], vertical_alignment="bottom")
chosen = idx_col.multiselect("Indexes (variants)", names, key="rev.with",
                             max_selections=MAX_VARIANTS,
                             help="Up to six indexes over the same images; the first resolves "
                                  "image queries given by gallery id.")
k = int(k_col.number_input("Top k", 1, K_MAX, key="rev.k"))
view = view_col.segmented_control("View", list(VIEWS), key=rv.VIEW_KEY, format_func=VIEWS.get,
                                  required=True)
sync = {"with": ",".join(chosen), "k": k, "view": view,
        "set": st.session_state["rev.demo"] if source == "demo" else ""}
if not chosen:
    st.info("Pick the indexes to review.")
    state.sync_url(**sync)
    st.stop()

pairs = state.open_indexes(chosen)
if not pairs:
    st.stop()
same, common = coverage({e.name: loaders.hashes(e) for e, _ in pairs})
if not same:
    st.warning(f"These indexes do not cover the same images ({common} in common), so marks "
               "only carry over for the images they share.", icon=":material/rule:")
try:
    specs = rv.query_specs(str(source), st.session_state["rev.demo"],
                           st.session_state["rev.typed"], upload)
    queries = query_set.resolve(specs, pairs[0][1], base=query_set.SHIPPED,
                                uploads=rv.image_uploads(images or []))
except UserError as e:
    st.info(str(e), icon=":material/list:")
    state.sync_url(**sync)
    st.stop()
with st.spinner(f"Running {len(queries)} queries on {len(pairs)} indexes…"):
    review = run_review(pairs, queries, k, rv.CachedSearcher())
marks = rv.marks()
summary = summarise(review, marks)
indexes = {e.name: ix for e, ix in pairs}
model_specs = {e.name: e.spec for e, _ in pairs}


def metrics_panel(review: Review, summary: Summary) -> None:
    """The live tables: figures per variant, then pairs; the unmarked count up front."""
    unmarked = sum(r.unmarked for r in summary.rows)
    shown = sum(r.shown for r in summary.rows)
    st.subheader("Metrics from your marks")
    if unmarked:
        st.warning(f"{unmarked} of {shown} results are unmarked (counted as not relevant): the "
                   "figures are not final yet.", icon=":material/pending:")
    else:
        st.success("Every result shown is marked.", icon=":material/task_alt:")
    for col, r in zip(st.columns(len(summary.rows)), summary.rows, strict=True):
        col.metric(f"{r.variant} · nDCG@{review.k}", f"{r.metrics.get('nDCG@k', 0.0):.3f}",
                   f"success@1 {r.metrics.get('success@1', 0.0):.2f}", delta_color="off",
                   delta_arrow="off", border=True,
                   help=f"Mean over the {r.queries} queries this index answered.")
    st.dataframe(pd.DataFrame(metric_records(review, summary, model_specs)), hide_index=True,
                 width="stretch")
    if summary.pairs:
        st.caption(f"Pairs: wins / losses / ties per query on nDCG@{review.k}, with a paired "
                   "bootstrap 95% interval on the mean difference, and the top-k overlap.")
        st.dataframe(pd.DataFrame(pair_records(review, summary)), hide_index=True,
                     width="stretch")


def files_panel(review: Review, summary: Summary) -> None:
    """Marks out and in (JSON), the HTML report and the Markdown summary."""
    snapshot = dict(marks)  # the report is built later, on its own thread, from this run's data
    a, b, c = st.columns(3)
    a.download_button("Download marks (JSON)", marks_json(marks), file_name="review-marks.json",
                      mime="application/json", on_click="ignore", icon=":material/download:",
                      key="rev.marks_out")
    b.download_button("Download report (HTML)",
                      lambda: html_report(review, summary, snapshot,
                                          thumbnails(review, indexes), model_specs),
                      file_name="review.html", mime="text/html", on_click="ignore",
                      icon=":material/description:", key="rev.report")
    c.download_button("Download summary (Markdown)",
                      markdown_summary(review, summary, model_specs), file_name="review.md",
                      mime="text/markdown", on_click="ignore", icon=":material/article:",
                      key="rev.markdown")
    widget = f"rev.marks_in.{st.session_state.get(rv.UPLOAD_NO, 0)}"
    st.file_uploader("Load marks (a JSON file downloaded here)", type=["json"], key=widget,
                     on_change=rv.import_marks, args=(widget,))
    for key, show in ((rv.NOTICE_KEY, st.success), (rv.ERROR_KEY, st.error)):
        message = st.session_state.pop(key, None)
        if message:
            show(message)


def compact_view(review: Review) -> None:
    """One row per query: each variant's top-k as one strip framed by mark colour."""
    head = st.columns([2] + [3] * len(review.variants))
    head[0].markdown("**Query**")
    for col, v in zip(head[1:], review.variants, strict=True):
        col.markdown(f"**{v}**")
    for no, q in enumerate(review.queries):
        cols = st.columns([2] + [3] * len(review.variants), vertical_alignment="center")
        cols[0].markdown(f"{no + 1}. {q.label}")
        cols[0].button("Mark", key=f"rev.open.{no}", icon=":material/edit:", type="tertiary",
                       on_click=rv.open_query, args=(no, len(review.queries)))
        for col, v in zip(cols[1:], review.variants, strict=True):
            shown = review.shown(q.key, v)
            if shown is None:
                col.caption(review.problems.get(q.key, {}).get(v, "no results"))
                continue
            states = [marks.get((q.key, r.hash)) for r in shown]
            ndcg = summary.scores[v][q.key]["nDCG@k"]
            col.image(rv.strip(indexes[v], shown, states), width="stretch",
                      caption=f"nDCG@{review.k} {ndcg:.2f} · {states.count(None)} unmarked",
                      alt=f"strip {no + 1} {v}")


def full_view(review: Review) -> None:
    """One query at a time: ranks as rows, variants as columns, two mark buttons per result."""
    n = len(review.queries)
    qno = rv.query_number(n)
    q = review.queries[qno]
    nav = st.container(horizontal=True, vertical_alignment="center")
    nav.button("Previous", key="rev.prev", icon=":material/arrow_back:", shortcut="Left",
               on_click=rv.go_query, args=(qno - 1, n), disabled=qno == 0)
    nav.button("Next", key="rev.next", icon=":material/arrow_forward:", shortcut="Right",
               on_click=rv.go_query, args=(qno + 1, n), disabled=qno >= n - 1)
    for label, key, shortcut, step in (("Up", "rev.up", "Up", -1),
                                       ("Down", "rev.down", "Down", 1)):
        nav.button(label, key=key, shortcut=shortcut, type="tertiary",
                   on_click=rv.move_cursor, args=(review, q.key, step))
    for label, key, shortcut, value in (("Y", "rev.key_y", "Y", True),
                                        ("N", "rev.key_n", "N", False),
                                        ("U", "rev.key_u", "U", None)):
        nav.button(label, key=key, shortcut=shortcut, type="tertiary",
                   on_click=rv.mark_cursor, args=(review, q.key, value))
    nav.markdown(f"**Query {qno + 1} of {n}:** {q.label}")
    st.caption(KEYS_HELP)
    if q.image_hash:
        gallery_id = loaders.hash_to_id(pairs[0][0]).get(q.image_hash)
        picture = (loaders.tile(pairs[0][1], gallery_id) if gallery_id is not None
                   else q.upload.preview if q.upload is not None else None)
        if picture is not None:
            st.image(picture, width=120, caption="query image")
    at = rv.cursor(review, q.key)
    head = st.columns(len(review.variants))
    for col, v in zip(head, review.variants, strict=True):
        col.markdown(f"**{v}**")
        if q.key in summary.scores[v]:
            col.caption(f"nDCG@{review.k} {summary.scores[v][q.key]['nDCG@k']:.2f}")
        else:
            col.caption(review.problems.get(q.key, {}).get(v, "no results"))
    for rank in range(review.k):
        cols = st.columns(len(review.variants))
        for c, (col, v) in enumerate(zip(cols, review.variants, strict=True)):
            shown = review.shown(q.key, v) or []
            if rank < len(shown):
                with col:
                    result_cell(review, qno, c, v, rank, shown[rank], at == (c, rank))


def result_cell(review: Review, qno: int, c: int, v: str, rank: int, r: Shown,
                focused: bool) -> None:
    """A tile and its two mark buttons; the keys' cursor frames it."""
    q = review.queries[qno]
    mark = marks.get((q.key, r.hash))
    caption = (f"#{rank + 1} · {r.score:.3f} · {short_name(indexes[v], r.id)} · "
               f"{rv.WORD[mark]}")
    with st.container(border=focused):
        st.image(loaders.tile(indexes[v], r.id), caption=caption, width=140, alt=caption)
        row = st.container(horizontal=True, gap="small")
        for value, icon, word in ((True, ":material/check:", "Relevant"),
                                  (False, ":material/close:", "Not relevant")):
            row.button("", key=f"rev.m.{c}.{rank}.{int(value)}", icon=icon, help=word,
                       type="primary" if mark is value else "secondary",
                       on_click=rv.set_mark, args=(q.key, r.hash, value))


metrics_panel(review, summary)
with st.expander("Marks and report files", icon=":material/save:"):
    files_panel(review, summary)
if view == "compact":
    compact_view(review)
else:
    full_view(review)
state.sync_url(**sync)
