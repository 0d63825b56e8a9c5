"""Human summaries of an index, shared by `python -m core info` and the app's home page."""

from __future__ import annotations

from core.encoders.base import RANDOM_WEIGHTS_WARNING
from core.index.store import Index
from core.index.versions import leftovers


def index_facts(index: Index) -> dict[str, str | int]:
    """The manifest at a glance, as ordered label -> value pairs."""
    m = index.manifest
    counts = m.get("counts", {})
    facts: dict[str, str | int] = {
        "model": index.spec,
        "queries": ", ".join(m["encoder"].get("query_modalities", [])) or "none",
        "images": counts.get("items", index.n),
        "with text": counts.get("with_text", 0),
        "text in images (OCR)": _ocr_fact(m.get("ocr")),
        "skipped files": counts.get("skipped", len(index.skipped)),
        "duplicate groups": counts.get("duplicate_groups", len(index.duplicates)),
        "dimensions": index.dim,
        "built": m.get("built_at", "?"),
        "build time": f"{m.get('build_seconds', 0):.1f} s",
    }
    if index.store == "lance":
        ann = (m.get("lance") or {}).get("ann")
        facts["store"] = "lance" + (f" ({ann['type']}, {ann['partitions']} partitions)" if ann
                                    else " (exact search)")
    else:
        facts["annoy trees"] = m.get("settings", {}).get("trees", "?")
    if "runtime" in m["encoder"]:
        facts["backbone runtime"] = m["encoder"]["runtime"]
    if index.random_weights:
        facts["warning"] = RANDOM_WEIGHTS_WARNING
    return facts


def _ocr_fact(ocr: dict | None) -> str:
    """Whether the build read the text in images (--ocr), and in how many it found some."""
    return f"on, {ocr.get('images_with_text', 0)} images with text" if ocr else "off"


def describe_index(index: Index) -> list[str]:
    lines = [f"index: {index.path}"]
    lines += [f"{k}: {v}" for k, v in index_facts(index).items()]
    by_reason = index.manifest.get("counts", {}).get("skipped_by_reason", {})
    lines += [f"  skipped {n} x {reason}" for reason, n in by_reason.items()]
    lines.append("roots: " + ", ".join(index.manifest.get("roots", [])))
    if index.version is not None and index.version != index.path:
        lines.append(f"version: {index.version.name}")
    lines += [f"leftover (the next build removes it): {name}" for name in leftovers(index.path)]
    return lines
