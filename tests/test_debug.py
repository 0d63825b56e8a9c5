"""The modules record the Cloud-like check reads (app_support.debug)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from app_support.debug import DEBUG_MODULES_ENV, heavy_modules, record_modules

ROOT = Path(__file__).resolve().parents[1]


def test_record_is_written_only_when_asked(monkeypatch, tmp_path) -> None:
    target = tmp_path / "modules.json"
    monkeypatch.delenv(DEBUG_MODULES_ENV, raising=False)
    record_modules("home")
    assert not target.exists()
    monkeypatch.setenv(DEBUG_MODULES_ENV, str(target))
    record_modules("text_search")
    got = json.loads(target.read_text())
    assert got["page"] == "text_search" and "json" in got["modules"]
    assert got["heavy"] == heavy_modules() and got["count"] == len(got["modules"])


def test_heavy_modules_sees_torch_in_a_process_that_imports_it() -> None:
    code = ("from app_support.debug import heavy_modules as h\nprint(h())\nimport torch\n"
            "print(h())\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, check=True).stdout.split("\n")
    assert out[0] == "[]" and "'torch'" in out[1]
