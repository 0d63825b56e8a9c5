"""Index folders as versions behind an atomic pointer, guarded by a build lock.

`indexes/NAME` is a symlink to a sibling version folder `.NAME.v-<time>-<pid>`. A build
* takes an exclusive `flock` on `.NAME.lock` (a second build of NAME stops with a clear error),
* writes into a staging folder `.NAME.building-<pid>-<time>` and fsyncs it,
* renames it to a version folder and flips the symlink with one `os.replace`, so `NAME` always
  names one complete version: readers that resolved it keep reading the files of their version;
* keeps the previous version (a reader may still hold it) and removes older ones.
A build replaces only what it can prove is an index of ours (`owned_index`): anything else at
`--out` stops the build before it touches a file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

from core.errors import UserError

FORMAT = "nl-image-search index"  # the manifest's marker: this folder was written by a build
INDEX_FILES = ("manifest.json", "items.parquet", "embeddings.npy", "annoy.ann", "skipped.jsonl",
               "duplicates.json", "thumbs")
LANCE_FILES = ("manifest.json", "items.lance", "skipped.jsonl", "duplicates.json", "thumbs")
OPTIONAL_FILES = ("cache",)  # results computed after the build (core.index.cache)
KEEP_VERSIONS = 2  # the current one and the one before it (still open in a running app)
FAULT_ENV = "IMAGE_SEARCH_FAULT"  # fault injection for tests/test_faults.py and the benchmark
STAGES = ("crawl", "hash", "encode", "write", "commit", "swap")


def fault_point(stage: str) -> None:
    """Signal this process here when $IMAGE_SEARCH_FAULT is `stage` or `stage:SIGNAL` (default
    SIGKILL, so no cleanup runs): how the fault-injection tests stop a build at every stage.
    A no-op otherwise."""
    wanted, _, name = os.environ.get(FAULT_ENV, "").partition(":")
    if wanted == stage:
        os.kill(os.getpid(), getattr(signal, name or "SIGKILL"))


def sibling(out: Path, kind: str) -> str:
    """Name prefix of the hidden siblings of `out`: lock, building-, v-, link-, old-."""
    return f".{out.name}.{kind}"


def owned_index(folder: Path) -> bool:
    """Whether `folder` is provably an index of ours: our manifest marker (or, for folders from
    before the marker, a schema version and encoder spec), every index file, and nothing else."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        names = {p.name for p in folder.iterdir()}
    except (OSError, ValueError):
        return False
    if not isinstance(manifest, dict):
        return False
    ours = manifest.get("format") == FORMAT or (
        isinstance(manifest.get("schema_version"), int)
        and isinstance(manifest.get("encoder"), dict)
        and isinstance(manifest["encoder"].get("spec"), str))
    if manifest.get("store") == "lance":  # core.index.lance_store's layout
        remote = bool((manifest.get("lance") or {}).get("uri"))  # its table in a bucket
        return ours and names - set(OPTIONAL_FILES) == set(LANCE_FILES) - (
            {"items.lance"} if remote else set())
    required = set(INDEX_FILES) - {"annoy.ann"}  # an index may have been written without Annoy
    return ours and required <= names <= set(INDEX_FILES) | set(OPTIONAL_FILES)


def check_replaceable(out: Path) -> None:
    """Refuse, before any work, an `--out` that holds anything but an index of ours."""
    if out.is_symlink():
        target = Path(os.readlink(out))
        if target.parent != Path(".") or not target.name.startswith(sibling(out, "v-")):
            raise UserError(f"{out} is a link to {target}, not an index version made by this tool; "
                            "choose another --out (nothing was changed)")
        if not out.exists() or owned_index(out):
            return
    elif not out.exists() or (out.is_dir() and not any(out.iterdir())):
        return
    if not out.is_dir() or not owned_index(out):
        raise UserError(f"{out} exists and is not an index folder made by this tool; choose "
                        "another --out, e.g. a new name under indexes/ (nothing was changed)")


@contextlib.contextmanager
def build_lock(out: Path) -> Iterator[None]:
    """Hold `.NAME.lock` for the whole build; a second build of the same NAME fails at once."""
    out.parent.mkdir(parents=True, exist_ok=True)
    path = out.parent / sibling(out, "lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            raise UserError(f"{out} is being built by PID {holder}; wait for that build to finish "
                            "or choose another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock; the file stays (removing it would race)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_leftovers(out: Path) -> list[str]:
    """Remove what killed builds and interrupted swaps left beside `out` (call under the lock).

    Staging folders of live processes are kept; an `.old-*` folder from the previous layout's
    interrupted swap is removed only when `out` itself is a complete index. Returns what was
    removed, for the build's summary."""
    removed = []
    for stage in sorted(out.parent.glob(sibling(out, "building-") + "*")):
        pid = stage.name.removeprefix(sibling(out, "building-")).split("-")[0]
        if pid.isdigit() and int(pid) != os.getpid() and _pid_alive(int(pid)):
            continue
        shutil.rmtree(stage, ignore_errors=True)
        removed.append(f"staging folder of a killed build: {stage.name}")
    for link in out.parent.glob(sibling(out, "link-") + "*"):
        link.unlink(missing_ok=True)
        removed.append(f"unused link: {link.name}")
    for version in _unpublished(out):
        shutil.rmtree(version, ignore_errors=True)
        removed.append(f"unpublished version of a killed build: {version.name}")
    current = out.resolve() if out.exists() else None
    if current is not None and owned_index(current):
        for old in sorted(out.parent.glob(sibling(out, "old-") + "*")):
            shutil.rmtree(old, ignore_errors=True)
            removed.append(f"folder of an interrupted swap: {old.name}")
    return removed


def _unpublished(out: Path) -> list[Path]:
    """Version folders newer than the current one: renamed by a build killed before its flip."""
    current = out.resolve() if out.exists() else None
    if current is None or not current.name.startswith(sibling(out, "v-")):
        return []
    return sorted(v for v in out.parent.glob(sibling(out, "v-") + "*")
                  if _version_time(out, v) > _version_time(out, current))


def leftovers(out: Path) -> list[str]:
    """What `remove_leftovers` would look at, for `info`: staging folders, links, folders of an
    interrupted swap and unpublished versions."""
    kinds = ("building-", "old-", "link-")
    found = [p.name for k in kinds for p in out.parent.glob(sibling(out, k) + "*")]
    return sorted(found + [v.name for v in _unpublished(out)])


@contextlib.contextmanager
def staged(out: Path) -> Iterator[Path]:
    """A fresh hidden sibling of `out` to build into, removed if the build stops for any reason.

    The folder is made inside the guard, so a signal that lands between `mkdir` and the
    build's first line still removes it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = out.parent / f"{sibling(out, 'building-')}{os.getpid()}-{time.time_ns()}"
    try:
        (stage / "thumbs").mkdir(parents=True)
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _fsync_tree(folder: Path) -> None:
    """Flush every file and folder of a finished version to disk before it becomes current."""
    for path in [*folder.rglob("*"), folder]:
        flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0)
        fd = os.open(path, flags)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def publish(stage: Path, out: Path) -> Path:
    """Make the staged folder the current version of `out` with one atomic symlink flip."""
    _fsync_tree(stage)
    version = out.parent / f"{sibling(out, 'v-')}{time.time_ns()}-{os.getpid()}"
    os.rename(stage, version)
    try:
        fault_point("swap")
        _flip(out, version)
    except BaseException:
        if out.resolve() != version.resolve():  # interrupted before the flip: not published
            shutil.rmtree(version, ignore_errors=True)
        raise
    fd = os.open(out.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    _prune_versions(out)
    return version


def _flip(out: Path, version: Path) -> None:
    """Point `out` at `version` with one os.replace of a fresh symlink."""
    link = out.parent / f"{sibling(out, 'link-')}{os.getpid()}"
    link.unlink(missing_ok=True)
    os.symlink(version.name, link)
    if out.is_dir() and not out.is_symlink():  # the folder layout from before versions
        if any(out.iterdir()):
            os.rename(out, out.parent / f"{sibling(out, 'v-')}0-{os.getpid()}")
        else:
            out.rmdir()
    os.replace(link, out)


def _version_time(out: Path, version: Path) -> int:
    return int(version.name.removeprefix(sibling(out, "v-")).split("-")[0])


def _prune_versions(out: Path) -> None:
    versions = sorted(out.parent.glob(sibling(out, "v-") + "*"),
                      key=lambda v: _version_time(out, v))
    current = out.resolve()
    old = [v for v in versions if v.resolve() != current]
    for v in old[:max(0, len(old) - (KEEP_VERSIONS - 1))]:
        shutil.rmtree(v, ignore_errors=True)
