"""`build --engine ray`: decoding and encoding of the new files on a Ray cluster (Ray Data).

Only the step between "which files are new" and "their vectors by item key" moves to Ray; the
crawl, content hashes, item keys and reuse, the skipped-files report, the lock and the publish
stay in core.index.build, so both engines write the same index. The pipeline:
* the new files become a Ray dataset of (path, hash, {item key: texts} as JSON) rows, in blocks
  of a few model batches;
* `map_batches(_EncodeActor)` runs in an actor pool that loads the model once per actor (one GPU
  each where the cluster has GPUs, else one CPU), and runs the local engine's
  `encode_step.encode_files` over each block: files decoded and thumbnailed by a thread of the
  actor while its model encodes the previous batch (the thumbnails are written by the worker into
  the staging folder, which must therefore be on a filesystem every node sees: one machine, or a
  shared mount), each file encoded once per item key;
* only paths go in and vectors come out: decoded pixels never cross the object store. (A separate
  decode stage was measured first: Ray Data fuses it into the actors on one node, and decoding
  then no longer overlaps the model: 40 % slower than the local engine with one worker.)
* the driver streams the results (`iter_batches`), keeps finite vectors by item key and reports
  progress as the local engine does.
ray is imported here only (requirements-scale.txt), when this engine is asked for.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from core.encoders.base import Encoder
from core.errors import UserError
from core.index.encode_step import EncodeNew, Todo, encode_files, keep_vectors
from core.index.store import FILES
from core.index.versions import fault_point
from core.paths import environment
from core.progress import Progress

LAST_RUN: dict[str, float] = {}  # timings of the latest run, for benchmarks/scale.py
BLOCK_BATCHES = 4


def _ray(address: str | None, num_cpus: int):
    """ray, connected: to `address` (a cluster), else to a local one of `num_cpus` CPUs (or the
    one this process already started, as the tests do). Returns (ray, whether we started it)."""
    try:
        import ray
    except ImportError as e:
        raise UserError("--engine ray needs Ray: pip install -r requirements-scale.txt") from e
    if ray.is_initialized():
        return ray, False
    quiet = {"include_dashboard": False, "log_to_driver": False, "logging_level": "ERROR"}
    try:
        if address:
            ray.init(address=address, runtime_env={"env_vars": _worker_env()}, **quiet)
        else:
            # "local": a fresh cluster of our own, never whatever /tmp/ray last pointed at. Its
            # raylet and workers inherit this environment, so no runtime_env: with one, Ray
            # starts fresh workers through its runtime-env agent instead of the pre-started ones
            # (A/B on 371 gallery photos, conse:lite0, pinned: 0.5-2.2 s more start-up, the
            # same steady rate; BENCHMARKS.md "Ray start-up ... 2026-12-03")
            with environment(_worker_env()):
                ray.init(address="local", num_cpus=num_cpus, **quiet)
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


class _EncodeActor:
    """One model per actor, loaded once; runs the local engine's decode+encode over a block."""

    def __init__(self, spec: str, threads: int, decoders: int, thumbs: str, batch: int,
                 max_pixels: int, thumb_size: int) -> None:
        os.environ["IMAGE_SEARCH_THREADS"] = str(threads)
        from core.encoders.registry import load_encoder

        self.enc = load_encoder(spec)
        self.ready = time.time()  # model loaded: the start-up is over for this actor
        self.decoders, self.thumbs, self.batch = decoders, Path(thumbs), batch
        self.max_pixels, self.thumb_size = max_pixels, thumb_size

    def __call__(self, block: dict) -> dict:
        files = [(Path(str(p)), str(h), json.loads(str(k)))
                 for p, h, k in zip(block["path"], block["hash"], block["keys"], strict=True)]
        vectors: dict[str, np.ndarray] = {}
        sizes: dict[str, tuple[int, int]] = {}
        problems = encode_files(self.enc, files, self.thumbs, self.batch, self.max_pixels,
                                self.thumb_size, self.decoders, vectors, sizes)
        rows = [(key, digest) for _, digest, keys in files for key in keys]
        zeros = np.zeros(self.enc.dim, np.float32)  # a skipped item's row: never kept
        return {"key": np.array([k for k, _ in rows], object),
                "hash": np.array([h for _, h in rows], object),
                "problem": np.array([problems.get(k, "") for k, _ in rows], object),
                "width": np.array([sizes.get(h, (0, 0))[0] for _, h in rows], np.int64),
                "height": np.array([sizes.get(h, (0, 0))[1] for _, h in rows], np.int64),
                "vector": np.stack([vectors.get(k, zeros) for k, _ in rows]).astype(np.float32),
                "ready": np.full(len(rows), self.ready)}


def _pool(ray) -> tuple[int, dict]:
    """Actor count and resources: one per GPU where there are GPUs, else one per CPU."""
    res = ray.cluster_resources()
    gpus, cpus = int(res.get("GPU", 0)), max(1, int(res.get("CPU", 1)))
    if gpus:
        return gpus, {"num_gpus": 1, "num_cpus": 1}
    return cpus, {"num_cpus": 1}


def _timing(started: float, ready: float, done: int) -> None:
    """Where a run's time goes, for benchmarks/scale.py: joining or starting Ray (`init_s`),
    then until the first actor has its model loaded (`ready_s`: start-up), then the files
    (`total_s - ready_s`: what more images cost). Wall-clock (time.time) stamps, comparable
    across the processes of one machine."""
    now = time.time()
    LAST_RUN.update(ready_s=min(LAST_RUN.get("ready_s", now - started), ready - started),
                    total_s=now - started, n=done)


def _quiet(context) -> None:
    """Progress is the build's own (`progress`); Ray Data's bars and INFO lines would interleave
    with it on stderr."""
    import logging

    context.enable_progress_bars = False
    context.print_on_execution_start = False
    for name in ("ray.data", "ray"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _blocks(n: int, batch: int, actors: int) -> int:
    """Blocks of up to BLOCK_BATCHES model batches (so an actor's decode thread stays ahead of
    its model most of the time), yet at least two per actor (so none waits for another)."""
    return max(1, min(n, max(2 * actors, -(-n // (BLOCK_BATCHES * batch)))))


def ray_encoder(address: str | None) -> EncodeNew:
    """The engine's `encode_new` for core.index.build (same contract as the local one)."""

    def encode_new(enc: Encoder, todo: Todo, stage: Path, batch: int, max_pixels: int,
                   thumb_size: int, workers: int, vectors: dict, sizes: dict,
                   progress: Progress | None) -> dict[str, str]:
        problems: dict[str, str] = {}
        if not todo:
            return problems
        LAST_RUN.clear()
        started = time.time()
        ray, own = _ray(address, workers)
        LAST_RUN["init_s"] = time.time() - started
        try:
            from ray.data import ActorPoolStrategy, DataContext

            _quiet(DataContext.get_current())
            actors, resources = _pool(ray)
            rows = [{"path": str(cand.path), "hash": digest,
                     "keys": json.dumps(keys, ensure_ascii=False)}
                    for digest, (cand, keys) in todo]
            ds = ray.data.from_items(rows, override_num_blocks=_blocks(len(rows), batch, actors))
            ds = ds.map_batches(
                _EncodeActor, batch_size=None, compute=ActorPoolStrategy(size=actors),
                fn_constructor_kwargs={
                    "spec": enc.spec, "threads": 1, "decoders": 1, "batch": batch,
                    "thumbs": str(stage / FILES["thumbs"]), "max_pixels": max_pixels,
                    "thumb_size": thumb_size}, **resources)
            done = 0
            for out in ds.iter_batches(batch_size=None, batch_format="numpy"):
                ok = [i for i, p in enumerate(out["problem"]) if not p]
                for i, p in enumerate(out["problem"]):
                    if p:
                        problems[str(out["key"][i])] = str(p)
                keep_vectors([str(out["key"][i]) for i in ok],
                             np.asarray(out["vector"], np.float32)[ok], vectors, problems)
                for i in ok:
                    sizes[str(out["hash"][i])] = (int(out["width"][i]), int(out["height"][i]))
                new = len(set(out["hash"]))
                done += new
                _timing(started, float(np.min(out["ready"])), done)
                fault_point("encode")
                if progress:
                    progress("encode", done, len(todo))
        finally:
            if own:
                ray.shutdown()
        return problems

    return encode_new
