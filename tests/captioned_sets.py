"""Tiny captioned sets in the real set-folder format, made from the bundled photos.

Each photo gives several real variants (crops, flips, colour shifts), all captioned with the
photo's text, so identical captions mean several relevant images; some rows carry a second
caption, so some images have several relevant texts. Splits are fixed per variant.
"""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import tempfile
from pathlib import Path

from conftest import PHOTO_TEXTS, bundled_photos
from PIL import Image, ImageEnhance, ImageOps

SPLITS = ("train", "train", "train", "val", "test", "test")


def _variant(img: Image.Image, v: int) -> Image.Image:
    img = img.convert("RGB")
    img.thumbnail((320, 320))
    w, h = img.size
    if v == 1:
        img = ImageOps.mirror(img)
    elif v == 2:
        img = img.crop((w // 8, h // 8, w - w // 8, h - h // 8))
    elif v == 3:
        img = ImageEnhance.Color(img).enhance(0.4)
    elif v == 4:
        img = ImageOps.mirror(img.crop((0, 0, w - w // 5, h)))
    elif v == 5:
        img = ImageEnhance.Brightness(img.rotate(8, expand=False)).enhance(1.2)
    return img


def make_captioned_set(folder: Path, variants: int = 6, names: list[str] | None = None) -> Path:
    """Write `folder/<photo>_<v>.jpg` and `captions.jsonl`; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    photos = bundled_photos()
    rows = []
    for name in names or list(PHOTO_TEXTS):
        for v in range(variants):
            rel = f"{name}_{v}.jpg"
            _variant(photos[name], v).save(folder / rel, quality=88)
            texts = [PHOTO_TEXTS[name]]
            if v % 3 == 1:
                texts.append(f"a picture of {name}")
            rows.append({"file": rel, "texts": texts, "split": SPLITS[v % len(SPLITS)],
                         "source": "scikit-image/scikit-learn", "licence": "BSD-3-Clause"})
    with (folder / "captions.jsonl").open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
    return folder


@functools.cache
def _workdir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="captioned-sets-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


@functools.cache
def tiny_set_dir() -> Path:
    """One 48-image set (train 24 / val 8 / test 16) per test process, shared by modules."""
    return make_captioned_set(_workdir() / "tiny")


def feature_cache() -> Path:
    return _workdir() / "features"


@functools.cache
def trained_model_dir() -> Path:
    """A two-branch head trained for 2 epochs on the tiny set (about a second)."""
    from core.cli.train import train_from_sets
    from core.learn.train import TrainConfig

    out = _workdir() / "models" / "twobranch"
    config = TrainConfig(hidden=512, dim=256, epochs=2, batch_size=16)
    train_from_sets([str(tiny_set_dir())], str(out), config,
                    cache_dir=str(feature_cache()), log=lambda _msg: None)
    return out


@functools.cache
def tiny_report() -> dict:
    """The evaluation report of ConSE and the tiny two-branch head on the tiny set's test split."""
    from core.cli.evaluate import run_evaluation

    specs = ["conse:lite0", f"twobranch:{trained_model_dir()}"]
    return run_evaluation([str(tiny_set_dir())], specs, resamples=200,
                          cache_dir=str(feature_cache()), log=lambda _m: None)
