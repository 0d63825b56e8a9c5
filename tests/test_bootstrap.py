"""The app's first run on a fresh server, without the warm-server fixture.

Streamlit starts an app that has a `pages/` folder in legacy multipage mode; a deep link then runs
the page file alone, without the entrypoint's sidebar selector. `leave_legacy_multipage()` (the
first line of the entrypoint and of every page) must switch that off and route through the
entrypoint. AppTest starts every run in legacy mode, so each run here exercises that path.
"""

from __future__ import annotations

from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from core.index.catalogue import ENV_INDEXES

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


def test_a_deep_link_in_legacy_mode_is_routed_through_the_entrypoint(monkeypatch,
                                                                     index_root) -> None:
    monkeypatch.setenv(ENV_INDEXES, str(index_root))
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["q"] = "a ginger cat"
    at.switch_page("pages/text_search.py").run()
    assert not at.exception
    assert PagesManager.uses_pages_directory is False  # the bootstrap left legacy mode
    assert at.title[0].value == "Text search"
    # the entrypoint ran: its index selector is in the sidebar, and the page read the link
    assert any(s.label == "Index (model variant)" for s in at.sidebar.selectbox)
    assert at.text_input(key="text.q").value == "a ginger cat"


def test_the_home_page_in_legacy_mode(monkeypatch, index_root) -> None:
    monkeypatch.setenv(ENV_INDEXES, str(index_root))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception and PagesManager.uses_pages_directory is False
    assert any(s.label == "Index (model variant)" for s in at.sidebar.selectbox)
