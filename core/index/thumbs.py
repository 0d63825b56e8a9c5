"""JPEG tiles and previews of an index's images, for grids and detail views."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from core.ingest.images import ImageProblem, open_image, pad_to_square

TILE_FILL = (243, 244, 246)


def tile_jpeg(thumb: Path, size: int = 256, fill: tuple[int, int, int] = TILE_FILL) -> bytes:
    """A thumbnail padded to a square tile, so every cell of a grid has the same height."""
    try:
        img, _ = open_image(thumb)
    except ImageProblem:
        img = Image.new("RGB", (size, size), fill)
    img.thumbnail((size, size))
    return _jpeg(pad_to_square(img, fill))


def preview_jpeg(original: Path, thumb: Path, max_side: int = 1024) -> tuple[bytes, bool]:
    """The original, downscaled for the detail view; the thumbnail when it is gone or broken.

    Returns (jpeg bytes, whether the original was used).
    """
    try:
        img, _ = open_image(original, draft=max_side)
    except ImageProblem:
        return tile_jpeg(thumb), False
    img.thumbnail((max_side, max_side))
    return _jpeg(img), True


def upload_preview_jpeg(data: bytes, max_pixels: int, max_side: int = 512) -> bytes:
    """A small JPEG of an uploaded file, so the page never echoes the raw upload back."""
    img, _ = open_image(data, max_pixels=max_pixels)
    img.thumbnail((max_side, max_side))
    return _jpeg(img)


def _jpeg(img: Image.Image, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()
