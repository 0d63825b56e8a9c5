"""Every page at desktop (1280×800) and phone (390×844) width in a real headless browser:
nothing sticks out of its column or widens the page, the sidebar starts closed on a phone, and
Back leaves a page in one press.

One `streamlit run` server and one chromium for the module (fixtures and skip rules of
test_browser.py); each page is measured as it opens, with its expanders open and on each of its
tabs (devtools/layout.py). Full-page screenshots go to artifacts/layout/ (git-ignored).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_browser import ARTIFACTS, START_TIMEOUT_S, pytestmark  # noqa: F401 (skip rules)

from devtools.layout import DESKTOP, PHONE, full_screenshot, overflow_everywhere, settle
from devtools.live import ServerFailed, browser, streamlit_server

# Each page with a link that fills it (conftest's indexes: conse, efficientnet, captions).
PAGES = {"home": "", "text_search": "text_search?q=a+cat", "neighbours": "neighbours?id=1",
         "compare": "compare?q=a+cat&with=conse,captions", "review": "review",
         "image_to_text": "image_to_text", "evaluation": "evaluation", "explorer": "explorer",
         "recommender": "recommender"}
SIDEBAR_JS = """() => {
  const s = document.querySelector('[data-testid="stSidebar"]');
  const r = s.getBoundingClientRect();
  return Math.round(Math.max(0, Math.min(r.right, innerWidth) - Math.max(r.left, 0)));
}"""


@pytest.fixture(scope="module")
def site(index_root: Path, tmp_path_factory) -> Iterator[str]:
    """One server for every page of this module."""
    log = tmp_path_factory.mktemp("layout") / "streamlit.log"
    try:
        with streamlit_server(index_root, log, start_timeout_s=START_TIMEOUT_S) as srv:
            yield srv.url
    except ServerFailed as e:
        pytest.fail(str(e))


def test_every_page_fits_desktop_and_phone(site: str) -> None:
    shots = ARTIFACTS / "layout"
    shots.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    sidebar: dict[str, int] = {}
    with browser() as b:
        for size, tag in ((DESKTOP, "desktop"), (PHONE, "phone")):
            context = b.new_context(viewport=size)  # a first visit: no remembered sidebar
            page = context.new_page()
            for name, link in PAGES.items():
                page.goto(f"{site}/{link}", wait_until="domcontentloaded")
                settle(page)
                if name == "home":
                    sidebar[tag] = page.evaluate(SIDEBAR_JS)
                full_screenshot(page, str(shots / f"{name}-{tag}.png"))
                found = overflow_everywhere(page)
                if found["page"] > 1:
                    problems.append(f"{name} @ {size['width']}: page {found['page']} px too wide")
                problems += [f"{name} @ {size['width']}: {i['what']} by {i['by']} px"
                             for i in found["items"]]
            context.close()
    assert sidebar["phone"] == 0, sidebar  # closed on a phone: the page is not covered
    assert sidebar["desktop"] >= 200, sidebar  # open on a desktop
    assert not problems, "\n".join(problems[:40])


def test_back_leaves_a_page_in_one_press(site: str) -> None:
    with browser() as b:
        page = b.new_page(viewport=DESKTOP)
        page.goto(f"{site}/", wait_until="domcontentloaded")
        settle(page)
        for title in ("Text search", "Image neighbours"):
            page.locator('[data-testid="stSidebarNav"] a', has_text=title).click()
            settle(page)
        assert "/neighbours?" in page.url and "index=conse" in page.url, page.url
        page.go_back()
        settle(page)
        assert page.locator("h1").first.inner_text() == "Text search", page.url
        assert "/text_search?" in page.url, page.url
        page.go_back()
        settle(page)
        assert page.locator("h1").first.inner_text() == "Image search", page.url


def test_use_in_the_picker_closes_it_and_the_query_is_in_view(site: str) -> None:
    with browser() as b:
        page = b.new_page(viewport=DESKTOP)
        page.goto(f"{site}/neighbours?id=0&k=4", wait_until="domcontentloaded")
        settle(page)
        page.get_by_text("Pick an image from the collection").click()
        settle(page)
        assert page.evaluate("() => document.querySelector('details').open")
        page.locator('[class*="st-key-nb-browse-"] button:visible').nth(3).click()  # id 3
        settle(page)
        assert not page.evaluate("() => document.querySelector('details').open")
        assert "id=3" in page.url, page.url
        query = page.get_by_text("Query", exact=True).first.bounding_box()
        assert query is not None and query["y"] < DESKTOP["height"] - 200, query  # above the fold
