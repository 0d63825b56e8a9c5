"""`build --engine ray`: decoding and encoding of the new files on a Ray cluster (Ray Data).

Only the step between "which files are new" and "their vectors by hash" moves to Ray; the crawl,
content hashes and reuse, the skipped-files report, the lock and the publish stay in
core.index.build, so both engines write the same index. The pipeline:
* the new files become a Ray dataset of (path, hash, texts) rows, in blocks of one batch;
* `map_batches(_decode_batch)` tasks decode each file with the local engine's `decode_job`
  (same draft size, same thumbnail, written by the worker into the staging folder, which must
  therefore be on a filesystem every node sees: one machine, or a shared mount) and pass the
  decoded RGB pixels on;
* `map_batches(_EncodeActor)` runs in an actor pool that loads the model once per actor (one GPU
  each where the cluster has GPUs, else a share of a CPU), and returns the vectors;
  (on one node Ray Data fuses the decode step into the actors, saving the pixels' trip through
  the object store: its execution plan reads MapBatches(_decode_batch)->MapBatches(_EncodeActor));
* the driver streams the results (`iter_batches`), keeps finite vectors by hash and reports
  progress as the local engine does.
ray is imported here only (requirements-scale.txt), when this engine is asked for.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
from PIL import Image

from core.encoders.base import Encoder
from core.errors import UserError
from core.index.encode_step import (
    Decoded,
    EncodeNew,
    decode_job,
    draft_side,
    encode_batch,
    keep_vectors,
)
from core.index.store import FILES
from core.index.versions import fault_point
from core.ingest.crawl import Candidate
from core.progress import Progress

LAST_RUN: dict[str, float] = {}  # timings of the latest run, for benchmarks/scale.py
ACTOR_CPUS = 0.5  # decode tasks get the other half: actors must not hold every CPU
DECODE_CPUS = 0.5


def _ray(address: str | None, num_cpus: int):
    """ray, connected: to `address` (a cluster), else to a local one of `num_cpus` CPUs (or the
    one this process already started, as the tests do). Returns (ray, whether we started it)."""
    try:
        import ray
    except ImportError as e:
        raise UserError("--engine ray needs Ray: pip install -r requirements-scale.txt") from e
    if ray.is_initialized():
        return ray, False
    try:
        # "local": a fresh cluster of our own, never whatever /tmp/ray last pointed at
        kwargs = {"address": address} if address else {"address": "local", "num_cpus": num_cpus}
        ray.init(**kwargs, include_dashboard=False, log_to_driver=False,
                 logging_level="ERROR", runtime_env={"env_vars": _worker_env()})
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise UserError(f"cannot reach the Ray cluster at {address!r} ({e})") from e
    return ray, True


def _worker_env() -> dict[str, str]:
    """What a worker needs to import `core` from this checkout and find the same caches."""
    from core.paths import REPO_ROOT

    env = {"PYTHONPATH": os.pathsep.join(p for p in (str(REPO_ROOT),
                                                      os.environ.get("PYTHONPATH", "")) if p)}
    for key in ("IMAGE_SEARCH_CACHE", "IMAGE_SEARCH_RUNTIME", "HOME"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def _decode_batch(batch: dict, max_pixels: int, draft: int, thumbs: str, thumb_size: int,
                  needs_pixels: bool) -> dict:
    """A Ray Data task: decode, thumbnail, and hand the RGB pixels (or the problem) on."""
    out: dict[str, list] = {"hash": [], "texts": [], "pixels": [], "w": [], "h": [],
                            "width": [], "height": [], "problem": []}
    for path, digest, texts in zip(batch["path"], batch["hash"], batch["texts"], strict=True):
        d = decode_job(Path(path), list(texts), str(digest), max_pixels, draft, Path(thumbs),
                       thumb_size)
        img = d.image.convert("RGB") if d.image is not None and needs_pixels else None
        out["hash"].append(d.hash)
        out["texts"].append(d.texts)
        out["pixels"].append(img.tobytes() if img is not None else b"")
        out["w"].append(img.width if img is not None else 0)
        out["h"].append(img.height if img is not None else 0)
        out["width"].append(d.size[0])
        out["height"].append(d.size[1])
        out["problem"].append(d.problem or "")
    return out


class _EncodeActor:
    """One model per actor, loaded once; encodes the decoded batches it is given."""

    def __init__(self, spec: str, threads: int) -> None:
        os.environ["IMAGE_SEARCH_THREADS"] = str(threads)
        from core.encoders.registry import load_encoder

        self.enc = load_encoder(spec)

    def __call__(self, batch: dict) -> dict:
        ok = [i for i, p in enumerate(batch["problem"]) if not p]
        items = [Decoded(str(batch["hash"][i]), list(batch["texts"][i]), _image(batch, i))
                 for i in ok]
        rows = np.zeros((len(batch["hash"]), self.enc.dim), np.float32)  # bad files: zeros
        if items:
            rows[ok] = encode_batch(self.enc, items)
        return {"hash": batch["hash"], "problem": batch["problem"], "width": batch["width"],
                "height": batch["height"], "vector": rows}


def _image(batch: dict, i: int) -> Image.Image | None:
    if not int(batch["w"][i]):
        return None
    return Image.frombytes("RGB", (int(batch["w"][i]), int(batch["h"][i])),
                           bytes(batch["pixels"][i]))


def _pool(ray) -> tuple[int, dict]:
    """Actor count and resources: one per GPU where there are GPUs, else one per CPU."""
    res = ray.cluster_resources()
    gpus, cpus = int(res.get("GPU", 0)), max(1, int(res.get("CPU", 1)))
    if gpus:
        return gpus, {"num_gpus": 1, "num_cpus": ACTOR_CPUS}
    return cpus, {"num_cpus": ACTOR_CPUS}


def _timing(t0: float, done: int, batch: int) -> None:
    """Start-up (cluster, actors, model loads: until the first results) apart from the steady
    rate after it, which is what more images cost."""
    now = time.perf_counter() - t0
    if done == batch:
        LAST_RUN.clear()
        LAST_RUN.update(first_s=now, first_n=done)
    LAST_RUN.update(total_s=now, n=done)


def _quiet(context) -> None:
    """Progress is the build's own (`progress`); Ray Data's bars and INFO lines would interleave
    with it on stderr."""
    import logging

    context.enable_progress_bars = False
    context.print_on_execution_start = False
    for name in ("ray.data", "ray"):
        logging.getLogger(name).setLevel(logging.ERROR)


def ray_encoder(address: str | None) -> EncodeNew:
    """The engine's `encode_new` for core.index.build (same contract as the local one)."""

    def encode_new(enc: Encoder, todo: list[tuple[Candidate, str]], stage: Path, batch: int,
                   max_pixels: int, thumb_size: int, workers: int, vectors: dict, sizes: dict,
                   progress: Progress | None) -> dict[str, str]:
        problems: dict[str, str] = {}
        if not todo:
            return problems
        ray, started = _ray(address, workers)
        try:
            from ray.data import ActorPoolStrategy, DataContext

            _quiet(DataContext.get_current())
            actors, resources = _pool(ray)
            rows = [{"path": str(c.path), "hash": h, "texts": list(c.texts)} for c, h in todo]
            blocks = min(len(rows), max(actors, -(-len(rows) // batch)))
            ds = ray.data.from_items(rows, override_num_blocks=blocks).map_batches(
                _decode_batch, batch_size=batch, num_cpus=DECODE_CPUS, fn_kwargs={
                    "max_pixels": max_pixels, "draft": draft_side(enc, thumb_size),
                    "thumbs": str(stage / FILES["thumbs"]), "thumb_size": thumb_size,
                    "needs_pixels": enc.item_input != "texts"},
            ).map_batches(_EncodeActor, batch_size=batch, compute=ActorPoolStrategy(size=actors),
                          fn_constructor_kwargs={"spec": enc.spec, "threads": 1}, **resources)
            done, t0 = 0, time.perf_counter()
            for out in ds.iter_batches(batch_size=None, batch_format="numpy"):
                ok = [i for i, p in enumerate(out["problem"]) if not p]
                for i, p in enumerate(out["problem"]):
                    if p:
                        problems[str(out["hash"][i])] = str(p)
                hashes = [str(out["hash"][i]) for i in ok]
                keep_vectors(hashes, np.asarray(out["vector"], np.float32)[ok], vectors,
                             problems)
                for i in ok:
                    sizes[str(out["hash"][i])] = (int(out["width"][i]), int(out["height"][i]))
                done += len(out["hash"])
                _timing(t0, done, len(out["hash"]))
                fault_point("encode")
                if progress:
                    progress("encode", done, len(todo))
        finally:
            if started:
                ray.shutdown()
        return problems

    return encode_new
