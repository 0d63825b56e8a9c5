"""JPEG tiles and previews of an index's images, for grids and detail views.

Callers pass the paths `Index.thumb_path` / `Index.original_path` vouch for; None (a file that
would lie outside the index or its roots) is shown like a missing file.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from core.ingest.images import ImageProblem, open_image, pad_to_square

TILE_FILL = (243, 244, 246)


def tile_jpeg(thumb: Path | None, size: int = 256,
              fill: tuple[int, int, int] = TILE_FILL, quality: int = 85) -> bytes:
    """A thumbnail padded to a square tile, so every cell of a grid has the same height (small
    and at a lower `quality` for the review report, which inlines hundreds of them)."""
    try:
        if thumb is None:
            raise ImageProblem("not inside the index")
        img, _ = open_image(thumb)
    except ImageProblem:
        img = Image.new("RGB", (size, size), fill)
    return image_tile(img, size, fill, quality)


def image_tile(img: Image.Image, size: int = 256, fill: tuple[int, int, int] = TILE_FILL,
               quality: int = 85) -> bytes:
    """Any decoded picture (e.g. an uploaded query image) as the same square tile."""
    img = img.copy()
    img.thumbnail((size, size))
    return jpeg_bytes(pad_to_square(img, fill), quality)


def preview_jpeg(original: Path | None, thumb: Path | None,
                 max_side: int = 1024) -> tuple[bytes, bool]:
    """The original, downscaled for the detail view; the thumbnail when it is gone or broken.

    Returns (jpeg bytes, whether the original was used).
    """
    try:
        if original is None:
            raise ImageProblem("not inside the index's roots")
        img, _ = open_image(original, max_side=max_side)
    except ImageProblem:
        return tile_jpeg(thumb), False
    return jpeg_bytes(img), True


def jpeg_bytes(img: Image.Image, quality: int = 85) -> bytes:
    """An image as JPEG bytes, for st.image (the page never serves files by path)."""
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()
