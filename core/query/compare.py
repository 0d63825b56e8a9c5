"""The compare page's lists: which indexes to compare, one query run on each, and where their
top results agree. Images are matched across indexes by content hash, since each index numbers
its images in its own order."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from core.errors import UserError
from core.index.catalogue import IndexEntry
from core.index.store import Index
from core.query.overlap import Overlap, overlap

MAX_INDEXES = 3  # side-by-side columns stay readable up to three
IN_ALL, IN_SOME = "★ ", "◆ "
NOT_IN_INDEX = "the query image is not in this index."

HitRow = tuple[int, float, list[int]]  # (id, cosine, duplicate ids): what the app caches
Hits = list[HitRow]
T = TypeVar("T")


def default_selection(current: str, names: Sequence[str], limit: int = MAX_INDEXES) -> list[str]:
    """The current index first, then the next others in scan order, up to `limit`."""
    others = [n for n in names if n != current]
    return [current, *others[: limit - 1]]


def valid_selection(chosen: Iterable[object], names: Sequence[str],
                    limit: int = MAX_INDEXES) -> list[str]:
    """Only known index names (URL values are untrusted), each once, in order, at most `limit`
    (three on the Compare page, six on the review page)."""
    known = [n for n in chosen if isinstance(n, str) and n in names]
    return list(dict.fromkeys(known))[:limit]


def image_hash(index: Index, image_id: int) -> str:
    return str(index.items.at[int(image_id), "hash"])


def own_id(hash_to_id: Mapping[str, int], query_hash: str | None) -> int:
    """The query image's id in another index, by content hash; a UserError if it has none."""
    found = hash_to_id.get(query_hash or "")
    if found is None:
        raise UserError(NOT_IN_INDEX)
    return found


def image_only(entry: IndexEntry) -> str:
    return f"{entry.family} embeds images only: no text queries."


def run_each(entries: Sequence[IndexEntry], run: Callable[[IndexEntry], T],
             text_query: bool) -> tuple[dict[str, T], dict[str, str]]:
    """(results, problems) by index name: `run` searches one index (one query, or a review's
    batch of texts); an index that cannot take the query, or whose search raises a UserError,
    gets its one-line reason instead."""
    results: dict[str, T] = {}
    problems: dict[str, str] = {}
    for entry in entries:
        if text_query and not entry.can_text:
            problems[entry.name] = image_only(entry)
            continue
        try:
            results[entry.name] = run(entry)
        except UserError as e:
            problems[entry.name] = str(e)
    return results, problems


@dataclass
class PairFigure:
    """How far two lists agree: shared results out of the longer list, and their Jaccard."""

    a: str
    b: str
    shared: int
    top: int
    jaccard: float


@dataclass
class Agreement:
    overlap: Overlap
    pairs: list[PairFigure]
    marks: dict[str, str]  # hash -> IN_ALL or IN_SOME, for results in two lists or more


def agreement(results: Mapping[str, Hits], indexes: Mapping[str, Index]) -> Agreement:
    """Overlap of the result lists by content hash, the figures per pair, and the marks."""
    lists = {name: [image_hash(indexes[name], i) for i, _, _ in hits]
             for name, hits in results.items()}
    ov = overlap(lists)
    pairs = [PairFigure(a, b, shared, max(len(results[a]), len(results[b])), jaccard)
             for (a, b), (shared, jaccard) in ov.pairs.items()]
    marks = {h: IN_ALL if h in ov.in_all else IN_SOME for h, n in ov.seen_in.items() if n >= 2}
    return Agreement(ov, pairs, marks)


def marks_for(index: Index, hits: Hits, marks: Mapping[str, str]) -> dict[int, str]:
    """Each hit's mark in this index's own ids ("" when only this list holds it)."""
    return {i: marks.get(image_hash(index, i), "") for i, _, _ in hits}


def legend(n_lists: int) -> str:
    text = f"{IN_ALL.strip()} in every list"
    if n_lists > 2:
        text += f" · {IN_SOME.strip()} in some lists"
    return text
