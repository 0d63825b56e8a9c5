"""The compare page's lists on real indexes of the bundled photos: one query per index, matched
across indexes by content hash (a subset index numbers the same photos differently)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_photo_folder

from core.errors import UserError
from core.index.build import build_index
from core.index.catalogue import IndexEntry, scan_indexes
from core.index.store import Index, load_index
from core.query import compare
from core.query.duplicates import search_collapsed
from core.query.search import Query

SUBSET = ("rocket", "hubble", "chelsea")


@pytest.fixture(scope="module")
def subset_path(tmp_path_factory, photos) -> Path:
    """An index of three of the photos, so its ids differ from the full indexes'."""
    folder = write_photo_folder(tmp_path_factory.mktemp("subset") / "photos",
                                {n: photos[n] for n in SUBSET})
    out = tmp_path_factory.mktemp("subset_index") / "subset"
    build_index([folder], "efficientnet:lite0", out)
    return out


@pytest.fixture(scope="module")
def entries(index_root: Path, subset_path: Path) -> dict[str, IndexEntry]:
    found = scan_indexes(index_root) + scan_indexes(subset_path.parent)
    return {e.name: e for e in found}


@pytest.fixture(scope="module")
def indexes(entries: dict[str, IndexEntry]) -> dict[str, Index]:
    return {name: load_index(e.path) for name, e in entries.items()}


def hash_to_id(index: Index) -> dict[str, int]:
    return {str(h): i for i, h in reversed(list(enumerate(index.items["hash"])))}


def neighbours(index: Index, image_id: int, k: int) -> compare.Hits:
    hits = search_collapsed(None, index, Query.image_id(image_id), k)
    return [(h.id, h.score, list(h.duplicates)) for h in hits]


def rocket_id(index: Index) -> int:
    return next(i for i in range(index.n) if index.items.at[i, "rel_path"] == "rocket.jpg")


def test_selection_lists() -> None:
    names = ["a", "b", "c", "d"]
    assert compare.default_selection("b", names) == ["b", "a", "c"]
    assert compare.default_selection("a", ["a", "b"]) == ["a", "b"]
    assert compare.valid_selection(["x", "b", "b", None, 3, "a", "c", "d"], names) == ["b", "a",
                                                                                      "c"]
    assert compare.valid_selection(["nope", "../a"], names) == []


def test_the_query_image_is_found_by_hash(indexes: dict[str, Index]) -> None:
    full, subset = indexes["conse"], indexes["subset"]
    query = compare.image_hash(full, rocket_id(full))
    assert query == str(full.items.at[rocket_id(full), "hash"])
    own = compare.own_id(hash_to_id(subset), query)
    assert own == rocket_id(subset) and subset.items.at[own, "rel_path"] == "rocket.jpg"
    coffee = next(i for i in range(full.n) if full.items.at[i, "rel_path"] == "coffee.jpg")
    with pytest.raises(UserError, match="not in this index"):
        compare.own_id(hash_to_id(subset), compare.image_hash(full, coffee))
    with pytest.raises(UserError, match="not in this index"):
        compare.own_id(hash_to_id(subset), None)


def test_run_each_gives_results_or_reasons(entries: dict[str, IndexEntry],
                                           indexes: dict[str, Index]) -> None:
    query = compare.image_hash(indexes["conse"], 0)

    def run(entry: IndexEntry) -> compare.Hits:
        index = indexes[entry.name]
        return neighbours(index, compare.own_id(hash_to_id(index), query), 3)

    chosen = [entries[n] for n in ("conse", "efficientnet", "subset")]
    results, problems = compare.run_each(chosen, run, text_query=False)
    in_subset = query in hash_to_id(indexes["subset"])
    assert set(results) == {"conse", "efficientnet"} | ({"subset"} if in_subset else set())
    assert problems == ({} if in_subset else {"subset": compare.NOT_IN_INDEX})
    assert [h[0] for h in results["conse"]] == [h[0] for h in neighbours(indexes["conse"], 0, 3)]
    results, problems = compare.run_each(chosen, run, text_query=True)
    assert "efficientnet" not in results  # image-only models take no text query
    assert problems["efficientnet"] == "efficientnet embeds images only: no text queries."


def test_agreement_marks_shared_results_by_hash(indexes: dict[str, Index]) -> None:
    """Every other photo as neighbours of the rocket (a search leaves the query itself out):
    the subset's two others are in all three lists, the full indexes' five more in two."""
    names = ("conse", "efficientnet", "subset")
    results = {n: neighbours(indexes[n], rocket_id(indexes[n]), 7) for n in names}
    assert [len(results[n]) for n in names] == [7, 7, 2]
    hashes = {n: {compare.image_hash(indexes[n], i) for i, _, _ in results[n]} for n in names}
    agree = compare.agreement(results, indexes)
    figures = {(p.a, p.b): (p.shared, p.top, round(p.jaccard, 4)) for p in agree.pairs}
    assert figures == {("conse", "efficientnet"): (7, 7, 1.0),
                       ("conse", "subset"): (2, 7, round(2 / 7, 4)),
                       ("efficientnet", "subset"): (2, 7, round(2 / 7, 4))}
    assert {h for h, m in agree.marks.items() if m == compare.IN_ALL} == hashes["subset"]
    assert {h for h, m in agree.marks.items() if m == compare.IN_SOME} == (
        hashes["conse"] - hashes["subset"])
    rocket = compare.image_hash(indexes["subset"], rocket_id(indexes["subset"]))
    assert rocket not in agree.marks
    subset_marks = compare.marks_for(indexes["subset"], results["subset"], agree.marks)
    assert list(subset_marks) == [i for i, _, _ in results["subset"]]
    assert set(subset_marks.values()) == {compare.IN_ALL}
    conse_marks = compare.marks_for(indexes["conse"], results["conse"], agree.marks)
    assert sorted(conse_marks.values()) == sorted([compare.IN_ALL] * 2 + [compare.IN_SOME] * 5)
    assert set(compare.marks_for(indexes["conse"], results["conse"], {}).values()) == {""}


def test_legend() -> None:
    assert compare.legend(2) == "★ in every list"
    assert compare.legend(3) == "★ in every list · ◆ in some lists"
