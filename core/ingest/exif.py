"""When a photo was taken, from its EXIF DateTimeOriginal, read without decoding any pixels.

Filters by date need it per item, so the build stores it (`taken`, ISO text or None) and older
indexes read it lazily from the originals. Only the header is read: JPEG, WebP and HEIF carry
EXIF in `info` at open, TIFF in its first directory. A PNG's EXIF can sit after the pixels, which
Pillow would decode in full to reach, so PNGs count only when the chunk comes first. No
DateTimeOriginal means no date (the file's mtime says when it was copied, not taken).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from PIL import Image

EXIF_IFD = 0x8769
DATE_TIME_ORIGINAL = 0x9003
_STAMP = re.compile(r"(\d{4})[:\-](\d{2})[:\-](\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2}))?")


def parse_stamp(value: object) -> str | None:
    """EXIF's 'YYYY:MM:DD HH:MM:SS' as ISO 'YYYY-MM-DDTHH:MM:SS'; None for blanks ('0000:00:00',
    spaces) and anything that is not a plausible date."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    match = _STAMP.match(str(value or "").strip().strip("\x00"))
    if not match:
        return None
    y, mo, d, h, mi, s = (int(g) if g else 0 for g in match.groups())
    if not (1800 <= y <= 2200 and 1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60
            and s < 62):
        return None
    return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{min(s, 59):02d}"


def taken_at(path: str | Path) -> str | None:
    """The photo's DateTimeOriginal as ISO text, or None (no tag, unreadable file, not an image)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as img:
                raw = img.info.get("exif")
                if raw:
                    exif = Image.Exif()
                    exif.load(raw)
                elif img.format == "TIFF":
                    exif = img.getexif()
                else:
                    return None
                return parse_stamp(exif.get_ifd(EXIF_IFD).get(DATE_TIME_ORIGINAL))
    except Exception:  # any unreadable header simply has no date; the build reports bad files
        return None
