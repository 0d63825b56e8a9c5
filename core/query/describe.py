"""The image-to-text page's lists: which captioned sets there are, the table of nearest captions
for an image, and where the image's own captions rank when it belongs to the set."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from core.index.store import Index
from core.query.captionbank import CaptionBank, CaptionHit, find_sets, own_captions, sets_root


def sets_by_name(repo_root: Path, environ: dict[str, str] | None = None) -> dict[str, Path]:
    """Captioned set folders by folder name, sorted (the set picker's options)."""
    return {p.name: p for p in find_sets(sets_root(repo_root, environ))}


def stored_vector(index: Index, image_id: int) -> np.ndarray:
    """A gallery image's stored embedding: no model pass needed to describe it."""
    return np.asarray(index.embeddings[int(image_id)], np.float32)


def own_texts(bank: CaptionBank, image_path: str | Path | None) -> set[str]:
    """The captions the set gives this very file (none for an upload or an outside image)."""
    if not image_path:
        return set()
    return {bank.texts[i] for i in own_captions(bank, image_path)}


def caption_table(hits: Sequence[CaptionHit], own: set[str]) -> pd.DataFrame:
    """One row per caption, best first: rank, text, score, how many images carry it, and a tick
    on the image's own captions."""
    return pd.DataFrame([{"#": h.rank, "caption": h.text, "score": round(h.score, 4),
                          "images with it": len(h.files),
                          "this image's own": "✓" if h.text in own else ""} for h in hits])


def own_ranks(hits: Sequence[CaptionHit], own: set[str]) -> list[int]:
    return [h.rank for h in hits if h.text in own]


def own_rank_note(hits: Sequence[CaptionHit], own: set[str], k: int) -> str:
    """Where the image's own captions landed: "#1, #4", or "below #k" when none is shown."""
    found = own_ranks(hits, own)
    return ", ".join(f"#{r}" for r in found) if found else f"below #{k}"
