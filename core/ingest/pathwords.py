"""File and folder names as words: "explore_monuments/france/eiffelTower.jpg" -> "eiffel tower,
france, explore monuments".

People name photos and folders after what they show, so a name is one more text an image has
(the hybrid variant reads it beside the sidecar texts). Most names say nothing, though: camera
counters (`IMG_1234`, `DSC0001`, `PXL_20230101_120000`), bare numbers, dates, hashes and UUIDs,
short codes (`E016`) and folder names every collection has (`images`, `DCIM`, `photos`). Those
give no words, so an image named only by its camera gets no text at all (and its pixels speak
for it) instead of a text that would match every query about "images".
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

# Generic containers and camera vocabulary: words that describe the file, not the picture.
_GENERIC = """
    img imgs image images pic pics picture pictures photo photos foto fotos gallery galleries
    dcim camera cameras camera roll screenshot screenshots screen shot capture export exports
    edited edit final copy new old tmp temp misc other others various data files file folder
    download downloads upload uploads desktop documents my backup backups thumb thumbs thumbnail
    thumbnails large small medium original originals raw jpg jpeg png heic webp tif tiff gif bmp
    dsc dscn dscf dsf sam pxl mvimg vid pano burst cover untitled unnamed scan scans page whatsapp
    iphone android apple icloud wp wa
"""
GENERIC = frozenset(_GENERIC.split())
# Words that carry no subject alone: a name made only of them ("Screenshot at 10.00") says nothing.
_STOP = "a an the at of on in by to for and or with from is"
STOP = frozenset(_STOP.split())
_SPLIT = re.compile(r"[\s_\-.+,;()\[\]{}~#@&]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_HEXLIKE = re.compile(r"[0-9a-f]{6,}", re.IGNORECASE)  # hashes, UUID pieces
_LETTERS = re.compile(r"[^\W\d_]+")


def _word_ok(word: str) -> bool:
    return len(word) > 1 and word not in GENERIC


def _words(name: str) -> list[str]:
    """The meaningful words of one name: split on separators, camelCase and digits, with
    hashes, counters and generic words dropped."""
    out: list[str] = []
    for token in _SPLIT.split(name):
        if not token or (_HEXLIKE.fullmatch(token) and any(c.isdigit() for c in token)):
            continue
        for piece in _CAMEL.split(token):
            out += [w.lower() for w in _LETTERS.findall(piece) if _word_ok(w.lower())]
    return out


def path_words(rel_path: str) -> str:
    """A relative path as words, the file's own name first, then its folders from the nearest
    up; "" when no part of it is meaningful (`DCIM/100APPLE/IMG_1234.JPG`). A part repeating an
    earlier one is left out (`dogs/dog.jpg` gives "dog, dogs", but `cat/cat.jpg` just "cat")."""
    path = PurePosixPath(rel_path.replace("\\", "/"))
    names = [path.stem, *reversed(path.parent.parts)]
    phrases: list[str] = []
    for name in names:
        words = _words(name)
        phrase = " ".join(words)
        if not set(words) <= STOP and phrase not in phrases:
            phrases.append(phrase)
    return ", ".join(phrases)
