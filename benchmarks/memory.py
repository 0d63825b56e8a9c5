"""Peak resident memory (RSS of the server's process tree, sampled every 0.1 s) of
`streamlit run streamlit_app.py` serving the demo indexes, one fresh server per variant with
that variant's models loaded by real queries from headless chromium; then one server through
which a visitor tries every variant; then an OpenCLIP ViT-B-32 app; then a build.

    .venv/bin/python -m benchmarks.memory                 # ~5-8 min on 2 cores
    .venv/bin/python -m benchmarks.memory --no-clip --no-build
    .venv/bin/python -m benchmarks.memory --app-env --cache artifacts/cloud-check/cache --no-build

Targets (issue 15, Streamlit Community Cloud): the app's environment under 1 GB on disk; the demo
app at most 444 MB peak; a CLIP ViT-B-32 app under 800 MB. `--app-env` serves from the cached
requirements.txt-only venv (devtools.cloud_env), with the ONNX files found in `--cache` (the
Cloud-like check exports them there), and times `pip install -r requirements.txt` into a new
venv from pip's cache. The browser's own memory is not counted (it runs on the visitor's machine).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks._common import REPO, log, record, table
from benchmarks.app import (
    RssSampler,
    clip_index_root,
    indexes_root,
    query_photo,
    streamlit,
    text_query,
    torch_build,
    upload_query,
    variants,
)
from benchmarks.photos import GALLERY, WORK
from core.paths import CACHE_ENV, environment
from devtools.live import browser

MB = 2**20
DEMO_TARGET_MB, CLIP_TARGET_MB, ENV_TARGET_MB = 444, 800, 1024
K = 12
QUERIES = ("a cat", "a red car")
COLD_VARIANT = "demo-fusion"


def _queries(page, base: str, v: dict, photo: Path) -> None:
    """What loads a variant's models: a text query if it takes text, an upload if images."""
    if v["text"]:
        for q in QUERIES:
            text_query(page, base, v["name"], q, K)
    if v["image"]:
        upload_query(page, base, v["name"], photo, K)


def serve(root: Path, chosen: list[dict], photo: Path, label: str,
          python: str = sys.executable) -> list[object]:
    """One fresh server; RSS when serving, after the first page, and peak over the queries."""
    with streamlit(root, WORK / "logs" / f"memory-{label}.log", python) as server, \
            RssSampler(server.proc.pid) as rss:
        time.sleep(1.0)
        idle = rss.tree_rss()
        with browser() as b:
            page = b.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{server.url}/?index={chosen[0]['name']}", wait_until="networkidle")
            page.get_by_role("heading").first.wait_for(timeout=120_000)
            opened = rss.tree_rss()
            for v in chosen:
                log(f"{label}: queries on {v['name']}")
                _queries(page, server.url, v, photo)
        time.sleep(1.0)
    peak = rss.peak / MB
    target = CLIP_TARGET_MB if "clip" in label else DEMO_TARGET_MB
    return [label, ", ".join(v["spec"].split(",")[0] for v in chosen), torch_build(python),
            idle / MB, opened / MB, peak, rss.last / MB, target,
            "yes" if peak < target or (peak <= target and "clip" not in label) else "no"]


@contextmanager
def cold_cache() -> Iterator[None]:
    """An empty cache folder: the first query exports the ONNX files (as on a new server)."""
    folder = WORK / "cold-cache"
    shutil.rmtree(folder, ignore_errors=True)
    with environment({CACHE_ENV: str(folder)}):
        yield


def build_peak(spec: str, label: str, python: str = sys.executable) -> list[object]:
    """Peak RSS of `python -m core build` over the demo gallery (a fresh process)."""
    out = WORK / "memory-build" / label
    shutil.rmtree(out, ignore_errors=True)  # a fresh build, nothing reused
    cmd = [python, "-m", "core", "build", "--images", str(GALLERY), "--model", spec,
           "--out", str(out), "--force"]
    log(f"build {spec}")
    started = time.perf_counter()
    with (WORK / "logs" / f"memory-build-{label}.log").open("w") as fh:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=fh, stderr=subprocess.STDOUT)
        with RssSampler(proc.pid) as rss:
            proc.wait()
    if proc.returncode != 0:
        log(f"build failed ({proc.returncode}): see {fh.name}")
        return [f"build {label}", spec, torch_build(python), "failed", rss.peak / MB]
    return [f"build {label}", spec, torch_build(python), time.perf_counter() - started,
            rss.peak / MB]


def serve_blocks(root: Path, found: list[dict], photo: Path, py: str,
                 no_clip: bool) -> list[str]:
    """The served-app rows: one fresh server per variant, all variants, cold cache, CLIP."""
    rows = [serve(root, [v], photo, v["name"], py) for v in found]
    if len(found) > 1:
        rows.append(serve(root, found, photo, "all demo variants", py))
    cold = [v for v in found if v["name"] == COLD_VARIANT] or found[:1]
    if torch_build(py) != "not installed":  # without torch an empty cache is an error page
        with cold_cache():
            rows.append(serve(root, cold, photo, "first start, empty cache", py))
    if not no_clip:
        clip_root = clip_index_root()
        rows.append(serve(clip_root, variants(clip_root), photo, "clip ViT-B-32", py))
    return [
        f"Indexes: `{root}` (demo gallery, {len(found)} variants). Each row is a fresh "
        "`streamlit run streamlit_app.py`; headless chromium opens the page and runs what "
        "loads the variant's models: text queries "
        f"{', '.join(repr(q) for q in QUERIES)} on the text page if it takes text, an "
        "uploaded photo on the neighbours page if it takes images. RSS = the server process "
        "tree (psutil), MB = MiB; *serving*: health check answered, no session yet; *page "
        "open*: after the first page rendered; *peak*: highest sample; *end*: after the last "
        "query. *First start, empty cache*: a new machine, where the first queries export "
        "EfficientNet and MiniLM to ONNX in subprocesses (counted: they are in the tree).",
        table(["app", "models", "torch", "serving MB", "page open MB", "peak MB", "end MB",
               "target MB", "under target"], rows, digits=0),
    ]


def app_env_block() -> tuple[str, list[str]]:
    """The served app's venv (built or reused): its python and the disk and install rows."""
    from devtools.cloud_env import VENV, disk_mb, ensure_venv, imports_torch, timed_fresh_install

    python, first = ensure_venv()
    cached = timed_fresh_install()
    disk = disk_mb(VENV)
    version = subprocess.run([python, "--version"], capture_output=True, text=True).stdout
    rows = [["disk (du -s of the venv)", f"{disk:.0f} MB", f"< {ENV_TARGET_MB} MB",
             "yes" if disk < ENV_TARGET_MB else "no"],
            ["pip install -r requirements.txt into a new venv, pip cache warm", f"{cached:.0f} s",
             "time it", "-"],
            ["torch importable there", str(imports_torch(python)), "False", "yes"]]
    if first is not None:
        rows.append(["first install of the cached venv (this run)", f"{first:.0f} s", "-", "-"])
    return python, [f"App environment: `{VENV.relative_to(REPO)}` ({version.strip()}, "
                    "requirements.txt only).",
                    table(["what", "measured", "target", "met"], rows, digits=0)]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--indexes", help="demo indexes folder (default $IMAGE_SEARCH_INDEXES "
                                      "or indexes/)")
    ap.add_argument("--variants", help="comma-separated index names (default: all)")
    ap.add_argument("--no-clip", action="store_true", help="skip the OpenCLIP ViT-B-32 app")
    ap.add_argument("--no-build", action="store_true", help="skip the build measurements")
    ap.add_argument("--no-serve", action="store_true", help="only the build measurements")
    ap.add_argument("--build-models", default="conse:lite0,openclip:ViT-B-32@random")
    ap.add_argument("--python", default=sys.executable,
                    help="interpreter for the servers and builds (e.g. a venv with CPU-only "
                         "torch); default: this one")
    ap.add_argument("--app-env", action="store_true",
                    help="serve from the requirements.txt-only 3.12 venv and measure it")
    ap.add_argument("--cache", help="IMAGE_SEARCH_CACHE for the servers: where their ONNX files "
                                    "are (e.g. artifacts/cloud-check/cache)")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    (WORK / "logs").mkdir(parents=True, exist_ok=True)
    root = Path(args.indexes) if args.indexes else indexes_root()
    found = variants(root)
    if args.variants:
        found = [v for v in found if v["name"] in args.variants.split(",")]
    if not found:
        sys.exit(f"no indexes under {root}: run `python -m core demo` first")
    photo = query_photo()
    py = args.python
    blocks = []
    if args.app_env:
        py, env_blocks = app_env_block()
        blocks += env_blocks
    if not args.no_serve:
        with environment({CACHE_ENV: str(Path(args.cache).resolve())} if args.cache else {}):
            blocks += serve_blocks(root, found, photo, py, args.no_clip)
    if not args.no_build:
        specs = [s for s in args.build_models.split(",") if s]
        if args.no_clip:
            specs = [s for s in specs if not s.startswith("openclip")]
        brows = [build_peak(spec, spec.split(":")[0], py) for spec in specs]
        blocks += ["Build (`python -m core build --images data/gallery`, 371 photos, a new "
                   "index folder), fresh process:",
                   table(["run", "model", "torch", "seconds", "peak MB"], brows, digits=0)]
    blocks.append(f"Run time {time.perf_counter() - started:.0f} s.")
    record("Memory", blocks, write=not args.no_write)


if __name__ == "__main__":
    main()
