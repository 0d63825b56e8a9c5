"""Folders of real photos for the benchmarks: the demo gallery when it exists, else photos made
from the scikit-image / scikit-learn bundle at camera sizes (the bundle itself is ~512 px)."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks._common import REPO, log
from core.atomic import replace_dir
from core.ingest.crawl import DEFAULT_EXTENSIONS
from core.ingest.sidecar import SIDECAR_NAME

GALLERY = REPO / "data" / "gallery"
WORK = REPO / "artifacts" / "bench"
# Mostly 1920x1080, plus portrait, 4:3 and a 12 MP phone photo now and then.
CAMERA_SIZES = [(1920, 1080)] * 7 + [(1080, 1920), (1600, 1200), (4032, 3024)]


def image_files(root: Path) -> list[Path]:
    exts = {"." + e for e in DEFAULT_EXTENSIONS}
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in exts and p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


def _camera_photo(src: Image.Image, size: tuple[int, int], rng: random.Random) -> Image.Image:
    """A random crop of `src` at the target aspect, resized to `size`, with sensor-like grain
    (so the JPEG carries as much detail, and costs as much to decode, as a real photo)."""
    w, h = src.size
    aspect = size[0] / size[1]
    scale = rng.uniform(0.55, 1.0)
    cw = min(w, int(scale * min(w, h * aspect)))
    ch = min(h, int(cw / aspect))
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    img = src.crop((x, y, x + cw, y + ch)).resize(size, Image.Resampling.BICUBIC)
    if rng.random() < 0.5:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    arr = np.asarray(img, np.float32)
    grain = np.random.default_rng(rng.randint(0, 2**31)).normal(0, 5, arr.shape)
    return Image.fromarray(np.clip(arr + grain, 0, 255).astype(np.uint8))


def synthetic_folder(count: int = 200, seed: int = 0) -> Path:
    """`count` camera-size JPEGs (quality 90) with a captions.jsonl; made once and reused."""
    folder = WORK / f"photos-{count}-{seed}"
    if (folder / SIDECAR_NAME).is_file():
        return folder
    log(f"writing {count} camera-size photos to {folder} (once)")
    with replace_dir(folder) as tmp:
        _write_photos(tmp, count, seed)
    return folder


def _write_photos(tmp: Path, count: int, seed: int) -> None:
    from tests.conftest import PHOTO_TEXTS, bundled_photos

    rng = random.Random(seed)
    photos = {n: im.convert("RGB") for n, im in bundled_photos().items()}
    names = sorted(photos)
    with (tmp / SIDECAR_NAME).open("w", encoding="utf-8") as fh:
        for i in range(count):
            name = names[i % len(names)]
            size = CAMERA_SIZES[rng.randrange(len(CAMERA_SIZES))]
            file = f"{i:04d}_{name}.jpg"
            _camera_photo(photos[name], size, rng).save(tmp / file, "JPEG", quality=90)
            fh.write(json.dumps({"file": file, "texts": [PHOTO_TEXTS[name]],
                                 "source": "scikit-image/scikit-learn (cropped, resized)",
                                 "licence": "BSD-3-Clause"}) + "\n")


def subset_folder(root: Path, limit: int) -> Path:
    """`limit` images spread evenly over `root` (symlinks) with their sidecar lines and NAME.txt
    files, so a benchmark can index part of a big gallery with every source represented."""
    files = image_files(root)
    if len(files) <= limit:
        return root
    folder = WORK / f"subset-{root.name}-{limit}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    chosen = set()
    for path in [files[i * len(files) // limit] for i in range(limit)]:
        rel = path.relative_to(root)
        chosen.add(rel.as_posix())
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).symlink_to(path)
        txt = path.with_suffix(".txt")
        if txt.is_file():
            (folder / rel).with_suffix(".txt").symlink_to(txt)
    sidecar = root / SIDECAR_NAME
    if sidecar.is_file():
        lines = [ln for ln in sidecar.read_text(encoding="utf-8").splitlines()
                 if ln.strip() and json.loads(ln).get("file") in chosen]
        (folder / SIDECAR_NAME).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def photo_folder(images: str, count: int) -> tuple[Path, str]:
    """(folder, description) for --images: "gallery" (data/gallery, else the camera photos),
    "camera" (the camera-size photos made from the bundle), or a folder."""
    if images not in ("gallery", "camera"):
        root = Path(images)
        return root, f"{root} ({len(image_files(root))} images)"
    if images == "gallery" and GALLERY.is_dir() and image_files(GALLERY):
        n = len(image_files(GALLERY))
        return GALLERY, f"demo gallery data/gallery ({n} real photos, long side <= 1600 px)"
    folder = synthetic_folder(count)
    return folder, (f"{count} JPEGs (q90) cut from the scikit-image/scikit-learn photos at camera "
                    "sizes (70% 1920x1080, 10% each 1080x1920, 1600x1200, 4032x3024), with grain")
