"""The served app caps glibc's malloc arenas (core.heap): mallopt accepts the parameter."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from core.heap import cap_arenas


@pytest.mark.skipif(platform.system() != "Linux", reason="glibc's mallopt")
def test_mallopt_takes_the_arena_cap() -> None:
    assert cap_arenas(2) is True


def test_the_app_process_caps_its_arenas_when_it_serves() -> None:
    """serve_many (called by the app's loaders at import) leaves the cap set: a second mallopt
    in the same process still succeeds, and nothing else fails on the way."""
    code = ("from core.encoders.runtime import serve_many; serve_many(); "
            "from core.heap import cap_arenas; print(cap_arenas())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ("True" if platform.system() == "Linux" else "False")
