"""The explorer's pictures: tooltip thumbnails as data URLs and the map of thumbnails drawn at
their 2-D coordinates, read from the index's own thumbnails."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageColor, UnidentifiedImageError

from core.errors import UserError
from core.index.store import Index
from core.ingest.images import THUMB_SIZE, to_rgb

Box = tuple[int, int, int, int]  # (left, top, right, bottom) of one thumbnail on the canvas
MAX_MAP = 400  # thumbnails drawn on the map: more only overlap
CANVAS = 1400
BACKGROUND = "#f3f4f6"



def _centres(coords: np.ndarray, canvas: int, thumb: int) -> np.ndarray:
    """Map coords to pixel centres inside [thumb/2, canvas - thumb/2]; one scale keeps the shape."""
    half = thumb / 2.0
    span = canvas - thumb
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    extent = float(max(hi[0] - lo[0], hi[1] - lo[1]))
    if extent <= 0:
        return np.full(coords.shape, canvas / 2.0)
    scaled = (coords - lo) / extent * span  # in [0, span], the longer axis fills it
    scaled += (span - (hi - lo) / extent * span) / 2.0  # centre the shorter axis
    x = half + scaled[:, 0]
    y = canvas - half - scaled[:, 1]  # y axis up: larger y is higher, i.e. smaller row
    return np.stack([x, y], axis=1)


def thumbnail_map(
    coords: np.ndarray,
    thumbs: Sequence[Image.Image],
    canvas: int = 1600,
    thumb: int = 64,
    background: str | tuple[int, int, int] = "white",
) -> tuple[Image.Image, list[Box]]:
    """Draw each thumbnail at its 2-D point (y up), every one fully inside a square canvas;
    return the picture and where each thumbnail landed (for hit-testing and tests).

    Boxes are (left, top, right, bottom) with right/bottom exclusive, in input order; later
    thumbnails are drawn over earlier ones.
    """
    pts = np.asarray(coords, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise UserError(f"Map coordinates must have shape (n, 2), got {pts.shape}.")
    if pts.shape[0] != len(thumbs):
        raise UserError(f"Got {pts.shape[0]} coordinates but {len(thumbs)} thumbnails.")
    if not np.isfinite(pts).all():
        raise UserError("Map coordinates contain NaN or infinite values.")
    if thumb < 1 or canvas < thumb:
        raise UserError(f"Canvas ({canvas} px) must be at least one thumbnail ({thumb} px) wide.")
    try:
        bg = ImageColor.getrgb(background) if isinstance(background, str) else background
    except ValueError as exc:
        raise UserError(f"Unknown background colour {background!r}.") from exc
    out = Image.new("RGB", (canvas, canvas), tuple(bg[:3]))
    boxes: list[Box] = []
    centres = _centres(pts, canvas, thumb) if len(thumbs) else np.zeros((0, 2))
    for (cx, cy), img in zip(centres, thumbs, strict=True):
        small = to_rgb(img, (bg[0], bg[1], bg[2]))
        small.thumbnail((thumb, thumb))
        w, h = small.size
        left = min(max(int(round(cx - w / 2.0)), 0), canvas - w)
        top = min(max(int(round(cy - h / 2.0)), 0), canvas - h)
        out.paste(small, (left, top))
        boxes.append((left, top, left + w, top + h))
    return out, boxes


def display_sample(n: int, limit: int, seed: int = 0) -> np.ndarray:
    """Sorted positions of at most `limit` of n points: a chart stays light on a big collection,
    and the same points come back on every rerun."""
    if limit < 1:
        raise UserError(f"A chart needs room for at least one point, got {limit}.")
    if n <= limit:
        return np.arange(n, dtype=np.int64)
    picked = np.random.default_rng(seed).choice(n, size=limit, replace=False)
    return np.sort(picked).astype(np.int64)


def thumb_data_url(path: str | Path | None, size: int = 96, quality: int = 70) -> str:
    """A small JPEG of a thumbnail as a data URL ("" if unreadable): Vega-Lite tooltips draw a
    field named `image` as a picture, and a few KB per point keeps the chart light."""
    if path is None:
        return ""
    try:
        with Image.open(path) as img:
            small = to_rgb(img)
            small.thumbnail((size, size))
    except (OSError, UnidentifiedImageError, ValueError):
        return ""
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def tooltip_urls(index: Index, ids: Iterable[int]) -> list[str]:
    """A small JPEG data URL per image ("" for an unreadable thumbnail), for chart tooltips."""
    return [thumb_data_url(index.thumb_path(int(i))) for i in ids]


def load_thumbs(index: Index, ids: Iterable[int]) -> list[Image.Image]:
    """The index's thumbnails of these images, decoded to RGB (files closed at once)."""
    out = []
    for i in ids:
        path = index.thumb_path(int(i))
        if path is None:  # outside the index: a blank tile, never the file it points at
            out.append(Image.new("RGB", (THUMB_SIZE, THUMB_SIZE), BACKGROUND))
            continue
        with Image.open(path) as im:
            out.append(im.convert("RGB"))
    return out


def map_jpeg(index: Index, ids: np.ndarray, coords: np.ndarray, thumb: int,
             limit: int = MAX_MAP, canvas: int = CANVAS, quality: int = 85) -> bytes:
    """A JPEG of at most `limit` thumbnails (a fixed sample) at their coordinates."""
    keep = display_sample(len(ids), limit)
    picture, _ = thumbnail_map(np.asarray(coords)[keep],
                                    load_thumbs(index, np.asarray(ids)[keep]),
                                    canvas=canvas, thumb=thumb, background=BACKGROUND)
    buf = io.BytesIO()
    picture.save(buf, "JPEG", quality=quality)
    return buf.getvalue()
