"""The image-to-text page's lists: which captioned sets there are, the table of nearest captions
for an image, and where the image's own captions rank when it belongs to the set.

The page opens on all sets together: the first set alphabetically is an arbitrary domain (a dog
photo described from the food set gets "Goat, lungs"), while the merged ranking lets the set
whose captions fit the image win by score."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from core.index.store import Index
from core.query.captionbank import (
    CaptionBank,
    CaptionHit,
    find_sets,
    nearest_captions,
    own_captions,
    sets_root,
)

ALL_SETS = "All sets"


def sets_by_name(repo_root: Path, environ: dict[str, str] | None = None) -> dict[str, Path]:
    """Captioned set folders by folder name, sorted (the set picker's options)."""
    return {p.name: p for p in find_sets(sets_root(repo_root, environ))}


def set_options(names: Sequence[str]) -> list[str]:
    """The set picker's options, "All sets" first (the default) when there is more than one."""
    return [ALL_SETS, *names] if len(names) > 1 else list(names)


def chosen_sets(choice: str, names: Sequence[str]) -> list[str]:
    """The set names a picker choice stands for."""
    return list(names) if choice == ALL_SETS else [choice]


def nearest_in_sets(banks: Sequence[CaptionBank], vec: np.ndarray, k: int) -> list[CaptionHit]:
    """The top-k captions over several sets: each set's top-k merged by score (ties by set
    order), ranked again from 1. All banks must come from one model, so scores compare."""
    merged = [h for bank in banks for h in nearest_captions(bank, vec, k)]
    merged.sort(key=lambda h: -h.score)  # stable: equal scores keep set order, then bank order
    return [replace(h, rank=r) for r, h in enumerate(merged[:k], 1)]


def stored_vector(index: Index, image_id: int) -> np.ndarray:
    """A gallery image's stored embedding: no model pass needed to describe it."""
    return np.asarray(index.embeddings[int(image_id)], np.float32)


def own_texts(banks: Sequence[CaptionBank], image_path: str | Path | None) -> set[str]:
    """The captions the sets give this very file (none for an upload or an outside image)."""
    if not image_path:
        return set()
    return {bank.texts[i] for bank in banks for i in own_captions(bank, image_path)}


def caption_table(hits: Sequence[CaptionHit], own: set[str]) -> pd.DataFrame:
    """One row per caption, best first: rank, text, its set when several sets are ranked
    together, score, how many images carry it, and a tick on the image's own captions."""
    several = len({h.set_name for h in hits}) > 1
    return pd.DataFrame([{"#": h.rank, "caption": h.text,
                          **({"set": h.set_name} if several else {}),
                          "score": round(h.score, 4), "images with it": len(h.files),
                          "this image's own": "✓" if h.text in own else ""} for h in hits])


def own_ranks(hits: Sequence[CaptionHit], own: set[str]) -> list[int]:
    return [h.rank for h in hits if h.text in own]


def own_rank_note(hits: Sequence[CaptionHit], own: set[str], k: int) -> str:
    """Where the image's own captions landed: "#1, #4", or "below #k" when none is shown."""
    found = own_ranks(hits, own)
    return ", ".join(f"#{r}" for r in found) if found else f"below #{k}"
