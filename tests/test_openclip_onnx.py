"""OpenCLIP on onnxruntime against open_clip on torch (random ViT-B-32: the same code path as a
pretrained tag, offline), and what a server without torch or the weights packages finds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_runtime import torch_side_after

from core.encoders import runtime
from core.encoders.openclip_onnx import ClipTokenizer, OnnxOpenClipEncoder, pixels
from core.encoders.registry import load_encoder
from core.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
ARCH = "ViT-B-32"
SPEC = f"openclip:{ARCH}@random"
TEXTS = ["a dog on a beach", "x", "ünïcödé café 東京", "A “Granny Smith” apple.",
         "it's 3 o'clock &amp; the CAT's hat", "a photo of a " * 40,  # truncated at 77 tokens
         "A red bicycle leaning against the wall of an old house in the rain", ""]


@pytest.fixture(scope="module")
def towers():
    """(ONNX encoder, torch encoder) of the same random model."""
    from core.encoders.openclip import OpenClipEncoder

    enc = load_encoder(SPEC)
    assert isinstance(enc, OnnxOpenClipEncoder)  # onnxruntime is in requirements
    return enc, OpenClipEncoder(ARCH)


def test_images_match_torch_within_1e4(photos, towers) -> None:
    enc, ref = towers
    images = [im.convert("RGB") for im in photos.values()]
    got, want = enc.encode_images(images), ref.encode_images(images)
    assert got.shape == (len(images), 512) and got.dtype == np.float32
    assert np.abs(got - want).max() < 1e-4
    session, cfg = enc._image
    raw = session.run(None, {"pixels": pixels(images[:2], cfg)})[0]  # the tower, unnormalised
    import torch

    with torch.inference_mode():
        ref_raw = ref.model.encode_image(torch.stack([ref.preprocess(im) for im in images[:2]]))
    assert np.abs(raw - ref_raw.numpy()).max() < 1e-4
    assert enc.encode_images([]).shape == (0, 512)


def test_texts_match_torch_cosine_09999(towers) -> None:
    enc, ref = towers
    got, want = enc.encode_texts(TEXTS), ref.encode_texts(TEXTS)
    assert got.shape == (len(TEXTS), 512)
    assert (np.sum(got * want, axis=1) >= 0.9999).all()
    assert not np.allclose(got[0], got[1], atol=1e-3)  # different texts, different vectors


def test_tokenizer_ids_are_open_clips(towers, photos) -> None:
    import open_clip

    enc, _ = towers
    _, ours = enc._text
    texts = [*TEXTS, "Ｆｕｌｌｗｉｄｔｈ ﬁ ligature", "tabs\tand\nnew lines  ",
             "<end_of_text> inside",
             "naïve résumé — “quotes” ‘single’", "12345 67.89%", "emoji 🐱‍👤 😀"]
    want = open_clip.get_tokenizer(ARCH)(texts).numpy()
    assert ours(texts).dtype == np.int64
    np.testing.assert_array_equal(ours(texts), want)
    assert isinstance(ours, ClipTokenizer) and ours.context_length == 77


def test_preprocess_is_open_clips_transform(photos, towers) -> None:
    _, ref = towers
    images = [im.convert("RGB") for im in photos.values()]
    images += [images[0].resize((333, 97)), images[1].resize((64, 301)), images[0].crop(
        (0, 0, 224, 224))]  # wide, tall, exactly the input size (no resample)
    cfg = dict(size=224, mean=(0.48145466, 0.4578275, 0.40821073),
               std=(0.26862954, 0.26130258, 0.27577711), interpolation="bicubic",
               resize_mode="shortest")
    want = np.stack([ref.preprocess(im).numpy() for im in images])
    np.testing.assert_allclose(pixels(images, cfg), want, atol=1e-6)


def test_openclip_queries_never_import_torch(towers) -> None:
    """A fresh process answers a text and an image from the files exported above."""
    assert torch_side_after([SPEC]) == (["OnnxOpenClipEncoder"], [])


def test_a_server_without_weights_finds_the_catalogued_export(monkeypatch, tmp_path,
                                                               towers) -> None:
    enc, _ = towers
    shipped = tmp_path / "onnx"
    shipped.mkdir()
    monkeypatch.setattr(runtime, "SHIPPED_DIR", shipped)
    monkeypatch.setenv("IMAGE_SEARCH_CACHE", str(tmp_path / "empty-cache"))
    name = "ViT-B-32@/elsewhere/ckpt.pt"  # a checkpoint only the build machine has
    with pytest.raises(UserError, match="ship models/onnx with the deployment"):
        runtime.ensure_onnx("openclip-text", name, None, weights_here=False)
    copy = shipped / "openclip-text-any-name.onnx"
    copy.symlink_to(enc._text_file)
    runtime.record(copy, "openclip-text", name)
    assert json.loads((shipped / "catalogue.json").read_text()) == {
        f"openclip-text:{name}": copy.name}
    assert runtime.ensure_onnx("openclip-text", name, None, weights_here=False) == copy
    (shipped / "catalogue.json").write_text("{not json")
    with pytest.raises(UserError, match="python -m core export-onnx"):
        runtime.ensure_onnx("openclip-text", name, None, weights_here=False)


def test_names_key_hub_tags_by_name_and_checkpoints_by_content(tmp_path) -> None:
    a, b = tmp_path / "a.pt", tmp_path / "b.pt"
    a.write_bytes(b"1" * 100)
    b.write_bytes(b"2" * 100)
    tag = runtime.onnx_name("openclip-text", "ViT-B-32@laion2b_s34b_b79k", None)
    assert tag == runtime.onnx_name("openclip-text", "ViT-B-32@laion2b_s34b_b79k", None)
    assert tag != runtime.onnx_name("openclip-image", "ViT-B-32@laion2b_s34b_b79k", None)
    assert runtime.onnx_name("k", "n", a) != runtime.onnx_name("k", "n", b)  # same name, new file


def test_unknown_architecture_fails_fast_without_an_export(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("IMAGE_SEARCH_CACHE", str(tmp_path))
    with pytest.raises(UserError, match="unknown OpenCLIP architecture 'ViT-Nope-99'"):
        load_encoder("openclip:ViT-Nope-99@random")
    assert not (tmp_path / "onnx").exists()


def test_one_tower_is_held_at_a_time_unless_both_are_asked_for(monkeypatch, photos,
                                                               towers) -> None:
    from core.encoders.openclip_onnx import TOWERS, TOWERS_ENV

    enc, _ = towers
    images = [im.convert("RGB") for im in list(photos.values())[:2]]
    monkeypatch.delenv(TOWERS_ENV, raising=False)
    first = enc.encode_texts(TEXTS[:2])
    assert list(enc._towers) == [TOWERS[0]]
    pics = enc.encode_images(images)
    assert list(enc._towers) == [TOWERS[1]]  # the text tower was let go
    np.testing.assert_array_equal(enc.encode_texts(TEXTS[:2]), first)  # reopened: same vectors
    monkeypatch.setenv(TOWERS_ENV, "both")
    np.testing.assert_array_equal(enc.encode_images(images), pics)
    assert sorted(enc._towers) == sorted(TOWERS)
