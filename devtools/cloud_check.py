"""Cloud-like check: the served app from `requirements.txt` alone (Python 3.12, no torch) answers
a text query and an upload on committed-style indexes in headless chromium, and never imports
torch. `bash scripts/cloud_check.sh [--indexes DIR]` runs it (README, "Deploying").

The build side runs here (the dev environment: torch, the weights, Playwright): plain copies of
the demo indexes (`cp -rL`: no version symlinks, as a commit would hold them), an
`openclip:ViT-B-32@random` index, and `python -m core export-onnx --indexes` into the folder the
server reads its ONNX files from. The server runs in the cached 3.12 venv
(devtools.cloud_env) with IMAGE_SEARCH_DEBUG_MODULES set; after every query the check reads
the server's module list, and at the end every process of the server's tree is checked for
libtorch in /proc/PID/maps.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psutil

from benchmarks.app import (
    RssSampler,
    clip_index_root,
    query_photo,
    text_query,
    upload_query,
    variants,
)
from core.encoders.registry import canonical
from core.errors import UserError
from core.paths import CACHE_ENV, indexes_dir
from devtools.cloud_env import VENV, disk_mb, ensure_venv, imports_torch
from devtools.live import REPO, browser, streamlit_server

WORK = REPO / "artifacts" / "cloud-check"
K = 8
MB = 2**20


def committed_copy(sources: list[Path], out: Path) -> Path:
    """Plain copies of the indexes (a later folder's index replaces an earlier one of the same
    name) plus the OpenCLIP one, in one folder, as a deployment commits them. An index whose
    spec this checkout cannot parse (built by a newer one) is left out, and said so."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for folder in [f for src in [*sources, clip_index_root()] for f in sorted(src.iterdir())]:
        if folder.name.startswith(".") or not (folder / "manifest.json").is_file():
            continue
        spec = json.loads((folder / "manifest.json").read_text())["encoder"]["spec"]
        try:
            canonical(spec)
        except UserError as e:
            print(f"  left out {folder}: {e}")
            continue
        shutil.rmtree(out / folder.name, ignore_errors=True)
        shutil.copytree(folder, out / folder.name, symlinks=False)  # cp -rL
    return out


def export_onnx(indexes: Path, onnx_dir: Path) -> None:
    """What a deployment ships: every file the indexes' models answer on (build side)."""
    subprocess.run([sys.executable, "-m", "core", "export-onnx", "--out", str(onnx_dir),
                    "--indexes", str(indexes)], cwd=REPO, check=True, stdout=subprocess.DEVNULL)


def torch_libraries(pid: int) -> list[str]:
    """libtorch* mapped into any process of the tree rooted at pid."""
    found = set()
    root = psutil.Process(pid)
    for proc in [root, *root.children(recursive=True)]:
        try:
            maps = Path(f"/proc/{proc.pid}/maps").read_text()
        except OSError:
            continue
        found |= {line.split()[-1] for line in maps.splitlines() if "libtorch" in line}
    return sorted(found)


def missing_onnx_message(python: str, empty_cache: Path) -> str:
    """What the app's loader says on a server with no ONNX file for a model (a user error)."""
    code = ("from core.errors import UserError\nfrom core.encoders.registry import load_encoder\n"
            "try:\n    load_encoder('openclip:ViT-B-32@random')\n"
            "except UserError as e:\n    print('UserError:', e)\n")
    env = {**os.environ, CACHE_ENV: str(empty_cache)}
    out = subprocess.run([python, "-c", code], cwd=REPO, env=env, capture_output=True, text=True)
    return (out.stdout.strip() or out.stderr.strip().splitlines()[-1])[:300]


def run_queries(base: str, found: list[dict], modules: Path, photo: Path) -> list[dict]:
    """One query per index (text if it takes text, else an upload), an upload on OpenCLIP;
    the server's heavy modules read after each."""
    rows = []
    with browser() as b:
        page = b.new_page(viewport={"width": 1400, "height": 1000})
        for v in found:
            kinds = ["text"] if v["text"] else ["upload"]
            if v["spec"].startswith("openclip:") and v["image"]:
                kinds.append("upload")
            for kind in kinds:
                if kind == "text":
                    text_query(page, base, v["name"], "a cat", K)
                else:
                    upload_query(page, base, v["name"], photo, K)
                heavy = json.loads(modules.read_text())["heavy"]
                rows.append({"index": v["name"], "spec": v["spec"], "query": kind,
                             "heavy modules": heavy})
                print(f"  {v['name']:22} {kind:6} {K} results; torch-side modules: {heavy}")
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--indexes", nargs="+", default=[str(indexes_dir())], metavar="DIR",
                    help="folders of indexes to copy (default: the app's indexes folder)")
    args = ap.parse_args(argv)
    python, installed_s = ensure_venv()
    print(f"app venv {VENV}: {disk_mb(VENV):.0f} MB on disk; torch importable there: "
          f"{imports_torch(python)}; " + (f"installed in {installed_s:.0f} s" if installed_s
                                         else "cached"))
    indexes = committed_copy([Path(d) for d in args.indexes], WORK / "indexes")
    cache = WORK / "cache"
    export_onnx(indexes, cache / "onnx")
    modules = WORK / "server-modules.json"
    modules.unlink(missing_ok=True)
    os.environ.update({CACHE_ENV: str(cache), "IMAGE_SEARCH_DEBUG_MODULES": str(modules)})
    found = variants(indexes)
    with streamlit_server(indexes, WORK / "server.log", python, 180) as server, \
            RssSampler(server.proc.pid) as rss:
        rows = run_queries(server.url, found, modules, query_photo())
        libs = torch_libraries(server.proc.pid)
    log_text = (WORK / "server.log").read_text()
    message = missing_onnx_message(python, WORK / "empty-cache")
    ok = (not libs and not any(r["heavy modules"] for r in rows) and "Traceback" not in log_text
          and message.startswith("UserError:") and "export-onnx" in message)
    result = {"ok": ok, "queries": rows, "libtorch mapped": libs, "peak RSS MB": rss.peak / MB,
              "venv MB": disk_mb(VENV), "missing ONNX": message,
              "traceback in server log": "Traceback" in log_text}
    (WORK / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    print(f"libtorch mapped in the server tree: {libs or 'none'}; peak RSS "
          f"{rss.peak / MB:.0f} MB; traceback in the log: {'Traceback' in log_text}")
    print(f"no ONNX file on a torch-free server -> {message}")
    print("CLOUD CHECK " + ("PASSED" if ok else "FAILED") + f" ({WORK / 'result.json'})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
