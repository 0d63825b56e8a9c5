"""Tests for core.encoders: every spec loads offline and embeds real photos and texts."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import unit_rows

from core.encoders.base import RANDOM_WEIGHTS_WARNING, hub_reachable
from core.encoders.registry import load_encoder, parse_spec, same_model
from core.errors import UserError

ARCH = "ViT-S-32-alt"  # the smallest OpenCLIP config here: ~1.3 s to build on CPU, 43 M params
RANDOM_CLIP = f"openclip:{ARCH}@random"
CONSE_OPTIONS = "conse:lite0,top=5,template=a picture of {}"
SPECS = {  # spec -> (dim, query modalities, item input)
    "efficientnet:lite0": (1280, {"image"}, "pixels"),
    "conse:lite0": (384, {"image", "text"}, "pixels"),
    CONSE_OPTIONS: (384, {"image", "text"}, "pixels"),
    "captions:minilm": (384, {"text"}, "texts"),
    RANDOM_CLIP: (256, {"image", "text"}, "pixels"),
}
TEXTS = ["a photo of a cat", "a cup of coffee", "a photo of a cat"]


@pytest.fixture(scope="module")
def two_photos(photos):
    return [photos["chelsea"], photos["coffee"]]


@pytest.mark.parametrize("spec", list(SPECS))
def test_spec_loads_offline_and_gives_unit_vectors(spec: str, two_photos) -> None:
    dim, modalities, item_input = SPECS[spec]
    enc = load_encoder(spec)
    assert enc.dim == dim and set(enc.query_modalities) == modalities
    assert enc.item_input == item_input
    assert load_encoder(spec) is enc  # one object per spec per process
    assert load_encoder(enc.spec).spec == enc.spec  # the canonical spec reloads the same model
    if item_input == "pixels":
        a, b = enc.encode_images(two_photos), enc.encode_images(two_photos)
        assert a.shape == (2, dim) and a.dtype == np.float32 and unit_rows(a)
        np.testing.assert_allclose(a, b, atol=1e-6)  # same input, same vector
        assert float(a[0] @ a[1]) < 0.999  # different photos, different vectors
        assert enc.encode_images([]).shape == (0, dim)
    else:
        with pytest.raises(UserError, match="cannot embed images"):
            enc.encode_images(two_photos)
        items = enc.encode_item_texts([["a ginger cat", "a cat on a sofa"], [], ["coffee"]])
        assert items.shape == (3, dim) and unit_rows(items[[0, 2]]) and not items[1].any()
        solo = enc.encode_texts(["coffee"])[0]
        np.testing.assert_allclose(items[2], solo, atol=1e-5)
    if "text" in modalities:
        t = enc.encode_texts(TEXTS)
        assert t.shape == (3, dim) and unit_rows(t)
        np.testing.assert_allclose(t[0], t[2], atol=1e-6)
        np.testing.assert_allclose(t, enc.encode_texts(TEXTS), atol=1e-6)
    else:
        with pytest.raises(UserError, match="cannot embed text"):
            enc.encode_texts(TEXTS)
    described = enc.describe()
    assert described["spec"] == enc.spec and described["dim"] == dim
    assert described["random_weights"] is (spec == RANDOM_CLIP)


def test_conse_options_change_the_model(two_photos) -> None:
    default, custom = load_encoder("conse:lite0"), load_encoder(CONSE_OPTIONS)
    assert default.spec == "conse:lite0,top=10,template=a photo of a {}"
    assert custom.spec == CONSE_OPTIONS and custom.top == 5
    a, b = default.encode_images(two_photos), custom.encode_images(two_photos)
    assert not np.allclose(a, b, atol=1e-3)
    assert float(np.sum(a * b, axis=1).min()) > 0.8  # same photos, same space
    assert same_model("conse:lite0", default.spec)
    assert not same_model("conse:lite0", CONSE_OPTIONS)
    top = default.top_classes(two_photos, n=5)
    assert any("cat" in name for name, _ in top[0])  # chelsea is a cat to the classifier
    probs = [p for _, p in top[1]]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
    # the five shown are the classifier's five most probable classes for that photo
    logits = default.backbone.forward([two_photos[1]])[1][0].astype(np.float64)
    soft = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(sorted(soft, reverse=True)[:5], probs, rtol=1e-3, atol=1e-5)


def test_openclip_random_is_flagged_and_reproducible(two_photos) -> None:
    from core.encoders.openclip import OpenClipEncoder

    assert load_encoder(RANDOM_CLIP).describe()["random_weights"] is True  # the ONNX encoder
    enc = OpenClipEncoder(ARCH)
    assert enc.random_weights and enc.describe()["random_weights"] is True
    fresh = OpenClipEncoder(ARCH)  # a second load (as in another process) is the same model
    assert fresh is not enc and fresh.spec == enc.spec == load_encoder(RANDOM_CLIP).spec
    np.testing.assert_allclose(fresh.encode_images(two_photos), enc.encode_images(two_photos),
                               atol=1e-6)
    np.testing.assert_allclose(fresh.encode_texts(TEXTS), enc.encode_texts(TEXTS), atol=1e-6)


def test_openclip_local_checkpoint_is_loaded(tmp_path: Path, two_photos, monkeypatch) -> None:
    """On torch (how the export reads it); the ONNX side of a checkpoint is checked below."""
    from core.encoders.openclip import OpenClipEncoder

    rand = OpenClipEncoder(ARCH)
    state = rand.model.state_dict()
    torch.save(state, tmp_path / "same.pt")
    monkeypatch.setenv("IMAGE_SEARCH_CACHE", str(tmp_path / "cache"))  # each run's own files
    onnx = load_encoder(f"openclip:{ARCH}@{tmp_path / 'same.pt'}")
    assert onnx.describe()["runtime"] == "onnx" and not onnx.random_weights
    assert (np.sum(onnx.encode_texts(TEXTS) * rand.encode_texts(TEXTS), axis=1) > 0.9999).all()
    monkeypatch.setenv("IMAGE_SEARCH_RUNTIME", "torch")
    same = OpenClipEncoder(ARCH, str(tmp_path / "same.pt"))
    assert not same.random_weights and same.spec == f"openclip:{ARCH}@{tmp_path / 'same.pt'}"
    np.testing.assert_allclose(same.encode_images(two_photos), rand.encode_images(two_photos),
                               atol=1e-6)  # equal weights, equal vectors
    np.testing.assert_allclose(same.encode_texts(TEXTS), rand.encode_texts(TEXTS), atol=1e-6)
    gen = torch.Generator().manual_seed(7)
    changed_keys = ("visual.proj", "text_projection")  # both projections: the file is really read
    other = {k: v + 0.05 * torch.randn(v.shape, generator=gen) if k in changed_keys else v
             for k, v in state.items()}
    torch.save(other, tmp_path / "other.pt")
    changed = OpenClipEncoder(ARCH, str(tmp_path / "other.pt"))
    a, b = changed.encode_images(two_photos), rand.encode_images(two_photos)
    assert unit_rows(a) and not np.allclose(a, b, atol=1e-3)
    t = changed.encode_texts(TEXTS)
    assert unit_rows(t) and not np.allclose(t, rand.encode_texts(TEXTS), atol=1e-3)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("openclip:ViT-Nope-99@random", "unknown OpenCLIP architecture 'ViT-Nope-99'"),
        (f"openclip:{ARCH}@/no/such/ckpt.pt", "checkpoint not found"),
        ("clip:ViT-B-32", "unknown model spec 'clip:ViT-B-32'"),
        ("conse", "unknown model spec"),
        ("efficientnet:lite9", "unknown EfficientNet variant 'lite9'"),
        ("efficientnet:lite0,top=3", "EfficientNet takes no options"),
        ("conse:lite0,top", "bad option 'top'"),
        ("conse:lite0,top=many", "ConSE top must be an integer"),
        ("conse:lite0,top=0", "between 1 and 1000"),
        ("conse:lite0,temp=x", "unknown ConSE option"),
        ("conse:lite0,template=a {kind} of", "may hold only one {}"),
    ],
)
def test_bad_specs_are_clear_user_errors(spec: str, message: str) -> None:
    with pytest.raises(UserError, match=message.replace("{", r"\{").replace("}", r"\}")):
        load_encoder(spec)


def test_garbage_checkpoint_is_a_user_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("IMAGE_SEARCH_RUNTIME", "torch")  # (auto: the export fails the same way)
    (tmp_path / "junk.pt").write_text("not a checkpoint\n")
    torch.save({"nothing": torch.zeros(2)}, tmp_path / "wrong.pt")
    for name in ("junk.pt", "wrong.pt"):
        with pytest.raises(UserError, match="cannot load OpenCLIP") as err:
            load_encoder(f"openclip:{ARCH}@{tmp_path / name}")
        assert "\n" not in str(err.value)


@pytest.mark.skipif(hub_reachable(timeout=2), reason="the hub is reachable: not offline")
def test_pretrained_tag_offline_fails_fast_naming_a_local_checkpoint() -> None:
    started = time.perf_counter()
    with pytest.raises(UserError) as err:
        load_encoder("openclip:ViT-B-32@laion2b_s34b_b79k")
    assert time.perf_counter() - started < 10
    assert "local checkpoint" in str(err.value) and "openclip:ViT-B-32@/" in str(err.value)


@pytest.mark.skipif(hub_reachable(timeout=2), reason="the hub is reachable: not offline")
def test_unknown_sentence_model_offline_fails_fast() -> None:
    started = time.perf_counter()
    with pytest.raises(UserError, match="local folder path"):
        load_encoder("captions:no-such-org/no-such-model")
    assert time.perf_counter() - started < 20


def test_parse_spec_grammar() -> None:
    s = parse_spec(" ConSE:lite0, top=3 ,template=a drawing of a {}")
    assert (s.family, s.argument) == ("conse", "lite0")
    assert s.options == {"top": "3", "template": "a drawing of a {}"}
    assert parse_spec("openclip:ViT-B-32@/a,b/c.pt").argument == "ViT-B-32@/a,b/c.pt"
    assert hash(parse_spec("conse:lite0,top=3")) == hash(parse_spec("conse:lite0, top=3"))


def test_random_weights_are_recorded_in_the_index(tmp_path: Path, photos,
                                                  efficientnet_index_path: Path) -> None:
    from core.index.build import build_index
    from core.index.info import describe_index
    from core.index.store import load_index

    folder = tmp_path / "imgs"
    folder.mkdir()
    for name in ("chelsea", "coffee", "rocket"):
        photos[name].convert("RGB").resize((64, 48)).save(folder / f"{name}.jpg")
    build_index([folder], RANDOM_CLIP, tmp_path / "clip")
    index = load_index(tmp_path / "clip")
    assert index.manifest["encoder"]["random_weights"] is True and index.random_weights
    assert index.dim == 256 and unit_rows(index.embeddings)
    assert f"warning: {RANDOM_WEIGHTS_WARNING}" in describe_index(index)
    real = load_index(efficientnet_index_path)
    assert real.manifest["encoder"]["random_weights"] is False and not real.random_weights
