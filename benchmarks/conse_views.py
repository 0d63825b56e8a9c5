"""Classifier outputs of every view of every gallery photo, per backbone, cached for the levers.

    python -m benchmarks.conse_views [--variants lite0,lite1,lite2] [--cache /tmp/imgonly]

Encoding 371 photos in 11 views with three backbones costs minutes on 2 cores, so
benchmarks/conse_levers.py reads the logits (and pooled features) from
`CACHE/gallery-VARIANT-views.npz` instead of recomputing them per lever. The views (VIEWS) are
what a ConSE image side might classify: the padded photo, squares along it, their mirror images,
a zoomed centre and the four quarter tiles (for small subjects).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from core.ingest.images import open_image
from core.ingest.sidecar import load_set
from core.paths import data_dir

GALLERY = data_dir() / "gallery"
CACHE = Path("/tmp/imgonly")
VIEWS = ("pad", "centre", "start", "end", "flip", "flip-centre", "zoom",
         "tile-tl", "tile-tr", "tile-bl", "tile-br")


def photo_views(img: Image.Image) -> list[Image.Image]:
    """The VIEWS of one photo, unresized (the backbone pads each to its square input)."""
    w, h = img.size
    s = min(w, h)
    cx, cy = (w - s) // 2, (h - s) // 2
    centre = img.crop((cx, cy, cx + s, cy + s))
    z = max(1, int(0.6 * s))
    zx, zy = (w - z) // 2, (h - z) // 2
    hw, hh = max(1, w // 2), max(1, h // 2)
    tiles = [img.crop((x, y, x + hw, y + hh)) for y in (0, h - hh) for x in (0, w - hw)]
    return [img, centre, img.crop((0, 0, s, s)), img.crop((w - s, h - s, w, h)),
            ImageOps.mirror(img), ImageOps.mirror(centre), img.crop((zx, zy, zx + z, zy + z)),
            *tiles]


def cache_path(variant: str, cache: Path = CACHE) -> Path:
    return cache / f"gallery-{variant}-views.npz"


def compute(paths: list[Path], variant: str) -> tuple[np.ndarray, np.ndarray]:
    """(n, views, 1000) logits and (n, views, 1280) pooled features."""
    from core.encoders.backbones import EFFICIENTNET_SIZES, efficientnet

    backbone = efficientnet(variant)
    size = EFFICIENTNET_SIZES[variant]
    logits = np.zeros((len(paths), len(VIEWS), 1000), np.float32)
    pooled = np.zeros((len(paths), len(VIEWS), 1280), np.float32)
    start = time.perf_counter()
    for i, p in enumerate(paths):
        views = photo_views(open_image(p, draft=2 * size)[0])
        pooled[i], logits[i] = backbone.forward(views)
        if (i + 1) % 50 == 0:
            print(f"  {variant}: {i + 1}/{len(paths)} ({time.perf_counter() - start:.0f} s)",
                  file=sys.stderr)
    return logits, pooled


def view_features(variant: str, cache: Path = CACHE) -> tuple[np.ndarray, np.ndarray]:
    """The cached (logits, pooled) of the gallery's views, computed on first use."""
    path = cache_path(variant, cache)
    if path.is_file():
        with np.load(path) as z:
            return z["logits"], z["pooled"]
    logits, pooled = compute(load_set(GALLERY).paths, variant)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, logits=logits, pooled=pooled)
    return logits, pooled


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--variants", default="lite0,lite1,lite2")
    ap.add_argument("--cache", type=Path, default=CACHE)
    args = ap.parse_args()
    for v in args.variants.split(","):
        logits, _ = view_features(v, args.cache)
        print(f"{v}: {logits.shape} in {cache_path(v, args.cache)}")


if __name__ == "__main__":
    main()
