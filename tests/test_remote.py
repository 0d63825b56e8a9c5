"""core.ingest.remote: `build --images URI` mirrors an object store (here a file:// URI through
pyarrow's filesystem) into a local folder, copies only what changed, and builds from it."""

from __future__ import annotations

import shutil
from pathlib import Path

from core.cli import main
from core.index.store import load_index
from core.ingest.remote import MIRROR_ENV, is_uri, mirror


def test_a_uri_is_mirrored_once_then_only_what_changed(tmp_path: Path, photo_dir: Path) -> None:
    source = tmp_path / "bucket" / "photos"
    shutil.copytree(photo_dir, source)
    uri = source.as_uri()
    assert is_uri(uri) and not is_uri(str(source))
    folder, copied = mirror(uri, tmp_path / "mirror")
    names = sorted(p.name for p in source.iterdir())
    assert copied == len(names) and sorted(p.name for p in folder.iterdir()) == names
    assert (folder / names[0]).read_bytes() == (source / names[0]).read_bytes()
    assert mirror(uri, tmp_path / "mirror") == (folder, 0)
    (source / "captions.jsonl").write_text("", encoding="utf-8")
    assert mirror(uri, tmp_path / "mirror") == (folder, 1)
    assert (folder / "captions.jsonl").read_text(encoding="utf-8") == ""


def test_build_from_a_uri(tmp_path: Path, photo_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv(MIRROR_ENV, str(tmp_path / "mirror"))
    out = tmp_path / "idx"
    assert main(["build", "--images", photo_dir.as_uri(), "--model", "conse:lite0",
                 "--out", str(out)]) == 0
    index = load_index(out)
    jpgs = sorted(p.name for p in photo_dir.glob("*.jpg"))
    assert sorted(Path(p).name for p in index.items["path"]) == jpgs
    assert all(str(tmp_path / "mirror") in p for p in index.items["path"])
