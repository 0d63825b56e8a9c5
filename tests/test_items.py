"""Short file names and text lists of the items table, on a real index of the bundled photos."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from conftest import PHOTO_TEXTS

from core.index.items import LABEL_CHARS, NAME_CHARS, label, named, short_name, texts_of, trim
from core.index.store import load_index


def test_short_name_is_the_file_name(efficientnet_index_path: Path) -> None:
    index = load_index(efficientnet_index_path)
    names = [short_name(index, i) for i in range(index.n)]
    assert sorted(names) == sorted(f"{stem}.jpg" for stem in PHOTO_TEXTS)
    i = names.index("motorcycle.jpg")
    assert short_name(index, i, chars=6) == "motor…"
    assert len(short_name(index, i, chars=6)) == 6
    assert short_name(index, i, chars=len("motorcycle.jpg")) == "motorcycle.jpg"


def test_long_names_are_cut_to_the_grid_width(efficientnet_index_path: Path) -> None:
    index = load_index(efficientnet_index_path)
    items = index.items.copy()
    items.at[0, "rel_path"] = "deep/folder/" + "x" * 40 + ".jpg"
    long = dataclasses.replace(index, items=items)
    assert short_name(long, 0) == "x" * (NAME_CHARS - 1) + "…"


def test_texts_of_gives_plain_lists(efficientnet_index_path: Path) -> None:
    index = load_index(efficientnet_index_path)
    stems = [short_name(index, i).removesuffix(".jpg") for i in range(index.n)]
    assert texts_of(index, [3, 0]) == [[PHOTO_TEXTS[stems[3]]], [PHOTO_TEXTS[stems[0]]]]
    items = index.items.copy()
    items.at[1, "texts"] = None
    bare = dataclasses.replace(index, items=items)
    got = texts_of(bare, range(3))
    assert got[1] == [] and got[0] == [PHOTO_TEXTS[stems[0]]]
    assert all(type(t) is str for ts in got for t in ts)


def test_named_pairs_ids_with_descriptions(efficientnet_index_path: Path) -> None:
    """Grid cells read the image's first description, not its file name."""
    index = load_index(efficientnet_index_path)
    cells = named(index, [5, 1])
    assert cells == [(5, texts_of(index, [5])[0][0]), (1, texts_of(index, [1])[0][0])]
    assert not cells[0][1].endswith(".jpg") and cells[0][1] != cells[1][1]
    assert named(index, []) == []


def test_label_falls_back_to_the_file_name(efficientnet_index_path: Path) -> None:
    index = load_index(efficientnet_index_path)
    items = index.items.copy()
    items.at[1, "texts"] = None
    items.at[2, "texts"] = ["  ", "a second, real line"]
    items.at[3, "texts"] = ["word " * 30]
    edited = dataclasses.replace(index, items=items)
    assert label(edited, 1) == short_name(edited, 1) and label(edited, 1).endswith(".jpg")
    assert label(edited, 2) == "a second, real line"
    long = label(edited, 3)
    assert long.endswith("…") and len(long) <= LABEL_CHARS and "  " not in long


def test_trim_cuts_at_a_word() -> None:
    text = "The Gateway of India is one of India's most unique landmarks"
    assert trim(text) == "The Gateway of India is one of India's…"
    assert trim("short") == "short"
    assert len(trim("x" * 100)) == LABEL_CHARS
