from pathlib import Path

import numpy as np
import pytest

from core.atomic import atomic_path, replace_dir, write_bytes, write_text, write_with


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


def test_text_and_bytes_land_and_leave_no_temp(tmp_path: Path) -> None:
    out = write_text(tmp_path / "sub" / "a.jsonl", "héllo\n")
    assert out.read_text(encoding="utf-8") == "héllo\n"
    write_bytes(tmp_path / "b.bin", b"\x00\x01")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    write_text(tmp_path / "b.bin", "replaced")
    assert (tmp_path / "b.bin").read_text() == "replaced"
    assert _leftovers(tmp_path) == [] and _leftovers(tmp_path / "sub") == []


def test_numpy_writers_keep_the_target_name(tmp_path: Path) -> None:
    vecs = np.arange(6, dtype=np.float32).reshape(2, 3)
    write_with(tmp_path / "v.npy", lambda p: np.save(p, vecs))
    write_with(tmp_path / "v.npz", lambda p: np.savez(p, vecs=vecs))
    assert np.array_equal(np.load(tmp_path / "v.npy"), vecs)
    with np.load(tmp_path / "v.npz") as z:
        assert np.array_equal(z["vecs"], vecs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.npy", "v.npz"]


def test_a_failing_writer_keeps_the_old_file_and_removes_the_temp(tmp_path: Path) -> None:
    target = tmp_path / "model.onnx"
    target.write_bytes(b"old model")

    def half_then_crash(p: Path) -> None:
        p.write_bytes(b"half a mod")
        raise RuntimeError("export failed")

    with pytest.raises(RuntimeError, match="export failed"):
        write_with(target, half_then_crash)
    assert target.read_bytes() == b"old model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_interrupt_inside_the_context_cleans_up(tmp_path: Path) -> None:
    target = tmp_path / "x.txt"
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        tmp.write_text("partial")
        assert tmp.parent == tmp_path and tmp.name.startswith(".x.")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_writer_that_writes_nothing_is_an_error_not_an_empty_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_with(tmp_path / "none.bin", lambda p: None)
    assert list(tmp_path.iterdir()) == []


def test_replace_dir_swaps_whole_folders(tmp_path: Path) -> None:
    target = tmp_path / "unpacked"
    with replace_dir(target) as tmp:
        (tmp / "a.txt").write_text("1")
    assert [p.name for p in target.iterdir()] == ["a.txt"]
    with pytest.raises(ValueError), replace_dir(target) as tmp:
        (tmp / "b.txt").write_text("2")
        raise ValueError("unpack failed")
    assert [p.name for p in target.iterdir()] == ["a.txt"]  # old folder intact
    with replace_dir(target) as tmp:
        (tmp / "c.txt").write_text("3")
    assert [p.name for p in target.iterdir()] == ["c.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["unpacked"]
