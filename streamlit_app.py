"""Image search in the browser: `streamlit run streamlit_app.py`.

This entrypoint runs on every rerun of every page: it sets the layout, renders the global index
selector in the sidebar and hands over to the chosen page. To add a page, add one `st.Page` line
to PAGES (the file goes in `app_pages/`). Page files are not kept in a folder named `pages/`:
Streamlit treats such a folder as an old-style multipage app, which bypasses this entrypoint on
a fresh server's first deep link (and on every AppTest rerun).
"""

from __future__ import annotations

import streamlit as st

from app_support.state import begin_run, sidebar_selector

st.set_page_config(page_title="Image search", page_icon=":material/image_search:",
                   layout="wide", initial_sidebar_state="expanded")

# The page registry: one line per page; the first is the default (Home).
PAGES = [
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("app_pages/text_search.py", title="Text search", icon=":material/search:"),
    st.Page("app_pages/neighbours.py", title="Image neighbours", icon=":material/image_search:"),
    st.Page("app_pages/compare.py", title="Compare variants", icon=":material/compare:"),
    st.Page("app_pages/image_to_text.py", title="Image to text", icon=":material/subtitles:"),
    st.Page("app_pages/evaluation.py", title="Evaluation", icon=":material/analytics:"),
    st.Page("app_pages/explorer.py", title="Cluster explorer", icon=":material/scatter_plot:"),
    st.Page("app_pages/recommender.py", title="Recommender", icon=":material/thumbs_up_down:"),
]

page = st.navigation(PAGES, position="sidebar")
begin_run(page.url_path)
sidebar_selector()
page.run()
