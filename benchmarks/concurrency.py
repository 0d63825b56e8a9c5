"""Many visitors at once: queries per second against one loaded index with 1, 4 and 8 client
threads, for every demo variant (the app serves every visitor from one process, sharing the
index and the encoder through st.cache_resource).

    .venv/bin/python -m benchmarks.concurrency                 # ~3 min on 2 cores
    IMAGE_SEARCH_SERIAL=0 .venv/bin/python -m benchmarks.concurrency   # without the run lock

Text-capable variants answer text queries (real phrases: the model's text side, then search);
demo-efficientnet answers "more like this" by image id (no model). Target: throughput at 8
clients >= sequential for every variant.
"""

from __future__ import annotations

import argparse
import os
import re
import threading
import time
from pathlib import Path

from benchmarks._common import log, median, record, table
from benchmarks.photos import GALLERY, WORK
from benchmarks.vectors import text_queries
from core.encoders.registry import load_encoder
from core.index.catalogue import scan_indexes
from core.index.store import load_index
from core.paths import REPO_ROOT
from core.query.search import Query, search

CLIENTS = (1, 4, 8)
ROUNDS = 3  # the levels interleaved, median per level: a busy shared machine shifts all alike


def demo_root() -> Path:
    """The demo indexes: this checkout's, else the main checkout's beside it."""
    for root in (REPO_ROOT / "indexes", REPO_ROOT.parent.parent / "main" / "indexes"):
        if any(root.glob("demo-*/manifest.json")):
            return root
    raise SystemExit("no demo indexes: run `python -m core demo` first")


def usable(entry_path: Path, spec: str) -> tuple[Path | None, str]:
    """The index to measure for a demo variant: itself, or, where it was built by a newer
    checkout with ConSE options this one lacks (prompt=, view=), this checkout's nearest spec
    built once over the demo gallery; None for a family this checkout does not have."""
    from core.encoders.registry import normalised
    from core.errors import UserError

    try:
        normalised(spec)
        return entry_path, spec
    except UserError:
        pass
    plain = re.sub(r",(prompt|view)=[^,+]*", "", spec)
    try:
        normalised(plain)
    except UserError:
        return None, spec
    out = WORK / "concurrency" / entry_path.name
    if not (out / "manifest.json").is_file():
        from core.index.build import build_index

        log(f"building {plain} over {GALLERY} (once)")
        build_index([GALLERY], plain, out, force=True)
    return out, plain


def throughput(fn, jobs: list, clients: int) -> float:
    """Queries per second of `clients` client threads, each asking its share of the jobs back to
    back (as visitors do, each in their own script thread); one client is one such thread too,
    so every level pays the same per-query cost outside the search (once; see `rates`)."""
    def client(share: list) -> None:
        for job in share:
            fn(job)

    threads = [threading.Thread(target=client, args=(jobs[c::clients],)) for c in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(jobs) / (time.perf_counter() - start)


def variant(path: Path, n_queries: int) -> list[object]:
    index = load_index(path)
    encoder = load_encoder(index.spec) if index.manifest["encoder"].get("query_modalities") \
        and "text" in index.manifest["encoder"]["query_modalities"] else None
    if encoder is not None:
        jobs: list = [Query.text(t) for t in text_queries(n_queries, seed=11)]
        kind = "text"
    else:
        jobs = [Query.image_id(i % index.n) for i in range(n_queries * 4)]
        kind = "image id"

    def run(query: Query) -> None:
        search(encoder, index, query, k=10)

    for q in jobs[:8]:
        run(q)  # warm: class embeddings, first-run allocations
    rates = [median(r) for r in zip(*[[throughput(run, jobs, c) for c in CLIENTS]
                                      for _ in range(ROUNDS)], strict=True)]
    return [path.name, kind, *rates, rates[-1] / rates[0]]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--queries", type=int, default=64)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--plain", action="store_true",
                    help="without core.encoders.runtime.serve_many (BLAS on every core)")
    args = ap.parse_args(argv)
    if not args.plain:
        from core.encoders.runtime import serve_many

        serve_many()  # as app_support.loaders does
    started = time.perf_counter()
    rows, notes = [], []
    for entry in scan_indexes(demo_root()):
        path, spec = usable(entry.path, entry.spec)
        if path is None:
            notes.append(f"- {entry.name} ({spec}): a family this checkout lacks, not measured")
            continue
        if path != entry.path:
            notes.append(f"- {entry.name}: rebuilt here as `{spec}` over data/gallery")
        log(entry.name)
        rows.append(variant(path, args.queries))
    serial = os.environ.get("IMAGE_SEARCH_SERIAL", "1")
    record("Concurrent clients", [
        f"{args.queries} distinct text queries (or {4 * args.queries} image-id queries) per "
        "level through `core.query.search.search`, one loaded index and encoder shared by "
        f"every client thread, {ROUNDS} interleaved rounds, median; serve_many "
        f"{'off' if args.plain else 'on'}, IMAGE_SEARCH_SERIAL={serial}, IMAGE_SEARCH_THREADS="
        f"{os.environ.get('IMAGE_SEARCH_THREADS', 'unset (all cores)')}.",
        table(["index", "queries", *(f"q/s {c} client{'s' if c > 1 else ''}" for c in CLIENTS),
               "8 clients / sequential"], rows, digits=2), "\n".join(notes) or "-",
        f"Run time {time.perf_counter() - started:.0f} s."], write=not args.no_write)


if __name__ == "__main__":
    main()
