"""Data safety of builds: never replace what is not ours, one build at a time, atomic versions.

Each test here failed before core.index.versions existed (issue: data safety).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core.errors import UserError
from core.index.build import build_index
from core.index.store import load_index
from core.index.versions import KEEP_VERSIONS, build_lock, leftovers

REPO = Path(__file__).resolve().parents[1]
SPEC = "efficientnet:lite0"


def _cli(*args: str | Path, cwd: Path = REPO) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "core", *map(str, args)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def imgs(tmp_path: Path, photos) -> Path:
    folder = tmp_path / "imgs"
    folder.mkdir()
    for name in ("chelsea", "coffee", "rocket", "astronaut"):
        photos[name].convert("RGB").resize((96, 72)).save(folder / f"{name}.jpg")
    return folder


def _versions(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.glob(f".{out.name}.v-*"))


def test_a_folder_with_a_foreign_manifest_is_never_replaced(imgs: Path, tmp_path: Path) -> None:
    """The reported data loss: a web app's manifest.json made the build delete its folder."""
    p = tmp_path / "p"
    (p / "src").mkdir(parents=True)
    (p / "manifest.json").write_text('{"name":"my-web-app"}')
    (p / "src" / "important.txt").write_text("precious")
    proc = _cli("build", "--images", imgs, "--model", SPEC, "--out", p)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 2, err
    assert err.count("\n") == 1 and "not an index folder made by this tool" in err, err
    assert (p / "src" / "important.txt").read_text() == "precious"
    assert sorted(x.name for x in p.iterdir()) == ["manifest.json", "src"]
    assert sorted(x.name for x in tmp_path.iterdir() if x.name.startswith(".p.")) in (
        [], [".p.lock"])


def test_an_index_with_a_users_file_inside_or_a_foreign_link_is_refused(imgs: Path,
                                                                         tmp_path: Path) -> None:
    out = tmp_path / "idx"
    build_index([imgs], SPEC, out)
    (out / "notes.txt").write_text("mine")  # written into the current version
    with pytest.raises(UserError, match="not an index folder made by this tool"):
        build_index([imgs], SPEC, out)
    assert (out / "notes.txt").read_text() == "mine"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "link").symlink_to(elsewhere)
    with pytest.raises(UserError, match="not an index version made by this tool"):
        build_index([imgs], SPEC, tmp_path / "link")


def test_a_second_build_of_the_same_index_stops_with_the_holders_pid(imgs: Path,
                                                                     tmp_path: Path) -> None:
    out = tmp_path / "idx"
    with build_lock(out), pytest.raises(UserError, match=f"being built by PID {os.getpid()}"):
        build_index([imgs], SPEC, out)
    assert not out.exists()
    assert build_index([imgs], SPEC, out).items == 4  # the lock is released


def test_two_concurrent_builds_one_wins_and_the_index_is_complete(imgs: Path,
                                                                  tmp_path: Path) -> None:
    out = tmp_path / "idx"
    procs = [_cli("build", "--images", imgs, "--model", SPEC, "--out", out) for _ in range(2)]
    results = [(p.wait(timeout=300), p.communicate()[1]) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes in ([0, 0], [0, 2]), results  # both in turn, or the second refused cleanly
    for code, err in results:
        assert "Traceback" not in err
        if code == 2:
            assert "is being built by PID" in err
    index = load_index(out)
    assert index.n == 4 and all(index.thumb_path(i).is_file() for i in range(index.n))
    assert leftovers(out) == []


def test_a_live_builds_staging_folder_is_left_alone(imgs: Path, tmp_path: Path) -> None:
    out = tmp_path / "idx"
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        live = tmp_path / f".idx.building-{sleeper.pid}-1"
        live.mkdir()
        summary = build_index([imgs], SPEC, out)
        assert live.is_dir() and summary.notes == []
    finally:
        sleeper.kill()
        sleeper.wait()


def test_versions_flip_atomically_and_a_loaded_index_keeps_its_files(imgs: Path,
                                                                     tmp_path: Path) -> None:
    out = tmp_path / "idx"
    build_index([imgs], SPEC, out)
    assert out.is_symlink() and len(_versions(out)) == 1
    before = load_index(out)  # Annoy is not opened yet
    (imgs / "rocket.jpg").unlink()
    build_index([imgs], SPEC, out)
    after = load_index(out)
    assert after.n == 3 and before.version != after.version
    # the old Index opens its own version's Annoy file and thumbnails, never the new ones
    assert before.annoy().get_n_items() == before.n == 4
    assert all(before.thumb_path(i).is_file() for i in range(before.n))
    np.testing.assert_array_equal(before.embeddings[:1], np.load(
        before.version / "embeddings.npy")[:1])
    for _ in range(2):
        build_index([imgs], SPEC, out, force=True)
    assert len(_versions(out)) == KEEP_VERSIONS  # the current one and the one before it


def test_an_index_in_the_old_folder_layout_becomes_a_version(imgs: Path, tmp_path: Path) -> None:
    out = tmp_path / "idx"
    build_index([imgs], SPEC, out)
    version = out.resolve()
    out.unlink()
    shutil.move(version, out)  # a plain folder, as builds wrote before versions
    assert out.is_dir() and not out.is_symlink()
    summary = build_index([imgs], SPEC, out)
    assert summary.reused == 4 and out.is_symlink() and load_index(out).n == 4


def test_an_interrupted_swap_is_reported_by_info_and_cleaned_by_the_next_build(
        imgs: Path, tmp_path: Path) -> None:
    out = tmp_path / "idx"
    build_index([imgs], SPEC, out)
    old = tmp_path / ".idx.old-4242"
    shutil.copytree(out.resolve(), old)
    info = _cli("info", "--index", out)
    text, _ = info.communicate(timeout=120)
    assert "leftover (the next build removes it): .idx.old-4242" in text
    summary = build_index([imgs], SPEC, out)
    assert not old.exists() and summary.notes == ["folder of an interrupted swap: .idx.old-4242"]


def test_sigterm_during_a_build_says_so_and_keeps_the_previous_index(imgs: Path, photos,
                                                                     tmp_path: Path) -> None:
    out = tmp_path / "idx"
    build_index([imgs], SPEC, out)
    manifest = (out / "manifest.json").read_bytes()
    for i in range(40):  # enough new images that the build is still encoding when stopped
        photos["coffee"].convert("RGB").rotate(i * 9).resize((320, 240)).save(imgs / f"c{i}.jpg")
    proc = _cli("build", "--images", imgs, "--model", SPEC, "--out", out, "--batch-size", "1")
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".idx.building-*")) and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "terminated: nothing was changed" in err and "Traceback" not in err
    assert (out / "manifest.json").read_bytes() == manifest and load_index(out).n == 4
    assert leftovers(out) == []
    assert json.loads(manifest)["format"] == "nl-image-search index"


def test_the_catalogue_sees_a_new_version_so_the_app_reloads(imgs: Path, tmp_path: Path) -> None:
    """The app caches a loaded index by (path, stamp) from the catalogue: a published version
    must change the stamp, and the entry then loads the new version's files."""
    from core.index.catalogue import scan_indexes

    out = tmp_path / "idx"
    build_index([imgs], SPEC, out)
    [first] = scan_indexes(tmp_path)
    (imgs / "coffee.jpg").unlink()
    build_index([imgs], SPEC, out)
    [second] = scan_indexes(tmp_path)
    assert second.stamp != first.stamp and (first.items, second.items) == (4, 3)
    assert load_index(second.path).version == out.resolve()
