"""Results every visitor of an index needs, computed once and stored inside its version folder.

A fresh server would otherwise redo them for its first visitor (the caption bank's encoding,
k-means, PCA, t-SNE, the explorer's thumbnails: seconds to tens of seconds). They live in
`<version>/cache/NAME.npz`, so a rebuild (a new version folder) never sees the old ones, and each
file also carries the index's key (a digest of its manifest: model spec, fingerprint, build time,
counts) and the caller's own key (e.g. the captions file's digest), so a file copied into another
index, or computed from inputs that have changed since, is ignored rather than trusted.
Files are written atomically (core.atomic): a reader sees a whole file or none.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from pathlib import Path

import numpy as np

from core.atomic import write_with
from core.index.store import Index

FOLDER = "cache"  # inside the index's version folder; allowed there by core.index.versions
_KEY, _OWN = "_index_key", "_key"
_SAFE = re.compile(r"[^A-Za-z0-9._=-]+")


def index_key(index: Index) -> str:
    """What makes these results valid for this index: its manifest (spec, probe fingerprint,
    build time, counts) and the shape of its embeddings."""
    text = json.dumps(index.manifest, sort_keys=True, default=str) + repr(index.embeddings.shape)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def digest(*parts: object) -> str:
    """A short stable digest of arrays, bytes and plain values (a caller's key)."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            h.update(repr((part.dtype.str, part.shape)).encode())
            h.update(np.ascontiguousarray(part).tobytes())
        elif isinstance(part, bytes):
            h.update(part)
        else:
            h.update(json.dumps(part, sort_keys=True, default=str).encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:32]


def path_of(index: Index, name: str) -> Path:
    """`<version>/cache/<name>.npz`, with the name reduced to safe file-name characters."""
    return index.files / FOLDER / f"{_SAFE.sub('_', name)}.npz"


def read(index: Index, name: str, key: str = "") -> dict[str, np.ndarray] | None:
    """The stored arrays, or None when absent, unreadable or made for another index or key."""
    path = path_of(index, name)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z[_KEY]) != index_key(index) or str(z[_OWN]) != key:
                return None
            return {k: z[k] for k in z.files if k not in (_KEY, _OWN)}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


def write(index: Index, name: str, arrays: dict[str, np.ndarray], key: str = "") -> Path:
    """Store arrays for `name` atomically (an OSError, e.g. a read-only index, is the caller's)."""
    stamped = {_KEY: np.array(index_key(index)), _OWN: np.array(key), **arrays}
    return write_with(path_of(index, name), lambda tmp: np.savez(tmp, **stamped))


def has(index: Index, name: str, key: str = "") -> bool:
    return read(index, name, key) is not None


def pack_json(obj: object) -> np.ndarray:
    """Texts and nested lists as one uint8 array (no pickles in an .npz)."""
    return np.frombuffer(json.dumps(obj, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)


def unpack_json(arr: np.ndarray) -> object:
    return json.loads(bytes(np.asarray(arr, dtype=np.uint8)).decode("utf-8"))
