"""The trained head as an encoder: spec, both modalities, build and search through core."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from captioned_sets import feature_cache, tiny_set_dir, trained_model_dir
from conftest import unit_rows

from core.encoders.registry import load_encoder
from core.errors import UserError
from core.index.build import build_index
from core.index.store import load_index
from core.ingest.images import open_image
from core.ingest.sidecar import load_set
from core.learn.features import set_features
from core.query.search import Query, search


def test_encoder_from_spec() -> None:
    path = str(trained_model_dir())
    enc = load_encoder(f"twobranch:{path}")
    assert enc.spec == f"twobranch:{path}"
    assert enc.dim == 256 and enc.can_text and enc.can_image
    assert enc.describe()["image_features"] == "efficientnet:lite0"
    texts = enc.encode_texts(["a ginger cat", "a red motorcycle"])
    assert texts.shape == (2, 256) and unit_rows(texts)
    assert enc.encode_texts([]).shape == (0, 256)


def test_cached_features_give_the_same_vectors() -> None:
    enc = load_encoder(f"twobranch:{trained_model_dir()}")
    feats = set_features(load_set(tiny_set_dir()), cache_dir=feature_cache()).subset([0, 5])
    direct = enc.encode_images([open_image(p)[0] for p in feats.cset.paths])
    assert unit_rows(direct)
    assert np.allclose(direct, enc.project_images(feats.pooled), atol=1e-4)


def test_build_and_search_with_the_head(tmp_path) -> None:
    spec = f"twobranch:{trained_model_dir()}"
    images = tmp_path / "images"
    images.mkdir()
    for name in ("chelsea", "coffee", "rocket", "flower"):
        for v in (0, 4, 5):
            shutil.copy2(tiny_set_dir() / f"{name}_{v}.jpg", images)
    build_index([images], spec, tmp_path / "idx")
    index = load_index(tmp_path / "idx")
    assert index.spec == spec and index.dim == 256
    enc = load_encoder(spec)
    hits = search(enc, index, Query.text("a ginger cat"), k=3)
    assert all(index.items.at[h.id, "rel_path"].startswith("chelsea") for h in hits)
    like = search(enc, index, Query.image_id(hits[0].id), k=1)
    assert like[0].id != hits[0].id


def test_missing_model_is_a_user_error(tmp_path) -> None:
    with pytest.raises(UserError, match="no trained two-branch model"):
        load_encoder(f"twobranch:{tmp_path / 'nothing'}")
    with pytest.raises(UserError, match="model folder"):
        load_encoder("twobranch:")


def test_vectors_from_cached_features_only_for_matching_features() -> None:
    enc = load_encoder(f"twobranch:{trained_model_dir()}")
    feats = set_features(load_set(tiny_set_dir()), cache_dir=feature_cache()).subset([0, 5])
    got = enc.vectors_from_features("efficientnet:lite0", feats.pooled, feats.logits)
    assert got is not None and np.allclose(got, enc.project_images(feats.pooled), atol=1e-6)
    assert enc.vectors_from_features("efficientnet:lite1", feats.pooled, feats.logits) is None
    assert enc.text_vectors_from_features("other-model", feats.text_vecs) is None
    txt = enc.text_vectors_from_features("minilm", feats.text_vecs)
    assert txt is not None and np.allclose(txt, enc.project_texts(feats.text_vecs), atol=1e-6)
    conse = load_encoder("conse:lite0")
    assert conse.vectors_from_features("efficientnet:lite0", feats.pooled, feats.logits) \
        is not None
    assert conse.text_vectors_from_features("minilm", feats.text_vecs) is None  # embeds itself
    assert load_encoder("efficientnet:lite0").vectors_from_features(
        "efficientnet:lite0", feats.pooled, feats.logits) is None  # image-only: not evaluated
