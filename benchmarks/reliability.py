"""Faults injected into real builds, and what survived: every stage x SIGKILL/SIGTERM/SIGINT,
on a rebuild of an index over real photos (the demo gallery, else the bundled photos).

    .venv/bin/python -m benchmarks.reliability            # 18 faulty builds, ~1 min on 2 cores
    .venv/bin/python -m benchmarks.reliability --no-write # print only

"Survived" = the previous index loads and answers every image query exactly as before, and no
byte of its version changed. The second table is the peak memory one upload adds while the app
decodes it, per kind of image (the same as `python -m benchmarks.uploads`).
"""

from __future__ import annotations

import argparse
import shutil
from collections import defaultdict
from pathlib import Path

from benchmarks._common import log, record, table
from benchmarks.photos import WORK, image_files, photo_folder, subset_folder
from benchmarks.uploads import HEADERS, KINDS, TARGET_MB, upload_rows
from core.index.build import build_index
from core.index.versions import STAGES, leftovers
from devtools.faults import SIGNALS, inject

SPEC = "efficientnet:lite0"


def prepare(count: int) -> tuple[Path, Path]:
    """A folder of `count` photos and an index over the first half of them."""
    source, _ = photo_folder("gallery", count)
    images = WORK / "reliability" / "images"
    shutil.rmtree(images.parent, ignore_errors=True)
    images.mkdir(parents=True)
    files = image_files(subset_folder(source, count))
    for i, f in enumerate(files[: count // 2]):
        shutil.copyfile(f, images / f"{i:03d}{f.suffix.lower()}")
    out = images.parent / "idx"
    build_index([images], SPEC, out)
    for i, f in enumerate(files[count // 2:], start=count // 2):
        shutil.copyfile(f, images / f"{i:03d}{f.suffix.lower()}")
    return images, out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--count", type=int, default=24, help="photos in the folder")
    ap.add_argument("--no-write", action="store_true", help="do not append to BENCHMARKS.md")
    args = ap.parse_args(argv)
    images, out = prepare(args.count)
    rows = []
    for stage in STAGES:
        for sig in SIGNALS:
            log(f"build stopped at {stage} by {sig}")
            rows.append(inject(images, out, SPEC, stage, sig))
    by_signal: dict[str, list] = defaultdict(list)
    for r in rows:
        by_signal[r.signal].append(r)
    summary = [(sig, len(rs), sum(r.survived for r in rs), sum(r.bytes_lost for r in rs),
                sum(r.traceback for r in rs)) for sig, rs in by_signal.items()]
    summary.append(("all", len(rows), sum(r.survived for r in rows),
                    sum(r.bytes_lost for r in rows), sum(r.traceback for r in rows)))
    left = leftovers(out)
    after = build_index([images], SPEC, out)
    blocks = [
        f"Rebuild of a {args.count // 2}-photo `{SPEC}` index with {args.count // 2} new photos, "
        f"stopped at each stage ({', '.join(STAGES)}) by each signal.",
        table(["signal", "faults injected", "survived", "bytes lost", "tracebacks"], summary),
        table(["stage", "signal", "exit code", "survived", "bytes lost", "traceback"],
              [(r.stage, r.signal, r.exit_code, r.survived, r.bytes_lost, r.traceback)
               for r in rows]),
        f"Left behind before the next build: {len(left)} ({', '.join(left) or 'nothing'}); the "
        f"next build removed and reported: {'; '.join(after.notes) or 'nothing'}; it then built "
        f"{after.items} images.",
        f"Upload decoding, peak added memory per upload (target ≤ {TARGET_MB} MB):",
        table(HEADERS, upload_rows(list(KINDS))),
    ]
    record("Reliability: faults injected into builds", blocks, write=not args.no_write)


if __name__ == "__main__":
    main()
