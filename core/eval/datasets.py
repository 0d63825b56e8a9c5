"""Loaders for captioned-image datasets the user already has on disk (nothing is downloaded).

Karpathy split JSON (Flickr8k/Flickr30k/COCO) and Visual Genome region descriptions become
`CaptionedImage` records; `write_sidecar` turns them into a `captions.jsonl` so the normal
crawler/build indexes them like any other folder. Malformed files raise `UserError` naming the
file, the record and the key; images that are not on disk are returned in `Loaded.missing`
(never silently dropped) and loading fails if none is found.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from core.atomic import write_text
from core.errors import UserError

# Image counts of the standard Karpathy test splits (COCO 1K = 5 folds of the 5K test split).
STANDARD_TEST_SIZES: dict[str, int] = {"flickr8k": 1000, "flickr30k": 1000, "coco": 5000}
VG_SUBFOLDERS: tuple[str, ...] = ("", "VG_100K", "VG_100K_2")


@dataclass
class CaptionedImage:
    """One image and its descriptions; `key` is a dataset-unique id such as "coco:391895"."""

    path: Path
    texts: list[str]
    split: str
    key: str


class Loaded(NamedTuple):
    """Records whose image file exists, and records whose image file was not found."""

    records: list[CaptionedImage]
    missing: list[CaptionedImage]

    def report(self) -> str:
        """One line for logs and pages, e.g. "998 images, 2 missing (first: /x/a.jpg)"."""
        line = f"{len(self.records)} images, {len(self.missing)} missing"
        return line + (f" (first: {self.missing[0].path})" if self.missing else "")


def _read_json(path: Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: file not found")
    try:
        with path.open("rb") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        where = f"line {e.lineno} column {e.colno}"
        raise UserError(f"{path}: not valid JSON ({e.msg} at {where})") from e
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text ({e.reason})") from e


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _get(obj: Any, key: str, typ: type | tuple[type, ...], where: str, path: Path) -> Any:
    """obj[key] checked for presence and type, with an error that points at the record."""
    if not isinstance(obj, dict):
        raise UserError(f"{path}: {where} should be an object, got {_type_name(obj)}")
    if key not in obj:
        raise UserError(f"{path}: {where or 'top level'} has no '{key}'")
    value = obj[key]
    if not isinstance(value, typ) or (isinstance(value, bool) and bool not in _as_tuple(typ)):
        want = " or ".join(t.__name__ for t in _as_tuple(typ))
        label = f"{where}.{key}" if where else f"'{key}'"
        raise UserError(f"{path}: {label} should be {want}, got {_type_name(value)}")
    return value


def _as_tuple(typ: type | tuple[type, ...]) -> tuple[type, ...]:
    return typ if isinstance(typ, tuple) else (typ,)


def _split_out(records: list[CaptionedImage], source: Path) -> Loaded:
    """Separate records whose image exists; all missing means a wrong image root."""
    exists = [r.path.is_file() for r in records]
    found = [r for r, ok in zip(records, exists, strict=True) if ok]
    missing = [r for r, ok in zip(records, exists, strict=True) if not ok]
    if records and not found:
        raise UserError(
            f"{source}: none of the {len(records)} images was found "
            f"(first looked for {missing[0].path}); check the image folder"
        )
    return Loaded(found, missing)


def _split_set(split: str | Iterable[str] | None) -> set[str] | None:
    if split is None or split == "all":
        return None
    return {split} if isinstance(split, str) else set(split)


def load_karpathy(
    json_path: Path | str,
    image_root: Path | str,
    split: str | Iterable[str] | None = "test",
    limit: int | None = None,
) -> Loaded:
    """Images of the chosen split(s) of a Karpathy `dataset_*.json`, in file order.

    `split` is "train", "val", "test", "restval", several of them (COCO's usual training set is
    ("train", "restval")), or None/"all". Image paths are `image_root/filepath/filename` (COCO)
    or `image_root/filename`; a flat COCO folder (`image_root/filename`) is accepted too.
    Texts are the sentences' "raw" strings (tokens joined by spaces when "raw" is absent).
    `limit` keeps the first N images of the split, as the 1K/5K test conventions do.
    """
    json_path, image_root = Path(json_path), Path(image_root)
    data = _read_json(json_path)
    if not isinstance(data, dict):
        raise UserError(f"{json_path}: expected an object with 'images', got {_type_name(data)}")
    images = _get(data, "images", list, "", json_path)
    dataset = data.get("dataset", "")
    dataset = dataset if isinstance(dataset, str) and dataset else json_path.stem
    dataset = dataset.removeprefix("dataset_")
    wanted = _split_set(split)
    records: list[CaptionedImage] = []
    for i, img in enumerate(images):
        where = f"images[{i}]"
        img_split = _get(img, "split", str, where, json_path)
        if wanted is not None and img_split not in wanted:
            continue
        filename = _get(img, "filename", str, where, json_path)
        sentences = _get(img, "sentences", list, where, json_path)
        texts = [_sentence_text(s, f"{where}.sentences[{j}]", json_path)
                 for j, s in enumerate(sentences)]
        image_id = img.get("cocoid", img.get("imgid", i))
        path = image_root / filename
        if "filepath" in img:
            filepath = _get(img, "filepath", str, where, json_path)
            nested = image_root / filepath / filename
            path = nested if nested.is_file() or not path.is_file() else path
        records.append(CaptionedImage(path, [t for t in texts if t], img_split,
                                      f"{dataset}:{image_id}"))
        if limit is not None and len(records) >= limit:
            break
    if not records:
        raise UserError(f"{json_path}: no images in split {split!r}")
    return _split_out(records, json_path)


def _sentence_text(sentence: Any, where: str, path: Path) -> str:
    if isinstance(sentence, dict) and "raw" in sentence:
        return _get(sentence, "raw", str, where, path).strip()
    tokens = _get(sentence, "tokens", list, where, path)
    if not all(isinstance(t, str) for t in tokens):
        raise UserError(f"{path}: {where}.tokens should be a list of strings")
    return " ".join(tokens).strip()


def coco_1k_folds(
    records: list[CaptionedImage], fold_size: int = 1000, n_folds: int = 5
) -> list[list[CaptionedImage]]:
    """The COCO 1K protocol: the 5K test split cut into 5 consecutive folds of 1000 images.

    Report the metrics averaged over the folds. The records must be the whole 5K test split in
    file order (`load_karpathy(..., split="test")`), with no images missing.
    """
    if len(records) != fold_size * n_folds:
        raise UserError(
            f"COCO 1K folds need the {fold_size * n_folds}-image test split, got {len(records)} "
            "images (are some missing, or was a limit or another split used?)"
        )
    return [records[i * fold_size : (i + 1) * fold_size] for i in range(n_folds)]


def normalise_phrase(phrase: str) -> str:
    """Lower-case, strip and collapse inner whitespace, so near-identical phrases merge."""
    return " ".join(phrase.lower().split())


def _vg_image_index(image_root: Path) -> dict[str, Path]:
    """stem -> path for JPEGs in image_root and its VG_100K / VG_100K_2 folders (one listing)."""
    index: dict[str, Path] = {}
    for sub in VG_SUBFOLDERS:
        folder = image_root / sub if sub else image_root
        if not folder.is_dir():
            continue
        with os.scandir(folder) as it:
            for entry in it:
                stem, ext = os.path.splitext(entry.name)
                if ext.lower() in (".jpg", ".jpeg") and stem not in index:
                    index[stem] = Path(entry.path)
    return index


def load_visual_genome(
    regions_json: Path | str,
    image_root: Path | str,
    limit: int | None = None,
    max_phrases: int | None = None,
) -> Loaded:
    """Images of Visual Genome `region_descriptions.json`, texts = their region phrases.

    Phrases are normalised (`normalise_phrase`), empty ones dropped and duplicates removed with
    the first occurrence's order kept; `max_phrases` keeps the first N. Images are looked up as
    `<image_id>.jpg` in `image_root`, `image_root/VG_100K` or `image_root/VG_100K_2`. VG has no
    official split, so `split` is "".
    """
    regions_json, image_root = Path(regions_json), Path(image_root)
    data = _read_json(regions_json)
    if not isinstance(data, list):
        raise UserError(f"{regions_json}: expected a list of images, got {_type_name(data)}")
    index = _vg_image_index(image_root)
    records: list[CaptionedImage] = []
    for i, entry in enumerate(data[:limit] if limit is not None else data):
        where = f"[{i}]"
        regions = _get(entry, "regions", list, where, regions_json)
        if "id" in entry:
            image_id = _get(entry, "id", int, where, regions_json)
        elif regions:
            image_id = _get(regions[0], "image_id", int, f"{where}.regions[0]", regions_json)
        else:
            raise UserError(f"{regions_json}: {where} has no 'id'")
        texts: dict[str, None] = {}
        for j, region in enumerate(regions):
            phrase = _get(region, "phrase", str, f"{where}.regions[{j}]", regions_json)
            if norm := normalise_phrase(phrase):
                texts.setdefault(norm)
        phrases = list(texts)[:max_phrases] if max_phrases is not None else list(texts)
        path = index.get(str(image_id), image_root / f"{image_id}.jpg")
        records.append(CaptionedImage(path, phrases, "", f"vg:{image_id}"))
    if not records:
        raise UserError(f"{regions_json}: no images listed")
    return _split_out(records, regions_json)


def write_sidecar(
    records: Iterable[CaptionedImage],
    root: Path | str,
    source: str = "",
    licence: str = "",
    overwrite: bool = False,
) -> Path:
    """Write `root/captions.jsonl` (format in docs/CONVENTIONS.md) for these records.

    File paths are written relative to `root`, so every image must lie under it; the record's
    `key` is kept as an extra field. Refuses to replace an existing file unless `overwrite`.
    """
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{root}: not a folder")
    out = root / "captions.jsonl"
    if out.exists() and not overwrite:
        raise UserError(f"{out} already exists; pass overwrite=True to replace it")
    resolved_root = root.resolve()
    lines = []
    for r in records:
        try:
            rel = Path(r.path).resolve().relative_to(resolved_root)
        except ValueError:
            raise UserError(f"{r.path} ({r.key}) is not inside {root}") from None
        row: dict[str, Any] = {"file": rel.as_posix(), "texts": list(r.texts)}
        if source:
            row["source"] = source
        if licence:
            row["licence"] = licence
        if r.split:
            row["split"] = r.split
        row["key"] = r.key
        lines.append(json.dumps(row, ensure_ascii=False))
    write_text(out, "".join(line + "\n" for line in lines))
    return out
