"""crawl -> hash -> decode -> encode -> index folder, with incremental reuse.

Decoding runs in a thread pool while the model encodes the previous batch (PIL and torch both
release the GIL), which is where most of the indexing speed comes from on a 2-core machine.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

from core.encoders.base import Encoder
from core.encoders.registry import load_encoder, parse_spec
from core.errors import UserError
from core.index.encode_step import EncodeNew, local_encode_new
from core.index.fingerprint import fingerprint
from core.index.manifest import BuildSummary, build_manifest, reason_kind
from core.index.reuse import content_hashes, previous_index
from core.index.store import (
    FILES,
    STORES,
    commit,
    write_annoy,
    write_tables,
)
from core.index.versions import (
    build_lock,
    check_replaceable,
    fault_point,
    remove_leftovers,
    staged,
)
from core.ingest.crawl import DEFAULT_EXTENSIONS, Candidate, crawl
from core.ingest.exif import taken_at
from core.ingest.images import (
    DEFAULT_MAX_PIXELS,
    THUMB_SIZE,
)
from core.ingest.ocr import COLUMN as OCR_COLUMN
from core.ingest.ocr import build_texts, require_ocr, skipped_row
from core.progress import Progress

DEFAULT_TREES = 16
NO_TEXT = "no text to embed (captions model needs descriptions)"
ENGINES = ("local", "ray")


def _item_texts(enc: Encoder, texts, rel_path: str, ocr_text: str = "") -> list[str]:
    """What the model reads of an item's texts (its descriptions, and its name for a hybrid),
    then the text found in the image (--ocr)."""
    if enc.item_input == "pixels":
        return []
    return enc.item_texts(list(texts), rel_path) + ([ocr_text] if ocr_text else [])


def item_key(enc: Encoder, digest: str, texts: list[str]) -> str:
    """What an item's vector depends on: its content hash, and the texts the model reads (so an
    edited caption or a renamed file is embedded again, and two copies of one photo with other
    texts get their own vectors)."""
    if enc.item_input == "pixels":
        return digest
    blob = json.dumps(texts, ensure_ascii=False).encode("utf-8")
    return f"{digest}:{hashlib.sha1(blob).hexdigest()[:16]}"


def _row(cand: Candidate, digest: str, size: tuple[int, int]) -> dict:
    meta = cand.meta
    return {"path": str(cand.path), "rel_path": cand.rel_path, "root": str(cand.root),
            "hash": digest, "size": cand.size, "mtime": cand.mtime, "ctime_ns": cand.ctime_ns,
            "inode": cand.inode, "width": size[0], "height": size[1],
            "taken": taken_at(cand.path),  # EXIF DateTimeOriginal (ISO) or None: date filters
            "texts": list(cand.texts), "source": meta.get("source", ""),
            "licence": meta.get("licence", ""), "attribution": meta.get("attribution", ""),
            "split": meta.get("split", ""), "category": meta.get("category", ""),
            "extra": json.dumps(meta.get("extra", {}), ensure_ascii=False)}


def build_index(
    roots: list[str | Path], spec: str, out: str | Path, *, extensions=DEFAULT_EXTENSIONS,
    trees: int = DEFAULT_TREES, batch_size: int | None = None, max_pixels: int = DEFAULT_MAX_PIXELS,
    thumb_size: int = THUMB_SIZE, workers: int = 2, force: bool = False,
    progress: Progress | None = None, store: str = "annoy", engine: str = "local",
    ray_address: str | None = None, ocr: bool = False,
) -> BuildSummary:
    """Build (or incrementally refresh) the index at `out`; the old one stays until the end.

    Holds the build lock of `out` throughout, and refuses an `out` that is not an index of ours.
    `store` 'lance' writes core.index.lance_store's table instead of embeddings.npy + Annoy;
    `engine` 'ray' decodes and encodes on a Ray cluster (core.index.ray_engine), everything else
    (crawl, hashes and reuse, skipped report, publish) staying this module's.
    """
    out = Path(out)
    parse_spec(spec)
    require_ocr(ocr)
    if store not in STORES or engine not in ENGINES:
        raise UserError(f"--store must be one of {', '.join(STORES)} and --engine one of "
                        f"{', '.join(ENGINES)} (got {store!r}, {engine!r})")
    encode_new: EncodeNew = local_encode_new
    if engine == "ray":
        from core.index.ray_engine import ray_encoder

        encode_new = ray_encoder(ray_address)
    check_replaceable(out)
    with build_lock(out):
        check_replaceable(out)  # again under the lock: another build may have just finished
        notes = remove_leftovers(out)
        return _build_locked(roots, spec, out, notes, extensions=extensions, trees=trees,
                             batch_size=batch_size, max_pixels=max_pixels,
                             thumb_size=thumb_size, workers=workers, force=force,
                             progress=progress, store=store, encode_new=encode_new, ocr=ocr)


def _build_locked(roots, spec: str, out: Path, notes: list[str], *, extensions, trees: int,
                  batch_size: int | None, max_pixels: int, thumb_size: int, workers: int,
                  force: bool, progress: Progress | None, store: str,
                  encode_new: EncodeNew, ocr: bool = False) -> BuildSummary:
    started = time.perf_counter()
    crawled = crawl(roots, extensions, skip=[out])  # a wrong folder fails before a slow model load
    fault_point("crawl")
    enc = load_encoder(spec)
    batch = batch_size or enc.batch_size
    probe = fingerprint(enc)
    prev = previous_index(out, enc.spec, force, notes, probe)
    skipped = [{"path": p.path, "reason": p.reason} for p in crawled.problems]
    hashed = content_hashes(crawled.candidates, prev, progress, skipped)
    cands = [c for c, h in zip(crawled.candidates, hashed, strict=True) if h is not None]
    hashes = [h for h in hashed if h is not None]
    summary = BuildSummary(out=out, spec=enc.spec, notes=notes, ignored=crawled.ignored)

    found, summary.ocr = build_texts(cands, hashes, prev, max_pixels=max_pixels, workers=workers,
                                     progress=progress) if ocr else ({}, None)
    texts = [_item_texts(enc, c.texts, c.rel_path, found.get(h, ""))
             for c, h in zip(cands, hashes, strict=True)]
    keys = [item_key(enc, h, t) for h, t in zip(hashes, texts, strict=True)]
    prev_by_key: dict[str, int] = {}
    if prev is not None:
        old = prev.items
        rels = old["rel_path"] if "rel_path" in old else [""] * len(old)  # older indexes
        ocrs = old[OCR_COLUMN].fillna("") if OCR_COLUMN in old else [""] * len(old)
        prev_by_key = {item_key(enc, h, _item_texts(enc, t, r, o)): i
                       for i, (h, t, r, o) in enumerate(zip(old["hash"], old["texts"], rels,
                                                            ocrs, strict=True))}
        prev_emb = np.asarray(prev.embeddings)  # the mapping itself, or a Lance table read once
    with staged(out) as stage:
        vectors: dict[str, np.ndarray] = {}
        sizes: dict[str, tuple[int, int]] = {}
        todo: dict[str, tuple[Candidate, dict[str, list[str]]]] = {}  # digest -> keys to encode
        for cand, digest, key, item_texts in zip(cands, hashes, keys, texts, strict=True):
            if enc.item_input == "texts" and not item_texts:
                continue
            if key in prev_by_key:
                j = prev_by_key[key]
                vectors[key] = prev_emb[j]
                sizes[digest] = (int(prev.items.at[j, "width"]), int(prev.items.at[j, "height"]))
                src = prev.thumb_path(j)  # None: a link out of the index, never copied
                dest = stage / FILES["thumbs"] / f"{digest}.jpg"
                if src is not None and src.is_file() and not dest.exists():
                    shutil.copy2(src, dest)
            else:
                todo.setdefault(digest, (cand, {}))[1][key] = item_texts
        encode_started = time.perf_counter()
        problems = encode_new(enc, list(todo.items()), stage, batch, max_pixels, thumb_size,
                              workers, vectors, sizes, progress)
        summary.encode_seconds = time.perf_counter() - encode_started
        rows, vecs = [], []
        for cand, digest, key, item_texts in zip(cands, hashes, keys, texts, strict=True):
            if enc.item_input == "texts" and not item_texts:
                skipped.append({"path": str(cand.path), "reason": NO_TEXT,
                                **skipped_row(found, digest)})
            elif key in problems:
                skipped.append({"path": str(cand.path), "reason": problems[key]})
            else:
                rows.append({**_row(cand, digest, sizes[digest]),
                             OCR_COLUMN: found.get(digest, "")})
                vecs.append(vectors[key])
                if key in prev_by_key:
                    summary.reused += 1
        if not rows:
            raise UserError(f"no usable images under {', '.join(map(str, roots))} "
                            f"({len(skipped)} skipped)")
        items = pd.DataFrame(rows)
        emb = np.stack(vecs).astype(np.float32)
        groups = defaultdict(list)
        for i, h in enumerate(items["hash"]):
            groups[h].append(i)
        duplicates = {h: ids for h, ids in groups.items() if len(ids) > 1}
        extra = write_tables(stage, items, emb, skipped, duplicates, store)
        if store == "annoy":
            if progress:
                progress("annoy", 0, 1)
            write_annoy(stage, emb, trees)
        fault_point("write")
        summary.items = len(items)
        summary.new = summary.items - summary.reused
        summary.duplicate_groups = len(duplicates)
        summary.skipped = Counter(reason_kind(s["reason"]) for s in skipped)
        if prev is not None:
            summary.removed = len(set(prev.items["path"]) - set(items["path"]))
        summary.seconds = time.perf_counter() - started
        manifest = build_manifest(enc, items, emb, skipped, roots, summary, trees, batch,
                                  extensions, max_pixels, thumb_size)
        commit(stage, out, {**manifest, **extra, "fingerprint": probe})
    return summary

