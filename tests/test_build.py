"""Tests for core.index.build and core.index.store: staged, incremental, validated index folders."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import PHOTO_TEXTS, unit_rows

import core.index.build
import core.index.reuse
from core.encoders.registry import load_encoder
from core.errors import UserError
from core.index.build import NO_TEXT, build_index
from core.index.catalogue import scan_indexes
from core.index.info import describe_index, index_facts
from core.index.store import FILES, SCHEMA_VERSION, load_index
from core.ingest.images import open_image
from core.query.duplicates import collapse_duplicates
from core.query.search import Query, search

SPEC = "efficientnet:lite0"
NAMES = ("astronaut", "chelsea", "coffee", "rocket", "flower")


def _save(photos, name: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    photos[name].convert("RGB").resize((64, 48)).save(path, quality=90)


@pytest.fixture
def small_dir(tmp_path: Path, photos) -> Path:
    """Five small real photos with a captions.jsonl sidecar."""
    folder = tmp_path / "imgs"
    for name in NAMES:
        _save(photos, name, folder / f"{name}.jpg")
    with (folder / "captions.jsonl").open("w", encoding="utf-8") as fh:
        for name in NAMES:
            fh.write(json.dumps({"file": f"{name}.jpg", "texts": [PHOTO_TEXTS[name]]}) + "\n")
    return folder


PROBE = 1  # every build also encodes the fingerprint probe (core.index.fingerprint)


@pytest.fixture
def counted(monkeypatch):
    """How many images the (real) EfficientNet encoder embeds."""
    enc = load_encoder(SPEC)
    calls: list[int] = []
    original = enc.encode_images

    def counting(images):
        calls.append(len(images))
        return original(images)

    monkeypatch.setattr(enc, "encode_images", counting)
    return calls


def _leftovers(out: Path) -> list[str]:
    """Hidden siblings of `out` other than its lock file and its published versions."""
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")
                  and p.name != f".{out.name}.lock" and not p.name.startswith(f".{out.name}.v-"))


def test_build_writes_a_complete_consistent_index(small_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "idx"
    summary = build_index([small_dir], SPEC, out)
    assert (summary.items, summary.new, summary.reused, summary.removed) == (5, 5, 0, 0)
    assert all((out / f).exists() for k, f in FILES.items() if k != "lance")
    assert _leftovers(out) == []
    index = load_index(out, expect_spec=SPEC)
    m = index.manifest
    assert m["schema_version"] == SCHEMA_VERSION and m["metric"] == "cosine"
    assert m["encoder"]["spec"] == SPEC and m["dim"] == 1280 == index.dim
    assert m["counts"]["items"] == 5 and m["counts"]["with_text"] == 5
    assert m["settings"]["trees"] == core.index.build.DEFAULT_TREES
    assert m["roots"] == [str(small_dir)] and "torch" in m["versions"]
    assert index.embeddings.dtype == np.float32 and unit_rows(index.embeddings)
    assert sorted(index.items["rel_path"]) == sorted(f"{n}.jpg" for n in NAMES)
    enc = load_encoder(SPEC)
    for i in range(index.n):  # row i of the table is embedding row i
        row = index.item(i)
        img, size = open_image(row["path"])
        assert size == (row["width"], row["height"]) == (64, 48)
        np.testing.assert_allclose(index.embeddings[i], enc.encode_images([img])[0], atol=1e-4)
        assert index.thumb_path(i).is_file()
        assert row["texts"] == [PHOTO_TEXTS[Path(row["path"]).stem]]
    assert [e.path for e in scan_indexes(tmp_path)] == [out]
    lines = summary.lines()
    assert lines[1].startswith("images: 5  new: 5  reused: 0") and "skipped: 0" in lines
    facts = index_facts(index)
    assert facts["images"] == 5 and facts["model"] == SPEC and "warning" not in facts
    assert any(line.startswith("roots: ") for line in describe_index(index))


def test_interrupted_build_leaves_the_earlier_index_intact(small_dir: Path, tmp_path: Path,
                                                           photos) -> None:
    out = tmp_path / "idx"
    build_index([small_dir], SPEC, out)
    before = load_index(out)
    manifest = (out / FILES["manifest"]).read_text()
    thumbs = sorted(p.name for p in (out / FILES["thumbs"]).iterdir())
    _save(photos, "china", small_dir / "china.jpg")
    (small_dir / "rocket.jpg").unlink()
    phases: list[str] = []

    def interrupt(phase: str, done: int, total: int) -> None:
        phases.append(phase)
        if phase == "encode":
            raise KeyboardInterrupt

    threads = set(threading.enumerate())
    with pytest.raises(KeyboardInterrupt):
        build_index([small_dir], SPEC, out, progress=interrupt, batch_size=1)
    assert "hash" in phases and phases[-1] == "encode"
    assert [t for t in threading.enumerate() if t not in threads] == []  # decoders stopped
    after = load_index(out)
    pd.testing.assert_frame_equal(after.items, before.items)
    np.testing.assert_array_equal(after.embeddings, before.embeddings)
    assert (out / FILES["manifest"]).read_text() == manifest
    assert sorted(p.name for p in (out / FILES["thumbs"]).iterdir()) == thumbs
    assert _leftovers(out) == []  # no staging folder left behind

    fresh = tmp_path / "fresh"
    with pytest.raises(KeyboardInterrupt):
        build_index([small_dir], SPEC, fresh, progress=interrupt)
    assert not fresh.exists() and _leftovers(fresh) == []


def test_incremental_rebuild_encodes_only_the_new_file(small_dir: Path, tmp_path: Path, photos,
                                                       counted: list[int], monkeypatch) -> None:
    out = tmp_path / "idx"
    build_index([small_dir], SPEC, out)
    assert sum(counted) == 5 + PROBE
    before = load_index(out)
    old = dict(zip(before.items["hash"], before.embeddings, strict=True))

    hashed: list[Path] = []
    real_hash = core.index.reuse.file_hash
    monkeypatch.setattr(core.index.reuse, "file_hash", lambda p: hashed.append(p) or real_hash(p))
    counted.clear()
    again = build_index([small_dir], SPEC, out)  # nothing changed
    assert (again.new, again.reused, again.removed, sum(counted), hashed) == (0, 5, 0, PROBE, [])

    _save(photos, "china", small_dir / "china.jpg")
    (small_dir / "rocket.jpg").unlink()
    summary = build_index([small_dir], SPEC, out)
    assert (summary.items, summary.new, summary.reused, summary.removed) == (5, 1, 4, 1)
    assert sum(counted) == 1 + 2 * PROBE and [p.name for p in hashed] == ["china.jpg"]  # 2 builds
    index = load_index(out)
    assert "rocket.jpg" not in set(index.items["rel_path"])
    for h, vec in zip(index.items["hash"], index.embeddings, strict=True):
        if h in old:
            np.testing.assert_array_equal(vec, old[h])  # reused rows are the stored vectors
        assert (out / FILES["thumbs"] / f"{h}.jpg").is_file()
    assert index.manifest["counts"]["new"] == 1 and index.manifest["counts"]["removed"] == 1


def test_exact_duplicates_are_grouped_and_collapsed(small_dir: Path, tmp_path: Path,
                                                    counted: list[int]) -> None:
    (small_dir / "more").mkdir()
    shutil.copy(small_dir / "chelsea.jpg", small_dir / "more" / "cat-copy.jpg")
    shutil.copy(small_dir / "chelsea.jpg", small_dir / "cat2.jpg")
    summary = build_index([small_dir], SPEC, tmp_path / "idx")
    assert summary.items == 7 and summary.duplicate_groups == 1 and sum(counted) == 5 + PROBE
    index = load_index(tmp_path / "idx")
    dup_file = json.loads((tmp_path / "idx" / FILES["duplicates"]).read_text())
    assert dup_file == index.duplicates and len(dup_file) == 1
    (digest, ids), = dup_file.items()
    names = sorted(Path(index.items.at[i, "path"]).name for i in ids)
    assert names == ["cat-copy.jpg", "cat2.jpg", "chelsea.jpg"]
    assert all(index.items.at[i, "hash"] == digest for i in ids)
    np.testing.assert_array_equal(index.embeddings[ids[0]], index.embeddings[ids[2]])
    coffee = int(np.flatnonzero(index.items["rel_path"] == "coffee.jpg")[0])
    hits = search(None, index, Query.image_id(coffee), k=6)
    assert len(hits) == 6 and coffee not in {h.id for h in hits}
    collapsed = collapse_duplicates(index, hits)
    assert len(collapsed) == 4 and [h.rank for h in collapsed] == [1, 2, 3, 4]
    cat = next(h for h in collapsed if h.id in ids)
    assert sorted([cat.id, *cat.duplicates]) == sorted(ids)
    assert all(not h.duplicates for h in collapsed if h is not cat)


def test_loading_refuses_schema_mismatch_and_broken_folders(small_dir: Path,
                                                            tmp_path: Path) -> None:
    out = tmp_path / "idx"
    build_index([small_dir], SPEC, out)
    bad = tmp_path / "old"
    shutil.copytree(out, bad)
    manifest = json.loads((bad / FILES["manifest"]).read_text())
    manifest["schema_version"] = SCHEMA_VERSION + 1
    (bad / FILES["manifest"]).write_text(json.dumps(manifest))
    with pytest.raises(UserError, match="schema version"):
        load_index(bad)
    del manifest["encoder"]
    manifest["schema_version"] = SCHEMA_VERSION
    (bad / FILES["manifest"]).write_text(json.dumps(manifest))
    with pytest.raises(UserError, match="does not say which model"):
        load_index(bad)
    (bad / FILES["manifest"]).write_text("{broken")
    with pytest.raises(UserError, match="manifest unreadable"):
        load_index(bad)
    shutil.rmtree(bad)
    shutil.copytree(out, bad)
    np.save(bad / FILES["embeddings"], np.zeros((3, 1280), np.float32))
    with pytest.raises(UserError, match="inconsistent"):
        load_index(bad)
    (bad / FILES["items"]).unlink()
    with pytest.raises(UserError, match="incomplete"):
        load_index(bad)
    with pytest.raises(UserError, match="no index at"):
        load_index(tmp_path / "nothing")


def test_loading_refuses_an_index_of_another_encoder(efficientnet_index_path: Path) -> None:
    assert load_index(efficientnet_index_path, expect_spec=SPEC).spec == SPEC
    with pytest.raises(UserError, match="built with 'efficientnet:lite0', not 'captions:minilm'"):
        load_index(efficientnet_index_path, expect_spec="captions:minilm")
    with pytest.raises(UserError, match="not 'conse:lite9'"):  # decided without loading lite9
        load_index(efficientnet_index_path, expect_spec="conse:lite9")


def test_building_into_another_models_index_needs_force(small_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "idx"
    build_index([small_dir], SPEC, out)
    embeddings = load_index(out).embeddings.copy()
    with pytest.raises(UserError, match="--force"):
        build_index([small_dir], "captions:minilm", out)
    np.testing.assert_array_equal(load_index(out, expect_spec=SPEC).embeddings, embeddings)
    summary = build_index([small_dir], "captions:minilm", out, force=True)
    assert summary.reused == 0 and summary.new == 5
    index = load_index(out, expect_spec="captions:minilm")
    assert index.dim == 384 and _leftovers(out) == []


def test_build_never_replaces_a_folder_that_is_not_an_index(small_dir: Path,
                                                            tmp_path: Path) -> None:
    precious = tmp_path / "documents"
    precious.mkdir()
    (precious / "thesis.txt").write_text("years of work")
    with pytest.raises(UserError, match="not an index folder"):
        build_index([small_dir], SPEC, precious)
    with pytest.raises(UserError, match="not an index folder"):
        build_index([small_dir], SPEC, precious / "thesis.txt")
    assert (precious / "thesis.txt").read_text() == "years of work"
    assert sorted(p.name for p in precious.iterdir()) == ["thesis.txt"]
    (tmp_path / "empty").mkdir()
    assert build_index([small_dir], SPEC, tmp_path / "empty").items == 5


def test_index_inside_an_image_folder_is_not_crawled(small_dir: Path, tmp_path: Path) -> None:
    out = small_dir / "index"
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = small_dir / f".{out.name}.building-{dead.pid}-1"
    stale.mkdir()
    first = build_index([small_dir], SPEC, out)
    again = build_index([small_dir], SPEC, out)
    assert again.items == 5 and again.new == 0
    assert not any(str(p).startswith(str(out)) for p in load_index(out).items["path"])
    assert not stale.exists()  # a killed build's staging folder is cleaned up, and reported
    assert first.notes == [f"staging folder of a killed build: {stale.name}"]
    assert f"note: staging folder of a killed build: {stale.name}" in first.lines()
    assert again.notes == []


def test_captions_model_skips_images_without_text(small_dir: Path, tmp_path: Path,
                                                  photos) -> None:
    _save(photos, "china", small_dir / "untitled.jpg")
    (small_dir / "extra.txt").write_text("ignored: no image called extra\n")
    summary = build_index([small_dir], "captions:minilm", tmp_path / "cap")
    assert summary.items == 5 and summary.skipped == {NO_TEXT.split("(")[0].strip(): 1}
    index = load_index(tmp_path / "cap")
    assert index.skipped == [{"path": str(small_dir / "untitled.jpg"), "reason": NO_TEXT}]
    enc = load_encoder("captions:minilm")
    i = int(np.flatnonzero(index.items["rel_path"] == "coffee.jpg")[0])
    np.testing.assert_allclose(index.embeddings[i],
                               enc.encode_texts([PHOTO_TEXTS["coffee"]])[0], atol=1e-5)


def test_nothing_usable_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "fake.jpg").write_text("not really")
    with pytest.raises(UserError, match=r"no usable images .*\(1 skipped\)"):
        build_index([tmp_path / "imgs"], SPEC, tmp_path / "idx")
    assert not (tmp_path / "idx").exists() and _leftovers(tmp_path / "idx") == []
