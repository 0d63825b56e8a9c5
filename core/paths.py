"""Where things live, decided in one place: the repository root comes from this package's
location, never from the current working directory, so `python -m core ...`, the app and the
tests find the same data/, models/ and indexes/ whichever folder they are started from.

Environment overrides (read at call time, so tests can move them): IMAGE_SEARCH_CACHE (derived,
rebuildable files), IMAGE_SEARCH_INDEXES (the app's index folder), IMAGE_SEARCH_SETS (captioned
sets for image -> text).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CACHE_ENV = "IMAGE_SEARCH_CACHE"
ENV_INDEXES = "IMAGE_SEARCH_INDEXES"
ENV_SETS = "IMAGE_SEARCH_SETS"
TWOBRANCH_SPEC = "twobranch:models/twobranch"  # the demo head, as specs and indexes record it


def _env(name: str, environ: Mapping[str, str] | None) -> str:
    return (os.environ if environ is None else environ).get(name, "").strip()


def data_dir() -> Path:
    """`data/`: fetched demo assets and captioned sets (git-ignored)."""
    return REPO_ROOT / "data"


def features_dir() -> Path:
    """`data/features/`: the frozen-feature cache shared by training and evaluation."""
    return data_dir() / "features"


def models_dir() -> Path:
    """`models/`: trained heads and shipped ONNX files (git-ignored)."""
    return REPO_ROOT / "models"


def default_twobranch() -> Path:
    """The demo's two-branch head folder, `models/twobranch/`."""
    return models_dir() / "twobranch"


def indexes_dir(environ: Mapping[str, str] | None = None, root: Path = REPO_ROOT) -> Path:
    """`indexes/` under the repo (or `root`), unless IMAGE_SEARCH_INDEXES names another folder."""
    value = _env(ENV_INDEXES, environ)
    return Path(value).expanduser() if value else Path(root) / "indexes"


def sets_dir(environ: Mapping[str, str] | None = None, root: Path = REPO_ROOT) -> Path:
    """`data/sets/` under the repo (or `root`), unless IMAGE_SEARCH_SETS names another folder."""
    value = _env(ENV_SETS, environ)
    return Path(value).expanduser() if value else Path(root) / "data" / "sets"


def cache_dir() -> Path:
    """`$IMAGE_SEARCH_CACHE`, else ~/.cache/image-search (class-name embeddings, ONNX exports)."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "image-search")


def resolve_path(value: str | Path, index_dir: str | Path | None = None) -> Path:
    """The file or folder a path written in a spec means: absolute as is, else the first that
    exists of the index folder (when known), the repository root, then the working directory.

    When none exists the path comes back unchanged, so the caller's error names what was written.
    """
    path = Path(value).expanduser()
    if path.is_absolute():
        return path
    for base in (index_dir, REPO_ROOT, Path.cwd()):
        if base is not None and (Path(base) / path).exists():
            return Path(base) / path
    return path


def spec_path(path: str | Path) -> str:
    """How a spec should record a path: repo-relative (portable between checkouts) when it lies
    inside the repository, else absolute."""
    full = Path(path).expanduser().absolute()
    try:
        return full.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(full)


def child_folders(root: str | Path, marker: str) -> list[Path]:
    """Folders directly under `root` that hold a `marker` file (hidden ones left out), by name:
    how index folders (manifest.json) and captioned sets (captions.jsonl) are found."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir()
                  if not p.name.startswith(".") and (p / marker).is_file())


@contextmanager
def environment(settings: Mapping[str, str]) -> Iterator[None]:
    """Environment variables set for the block, then put back as they were (children started
    inside it, such as a local Ray's raylet, keep them)."""
    old = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
