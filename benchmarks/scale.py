"""Scaling out: build engines (local vs Ray with 1 and 2 workers, and a simulated two-node
cluster through `--ray-address`), and stores at 1M+ synthetic vectors (Annoy folder vs Lance:
build time, disk size, server RSS, text query p50/p95, recall@10 against exact), plus the RSS of
loading the folder store (memory-mapped embeddings).

    .venv/bin/python -m benchmarks.scale --part builds --count 60         # ~10 min on 2 cores
    .venv/bin/python -m benchmarks.scale --part stores --sizes 1000000    # ~25 min, ~6 GB disk
    .venv/bin/python -m benchmarks.scale --part stores --sizes 10000000 --stores lance  # hours;
        # 15.4 GB of vectors in artifacts/bench/scale/vec-10000000.npy (kept: its first 1M rows
        # serve `--sizes 1000000 --vectors-cache` that file), ~17 GB of Lance table
    .venv/bin/python -m benchmarks.scale --part clients                   # benchmarks.concurrency

Every server figure comes from a fresh subprocess (`serve`), so RSS is that of a process that
loaded one index and the text model, as the app would.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from benchmarks._common import REPO, log, median, percentile, record, table
from benchmarks.photos import WORK, photo_folder, subset_folder
from benchmarks.vectors import text_queries, write_index
from core.paths import environment

SPEC = "conse:lite0"
K = 10


@contextmanager
def pinned(cores: set[int] | None) -> Iterator[None]:
    """The block's threads and the processes it starts (Ray's raylet, workers) on `cores` only,
    so that N workers are N one-core machines; None: no change. The calling thread's affinity is
    what new threads and child processes inherit."""
    if cores is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cores)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def build_rate(folder: Path, engine: str, workers: int, address: str | None = None,
               pin: bool = False) -> str:
    """New images per second of decode+encode (model load in the driver excluded); for Ray,
    "steady rate (whole run's rate, start-up s, of it Ray init s)": the rate once the first
    actor has its model loaded, the whole run's rate, and the start-up (Ray, actors, their model
    loads) until then. `pin`: on cores 0..workers-1 only (a local Ray's processes too)."""
    from core.index.build import build_index
    from core.index.ray_engine import LAST_RUN

    cores = set(range(workers)) if pin and address is None else None
    with tempfile.TemporaryDirectory(dir=WORK) as tmp, pinned(cores), environment(
            {"IMAGE_SEARCH_THREADS": str(workers)} if engine == "local" else {}):
        s = build_index([folder], SPEC, Path(tmp) / "idx", engine=engine, workers=workers,
                        ray_address=address)
    if engine == "local":
        return f"{s.images_per_second:.1f}"
    steady = LAST_RUN["n"] / max(1e-9, LAST_RUN["total_s"] - LAST_RUN["ready_s"])
    return (f"{steady:.1f} ({LAST_RUN['n'] / LAST_RUN['total_s']:.1f}, "
            f"{LAST_RUN['ready_s']:.1f} s, {LAST_RUN['init_s']:.1f} s)")


def _steady(cell: str) -> float:
    return float(cell.split()[0])


def cluster(workers: int = 2, pin: bool = False) -> tuple[str, list[subprocess.Popen]]:
    """A head and `workers - 1` more nodes (`ray start --block`, one CPU each) on this machine;
    stopped by `stop` (their own process groups: no `ray stop`, which ends every Ray here).
    `pin`: node i runs on core i only (`taskset`)."""
    ray_bin = str(Path(sys.executable).parent / "ray")
    port = 6390 + os.getpid() % 200
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def on(i: int) -> list[str]:
        return ["taskset", "-c", str(i % os.cpu_count())] if pin else []

    head = subprocess.Popen([*on(0), ray_bin, "start", "--head", "--block", f"--port={port}",
                             "--num-cpus=1", "--include-dashboard=false"], env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    procs = [head]
    time.sleep(8)
    for i in range(1, workers):
        procs.append(subprocess.Popen([*on(i), ray_bin, "start", "--block",
                                       f"--address=127.0.0.1:{port}", "--num-cpus=1"], env=env,
                                      start_new_session=True, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
    time.sleep(8)
    return f"127.0.0.1:{port}", procs


def stop(procs: list[subprocess.Popen]) -> None:
    for p in reversed(procs):
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(timeout=60)


def builds(count: int, limit: int, pin: bool = False) -> list[str]:
    rows = []
    for kind in ("gallery", "camera"):
        folder, label = photo_folder(kind, count)
        if kind == "gallery":
            folder, label = subset_folder(folder, limit), f"{label}, {limit} of them"
        log(f"builds on {label}")
        local1 = build_rate(folder, "local", 1, pin=pin)
        local2 = build_rate(folder, "local", 2, pin=pin)
        ray1 = build_rate(folder, "ray", 1, pin=pin)
        ray2 = build_rate(folder, "ray", 2, pin=pin)
        address, procs = cluster(2, pin)
        try:
            two_nodes = build_rate(folder, "ray", 2, address)
        finally:
            stop(procs)
        r1, r2 = _steady(ray1), _steady(ray2)
        rows.append([label, local1, local2, ray1, ray2, two_nodes, r2 / (2 * r1),
                     1 - r1 / float(local1)])
    return [
        f"{SPEC}, new images/s of decode+encode (BuildSummary.images_per_second). local N: "
        "IMAGE_SEARCH_THREADS=N, N decode threads. ray N: a local Ray of N CPUs (N actors, "
        "each a one-thread model with one decode thread ahead of it). cluster: `ray start "
        "--head` + one `ray start --address` node, one CPU each, the build joining through "
        "--ray-address. Ray cells: steady rate once the first actor has its model loaded "
        "(whole run's rate, start-up seconds until then, of which Ray init)."
        + (" Pinned (--pin): N workers run on cores 0..N-1 only (the Ray processes too), and "
           "cluster node i on core i, so one worker is a one-core machine." if pin else ""),
        table(["photos", "local 1", "local 2", "ray 1", "ray 2", "cluster 2 nodes",
               "ray efficiency 1→2 (steady)", "ray 1 overhead vs local 1 (steady)"], rows,
              digits=2)]


SERVE = r"""
import json, sys, time, numpy as np, psutil
from core.encoders.registry import load_encoder
from core.index.store import load_index
from core.query.search import Query, search
t = time.perf_counter(); index = load_index(sys.argv[1]); load_s = time.perf_counter() - t
enc = load_encoder(index.spec); texts = json.loads(sys.argv[2])
for q in texts[:5]: search(enc, index, Query.text(q))
lat, ids = [], []
for q in texts:
    t = time.perf_counter(); hits = search(enc, index, Query.text(q))
    rows = [index.item(h.id) for h in hits]
    lat.append(time.perf_counter() - t); ids.append([h.id for h in hits])
rss = psutil.Process().memory_info()
print(json.dumps({"load_s": load_s, "lat": lat, "ids": ids, "rss": rss.rss, "shared": rss.shared}))
"""


def serve(folder: Path, texts: list[str]) -> dict:
    proc = subprocess.run([sys.executable, "-c", SERVE, str(folder), json.dumps(texts)],
                          cwd=REPO, capture_output=True, text=True, timeout=3600,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    if proc.returncode:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def disk_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


ANNOY_MAX_ITEMS = 2_000_000  # AnnoyIndex holds every vector (and its trees) in RAM to build


def exact_top(vecs: np.ndarray, queries: np.ndarray, k: int = K,
              chunk: int = 100_000) -> list[set[int]]:
    """Each query's exact top-k row ids, from one pass over `vecs` (a 15 GB memmap is read once
    for all queries, not once per query): a running top-k per query, merged chunk by chunk."""
    q = np.asarray(queries, np.float32)
    best_s = np.full((len(q), 0), -np.inf, np.float32)
    best_i = np.zeros((len(q), 0), np.int64)
    for a in range(0, len(vecs), chunk):
        block = np.asarray(vecs[a:a + chunk])
        scores = np.concatenate([best_s, q @ block.T], axis=1)
        ids = np.concatenate([best_i, np.broadcast_to(np.arange(a, a + len(block)),
                                                      (len(q), len(block)))], axis=1)
        keep = np.argpartition(-scores, min(k, scores.shape[1]) - 1, axis=1)[:, :k]
        best_s = np.take_along_axis(scores, keep, axis=1)
        best_i = np.take_along_axis(ids, keep, axis=1)
    return [set(row.tolist()) for row in best_i]


def vectors(n: int, cache: Path | None) -> np.ndarray:
    """image_vectors(n), memory-mapped: the first n rows of `cache` (a larger file holds them
    when n is a multiple of the generator's chunk), else WORK/scale/vec-n.npy, made once."""
    from benchmarks.vectors import vectors_file

    if cache is not None and cache.is_file():
        return np.load(cache, mmap_mode="r")[:n]
    log(f"{n:,} synthetic vectors")
    return vectors_file(WORK / "scale" / f"vec-{n}.npy", n)


def stores(n: int, n_queries: int, cache: Path | None,
           kinds: tuple[str, ...] = ("annoy", "lance")) -> tuple[list[list[object]], list[str]]:
    """Table rows for each store at n items, and notes on stores not built (Annoy past
    ANNOY_MAX_ITEMS)."""
    from core.encoders.registry import load_encoder

    vecs = vectors(n, cache)
    texts = text_queries(n_queries)
    log("exact top-10 of every query")
    truth = exact_top(vecs, load_encoder(SPEC).encode_texts(texts))
    rows, notes = [], []
    for store in kinds:
        if store == "annoy" and n > ANNOY_MAX_ITEMS:
            notes.append(f"Annoy not built at {n:,} items: AnnoyIndex holds every vector in RAM "
                         f"while it builds ({n * vecs.shape[1] * 4 / 1e9:.1f} GB of float32 "
                         "before its trees), more than this shared 24 GiB machine can spare.")
            continue
        folder = WORK / "scale" / f"{store}-{n}"
        if not (folder / "manifest.json").is_file():
            log(f"writing the {store} store")
            t = time.perf_counter()
            write_index(folder, vecs, 16 if store == "annoy" else None, store=store)
            (folder / "build_s").write_text(f"{time.perf_counter() - t}")
        build_s = float((folder / "build_s").read_text())
        log(f"serving {store}")
        r = serve(folder, texts)
        recall = np.mean([len(truth[i] & set(ids)) / K for i, ids in enumerate(r["ids"])])
        rows.append([f"{n:,}", store, build_s, disk_mb(folder), r["rss"] / 2**20,
                     r["shared"] / 2**20, r["load_s"], 1000 * median(r["lat"]),
                     1000 * percentile(r["lat"], 95), recall])
    return rows, notes


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--part", choices=["builds", "stores", "clients"], required=True)
    ap.add_argument("--count", type=int, default=60, help="camera-size photos")
    ap.add_argument("--limit", type=int, default=120, help="demo gallery photos")
    ap.add_argument("--sizes", default="1000000")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--vectors-cache", type=Path, default=None,
                    help="an .npy of image_vectors(m >= n) from an earlier run: its first n rows")
    ap.add_argument("--stores", default="annoy,lance", help="which stores, comma-separated")
    ap.add_argument("--pin", action="store_true",
                    help="builds: one core per worker (local N, ray N and the cluster's nodes)")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    WORK.mkdir(parents=True, exist_ok=True)
    if args.part == "clients":
        from benchmarks.concurrency import main as clients

        return clients(["--no-write"] if args.no_write else [])
    if args.part == "builds":
        blocks = builds(args.count, args.limit, args.pin)
    else:
        rows, notes = [], []
        for n in (int(s) for s in args.sizes.split(",")):
            got = stores(n, args.queries, args.vectors_cache, tuple(args.stores.split(",")))
            rows, notes = rows + got[0], notes + got[1]
        blocks = [
            f"{args.queries} text queries (real MiniLM phrases, ConSE's text side) end to end in "
            "a fresh server process (load_index + the ConSE encoder, then `search` + `item` for "
            "10 hits); recall@10 against exact search over the same vectors. Annoy: 16 trees, "
            "core's default search_k; Lance: IVF-PQ (sqrt(n) partitions, 48 sub-vectors, 96 "
            "from 4M rows), "
            "core.index.lance_store's nprobes and refine factor, candidates re-scored exactly. "
            "RSS includes file-backed pages the queries touched (shared column).",
            table(["items", "store", "build s", "disk MB", "server RSS MB", "of it shared MB",
                   "load s", "text p50 ms", "text p95 ms", "recall@10"], rows, digits=2),
            *notes]
    blocks.append(f"Run time {time.perf_counter() - started:.0f} s.")
    record(f"Scale ({args.part})", blocks, write=not args.no_write)


if __name__ == "__main__":
    main()
