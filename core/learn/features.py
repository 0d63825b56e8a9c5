"""Frozen features of a captioned set, computed once and cached on disk.

Training the two-branch head and evaluating ConSE / two-branch both start from the same frozen
numbers: EfficientNet-Lite pooled features (1280-d) plus ImageNet logits per image, and MiniLM
embeddings per caption. Computing them is most of the cost (a forward pass per image), so they
are cached in `data/features/<set>-img-<hash>.npz` (keyed by the file list with sizes and
modification times, and the backbone) and `<set>-txt-<hash>.npz` (keyed by the texts and the
sentence model). A changed file or caption gives a new key, never a stale feature.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from core.atomic import write_with
from core.errors import UserError
from core.ingest.prefetch import prefetch
from core.ingest.sidecar import CaptionedSet
from core.paths import features_dir

DEFAULT_CACHE = features_dir()
IMAGE_SPEC = "efficientnet:lite0"
TEXT_MODEL = "minilm"
SPLITS = ("train", "val", "test")
CACHE_VERSION = 1
IMAGE_CACHE_VERSION = 2  # 2: fit_square preprocessing (features move by cosine ~0.99)
Progress = Callable[[int, int], None]






def _digest(payload: object) -> str:
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return hashlib.sha1(blob).hexdigest()[:16]


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or "set"


def image_key(paths: Sequence[Path], image_spec: str) -> str:
    """Cache key of a file list: path, size and mtime of each file, and the backbone spec."""
    stats = []
    for p in paths:
        st = os.stat(p)
        stats.append([str(Path(p).absolute()), st.st_size, st.st_mtime_ns])
    return _digest([IMAGE_CACHE_VERSION, image_spec, stats])


def _variant(image_spec: str) -> str:
    family, _, variant = image_spec.partition(":")
    if family != "efficientnet" or not variant:
        raise UserError(f"frozen image features must be an EfficientNet spec such as "
                        f"'{IMAGE_SPEC}', got '{image_spec}'")
    return variant


def _decoded(paths: Sequence[Path], draft: int) -> Iterator[Image.Image | None]:
    """Decode ahead in two threads (PIL releases the GIL), in order; None for unusable files."""
    from core.ingest.images import ImageProblem, open_image

    def load(p: Path) -> Image.Image | None:
        try:
            return open_image(p, draft=draft)[0]
        except ImageProblem:
            return None

    return prefetch(load, paths, workers=2, window=16)


def compute_image_features(paths: Sequence[Path], image_spec: str = IMAGE_SPEC,
                           batch: int = 8, progress: Progress | None = None
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pooled (n,1280), logits (n,1000), ok (n,) bool); rows of unreadable files are zeros."""
    from core.encoders.backbones import EFFICIENTNET_SIZES, efficientnet

    variant = _variant(image_spec)
    backbone = efficientnet(variant)
    n = len(paths)
    pooled = np.zeros((n, 1280), np.float32)
    logits = np.zeros((n, 1000), np.float32)
    ok = np.zeros(n, bool)
    pending: list[tuple[int, Image.Image]] = []

    def flush() -> None:
        if pending:
            p, lg = backbone.forward([im for _, im in pending])
            rows = [i for i, _ in pending]
            pooled[rows], logits[rows], ok[rows] = p, lg, True
            pending.clear()

    stream = _decoded(paths, 2 * EFFICIENTNET_SIZES[variant])
    with closing(stream):
        for i, img in enumerate(stream):
            if img is not None:
                pending.append((i, img))
            if len(pending) >= batch:
                flush()
            if progress and (i + 1) % 64 == 0:
                progress(i + 1, n)
    flush()
    if progress:
        progress(n, n)
    return pooled, logits, ok


def cached_image_features(paths: Sequence[Path], image_spec: str = IMAGE_SPEC, *,
                          name: str = "set", cache_dir: str | Path | None = DEFAULT_CACHE,
                          progress: Progress | None = None
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`compute_image_features` through the on-disk cache (None: no cache)."""
    if cache_dir is None:
        return compute_image_features(paths, image_spec, progress=progress)
    path = Path(cache_dir) / f"{_safe_name(name)}-img-{image_key(paths, image_spec)}.npz"
    if path.is_file():
        with np.load(path) as z:
            return z["pooled"], z["logits"], z["ok"]
    pooled, logits, ok = compute_image_features(paths, image_spec, progress=progress)
    _save(path, pooled=pooled, logits=logits, ok=ok)
    return pooled, logits, ok


def cached_text_features(texts: Sequence[str], text_model: str = TEXT_MODEL, *,
                         name: str = "set", cache_dir: str | Path | None = DEFAULT_CACHE
                         ) -> np.ndarray:
    """Unit-length sentence embeddings (n, 384), cached by the texts and the model."""
    from core.encoders.backbones import encode_sentences

    texts = list(texts)
    if cache_dir is None:
        return encode_sentences(text_model, texts)
    key = _digest([CACHE_VERSION, text_model, texts])
    path = Path(cache_dir) / f"{_safe_name(name)}-txt-{key}.npz"
    if path.is_file():
        with np.load(path) as z:
            return z["vecs"]
    vecs = encode_sentences(text_model, texts) if texts else np.zeros((0, 384), np.float32)
    _save(path, vecs=vecs)
    return vecs


def _save(path: Path, **arrays: np.ndarray) -> None:
    """Write next to the target and rename, so a killed run never leaves a half file."""
    write_with(path, lambda tmp: np.savez(tmp, **arrays))


@dataclass
class SetFeatures:
    """Frozen features of a set's usable images; `text_owner[j]` is the image of text j."""

    cset: CaptionedSet
    pooled: np.ndarray
    logits: np.ndarray
    texts: list[str]
    text_owner: np.ndarray
    text_vecs: np.ndarray
    image_spec: str = IMAGE_SPEC
    text_model: str = TEXT_MODEL

    def split(self, name: str) -> SetFeatures:
        return self.subset(np.flatnonzero(np.array(self.cset.splits) == name))

    def subset(self, keep: Sequence[int] | np.ndarray) -> SetFeatures:
        keep = np.asarray(keep, dtype=np.int64)
        new_index = np.full(len(self.cset), -1, np.int64)
        new_index[keep] = np.arange(keep.size)
        tkeep = np.flatnonzero(new_index[self.text_owner] >= 0)
        return SetFeatures(self.cset.subset(keep), self.pooled[keep], self.logits[keep],
                           [self.texts[j] for j in tkeep], new_index[self.text_owner[tkeep]],
                           self.text_vecs[tkeep], self.image_spec, self.text_model)


def set_features(cset: CaptionedSet, image_spec: str = IMAGE_SPEC,
                 text_model: str = TEXT_MODEL, cache_dir: str | Path | None = DEFAULT_CACHE,
                 progress: Progress | None = None) -> SetFeatures:
    """Features of every usable image of the set (unreadable images dropped and reported)."""
    pooled, logits, ok = cached_image_features(cset.paths, image_spec, name=cset.name,
                                               cache_dir=cache_dir, progress=progress)
    bad = np.flatnonzero(~ok)
    if bad.size:
        cset.problems += [f"{cset.files[i]}: unreadable image" for i in bad]
    keep = np.flatnonzero(ok)
    cset = cset.subset(keep)
    pooled, logits = pooled[keep], logits[keep]
    texts = [t for ts in cset.texts for t in ts]
    owner = np.repeat(np.arange(len(cset)), [len(ts) for ts in cset.texts]).astype(np.int64)
    vecs = cached_text_features(texts, text_model, name=cset.name, cache_dir=cache_dir)
    return SetFeatures(cset, pooled, logits, texts, owner, vecs, image_spec, text_model)






