import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from core import paths
from core.paths import REPO_ROOT, resolve_path, spec_path
from tests.captioned_sets import trained_model_dir


def test_repo_root_is_the_checkout_whatever_the_cwd(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert (REPO_ROOT / "core" / "paths.py").is_file() and (REPO_ROOT / "pyproject.toml").is_file()
    assert paths.features_dir() == REPO_ROOT / "data" / "features"
    assert paths.default_twobranch() == REPO_ROOT / "models" / "twobranch"
    assert paths.indexes_dir({}) == REPO_ROOT / "indexes"
    assert paths.sets_dir({}) == REPO_ROOT / "data" / "sets"


def test_env_overrides(tmp_path: Path, monkeypatch) -> None:
    assert paths.indexes_dir({paths.ENV_INDEXES: str(tmp_path)}) == tmp_path
    assert paths.indexes_dir({paths.ENV_INDEXES: "  "}, root=tmp_path) == tmp_path / "indexes"
    assert paths.sets_dir({paths.ENV_SETS: "~/s"}) == Path.home() / "s"
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "c"))
    assert paths.cache_dir() == tmp_path / "c"
    monkeypatch.delenv(paths.CACHE_ENV)
    assert paths.cache_dir() == Path.home() / ".cache" / "image-search"


def test_resolver_order_absolute_index_repo_cwd(tmp_path: Path, monkeypatch) -> None:
    index, cwd = tmp_path / "index", tmp_path / "cwd"
    for base in (index, cwd):
        (base / "core").mkdir(parents=True)
        (base / "core" / "paths.py").write_text("# a decoy")
    (cwd / "only-in-cwd.bin").write_bytes(b"x")
    monkeypatch.chdir(cwd)
    absolute = tmp_path / "abs.bin"
    assert resolve_path(absolute) == absolute  # absolute: as is, even when missing
    assert resolve_path("core/paths.py", index_dir=index) == index / "core" / "paths.py"
    assert resolve_path("core/paths.py") == REPO_ROOT / "core" / "paths.py"  # repo before cwd
    assert resolve_path("only-in-cwd.bin", index_dir=index) == cwd / "only-in-cwd.bin"
    assert resolve_path("nowhere/model") == Path("nowhere/model")  # unchanged: errors name it


def test_spec_path_is_repo_relative_inside_the_repo(tmp_path: Path) -> None:
    assert spec_path(REPO_ROOT / "models" / "twobranch") == "models/twobranch"
    assert spec_path(tmp_path / "m") == str(tmp_path / "m")


def test_resolver_from_another_directory_in_a_fresh_process(tmp_path: Path) -> None:
    code = ("from core.paths import resolve_path; "
            "print(resolve_path('core/encoders/imagenet_classes.txt'))")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, check=True,
                         capture_output=True, text=True, timeout=60).stdout.strip()
    assert Path(out) == REPO_ROOT / "core" / "encoders" / "imagenet_classes.txt"


@pytest.fixture
def head_in_repo():
    """The tiny trained head, reachable as a repo-relative `models/...` path (git-ignored)."""
    link = REPO_ROOT / "models" / f".test-head-{uuid.uuid4().hex[:8]}"
    link.parent.mkdir(exist_ok=True)
    link.symlink_to(trained_model_dir(), target_is_directory=True)
    try:
        yield link.relative_to(REPO_ROOT).as_posix()
    finally:
        link.unlink()


def test_twobranch_spec_with_a_repo_relative_path_loads_from_another_cwd(
        head_in_repo: str, tmp_path: Path) -> None:
    code = ("import json, sys; from core.encoders.registry import load_encoder; "
            "enc = load_encoder(sys.argv[1]); "
            "print(json.dumps([enc.spec, enc.dim, enc.encode_texts(['a cat']).shape[1]]))")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-c", code, f"twobranch:{head_in_repo}"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    spec, dim, width = json.loads(done.stdout.strip().splitlines()[-1])
    assert spec == f"twobranch:{head_in_repo}"  # the spec stays portable
    assert dim == width == 256
