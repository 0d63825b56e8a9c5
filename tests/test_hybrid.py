"""The hybrid variant: an image's texts (and names) and its pixels in one vector, on the bundled
photos with the real offline models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import PHOTO_TEXTS, write_photo_folder

from core.encoders.hybrid import STAND_IN, with_name_words
from core.encoders.registry import canonical, capabilities, load_encoder, same_model
from core.errors import UserError
from core.index.build import build_index
from core.index.store import load_index

SPEC = "hybrid:conse:lite0"
DEMO = "hybrid:conse:lite0,prompt=definition,view=multi"  # the demo's hybrid
CONSE = "conse:lite0,top=10,template=a photo of a {}"
ARTIST = "taken by Ingrid Svensson at the Gamla Stan café in Stockholm"


def test_spec_parses_and_canonicalises() -> None:
    full = f"hybrid:{CONSE},text=0.5,names=fallback"
    assert canonical(SPEC) == full
    assert canonical("hybrid:conse:lite0,names=fallback,top=10,text=0.50") == full
    assert canonical("hybrid:conse:lite0,prompt=definition,view=multi,text=0.3,names=on") == (
        f"hybrid:{CONSE},prompt=definition,view=multi,text=0.3,names=on")
    assert same_model(SPEC, full) and not same_model(SPEC, f"hybrid:{CONSE},text=0.4")
    caps = capabilities(SPEC)
    assert caps.items == "pixels+texts" and caps.queries == {"text", "image"}
    assert caps.input_size == 224
    assert load_encoder(SPEC).spec == full  # what the encoder records is the canonical spec


@pytest.mark.parametrize("bad", ["hybrid:", "hybrid:captions:minilm", "hybrid:efficientnet:lite0",
                                 "hybrid:conse:lite0,text=1", "hybrid:conse:lite0,text=x",
                                 "hybrid:conse:lite0,names=maybe", "hybrid:fusion:conse:lite0"])
def test_bad_hybrid_specs_are_user_errors(bad: str) -> None:
    with pytest.raises(UserError):
        canonical(bad)


def test_fusion_still_refuses_captions_and_points_to_hybrid() -> None:
    with pytest.raises(UserError, match="hybrid:"):
        capabilities("fusion:captions:minilm+conse:lite0")


def test_names_are_read_as_a_fallback_unless_asked_for() -> None:
    assert with_name_words([], "pets/IMG_0042.jpg", "fallback") == ["pets"]
    assert with_name_words(["a ginger cat"], "pets/cat.jpg", "fallback") == ["a ginger cat"]
    assert with_name_words(["a ginger cat"], "pets/cat.jpg", "on") == ["a ginger cat", "cat, pets"]
    assert with_name_words(["Cat."], "cat.jpg", "on") == ["Cat."]  # repeats a text: left out
    assert with_name_words([], "pets/cat.jpg", "off") == []
    assert with_name_words([], "DCIM/IMG_0042.jpg", "on") == []


def test_query_score_is_the_weighted_sum_and_textless_items_keep_their_pixels(photos) -> None:
    enc = load_encoder("hybrid:conse:lite0,text=0.3")
    conse, captions = load_encoder(CONSE), load_encoder("captions:minilm")
    images = [photos["chelsea"], photos["coffee"]]
    items = enc.encode_items(images, [["a ginger cat"], []])
    assert np.allclose(np.linalg.norm(items, axis=1), 1, atol=1e-5)
    query = enc.encode_texts(["a cat on a sofa"])[0]
    q = captions.encode_texts(["a cat on a sofa"])[0]
    pix = conse.encode_images(images)
    txt = captions.encode_item_texts([["a ginger cat"]])[0]
    assert items[0] @ query == pytest.approx(0.3 * txt @ q + 0.7 * pix[0] @ q, abs=1e-4)
    # a text-less item scores a fixed share of its pixel cosine, not 0.7 of it
    share = (0.3 * STAND_IN + 0.7) / np.sqrt(0.3 * STAND_IN**2 + 0.7)
    assert items[1] @ query == pytest.approx(share * pix[1] @ q, abs=1e-4)
    assert share > 0.9
    # an image query is a text-less item
    assert np.allclose(enc.encode_images(images[1:]), items[1:], atol=1e-5)


@pytest.fixture(scope="module")
def hybrid_index(tmp_path_factory, photos) -> Path:
    """The bundled photos; the coffee photo's caption names who took it and where, and the
    rocket has neither a text nor a meaningful name (a camera counter)."""
    folder = write_photo_folder(tmp_path_factory.mktemp("hybrid") / "g", photos)
    rows = [json.loads(line) for line in (folder / "captions.jsonl").read_text().splitlines()]
    rows = [r for r in rows if r["file"] != "rocket.jpg"]
    next(r for r in rows if r["file"] == "coffee.jpg")["texts"].append(ARTIST)
    (folder / "captions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "rocket.jpg").rename(folder / "IMG_0042.jpg")
    out = folder.parent / "index"
    summary = build_index([folder], DEMO, out)
    assert summary.items == len(photos) and not summary.skipped
    return out


def _ranked(index_dir: Path, spec: str, text: str) -> list[str]:
    index = load_index(index_dir)
    scores = index.embeddings @ load_encoder(spec).encode_texts([text])[0]
    return [Path(index.items.at[int(i), "path"]).name for i in np.argsort(-scores)]


def test_a_photo_whose_text_matches_ranks_first(hybrid_index, conse_index_path) -> None:
    query = "a picture by Ingrid Svensson from Stockholm"
    assert _ranked(hybrid_index, DEMO, query)[0] == "coffee.jpg"
    assert _ranked(conse_index_path, "conse:lite0", query)[0] != "coffee.jpg"  # the text did it


def test_a_photo_without_text_is_found_by_its_pixels(hybrid_index) -> None:
    index = load_index(hybrid_index)
    rocket = index.items.index[index.items["path"].str.endswith("IMG_0042.jpg")][0]
    assert list(index.items.at[rocket, "texts"]) == []
    # above the astronaut, whose caption ("an astronaut in a spacesuit") half-matches
    assert _ranked(hybrid_index, DEMO, "a space rocket")[0] == "IMG_0042.jpg"
    assert _ranked(hybrid_index, DEMO, PHOTO_TEXTS["chelsea"])[0] == "chelsea.jpg"


def test_a_rebuild_re_embeds_only_the_item_whose_text_changed(hybrid_index) -> None:
    folder = hybrid_index.parent / "g"
    before = load_index(hybrid_index)
    rows = [json.loads(line) for line in (folder / "captions.jsonl").read_text().splitlines()]
    next(r for r in rows if r["file"] == "chelsea.jpg")["texts"] = ["a tabby cat asleep"]
    (folder / "captions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = build_index([folder], DEMO, hybrid_index)
    assert (summary.reused, summary.new) == (len(before.items) - 1, 1)
    after = load_index(hybrid_index)
    changed = [Path(p).name for p, a, b in zip(after.items["path"], after.embeddings,
                                               before.embeddings, strict=True)
               if not np.allclose(a, b, atol=1e-6)]
    assert changed == ["chelsea.jpg"]
