"""Late fusion: the fused cosine is the weighted sum of the parts' cosines, in one vector."""

from __future__ import annotations

import numpy as np
import pytest

from core.encoders.fusion import parse_parts
from core.encoders.registry import load_encoder
from core.errors import UserError

PARTS = "0.25*efficientnet:lite0+0.75*conse:lite0"


def test_fused_cosine_is_the_weighted_sum_of_part_cosines(photos) -> None:
    images = [photos["chelsea"], photos["coffee"], photos["rocket"]]
    fused = load_encoder(f"fusion:{PARTS}")
    vecs = fused.encode_images(images)
    assert vecs.shape == (3, 1280 + 384)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    eff = load_encoder("efficientnet:lite0").encode_images(images)
    con = load_encoder("conse:lite0").encode_images(images)
    expected = 0.25 * (eff @ eff.T) + 0.75 * (con @ con.T)
    assert np.allclose(vecs @ vecs.T, expected, atol=1e-4)
    # efficientnet cannot take text, so neither can the fusion
    assert fused.query_modalities == frozenset({"image"})


def test_fusion_of_text_models_answers_text(photos) -> None:
    fused = load_encoder("fusion:conse:lite0+conse:lite0,top=5")
    assert fused.can_text
    names = list(photos)
    sims = fused.encode_images(list(photos.values())) @ fused.encode_texts(["a photo of a cat"])[0]
    assert names[int(np.argmax(sims))] == "chelsea"


@pytest.mark.parametrize("bad", ["conse:lite0", "0*conse:lite0+conse:lite0",
                                 "x*conse:lite0+conse:lite0", "conse:lite0+"])
def test_bad_fusion_specs_are_user_errors(bad: str) -> None:
    with pytest.raises(UserError):
        parse_parts(bad)


def test_parts_sharing_a_backbone_run_it_once_per_batch(photos, monkeypatch) -> None:
    from core.encoders.backbones import efficientnet

    backbone = efficientnet("lite0")
    calls = []
    run = backbone.run
    monkeypatch.setattr(backbone, "run", lambda x: calls.append(len(x)) or run(x))
    fused = load_encoder(f"fusion:{PARTS}")
    first = [im.convert("RGB") for im in photos.values()]
    images = first + [im.copy() for im in first]  # 16 distinct images: two batches of 8
    vecs = fused.encode_images(images)
    assert calls == [8, 8]  # not four: the ConSE part reuses the EfficientNet part's pass
    assert np.allclose(vecs[:8], vecs[8:], atol=1e-5)


def test_fusion_is_built_from_given_encoders(photos) -> None:
    """The registry hands the parts over; FusionEncoder itself loads nothing by spec."""
    from core.encoders.fusion import FusionEncoder

    eff, con = load_encoder("efficientnet:lite0"), load_encoder("conse:lite0")
    fused = FusionEncoder([(eff, 1.0), (con, 3.0)])
    assert fused.encoders == [eff, con] and fused.weights == [0.25, 0.75]
    assert fused.spec == load_encoder(f"fusion:{PARTS}").spec
    images = [photos["chelsea"], photos["coffee"]]
    np.testing.assert_allclose(fused.encode_images(images),
                               load_encoder(f"fusion:{PARTS}").encode_images(images), atol=1e-6)
    with pytest.raises(UserError, match="pixels"):
        FusionEncoder([(eff, 1.0), (load_encoder("captions:minilm"), 1.0)])
