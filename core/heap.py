"""The served app's heap: glibc gives every thread that allocates its own malloc arena (up to
8 per core), and a Streamlit server runs a script thread per visitor plus onnxruntime's pool, so
freed blocks scatter over many arenas that are never returned. Two arenas measured 443 MB peak
for one server through which a visitor tries all six demo variants, against 464 MB with glibc's
default (benchmarks.memory, BENCHMARKS.md; the ViT-B-32 app's peak, 757-821 MB over runs, did
not come down). The same as MALLOC_ARENA_MAX=2, which a Streamlit Community Cloud app cannot set
before its process starts."""

from __future__ import annotations

import contextlib
import ctypes

M_ARENA_MAX = -8  # glibc's mallopt parameter number (malloc.h)
ARENAS = 2


def _libc():
    """glibc, or None elsewhere (then both calls below are no-ops)."""
    with contextlib.suppress(OSError):
        return ctypes.CDLL("libc.so.6")
    return None


def cap_arenas(arenas: int = ARENAS) -> bool:
    """Cap the number of malloc arenas of this process; False where there is no glibc."""
    libc = _libc()
    return bool(libc.mallopt(M_ARENA_MAX, int(arenas))) if libc is not None else False


def trim() -> None:
    """Give freed heap back to the OS (glibc keeps it otherwise)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
