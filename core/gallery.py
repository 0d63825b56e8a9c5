"""What the browser app needs beyond search, kept free of Streamlit so it can be unit-tested.

Everything a visitor can type or put in a URL passes through the `parse_*`/`pick_name` helpers
here, which only ever return values from a known list or a bounded range: no page takes a path,
an index name or an image id from input without them.
"""

from __future__ import annotations

import io
import json
import os
import random
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from PIL import Image

from core.encoders.base import Encoder
from core.images import ImageProblem, open_image, pad_to_square
from core.search import Hit, Query, collapse_duplicates, search
from core.store import FILES, Index

ENV_INDEXES = "IMAGE_SEARCH_INDEXES"
# Default index choice: the best text-capable family first (see `default_index`).
FAMILY_PREFERENCE = ("fusion", "twobranch", "openclip", "conse", "captions")
TILE_FILL = (243, 244, 246)
MAX_QUERY_CHARS = 500


@dataclass(frozen=True)
class IndexEntry:
    """One scanned index folder, summarised from its manifest without loading the arrays."""

    name: str
    path: Path
    spec: str
    family: str
    random_weights: bool
    can_text: bool
    can_image: bool
    items: int
    built_at: str
    stamp: float  # manifest mtime: a rebuilt index gets a fresh cache entry

    @property
    def label(self) -> str:
        warn = " · random weights" if self.random_weights else ""
        return f"{self.name} · {self.family} · {self.items} images · {self.queries} queries{warn}"

    @property
    def queries(self) -> str:
        kinds = [k for k, ok in (("text", self.can_text), ("image", self.can_image)) if ok]
        return " + ".join(kinds) or "no"


def indexes_root(repo_root: Path, environ: dict[str, str] | None = None) -> Path:
    """`indexes/` under the repo, unless IMAGE_SEARCH_INDEXES names another folder."""
    env = os.environ if environ is None else environ
    value = env.get(ENV_INDEXES, "").strip()
    return Path(value).expanduser() if value else repo_root / "indexes"


def scan_indexes(root: Path) -> list[IndexEntry]:
    """Index folders directly under root, sorted by name; unreadable manifests are left out."""
    root = Path(root)
    if not root.is_dir():
        return []
    out: list[IndexEntry] = []
    for path in sorted(p for p in root.iterdir() if not p.name.startswith(".")):
        manifest_path = path / FILES["manifest"]
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            enc = manifest["encoder"]
            modalities = set(enc.get("query_modalities", []))
            out.append(IndexEntry(
                name=path.name, path=path, spec=str(enc["spec"]),
                family=str(enc.get("family") or str(enc["spec"]).split(":", 1)[0]),
                random_weights=bool(enc.get("random_weights", False)),
                can_text="text" in modalities, can_image="image" in modalities,
                items=int(manifest.get("counts", {}).get("items", 0)),
                built_at=str(manifest.get("built_at", "?")),
                stamp=manifest_path.stat().st_mtime))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return out


def default_index(entries: list[IndexEntry]) -> str | None:
    """The best text-capable index: fusion, twobranch, non-random openclip, conse, captions, any."""
    def rank(e: IndexEntry) -> tuple[int, int, int]:
        tier = (FAMILY_PREFERENCE.index(e.family)
                if e.family in FAMILY_PREFERENCE and not e.random_weights
                else len(FAMILY_PREFERENCE))
        return tier, int(not e.can_text), int(e.random_weights)

    return min(entries, key=rank).name if entries else None


def pick_name(value: object, names: list[str]) -> str | None:
    """`value` only if it is exactly one of the known names (URL parameters are untrusted)."""
    return value if isinstance(value, str) and value in names else None


def parse_int(value: object, default: int, lo: int, hi: int) -> int:
    """An integer clamped to [lo, hi]; anything unparsable gives the default."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return default
    return max(lo, min(hi, number))


def parse_float(value: object, default: float, lo: float, hi: float) -> float:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return default
    if number != number:  # NaN
        return default
    return max(lo, min(hi, number))


def parse_id(value: object, n: int) -> int | None:
    """A gallery id in 0..n-1, or None: never clamped, a wrong id is simply not used."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 <= number < n else None


def clean_text(value: object) -> str:
    """A query string from the URL or a form: trimmed and bounded."""
    return value.strip()[:MAX_QUERY_CHARS] if isinstance(value, str) else ""


def search_collapsed(encoder: Encoder | None, index: Index, query: Query, k: int) -> list[Hit]:
    """k distinct images: exact duplicates fold into the best copy, which counts them.

    Asks for a few more candidates than k so folding duplicates still leaves k results.
    """
    spare = sum(len(ids) - 1 for ids in index.duplicates.values())
    want = min(index.n, k + min(spare, 4 * k))
    hits = collapse_duplicates(index, search(encoder, index, query, k=max(want, 1)))
    return hits[:k]


def chunk(seq: list, size: int) -> list[list]:
    """Rows of a grid."""
    return [seq[i:i + size] for i in range(0, len(seq), size)]


def page_count(n: int, per_page: int) -> int:
    return max(1, -(-n // per_page))


def page_ids(n: int, page: int, per_page: int) -> list[int]:
    """Gallery ids on 1-based `page` (clamped to the last page)."""
    page = max(1, min(page, page_count(n, per_page)))
    start = (page - 1) * per_page
    return list(range(start, min(n, start + per_page)))


def sample_ids(n: int, count: int, seed: int) -> list[int]:
    """A reproducible random sample of gallery ids for a showcase grid."""
    return sorted(random.Random(seed).sample(range(n), min(n, count)))


def tile_jpeg(thumb: Path, size: int = 256, fill: tuple[int, int, int] = TILE_FILL) -> bytes:
    """A thumbnail padded to a square tile, so every cell of a grid has the same height."""
    try:
        img, _ = open_image(thumb)
    except ImageProblem:
        img = Image.new("RGB", (size, size), fill)
    img.thumbnail((size, size))
    return _jpeg(pad_to_square(img, fill))


def preview_jpeg(original: Path, thumb: Path, max_side: int = 1024) -> tuple[bytes, bool]:
    """The original, downscaled for the detail view; the thumbnail when it is gone or broken.

    Returns (jpeg bytes, whether the original was used).
    """
    try:
        img, _ = open_image(original, draft=max_side)
    except ImageProblem:
        return tile_jpeg(thumb), False
    img.thumbnail((max_side, max_side))
    return _jpeg(img), True


def upload_preview_jpeg(data: bytes, max_pixels: int, max_side: int = 512) -> bytes:
    """A small JPEG of an uploaded file, so the page never echoes the raw upload back."""
    img, _ = open_image(data, max_pixels=max_pixels)
    img.thumbnail((max_side, max_side))
    return _jpeg(img)


def _jpeg(img: Image.Image, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


@dataclass
class Overlap:
    """How far the top-k lists of several indexes agree, by content hash."""

    pairs: dict[tuple[str, str], tuple[int, float]]  # (a, b) -> (shared count, Jaccard)
    in_all: set[str]
    seen_in: dict[str, int]  # hash -> how many lists hold it


def overlap(lists: dict[str, list[str]]) -> Overlap:
    sets = {name: set(hashes) for name, hashes in lists.items()}
    pairs = {}
    for a, b in combinations(sets, 2):
        shared = sets[a] & sets[b]
        union = sets[a] | sets[b]
        pairs[(a, b)] = (len(shared), len(shared) / len(union) if union else 1.0)
    in_all = set.intersection(*sets.values()) if sets else set()
    seen_in: dict[str, int] = {}
    for s in sets.values():
        for h in s:
            seen_in[h] = seen_in.get(h, 0) + 1
    return Overlap(pairs, in_all, seen_in)


def coverage(hash_sets: dict[str, AbstractSet[str]]) -> tuple[bool, int]:
    """Whether all indexes hold exactly the same images, and how many they have in common."""
    values = list(hash_sets.values())
    if not values:
        return True, 0
    common = values[0].intersection(*values[1:])
    return all(v == values[0] for v in values), len(common)
