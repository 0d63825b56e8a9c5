"""An index never makes the app open a file outside itself or its roots (issue: data safety):
originals only under the manifest's roots, thumbnails only inside the index's thumbs folder."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from app_support import loaders
from core.index.store import load_index
from core.index.thumbs import preview_jpeg, tile_jpeg


@pytest.fixture
def copy(efficientnet_index_path: Path, tmp_path: Path) -> Path:
    out = tmp_path / "idx"
    shutil.copytree(efficientnet_index_path.resolve(), out)
    return out


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A real image outside every root: what a tampered index would like the app to show."""
    path = tmp_path / "outside" / "secret.jpg"
    path.parent.mkdir()
    Image.new("RGB", (300, 200), (255, 0, 0)).save(path)
    return path


def _set_path(index_dir: Path, i: int, value: str) -> None:
    items = pd.read_parquet(index_dir / "items.parquet")
    items.at[i, "path"] = value
    items.to_parquet(index_dir / "items.parquet", index=False)


def _red(jpeg: bytes) -> bool:
    arr = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB")).astype(int)
    return bool(arr[..., 0].mean() > 200 and arr[..., 1].mean() < 60)


def test_originals_open_only_under_the_roots(copy: Path, secret: Path) -> None:
    index = load_index(copy)
    root = Path(index.manifest["roots"][0]).resolve()
    first = index.original_path(0)
    assert first is not None and first.is_file() and first.is_relative_to(root)
    data, used = loaders.preview(index, 0)
    assert used and not _red(data)
    escapes = {1: str(secret), 2: str(root / ".." / "outside" / "secret.jpg"), 3: "relative.jpg"}
    link = root / "innocent.jpg"
    link.symlink_to(secret)
    try:
        escapes[4] = str(link)  # a link inside a root that points out of it
        for i, value in escapes.items():
            _set_path(copy, i, value)
        index = load_index(copy)
        for i in escapes:
            assert index.original_path(i) is None, escapes[i]
            data, used = loaders.preview(index, i)
            assert not used and not _red(data)  # the thumbnail, never the secret
            assert data == tile_jpeg(index.thumb_path(i))
    finally:
        link.unlink()


def test_a_root_given_as_a_link_counts_as_where_it_points(copy: Path, tmp_path: Path) -> None:
    index = load_index(copy)
    real = Path(index.manifest["roots"][0]).resolve()
    alias = tmp_path / "alias"
    alias.symlink_to(real)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["roots"] = [str(alias)]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    rel = index.items.at[0, "rel_path"]
    _set_path(copy, 0, str(alias / rel))
    index = load_index(copy)
    assert index.original_path(0) == (real / rel).resolve()
    assert index.original_path(1) is not None  # stored with the real path: also inside
    assert preview_jpeg(index.original_path(0), index.thumb_path(0))[1]


def test_a_thumbnail_linked_out_of_the_index_is_never_read(copy: Path, secret: Path) -> None:
    index = load_index(copy)
    thumb = index.thumb_path(0)
    assert thumb is not None and thumb.is_file()
    thumb.unlink()
    thumb.symlink_to(secret)
    index = load_index(copy)
    assert index.thumb_path(0) is None and index.thumb_path(1) is not None
    _set_path(copy, 0, "gone.jpg")
    index = load_index(copy)
    assert not _red(loaders.tile(index, 0))
    data, used = loaders.preview(index, 0)
    assert not used and not _red(data)
