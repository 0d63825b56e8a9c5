"""Walking image folders: candidate files, their sidecar texts and content hashes.

Nothing is dropped silently: a folder or file that cannot be read becomes a `Problem` with a
reason, and files that are not taken (other extensions, FIFOs and other special files, a RAW
file beside its JPEG) are counted in `CrawlResult.ignored`. Symlinked folders are followed once
(by real path), so loops end.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import UserError
from core.ingest.formats import RAW, RENDERED, default_extensions, extension
from core.ingest.sidecar import META_KEYS, SIDECAR_NAME, beside_texts, read_sidecar

DEFAULT_EXTENSIONS = default_extensions()  # what the installed decoders open
SPECIAL = "special file (FIFO, socket or device)"
RAW_BESIDE = "RAW file beside its JPEG/PNG (the rendering is indexed)"
SYSTEM_DIRS = {"__pycache__", "node_modules", "$RECYCLE.BIN", "System Volume Information",
               "lost+found", "@eaDir", "__MACOSX"}


@dataclass
class Candidate:
    path: Path
    root: Path
    size: int
    mtime: float
    ctime_ns: int = 0  # any write changes it, even one that restores size and mtime
    inode: int = 0
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
    ignored: Counter = field(default_factory=Counter)  # what was not taken, by kind


def normalise_extensions(extensions: Iterable[str]) -> frozenset[str]:
    return frozenset(e.lower().lstrip(".") for e in extensions if e.strip())


def _skip_dir(name: str) -> bool:
    return name.startswith(".") or name in SYSTEM_DIRS


def shown_path(path: str | Path) -> str:
    """A path that can be printed and written as UTF-8 (undecodable name bytes become \\xNN)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _valid_utf8(path: Path) -> bool:
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def walk_files(root: Path, problems: list[Problem], skip: Iterable[str | Path] = (),
               ignored: Counter | None = None) -> Iterator[Path]:
    """Every non-hidden regular file under root, following each real folder at most once.

    `skip` folders are never entered (the index being built, when it lies under an image root);
    FIFOs, sockets and devices are counted in `ignored`, never opened.
    """
    seen: set[str] = {os.path.realpath(s) for s in skip}
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
            problems.append(Problem(shown_path(folder), f"folder unreadable: {e.strerror or e}"))
            continue
        subdirs = []
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=True):
                    if not _skip_dir(entry.name):
                        subdirs.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=True) and not entry.name.startswith("."):
                    yield Path(entry.path)
                elif entry.is_symlink() and not os.path.exists(entry.path):
                    problems.append(Problem(shown_path(entry.path), "broken symbolic link"))
                elif ignored is not None and not entry.name.startswith("."):
                    ignored[SPECIAL] += 1
            except OSError as e:
                problems.append(Problem(shown_path(entry.path), f"unreadable: {e.strerror or e}"))
        stack.extend(reversed(subdirs))


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
    roots: Iterable[str | Path], extensions: Iterable[str] = DEFAULT_EXTENSIONS,
    skip: Iterable[str | Path] = (),
) -> CrawlResult:
    """Candidate image files under every root (recursive, case-insensitive extensions).

    `skip` folders are not entered (see `walk_files`).
    """
    exts = normalise_extensions(extensions)
    problems: list[Problem] = []
    candidates: list[Candidate] = []
    ignored: Counter = Counter()
    seen_files: set[str] = set()
    for raw in roots:
        root = Path(raw).expanduser().absolute()
        if not root.is_dir():
            raise UserError(f"image folder not found: {raw}")
        sidecar = read_sidecar(root)
        files = list(walk_files(root, problems, skip, ignored))
        stems = {(p.parent, p.stem.lower()) for p in files if extension(p) in RENDERED & exts}
        for path in files:
            ext = extension(path)
            if ext not in exts:
                if not _is_text_beside(path, root):
                    ignored[f".{ext}" if ext else "no extension"] += 1
                continue
            if ext in RAW and (path.parent, path.stem.lower()) in stems:
                ignored[RAW_BESIDE] += 1
                continue
            if not _valid_utf8(path):  # would break the UTF-8 items table and skipped.jsonl
                problems.append(Problem(shown_path(path), "file name not valid UTF-8 (rename it)"))
                continue
            real = os.path.realpath(path)
            if real in seen_files:
                continue
            seen_files.add(real)
            try:
                st = path.stat()
            except OSError as e:
                problems.append(Problem(shown_path(path), f"unreadable: {e.strerror or e}"))
                continue
            cand = Candidate(path=path, root=root, size=st.st_size, mtime=st.st_mtime,
                             ctime_ns=st.st_ctime_ns, inode=st.st_ino)
            _attach_texts(cand, sidecar)
            candidates.append(cand)
    return CrawlResult(candidates, problems, ignored)


def _is_text_beside(path: Path, root: Path) -> bool:
    """The texts that travel with images are expected, not ignored files."""
    if path.parent == root and path.name == SIDECAR_NAME:
        return True
    return path.suffix.lower() == ".txt"


def file_hash(path: Path, chunk: int = 1 << 20) -> str:
    """Content hash (sha1 is plenty to group exact duplicates; not a security boundary)."""
    h = hashlib.sha1()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
