"""A small real gallery for filters and exports: the bundled photos in nested folders, with EXIF
dates on some, a portrait crop, a square photo, one photo without text and a resized copy of the
cat (a near-duplicate); built into a ConSE index by `build_gallery_index`."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from core.index.store import Index, load_index

# rel_path -> (photo, crop box or None, EXIF date or None, texts, source)
LAYOUT = {
    "animals/chelsea.jpg": ("chelsea", None, "2020:05:01 10:00:00", ["a ginger cat"], "cats"),
    "animals/cat_small.jpg": ("chelsea", "half", None, ["a small ginger cat"], "cats"),
    "animals/cat_tall.jpg": ("chelsea", (100, 0, 300, 300), "2023:01:10 08:30:00",
                             ["a ginger cat, close up"], "cats"),
    "objects/coffee.jpg": ("coffee", None, None, ["a cup of coffee on a saucer"], "kitchen"),
    "objects/motorcycle.jpg": ("motorcycle", None, "2021:11:30 17:45:12", ["a red motorcycle"],
                               "street"),
    "space/astronaut.jpg": ("astronaut", None, "2019:07:20 20:17:00",
                            ["an astronaut in a spacesuit"], "nasa"),
    "space/rocket.jpg": ("rocket", None, None, [], "nasa"),
    "space/deep/hubble.jpg": ("hubble", None, None, ["a deep field of galaxies"], "nasa"),
}


def exif_with(stamp: str | None) -> Image.Exif:
    exif = Image.Exif()
    if stamp:
        exif.get_ifd(0x8769)[0x9003] = stamp
    return exif


def make_gallery(root: Path, photos: dict[str, Image.Image]) -> Path:
    with_text = []
    for rel, (name, crop, stamp, texts, source) in LAYOUT.items():
        img = photos[name].convert("RGB")
        if crop == "half":
            img = img.resize((img.width // 2, img.height // 2))
        elif crop:
            img = img.crop(crop)
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        img.save(root / rel, quality=90, exif=exif_with(stamp))
        with_text.append({"file": rel, "texts": texts, "source": source})
    (root / "captions.jsonl").write_text("\n".join(json.dumps(r) for r in with_text) + "\n")
    return root


def build_gallery_index(gallery: Path, out: Path) -> Index:
    from core.index.build import build_index

    build_index([gallery], "conse:lite0", out, trees=4)
    return load_index(out)


def ids_of(index: Index, *rels: str) -> list[int]:
    where = {r: i for i, r in enumerate(index.items["rel_path"])}
    return [where[r] for r in rels]
