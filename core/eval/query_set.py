"""Query sets for reviewing model variants: one query per line (`.txt`), or JSON lines (`.jsonl`)
that may also hold image queries by gallery id.

A query set is a visitor's input (typed, uploaded) as much as a shipped file, so it is bounded
and every way it can be wrong is one clear UserError naming the line. Text queries are keyed
by their text and image queries by the image's content hash: a key means the same query in
every index built over the same images, which is what lets marks be shared across variants.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import UserError
from core.index.store import Index
from core.ingest.images import ImageProblem
from core.query.upload import Upload, decode_upload

MAX_QUERIES = 200
MAX_QUERY_CHARS = 500
MAX_FILE_BYTES = 1 << 20
SUFFIXES = (".txt", ".jsonl")
SHIPPED = Path(__file__).resolve().parent / "query_sets"
JSONL_KEYS = {"text", "image_id", "image_file"}


@dataclass(frozen=True)
class QuerySpec:
    """One line of a query set: a text, an image by its id in the first index reviewed, or an
    image file (a path in a query file, relative to it; or an upload on the page)."""

    text: str | None = None
    image_id: int | None = None
    image_file: str | None = None


@dataclass(frozen=True)
class ReviewQuery:
    """A query resolved against the first index: `key` names it in marks files and reports."""

    key: str
    label: str
    text: str | None = None
    image_hash: str | None = None
    upload: Upload | None = field(default=None, compare=False)  # an image not in the gallery

    @property
    def is_text(self) -> bool:
        return self.text is not None


def text_key(text: str) -> str:
    return f"text:{text}"


def image_key(digest: str) -> str:
    return f"image:{digest}"


def _clean(text: str, where: str) -> str:
    text = " ".join(text.split())
    if len(text) > MAX_QUERY_CHARS:
        raise UserError(f"{where}: a query is at most {MAX_QUERY_CHARS} characters")
    return text


def _bounded(specs: list[QuerySpec]) -> list[QuerySpec]:
    """Each query once (first wins, so a pasted list with repeats still reviews cleanly)."""
    unique = list(dict.fromkeys(specs))
    if not unique:
        raise UserError("the query set is empty: give one query per line")
    if len(unique) > MAX_QUERIES:
        raise UserError(f"the query set holds {len(unique)} queries; a review takes at most "
                        f"{MAX_QUERIES}")
    return unique


def parse_lines(text: str) -> list[QuerySpec]:
    """One text query per non-empty line; lines starting with '#' are comments."""
    specs = []
    for no, line in enumerate(text.splitlines(), 1):
        query = _clean(line, f"line {no}")
        if query and not query.startswith("#"):
            specs.append(QuerySpec(text=query))
    return _bounded(specs)


def parse_jsonl(text: str) -> list[QuerySpec]:
    """One JSON object per non-empty line: {"text": "..."}, {"image_id": N} or
    {"image_file": "photo.jpg"}."""
    specs = []
    for no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"line {no}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise UserError(f"{where}: not JSON ({e.msg})") from e
        if not isinstance(row, dict) or len(row) != 1 or not set(row) <= JSONL_KEYS:
            raise UserError(f'{where}: expected {{"text": "..."}}, {{"image_id": N}} or '
                            '{"image_file": "path"}')
        if "text" in row:
            if not isinstance(row["text"], str) or not _clean(row["text"], where):
                raise UserError(f"{where}: 'text' must be a non-empty string")
            specs.append(QuerySpec(text=_clean(row["text"], where)))
        elif "image_file" in row:
            if not isinstance(row["image_file"], str) or not row["image_file"].strip():
                raise UserError(f"{where}: 'image_file' must be a file path")
            specs.append(QuerySpec(image_file=row["image_file"].strip()))
        else:
            value = row["image_id"]
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise UserError(f"{where}: 'image_id' must be a gallery id (0 or more)")
            specs.append(QuerySpec(image_id=value))
    return _bounded(specs)


def parse_file(name: str, data: bytes) -> list[QuerySpec]:
    """An uploaded or named query-set file, by its suffix."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise UserError(f"{name}: a query set is a .txt (one query per line) or .jsonl file")
    if len(data) > MAX_FILE_BYTES:
        raise UserError(f"{name}: a query set file is at most {MAX_FILE_BYTES >> 10} KB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UserError(f"{name}: not UTF-8 text") from e
    return parse_jsonl(text) if suffix == ".jsonl" else parse_lines(text)


def read_file(path: str | Path) -> list[QuerySpec]:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UserError(f"{path}: cannot read the query set ({e.strerror})") from e
    return parse_file(path.name, data)


def shipped_sets() -> dict[str, Path]:
    """The query sets that ship with the project (name -> file), for the page's picker."""
    return {p.stem: p for p in sorted(SHIPPED.glob("*")) if p.suffix in SUFFIXES}


def resolve(specs: list[QuerySpec], first: Index, base: Path | None = None,
            uploads: Sequence[tuple[str, Upload]] = ()) -> list[ReviewQuery]:
    """Queries keyed for marks: image ids are looked up in `first` (the reference index) and
    named by content hash, since every other index numbers its images in its own order. Image
    files (relative to `base`, the query file's folder) and `uploads` (name, decoded upload) are
    keyed by the file's content hash too, so a copy of a gallery image is the same query."""
    out: list[ReviewQuery] = []
    for spec in specs:
        if spec.text is not None:
            out.append(ReviewQuery(text_key(spec.text), spec.text, text=spec.text))
            continue
        if spec.image_file is not None:
            out.append(_file_query(spec.image_file, base))
            continue
        i = int(spec.image_id or 0)
        if not 0 <= i < first.n:
            raise UserError(f"image id {i} is not in {first.name} (0..{first.n - 1})")
        digest = str(first.items.at[i, "hash"])
        name = str(first.items.at[i, "rel_path"])
        out.append(ReviewQuery(image_key(digest), f"image {Path(name).name}",
                               image_hash=digest))
    out += [ReviewQuery(image_key(up.digest), f"upload {Path(name).name}", image_hash=up.digest,
                        upload=up) for name, up in uploads]
    unique: dict[str, ReviewQuery] = {}
    for q in out:
        unique.setdefault(q.key, q)  # two ids of one image (exact copies) are one query
    return list(unique.values())


def _file_query(name: str, base: Path | None) -> ReviewQuery:
    """An image file named in a query file, decoded with the upload limits."""
    path = Path(name).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    try:
        up = decode_upload(path.read_bytes())
    except OSError as e:
        raise UserError(f"image query {name}: {e.strerror or e}") from e
    except ImageProblem as e:
        raise UserError(f"image query {name}: {e}") from e
    return ReviewQuery(image_key(up.digest), f"image {path.name}", image_hash=up.digest, upload=up)
