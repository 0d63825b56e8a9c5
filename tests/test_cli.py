"""Tests for `python -m core` (build, search, info) run as a real subprocess."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HIT_LINE = re.compile(r"^\s*(\d+)  (-?\d\.\d{4})  (/.+)$")


def run_cli(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def assert_one_error_line(proc: subprocess.CompletedProcess, text: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and text in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


@pytest.fixture(scope="module")
def built(tmp_path_factory, photos) -> tuple[Path, subprocess.CompletedProcess]:
    folder = tmp_path_factory.mktemp("cli") / "imgs"
    folder.mkdir()
    for name in ("chelsea", "coffee", "rocket"):
        photos[name].convert("RGB").resize((64, 48)).save(folder / f"{name}.jpg")
    (folder / "broken.jpg").write_text("not a JPEG at all\n")
    (folder / "empty.png").write_bytes(b"")
    out = folder.parent / "indexes" / "cli"
    return out, run_cli("build", "--images", folder, "--model", "efficientnet:lite0",
                        "--out", out, "--trees", "4")


def test_build_prints_the_summary_with_skipped_by_reason(built) -> None:
    out, proc = built
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"index: {out}  model: efficientnet:lite0"
    assert lines[1].startswith("images: 3  new: 3  reused: 0  removed: 0  duplicate groups: 0")
    assert "skipped: 2" in lines and "  1 x not an image" in lines and "  1 x empty file" in lines
    assert lines[-1].startswith("time: ") and "Traceback" not in proc.stderr
    assert (out / "manifest.json").is_file()


def test_search_prints_rank_score_path_lines(built) -> None:
    out, _ = built
    proc = run_cli("search", "--index", out, "--like-id", "0", "-k", "5", "--method", "exact")
    assert proc.returncode == 0, proc.stderr
    hits = [HIT_LINE.match(ln) for ln in proc.stdout.splitlines()]
    assert len(hits) == 2 and all(hits)  # 3 images minus the query image itself
    assert [int(m.group(1)) for m in hits] == [1, 2]
    scores = [float(m.group(2)) for m in hits]
    assert scores == sorted(scores, reverse=True)
    # the printed scores are the exact cosines of the stored vectors, for the printed paths
    from core.index.store import load_index

    index = load_index(out)
    row = {p: i for i, p in enumerate(index.items["path"])}
    for m in hits:
        cosine = float(index.embeddings[0] @ index.embeddings[row[m.group(3)]])
        assert abs(cosine - float(m.group(2))) < 1e-4, (m.group(0), cosine)
    assert all(Path(m.group(3)).is_file() for m in hits)


def test_text_search_from_the_terminal(captions_index_path: Path) -> None:
    proc = run_cli("search", "--index", captions_index_path, "a ginger cat", "-k", "2",
                   "--negative", "a cup of coffee", "--negative-weight", "0.5")
    assert proc.returncode == 0, proc.stderr
    hits = [HIT_LINE.match(ln) for ln in proc.stdout.splitlines()]
    assert len(hits) == 2 and all(hits) and Path(hits[0].group(3)).name == "chelsea.jpg"


def test_info_prints_the_manifest(built) -> None:
    out, _ = built
    proc = run_cli("info", "--index", out)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"index: {out}"
    for expected in ("model: efficientnet:lite0", "queries: image", "images: 3",
                     "skipped files: 2", "dimensions: 1280", "annoy trees: 4",
                     "  skipped 1 x not an image"):
        assert expected in lines, expected
    assert any(ln.startswith("roots: ") and ln.endswith("imgs") for ln in lines)


def test_user_errors_exit_2_with_one_line(built, tmp_path: Path) -> None:
    out, _ = built
    assert_one_error_line(run_cli("build", "--images", tmp_path / "nope", "--model",
                                  "efficientnet:lite0", "--out", tmp_path / "x"),
                          "image folder not found")
    assert_one_error_line(run_cli("build", "--images", tmp_path, "--model", "clip:big",
                                  "--out", tmp_path / "x"), "unknown model spec 'clip:big'")
    assert_one_error_line(run_cli("search", "--index", out, "a cat"),
                          "cannot answer text queries")
    assert_one_error_line(run_cli("info", "--index", tmp_path / "missing"), "no index at")


def test_the_console_script_runs_the_same_commands_from_any_folder(built, tmp_path) -> None:
    """`image-search` (installed by the README's commands) is `python -m core`, and works outside
    the repository."""
    script = Path(sys.executable).with_name("image-search")
    assert script.is_file(), "run `pip install -e .` (scripts/ensure_env.sh does)"
    out, _ = built
    via_script = subprocess.run([str(script), "info", "--index", str(out)], cwd=tmp_path,
                                capture_output=True, text=True, timeout=120)
    via_module = run_cli("info", "--index", out)
    assert via_script.returncode == 0, via_script.stderr
    assert via_script.stdout == via_module.stdout and "images: 3" in via_script.stdout
    helps = [subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout
             for cmd in ([str(script), "--help"], [sys.executable, "-m", "core", "--help"])]
    assert helps[0] == helps[1]
    for command in ("build", "search", "info", "demo", "train", "evaluate", "export-onnx"):
        assert command in helps[0]
