"""Where derived, rebuildable files live (class-name embeddings, exported ONNX models)."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "IMAGE_SEARCH_CACHE"


def cache_dir() -> Path:
    """`$IMAGE_SEARCH_CACHE`, else ~/.cache/image-search; read at call time so tests can move it."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "image-search")
