"""The app's pure helpers: index catalogue, default choice, input parsing, grids, tiles, overlap."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

from PIL import Image

from app_support.paging import chunk, page_count, page_ids, sample_ids
from app_support.params import clean_text, parse_float, parse_id, parse_int, pick_name
from core.encoders.registry import load_encoder
from core.index.catalogue import ENV_INDEXES, IndexEntry, default_index, indexes_root, scan_indexes
from core.index.store import load_index
from core.index.thumbs import preview_jpeg, tile_jpeg
from core.query.duplicates import search_collapsed
from core.query.overlap import coverage, overlap
from core.query.search import Query, search


def entry(name: str, family: str, random: bool = False, text: bool = True,
          with_text: int = 1) -> IndexEntry:
    return IndexEntry(name=name, path=Path(name), spec=f"{family}:x", family=family,
                      random_weights=random, can_text=text, can_image=True, items=1,
                      built_at="", stamp=0.0, with_text=with_text)


def test_indexes_root_env_override(tmp_path: Path) -> None:
    assert indexes_root(tmp_path, {}) == tmp_path / "indexes"
    assert indexes_root(tmp_path, {ENV_INDEXES: "  "}) == tmp_path / "indexes"
    assert indexes_root(tmp_path, {ENV_INDEXES: str(tmp_path / "x")}) == tmp_path / "x"


def test_scan_reads_manifests_and_skips_broken(index_root: Path, tmp_path: Path) -> None:
    found = scan_indexes(index_root)
    assert [e.name for e in found] == ["captions", "conse", "efficientnet"]
    by = {e.name: e for e in found}
    assert by["conse"].can_text and by["conse"].can_image and by["conse"].items == 8
    assert by["captions"].can_text and not by["captions"].can_image
    assert not by["efficientnet"].can_text and by["efficientnet"].family == "efficientnet"
    root = tmp_path / "root"
    (root / "broken").mkdir(parents=True)
    (root / "broken" / "manifest.json").write_text("{not json")
    (root / "empty").mkdir()
    (root / ".hidden").mkdir()
    assert scan_indexes(root) == [] and scan_indexes(tmp_path / "missing") == []


def test_default_index_preference() -> None:
    assert default_index([]) is None
    assert default_index([entry("a", "efficientnet", text=False), entry("b", "captions"),
                          entry("c", "conse")]) == "c"
    assert default_index([entry("a", "openclip", random=True), entry("b", "captions")]) == "b"
    assert default_index([entry("a", "conse"), entry("b", "openclip")]) == "b"
    assert default_index([entry("z", "twobranch"), entry("b", "openclip")]) == "z"
    assert default_index([entry("a", "efficientnet", text=False),
                          entry("b", "openclip", random=True)]) == "b"


def test_the_hybrid_is_the_default_where_its_collection_has_texts() -> None:
    demo = [entry("demo-captions", "captions"), entry("demo-conse", "conse"),
            entry("demo-fusion", "fusion"), entry("demo-hybrid", "hybrid")]
    assert default_index(demo) == "demo-hybrid"
    # over a folder without texts the hybrid is the ConSE it then is: below a fusion
    assert default_index([entry("h", "hybrid", with_text=0), entry("f", "fusion")]) == "f"
    assert default_index([entry("h", "hybrid", with_text=0), entry("c", "captions")]) == "h"


def test_scan_reads_how_many_items_have_texts(index_root: Path) -> None:
    assert {e.name: e.with_text for e in scan_indexes(index_root)}["conse"] == 8


def test_untrusted_values_are_bounded() -> None:
    names = ["conse", "captions"]
    assert pick_name("conse", names) == "conse"
    for bad in ("../conse", "", None, ["conse"], "CONSE"):
        assert pick_name(bad, names) is None
    assert parse_int("7", 10, 1, 100) == 7 and parse_int("999", 10, 1, 100) == 100
    assert parse_int("-5", 10, 1, 100) == 1 and parse_int("abc", 10, 1, 100) == 10
    assert parse_int(None, 10, 1, 100) == 10
    assert parse_float("0.5", 1.0, 0, 2) == 0.5 and parse_float("nan", 1.0, 0, 2) == 1.0
    assert parse_float("9", 1.0, 0, 2) == 2
    assert parse_id("3", 8) == 3 and parse_id("8", 8) is None and parse_id("-1", 8) is None
    assert parse_id("1e3", 8) is None and parse_id(None, 8) is None
    assert clean_text("  a cat ") == "a cat" and clean_text(None) == ""
    assert len(clean_text("x" * 5000)) == 500


def test_search_collapsed_matches_search(conse_index_path: Path) -> None:
    index = load_index(conse_index_path)
    encoder = load_encoder(index.spec)
    query = Query.text("a ginger cat")
    ids = [h.id for h in search_collapsed(encoder, index, query, 3)]
    assert ids == [h.id for h in search(encoder, index, query, k=3)]


def test_search_collapsed_folds_duplicates(tmp_path: Path, photo_dir: Path) -> None:
    from core.index.build import build_index

    folder = tmp_path / "photos"
    shutil.copytree(photo_dir, folder)
    shutil.copy(folder / "chelsea.jpg", folder / "chelsea_copy.jpg")
    (folder / "captions.jsonl").unlink()
    build_index([folder], "efficientnet:lite0", tmp_path / "idx")
    index = load_index(tmp_path / "idx")
    ids = {name: i for i, name in enumerate(index.items["rel_path"])}
    hits = search_collapsed(None, index, Query.image_id(ids["coffee.jpg"]), 8)
    assert len(hits) == 8 - 1  # 9 images, minus the query, with the two cats folded into one
    cat = next(h for h in hits if h.id in (ids["chelsea.jpg"], ids["chelsea_copy.jpg"]))
    assert len(cat.duplicates) == 1
    assert [h.rank for h in hits] == list(range(1, 8))


def test_grid_helpers() -> None:
    assert chunk(list(range(7)), 5) == [[0, 1, 2, 3, 4], [5, 6]]
    assert page_count(0, 15) == 1 and page_count(31, 15) == 3
    assert page_ids(31, 3, 15) == [30] and page_ids(31, 99, 15) == [30]
    assert page_ids(31, 0, 15) == list(range(15))
    assert sample_ids(100, 10, 7) == sample_ids(100, 10, 7)
    assert len(set(sample_ids(100, 10, 7))) == 10 and sample_ids(3, 10, 1) == [0, 1, 2]


def test_overlap_and_coverage() -> None:
    ov = overlap({"a": ["1", "2", "3"], "b": ["2", "3", "4"], "c": ["3", "9"]})
    assert ov.pairs[("a", "b")] == (2, 0.5)
    assert ov.pairs[("a", "c")] == (1, 0.25)
    assert ov.in_all == {"3"} and ov.seen_in["2"] == 2 and ov.seen_in["9"] == 1
    assert coverage({"a": {"1", "2"}, "b": {"2", "1"}}) == (True, 2)
    assert coverage({"a": {"1", "2"}, "b": {"2"}}) == (False, 1)


def test_tiles_and_previews(tmp_path: Path, conse_index_path: Path) -> None:
    index = load_index(conse_index_path)
    tile = Image.open(io.BytesIO(tile_jpeg(index.thumb_path(0), size=128)))
    assert tile.size == (128, 128)
    original = Path(index.items.at[0, "path"])
    data, used = preview_jpeg(original, index.thumb_path(0), max_side=300)
    assert used and max(Image.open(io.BytesIO(data)).size) == 300
    data, used = preview_jpeg(tmp_path / "gone.jpg", index.thumb_path(0))
    assert not used and data
    data, used = preview_jpeg(None, None)  # outside the roots and the index: a blank tile
    assert not used and Image.open(io.BytesIO(data)).size == (256, 256)


def test_scan_stamp_changes_on_rebuild(tmp_path: Path, conse_index_path: Path) -> None:
    copy = tmp_path / "root" / "conse"
    shutil.copytree(conse_index_path, copy)
    before = scan_indexes(copy.parent)[0].stamp
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps(manifest))
    os.utime(copy / "manifest.json", (before + 10, before + 10))
    assert scan_indexes(copy.parent)[0].stamp == before + 10
