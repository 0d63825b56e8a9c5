"""The served app's heap: glibc gives every thread that allocates its own malloc arena (up to
8 per core), and a Streamlit server runs a script thread per visitor plus onnxruntime's pool, so
freed blocks scatter over many arenas that are never returned. Two arenas measured 443 MB peak
for one server through which a visitor tries all six demo variants, against 464 MB with glibc's
default (benchmarks.memory, BENCHMARKS.md). The same as MALLOC_ARENA_MAX=2, which a Streamlit
Community Cloud app cannot set before its process starts.

glibc also raises its mmap threshold each time a large mapped block is freed, so the next blocks
of that size (onnxruntime's weights and buffers: 0.1-32 MB each) land in the heap, where freeing
them returns nothing. The same ViT-B-32 image tower then peaked at 614 or 803 MB from run to run;
with the threshold fixed, always 614 (MALLOC_MMAP_THRESHOLD_ does the same from outside)."""

from __future__ import annotations

import contextlib
import ctypes

M_ARENA_MAX = -8  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
ARENAS = 2
MMAP_THRESHOLD = 128 * 1024  # glibc's own starting value, kept from now on


def _libc():
    """glibc, or None elsewhere (then both calls below are no-ops)."""
    with contextlib.suppress(OSError):
        return ctypes.CDLL("libc.so.6")
    return None


def cap_arenas(arenas: int = ARENAS) -> bool:
    """Cap the number of malloc arenas of this process; False where there is no glibc."""
    libc = _libc()
    return bool(libc.mallopt(M_ARENA_MAX, int(arenas))) if libc is not None else False


def fix_mmap_threshold(size: int = MMAP_THRESHOLD) -> bool:
    """Blocks of `size` bytes and up are mapped, and unmapped when freed, for the rest of the
    process (setting it turns glibc's moving threshold off); False where there is no glibc."""
    libc = _libc()
    return bool(libc.mallopt(M_MMAP_THRESHOLD, int(size))) if libc is not None else False


def trim() -> None:
    """Give freed heap back to the OS (glibc keeps it otherwise)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
