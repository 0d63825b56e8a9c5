"""What a build reports: the summary printed at the end and the manifest written into the index."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from core.encoders.base import Encoder
from core.index.store import (
    METRIC,
    SCHEMA_VERSION,
    library_versions,
)
from core.ingest.ocr import OcrStats


@dataclass
class BuildSummary:
    out: Path
    spec: str
    items: int = 0
    skipped: Counter = field(default_factory=Counter)
    duplicate_groups: int = 0
    reused: int = 0
    new: int = 0
    removed: int = 0
    seconds: float = 0.0
    encode_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # leftovers removed, a damaged previous index
    ignored: Counter = field(default_factory=Counter)  # files not taken, by kind
    ocr: OcrStats | None = None  # the OCR pass, when --ocr was given

    @property
    def images_per_second(self) -> float:
        """New images per second of decode+encode time (model loading excluded)."""
        return self.new / self.encode_seconds if self.encode_seconds > 0 else 0.0

    def lines(self) -> list[str]:
        out = [f"index: {self.out}  model: {self.spec}",
               f"images: {self.items}  new: {self.new}  reused: {self.reused}  "
               f"removed: {self.removed}  duplicate groups: {self.duplicate_groups}",
               f"skipped: {sum(self.skipped.values())}"]
        out += [f"  {n} x {reason}" for reason, n in self.skipped.most_common()]
        if self.ignored:
            out.append(f"ignored (not image files): {sum(self.ignored.values())}  " + ", ".join(
                f"{kind} {n}" for kind, n in self.ignored.most_common()))
        if self.ocr:
            out.append(self.ocr.line())
        out.append(f"time: {self.seconds:.1f} s  ({self.images_per_second:.1f} new images/s)")
        out += [f"note: {n}" for n in self.notes]
        return out


def reason_kind(reason: str) -> str:
    """Short category for summaries: the text before the first ':' or '('."""
    return reason.split(":")[0].split("(")[0].strip()


def build_manifest(enc: Encoder, items: pd.DataFrame, emb: np.ndarray, skipped: list[dict], roots,
                   summary: BuildSummary, trees: int, batch: int, extensions, max_pixels: int,
                   thumb_size: int) -> dict:
    """Everything but the probe fingerprint, which the build adds (core.index.fingerprint)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "encoder": enc.describe(),
        "dim": int(emb.shape[1]),
        "metric": METRIC,
        "counts": {"items": len(items), "skipped": len(skipped),
                   "skipped_by_reason": dict(summary.skipped),
                   "duplicate_groups": summary.duplicate_groups, "with_text": int(
                       sum(1 for t in items["texts"] if len(t))),
                   "reused": summary.reused, "new": summary.new, "removed": summary.removed,
                   "ignored": dict(summary.ignored)},
        "roots": [str(Path(r).absolute()) for r in roots],
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "build_seconds": round(summary.seconds, 2),
        "encode_seconds": round(summary.encode_seconds, 2),
        "settings": {"trees": trees, "batch_size": batch, "extensions": sorted(extensions),
                     "max_pixels": max_pixels, "thumb_size": thumb_size},
        "versions": library_versions(),
        "ocr": summary.ocr.manifest() if summary.ocr else None,  # text in images, --ocr
    }
