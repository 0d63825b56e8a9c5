"""Keep Streamlit in st.navigation mode even though the page files live in `pages/`.

Streamlit decides at start-up that an app with a `pages/` folder beside its entrypoint is a
legacy multipage app, and keeps thinking so until `st.navigation` is first called. Until then a
deep link (`/text_search?q=…`, the shareable search) runs the page file alone: no sidebar index
selector, no shared state. Every page file and the entrypoint call `leave_legacy_multipage()`
first: when it finds the legacy mode on, it switches it off and reruns, so the entrypoint runs
and routes to the same page (page identity is the URL path, the same in both modes).
"""

from __future__ import annotations

import streamlit as st


def leave_legacy_multipage() -> None:
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
