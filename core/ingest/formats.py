"""Which files are images: every format the installed decoders open, and the opening of the few
that Pillow cannot read by itself (HEIC through pillow-heif, SVG through cairosvg, camera RAW
through the optional rawpy).

The build's default extension list is `default_extensions()`, so a folder of `.jp2`, `.pnm` or
`.heic` photos is indexed without an `--ext`; a RAW file without rawpy installed is reported with
the install command, never skipped silently.
"""

from __future__ import annotations

import importlib.util
import io
from functools import lru_cache
from pathlib import Path

from PIL import Image

# Pillow registers these for opening but cannot decode them without outside programs or a
# platform API (Ghostscript, scientific-data handlers, Windows metafiles, video).
NOT_DECODABLE = frozenset({"bufr", "grib", "h5", "hdf", "fit", "fits", "eps", "ps", "wmf", "emf",
                           "mpeg", "mpg"})
HEIF = frozenset({"heic", "heif", "hif"})
SVG = frozenset({"svg"})
RAW = frozenset({"dng", "arw", "cr2", "cr3", "nef", "orf", "raf", "rw2"})
# What a folder usually holds beside its photos: a JPEG/PNG rendering wins over its RAW file.
RENDERED = frozenset({"jpg", "jpeg", "png", "tif", "tiff", "heic", "heif", "webp"})
RAW_MISSING = "camera RAW needs the optional rawpy package: pip install rawpy"


class MissingDecoder(ValueError):
    """The file's format needs an optional package that is not installed."""


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@lru_cache(maxsize=1)
def register_openers() -> bool:
    """Let Pillow open HEIC/HEIF through pillow-heif when it is installed (once per process)."""
    if not _installed("pillow_heif"):
        return False
    from pillow_heif import register_heif_opener

    register_heif_opener()
    return True


@lru_cache(maxsize=1)
def pillow_extensions() -> frozenset[str]:
    """Extensions Pillow itself opens and decodes here."""
    Image.init()
    return frozenset(ext.lstrip(".") for ext, fmt in Image.registered_extensions().items()
                     if fmt in Image.OPEN) - NOT_DECODABLE


def default_extensions() -> tuple[str, ...]:
    """Every extension the build accepts by default on this machine (RAW always: without rawpy
    those files are reported with the install command)."""
    exts = set(pillow_extensions()) | RAW
    if register_openers():
        exts |= HEIF
    if _installed("cairosvg"):
        exts |= SVG
    return tuple(sorted(exts))


def extension(path: str | Path) -> str:
    return Path(path).suffix.lower().lstrip(".")


def open_special(source: Path | io.BytesIO, ext: str) -> Image.Image | None:
    """An image Pillow cannot open alone (SVG, RAW), or None for everything Pillow handles.

    Raises OSError/ValueError as Pillow's own openers do, so callers report them the same way.
    """
    if ext in SVG:
        import cairosvg

        data = source.getvalue() if isinstance(source, io.BytesIO) else Path(source).read_bytes()
        png = cairosvg.svg2png(bytestring=data, output_width=1024, unsafe=False)
        return Image.open(io.BytesIO(png))
    if ext in RAW:
        if not _installed("rawpy"):
            raise MissingDecoder(RAW_MISSING)
        import rawpy

        with rawpy.imread(source if isinstance(source, io.BytesIO) else str(source)) as raw:
            return Image.fromarray(raw.postprocess(use_camera_wb=True, half_size=True))
    return None
