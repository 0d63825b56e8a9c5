"""The real app in a real headless browser: `streamlit run` + Playwright + Debian's chromium.

Skipped (with the reason) where `chromium` is not on PATH; CI installs it. The screenshot goes to
artifacts/ (git-ignored) so a person can check the app still looks right.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from devtools.live import ServerFailed, browser, chromium_path, streamlit_server

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = chromium_path()
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not on PATH (install Debian's "
                       "`chromium` package to run the browser test)"),
]

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "artifacts"
START_TIMEOUT_S = 90
RESULTS_TIMEOUT_MS = 240_000  # the first text query loads the model in the server


@pytest.fixture
def server(index_root: Path, tmp_path: Path) -> Iterator[str]:
    """`streamlit run streamlit_app.py` on a free port, scanning the test indexes."""
    try:
        with streamlit_server(index_root, tmp_path / "streamlit.log",
                              start_timeout_s=START_TIMEOUT_S) as srv:
            yield srv.url
    except ServerFailed as e:
        pytest.fail(str(e))


@contextlib.contextmanager
def browser_page(width: int, height: int) -> Iterator[Page]:
    """A page in headless Debian chromium; the browser is closed whatever the test does."""
    ARTIFACTS.mkdir(exist_ok=True)
    with browser() as b:
        yield b.new_page(viewport={"width": width, "height": height})


def assert_rendered(shot: Path, width: int, min_colours: int) -> None:
    """The screenshot is the page at the viewport's width and shows pictures, not a blank or
    text-only page: a rendered photo grid or thumbnail has thousands of colours, a page of
    widgets and text a few hundred."""
    from PIL import Image

    with Image.open(shot) as img:
        rgb = img.convert("RGB")
    colours = rgb.getcolors(maxcolors=1 << 24) or []
    assert rgb.width == width, rgb.size
    assert len(colours) >= min_colours, (shot.name, len(colours))


def test_text_search_in_browser(server: str) -> None:
    shot = ARTIFACTS / "text_search.png"
    with browser_page(1400, 1000) as page:
        page.goto(f"{server}/text_search?k=8", wait_until="domcontentloaded")
        box = page.get_by_role("textbox", name="Describe the image")
        box.wait_for(timeout=60_000)
        # a deep link on a fresh server still runs the entrypoint (pages/ legacy mode is off):
        # the global index selector is in the sidebar
        page.get_by_text("Index (model variant)").first.wait_for(timeout=30_000)
        box.fill("a ginger cat")
        box.press("Enter")
        results = page.locator('img[alt^="#"]')
        results.nth(7).wait_for(timeout=RESULTS_TIMEOUT_MS)
        page.wait_for_function(
            """() => {
                const imgs = [...document.querySelectorAll('img[alt^="#"]')];
                return imgs.length === 8 && imgs.every(i => i.complete && i.naturalWidth > 0);
            }""", timeout=60_000)
        widths = results.evaluate_all("imgs => imgs.map(i => i.naturalWidth)")
        alts = results.evaluate_all("imgs => imgs.map(i => i.alt)")
        assert len(widths) == 8 and min(widths) > 0, widths
        assert alts[0].startswith("#1 · ") and "chelsea.jpg" in alts[0], alts
        assert "q=a+ginger+cat" in page.url or "q=a%20ginger%20cat" in page.url, page.url
        page.mouse.wheel(0, 0)
        page.wait_for_timeout(500)  # let the grid settle before the picture
        page.screenshot(path=str(shot), full_page=True)
    assert_rendered(shot, 1400, min_colours=20_000)
