"""The photo-domain benchmark: hand-written natural queries over the demo gallery's photos.

`core/eval/queries/photo_queries.jsonl` holds one object per line, `{"query": "a brown bear",
"relevant": ["gcompris/.../bear.jpg", ...]}`, keys being paths relative to the gallery folder
(its `captions.jsonl` `file` field). The queries were written by reading each photo's
descriptions (GCompris names and activity texts, foolbox ImageNet classes, wallpaper titles,
scikit-image/scikit-learn captions) and looking at the photos; they are phrased as a visitor
would type them, not as file names. The IFCT food photos are left out: food is what the
captioned `ifct` set already measures.

The split is by image, so that no photo is judged in both splits: images that share a query
are joined into one group (a query of two Eiffel Tower photos ties them together), and a group
goes to dev or test by a hash of its smallest key. A query then belongs to the split of its
images. The split is a pure function of the file, so it never moves between runs or machines.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from core.errors import UserError

QUERY_FILE = Path(__file__).with_name("queries") / "photo_queries.jsonl"
SPLITS = ("dev", "test")


@dataclass(frozen=True)
class PhotoQuery:
    """One natural-language query and the gallery keys of every photo it should find."""

    text: str
    relevant: tuple[str, ...]


def load_queries(path: str | Path = QUERY_FILE) -> list[PhotoQuery]:
    """Queries in file order; a malformed line is one clear error naming the line."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: photo query file not found")
    out: list[PhotoQuery] = []
    seen: set[str] = set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise UserError(f"{path}:{n}: not valid JSON ({e.msg})") from e
        text, rel = (row.get("query"), row.get("relevant")) if isinstance(row, dict) else (0, 0)
        if not isinstance(text, str) or not text.strip():
            raise UserError(f"{path}:{n}: 'query' must be a non-empty string")
        if not isinstance(rel, list) or not rel or not all(isinstance(k, str) for k in rel):
            raise UserError(f"{path}:{n}: 'relevant' must be a non-empty list of image keys")
        if text.strip().lower() in seen:
            raise UserError(f"{path}:{n}: duplicate query '{text}'")
        seen.add(text.strip().lower())
        out.append(PhotoQuery(text.strip(), tuple(dict.fromkeys(rel))))
    if not out:
        raise UserError(f"{path}: no queries")
    return out


def _groups(queries: Iterable[PhotoQuery]) -> dict[str, str]:
    """Image key -> the smallest key of its group (images linked by shared queries)."""
    parent: dict[str, str] = {}

    def root(k: str) -> str:
        while parent.setdefault(k, k) != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for q in queries:
        first = root(q.relevant[0])
        for k in q.relevant[1:]:
            a, b = sorted((first, root(k)))
            parent[b] = a
            first = a
    return {k: root(k) for k in parent}


def hashed_split(key: str) -> str:
    """dev or test from a stable hash of the key (about half each)."""
    return SPLITS[hashlib.sha1(key.encode("utf-8")).digest()[0] & 1]


def image_splits(queries: list[PhotoQuery]) -> dict[str, str]:
    """Image key -> split, for every image some query names."""
    return {k: hashed_split(g) for k, g in _groups(queries).items()}


def split_queries(queries: list[PhotoQuery], split: str) -> list[PhotoQuery]:
    """The queries whose images are in `split` (all of a query's images share one split)."""
    if split not in SPLITS:
        raise UserError(f"photo split must be one of {', '.join(SPLITS)}, got '{split}'")
    splits = image_splits(queries)
    return [q for q in queries if splits[q.relevant[0]] == split]


def check_keys(queries: list[PhotoQuery], known: Iterable[str], where: str = "the gallery"
               ) -> None:
    """Every relevant key must be an image of the gallery: a wrong key would silently make a
    query unanswerable."""
    known = set(known)
    missing = sorted({k for q in queries for k in q.relevant if k not in known})
    if missing:
        raise UserError(f"{len(missing)} photo-query image(s) not in {where}, first: "
                        f"{missing[0]}")
