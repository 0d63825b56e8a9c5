"""Indexing throughput per encoder: the whole `build_index` pipeline (read, hash, decode,
thumbnail, preprocess, encode, write tables and Annoy) against the model's forward pass alone on
pre-decoded tensors at the same batch size, and against a one-image-at-a-time loop (open ->
preprocess -> encode one -> next, as the seed CLIP crawler did), for each backbone runtime
(onnxruntime, torch). Then batch size and decode threads.

    .venv/bin/python -m benchmarks.indexing                  # default run, ~5 min on 2 cores
    .venv/bin/python -m benchmarks.indexing --limit 400 --repeats 5 --openclip-limit 200
    .venv/bin/python -m benchmarks.indexing --encoders "" --skip-sweeps   # the OCR rows alone

Targets: pipeline / forward >= 0.85; pipeline / one-at-a-time >= 2.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time
from pathlib import Path

import torch

from benchmarks._common import log, median, record, seconds, table
from benchmarks.indexing_runs import (
    backbone_runtime,
    batch_size,
    build_at,
    forward_only,
    interleaved,
    ocr_cost,
    one_at_a_time,
    pipeline,
    rate,
)
from benchmarks.photos import image_files, photo_folder, subset_folder
from core.encoders.registry import load_encoder
from core.ingest.crawl import crawl

ENCODERS = ("efficientnet:lite0", "conse:lite0", "captions:minilm", "openclip:ViT-B-32@random")
BATCH_SIZES = (1, 4, 8, 16, 32)
RATIO_TARGET, SPEEDUP_TARGET = 0.85, 2.0


def before_after(folder: Path, specs: list[str], rev: str, repeats: int,
                 workers: int) -> list[list[object]]:
    """Pipeline img/s with build.py at `rev` and now, runs interleaved so load hits both alike."""
    old = build_at(rev)
    n = len(image_files(folder))
    rows = []
    for spec in specs:
        bs = load_encoder(spec).batch_size
        log(f"before/after {spec}")
        runs = {"before": pipeline(folder, spec, bs, workers, old),
                "after": pipeline(folder, spec, bs, workers)}
        times: dict[str, list[float]] = {"before": [], "after": []}
        for _ in range(repeats):
            for name, fn in runs.items():
                times[name] += seconds(fn, 1)
        b, a = rate(n, times["before"]), rate(n, times["after"])
        rows.append([spec, n, b, a, a / b])
    return rows


def per_encoder(folder: Path, specs: list[str], limits: dict[str, int], repeats: int,
                workers: int, runtimes: list[str]) -> list[list[object]]:
    rows = []
    for spec in specs:
        for name in runtimes if spec.split(":")[0] != "openclip" else ["torch"]:
            with backbone_runtime(name):
                rows.append(encoder_row(folder, spec, limits, repeats, workers, name))
    return rows


def encoder_row(folder: Path, spec: str, limits: dict[str, int], repeats: int, workers: int,
                runtime_name: str) -> list[object]:
    t0 = time.perf_counter()
    enc = load_encoder(spec)
    load_s = time.perf_counter() - t0
    sub = subset_folder(folder, limits.get(spec.split(":")[0], 10**9))
    n = len(image_files(sub))
    n_enc = sum(1 for c in crawl([sub]).candidates if c.texts) if enc.item_input == "texts" \
        else n
    bs = enc.batch_size
    log(f"{spec} on {runtime_name}: {n} images, batch {bs}")
    t = interleaved({"forward": forward_only(enc, sub, bs),
                     "pipeline": pipeline(sub, spec, bs, workers),
                     "single": one_at_a_time(enc, sub)}, repeats)
    p, f, s = (rate(n, t["pipeline"]["wall"]), rate(n_enc, t["forward"]["wall"]),
               rate(n, t["single"]["wall"]))
    cpu = [1000 * median(t[k]["cpu"]) / m for k, m in
           (("pipeline", n), ("forward", n_enc), ("single", n))]
    ceiling = (os.cpu_count() or 1) * 1000 / cpu[0]  # all cores busy with this CPU work
    return [spec, runtime_name, n, bs, load_s, p, f, p / f, s, p / s, *cpu, ceiling,
            p / ceiling, "yes" if p / f >= RATIO_TARGET and p / s >= SPEEDUP_TARGET else "no"]


def batch_sweep(folder: Path, spec: str, sizes: list[int], repeats: int,
                workers: int) -> list[list[object]]:
    enc = load_encoder(spec)
    n = len(image_files(folder))
    rows = []
    for bs in sizes:
        log(f"batch {bs}")
        with batch_size(enc, bs):
            t = interleaved({"forward": forward_only(enc, folder, bs),
                             "pipeline": pipeline(folder, spec, bs, workers)}, repeats)
        p, f = rate(n, t["pipeline"]["wall"]), rate(n, t["forward"]["wall"])
        rows.append([bs, p, f, p / f])
    return rows


def thread_sweep(folder: Path, spec: str, runtime_name: str,
                 repeats: int) -> list[list[object]]:
    """Model threads 1/2 x decode workers 1/2/3, each pipeline against the forward pass at the
    same model threads, taking turns."""
    rows = []
    for threads in (1, 2):
        log(f"{runtime_name} threads {threads}")
        with backbone_runtime(runtime_name, threads):
            enc = load_encoder(spec)
            n, bs = len(image_files(folder)), enc.batch_size
            t = interleaved({"forward": forward_only(enc, folder, bs),
                             **{f"pipeline{w}": pipeline(folder, spec, bs, w) for w in (1, 2, 3)}},
                            repeats)
        f = rate(n, t["forward"]["wall"])
        rows += [[threads, w, rate(n, t[f"pipeline{w}"]["wall"]), f,
                  rate(n, t[f"pipeline{w}"]["wall"]) / f] for w in (1, 2, 3)]
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", default="gallery",
                    help="'gallery' (data/gallery, else 'camera'), 'camera' (1920x1080-class "
                         "JPEGs made from the bundled photos) or a folder")
    ap.add_argument("--count", type=int, default=200, help="how many 'camera' photos to make")
    ap.add_argument("--limit", type=int, default=200, help="images per encoder run")
    ap.add_argument("--openclip-limit", type=int, default=48,
                    help="images for OpenCLIP ViT-B-32 (~15 img/s here)")
    ap.add_argument("--encoders", default=",".join(ENCODERS))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sweep-encoder", default="conse:lite0")
    ap.add_argument("--sweep-limit", type=int, default=96, help="images for the sweeps")
    ap.add_argument("--sweep-repeats", type=int, default=2)
    ap.add_argument("--batch-sizes", default=",".join(map(str, BATCH_SIZES)))
    ap.add_argument("--workers", type=int, default=2, help="decode threads (build default 2)")
    ap.add_argument("--runtimes", default="onnx,torch",
                    help="backbone runtimes for the EfficientNet/MiniLM encoders (first: sweeps)")
    ap.add_argument("--skip-sweeps", action="store_true")
    ap.add_argument("--before", metavar="REV",
                    help="also time core/index/build.py as at git revision REV against now")
    ap.add_argument("--before-encoders", default="efficientnet:lite0,conse:lite0")
    ap.add_argument("--ocr-limit", type=int, default=30,
                    help="images for the --ocr cost rows (0: skip them)")
    ap.add_argument("--ocr-encoder", default="hybrid:conse:lite0")
    ap.add_argument("--no-write", action="store_true", help="print only, leave BENCHMARKS.md")
    args = ap.parse_args(argv)

    root, described = photo_folder(args.images, args.count)
    folder = subset_folder(root, args.limit)
    specs = [s for s in args.encoders.split(",") if s]
    started = time.perf_counter()
    runtimes = [r for r in args.runtimes.split(",") if r]
    rows = per_encoder(folder, specs, {"openclip": args.openclip_limit}, args.repeats,
                       args.workers, runtimes) if specs else []
    blocks = [f"Images: {described}; up to {args.limit} used (spread evenly)."]
    if rows:
        blocks += [
            "Pipeline = `core.index.build.build_index` into a fresh folder (crawl, sha1, decode in "
            f"{args.workers} threads with JPEG draft, 256 px thumbnails, preprocess, encode, "
            "parquet + npy + Annoy), model already loaded, files in the page cache. Forward = the "
            "model alone on arrays preprocessed beforehand, same batch (captions: MiniLM on the "
            f"items' texts); torch at {torch.get_num_threads()} threads, onnxruntime at "
            f"{os.cpu_count()} intra-op threads. OpenCLIP runs on torch only. One-at-a-time = "
            "open with full decode, preprocess, encode one, next. Images/s: medians over "
            "repeats, the three taking turns. CPU ms/img: this process's CPU time, all threads. "
            "Ceiling = cores × 1000 / pipeline CPU ms/img, the rate if that work kept every "
            "core busy; use = pipeline img/s / ceiling (how well decoding overlaps inference).",
            table(["encoder", "runtime", "images", "batch", "model load s", "pipeline img/s",
                   "forward img/s", "pipeline/forward (≥0.85)", "one-at-a-time img/s",
                   "pipeline/one-at-a-time (≥2)", "CPU ms/img pipeline", "CPU ms/img forward",
                   "CPU ms/img one-at-a-time", "ceiling img/s", "use", "targets met"],
                  rows, digits=2),
        ]
    if not args.skip_sweeps:
        sweep_folder = subset_folder(root, args.sweep_limit)
        sizes = [int(b) for b in args.batch_sizes.split(",") if b]
        with backbone_runtime(runtimes[0]):
            brows = batch_sweep(sweep_folder, args.sweep_encoder, sizes, args.sweep_repeats,
                                args.workers)
        trows = thread_sweep(sweep_folder, args.sweep_encoder, runtimes[0], args.sweep_repeats)
        blocks += [
            f"Batch size, `{args.sweep_encoder}` on {runtimes[0]}, {args.sweep_limit} images, "
            f"{args.workers} decode workers:",
            table(["batch", "pipeline img/s", "forward img/s", "pipeline/forward"], brows, 2),
            f"Threads, `{args.sweep_encoder}` on {runtimes[0]}, {args.sweep_limit} images, "
            "encoder's default batch (model threads = `IMAGE_SEARCH_THREADS`; decode workers = "
            "`build_index(workers=)`):",
            table(["model threads", "decode workers", "pipeline img/s", "forward img/s",
                   "pipeline/forward"], trows, 2),
        ]
    if args.before:
        arows = before_after(folder, args.before_encoders.split(","), args.before,
                             args.repeats, args.workers)
        blocks += [f"Before/after: `build_index` from `git show {args.before}:core/index/build.py` "
                   "against the working tree, runs interleaved, same images:",
                   table(["encoder", "images", "before img/s", "after img/s", "after/before"],
                         arows, 2)]
    if args.ocr_limit and importlib.util.find_spec("rapidocr_onnxruntime"):
        log(f"ocr on {args.ocr_limit} images")
        row, found = ocr_cost(subset_folder(root, args.ocr_limit), args.ocr_encoder,
                              args.workers)
        blocks += [
            "Text in images (`build --ocr`, RapidOCR PP-OCRv4 on onnxruntime): one fresh build "
            "without it, one with it, then the same build again (an incremental refresh: every "
            "image reused by content hash, none read again). OCR s/img = the OCR pass alone "
            "(decode at most 1600 px, detect, recognise; the engine's ~1 s load included).",
            table(["encoder", "images", "build s/img (no OCR)", "build s/img (--ocr)",
                   "added s/img", "OCR s/img", "images with text", "rebuild s/img (--ocr)",
                   "read again"], [row], digits=2),
            "Text found: " + ("; ".join(found) if found else "none"),
        ]
    blocks.append(f"Run time {time.perf_counter() - started:.0f} s.")
    record("Indexing throughput", blocks, write=not args.no_write)


if __name__ == "__main__":
    main()
