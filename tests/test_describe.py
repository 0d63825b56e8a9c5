"""The image-to-text page's lists on a real captioned set (bundled photos, MiniLM captions)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from captioned_sets import make_captioned_set

from core.encoders.registry import load_encoder
from core.index.store import load_index
from core.query import describe
from core.query.captionbank import CaptionBank, build_caption_bank, nearest_captions

CAT = "a ginger cat"


@pytest.fixture(scope="module")
def set_dir(tmp_path_factory) -> Path:
    return make_captioned_set(tmp_path_factory.mktemp("sets") / "small", variants=3,
                              names=["chelsea", "coffee", "rocket"])


@pytest.fixture(scope="module")
def bank(set_dir: Path) -> CaptionBank:
    return build_caption_bank(load_encoder("captions:minilm"), set_dir)


def test_sets_by_name(set_dir: Path, tmp_path: Path) -> None:
    assert describe.sets_by_name(tmp_path, {"IMAGE_SEARCH_SETS": str(set_dir.parent)}) == {
        "small": set_dir}
    assert describe.sets_by_name(tmp_path, {}) == {}  # no data/sets under this repo root
    sets = tmp_path / "data" / "sets"
    for name in ("b", "a"):
        (sets / name).mkdir(parents=True)
        (sets / name / "captions.jsonl").write_text("")
    (sets / "no_captions").mkdir()
    assert list(describe.sets_by_name(tmp_path, {})) == ["a", "b"]


def test_stored_vector_is_the_embedding_row(efficientnet_index_path: Path) -> None:
    index = load_index(efficientnet_index_path)
    vec = describe.stored_vector(index, 3)
    assert vec.dtype == np.float32 and vec.shape == (index.dim,)
    np.testing.assert_array_equal(vec, index.embeddings[3])


def test_own_texts(bank: CaptionBank, set_dir: Path, tmp_path: Path) -> None:
    assert describe.own_texts([bank], set_dir / "chelsea_1.jpg") == {CAT, "a picture of chelsea"}
    assert describe.own_texts([bank], set_dir / "chelsea_0.jpg") == {CAT}
    assert describe.own_texts([bank], tmp_path / "chelsea_0.jpg") == set()  # not in the set
    assert describe.own_texts([bank], None) == set()


def test_caption_table_and_own_ranks(bank: CaptionBank, set_dir: Path) -> None:
    vec = bank.vectors[bank.texts.index(CAT)]  # the caption's own vector: it ranks first
    hits = nearest_captions(bank, vec, 4)
    own = describe.own_texts([bank], set_dir / "chelsea_1.jpg")
    table = describe.caption_table(hits, own)
    assert list(table.columns) == ["#", "caption", "score", "images with it", "this image's own"]
    assert table["#"].tolist() == [1, 2, 3, 4]
    first = table.iloc[0]
    assert first["caption"] == CAT and first["score"] == pytest.approx(1.0, abs=1e-4)
    assert first["images with it"] == 3  # chelsea_0..2 all carry it
    ticks = dict(zip(table["caption"], table["this image's own"], strict=True))
    assert all((mark == "✓") == (text in own) for text, mark in ticks.items())
    ranks = describe.own_ranks(hits, own)
    assert ranks[0] == 1 and ranks == sorted(ranks)
    assert describe.own_rank_note(hits, own, 4) == ", ".join(f"#{r}" for r in ranks)
    assert describe.own_rank_note(hits, {"a rocket on the moon"}, 4) == "below #4"
    assert describe.own_ranks(hits, set()) == []


def test_all_sets_merge_by_score(bank: CaptionBank, set_dir: Path, tmp_path: Path) -> None:
    """A second set that sorts first ("a_food") must not win by its name: the merged ranking
    puts the cat caption of the other set first for the cat's vector."""
    food_dir = make_captioned_set(tmp_path / "a_food", variants=2, names=["coffee"])
    food = build_caption_bank(load_encoder("captions:minilm"), food_dir)
    assert describe.set_options(["a_food", "small"]) == [describe.ALL_SETS, "a_food", "small"]
    assert describe.set_options(["small"]) == ["small"]
    assert describe.chosen_sets(describe.ALL_SETS, ["a_food", "small"]) == ["a_food", "small"]
    assert describe.chosen_sets("small", ["a_food", "small"]) == ["small"]
    vec = bank.vectors[bank.texts.index(CAT)]
    hits = describe.nearest_in_sets([food, bank], vec, 5)
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert hits[0].text == CAT and hits[0].set_name == "small"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert {h.set_name for h in hits} == {"a_food", "small"}
    own = describe.own_texts([food, bank], set_dir / "chelsea_0.jpg")
    table = describe.caption_table(hits, own)
    assert list(table.columns)[:3] == ["#", "caption", "set"] and table.iloc[0]["set"] == "small"
    assert table.iloc[0]["this image's own"] == "✓"
