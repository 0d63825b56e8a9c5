"""The items table as pages show it: short file names and plain text lists.

Pages, charts and grids all name images the same way, so the naming lives here once.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.index.store import Index

NAME_CHARS = 22  # a grid caption or tooltip fits this many characters of a file name


def short_name(index: Index, i: int, chars: int = NAME_CHARS) -> str:
    """The file name of image i (no folders), cut to `chars` with an ellipsis."""
    name = str(index.items.at[int(i), "rel_path"]).rsplit("/", 1)[-1]
    return name if len(name) <= chars else name[: chars - 1] + "…"


def named(index: Index, ids: Iterable[int]) -> list[tuple[int, str]]:
    """(id, short file name) per image: the cells of a plain thumbnail grid."""
    return [(int(i), short_name(index, i)) for i in ids]


def texts_of(index: Index, ids: Iterable[int]) -> list[list[str]]:
    """Each image's texts as a list of str (the parquet column holds arrays or None)."""
    column = index.items["texts"]
    out = []
    for i in ids:
        value = column.iat[int(i)]
        out.append([str(t) for t in value] if value is not None else [])
    return out
