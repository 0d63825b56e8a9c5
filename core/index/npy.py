"""Checks over an index's memory-mapped `embeddings.npy` that keep the process's memory flat.

`load_index` maps the file (`mmap_mode='r'`): search touches only the rows it scores. A check
over the whole mapped array would page all of it into the process (file-backed RSS: 1.5 GB at
1M × 384) and allocate an n × d boolean array besides; reading the file in fixed-size chunks
through an ordinary buffer goes through the page cache instead, which the kernel can drop.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

CHUNK_BYTES = 8 * 2**20  # one reusable read buffer: the only memory the check holds


def all_finite(path: Path, mapped: np.memmap, chunk_bytes: int = CHUNK_BYTES) -> bool:
    """Whether every value of the mapped array in `path` is finite, reading the file in chunks
    (never through the mapping, so none of its pages become resident)."""
    itemsize = mapped.dtype.itemsize
    total = int(mapped.size) * itemsize
    step = max(itemsize, chunk_bytes // itemsize * itemsize)
    buffer = bytearray(min(step, total) or itemsize)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as fh:
        fh.seek(int(mapped.offset))
        done = 0
        while done < total:
            got = fh.readinto(view[: min(step, total - done)])
            if not got:
                raise ValueError(f"file ends after {done} of {total} data bytes")
            values = np.frombuffer(buffer, dtype=mapped.dtype, count=got // itemsize)
            if not np.isfinite(values).all():
                return False
            done += got
    return True
