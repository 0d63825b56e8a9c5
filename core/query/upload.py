"""A visitor's uploaded file, decoded once into a small RGB image for the preview and the query.

An upload is bounded before any pixel is decoded: file size, pixel count, and decoded bytes (a
PNG of a few KB can hold 40 MP of 16-bit pixels). Big JPEGs decode reduced (`draft`), everything
else shrinks right after loading, so one upload adds at most ~200 MB to the server however it is
made (measured by `python -m benchmarks.uploads`). Streamlit Community Cloud gives 690 MB-2.7 GB.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from PIL import Image

from core.index.thumbs import jpeg_bytes
from core.ingest.images import ImageProblem, open_image

MAX_UPLOAD_MB = 20
MAX_UPLOAD_PIXELS = 40_000_000
MAX_DECODED_MB = 96  # decoded pixels; RGBA shrinking needs twice that for a moment
UPLOAD_SIDE = 1024  # every encoder takes 224-384 px; the preview shows 512
PREVIEW_SIDE = 512


@dataclass(frozen=True)
class Upload:
    """One decoded upload: `digest` keys every cache of what is computed from it."""

    digest: str
    image: Image.Image  # RGB, at most UPLOAD_SIDE on its long side
    preview: bytes  # a small JPEG, so the page never echoes the raw upload back
    size: tuple[int, int]  # the original (width, height), as displayed


def decode_upload(data: bytes, max_side: int = UPLOAD_SIDE) -> Upload:
    """Check and decode uploaded bytes once; raises ImageProblem with the reason a visitor sees."""
    if len(data) > MAX_UPLOAD_MB * 1024 * 1024:
        raise ImageProblem(f"the file is larger than {MAX_UPLOAD_MB} MB")
    img, size = open_image(data, max_pixels=MAX_UPLOAD_PIXELS,
                           max_decoded_bytes=MAX_DECODED_MB * 1_000_000, max_side=max_side)
    preview = img.copy()
    preview.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    return Upload(hashlib.sha1(data).hexdigest(), img, jpeg_bytes(preview), size)
