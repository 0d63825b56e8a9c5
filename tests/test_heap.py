"""The served app's heap (core.heap): freed blocks go back to the OS, whatever came before."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.system() != "Linux", reason="glibc's mallopt")

# Free one 8 MiB mapped block (glibc then moves its mmap threshold to 8 MiB), then allocate
# 48 blocks of 4 MiB with a small block after them, touch them, free them: how much RSS comes back.
PROBE = """
import ctypes, sys
{setup}
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
libc.free(libc.malloc(8 << 20))
blocks = [libc.malloc(4 << 20) for _ in range(48)]
for b in blocks:
    ctypes.memset(b, 1, 4 << 20)
guard = libc.malloc(64)
full = rss()
for b in blocks:
    libc.free(b)
print(round(full - rss()))
"""


def released_mb(setup: str) -> int:
    out = subprocess.run([sys.executable, "-c", PROBE.format(setup=setup)], capture_output=True,
                         text=True, check=True)
    return int(out.stdout.strip())


def test_glibc_alone_keeps_freed_blocks_after_its_threshold_moved() -> None:
    """The case the fix is for (if glibc stops doing this, the fix below is moot)."""
    assert released_mb("") < 20


def test_the_app_process_returns_freed_blocks() -> None:
    """serve_many (called by the app's loaders at import) fixes the threshold and caps the
    arenas: the 192 MiB freed above go back."""
    setup = "from core.encoders.runtime import serve_many; serve_many()"
    assert released_mb(setup) > 180


def test_both_settings_take() -> None:
    from core.heap import cap_arenas, fix_mmap_threshold

    assert cap_arenas(2) is True and fix_mmap_threshold() is True
