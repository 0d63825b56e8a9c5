"""Image -> text retrieval: the nearest captions of a captioned set for an image.

A caption bank holds the distinct captions of a set (identical captions of several images are
one entry that remembers all its images) embedded once by a text-capable model; an image is
embedded by the same model and its nearest captions are the answer, as Flickr30k image-to-text
systems show them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from core.encoders.base import Encoder, batched
from core.errors import UserError
from core.ingest.sidecar import SIDECAR_NAME, build_queries, load_set
from core.paths import child_folders, sets_dir
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


def build_caption_bank(encoder: Encoder, set_root: str | Path, split: str | None = None,
                       batch: int = 256) -> CaptionBank:
    """Embed the distinct captions of a set folder (optionally one split) with `encoder`."""
    if not encoder.can_text:
        raise UserError(f"model '{encoder.spec}' cannot embed texts, so it cannot rank captions")
    cset = load_set(set_root)
    if split:
        cset = cset.split(split)
        if not len(cset):
            raise UserError(f"{set_root}: no '{split}' rows")
    texts = [t for ts in cset.texts for t in ts]
    owner = np.repeat(np.arange(len(cset)), [len(ts) for ts in cset.texts])
    q = build_queries(texts, owner, len(cset))
    vecs = [encoder.encode_texts(chunk) for chunk in batched(q.texts, batch)]
    files = [[cset.files[i] for i in imgs] for imgs in q.images_of_text]
    return CaptionBank(encoder.spec, cset.name, cset.root, q.texts, files,
                       np.concatenate(vecs).astype(np.float32))


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
