"""Small shared helpers for the demo assets: records, names → words, splits, licence files."""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image

# Fixed split: sha1("<set>/<relative path>") → first 8 hex digits mod 100 → 70/10/20.
SPLIT_CUTS = (("train", 70), ("val", 80), ("test", 100))


@dataclass
class Record:
    """One image to write: where it comes from, how to load it and what describes it."""

    key: str  # stable origin, e.g. "tuxpaint-stamps-default:animals/koala.png"
    name: str  # output path relative to the gallery/set root, without suffix
    load: Callable[[], Image.Image]
    texts: list[str]
    source: str  # "package version"
    licence: str
    attribution: str = ""
    category: str = ""
    extra: dict = field(default_factory=dict)


def split_for(key: str) -> str:
    """Deterministic train/val/test from a stable key, so splits never move between runs."""
    bucket = int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:8], 16) % 100
    return next(name for name, cut in SPLIT_CUTS if bucket < cut)


def words(name: str) -> str:
    """File name → words: "golden_retriever.jpg" → "golden retriever", "measuringTape6" →
    "measuring tape"."""
    stem = re.sub(r"\.(jpe?g|png|webp|svgz?|gif|bmp|tiff?)$", "", name, flags=re.I)
    stem = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", stem)
    stem = re.sub(r"[_\-.]+|\d+", " ", stem)
    return " ".join(stem.split()).lower()


def unique_texts(*texts: str | None) -> list[str]:
    """Non-empty, whitespace-normalised texts in order, without case-insensitive repeats."""
    out: list[str] = []
    seen: set[str] = set()
    for text in texts:
        text = " ".join((text or "").split())
        if text and text.lower() not in seen:
            seen.add(text.lower())
            out.append(text)
    return out


def parse_stanzas(text: str) -> list[dict[str, str]]:
    """Parse Debian copyright (DEP-5) style stanzas: `Key: value` lines, continuation lines
    indented or bare, stanzas separated by blank lines. Keys are lower-cased."""
    stanzas: list[dict[str, str]] = []
    current: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        if not line.strip():
            if current:
                stanzas.append(current)
            current, key = {}, None
            continue
        match = re.match(r"^([A-Za-z][\w-]*):\s*(.*)$", line)
        if match and not line[0].isspace():
            key = match.group(1).lower()
            current[key] = match.group(2).strip()
        elif key:
            current[key] = (current[key] + "\n" + line.strip()).strip()
    if current:
        stanzas.append(current)
    return stanzas


@dataclass
class Licence:
    licence: str
    copyright: str = ""
    source: str = ""


def file_licences(text: str) -> list[tuple[list[str], Licence]]:
    """(file patterns, licence) for each stanza with a `Files` field (DEP-5 or GCompris README)."""
    out = []
    for stanza in parse_stanzas(text):
        if "files" in stanza and "license" in stanza:
            patterns = stanza["files"].replace(",", " ").split()
            lic = norm_licence(stanza["license"].splitlines()[0])
            copy = " ".join(stanza.get("copyright", "").split())
            out.append((patterns, Licence(lic, copy, stanza.get("source", "").strip())))
    return out


def norm_licence(text: str) -> str:
    """Tidy spellings that differ only in form: "CC-BY-SA 4.0" → "CC-BY-SA-4.0",
    "Public domain" → "Public Domain"."""
    text = " ".join(text.split())
    text = re.sub(r"^(CC[- ]BY(?:[- ]SA)?|CC0)[ -]?v?(\d\.\d)$", lambda m: m.group(1).replace(
        " ", "-") + "-" + m.group(2), text, flags=re.I)
    return "Public Domain" if text.lower() in ("public domain", "pd") else text


def licence_for(path: str, table: list[tuple[list[str], Licence]]) -> Licence | None:
    """Last matching stanza wins (DEP-5 rule); patterns match the path's tail, so source-tree
    patterns ("nature/Aqua.jpg") match installed paths (".../mate/nature/Aqua.jpg"); a
    wildcard-free pattern also matches on the file name alone ("16.04/x.jpg" installed as
    ".../backgrounds/x.jpg")."""
    found = None
    name = path.rsplit("/", 1)[-1]
    for patterns, lic in table:
        for pattern in patterns:
            tail = fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(
                path, "*/" + pattern.lstrip("/"))
            same_name = "*" not in pattern and pattern.rsplit("/", 1)[-1] == name
            if pattern == "*" or tail or same_name:
                found = lic
    return found


def credit(lic: Licence | None) -> str:
    """One attribution line from a licence stanza."""
    if lic is None:
        return ""
    parts = [p for p in (lic.copyright, lic.source) if p]
    return "; ".join(parts)
