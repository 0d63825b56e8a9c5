"""Keyboard navigation in the results grid and the CSV download, in a real headless browser over
the small real gallery of filter_gallery.py (`streamlit run` + Playwright + Debian chromium)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from filter_gallery import build_gallery_index, make_gallery
from test_browser import CHROMIUM, RESULTS_TIMEOUT_MS, START_TIMEOUT_S, browser_page

from devtools.live import ServerFailed, streamlit_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not on PATH (install Debian's "
                       "`chromium` package to run the browser test)"),
]
TILES = '[class*="st-key-tiles-"] .stButton button'  # the cards' buttons (and twins)
SHOWN = f"""[...document.querySelectorAll('{TILES}')].filter(b => b.getClientRects().length)"""
FOCUSED = f"() => {SHOWN}.indexOf(document.activeElement)"


@pytest.fixture(scope="module")
def server(tmp_path_factory, photos) -> Iterator[str]:
    base = tmp_path_factory.mktemp("browser-results")
    build_gallery_index(make_gallery(base / "gallery", photos), base / "indexes" / "gallery")
    try:
        with streamlit_server(base / "indexes", base / "streamlit.log",
                              start_timeout_s=START_TIMEOUT_S) as srv:
            yield srv.url
    except ServerFailed as e:
        pytest.fail(str(e))


def open_results(page, server: str, k: int) -> None:
    page.goto(f"{server}/text_search?q=a+ginger+cat&k={k}", wait_until="domcontentloaded")
    page.locator('img[alt^="#"]').nth(k - 1).wait_for(timeout=RESULTS_TIMEOUT_MS)
    page.wait_for_function(f"() => {SHOWN}.length === {k}", timeout=60_000)


def test_arrow_keys_move_across_result_cards_and_enter_opens_one(server: str) -> None:
    with browser_page(1400, 1000) as page:
        open_results(page, server, 8)
        page.evaluate("document.activeElement.blur()")  # focus on the page, not the query box
        page.keyboard.press("j")  # jumps into the grid
        assert page.evaluate(FOCUSED) == 0
        moves = [("ArrowRight", 1), ("l", 2), ("k", 1), ("ArrowLeft", 0), ("ArrowDown", 5),
                 ("ArrowUp", 0), ("End", 7), ("Home", 0), ("j", 1)]
        for key, expected in moves:
            page.keyboard.press(key)
            assert page.evaluate(FOCUSED) == expected, key
        alt = page.locator('img[alt^="#2 · "]').first.get_attribute("alt")
        page.keyboard.press("Enter")  # the focused card's button: its detail dialog
        dialog = page.get_by_role("dialog")
        dialog.wait_for(timeout=30_000)
        assert dialog.get_by_text("Image details").count() >= 1
        # the dialog's frame can be on screen before its body: wait for the file name in it
        dialog.get_by_text(alt.rsplit(" · ", 1)[-1]).first.wait_for(timeout=30_000)
        page.keyboard.press("Escape")
        dialog.wait_for(state="detached", timeout=30_000)
        page.keyboard.press("ArrowRight")  # typing in a text box never moves the focus
        box = page.get_by_role("textbox", name="Describe the image")
        box.focus()
        page.keyboard.press("j")
        assert page.evaluate(FOCUSED) == -1 and box.input_value().endswith("j")


def test_stacked_phone_layout_moves_down_to_the_next_card(server: str) -> None:
    with browser_page(390, 844) as page:
        open_results(page, server, 4)
        page.evaluate("document.activeElement.blur()")
        page.keyboard.press("j")
        page.keyboard.press("ArrowDown")
        assert page.evaluate(FOCUSED) == 1  # one card per row at 390 px: below is the next


def test_csv_download_in_the_browser(server: str) -> None:
    with browser_page(1400, 1000) as page:
        open_results(page, server, 5)
        with page.expect_download(timeout=60_000) as info:
            page.get_by_role("button", name="CSV").click()
        path = Path(info.value.path())
        rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
        alts = page.locator('img[alt^="#"]').evaluate_all("imgs => imgs.map(i => i.alt)")
        assert [r["rel_path"].rsplit("/", 1)[-1] for r in rows] == [
            a.rsplit(" · ", 1)[-1] for a in alts]
        assert info.value.suggested_filename == "search-gallery.csv"
