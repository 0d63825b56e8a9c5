"""Object-store inputs (`build --images s3://bucket/photos`): mirrored into a local folder first.

The crawl, the content hashes and the decoders read files (stat, inode, seek), so a URI is copied
once into `mirror_root()/<name>` through pyarrow's filesystems (s3://, gs://, hdfs://, file://),
or fsspec's for any other scheme it knows, and that folder is what the build crawls. A later
build copies only what changed (size or modification time), so a refresh costs the new objects.
Credentials come from the usual environment (AWS_*, GOOGLE_APPLICATION_CREDENTIALS, ...). On a
Ray cluster, point IMAGE_SEARCH_MIRROR at a filesystem every node sees.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from core.errors import UserError
from core.paths import cache_dir

MIRROR_ENV = "IMAGE_SEARCH_MIRROR"
CHUNK = 8 * 2**20


def is_uri(root: str | Path) -> bool:
    return isinstance(root, str) and re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", root) is not None


def mirror_root() -> Path:
    """`$IMAGE_SEARCH_MIRROR`, else the cache's `sources/`."""
    return Path(os.environ.get(MIRROR_ENV) or cache_dir() / "sources")


def _filesystem(uri: str):
    """(pyarrow filesystem, path inside it): pyarrow's own where it has one, else fsspec's."""
    from pyarrow import fs

    try:
        return fs.FileSystem.from_uri(uri)
    except (ValueError, OSError, ImportError) as first:  # a scheme pyarrow has no driver for
        try:
            import fsspec

            fsspec_fs, path = fsspec.core.url_to_fs(uri)
        except (ImportError, ValueError, OSError) as e:
            raise UserError(f"cannot open {uri} ({first}; fsspec: {e})") from e
        return fs.PyFileSystem(fs.FSSpecHandler(fsspec_fs)), path


def mirror(uri: str, root: Path | None = None) -> tuple[Path, int]:
    """Copy the objects under `uri` that are new or changed into a local folder; returns (the
    folder, how many objects were copied)."""
    from pyarrow import fs

    filesystem, base = _filesystem(uri)
    base = base.rstrip("/")
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", base.rsplit("/", 1)[-1]) or "root"
    dest = (root or mirror_root()) / f"{name}-{hashlib.sha1(uri.encode()).hexdigest()[:10]}"
    try:
        infos = filesystem.get_file_info(fs.FileSelector(base, recursive=True))
    except (OSError, FileNotFoundError) as e:
        raise UserError(f"cannot list {uri} ({e})") from e
    copied = 0
    for info in infos:
        if info.type != fs.FileType.File:
            continue
        target = dest / info.path[len(base):].lstrip("/")
        mtime = info.mtime.timestamp() if info.mtime is not None else None
        if target.is_file() and target.stat().st_size == info.size and (
                mtime is None or abs(target.stat().st_mtime - mtime) < 1):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        with filesystem.open_input_stream(info.path) as src, partial.open("wb") as out:
            while chunk := src.read(CHUNK):
                out.write(chunk)
        if mtime is not None:
            os.utime(partial, (mtime, mtime))
        partial.replace(target)
        copied += 1
    return dest, copied


def local_roots(roots: list[str], say=print) -> list[str | Path]:
    """The build's roots with every URI replaced by its local mirror."""
    out: list[str | Path] = []
    for root in roots:
        if is_uri(root):
            folder, copied = mirror(root)
            say(f"{root}: {copied} new or changed objects copied to {folder}")
            out.append(folder)
        else:
            out.append(root)
    return out
