"""The items table as pages show it: captions, short file names and plain text lists.

Pages, charts and grids all name images the same way, so the naming lives here once. A grid
caption is the image's first description (what a visitor reads), the file name only for an
image without any text; the file name itself stays in the detail view and the alt text.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.index.store import Index
from core.ingest.ocr import COLUMN

NAME_CHARS = 22  # a grid caption or tooltip fits this many characters of a file name
LABEL_CHARS = 40  # and about this many of a description (two short lines under a tile)


def short_name(index: Index, i: int, chars: int = NAME_CHARS) -> str:
    """The file name of image i (no folders), cut to `chars` with an ellipsis."""
    name = str(index.items.at[int(i), "rel_path"]).rsplit("/", 1)[-1]
    return name if len(name) <= chars else name[: chars - 1] + "…"


def trim(text: str, chars: int = LABEL_CHARS) -> str:
    """One line of at most `chars`, cut at a word boundary when one is near, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= chars:
        return text
    cut = text[: chars - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > chars // 2 else cut).rstrip(" ,;:.-") + "…"


def label(index: Index, i: int) -> str:
    """What a grid shows under image i: its first non-empty description, trimmed, else its
    short file name (`E016.jpg` says nothing; "Goat, lungs" does)."""
    return labels(index, [i])[0]


def labels(index: Index, ids: Iterable[int]) -> list[str]:
    """`label` of each image, their rows read at once (one Lance take for a grid's page)."""
    ids = [int(i) for i in ids]
    firsts = [next((t for t in texts if t.strip()), "") for texts in texts_of(index, ids)]
    return [trim(first) if first else short_name(index, i) for i, first in zip(ids, firsts,
                                                                                strict=True)]


def named(index: Index, ids: Iterable[int]) -> list[tuple[int, str]]:
    """(id, label) per image: the cells of a plain thumbnail grid."""
    ids = [int(i) for i in ids]
    return list(zip(ids, labels(index, ids), strict=True))


def texts_of(index: Index, ids: Iterable[int]) -> list[list[str]]:
    """Each image's texts as a list of str (the parquet column holds arrays or None)."""
    values = index.items.loc[[int(i) for i in ids], "texts"].tolist()  # only these rows
    return [[str(t) for t in value] if value is not None else [] for value in values]


def ocr_text(index: Index, i: int) -> str:
    """The text the build read in image i (`--ocr`), "" when none or OCR was off."""
    if COLUMN not in index.items.columns:
        return ""
    value = index.items.at[int(i), COLUMN]
    return str(value) if isinstance(value, str) else ""
