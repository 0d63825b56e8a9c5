"""Filters after ranking, EXIF dates, near-duplicate groups and result export, on a real small
index: the bundled photos in folders, with EXIF dates, a portrait crop, a photo without text and
a resized copy of the cat."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
from filter_gallery import LAYOUT, build_gallery_index, ids_of, make_gallery
from PIL import Image

from core.encoders.registry import load_encoder
from core.ingest.exif import parse_stamp, taken_at
from core.query import search as search_mod
from core.query.duplicates import (
    near_groups,
    near_of,
    pixel_signature,
    pixel_signatures,
    search_collapsed,
)
from core.query.filters import (
    Filters,
    exact_over_passing,
    filtered_search,
    first_k,
    folder_choices,
    item_facts,
    keep_mask,
    orientation,
    reads_words,
)
from core.query.search import Query, query_vector, search_vector


@pytest.fixture(scope="module")
def gallery(tmp_path_factory, photos) -> Path:
    return make_gallery(tmp_path_factory.mktemp("filters") / "gallery", photos)


@pytest.fixture(scope="module")
def index(gallery: Path, tmp_path_factory):
    return build_gallery_index(gallery, tmp_path_factory.mktemp("filters-index") / "conse")


def test_exif_date_taken(gallery: Path) -> None:
    assert taken_at(gallery / "animals/chelsea.jpg") == "2020-05-01T10:00:00"
    assert taken_at(gallery / "objects/coffee.jpg") is None  # no DateTimeOriginal: no date
    assert taken_at(gallery / "missing.jpg") is None
    assert parse_stamp("0000:00:00 00:00:00") is None and parse_stamp("    ") is None
    assert parse_stamp(b"2001:02:03 04:05:06\x00") == "2001-02-03T04:05:06"


def test_build_stores_dates_and_facts_derive_the_rest(index) -> None:
    assert "taken" in index.items.columns
    facts = item_facts(index)
    cat, tall, coffee, astro, rocket = ids_of(index, "animals/chelsea.jpg", "animals/cat_tall.jpg",
                                              "objects/coffee.jpg", "space/astronaut.jpg",
                                              "space/rocket.jpg")
    assert facts.at[cat, "taken"].date() == date(2020, 5, 1)
    assert facts["taken"].isna()[coffee]
    assert facts.at[cat, "orientation"] == "landscape"
    assert facts.at[tall, "orientation"] == "portrait"
    assert facts.at[astro, "orientation"] == "square"
    assert facts.at[cat, "folder"] == "animals" and not facts.at[rocket, "has_text"]
    assert folder_choices(facts) == ["animals", "objects", "space", "space/deep"]
    assert orientation(100, 98) == "square" and orientation(0, 5) == ""


def test_an_index_without_the_date_column_reads_dates_from_the_originals(index) -> None:
    index.items = index.items.drop(columns="taken")  # what an index built before the column has
    try:
        facts = item_facts(index)
    finally:
        index.items["taken"] = [taken_at(p) for p in index.items["path"]]
    (cat,) = ids_of(index, "animals/chelsea.jpg")
    assert facts.at[cat, "taken"].date() == date(2020, 5, 1)
    assert int(facts["taken"].notna().sum()) == 4


def kept(index, filters: Filters) -> set[str]:
    mask = keep_mask(item_facts(index), filters)
    return {r for r, ok in zip(index.items["rel_path"], mask, strict=True) if ok}


def test_each_filter(index) -> None:
    everything = set(LAYOUT)
    assert kept(index, Filters()) == everything
    assert kept(index, Filters(folders=("space",))) == {"space/astronaut.jpg", "space/rocket.jpg",
                                                        "space/deep/hubble.jpg"}
    assert kept(index, Filters(folders=("space/deep", "objects"))) == {
        "space/deep/hubble.jpg", "objects/coffee.jpg", "objects/motorcycle.jpg"}
    assert kept(index, Filters(sources=("cats",))) == {r for r in LAYOUT if r.startswith("animals")}
    assert kept(index, Filters(taken_from=date(2020, 1, 1), taken_to=date(2021, 12, 31))) == {
        "animals/chelsea.jpg", "objects/motorcycle.jpg"}
    assert kept(index, Filters(taken_to=date(2019, 12, 31))) == {"space/astronaut.jpg"}
    assert kept(index, Filters(orientations=("portrait", "square"))) == {
        "animals/cat_tall.jpg", "space/astronaut.jpg"}
    assert kept(index, Filters(min_width=700)) == {"objects/motorcycle.jpg",
                                                   "space/deep/hubble.jpg"}
    assert kept(index, Filters(min_width=510, min_height=510)) == {"space/astronaut.jpg",
                                                                   "space/deep/hubble.jpg"}
    assert kept(index, Filters(has_text=False)) == {"space/rocket.jpg"}
    assert kept(index, Filters(has_text=True)) == everything - {"space/rocket.jpg"}
    assert Filters(orientations=("portrait",)).describe() == "portrait"


@pytest.mark.parametrize("method", ["exact", "annoy"])
def test_filtered_search_is_the_ranking_restricted_and_fills_the_page(index, method) -> None:
    vec = query_vector(load_encoder(index.spec), index, Query.text("a ginger cat"))
    ranking = [h.id for h in search_vector(index, vec, index.n, method="exact")]
    for filters in (Filters(folders=("space",)), Filters(orientations=("landscape",)),
                    Filters(has_text=False)):
        keep = keep_mask(item_facts(index), filters)
        hits = filtered_search(index, vec, 3, keep, method=method)
        expected = [i for i in ranking if keep[i]][:3]
        assert [h.id for h in hits] == expected, filters
        assert [h.rank for h in hits] == list(range(1, len(expected) + 1))


def test_more_candidates_are_asked_for_until_k_pass(index) -> None:
    vec = query_vector(load_encoder(index.spec), index, Query.text("a ginger cat"))
    ranking = [h.id for h in search_vector(index, vec, index.n)]
    keep = np.zeros(index.n, bool)
    keep[ranking[-2:]] = True  # only the two worst-ranked items pass
    asked: list[int] = []

    def candidates(want: int):
        asked.append(want)
        return search_vector(index, vec, want)

    hits = first_k(candidates, 2, index.n, want=2, keep=keep)
    assert [h.id for h in hits] == ranking[-2:]
    assert asked[-1] == index.n
    assert first_k(candidates, 2, index.n, 2, keep=np.zeros(index.n, bool)) == []


def test_app_search_keeps_folding_exact_copies_with_filters(index) -> None:
    enc = load_encoder(index.spec)
    keep = keep_mask(item_facts(index), Filters(folders=("animals",)))
    hits = search_collapsed(enc, index, Query.text("a ginger cat"), 5, keep=keep)
    assert {index.items.at[h.id, "rel_path"] for h in hits} == {
        "animals/chelsea.jpg", "animals/cat_small.jpg", "animals/cat_tall.jpg"}



def test_a_selective_filter_on_an_approximate_index_ranks_the_passing_items_exactly(
        index, monkeypatch) -> None:
    """From EXACT_BELOW items the search is approximate; lowered here to 4, so the 8-image index
    counts as large. Its ANN stands in for Annoy with a small search_k: it returns two
    candidates, however many are asked for. Post-filtering them came back short; a filter that
    leaves fewer than EXACT_BELOW images ranks those exactly instead, and a looser one still
    goes through the ANN."""
    enc = load_encoder(index.spec)
    vec = query_vector(enc, index, Query.text("a ginger cat"))
    ranking = [h.id for h in search_vector(index, vec, index.n, method="exact")]
    asked: list[int] = []

    def short_ann(index, vec, k, exclude=frozenset(), search_k=None):
        asked.append(k)
        return search_mod.exact_top_k(index.embeddings, vec, min(k, 2), exclude)

    monkeypatch.setattr(search_mod, "EXACT_BELOW", 4)
    monkeypatch.setattr(search_mod, "approx_top_k", short_ann)
    space = keep_mask(item_facts(index), Filters(folders=("space",)))  # 3 of 8 pass
    assert exact_over_passing(index, space) and not exact_over_passing(index, space, "exact")
    assert [h.id for h in filtered_search(index, vec, 3, space)] == [
        i for i in ranking if space[i]][:3]
    astro, rocket, _ = ids_of(index, "space/astronaut.jpg", "space/rocket.jpg",
                              "space/deep/hubble.jpg")
    hits = filtered_search(index, vec, 3, space, exclude=frozenset({astro}))
    assert astro not in {h.id for h in hits} and len(hits) == 2 and hits[0].rank == 1
    app = search_collapsed(enc, index, Query.text("a ginger cat"), 3, keep=space)  # the app's
    assert [h.id for h in app] == [i for i in ranking if space[i]][:3]
    assert asked == []
    wide = keep_mask(item_facts(index), Filters(has_text=True))  # 7 of 8 pass: the ANN's turn
    assert not exact_over_passing(index, wide)
    assert len(filtered_search(index, vec, 3, wide)) <= 2 and asked

def test_near_duplicate_groups_by_threshold(index) -> None:
    cat, small = ids_of(index, "animals/chelsea.jpg", "animals/cat_small.jpg")
    sim = float(index.embeddings[cat] @ index.embeddings[small])
    groups = near_groups(index.embeddings, threshold=sim - 1e-4)
    assert [cat, small] in [sorted(g) for g in groups] or any({cat, small} <= set(g)
                                                              for g in groups)
    assert not any({cat, small} <= set(g) for g in near_groups(index.embeddings, sim + 1e-4))
    assert near_groups(index.embeddings, 1.01) == []
    # a chain: a~b and b~c at the threshold, a and c below it, is one group (union-find)
    angle = np.deg2rad([0.0, 20.0, 40.0, 90.0])
    chain = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    assert near_groups(chain, threshold=np.cos(np.deg2rad(21)), block=1) == [[0, 1, 2]]
    assert near_of([[0, 1, 2]]) == {0: [1, 2], 1: [0, 2], 2: [0, 1]}


def test_pixel_signatures_find_the_resized_copy_not_the_other_cat(index) -> None:
    cat, small, tall, coffee = ids_of(index, "animals/chelsea.jpg", "animals/cat_small.jpg",
                                      "animals/cat_tall.jpg", "objects/coffee.jpg")
    sigs = pixel_signatures(index)
    assert float(sigs[cat] @ sigs[small]) > 0.98  # the same photo at half size
    assert float(sigs[cat] @ sigs[tall]) < 0.8 and float(sigs[cat] @ sigs[coffee]) < 0.8
    assert near_groups(sigs, 0.90) == [sorted([cat, small])]
    # the model's embeddings call the crop a near-duplicate too (semantic: "a cat")
    assert near_groups(index.embeddings, 0.97) == [sorted([cat, small, tall])]
    flat = pixel_signature(Image.new("RGB", (40, 30), "grey"))
    assert not flat.any()  # a flat image matches nothing


def test_words_in_the_image_where_the_build_read_them(index, tmp_path: Path, photos) -> None:
    from test_ocr import SIGN, sign_photo

    from core.index.build import build_index
    from core.index.store import load_index
    from tests.conftest import write_photo_folder

    assert not reads_words(index) and not item_facts(index)["has_ocr"].any()  # built without
    folder = write_photo_folder(tmp_path / "photos", {k: photos[k] for k in ("chelsea", "rocket")})
    sign_photo(photos["coffee"]).save(folder / SIGN, quality=92)
    build_index([folder], "conse:lite0", tmp_path / "read", trees=2, ocr=True)
    read = load_index(tmp_path / "read")
    assert reads_words(read)
    assert set(read.items["rel_path"][keep_mask(item_facts(read), Filters(has_ocr=True))]) == {
        SIGN}
    assert len(read.items["rel_path"][keep_mask(item_facts(read), Filters(has_ocr=False))]) == 2
