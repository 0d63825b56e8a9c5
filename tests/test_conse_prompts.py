"""ConSE's class prompts and views: the spec options, and real rankings on bundled photos."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.encoders.conse import image_views
from core.encoders.conse_prompts import class_prompts, conse_options
from core.encoders.registry import canonical, load_encoder
from core.errors import UserError


def test_prompts_follow_the_class_order_and_carry_the_gloss() -> None:
    names, defs = class_prompts("name"), class_prompts("definition")
    lemmas = class_prompts("lemmas")
    assert len(names) == len(defs) == len(lemmas) == 1000
    assert names[281] == "a photo of a tabby"
    assert defs[281].startswith("a photo of a tabby, a cat with a grey or tawny coat")
    assert lemmas[990].startswith("a photo of a buckeye, horse chestnut, conker, ")
    with pytest.raises(ValueError, match="unknown ConSE prompt"):
        class_prompts("haiku")


def test_defaults_keep_the_old_canonical_spec() -> None:
    assert canonical("conse:lite0") == "conse:lite0,top=10,template=a photo of a {}"
    assert canonical("conse:lite0,prompt=name,view=pad") == canonical("conse:lite0")
    assert canonical("conse:lite0,view=multi,prompt=definition").endswith(
        ",prompt=definition,view=multi")
    assert conse_options({"top": "5"})["top"] == "5"
    assert canonical("conse:lite0,power=1.0") == canonical("conse:lite0")
    assert canonical("conse:lite0,power=0.50").endswith(",power=0.5")
    for bad, message in (({"prompt": "poem"}, "prompt must be"), ({"view": "zoom"}, "view must"),
                         ({"colour": "red"}, "unknown ConSE option"),
                         ({"power": "half"}, "power must be a number"),
                         ({"power": "0"}, "power must be above 0")):
        with pytest.raises(UserError, match=message):
            conse_options(bad)


def test_power_below_one_lets_the_runner_up_classes_count() -> None:
    """Weights p**power, renormalised: at 0.5 a 0.64 / 0.36 pair counts as 0.57 / 0.43."""
    from core.encoders.conse import conse_vectors

    class_vecs = np.eye(1000, 4, dtype=np.float32)  # classes 0-3 orthogonal, the rest zero
    logits = np.full((1, 1000), -50.0)
    logits[0, :2] = np.log([0.64, 0.36])
    plain = conse_vectors(logits, class_vecs, top=2)
    soft = conse_vectors(logits, class_vecs, top=2, power=0.5)
    np.testing.assert_allclose(plain[0, :2] / plain[0, :2].sum(), [0.64, 0.36], atol=1e-4)
    np.testing.assert_allclose(soft[0, :2] / soft[0, :2].sum(), [0.8 / 1.4, 0.6 / 1.4], atol=1e-4)
    assert load_encoder("conse:lite0,power=0.5").power == 0.5


def test_views_are_squares_of_the_photo() -> None:
    wide = Image.new("RGB", (300, 100), "white")
    assert [v.size for v in image_views(wide, "pad")] == [(300, 100)]
    assert [v.size for v in image_views(wide, "crop")] == [(100, 100)]
    assert [v.size for v in image_views(wide, "multi")] == [(300, 100)] + [(100, 100)] * 3


@pytest.mark.parametrize("spec", ["conse:lite0,prompt=definition",
                                  "conse:lite0,prompt=definition,view=multi",
                                  "conse:lite0,prompt=definition,view=multi,top=20,power=0.5"])
def test_the_definition_prompt_finds_the_ginger_cat(photos, spec: str) -> None:
    names = ["astronaut", "chelsea", "coffee", "rocket", "motorcycle", "china", "flower"]
    enc = load_encoder(spec)
    assert enc.spec == canonical(spec)
    img = enc.encode_images([photos[n].convert("RGB") for n in names])
    assert np.allclose(np.linalg.norm(img, axis=1), 1, atol=1e-5)
    queries = ["a ginger cat", "a cup of coffee", "a rocket launch", "a motorbike"]
    best = (enc.encode_texts(queries) @ img.T).argmax(axis=1)
    assert [names[i] for i in best] == ["chelsea", "coffee", "rocket", "motorcycle"]
