"""What an incremental build may take from the previous index: the index itself (only one of
ours, built by the same model, giving the same vectors for the probe) and the content hashes of
files whose path, size, mtime, ctime and inode are all unchanged."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.errors import UserError
from core.index.fingerprint import MIN_COSINE, probe_cosine
from core.index.store import (
    FILES,
    load_index,
)
from core.index.versions import (
    fault_point,
)
from core.ingest.crawl import Candidate, file_hash
from core.progress import Progress


def previous_index(out: Path, spec: str, force: bool, notes: list[str], probe: dict):
    """The index being refreshed, if any; a damaged one of ours, or one whose model now gives
    other vectors for the same probe (new weights behind the same spec), is rebuilt from
    scratch, so no stale embedding is reused."""
    if not (out / FILES["manifest"]).is_file():
        return None
    try:
        prev = load_index(out)
        if not isinstance(prev.items, pd.DataFrame):  # a Lance index's rows: a build reads all
            prev.items = prev.items.frame()
    except UserError as e:
        notes.append(f"the previous index could not be read ({e}); rebuilt from scratch")
        return None
    if prev.spec != spec:
        if not force:
            raise UserError(f"{out} holds an index built with '{prev.spec}'; choose another "
                            f"--out or pass --force to replace it with '{spec}'")
        return None
    cosine = probe_cosine(prev.manifest.get("fingerprint"), probe)
    if cosine is not None and cosine < MIN_COSINE:
        notes.append(f"the model gives other vectors than when the index was built (probe "
                     f"cosine {cosine:.3f}): every image was encoded again")
        return None
    return prev


IDENTITY = ("path", "size", "mtime", "ctime_ns", "inode")  # what must match to trust a hash


def content_hashes(cands: list[Candidate], prev, progress: Progress | None,
            skipped: list[dict]) -> list[str | None]:
    """Content hashes, reusing the previous index's where path, size, mtime, ctime and inode are
    all unchanged (an in-place edit that restores size and mtime still changes the ctime).

    A file that vanished or became unreadable since the crawl is skipped with its reason (None).
    """
    known = {}
    if prev is not None and len(prev.items) and set(IDENTITY) <= set(prev.items.columns):
        cols = prev.items[[*IDENTITY, "hash"]].itertuples(index=False)
        known = {(p, int(s), float(m), int(c), int(i)): h for p, s, m, c, i, h in cols}
    out: list[str | None] = []
    for n, c in enumerate(cands):
        h = known.get((str(c.path), c.size, c.mtime, c.ctime_ns, c.inode))
        if h is None:
            try:
                h = file_hash(c.path)
            except OSError as e:
                skipped.append({"path": str(c.path), "reason": f"unreadable: {e.strerror or e}"})
        out.append(h)
        fault_point("hash")
        if progress:
            progress("hash", n + 1, len(cands))
    return out
