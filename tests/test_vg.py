"""`python -m core vg-index` on a tiny region_descriptions.json of the real format."""

from __future__ import annotations

import json

from conftest import PHOTO_TEXTS, bundled_photos

from core.cli import main
from core.encoders.registry import load_encoder
from core.eval.vg import link_folder
from core.index.store import load_index
from core.query.search import Query, search

IDS = {"chelsea": 11, "coffee": 12, "rocket": 13, "motorcycle": 14}


def write_vg(tmp_path, missing: int | None = None):
    root = tmp_path / "VG"
    (root / "VG_100K").mkdir(parents=True)
    photos = bundled_photos()
    entries = []
    for name, image_id in IDS.items():
        photos[name].convert("RGB").resize((160, 120)).save(root / "VG_100K" / f"{image_id}.jpg")
        entries.append({"id": image_id, "regions": [
            {"region_id": image_id * 10, "image_id": image_id, "phrase": PHOTO_TEXTS[name],
             "x": 1, "y": 2, "width": 30, "height": 40},
            {"region_id": image_id * 10 + 1, "image_id": image_id, "phrase": f"  {name} HERE ",
             "x": 0, "y": 0, "width": 5, "height": 5}]})
    if missing:
        entries.append({"id": missing, "regions": [{"image_id": missing, "phrase": "gone"}]})
    path = tmp_path / "region_descriptions.json"
    path.write_text(json.dumps(entries))
    return path, root


def test_vg_index_command_and_search(tmp_path, capsys) -> None:
    regions, root = write_vg(tmp_path, missing=99)
    out, links = tmp_path / "indexes" / "vg", tmp_path / "links"
    assert main(["vg-index", "--regions", str(regions), "--images", str(root), "--out", str(out),
                 "--links", str(links)]) == 0
    printed = capsys.readouterr().out
    assert "images: 4" in printed and "image not found" in printed
    index = load_index(out)
    assert index.spec == "captions:minilm" and index.n == 4
    row = index.item(int(index.items.index[index.items["rel_path"] == "11.jpg"][0]))
    assert row["texts"] == ["a ginger cat", "chelsea here"] and row["licence"] == "CC-BY-4.0"
    hits = search(load_encoder(index.spec), index, Query.text("a cat"), k=1)
    assert index.items.at[hits[0].id, "rel_path"] == "11.jpg"


def test_links_are_refreshed(tmp_path) -> None:
    regions, root = write_vg(tmp_path)
    links = tmp_path / "links"
    link_folder(regions, root, links)
    assert sorted(p.name for p in links.glob("*.jpg")) == ["11.jpg", "12.jpg", "13.jpg", "14.jpg"]
    link_folder(regions, root, links, limit=2, max_phrases=1)
    assert sorted(p.name for p in links.glob("*.jpg")) == ["11.jpg", "12.jpg"]
    rows = [json.loads(line) for line in (links / "captions.jsonl").read_text().splitlines()]
    assert rows[0]["texts"] == ["a ginger cat"] and rows[0]["key"] == "vg:11"
