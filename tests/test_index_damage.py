"""Damaged index files and bad query input: one clear line naming the file or the argument,
never a traceback or a silent `nan` (issue: data safety, cases 5-7)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.errors import UserError
from core.index.store import load_index

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def copy(efficientnet_index_path: Path, tmp_path: Path) -> Path:
    """A private plain-folder copy of the test index, to damage."""
    out = tmp_path / "idx"
    shutil.copytree(efficientnet_index_path.resolve(), out)
    return out


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=REPO, capture_output=True,
                          timeout=300)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


DAMAGE = {
    "truncated embeddings": ("embeddings.npy", _truncate),
    "garbage npy": ("embeddings.npy", lambda p: p.write_bytes(b"\x93NUMPY garbage" * 50)),
    "garbage parquet": ("items.parquet", lambda p: p.write_bytes(b"PAR1 not really PAR1")),
    "bad skipped": ("skipped.jsonl", lambda p: p.write_text("[1, 2]\n{not json\n")),
    "bad duplicates": ("duplicates.json", lambda p: p.write_text('{"abc": ["x"]}')),
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_a_damaged_file_is_one_line_naming_it(copy: Path, case: str) -> None:
    name, damage = DAMAGE[case]
    damage(copy / name)
    with pytest.raises(UserError, match=f"{name} is damaged.*rebuild it"):
        load_index(copy)
    proc = _cli("info", "--index", str(copy))
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "Traceback" not in err and err.count("\n") == 1, err
    assert name in err


def test_garbage_annoy_file_is_named_when_first_used(copy: Path) -> None:
    (copy / "annoy.ann").write_bytes(b"\x00garbage" * 1001)
    index = load_index(copy)
    with pytest.raises(UserError, match="annoy.ann"):
        index.annoy()


def test_non_finite_rows_are_refused_at_load(copy: Path) -> None:
    emb = np.load(copy / "embeddings.npy")
    emb[2, 5] = np.nan
    np.save(copy / "embeddings.npy", emb)
    with pytest.raises(UserError, match="non-finite"):
        load_index(copy)


def test_a_hash_that_would_escape_the_thumbnail_folder_is_refused(copy: Path) -> None:
    items = pd.read_parquet(copy / "items.parquet")
    items.loc[0, "hash"] = "../../../etc/passwd"
    items.to_parquet(copy / "items.parquet", index=False)
    with pytest.raises(UserError, match="malformed hash"):
        load_index(copy)


def test_a_spec_of_another_family_does_not_load_silently(copy: Path) -> None:
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["encoder"]["spec"] = "captions:minilm"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    proc = _cli("search", "--index", str(copy), "a cat")
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "Traceback" not in err, err


@pytest.mark.parametrize("args, word", [
    (["--search-k", "0"], "--search-k"),
    (["-k", "0"], "-k"),
    (["--negative", "x", "--negative-weight", "nan"], "--negative-weight"),
    (["--image-weight", "inf"], "--image-weight"),
])
def test_bad_numbers_are_refused(efficientnet_index_path: Path, args: list[str],
                                 word: str) -> None:
    proc = _cli("search", "--index", str(efficientnet_index_path), "--like-id", "0", *args)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "Traceback" not in err and word in err, err
    assert proc.stdout == b""


def test_a_query_that_is_not_utf8_is_refused(conse_index_path: Path) -> None:
    proc = subprocess.run([sys.executable.encode(), b"-m", b"core", b"search", b"--index",
                           str(conse_index_path).encode(), b"caf\xe9 \xff"], cwd=REPO,
                          capture_output=True, timeout=300)
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2 and "Traceback" not in err and "UTF-8" in err, err


def test_a_spec_edited_within_its_family_is_caught_by_the_fingerprint(conse_index_path: Path,
                                                                      tmp_path: Path) -> None:
    """`conse:lite0,top=5` for an index built with top=10: same family, same dimensions, other
    vectors. The manifest's probe vector tells them apart before the first answer."""
    copy = tmp_path / "idx"
    shutil.copytree(conse_index_path.resolve(), copy)
    fine = _cli("search", "--index", str(copy), "a ginger cat", "-k", "1")
    assert fine.returncode == 0 and b"chelsea" in fine.stdout, fine.stderr
    manifest = json.loads((copy / "manifest.json").read_text())
    assert manifest["fingerprint"]["probe"] == "image"
    manifest["encoder"]["spec"] = "conse:lite0,top=2"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    proc = _cli("search", "--index", str(copy), "a ginger cat")
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "is not the one that built it" in err, err
    assert "Traceback" not in err and proc.stdout == b""


def test_a_rebuild_with_other_weights_behind_the_same_spec_reuses_nothing(
        tmp_path: Path, photos) -> None:
    """New weights in the same model folder: the spec is unchanged, the vectors are not. The
    incremental build must not mix old embeddings with the new model's."""
    from captioned_sets import trained_model_dir

    from core.index.build import build_index

    head = tmp_path / "head"
    shutil.copytree(trained_model_dir(), head)
    images = tmp_path / "imgs"
    images.mkdir()
    for name in ("chelsea", "coffee", "rocket"):
        photos[name].convert("RGB").resize((96, 72)).save(images / f"{name}.jpg")
    spec = f"twobranch:{head}"
    out = tmp_path / "idx"
    build_index([images], spec, out)
    assert build_index([images], spec, out).reused == 3  # same model: everything reused
    weights = dict(np.load(head / "weights.npz"))
    first = sorted(weights)[0]
    weights[first] = weights[first][::-1].copy()  # other weights, same shapes
    np.savez(head / "weights.npz", **weights)
    from core.encoders import registry

    registry._load_cached.cache_clear()  # a new process would load the new weights
    summary = build_index([images], spec, out)
    assert summary.reused == 0 and summary.new == 3, summary
    assert any("other vectors" in n for n in summary.notes), summary.notes


def test_the_app_refuses_a_model_that_did_not_build_the_index(conse_index_path: Path,
                                                               tmp_path: Path, monkeypatch,
                                                               warm_server) -> None:
    """The same fingerprint check as the CLI, on the app's query path: one clear error instead
    of rankings from another model."""
    from streamlit.testing.v1 import AppTest

    from core.index.catalogue import ENV_INDEXES

    root = tmp_path / "indexes"
    copy = root / "tampered"
    shutil.copytree(conse_index_path.resolve(), copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["encoder"]["spec"] = "conse:lite0,top=2"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv(ENV_INDEXES, str(root))
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=300)
    at.query_params["q"] = "a ginger cat"
    at.switch_page("pages/text_search.py").run()
    assert not at.exception
    assert any("is not the one that built it" in e.value for e in at.error), \
        [e.value for e in at.error]
