"""Files as they really are: more formats by default, special files and other extensions counted,
RAW beside JPEG indexed once, files that change or vanish during a build (issue: data safety, 4)."""

from __future__ import annotations

import os
from pathlib import Path

from core.index.build import build_index
from core.index.store import load_index
from core.ingest.crawl import DEFAULT_EXTENSIONS, RAW_BESIDE, SPECIAL, crawl

SPEC = "efficientnet:lite0"


def test_pillow_formats_beyond_jpeg_are_taken_by_default(tmp_path: Path, photos) -> None:
    """rclip's own fixtures include .jp2, .pnm, .pbm, .pgm and .ppm: Pillow opens all five."""
    rgb = photos["coffee"].convert("RGB").resize((64, 48))
    rgb.save(tmp_path / "a.jp2")
    rgb.save(tmp_path / "b.ppm")
    rgb.save(tmp_path / "c.pnm", format="PPM")
    rgb.convert("L").save(tmp_path / "d.pgm")
    rgb.convert("1").save(tmp_path / "e.pbm")
    assert {"jp2", "pnm", "pbm", "pgm", "ppm", "dng"} <= set(DEFAULT_EXTENSIONS)
    summary = build_index([tmp_path], SPEC, tmp_path.parent / "idx")
    assert summary.items == 5 and sum(summary.skipped.values()) == 0


def test_other_files_fifos_and_raw_beside_jpeg_are_counted(tmp_path: Path, photos) -> None:
    rgb = photos["rocket"].convert("RGB").resize((64, 48))
    rgb.save(tmp_path / "IMG_1.jpg")
    (tmp_path / "IMG_1.dng").write_bytes(b"raw sensor data")  # its JPEG is indexed instead
    (tmp_path / "IMG_1.txt").write_text("a rocket on its pad\n")  # a description: expected
    (tmp_path / "notes.docx").write_bytes(b"PK")
    (tmp_path / "clip.mov").write_bytes(b"\0" * 10)
    os.mkfifo(tmp_path / "pipe.jpg")  # a FIFO would block a reader forever
    result = crawl([tmp_path])
    assert [c.path.name for c in result.candidates] == ["IMG_1.jpg"]
    assert result.ignored == {RAW_BESIDE: 1, ".docx": 1, ".mov": 1, SPECIAL: 1}
    summary = build_index([tmp_path], SPEC, tmp_path.parent / "idx")
    assert summary.items == 1
    line = next(x for x in summary.lines() if x.startswith("ignored"))
    assert line.startswith("ignored (not image files): 4") and "RAW file beside" in line
    assert load_index(tmp_path.parent / "idx").manifest["counts"]["ignored"][SPECIAL] == 1


def test_a_file_that_vanishes_before_hashing_is_reported(tmp_path: Path, photos) -> None:
    for name in ("astronaut", "chelsea", "coffee"):
        photos[name].convert("RGB").resize((64, 48)).save(tmp_path / f"{name}.jpg")
    gone = tmp_path / "coffee.jpg"

    def progress(phase: str, done: int, total: int) -> None:
        if phase == "hash" and done == 1:
            gone.unlink()  # removed between the crawl and its turn to be hashed

    summary = build_index([tmp_path], SPEC, tmp_path.parent / "idx", progress=progress)
    assert summary.items == 2
    skipped = load_index(tmp_path.parent / "idx").skipped
    assert skipped == [{"path": str(gone), "reason": "unreadable: No such file or directory"}]


def test_an_in_place_edit_that_keeps_size_and_mtime_is_seen(tmp_path: Path, photos) -> None:
    """BMP is uncompressed: another picture of the same size is a same-size rewrite; the mtime is
    put back, so only the ctime (and the content) tell the edit."""
    target = tmp_path / "photo.bmp"
    photos["chelsea"].convert("RGB").resize((64, 48)).save(target)
    photos["rocket"].convert("RGB").resize((64, 48)).save(tmp_path / "other.bmp")
    out = tmp_path.parent / "idx"
    build_index([tmp_path], SPEC, out)
    before = load_index(out)
    old_hash = _hash_of(before, "photo.bmp")
    stat = target.stat()
    photos["coffee"].convert("RGB").resize((64, 48)).save(target)
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (target.stat().st_size, target.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    summary = build_index([tmp_path], SPEC, out)
    assert _hash_of(load_index(out), "photo.bmp") != old_hash
    assert (summary.new, summary.reused) == (1, 1)


def _hash_of(index, rel_path: str) -> str:
    return str(index.items.loc[index.items["rel_path"] == rel_path, "hash"].iloc[0])


def test_heic_svg_and_raw_are_opened_or_explained(tmp_path: Path, photos) -> None:
    """HEIC through pillow-heif, SVG through cairosvg; a RAW file without rawpy installed is
    listed with the install command (rawpy is an optional extra)."""
    import importlib.util

    photos["chelsea"].convert("RGB").resize((64, 48)).save(tmp_path / "phone.heic")
    (tmp_path / "drawing.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30">'
        '<rect width="40" height="30" fill="#d22"/><circle cx="20" cy="15" r="9" fill="#fff"/>'
        "</svg>")
    (tmp_path / "lonely.dng").write_bytes(b"II*\0 not really a DNG")
    summary = build_index([tmp_path], SPEC, tmp_path.parent / "idx")
    index = load_index(tmp_path.parent / "idx")
    assert sorted(index.items["rel_path"]) == ["drawing.svg", "phone.heic"]
    assert index.items.loc[index.items["rel_path"] == "phone.heic", "width"].iloc[0] == 64
    if importlib.util.find_spec("rawpy") is None:
        assert index.skipped == [{"path": str(tmp_path / "lonely.dng"),
                                  "reason": "camera RAW needs the optional rawpy package: "
                                            "pip install rawpy"}]
        assert summary.skipped == {"camera RAW needs the optional rawpy package": 1}
