"""Nearest captions of a set for an image (image -> text retrieval)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from captioned_sets import tiny_set_dir, trained_model_dir
from conftest import unit_rows

from core.encoders.registry import load_encoder
from core.errors import UserError
from core.ingest.images import open_image
from core.query.captionbank import build_caption_bank, image_vector, nearest_captions


@pytest.fixture(scope="module")
def bank():
    return build_caption_bank(load_encoder(f"twobranch:{trained_model_dir()}"), tiny_set_dir())


def test_bank_merges_identical_captions(bank) -> None:
    assert len(bank) == len(set(bank.texts)) == 16  # 8 photo captions + 8 "a picture of X"
    i = bank.texts.index("a ginger cat")
    assert sorted(bank.files[i]) == [f"chelsea_{v}.jpg" for v in range(6)]
    assert bank.vectors.shape == (16, 256) and unit_rows(bank.vectors)
    test_only = build_caption_bank(load_encoder(f"twobranch:{trained_model_dir()}"),
                                   tiny_set_dir(), split="test")
    assert len(test_only.files[test_only.texts.index("a ginger cat")]) == 2


def test_nearest_captions_for_an_image(bank) -> None:
    enc = load_encoder(f"twobranch:{trained_model_dir()}")
    vec = image_vector(enc, open_image(tiny_set_dir() / "chelsea_4.jpg")[0])
    hits = nearest_captions(bank, vec, k=5)
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert any("cat" in h.text or "chelsea" in h.text for h in hits[:2])
    assert len(nearest_captions(bank, vec, k=100)) == len(bank)
    with pytest.raises(UserError, match="dimensions"):
        nearest_captions(bank, np.ones(7), k=3)
    with pytest.raises(UserError):
        nearest_captions(bank, vec, k=0)


def test_models_that_cannot_take_part() -> None:
    with pytest.raises(UserError, match="cannot embed texts"):
        build_caption_bank(load_encoder("efficientnet:lite0"), tiny_set_dir())
    captions = load_encoder("captions:minilm")
    with pytest.raises(UserError, match="not pixels"):
        image_vector(captions, open_image(tiny_set_dir() / "chelsea_4.jpg")[0])
    with pytest.raises(UserError, match="no 'nope' rows"):
        build_caption_bank(captions, tiny_set_dir(), split="nope")


def test_sets_root_and_own_captions(bank, tmp_path) -> None:
    from core.query.captionbank import find_sets, own_captions, sets_root

    assert sets_root(tmp_path, {}) == tmp_path / "data" / "sets"
    assert sets_root(tmp_path, {"IMAGE_SEARCH_SETS": "/x/y"}) == Path("/x/y")
    (tmp_path / "empty").mkdir()
    assert find_sets(tiny_set_dir().parent) == [tiny_set_dir()]
    assert find_sets(tmp_path / "nothing") == []
    own = own_captions(bank, tiny_set_dir() / "chelsea_4.jpg")
    assert {bank.texts[i] for i in own} == {"a ginger cat", "a picture of chelsea"}
    assert own_captions(bank, tmp_path / "elsewhere.jpg") == set()
