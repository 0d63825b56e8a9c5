"""Tests for core.encoders.lite3: EfficientNet-Lite3 int8 (TFLite) as an ordinary backbone."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import unit_rows
from PIL import ImageOps

from core.encoders import lite3
from core.encoders.conse import softmax
from core.encoders.registry import canonical, list_models, load_encoder

pytestmark = pytest.mark.skipif(not lite3.available(),
                                reason="build-time packages: " + " ".join(lite3.PACKAGES))
SPEC = "conse:lite3,prompt=definition,view=multi,top=20,power=0.5"


@pytest.fixture(scope="module")
def cat_and_coffee(photos):
    return [photos["chelsea"], photos["coffee"]]


def test_lite3_is_listed_and_its_spec_is_canonical() -> None:
    rows = {r.spec: r for r in list_models()}
    assert rows["conse:lite3"].available and "tflite" in rows["conse:lite3"].note.lower()
    assert rows["efficientnet:lite3"].input_size == 280
    assert canonical(SPEC) == ("conse:lite3,top=20,template=a photo of a {},prompt=definition,"
                               "view=multi,power=0.5")


def test_lite3_classifies_real_photos_from_its_logits(cat_and_coffee) -> None:
    enc = load_encoder(SPEC)
    assert enc.backbone.runtime == "tflite" and enc.backbone.size == 280
    top = enc.top_classes(cat_and_coffee, n=3)
    assert any("cat" in name for name, _ in top[0])  # chelsea is a tabby
    assert any(w in name for name, _ in top[1] for w in ("cup", "espresso"))
    # the pre-softmax tensor keeps runner-up classes the uint8 softmax would round to zero
    probs = softmax(enc.backbone.forward(cat_and_coffee)[1])
    twentieth = np.sort(probs, axis=1)[:, -20]
    assert (twentieth > 0).all() and (twentieth < 1 / 256).any()


def test_conse_lite3_matches_queries_to_the_right_photo(cat_and_coffee) -> None:
    enc = load_encoder(SPEC)
    images = enc.encode_images(cat_and_coffee)
    assert images.shape == (2, 384) and unit_rows(images)
    sims = enc.encode_texts(["a ginger cat", "a cup of coffee"]) @ images.T
    assert sims[0, 0] > sims[0, 1] and sims[1, 1] > sims[1, 0]
    np.testing.assert_allclose(images, enc.encode_images(cat_and_coffee), atol=1e-6)


def test_lite3_features_find_the_mirrored_photo(cat_and_coffee) -> None:
    enc = load_encoder("efficientnet:lite3")
    cat, coffee = cat_and_coffee
    vecs = enc.encode_images([cat, ImageOps.mirror(cat), coffee])
    assert vecs.shape == (3, 1280) and unit_rows(vecs)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2] + 0.1
