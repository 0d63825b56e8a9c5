"""Two-branch training on real frozen features of a tiny set made from the bundled photos."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from captioned_sets import feature_cache, tiny_set_dir, trained_model_dir
from PIL import Image

from core.cli import main
from core.errors import UserError
from core.ingest.sidecar import load_set
from core.learn.features import set_features
from core.learn.train import (
    CONFIG,
    CURVES,
    WEIGHTS,
    TrainConfig,
    load_model,
    ranking_loss,
    train,
    training_pairs,
)


@pytest.fixture(scope="module")
def feats():
    f = set_features(load_set(tiny_set_dir()), cache_dir=feature_cache())
    return f.split("train"), {"tiny": f.split("val")}


def test_ranking_loss_by_hand() -> None:
    img = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    txt = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.8, 0.6]])
    pos = torch.eye(3, dtype=torch.bool)
    # s[a, b] = txt_a . img_b; diagonal 1, 1, 0.96
    s = txt @ img.T
    m = 0.2
    text_terms = (m + s - s.diagonal()[:, None]).clamp_min(0) * ~pos
    image_terms = (m + s - s.diagonal()[None, :]).clamp_min(0) * ~pos
    top1 = text_terms.max(1).values.mean() + 1.5 * image_terms.max(0).values.mean()
    got = ranking_loss(img, txt, pos, m, top_k=1, image_anchor_weight=1.5)
    assert got.item() == pytest.approx(top1.item())
    all_k = text_terms.sum(1).mean() + 2.0 * image_terms.sum(0).mean()
    assert ranking_loss(img, txt, pos, m, 10, 2.0).item() == pytest.approx(all_k.item())


def test_positives_are_never_negatives() -> None:
    img = torch.tensor([[1.0, 0.0], [1.0, 0.0]])  # two copies: each other's positive
    txt = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    both = torch.ones(2, 2, dtype=torch.bool)
    assert ranking_loss(img, txt, both, 0.2, 10, 1.5).item() == 0.0
    assert ranking_loss(img, txt, torch.eye(2, dtype=torch.bool), 0.2, 10, 1.5).item() > 0


def test_batch_positive_mask_identical_and_multiple_captions(feats) -> None:
    train_part, _ = feats
    pairs = training_pairs([train_part])
    rows = np.arange(len(pairs.owner))
    mask = pairs.batch_positive(rows).numpy()
    texts = train_part.texts
    for a in rows:
        for b in rows:
            same_img = pairs.owner[a] == pairs.owner[b]
            img_has_text = any(t.lower().rstrip(".") == texts[a].lower().rstrip(".")
                               for t, o in zip(texts, pairs.owner, strict=True)
                               if o == pairs.owner[b])
            assert mask[a, b] == (same_img or img_has_text)
    # identical captions of different images are positives of each other
    cat = [j for j, t in enumerate(texts) if t == "a ginger cat"]
    assert len({int(pairs.owner[j]) for j in cat}) > 1 and mask[cat[0], cat[1]]


def test_training_is_deterministic_and_learns(feats) -> None:
    train_part, val = feats
    cfg = TrainConfig(hidden=256, dim=128, epochs=2, batch_size=16, seed=3)
    a, b = train([train_part], val, cfg), train([train_part], val, cfg)
    for key, value in a.net.state_dict().items():
        assert torch.equal(value, b.net.state_dict()[key]), key
    assert [h["train_loss"] for h in a.history] == [h["train_loss"] for h in b.history]
    other = train([train_part], val, TrainConfig(hidden=256, dim=128, epochs=1, batch_size=16,
                                                 seed=4))
    assert not torch.equal(other.net.image.net[0].weight, a.net.image.net[0].weight)
    assert a.history[-1]["train_loss"] < a.history[0]["train_loss"]
    best = a.history[a.best_epoch - 1]
    assert best["val_rsum"] == max(h["val_rsum"] for h in a.history)
    assert best["val_rsum"] > 300  # of 600; random is about 190 on 8 images


def test_early_stopping_and_no_validation(feats) -> None:
    train_part, val = feats
    result = train([train_part], val, TrainConfig(hidden=64, dim=32, epochs=30, patience=1,
                                                  batch_size=16))
    assert len(result.history) < 30
    assert len(result.history) == result.best_epoch + 1
    with pytest.raises(UserError, match="validation"):
        train([train_part], {}, TrainConfig(epochs=1))


def test_saved_model_folder() -> None:
    out = trained_model_dir()
    config = json.loads((out / CONFIG).read_text())
    assert config["image_features"] == "efficientnet:lite0"
    assert config["text_features"] == "minilm"
    assert (config["image_dim"], config["text_dim"]) == (1280, 384)
    hp = config["hyperparameters"]
    assert (hp["dim"], hp["margin"], hp["top_k"], hp["image_anchor_weight"], hp["lr"]) == (
        256, 0.2, 10, 1.5, 1e-3)
    assert [h["epoch"] for h in config["history"]] == [1, 2]
    assert config["sets"]["tiny"]["train_images"] == 24
    with Image.open(out / CURVES) as png:
        assert png.format == "PNG" and png.size[0] > png.size[1] > 100
    net, cfg = load_model(out)
    assert cfg["best_epoch"] in (1, 2) and not net.training
    x = np.random.default_rng(0).normal(size=(3, 1280)).astype(np.float32)
    assert np.allclose(np.linalg.norm(net.embed("image", x), axis=1), 1.0, atol=1e-5)


def test_load_model_errors(tmp_path) -> None:
    with pytest.raises(UserError, match="no trained two-branch model"):
        load_model(tmp_path)
    (tmp_path / CONFIG).write_text("{}")
    (tmp_path / WEIGHTS).write_bytes(b"not torch")
    with pytest.raises(UserError, match="unreadable"):
        load_model(tmp_path)


def test_train_command(tmp_path, capsys) -> None:
    out = tmp_path / "m"
    code = main(["train", "--sets", str(tiny_set_dir()), "--out", str(out), "--epochs", "1",
                 "--batch-size", "16", "--hidden", "64", "--dim", "32",
                 "--cache", str(feature_cache())])
    assert code == 0
    assert f"twobranch:{out}" in capsys.readouterr().out
    assert (out / WEIGHTS).is_file() and (out / CURVES).is_file()
    assert main(["train", "--sets", str(tmp_path), "--out", str(out)]) == 2


def test_numpy_head_matches_torch_and_converts_old_folders(tmp_path) -> None:
    import shutil

    from core.encoders.twobranch import open_head as load_head  # converts old folders
    from core.encoders.twobranch_head import WEIGHTS_NPZ, project

    out = tmp_path / "model"
    shutil.copytree(trained_model_dir(), out)
    assert (out / WEIGHTS_NPZ).is_file()  # written by save_model beside weights.pt
    net, _ = load_model(out)
    rng = np.random.default_rng(1)
    for branch, dim in (("image", 1280), ("text", 384)):
        x = rng.normal(size=(5, dim)).astype(np.float32)
        head, _ = load_head(out)
        assert np.abs(project(head, branch, x) - net.embed(branch, x)).max() < 1e-5
    (out / WEIGHTS_NPZ).unlink()  # a folder trained before the npz existed
    head, config = load_head(out)
    assert (out / WEIGHTS_NPZ).is_file() and config["text_features"] == "minilm"
    x = rng.normal(size=(2, 384)).astype(np.float32)
    assert np.abs(project(head, "text", x) - net.embed("text", x)).max() < 1e-5
    (out / WEIGHTS_NPZ).write_bytes(b"not an npz")
    (out / WEIGHTS_NPZ).touch()
    with pytest.raises(UserError, match="unreadable"):
        load_head(out)
