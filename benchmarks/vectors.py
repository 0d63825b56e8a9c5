"""Vectors shaped like a real ConSE index, at any size, and index folders holding them.

A ConSE image vector is the probability-weighted mean of the MiniLM embeddings of the image's top
10 ImageNet classes. Here the "classifier" is simulated: each item gets a subject class (a Zipf
choice among a few hundred classes, so the cloud is clustered like a real gallery), its logits
are that class's semantic similarity to all 1000 classes times a random confidence, plus noise,
and the real `core.encoders.conse.conse_vectors` turns them into the vector. Text queries are
real MiniLM embeddings of short phrases, exactly what ConSE's text side computes, so they lie
away from the image cloud the way real text queries do (single sentences, not averages).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from core.encoders.conse import DEFAULT_TEMPLATE, DEFAULT_TOP, class_embeddings, conse_vectors
from core.index.store import FILES, SCHEMA_VERSION, write_annoy, write_tables

SUBJECTS = 400  # classes that occur in the simulated gallery
ZIPF = 0.9  # how unevenly they occur
CONFIDENCE = (3.0, 16.0)  # logit scale range: unsure .. sure classifier
NOISE = 1.0  # per-class logit noise
ON_SUBJECT = 0.5  # share of text queries about a class the gallery holds
QUERY_TEMPLATES = ("{}", "a {}", "a {} in the snow", "close-up of a {}", "two {}s",
                   "a {} at night", "my {}", "an old {}", "a small {} on a table",
                   "a {} next to a car")


def _classes() -> tuple[np.ndarray, list[str]]:
    from core.encoders.backbones import imagenet_classes

    return class_embeddings(DEFAULT_TEMPLATE), imagenet_classes()


def _subjects(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    subjects = rng.choice(1000, SUBJECTS, replace=False)
    weights = 1.0 / np.arange(1, SUBJECTS + 1) ** ZIPF
    return subjects, weights / weights.sum()


def image_vectors(n: int, seed: int = 0, chunk: int = 20_000,
                  out: np.ndarray | None = None) -> np.ndarray:
    """(n, 384) float32 unit vectors, clustered like a ConSE gallery (see module doc). `out`
    (e.g. an on-disk memmap) is filled chunk by chunk instead of a new in-RAM array; the rows do
    not depend on n, so the first m rows of a larger set are image_vectors(m) when m is a
    multiple of `chunk` (1M and 10M are)."""
    class_vecs, _ = _classes()
    sim = class_vecs @ class_vecs.T
    rng = np.random.default_rng(seed)
    subjects, weights = _subjects(np.random.default_rng(12345))  # same gallery for every seed
    out = np.empty((n, class_vecs.shape[1]), np.float32) if out is None else out
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        subject = subjects[rng.choice(SUBJECTS, m, p=weights)]
        confidence = rng.uniform(*CONFIDENCE, (m, 1)).astype(np.float32)
        logits = confidence * sim[subject] + rng.normal(0, NOISE, (m, 1000)).astype(np.float32)
        out[start:start + m] = conse_vectors(logits, class_vecs, DEFAULT_TOP)
    return out


def vectors_file(path: Path, n: int, seed: int = 0) -> np.ndarray:
    """image_vectors(n) as a read-only memmap of the .npy at `path`, generated straight into it
    on first use (10M x 384 is 15 GB: more than a build should hold in RAM). A file without its
    `.done` marker is from an interrupted run and is written again."""
    done = path.with_name(path.name + ".done")
    if not done.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, 384))
        image_vectors(n, seed, out=out)
        out.flush()
        del out
        done.write_text(f"{n}\n")
    return np.load(path, mmap_mode="r")


def text_queries(n: int, seed: int = 1) -> list[str]:
    """Short phrases about classes (half of them ones the gallery holds), varied wording."""
    _, names = _classes()
    rng = np.random.default_rng(seed)
    subjects, weights = _subjects(np.random.default_rng(12345))
    out = []
    for _ in range(n):
        on_subject = rng.random() < ON_SUBJECT
        c = subjects[rng.choice(SUBJECTS, p=weights)] if on_subject else rng.integers(1000)
        name = names[int(c)].split(",")[0].strip()
        out.append(QUERY_TEMPLATES[rng.integers(len(QUERY_TEMPLATES))].format(name))
    return out


def items_table(n: int, seed: int = 0, start: int = 0) -> pd.DataFrame:
    """An items table with the real columns and realistic values (what a fetch returns): rows
    start..start + n of it, so a writer can build a large one slice by slice."""
    rng = np.random.default_rng([seed, start])
    ids = np.arange(start, start + n)
    rel = [f"photos/{i // 1000:04d}/IMG_{i:07d}.jpg" for i in ids]
    return pd.DataFrame({
        "path": [f"/home/user/{r}" for r in rel], "rel_path": rel, "root": "/home/user",
        "hash": [f"{i:040x}" for i in ids], "size": rng.integers(2**18, 2**22, n),
        "mtime": 1.7e9 + ids.astype(float), "width": 1920, "height": 1080,
        "texts": [[] for _ in ids], "source": "", "licence": "", "attribution": "", "split": "",
        "category": "", "extra": "{}",
    })


def write_index(folder: Path, vectors: np.ndarray, trees: int | None, store: str = "annoy",
                ann_min_rows: int | None = None) -> float:
    """A complete index folder (no thumbnails) as core.index.store writes it; returns Annoy build
    seconds (0 when trees is None: exact search only). `store` 'lance' writes the Lance table
    instead (with its ANN index from `ann_min_rows` rows, default the store's threshold) and
    returns its build seconds."""
    import time

    folder.mkdir(parents=True, exist_ok=True)
    (folder / FILES["thumbs"]).mkdir(exist_ok=True)
    extra: dict = {}
    start = time.perf_counter()
    if store == "lance":
        from core.index.lance_store import ANN_MIN_ROWS

        extra = write_tables(folder, lambda a, b: items_table(b - a, start=a), vectors, [], {},
                             store="lance", ann_min_rows=ann_min_rows or ANN_MIN_ROWS)
        trees = None
    elif not (folder / FILES["embeddings"]).is_file():
        write_tables(folder, items_table(len(vectors)), vectors, [], {})
    seconds = time.perf_counter() - start if store == "lance" else 0.0
    ann = folder / FILES["annoy"]
    ann.unlink(missing_ok=True)
    if trees:
        start = time.perf_counter()
        write_annoy(folder, vectors, trees)
        seconds = time.perf_counter() - start
    manifest = {"schema_version": SCHEMA_VERSION, "dim": int(vectors.shape[1]),
                "metric": "cosine", "settings": {"trees": trees},
                "encoder": {"spec": "conse:lite0,top=10,template=a photo of a {}",
                            "random_weights": False},
                "counts": {"items": len(vectors)}, **extra}
    (folder / FILES["manifest"]).write_text(json.dumps(manifest), encoding="utf-8")
    return seconds


def shape(vectors: np.ndarray, text_vecs: np.ndarray, sample: int = 2000) -> list[float]:
    """Statistics that decide how hard nearest-neighbour search is: mean cosine between items,
    mean cosine to the nearest other item, and a text query's mean cosine to its 1st and 10th
    hit (text queries lying away from the cloud have lower, flatter top scores)."""
    x = vectors[np.random.default_rng(0).choice(len(vectors), min(sample, len(vectors)),
                                                 replace=False)]
    gram = x @ x.T
    np.fill_diagonal(gram, np.nan)
    top = -np.sort(-(text_vecs @ vectors.T), axis=1)
    return [float(np.nanmean(gram)), float(np.nanmax(gram, axis=1).mean()),
            float(top[:, 0].mean()), float(top[:, 9].mean())]
