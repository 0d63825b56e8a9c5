"""Text in images (OCR): the words a photo shows (a shop sign, a label, a poster) as one more
text the image has, read at build time with `python -m core build --ocr`.

RapidOCR (`rapidocr-onnxruntime`, a build requirement only) runs the PP-OCRv4 detection,
orientation and recognition models on onnxruntime; the models ship inside its wheel, so it
works offline. The served app never imports it: it shows the text the build stored in the
items table's `ocr_text` column.

What counts as text: lines recognised with confidence >= MIN_CONFIDENCE that are words (at
least one run of two letters, and letters for at least half of their characters), so a
texture read as "|||" or a lone "1" gives nothing. Lines are joined with " · " in reading order.

Reading takes about a second per photo on two cores, so an image whose content hash was read
by the previous build with the same settings (`signature()`) is not read again.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from PIL import Image

from core.errors import UserError
from core.ingest.images import ImageProblem, open_image
from core.ingest.prefetch import prefetch
from core.progress import Progress

PACKAGE = "rapidocr-onnxruntime"
MIN_CONFIDENCE = 0.8  # recogniser score a line needs to be kept
MAX_SIDE = 1600  # images are read at most this large (RapidOCR's own cap is 2000)
SEPARATOR = " · "
COLUMN = "ocr_text"  # the items table's column
_LETTERS = re.compile(r"[^\W\d_]{2,}")


def require_ocr(wanted: bool = True) -> None:
    """A clear one-line error before any work when OCR is asked for but not installed."""
    if not wanted:
        return
    try:
        import rapidocr_onnxruntime  # noqa: F401
    except ImportError as e:
        raise UserError(f"--ocr needs {PACKAGE}, which is not installed: pip install "
                        f"-r requirements-build.txt (or pip install {PACKAGE})") from e


def signature() -> str:
    """What a stored OCR text depends on: the engine's version and this module's filters."""
    try:
        engine = f"{PACKAGE} {version(PACKAGE)}"
    except PackageNotFoundError:
        engine = PACKAGE
    return f"{engine}; confidence>={MIN_CONFIDENCE}; max side {MAX_SIDE}; words"


def is_words(line: str) -> bool:
    """A line that reads as words, not as a texture or a lone number."""
    chars = [c for c in line if not c.isspace()]
    if not chars or not _LETTERS.search(line):
        return False
    return sum(c.isalpha() for c in chars) >= len(chars) / 2


def kept_lines(results: Iterable[Sequence] | None, min_confidence: float = MIN_CONFIDENCE
               ) -> list[str]:
    """The lines of a RapidOCR result ([box, text, score] each) worth keeping, in order."""
    out: list[str] = []
    for _, text, score in results or []:
        line = " ".join(str(text).split())
        if float(score) >= min_confidence and is_words(line) and line not in out:
            out.append(line)
    return out


class Reader:
    """One RapidOCR engine, loaded on first use (about a second)."""

    def __init__(self, min_confidence: float = MIN_CONFIDENCE) -> None:
        self.min_confidence = min_confidence
        self._engine = None

    def __call__(self, image: Image.Image) -> str:
        """The image's text (joined kept lines), "" when it shows none."""
        if self._engine is None:
            require_ocr()
            from rapidocr_onnxruntime import RapidOCR

            self._engine = RapidOCR()
        results, _ = self._engine(image.convert("RGB"))
        return SEPARATOR.join(kept_lines(results, self.min_confidence))


@dataclass
class OcrStats:
    """What the OCR pass did, for the build summary and the manifest."""

    read: int = 0  # images run through OCR in this build
    reused: int = 0  # taken from the previous index
    failed: int = 0  # could not be decoded (the encoder's pass reports why)
    with_text: int = 0
    seconds: float = 0.0

    @property
    def seconds_per_image(self) -> float:
        return self.seconds / self.read if self.read else 0.0

    def line(self) -> str:
        return (f"text in images (OCR): {self.with_text} with text; read {self.read} "
                f"({self.seconds_per_image:.2f} s/img), reused {self.reused}")

    def manifest(self) -> dict:
        return {"signature": signature(), "min_confidence": MIN_CONFIDENCE,
                "images_with_text": self.with_text, "read": self.read, "reused": self.reused,
                "seconds": round(self.seconds, 2)}


def skipped_row(found: dict[str, str], digest: str) -> dict:
    """What a skipped row keeps of an image that was read but not indexed (a captions model
    skips an image without text), so the next build does not read it again."""
    return {"hash": digest, COLUMN: found[digest]} if digest in found else {}


def previous_texts(items, skipped: list[dict], manifest: dict | None) -> dict[str, str]:
    """Content hash -> OCR text from a previous index read with the same settings ({} when it
    had OCR off or other settings): those images are not read again."""
    if ((manifest or {}).get("ocr") or {}).get("signature") != signature():
        return {}
    out = {str(r["hash"]): str(r[COLUMN]) for r in skipped if COLUMN in r and "hash" in r}
    if COLUMN in items.columns:
        out.update((str(h), str(t or "")) for h, t in zip(items["hash"], items[COLUMN],
                                                          strict=True))
    return out


def read_texts(jobs: Sequence[tuple[Path, str]], known: dict[str, str], *, max_pixels: int,
               workers: int = 2, progress: Progress | None = None,
               reader: Reader | None = None) -> tuple[dict[str, str], OcrStats]:
    """OCR text per content hash for (path, hash) jobs; hashes in `known` are not read again.
    Decoding runs `workers` threads ahead of the recogniser."""
    stats = OcrStats()
    texts: dict[str, str] = {}
    todo: dict[str, Path] = {}
    for path, digest in jobs:
        if digest in known:
            texts[digest] = known[digest]
        else:
            todo.setdefault(digest, path)
    stats.reused = len(texts)
    reader = reader or Reader()

    def decode(job: tuple[str, Path]) -> tuple[str, Image.Image | None]:
        try:
            return job[0], open_image(job[1], max_pixels=max_pixels, max_side=MAX_SIDE)[0]
        except ImageProblem:
            return job[0], None

    started = time.perf_counter()
    stream = prefetch(decode, list(todo.items()), workers, window=2 * workers + 2)
    with closing(stream):
        for n, (digest, image) in enumerate(stream, 1):
            if image is None:
                stats.failed += 1
            else:
                texts[digest] = reader(image)
                stats.read += 1
            if progress:
                progress("ocr", n, len(todo))
    stats.seconds = time.perf_counter() - started
    stats.with_text = sum(1 for t in texts.values() if t)
    return texts, stats


def build_texts(cands: Sequence, hashes: Sequence[str], prev, *, max_pixels: int, workers: int,
                progress: Progress | None) -> tuple[dict[str, str], OcrStats]:
    """The build's OCR pass over its candidates, reusing what `prev` (the index being refreshed,
    or None) read with the same settings."""
    known = {} if prev is None else previous_texts(prev.items, prev.skipped, prev.manifest)
    return read_texts([(c.path, h) for c, h in zip(cands, hashes, strict=True)], known,
                      max_pixels=max_pixels, workers=workers, progress=progress)
