"""The image-upload box shared by the pages that take a query image (neighbours, image to text)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from app_support import loaders, state
from core.ingest.images import ImageProblem

UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp", "avif", "heic", "heif", "gif", "bmp", "tif", "tiff"]
T = TypeVar("T")


def uploaded_query(container, key: str, prompt: str,
                   embed: Callable[[loaders.Upload], T]) -> tuple[bytes | None, T | None]:
    """(preview JPEG, embed(decoded upload)), or Nones until a usable file is there.

    The file is decoded once (bounded in bytes and size, `core.query.upload`); the preview and
    `embed` both use that one image.
    A file that is not an image, or a model that cannot take it, is shown as an error in
    `container`, never raised: the page goes on without results.
    """
    upload = container.file_uploader(f"Image file (up to {loaders.MAX_UPLOAD_MB} MB)",
                                     type=UPLOAD_TYPES, key=key,
                                     max_upload_size=loaders.MAX_UPLOAD_MB)
    if upload is None:
        container.info(prompt)
        return None, None
    try:
        decoded = loaders.upload(upload.getvalue())
        with state.user_errors(), st.spinner("Embedding your image…"):
            return decoded.preview, embed(decoded)
        return decoded.preview, None  # a model error, already shown by user_errors
    except ImageProblem as e:
        container.error(f"“{upload.name[:80]}” cannot be used: {e}.",
                        icon=":material/broken_image:")
        return None, None
