"""Results out of the app and the CLI: CSV/JSON rows, a zip of the images, copies into a folder.

Names are kept (the file's own name), and a clash never overwrites: the second `cat.jpg` becomes
`cat-2.jpg`, and a file already in the target folder with the same bytes is left as it is. Only
originals under the index's roots are read (`Index.original_path`); an image whose original has
moved goes into a zip as its thumbnail, and the CLI says it could not copy it.
"""

from __future__ import annotations

import csv
import filecmp
import io
import itertools
import json
import shutil
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from core.errors import UserError
from core.index.items import texts_of
from core.index.store import Index

FIELDS = ("rank", "id", "path", "rel_path", "score", "relevance", "texts", "source", "licence",
          "width", "height")


def result_rows(index: Index, ids: Sequence[int], scores: Sequence[float],
                relevance: Sequence[float] | None = None) -> list[dict]:
    """One plain dict per result in rank order (relevance None where the variant has no curve)."""
    items = index.items.loc[list(dict.fromkeys(int(i) for i in ids))]  # only these rows
    rows = []
    for rank, (i, score, texts) in enumerate(zip(ids, scores, texts_of(index, ids), strict=True),
                                             1):
        i = int(i)
        rows.append({
            "rank": rank, "id": i, "path": str(items.at[i, "path"]),
            "rel_path": str(items.at[i, "rel_path"]) if "rel_path" in items else "",
            "score": round(float(score), 6),
            "relevance": None if relevance is None else round(float(relevance[rank - 1]), 4),
            "texts": texts,
            "source": str(items.at[i, "source"]) if "source" in items else "",
            "licence": str(items.at[i, "licence"]) if "licence" in items else "",
            "width": int(items.at[i, "width"]), "height": int(items.at[i, "height"])})
    return rows


def to_json(rows: list[dict]) -> bytes:
    return json.dumps(rows, ensure_ascii=False, indent=1).encode("utf-8")


def to_csv(rows: list[dict]) -> bytes:
    """UTF-8 CSV with a header; an image's texts joined by ' | ' in one cell."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "texts": " | ".join(row["texts"]),
                         "relevance": "" if row["relevance"] is None else row["relevance"]})
    return out.getvalue().encode("utf-8")


def numbered(name: str) -> Iterator[str]:
    """`name`, then `stem-2.ext`, `stem-3.ext`…: the names a clash walks through (zip and copy)."""
    path = PurePosixPath(name)
    yield name
    yield from (f"{path.stem}-{n}{path.suffix}" for n in itertools.count(2))


def free_name(name: str, taken: set[str]) -> str:
    """The first of `numbered(name)` not in `taken` (which it joins)."""
    candidate = next(c for c in numbered(name) if c.lower() not in taken)
    taken.add(candidate.lower())
    return candidate


def _file_name(index: Index, i: int) -> str:
    return str(index.items.at[int(i), "path"]).replace("\\", "/").rsplit("/", 1)[-1] or f"{i}.jpg"


def images_zip(index: Index, ids: Sequence[int], rows: list[dict] | None = None) -> bytes:
    """A zip of the results' original files by their own names (thumbnail where the original is
    gone: `name.thumb.jpg`), plus results.csv when `rows` are given. Stored, not deflated:
    photos do not compress."""
    buf = io.BytesIO()
    taken: set[str] = {"results.csv"}
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for i in ids:
            original = index.original_path(int(i))
            if original is not None and original.is_file():
                zf.write(original, free_name(_file_name(index, i), taken))
                continue
            thumb = index.thumb_path(int(i))
            if thumb is not None and thumb.is_file():
                stem = PurePosixPath(_file_name(index, i)).stem
                zf.write(thumb, free_name(f"{stem}.thumb.jpg", taken))
        if rows is not None:
            zf.writestr("results.csv", to_csv(rows))
    return buf.getvalue()


@dataclass
class Copied:
    source: Path
    target: Path | None  # None: not copied (see `status`)
    status: str  # "copied", "renamed" (a clash), "already there" (same bytes), "missing"


def _place(original: Path, folder: Path, name: str) -> tuple[Path, bool]:
    """Where `original` goes in `folder`: (path, already there). Walks name, name-2, name-3…:
    the first with the same bytes is already there, else the first free one is used."""
    for candidate in numbered(name):
        target = folder / candidate
        if not target.exists():
            return target, False
        if target.is_file() and filecmp.cmp(original, target, shallow=False):
            return target, True
    raise AssertionError("unreachable: numbered() never ends")


def copy_results(index: Index, ids: Sequence[int], folder: str | Path) -> list[Copied]:
    """Copy each result's original into `folder` (made if needed), in rank order, never
    overwriting: a file there with the same bytes counts as already there (so a second run
    copies nothing), any other clash gets the next free name. Exclusive creation, so a file
    appearing meanwhile is not replaced either."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot copy into {folder}: {e.strerror or e}") from e
    out: list[Copied] = []
    for i in ids:
        source = Path(str(index.items.at[int(i), "path"]))
        original = index.original_path(int(i))
        if original is None or not original.is_file():
            out.append(Copied(source, None, "missing"))
            continue
        name = _file_name(index, i)
        target, there = _place(original, folder, name)
        if there:
            out.append(Copied(source, target, "already there"))
            continue
        with original.open("rb") as src, target.open("xb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        out.append(Copied(source, target, "copied" if target.name == name else "renamed"))
    return out
