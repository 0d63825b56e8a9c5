"""Build the demo data folder from the package registries: a photo gallery, captioned sets
for training/evaluation, a manifest and an attribution page.

    .venv/bin/python -m core.demo.assemble --data data [--limit N] [--sources skimage,sklearn]

Each run rebuilds `gallery/`, `sets/`, `MANIFEST.csv` and `ATTRIBUTION.md` from scratch in a
temporary folder and swaps them in at the end (so a run with `--sources` holds only those
sources); `downloads/` is kept and reused. Splits are fixed: see `core.demo.meta.split_for`.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path

from PIL import Image

from core.demo import attribution
from core.demo.clipart import openclipart, tuxpaint_stamps
from core.demo.gcompris import gcompris_photos
from core.demo.meta import Record, split_for
from core.demo.sources import (
    foolbox_photos,
    ifct_foods,
    ifct_gallery_keys,
    skimage_photos,
    sklearn_photos,
    wallpaper_photos,
)
from core.errors import UserError
from core.paths import data_dir

Log = Callable[[str], None]
GALLERY = {"skimage": skimage_photos, "sklearn": sklearn_photos, "foolbox": foolbox_photos,
           "gcompris": gcompris_photos, "wallpapers": wallpaper_photos}
SETS = {"tuxpaint": tuxpaint_stamps, "openclipart": openclipart}
SOURCES = [*GALLERY, "ifct", *SETS]  # "ifct": the ifct set plus a few food photos in the gallery
MAX_SIDE = {"gallery": 1600, "tuxpaint": 512, "openclipart": 512, "ifct": 1600}
FORMAT = {"gallery": "jpg", "tuxpaint": "png", "openclipart": "png", "ifct": "jpg"}
OUTPUTS = ("gallery", "sets", "MANIFEST.csv", "ATTRIBUTION.md")
MANIFEST_FIELDS = ["path", "set", "split", "source", "licence", "attribution", "texts", "key",
                   "category", "width", "height"]


def assemble(data_dir: Path, limit: int | None = None, sources: list[str] | None = None,
             log: Log = print, workers: int | None = None) -> dict:
    """Fetch, convert and describe the demo images under `data_dir`; returns counts, split
    sizes, failures, seconds and bytes. `limit` caps images per source; `workers` processes
    convert images (default: one per CPU; SVG rendering dominates the build time)."""
    start = time.time()
    names = list(sources) if sources else list(SOURCES)
    unknown = [n for n in names if n not in SOURCES]
    if unknown:
        raise UserError(f"unknown demo source(s) {', '.join(unknown)}; choose from "
                        f"{', '.join(SOURCES)}")
    data_dir = Path(data_dir)
    downloads = data_dir / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=".build-", dir=data_dir))
    rows: list[dict] = []
    failed: dict[str, str] = {}
    skipped: list[str] = []
    workers = workers or os.cpu_count() or 1
    # fork: workers need no re-import of the caller's main module (Streamlit, pytest, scripts).
    forkable = "fork" in get_all_start_methods()
    pool = ProcessPoolExecutor(workers, get_context("fork")) if workers > 1 and forkable else None
    try:
        for name in names:
            log(f"[{name}]")
            try:
                for where, records in _plan(name, downloads, log):
                    rows += _write_all(records, where, name, build, limit, skipped, log, pool)
            except UserError as err:
                failed[name] = str(err)
                log(f"FAILED {name}: {err}")
        if len(failed) == len(names):
            raise UserError("no demo source could be built: " + "; ".join(failed.values()))
        _write_captions(rows, build)
        _write_manifest(rows, build / "MANIFEST.csv")
        (build / "ATTRIBUTION.md").write_text(attribution.render(rows), encoding="utf-8")
        _swap_in(build, data_dir)
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
        shutil.rmtree(build, ignore_errors=True)
    return _summary(rows, failed, skipped, time.time() - start, data_dir)


def _plan(name: str, downloads: Path, log: Log) -> Iterable[tuple[str, Iterable[Record]]]:
    """(where, records) pairs for one source: where is "gallery" or a set name."""
    if name in GALLERY:
        return [("gallery", GALLERY[name](downloads, log))]
    if name in SETS:
        return [(name, SETS[name](downloads, log))]
    foods = ifct_foods(downloads, log)
    lent = ifct_gallery_keys(foods)
    for rec in foods:
        if rec.key in lent:
            rec.name = f"ifct/{rec.name}"
    return [("gallery", [r for r in foods if r.key in lent]),
            ("ifct", [r for r in foods if r.key not in lent])]


def _write_all(records: Iterable[Record], where: str, origin: str, build: Path,
               limit: int | None, skipped: list[str], log: Log,
               pool: ProcessPoolExecutor | None = None) -> list[dict]:
    root = build / "gallery" if where == "gallery" else build / "sets" / where
    chosen = list(itertools.islice(records, limit))
    jobs = [(rec.load, root / f"{rec.name}.{FORMAT[where]}", MAX_SIDE[where]) for rec in chosen]
    results = pool.map(_convert, jobs, chunksize=4) if pool and len(jobs) > 8 else map(
        _convert, jobs)
    rows = []
    for rec, (_, dest, _), result in zip(chosen, jobs, results, strict=True):
        if isinstance(result, str):
            skipped.append(f"{rec.key}: {result}")
            continue
        rel = dest.relative_to(root).as_posix()
        split = "" if where == "gallery" else split_for(f"{where}/{rel}")
        rows.append({"path": f"{root.relative_to(build).as_posix()}/{rel}", "file": rel,
                     "set": where, "split": split, "origin": origin, "record": rec,
                     "width": result[0], "height": result[1]})
    log(f"  wrote {len(rows)} images to {root.relative_to(build)}"
        + (f" ({len(chosen) - len(rows)} unreadable, skipped)" if len(rows) < len(chosen) else ""))
    return rows


def _convert(job: tuple[Callable[[], Image.Image], Path, int]) -> tuple[int, int] | str:
    """Load and save one image (runs in a worker process); an error comes back as text."""
    load, dest, max_side = job
    try:
        with load() as image:
            return save_image(image, dest, max_side)
    except Exception as err:  # noqa: BLE001 - third-party files: skip one, keep the rest
        return f"{type(err).__name__}: {str(err)[:100]}"


def save_image(image: Image.Image, dest: Path, max_side: int) -> tuple[int, int]:
    """Save as RGB (transparency composited on white), long side ≤ max_side. A JPEG that
    needs no change is copied byte for byte."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    path = getattr(image, "filename", "")
    if (path and image.format == "JPEG" and image.mode == "RGB" and dest.suffix == ".jpg"
            and max(image.size) <= max_side):
        shutil.copyfile(path, dest)
        return image.size
    if image.format == "JPEG":
        image.draft("RGB", (max_side, max_side))
    image.load()
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.new("RGB", rgba.size, "white")
        image.paste(rgba, mask=rgba.getchannel("A"))
    image = image.convert("RGB")
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    if dest.suffix == ".jpg":
        image.save(dest, "JPEG", quality=90, optimize=True)
    else:
        image.save(dest, "PNG")
    return image.size


def _write_captions(rows: list[dict], build: Path) -> None:
    """One captions.jsonl per root, in the sidecar format of docs/CONVENTIONS.md."""
    by_root: dict[str, list[dict]] = {}
    for row in rows:
        by_root.setdefault(row["set"], []).append(row)
    for where, group in by_root.items():
        root = build / "gallery" if where == "gallery" else build / "sets" / where
        with open(root / "captions.jsonl", "w", encoding="utf-8") as fh:
            for row in group:
                rec: Record = row["record"]
                entry = {"file": row["file"], "texts": rec.texts, "source": rec.source,
                         "licence": rec.licence, "attribution": rec.attribution}
                if row["split"]:
                    entry["split"] = row["split"]
                if rec.category:
                    entry["category"] = rec.category
                entry.update({"key": rec.key, **rec.extra})
                fh.write(json.dumps(entry, ensure_ascii=False) + "\n")


def _write_manifest(rows: list[dict], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, MANIFEST_FIELDS)
        writer.writeheader()
        for row in rows:
            rec: Record = row["record"]
            writer.writerow({"path": row["path"], "set": row["set"], "split": row["split"],
                             "source": rec.source, "licence": rec.licence,
                             "attribution": rec.attribution, "texts": " | ".join(rec.texts),
                             "key": rec.key, "category": rec.category,
                             "width": row["width"], "height": row["height"]})


def _swap_in(build: Path, data_dir: Path) -> None:
    """Replace the previous outputs by the new ones (old ones moved aside first)."""
    for name in OUTPUTS:
        new, old, aside = build / name, data_dir / name, build / f"old-{name}"
        if old.exists():
            old.rename(aside)
        if new.exists():
            new.rename(old)


def _summary(rows: list[dict], failed: dict, skipped: list[str], seconds: float,
             data_dir: Path) -> dict:
    gallery = Counter(r["origin"] for r in rows if r["set"] == "gallery")
    packages = Counter(r["record"].source for r in rows if r["set"] == "gallery")
    sets: dict[str, dict[str, int]] = {}
    for r in rows:
        if r["set"] != "gallery":
            sets.setdefault(r["set"], Counter())[r["split"]] += 1
    size = sum(p.stat().st_size for name in OUTPUTS for p in _files(data_dir / name))
    return {"gallery": dict(gallery), "gallery_total": sum(gallery.values()),
            "gallery_by_package": dict(packages),
            "sets": {k: dict(v) for k, v in sets.items()}, "failed": failed,
            "skipped": skipped, "seconds": round(seconds, 1), "bytes": size,
            "downloads_bytes": sum(p.stat().st_size for p in _files(data_dir / "downloads"))}


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=data_dir(), help="data folder (data/)")
    parser.add_argument("--limit", type=int, default=None, help="max images per source")
    parser.add_argument("--sources", default="", help=f"comma list from {','.join(SOURCES)}")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: CPUs)")
    args = parser.parse_args(argv)
    try:
        result = assemble(args.data, args.limit,
                          [s for s in args.sources.split(",") if s] or None, workers=args.workers)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for line in result["skipped"]:
        print(f"skipped {line}", file=sys.stderr)
    result["skipped"] = len(result["skipped"])
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
