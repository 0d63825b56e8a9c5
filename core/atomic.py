"""Write a file (or build a folder) beside its target and rename it into place.

A killed run, a full disk or a writer that raises must never leave half a file where a reader
(the caches, the ONNX models, the captions.jsonl sidecars) would take it for a whole one. Every
"write to a temp file, then rename" in the code base goes through here, so the temp name, the
fsync and the clean-up on failure are the same everywhere.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path


def _temp_beside(target: Path, suffix: str | None) -> Path:
    """A hidden, unique name in the target's folder (same file system, so os.replace is atomic).

    It ends with the target's suffix by default: np.save / np.savez append .npy / .npz otherwise.
    """
    end = target.suffix if suffix is None else suffix
    return target.with_name(f".{target.stem}.{os.getpid()}-{secrets.token_hex(4)}.tmp{end}")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


@contextlib.contextmanager
def atomic_path(target: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temp path to write; on success it is fsynced and os.replace'd onto `target`.

    If the body raises, the temp file is removed and an existing `target` is left untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_beside(target, suffix)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, target)
    except BaseException:
        _remove(tmp)
        raise


def write_with(target: str | Path, writer: Callable[[Path], object],
               suffix: str | None = None) -> Path:
    """Atomically write `target` by calling `writer(temp_path)` (np.save, torch.onnx.export...)."""
    with atomic_path(target, suffix) as tmp:
        writer(tmp)
    return Path(target)


def write_bytes(target: str | Path, data: bytes) -> Path:
    return write_with(target, lambda tmp: tmp.write_bytes(data))


def write_text(target: str | Path, text: str, encoding: str = "utf-8") -> Path:
    return write_with(target, lambda tmp: tmp.write_text(text, encoding=encoding))


@contextlib.contextmanager
def replace_dir(target: str | Path) -> Iterator[Path]:
    """Yield an empty temp folder beside `target`; on success it replaces `target` (any old one
    is removed first), on failure it is removed and the old `target` stays as it was.

    Readers see either the old folder, none, or the complete new one; never a partial one.
    (The index folder has its own swap with a kept backup: core.index.store.)
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_beside(target, "")
    tmp.mkdir()
    try:
        yield tmp
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        os.replace(tmp, target)
    except BaseException:
        _remove(tmp)
        raise
