"""Dataset loaders on tiny files of the real formats, with real (tiny) JPEGs the tests make."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from core.errors import UserError
from core.eval.datasets import (
    CaptionedImage,
    coco_1k_folds,
    load_karpathy,
    load_visual_genome,
    normalise_phrase,
    write_sidecar,
)


def make_jpeg(path: Path, colour: tuple[int, int, int] = (200, 30, 30)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 6), colour).save(path, "JPEG")
    return path


def sentences(*raws: str) -> list[dict]:
    return [{"raw": r, "tokens": r.lower().rstrip(".").split(), "imgid": 0, "sentid": i}
            for i, r in enumerate(raws)]


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def flickr(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "flickr30k-images"
    images = []
    for i, split in enumerate(["train", "test", "val", "test", "test"]):
        name = f"10{i}.jpg"
        make_jpeg(root / name, (40 * i, 10, 10))
        images.append({"filename": name, "imgid": i, "split": split, "sentids": [2 * i, 2 * i + 1],
                       "sentences": sentences(f"A dog number {i}. ", f"Image {i} caption two.")})
    return write_json(tmp_path / "dataset_flickr30k.json",
                      {"images": images, "dataset": "flickr30k"}), root


def test_flickr30k_test_split(flickr: tuple[Path, Path]) -> None:
    json_path, root = flickr
    loaded = load_karpathy(json_path, root, split="test")
    assert [r.key for r in loaded.records] == ["flickr30k:1", "flickr30k:3", "flickr30k:4"]
    first = loaded.records[0]
    assert first == CaptionedImage(root / "101.jpg", ["A dog number 1.", "Image 1 caption two."],
                                   "test", "flickr30k:1")
    assert loaded.missing == []
    assert loaded.report() == "3 images, 0 missing"
    assert len(load_karpathy(json_path, root, split="test", limit=2).records) == 2
    assert len(load_karpathy(json_path, root, split=None).records) == 5
    assert len(load_karpathy(json_path, root, split=("train", "val")).records) == 2


def test_missing_images_are_reported_not_dropped(flickr: tuple[Path, Path]) -> None:
    json_path, root = flickr
    (root / "103.jpg").unlink()
    loaded = load_karpathy(json_path, root, split="test")
    assert [r.key for r in loaded.records] == ["flickr30k:1", "flickr30k:4"]
    assert [r.path.name for r in loaded.missing] == ["103.jpg"]
    assert "1 missing" in loaded.report() and "103.jpg" in loaded.report()
    with pytest.raises(UserError, match="none of the 3 images was found"):
        load_karpathy(json_path, root / "wrong", split="test")


def test_coco_filepath_tokens_fallback_and_folds(tmp_path: Path) -> None:
    root = tmp_path / "coco"
    images = []
    for i in range(6):
        sub = "val2014" if i % 2 else "train2014"
        name = f"COCO_{sub}_{i:012d}.jpg"
        if i == 5:  # some users keep all images in one flat folder
            make_jpeg(root / name)
        else:
            make_jpeg(root / sub / name)
        sents = sentences(f"A cat {i}.") + [{"tokens": ["a", "red", "bus"], "sentid": 99}]
        images.append({"filepath": sub, "filename": name, "imgid": i, "cocoid": 1000 + i,
                       "split": "test" if i < 4 else "restval", "sentences": sents})
    json_path = write_json(tmp_path / "dataset_coco.json", {"images": images, "dataset": "coco"})
    test = load_karpathy(json_path, root, split="test").records
    assert [r.key for r in test] == ["coco:1000", "coco:1001", "coco:1002", "coco:1003"]
    assert test[1].path == root / "val2014" / "COCO_val2014_000000000001.jpg"
    assert test[0].texts == ["A cat 0.", "a red bus"]
    rest = load_karpathy(json_path, root, split="restval").records
    assert rest[1].path == root / "COCO_val2014_000000000005.jpg"

    folds = coco_1k_folds(test, fold_size=2, n_folds=2)
    assert [[r.key for r in f] for f in folds] == [["coco:1000", "coco:1001"],
                                                   ["coco:1002", "coco:1003"]]
    with pytest.raises(UserError, match="need the 5000-image test split, got 4"):
        coco_1k_folds(test)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "expected an object with 'images', got list"),
        ({"dataset": "coco"}, "top level has no 'images'"),
        ({"images": {"a": 1}}, "'images' should be list, got dict"),
        ({"images": [{"split": "test", "sentences": []}]}, r"images\[0\] has no 'filename'"),
        ({"images": [{"split": "test", "filename": "a.jpg", "sentences": "A dog."}]},
         r"images\[0\].sentences should be list, got str"),
        ({"images": [{"split": "test", "filename": "a.jpg",
                      "sentences": [{"raw": "ok"}, {"raw": 5}]}]},
         r"images\[0\].sentences\[1\].raw should be str, got int"),
        ({"images": [{"split": "test", "filename": "a.jpg", "sentences": [{"sentid": 1}]}]},
         r"images\[0\].sentences\[0\] has no 'tokens'"),
        ({"images": ["a.jpg"]}, r"images\[0\] should be an object, got str"),
        ({"images": [{"split": "train", "filename": "a.jpg", "sentences": []}]},
         "no images in split 'test'"),
    ],
)
def test_karpathy_malformed(tmp_path: Path, data: object, message: str) -> None:
    json_path = write_json(tmp_path / "dataset_bad.json", data)
    with pytest.raises(UserError, match=message) as err:
        load_karpathy(json_path, tmp_path)
    assert str(json_path) in str(err.value) and "\n" not in str(err.value)


def test_bad_json_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "dataset_flickr30k.json"
    bad.write_text('{"images": [{"filename": "a.jpg",}]}', encoding="utf-8")
    with pytest.raises(UserError, match=r"dataset_flickr30k.json: not valid JSON \(.* line 1"):
        load_karpathy(bad, tmp_path)
    with pytest.raises(UserError, match="nope.json: file not found"):
        load_visual_genome(tmp_path / "nope.json", tmp_path)


@pytest.fixture
def visual_genome(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "vg"
    make_jpeg(root / "VG_100K" / "1.jpg")
    make_jpeg(root / "VG_100K_2" / "2.jpg", (0, 0, 255))
    make_jpeg(root / "3.jpg", (0, 255, 0))

    def region(image_id: int, rid: int, phrase: str) -> dict:
        return {"region_id": rid, "image_id": image_id, "phrase": phrase,
                "x": 1, "y": 2, "width": 3, "height": 4}

    data = [
        {"id": 1, "regions": [region(1, 10, "The clock is green in colour"),
                              region(1, 11, "  the clock is GREEN in  colour "),
                              region(1, 12, "shade is along the street "),
                              region(1, 13, "   "),
                              region(1, 14, "Man walking")]},
        {"id": 2, "regions": [region(2, 20, "A blue sky.")]},
        {"regions": [region(3, 30, "grass")]},  # some dumps give the id only per region
        {"id": 4, "regions": [region(4, 40, "no image for this one")]},
    ]
    return write_json(tmp_path / "region_descriptions.json", data), root


def test_visual_genome(visual_genome: tuple[Path, Path]) -> None:
    json_path, root = visual_genome
    loaded = load_visual_genome(json_path, root)
    by_key = {r.key: r for r in loaded.records}
    assert list(by_key) == ["vg:1", "vg:2", "vg:3"]
    assert by_key["vg:1"].texts == ["the clock is green in colour", "shade is along the street",
                                    "man walking"]
    assert by_key["vg:1"].path == root / "VG_100K" / "1.jpg"
    assert by_key["vg:2"].path == root / "VG_100K_2" / "2.jpg"
    assert by_key["vg:3"].path == root / "3.jpg" and by_key["vg:3"].split == ""
    assert [r.key for r in loaded.missing] == ["vg:4"]
    assert load_visual_genome(json_path, root, max_phrases=2).records[0].texts == [
        "the clock is green in colour", "shade is along the street"]
    assert len(load_visual_genome(json_path, root, limit=2).records) == 2
    assert normalise_phrase("  A  Big\tDog ") == "a big dog"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"id": 1}, "expected a list of images, got dict"),
        ([{"id": 1}], r"\[0\] has no 'regions'"),
        ([{"id": "1", "regions": []}], r"\[0\].id should be int, got str"),
        ([{"id": 1, "regions": []}, {"regions": []}], r"\[1\] has no 'id'"),
        ([{"id": 1, "regions": [{"phrase": None}]}], r"\[0\].regions\[0\].phrase should be str"),
        ([{"id": 1, "regions": [{"image_id": 1}]}], r"\[0\].regions\[0\] has no 'phrase'"),
    ],
)
def test_visual_genome_malformed(tmp_path: Path, data: object, message: str) -> None:
    json_path = write_json(tmp_path / "region_descriptions.json", data)
    with pytest.raises(UserError, match=message):
        load_visual_genome(json_path, tmp_path)


def test_write_sidecar(flickr: tuple[Path, Path]) -> None:
    json_path, root = flickr
    records = load_karpathy(json_path, root, split="test").records
    out = write_sidecar(records, root, source="Flickr30k (Karpathy split)")
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert out == root / "captions.jsonl" and len(rows) == 3
    assert rows[0] == {"file": "101.jpg", "texts": ["A dog number 1.", "Image 1 caption two."],
                       "source": "Flickr30k (Karpathy split)", "split": "test",
                       "key": "flickr30k:1"}
    with pytest.raises(UserError, match="already exists"):
        write_sidecar(records, root)
    write_sidecar(records[:1], root, overwrite=True)
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1
    with pytest.raises(UserError, match="is not inside"):
        write_sidecar([CaptionedImage(json_path, ["x"], "test", "k")], root, overwrite=True)


def test_write_sidecar_nested_paths(visual_genome: tuple[Path, Path]) -> None:
    json_path, root = visual_genome
    out = write_sidecar(load_visual_genome(json_path, root).records, root, licence="CC BY 4.0")
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["file"] for r in rows] == ["VG_100K/1.jpg", "VG_100K_2/2.jpg", "3.jpg"]
    assert all("split" not in r and r["licence"] == "CC BY 4.0" for r in rows)
