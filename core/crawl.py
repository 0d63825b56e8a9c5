"""Walking image folders: candidate files, their sidecar texts and content hashes.

Nothing is dropped silently: a folder or file that cannot be read becomes a `Problem` with a
reason. Symlinked folders are followed once (by real path), so loops end.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import UserError

DEFAULT_EXTENSIONS = ("jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff")
SIDECAR_NAME = "captions.jsonl"
SYSTEM_DIRS = {"__pycache__", "node_modules", "$RECYCLE.BIN", "System Volume Information",
               "lost+found", "@eaDir", "__MACOSX"}
META_KEYS = ("source", "licence", "attribution", "split", "category")


@dataclass
class Candidate:
    path: Path
    root: Path
    size: int
    mtime: float
    texts: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    @property
    def rel_path(self) -> str:
        return self.path.relative_to(self.root).as_posix()


@dataclass
class Problem:
    path: str
    reason: str


@dataclass
class CrawlResult:
    candidates: list[Candidate]
    problems: list[Problem]


def normalise_extensions(extensions: Iterable[str]) -> frozenset[str]:
    return frozenset(e.lower().lstrip(".") for e in extensions if e.strip())


def _skip_dir(name: str) -> bool:
    return name.startswith(".") or name in SYSTEM_DIRS


def walk_files(root: Path, problems: list[Problem]) -> Iterator[Path]:
    """Every non-hidden file under root, following each real folder at most once."""
    seen: set[str] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        real = os.path.realpath(folder)
        if real in seen:
            continue
        seen.add(real)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as e:
            problems.append(Problem(str(folder), f"folder unreadable: {e.strerror or e}"))
            continue
        subdirs = []
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=True):
                    if not _skip_dir(entry.name):
                        subdirs.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=True) and not entry.name.startswith("."):
                    yield Path(entry.path)
                elif entry.is_symlink():
                    problems.append(Problem(entry.path, "broken symbolic link"))
            except OSError as e:
                problems.append(Problem(entry.path, f"unreadable: {e.strerror or e}"))
        stack.extend(reversed(subdirs))


def read_sidecar(root: Path) -> dict[str, dict]:
    """`captions.jsonl` at a root: relative path -> {texts, source, licence, ...}."""
    path = root / SIDECAR_NAME
    if not path.is_file():
        return {}
    out: dict[str, dict] = {}
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                rel = str(row["file"])
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                raise UserError(f"{path}:{lineno}: bad sidecar line ({type(e).__name__}: {e}); "
                                'expected {"file": "rel/path.jpg", "texts": [...]}') from e
            texts = row.get("texts", [])
            if isinstance(texts, str):
                texts = [texts]
            row["texts"] = [str(t).strip() for t in texts if str(t).strip()]
            out[Path(rel).as_posix()] = row
    return out


def beside_texts(image: Path) -> list[str]:
    """`NAME.txt` next to an image: one text per non-empty line."""
    txt = image.with_suffix(".txt")
    if not txt.is_file():
        return []
    try:
        return [ln.strip() for ln in txt.read_text(encoding="utf-8", errors="replace").splitlines()
                if ln.strip()]
    except OSError:
        return []


def _attach_texts(cand: Candidate, sidecar: dict[str, dict]) -> None:
    row = sidecar.get(cand.rel_path, {})
    texts = list(row.get("texts", []))
    texts += [t for t in beside_texts(cand.path) if t not in texts]
    cand.texts = texts
    cand.meta = {k: row[k] for k in META_KEYS if row.get(k) is not None}
    extra = {k: v for k, v in row.items() if k not in (*META_KEYS, "file", "texts")}
    if extra:
        cand.meta["extra"] = extra


def crawl(
    roots: Iterable[str | Path], extensions: Iterable[str] = DEFAULT_EXTENSIONS
) -> CrawlResult:
    """Candidate image files under every root (recursive, case-insensitive extensions)."""
    exts = normalise_extensions(extensions)
    problems: list[Problem] = []
    candidates: list[Candidate] = []
    seen_files: set[str] = set()
    for raw in roots:
        root = Path(raw).expanduser().absolute()
        if not root.is_dir():
            raise UserError(f"image folder not found: {raw}")
        sidecar = read_sidecar(root)
        for path in walk_files(root, problems):
            if path.suffix.lower().lstrip(".") not in exts:
                continue
            real = os.path.realpath(path)
            if real in seen_files:
                continue
            seen_files.add(real)
            try:
                st = path.stat()
            except OSError as e:
                problems.append(Problem(str(path), f"unreadable: {e.strerror or e}"))
                continue
            cand = Candidate(path=path, root=root, size=st.st_size, mtime=st.st_mtime)
            _attach_texts(cand, sidecar)
            candidates.append(cand)
    return CrawlResult(candidates, problems)


def file_hash(path: Path, chunk: int = 1 << 20) -> str:
    """Content hash (sha1 is plenty to group exact duplicates; not a security boundary)."""
    h = hashlib.sha1()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
