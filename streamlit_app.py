"""Image search in the browser: `streamlit run streamlit_app.py`.

This entrypoint runs on every rerun of every page: it sets the layout, renders the global index
selector in the sidebar and hands over to the chosen page. To add a page, add one `st.Page` line
to PAGES (the file goes in `pages/`). Streamlit treats a `pages/` folder as an old-style
multipage app until st.navigation first runs; `leave_legacy_multipage()` (first line here and in
every page file) switches that off so deep links always go through this entrypoint.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app_support.bootstrap import leave_legacy_multipage
from app_support.debug import record_modules
from app_support.state import begin_run, sidebar_selector

STYLE = Path(__file__).resolve().parent / ".streamlit" / "app.css"

leave_legacy_multipage()
# "auto": the sidebar opens on a wide screen and starts closed on a phone, where it would cover
# 300 of 390 px (tests/test_browser_layout.py checks both).
st.set_page_config(page_title="Image search", page_icon=":material/image_search:",
                   layout="wide", initial_sidebar_state="auto")
st.html(STYLE)

# The page registry: one line per page; the first is the default (Home).
PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/text_search.py", title="Text search", icon=":material/search:"),
    st.Page("pages/neighbours.py", title="Image neighbours", icon=":material/image_search:"),
    st.Page("pages/compare.py", title="Compare variants", icon=":material/compare:"),
    st.Page("pages/review.py", title="Review variants", icon=":material/fact_check:"),
    st.Page("pages/image_to_text.py", title="Image to text", icon=":material/subtitles:"),
    st.Page("pages/evaluation.py", title="Evaluation", icon=":material/analytics:"),
    st.Page("pages/explorer.py", title="Cluster explorer", icon=":material/scatter_plot:"),
    st.Page("pages/recommender.py", title="Recommender", icon=":material/thumbs_up_down:"),
]

page = st.navigation(PAGES, position="sidebar")
begin_run(page.url_path)
sidebar_selector()
try:
    page.run()
finally:
    record_modules(page.url_path)  # only with IMAGE_SEARCH_DEBUG_MODULES set
