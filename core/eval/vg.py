"""Visual Genome region descriptions -> a searchable index (`python -m core vg-index`).

VG's image folder holds ~108k images; crawling and hashing all of them to index a few would be
slow, so the chosen images are symlinked into a small folder with a `captions.jsonl` (the
sidecar format of docs/CONVENTIONS.md) and that folder is built like any other. With the
default `captions:minilm` each image is the mean embedding of its region phrases.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from core.atomic import write_text
from core.errors import UserError
from core.eval.datasets import load_visual_genome
from core.index.build import BuildSummary, Progress, build_index
from core.ingest.sidecar import SIDECAR_NAME

SOURCE = "Visual Genome 1.2 region descriptions"
LICENCE = "CC-BY-4.0"


def link_folder(regions_json: str | Path, image_root: str | Path, links: str | Path,
                limit: int | None = None, max_phrases: int | None = None) -> tuple[Path, int]:
    """Symlinks `<id>.jpg` -> the VG image plus a captions.jsonl; returns (folder, missing).

    The sidecar is written here rather than by `datasets.write_sidecar`, which resolves paths
    and would follow the links out of the folder.
    """
    loaded = load_visual_genome(regions_json, image_root, limit=limit, max_phrases=max_phrases)
    links = Path(links)
    links.mkdir(parents=True, exist_ok=True)
    lines, names = [], set()
    for rec in loaded.records:
        if not rec.texts:
            continue
        name = f"{rec.key.split(':', 1)[1]}.jpg"
        names.add(name)
        link = links / name
        if link.is_symlink() or link.exists():
            link.unlink()
        os.symlink(Path(rec.path).absolute(), link)
        lines.append(json.dumps({"file": name, "texts": rec.texts, "source": SOURCE,
                                 "licence": LICENCE, "key": rec.key}, ensure_ascii=False))
    if not lines:
        raise UserError(f"{regions_json}: no image with a region phrase was found")
    for old in links.iterdir():  # links left by an earlier, larger run
        if old.is_symlink() and old.name not in names:
            old.unlink()
    write_text(links / SIDECAR_NAME, "".join(line + "\n" for line in lines))
    return links, len(loaded.missing)


def build_vg_index(regions_json: str | Path, image_root: str | Path, out: str | Path,
                   spec: str = "captions:minilm", links: str | Path | None = None,
                   limit: int | None = None, max_phrases: int | None = None,
                   progress: Progress | None = None) -> BuildSummary:
    """Link the images, then build (or refresh) the index at `out`."""
    links = Path(links) if links else Path("data/vg") / Path(out).name
    folder, missing = link_folder(regions_json, image_root, links, limit, max_phrases)
    summary = build_index([folder], spec, out, extensions=("jpg", "jpeg"), progress=progress)
    if missing:
        summary.skipped["image not found"] += missing
    return summary
