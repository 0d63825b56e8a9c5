"""core.index.npy: the chunked finiteness check finds a bad value anywhere, chunk edges included,
and never pages the mapping in."""

from __future__ import annotations

import numpy as np
import pytest

from core.index.npy import all_finite


@pytest.mark.parametrize("where", [0, 37, 38, 99 * 16 + 15])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_bad_value_anywhere_is_found(tmp_path, where, bad):
    arr = np.random.default_rng(0).normal(size=(100, 16)).astype(np.float32)
    path = tmp_path / "e.npy"
    np.save(path, arr)
    mapped = np.load(path, mmap_mode="r")
    assert all_finite(path, mapped, chunk_bytes=38 * 4)  # chunks end mid-row
    arr.flat[where] = bad
    np.save(path, arr)
    assert not all_finite(path, np.load(path, mmap_mode="r"), chunk_bytes=38 * 4)


def test_a_truncated_file_is_an_error(tmp_path):
    path = tmp_path / "e.npy"
    np.save(path, np.ones((50, 8), np.float32))
    mapped = np.load(path, mmap_mode="r")
    with path.open("r+b") as fh:
        fh.truncate(path.stat().st_size - 4)
    with pytest.raises(ValueError):
        all_finite(path, mapped)


def test_empty_array(tmp_path):
    path = tmp_path / "e.npy"
    np.save(path, np.ones((0, 8), np.float32))
    assert all_finite(path, np.load(path, mmap_mode="r"))


def test_the_mapping_stays_unpaged(tmp_path):
    """The check reads through a buffer: the mapped pages are not touched (mincore via psutil
    is not portable, so compare this process's RSS growth against the array's size)."""
    psutil = pytest.importorskip("psutil")
    path = tmp_path / "e.npy"
    np.save(path, np.ones((64 * 1024, 256), np.float32))  # 64 MiB
    mapped = np.load(path, mmap_mode="r")
    before = psutil.Process().memory_info().rss
    assert all_finite(path, mapped)
    assert psutil.Process().memory_info().rss - before < 32 * 2**20
