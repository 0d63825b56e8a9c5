"""Seconds from `streamlit run streamlit_app.py` to the first rendered search results in the
browser, cold (a fresh server: the first query loads the models) and warm (a second visitor's
page load with the same query, and a second, different query in the same page).

    .venv/bin/python -m benchmarks.startup                 # 3 cold starts, ~3-5 min on 2 cores
    .venv/bin/python -m benchmarks.startup --repeats 5 --index demo-conse
    .venv/bin/python -m benchmarks.startup --pages         # every page's first render, ~5 min

"Rendered" = every result tile is a decoded <img> in headless chromium. The OS file cache is
warm (the libraries were read before), as on a server that restarts, not one that just booted.

`--pages` opens each page as the first visitor of its own fresh server (its first render is
then its cold cost: imports, models, computations) and times it from the request until the page
has *settled*: its title and own content are on screen, and for 0.4 s no script is running,
no spinner, skeleton or stale element is left and every image on screen is decoded (a
progress bar may stay: the Recommender's vote count is one).
"""

from __future__ import annotations

import argparse
import time
from urllib.parse import parse_qs, urlparse

from benchmarks._common import log, median, record, table
from benchmarks.app import (
    RESULT_TILES,
    RESULTS_TIMEOUT_MS,
    REVIEW_VARIANTS,
    TEXT_BOX,
    indexes_root,
    review_page,
    streamlit,
)
from benchmarks.app import text_query as run_text_query
from benchmarks.photos import WORK
from devtools.live import browser

K = 12
FIRST, SECOND = "a cat", "a red car"
# Page url path -> (title, CSS selector of the page's own content, beyond its title).
PAGES = {
    "": ("Home", "h1"),
    "text_search": ("Text search", 'input[aria-label="Describe the image"]'),
    "neighbours": ("Image neighbours", "h1"),
    "compare": ("Compare variants", "h1"),
    "review": ("Review variants", "h1"),
    "image_to_text": ("Image to text", '[data-testid="stDataFrame"]'),
    "evaluation": ("Evaluation", "h1"),
    "explorer": ("Cluster explorer", '[data-testid="stVegaLiteChart"]'),
    "explorer?proj=tsne": ("Cluster explorer, t-SNE", '[data-testid="stVegaLiteChart"]'),
    "recommender": ("Recommender", "h1"),
}
SETTLED_JS = """sel => {
    if (!document.querySelector("h1") || !document.querySelector(sel)) return false;
    const busy = '[data-testid="stStatusWidgetRunningIcon"], [data-testid="stStatusWidgetRunning'
        + 'ManIcon"], [data-testid="stSpinner"], [data-testid="stSkeleton"], '
        + '[data-testid="stAppSkeleton"], [data-stale="true"]';
    if (document.querySelector(busy)) return false;
    const seen = [...document.images].filter(i => {  // lazy images below the fold never load
        const r = i.getBoundingClientRect();
        return i.offsetParent !== null && r.bottom > 0 && r.top < innerHeight; });
    return seen.every(i => i.complete);
}"""
STEADY_S = 0.4


def one_start(index: str | None, run: int) -> tuple[dict[str, float], str]:
    """One fresh server, the timings of one visit (seconds since `streamlit run`) and the index
    the page searched (from its URL)."""
    query = f"&index={index}" if index else ""
    out: dict[str, float] = {}
    with browser() as b, streamlit(indexes_root(), WORK / "logs" / f"startup-{run}.log") as srv:
        t0 = srv.started
        out["serving"] = srv.serving
        page = b.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{srv.url}/text_search?k={K}{query}", wait_until="domcontentloaded")
        page.get_by_role("textbox", name=TEXT_BOX).wait_for(timeout=RESULTS_TIMEOUT_MS)
        out["page usable"] = time.perf_counter() - t0
        typed = time.perf_counter()
        run_text_query(page, srv.url, index or "", FIRST, K, goto=False)
        out["first results"] = time.perf_counter() - t0
        out["cold query"] = time.perf_counter() - typed
        chosen = parse_qs(urlparse(page.url).query).get("index", ["?"])[0]
        # A second visitor: new browser context, same query, models and results cached.
        second = b.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        start = time.perf_counter()
        second.goto(f"{srv.url}/text_search?k={K}{query}", wait_until="domcontentloaded")
        run_text_query(second, srv.url, index or "", FIRST, K, goto=False)
        out["warm page load + query"] = time.perf_counter() - start
        start = time.perf_counter()
        run_text_query(second, srv.url, index or "", SECOND, K, goto=False)
        out["warm new query"] = time.perf_counter() - start
        if all((indexes_root() / v).is_dir() for v in REVIEW_VARIANTS):
            review_timings(b, srv.url, out)
    return out, chosen


def settle(page, selector: str, t0: float, timeout_s: float = RESULTS_TIMEOUT_MS / 1000) -> float:
    """Seconds from t0 until the page settled (see the module doc) and stayed so STEADY_S."""
    since = None
    while time.perf_counter() - t0 < timeout_s:
        now = time.perf_counter()
        if page.evaluate(SETTLED_JS, selector):
            since = since or now
            if now - since >= STEADY_S:
                return since - t0
        else:
            since = None
        page.wait_for_timeout(50)
    raise TimeoutError(f"{page.url} did not settle in {timeout_s:.0f} s")


def page_firsts(index: str | None, run: int) -> dict[str, float]:
    """Each page's first render on its own fresh server (request to settled, seconds)."""
    out: dict[str, float] = {}
    query = f"index={index}" if index else ""
    with browser() as b:
        for path, (title, selector) in PAGES.items():
            log(f"  {title}")
            logfile = WORK / "logs" / f"startup-pages-{run}.log"
            with streamlit(indexes_root(), logfile) as srv:
                page = b.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                sep = "&" if "?" in path else "?"
                t0 = time.perf_counter()
                page.goto(f"{srv.url}/{path}{sep if query else ''}{query}",
                          wait_until="domcontentloaded")
                out[title] = settle(page, selector, t0)
                log(f"    {out[title]:.2f} s")
                page.context.close()
    return out


def review_timings(b, base: str, out: dict[str, float]) -> None:
    """The review page, 30 queries x 3 variants in its compact view: first visit (90 new
    searches, models loaded) and a second visitor (searches cached); then one mark in the
    one-query view until its tile says so."""
    for label in ("review 30 × 3: first", "review 30 × 3: second visitor"):
        page = b.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        start = time.perf_counter()
        review_page(page, base)
        out[label] = time.perf_counter() - start
    page.locator(".st-key-rev-open-0 button").first.click()  # compact -> one query
    page.locator(RESULT_TILES).first.wait_for(timeout=RESULTS_TIMEOUT_MS)
    start = time.perf_counter()
    page.locator(".st-key-rev-m-0-0-1 button").first.click()
    page.wait_for_function(
        """() => { const i = document.querySelector('img[alt^="#1 "]');
                   return i && i.alt.endsWith("· relevant"); }""", timeout=RESULTS_TIMEOUT_MS)
    out["review: one mark to updated page"] = time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", help="index name (default: the app's default index)")
    ap.add_argument("--repeats", type=int, default=3, help="cold starts")
    ap.add_argument("--pages", action="store_true",
                    help="time each page's first render on a fresh server instead")
    ap.add_argument("--label", default="", help="a note for the table (e.g. 'before')")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    if args.pages:
        return pages_main(args, started)
    runs, chosen = [], set()
    for i in range(args.repeats):
        log(f"cold start {i + 1}/{args.repeats}")
        timings, name = one_start(args.index, i)
        runs.append(timings)
        chosen.add(name)
    names = list(runs[0])
    rows = [[name, median([r[name] for r in runs]), min(r[name] for r in runs),
             max(r[name] for r in runs)] for name in names]
    blocks = [
        f"Index: {', '.join(sorted(chosen))} ({'asked' if args.index else 'the app default'}) in "
        f"`{indexes_root()}`; k = {K}; {args.repeats} fresh servers. Times in seconds: "
        "*serving* = `streamlit run` to the health check answering; *page usable* = to the "
        f"text box on screen; *first results* = to all {K} tiles of the first query ({FIRST!r}) "
        "decoded (cold: the query loads the models); *cold query* = that query alone, from "
        "Enter; *warm page load + query* = a second visitor (new browser context) opening the "
        "page and asking the same query; *warm new query* = then a different one "
        f"({SECOND!r}); *review 30 × 3* = the Review variants page, compact view of the "
        f"shipped 30-query set on {', '.join(REVIEW_VARIANTS)} (k = 10), until all 90 strips "
        "are decoded: *first* runs the 90 searches, a *second visitor* finds them cached; "
        "*one mark* = a click on a result's relevant button until its tile says so.",
        table(["phase", "median s", "min s", "max s"], rows, digits=2),
        f"Run time {time.perf_counter() - started:.0f} s.",
    ]
    record("Start-up", blocks, write=not args.no_write)


def pages_main(args: argparse.Namespace, started: float) -> None:
    runs = []
    for i in range(args.repeats):
        log(f"pages, fresh servers {i + 1}/{args.repeats}")
        runs.append(page_firsts(args.index, i))
    rows = [[name, median([r[name] for r in runs]), min(r[name] for r in runs),
             max(r[name] for r in runs), "yes" if median([r[name] for r in runs]) < 3 else "no"]
            for name in runs[0]]
    blocks = [
        f"{args.label + ': ' if args.label else ''}first render of each page, each page the "
        f"first visitor of its own fresh server; index {args.index or 'the app default'} in "
        f"`{indexes_root()}`; {args.repeats} run(s). Seconds from the request until the page "
        "settled (title and its own content on screen; for 0.4 s no script running, no "
        "spinner, skeleton or stale element, every image on screen decoded).",
        table(["page", "median s", "min s", "max s", "< 3 s"], rows, digits=2),
        f"Run time {time.perf_counter() - started:.0f} s.",
    ]
    record("Start-up, first render of each page", blocks, write=not args.no_write)


if __name__ == "__main__":
    main()
