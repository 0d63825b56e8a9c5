"""Image -> text retrieval: the nearest captions of a captioned set for an image.

A caption bank holds the distinct captions of a set (identical captions of several images are
one entry that remembers all its images) embedded once by a text-capable model; an image is
embedded by the same model and its nearest captions are the answer, as Flickr30k image-to-text
systems show them. Embedding a set's captions takes seconds, so `caption_bank_for` keeps the
vectors in the index's cache (core.index.cache), written by `python -m core demo`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from core.encoders.base import Encoder, batched
from core.errors import UserError
from core.index import cache
from core.index.store import Index
from core.ingest.sidecar import SIDECAR_NAME, build_queries, load_set
from core.paths import child_folders, sets_dir
from core.progress import Progress
from core.query.topk import top_k


@dataclass
class CaptionBank:
    spec: str
    set_name: str
    root: Path
    texts: list[str]  # distinct captions
    files: list[list[str]]  # the set's images (relative paths) described by each caption
    vectors: np.ndarray  # (n, dim) unit rows

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class CaptionHit:
    rank: int
    text: str
    score: float
    files: list[str]
    set_name: str = ""


def _bank_rows(set_root: str | Path, split: str | None) -> tuple[str, Path, list[str],
                                                                 list[list[str]]]:
    """(set name, root, distinct captions, the images each describes): no model involved."""
    cset = load_set(set_root)
    if split:
        cset = cset.split(split)
        if not len(cset):
            raise UserError(f"{set_root}: no '{split}' rows")
    texts = [t for ts in cset.texts for t in ts]
    owner = np.repeat(np.arange(len(cset)), [len(ts) for ts in cset.texts])
    q = build_queries(texts, owner, len(cset))
    files = [[cset.files[i] for i in imgs] for imgs in q.images_of_text]
    return cset.name, cset.root, q.texts, files


def _embed(encoder: Encoder, texts: list[str], batch: int, progress: Progress | None
           ) -> np.ndarray:
    if not encoder.can_text:
        raise UserError(f"model '{encoder.spec}' cannot embed texts, so it cannot rank captions")
    vecs = []
    for chunk in batched(texts, batch):
        vecs.append(encoder.encode_texts(chunk))
        if progress is not None:
            progress("captions", sum(len(v) for v in vecs), len(texts))
    return np.concatenate(vecs).astype(np.float32)


def build_caption_bank(encoder: Encoder, set_root: str | Path, split: str | None = None,
                       batch: int = 256, progress: Progress | None = None) -> CaptionBank:
    """Embed the distinct captions of a set folder (optionally one split) with `encoder`."""
    name, root, texts, files = _bank_rows(set_root, split)
    return CaptionBank(encoder.spec, name, root, texts, files,
                       _embed(encoder, texts, batch, progress))


def _stored_name(name: str, split: str | None) -> str:
    return f"captionbank-{name}-{split or 'all'}"


def caption_bank_for(index: Index, set_root: str | Path, split: str | None,
                     load: Callable[[], Encoder], progress: Progress | None = None,
                     store: bool = False, batch: int = 256) -> CaptionBank:
    """The set's caption bank in the index's model space: read from the index's cache when it
    was stored for exactly these captions (and this index), else embedded with `load()` (the
    model is only loaded then) and, with `store`, written there for the next server."""
    name, root, texts, files = _bank_rows(set_root, split)
    key = cache.digest(index.spec, texts, files)
    found = cache.read(index, _stored_name(name, split), key)
    if found is not None and found["vectors"].shape == (len(texts), index.dim):
        return CaptionBank(index.spec, name, root, texts, files, found["vectors"])
    vectors = _embed(load(), texts, batch, progress)
    if store:
        cache.write(index, _stored_name(name, split), {"vectors": vectors}, key)
    return CaptionBank(index.spec, name, root, texts, files, vectors)


def caption_bank_stored(index: Index, set_root: str | Path, split: str | None) -> bool:
    """Whether `caption_bank_for` would read this bank from the index's cache."""
    name, _, texts, files = _bank_rows(set_root, split)
    return cache.has(index, _stored_name(name, split), cache.digest(index.spec, texts, files))


def image_vector(encoder: Encoder, image: Image.Image) -> np.ndarray:
    """One unit vector for an RGB image; a clear error for models that embed texts only."""
    if not encoder.can_image:
        raise UserError(f"model '{encoder.spec}' embeds items from their texts, not pixels: "
                        "pick an index built with ConSE, two-branch or OpenCLIP")
    return encoder.encode_images([image])[0]


def nearest_captions(bank: CaptionBank, vec: np.ndarray, k: int = 10) -> list[CaptionHit]:
    """Top-k captions by cosine, best first (ties broken by bank order)."""
    if k < 1:
        raise UserError("k must be at least 1")
    vec = np.asarray(vec, np.float32).reshape(-1)
    if vec.shape[0] != bank.vectors.shape[1]:
        raise UserError(f"image vector has {vec.shape[0]} dimensions but the caption bank "
                        f"({bank.spec}) has {bank.vectors.shape[1]}: use the same model")
    ids, scores = top_k(bank.vectors @ vec, k)
    return [CaptionHit(r, bank.texts[i], float(s), bank.files[i], bank.set_name)
            for r, (i, s) in enumerate(zip(ids.tolist(), scores.tolist(), strict=True), 1)]


def sets_root(repo_root: Path, environ: dict[str, str] | None = None) -> Path:
    """`data/sets/` under the repo, unless IMAGE_SEARCH_SETS names another folder."""
    return sets_dir(environ, root=repo_root)


def find_sets(root: Path) -> list[Path]:
    """Captioned set folders (with a captions.jsonl) directly under root, sorted by name."""
    return child_folders(root, SIDECAR_NAME)


def own_captions(bank: CaptionBank, image_path: str | Path) -> set[int]:
    """Bank rows that describe this very file (when the image belongs to the set)."""
    try:
        rel = Path(image_path).resolve().relative_to(bank.root.resolve()).as_posix()
    except ValueError:
        return set()
    return {i for i, files in enumerate(bank.files) if rel in files}
