"""GCompris photos, read out of the Qt resource files of Debian's gcompris-qt-data.

GCompris also holds clipart, icons and puzzle pieces; only the folders below hold photographs
(checked by eye on 3.1-2), and within them only RGB images at least 160 px on the long side
are kept (cut-outs with alpha and thumbnails are left out). Texts come from the activity
boards (title + paragraph), else from the file name plus the folder's category. Licences come
from the per-folder README files (Copyright/Source/License/Files stanzas).
"""

from __future__ import annotations

import fnmatch
import io
import re
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path, PurePosixPath

from PIL import Image

from core.demo.fetch import Package, fetch
from core.demo.meta import Record, credit, file_licences, licence_for, unique_texts, words
from core.demo.rcc import read_rcc

PACKAGE = Package("deb", "gcompris-qt-data",
                  include=("usr/share/gcompris-qt/rcc/*.rcc", "usr/share/doc/*/copyright"))
ACT = "gcompris/src/activities/"
PHOTO_FOLDERS = {  # folder glob under ACT → category words
    "categorization/resource/images/fishes": "fish",
    "categorization/resource/images/monuments": "monument",
    "categorization/resource/images/others": "everyday object",
    "categorization/resource/images/renewable": "renewable energy",
    "categorization/resource/images/tools": "tool",
    "erase/resource": "animal",
    "explore_farm_animals/resource/animals": "farm animal",
    "explore_monuments/resource/*": "monument",
    "explore_world_animals/resource/animals": "wild animal",
    "explore_world_music/resource/music": "music of the world",
}
MIN_SIDE = 160
TWIN_BITS = 8  # of 256 hash bits: same photo (different crops/sizes differ by 10+)
BLOCK = re.compile(r"\{[^{}]*\}", re.S)
FIELD = re.compile(r'"(\w+)"\s*:\s*(?:qsTr\(\s*)?"((?:[^"\\]|\\.)*)"')


def gcompris_photos(downloads: Path, log: Callable[[str], None] = print) -> Iterator[Record]:
    """Photographs from the GCompris activities, with board texts and per-file credits."""
    got = fetch(PACKAGE, downloads, log)
    images: dict[str, bytes] = {}
    readmes: dict[str, str] = {}
    boards: dict[str, dict[str, str]] = {}
    for rcc in sorted(got.root.glob("usr/share/gcompris-qt/rcc/*.rcc")):
        for path, blob in read_rcc(rcc):
            if path.endswith(".webp") and _category(path):
                images[path] = blob
            elif PurePosixPath(path).name == "README":
                readmes[str(PurePosixPath(path).parent)] = blob.decode("utf-8", "replace")
            elif path.endswith((".qml", ".js", ".json")) and path.startswith(ACT + "explore_"):
                boards.update(_board_texts(blob.decode("utf-8", "replace")))
    tables = {folder: file_licences(text) for folder, text in readmes.items()}
    skipped, twins, seen = 0, 0, []
    # explore_* first: where the same photo is also in categorization, keep the copy with texts
    for path, blob in sorted(images.items(), key=lambda kv: (ACT + "explore_" not in kv[0], kv)):
        with Image.open(io.BytesIO(blob)) as im:
            if im.mode != "RGB" or max(im.size) < MIN_SIDE:
                skipped += 1
                continue
            fingerprint = _average_hash(im)
        if any(bin(fingerprint ^ other).count("1") <= TWIN_BITS for other in seen):
            twins += 1
            continue
        seen.append(fingerprint)
        lic = _licence(path, tables)
        category = _category(path) or ""
        board = boards.get(path, {})
        name = words(PurePosixPath(path).name)
        texts = unique_texts(board.get("title"), board.get("text"), name)
        if category == "fish" and lic and "File:" in lic.source:  # species from the source title
            texts.append("fish: " + words(lic.source.rsplit("File:", 1)[1]).split(" jpg")[0])
        if category and category not in " ".join(texts).lower():
            texts.append(f"{name} ({category})" if name else category)
        rel = path[len(ACT):]
        yield Record(
            f"gcompris:{path}", "gcompris/" + rel.rsplit(".", 1)[0].replace("/resource", ""),
            partial(open_bytes, blob), texts, got.source,
            lic.licence if lic else "GPL-3.0-or-later (GCompris, no per-file README)",
            credit(lic), category=category,
            extra={"activity": rel.split("/", 1)[0]})
    log(f"  gcompris: {len(seen)} photos kept, {skipped} cut-outs/small and {twins} "
        "near-duplicates left out")


def _average_hash(image: Image.Image) -> int:
    """256-bit average hash of a 16x16 grey thumbnail, enough to spot the same photo at
    two sizes (the activities reuse a few monument photos)."""
    grey = image.convert("L").resize((16, 16), Image.Resampling.BILINEAR)
    pixels = list(grey.getdata())
    mean = sum(pixels) / len(pixels)
    return sum(1 << i for i, v in enumerate(pixels) if v > mean)


def open_bytes(blob: bytes) -> Image.Image:
    """Module-level (picklable) loader for an image held in memory."""
    return Image.open(io.BytesIO(blob))


def _category(path: str) -> str | None:
    folder = str(PurePosixPath(path).parent)
    if not folder.startswith(ACT):
        return None
    folder = folder[len(ACT):]
    return next((cat for pat, cat in PHOTO_FOLDERS.items() if fnmatch.fnmatch(folder, pat)), None)


def _licence(path: str, tables: dict):
    """The README stanza listing this file, looking in its folder then in parent folders."""
    for folder in PurePosixPath(path).parents:
        rel = str(PurePosixPath(path).relative_to(folder))
        lic = licence_for(rel, tables.get(str(folder), []))
        if lic:
            return lic
    return None


def _board_texts(source: str) -> dict[str, dict[str, str]]:
    """image path → {"title", "text"} from the `{ "image": ..., "title": qsTr(...) }` blocks
    of the explore_* boards."""
    out: dict[str, dict[str, str]] = {}
    for block in BLOCK.findall(source):
        fields = {k: v.replace('\\"', '"') for k, v in FIELD.findall(block)}
        for key in ("image2", "image"):
            image = fields.get(key, "")
            if image.endswith(".webp") and ("title" in fields or "text" in fields):
                out[image.replace("qrc:/", "")] = fields
                break
    return out
