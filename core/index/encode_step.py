"""The engine-specific step of a build: decode, thumbnail and encode the files that are new.

core.index.build does everything else (crawl, hashes, item keys and reuse, the skipped report,
publish) and hands this step the new files as [(hash, (file, {item key: texts the model reads}))]:
each file is decoded and thumbnailed once, and encoded once per item key (a hybrid model reads
texts as well as pixels, so two copies of one photo with other captions are two vectors). An
engine fills `vectors` by item key and `sizes` by hash, writes each thumbnail into the staging
folder and returns {item key: why skipped}. The local engine is here; core.index.ray_engine runs
the same helpers on a Ray cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from core.encoders.base import Encoder
from core.index.store import FILES
from core.index.versions import fault_point
from core.ingest.crawl import Candidate
from core.ingest.images import ImageProblem, make_thumbnail, open_image
from core.ingest.prefetch import prefetch
from core.progress import Progress

NOT_FINITE = "the model gave a non-finite vector (NaN or inf)"
Todo = list[tuple[str, tuple[Candidate, dict[str, list[str]]]]]  # [(hash, (file, {key: texts}))]
Files = list[tuple[Path, str, dict[str, list[str]]]]  # [(path, hash, {item key: texts})]
# (encoder, Todo, stage, batch, max_pixels, thumb_size, workers, vectors, sizes, progress)
#  -> {item key: why skipped}
EncodeNew = Callable[..., dict[str, str]]


@dataclass
class Decoded:
    hash: str
    image: Image.Image | None = None
    size: tuple[int, int] = (0, 0)
    problem: str | None = None


def decode_job(path: Path, digest: str, max_pixels: int, draft: int, thumbs: Path,
               thumb_size: int) -> Decoded:
    """Decode and write the thumbnail: in a worker thread so it overlaps the encoder (local
    engine), or in a Ray Data task (core.index.ray_engine)."""
    try:
        img, size = open_image(path, max_pixels=max_pixels, draft=draft)
    except ImageProblem as e:
        return Decoded(digest, problem=str(e))
    make_thumbnail(img, thumb_size).save(thumbs / f"{digest}.jpg", "JPEG", quality=85)
    return Decoded(digest, img, size)


def input_side(enc: Encoder) -> int:
    """The model's input side in pixels, from the registry's table (no peeking into the model);
    0 when the model reads texts (decoding is then for the thumbnail only)."""
    from core.encoders.registry import capabilities

    return capabilities(enc.spec).input_size


def draft_side(enc: Encoder, thumb_size: int) -> int:
    """JPEGs decode at the smallest DCT scale that still covers the thumbnail and the model
    input (short side >= both): 2-4x less decode and resize work than a 2x margin, embeddings
    within 0.001 cosine (BENCHMARKS.md, indexing)."""
    return max(thumb_size, input_side(enc))


def _decoded_stream(jobs: list[tuple[Path, str]], max_pixels: int, draft: int,
                    workers: int, thumbs: Path, thumb_size: int) -> Iterator[Decoded]:
    """Decode (and thumbnail) ahead of the encoder, in order, with bounded look-ahead."""
    def decode(job: tuple[Path, str]) -> Decoded:
        return decode_job(job[0], job[1], max_pixels, draft, thumbs, thumb_size)

    return prefetch(decode, jobs, workers=workers, window=4 * workers + 8)


def keep_vectors(keys: list[str], vecs: np.ndarray, vectors: dict, problems: dict) -> None:
    """Store each new vector by item key, except a non-finite one, which would score NaN
    against every query: that item is reported instead."""
    for key, vec in zip(keys, vecs, strict=True):
        if np.isfinite(vec).all():
            vectors[key] = vec
        else:
            problems[key] = NOT_FINITE


def encode_files(enc: Encoder, files: Files, thumbs: Path, batch: int, max_pixels: int,
                 thumb_size: int, workers: int, vectors: dict, sizes: dict,
                 on_batch: Callable[[int], None] | None = None) -> dict[str, str]:
    """Decode and thumbnail each file once in `workers` threads, ahead of the model, and encode
    it once per item key (its texts); return the problems by item key. `on_batch(files done)`
    runs after each encoded batch. The local engine runs this over every new file, each Ray
    actor over its blocks."""
    problems: dict[str, str] = {}
    pending: list[tuple[Decoded, str, list[str]]] = []
    done = 0

    def flush() -> None:
        nonlocal done
        if not pending:
            return
        vecs = enc.encode_items([d.image for d, _, _ in pending], [t for _, _, t in pending])
        keep_vectors([key for _, key, _ in pending], vecs, vectors, problems)
        done += len({d.hash for d, _, _ in pending})
        pending.clear()
        if on_batch:
            on_batch(done)

    wanted = {digest: keys for _, digest, keys in files}
    draft = draft_side(enc, thumb_size)
    stream = _decoded_stream([(path, digest) for path, digest, _ in files], max_pixels, draft,
                             workers, thumbs, thumb_size)
    with closing(stream):  # stopped early (Ctrl-C, SIGTERM): no thumbnail written after this
        for d in stream:
            keys = wanted[d.hash]
            if d.problem is not None:
                problems.update(dict.fromkeys(keys, d.problem))
                done += 1
                continue
            sizes[d.hash] = d.size
            pending += [(d, key, texts) for key, texts in keys.items()]
            if len(pending) >= batch:
                flush()
    flush()
    return problems


def local_encode_new(enc: Encoder, todo: Todo, stage: Path, batch: int, max_pixels: int,
                     thumb_size: int, workers: int, vectors: dict, sizes: dict,
                     progress: Progress | None) -> dict[str, str]:
    """The local engine: every new file through `encode_files` in this process."""
    def on_batch(done: int) -> None:
        fault_point("encode")
        if progress:
            progress("encode", done, len(todo))

    files = [(cand.path, digest, keys) for digest, (cand, keys) in todo]
    return encode_files(enc, files, stage / FILES["thumbs"], batch, max_pixels, thumb_size,
                        workers, vectors, sizes, on_batch)
