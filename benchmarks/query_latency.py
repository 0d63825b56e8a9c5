"""Query latency in `core`, p50 and p95: text -> image end to end (encode with ConSE's text side,
search, fetch the 10 rows' metadata) and image -> image by id ("more like this": search and
fetch), exact numpy against Annoy at several n_trees / search_k, with recall@10 against exact,
Annoy build time and index size on disk, at 10k, 50k and 100k items (1M with --sizes), plus a
row for core's own defaults (`search(method="auto")`).

    .venv/bin/python -m benchmarks.query_latency                       # ~4 min on 2 cores
    .venv/bin/python -m benchmarks.query_latency --sizes 1000000 --trees 16 \
        --search-k 2000,5000,20000,50000 --queries 100                 # 1M: ~5 min, ~6 GB RAM

Vectors: see benchmarks/vectors.py (ConSE-shaped, clustered; text queries are real MiniLM
vectors of phrases). Target: recall@10 >= 0.95 at the lowest latency; the pick is printed.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np

import core.query.search as search_mod
from benchmarks._common import REPO, log, median, percentile, record, table
from benchmarks.photos import WORK
from benchmarks.vectors import image_vectors, shape, text_queries, write_index
from core.encoders.registry import load_encoder
from core.index.build import DEFAULT_TREES
from core.index.store import FILES, load_index
from core.paths import indexes_dir
from core.query.search import Query, exact_top_k, query_vector, search_vector

K = 10
RECALL_TARGET = 0.95


def _ms(values: list[float]) -> str:
    return f"{1000 * median(values):.1f} / {1000 * percentile(values, 95):.1f}"


def encode_all(encoder, index, texts: list[str]) -> tuple[np.ndarray, list[float]]:
    """Each text query through `core.query.search.query_vector` once, timed (the encode part)."""
    vecs, times = [], []
    for text in texts:
        t0 = time.perf_counter()
        vecs.append(query_vector(encoder, index, Query.text(text)))
        times.append(time.perf_counter() - t0)
    return np.stack(vecs), times


def run_queries(index, text_vecs: np.ndarray, encode_s: list[float], text_truth: list[set[int]],
                image_ids: list[int], image_truth: list[set[int]], method: str,
                per_result: int | None, warmup: int = 10) -> dict:
    """Per-query seconds and recall@10 for one search setting, through core.query.search. A text
    query's end-to-end time is its encode time (measured once, `encode_all`) plus its search
    and fetch time here: the encoder does not depend on the search setting."""
    def sk(want: int) -> int | None:  # None: core's own default
        return None if per_result is None else max(want, 10) * per_result

    for i in image_ids[:warmup]:
        search_vector(index, index.embeddings[i], K, {i}, method, sk(K + 1))
    text_search, found_t = [], 0
    for vec, truth in zip(text_vecs, text_truth, strict=True):
        t0 = time.perf_counter()
        hits = search_vector(index, vec, K, method=method, search_k=sk(K))
        rows = [index.item(h.id) for h in hits]
        text_search.append(time.perf_counter() - t0)
        found_t += len(truth & {r["id"] for r in rows})
    image_search, found_i = [], 0
    for i, truth in zip(image_ids, image_truth, strict=True):
        t0 = time.perf_counter()
        vec = query_vector(None, index, Query.image_id(i))
        hits = search_vector(index, vec, K, {i}, method, sk(K + 1))
        rows = [index.item(h.id) for h in hits]
        image_search.append(time.perf_counter() - t0)
        found_i += len(truth & {r["id"] for r in rows})
    return {"encode": encode_s, "text": text_search,
            "text_e2e": [a + b for a, b in zip(encode_s, text_search, strict=True)],
            "text_recall": found_t / (K * len(text_vecs)), "image": image_search,
            "image_recall": found_i / (K * len(image_ids))}


def one_size(n: int, trees: list[int], per_results: list[int], n_queries: int,
             encoder) -> tuple[list[list[object]], dict]:
    folder = WORK / "latency" / f"n{n}"
    shutil.rmtree(folder, ignore_errors=True)
    log(f"{n:,} vectors")
    vecs = image_vectors(n)
    write_index(folder, vecs, None)
    index = load_index(folder)
    text_vecs, encode_s = encode_all(encoder, index, text_queries(n_queries))
    image_ids = [int(i) for i in np.random.default_rng(7).choice(n, n_queries, replace=False)]
    text_truth = [{h.id for h in exact_top_k(index.embeddings, v, K)} for v in text_vecs]
    image_truth = [{h.id for h in exact_top_k(index.embeddings, index.embeddings[i], K, {i})}
                   for i in image_ids]
    sizes = {k: (folder / FILES[k]).stat().st_size / 2**20 for k in ("embeddings", "items")}
    shape_row = [f"synthetic, {n:,} items", *shape(vecs, text_vecs)]
    rows: list[list[object]] = []
    results: dict = {}

    def add(method: str, t: int | None, pr: int | None, build_s: float, ann_mb: float) -> None:
        r = run_queries(index, text_vecs, encode_s, text_truth, image_ids, image_truth, method,
                        pr)
        results[(method, t, pr)] = r
        rows.append([f"{n:,}", method, t or "–", pr or "–", build_s, ann_mb,
                     r["text_recall"], _ms(r["text"]), _ms(r["text_e2e"]), r["image_recall"],
                     _ms(r["image"])])

    log("exact")
    add("exact", None, None, 0.0, 0.0)
    built = {}
    for t in sorted(set(trees) - {DEFAULT_TREES}) + [DEFAULT_TREES]:
        log(f"annoy {t} trees")
        built[t] = (write_index(folder, vecs, t), (folder / FILES["annoy"]).stat().st_size / 2**20)
        index = load_index(folder)
        for pr in per_results if t in trees else []:
            add("annoy", t, pr, *built[t])
    log("core defaults")  # the index now has DEFAULT_TREES trees
    add("auto", DEFAULT_TREES, None, *built[DEFAULT_TREES])
    annoy = n >= search_mod.EXACT_BELOW
    rows[-1][1:4] = [f"core default ({'annoy' if annoy else 'exact'})", DEFAULT_TREES,
                     search_mod.default_search_k(n, K) // K if annoy else "–"]
    del vecs
    shutil.rmtree(folder, ignore_errors=True)
    return rows, {"results": results, "sizes": sizes, "shape": shape_row}


def real_index() -> Path | None:
    """The demo's ConSE index (real vectors), to check the synthetic ones against."""
    roots = [str(indexes_dir()), str(REPO / "indexes"), str(WORK / "demo-indexes")]
    for root in filter(None, roots):
        for name in ("demo-conse", "conse"):
            if (Path(root) / name / FILES["manifest"]).is_file():
                return Path(root) / name
    return None


def shape_check(path: Path, encoder, n_queries: int) -> list[list[object]]:
    """Real ConSE vectors against synthetic ones of the same count, same text queries."""
    real = np.asarray(load_index(path).embeddings)
    text_vecs = encoder.encode_texts(text_queries(n_queries))
    return [[f"real: {path.name}, {len(real):,} photos", *shape(real, text_vecs)],
            [f"synthetic, {len(real):,} items", *shape(image_vectors(len(real), seed=3),
                                                        text_vecs)]]


def pick(n: int, results: dict) -> str:
    """The fastest setting with recall@10 >= target for text and image queries (search+fetch
    p50, the larger of the two), and exact's p50 for comparison."""
    def p50(r: dict) -> float:
        return max(median(r["text"]), median(r["image"]))
    ok = {key: r for key, r in results.items() if key[0] == "annoy"
          and min(r["text_recall"], r["image_recall"]) >= RECALL_TARGET}
    exact = p50(results[("exact", None, None)])
    if not ok:
        return f"{n:,}: no Annoy setting reached recall {RECALL_TARGET}"
    key = min(ok, key=lambda k: p50(ok[k]))
    best = p50(ok[key])
    verdict = "exact is faster" if exact <= best else "Annoy is faster"
    return (f"{n:,}: fastest with recall@10 >= {RECALL_TARGET}: {key[1]} trees, search_k "
            f"{key[2]} per result, {1000 * best:.2f} ms search+fetch p50 (exact "
            f"{1000 * exact:.2f} ms: {verdict})")


def recommend(per_size: dict[int, dict]) -> list[str]:
    """One setting for every size: the fastest that keeps recall@10 >= target at the largest
    size (recall falls as the index grows); and where exact search stops being faster (a
    straight line through exact's p50s, against that setting's p50 at the largest size)."""
    def p50(r: dict) -> float:
        return max(median(r["text"]), median(r["image"]))
    largest = max(per_size)
    results = per_size[largest]
    ok = {k: r for k, r in results.items() if k[0] == "annoy"
          and min(r["text_recall"], r["image_recall"]) >= RECALL_TARGET}
    if not ok:
        return [f"no Annoy setting reached recall@10 {RECALL_TARGET} at {largest:,}: search "
                "exactly at this size, or try larger --search-k"]
    key = min(ok, key=lambda k: p50(ok[k]))
    lines = [f"recommended: {key[1]} trees, search_k {key[2]} per result (recall@10 text "
             f"{ok[key]['text_recall']:.3f}, image {ok[key]['image_recall']:.3f}, "
             f"{1000 * p50(ok[key]):.2f} ms at {largest:,})"]
    if len(per_size) > 1:
        ns = np.array(sorted(per_size), float)
        exact = np.array([p50(per_size[int(n)][("exact", None, None)]) for n in ns])
        slope, intercept = np.polyfit(ns, exact, 1)
        if slope > 0:
            cross = (p50(ok[key]) - intercept) / slope
            lines.append(f"exact search costs {1000 * slope * 1e4:.2f} ms per 10k items "
                         f"(+{1000 * intercept:.2f} ms); it is slower than that Annoy setting "
                         f"above ~{max(cross, 0):,.0f} items")
    return lines


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,50000,100000")
    ap.add_argument("--trees", default="8,16,32")
    ap.add_argument("--search-k", default="500,1000,2000,5000,10000",
                    help="Annoy search_k per requested result (core: "
                         "DEFAULT_SEARCH_K_PER_RESULT)")
    ap.add_argument("--queries", type=int, default=200, help="text and image queries each")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    trees = [int(t) for t in args.trees.split(",") if t]
    per_results = [int(s) for s in args.search_k.split(",") if s]
    encoder = load_encoder("conse:lite0")
    all_rows, picks, disk, shapes, per_size = [], [], [], [], {}
    real = real_index()
    if real is not None:
        shapes += shape_check(real, encoder, args.queries)
    for n in sizes:
        rows, info = one_size(n, trees, per_results, args.queries, encoder)
        all_rows += rows
        per_size[n] = info["results"]
        picks.append(pick(n, info["results"]))
        disk.append([f"{n:,}", info["sizes"]["embeddings"], info["sizes"]["items"]])
        shapes.append(info["shape"])
        enc = info["results"][("exact", None, None)]["encode"]
        picks.append(f"{n:,}: text encoding alone (MiniLM, one query) p50/p95 {_ms(enc)} ms")
    blocks = [
        f"{args.queries} text queries (real MiniLM vectors of short phrases, ConSE's text side) "
        f"and {args.queries} image queries (\"more like this\" on random items, the item "
        "excluded) per size; k = 10. Items are ConSE-shaped synthetic vectors (384-d, clustered: "
        "benchmarks/vectors.py). Latencies in ms as p50 / p95 over the queries: *search* = "
        "`core.query.search.search_vector` + `Index.item` for the 10 hits; *end-to-end* adds "
        "`query_vector` (the text encoding). Build = `core.index.store.write_annoy` (add + build, "
        f"1 job). Core defaults now (the *core default* rows: `search(method=\"auto\")`): "
        f"DEFAULT_TREES {DEFAULT_TREES}, EXACT_BELOW {search_mod.EXACT_BELOW:,}, search_k per "
        f"result max({search_mod.DEFAULT_SEARCH_K_PER_RESULT}, "
        f"{search_mod.SEARCH_K_PER_SQRT_N}·sqrt(n)).",
        table(["items", "method", "trees", "search_k/result", "build s", "annoy MB",
               "text R@10", "text search ms", "text end-to-end ms", "image R@10",
               "image search ms"], all_rows, digits=3),
        "Index size on disk besides Annoy:",
        table(["items", "embeddings.npy MB", "items.parquet MB"], disk),
        "\n".join(f"- {p}" for p in picks + recommend(per_size)),
        "Shape check (what makes search hard): cosine between items (mean over pairs, and to "
        "the nearest other item) and a text query's cosine to its 1st and 10th hit, same "
        "queries for every row. The demo gallery holds few of the queried classes, so its text "
        "scores sit a little lower than the synthetic gallery's, where half the queries name a "
        "class the gallery holds.",
        table(["vectors", "item-item cos", "nearest item cos", "text top-1 cos",
               "text top-10 cos"], shapes, digits=3),
        f"Run time {time.perf_counter() - started:.0f} s.",
    ]
    record("Query latency", blocks, write=not args.no_write)


if __name__ == "__main__":
    main()
