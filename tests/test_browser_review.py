"""The Review variants page in a real headless browser (Debian chromium): a shipped query set
on two indexes, one click marks a result, the live figures and the tiles change, and the
arrow key moves to the next query.

Reuses the `streamlit run` server fixture of test_browser.py; skipped the same way where
`chromium` is not on PATH. The screenshot goes to artifacts/ (git-ignored).
"""

from __future__ import annotations

import math

from test_browser import (  # noqa: F401 (server is a fixture)
    ARTIFACTS,
    RESULTS_TIMEOUT_MS,
    assert_rendered,
    browser_page,
    pytestmark,
    server,
)

K = 4
TILES = 'img[alt^="#"]'


def test_marking_moves_the_metrics_in_browser(server: str) -> None:  # noqa: F811
    shot = ARTIFACTS / "review.png"
    with browser_page(1400, 1600) as page:
        page.goto(f"{server}/review?with=conse,captions&set=demo-gallery&k={K}",
                  wait_until="domcontentloaded")
        page.locator(TILES).nth(2 * K - 1).wait_for(timeout=RESULTS_TIMEOUT_MS)
        page.get_by_text("Query 1 of 30").wait_for(timeout=60_000)
        metrics = page.locator('[data-testid="stMetricValue"]')
        assert metrics.all_inner_texts() == ["0.000", "0.000"]
        alts = page.locator(TILES).evaluate_all("imgs => imgs.map(i => i.alt)")
        conse = alts[0::2]  # rank by rank, conse then captions
        rank = next(r for r, alt in enumerate(conse) if "chelsea.jpg" in alt)
        page.locator(f".st-key-rev-m-0-{rank}-1 button").first.click()  # chelsea: relevant
        expected = f"{1 / math.log2(rank + 2) / 30:.3f}"
        page.wait_for_function(
            """want => [...document.querySelectorAll('[data-testid="stMetricValue"]')]
                       .some(m => m.innerText === want)""", arg=expected, timeout=60_000)
        page.wait_for_function(
            """() => [...document.querySelectorAll('img[alt^="#"]')]
                       .some(i => i.alt.includes("chelsea.jpg · relevant"))""", timeout=60_000)
        assert metrics.all_inner_texts()[0] == expected
        showing = sum("chelsea.jpg" in alt for alt in alts)  # one mark counts in every list
        page.get_by_text(f"{2 * 30 * K - showing} of {2 * 30 * K} results are unmarked").wait_for()
        page.mouse.click(5, 300)  # focus on the page, not a text box, for the shortcut
        page.keyboard.press("ArrowRight")
        page.get_by_text("Query 2 of 30").wait_for(timeout=60_000)
        page.wait_for_function(
            """n => {
                const imgs = [...document.querySelectorAll('img[alt^="#"]')];
                return imgs.length === n && imgs.every(i => i.complete && i.naturalWidth > 0);
            }""", arg=2 * K, timeout=60_000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(shot), full_page=True)
    assert_rendered(shot, 1400, min_colours=5_000)


def test_an_uploaded_photo_joins_the_query_set(server: str, tmp_path, photos) -> None:  # noqa: F811
    """A photo uploaded as an image query becomes query 31, answered by the image-capable
    index; the captions index says it cannot take images."""
    photos["chelsea"].convert("RGB").resize((200, 150)).rotate(6).save(tmp_path / "my_cat.jpg")
    with browser_page(1400, 1400) as page:
        page.goto(f"{server}/review?with=conse,captions&set=demo-gallery&k={K}",
                  wait_until="domcontentloaded")
        page.get_by_text("Query 1 of 30").wait_for(timeout=RESULTS_TIMEOUT_MS)
        page.locator('.st-key-rev-images input[type="file"]').set_input_files(
            str(tmp_path / "my_cat.jpg"))
        page.get_by_text("Query 1 of 31").wait_for(timeout=RESULTS_TIMEOUT_MS)
        for n in range(2, 32):  # → to the last query, one rerun at a time
            page.mouse.click(5, 300)
            page.keyboard.press("ArrowRight")
            page.get_by_text(f"Query {n} of 31").wait_for(timeout=60_000)
        page.get_by_text("upload my_cat.jpg").first.wait_for(timeout=60_000)
        page.get_by_text("cannot answer image").first.wait_for(timeout=60_000)
        page.locator(TILES).nth(K - 1).wait_for(timeout=60_000)
        alts = page.locator(TILES).evaluate_all("imgs => imgs.map(i => i.alt)")
        assert len(alts) == K and "chelsea.jpg" in alts[0], alts
