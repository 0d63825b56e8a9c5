"""Texts that travel with images: a root's captions.jsonl and NAME.txt beside NAME.jpg, and the
captioned set folders (a captions.jsonl with splits) that training, evaluation and the caption
bank read. The format is in docs/CONVENTIONS.md."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import UserError

SIDECAR_NAME = "captions.jsonl"


META_KEYS = ("source", "licence", "attribution", "split", "category")


def _sidecar_row(raw: bytes) -> dict | None:
    """One parsed line (None when blank); ValueError says what is wrong with it."""
    line = raw.decode("utf-8").lstrip("\ufeff")
    if not line.strip():
        return None
    row = json.loads(line)
    if not isinstance(row, dict):
        raise ValueError("not a JSON object")
    if not isinstance(row.get("file"), str) or not row["file"].strip():
        raise ValueError('"file" must be a relative path string')
    texts = row.get("texts") or []
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, list):
        raise ValueError('"texts" must be a list of strings')
    row["texts"] = [str(t).strip() for t in texts if t is not None and str(t).strip()]
    return row


def read_sidecar(root: Path) -> dict[str, dict]:
    """`captions.jsonl` at a root: relative path -> {texts, source, licence, ...}."""
    path = root / SIDECAR_NAME
    if not path.is_file():
        return {}
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UserError(f"{path}: cannot read sidecar ({e.strerror or e})") from e
    out: dict[str, dict] = {}
    for lineno, raw in enumerate(data.split(b"\n"), 1):
        try:
            row = _sidecar_row(raw)
        except ValueError as e:  # also JSONDecodeError and UnicodeDecodeError
            raise UserError(f"{path}:{lineno}: bad sidecar line ({type(e).__name__}: {e}); "
                            'expected {"file": "rel/path.jpg", "texts": [...]}') from e
        if row is not None:
            out[Path(row["file"]).as_posix()] = row
    return out


def beside_texts(image: Path) -> list[str]:
    """`NAME.txt` next to an image: one text per non-empty line."""
    txt = image.with_suffix(".txt")
    if not txt.is_file():
        return []
    try:
        return [ln.strip() for ln in txt.read_text(encoding="utf-8", errors="replace").splitlines()
                if ln.strip()]
    except OSError:
        return []


@dataclass
class CaptionedSet:
    """The usable rows of a set folder's captions.jsonl: file on disk, at least one text."""

    name: str
    root: Path
    files: list[str]
    texts: list[list[str]]
    splits: list[str]
    problems: list[str] = field(default_factory=list)

    @property
    def paths(self) -> list[Path]:
        return [self.root / f for f in self.files]

    def __len__(self) -> int:
        return len(self.files)

    def subset(self, keep: Sequence[int] | np.ndarray) -> CaptionedSet:
        keep = [int(i) for i in keep]
        return CaptionedSet(self.name, self.root, [self.files[i] for i in keep],
                            [self.texts[i] for i in keep], [self.splits[i] for i in keep],
                            list(self.problems))

    def split(self, name: str) -> CaptionedSet:
        return self.subset([i for i, s in enumerate(self.splits) if s == name])

    def split_counts(self) -> dict[str, int]:
        return {s: self.splits.count(s) for s in sorted(set(self.splits))}


def load_set(root: str | Path, name: str | None = None) -> CaptionedSet:
    """Rows of `root/captions.jsonl` in file order; missing files and empty texts are reported."""
    root = Path(root)
    if not (root / SIDECAR_NAME).is_file():
        raise UserError(f"{root}: no {SIDECAR_NAME} (a captioned set folder needs one; see "
                        "docs/CONVENTIONS.md)")
    files, texts, splits, problems = [], [], [], []
    for rel, row in sorted(read_sidecar(root).items()):
        if not (root / rel).is_file():
            problems.append(f"{rel}: file not found")
        elif not row["texts"]:
            problems.append(f"{rel}: no text")
        else:
            files.append(rel)
            texts.append(list(dict.fromkeys(row["texts"])))
            splits.append(str(row.get("split") or ""))
    if not files:
        raise UserError(f"{root}: no usable rows in {SIDECAR_NAME} ({len(problems)} problems)")
    return CaptionedSet(name or root.name, root, files, texts, splits, problems)


def caption_key(text: str) -> str:
    """Texts that count as the same caption: case, spacing and a final full stop ignored."""
    return " ".join(text.lower().split()).rstrip(".").strip()


@dataclass
class Queries:
    """Retrieval ground truth for a set of images and their texts.

    Text queries are the distinct captions (by `caption_key`): one caption shared by several
    images is one query with several relevant images. Image queries have as relevant texts the
    distinct captions of that image.
    """

    texts: list[str]  # one representative text per distinct caption
    first: np.ndarray  # index into the original texts of each representative
    images_of_text: list[np.ndarray]  # relevant image indices per distinct caption
    texts_of_image: list[np.ndarray]  # relevant distinct-caption indices per image


def build_queries(texts: Sequence[str], owner: np.ndarray, n_images: int) -> Queries:
    groups: dict[str, int] = {}
    first: list[int] = []
    rel_images: list[set[int]] = []
    rel_texts: list[set[int]] = [set() for _ in range(n_images)]
    for j, (text, img) in enumerate(zip(texts, owner.tolist(), strict=True)):
        g = groups.setdefault(caption_key(text), len(groups))
        if g == len(first):
            first.append(j)
            rel_images.append(set())
        rel_images[g].add(img)
        rel_texts[img].add(g)
    if any(not r for r in rel_texts):
        raise UserError("every image needs at least one caption to be evaluated")
    return Queries([texts[j] for j in first], np.array(first, np.int64),
                   [np.array(sorted(r), np.int64) for r in rel_images],
                   [np.array(sorted(r), np.int64) for r in rel_texts])
