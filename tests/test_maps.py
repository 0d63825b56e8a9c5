"""Tooltip thumbnails and the thumbnail map, read from a real index's thumbnails."""

from __future__ import annotations

import base64
import io
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from core.analysis import maps
from core.analysis.clusters_view import fit_projection
from core.index.store import load_index

BG = np.array([243, 244, 246])  # maps.BACKGROUND, #f3f4f6


def _decode_url(url: str) -> Image.Image:
    assert url.startswith("data:image/jpeg;base64,")
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))


def test_tooltip_urls_are_small_jpegs_and_skip_unreadable(efficientnet_index_path: Path,
                                                          tmp_path: Path) -> None:
    copy = tmp_path / "index"
    shutil.copytree(efficientnet_index_path, copy)
    index = load_index(copy)
    urls = maps.tooltip_urls(index, [0, 1, 2])
    for url in urls:
        img = _decode_url(url)
        assert img.format == "JPEG" and max(img.size) == 96
    index.thumb_path(1).write_bytes(b"not a jpeg")
    again = maps.tooltip_urls(index, [0, 1, 2])
    assert again[1] == "" and again[0] == urls[0] and again[2] == urls[2]


def test_load_thumbs_reads_the_index_thumbnails(efficientnet_index_path: Path) -> None:
    index = load_index(efficientnet_index_path)
    thumbs = maps.load_thumbs(index, np.array([4, 2]))
    for img, i in zip(thumbs, (4, 2), strict=True):
        with Image.open(index.thumb_path(i)) as ref:
            assert img.mode == "RGB" and img.size == ref.size
            assert np.array_equal(np.asarray(img), np.asarray(ref.convert("RGB")))


def _covered(jpeg: bytes, canvas: int) -> np.ndarray:
    img = Image.open(io.BytesIO(jpeg))
    assert img.format == "JPEG" and img.size == (canvas, canvas)
    return np.abs(np.asarray(img.convert("RGB"), dtype=int) - BG).sum(axis=2) > 40


def test_map_jpeg_draws_a_sample_of_thumbnails(efficientnet_index_path: Path) -> None:
    index = load_index(efficientnet_index_path)
    ids = np.arange(index.n)
    coords, _ = fit_projection(index, None, tsne=False)
    one = _covered(maps.map_jpeg(index, ids, coords, thumb=40, limit=1, canvas=300), 300)
    rows, cols = np.flatnonzero(one.any(axis=1)), np.flatnonzero(one.any(axis=0))
    assert rows.size and rows[-1] - rows[0] < 44 and cols[-1] - cols[0] < 44  # one 40 px tile
    every = _covered(maps.map_jpeg(index, ids, coords, thumb=40, canvas=300), 300)
    assert every.sum() > 4 * one.sum()  # eight spread-out photos cover much more
    rows, cols = np.flatnonzero(every.any(axis=1)), np.flatnonzero(every.any(axis=0))
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) > 250  # the longer axis fills the map


def test_map_jpeg_is_the_same_on_every_call(efficientnet_index_path: Path) -> None:
    index = load_index(efficientnet_index_path)
    coords, _ = fit_projection(index, None, tsne=False)
    a = maps.map_jpeg(index, np.arange(index.n), coords, thumb=48, limit=5, canvas=200)
    b = maps.map_jpeg(index, np.arange(index.n), coords, thumb=48, limit=5, canvas=200)
    assert a == b
