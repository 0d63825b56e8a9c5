"""Captioned-set loading, cached frozen features and retrieval ground truth."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from captioned_sets import feature_cache, tiny_set_dir

from core.errors import UserError
from core.ingest.sidecar import build_queries, caption_key, load_set
from core.learn.features import cached_image_features, set_features


def test_load_set_reports_unusable_rows(tmp_path) -> None:
    root = tmp_path / "s"
    shutil.copytree(tiny_set_dir(), root)
    with (root / "captions.jsonl").open("a") as fh:
        fh.write(json.dumps({"file": "gone.jpg", "texts": ["x"], "split": "train"}) + "\n")
        fh.write(json.dumps({"file": "chelsea_0.jpg", "texts": [" "], "split": "train"}) + "\n")
    cset = load_set(root)
    assert len(cset) == 47 and cset.name == "s"
    assert sorted(cset.problems) == ["chelsea_0.jpg: no text", "gone.jpg: file not found"]
    assert cset.split_counts() == {"test": 16, "train": 23, "val": 8}
    with pytest.raises(UserError, match="captions.jsonl"):
        load_set(tmp_path)


def test_features_are_cached_by_file_list(tmp_path) -> None:
    root = tmp_path / "few"
    root.mkdir()
    for name in ("chelsea_0.jpg", "coffee_0.jpg", "rocket_0.jpg"):
        shutil.copy2(tiny_set_dir() / name, root / name)
    (root / "captions.jsonl").write_text("".join(
        json.dumps({"file": n, "texts": [n]}) + "\n" for n in sorted(os.listdir(root))))
    cset = load_set(root)
    cache = tmp_path / "cache"
    pooled, logits, ok = cached_image_features(cset.paths, name="t", cache_dir=cache)
    assert pooled.shape == (3, 1280) and logits.shape == (3, 1000) and ok.all()
    files = list(cache.glob("t-img-*.npz"))
    assert len(files) == 1
    again = cached_image_features(cset.paths, name="t", cache_dir=cache)
    assert np.array_equal(again[0], pooled)
    st = os.stat(cset.paths[0])
    os.utime(cset.paths[0], ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a changed file
    cached_image_features(cset.paths, name="t", cache_dir=cache)
    assert len(list(cache.glob("t-img-*.npz"))) == 2


def test_set_features_split_keeps_texts_with_their_images() -> None:
    feats = set_features(load_set(tiny_set_dir()), cache_dir=feature_cache())
    assert feats.pooled.shape == (48, 1280) and feats.text_vecs.shape == (len(feats.texts), 384)
    test = feats.split("test")
    assert len(test.cset) == 16 and set(test.cset.splits) == {"test"}
    for text, owner in zip(test.texts, test.text_owner, strict=True):
        assert text in test.cset.texts[owner]
    i = test.cset.files.index("chelsea_4.jpg")
    j = feats.cset.files.index("chelsea_4.jpg")
    assert np.array_equal(test.pooled[i], feats.pooled[j])


def test_queries_merge_identical_captions() -> None:
    assert caption_key("A  Koala.") == caption_key("a koala")
    texts = ["A koala.", "a koala", "a tree", "grey bear", "A tree"]
    owner = np.array([0, 1, 1, 2, 2])
    q = build_queries(texts, owner, 3)
    assert q.texts == ["A koala.", "a tree", "grey bear"]
    assert [r.tolist() for r in q.images_of_text] == [[0, 1], [1, 2], [2]]
    assert [r.tolist() for r in q.texts_of_image] == [[0], [0, 1], [1, 2]]
    assert q.first.tolist() == [0, 2, 3]
    with pytest.raises(UserError):
        build_queries(["a"], np.array([0]), 2)
