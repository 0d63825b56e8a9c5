"""The real app for the memory and start-up benchmarks: `streamlit run streamlit_app.py` on a free
port, Debian's chromium through Playwright, and a sampler of the server's resident memory.

Interface used (documented by the app): env IMAGE_SEARCH_INDEXES = folder of index folders;
`?index=NAME` picks one; the text page has a textbox "Describe the image"; the neighbours page
takes an upload after "Upload an image"; result tiles are <img alt="#rank · ...">.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from benchmarks._common import log
from benchmarks.photos import GALLERY, WORK
from core.paths import indexes_dir
from devtools.live import Server, streamlit_server

START_TIMEOUT_S = 180
RESULTS_TIMEOUT_MS = 600_000  # a cold first query loads the models on a busy 2-core machine
RESULT_TILES = 'img[alt^="#"]'
TEXT_BOX = "Describe the image"


def indexes_root() -> Path:
    """The demo indexes folder: $IMAGE_SEARCH_INDEXES, else indexes/ (what the app scans)."""
    return indexes_dir()


def variants(root: Path) -> list[dict]:
    """Name, spec and query modalities of every index folder under root, from its manifest."""
    out = []
    for folder in sorted(p for p in root.iterdir()
                         if not p.name.startswith(".") and (p / "manifest.json").is_file()):
        enc = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["encoder"]
        out.append({"name": folder.name, "spec": enc["spec"],
                    "text": "text" in enc.get("query_modalities", []),
                    "image": "image" in enc.get("query_modalities", [])})
    return out


def clip_index_root(spec: str = "openclip:ViT-B-32@random") -> Path:
    """A folder holding one OpenCLIP index over the demo gallery (built once, ~1 min here)."""
    root = WORK / "clip-indexes"
    out = root / "demo-clip-random"
    if not (out / "manifest.json").is_file():
        from core.index.build import build_index

        log(f"building {out} with {spec} (once)")
        build_index([GALLERY], spec, out, force=True)
    return root


def torch_build(python: str = sys.executable) -> str:
    """'2.14.1+cu130' or '2.13.0+cpu': which torch wheel an interpreter imports."""
    out = subprocess.run([python, "-c", "import torch; print(torch.__version__)"],
                         capture_output=True, text=True, check=False)
    return out.stdout.strip() or "not installed"


@contextmanager
def streamlit(indexes: Path, log_path: Path, python: str = sys.executable) -> Iterator[Server]:
    """The app server with the benchmarks' patience (a cold start on a busy machine)."""
    with streamlit_server(indexes, log_path, python, START_TIMEOUT_S) as server:
        yield server


@dataclass
class RssSampler:
    """Peak resident memory of a process and its descendants, sampled every `every` seconds."""

    pid: int
    every: float = 0.1
    peak: int = 0
    last: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def tree_rss(self) -> int:
        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0
        total = 0
        for p in procs:
            with suppress(psutil.NoSuchProcess):
                total += p.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.last = self.tree_rss()
            self.peak = max(self.peak, self.last)
            self._stop.wait(self.every)

    def __enter__(self) -> RssSampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self.last = self.tree_rss() or self.last
        self.peak = max(self.peak, self.last)


def wait_for_tiles(page, count: int, timeout_ms: int = RESULTS_TIMEOUT_MS,
                   previous: list[str] | None = None) -> None:
    """Until `count` result tiles are decoded images (and differ from `previous`, if given)."""
    page.wait_for_function(
        """([n, prev]) => {
            const imgs = [...document.querySelectorAll('img[alt^="#"]')];
            if (imgs.length < n || !imgs.every(i => i.complete && i.naturalWidth > 0)) return false;
            return prev === null || imgs.map(i => i.alt).join("|") !== prev.join("|");
        }""", arg=[count, previous], timeout=timeout_ms, polling=50)


def tile_alts(page) -> list[str]:
    return page.locator(RESULT_TILES).evaluate_all("imgs => imgs.map(i => i.alt)")


def text_query(page, base: str, index: str, text: str, k: int, goto: bool = True) -> None:
    """Type a query on the text page (opening it first if `goto`) and wait for k tiles."""
    if goto:
        page.goto(f"{base}/text_search?index={index}&k={k}", wait_until="domcontentloaded")
    before = tile_alts(page) if not goto else None
    box = page.get_by_role("textbox", name=TEXT_BOX)
    box.wait_for(timeout=RESULTS_TIMEOUT_MS)
    box.fill(text)
    box.press("Enter")
    wait_for_tiles(page, k, previous=before or None)


def upload_query(page, base: str, index: str, image: Path, k: int) -> None:
    """Upload an image on the neighbours page and wait for k tiles (loads the image model)."""
    page.goto(f"{base}/neighbours?index={index}&k={k}", wait_until="domcontentloaded")
    page.get_by_text("Upload an image").click(timeout=RESULTS_TIMEOUT_MS)
    page.locator('input[type="file"]').set_input_files(str(image), timeout=RESULTS_TIMEOUT_MS)
    wait_for_tiles(page, k)


REVIEW_VARIANTS = ("demo-fusion", "demo-conse", "demo-captions")
REVIEW_SET = "demo-gallery"  # core/eval/query_sets: 30 queries


def review_page(page, base: str, variants: tuple[str, ...] = REVIEW_VARIANTS,
                queries: int = 30, k: int = 10) -> None:
    """Open the review page's compact view of the shipped query set on `variants` and wait
    until every strip (one per query and variant) is a decoded image."""
    page.goto(f"{base}/review?with={','.join(variants)}&set={REVIEW_SET}&view=compact&k={k}",
              wait_until="domcontentloaded")
    page.wait_for_function(
        """n => {
            const imgs = [...document.querySelectorAll('img[alt^="strip "]')];
            return imgs.length === n && imgs.every(i => i.complete && i.naturalWidth > 0);
        }""", arg=queries * len(variants), timeout=RESULTS_TIMEOUT_MS, polling=50)


def query_photo() -> Path:
    """A real photo to upload (scikit-image's cat), written once."""
    path = WORK / "query-chelsea.jpg"
    if not path.is_file():
        from PIL import Image
        from skimage import data

        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(data.chelsea()).save(path, "JPEG", quality=90)
    return path
