"""Results out: CSV/JSON rows, a zip of the images, and `search --copy-to` with filters, on the
small real gallery of filter_gallery.py."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from filter_gallery import build_gallery_index, ids_of, make_gallery

from core.errors import UserError
from core.query.export import copy_results, free_name, images_zip, result_rows, to_csv, to_json

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def index(tmp_path_factory, photos):
    gallery = make_gallery(tmp_path_factory.mktemp("export") / "gallery", photos)
    return build_gallery_index(gallery, tmp_path_factory.mktemp("export-index") / "conse")


def test_rows_as_csv_and_json(index) -> None:
    cat, rocket = ids_of(index, "animals/chelsea.jpg", "space/rocket.jpg")
    rows = result_rows(index, [cat, rocket], [0.5, 0.25], relevance=[0.9, 0.1])
    assert [r["rank"] for r in rows] == [1, 2]
    assert rows[0]["rel_path"] == "animals/chelsea.jpg" and rows[0]["texts"] == ["a ginger cat"]
    assert json.loads(to_json(rows)) == rows
    table = list(csv.DictReader(io.StringIO(to_csv(rows).decode("utf-8"))))
    assert table[0]["path"].endswith("animals/chelsea.jpg") and table[0]["score"] == "0.5"
    assert table[0]["relevance"] == "0.9" and table[1]["texts"] == ""
    plain = list(csv.DictReader(io.StringIO(to_csv(result_rows(index, [cat], [0.5])).decode())))
    assert plain[0]["relevance"] == ""


def test_zip_holds_the_originals_by_name_without_clashes(index) -> None:
    cat, coffee = ids_of(index, "animals/chelsea.jpg", "objects/coffee.jpg")
    rows = result_rows(index, [cat, coffee, cat], [0.5, 0.4, 0.3])
    data = images_zip(index, [cat, coffee, cat], rows)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.namelist() == ["chelsea.jpg", "coffee.jpg", "chelsea-2.jpg", "results.csv"]
        original = Path(index.items.at[cat, "path"]).read_bytes()
        assert zf.read("chelsea.jpg") == original == zf.read("chelsea-2.jpg")
    assert free_name("a.jpg", {"a.jpg", "a-2.jpg"}) == "a-3.jpg"


def test_copy_never_overwrites(index, tmp_path: Path) -> None:
    cat, coffee = ids_of(index, "animals/chelsea.jpg", "objects/coffee.jpg")
    dest = tmp_path / "picked"
    dest.mkdir()
    (dest / "chelsea.jpg").write_bytes(b"someone else's file")
    done = copy_results(index, [cat, coffee], dest)
    assert [(c.status, c.target.name) for c in done] == [("renamed", "chelsea-2.jpg"),
                                                         ("copied", "coffee.jpg")]
    assert (dest / "chelsea.jpg").read_bytes() == b"someone else's file"
    again = copy_results(index, [cat, coffee], dest)
    assert [c.status for c in again] == ["already there", "already there"]
    assert sorted(p.name for p in dest.iterdir()) == ["chelsea-2.jpg", "chelsea.jpg",
                                                      "coffee.jpg"]
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(UserError, match="cannot copy into"):
        copy_results(index, [cat], tmp_path / "a-file" / "sub")


def run_cli(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def test_cli_search_with_filters_copies_the_results(index, tmp_path: Path) -> None:
    dest = tmp_path / "out"
    proc = run_cli("search", "--index", index.path, "a ginger cat", "-k", "2", "--folder",
                   "space", "--orientation", "landscape", "--copy-to", dest)
    assert proc.returncode == 0, proc.stderr
    hits = [ln.split()[-1] for ln in proc.stdout.splitlines() if ln[:3].strip().isdigit()]
    assert {Path(h).relative_to(index.items.at[0, "root"]).as_posix() for h in hits} == {
        "space/rocket.jpg", "space/deep/hubble.jpg"}  # the space landscapes (astronaut: square)
    assert sorted(p.name for p in dest.iterdir()) == ["hubble.jpg", "rocket.jpg"]
    assert f"copied 2 of 2 files to {dest}" in proc.stdout
    again = run_cli("search", "--index", index.path, "a ginger cat", "-k", "2", "--folder",
                    "space", "--orientation", "landscape", "--copy-to", dest)
    assert "copied 0 of 2 files" in again.stdout and again.stdout.count("already there") == 2
    cut = run_cli("search", "--index", index.path, "a ginger cat", "-k", "8", "--min-score",
                  "0.5", "--without-text")
    scores = [float(ln.split()[1]) for ln in cut.stdout.splitlines()]
    assert cut.returncode == 0 and all(s >= 0.5 for s in scores) and len(scores) <= 1
    none = run_cli("search", "--index", index.path, "a cat", "--taken-from", "2030-01-01")
    assert none.returncode == 0 and "no results" in none.stderr and none.stdout == ""
    bad = run_cli("search", "--index", index.path, "a cat", "--taken-from", "last week")
    assert bad.returncode == 2 and "must be a date like" in bad.stderr
