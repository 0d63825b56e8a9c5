"""The one catalogue of index folders: scanned from their manifests without loading arrays.

The app, the CLI and the benchmarks list indexes through `scan_indexes`; `default_index` picks
what the app opens first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from core.index.store import FILES
from core.paths import ENV_INDEXES as ENV_INDEXES  # re-exported: tests and pages set it
from core.paths import child_folders, indexes_dir

# Default index choice: the best text-capable family first (see `default_index`). The hybrid
# leads where its collection has texts (it beats captions-only and image-only on the photo test
# split, README); over a folder without any it ranks as the ConSE it then is.
FAMILY_PREFERENCE = ("hybrid", "fusion", "twobranch", "openclip", "conse", "captions")
TEXTLESS_AS = {"hybrid": "conse"}


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
    with_text: int = 0  # items with at least one description (the manifest's counts)

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
    return indexes_dir(environ, root=repo_root)


def read_entry(path: Path) -> IndexEntry | None:
    """One index folder's summary from its manifest; None when the manifest is unreadable (the
    catalogue's scan and the CLI's `review --indexes` read folders the same way)."""
    manifest_path = Path(path) / FILES["manifest"]
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        enc = manifest["encoder"]
        modalities = set(enc.get("query_modalities", []))
        return IndexEntry(
            name=Path(path).name, path=Path(path), spec=str(enc["spec"]),
            family=str(enc.get("family") or str(enc["spec"]).split(":", 1)[0]),
            random_weights=bool(enc.get("random_weights", False)),
            can_text="text" in modalities, can_image="image" in modalities,
            items=int(manifest.get("counts", {}).get("items", 0)),
            built_at=str(manifest.get("built_at", "?")),
            stamp=manifest_path.stat().st_mtime,
            with_text=int(manifest.get("counts", {}).get("with_text", 0)))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def scan_indexes(root: Path) -> list[IndexEntry]:
    """Index folders directly under root, sorted by name; unreadable manifests are left out."""
    found = (read_entry(path) for path in child_folders(root, FILES["manifest"]))
    return [e for e in found if e is not None]


def default_index(entries: list[IndexEntry]) -> str | None:
    """The best text-capable index: hybrid (over a collection with texts), fusion, twobranch,
    non-random openclip, conse, captions, any."""
    def rank(e: IndexEntry) -> tuple[int, int, int]:
        family = TEXTLESS_AS.get(e.family, e.family) if not e.with_text else e.family
        tier = (FAMILY_PREFERENCE.index(family)
                if family in FAMILY_PREFERENCE and not e.random_weights
                else len(FAMILY_PREFERENCE))
        return tier, int(not e.can_text), int(e.random_weights)

    return min(entries, key=rank).name if entries else None
