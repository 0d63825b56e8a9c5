"""The index folder on disk: its files, their writing, and validated loading.

A build writes into a hidden staging folder and publishes it as a new version only when complete
(core.index.versions), so a crash or Ctrl-C mid-build leaves the previous index loadable. The
folder describes itself (manifest), so any page or command can reopen it without being told which
model built it. A loaded Index reads every file from the one version it resolved at load time.
"""

from __future__ import annotations

import json
import platform
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import UserError
from core.index.npy import all_finite
from core.index.versions import FORMAT, fault_point, publish, sibling

SCHEMA_VERSION = 1
METRIC = "cosine"
FILES = {
    "manifest": "manifest.json",
    "items": "items.parquet",
    "embeddings": "embeddings.npy",
    "annoy": "annoy.ann",
    "skipped": "skipped.jsonl",
    "duplicates": "duplicates.json",
    "thumbs": "thumbs",
    "lance": "items.lance",  # the Lance store's table (core.index.lance_store)
}
FOLDER_ONLY = ("items", "embeddings", "annoy")  # what the Lance table replaces
STORES = ("annoy", "lance")
VERSIONED = ("numpy", "torch", "annoy", "open_clip_torch", "sentence-transformers", "pillow",
             "scikit-learn", "pandas")


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


@dataclass
class Index:
    """A loaded index. Row i of `items` is embedding row i and Annoy item i."""

    path: Path
    manifest: dict
    items: pd.DataFrame  # or a lance_items.LanceItems: rows read on demand, same indexing
    embeddings: np.ndarray  # or a lance_store.LanceVectors: same row indexing and `@`
    skipped: list[dict] = field(default_factory=list)
    duplicates: dict[str, list[int]] = field(default_factory=dict)
    version: Path | None = None  # the version folder `path` pointed at when loaded
    _annoy: object | None = None
    _roots: list[Path] | None = None  # the manifest's roots, resolved on first use

    @property
    def files(self) -> Path:
        """Where this index's files are: its version, never whatever `path` names later."""
        return self.version or self.path

    @property
    def n(self) -> int:
        return int(self.embeddings.shape[0])

    @property
    def dim(self) -> int:
        return int(self.embeddings.shape[1])

    @property
    def store(self) -> str:
        """'annoy' (the folder store: embeddings.npy memory-mapped, annoy.ann) or 'lance'."""
        return str(self.manifest.get("store", "annoy"))

    @property
    def spec(self) -> str:
        return str(self.manifest["encoder"]["spec"])

    @property
    def random_weights(self) -> bool:
        return bool(self.manifest["encoder"].get("random_weights", False))

    @property
    def name(self) -> str:
        return self.path.name

    def thumb_path(self, i: int) -> Path | None:
        """Image i's thumbnail, or None if it resolves outside this version's thumbs folder (a
        planted link): the hash check on load already keeps the name inside. `files` is
        resolved, so a thumbs folder that is itself a link is refused too."""
        folder = self.files.resolve() / FILES["thumbs"]
        return inside(folder / f"{self.items.at[int(i), 'hash']}.jpg", [folder])

    def original_path(self, i: int) -> Path | None:
        """Image i's original file, or None where its resolved path is not under one of the
        manifest's roots: an edited items table must not make the app open any file it names."""
        if self._roots is None:
            self._roots = [Path(r).resolve() for r in self.manifest.get("roots", [])
                           if isinstance(r, str) and Path(r).is_absolute()]
        return inside(Path(str(self.items.at[int(i), "path"])), self._roots)

    def item(self, i: int) -> dict:
        """One row as a plain dict with list-valued texts."""
        row = self.items.iloc[int(i)].to_dict()
        row["texts"] = list(row.get("texts") if row.get("texts") is not None else [])
        row["id"] = int(i)
        return row

    def annoy(self):
        """The Annoy index, memory-mapped on first use (cheap to share between sessions)."""
        if self._annoy is None:
            from annoy import AnnoyIndex

            ann = AnnoyIndex(self.dim, "angular")
            try:
                ann.load(str(self.files / FILES["annoy"]))
            except OSError as e:
                raise UserError(f"index {self.path}: {FILES['annoy']} is damaged ({e}): rebuild "
                                "it with `python -m core build`") from e
            if ann.get_n_items() != self.n:
                found = ann.get_n_items()
                ann.unload()
                raise UserError(f"index {self.path}: {FILES['annoy']} holds {found} items, not "
                                f"{self.n}: rebuild it")
            self._annoy = ann
        return self._annoy


def inside(path: Path, folders: list[Path]) -> Path | None:
    """`path` resolved (links followed), if that lies under one of `folders` (already resolved:
    a root given as a link counts as where it points)."""
    if not path.is_absolute():
        return None
    real = path.resolve()
    return real if any(real.is_relative_to(f) for f in folders) else None


def write_tables(stage: Path, items: pd.DataFrame | Callable[[int, int], pd.DataFrame],
                 embeddings: np.ndarray, skipped: list[dict], duplicates: dict[str, list[int]],
                 store: str = "annoy", **lance_options) -> dict:
    """Everything but Annoy and the manifest; returns what the manifest adds for the store."""
    extra: dict = {}
    if store == "lance":
        from core.index.lance_store import write_lance

        extra = {"store": "lance", "lance": write_lance(stage, items, embeddings,
                                                        **lance_options)}
    else:
        np.save(stage / FILES["embeddings"], embeddings.astype(np.float32))
        items.to_parquet(stage / FILES["items"], index=False)
    with (stage / FILES["skipped"]).open("w", encoding="utf-8") as fh:
        for row in skipped:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    (stage / FILES["duplicates"]).write_text(json.dumps(duplicates), encoding="utf-8")
    return extra


def write_annoy(stage: Path, embeddings: np.ndarray, trees: int, seed: int = 0) -> None:
    from annoy import AnnoyIndex

    ann = AnnoyIndex(embeddings.shape[1], "angular")
    ann.set_seed(seed)
    for i, vec in enumerate(embeddings):
        ann.add_item(i, vec)
    ann.build(trees, n_jobs=1)
    ann.save(str(stage / FILES["annoy"]))
    ann.unload()


def commit(stage: Path, out: Path, manifest: dict) -> Path:
    """Write the manifest last (with our format marker), then publish the staged version."""
    manifest = {"format": FORMAT, **manifest}
    (stage / FILES["manifest"]).write_text(json.dumps(manifest, indent=2, ensure_ascii=False),
                                           encoding="utf-8")
    fault_point("commit")
    return publish(stage, out)


def _recover_hint(path: Path) -> str:
    olds = sorted(path.parent.glob(sibling(path, "old-") + "*"))
    if olds:
        return f"; an interrupted swap left {olds[-1]}: rename it to {path} to restore it"
    return "; build one with: python -m core build --images DIR --model SPEC --out " + str(path)


def load_index(path: str | Path, expect_spec: str | None = None) -> Index:
    """Open and validate an index folder; a clear error for every way it can be wrong."""
    path = Path(path)
    files = path.resolve()  # one version: every file below comes from it
    manifest_path = files / FILES["manifest"]
    if not manifest_path.is_file():
        raise UserError(f"no index at {path}{_recover_hint(path)}")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise UserError(f"index manifest unreadable: {manifest_path} ({e})") from e
    version = manifest.get("schema_version")
    if version != SCHEMA_VERSION:
        raise UserError(f"index {path} has schema version {version}; this version reads "
                        f"{SCHEMA_VERSION}: rebuild it with `python -m core build`")
    spec = manifest.get("encoder", {}).get("spec")
    if not isinstance(spec, str):
        raise UserError(f"index {path} does not say which model built it: rebuild it")
    if expect_spec is not None:
        from core.encoders.registry import same_model

        if not same_model(expect_spec, spec):
            raise UserError(f"index {path} was built with '{spec}', not '{expect_spec}'")
    if manifest.get("store", "annoy") not in STORES:
        raise UserError(f"index {path} has store {manifest.get('store')!r}; this version reads "
                        f"{', '.join(STORES)}: rebuild it")
    lance = manifest.get("store") == "lance"
    remote = lance and bool((manifest.get("lance") or {}).get("uri"))  # the table in a bucket
    needed = [k for k in FILES if k != "annoy" and not (
        (k in FOLDER_ONLY and lance) or (k == "lance" and (not lance or remote)))]
    missing = [FILES[k] for k in needed if not (files / FILES[k]).exists()]
    if missing:
        raise UserError(f"index {path} is incomplete (missing {', '.join(missing)}): rebuild it")
    items, embeddings = _read_lance(path, files, manifest) if lance else _read_folder(
        path, files, manifest)
    _check_items(path, items)
    skipped = _read(path, "skipped", lambda: _skipped_rows(files / FILES["skipped"]))
    duplicates = _read(path, "duplicates",
                       lambda: _duplicates(files / FILES["duplicates"], n=len(items)))
    return Index(path=path, manifest=manifest, items=items, embeddings=embeddings,
                 skipped=skipped, duplicates=duplicates, version=files)


def _read_folder(path: Path, files: Path, manifest: dict) -> tuple[pd.DataFrame, np.ndarray]:
    """items.parquet, and embeddings.npy memory-mapped (checked finite without paging it in)."""
    embeddings = _read(path, "embeddings",
                       lambda: np.load(files / FILES["embeddings"], mmap_mode="r"))
    items = _read(path, "items", lambda: pd.read_parquet(files / FILES["items"]))
    if (embeddings.ndim != 2 or embeddings.shape[0] != len(items)
            or embeddings.shape[1] != manifest.get("dim")):
        raise UserError(f"index {path} is inconsistent (embeddings {embeddings.shape}, "
                        f"{len(items)} items, dim {manifest.get('dim')}): rebuild it")
    finite = _read(path, "embeddings", lambda: all_finite(files / FILES["embeddings"], embeddings))
    if not finite:
        raise UserError(f"index {path}: {FILES['embeddings']} holds non-finite values: rebuild it")
    return items, np.asarray(embeddings)  # a plain view of the mapping: no copy, no paging


def _read_lance(path: Path, files: Path, manifest: dict):
    from core.index.lance_store import read_lance

    return _read(path, "lance", lambda: read_lance(files, manifest))


HASH = re.compile(r"[0-9a-f]{40}")


def _read(path: Path, key: str, reader):
    """Run one file's reader; any way the file is damaged becomes one line naming it."""
    try:
        return reader()
    except UserError:
        raise
    except Exception as e:  # numpy, pyarrow and json raise many kinds
        raise UserError(f"index {path}: {FILES[key]} is damaged ({type(e).__name__}: "
                        f"{str(e)[:120]}): rebuild it with `python -m core build`") from e


def _check_items(path: Path, items) -> None:
    """Columns the app trusts: a content hash names a thumbnail file inside the index."""
    for column in ("path", "hash"):
        if column not in items.columns:
            raise UserError(f"index {path}: {FILES['items']} has no '{column}' column: rebuild it")
    bad = (items.malformed("hash", HASH.pattern) if hasattr(items, "malformed")  # Lance: batches
           else [h for h in items["hash"] if not (isinstance(h, str) and HASH.fullmatch(h))])
    if bad:
        raise UserError(f"index {path}: {FILES['items']} holds {len(bad)} malformed hash(es), "
                        f"e.g. {str(bad[0])[:60]!r}: rebuild it")


def _skipped_rows(path: Path) -> list[dict]:
    rows = [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines() if ln]
    if not all(isinstance(r, dict) for r in rows):
        raise ValueError("a line is not a JSON object")
    return rows


def _duplicates(path: Path, n: int) -> dict[str, list[int]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(
            isinstance(ids, list) and all(isinstance(i, int) and 0 <= i < n for i in ids)
            for ids in data.values()):
        raise ValueError("expected {hash: [row ids]}")
    return data
