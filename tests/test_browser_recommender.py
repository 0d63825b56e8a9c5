"""The Recommender and Cluster explorer pages in a real headless browser (Debian chromium).

Reuses the `streamlit run` server fixture and settings of test_browser.py; skipped the same way
where `chromium` is not on PATH. Screenshots go to artifacts/ (git-ignored).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from test_browser import (  # noqa: F401 (server is a fixture)
    ARTIFACTS,
    assert_rendered,
    browser_page,
    pytestmark,
    server,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

CANDIDATE = 'img[alt^="candidate "]'
PAGE_TIMEOUT_MS = 120_000
VOTES = ["Like", "Dislike"] * 3  # the SVM trains at 3 likes and 3 dislikes


def _candidate(page: Page) -> str | None:
    return page.locator(CANDIDATE).first.get_attribute("alt")


def _vote(page: Page, label: str) -> None:
    """Click a vote button and wait for the next candidate to replace the current one."""
    before = _candidate(page)
    page.locator(f".st-key-rec-{label.lower()} button").click()
    page.wait_for_function(
        """before => {
            const img = document.querySelector('img[alt^="candidate "]');
            return img && img.alt !== before && img.complete && img.naturalWidth > 0;
        }""", arg=before, timeout=PAGE_TIMEOUT_MS)


def test_recommender_trains_in_browser(server: str) -> None:  # noqa: F811
    shot = ARTIFACTS / "recommender.png"
    with browser_page(1400, 1700) as page:
        page.goto(f"{server}/recommender", wait_until="domcontentloaded")
        page.locator(CANDIDATE).first.wait_for(timeout=PAGE_TIMEOUT_MS)
        page.get_by_text("The ranking appears once the model is trained").wait_for()
        seen = [_candidate(page)]
        for label in VOTES:
            _vote(page, label)
            seen.append(_candidate(page))
        assert len(set(seen)) == len(seen), seen  # a voted image never comes back
        page.get_by_text("The model is trained on your 6 votes").wait_for(
            timeout=PAGE_TIMEOUT_MS)
        page.wait_for_function(
            """() => {
                const imgs = [...document.querySelectorAll('img[alt^="#"]')];
                return imgs.length === 2 && imgs.every(i => i.complete && i.naturalWidth > 0);
            }""", timeout=PAGE_TIMEOUT_MS)  # 8 test images - 6 votes, ranked by score
        alts = page.locator('img[alt^="#"]').evaluate_all("imgs => imgs.map(i => i.alt)")
        assert alts[0].startswith("#1 · ") and alts[1].startswith("#2 · "), alts
        scores = [float(a.split(" · ")[1]) for a in alts]
        assert scores[0] >= scores[1], alts
        page.wait_for_timeout(500)  # let the grid settle before the picture
        page.screenshot(path=str(shot), full_page=True)
    assert_rendered(shot, 1400, min_colours=20_000)


def test_explorer_tooltip_shows_the_thumbnail(server: str) -> None:  # noqa: F811
    shot = ARTIFACTS / "explorer.png"
    with browser_page(1400, 1100) as page:
        page.goto(f"{server}/explorer?k=3", wait_until="domcontentloaded")
        scatter = page.locator(".stVegaLiteChart").first  # the other charts are in tabs
        points = scatter.locator("g.mark-symbol.role-mark path")
        points.first.wait_for(timeout=PAGE_TIMEOUT_MS)
        top = points.last  # drawn last: no other point covers it
        box = top.bounding_box()
        assert box is not None
        centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.move(*centre)
        tooltip = page.locator("#vg-tooltip-element.visible img")
        tooltip.wait_for(timeout=10_000)
        src = tooltip.get_attribute("src") or ""
        assert src.startswith("data:image/jpeg;base64,"), src[:60]
        page.wait_for_function(
            """() => {
                const img = document.querySelector('#vg-tooltip-element img');
                return img && img.complete && img.naturalWidth > 0;
            }""", timeout=10_000)
        page.mouse.click(*centre)
        page.get_by_text("1 selected image").wait_for(timeout=PAGE_TIMEOUT_MS)
        page.wait_for_timeout(500)
        page.screenshot(path=str(shot), full_page=True)
    assert_rendered(shot, 1400, min_colours=2_000)
