"""Lance ANN settings: recall@10 and search latency of the IVF-PQ path over a grid of nprobes
(partitions probed) and refine factors (PQ candidates per result re-ranked exactly), on a store
that `benchmarks.scale --part stores` built, for its text queries.

    .venv/bin/python -m benchmarks.lance_sweep --size 10000000 --nprobes 316,632 --refine 100,200

The store is WORK/scale/lance-N; the exact top-10 of the queries is computed once from the
vectors (`--vectors-cache`, else WORK/scale/vec-N.npy) and kept next to it. Latency is
`lance_top_k` alone (Lance search + the exact re-scoring), in this process, after one untimed
pass of the queries at the largest setting (so every setting meets the same warm page cache;
`benchmarks.scale` measures the first touch, end to end).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from benchmarks._common import log, median, percentile, record, table
from benchmarks.photos import WORK
from benchmarks.scale import SPEC, K, exact_top, vectors
from benchmarks.vectors import text_queries


def truth(n: int, texts: list[str], qv: np.ndarray, cache: Path | None) -> list[set[int]]:
    """Each query's exact top-10 ids, from a file next to the store once computed."""
    path = WORK / "scale" / f"truth-{n}-{len(texts)}.json"
    if not path.is_file():
        log("exact top-10 of every query")
        path.write_text(json.dumps([sorted(t) for t in exact_top(vectors(n, cache), qv)]))
    return [set(t) for t in json.loads(path.read_text())]


def main(argv: list[str] | None = None) -> None:
    from core.encoders.registry import load_encoder
    from core.index.lance_store import ann_settings
    from core.index.store import load_index
    from core.query.search import lance_top_k

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=10_000_000)
    ap.add_argument("--nprobes", default="", help="comma-separated; default: the store's")
    ap.add_argument("--refine", default="", help="comma-separated; default: the store's")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--vectors-cache", type=Path, default=None)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    index = load_index(WORK / "scale" / f"lance-{args.size}")
    ann = index.manifest["lance"]["ann"]
    partitions = int(ann["partitions"])
    dim = index.embeddings.shape[1]  # unset: what search uses (lance_store.ann_settings)
    probes = [int(p) for p in args.nprobes.split(",") if p] or [ann_settings(ann, index.n, dim,
                                                                            K)[0]]
    refines = [int(r) for r in args.refine.split(",") if r] or [
        ann_settings(ann, index.n, dim, K, probes[0])[1]]
    texts = text_queries(args.queries)
    qv = load_encoder(SPEC).encode_texts(texts)
    exact = truth(args.size, texts, qv, args.vectors_cache)
    log("warm-up pass")
    for v in qv:  # the largest setting reads every page a smaller one will
        lance_top_k(index, v, K, nprobes=max(probes), refine=max(refines))
    rows = []
    for p in probes:
        for r in refines:
            lat, hit = [], []
            for v, want in zip(qv, exact, strict=True):
                t = time.perf_counter()
                got = lance_top_k(index, v, K, nprobes=p, refine=r)
                lat.append(time.perf_counter() - t)
                hit.append(len(want & {h.id for h in got}) / K)
            rows.append([p, f"{p / partitions:.1%}", r, r * K, float(np.mean(hit)),
                         1000 * median(lat), 1000 * percentile(lat, 95)])
            log(f"nprobes {p} refine {r}: recall {rows[-1][4]:.3f} p50 {rows[-1][5]:.0f} ms")
    blocks = [
        f"{args.size:,} synthetic ConSE-shaped vectors (IVF-PQ, {partitions:,} partitions, "
        f"{index.manifest['lance']['ann']['sub_vectors']} sub-vectors), {args.queries} text "
        "queries; recall@10 against exact search; latency of `lance_top_k` alone (Lance's "
        "search + exact re-scoring, no encoding, no item rows), warm page cache.",
        table(["nprobes", "of partitions", "refine factor", "candidates re-ranked", "recall@10",
               "p50 ms", "p95 ms"], rows, digits=3),
        f"Run time {time.perf_counter() - started:.0f} s."]
    record("Lance ANN sweep", blocks, write=not args.no_write)


if __name__ == "__main__":
    main()
