"""The real app in a real headless browser: `streamlit run` + Playwright + Debian's chromium.

Skipped (with the reason) where `chromium` is not on PATH; CI installs it. The screenshot goes to
artifacts/ (git-ignored) so a person can check the app still looks right.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not on PATH (install Debian's "
                       "`chromium` package to run the browser test)"),
]

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
START_TIMEOUT_S = 90
RESULTS_TIMEOUT_MS = 240_000  # the first text query loads the model in the server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_serving(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"streamlit did not serve within {START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def server(index_root: Path, tmp_path: Path) -> Iterator[str]:
    """`streamlit run streamlit_app.py` on a free port, scanning the test indexes."""
    port = _free_port()
    log = tmp_path / "streamlit.log"
    env = dict(os.environ, IMAGE_SEARCH_INDEXES=str(index_root))
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(REPO / "streamlit_app.py"),
             "--server.port", str(port), "--server.headless", "true",
             "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@contextlib.contextmanager
def browser_page(width: int, height: int) -> Iterator[Page]:
    """A page in headless Debian chromium; the browser is closed whatever the test does."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()


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
    assert shot.is_file() and shot.stat().st_size > 10_000
