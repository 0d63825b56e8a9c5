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
import html
import io
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
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
OC_SKIP_SUBJECTS = {"flag", "flags", "icon", "icons", "card", "cards", "theme", "mapsym", "map",
                    "gradients", "pattern", "arrow", "geometry", "stars", "mimetypes",
                    "mime-types", "filesystem", "menu", "webpage", "united_nations_member"}
OC_SERIES = 10  # a title on more than this many files names a series, not a picture
DC, CC = "{http://purl.org/dc/elements/1.1/}", "{http://web.resource.org/cc/}"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"


def render_svg(path: Path, side: int = RENDER_SIDE) -> Image.Image:
    """Render an SVG so that its long side is `side` pixels (cairosvg, no browser needed).
    SVGs that cairosvg refuses (internal DTD entities, percentage sizes) are tidied first."""
    import cairosvg

    try:
        png = cairosvg.svg2png(url=str(path), output_width=side)
    except ValueError:  # defusedxml's EntitiesForbidden, or width="100%"
        png = cairosvg.svg2png(bytestring=_tidy_svg(path.read_bytes()), output_width=side)
    image = Image.open(io.BytesIO(png))
    if image.height > image.width:  # tall: one render at width `side`, then scale down
        image.load()
        image.thumbnail((side, side), Image.Resampling.LANCZOS)
    return image


def _tidy_svg(data: bytes) -> bytes:
    """Expand simple internal entities (Illustrator's `&ns_svg;`), drop the DOCTYPE and
    percentage width/height on the root element (cairosvg then uses the viewBox)."""
    text = data.decode("utf-8", "replace")
    entities = dict(re.findall(r'<!ENTITY\s+(\w+)\s+"([^"]*)"\s*>', text))
    text = re.sub(r"<!DOCTYPE[^\[>]*(\[.*?\])?\s*>", "", text, count=1, flags=re.S)
    for name, value in entities.items():
        text = text.replace(f"&{name};", value)
    root = re.search(r"<svg\b[^>]*>", text)
    if root:
        tag = re.sub(r'\s(width|height)="[\d.]+%"', "", root.group(0))
        text = text[: root.start()] + tag + text[root.end():]
    return text.encode("utf-8")


def _loader(path: Path) -> Callable[[], Image.Image]:
    """A picklable loader (the assembly converts images in worker processes)."""
    return partial(render_svg, path) if path.suffix.lower() == ".svg" else partial(Image.open, path)


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


def _svg_meta(path: Path) -> tuple[str, str, str, set[str]]:
    """(title, description, creator, subject keywords) from an SVG's RDF metadata."""
    try:
        work = ET.parse(path).getroot().find(f".//{CC}Work")
    except ET.ParseError:
        work = None
    if work is None:
        return "", "", "", set()
    creator = work.find(f"{DC}creator")
    who = creator.findtext(f".//{DC}title") if creator is not None else ""
    subjects = {(li.text or "").strip().lower() for li in work.iter(f"{RDF}li")}
    return (_text(work.findtext(f"{DC}title")), _text(work.findtext(f"{DC}description")),
            _text(who), subjects)


def _text(value: str | None) -> str:
    """Metadata text, HTML entities decoded, control characters and extra spaces removed."""
    value = re.sub(r"[\x00-\x1f\x7f-\x9f]", "", html.unescape(value or ""))
    return " ".join(value.split())


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
            title, desc, who, subjects = _svg_meta(path)
            if not subjects & OC_SKIP_SUBJECTS:
                metas.append((rel, path, title, clean_title(title), desc, who))
    series = Counter(m[2].lower() for m in metas)
    kept, seen = [], set()
    for rel, path, raw, title, desc, who in sorted(metas, key=lambda m: _h(m[0])):
        key = title.lower()
        if key in seen or series[raw.lower()] > OC_SERIES or not good_title(title):
            continue
        seen.add(key)
        kept.append((rel, path, title, desc, who))
    log(f"  openclipart: {len(metas)} SVGs outside icon/flag/shape folders and subjects, "
        f"{len(kept)} with a "
        f"usable distinct title, keeping {min(cap, len(kept))}")
    for rel, path, title, desc, who in sorted(kept[:cap]):
        texts = unique_texts(title, desc if _good_description(desc, title) else None)
        yield Record(f"openclipart/{rel}", rel.rsplit(".", 1)[0], _loader(path), texts,
                     got.source, lic.licence if lic else "Public Domain",
                     who or "Open Clip Art Library", category=str(Path(rel).parent))


def _h(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()
