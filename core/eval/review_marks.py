"""The review's marks file: relevant / not relevant per (query, image content hash).

A mark belongs to the query and the image, not to an index, so one mark counts for every
variant that returns that image; the file is the reviewer's (downloaded and uploaded), and
nothing is ever written into an index. An uploaded file is a visitor's input: every field is
checked and each way it can be wrong is one clear UserError naming the entry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from core.errors import UserError
from core.eval.query_set import MAX_QUERY_CHARS

FORMAT = "imgsearch-review-marks"
VERSION = 1
MAX_MARKS = 20_000  # 200 queries x 100 results: more than a review can show
MAX_FILE_BYTES = 4 << 20
TOP_KEYS = {"format", "version", "created", "marks"}
MARK_KEYS = {"query", "hash", "relevant"}
HASH = re.compile(r"[0-9a-f]{40}")  # sha1 hex, what core.ingest.crawl.file_hash writes

MarkKey = tuple[str, str]  # (query key, image content hash)
Marks = dict[MarkKey, bool]


def valid_query_key(key: object) -> bool:
    """'text:<query>' or 'image:<sha1>', as core.eval.query_set names queries."""
    if not isinstance(key, str):
        return False
    kind, _, rest = key.partition(":")
    if kind == "text":
        return bool(rest.strip()) and len(rest) <= MAX_QUERY_CHARS
    return kind == "image" and HASH.fullmatch(rest) is not None


def marks_json(marks: Mapping[MarkKey, bool]) -> str:
    """The file a reviewer downloads: sorted, so two saves of the same marks are identical."""
    rows = [{"query": q, "hash": h, "relevant": bool(v)} for (q, h), v in sorted(marks.items())]
    return json.dumps({"format": FORMAT, "version": VERSION,
                       "created": datetime.now(UTC).isoformat(timespec="seconds"),
                       "marks": rows}, indent=1, ensure_ascii=False) + "\n"


def read_marks(data: str | bytes) -> Marks:
    """Parse and validate a marks file; raises one UserError per kind of problem."""
    if len(data) > MAX_FILE_BYTES:
        raise UserError(f"Not a marks file: larger than {MAX_FILE_BYTES >> 20} MB.")
    try:
        doc = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"Not a marks file: invalid JSON ({e}).") from e
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise UserError(f"Not a marks file: missing the '{FORMAT}' format.")
    if doc.get("version") != VERSION:
        raise UserError(f"Unsupported marks file version {doc.get('version')!r}.")
    extra = set(doc) - TOP_KEYS
    if extra:
        raise UserError(f"Unknown field {sorted(extra)[0]!r} in the marks file.")
    rows = doc.get("marks")
    if not isinstance(rows, list):
        raise UserError("Bad 'marks' in the marks file: expected a list.")
    if len(rows) > MAX_MARKS:
        raise UserError(f"The marks file holds {len(rows)} marks; at most {MAX_MARKS}.")
    marks: Marks = {}
    for no, row in enumerate(rows, 1):
        key, relevant = _mark(row, no)
        if key in marks:
            raise UserError(f"Mark {no} repeats an earlier mark of the same query and image.")
        marks[key] = relevant
    return marks


def _mark(row: Any, no: int) -> tuple[MarkKey, bool]:
    if not isinstance(row, dict) or set(row) != MARK_KEYS:
        raise UserError(f"Bad mark {no}: expected exactly 'query', 'hash' and 'relevant'.")
    if not valid_query_key(row["query"]):
        raise UserError(f"Bad query in mark {no}: expected 'text:<query>' or 'image:<sha1>'.")
    if not isinstance(row["hash"], str) or HASH.fullmatch(row["hash"]) is None:
        raise UserError(f"Bad hash in mark {no}: expected an image's 40-digit sha1.")
    if not isinstance(row["relevant"], bool):
        raise UserError(f"Bad 'relevant' in mark {no}: expected true or false.")
    return (row["query"], row["hash"]), row["relevant"]
