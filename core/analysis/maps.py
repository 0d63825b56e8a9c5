"""The explorer's pictures: tooltip thumbnails as data URLs and the map of thumbnails drawn at
their 2-D coordinates, read from the index's own thumbnails."""

from __future__ import annotations

import io
from collections.abc import Iterable

import numpy as np
from PIL import Image

from core.analysis import explore
from core.index.store import Index

MAX_MAP = 400  # thumbnails drawn on the map: more only overlap
CANVAS = 1400
BACKGROUND = "#f3f4f6"


def tooltip_urls(index: Index, ids: Iterable[int]) -> list[str]:
    """A small JPEG data URL per image ("" for an unreadable thumbnail), for chart tooltips."""
    return [explore.thumb_data_url(index.thumb_path(int(i))) for i in ids]


def load_thumbs(index: Index, ids: Iterable[int]) -> list[Image.Image]:
    """The index's thumbnails of these images, decoded to RGB (files closed at once)."""
    out = []
    for i in ids:
        with Image.open(index.thumb_path(int(i))) as im:
            out.append(im.convert("RGB"))
    return out


def map_jpeg(index: Index, ids: np.ndarray, coords: np.ndarray, thumb: int,
             limit: int = MAX_MAP, canvas: int = CANVAS, quality: int = 85) -> bytes:
    """A JPEG of at most `limit` thumbnails (a fixed sample) at their coordinates."""
    keep = explore.display_sample(len(ids), limit)
    picture = explore.thumbnail_map(np.asarray(coords)[keep],
                                    load_thumbs(index, np.asarray(ids)[keep]),
                                    canvas=canvas, thumb=thumb, background=BACKGROUND)
    buf = io.BytesIO()
    picture.save(buf, "JPEG", quality=quality)
    return buf.getvalue()
