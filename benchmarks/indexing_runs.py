"""What the indexing benchmark times: forward passes, whole builds, one-at-a-time baselines,
and the interleaved runner that compares them in one process."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

import core.encoders.registry as registry
from benchmarks._common import REPO, median, seconds
from benchmarks.photos import WORK, image_files
from core.encoders import backbones, runtime
from core.encoders.backbones import EFFICIENTNET_SIZES, efficientnet_array
from core.encoders.base import Encoder, batched
from core.index.build import build_index
from core.index.store import load_index
from core.ingest.crawl import crawl
from core.ingest.images import THUMB_SIZE, open_image
from core.paths import environment

DRAFT = max(THUMB_SIZE, 2 * 260)  # what core.index.build asks JPEG decoding for


@contextmanager
def batch_size(enc: Encoder, size: int) -> Iterator[None]:
    """Encoders chunk their input by `batch_size`; set it so a batch really is `size` images."""
    old = enc.batch_size
    enc.batch_size = size
    try:
        yield
    finally:
        enc.batch_size = old


@contextmanager
def backbone_runtime(name: str, threads: int | None = None) -> Iterator[None]:
    """Encoders loaded inside run their backbones on `name` ('onnx' or 'torch'), with `threads`
    per forward pass (default: every core)."""

    def reset() -> None:
        for cached in (registry._load_cached, backbones.efficientnet, backbones.sentence_encoder):
            cached.cache_clear()

    with environment({runtime.RUNTIME_ENV: name, runtime.THREADS_ENV: str(threads or "")}):
        reset()
        try:
            yield
        finally:
            reset()


def forward_only(enc: Encoder, folder: Path, batch: int) -> Callable[[], None]:
    """The model alone: inputs decoded and preprocessed beforehand, exactly as the build would."""
    family = enc.spec.split(":", 1)[0]
    cands = crawl([folder]).candidates
    if family == "captions":
        texts = [c.texts for c in cands if c.texts]
        chunks = list(batched(texts, batch))
        return lambda: [enc.encode_item_texts(chunk) for chunk in chunks]
    images = [open_image(c.path, draft=DRAFT)[0] for c in cands]
    if family == "openclip":
        tensors = [torch.stack([enc.preprocess(im) for im in chunk])
                   for chunk in batched(images, batch)]

        def run() -> None:
            with torch.inference_mode():
                for x in tensors:
                    enc.model.encode_image(x)
        return run
    size = EFFICIENTNET_SIZES[enc.variant]
    arrays = [efficientnet_array(chunk, size) for chunk in batched(images, batch)]
    return lambda: [enc.backbone.run(x) for x in arrays]


def pipeline(folder: Path, spec: str, batch: int, workers: int,
             build: Callable = build_index) -> Callable[[], None]:
    """One fresh `build_index` (a new output folder each time, so nothing is reused)."""
    runs = iter(range(10**6))

    def run() -> None:
        out = WORK / "indexes" / f"{spec.replace(':', '_').replace('/', '_')}-{next(runs)}"
        shutil.rmtree(out, ignore_errors=True)
        build([folder], spec, out, batch_size=batch, workers=workers, force=True)
        shutil.rmtree(out, ignore_errors=True)
    return run


def build_at(rev: str) -> Callable:
    """`build_index` as it was at git revision `rev` (for before/after comparisons)."""
    source = subprocess.run(["git", "show", f"{rev}:core/index/build.py"], cwd=REPO, check=True,
                            capture_output=True, text=True).stdout
    module = types.ModuleType(f"build_at_{rev}")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{rev}:core/index/build.py", "exec"), module.__dict__)
    return module.build_index


def one_at_a_time(enc: Encoder, folder: Path) -> Callable[[], None]:
    """Open (full decode) -> preprocess -> encode one item -> next; nothing overlaps."""
    cands = crawl([folder]).candidates
    texts = enc.item_input == "texts"

    def run() -> None:
        for c in cands:
            img, _ = open_image(c.path)
            if texts:
                if c.texts:
                    enc.encode_item_texts([c.texts])
            else:
                enc.encode_images([img])
    return run


def rate(n: int, times: list[float]) -> float:
    return n / median(times) if times else float("nan")


def interleaved(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, dict]:
    """Wall and CPU seconds of each function, taking turns (A B C A B C ...) so that load from
    other processes falls on all of them alike; the first round of the first one warms up."""
    next(iter(fns.values()))()
    out = {name: {"wall": [], "cpu": []} for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            cpu = time.process_time()
            out[name]["wall"] += seconds(fn, 1)
            out[name]["cpu"].append(time.process_time() - cpu)
    return out


def ocr_cost(folder: Path, spec: str, workers: int) -> tuple[list[object], list[str]]:
    """Seconds per image of a fresh build without --ocr, one with it (the OCR engine's load
    included), and an incremental rebuild with it (nothing read again); and what was read."""
    n = len(image_files(folder))
    base = WORK / "indexes" / "ocr"
    shutil.rmtree(base, ignore_errors=True)
    registry.load_encoder(spec)  # the model's load is not the builds' cost
    runs = {}
    for name, out, ocr in (("off", "off", False), ("on", "on", True), ("again", "on", True)):
        start = time.perf_counter()
        summary = build_index([folder], spec, base / out, workers=workers, ocr=ocr)
        runs[name] = (time.perf_counter() - start, summary)
    items = load_index(base / "on").items
    found = [f"`{r}`: {t}" for r, t in zip(items["rel_path"], items["ocr_text"], strict=True) if t]
    shutil.rmtree(base, ignore_errors=True)
    (off, _), (on, s_on), (again, s_again) = runs["off"], runs["on"], runs["again"]
    return [spec, n, off / n, on / n, (on - off) / n, s_on.ocr.seconds_per_image,
            s_on.ocr.with_text, again / n, s_again.ocr.read], found
