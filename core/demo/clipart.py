"""Captioned clipart sets: Tux Paint stamps and OpenClipart (both Debian packages).

Tux Paint: every stamp outside `symbols/` whose `NAME.txt` exists; line 1 is an English
sentence. SVG is preferred over PNG when both exist (sharper), `*_mirror.png` copies have no
text and are never picked. OpenClipart: SVG metadata title (+ description when it says more),
with junk titles filtered (series names, file-like names, flags, cards, icons, very short
titles), one image per distinct title, and at most OPENCLIPART_CAP images, chosen in
sha1-of-path order so the selection is stable and spread over all categories.
"""

from __future__ import annotations

import hashlib
import io
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from PIL import Image

from core.demo.fetch import Package, fetch
from core.demo.meta import Record, credit, file_licences, licence_for, unique_texts, words

Log = Callable[[str], None]
DOC = "usr/share/doc/*/copyright"
RENDER_SIDE = 384
OPENCLIPART_CAP = 3000

TUXPAINT = Package("deb", "tuxpaint-stamps-default",
                   include=("usr/share/tuxpaint/stamps/*", DOC),
                   exclude=("*.ogg", "*.wav", "*.dat", "usr/share/tuxpaint/stamps/symbols/*"))
TUX_ROOT = "usr/share/tuxpaint/stamps"

OPENCLIPART = Package("deb", "openclipart-svg", include=("usr/share/openclipart/svg/*", DOC))
OC_ROOT = "usr/share/openclipart/svg"
OC_SKIP_DIRS = re.compile(
    r"^(computer/(icons|buttons)|shapes|special|signs_and_symbols/(flags|map_symbols)|"
    r"geography|unsorted/flags)(/|$)|/flags?(/|$)|cards?(/|$)|icons?(/|$)", re.I)
OC_JUNK = re.compile(
    r"part of the|collection|clip ?art|iconset|\btheme\b|\bicons?\b|\bflags?\b|\bcards?\b|"
    r"\bbutton\b|gradient|pattern|symbols|\bsigns\b|various|s[iu]bmission|^untitled|"
    r"^(img|image|dsc|pic|file|drawing|layer|new document|example)\b|\.svg", re.I)
OC_SERIES = 10  # a title on more than this many files names a series, not a picture
DC, CC = "{http://purl.org/dc/elements/1.1/}", "{http://web.resource.org/cc/}"


def render_svg(path: Path, side: int = RENDER_SIDE) -> Image.Image:
    """Render an SVG so that its long side is `side` pixels (cairosvg, no browser needed)."""
    import cairosvg

    png = cairosvg.svg2png(url=str(path), output_width=side)
    image = Image.open(io.BytesIO(png))
    if image.height > image.width * 1.05:
        image = Image.open(io.BytesIO(cairosvg.svg2png(url=str(path), output_height=side)))
    return image


def _loader(path: Path) -> Callable[[], Image.Image]:
    if path.suffix.lower() == ".svg":
        return lambda: render_svg(path)
    return lambda: Image.open(path)


def tuxpaint_stamps(downloads: Path, log: Log = print) -> Iterator[Record]:
    """Tux Paint stamps with their one-sentence English description (GPL-2)."""
    got = fetch(TUXPAINT, downloads, log)
    lic = licence_for(f"{TUX_ROOT}/x.png", file_licences(
        next(got.root.glob(DOC)).read_text(errors="replace")))
    root = got.root / TUX_ROOT
    for txt in sorted(root.rglob("*.txt")):
        rel = txt.relative_to(root).with_suffix("")
        image = next((p for p in (txt.with_suffix(".svg"), txt.with_suffix(".png")) if p.exists()),
                     None)
        lines = txt.read_text(encoding="utf-8", errors="replace").splitlines()
        sentence = lines[0].strip() if lines else ""
        if image is None or not sentence or "=" in sentence.split(" ")[0]:
            continue
        yield Record(f"tuxpaint/{rel}{image.suffix}", str(rel), _loader(image),
                     [sentence], got.source, lic.licence if lic else "GPL-2",
                     credit(lic) or "Bill Kendrick and Tux Paint contributors",
                     category=str(rel.parent))


def _svg_meta(path: Path) -> tuple[str, str, str]:
    """(title, description, creator) from an SVG's RDF metadata ('' where absent)."""
    try:
        work = ET.parse(path).getroot().find(f".//{CC}Work")
    except ET.ParseError:
        return "", "", ""
    if work is None:
        return "", "", ""
    creator = work.find(f"{DC}creator")
    who = creator.findtext(f".//{DC}title") if creator is not None else ""
    return (" ".join((work.findtext(f"{DC}title") or "").split()),
            " ".join((work.findtext(f"{DC}description") or "").split()), (who or "").strip())


def clean_title(title: str) -> str:
    """Rescue the name inside series and file-like titles: "Clipart by Nicu Buculei -
    contour_chipmunk" → "contour chipmunk", "tennis_racket" → "tennis racket"."""
    title = re.sub(r"^clipart by [^-]+ - ", "", title.strip(), flags=re.I)
    if re.fullmatch(r"[\w.\-]+", title) and re.search(r"[\d_]", title):
        title = words(title)
    return " ".join(title.split())


def good_title(title: str) -> bool:
    """False for titles that describe nothing: series names, file-like names, too short."""
    if OC_JUNK.search(title) or not re.search(r"[A-Za-z]{3}", title):
        return False
    return len(re.sub(r"[^A-Za-z]", "", title)) >= 3


def _good_description(desc: str, title: str) -> bool:
    return (len(desc.split()) >= 3 and "http" not in desc.lower()
            and not re.search(r"converted from|\bsvg\b", desc, re.I)
            and desc.lower().strip(". ") != title.lower())


def openclipart(downloads: Path, log: Log = print, cap: int = OPENCLIPART_CAP
                ) -> Iterator[Record]:
    """Filtered, deduplicated OpenClipart images with their metadata title (public domain)."""
    got = fetch(OPENCLIPART, downloads, log)
    table = file_licences(next(got.root.glob(DOC)).read_text(errors="replace"))
    lic = licence_for(f"{OC_ROOT}/x.svg", table)
    root = got.root / OC_ROOT
    metas = []
    for path in sorted(root.rglob("*.svg")):
        rel = path.relative_to(root).as_posix()
        if not OC_SKIP_DIRS.search(rel):
            title, desc, who = _svg_meta(path)
            metas.append((rel, path, title, clean_title(title), desc, who))
    series = Counter(m[2].lower() for m in metas)
    kept, seen = [], set()
    for rel, path, raw, title, desc, who in sorted(metas, key=lambda m: _h(m[0])):
        key = title.lower()
        if key in seen or series[raw.lower()] > OC_SERIES or not good_title(title):
            continue
        seen.add(key)
        kept.append((rel, path, title, desc, who))
    log(f"  openclipart: {len(metas)} SVGs outside icon/flag/shape folders, {len(kept)} with a "
        f"usable distinct title, keeping {min(cap, len(kept))}")
    for rel, path, title, desc, who in sorted(kept[:cap]):
        texts = unique_texts(title, desc if _good_description(desc, title) else None)
        yield Record(f"openclipart/{rel}", rel.rsplit(".", 1)[0], _loader(path), texts,
                     got.source, lic.licence if lic else "Public Domain",
                     who or "Open Clip Art Library", category=str(Path(rel).parent))


def _h(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()
