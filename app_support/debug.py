"""`IMAGE_SEARCH_DEBUG_MODULES=FILE`: after every script run the server writes which modules it
has imported, so a check (scripts/cloud_check.sh) can prove a deployment never imports torch,
whatever the pages did. Off (nothing written, nothing imported) unless the variable is set."""

from __future__ import annotations

import json
import os
import sys

from core.atomic import write_text

DEBUG_MODULES_ENV = "IMAGE_SEARCH_DEBUG_MODULES"
HEAVY = ("torch", "torchvision", "open_clip", "sentence_transformers", "transformers")


def heavy_modules() -> list[str]:
    """The torch-side packages this process has imported (top-level names)."""
    return sorted({m.split(".")[0] for m in list(sys.modules)} & set(HEAVY))


def record_modules(page: str) -> None:
    """Write {pid, page, heavy, modules} to the file the variable names (atomically)."""
    target = os.environ.get(DEBUG_MODULES_ENV, "").strip()
    if not target:
        return
    modules = sorted(list(sys.modules))
    write_text(target, json.dumps({"pid": os.getpid(), "page": page, "heavy": heavy_modules(),
                                   "count": len(modules), "modules": modules}) + "\n")
