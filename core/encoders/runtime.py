"""onnxruntime for the frozen backbones: ~2x torch per batch and ~4x per text query on 2 cores
here (BENCHMARKS.md), and no torch import.

The ONNX files are derived from the installed weights and exported once per machine into the
cache folder by a subprocess (core.encoders.onnx_export), so the calling process (the app) never
imports torch. Files in models/onnx/ (`python -m core export-onnx`) are used as they are, so a
deployment can ship them. `IMAGE_SEARCH_RUNTIME=torch` forces torch; `=onnx` makes a failed
export an error instead of a logged fall-back to torch. Where torch is not installed (the served
app's install set, requirements.txt) a missing file is a clear error naming the export command.

Each folder holds `catalogue.json` (`kind:name` -> file), written by every export, so a server
without the weights packages (which pull in torch) still finds the file exported for a model.
What a query-time runner needs besides the graph (a tokenizer, a preprocess) is stored in the
file's own metadata (`metadata`), so one file is one model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.atomic import write_text
from core.encoders.weights import installed
from core.errors import UserError
from core.paths import REPO_ROOT, cache_dir, models_dir

RUNTIME_ENV = "IMAGE_SEARCH_RUNTIME"
THREADS_ENV = "IMAGE_SEARCH_THREADS"
SERIAL_ENV = "IMAGE_SEARCH_SERIAL"  # "0": let concurrent forward passes overlap (benchmarks)
# One forward pass at a time per process: each pass already uses every core (model_threads), so
# overlapping passes from concurrent visitors only fight over them (8 threads on demo-fusion:
# 29 -> 17 queries/s before this lock; BENCHMARKS.md, concurrent clients).
RUN_LOCK = threading.Lock()
RUNTIMES = ("auto", "onnx", "torch")
EXPORT_VERSION = 1
KIND_VERSIONS = {"sentence": 2}  # 2: the tokenizer travels in the file (no weights package)
CATALOGUE = "catalogue.json"
SHIP_HINT = ("ship models/onnx with the deployment (run `python -m core export-onnx` where the "
             "build tools are installed: pip install -r requirements-build.txt)")
EXPORT_TIMEOUT_S = 900
SHIPPED_DIR = models_dir() / "onnx"
log = logging.getLogger(__name__)


def requested_runtime() -> str:
    value = (os.environ.get(RUNTIME_ENV) or "auto").strip().lower()
    if value not in RUNTIMES:
        raise UserError(f"{RUNTIME_ENV}={value!r}: expected one of {', '.join(RUNTIMES)}")
    return value


def model_threads() -> int:
    """Threads per forward pass: `IMAGE_SEARCH_THREADS`, else every core (a shared server may
    want fewer). Read when a backbone is loaded."""
    value = os.environ.get(THREADS_ENV, "").strip()
    if not value:
        return max(1, os.cpu_count() or 1)
    if not value.isdigit() or int(value) < 1:
        raise UserError(f"{THREADS_ENV}={value!r}: expected a whole number of threads, 1 or more")
    return int(value)


def onnx_name(kind: str, name: str, weights: Path | None) -> str:
    """Keyed by the weights' size and first MiB (not their path), so a file exported on one
    machine is found on another with the same model packages; by the name alone where the name
    fixes the weights (`weights` None: a hub tag, `@random`)."""
    content = "-"
    if weights is not None:
        with weights.open("rb") as fh:
            content = f"{weights.stat().st_size}|{hashlib.sha1(fh.read(2**20)).hexdigest()}"
    version = KIND_VERSIONS.get(kind, EXPORT_VERSION)
    key = f"{version}|{kind}|{name}|{content}"
    digest = hashlib.sha1(key.encode()).hexdigest()[:12]
    return f"{kind}-{re.sub(r'[^A-Za-z0-9_.-]', '_', name)[-60:]}-{digest}.onnx"


def _folders() -> tuple[Path, Path]:
    return cache_dir() / "onnx", SHIPPED_DIR


def find_onnx(file: str) -> Path | None:
    """An exported file (named by `onnx_name`) in the cache, or shipped in models/onnx/."""
    for folder in _folders():
        if (folder / file).is_file():
            return folder / file
    return None


def catalogued(kind: str, name: str) -> Path | None:
    """The file last exported for `kind:name` in the cache or models/onnx (by their
    catalogues): how a server without the model's weights finds it."""
    for folder in _folders():
        try:
            file = json.loads((folder / CATALOGUE).read_text(encoding="utf-8")).get(
                f"{kind}:{name}")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(file, str) and (folder / file).is_file():
            return folder / file
    return None


def record(path: Path, kind: str, name: str) -> None:
    """Add an exported file to its folder's catalogue (rewritten whole, atomically)."""
    try:
        entries = json.loads((path.parent / CATALOGUE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        entries = {}
    entries = entries if isinstance(entries, dict) else {}
    entries[f"{kind}:{name}"] = path.name
    write_text(path.parent / CATALOGUE, json.dumps(entries, indent=1, sort_keys=True) + "\n")


def export(kind: str, name: str, path: Path) -> Path:
    """Export to `path` in a subprocess (torch is imported there, not here); a UserError says
    why not."""
    log.info("exporting %s:%s to %s (once per machine)", kind, name, path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "core.encoders.onnx_export", kind, name, str(path)],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=EXPORT_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise UserError(f"exporting {kind}:{name} to ONNX failed ({e})") from e
    if proc.returncode != 0 or not path.is_file():
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise UserError(f"exporting {kind}:{name} to ONNX failed: {last}")
    record(path, kind, name)
    return path


def ensure_onnx(kind: str, name: str, weights: Path | None,
                weights_here: bool = True) -> Path | None:
    """The exported file (exporting it first if needed), or None where torch must be used.
    `weights_here` False: the model's weights are not on this machine (the served app's
    install set), so only a shipped or cached export can answer."""
    runtime = requested_runtime()
    if runtime == "torch" and installed("torch"):
        return None
    try:
        import onnxruntime  # noqa: F401
    except ImportError as e:
        return _give_up(runtime, f"onnxruntime is not installed ({e})")
    found = find_onnx(onnx_name(kind, name, weights)) if weights_here else catalogued(kind, name)
    if found is not None:
        return found
    if not weights_here or not installed("torch"):
        raise UserError(f"no ONNX file for {kind}:{name} here and no torch to export one: "
                        f"{SHIP_HINT}")
    try:
        return export(kind, name, cache_dir() / "onnx" / onnx_name(kind, name, weights))
    except UserError as e:
        return _give_up(runtime, str(e))


def _give_up(runtime: str, why: str) -> None:
    if runtime == "onnx" or not installed("torch"):
        raise UserError(f"{why} ({RUNTIME_ENV}=onnx)" if runtime == "onnx" else
                        f"{why}; torch is not installed to fall back on: {SHIP_HINT}")
    log.warning("%s; using torch", why)
    return None


def serve_many() -> None:
    """Set this process up to answer many visitors at once (the app calls it at import): query
    time matrix products are small (one query against ≤ 40k rows, a two-branch head), and each
    of them spreading over every core only makes concurrent queries fight over the cores (8
    threads on demo-twobranch: 89 -> 31 q/s), so BLAS runs them on one thread each; the
    onnxruntime passes, which do gain from every core, queue on RUN_LOCK instead."""
    from threadpoolctl import threadpool_limits

    from core.heap import cap_arenas, fix_mmap_threshold

    threadpool_limits(limits=1, user_api="blas")
    cap_arenas()  # fewer malloc arenas for the visitors' threads (core.heap)
    fix_mmap_threshold()  # freed model weights go back to the OS (core.heap)


class _Serial:
    """An onnxruntime session whose `run` calls queue on RUN_LOCK (see there)."""

    def __init__(self, session) -> None:
        self.session = session
        self.serial = os.environ.get(SERIAL_ENV, "1").strip() != "0"

    def run(self, outputs, feeds):
        if not self.serial:
            return self.session.run(outputs, feeds)
        with RUN_LOCK:
            return self.session.run(outputs, feeds)

    def __getattr__(self, name: str):  # get_outputs, get_modelmeta, ...: the session's own
        if name == "session":  # not set yet (copy, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.session, name)


def release_memory() -> None:
    """Give freed heap back to the OS after dropping a session: glibc keeps the freed weights
    of a closed ViT-B-32 tower (~160 of ~250 MB here) unless asked to trim. No-op elsewhere."""
    import gc

    from core.heap import trim

    gc.collect()
    trim()


def metadata(session) -> dict[str, str]:
    """The strings an export stored in the file (tokenizer, preprocess settings)."""
    return dict(session.get_modelmeta().custom_metadata_map)


def open_session(path: Path) -> _Serial:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = model_threads()
    opts.inter_op_num_threads = 1
    # idle pool threads sleep instead of spinning after each run: on a small machine a spinning
    # pool takes the cores from what runs next (a Lance search right after a query's encoding)
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.log_severity_level = 3
    try:
        return _Serial(ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"]))
    except Exception as e:  # onnxruntime raises its own (non-exported) exception classes
        raise UserError(f"{path} is not a usable ONNX model ({type(e).__name__}); delete it and "
                        "it is exported again on next use") from e


def efficientnet_runner(path: Path) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """NHWC float array -> (pooled (n,1280), logits (n,1000)) with onnxruntime."""
    session = open_session(path)

    def run(nhwc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pooled, logits = session.run(None, {"pixels": np.ascontiguousarray(
            nhwc.transpose(0, 3, 1, 2), np.float32)})
        return pooled, logits

    return run


def sentence_runner(path: Path, model_dir: Path | None = None) -> Callable[..., np.ndarray]:
    """texts -> unit float32 embeddings, tokenised as sentence-transformers does for the model
    (its tokenizer.json and max_seq_length are stored in the file; `model_dir` is read only for
    files exported before that)."""
    from tokenizers import Tokenizer

    session = open_session(path)
    meta = metadata(session)
    if "tokenizer" in meta:
        tokenizer = Tokenizer.from_str(meta["tokenizer"])
        max_len = int(meta.get("max_seq_length", 256))
    elif model_dir is not None and (model_dir / "tokenizer.json").is_file():
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        config = model_dir / "sentence_bert_config.json"
        max_len = json.loads(config.read_text())["max_seq_length"] if config.is_file() else 256
    else:
        raise UserError(f"{path} holds no tokenizer (exported by an older version): delete it "
                        f"and {SHIP_HINT}")
    tokenizer.enable_truncation(int(max_len))
    pad_id = int((tokenizer.padding or {}).get("pad_id", 0))
    tokenizer.no_padding()  # padded per batch below, after sorting by length
    dim = int(session.get_outputs()[0].shape[-1])

    def run(texts: list[str], batch_size: int = 16) -> np.ndarray:
        """Batches of similar length (as sentence-transformers does), 16 at a time: with random
        batches of 64 the demo gallery's captions embedded at 51 items/s, now 134."""
        encoded = tokenizer.encode_batch(texts) if texts else []
        lengths = np.array([len(e.ids) for e in encoded], np.int64)
        out = np.zeros((len(texts), dim), np.float32)
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            width = int(lengths[rows].max())
            ids = np.full((len(rows), width), pad_id, np.int64)
            mask = np.zeros((len(rows), width), np.int64)
            for r, i in enumerate(rows):
                ids[r, : lengths[i]] = encoded[i].ids
                mask[r, : lengths[i]] = 1
            out[rows] = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        return out

    return run
