"""core.index.ray_engine (Ray local mode, 2 CPUs): `--engine ray` writes the index the local
engine writes: the same vectors per item, the same skipped report, incremental reuse by hash."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from core.index.build import build_index
from core.index.store import load_index
from core.paths import REPO_ROOT

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             logging_level="ERROR")  # a cluster of our own, not one /tmp/ray points at
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def mixed_dir(tmp_path_factory, photo_dir):
    """The bundled photos plus files that cannot be used: not an image, a truncated JPEG."""
    folder = tmp_path_factory.mktemp("mixed") / "gallery"
    shutil.copytree(photo_dir, folder)
    (folder / "notes.jpg").write_bytes(b"this is not a picture")
    data = (folder / "chelsea.jpg").read_bytes()
    (folder / "half.jpg").write_bytes(data[: len(data) // 3])
    return folder


@pytest.fixture(scope="module")
def both(tmp_path_factory, mixed_dir, local_ray):
    root = tmp_path_factory.mktemp("engines")
    out = {}
    for engine in ("local", "ray"):
        summary = build_index([mixed_dir], "conse:lite0", root / engine, engine=engine)
        out[engine] = (summary, load_index(root / engine))
    return out


def test_ray_vectors_match_the_local_engine(both):
    (_, local), (_, remote) = both["local"], both["ray"]
    assert list(remote.items["hash"]) == list(local.items["hash"])
    assert list(remote.items["path"]) == list(local.items["path"])
    cos = (np.asarray(local.embeddings) * np.asarray(remote.embeddings)).sum(axis=1)
    assert cos.min() >= 0.9999
    assert list(remote.items["width"]) == list(local.items["width"])
    thumbs = {p.name for p in (remote.files / "thumbs").iterdir()}
    assert thumbs == {p.name for p in (local.files / "thumbs").iterdir()}
    assert len(thumbs) == remote.n


def test_bad_files_are_reported_identically(both):
    (s_local, local), (s_ray, remote) = both["local"], both["ray"]
    assert remote.skipped == local.skipped and len(remote.skipped) >= 1
    assert s_ray.skipped == s_local.skipped
    assert any(r["path"].endswith("notes.jpg") for r in remote.skipped)


def test_ray_refresh_reuses_by_hash(tmp_path, mixed_dir, local_ray):
    out = tmp_path / "idx"
    first = build_index([mixed_dir], "conse:lite0", out, engine="ray", store="lance")
    again = build_index([mixed_dir], "conse:lite0", out, engine="ray", store="lance")
    assert (again.reused, again.new) == (first.items, 0)
    extra = tmp_path / "more"
    shutil.copytree(mixed_dir, extra)
    (extra / "flower.jpg").unlink()
    from PIL import Image

    Image.new("RGB", (300, 200), (200, 30, 30)).save(extra / "red.jpg")
    grown = build_index([extra], "conse:lite0", out, engine="ray", store="lance", force=True)
    assert grown.new == 1 and grown.reused == first.items - 1
    assert load_index(out).store == "lance"


def test_the_default_build_and_the_app_never_import_ray_or_lancedb():
    code = ("import sys, core.index.build, core.query.search, core.index.store, "
            "app_support.loaders; bad = [m for m in ('ray', 'lancedb') if m in sys.modules]; "
            "sys.exit(str(bad) if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr + proc.stdout


def test_ray_embeds_each_item_key_as_the_local_engine_does(tmp_path, photo_dir, local_ray):
    """A hybrid model reads texts too: a copy of one photo under another caption is a second
    vector (item key = hash + texts), on either engine."""
    import json

    folder = tmp_path / "gallery"
    folder.mkdir()
    lines = (photo_dir / "captions.jsonl").read_text(encoding="utf-8").splitlines()[:3]
    first = json.loads(lines[0])
    shutil.copy(photo_dir / first["file"], folder / "copy.jpg")
    lines.append(json.dumps({**first, "file": "copy.jpg", "texts": ["a bright red racing car"]}))
    for row in map(json.loads, lines[:3]):
        shutil.copy(photo_dir / row["file"], folder / row["file"])
    (folder / "captions.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    got = {}
    for engine in ("local", "ray"):
        build_index([folder], "hybrid:conse:lite0", tmp_path / engine, engine=engine)
        got[engine] = load_index(tmp_path / engine)
    local, remote = got["local"], got["ray"]
    assert list(remote.items["path"]) == list(local.items["path"]) and local.n == 4
    a, b = np.asarray(local.embeddings), np.asarray(remote.embeddings)
    assert (a * b).sum(axis=1).min() >= 0.9999
    rows = {p.rsplit("/", 1)[-1]: i for i, p in enumerate(local.items["path"])}
    assert local.items["hash"][rows["copy.jpg"]] == local.items["hash"][rows[first["file"]]]
    assert float(b[rows["copy.jpg"]] @ b[rows[first["file"]]]) < 0.999  # its own vector


def test_a_fresh_local_ray_hands_its_workers_this_checkout(tmp_path, photo_dir):
    """With no Ray running, the engine starts its own, for a build and then for a task: its
    workers get the repository on PYTHONPATH through the environment the raylet inherits (no
    runtime_env), and the driver's environment is as it was afterwards."""
    code = ("import os, sys; sys.path.insert(0, sys.argv[1]); "
            "from core.index.build import build_index; from core.index.ray_engine import _ray; "
            "s = build_index([sys.argv[2]], 'conse:lite0', sys.argv[3], engine='ray', workers=1); "
            "ray, started = _ray(None, 1); "
            "seen = ray.get(ray.remote(lambda: os.environ.get('PYTHONPATH', '')).remote()); "
            "assert 'PYTHONPATH' not in os.environ, os.environ['PYTHONPATH']; "
            "print(started, seen.split(os.pathsep)[0] == sys.argv[1], s.new)")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-c", code, str(REPO_ROOT), str(photo_dir),
                           str(tmp_path / "idx")], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    started, sees_repo, new = proc.stdout.split()[-3:]
    assert (started, sees_repo) == ("True", "True")
    assert int(new) == load_index(tmp_path / "idx").n > 0
