"""Tests for core.ingest.crawl (and the build's skip reporting) on a messy real folder."""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import UserError
from core.ingest.crawl import crawl, file_hash
from core.ingest.sidecar import read_sidecar

BOMB_SIDE = 12_000
NON_UTF8_NAME = b"latin\xe9.jpg"
GOOD = {"cat.jpg", "COFFEE.JPG", "palette.png", "cmyk.jpg", "deep16.png", "anim.gif",
        "café 猫.jpg", "sub/astronaut.png"}
BAD = {"corrupt.jpg": "corrupt or truncated image", "empty.jpg": "empty file",
       "notes.jpg": "not an image", "bomb.png": "too many pixels"}


def bomb_png(path: Path, side: int = BOMB_SIDE) -> None:
    """A valid all-black 1-bit PNG of side x side pixels that compresses to a few KB."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    rows = (b"\x00" + bytes((side + 7) // 8)) * 1000  # filter byte + packed row, 1000 rows
    comp = zlib.compressobj(9)
    body = b"".join(comp.compress(rows) for _ in range(side // 1000)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body)
                     + chunk(b"IEND", b""))


def _tiny(img: Image.Image, width: int = 48) -> Image.Image:
    img = img.convert("RGB")
    return img.resize((width, max(1, round(img.height * width / img.width))))


@pytest.fixture(scope="module")
def messy(tmp_path_factory, photos) -> Path:
    """Good images of every awkward kind, bad files, hidden/system folders and a symlink loop."""
    root = tmp_path_factory.mktemp("messy") / "root"
    (root / "sub").mkdir(parents=True)
    _tiny(photos["chelsea"]).save(root / "cat.jpg")
    (root / "cat.txt").write_text("a ginger cat\n\n  sitting  \n", encoding="utf-8")
    _tiny(photos["coffee"]).save(root / "COFFEE.JPG", "JPEG")
    pal = Image.new("P", (16, 16), 0)
    pal.putpalette([0, 90, 200, 250, 250, 0] + [0] * 762)
    pal.paste(1, (0, 0, 8, 8))
    pal.info["transparency"] = 1
    pal.save(root / "palette.png")
    _tiny(photos["flower"]).convert("CMYK").save(root / "cmyk.jpg")
    grad = (np.linspace(0, 65535, 32)[None, :].repeat(24, 0)).astype(np.uint16)
    Image.fromarray(grad).save(root / "deep16.png")
    frames = [_tiny(photos[n], 32) for n in ("rocket", "hubble")]
    frames[0].save(root / "anim.gif", save_all=True, append_images=frames[1:], duration=80)
    _tiny(photos["rocket"]).save(root / "café 猫.jpg")
    _tiny(photos["astronaut"]).save(root / "sub" / "astronaut.png")
    (root / "sub" / "loop").symlink_to("..", target_is_directory=True)  # loop to its parent

    whole = root.parent / "whole.jpg"
    photos["chelsea"].save(whole, quality=90)
    data = whole.read_bytes()
    (root / "corrupt.jpg").write_bytes(data[: len(data) // 2])
    (root / "empty.jpg").write_bytes(b"")
    (root / "notes.jpg").write_text("shopping list: milk, eggs\n", encoding="utf-8")
    bomb_png(root / "bomb.png")
    (root / "broken.jpg").symlink_to(root / "gone.jpg")
    with open(os.fsencode(root) + b"/" + NON_UTF8_NAME, "wb") as fh:
        fh.write((root / "cat.jpg").read_bytes())
    (root / "readme.md").write_text("not an image extension\n", encoding="utf-8")
    for hidden in (".hidden/h.jpg", "__MACOSX/m.jpg", "node_modules/n.jpg", "@eaDir/e.jpg",
                   ".dot.jpg"):
        (root / hidden).parent.mkdir(exist_ok=True)
        _tiny(photos["china"]).save(root / hidden)
    rows = [{"file": "cat.jpg", "texts": ["a cat on a sofa", "a ginger cat"],
             "source": "scikit-image", "licence": "BSD-3-Clause", "photographer": "S. van der W."},
            {"file": "sub/astronaut.png", "texts": "an astronaut", "split": "test"},
            {"file": "./COFFEE.JPG", "texts": [], "category": "drink"},
            {"file": "not/there.jpg", "texts": ["ignored"]}]
    (root / "captions.jsonl").write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def messy_index(messy, tmp_path_factory):
    from core.index.build import build_index
    from core.index.store import load_index

    out = tmp_path_factory.mktemp("messy_index") / "messy"
    summary = build_index([messy], "efficientnet:lite0", out)
    return summary, load_index(out)


def test_bomb_fixture_is_a_real_small_png(messy: Path) -> None:
    assert (messy / "bomb.png").stat().st_size < 100_000
    with pytest.warns(Image.DecompressionBombWarning), Image.open(messy / "bomb.png") as img:
        assert img.size == (BOMB_SIDE, BOMB_SIDE) and img.mode == "1"


def test_crawl_finds_candidates_and_skips_hidden_system_and_loops(messy: Path) -> None:
    result = crawl([messy])
    rels = [c.rel_path for c in result.candidates]
    assert sorted(rels) == sorted(GOOD | set(BAD))  # each once despite the symlink loop
    reasons = {Path(p.path).name: p.reason for p in result.problems}
    assert reasons["broken.jpg"] == "broken symbolic link"
    bad_name = [r for n, r in reasons.items() if n.startswith("latin")]
    assert bad_name == ["file name not valid UTF-8 (rename it)"]
    for c in result.candidates:
        assert c.size == c.path.stat().st_size and c.root == messy.absolute()


def test_extension_filter_is_case_insensitive(messy: Path) -> None:
    jpgs = {c.rel_path for c in crawl([messy], ["JPG"]).candidates}
    assert jpgs == {"cat.jpg", "COFFEE.JPG", "cmyk.jpg", "café 猫.jpg", "corrupt.jpg",
                    "empty.jpg", "notes.jpg"}
    pngs = {c.rel_path for c in crawl([messy], [".Png", " "]).candidates}
    assert pngs == {"palette.png", "deep16.png", "sub/astronaut.png", "bomb.png"}


def test_sidecar_and_beside_texts_are_attached(messy: Path) -> None:
    by_rel = {c.rel_path: c for c in crawl([messy]).candidates}
    cat = by_rel["cat.jpg"]
    assert cat.texts == ["a cat on a sofa", "a ginger cat", "sitting"]  # no duplicate line
    assert cat.meta["source"] == "scikit-image" and cat.meta["licence"] == "BSD-3-Clause"
    assert cat.meta["extra"] == {"photographer": "S. van der W."}
    assert by_rel["sub/astronaut.png"].texts == ["an astronaut"]
    assert by_rel["sub/astronaut.png"].meta == {"split": "test"}
    assert by_rel["COFFEE.JPG"].meta == {"category": "drink"} and by_rel["COFFEE.JPG"].texts == []
    assert by_rel["palette.png"].texts == [] and by_rel["palette.png"].meta == {}


def test_build_over_messy_folder_indexes_good_files_and_reports_bad_ones(messy_index) -> None:
    summary, index = messy_index
    assert sorted(index.items["rel_path"]) == sorted(GOOD)
    skipped = {Path(s["path"]).name: s["reason"] for s in index.skipped}
    for name, reason in BAD.items():
        assert skipped[name].startswith(reason), (name, skipped[name])
    assert skipped["broken.jpg"] == "broken symbolic link"
    assert any(n.startswith("latin") and "UTF-8" in r for n, r in skipped.items())
    assert len(skipped) == len(BAD) + 2
    assert summary.skipped == {"corrupt or truncated image": 1, "empty file": 1,
                               "not an image": 1, "too many pixels": 1,
                               "broken symbolic link": 1, "file name not valid UTF-8": 1}
    lines = "\n".join(summary.lines())
    assert "skipped: 6" in lines and "1 x too many pixels" in lines
    assert index.manifest["counts"]["skipped_by_reason"]["empty file"] == 1
    row = index.item(int(np.flatnonzero(index.items["rel_path"] == "sub/astronaut.png")[0]))
    assert row["texts"] == ["an astronaut"] and row["split"] == "test"
    assert (row["width"], row["height"]) == (48, 48)
    cat = index.item(int(np.flatnonzero(index.items["rel_path"] == "cat.jpg")[0]))
    assert json.loads(cat["extra"]) == {"photographer": "S. van der W."}
    assert cat["licence"] == "BSD-3-Clause" and len(cat["texts"]) == 3
    for i in range(index.n):
        assert index.thumb_path(i).is_file()


def test_symlinked_folder_is_followed_and_file_seen_once_across_roots(tmp_path: Path,
                                                                      photos) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    _tiny(photos["china"]).save(outside / "temple.jpg")
    root = tmp_path / "root"
    root.mkdir()
    (root / "linked").symlink_to(outside, target_is_directory=True)
    cands = crawl([root, outside]).candidates
    assert [c.rel_path for c in cands] == ["linked/temple.jpg"]


def test_skip_folders_are_not_entered(messy: Path) -> None:
    rels = {c.rel_path for c in crawl([messy], skip=[messy / "sub"]).candidates}
    assert "sub/astronaut.png" not in rels and "cat.jpg" in rels


def test_missing_root_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="image folder not found"):
        crawl([tmp_path / "nope"])


@pytest.mark.parametrize(
    "bad_line",
    [b"{not json", b"[1, 2]", b'{"texts": ["no file key"]}', b'{"file": 7}',
     b'{"file": "a.jpg", "texts": 5}', b'{"file": "a.jpg", "texts": {"x": 1}}',
     b'{"file": "a.jpg", "texts": ["caf\xe9"]}'],
)
def test_malformed_sidecar_line_names_file_and_line(tmp_path: Path, bad_line: bytes) -> None:
    Image.new("RGB", (4, 4)).save(tmp_path / "a.jpg")
    good = json.dumps({"file": "a.jpg", "texts": ["fine"]}).encode()
    (tmp_path / "captions.jsonl").write_bytes(good + b"\n\n" + bad_line + b"\n")
    with pytest.raises(UserError) as err:
        crawl([tmp_path])
    msg = str(err.value)
    assert f"{tmp_path / 'captions.jsonl'}:3:" in msg and "\n" not in msg


def test_sidecar_tolerates_bom_crlf_and_null_texts(tmp_path: Path) -> None:
    lines = ['{"file": "a.jpg", "texts": ["one", null, "  ", "two"]}',
             '{"file": "b.jpg", "texts": null, "source": "s"}']
    (tmp_path / "captions.jsonl").write_bytes(("\ufeff" + "\r\n".join(lines)).encode())
    rows = read_sidecar(tmp_path)
    assert rows["a.jpg"]["texts"] == ["one", "two"]
    assert rows["b.jpg"]["texts"] == [] and rows["b.jpg"]["source"] == "s"


def test_file_hash_is_content_hash(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"x" * 3_000_000)
    (tmp_path / "b").write_bytes(b"x" * 3_000_000)
    (tmp_path / "c").write_bytes(b"x" * 2_999_999 + b"y")
    assert file_hash(tmp_path / "a") == file_hash(tmp_path / "b") != file_hash(tmp_path / "c")
    assert len(file_hash(tmp_path / "a", chunk=1000)) == 40
